"""Documents in and out of the archive: attach an existing file, export a document's original.

``export_document`` is the one function behind `doc get` and `open`.

Exporting writes plaintext outside the archive, so it needs the ``export`` permission (not just
``read``) and leaves one ``doc.export`` audit entry naming the path and size; the file is written
atomically (no half-written file), and an existing file is only replaced when asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from guanai.base.errors import InputError, NotFoundError, StateError
from guanai.base.fsutil import atomic_write

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry


@dataclass(frozen=True)
class Exported:
    doc_id: str
    path: Path
    size: int


def export_document(arc: Archive, doc_id: str, out: Path, *, force: bool = False) -> Exported:
    """Write document ``doc_id`` to ``out`` (a file, or an existing directory: the original file name)."""
    arc.require("export")
    entry = arc.get_document(doc_id)
    target = Path(out)
    if target.is_dir():
        target = target / entry.filename
    if target.exists() and not force:
        raise StateError(f"文件已存在：{target}", "换一个路径，或加 --force 覆盖。")
    if not target.parent.is_dir():
        raise InputError(f"目录不存在：{target.parent}", "先创建该目录，或换一个输出路径。")
    data = arc.read_document(entry.id, audit=False)  # the doc.export entry below covers the read
    atomic_write(target, data)
    arc.audit("doc.export", entry.id, {"path": str(target), "size": len(data)})
    return Exported(entry.id, target, len(data))


@dataclass(frozen=True)
class Attached:
    doc_id: str
    child: ChildEntry
    title: str


def attach_file(arc: Archive, child_ref: str, path: Path, *, title: str | None = None,
                doc_date: str | None = None) -> Attached:
    """Store an existing file (a scanned certificate, a photo, a PDF) in a child's dossier, sealed."""
    import mimetypes
    from datetime import date

    from guanai.archive.store import MAX_DOCUMENT_BYTES

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
    doc_id = arc.put_document(kind="attachment", title=title, content=path.read_bytes(), filename=path.name,
                              mime=mime, child_id=child.id, doc_date=doc_date)
    return Attached(doc_id, child, title)
