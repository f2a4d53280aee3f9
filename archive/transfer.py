"""Transfers between archives: export, inspect, import (accept/reject + receipt), confirm.

The flow (DESIGN.md §4): the sender exports a signed + encrypted package (``archive.package``) to
a school listed in the county directory; the receiver verifies the signature against its own
copy of the directory, decrypts, validates the bag, shows a summary, then accepts (everything is
re-sealed under the receiver's keys in ONE transaction) or rejects; either way it writes a signed
receipt. The sender verifies the receipt and marks the children 转出 (accepted) or 在册 (rejected),
keeping what the retention policy allows.

State kept in sealed settings: ``transfer.outgoing`` (packages sent, by package id),
``transfer.imported`` (packages seen, for replay protection) and ``transfer.history``
(per child: the transfers it went through, carried along in the next package).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive.directory import Directory, require_directory
from guanai.archive.identity import Card, canonical_json, get_identity, now_iso
from guanai.archive.package import (
    DEFAULT_LIMITS,
    SLIP_NAME,
    BagContents,
    ChildItem,
    DocItem,
    Envelope,
    Limits,
    build_bag,
    check_bag,
    make_receipt,
    open_envelope,
    parse_envelope,
    parse_receipt,
    read_zip,
    safe_filename,
    seal_package,
    validate_with_bagit,
    verify_envelope,
    verify_receipt,
)
from guanai.base.errors import InputError, IntegrityError, NotFoundError, StateError
from guanai.base.fsutil import atomic_write

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry

OUT_SETTING = "transfer.outgoing"
IN_SETTING = "transfer.imported"
HIST_SETTING = "transfer.history"
CHILD_FORMAT = "guanai-child"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PURPOSES = ("转学", "升学")
Progress = Callable[[int, int], None]  # (children just done, total children)


def _load(arc: Archive, name: str) -> dict[str, Any]:
    raw = arc.get_setting(name)
    if raw is None:
        return {}
    try:
        obj = json.loads(raw)
    except ValueError as err:
        raise IntegrityError(f"转接记录（{name}）已损坏。", "运行 guanai verify。") from err
    return obj if isinstance(obj, dict) else {}


def _save(arc: Archive, name: str, obj: dict[str, Any]) -> None:
    arc.set_setting(name, canonical_json(obj))


def _read_file(path: Path, limit: int, what: str) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError as err:
        raise NotFoundError(f"找不到{what}：{path}", "检查文件路径。") from err
    if size > limit:
        raise InputError(f"{what}过大：{path}（{size} 字节，上限 {limit}）。",
                         "拒绝读取超大文件；升学请按去向拆分转接包，或确认文件来源。")
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{what}过大：{path}（上限 {limit} 字节）。", "确认文件来源。")
    return data


# ---------------------------------------------------------------------------------------------
# Export


@dataclass
class ExportResult:
    path: Path
    package_id: str
    recipient: Card
    children: int
    documents: int
    size: int
    document_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "package_id": self.package_id, "recipient": self.recipient.code,
                "recipient_name": self.recipient.name, "children": self.children, "documents": self.documents,
                "size": self.size, "document_bytes": self.document_bytes}


def _child_item(arc: Archive, entry: ChildEntry, history: dict[str, Any],
                skip: frozenset[str] = frozenset()) -> ChildItem:
    docs: list[DocItem] = []
    for d in arc.list_documents(child_id=entry.id):
        if d.id in skip:  # voided documents stay home unless asked for
            continue
        content = arc.read_document(d.id, audit=False)  # one transfer.export audit entry covers the batch
        docs.append(DocItem(meta={
            "kind": d.kind, "title": d.title, "filename": d.filename, "mime": d.mime, "doc_date": d.doc_date,
            "created_at": d.created_at, "sender_doc_id": d.id, "sha256": d.sha256, "meta": d.meta,
            "form": arc.document_form(d.id), "text": arc.document_text(d.id),
        }, content=content))
    rec = entry.record
    record = {"format": CHILD_FORMAT, "version": 1, "student_id": rec.student_id, "sender_child_id": entry.id,
              "status": entry.status, "record": rec.to_json_dict()}
    hist = {"school_code": entry.school_code, "created_at": entry.created_at, "updated_at": entry.updated_at,
            "status": entry.status, "transfers": list(history.get(entry.id, []))}
    return ChildItem(student_id=rec.student_id, name=rec.name, record=record, history=hist, documents=docs)


def _check_exportable(entry: ChildEntry) -> None:
    if entry.status == "转出":
        raise StateError(f"{entry.record.name}（{entry.record.student_id}）的档案已转出，不能再次转接。",
                         "如确需重新转接，先由管理员用 guanai child reopen 重新启用。")


def _pending(arc: Archive) -> dict[str, tuple[str, dict[str, Any]]]:
    """Children in a package that was sent and whose receipt has not been confirmed yet."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for pid, entry in _load(arc, OUT_SETTING).items():
        if entry.get("state") == "sent":
            for cid in entry.get("children", []):
                out[cid] = (pid, entry)
    return out


