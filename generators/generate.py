"""Generate a batch of documents: read forms → validate → render → (PDF) → store in the archive.

A bad row is reported and skipped; the good rows are still generated and stored, each in its
own transaction (catalog row + sealed content + form + text + audit).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive.batch import input_digest, put_once
from guanai.base.errors import DiskFullError, GuanaiError, InputError, Problem, TransientIOError
from guanai.generators.forms import FormBase, cn_date, find_labels
from guanai.generators.formsio import FormRow, atomic_write, read_forms
from guanai.generators.kinds import Kind, get_kind
from guanai.generators.render import (
    Rendered,
    bundled_template_dir,
    compile_template,
    doc_props,
    render_compiled,
    render_isolated,
    validate,
)
from guanai.generators.text import visible_text

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_MIME = "application/pdf"
TEMPLATES_SETTING = "templates_dir"
#: Archive setting: the 发文机关标志 of this archive's 公文 ("萧县教育体育局文件"); a form's own
#: 发文机关标志 wins; without either the mark is "<发文机关>文件".
ORG_MARK_SETTING = "org_mark"
#: The 公文 that carries the child's 劝返复学通知书 (with their 回执) as its 附件 (the plan: two failed
#: persuasions, then the report to the township government).
ATTACH_NOTICES_TO = "dropout-report"


@dataclass
class Generated:
    label: str
    title: str
    filename: str
    doc_id: str | None = None
    pdf_doc_id: str | None = None
    child_id: str | None = None
    out_path: Path | None = None
    pdf_path: Path | None = None
    #: True when the same document (kind, child, form) was already stored: not stored again
    existing: bool = False


@dataclass
class Failed:
    label: str
    message: str
    hint: str | None = None
    exit_code: int = 2
    problems: list[Problem] = field(default_factory=list)


@dataclass
class BatchResult:
    kind: str
    ok: list[Generated] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: ids of the documents this run newly stored, in order (what an interruption kept)
    stored: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.ok) + len(self.failed)


@dataclass
class _Item:
    row: FormRow
    entry: ChildEntry | None = None
    model: FormBase | None = None
    child_id: str | None = None
    rendered: Rendered | None = None
    pdf: bytes | None = None
    error: Failed | None = None
    attachments: list[bytes] = field(default_factory=list)  # 附件 bodies (dropout report: its notices)


# --------------------------------------------------------------------------- child records


def _parent_text(parent: Any) -> str | None:
    if parent is None:
        return None
    state = getattr(parent, "state", None) or ""
    where = getattr(parent, "workplace", None)
    name = getattr(parent, "name", None)
    text = f"{name + '，' if name else ''}{state}{f'（{where}）' if where else ''}"
    return text or None


def child_prefill(kind: Kind, entry: ChildEntry, on: dt.date | None = None,
                  arc: Archive | None = None) -> dict[str, Any]:
    """Form fields (Chinese names of ``kind``) taken from the child's record in the archive (and,
    with ``arc``, the card's 跟踪记录 from the child's 帮扶记录 and 家访记录表)."""
    rec = entry.record
    guardian = getattr(rec, "guardian", None)
    values: dict[str, Any] = {
        "name": rec.name,
        "student_id": getattr(rec, "student_id", None),
        "id_number": getattr(rec, "id_number", None),
        "school": getattr(rec, "school", None),
        "grade": getattr(rec, "grade", None),
        "class_name": getattr(rec, "class_name", None),
        "gender": getattr(rec, "gender", None),
        "birth_date": getattr(rec, "birth_date", None),
        "address": getattr(rec, "residence", None) or getattr(rec, "household_address", None),
        "village": getattr(rec, "village_committee", None),
        "guardian": getattr(guardian, "name", None),
        "guardian_relation": getattr(guardian, "relation", None),
        "guardian_phone": getattr(guardian, "phone", None),
        "father": _parent_text(getattr(rec, "father", None)),
        "mother": _parent_text(getattr(rec, "mother", None)),
        "mentor": getattr(rec, "mentor", None),
        "mentor_phone": getattr(rec, "mentor_phone", None),
    }
    fields = kind.model.model_fields
    if "categories" in fields:
        try:
            from guanai.care.rules import classify
        except ImportError:  # care/ is optional
            classify = None  # type: ignore[assignment]
        if classify is not None:
            cats = classify(rec, on or dt.date.today())
            values["categories"] = [c.name for c in cats]
            values["reasons"] = "；".join(f"{c.name}：{'；'.join(c.reasons)}" for c in cats)
    if "filed_date" in fields:
        values["filed_date"] = on or dt.date.today()
    values.update(kind.model.from_record(rec, on or dt.date.today()))
    if arc is not None and "followups" in fields:
        from guanai.generators.card import followups

        values["followups"] = followups(arc, entry.id)
    out = {}
    for name, value in values.items():
        if name in fields and value not in (None, "", []):
            out[fields[name].alias or name] = value
    return out


# keys that must agree between a form and the child's record (the rest may be completed by the form)
_IDENTITY = ("name", "student_id", "id_number", "gender", "birth_date")


def _merge(kind: Kind, row: FormRow, prefill: dict[str, Any]) -> dict[str, Any]:
    fields = kind.model.model_fields
    merged = dict(prefill)
    for key, value in row.data.items():
        merged[key] = value
    for name in _IDENTITY:
        alias = fields[name].alias if name in fields else None
        if alias and alias in prefill and alias in row.data:
            given, recorded = str(row.data[alias]).strip(), prefill[alias]
            recorded_s = recorded.isoformat() if isinstance(recorded, dt.date) else str(recorded)
            if given not in (recorded_s, cn_date(recorded) if isinstance(recorded, dt.date) else recorded_s):
                raise InputError(f"表单中的“{alias}”（{given}）与档案记录（{recorded_s}）不一致。",
                                 "删去表单中的这一项（将自动取档案记录），或先更正档案记录。")
    return merged


# --------------------------------------------------------------------------- file names


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def safe_name(text: str, limit: int = 60) -> str:
    text = _UNSAFE.sub("_", text).strip(" ._")
    return text[:limit] or "文书"


def document_filename(kind: Kind, model: FormBase) -> str:
    if kind.official:
        base = model.title()
    else:
        who = model.child_name() or ""
        base = "-".join(x for x in (kind.name, who) if x)
    d = model.doc_date()
    if d is not None:
        base = f"{base}-{d.isoformat()}"
    return safe_name(base) + ".docx"


def _free_name(name: str, existing: set[str]) -> str:
    """``name`` or ``name-2``, ``name-3``... such that neither the .docx nor its .pdf exists yet."""
    stem = name[:-5]
    candidate, n = stem, 2
    while f"{candidate}.docx" in existing or f"{candidate}.pdf" in existing:
        candidate = f"{stem}-{n}"
        n += 1
    existing.update((f"{candidate}.docx", f"{candidate}.pdf"))
    return f"{candidate}.docx"


def _unique(name: str, used: set[str]) -> str:
    stem, dot, ext = name.rpartition(".")
    candidate, n = name, 2
    while candidate in used:
        candidate = f"{stem}-{n}{dot}{ext}"
        n += 1
    used.add(candidate)
    return candidate


# --------------------------------------------------------------------------- templates


def resolve_template_dir(arc: Archive | None, template_dir: Path | str | None) -> Path | None:
    """--templates DIR, else the archive setting ``templates_dir``, else None (bundled)."""
    if template_dir is None and arc is not None:
        raw = arc.get_setting(TEMPLATES_SETTING)
        if raw:
            template_dir = raw.decode("utf-8")
    if template_dir is None:
        return None
    p = Path(template_dir)
    if not p.is_dir():
        raise InputError(f"模板目录不存在：{p}。", "检查 --templates 参数或档案设置 templates_dir。")
    if p.resolve() == bundled_template_dir().resolve():
        return None
    return p


# --------------------------------------------------------------------------- the batch


def _searchable_text(model: FormBase, text: str) -> str:
    """Stored (and indexed) text: a 公文 title broken into even lines is one line again, so that
    a search for words across the break still finds it."""
    title = getattr(model, "doc_title", None)
    if isinstance(title, str):
        from guanai.generators.gbt9704 import title_lines

        broken = title_lines(title)
        if broken != title:
            return text.replace(broken, title, 1)
    return text



def _to_failed(label: str, err: GuanaiError) -> Failed:
    from guanai.generators.forms import FormError

    if isinstance(err, FormError):  # the label already names file and row
        return Failed(label, "表单有误：" + err.short_text, err.hint, err.exit_code, err.problems)
    return Failed(label, err.message, err.hint, err.exit_code, err.problems)


def generate_batch(
    arc: Archive | None,
    kind_id: str,
    sources: Sequence[Path | str | FormRow | dict[str, Any]],
    *,
    child_ref: str | None = None,
    children: Sequence[str | ChildEntry] | None = None,
    pdf: bool = False,
    out_dir: Path | None = None,
    template_dir: Path | str | None = None,
    store: bool = True,
    progress: Callable[[int], None] | None = None,
    today: dt.date | None = None,
    chart: tuple[bytes, str] | None = None,
    sign: bool = False,
) -> BatchResult:
    """Generate one document per form (file, Excel/CSV row, or dict); see module doc.

    With ``children`` (or ``child_ref``), one document per child and form: the child's record
    fills the form (the form may complete it), and the document joins the child's dossier.

    ``chart``: (PNG, caption) placed by the template where it has ``{{ chart }}`` (an InlineImage:
    the supervision report and circular made ``--from-stats``).
    ``progress(n)`` counts n forms done: one unit per form read, plus one more per form with
    ``pdf`` (the PDF step is the long one).
    """
    kind = get_kind(kind_id)
    result = BatchResult(kind.id)
    refs: list[str | ChildEntry] = [*(children or []), *([child_ref] if child_ref is not None else [])]
    _check_request(arc, kind, store=store, with_children=bool(refs))
    custom_dir = resolve_template_dir(arc, template_dir)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    rows = _read_rows(kind, sources, result, store=store)
    items = _per_child(arc, rows, refs)
    _validate_items(arc, kind, items, today)
    _link_by_name(kind, arc, items, result)
    _school_warnings(kind, arc, items, result)
    _add_photos(kind, arc, items)
    if chart is not None:
        for it in items:
            if it.error is None and it.model is not None and hasattr(it.model, "with_chart"):
                it.model.with_chart(*chart)
    custom = _render_items(kind, items, custom_dir, result, progress)
    _attach(items)
    if kind.to_family:
        _refuse_labels(kind, items)
    names = _convert_pdfs(kind, items, pdf, progress)
    if sign and arc is not None:
        _sign_pdfs(arc, items)
        _unsigned_upward_warnings(items, result)
    _store_and_write(arc, kind, items, names, result, store=store, out_dir=out_dir, custom=custom)
    return result


def _check_request(arc: Archive | None, kind: Kind, *, store: bool, with_children: bool) -> None:
    if store and arc is None:
        raise InputError("未打开档案库，无法归档。", "使用 --no-archive 只生成文件。")
    if store and arc is not None:
        arc.require("write")
    if with_children and arc is None:
        raise InputError("--child 需要档案库（不能与 --no-archive 同用）。", "去掉 --no-archive，或直接在表单中填写儿童信息。")
    if with_children and not kind.per_child:
        raise InputError(f"“{kind.name}”不是针对单个儿童的文书，不能用 --child。", "去掉 --child。")


def _is_table_row(row: FormRow) -> bool:
    return row.row is not None and Path(row.source).suffix.lower() in (".xlsx", ".xlsm", ".csv")


def _read_rows(kind: Kind, sources: Sequence[Path | str | FormRow | dict[str, Any]], result: BatchResult, *,
               store: bool) -> list[FormRow]:
    """1. read: every form (a file may hold many rows); unreadable files become failures; the
    template's example row, left as it was, is never archived (a preview may show it)."""
    from guanai.generators.formsio import is_template_example

    rows: list[FormRow] = []
    for src in sources:
        if isinstance(src, FormRow):
            rows.append(src)
        elif isinstance(src, dict):
            rows.append(FormRow("表单", None, src))
        else:
            try:
                found = read_forms(src)
            except GuanaiError as err:
                failed = _to_failed(Path(src).name, err)
                # the message already starts with the file name: do not print it twice
                failed.message = failed.message.removeprefix(Path(src).name).lstrip("： ") or failed.message
                result.failed.append(failed)
                continue
            if not found:
                result.failed.append(Failed(Path(src).name, "文件中没有表单（除表头外都是空行）。", "填写至少一行后再试。"))
            for r in found:
                if store and _is_table_row(r) and is_template_example(kind, r.data):
                    result.notes.append(f"{r.label} 是表单模板中的示例行，未生成（请删除该行或改成真实内容）。")
                    continue
                rows.append(r)
    return rows


