"""Roster import and re-screening update, as library functions (the CLI and the browser UI call
these): :func:`plan_roster` says what a checked roster (:func:`guanai.care.roster.preview_roster`)
would do to the archive, :func:`apply_roster` does it in one transaction.

Children are matched by 学籍号, then by 身份证号. A plain import adds new children and refuses rows
already in the archive; ``update=True`` (the March / September re-screening) also updates matched
children — only the fields the roster has columns for, everything else on the record (the plan,
需求评估, 建档日期, notes typed later) is kept — and lists the children in the archive who are no
longer on the roster (nothing is closed automatically: that is a person's decision).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from guanai.base.errors import InputError, Problem
from guanai.care.model import ChildRecord, RecordError, parse_child
from guanai.care.roster import Roster, RowError, format_members

if TYPE_CHECKING:
    from collections.abc import Callable

    from guanai.archive.store import Archive, ChildEntry

NEW, CHANGED, SAME, GONE = "新增", "更新", "无变化", "不在花名册"


@dataclass
class FieldChange:
    field: str  # 父亲.状况
    old: str
    new: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass
class ChildChange:
    action: str  # 新增 / 更新 / 无变化 / 不在花名册
    name: str
    student_id: str
    row: int | None = None
    child_id: str | None = None
    changes: list[FieldChange] = field(default_factory=list)
    record: ChildRecord | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "name": self.name, "student_id": self.student_id, "row": self.row,
                "id": self.child_id, "changes": [c.to_dict() for c in self.changes]}


@dataclass
class RosterPlan:
    """What a roster does to the archive (before :func:`apply_roster`) or did (after)."""

    roster: Roster
    update: bool
    children: list[ChildChange] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # the roster's bad rows + rows refused here
    applied: bool = False

    def of(self, action: str) -> list[ChildChange]:
        return [c for c in self.children if c.action == action]

    def counts(self) -> dict[str, int]:
        return {a: len(self.of(a)) for a in (NEW, CHANGED, SAME, GONE)}

    def problems(self) -> list[Problem]:
        return self.roster.row_problems(self.errors)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (English keys; actions 新增 / 更新 / 无变化 / 不在花名册 as a person reads them)."""
        out = self.roster.to_dict()
        counts = self.counts()
        out.update({"mode": "update" if self.update else "import", "applied": self.applied,
                    "counts": {"new": counts[NEW], "changed": counts[CHANGED], "unchanged": counts[SAME],
                               "gone": counts[GONE]},
                    "children": [c.to_dict() for c in self.children if c.action != SAME],
                    "problems": [p.to_json() for p in self.problems()]})
        return out


def _flat(data: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, list):
        if data:
            dicts = [v for v in data if isinstance(v, dict)]
            out[prefix] = format_members(dicts) if dicts else "、".join(str(v) for v in data)
    elif data is not None:
        out[prefix] = "是" if data is True else "否" if data is False else str(data)
    return out


def _diff(old: ChildRecord, new: ChildRecord) -> list[FieldChange]:
    a, b = _flat(old.to_json_dict()), _flat(new.to_json_dict())
    return [FieldChange(k, a.get(k, ""), b.get(k, "")) for k in list(dict.fromkeys([*a, *b]))
            if a.get(k, "") != b.get(k, "") and k != "状态"]


