"""Edge dates of the workflow rules, as pure functions (no archive)."""

from __future__ import annotations

from datetime import date

import pytest
from workflow_helpers import child

from guanai.base.errors import InputError
from guanai.care import workflow as wf
from guanai.care.rules import screening_deadline

D = date
S = wf.Settings(psych_teacher="陈静")


def state_with(record, screened_on: date, **kw) -> tuple[wf.State, wf.ChildState]:  # type: ignore[no-untyped-def]
    c = wf.ChildState("c1", record, **kw)
    rnd = wf.Round("r1", D(2026, 9, 1), D(2026, 9, 7), D(2026, 9, 1), {"c1": screened_on}, closed=D(2026, 9, 7))
    duties = [wf.Duty("家长会", D(2026, 9, 1)), wf.Duty("家长学校", D(2026, 9, 1))]
    return wf.State(children=[c], rounds=[rnd], duties=duties), c


def visit_due(state: wf.State, on: date) -> list[tuple[date, int]]:
    return [(o.due, o.overdue_days) for o in wf.due(state, on, S) if o.rule == "home-visit"]


def test_seventh_day_is_the_deadline_and_not_yet_overdue() -> None:
    st, _ = state_with(child("甲", D(2014, 3, 5), 21), D(2026, 9, 1))
    assert wf.day_n(D(2026, 9, 1), 7) == D(2026, 9, 7)
    assert visit_due(st, D(2026, 9, 7)) == [(D(2026, 9, 7), 0)]
    assert visit_due(st, D(2026, 9, 8)) == [(D(2026, 9, 7), 1)]


def test_weekends_count() -> None:
    # identified on Friday 4 September 2026: day 7 is Thursday the 10th, weekend included
    assert D(2026, 9, 4).weekday() == 4
    st, c = state_with(child("甲", D(2014, 3, 5), 21), D(2026, 9, 4))
    assert visit_due(st, D(2026, 9, 10)) == [(D(2026, 9, 10), 0)]
    assert visit_due(st, D(2026, 9, 11)) == [(D(2026, 9, 10), 1)]
    c.visits.append(D(2026, 9, 10))  # a visit on day 7 is in time
    assert visit_due(st, D(2026, 9, 11)) == []
    f = wf.stats(st, D(2026, 9, 11), S).figures
    assert (f.visited_in_time, f.visited) == (1, 1)


def test_a_visit_on_day_8_counts_as_visited_but_late() -> None:
    st, c = state_with(child("甲", D(2014, 3, 5), 21), D(2026, 9, 1))
    c.visits.append(D(2026, 9, 8))
    f = wf.stats(st, D(2026, 9, 30), S).figures
    assert (f.visited_in_time, f.visited) == (0, 1)
    assert wf.stats(st, D(2026, 9, 30), S).to_dict()["visit_rate"] == 0.0


def test_the_screening_visit_just_before_identification_counts() -> None:
    # identified on 10 September: the visit that found the parents away, up to 7 days before, counts
    st, c = state_with(child("甲", D(2014, 3, 5), 21), D(2026, 9, 10))
    c.visits.append(D(2026, 9, 3))  # day -7
    assert visit_due(st, D(2026, 9, 20)) == []
    f = wf.stats(st, D(2026, 9, 20), S).figures
    assert (f.visited_in_time, f.visited) == (1, 1)
    # one day earlier is an old visit (last term's): a new one is due
    st, c = state_with(child("甲", D(2014, 3, 5), 21), D(2026, 9, 10))
    c.visits.append(D(2026, 9, 2))
    assert visit_due(st, D(2026, 9, 20)) == [(D(2026, 9, 16), 4)]
    assert wf.stats(st, D(2026, 9, 20), S).figures.visited == 0


def test_home_visit_days_setting() -> None:
    st, _ = state_with(child("甲", D(2014, 3, 5), 21), D(2026, 9, 1))
    s3 = wf.Settings(home_visit_days=3, psych_teacher="陈静")
    assert [o.due for o in wf.due(st, D(2026, 9, 1), s3) if o.rule == "home-visit"] == [D(2026, 9, 3)]
    with pytest.raises(InputError, match="家访期限"):
        wf.Settings(home_visit_days=0)


def test_term_start_on_a_sunday() -> None:
    sunday = D(2026, 8, 30)
    assert sunday.weekday() == 6
    assert screening_deadline(sunday) == D(2026, 9, 5)  # day 7, a Saturday: weekends count
    rnd = wf.Round("r", sunday, screening_deadline(sunday), sunday)
    st = wf.State(children=[wf.ChildState("c1", child("甲", D(2014, 3, 5), 21))], rounds=[rnd])
    screening = [o for o in wf.due(st, D(2026, 9, 6), S) if o.rule == "screening"]
    assert [(o.due, o.overdue_days) for o in screening] == [(D(2026, 9, 5), 1)]
    assert wf.term_of(sunday)[0] == "2026年秋季学期"


