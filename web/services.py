"""The web UI's service layer: one thin function per page action, each calling the library.

No business logic lives here: every rule (validation, permissions, classification, audit) is
in the library. A page calls exactly one function of this module, so that swapping in a newer
library function (roster preview, workflow 待办, integrity v2 ...) is a one-line change here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.base.errors import InputError

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry, DocumentEntry
    from guanai.generators.generate import BatchResult

Progress = Callable[[int, int], None]  # (done, total)


# ---- 首页 -------------------------------------------------------------------------------------


def home_counts(rows: list[dict[str, Any]], today: dt.date) -> dict[str, Any]:
    """The figures at the top of the home page (from the decrypted children listing)."""
    from guanai.care.rules import coverage

    active = [r for r in rows if r["status"] == "在册"]
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    return {"coverage": coverage([r["record"] for r in active], today), "by_status": by_status, "total": len(rows)}


def overview(arc: Archive, rows: list[dict[str, Any]], today: dt.date) -> dict[str, Any]:
    """The home page's panels: the workflow's 待办 (due) and figures (stats), counts by status."""
    from guanai.archive import workflow as awf
    from guanai.care.workflow import FIGURE_LABELS

    out = home_counts(rows, today)
    out["due"] = awf.due(arc, today)
    st = awf.stats(arc, today).to_dict()
    out["stats"] = [(FIGURE_LABELS.get(k, k), v) for k, v in st.items()
                    if isinstance(v, int | float) and not isinstance(v, bool) and k != "as_of"]
    return out


# ---- 儿童 -------------------------------------------------------------------------------------


def children_rows(arc: Archive, today: dt.date) -> list[dict[str, Any]]:
    """Every child as a table row (decrypted once; the caller caches by ``arc.generation``)."""
    from guanai.care.rules import care_gaps, category_names

    out = []
    for e in arc.list_children():
        r = e.record
        out.append({"id": e.id, "name": r.name, "student_id": r.student_id, "grade": r.grade or "",
                    "class_name": r.class_name or "", "status": e.status, "gender": r.gender or "",
                    "categories": category_names(r, today), "mentor": r.mentor or "",
                    "updated_at": e.updated_at, "record": r,
                    "gaps": care_gaps(r, today) if e.status == "在册" else []})
    return out


def child_detail(arc: Archive, ref: str, today: dt.date) -> dict[str, Any]:
    from guanai.care.rules import care_gaps, classify
    from guanai.generators.kinds import KINDS

    entry = arc.get_child(ref)
    docs = sorted(arc.list_documents(child_id=entry.id), key=lambda d: (d.doc_date or d.created_at[:10], d.created_at),
                  reverse=True)
    arc.audit("child.show", entry.id, {"via": "web"})
    cards = [d for d in docs if d.kind == "child-card"]
    return {"entry": entry, "record": entry.record.to_json_dict(), "categories": classify(entry.record, today),
            "gaps": care_gaps(entry.record, today), "documents": docs,
            "card": cards[0] if cards else None, "photo": _photo_doc(arc, entry.id),
            "next_kinds": [(k.id, k.name) for k in KINDS.values() if k.per_child]}


def _photo_doc(arc: Archive, child_id: str) -> Any:
    from guanai.archive.photos import has_photo

    return has_photo(arc, child_id)


def photo_panel(arc: Archive, ref: str) -> dict[str, Any]:
    """What the child page's photo panel shows (after an upload or a removal)."""
    entry = arc.get_child(ref)
    return {"entry": entry, "photo": _photo_doc(arc, entry.id)}


def child_photo(arc: Archive, ref: str) -> bytes | None:
    """The JPEG of the child's photo (already re-encoded, no metadata), or None."""
    from guanai.archive.photos import get_photo

    photo = get_photo(arc, arc.get_child(ref).id)
    return None if photo is None else photo.data