def _get(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def merge_update(old: ChildRecord, new: ChildRecord, covered: list[tuple[str, ...]], source: str,
                 fills: list[tuple[str, ...]] | None = None) -> ChildRecord:
    """``old`` with the roster's fields taken from ``new``: ``covered`` paths replaced (an empty
    cell clears), ``fills`` paths set where ``new`` has a value; everything else kept."""
    merged = old.to_json_dict()
    fresh = new.to_json_dict()
    for path in [*covered, *(fills or [])]:
        if path[0] == "状态":
            continue
        value = _get(fresh, path)
        if value is None and path not in covered:
            continue
        target = merged
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        if value is None:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    for role in ("父亲", "母亲", "监护人", "委托照护人"):
        if isinstance(merged.get(role), dict) and not any(merged[role].values()):
            merged.pop(role)  # every column of it empty now
    for role in ("父亲", "母亲"):
        if isinstance(merged.get(role), dict) and not merged[role].get("状况"):
            merged[role]["状况"] = "不详"
    if isinstance(merged.get("监护人"), dict) and not merged["监护人"].get("姓名"):
        merged.pop("监护人")
    # birth date and gender follow the (possibly corrected) numbers
    for key in ("出生日期", "性别"):
        if key in fresh:
            merged[key] = fresh[key]
    return parse_child(merged, source)


def _match(arc: Archive, record: ChildRecord) -> tuple[ChildEntry | None, str | None]:
    """The archive's child for a roster row, or a reason it is ambiguous."""
    by_sid = arc.find_child(record.student_id)
    by_id = arc.find_child(record.id_number) if record.id_number else None
    if by_sid is not None and by_id is not None and by_sid.id != by_id.id:
        return None, (f"学籍号属于{by_sid.record.name}（编号 {by_sid.id[:8]}），身份证号属于{by_id.record.name}"
                      f"（编号 {by_id.id[:8]}），无法确定是哪一名儿童")
    return by_sid or by_id, None


def plan_roster(arc: Archive, roster: Roster, *, update: bool = False) -> RosterPlan:
    """What importing (or, with ``update``, re-screening with) ``roster`` would do; nothing written."""
    plan = RosterPlan(roster, update, errors=list(roster.errors))
    matched: set[str] = set()
    for row, rec in roster.records:
        entry, ambiguous = _match(arc, rec)
        if ambiguous:
            plan.errors.append(RowError(row, ambiguous, [ambiguous]))
            continue
        if entry is None:
            plan.children.append(ChildChange(NEW, rec.name, rec.student_id, row, record=rec))
            continue
        matched.add(entry.id)
        what = "学籍号" if entry.record.student_id == rec.student_id else "身份证号"
        if not update:
            msg = f"{what}已在档案库中（{entry.record.name}，编号 {entry.id}）"
            plan.errors.append(RowError(row, msg, [msg]))
            continue
        if entry.status != "在册":
            msg = (f"{entry.record.name}的档案状态为“{entry.status}”，只读，未更新"
                   f"（如仍在校，先用 guanai child reopen {entry.id[:8]} --reason 原因 重新启用）")
            plan.errors.append(RowError(row, msg, [msg]))
            continue
        try:
            merged = merge_update(entry.record, rec, roster.covered, f"第{row}行", roster.fills)
        except RecordError as err:
            plan.errors.append(RowError(row, "；".join(err.messages), err.messages))
            continue
        changes = _diff(entry.record, merged)
        plan.children.append(ChildChange(CHANGED if changes else SAME, merged.name, merged.student_id, row,
                                         entry.id, changes, merged))
    if update:
        for entry in arc.list_children(status="在册"):
            if entry.id not in matched:
                plan.children.append(ChildChange(GONE, entry.record.name, entry.record.student_id,
                                                 child_id=entry.id))
    plan.errors.sort(key=lambda e: e.row)
    return plan


def apply_roster(arc: Archive, roster: Roster, *, update: bool = False,
                 progress: Callable[[int], None] | None = None) -> RosterPlan:
    """Plan and write in one transaction: new children added, matched ones updated (``update``).
    Rows with errors are not written; the plan returned lists them. ``progress(n)`` counts writes."""
    arc.require("write")
    if roster.total_rows == 0:
        raise InputError(f"花名册 {roster.source} 中没有数据行。", "在表头下方逐行填写儿童信息。")
    with arc.transaction():
        plan = plan_roster(arc, roster, update=update)  # under the writer lock: nothing moves meanwhile
        done = 0
        for change in plan.children:
            if change.action == NEW and change.record is not None:
                change.child_id = arc.add_child(change.record)
            elif change.action == CHANGED and change.record is not None and change.child_id is not None:
                arc.update_child(change.child_id, change.record)
            else:
                continue
            done += 1
            if progress is not None:
                progress(done)
        # a roster import or update during a screening round marks every child on it screened
        from guanai.archive.workflow import mark_screened

        on_roster = [c.child_id for c in plan.children if c.child_id is not None and c.action != GONE]
        mark_screened(arc, on_roster, date.today(), required=False)
        plan.applied = True
    return plan
