"""Workflow records in the archive: screening rounds, 控辍保学 cases, mentors, contacts, duties.

Each is a sealed record (``Archive.put_record``); the rules that decide what is due live in
``guanai.care.workflow``. The functions here load the state, call the rules, and make the
changes (each change one audited transaction). The CLI and the browser UI call these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from guanai.base.errors import InputError, NotFoundError, StateError
from guanai.care import workflow as wf
from guanai.care.model import check_one_line, parse_date
from guanai.care.rules import DROPOUT_DAYS, DROPOUT_PERSUASIONS, screening_deadline

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry, RecordEntry

SETTINGS_NAME = "workflow"
ROUND = "screening-round"
CASE = "absence-case"
TEACHER = "teacher"
ASSIGNMENT = "mentor-assignment"
CONTACT = "contact"
DUTY = "duty"


# --- helpers ------------------------------------------------------------------------------------


def _d(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _form_date(form: dict[str, Any], key: str) -> date | None:
    """A date field of a stored form (ISO text), None when absent or unreadable."""
    try:
        return _d(form.get(key))
    except (TypeError, ValueError):
        return None


def _need(value: Any) -> date:
    d = _d(value)
    assert d is not None
    return d


def clean_text(label: str, value: str | None, max_len: int = 200, required: bool = True) -> str:
    """One-line text from the user: trimmed, bounded, no control characters (Chinese message)."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InputError(f"{label}不能为空。", f"填写{label}。")
        return ""
    if len(text) > max_len:
        raise InputError(f"{label}过长（{len(text)} 个字符，上限 {max_len}）。")
    try:
        check_one_line(text)
    except ValueError as err:
        raise InputError(f"{label}{err}。") from None
    return text


def to_date(value: str | date | None, label: str = "日期", default: date | None = None) -> date:
    if value is None or value == "":
        if default is None:
            raise InputError(f"缺少{label}。")
        return default
    if isinstance(value, date):
        return value
    try:
        return parse_date(value)
    except (ValueError, InputError):
        raise InputError(f"{label}格式不正确：{value}", "日期写作 2026-09-01 或 2026年9月1日。") from None


# --- settings -----------------------------------------------------------------------------------


def get_settings(arc: Archive) -> wf.Settings:
    raw = arc.get_setting(SETTINGS_NAME)
    if raw is None:
        return wf.Settings()
    return wf.Settings.from_dict(json.loads(raw))


def set_settings(arc: Archive, **changes: Any) -> wf.Settings:
    """Change some settings (None leaves a value as it is); audited."""
    arc.require("write")
    current = get_settings(arc).to_dict()
    for key, value in changes.items():
        if key not in current:
            raise InputError(f"未知设置：{key}")
        if value is None:
            continue
        label = wf.SETTING_LABELS[key]
        if key in wf.INT_SETTINGS:
            try:
                current[key] = int(value)
            except (TypeError, ValueError):
                raise InputError(f"{label}应为整数：{value!r}") from None
        else:
            current[key] = clean_text(label, str(value), 60, required=False)
    new = wf.Settings.from_dict(current)
    with arc.transaction():
        arc.set_setting(SETTINGS_NAME, json.dumps(new.to_dict(), ensure_ascii=False).encode())
        arc._append_audit("workflow.settings", None, {k: v for k, v in changes.items() if v is not None})
    return new


# --- loading the state --------------------------------------------------------------------------


def round_of(r: RecordEntry) -> wf.Round:
    d = r.data
    return wf.Round(id=r.id, term_start=_need(d["term_start"]), deadline=_need(d["deadline"]),
                    opened=_need(d["opened"]), screened={k: _need(v) for k, v in d.get("screened", {}).items()},
                    closed=_d(d.get("closed")))


def _case(r: RecordEntry) -> wf.Case:
    d = r.data
    assert r.child_id is not None
    return wf.Case(
        id=r.id, child_id=r.child_id, since=_need(d["since"]), whereabouts_unknown=bool(d.get("whereabouts_unknown")),
        persuasions=[wf.Persuasion(_need(p["on"]), p["by"], p["result"], p.get("method", "上门"), _d(p.get("return_by")))
                     for p in d.get("persuasions", [])],
        reports=[wf.Report(x["kind"], _need(x["on"]), x.get("doc_id")) for x in d.get("reports", [])],
        returned=_d(d.get("returned")))


