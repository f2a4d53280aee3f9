"""The inner part of a transfer package: a zipped BagIt 1.0 bag (RFC 8493), built and read.

Building: one top-level directory named after the package id; per child ``data/<学籍号>/`` with
``record.json``, ``history.json``, ``documents.json``, ``docs/`` and the 档案转接单 slip (rendered by
the caller's ``SlipRenderer``: archive does not know how documents are typeset).

Reading is defensive: every size is bounded before anything is allocated, paths are checked before
they are used, and our own checks report every problem (the reference validator runs after them,
``bagit_check``).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guanai.archive import crypto
from guanai.archive.transfer.identity import Card
from guanai.archive.transfer.slip import SLIP_NAME, Slip, SlipRenderer, SlipRow
from guanai.base.errors import InputError, IntegrityError, Problem

PROFILE_ID = "urn:guanai:bagit-profile:transfer:1"
ID_RE = re.compile(r"^[0-9a-f]{32}$")
XJH_RE = re.compile(r"^[GJL][0-9]{17}[0-9X]$|^L[0-9]{18}$")
_STORED_EXT = {".docx", ".xlsx", ".pdf", ".zip", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".mp3", ".mp4"}
TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha512.txt", "tagmanifest-sha512.txt")
_BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
#: what the slip says of a carried PDF's signature (docsig: signed / kept at export)
_SIGNATURE_NOTES = {"signed": "已加本校数字签名", "kept": "带原有数字签名"}
_RECORD_TITLES = {"record.json": "儿童档案记录", "history.json": "关爱与变更历史", "documents.json": "文书目录"}


@dataclass(frozen=True)
class Limits:
    """Bounds applied before reading a package (all checked before allocation)."""

    max_package: int = 1 << 30  # bytes of the .gtp file
    max_bag: int = 1 << 30  # total uncompressed bytes inside the zip
    max_entries: int = 200_000
    max_ratio: int = 100  # uncompressed / compressed, per entry larger than ratio_floor
    ratio_floor: int = 1 << 20
    max_record: int = 8 << 20  # record.json, documents.json, history.json


DEFAULT_LIMITS = Limits()


@dataclass
class DocItem:
    """One document of a child: metadata (JSON-safe) and its exact bytes."""

    meta: dict[str, Any]
    content: bytes
    #: the receiver's check of a carried PDF's signature (``docsig.DocCheck``; None: not a PDF or
    #: not checked)
    check: Any = None


@dataclass
class ChildItem:
    student_id: str
    name: str
    record: dict[str, Any]  # record.json object
    history: dict[str, Any]  # history.json object
    documents: list[DocItem] = field(default_factory=list)
    slip: bytes | None = None


def safe_filename(name: str, fallback: str = "document") -> str:
    """A file name safe on every OS: no separators, controls or reserved characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]', "_", name)
    name = re.sub(r"\.{2,}", ".", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem[:60] or fallback
    ext = re.sub(r"[^0-9A-Za-z]", "", ext)[:10]
    return f"{stem}.{ext}" if ext else stem


def _compress_type(path: str) -> int:
    return zipfile.ZIP_STORED if Path(path).suffix.lower() in _STORED_EXT else zipfile.ZIP_DEFLATED


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8") + b"\n"


def _zip_time(created_at: str) -> tuple[int, int, int, int, int, int]:
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)", created_at)
    if not m:
        return (2020, 1, 1, 0, 0, 0)
    y, mo, d, h, mi, s = (int(x) for x in m.groups())
    return (max(1980, y), mo, d, h, mi, s)