def _per_child(arc: Archive | None, rows: list[FormRow], refs: Sequence[str | ChildEntry]) -> list[_Item]:
    """One item per form, or with children one per child and form (the record fills the rest)."""
    entries: list[ChildEntry] = []
    seen: set[str] = set()
    for ref in refs if arc is not None else ():
        e = arc.get_child(ref) if isinstance(ref, str) else ref  # type: ignore[union-attr]
        if e.id not in seen:
            seen.add(e.id)
            entries.append(e)
    if not entries:
        return [_Item(r) for r in rows]
    base = rows or [FormRow("档案记录", None, {})]
    return [_Item(FormRow(e.record.name if r.source == "档案记录" else f"{e.record.name}：{r.source}",
                          r.row, r.data, r.columns), e) for e in entries for r in base]


def school_default(kind: Kind, arc: Archive | None) -> dict[str, Any]:
    """学校 defaults to the archive's school."""
    info = kind.model.model_fields.get("school")
    if arc is None or info is None or not arc.info.school_name:
        return {}
    return {info.alias or "school": arc.info.school_name}


def prompt_defaults(kind: Kind, arc: Archive | None, entries: Sequence[ChildEntry],
                    today: dt.date | None = None) -> tuple[dict[str, Any], set[str]]:
    """For a form asked field by field: (values shown as defaults, fields not asked).

    One child: its record's values (and the archive's school) are the defaults. Several: what
    the records give differs per child, so those fields are not asked at all.
    """
    defaults: dict[str, Any] = dict(school_default(kind, arc))
    skip: set[str] = set()
    if len(entries) == 1:
        defaults.update(child_prefill(kind, entries[0], today))
    for e in entries if len(entries) > 1 else ():
        skip.update(child_prefill(kind, e, today))
    return defaults, skip