def _pending_problem(entry: ChildEntry, pid: str, sent: dict[str, Any]) -> str:
    return (f"{entry.record.name}（{entry.record.student_id}）已在转接包 {pid[:12]} 中"
            f"（{str(sent.get('created_at', ''))[:10]} 发往 {sent.get('recipient_name', '')}），尚未收到回执")


_PENDING_HINT = ("收到对方回执后用 guanai transfer confirm 确认；如原转接包确已丢失或作废，加 --resend 重新导出"
                 "（原包仍可能被导入，请先与对方学校核实）。")


def export_package(arc: Archive, refs: list[str], to_code: str, out: Path, *, purpose: str = "转学",
                   directory: Directory | None = None, resend: bool = False,
                   progress: Progress | None = None, include_void: bool = False) -> ExportResult:
    """Export the children named by ``refs`` (id, 学籍号 or ID number) into one package.

    A child already in a package awaiting its receipt is refused unless ``resend``: two schools
    must not both receive the same dossier by mistake. ``progress(1, total)`` after each child.
    """
    arc.require("transfer")
    arc.require("write")
    if arc.info.kind == "county":
        raise StateError("县级档案库不转出儿童档案。", "转学、升学的转接包由学校档案库导出。")
    if purpose not in PURPOSES:
        raise InputError(f"转接类型不正确：{purpose}", "可选：转学、升学。")
    if not refs:
        raise InputError("没有指定要转出的儿童。", "列出儿童编号、学籍号或身份证号。")
    out = Path(out)
    if out.suffix != ".gtp":  # before any work: a 500-child package takes seconds to build
        raise InputError(f"输出文件应以 .gtp 结尾：{out}", "例如 -o 张小明-转学.gtp")
    if not out.parent.is_dir():
        raise NotFoundError(f"输出目录不存在：{out.parent}", "先创建该目录，或换一个 -o 路径。")
    d = directory or require_directory(arc)
    recipient = d.lookup(to_code, "接收学校")
    me = get_identity(arc)
    if recipient.code == me.card.code:
        raise InputError("接收学校就是本校。", "--to 应为对方学校的代码。")
    entries: list[ChildEntry] = []
    seen: set[str] = set()
    pending = {} if resend else _pending(arc)
    for ref in refs:
        e = arc.get_child(ref)
        if e.id in seen:
            continue
        seen.add(e.id)
        _check_exportable(e)
        if e.id in pending:
            raise StateError(_pending_problem(e, *pending[e.id]) + "。", _PENDING_HINT)
        entries.append(e)
    history = _load(arc, HIST_SETTING)
    from guanai.archive.documents import voided

    skip = frozenset() if include_void else frozenset(voided(arc))
    items = []
    for e in entries:
        items.append(_child_item(arc, e, history, skip))
        if progress:
            progress(1, len(entries))
    package_id = uuid.uuid4().hex
    created_at = now_iso()
    bag = build_bag(package_id=package_id, created_at=created_at, sender=me.card, recipient=recipient,
                    children=items, purpose=purpose)
    n_docs = sum(len(c.documents) for c in items)
    data = seal_package(bag, package_id=package_id, created_at=created_at, purpose=purpose, sender=me,
                        recipient=recipient, children=len(items), documents=n_docs)
    del bag
    # The file first, then the record of it: a failed write (no space, no permission) leaves no
    # "sent" package behind; a failed commit removes the file, so no package exists unrecorded.
    atomic_write(out, data, 0o600)
    try:
        _record_export(arc, package_id, recipient, data, created_at, purpose, entries, n_docs)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return ExportResult(path=out, package_id=package_id, recipient=recipient, children=len(items), documents=n_docs,
                        size=len(data), document_bytes=sum(len(x.content) for c in items for x in c.documents))