def load_state(arc: Archive) -> wf.State:
    """Everything the rules need, from children, documents and workflow records."""
    arc.require("read")
    children: dict[str, wf.ChildState] = {}
    for e in arc.list_children():
        state_of = children[e.id] = wf.ChildState(e.id, e.record, e.status, _d(e.created_at[:10]))
        told = getattr(e.record, "village_informed", None)  # 村(居)委会告知日期 on the record
        if isinstance(told, date):
            state_of.village_informed.append(told)
    for _did, child_id, form in arc.document_forms("home-visit"):
        c = children.get(child_id or "")
        visit = _form_date(form, "家访日期")
        if c is None or visit is None:
            continue
        c.visits.append(visit)
        told = _form_date(form, "告知日期")
        if form.get("已告知村（居）委会") and told is not None:
            c.village_informed.append(told)
    for _did, child_id, form in arc.document_forms("care-record"):
        c = children.get(child_id or "")
        on = _form_date(form, "日期")
        if c is not None and on is not None and form.get("帮扶方面"):
            c.care.setdefault(str(form["帮扶方面"]), []).append(on)
    for _did, child_id, form in arc.document_forms("entrusted-care"):
        c = children.get(child_id or "")
        end = _form_date(form, "委托结束日期")
        if c is not None and end is not None and (c.entrusted_until is None or end > c.entrusted_until):
            c.entrusted_until = end
    state = wf.State(children=list(children.values()))
    for r in arc.list_records():
        if r.kind == ROUND:
            state.rounds.append(round_of(r))
        elif r.kind == CASE:
            state.cases.append(_case(r))
        elif r.kind == CONTACT and r.child_id in children:
            d = r.data
            contact = wf.Contact(_need(d["on"]), d["with"], d["how"], d.get("agreed", ""))
            children[r.child_id].contacts.append(contact)
            if d["with"] == "村（居）委会":
                children[r.child_id].village_informed.append(contact.on)
        elif r.kind == DUTY:
            state.duties.append(wf.Duty(r.data["kind"], _need(r.data["on"]), r.data.get("note", "")))
        elif r.kind == TEACHER and not r.data.get("removed"):
            state.teachers.append(r.data["name"])
    return state


def due(arc: Archive, as_of: date) -> list[wf.Obligation]:
    return wf.due(load_state(arc), as_of, get_settings(arc))


def stats(arc: Archive, as_of: date, by: str | None = None) -> wf.Stats:
    return wf.stats(load_state(arc), as_of, get_settings(arc), by)


# --- screening rounds ---------------------------------------------------------------------------


def _round_records(arc: Archive) -> list[RecordEntry]:
    return arc.list_records(kind=ROUND)


def open_round(arc: Archive) -> RecordEntry | None:
    open_ = [r for r in _round_records(arc) if not r.data.get("closed")]
    return open_[-1] if open_ else None


def start_round(arc: Archive, term_start: date, on: date) -> wf.Round:
    arc.require("write")
    deadline = screening_deadline(term_start)
    existing = open_round(arc)
    if existing is not None:
        raise StateError(f"已有进行中的排查（开学日期 {existing.data['term_start']}），不能再开始新的一轮。",
                         "先用 guanai screening close 结束本轮排查。")
    if on > deadline + timedelta(days=60) or on < term_start - timedelta(days=30):
        raise InputError(f"开始日期 {on.isoformat()} 与开学日期 {term_start.isoformat()} 相距过远。", "检查 --term-start 与 --date。")
    rid = arc.put_record(ROUND, {"term_start": term_start.isoformat(), "deadline": deadline.isoformat(),
                                 "opened": on.isoformat(), "screened": {}, "closed": None})
    return round_of(arc.get_record(rid))


def mark_screened(arc: Archive, child_ids: list[str], on: date, *, required: bool = True) -> int:
    """Mark children screened in the open round (a roster import or update during the round
    calls this too); returns how many were newly marked. ``required=False``: no round, no-op."""
    rnd = open_round(arc)
    if rnd is None:
        if required:
            raise StateError("当前没有进行中的排查。", "先用 guanai screening start --term-start 开学日期 开始排查。")
        return 0
    screened = dict(rnd.data.get("screened", {}))
    new = 0
    for cid in child_ids:
        if cid not in screened:
            screened[cid] = on.isoformat()
            new += 1
    if new:
        arc.update_record(rnd.id, {**rnd.data, "screened": screened}, action="screened")
    return new


@dataclass
class RoundStatus:
    round: wf.Round
    as_of: date
    screened: list[tuple[str, str, str]]  # (id, name, date)
    not_screened: list[tuple[str, str]]

    @property
    def days_left(self) -> int:
        return (self.round.deadline - self.as_of).days

    def to_dict(self) -> dict[str, Any]:
        return {"term_start": self.round.term_start.isoformat(), "deadline": self.round.deadline.isoformat(),
                "days_left": self.days_left, "closed": self.round.closed is not None,
                "screened": [{"id": i, "name": n, "date": d} for i, n, d in self.screened],
                "not_screened": [{"id": i, "name": n} for i, n in self.not_screened]}


