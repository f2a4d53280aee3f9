"""Transfer state kept in sealed settings, and the bounded file reader the flows share.

``transfer.outgoing`` (packages sent, by package id), ``transfer.imported`` (packages seen, for
replay protection) and ``transfer.history`` (per child: the transfers it went through, carried
along in the next package).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive.transfer.identity import canonical_json
from guanai.base.errors import InputError, IntegrityError, NotFoundError, Problem

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry


OUT_SETTING = "transfer.outgoing"
IN_SETTING = "transfer.imported"
HIST_SETTING = "transfer.history"
CHILD_FORMAT = "guanai-child"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PURPOSES = ("转学", "升学")
Progress = Callable[[int, int], None]  # (children just done, total children)


def load(arc: Archive, name: str) -> dict[str, Any]:
    raw = arc.get_setting(name)
    if raw is None:
        return {}
    try:
        obj = json.loads(raw)
    except ValueError as err:
        raise IntegrityError(f"转接记录（{name}）已损坏。", "运行 guanai verify。") from err
    return obj if isinstance(obj, dict) else {}


def save(arc: Archive, name: str, obj: dict[str, Any]) -> None:
    arc.set_setting(name, canonical_json(obj))


def read_file(path: Path, limit: int, what: str) -> bytes:
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


def pending_children(arc: Archive) -> dict[str, tuple[str, dict[str, Any]]]:
    """Children in a package that was sent and whose receipt has not been confirmed yet."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for pid, entry in load(arc, OUT_SETTING).items():
        if entry.get("state") == "sent":
            for cid in entry.get("children", []):
                out[cid] = (pid, entry)
    return out


PENDING_HINT = ("收到对方回执后用 guanai transfer confirm 确认；如原转接包确已丢失或作废，加 --resend 重新导出"
                 "（原包仍可能被导入，请先与对方学校核实）。")
PENDING = "transfer.pending"  # Problem.code of a child still in a package awaiting its receipt


def pending_problem(entry: ChildEntry, pid: str, sent: dict[str, Any]) -> Problem:
    return Problem(f"{entry.record.name}（{entry.record.student_id}）",
                   f"已在转接包 {pid[:12]} 中（{str(sent.get('created_at', ''))[:10]} 发往 "
                   f"{sent.get('recipient_name', '')}），尚未收到回执", PENDING_HINT, PENDING)


def list_transfers(arc: Archive) -> dict[str, Any]:
    """Outgoing and incoming packages (for `transfer list`)."""
    out = load(arc, OUT_SETTING)
    inc = load(arc, IN_SETTING)
    return {"outgoing": [{"package_id": k, **{x: v.get(x) for x in ("recipient", "recipient_name", "created_at",
                                                                       "purpose", "state", "retain_until")},
                          "children": len(v.get("children", []))} for k, v in out.items()],
            "incoming": [{"package_id": k, **{x: v.get(x) for x in ("from", "from_name", "decision", "at", "reason")}}
                         for k, v in inc.items()]}