def _record_export(arc: Archive, package_id: str, recipient: Card, data: bytes, created_at: str, purpose: str,
                   entries: list[ChildEntry], n_docs: int) -> None:
    with arc.transaction():
        outgoing = _load(arc, OUT_SETTING)
        outgoing[package_id] = {
            "recipient": recipient.code, "recipient_name": recipient.name, "recipient_fp": recipient.fingerprint,
            "sha256": hashlib.sha256(data).hexdigest(), "created_at": created_at, "purpose": purpose,
            "children": [e.id for e in entries], "documents": n_docs, "state": "sent",
        }
        _save(arc, OUT_SETTING, outgoing)
        arc.audit("transfer.export", package_id, {
            "to": recipient.code, "children": [e.id for e in entries], "documents": n_docs, "purpose": purpose,
            "sha256": outgoing[package_id]["sha256"]})


def read_mapping(path: Path) -> dict[str, str]:
    """Mapping file child → destination school code: .csv (two columns), .json, .yaml or .xlsx."""
    path = Path(path)
    data = _read_file(path, 16 << 20, "去向对照表")
    suffix = path.suffix.lower()
    rows: list[tuple[Any, Any]] = []
    try:
        if suffix == ".csv":
            text = data.decode("utf-8-sig")
            rows = [(r[0], r[1]) for r in csv.reader(io.StringIO(text)) if len(r) >= 2 and any(c.strip() for c in r)]
        elif suffix in (".json", ".yaml", ".yml"):
            if suffix == ".json":
                obj = json.loads(data.decode("utf-8"))
            else:
                import yaml

                obj = yaml.safe_load(data.decode("utf-8"))
            if not isinstance(obj, dict):
                raise InputError(f"去向对照表 {path} 应为“儿童 → 学校代码”的键值对象。", '例如 {"G34132220120305001X": "3413220101"}')
            rows = list(obj.items())
        elif suffix == ".xlsx":
            import openpyxl

            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            rows = [(r[0], r[1]) for r in wb.worksheets[0].iter_rows(values_only=True) if len(r) >= 2 and r[0]]
        else:
            raise InputError(f"不支持的去向对照表格式：{path.suffix}", "支持 .csv（两列：学籍号,学校代码）、.json、.yaml、.xlsx。")
    except (UnicodeDecodeError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"去向对照表 {path} 无法解析：{err}", "CSV 请用 UTF-8 编码，两列：学籍号,学校代码。") from err
    mapping: dict[str, str] = {}
    for i, (ref, code) in enumerate(rows, 1):
        ref_s, code_s = str(ref or "").strip(), str(code or "").strip()
        if i == 1 and not re.fullmatch(r"[0-9A-Za-z]+", code_s):
            continue  # a header row such as 学籍号,去向学校代码
        if not ref_s or not code_s:
            raise InputError(f"去向对照表第 {i} 行不完整。", "每行两列：儿童（学籍号）与接收学校代码。")
        if ref_s in mapping and mapping[ref_s] != code_s:
            raise InputError(f"去向对照表中 {ref_s} 出现两次且去向不同。", "每名儿童只写一行。")
        mapping[ref_s] = code_s
    if not mapping:
        raise InputError(f"去向对照表 {path} 是空的。", "每行两列：学籍号,学校代码。")
    return mapping