def round_status(arc: Archive, as_of: date) -> RoundStatus:
    rec = open_round(arc)
    if rec is None:
        rounds = _round_records(arc)
        if not rounds:
            raise StateError("还没有开始过排查。", "用 guanai screening start --term-start 开学日期 开始排查。")
        rec = rounds[-1]
    rnd = round_of(rec)
    screened, missing = [], []
    for e in arc.list_children(status=wf.ACTIVE):
        if e.id in rnd.screened:
            screened.append((e.id, e.record.name, rnd.screened[e.id].isoformat()))
        else:
            missing.append((e.id, e.record.name))
    return RoundStatus(rnd, as_of, screened, missing)


def close_round(arc: Archive, on: date, *, apply_closures: bool = False,
                reason: str = "排查认定：已不属于留守儿童困境儿童") -> tuple[wf.ScreeningOutcome, list[str]]:
    """Close the open round with its outcome; with ``apply_closures`` the children who no longer
    qualify are closed as 存档备查 (only when confirmed). Returns (outcome, closed ids)."""
    arc.require("write")
    rec = open_round(arc)
    if rec is None:
        raise StateError("当前没有进行中的排查。", "用 guanai screening status 查看最近一轮。")
    rnd = round_of(rec)
    previous = [round_of(r) for r in _round_records(arc) if r.id != rec.id and r.data.get("closed")]
    state = load_state(arc)
    outcome = wf.screening_outcome(state, rnd, previous[-1] if previous else None)
    closed: list[str] = []
    with arc.transaction():
        if apply_closures:
            for cid, _name in outcome.no_longer:
                arc.set_child_status(cid, "存档备查", reason)
                closed.append(cid)
        arc.update_record(rec.id, {**rec.data, "closed": on.isoformat(), "outcome": {
            "identified": len(outcome.identified), "new": len(outcome.newly_identified),
            "no_longer": len(outcome.no_longer), "closed_as_archived": closed,
            "not_screened": len(outcome.not_screened)}}, action="close")
    return outcome, closed


# --- 控辍保学 cases ----------------------------------------------------------------------------


def open_case_record(arc: Archive, child_id: str) -> RecordEntry | None:
    for r in arc.list_records(kind=CASE, child_id=child_id):
        if not r.data.get("returned"):
            return r
    return None


def case_labels(arc: Archive) -> dict[str, str]:
    """child id -> 旷课中 / 辍学 / 去向不明 for every open case (listings show it)."""
    return {c.child_id: c.label() for c in (_case(r) for r in arc.list_records(kind=CASE)) if c.open}


def get_case(arc: Archive, child_ref: str) -> tuple[ChildEntry, wf.Case]:
    entry = arc.get_child(child_ref)
    rec = open_case_record(arc, entry.id)
    if rec is None:
        from guanai.archive.resolve import unique_short_id

        raise NotFoundError(f"{entry.record.name} 没有进行中的控辍保学案件。",
                            f"先用 guanai absence open {unique_short_id(arc, entry.id, 'children')} "
                            "--since 旷课开始日期 立案；guanai absence list --all 查看已结案的案件。")
    return entry, _case(rec)


def open_case(arc: Archive, child_ref: str, since: date, *, whereabouts_unknown: bool = False,
              on: date | None = None) -> wf.Case:
    arc.require("write")
    entry = arc.get_child(child_ref)
    if entry.status != wf.ACTIVE:
        raise StateError(f"{entry.record.name} 的档案状态为“{entry.status}”，不能立案。")
    if open_case_record(arc, entry.id) is not None:
        raise StateError(f"{entry.record.name} 已有进行中的控辍保学案件。", f"用 guanai absence show {entry.id} 查看。")
    on = on or since
    if since > on:
        raise InputError(f"旷课开始日期 {since.isoformat()} 晚于立案日期 {on.isoformat()}。", "检查 --since 与 --date。")
    rid = arc.put_record(CASE, {"since": since.isoformat(), "opened": on.isoformat(),
                                "whereabouts_unknown": whereabouts_unknown, "persuasions": [], "reports": [],
                                "returned": None}, child_id=entry.id)
    return _case(arc.get_record(rid))


