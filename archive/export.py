"""Export a document's original file out of the archive: one function for `doc get` and `open`.

Exporting writes plaintext outside the archive, so it needs the ``export`` permission (not just
``read``) and leaves one ``doc.export`` audit entry naming the path and size; the file is written
atomically (no half-written file), and an existing file is only replaced when asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from guanai.base.errors import InputError, StateError
from guanai.base.fsutil import atomic_write

if TYPE_CHECKING:
    from guanai.archive.store import Archive


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