def set_child_photo(arc: Archive, ref: str, data: bytes, name: str) -> None:
    from guanai.archive.photos import set_photo

    set_photo(arc, ref, data, name=name)


def remove_child_photo(arc: Archive, ref: str) -> None:
    from guanai.archive.photos import remove_photo

    remove_photo(arc, ref)


def parse_child(data: dict[str, Any]) -> Any:
    """Validate a child form (raises ``RecordError`` whose problems name the fields)."""
    from guanai.care.model import parse_child as _parse

    return _parse(data, "儿童信息")


def save_child(arc: Archive, child_id: str | None, data: dict[str, Any]) -> str:
    record = parse_child(data)
    if child_id is None:
        return arc.add_child(record)
    arc.update_child(child_id, record)
    return child_id


# ---- 文书 -------------------------------------------------------------------------------------


def kinds() -> list[Any]:
    from guanai.generators.kinds import KINDS

    return list(KINDS.values())


def kind(kind_id: str) -> Any:
    from guanai.generators.kinds import get_kind

    return get_kind(kind_id)


def form_fields(kind_id: str) -> list[Any]:
    from guanai.generators.formsio import field_specs

    return field_specs(kind(kind_id).model)


def subfields(kind_id: str, spec: Any) -> list[Any]:
    """Field specs of a repeatable sub-table (e.g. 跟踪记录)."""
    import typing

    from pydantic import BaseModel

    from guanai.generators.formsio import field_specs

    def models(ann: Any) -> Any:
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield ann
        for arg in typing.get_args(ann):
            yield from models(arg)

    sub = next(models(kind(kind_id).model.model_fields[spec.name].annotation), None)
    return field_specs(sub) if sub is not None else []


def prefill(arc: Archive, kind_id: str, child_ref: str | None, today: dt.date) -> dict[str, Any]:
    from guanai.generators.generate import child_prefill

    if not child_ref:
        return {}
    return child_prefill(kind(kind_id), arc.get_child(child_ref), today)


def check_form(kind_id: str, data: dict[str, Any]) -> None:
    """Validate a form without rendering (raises ``FormError`` with field paths)."""
    from guanai.generators.render import validate

    validate(kind(kind_id), data, source="表单")


def generate(arc: Archive, kind_id: str, forms: list[dict[str, Any]], *, child_ref: str | None, pdf: bool,
             sign: bool = False, progress: Callable[[int], None] | None = None) -> BatchResult:
    """``sign``: the PDFs carry the school's PAdES signature (``guanai generate --pdf --sign``)."""
    from guanai.generators.generate import generate_batch

    return generate_batch(arc, kind_id, forms, child_ref=child_ref, pdf=pdf, sign=sign, progress=progress)


def generate_file(arc: Archive, kind_id: str, path: Path, *, pdf: bool,
                  progress: Callable[[int], None] | None = None) -> BatchResult:
    """A 台账 (Excel/CSV, one form per row) → one document per row."""
    from guanai.generators.generate import generate_batch

    return generate_batch(arc, kind_id, [path], pdf=pdf, progress=progress)


def document(arc: Archive, doc_id: str) -> DocumentEntry:
    return arc.get_document(doc_id)


def document_bytes(arc: Archive, doc_id: str) -> tuple[DocumentEntry, bytes]:
    arc.require("export")
    entry = arc.get_document(doc_id)
    return entry, arc.read_document(entry.id)  # audited as doc.read


def document_bytes_signed(arc: Archive, doc_id: str) -> tuple[DocumentEntry, bytes]:
    """A stored PDF signed by the school (already-signed ones as stored); InputError for others."""
    from guanai.generators.sign import pdf_signer

    arc.require("write")
    entry, data = document_bytes(arc, doc_id)
    if entry.mime != "application/pdf" or not data.startswith(b"%PDF-"):
        raise InputError("只有 PDF 可以加数字签名。", "下载 PDF 版本；.docx 请先生成 PDF。")
    signed = pdf_signer(arc, reason="学校签发")(data)
    arc.audit("doc.export", entry.id, {"signature": "kept" if signed is None else "signed"})
    return entry, signed if signed is not None else data