def typed_over_record(kind: Kind, entry: ChildEntry, data: dict[str, Any],
                      today: dt.date | None = None) -> dict[str, Any]:
    """The answers that differ from the child's record (the record fills the rest at validation)."""
    record = child_prefill(kind, entry, today)

    def shown(value: Any) -> str:
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, list):
            return "、".join(str(v) for v in value)
        return str(value)

    return {key: v for key, v in data.items() if key not in record or str(v) != shown(record[key])}


def _validate_items(arc: Archive | None, kind: Kind, items: list[_Item], today: dt.date | None) -> None:
    """2. validate, with the child's record when given (--child) or found by 学籍号."""
    school = school_default(kind, arc)
    org_mark = _org_mark(arc) if kind.official else None
    signer = _default_signer(arc) if getattr(kind.model, "UPWARD", False) else None
    for it in items:
        try:
            if it.entry is not None:
                data = _merge(kind, it.row, {**school, **child_prefill(kind, it.entry, today, arc)})
            else:
                data = {**school, **it.row.data}
            if org_mark and not data.get("发文机关标志") and not data.get("org_mark"):
                data = {**data, "发文机关标志": org_mark}
            if signer and not data.get("签发人") and not data.get("signers"):
                data = {**data, "签发人": signer}  # an upward 公文's 签发人 (7.2.5) from the setting
            it.model = validate(kind, data, source=it.row.source, row=it.row.row, columns=it.row.columns)
            if it.entry is not None:
                it.child_id = it.entry.id
            elif arc is not None and kind.per_child:
                sid = it.model.student_id_value()
                found = arc.find_child(sid) if sid else None
                it.child_id = found.id if found is not None else None
            if kind.id == ATTACH_NOTICES_TO and arc is not None and it.child_id is not None:
                it.attachments, notice_names = _persuasion_notices(arc, it.child_id)
                if it.attachments and not getattr(it.model, "attachments", None):
                    it.model = validate(kind, {**data, "附件": notice_names}, source=it.row.source, row=it.row.row,
                                        columns=it.row.columns)
        except GuanaiError as err:
            it.error = _to_failed(it.row.label, err)
            if it.entry is not None:
                it.error.hint = _record_hint(arc, it.entry, it.error)


