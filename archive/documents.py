"""Documents as people handle them: listings, voiding a wrongly archived one, exports.

A voided document is kept (content, audit trail) but hidden from listings and transfers by
default. The void marker is a sealed setting ``void.<document id>`` holding who voided it,
when and why; the void is audited in the same transaction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive.labels import format_label, mime_label
from guanai.archive.resolve import (
    class_rank,
    grade_rank,
    resolve_child,
    resolve_documents,
    short_id,
    short_ids,
    unique_short_id,
)
from guanai.base.errors import GuanaiError, InputError, StateError

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry, DocumentEntry

VOID_PREFIX = "void."
SORTS = ("class", "date", "kind", "title")
SORT_NAMES = {"class": "年级、班级、姓名", "date": "日期", "kind": "种类", "title": "标题"}
MAX_REASON = 200


# --------------------------------------------------------------------------- voids


def voided(arc: Archive) -> dict[str, dict[str, Any]]:
    """Voided document id -> {reason, at, by}."""
    out: dict[str, dict[str, Any]] = {}
    rows = arc.conn.execute("SELECT name FROM settings WHERE name >= ? AND name < ?",
                            (VOID_PREFIX, VOID_PREFIX[:-1] + "/")).fetchall()
    for (name,) in rows:
        raw = arc.get_setting(name)
        if raw:
            out[name[len(VOID_PREFIX):]] = json.loads(raw)
    return out


def void_document(arc: Archive, ref: str, reason: str) -> DocumentEntry:
    """Mark a document void (kept, audited, hidden from listings and transfers)."""
    from guanai.archive.store import canonical_json, now_iso

    arc.require("write")
    entry = arc.get_document(ref)
    reason = (reason or "").strip()
    if not reason:
        raise InputError("作废须写明原因。", "例如：--reason 重复归档")
    if len(reason) > MAX_REASON:
        raise InputError(f"作废原因过长（最多 {MAX_REASON} 字）。", "写明要点即可。")
    name = VOID_PREFIX + entry.id
    if arc.get_setting(name):
        raise StateError(f"文档《{entry.title}》（{unique_short_id(arc, entry.id)}）已经作废。", "用 guanai doc list --all 查看。")
    value = canonical_json({"reason": reason, "at": now_iso(), "by": arc.user})
    with arc.transaction():
        arc._put_setting(name, value)
        arc._append_audit("doc.void", entry.id, {"title": entry.title, "kind": entry.kind, "reason": reason})
    return entry


# --------------------------------------------------------------------------- listing


@dataclass
class DocRow:
    entry: DocumentEntry
    child_name: str = ""
    grade: str = ""
    class_name: str = ""
    void: dict[str, Any] | None = None
    short: str = ""

    @property
    def format(self) -> str:
        return format_label(self.entry.mime, self.entry.filename)

    @property
    def date(self) -> str:
        return self.entry.doc_date or self.entry.created_at[:10]

    def to_json(self) -> dict[str, Any]:
        return {**self.entry.to_json(), "short_id": self.short or short_id(self.entry.id), "format": self.format,
                "mime_name": mime_label(self.entry.mime), "child_name": self.child_name,
                "grade": self.grade, "class_name": self.class_name, "void": self.void}


def _child_info(arc: Archive, cache: dict[str, ChildEntry | None], cid: str | None) -> ChildEntry | None:
    if not cid:
        return None
    if cid not in cache:
        try:
            cache[cid] = arc.find_child(cid)
        except (GuanaiError, ValueError, TypeError, UnicodeDecodeError) as err:
            # one damaged child record does not hide its documents (nor the others): noted as damaged
            arc.damaged[cid] = getattr(err, "message", None) or type(err).__name__
            cache[cid] = None
    return cache[cid]


def list_documents(arc: Archive, *, child: str | None = None, kind: str | None = None,
                   include_void: bool = False, sort: str = "class") -> list[DocRow]:
    """Documents (of one child / one kind), voided ones only with ``include_void``, sorted."""
    arc.require("read")
    if sort not in SORTS:
        raise InputError(f"未知的排序方式“{sort}”。", "可选：" + "、".join(f"{k}（{v}）" for k, v in SORT_NAMES.items()))
    child_id = resolve_child(arc, child).id if child else None
    voids = voided(arc)
    shorts = short_ids(arc)
    cache: dict[str, ChildEntry | None] = {}
    rows: list[DocRow] = []
    for e in arc.list_documents(child_id=child_id, kind=kind):
        v = voids.get(e.id)
        if v is not None and not include_void:
            continue
        c = _child_info(arc, cache, e.child_id)
        rec = c.record if c is not None else None
        rows.append(DocRow(e, child_name=rec.name if rec is not None else "",
                           grade=str(getattr(rec, "grade", "") or ""),
                           class_name=str(getattr(rec, "class_name", "") or ""), void=v,
                           short=shorts.get(e.id, short_id(e.id))))
    keys = {
        "class": lambda r: (r.child_name == "", grade_rank(r.grade), class_rank(r.class_name), r.class_name,
                            r.child_name, r.date, r.entry.kind, r.format),
        "date": lambda r: (r.date, r.entry.created_at, r.format),
        "kind": lambda r: (r.entry.kind, r.date, r.format),
        "title": lambda r: (r.entry.title, r.date, r.format),
    }
    rows.sort(key=keys[sort])
    return rows


# --------------------------------------------------------------------------- exports


def _target(out_dir: Path, filename: str, used: set[str]) -> Path:
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    name, n = filename, 2
    while name in used or (out_dir / name).exists():
        name = f"{stem}-{n}{dot}{ext}"
        n += 1
    used.add(name)
    return out_dir / name


#: Signs one PDF as the school (PAdES; ``guanai.generators.sign.pdf_signer`` in the product: the
#: archive cannot import generators). Returns the signed bytes, or None when the PDF already carries
#: a signature and is left as it is; raises ``InputError`` when the bytes cannot be signed.
PdfSigner = Callable[[bytes], bytes | None]

#: What happened to one exported file when signing was asked for.
SIGNED, KEPT, NOT_PDF, FAILED = "signed", "kept", "not_pdf", "failed"


class ExportedPaths(list[Path]):
    """The files written (a list of paths, as before); with ``sign``: ``signature[path]`` is
    ``signed`` (signed now), ``kept`` (already signed, written as stored), ``not_pdf``, or
    ``failed`` (a dossier's PDF that could not be signed, written as stored; why in ``problems``)."""

    def __init__(self, paths: list[Path] | None = None) -> None:
        super().__init__(paths or [])
        self.signature: dict[Path, str] = {}
        self.problems: dict[Path, str] = {}


def is_pdf(entry: DocumentEntry) -> bool:
    return entry.mime == "application/pdf" or entry.filename.lower().endswith(".pdf")


def export_documents(arc: Archive, refs: list[str], out: Path | str, *, force: bool = False,
                     sign: PdfSigner | None = None, keep_unsignable: bool = False) -> ExportedPaths:
    """Write documents' original files: one ``refs`` and a file path, or into the directory ``out``.

    Every reference is resolved before anything is written; each file is written atomically and
    each export audited. In a directory a name already there gets ``-2``; a file path named
    explicitly is overwritten only with ``force``. ``sign``: every PDF is signed as the school
    first (all of them before the first file is written, so a PDF that cannot be signed leaves
    nothing behind — unless ``keep_unsignable``: then it is written as stored, marked ``failed``);
    a PDF already signed is written as stored; other files are written unsigned, and asking to sign
    only non-PDF files is refused.
    """
    from guanai.base.fsutil import atomic_write

    arc.require("export")
    if sign is not None:
        arc.require("write")  # signing speaks for the school: not for a read-only role
    if not refs:
        raise InputError("没有给出文档编号。", "例如：guanai doc get 3f2a9c -o 导出目录/")
    entries = resolve_documents(arc, refs)
    if sign is not None and not any(is_pdf(e) for e in entries):
        names = "、".join(e.title for e in entries[:3]) + ("等" if len(entries) > 3 else "")
        raise InputError(f"所选文档（{names}）都不是 PDF，无法加数字签名。",
                         "去掉 --sign 导出原件；公文可用 guanai generate … --pdf --sign 生成签名的 PDF。")
    # "导出/" names a directory even before it exists (Path() would drop the slash)
    as_dir = str(out).endswith(("/", "\\", os.sep)) or len(entries) > 1 or Path(out).is_dir()
    out = Path(out)
    if as_dir:
        if out.exists() and not out.is_dir():
            raise InputError(f"{out} 是一个文件，不是目录。", "导出多份文档时 -o 给一个目录（如 导出/）。")
        out.mkdir(parents=True, exist_ok=True)
        used: set[str] = set()
        targets = [_target(out, e.filename, used) for e in entries]
    else:
        if out.exists() and not force:
            raise StateError(f"文件已存在：{out}", "换一个文件名，或加 --force 覆盖；给出目录则写入该目录。")
        if not out.parent.is_dir():
            raise InputError(f"目录不存在：{out.parent}", "先创建该目录，或换一个输出路径。")
        targets = [out]
    written = ExportedPaths()
    signed: dict[str, tuple[bytes, str]] = {}
    failures: dict[str, str] = {}
    if sign is not None:  # sign everything first: a failure writes nothing
        for e in entries:
            data = arc.read_document(e.id, audit=False)
            if not is_pdf(e) or not data.startswith(b"%PDF-"):
                signed[e.id] = (data, NOT_PDF)
                continue
            try:
                done = sign(data)
            except InputError as err:
                if not keep_unsignable:
                    raise InputError(f"文档“{e.title}”无法签名：{err.message}",
                                     "未写出任何文件。文件可能已损坏；不加 --sign 可导出原件。") from err
                signed[e.id] = (data, FAILED)
                failures[e.id] = err.message
                continue
            signed[e.id] = (data, KEPT) if done is None else (done, SIGNED)
    for e, target in zip(entries, targets, strict=True):
        if e.id in signed:
            data, outcome = signed[e.id]
            written.signature[target] = outcome
            if e.id in failures:
                written.problems[target] = failures[e.id]
        else:
            data, outcome = arc.read_document(e.id, audit=False), ""  # the doc.export entry covers the read
        detail: dict[str, Any] = {"title": e.title, "path": str(target), "size": len(data)}
        if outcome:
            detail["signature"] = outcome
        # audited before the plaintext leaves the process (a journal entry when a writer holds the lock)
        arc.audit("doc.export", e.id, detail)
        atomic_write(target, data)
        written.append(target)
    return written


def export_dossier(arc: Archive, child_ref: str, out_dir: Path, *, include_void: bool = False,
                   sign: PdfSigner | None = None) -> ExportedPaths:
    """Every document of one child into ``out_dir/<姓名>-<短编号>/`` (sorted by date); ``sign`` as
    in ``export_documents``, except that nothing is refused: a dossier without any PDF is exported
    unsigned, a PDF that cannot be signed (an old damaged scan) is written as stored, ``failed``."""
    from guanai.archive.store import safe_filename

    arc.require("export")
    child = resolve_child(arc, child_ref)
    rows = list_documents(arc, child=child.id, include_void=include_void, sort="date")
    if not rows:
        raise StateError(f"{child.record.name} 的档案中还没有文档。", "先用 guanai generate 或 guanai attach 添加。")
    folder = Path(out_dir) / safe_filename(f"{child.record.name}-{short_id(child.id)}")
    folder.mkdir(parents=True, exist_ok=True)
    if sign is not None and not any(is_pdf(r.entry) for r in rows):
        sign = None  # nothing to sign in this dossier: the CLI says so
    arc.audit("child.export", child.id, {"documents": len(rows), "path": str(folder)})
    return export_documents(arc, [r.entry.id for r in rows], folder, sign=sign, keep_unsignable=True)


# --------------------------------------------------------------------------- attachments


@dataclass(frozen=True)
class Attached:
    doc_id: str
    child: ChildEntry
    title: str
    mime: str
    new: bool  # False: the same file was already in this child's dossier (nothing stored again)


def attach_file(arc: Archive, child_ref: str, path: Path, *, title: str | None = None,
                doc_date: str | None = None) -> Attached:
    """Store an existing file (a scanned certificate, a photo, a PDF) in a child's dossier, sealed.

    Running it twice with the same file stores it once (``Attached.new`` says which).
    """
    import mimetypes
    from datetime import date

    from guanai.archive.batch import put_once
    from guanai.archive.store import MAX_DOCUMENT_BYTES
    from guanai.base.errors import NotFoundError

    arc.require("write")
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError as err:
        raise NotFoundError(f"找不到文件：{path}", "检查文件路径。") from err
    if size > MAX_DOCUMENT_BYTES:
        raise InputError(f"文件过大：{path.name}", "扫描件请降低分辨率或分成几个文件。")
    if doc_date:
        try:
            doc_date = date.fromisoformat(doc_date).isoformat()
        except ValueError as err:
            raise InputError(f"日期格式不正确：{doc_date}", "请写成 2026-09-01 的形式。") from err
    child = arc.get_child(child_ref)
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    title = title or path.stem
    doc_id, new = put_once(arc, kind="attachment", title=title, content=path.read_bytes(), filename=path.name,
                           mime=mime, child_id=child.id, doc_date=doc_date)
    return Attached(doc_id, child, title, mime, new)