def pdf_of(arc: Archive, doc_id: str) -> DocumentEntry | None:
    """The PDF twin of a generated .docx (``meta.pdf_of``), if one was stored."""
    entry = arc.get_document(doc_id)
    if entry.mime == "application/pdf":
        return entry
    for d in arc.list_documents(child_id=entry.child_id, kind=entry.kind):
        if d.meta.get("pdf_of") == entry.id:
            return d
    return None


def form_template(kind_id: str) -> bytes:
    from guanai.generators.formsio import form_template_bytes

    return form_template_bytes(kind_id, "xlsx")


# ---- 批量：花名册 ------------------------------------------------------------------------------


@dataclass
class RosterPreview:
    source: str
    total_rows: int
    missing_columns: list[str]
    skipped_examples: int
    good: list[tuple[int, Any]] = field(default_factory=list)  # (row, ChildRecord)
    problems: list[tuple[int, str]] = field(default_factory=list)
    columns: list[tuple[str, str, str, str]] = field(default_factory=list)  # letter, header, field, note
    warnings: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    roster: Any = None  # the library's checked roster, applied as it is


def roster_preview(arc: Archive, raw: bytes, name: str) -> RosterPreview:
    """Check a roster and plan it against the archive (new / already there / bad rows); nothing
    is written."""
    from guanai.archive.rosters import NEW, plan_roster
    from guanai.care.roster import preview_roster

    roster = preview_roster(raw, name, defaults={"学校": arc.info.school_name})
    plan = plan_roster(arc, roster, update=False)
    prev = RosterPreview(roster.source, roster.total_rows, roster.missing_columns, roster.skipped_examples,
                         roster=roster)
    prev.good = [(c.row or 0, c.record) for c in plan.of(NEW) if c.record is not None]
    prev.problems = sorted((e.row, e.message) for e in plan.errors)
    prev.columns = [(c.column, c.header, c.target, c.note) for c in roster.columns]
    prev.warnings = [(e.row, e.message) for e in roster.warnings]
    prev.skipped = [(e.row, e.message) for e in roster.skipped]
    return prev


def roster_apply(arc: Archive, prev: RosterPreview, progress: Progress | None = None) -> list[str]:
    """Store the roster's new children in one transaction (re-planned under the writer lock);
    returns their ids."""
    from guanai.archive.rosters import NEW, apply_roster

    total = len(prev.good)
    plan = apply_roster(arc, prev.roster, progress=(lambda n: progress(n, total)) if progress else None)
    return [c.child_id for c in plan.of(NEW) if c.child_id]


def roster_template() -> bytes:
    from guanai.care.roster import roster_xlsx_bytes
    from guanai.care.synth import example_record

    return roster_xlsx_bytes([], example=example_record())


# ---- 检索 -------------------------------------------------------------------------------------


def search(arc: Archive, q: str, *, kind: str | None = None, status: str | None = None,
           category: str | None = None, date_from: str | None = None, date_to: str | None = None,
           limit: int = 20) -> Any:
    from guanai.search.api import run_search
    from guanai.search.query import Filters

    filters = Filters(kind=kind or None, status=status or None, category=category or None,
                      date_from=date_from or None, date_to=date_to or None)
    return run_search(arc, q, filters, limit=limit)


def reindex(arc: Archive) -> int:
    from guanai.search.api import reindex as _reindex

    return _reindex(arc)


# ---- 转接 -------------------------------------------------------------------------------------


def schools(arc: Archive) -> list[Any]:
    """Schools of the county directory this archive holds (export destinations)."""
    from guanai.archive.transfer.directory import held_directory

    d = held_directory(arc)
    if d is None:
        return []
    return [c for c in d.schools.values() if c.code != arc.info.school_code and c.code not in d.revoked]