def _record_hint(arc: Archive | None, entry: ChildEntry, failed: Failed) -> str | None:
    """A form filled from a child's record: the fix is in the record (or a 补充 form), not a blank template."""
    if not failed.problems:
        return failed.hint
    from guanai.archive.resolve import unique_short_id

    ref = unique_short_id(arc, entry.id, "children") if arc is not None else entry.id
    fixes = []
    if any("帮扶教师" in p.where for p in failed.problems):
        fixes.append(f"指派帮扶教师：guanai mentor assign {ref} --teacher 姓名")
    fixes.append(f"补充档案：guanai child update {ref} 儿童.yaml")
    fixes.append("或在命令后给一个补充表单（如 补充.yaml，写缺少的项）")
    return "表单由儿童档案填写，" + "；".join(fixes) + "。"


def _default_signer(arc: Archive | None) -> str | None:
    """The archive's 签发人 setting (``guanai settings set --signer``), if any."""
    if arc is None:
        return None
    from guanai.archive.workflow import get_settings

    return get_settings(arc).signer or None


def _org_mark(arc: Archive | None) -> str | None:
    raw = arc.get_setting(ORG_MARK_SETTING) if arc is not None else None
    return raw.decode("utf-8") if raw else None


def _persuasion_notices(arc: Archive, child_id: str) -> tuple[list[bytes], list[str]]:
    """The child's last two 劝返复学通知书 (.docx) in the archive, oldest first, and their 附件 names."""
    entries = [d for d in arc.list_documents(child_id=child_id, kind="persuasion-notice") if d.mime == DOCX_MIME]
    entries = sorted(entries, key=lambda d: (d.doc_date or "", d.created_at))[-2:]
    docs, names = [], []
    for n, d in enumerate(entries, 1):
        docs.append(arc.read_document(d.id))
        when = cn_date(dt.date.fromisoformat(d.doc_date)) if d.doc_date else ""
        names.append(f"劝返复学通知书（{'第一次' if n == 1 and len(entries) > 1 else '第二次' if n == 2 else '劝返'}"
                     f"{'，' + when if when else ''}）及回执")
    return docs, names