def add_persuasion(arc: Archive, child_ref: str, on: date, by: str, result: str, *, method: str = "上门",
                   return_by: date | None = None, doc_id: str | None = None) -> wf.Case:
    arc.require("write")
    entry, case = get_case(arc, child_ref)
    if on < case.since:
        raise InputError(f"劝返日期 {on.isoformat()} 早于旷课开始日期 {case.since.isoformat()}。")
    if case.persuasions and on < case.persuasions[-1].on:
        raise InputError(f"劝返日期 {on.isoformat()} 早于上一次劝返（{case.persuasions[-1].on.isoformat()}）。")
    if return_by is not None and return_by < on:
        raise InputError("返校期限不能早于劝返日期。")
    rec = arc.get_record(case.id)
    p = {"on": on.isoformat(), "by": clean_text("劝返人", by, 50), "result": clean_text("劝返结果", result),
         "method": clean_text("劝返方式", method, 20), "return_by": return_by.isoformat() if return_by else None,
         "doc_id": doc_id}
    arc.update_record(case.id, {**rec.data, "persuasions": [*rec.data.get("persuasions", []), p]}, action="persuade")
    return _case(arc.get_record(case.id))


def report_refusal(case: wf.Case, on: date) -> str | None:
    """Why a report may not be made yet (the rule's reason), or None when it may."""
    if case.whereabouts_unknown:
        return None if not case.reported("missing") else "去向不明报告已上报。"
    if case.reported("dropout"):
        return "辍学情况报告已上报。"
    days = (on - case.since).days + 1
    k = len(case.persuasions)
    problems = []
    if days < DROPOUT_DAYS:
        problems.append(f"无故旷课须满一周（{DROPOUT_DAYS} 天，首日计入）才上报，现为 {days} 天")
    if k < DROPOUT_PERSUASIONS:
        problems.append(f"须经学校两次劝返未果才上报，现有 {k} 次劝返记录")
    if problems:
        return "；".join(problems) + "（实施方案三（二））。"
    return None


def add_report(arc: Archive, child_ref: str, kind: str, on: date, doc_id: str | None) -> wf.Case:
    arc.require("write")
    _entry, case = get_case(arc, child_ref)
    rec = arc.get_record(case.id)
    reports = [*rec.data.get("reports", []), {"kind": kind, "on": on.isoformat(), "doc_id": doc_id}]
    arc.update_record(case.id, {**rec.data, "reports": reports}, action="report")
    return _case(arc.get_record(case.id))


def close_case(arc: Archive, child_ref: str, returned: date, note: str = "") -> wf.Case:
    arc.require("write")
    _entry, case = get_case(arc, child_ref)
    if returned < case.since:
        raise InputError(f"复学日期 {returned.isoformat()} 早于旷课开始日期 {case.since.isoformat()}。")
    rec = arc.get_record(case.id)
    arc.update_record(case.id, {**rec.data, "returned": returned.isoformat(),
                                "note": clean_text("备注", note, 500, required=False)}, action="close")
    return _case(arc.get_record(case.id))


def list_cases(arc: Archive, include_closed: bool = False) -> list[tuple[ChildEntry, wf.Case]]:
    out = []
    for r in arc.list_records(kind=CASE):
        c = _case(r)
        if c.open or include_closed:
            out.append((arc.get_child(c.child_id), c))
    return out


# --- mentors (帮扶教师) --------------------------------------------------------------------------


def _teachers(arc: Archive) -> list[RecordEntry]:
    return [r for r in arc.list_records(kind=TEACHER) if not r.data.get("removed")]


def find_teacher(arc: Archive, name: str) -> RecordEntry | None:
    for r in _teachers(arc):
        if r.data["name"] == name:
            return r
    return None


def add_teacher(arc: Archive, name: str, phone: str = "", subject: str = "") -> str:
    arc.require("write")
    name = clean_text("教师姓名", name, 50)
    if find_teacher(arc, name) is not None:
        raise StateError(f"帮扶教师“{name}”已登记。", "用 guanai mentor list 查看。")
    return arc.put_record(TEACHER, {"name": name, "phone": clean_text("电话", phone, 40, required=False),
                                    "subject": clean_text("任教学科", subject, 40, required=False), "removed": None})


def remove_teacher(arc: Archive, name: str, on: date) -> None:
    arc.require("write")
    rec = find_teacher(arc, name)
    if rec is None:
        raise NotFoundError(f"找不到帮扶教师“{name}”。", "用 guanai mentor list 查看已登记的教师。")
    pupils = [e for e in arc.list_children(status=wf.ACTIVE) if e.record.mentor == name]
    if pupils:
        raise StateError(f"“{name}”仍帮扶 {len(pupils)} 名儿童（{'、'.join(e.record.name for e in pupils[:5])}），不能移除。",
                         "先用 guanai mentor assign 把这些儿童改派给其他教师。")
    arc.update_record(rec.id, {**rec.data, "removed": on.isoformat()}, action="remove")