def build_bag(*, package_id: str, created_at: str, sender: Card, recipient: Card,
              children: list[ChildItem], purpose: str, render_slip: SlipRenderer) -> bytes:
    """Serialise the children as a zipped BagIt 1.0 bag (top directory = package id).

    ``render_slip`` turns each child's ``Slip`` into the .docx stored as ``档案转接单.docx``.
    """
    if not ID_RE.match(package_id):
        raise InputError(f"转接包编号格式错误：{package_id!r}", "应为 32 位小写十六进制。")
    payload: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for child in children:
        if not XJH_RE.match(child.student_id):
            raise InputError(f"学籍号格式不正确，无法打包：{child.student_id!r}", "先用 guanai child update 更正学籍号。")
        if child.student_id in seen:
            raise InputError(f"同一学生（学籍号 {child.student_id}）在转接包中出现两次。", "每名学生只列一次。")
        seen.add(child.student_id)
        base = f"data/{child.student_id}"
        listing: list[SlipRow] = []
        doc_entries = []
        used: set[str] = set()
        for i, doc in enumerate(child.documents, 1):
            fname = f"{i:04d}-" + safe_filename(str(doc.meta.get("filename") or ""), f"doc{i}")
            while fname.casefold() in used:
                fname = f"{i:04d}-{len(used)}-" + safe_filename(str(doc.meta.get("filename") or ""))
            used.add(fname.casefold())
            path = f"{base}/docs/{fname}"
            digest = hashlib.sha512(doc.content).hexdigest()
            doc_entries.append({**doc.meta, "path": path, "sha512": digest, "size": len(doc.content)})
            payload.append((path, doc.content))
            listing.append(SlipRow(str(doc.meta.get("title") or fname), str(doc.meta.get("kind") or ""), path,
                                   len(doc.content), digest, _SIGNATURE_NOTES.get(str(doc.meta.get("pdf_signature")), "")))
        record_b = _json_bytes(child.record)
        history_b = _json_bytes(child.history)
        docs_b = _json_bytes({"documents": doc_entries})
        for name, data in (("record.json", record_b), ("history.json", history_b), ("documents.json", docs_b)):
            payload.append((f"{base}/{name}", data))
            listing.append(SlipRow(_RECORD_TITLES[name], "", f"{base}/{name}", len(data),
                                   hashlib.sha512(data).hexdigest()))
        slip = render_slip(Slip(package_id=package_id, created_at=created_at, sender_code=sender.code,
                                sender_name=sender.name, recipient_code=recipient.code,
                                recipient_name=recipient.name, student_id=child.student_id, name=child.name,
                                rows=tuple(listing)))
        payload.append((f"{base}/{SLIP_NAME}", slip))
    manifest = "".join(f"{hashlib.sha512(data).hexdigest()}  {path}\n" for path, data in payload).encode()
    oxum = f"{sum(len(d) for _, d in payload)}.{len(payload)}"
    info_lines = [
        ("BagIt-Profile-Identifier", PROFILE_ID),
        ("Source-Organization", f"{sender.name}"),
        ("Bagging-Date", created_at[:10]),
        ("Payload-Oxum", oxum),
        ("Bag-Count", "1 of 1"),
        ("External-Identifier", package_id),
        ("Guanai-Sending-School", sender.code),
        ("Guanai-Receiving-School", recipient.code),
        ("Guanai-Purpose", purpose),
        ("Guanai-Children", str(len(children))),
    ]
    bag_info = "".join(f"{k}: {v}\n" for k, v in info_lines).encode("utf-8")
    tags = [("bagit.txt", _BAGIT_TXT), ("bag-info.txt", bag_info), ("manifest-sha512.txt", manifest)]
    tagmanifest = "".join(f"{hashlib.sha512(d).hexdigest()}  {n}\n" for n, d in tags).encode()
    tags.append(("tagmanifest-sha512.txt", tagmanifest))
    when = _zip_time(created_at)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, data in [*tags, *payload]:
            zi = zipfile.ZipInfo(f"{package_id}/{path}", when)
            zi.compress_type = _compress_type(path)
            zi.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(zi, data, compresslevel=6 if zi.compress_type == zipfile.ZIP_DEFLATED else None)
    return buf.getvalue()


@dataclass
class BagContents:
    package_id: str
    bag_info: dict[str, str]
    children: list[ChildItem]
    files: dict[str, bytes]  # bag-relative path -> bytes (tag files and payload)

    @property
    def document_count(self) -> int:
        return sum(len(c.documents) for c in self.children)


def bad_package(problems: list[Problem], what: str) -> IntegrityError:
    """The error for a refused package: ``what`` failed, with every problem found."""
    return IntegrityError(f"{what}（{len(problems)} 处问题）", "此转接包不安全或已损坏，未导入任何内容；请向发送学校重新索取。",
                          problems)