def _sign_pdfs(arc: Archive, items: list[_Item]) -> None:
    """The school's PAdES signature on every PDF made (generators/sign.py)."""
    from guanai.generators.sign import sign_archive_pdf

    for it in items:
        if it.pdf is not None and it.error is None:
            try:
                it.pdf = sign_archive_pdf(arc, it.pdf)
            except GuanaiError as err:
                it.error = _to_failed(it.row.label, err)


def _attach(items: list[_Item]) -> None:
    """The 附件 found at validation, put into the rendered 公文 (before its 版记)."""
    from guanai.generators.render import append_attachments

    for it in items:
        if it.attachments and it.rendered is not None and it.error is None:
            try:
                it.rendered = Rendered(append_attachments(it.rendered.data, it.attachments), it.rendered.text)
            except GuanaiError as err:
                it.error, it.rendered = _to_failed(it.row.label, err), None


def _link_by_name(kind: Kind, arc: Archive | None, items: list[_Item], result: BatchResult) -> None:
    """A form without a known 学籍号 joins the dossier of the one child of its name; otherwise it says so.

    Secretaries often fill only 儿童姓名: the document must still count for the child (due, stats),
    and a document that joins no dossier is said, not silent.
    """
    if arc is None or not kind.per_child:
        return
    by_name: dict[str, list[ChildEntry]] | None = None
    for it in items:
        if it.model is None or it.child_id is not None:
            continue
        name = (it.model.child_name() or "").strip()
        sid = it.model.student_id_value()
        if sid:
            result.notes.append(f"{it.row.label}：学籍号 {sid} 不在本档案库中，文档未关联到儿童档案；"
                                "请核对学籍号（guanai child list 查看）。")
            continue
        if not name:
            continue
        if by_name is None:  # decrypting every record once, not once per form
            by_name = {}
            for e in arc.list_children():
                by_name.setdefault(e.record.name, []).append(e)
        named = by_name.get(name, [])
        if len(named) != 1:
            why = "找不到" if not named else f"有 {len(named)} 名"
            result.notes.append(f"{it.row.label}：表单没有学籍号，档案库中{why}名为“{name}”的儿童，"
                                "文档未关联到儿童档案；请在表单中填写学籍号，或用 --child 指定。")
            continue
        it.child_id = named[0].id
        result.notes.append(f"{it.row.label}：表单没有学籍号，已按姓名关联到 {name}"
                            f"（学籍号 {named[0].record.student_id or '—'}）。")


