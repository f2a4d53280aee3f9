"""The transfer package (``.gtp``, FORMAT.md "Transfer package"): pure functions, no archive.

Inner part: a plain BagIt 1.0 bag (RFC 8493), zipped, one top-level directory named after the
package id. Outer part: that zip sealed with HPKE (RFC 9180, base mode) to the receiving school's
X25519 key, with the header's hash bound through ``info``, and the whole file signed (Ed25519) by
the sending school.

Reading is defensive: every size is bounded before anything is allocated, paths are checked
before they are used, and the bag is validated twice — in memory by our own checks (which report
every problem) and on a private temporary copy by the ``bagit`` reference validator.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import struct
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke

from guanai.archive import crypto
from guanai.archive.identity import HPKE_SUITE, Card, Identity, canonical_json, verify
from guanai.base.errors import FormatError, InputError, IntegrityError

MAGIC = b"GTP\x00\x00\x00\x00\x01"  # "GTP", format version 1 in the last byte
FORMAT_VERSION = 1
PACKAGE_FORMAT = "guanai-transfer"
RECEIPT_FORMAT = "guanai-receipt"
PROFILE_ID = "urn:guanai:bagit-profile:transfer:1"
SIG_LEN = 64
MAX_HEADER = 64 * 1024
SLIP_NAME = "档案转接单.docx"
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_XJH_RE = re.compile(r"^[GJL][0-9]{17}[0-9X]$|^L[0-9]{18}$")
_STORED_EXT = {".docx", ".xlsx", ".pdf", ".zip", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".mp3", ".mp4"}
_TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha512.txt", "tagmanifest-sha512.txt")
_BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
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


# ---------------------------------------------------------------------------------------------
# Inner bag


@dataclass
class DocItem:
    """One document of a child: metadata (JSON-safe) and its exact bytes."""

    meta: dict[str, Any]
    content: bytes


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


def _fmt_size(n: int) -> str:
    return f"{n:,}"


def build_slip(*, package_id: str, created_at: str, sender: Card, recipient: Card, child: ChildItem,
               listing: list[tuple[str, str, str, int, str]]) -> bytes:
    """档案转接单: a small, readable .docx listing every file of the child with its SHA-512.

    ``listing`` rows are (title, kind, path, size, sha512). Built directly as WordprocessingML
    (a few KB instead of python-docx's 36 KB template, and ~100x faster for a 500-child cohort).
    """

    def run(text: str, *, bold: bool = False, size: int = 24, mono: bool = False) -> str:
        text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)
        fonts = ('<w:rFonts w:ascii="Courier New" w:hAnsi="Courier New" w:eastAsia="仿宋_GB2312"/>' if mono
                 else '<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="仿宋_GB2312"/>')
        props = fonts + ("<w:b/>" if bold else "") + f'<w:sz w:val="{size}"/><w:szCs w:val="{size}"/>'
        return f'<w:r><w:rPr>{props}</w:rPr><w:t xml:space="preserve">{escape(text)}</w:t></w:r>'

    def para(text: str, *, center: bool = False, bold: bool = False, size: int = 24, mono: bool = False) -> str:
        ppr = '<w:pPr><w:jc w:val="center"/></w:pPr>' if center else ""
        return f"<w:p>{ppr}{run(text, bold=bold, size=size, mono=mono)}</w:p>"

    def cell(text: str, width: int, *, bold: bool = False, size: int = 18, mono: bool = False) -> str:
        return (f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>'
                f"{para(text, bold=bold, size=size, mono=mono)}</w:tc>")

    widths = (600, 2300, 1300, 5400)
    header = "".join(cell(t, w, bold=True) for t, w in zip(("序号", "文书", "大小（字节）", "SHA-512"), widths,
                                                            strict=True))
    rows = [f"<w:tr>{header}</w:tr>"]
    for i, (title, kind, path, size, digest) in enumerate(listing, 1):
        label = f"{title}（{kind}）\n{path}" if kind else f"{title}\n{path}"
        rows.append("<w:tr>" + cell(str(i), widths[0]) + cell(label, widths[1]) + cell(_fmt_size(size), widths[2])
                    + cell(digest, widths[3], size=14, mono=True) + "</w:tr>")
    borders = "".join(f'<w:{b} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
                      for b in ("top", "left", "bottom", "right", "insideH", "insideV"))
    table = (f'<w:tbl><w:tblPr><w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:tblBorders>{borders}'
             f'</w:tblBorders><w:tblLayout w:type="fixed"/></w:tblPr><w:tblGrid>'
             + "".join(f'<w:gridCol w:w="{w}"/>' for w in widths) + "</w:tblGrid>" + "".join(rows) + "</w:tbl>")
    body = "".join([
        para("档案转接单", center=True, bold=True, size=36),
        para(f"转出学校：{sender.name}（{sender.code}）"),
        para(f"转入学校：{recipient.name}（{recipient.code}）"),
        para(f"学生：{child.name}　学籍号：{child.student_id}"),
        para(f"转接包编号：{package_id}"),
        para(f"打包时间：{created_at}"),
        para(f"本学生共移交文件 {len(listing)} 件，逐件列明 SHA-512 校验值如下："),
        table,
        para(""),
        para("转出学校经办人（签字）：__________　　转入学校经办人（签字）：__________"),
        para("说明：本单随转接包一并移交；接收学校可用 guanai transfer inspect 核对每件文件的校验值。", size=18),
    ])
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    sect = ('<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1134" '
            'w:bottom="1440" w:left="1134" w:header="720" w:footer="720" w:gutter="0"/></w:sectPr>')
    document = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {ns}><w:body>{body}{sect}</w:body></w:document>'
    styles = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:styles {ns}><w:docDefaults><w:rPrDefault><w:rPr>'
              '<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="仿宋_GB2312"/>'
              '<w:sz w:val="24"/><w:lang w:val="en-US" w:eastAsia="zh-CN"/></w:rPr></w:rPrDefault>'
              "</w:docDefaults></w:styles>")
    content_types = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                     '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                     '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                     '<Default Extension="xml" ContentType="application/xml"/>'
                     '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                     'officedocument.wordprocessingml.document.main+xml"/>'
                     '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-'
                     'officedocument.wordprocessingml.styles+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    doc_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                'relationships/styles" Target="styles.xml"/></Relationships>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("[Content_Types].xml", content_types), ("_rels/.rels", rels),
                           ("word/document.xml", document), ("word/_rels/document.xml.rels", doc_rels),
                           ("word/styles.xml", styles)):
            zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), text.encode("utf-8"),
                        compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _zip_time(created_at: str) -> tuple[int, int, int, int, int, int]:
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)", created_at)
    if not m:
        return (2020, 1, 1, 0, 0, 0)
    y, mo, d, h, mi, s = (int(x) for x in m.groups())
    return (max(1980, y), mo, d, h, mi, s)


def build_bag(*, package_id: str, created_at: str, sender: Card, recipient: Card,
              children: list[ChildItem], purpose: str) -> bytes:
    """Serialise the children as a zipped BagIt 1.0 bag (top directory = package id)."""
    if not _ID_RE.match(package_id):
        raise InputError(f"转接包编号格式错误：{package_id!r}", "应为 32 位小写十六进制。")
    payload: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for child in children:
        if not _XJH_RE.match(child.student_id):
            raise InputError(f"学籍号格式不正确，无法打包：{child.student_id!r}", "先用 guanai child update 更正学籍号。")
        if child.student_id in seen:
            raise InputError(f"同一学生（学籍号 {child.student_id}）在转接包中出现两次。", "每名学生只列一次。")
        seen.add(child.student_id)
        base = f"data/{child.student_id}"
        listing: list[tuple[str, str, str, int, str]] = []
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
            listing.append((str(doc.meta.get("title") or fname), str(doc.meta.get("kind") or ""), path,
                            len(doc.content), digest))
        record_b = _json_bytes(child.record)
        history_b = _json_bytes(child.history)
        docs_b = _json_bytes({"documents": doc_entries})
        for name, data in (("record.json", record_b), ("history.json", history_b), ("documents.json", docs_b)):
            payload.append((f"{base}/{name}", data))
            listing.append((_RECORD_TITLES[name], "", f"{base}/{name}", len(data),
                            hashlib.sha512(data).hexdigest()))
        slip = build_slip(package_id=package_id, created_at=created_at, sender=sender, recipient=recipient,
                          child=child, listing=listing)
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


# ---------------------------------------------------------------------------------------------
# Safe reading of the bag


@dataclass
class BagContents:
    package_id: str
    bag_info: dict[str, str]
    children: list[ChildItem]
    files: dict[str, bytes]  # bag-relative path -> bytes (tag files and payload)

    @property
    def document_count(self) -> int:
        return sum(len(c.documents) for c in self.children)


def _bad(problems: list[str], what: str) -> IntegrityError:
    shown = "；".join(problems[:5]) + (f"；……共 {len(problems)} 处问题" if len(problems) > 5 else "")
    return IntegrityError(f"{what}：{shown}", "此转接包不安全或已损坏，未导入任何内容；请向发送学校重新索取。")


def unsafe_path(name: str) -> str | None:
    """Why a relative path is dangerous (None when safe): absolute, '..', separators, controls."""
    if re.search(r"[\x00-\x1f\\]", name):
        return f"含非法字符的路径 {name!r}"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return f"绝对路径 {name!r}"
    if any(p in ("", ".", "..") for p in name.rstrip("/").split("/")):
        return f"含 '..' 或空段的路径 {name!r}"
    return None


def check_entry_name(name: str, root: str) -> str | None:
    """Problem with a zip entry name (None when safe); every entry must lie under ``root/``."""
    problem = unsafe_path(name)
    if problem:
        return problem
    if name.split("/")[0] != root:
        return f"不在包目录 {root}/ 之内的路径 {name!r}"
    return None


def read_zip(zip_bytes: bytes, package_id: str, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """Read every entry of the bag zip into memory after checking names, types and sizes."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(zip_bytes))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as err:
        raise IntegrityError(f"转接包内层不是有效的 zip：{err}", "请向发送学校重新索取。") from err
    problems: list[str] = []
    if len(infos) > limits.max_entries:
        raise _bad([f"条目过多（{len(infos)} > {limits.max_entries}）"], "转接包被拒绝")
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
            problems.append(f"符号链接 {name!r}")
        elif fmt and fmt not in (stat.S_IFREG, stat.S_IFDIR):
            problems.append(f"特殊文件 {name!r}")
        if zi.flag_bits & 0x1:
            problems.append(f"加密条目 {name!r}")
        key = unicodedata.normalize("NFC", name).casefold()
        if key in seen:
            problems.append(f"重复条目 {name!r}")
        seen[key] = name
        total += zi.file_size
        if zi.file_size > limits.ratio_floor and zi.file_size > limits.max_ratio * max(zi.compress_size, 1):
            problems.append(f"压缩比异常（疑似 zip 炸弹）{name!r}：{zi.file_size} / {zi.compress_size}")
    if total > limits.max_bag:
        problems.append(f"解压后总大小 {total} 字节超过上限 {limits.max_bag}（疑似 zip 炸弹）")
    if problems:
        raise _bad(problems, "转接包被拒绝")
    files: dict[str, bytes] = {}
    for zi in infos:
        if zi.is_dir():
            continue
        try:
            with zf.open(zi) as f:
                data = f.read(zi.file_size + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as err:
            raise _bad([f"条目 {zi.filename!r} 无法读取（{err}）"], "转接包已损坏") from err
        if len(data) != zi.file_size:
            raise _bad([f"条目 {zi.filename!r} 的实际大小与声明不符"], "转接包已损坏")
        files[zi.filename[len(package_id) + 1 :]] = data
    return files


def _parse_manifest(text: bytes, where: str, problems: list[str]) -> dict[str, str]:
    entries: dict[str, str] = {}
    try:
        lines = text.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        problems.append(f"{where} 不是 UTF-8")
        return entries
    for line in lines:
        if not line.strip():
            continue
        m = re.fullmatch(r"([0-9a-f]{128})[ \t]+\*?(.+)", line)
        if not m:
            problems.append(f"{where} 中格式错误的行 {line[:80]!r}")
            continue
        digest, path = m.group(1), m.group(2)
        if unsafe_path(path):
            problems.append(f"{where} 中不安全的路径 {path!r}")
            continue
        if path in entries:
            problems.append(f"{where} 重复列出 {path!r}")
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
    problems: list[str] = []
    for name in ("bagit.txt", "bag-info.txt", "manifest-sha512.txt", "tagmanifest-sha512.txt"):
        if name not in files:
            problems.append(f"缺少 {name}")
    if "fetch.txt" in files:
        problems.append("含 fetch.txt（不允许引用外部文件）")
    for path in files:
        if not path.startswith("data/") and path not in _TAG_FILES and path != "fetch.txt":
            problems.append(f"包根目录下有多余文件 {path!r}")
    if problems:
        raise _bad(problems, "转接包结构不符合规范")
    if files["bagit.txt"] != _BAGIT_TXT:
        problems.append("bagit.txt 不是 BagIt 1.0 / UTF-8")
    manifest = _parse_manifest(files["manifest-sha512.txt"], "manifest-sha512.txt", problems)
    tagmanifest = _parse_manifest(files["tagmanifest-sha512.txt"], "tagmanifest-sha512.txt", problems)
    payload = {p: d for p, d in files.items() if p.startswith("data/")}
    for path, data in payload.items():
        want = manifest.get(path)
        if want is None:
            problems.append(f"清单未列出的文件 {path}")
        elif not crypto.ct_equal(hashlib.sha512(data).hexdigest(), want):
            problems.append(f"校验值不符（内容被改动）{path}")
    for path in manifest:
        if path not in payload:
            problems.append(f"清单列出但缺失的文件 {path}")
        if not path.startswith("data/"):
            problems.append(f"清单中不在 data/ 下的路径 {path}")
    for name in ("bagit.txt", "bag-info.txt", "manifest-sha512.txt"):
        want = tagmanifest.get(name)
        if want is None:
            problems.append(f"标签清单未列出 {name}")
        elif not crypto.ct_equal(hashlib.sha512(files[name]).hexdigest(), want):
            problems.append(f"校验值不符（内容被改动）{name}")
    for name in tagmanifest:
        if name not in files or name.startswith("data/") or name == "tagmanifest-sha512.txt":
            problems.append(f"标签清单中的无效条目 {name}")
    info = parse_bag_info(files["bag-info.txt"])
    oxum = f"{sum(len(d) for d in payload.values())}.{len(payload)}"
    expected = {"Payload-Oxum": oxum, "BagIt-Profile-Identifier": PROFILE_ID, "External-Identifier": package_id,
                "Guanai-Sending-School": sender, "Guanai-Receiving-School": recipient, "Bag-Count": "1 of 1"}
    for k, v in expected.items():
        if info.get(k) != v:
            problems.append(f"bag-info.txt 的 {k} 为 {info.get(k)!r}，应为 {v!r}")
    for k in ("Source-Organization", "Bagging-Date"):
        if not info.get(k):
            problems.append(f"bag-info.txt 缺少 {k}")
    if problems:
        raise _bad(problems, "转接包校验失败")
    children = _parse_children(payload, limits, problems)
    if problems:
        raise _bad(problems, "转接包内容不一致")
    return BagContents(package_id=package_id, bag_info=info, children=children, files=files)


def _load_json(payload: dict[str, bytes], path: str, limits: Limits, problems: list[str]) -> Any:
    data = payload.get(path)
    if data is None:
        problems.append(f"缺少 {path}")
        return None
    if len(data) > limits.max_record:
        problems.append(f"{path} 过大（{len(data)} 字节）")
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        problems.append(f"{path} 不是有效的 JSON（{err}）")
        return None


def _parse_children(payload: dict[str, bytes], limits: Limits, problems: list[str]) -> list[ChildItem]:
    by_child: dict[str, set[str]] = {}
    for path in payload:
        parts = path.split("/")
        if len(parts) < 3:
            problems.append(f"data/ 下不属于任何学生的文件 {path}")
            continue
        by_child.setdefault(parts[1], set()).add(path)
    children: list[ChildItem] = []
    for xjh in sorted(by_child):
        paths = by_child[xjh]
        base = f"data/{xjh}"
        if not _XJH_RE.match(xjh):
            problems.append(f"目录名不是学籍号：{xjh!r}")
            continue
        record = _load_json(payload, f"{base}/record.json", limits, problems)
        history = _load_json(payload, f"{base}/history.json", limits, problems)
        docs = _load_json(payload, f"{base}/documents.json", limits, problems)
        if record is None or history is None or docs is None:
            continue
        if not isinstance(record, dict) or record.get("student_id") != xjh or not isinstance(record.get("record"), dict):
            problems.append(f"{base}/record.json 与目录学籍号不符或格式错误")
            continue
        if not isinstance(docs, dict) or not isinstance(docs.get("documents"), list):
            problems.append(f"{base}/documents.json 格式错误")
            continue
        used = {f"{base}/record.json", f"{base}/history.json", f"{base}/documents.json", f"{base}/{SLIP_NAME}"}
        items: list[DocItem] = []
        for entry in docs["documents"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                problems.append(f"{base}/documents.json 中格式错误的条目")
                continue
            path = entry["path"]
            if not path.startswith(f"{base}/docs/") or path not in payload:
                problems.append(f"文书目录列出的文件不存在或不在本学生目录下：{path!r}")
                continue
            if path in used:
                problems.append(f"文书目录重复列出 {path}")
                continue
            used.add(path)
            content = payload[path]
            if not crypto.ct_equal(hashlib.sha512(content).hexdigest(), str(entry.get("sha512", ""))) \
                    or entry.get("size") != len(content):
                problems.append(f"文书目录中的校验值或大小与文件不符：{path}")
                continue
            meta = {k: v for k, v in entry.items() if k not in ("path", "sha512", "size")}
            items.append(DocItem(meta=meta, content=content))
        for extra in sorted(paths - used):
            problems.append(f"未在文书目录中登记的文件 {extra}")
        if f"{base}/{SLIP_NAME}" not in payload:
            problems.append(f"缺少 {base}/{SLIP_NAME}")
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
        problems.append("转接包中没有任何学生")
    return children


_TMP_PREFIX = "guanai-bag-"


def _tmp_base() -> str | None:
    from guanai.base.privtmp import tmp_base  # /dev/shm, or GUANAI_TMPDIR (tests)

    return tmp_base()


def _wipe_tree(path: Path) -> None:
    """Overwrite every file with zeros, then remove the tree (best effort, never raises)."""
    for root, _dirs, names in os.walk(path):
        for n in names:
            p = os.path.join(root, n)
            try:
                if os.path.islink(p):
                    continue
                size = os.path.getsize(p)
                with open(p, "r+b") as f:
                    f.write(b"\x00" * size)
                    f.flush()
            except OSError:
                pass
    shutil.rmtree(path, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_tmpdirs(base: str | None = None) -> int:
    """Remove bag copies left by a process that was killed (SIGKILL, power loss) mid-validation.

    Each copy's name carries the pid of its owner; a copy whose owner is gone is wiped. Only
    directories of the current user are touched. Returns how many were removed.
    """
    root = Path(base if base is not None else (_tmp_base() or tempfile.gettempdir()))
    removed = 0
    try:
        candidates = list(root.glob(_TMP_PREFIX + "*"))
    except OSError:
        return 0
    for d in candidates:
        m = re.match(re.escape(_TMP_PREFIX) + r"(\d+)-", d.name)
        try:
            st = d.lstat()
        except OSError:
            continue
        if not m or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or _pid_alive(int(m.group(1))):
            continue
        _wipe_tree(d)
        removed += 1
    return removed


class _Terminated(BaseException):
    """Raised by the SIGTERM/SIGHUP handler so that ``finally`` blocks wipe the plaintext copy."""


@contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """While the plaintext copy exists, turn SIGTERM/SIGHUP into an exception (cleanup runs).

    SIGINT already raises KeyboardInterrupt; SIGKILL cannot be caught: its leftovers are swept by
    the next validation (``sweep_stale_tmpdirs``). Handlers can only be set in the main thread.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise _Terminated(signum)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    except _Terminated as err:
        raise SystemExit(128 + int(err.args[0])) from None
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def _private_tmpdir() -> Iterator[Path]:
    """A 0700 temp dir, in RAM (/dev/shm) when available; files are overwritten before removal."""
    base = _tmp_base()
    sweep_stale_tmpdirs(base)
    path = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", dir=base))
    os.chmod(path, 0o700)
    try:
        yield path
    finally:
        _wipe_tree(path)


def validate_with_bagit(files: dict[str, bytes], package_id: str) -> None:
    """Run the Library of Congress ``bagit`` validator on a private, wiped-after temp copy."""
    import bagit

    with _terminate_cleanly(), _private_tmpdir() as tmp:
        bag_dir = tmp / package_id
        for rel, data in files.items():
            target = bag_dir / rel
            # Names were checked by read_zip already; resolve again as defence in depth.
            if not str(target.resolve()).startswith(str(bag_dir.resolve()) + os.sep):
                raise _bad([f"不安全的路径 {rel!r}"], "转接包被拒绝")
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        try:
            bag = bagit.Bag(str(bag_dir))
            bag.validate(processes=1)
        except bagit.BagValidationError as err:
            details = [str(d) for d in (err.details or [])] or [str(err.message)]
            raise _bad(details, "BagIt 校验器（bagit）报告错误") from err
        except bagit.BagError as err:
            raise _bad([str(err)], "BagIt 校验器（bagit）报告错误") from err


# ---------------------------------------------------------------------------------------------
# Outer envelope


@dataclass(frozen=True)
class Envelope:
    header: dict[str, Any]
    header_bytes: bytes
    payload: bytes
    signature: bytes
    sha256: str  # of the whole file: what a receipt references

    @property
    def package_id(self) -> str:
        return str(self.header["package_id"])

    @property
    def sender(self) -> dict[str, str]:
        return dict(self.header["sender"])

    @property
    def recipient(self) -> dict[str, str]:
        return dict(self.header["recipient"])


def hpke_info(header_bytes: bytes) -> bytes:
    # HPKE has no AAD parameter here: the header (format version, sender, recipient, package id)
    # is bound through ``info`` by its hash, so a payload cannot be moved under another header.
    return b"guanai/v1/gtp\x00" + hashlib.sha256(header_bytes).digest()


def _signed_digest(data_without_sig: bytes) -> bytes:
    return hashlib.sha512(data_without_sig).digest()


def seal_package(bag_zip: bytes, *, package_id: str, created_at: str, purpose: str, sender: Identity,
                 recipient: Card, children: int, documents: int) -> bytes:
    """Encrypt the bag to the recipient (HPKE) and sign the whole file as the sender."""
    header = {
        "format": PACKAGE_FORMAT,
        "version": FORMAT_VERSION,
        "package_id": package_id,
        "created_at": created_at,
        "purpose": purpose,
        "sender": {"code": sender.card.code, "name": sender.card.name, "county": sender.card.county,
                   "fingerprint": sender.card.fingerprint},
        "recipient": {"code": recipient.code, "name": recipient.name, "county": recipient.county,
                      "fingerprint": recipient.fingerprint},
        "hpke_suite": HPKE_SUITE,
        "counts": {"children": children, "documents": documents},
    }
    header_bytes = canonical_json(header)
    payload = _SUITE.encrypt(bag_zip, recipient.hpke_public(), info=hpke_info(header_bytes))
    body = MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes + struct.pack(">Q", len(payload)) + payload
    return body + sender.sign("gtp", _signed_digest(body))


def parse_envelope(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Envelope:
    """Check the framing and the header (no key needed)."""
    if len(data) > limits.max_package:
        raise InputError(f"转接包过大（{len(data)} 字节，上限 {limits.max_package}）。",
                         "按去向拆分为多个转接包，或确认文件来源。")
    if len(data) < len(MAGIC) + 4 + 8 + SIG_LEN or data[:3] != MAGIC[:3]:
        raise FormatError("不是转接包（.gtp）文件。", "请确认选择了发送学校提供的 .gtp 文件。")
    if data[: len(MAGIC)] != MAGIC:
        raise FormatError(f"转接包格式版本 {data[len(MAGIC) - 1]} 不受支持。", "请升级本软件。")
    pos = len(MAGIC)
    (hlen,) = struct.unpack(">I", data[pos : pos + 4])
    pos += 4
    if hlen > MAX_HEADER or pos + hlen + 8 + SIG_LEN > len(data):
        raise IntegrityError("转接包头部长度无效：文件被截断或篡改。", "请向发送学校重新索取。")
    header_bytes = data[pos : pos + hlen]
    pos += hlen
    (plen,) = struct.unpack(">Q", data[pos : pos + 8])
    pos += 8
    if pos + plen + SIG_LEN != len(data):
        raise IntegrityError("转接包长度与头部声明不符：文件被截断或篡改。", "请向发送学校重新索取。")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IntegrityError("转接包头部不是有效的 JSON：文件被篡改。", "请向发送学校重新索取。") from err
    if not isinstance(header, dict) or canonical_json(header) != header_bytes:
        raise IntegrityError("转接包头部不是规范 JSON：文件被篡改。", "请向发送学校重新索取。")
    ok = (header.get("format") == PACKAGE_FORMAT and header.get("version") == FORMAT_VERSION
          and isinstance(header.get("package_id"), str) and _ID_RE.match(header["package_id"])
          and isinstance(header.get("sender"), dict) and isinstance(header.get("recipient"), dict)
          and all(isinstance(header[s].get(k), str) for s in ("sender", "recipient")
                  for k in ("code", "name", "fingerprint"))
          and header.get("hpke_suite") == HPKE_SUITE and isinstance(header.get("counts"), dict))
    if not ok:
        raise FormatError("转接包头部缺少字段或版本不受支持。", "请升级本软件，或向发送学校重新索取。")
    payload = data[pos : pos + plen]
    signature = data[pos + plen :]
    return Envelope(header=header, header_bytes=header_bytes, payload=payload, signature=signature,
                    sha256=hashlib.sha256(data).hexdigest())


def verify_envelope(env: Envelope, data: bytes, sender_card: Card) -> None:
    """Verify the sender's signature over the whole file with the key from the directory."""
    if env.sender["code"] != sender_card.code or not crypto.ct_equal(env.sender["fingerprint"],
                                                                     sender_card.fingerprint):
        raise IntegrityError(f"转接包声称来自 {env.sender['code']}，但其密钥指纹与县级目录不符。",
                             "可能是伪造的转接包，或对方更换了密钥而目录未更新；请联系县教体局核实。")
    verify(sender_card.sign_key, "gtp", _signed_digest(data[: len(data) - SIG_LEN]), env.signature,
           f"转接包（来自 {sender_card.name}）")


def open_envelope(env: Envelope, me: Identity) -> bytes:
    """Decrypt the inner bag (only the recipient can)."""
    rcpt = env.recipient
    if rcpt["code"] != me.card.code or not crypto.ct_equal(rcpt["fingerprint"], me.card.fingerprint):
        raise InputError(f"此转接包是发给 {rcpt.get('name', '')}（{rcpt['code']}）的，不是本校（{me.card.code}）。",
                         "请转交给接收学校；本校无法也不应打开它。")
    try:
        return _SUITE.decrypt(env.payload, me.hpke, info=hpke_info(env.header_bytes))
    except (InvalidTag, ValueError) as err:
        raise IntegrityError("转接包无法解密：内容被篡改，或并非用本校密钥加密。",
                             "请向发送学校重新索取，并核对本校身份卡指纹。") from err


# ---------------------------------------------------------------------------------------------
# Receipts


@dataclass(frozen=True)
class Receipt:
    body: dict[str, Any]
    signature: bytes

    @property
    def package_id(self) -> str:
        return str(self.body["package_id"])


def make_receipt(me: Identity, body: dict[str, Any]) -> bytes:
    body = {"format": RECEIPT_FORMAT, "version": FORMAT_VERSION, **body,
            "recipient": {"code": me.card.code, "name": me.card.name, "fingerprint": me.card.fingerprint}}
    sig = me.sign("receipt", canonical_json(body))
    return json.dumps({"body": body, "signature": sig.hex()}, ensure_ascii=False, indent=2,
                      sort_keys=True).encode("utf-8") + b"\n"


def parse_receipt(data: bytes) -> Receipt:
    if len(data) > 1 << 20:
        raise InputError(f"回执文件过大（{len(data)} 字节）。", "回执只有几 KB；请确认文件。")
    try:
        obj = json.loads(data.decode("utf-8"))
        body, sig = obj["body"], bytes.fromhex(obj["signature"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise FormatError("不是有效的回执文件。", "请使用接收学校 transfer import 生成的 .receipt 文件。") from err
    if not isinstance(body, dict) or body.get("format") != RECEIPT_FORMAT or body.get("version") != FORMAT_VERSION:
        raise FormatError("回执格式或版本不受支持。", "请升级本软件，或请接收学校重新生成回执。")
    ok = (isinstance(body.get("package_id"), str) and _ID_RE.match(body["package_id"])
          and body.get("decision") in ("accepted", "rejected") and isinstance(body.get("package_sha256"), str)
          and isinstance(body.get("recipient"), dict) and isinstance(body["recipient"].get("code"), str))
    if not ok:
        raise FormatError("回执缺少必要字段。", "请请接收学校重新生成回执。")
    return Receipt(body=body, signature=sig)


def verify_receipt(receipt: Receipt, recipient_card: Card) -> None:
    r = receipt.body["recipient"]
    if r.get("code") != recipient_card.code or not crypto.ct_equal(str(r.get("fingerprint", "")),
                                                                   recipient_card.fingerprint):
        raise IntegrityError(f"回执声称来自 {r.get('code')}，但其密钥指纹与县级目录不符。", "请联系接收学校与县教体局核实。")
    verify(recipient_card.sign_key, "receipt", canonical_json(receipt.body), receipt.signature,
           f"回执（来自 {recipient_card.name}）")