def export_by_destination(arc: Archive, grade: str, mapping_path: Path, out_dir: Path,
                          echo: Callable[[str], None] | None = None, resend: bool = False,
                          progress: Progress | None = None) -> list[ExportResult]:
    """升学: every 在册 child of ``grade`` goes into one package per receiving school."""
    arc.require("transfer")
    mapping = read_mapping(mapping_path)
    d = require_directory(arc)
    cohort = {e.id: e for e in arc.list_children() if e.record.grade == grade and e.status == "在册"}
    if not cohort:
        raise NotFoundError(f"年级“{grade}”没有在册儿童。", "用 guanai child list 查看年级的写法（如 六年级）。")
    problems: list[str] = []
    groups: dict[str, list[str]] = {}
    mapped: set[str] = set()
    pending = {} if resend else _pending(arc)
    for ref, code in mapping.items():
        e = arc.find_child(ref)
        if e is None:
            problems.append(f"对照表中的 {ref} 不在本档案库")
            continue
        if e.id not in cohort:
            problems.append(f"对照表中的 {ref}（{e.record.name}）不是“{grade}”的在册儿童")
            continue
        try:
            d.lookup(code, "接收学校")
        except (NotFoundError, IntegrityError) as err:
            problems.append(f"{ref} 的去向 {code}：{err.message}")
            continue
        mapped.add(e.id)
        if e.id in pending:
            problems.append(_pending_problem(e, *pending[e.id]))
            continue
        groups.setdefault(code, []).append(e.id)
    missing = [cohort[c] for c in cohort if c not in mapped]
    for e in missing:
        problems.append(f"{e.record.name}（{e.record.student_id}）未在对照表中指定去向")
    if problems:
        shown = "；".join(problems[:8]) + (f"；……共 {len(problems)} 处" if len(problems) > 8 else "")
        hint = "修正对照表后重试；每名在册儿童一行。"
        if any("尚未收到回执" in p for p in problems):
            hint += _PENDING_HINT
        raise InputError(f"去向对照表有问题，未导出任何转接包：{shown}", hint)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    total = len(mapped)

    def overall(done: int, _package_total: int) -> None:
        if progress:  # one bar for the whole cohort, across its packages
            progress(done, total)

    for code, ids in sorted(groups.items()):
        card = d.lookup(code)
        out = out_dir / f"{code}-{safe_filename(card.name)}.gtp"
        results.append(export_package(arc, ids, code, out, purpose="升学", directory=d, resend=resend,
                                      progress=overall))
        if echo:
            echo(f"  {card.name}（{code}）：{len(ids)} 名，{out}")
    return results


# ---------------------------------------------------------------------------------------------
# Inspect and import


@dataclass
class OpenedPackage:
    path: Path
    data_sha256: str
    envelope: Envelope
    sender: Card
    contents: BagContents
    records: list[Any] = field(default_factory=list)  # care.model.ChildRecord, validated

    def summary(self) -> dict[str, Any]:
        h = self.envelope.header
        return {
            "package_id": self.envelope.package_id,
            "sha256": self.data_sha256,
            "purpose": h.get("purpose"),
            "created_at": h.get("created_at"),
            "sender": {"code": self.sender.code, "name": self.sender.name},
            "recipient": self.envelope.recipient,
            "children": [{"name": c.name, "student_id": c.student_id,
                          "grade": (c.record.get("record") or {}).get("年级"),
                          "documents": [{"title": d.meta.get("title"), "kind": d.meta.get("kind"),
                                         "size": len(d.content),
                                         "sha512": hashlib.sha512(d.content).hexdigest()} for d in c.documents]}
                         for c in self.contents.children],
            "documents": self.contents.document_count,
        }


