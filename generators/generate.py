"""Generate a batch of documents: read forms → validate → render → (PDF) → store in the archive.

A bad row is reported and skipped; the good rows are still generated and stored, each in its
own transaction (catalog row + sealed content + form + text + audit).
"""

from __future__ import annotations

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
    model: FormBase | None = None
    child_id: str | None = None
    rendered: Rendered | None = None
    pdf: bytes | None = None
    error: Failed | None = None


# --------------------------------------------------------------------------- child records


def _parent_text(parent: Any) -> str | None:
    if parent is None:
        return None
    state = getattr(parent, "state", None) or ""
    where = getattr(parent, "workplace", None)
    name = getattr(parent, "name", None)
    text = f"{name + '，' if name else ''}{state}{f'（{where}）' if where else ''}"
    return text or None


def child_prefill(kind: Kind, entry: ChildEntry, on: dt.date | None = None) -> dict[str, Any]:
    """Form fields (Chinese names of ``kind``) taken from the child's record in the archive."""
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
    pdf: bool = False,
    out_dir: Path | None = None,
    template_dir: Path | str | None = None,
    store: bool = True,
    progress: Callable[[int], None] | None = None,
    today: dt.date | None = None,
) -> BatchResult:
    """Generate one document per form (file, Excel/CSV row, or dict); see module doc.

    ``progress(n)`` counts n forms done: one unit per form read, plus one more per form with
    ``pdf`` (the PDF step is the long one).
    """
    kind = get_kind(kind_id)
    result = BatchResult(kind.id)
    _check_request(arc, kind, store=store, child_ref=child_ref)
    custom_dir = resolve_template_dir(arc, template_dir)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    items = _read_items(sources, result, with_child=child_ref is not None)
    _validate_items(arc, kind, items, child_ref, today)
    custom = _render_items(kind, items, custom_dir, result, progress)
    if kind.to_family:
        _refuse_labels(kind, items)
    names = _convert_pdfs(kind, items, pdf, progress)
    _store_and_write(arc, kind, items, names, result, store=store, out_dir=out_dir, custom=custom)
    return result


def _check_request(arc: Archive | None, kind: Kind, *, store: bool, child_ref: str | None) -> None:
    if store and arc is None:
        raise InputError("未打开档案库，无法归档。", "使用 --no-archive 只生成文件。")
    if store and arc is not None:
        arc.require("write")
    if child_ref is not None and arc is None:
        raise InputError("--child 需要档案库（不能与 --no-archive 同用）。", "去掉 --no-archive，或直接在表单中填写儿童信息。")
    if child_ref is not None and not kind.per_child:
        raise InputError(f"“{kind.name}”不是针对单个儿童的文书，不能用 --child。", "去掉 --child。")


def _read_items(sources: Sequence[Path | str | FormRow | dict[str, Any]], result: BatchResult, *,
                with_child: bool) -> list[_Item]:
    """1. read: one item per form (a file may hold many rows); unreadable files become failures."""
    items: list[_Item] = []
    for src in sources:
        if isinstance(src, FormRow):
            items.append(_Item(src))
        elif isinstance(src, dict):
            items.append(_Item(FormRow("表单", None, src)))
        else:
            try:
                rows = read_forms(src)
            except GuanaiError as err:
                failed = _to_failed(Path(src).name, err)
                # the message already starts with the file name: do not print it twice
                failed.message = failed.message.removeprefix(Path(src).name).lstrip("： ") or failed.message
                result.failed.append(failed)
                continue
            if not rows:
                result.failed.append(Failed(Path(src).name, "文件中没有表单（除表头外都是空行）。", "填写至少一行后再试。"))
            items.extend(_Item(r) for r in rows)
    if with_child and not items:
        items.append(_Item(FormRow("档案记录", None, {})))
    return items


def _validate_items(arc: Archive | None, kind: Kind, items: list[_Item], child_ref: str | None,
                    today: dt.date | None) -> None:
    """2. validate, with the child's record when given (--child) or found by 学籍号."""
    entry = arc.get_child(child_ref) if (arc is not None and child_ref is not None) else None
    prefill = child_prefill(kind, entry, today) if entry is not None else {}
    for it in items:
        try:
            data = _merge(kind, it.row, prefill) if entry is not None else it.row.data
            it.model = validate(kind, data, source=it.row.source, row=it.row.row, columns=it.row.columns)
            if entry is not None:
                it.child_id = entry.id
            elif arc is not None and kind.per_child:
                sid = it.model.student_id_value()
                found = arc.find_child(sid) if sid else None
                it.child_id = found.id if found is not None else None
        except GuanaiError as err:
            it.error = _to_failed(it.row.label, err)