def assign(arc: Archive, child_refs: list[str], teacher: str, on: date) -> list[str]:
    """Assign several children to a teacher: the child record's 帮扶教师 changes and the
    assignment history keeps who mentored whom from when to when."""
    arc.require("write")
    rec = find_teacher(arc, teacher)
    if rec is None:
        raise NotFoundError(f"帮扶教师“{teacher}”未登记。", f"先用 guanai mentor add {teacher} 登记。")
    entries = [arc.get_child(ref) for ref in child_refs]
    for e in entries:
        if e.status != wf.ACTIVE:
            raise StateError(f"{e.record.name} 的档案状态为“{e.status}”，不能指定帮扶教师。")
    done = []
    with arc.transaction():
        for e in entries:
            if e.record.mentor == teacher:
                continue
            for old in arc.list_records(kind=ASSIGNMENT, child_id=e.id):
                if not old.data.get("to"):
                    arc.update_record(old.id, {**old.data, "to": on.isoformat()}, action="end")
            arc.put_record(ASSIGNMENT, {"teacher": teacher, "from": on.isoformat(), "to": None}, child_id=e.id)
            phone = rec.data.get("phone") or None
            arc.update_child(e.id, e.record.model_copy(update={"mentor": teacher, "mentor_phone": phone}))
            done.append(e.id)
    return done


def mentor_overview(arc: Archive, as_of: date) -> dict[str, Any]:
    """Children per teacher, identified children without a mentor, and each child's history."""
    teachers = {r.data["name"]: r.data for r in _teachers(arc)}
    per: dict[str, list[str]] = {name: [] for name in teachers}
    without = []
    for e in arc.list_children(status=wf.ACTIVE):
        if e.record.mentor:
            per.setdefault(e.record.mentor, []).append(e.record.name)
        elif e.record.birth_date and wf.categories(wf.ChildState(e.id, e.record), as_of):
            without.append({"id": e.id, "name": e.record.name, "grade": e.record.grade})
    history = [{"child_id": r.child_id, "teacher": r.data["teacher"], "from": r.data["from"], "to": r.data.get("to")}
               for r in arc.list_records(kind=ASSIGNMENT)]
    return {"teachers": [{"name": n, "phone": teachers.get(n, {}).get("phone", ""), "registered": n in teachers,
                          "count": len(kids), "children": kids} for n, kids in per.items()],
            "without_mentor": without, "history": history}


# --- contacts and duties ------------------------------------------------------------------------


def add_contact(arc: Archive, child_ref: str, on: date, with_whom: str, how: str, agreed: str = "",
                by: str = "") -> str:
    arc.require("write")
    if with_whom not in wf.CONTACT_WITH:
        raise InputError(f"联系对象无效：{with_whom}", "可选：" + "、".join(wf.CONTACT_WITH))
    if how not in wf.CONTACT_HOW:
        raise InputError(f"联系方式无效：{how}", "可选：" + "、".join(wf.CONTACT_HOW))
    entry = arc.get_child(child_ref)
    return arc.put_record(CONTACT, {"on": on.isoformat(), "with": with_whom, "how": how,
                                    "agreed": clean_text("商定事项", agreed, 500, required=False),
                                    "by": clean_text("联系人", by, 50, required=False)}, child_id=entry.id)


def list_contacts(arc: Archive, child_ref: str | None = None) -> list[dict[str, Any]]:
    child_id = arc.get_child(child_ref).id if child_ref else None
    names = {e.id: e.record.name for e in arc.list_children()}
    return [{"id": r.id, "child_id": r.child_id, "child_name": names.get(r.child_id or "", ""), "date": r.data["on"],
             "with": r.data["with"], "how": r.data["how"], "agreed": r.data.get("agreed", ""),
             "by": r.data.get("by", "")}
            for r in arc.list_records(kind=CONTACT, child_id=child_id)]


def add_duty(arc: Archive, kind: str, on: date, note: str = "") -> str:
    arc.require("write")
    if kind not in wf.DUTY_KINDS:
        raise InputError(f"未知的学期工作：{kind}", "可选：" + "、".join(wf.DUTY_KINDS))
    return arc.put_record(DUTY, {"kind": kind, "on": on.isoformat(), "note": clean_text("记录", note, 2000, required=False)})


def list_duties(arc: Archive) -> list[dict[str, Any]]:
    return [{"id": r.id, "kind": r.data["kind"], "date": r.data["on"], "note": r.data.get("note", "")}
            for r in arc.list_records(kind=DUTY)]