def inspect_package(arc: Archive | None, path: Path, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Envelope facts for anyone; signature status when a directory is held; contents for the recipient."""
    path = Path(path)
    data = _read_file(path, limits.max_package, "转接包")
    env = parse_envelope(data, limits)
    h = env.header
    out: dict[str, Any] = {
        "file": str(path), "package_id": env.package_id, "sha256": env.sha256, "size": len(data),
        "created_at": h.get("created_at"), "purpose": h.get("purpose"), "sender": env.sender,
        "recipient": env.recipient, "counts": h.get("counts"), "hpke_suite": h.get("hpke_suite"),
        "signature": "未核验（本档案库未导入县级目录）", "signature_ok": None, "contents": None,
    }
    if arc is None:
        return out
    try:
        d = require_directory(arc)
        sender = d.lookup(env.sender["code"], "发送学校")
        verify_envelope(env, data, sender)
        out["signature"] = f"有效：由 {sender.name}（{sender.code}）签发，与县级目录（第 {d.serial} 版）一致"
        out["signature_ok"] = True
    except StateError as err:
        out["signature"] = f"未核验：{err.message}"
        return out
    except (IntegrityError, NotFoundError) as err:
        out["signature"] = f"无效：{err.message}"
        out["signature_ok"] = False
        return out
    imported = _load(arc, IN_SETTING).get(env.package_id)
    if imported:
        out["imported"] = imported
    if env.recipient.get("code") == arc.info.school_code:
        me = get_identity(arc, create=False)
        bag = open_envelope(env, me)
        files = read_zip(bag, env.package_id, limits)
        contents = check_bag(files, package_id=env.package_id, sender=env.sender["code"],
                             recipient=env.recipient["code"], limits=limits)
        out["contents"] = [{"name": c.name, "student_id": c.student_id,
                            "documents": [{"title": x.meta.get("title"), "kind": x.meta.get("kind"),
                                           "size": len(x.content), "sha512": hashlib.sha512(x.content).hexdigest()}
                                          for x in c.documents]} for c in contents.children]
    return out


def _receipt_path(path: Path, receipt: Path | None) -> Path:
    return Path(receipt) if receipt else path.with_name(path.name + ".receipt")


def open_package(arc: Archive, path: Path, limits: Limits = DEFAULT_LIMITS,
                 receipt: Path | None = None, for_reject: bool = False) -> OpenedPackage:
    """Verify, decrypt and validate a package addressed to this archive; nothing is written.

    ``for_reject``: skip the checks that only matter when accepting (records valid, not yet held).
    """
    from guanai.care.model import parse_child

    arc.require("transfer")
    path = Path(path)
    data = _read_file(path, limits.max_package, "转接包")
    env = parse_envelope(data, limits)
    seen = _load(arc, IN_SETTING).get(env.package_id)
    if seen is not None:
        hint = "同一转接包只能导入一次；如需重新转接，请发送学校重新导出（新编号）。"
        rp = _receipt_path(path, receipt)
        if seen.get("receipt") and seen.get("sha256") == env.sha256 and not rp.exists():
            atomic_write(rp, bytes.fromhex(seen["receipt"]), 0o644)
            hint = f"原回执已重新写出：{rp}。" + hint
        decision = "接收" if seen.get("decision") == "accepted" else "拒收"
        raise StateError(f"转接包 {env.package_id} 已于 {seen.get('at', '')} 处理过（{decision}），拒绝重复导入。", hint)
    d = require_directory(arc)
    sender = d.lookup(env.sender["code"], "发送学校")
    verify_envelope(env, data, sender)
    me = get_identity(arc)
    bag = open_envelope(env, me)
    del data
    files = read_zip(bag, env.package_id, limits)
    del bag
    contents = check_bag(files, package_id=env.package_id, sender=sender.code, recipient=me.card.code,
                         limits=limits)
    validate_with_bagit(files, env.package_id)
    counts = env.header.get("counts") or {}
    if counts.get("children") != len(contents.children) or counts.get("documents") != contents.document_count:
        raise IntegrityError("转接包头部声明的人数/文书数与内容不符。", "请向发送学校重新索取。")
    records = []
    problems = []
    for c in contents.children:
        if for_reject:
            continue
        rec = parse_child(c.record["record"], f"转接包中 {c.student_id} 的档案记录")
        if rec.student_id != c.student_id:
            problems.append(f"{c.student_id} 的记录学籍号不一致")
        existing = arc.find_child(c.student_id)
        if existing is not None:
            problems.append(f"{c.name}（{c.student_id}）已在本校档案库中（状态：{existing.status}）")
        records.append(rec)
    if problems:
        raise StateError("无法接收：" + "；".join(problems), "已在册的儿童不能重复接收；请与发送学校核实，必要时拒收。")
    return OpenedPackage(path=path, data_sha256=env.sha256, envelope=env, sender=sender, contents=contents,
                         records=records)


@dataclass
class ImportResult:
    decision: str  # 'accepted' | 'rejected'
    package_id: str
    receipt_path: Path
    child_ids: list[str]
    documents: int


def _receipt_body(opened: OpenedPackage, decision: str, reason: str | None) -> dict[str, Any]:
    return {
        "package_id": opened.envelope.package_id,
        "package_sha256": opened.data_sha256,
        "sender": {"code": opened.sender.code, "name": opened.sender.name},
        "decision": decision,
        "reason": reason,
        "decided_at": now_iso(),
        "children": [{"sender_child_id": c.record.get("sender_child_id"),
                      "documents": len(c.documents)} for c in opened.contents.children],
        "documents": opened.contents.document_count,
    }


def accept(arc: Archive, opened: OpenedPackage, receipt: Path | None = None,
           progress: Progress | None = None) -> ImportResult:
    """Re-seal everything under this archive's keys, in one transaction; then write the receipt."""
    arc.require("transfer")
    arc.require("write")
    me = get_identity(arc)
    env = opened.envelope
    today = date.today().isoformat()
    provenance = {"from": opened.sender.code, "from_name": opened.sender.name, "to": me.card.code,
                  "package_id": env.package_id, "package_sha256": opened.data_sha256, "at": now_iso(),
                  "purpose": env.header.get("purpose")}
    if len(opened.records) != len(opened.contents.children):
        raise StateError("转接包尚未按接收要求校验。", "请用 open_package(..., for_reject=False) 打开后再接收。")
    child_ids: list[str] = []
    n_docs = 0
    receipt_bytes = make_receipt(me, _receipt_body(opened, "accepted", None))
    with arc.transaction():
        if env.package_id in _load(arc, IN_SETTING):  # re-check under the writer lock
            raise StateError(f"转接包 {env.package_id} 已处理过，拒绝重复导入。", "同一转接包只能导入一次。")
        history = _load(arc, HIST_SETTING)
        for child, rec in zip(opened.contents.children, opened.records, strict=True):
            rec = rec.model_copy(update={"school": arc.info.school_name, "status": "在册"})
            cid = arc.add_child(rec, status="在册")
            child_ids.append(cid)
            for doc in child.documents:
                m = doc.meta
                extra = dict(m.get("meta") or {})
                extra["transfer"] = {**provenance, "sender_doc_id": m.get("sender_doc_id"),
                                     "sender_created_at": m.get("created_at")}
                arc.put_document(kind=str(m.get("kind") or "attachment"), title=str(m.get("title") or "文书"),
                                 content=doc.content, filename=str(m.get("filename") or "document"),
                                 mime=str(m.get("mime") or "application/octet-stream"), child_id=cid,
                                 form=m.get("form") if isinstance(m.get("form"), dict) else None,
                                 text=m.get("text") if isinstance(m.get("text"), str) else None,
                                 doc_date=m.get("doc_date") if isinstance(m.get("doc_date"), str) else None,
                                 meta=extra)
                n_docs += 1
            if child.slip:
                arc.put_document(kind="transfer-slip", title=f"档案转接单（由{opened.sender.name}转入）",
                                 content=child.slip, filename=SLIP_NAME, mime=DOCX_MIME, child_id=cid,
                                 doc_date=today, meta={"transfer": provenance})
            prior = child.history.get("transfers")
            history[cid] = [*(prior if isinstance(prior, list) else []), provenance]
            if progress:
                progress(1, len(opened.records))
        _save(arc, HIST_SETTING, history)
        imported = _load(arc, IN_SETTING)
        imported[env.package_id] = {"sha256": opened.data_sha256, "decision": "accepted", "at": now_iso(),
                                    "from": opened.sender.code, "from_name": opened.sender.name,
                                    "children": child_ids,
                                    "receipt": receipt_bytes.hex()}
        _save(arc, IN_SETTING, imported)
        arc.audit("transfer.import", env.package_id, {
            "decision": "accepted", "from": opened.sender.code, "children": child_ids, "documents": n_docs,
            "sha256": opened.data_sha256})
    rp = _receipt_path(opened.path, receipt)
    atomic_write(rp, receipt_bytes, 0o644)
    return ImportResult("accepted", env.package_id, rp, child_ids, n_docs)


def reject(arc: Archive, opened: OpenedPackage, reason: str, receipt: Path | None = None) -> ImportResult:
    """Record the rejection (replay protection) and write a signed rejection receipt."""
    arc.require("transfer")
    if not reason.strip():
        raise InputError("拒收必须说明原因。", "例如 --reject \"该生未到我校报到\"")
    me = get_identity(arc)
    body = _receipt_body(opened, "rejected", reason.strip())
    receipt_bytes = make_receipt(me, body)
    with arc.transaction():
        imported = _load(arc, IN_SETTING)
        if opened.envelope.package_id in imported:
            raise StateError(f"转接包 {opened.envelope.package_id} 已处理过。", "同一转接包只能处理一次。")
        imported[opened.envelope.package_id] = {"sha256": opened.data_sha256, "decision": "rejected",
                                                "at": now_iso(), "from": opened.sender.code,
                                                "from_name": opened.sender.name, "reason": reason,
                                                "receipt": receipt_bytes.hex()}
        _save(arc, IN_SETTING, imported)
        arc.audit("transfer.reject", opened.envelope.package_id,
                  {"from": opened.sender.code, "reason": reason, "sha256": opened.data_sha256})
    rp = _receipt_path(opened.path, receipt)
    atomic_write(rp, receipt_bytes, 0o644)
    return ImportResult("rejected", opened.envelope.package_id, rp, [], 0)


# ---------------------------------------------------------------------------------------------
# Confirm at the sender


@dataclass(frozen=True)
class Retention:
    """What the sender keeps after an accepted transfer.

    ``sealed``: the whole dossier stays (read-only, status 转出) until ``retain_until``;
    ``minimal``: only a minimal record (name, 学籍号, school, grade) and the receipt.
    """

    mode: str = "sealed"
    years: int = 3

    def __post_init__(self) -> None:
        if self.mode not in ("sealed", "minimal"):
            raise InputError(f"保留方式不正确：{self.mode}", "可选 sealed（保留加密副本 N 年）或 minimal（仅回执与最小记录）。")
        if not 0 <= self.years <= 100:
            raise InputError(f"保留年限不正确：{self.years}", "应为 0–100 年。")


_MINIMAL_KEYS = ("姓名", "性别", "出生日期", "身份证号", "学籍号", "学校", "年级", "班级")


@dataclass
class ConfirmResult:
    package_id: str
    decision: str
    recipient: Card
    children: list[str]
    retention: Retention
    retain_until: str | None
    deleted_documents: int = 0
    reason: str | None = None


def confirm(arc: Archive, receipt_path: Path, retention: Retention | None = None) -> ConfirmResult:
    """Verify a receipt and apply its decision to the children of the package."""
    arc.require("transfer")
    arc.require("write")
    retention = retention or Retention()
    receipt_path = Path(receipt_path)
    data = _read_file(receipt_path, 1 << 20, "回执")
    rc = parse_receipt(data)
    outgoing = _load(arc, OUT_SETTING)
    entry = outgoing.get(rc.package_id)
    if entry is None:
        raise NotFoundError(f"本校没有发出过转接包 {rc.package_id}。", "请确认回执来自本校发出的转接包。")
    rcode = str(rc.body["recipient"].get("code"))
    if rcode != entry["recipient"]:
        raise IntegrityError(f"回执来自 {rcode}，但该转接包是发给 {entry['recipient']} 的。", "不要使用此回执。")
    card = require_directory(arc).lookup(rcode, "接收学校")
    verify_receipt(rc, card)
    if str(rc.body.get("package_sha256")) != entry["sha256"]:
        raise IntegrityError("回执所引用的转接包校验值与本校发出的不符。", "对方导入的可能不是本校发出的原件；请联系接收学校核实。")
    if entry.get("state") in ("accepted", "rejected"):
        raise StateError(f"转接包 {rc.package_id} 的回执已于 {entry.get('confirmed_at', '')} 确认过。", "无需重复确认。")
    decision = str(rc.body["decision"])
    retain_until: str | None = None
    deleted = 0
    with arc.transaction():
        for cid in entry["children"]:
            e = arc.find_child(cid)
            if e is None:
                continue
            if decision == "accepted":
                reason = f"转入 {card.name}（{card.code}），转接包 {rc.package_id}"
                if e.status in ("转出", "存档备查", "毕业"):
                    arc.set_child_status(cid, "在册", f"确认转出前临时启用（{reason}）")
                arc.put_document(kind="transfer-receipt", title=f"转接回执（{card.name} 已接收）", content=data,
                                 filename=receipt_path.name if receipt_path.name.endswith(".receipt")
                                 else "transfer.receipt", mime="application/json", child_id=cid,
                                 doc_date=date.today().isoformat(),
                                 meta={"package_id": rc.package_id, "recipient": card.code})
                if retention.mode == "minimal":
                    deleted += _reduce_to_minimal(arc, e)
                arc.set_child_status(cid, "转出", reason)
            else:
                if e.status != "在册":
                    arc.set_child_status(cid, "在册", f"转接被 {card.name} 拒收：{rc.body.get('reason')}")
        if decision == "accepted" and retention.mode == "sealed":
            d0 = date.today()
            try:
                retain_until = d0.replace(year=d0.year + retention.years).isoformat()
            except ValueError:  # 29 February
                retain_until = d0.replace(year=d0.year + retention.years, day=28).isoformat()
        entry.update({"state": decision, "confirmed_at": now_iso(), "reason": rc.body.get("reason"),
                      "retention": retention.mode, "retain_until": retain_until})
        outgoing[rc.package_id] = entry
        _save(arc, OUT_SETTING, outgoing)
        arc.audit("transfer.confirm", rc.package_id, {
            "decision": decision, "recipient": card.code, "children": entry["children"],
            "retention": retention.mode, "retain_until": retain_until, "deleted_documents": deleted})
    return ConfirmResult(rc.package_id, decision, card, list(entry["children"]), retention, retain_until, deleted,
                         rc.body.get("reason"))


def _reduce_to_minimal(arc: Archive, e: ChildEntry) -> int:
    """Minimal record + only the receipt(s); the child must be editable (在册). Returns documents deleted."""
    from guanai.care.model import ChildRecord

    full = e.record.to_json_dict()
    arc.update_child(e.id, ChildRecord.model_validate({k: full[k] for k in _MINIMAL_KEYS if k in full}))
    return _delete_documents(arc, e.id, keep_kind="transfer-receipt")


@dataclass
class Expired:
    package_id: str
    recipient: str
    recipient_name: str
    retain_until: str
    children: list[str]
    deleted_documents: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"package_id": self.package_id, "recipient": self.recipient, "recipient_name": self.recipient_name,
                "retain_until": self.retain_until, "children": self.children,
                "deleted_documents": self.deleted_documents}


