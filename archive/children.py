"""Changes to a child's dossier that the CLI and a browser UI share (the CLI only parses and prints)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guanai.base.errors import StateError
from guanai.care.model import ChildRecord
from guanai.care.patch import apply_patch

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry


def require_open(entry: ChildEntry, action: str) -> None:
    """Dossiers that are 存档备查, 毕业 or 转出 are read-only: say so, with the way to reopen."""
    if entry.status != "在册":
        raise StateError(f"{entry.record.name}（{entry.record.student_id}）的档案状态为“{entry.status}”，只读，不能{action}。",
                         f"如确需{action}，先执行 guanai child reopen {entry.id} --reason 原因")


def patch_child(arc: Archive, ref: str, patch: Any, source: str) -> tuple[ChildEntry, ChildRecord]:
    """Apply ``patch`` (parsed from ``source``) to the child named by ``ref``; audited by the store."""
    arc.require("write")
    entry = arc.get_child(ref)
    require_open(entry, "修改")
    record = apply_patch(entry.record, patch, source, status=entry.status)
    arc.update_child(entry.id, record)
    return entry, record