def _unsigned_upward_warnings(items: list[_Item], result: BatchResult) -> None:
    """A report to a higher body signed without its 签发人 (7.2.5): the signed PDF cannot be
    completed afterwards, and `guanai lint` reports it — said when it is made, not after sending."""
    for it in items:
        model = it.model
        if it.error is None and it.pdf is not None and getattr(model, "UPWARD", False) \
                and not getattr(model, "signers", None):
            result.notes.append(f"{it.row.label}：上行文没有签发人，PDF 已签名，之后不能再补；"
                                "请在表单中填写“签发人”后重新生成。")


def _school_warnings(kind: Kind, arc: Archive | None, items: list[_Item], result: BatchResult) -> None:
    """A form naming another school is generated (a county office may write for a school) but said."""
    if arc is None or not arc.info.school_name or "school" not in kind.model.model_fields:
        return
    mine = arc.info.school_name.strip()
    for it in items:
        school = str(getattr(it.model, "school", "") or "").strip() if it.model is not None else ""
        if school and school != mine:
            result.notes.append(f"{it.row.label}：表单中的学校“{school}”不是本档案库的学校“{mine}”，请核对。")


def _add_photos(kind: Kind, arc: Archive | None, items: list[_Item]) -> None:
    """The card of a child with a photo in the archive shows it (archive/photos.py)."""
    if arc is None or kind.id != "child-card":
        return
    from guanai.archive.photos import get_photo
    from guanai.generators.forms import ChildCard

    for it in items:
        if it.error is None and isinstance(it.model, ChildCard) and it.child_id is not None:
            photo = get_photo(arc, it.child_id)
            if photo is not None:
                it.model.with_photo(photo.data, photo.width, photo.height)


def _render_items(kind: Kind, items: list[_Item], custom_dir: Path | None, result: BatchResult,
                  progress: Callable[[int], None] | None) -> bool:
    """3. render; a school's own template runs in a child process with limits. True when it was used.
    The documents carry the time they were made (docProps, and so the PDF's creation date)."""
    created = dt.datetime.now(dt.UTC).replace(microsecond=0)
    valid = [it for it in items if it.error is None and it.model is not None]
    if progress and len(valid) < len(items):
        progress(len(items) - len(valid))
    if custom_dir is not None and (custom_dir / kind.template).is_file():
        outs = render_isolated(kind, [it.model for it in valid if it.model is not None], custom_dir / kind.template,
                               created=created)
        for it, out in zip(valid, outs, strict=True):
            if out.error is not None:
                it.error = _to_failed(it.row.label, out.error)
            else:
                it.rendered = out.rendered
            if progress:
                progress(1)
        result.notes.append(f"使用学校自定义模板 {custom_dir / kind.template}")
        return True
    if custom_dir is not None:
        result.notes.append(f"模板目录 {custom_dir} 中没有 {kind.template}，使用自带模板")
    try:
        compiled = compile_template(bundled_template_dir() / kind.template)
    except GuanaiError as err:
        for it in valid:
            it.error = _to_failed(it.row.label, err)
        valid = []
    for it in valid:
        assert it.model is not None
        try:
            it.rendered = render_compiled(compiled, it.model.context(), doc_props(kind, it.model, created))
        except GuanaiError as err:
            it.error = _to_failed(it.row.label, err)
        if progress:
            progress(1)
    return False