def expire_retention(arc: Archive, today: date | None = None, dry_run: bool = False) -> list[Expired]:
    """Sealed copies of transferred-out dossiers whose retention ended: keep only receipt + minimal record.

    A child reopened since the transfer (status no longer 转出) is left untouched. One transaction.
    """
    arc.require("transfer")
    if not dry_run:
        arc.require("write")
    day = (today or date.today()).isoformat()
    outgoing = _load(arc, OUT_SETTING)
    due = [Expired(pid, str(e.get("recipient")), str(e.get("recipient_name", "")), str(e["retain_until"]),
                   list(e.get("children", [])))
           for pid, e in sorted(outgoing.items())
           if e.get("state") == "accepted" and e.get("retention") == "sealed" and e.get("retain_until")
           and str(e["retain_until"]) <= day]
    if dry_run or not due:
        return due
    with arc.transaction():
        for x in due:
            for cid in x.children:
                e = arc.find_child(cid)
                if e is None or e.status != "转出":
                    continue
                arc.set_child_status(cid, "在册", f"保留期满（{x.retain_until}），精简档案")
                x.deleted_documents += _reduce_to_minimal(arc, arc.get_child(cid))
                arc.set_child_status(cid, "转出", f"保留期满（{x.retain_until}），仅留回执与最小记录")
            outgoing[x.package_id].update({"retention": "minimal", "reduced_at": now_iso(),
                                           "deleted_documents": x.deleted_documents})
            arc.audit("transfer.expire", x.package_id, {"children": x.children, "retain_until": x.retain_until,
                                                         "deleted_documents": x.deleted_documents})
        _save(arc, OUT_SETTING, outgoing)
    return due


def _delete_documents(arc: Archive, child_id: str, keep_kind: str) -> int:
    """Remove a child's documents except ``keep_kind`` (minimal retention), in the caller's transaction."""
    docs = [d for d in arc.list_documents(child_id=child_id) if d.kind != keep_kind]
    for d in docs:
        arc.delete_document(d.id, "转出后按保留策略删除")
    return len(docs)


def list_transfers(arc: Archive) -> dict[str, Any]:
    """Outgoing and incoming packages (for `transfer list`)."""
    out = _load(arc, OUT_SETTING)
    inc = _load(arc, IN_SETTING)
    return {"outgoing": [{"package_id": k, **{x: v.get(x) for x in ("recipient", "recipient_name", "created_at",
                                                                       "purpose", "state", "retain_until")},
                          "children": len(v.get("children", []))} for k, v in out.items()],
            "incoming": [{"package_id": k, **{x: v.get(x) for x in ("from", "from_name", "decision", "at", "reason")}}
                         for k, v in inc.items()]}