def test_sixteenth_birthday_on_the_screening_date() -> None:
    # born 1 September 2010: on 1 September 2026 still 不满16周岁 -> 留守; from the 2nd, 16 -> not
    rec = child("甲", D(2010, 9, 1), 21)
    rnd = wf.Round("r", D(2026, 9, 1), D(2026, 9, 7), D(2026, 9, 1), {"c1": D(2026, 9, 1)})
    st = wf.State(children=[wf.ChildState("c1", rec)], rounds=[rnd])
    out = wf.screening_outcome(st, rnd, None)
    assert out.identified == [("c1", "甲", ["留守儿童"])]
    rnd2 = wf.Round("r", D(2026, 9, 2), D(2026, 9, 8), D(2026, 9, 2))
    assert wf.screening_outcome(st, rnd2, None).no_longer == [("c1", "甲")]
    assert wf.stats(st, D(2026, 9, 1), S).figures.left_behind == 1
    assert wf.stats(st, D(2026, 9, 2), S).figures.left_behind == 0


def test_eighteenth_birthday_on_the_screening_date() -> None:
    # 孤儿 born 1 September 2008: 困境 until the day after the 18th birthday
    rec = child("乙", D(2008, 9, 1), 32, father="去世", mother="去世", carer=False)
    rnd = wf.Round("r", D(2026, 9, 1), D(2026, 9, 7), D(2026, 9, 1), {"c1": D(2026, 9, 1)})
    st = wf.State(children=[wf.ChildState("c1", rec)], rounds=[rnd])
    assert wf.screening_outcome(st, rnd, None).identified == [("c1", "乙", ["困境儿童"])]
    assert wf.categories(st.children[0], D(2026, 9, 2)) == []
    assert [o.rule for o in wf.due(st, D(2026, 9, 2), S) if o.child_id] == []


def test_dropout_steps_on_day_7() -> None:
    case = wf.Case("k", "c1", D(2026, 10, 8))
    st = wf.State(children=[wf.ChildState("c1", child("甲", D(2014, 3, 5), 21))], cases=[case],
                  duties=[wf.Duty("家长会", D(2026, 10, 1)), wf.Duty("家长学校", D(2026, 10, 1))])

    def steps(on: date) -> list[tuple[str, date, int]]:
        return [(o.rule, o.due, o.overdue_days) for o in wf.due(st, on, S) if o.rule.startswith(("persuade", "dropout"))]

    assert steps(D(2026, 10, 9)) == [("persuade-1", D(2026, 10, 8), 1)]
    case.persuasions.append(wf.Persuasion(D(2026, 10, 8), "王", "未返校", return_by=D(2026, 10, 9)))
    assert steps(D(2026, 10, 9)) == [("persuade-2", D(2026, 10, 10), 0)]
    case.persuasions.append(wf.Persuasion(D(2026, 10, 10), "王", "未返校"))
    # Saturday 10th + Sunday 11th count: day 7 is Wednesday the 14th
    assert steps(D(2026, 10, 10)) == [("dropout-report", D(2026, 10, 14), 0)]
    assert steps(D(2026, 10, 15)) == [("dropout-report", D(2026, 10, 14), 1)]
    case.reports.append(wf.Report("dropout", D(2026, 10, 15)))
    assert steps(D(2026, 10, 15)) == [] and case.label() == "辍学"
    case.returned = D(2026, 10, 20)
    assert not case.open
    st2 = wf.stats(st, D(2026, 10, 20), S)
    assert (st2.cases_open, st2.cases_closed, st2.cases_reported) == (0, 1, 1)


def test_whereabouts_unknown_is_due_at_once() -> None:
    case = wf.Case("k", "c1", D(2026, 11, 2), whereabouts_unknown=True)
    st = wf.State(children=[wf.ChildState("c1", child("甲", D(2014, 3, 5), 21))], cases=[case])
    got = [(o.rule, o.due, o.overdue_days) for o in wf.due(st, D(2026, 11, 3), S) if o.rule == "missing-report"]
    assert got == [("missing-report", D(2026, 11, 2), 1)]
    assert case.label() == "去向不明"


def test_parent_contact_interval() -> None:
    st, c = state_with(child("甲", D(2014, 3, 5), 21), D(2026, 9, 1))

    def contact(on: date) -> list[tuple[date, int]]:
        return [(o.due, o.overdue_days) for o in wf.due(st, on, S) if o.rule == "parent-contact"]

    assert contact(D(2026, 9, 23)) == []  # due 1 October, shown from 24 September
    assert contact(D(2026, 9, 24)) == [(D(2026, 10, 1), 0)]
    c.contacts.append(wf.Contact(D(2026, 9, 25), wf.PARENT_AWAY, "视频"))
    c.contacts.append(wf.Contact(D(2026, 9, 26), "委托照护人", "电话"))  # not the parents: does not count
    assert contact(D(2026, 10, 1)) == []
    assert contact(D(2026, 10, 26)) == [(D(2026, 10, 25), 1)]
    f = wf.stats(st, D(2026, 10, 24), S).figures
    assert f.parents_reached == 1
    assert wf.stats(st, D(2026, 10, 25), S).figures.parents_reached == 0  # 30 days passed