def _refuse_labels(kind: Kind, items: list[_Item]) -> None:
    """避免标签化: a customised template could still print the words, in the body or in a header,
    footer, note or the document properties; check everything a reader sees."""
    for it in items:
        if it.rendered is None:
            continue
        try:
            words = find_labels(visible_text(it.rendered.data))
        except GuanaiError as err:
            it.error, it.rendered = _to_failed(it.row.label, err), None
            continue
        if words:
            it.error = Failed(it.row.label, f"生成的{kind.name}含有“{'”“'.join(words)}”字样，未保存。",
                              "送给家庭的文书不得给儿童贴标签：修改模板（含页眉、页脚、文档属性）或表单中的文字。")
            it.rendered = None


def _convert_pdfs(kind: Kind, items: list[_Item], pdf: bool, progress: Callable[[int], None] | None) -> dict[int, str]:
    """4. name every rendered document and convert them to PDF in one batch; returns id(item) -> name."""
    ready = [it for it in items if it.rendered is not None and it.error is None]
    used: set[str] = set()
    names = {id(it): _unique(document_filename(kind, it.model), used) for it in ready if it.model is not None}
    if pdf and progress and len(ready) < len(items):
        progress(len(items) - len(ready))  # the PDF step counts one unit per form too
    if pdf and ready:
        from guanai.generators.pdf import convert_official

        results = convert_official([(names[id(it)], it.rendered.data) for it in ready if it.rendered is not None],
                                   progress=progress)
        for it, (res, docx) in zip(ready, results, strict=True):
            if res.pdf is None:
                it.error = Failed(it.row.label, f"转换 PDF 失败：{res.error}", "检查 LibreOffice 安装；或去掉 --pdf 只生成 .docx。", 10)
            else:
                it.pdf = res.pdf
                if it.rendered is not None and docx is not it.rendered.data:
                    # the 版记 moved to an even page: keep the .docx the PDF was made from
                    it.rendered = Rendered(docx, it.rendered.text)
    return names


# forms stored per write transaction: one commit (fsync, row MACs, signed state) per chunk rather
# than per document; a 500-card batch with PDFs is 1,000 documents, and one commit costs ~10 ms
STORE_CHUNK = 50


def _store_and_write(arc: Archive | None, kind: Kind, items: list[_Item], names: dict[int, str],
                     result: BatchResult, *, store: bool, out_dir: Path | None, custom: bool) -> None:
    """5. store (a chunk of forms per transaction) and write; never overwrite a file already in the
    output folder (it may be a copy the secretary edited in Word/WPS): a second run writes
    名称-2.docx beside it. Files are written once their chunk is committed."""
    existing = {p.name for p in out_dir.iterdir()} if out_dir is not None else set()
    try:
        _store_chunks(arc, kind, items, names, result, existing, out_dir, store, custom)
    except BaseException as err:
        raise BatchInterrupted.after(err, result, len(items), arc.path if arc is not None else out_dir or ".") from err