def unsafe_path(name: str) -> Problem | None:
    """Why a relative path is dangerous (None when safe): absolute, '..', separators, controls."""
    if re.search(r"[\x00-\x1f\\]", name):
        return Problem(repr(name), "含非法字符的路径", code="bag.path.characters")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return Problem(repr(name), "绝对路径", code="bag.path.absolute")
    if any(p in ("", ".", "..") for p in name.rstrip("/").split("/")):
        return Problem(repr(name), "含 '..' 或空段的路径", code="bag.path.traversal")
    return None


def check_entry_name(name: str, root: str) -> Problem | None:
    """Problem with a zip entry name (None when safe); every entry must lie under ``root/``."""
    problem = unsafe_path(name)
    if problem:
        return problem
    if name.split("/")[0] != root:
        return Problem(repr(name), f"不在包目录 {root}/ 之内的路径", code="bag.path.outside")
    return None


def read_zip(zip_bytes: bytes, package_id: str, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """Read every entry of the bag zip into memory after checking names, types and sizes."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(zip_bytes))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as err:
        raise IntegrityError(f"转接包内层不是有效的 zip：{err}", "请向发送学校重新索取。") from err
    problems: list[Problem] = []
    if len(infos) > limits.max_entries:
        raise bad_package([Problem("zip", f"条目过多（{len(infos)} > {limits.max_entries}）", code="bag.zip.entries")], "转接包被拒绝")
    total = 0
    seen: dict[str, str] = {}
    for zi in infos:
        name = zi.filename
        p = check_entry_name(name, package_id)
        if p:
            problems.append(p)
            continue
        # Unix file type bits (zero when the creating tool recorded none): only regular files/dirs
        fmt = stat.S_IFMT(zi.external_attr >> 16)
        if fmt == stat.S_IFLNK:
            problems.append(Problem(repr(name), "符号链接", code="bag.zip.symlink"))
        elif fmt and fmt not in (stat.S_IFREG, stat.S_IFDIR):
            problems.append(Problem(repr(name), "特殊文件", code="bag.zip.special"))
        if zi.flag_bits & 0x1:
            problems.append(Problem(repr(name), "加密条目", code="bag.zip.encrypted"))
        key = unicodedata.normalize("NFC", name).casefold()
        if key in seen:
            problems.append(Problem(repr(name), "重复条目", code="bag.zip.duplicate"))
        seen[key] = name
        total += zi.file_size
        if zi.file_size > limits.ratio_floor and zi.file_size > limits.max_ratio * max(zi.compress_size, 1):
            problems.append(Problem(repr(name), f"压缩比异常（疑似 zip 炸弹）：{zi.file_size} / {zi.compress_size}",
                                    code="bag.zip.ratio"))
    if total > limits.max_bag:
        problems.append(Problem("zip", f"解压后总大小 {total} 字节超过上限 {limits.max_bag}（疑似 zip 炸弹）",
                                code="bag.zip.size"))
    if problems:
        raise bad_package(problems, "转接包被拒绝")
    files: dict[str, bytes] = {}
    for zi in infos:
        if zi.is_dir():
            continue
        try:
            with zf.open(zi) as f:
                data = f.read(zi.file_size + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as err:
            raise bad_package([Problem(repr(zi.filename), f"条目无法读取（{err}）", code="bag.zip.unreadable")], "转接包已损坏") from err
        if len(data) != zi.file_size:
            raise bad_package([Problem(repr(zi.filename), "条目的实际大小与声明不符", code="bag.zip.size_mismatch")], "转接包已损坏")
        files[zi.filename[len(package_id) + 1 :]] = data
    return files


def _parse_manifest(text: bytes, where: str, problems: list[Problem]) -> dict[str, str]:
    entries: dict[str, str] = {}
    try:
        lines = text.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        problems.append(Problem(where, "不是 UTF-8", code="bag.manifest.encoding"))
        return entries
    for line in lines:
        if not line.strip():
            continue
        m = re.fullmatch(r"([0-9a-f]{128})[ \t]+\*?(.+)", line)
        if not m:
            problems.append(Problem(where, f"格式错误的行 {line[:80]!r}", code="bag.manifest.syntax"))
            continue
        digest, path = m.group(1), m.group(2)
        if unsafe_path(path):
            problems.append(Problem(where, f"不安全的路径 {path!r}", code="bag.manifest.unsafe_path"))
            continue
        if path in entries:
            problems.append(Problem(where, f"重复列出 {path!r}", code="bag.manifest.duplicate"))
        entries[path] = digest
    return entries


def parse_bag_info(data: bytes) -> dict[str, str]:
    info: dict[str, str] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        if ":" in line and not line[:1].isspace():
            k, v = line.split(":", 1)
            info.setdefault(k.strip(), v.strip())
    return info


def check_bag(files: dict[str, bytes], *, package_id: str, sender: str, recipient: str,
              limits: Limits = DEFAULT_LIMITS) -> BagContents:
    """Our own complete validation of the bag; reports every problem found."""
    problems: list[Problem] = []
    for name in ("bagit.txt", "bag-info.txt", "manifest-sha512.txt", "tagmanifest-sha512.txt"):
        if name not in files:
            problems.append(Problem(name, "缺少此文件", code="bag.tag.missing"))
    if "fetch.txt" in files:
        problems.append(Problem("fetch.txt", "不允许引用外部文件", code="bag.fetch"))
    for path in files:
        if not path.startswith("data/") and path not in TAG_FILES and path != "fetch.txt":
            problems.append(Problem(repr(path), "包根目录下的多余文件", code="bag.extra_tag_file"))
    if problems:
        raise bad_package(problems, "转接包结构不符合规范")
    if files["bagit.txt"] != _BAGIT_TXT:
        problems.append(Problem("bagit.txt", "不是 BagIt 1.0 / UTF-8", code="bag.version"))
    manifest = _parse_manifest(files["manifest-sha512.txt"], "manifest-sha512.txt", problems)
    tagmanifest = _parse_manifest(files["tagmanifest-sha512.txt"], "tagmanifest-sha512.txt", problems)
    payload = {p: d for p, d in files.items() if p.startswith("data/")}
    for path, data in payload.items():
        want = manifest.get(path)
        if want is None:
            problems.append(Problem(path, "清单未列出的文件", code="bag.payload.unlisted"))
        elif not crypto.ct_equal(hashlib.sha512(data).hexdigest(), want):
            problems.append(Problem(path, "校验值不符（内容被改动）", code="bag.payload.checksum"))
    for path in manifest:
        if path not in payload:
            problems.append(Problem(path, "清单列出但缺失的文件", code="bag.payload.missing"))
        if not path.startswith("data/"):
            problems.append(Problem(path, "清单中不在 data/ 下的路径", code="bag.payload.outside"))
    for name in ("bagit.txt", "bag-info.txt", "manifest-sha512.txt"):
        want = tagmanifest.get(name)
        if want is None:
            problems.append(Problem(name, "标签清单未列出", code="bag.tag.unlisted"))
        elif not crypto.ct_equal(hashlib.sha512(files[name]).hexdigest(), want):
            problems.append(Problem(name, "校验值不符（内容被改动）", code="bag.tag.checksum"))
    for name in tagmanifest:
        if name not in files or name.startswith("data/") or name == "tagmanifest-sha512.txt":
            problems.append(Problem(name, "标签清单中的无效条目", code="bag.tag.invalid"))
    info = parse_bag_info(files["bag-info.txt"])
    oxum = f"{sum(len(d) for d in payload.values())}.{len(payload)}"
    expected = {"Payload-Oxum": oxum, "BagIt-Profile-Identifier": PROFILE_ID, "External-Identifier": package_id,
                "Guanai-Sending-School": sender, "Guanai-Receiving-School": recipient, "Bag-Count": "1 of 1"}
    for k, v in expected.items():
        if info.get(k) != v:
            problems.append(Problem("bag-info.txt", f"{k} 为 {info.get(k)!r}，应为 {v!r}", code="bag.info.mismatch"))
    for k in ("Source-Organization", "Bagging-Date"):
        if not info.get(k):
            problems.append(Problem("bag-info.txt", f"缺少 {k}", code="bag.info.missing"))
    if problems:
        raise bad_package(problems, "转接包校验失败")
    children = _parse_children(payload, limits, problems)
    if problems:
        raise bad_package(problems, "转接包内容不一致")
    return BagContents(package_id=package_id, bag_info=info, children=children, files=files)


def _load_json(payload: dict[str, bytes], path: str, limits: Limits, problems: list[Problem]) -> Any:
    data = payload.get(path)
    if data is None:
        problems.append(Problem(path, "缺少此文件", code="bag.child.missing"))
        return None
    if len(data) > limits.max_record:
        problems.append(Problem(path, f"过大（{len(data)} 字节）", code="bag.child.too_large"))
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        problems.append(Problem(path, f"不是有效的 JSON（{err}）", code="bag.child.json"))
        return None


def _parse_children(payload: dict[str, bytes], limits: Limits, problems: list[Problem]) -> list[ChildItem]:
    by_child: dict[str, set[str]] = {}
    for path in payload:
        parts = path.split("/")
        if len(parts) < 3:
            problems.append(Problem(path, "data/ 下不属于任何学生的文件", code="bag.child.stray"))
            continue
        by_child.setdefault(parts[1], set()).add(path)
    children: list[ChildItem] = []
    for xjh in sorted(by_child):
        paths = by_child[xjh]
        base = f"data/{xjh}"
        if not XJH_RE.match(xjh):
            problems.append(Problem(f"data/{xjh}", "目录名不是学籍号", code="bag.child.student_id"))
            continue
        record = _load_json(payload, f"{base}/record.json", limits, problems)
        history = _load_json(payload, f"{base}/history.json", limits, problems)
        docs = _load_json(payload, f"{base}/documents.json", limits, problems)
        if record is None or history is None or docs is None:
            continue
        if not isinstance(record, dict) or record.get("student_id") != xjh or not isinstance(record.get("record"), dict):
            problems.append(Problem(f"{base}/record.json", "与目录学籍号不符或格式错误", code="bag.child.record"))
            continue
        if not isinstance(docs, dict) or not isinstance(docs.get("documents"), list):
            problems.append(Problem(f"{base}/documents.json", "格式错误", code="bag.child.documents"))
            continue
        used = {f"{base}/record.json", f"{base}/history.json", f"{base}/documents.json", f"{base}/{SLIP_NAME}"}
        items: list[DocItem] = []
        for entry in docs["documents"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                problems.append(Problem(f"{base}/documents.json", "格式错误的条目", code="bag.child.documents"))
                continue
            path = entry["path"]
            if not path.startswith(f"{base}/docs/") or path not in payload:
                problems.append(Problem(repr(path), "文书目录列出的文件不存在或不在本学生目录下",
                                        code="bag.document.missing"))
                continue
            if path in used:
                problems.append(Problem(path, "文书目录重复列出", code="bag.document.duplicate"))
                continue
            used.add(path)
            content = payload[path]
            if not crypto.ct_equal(hashlib.sha512(content).hexdigest(), str(entry.get("sha512", ""))) \
                    or entry.get("size") != len(content):
                problems.append(Problem(path, "文书目录中的校验值或大小与文件不符", code="bag.document.checksum"))
                continue
            meta = {k: v for k, v in entry.items() if k not in ("path", "sha512", "size")}
            items.append(DocItem(meta=meta, content=content))
        for extra in sorted(paths - used):
            problems.append(Problem(extra, "未在文书目录中登记的文件", code="bag.document.unlisted"))
        if f"{base}/{SLIP_NAME}" not in payload:
            problems.append(Problem(f"{base}/{SLIP_NAME}", "缺少档案转接单", code="bag.child.slip"))
        name = ""
        rec = record["record"]
        for key in ("姓名", "name"):
            if isinstance(rec.get(key), str):
                name = rec[key]
                break
        children.append(ChildItem(student_id=xjh, name=name, record=record,
                                  history=history if isinstance(history, dict) else {"entries": history},
                                  documents=items, slip=payload.get(f"{base}/{SLIP_NAME}")))
    if not children and not problems:
        problems.append(Problem("data/", "转接包中没有任何学生", code="bag.empty"))
    return children