def test_entrustment_ending_and_poor_capacity() -> None:
    rec = child("甲", D(2014, 3, 5), 21)
    rec = rec.model_copy(update={"entrusted_carer": rec.entrusted_carer.model_copy(update={"capacity": "较差"})})  # type: ignore[union-attr]
    st, c = state_with(rec, D(2026, 9, 1), entrusted_until=D(2026, 12, 31))
    rules = {o.rule: o.due for o in wf.due(st, D(2026, 12, 1), S)}
    assert rules["carer-capacity"] == D(2026, 9, 7)
    assert rules["entrusted-ending"] == D(2026, 12, 31)
    assert "entrusted-ending" not in {o.rule for o in wf.due(st, D(2026, 11, 30), S)}


def test_term_duties_and_psych_teacher() -> None:
    st = wf.State()
    rules = {o.rule: o.due for o in wf.due(st, D(2027, 3, 10), wf.Settings())}
    assert rules["psych-teacher"] == D(2027, 2, 1)
    assert rules["duty-meeting"] == D(2027, 7, 31)
    assert rules["screening-start"] == D(2027, 3, 7)
    st.duties.append(wf.Duty("家长会", D(2026, 12, 1)))  # last term's meeting does not count
    assert "duty-meeting" in {o.rule for o in wf.due(st, D(2027, 3, 10), S)}
    st.duties.append(wf.Duty("家长会", D(2027, 3, 9)))
    assert "duty-meeting" not in {o.rule for o in wf.due(st, D(2027, 3, 10), S)}
    assert wf.term_of(D(2027, 1, 15)) == ("2026年秋季学期", D(2026, 8, 1), D(2027, 1, 31))


def test_stats_grouping_and_unknown_group() -> None:
    st, _ = state_with(child("甲", D(2014, 3, 5), 21, hardship=["低保家庭"]), D(2026, 9, 1))
    s = wf.stats(st, D(2026, 9, 2), S, by="category")
    assert set(s.groups) == {"留守儿童", "困境儿童"}
    assert s.to_dict()["groups"]["groups"]["留守儿童"]["filed"] == 1
    with pytest.raises(InputError, match="分组依据"):
        wf.stats(st, D(2026, 9, 2), S, by="town")
    assert wf.stats(wf.State(), D(2026, 9, 2), S).to_dict()["visit_rate"] is None  # no child: no rate, not 100 %


def test_boarding_pupils_add_the_leave_check_duty() -> None:
    rec = child("甲", D(2014, 3, 5), 21)
    st = wf.State(children=[wf.ChildState("c1", rec)])
    assert "duty-leave-check" not in {o.rule for o in wf.due(st, D(2026, 9, 10), S)}
    st.children[0].record = rec.model_copy(update={"boarding": True})
    due = {o.rule: o for o in wf.due(st, D(2026, 9, 10), S)}
    assert due["duty-leave-check"].due == D(2027, 1, 31) and "寄宿" in due["duty-leave-check"].basis
    assert wf.stats(st, D(2026, 9, 10), S).duties_required == ["家长会", "家长学校", "请销假检查"]
    st.duties.append(wf.Duty("请销假检查", D(2026, 9, 9)))
    assert "duty-leave-check" not in {o.rule for o in wf.due(st, D(2026, 9, 10), S)}


def test_every_rule_has_a_short_name() -> None:
    import inspect

    source = inspect.getsource(wf)
    import re

    rules = set(re.findall(r'add\("([a-z-]+)"', source)) | set(re.findall(r'Obligation\("([a-z-]+)"', source))
    rules |= {"persuade-1", "persuade-2", "duty-meeting", "duty-parent-school", "duty-leave-check"}
    assert rules <= set(wf.RULE_NAMES), rules - set(wf.RULE_NAMES)


def test_grouping_by_grade_counts_enrolled_children_too() -> None:
    kids = [wf.ChildState("a", child("甲", D(2014, 3, 5), 21, grade="五年级")),
            wf.ChildState("b", child("乙", D(2014, 4, 5), 32, father="在家", mother="在家", grade="五年级")),
            wf.ChildState("c", child("丙", D(2012, 4, 5), 43, grade="六年级"))]
    s = wf.stats(wf.State(children=kids), D(2026, 9, 2), S, by="grade").to_dict()["groups"]["groups"]
    assert (s["五年级"]["enrolled"], s["五年级"]["filed"]) == (2, 1)
    assert (s["六年级"]["enrolled"], s["六年级"]["filed"]) == (1, 1)


def test_groups_come_in_school_order() -> None:
    keys = ["三年级2班", "一年级", "九年级", "二年级", "高一", "留守儿童"]
    assert sorted(keys, key=wf.group_sort_key) == ["一年级", "二年级", "三年级2班", "九年级", "高一", "留守儿童"]