def _render_items(kind: Kind, items: list[_Item], custom_dir: Path | None, result: BatchResult,
                  progress: Callable[[int], None] | None) -> bool:
    """3. render; a school's own template runs in a child process with limits. True when it was used."""
    valid = [it for it in items if it.error is None and it.model is not None]
    if progress and len(valid) < len(items):
        progress(len(items) - len(valid))
    if custom_dir is not None and (custom_dir / kind.template).is_file():
        outs = render_isolated(kind, [it.model for it in valid if it.model is not None], custom_dir / kind.template)
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
            it.rendered = render_compiled(compiled, it.model.context())
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
        from guanai.generators.pdf import convert_results

        results = convert_results([(names[id(it)], it.rendered.data) for it in ready if it.rendered is not None],
                                  progress=progress)
        for it, res in zip(ready, results, strict=True):
            if res.pdf is None:
                it.error = Failed(it.row.label, f"转换 PDF 失败：{res.error}", "检查 LibreOffice 安装；或去掉 --pdf 只生成 .docx。", 10)
            else:
                it.pdf = res.pdf
    return names


def _store_and_write(arc: Archive | None, kind: Kind, items: list[_Item], names: dict[int, str],
                     result: BatchResult, *, store: bool, out_dir: Path | None, custom: bool) -> None:
    """5. store and write; never overwrite a file already in the output folder (it may be a copy
    the secretary edited in Word/WPS): a second run writes 名称-2.docx beside it."""
    existing = {p.name for p in out_dir.iterdir()} if out_dir is not None else set()
    try:
        _store_all(arc, kind, items, names, result, existing, out_dir, store, custom)
    except BaseException as err:
        raise BatchInterrupted.after(err, result, len(items), arc.path if arc is not None else out_dir or ".") from err


def _store_all(arc: Archive | None, kind: Kind, items: list[_Item], names: dict[int, str], result: BatchResult,
               existing: set[str], out_dir: Path | None, store: bool, custom: bool) -> None:
    for it in items:
        if it.error is not None:
            result.failed.append(it.error)
            continue
        assert it.model is not None and it.rendered is not None
        name = names[id(it)]
        gen = Generated(it.row.label, it.model.title(), name, child_id=it.child_id)
        try:
            d = it.model.doc_date()
            if store and arc is not None:
                form = it.model.to_form_dict()
                text = _searchable_text(it.model, it.rendered.text)
                meta = {"template": "custom" if custom else "bundled"}
                # idempotent: a batch re-run after a crash finds what the first run stored
                key = input_digest(kind.id, form, meta["template"])
                gen.doc_id, new = put_once(
                    arc, input_sha256=key,
                    kind=kind.id, title=gen.title, content=it.rendered.data, filename=name, mime=DOCX_MIME,
                    child_id=it.child_id, form=form, text=text,
                    doc_date=d.isoformat() if d else None, meta=meta)
                gen.existing = not new
                if new:
                    result.stored.append(gen.doc_id)
                if it.pdf is not None:
                    gen.pdf_doc_id, new = put_once(
                        arc, input_sha256=key,
                        kind=kind.id, title=gen.title, content=it.pdf, filename=name[:-5] + ".pdf", mime=PDF_MIME,
                        child_id=it.child_id, form=form, text=text,
                        doc_date=d.isoformat() if d else None, meta={**meta, "pdf_of": gen.doc_id})
                    if new:
                        result.stored.append(gen.pdf_doc_id)
            if out_dir is not None:
                out_name = _free_name(name, existing)
                gen.out_path = out_dir / out_name
                atomic_write(gen.out_path, it.rendered.data)
                if it.pdf is not None:
                    gen.pdf_path = out_dir / (out_name[:-5] + ".pdf")
                    atomic_write(gen.pdf_path, it.pdf)
        except (DiskFullError, TransientIOError):
            raise  # the next documents would fail alike: stop, say what was stored
        except GuanaiError as err:
            result.failed.append(_to_failed(it.row.label, err))
            continue
        result.ok.append(gen)


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