def transfers(arc: Archive) -> dict[str, Any]:
    from guanai.archive.transfer import list_transfers

    return list_transfers(arc)


def export_package(arc: Archive, refs: list[str], to_code: str, out: Path, purpose: str,
                   progress: Progress | None = None, sign: bool = True) -> Any:
    """Every PDF carried is signed by the school unless ``sign`` is off (as ``transfer export``)."""
    from guanai.archive.transfer import export_package as _export
    from guanai.generators.sign import pdf_signer
    from guanai.generators.slip import render_slip

    return _export(arc, refs, to_code, out, render_slip=render_slip, purpose=purpose, progress=progress,
                   sign=pdf_signer(arc, reason="档案转接") if sign else None)


def inspect_package(arc: Archive, path: Path) -> dict[str, Any]:
    """The package, with each carried PDF's signature checked against the county directory."""
    from guanai.archive.transfer import inspect_package as _inspect
    from guanai.generators.sign import check_document

    arc.require("transfer")
    return _inspect(arc, path, check_document=check_document)


def accept_package(arc: Archive, path: Path, progress: Progress | None = None) -> Any:
    from guanai.archive.transfer import accept, open_package
    from guanai.generators.sign import check_document

    return accept(arc, open_package(arc, path, check_document=check_document), progress=progress)


def reject_package(arc: Archive, path: Path, reason: str) -> Any:
    from guanai.archive.transfer import open_package, reject

    return reject(arc, open_package(arc, path, for_reject=True), reason)


def confirm_receipt(arc: Archive, path: Path) -> Any:
    from guanai.archive.transfer import confirm

    return confirm(arc, path)


# ---- 检测与审计 --------------------------------------------------------------------------------


def verify(arc: Archive, progress: Callable[[str, int, int], None] | None = None) -> Any:
    from guanai.archive.verify import verify_archive

    return verify_archive(arc, progress)


def verify_category_names() -> dict[str, str]:
    """Problem code → 真实性 / 完整性 / 可用性 / 安全性."""
    from guanai.archive.verify import CATEGORIES

    return dict(CATEGORIES)


def audit_log(arc: Archive) -> tuple[list[Any], list[str]]:
    from guanai.archive.audit import walk

    arc.require("verify")
    return walk(arc)


def action_name(action: str) -> str:
    from guanai.archive.audit import action_name as _name

    return _name(action)


COUNT_NAMES = {"children": "儿童档案", "documents": "文档", "audit_entries": "审计日志条目",
               "scanned_values": "明文扫描的个人信息值", "index_entries": "索引条目"}


def backup(arc: Archive, out: Path) -> dict[str, Any]:
    from guanai.archive.backup import backup as _backup

    return _backup(arc, out)


# ---- 用户 -------------------------------------------------------------------------------------


def users(arc: Archive) -> list[tuple[str, str]]:
    arc.require("admin")
    return arc.users()


def add_user(arc: Archive, name: str, role: str, passphrase: str) -> None:
    arc.add_user(name, role, passphrase)


def change_passphrase(arc: Archive, name: str, passphrase: str) -> None:
    from guanai.archive.keys import check_passphrase

    check_passphrase(passphrase)
    arc.change_passphrase(name, passphrase)


def remove_user(arc: Archive, name: str) -> None:
    arc.remove_user(name)


ROLE_NAMES = {"admin": "管理员", "secretary": "文书", "archivist": "档案员", "inspector": "督查员·只读"}


def open_archive(path: Path, user: str, passphrase: str) -> Archive:
    """Unlock the archive for one login (the library records failed attempts in the audit log)."""
    from guanai.archive.store import Archive

    if not user or not passphrase:
        raise InputError("请输入用户名和口令。")
    return Archive.open(path, user=user, passphrase=passphrase)


def child_entry(arc: Archive, ref: str) -> ChildEntry:
    return arc.get_child(ref)