def _store_chunks(arc: Archive | None, kind: Kind, items: list[_Item], names: dict[int, str], result: BatchResult,
                  existing: set[str], out_dir: Path | None, store: bool, custom: bool) -> None:
    for start in range(0, len(items), STORE_CHUNK):
        chunk = items[start:start + STORE_CHUNK]
        stored: list[tuple[_Item, Generated]] = []
        new_ids: list[str] = []  # reported stored only once their chunk is committed
        with arc.transaction() if (store and arc is not None) else contextlib.nullcontext():
            for it in chunk:
                if it.error is not None:
                    result.failed.append(it.error)
                    continue
                assert it.model is not None and it.rendered is not None
                gen = Generated(it.row.label, it.model.title(), names[id(it)], child_id=it.child_id)
                try:
                    if store and arc is not None:
                        _store_one(arc, kind, it, gen, custom, new_ids)
                except (DiskFullError, TransientIOError):
                    raise  # the next documents would fail alike: stop, say what was stored
                except GuanaiError as err:
                    result.failed.append(_to_failed(it.row.label, err))
                    continue
                stored.append((it, gen))
        result.stored.extend(new_ids)
        for it, gen in stored:
            try:
                if out_dir is not None:
                    _write_files(out_dir, it, gen, existing)
            except (DiskFullError, TransientIOError):
                raise
            except GuanaiError as err:
                result.failed.append(_to_failed(it.row.label, err))
                continue
            result.ok.append(gen)


def _store_one(arc: Archive, kind: Kind, it: _Item, gen: Generated, custom: bool, new_ids: list[str]) -> None:
    """Store one document (and its PDF) idempotently: a batch re-run after a crash finds what the
    first run stored (same kind, child and form input); the card's plan is written to the record."""
    assert it.model is not None and it.rendered is not None
    d = it.model.doc_date()
    form = it.model.to_form_dict()
    text = _searchable_text(it.model, it.rendered.text)
    meta = {"template": "custom" if custom else "bundled"}
    key = input_digest(kind.id, form, meta["template"] + it.model.input_variant())
    gen.doc_id, new = put_once(
        arc, input_sha256=key,
        kind=kind.id, title=gen.title, content=it.rendered.data, filename=gen.filename, mime=DOCX_MIME,
        child_id=it.child_id, form=form, text=text, doc_date=d.isoformat() if d else None, meta=meta)
    gen.existing = not new
    if new:
        new_ids.append(gen.doc_id)
    if it.child_id is not None:
        from guanai.generators.card import save_to_record

        save_to_record(arc, arc.get_child(it.child_id), it.model)  # the plan lives on the record
    if it.pdf is not None:
        gen.pdf_doc_id, new = put_once(
            arc, input_sha256=key,
            kind=kind.id, title=gen.title, content=it.pdf, filename=gen.filename[:-5] + ".pdf", mime=PDF_MIME,
            child_id=it.child_id, form=form, text=text, doc_date=d.isoformat() if d else None,
            meta={**meta, "pdf_of": gen.doc_id})
        if new:
            new_ids.append(gen.pdf_doc_id)


def _write_files(out_dir: Path, it: _Item, gen: Generated, existing: set[str]) -> None:
    assert it.rendered is not None
    out_name = _free_name(gen.filename, existing)
    gen.out_path = out_dir / out_name
    atomic_write(gen.out_path, it.rendered.data)
    if it.pdf is not None:
        gen.pdf_path = out_dir / (out_name[:-5] + ".pdf")
        atomic_write(gen.pdf_path, it.pdf)


class BatchInterrupted(GuanaiError):
    """A batch stopped midway (disk full, Ctrl-C, kill): says what was stored; a re-run stores the rest."""

    @classmethod
    def after(cls, err: BaseException, result: BatchResult, total: int,
              where: Path | str) -> BatchInterrupted | BaseException:
        from guanai.base.faults import translate

        if isinstance(err, KeyboardInterrupt | SystemExit | GeneratorExit):
            cause = GuanaiError("已中断。")
            code = 130
        else:
            known = translate(err, where, "归档文书")
            if known is None:
                return err
            cause, code = known, known.exit_code
        stored = result.stored
        ids = "、".join(i[:8] for i in stored[:10]) + ("……" if len(stored) > 10 else "")
        msg = (f"{cause.message} 批量处理在第 {len(result.ok) + len(result.failed) + 1} / {total} 份处中断："
               f"本次已归档 {len(stored)} 份" + (f"（文档 {ids}）" if stored else "") + "，其余未归档。")
        out = cls(msg, (cause.hint + "；" if cause.hint else "") + "处理后重新运行同一命令即可：已归档的不会重复存入。")
        out.exit_code = code
        out.stored = list(stored)
        return out

    stored: list[str]
