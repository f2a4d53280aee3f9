"""A whole autumn term on a synthetic school with a fixed clock: 待办 and figures at each step.

Expectations are computed by hand from the plan's rules (care/workflow.py docstrings):
home visit, mentor, 委托照护人 and village within 7 days of identification (day 1 = the day
identified), parents away reached every 30 days (shown from 7 days before), 控辍保学 steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from workflow_helpers import home_visit, school

from guanai.archive import workflow as awf
from guanai.archive.store import Archive
from guanai.base.errors import StateError
from guanai.generators.generate import generate_batch
from guanai.generators.workflow_docs import issue_persuasion, issue_report

D = date
DUTIES = {("duty-meeting", None, "2027-01-31", 0), ("duty-parent-school", None, "2027-01-31", 0)}


@pytest.fixture
def arc(make_archive: Callable[..., tuple[Path, str]]) -> Iterator[Archive]:
    path, pw = make_archive()
    a = Archive.open(path, user="admin", passphrase=pw)
    try:
        yield a
    finally:
        a.close()


def got(arc: Archive, on: date) -> set[tuple[str, str | None, str, int]]:
    return {(o.rule, o.child_name, o.due.isoformat(), o.overdue_days) for o in awf.due(arc, on)}


def figures(arc: Archive, on: date) -> dict:
    return awf.stats(arc, on).to_dict()


def test_a_whole_term(arc: Archive) -> None:
    ids = {k: arc.add_child(r) for k, r in school().items()}
    A, B, C = "张小明", "李小红", "王小刚"

    # 31 August: nothing screened yet; the school's own duties only
    assert got(arc, D(2026, 8, 31)) == DUTIES | {
        ("psych-teacher", None, "2026-08-01", 30),
        ("screening-start", None, "2026-09-07", 0),
    }
    awf.set_settings(arc, psych_teacher="陈静", contact="王丽", contact_phone="0557-5011234", doc_prefix="龙小",
                     township="龙城镇人民政府", police="龙城派出所")

    # 1 September (Tuesday): round opened, deadline the 7th
    rnd = awf.start_round(arc, D(2026, 9, 1), D(2026, 9, 1))
    assert rnd.deadline == D(2026, 9, 7)
    assert got(arc, D(2026, 9, 1)) == DUTIES | {("screening", None, "2026-09-07", 0)}
    assert figures(arc, D(2026, 9, 1))["screening"]["completion"] == 0.0

    # 2 September: all four screened -> A, B, C identified (D's parents are back home)
    assert awf.mark_screened(arc, list(ids.values()), D(2026, 9, 2)) == 4
    w = "2026-09-08"  # day 7 from the 2nd
    expected = DUTIES | {
        ("screening-close", None, "2026-09-07", 0),
        ("home-visit", A, w, 0), ("mentor", A, w, 0), ("village", A, w, 0),
        ("home-visit", B, w, 0), ("mentor", B, w, 0), ("entrusted-carer", B, w, 0), ("village", B, w, 0),
        ("home-visit", C, w, 0), ("mentor", C, w, 0), ("village", C, w, 0),
    }
    assert got(arc, D(2026, 9, 2)) == expected
    f = figures(arc, D(2026, 9, 2))
    assert (f["enrolled"], f["filed"], f["left_behind"], f["hardship"], f["both"]) == (4, 3, 2, 2, 1)
    assert f["screening"]["completion"] == 1.0 and f["entrusted_rate"] == 0.5

    # 3 September: closing proposes D for 存档备查; applied when confirmed
    outcome, closed = awf.close_round(arc, D(2026, 9, 3), apply_closures=True)
    assert sorted(n for _, n, _ in outcome.newly_identified) == sorted([A, B, C])
    assert closed == [ids["D"]] and arc.get_child(ids["D"]).status == "存档备查"
    assert got(arc, D(2026, 9, 3)) == expected - {("screening-close", None, "2026-09-07", 0)}
    assert figures(arc, D(2026, 9, 3))["enrolled"] == 3

    # 7 September: A visited (village informed at the visit); the 7th day is not yet overdue
    r = generate_batch(arc, "home-visit", [home_visit(D(2026, 9, 7), village=True)], child_ref=ids["A"],
                       today=D(2026, 9, 7))
    assert not r.failed
    # 9 September: B visited on day 8 (late), village not informed
    generate_batch(arc, "home-visit", [home_visit(D(2026, 9, 9), village=False)], child_ref=ids["B"],
                   today=D(2026, 9, 9))
    assert got(arc, D(2026, 9, 10)) == DUTIES | {
        ("mentor", A, w, 2),
        ("mentor", B, w, 2), ("entrusted-carer", B, w, 2), ("village", B, w, 2),
        ("home-visit", C, w, 2), ("mentor", C, w, 2), ("village", C, w, 2),
    }
    f = figures(arc, D(2026, 9, 10))
    assert (f["visited_in_time"], f["visited"], f["visit_rate"]) == (1, 2, round(1 / 3, 4))
    assert f["mentor_rate"] == 0.0

    # mentors: coverage 2/3, then 100 %
    awf.add_teacher(arc, "王丽", "13705570001")
    assert awf.assign(arc, [ids["A"], ids["B"]], "王丽", D(2026, 9, 10)) == [ids["A"], ids["B"]]
    assert figures(arc, D(2026, 9, 10))["mentor_rate"] == round(2 / 3, 4)
    awf.add_teacher(arc, "李强")
    awf.assign(arc, [ids["C"]], "李强", D(2026, 9, 11))
    assert figures(arc, D(2026, 9, 11))["mentor_rate"] == 1.0
    assert awf.mentor_overview(arc, D(2026, 9, 11))["without_mentor"] == []
    # B's carer registered, village informed for B and C, C visited; duties held
    arc.update_child(ids["B"], arc.get_child(ids["B"]).record.model_copy(
        update={"entrusted_carer": arc.get_child(ids["A"]).record.entrusted_carer}))
    awf.add_contact(arc, ids["B"], D(2026, 9, 12), "村（居）委会", "上门", "通报家庭情况")
    awf.add_contact(arc, ids["C"], D(2026, 9, 12), "村（居）委会", "上门", "通报家庭情况")
    generate_batch(arc, "home-visit", [home_visit(D(2026, 9, 12), village=False)], child_ref=ids["C"],
                   today=D(2026, 9, 12))
    awf.add_duty(arc, "家长会", D(2026, 9, 20), "到会 42 人")
    assert got(arc, D(2026, 9, 20)) == {("duty-parent-school", None, "2027-01-31", 0)}

    # 25 September: the parents away of A and B are due on 2 October (30 days after the 2nd), shown from the 25th
    assert got(arc, D(2026, 9, 24)) == {("duty-parent-school", None, "2027-01-31", 0)}
    assert got(arc, D(2026, 9, 25)) == {("duty-parent-school", None, "2027-01-31", 0),
                                        ("parent-contact", A, "2026-10-02", 0), ("parent-contact", B, "2026-10-02", 0)}
    awf.add_contact(arc, ids["A"], D(2026, 9, 28), "外出父母", "视频", "每周日视频一次")
    awf.add_contact(arc, ids["B"], D(2026, 9, 30), "外出父母", "电话")
    awf.add_duty(arc, "家长学校", D(2026, 10, 1), "家庭监护责任专题讲座")
    assert got(arc, D(2026, 10, 1)) == set()
    f = figures(arc, D(2026, 10, 1))
    assert (f["parent_contact_rate"], f["entrusted_rate"], f["visit_rate"]) == (1.0, 1.0, round(1 / 3, 4))
    assert f["term_duties"]["done"] == ["家长会", "家长学校"]

    # 控辍保学: B absent from Thursday 8 October
    awf.open_case(arc, ids["B"], D(2026, 10, 8), on=D(2026, 10, 8))
    assert awf.case_labels(arc) == {ids["B"]: "旷课中"}
    assert got(arc, D(2026, 10, 8)) == {("persuade-1", B, "2026-10-08", 0)}
    case, batch = issue_persuasion(arc, ids["B"], D(2026, 10, 8), "王丽", "家长称孩子不愿上学，未返校")
    assert batch is not None and batch.ok[0].title == "劝返复学通知书（李小红，第1次）"
    # the notice gives three days (return by the 11th): the second persuasion is due on the 12th
    assert got(arc, D(2026, 10, 11)) == {("persuade-2", B, "2026-10-12", 0)}
    with pytest.raises(StateError, match="满一周"):
        issue_report(arc, ids["B"], D(2026, 10, 12))
    issue_persuasion(arc, ids["B"], D(2026, 10, 12), "王丽", "未返校", method="电话")
    # two failed persuasions; the report is due on day 7 (the 14th), refused before
    assert got(arc, D(2026, 10, 13)) == {("dropout-report", B, "2026-10-14", 0)}
    with pytest.raises(StateError, match="现为 6 天"):
        issue_report(arc, ids["B"], D(2026, 10, 13))
    assert got(arc, D(2026, 10, 16)) == {("dropout-report", B, "2026-10-14", 2)}
    case, batch = issue_report(arc, ids["B"], D(2026, 10, 16), reason="厌学")
    assert batch.ok[0].title == "关于李小红同学辍学情况的报告"
    form = arc.document_form(batch.ok[0].doc_id or "")
    assert form is not None and form["发文字号"] == "龙小〔2026〕1号" and form["主送机关"] == "龙城镇人民政府"
    assert [a["结果"] for a in form["劝返记录"]] == ["家长称孩子不愿上学，未返校", "未返校"]  # reused, not retyped
    assert awf.case_labels(arc) == {ids["B"]: "辍学"}
    assert got(arc, D(2026, 10, 16)) == set()
    f = figures(arc, D(2026, 10, 16))["cases"]
    assert f == {"open": 1, "closed": 0, "reported": 1, "whereabouts_unknown": 0}
    awf.close_case(arc, ids["B"], D(2026, 10, 20))
    assert awf.case_labels(arc) == {}
    assert figures(arc, D(2026, 10, 20))["cases"] == {"open": 0, "closed": 1, "reported": 1, "whereabouts_unknown": 0}

    # whereabouts unknown: C, from 2 November — township and police at once
    awf.add_contact(arc, ids["A"], D(2026, 10, 26), "外出父母", "视频")
    awf.add_contact(arc, ids["B"], D(2026, 10, 26), "外出父母", "电话")
    awf.open_case(arc, ids["C"], D(2026, 11, 2), whereabouts_unknown=True, on=D(2026, 11, 2))
    assert awf.case_labels(arc) == {ids["C"]: "去向不明"}
    assert got(arc, D(2026, 11, 2)) == {("missing-report", C, "2026-11-02", 0)}
    with pytest.raises(StateError, match="无法送达"):
        issue_persuasion(arc, ids["C"], D(2026, 11, 2), "李强", "未找到")
    case, batch = issue_report(arc, ids["C"], D(2026, 11, 2), last_seen_place="学校门口")
    form = arc.document_form(batch.ok[0].doc_id or "")
    assert form is not None and form["主送机关"] == "龙城镇人民政府、龙城派出所"
    assert form["发文字号"] == "龙小〔2026〕2号"
    assert got(arc, D(2026, 11, 2)) == set()
    assert figures(arc, D(2026, 11, 3))["cases"] == {"open": 1, "closed": 1, "reported": 2, "whereabouts_unknown": 1}
    awf.close_case(arc, ids["C"], D(2026, 11, 5))
    end = figures(arc, D(2026, 11, 5))
    assert end["cases"] == {"open": 0, "closed": 2, "reported": 2, "whereabouts_unknown": 0}
    assert (end["mentor_rate"], end["parent_contact_rate"], end["filed"]) == (1.0, 1.0, 3)
    # the mentor history is kept
    hist = awf.mentor_overview(arc, D(2026, 11, 5))["history"]
    assert sorted(h["teacher"] for h in hist) == ["李强", "王丽", "王丽"]


def test_reassignment_keeps_history_and_guards_removal(arc: Archive) -> None:
    ids = {k: arc.add_child(r) for k, r in school().items()}
    awf.add_teacher(arc, "王丽")
    awf.add_teacher(arc, "李强")
    awf.assign(arc, [ids["A"]], "王丽", D(2026, 9, 5))
    with pytest.raises(StateError, match="仍帮扶 1 名"):
        awf.remove_teacher(arc, "王丽", D(2026, 9, 6))
    awf.assign(arc, [ids["A"]], "李强", D(2026, 10, 1))
    hist = awf.mentor_overview(arc, D(2026, 10, 1))["history"]
    assert [(h["teacher"], h["from"], h["to"]) for h in hist] == [("王丽", "2026-09-05", "2026-10-01"),
                                                            ("李强", "2026-10-01", None)]
    awf.remove_teacher(arc, "王丽", D(2026, 10, 2))
    assert arc.get_child(ids["A"]).record.mentor == "李强"


def test_a_second_round_proposes_closing_children_who_no_longer_qualify(arc: Archive) -> None:
    ids = {k: arc.add_child(r) for k, r in school().items()}
    awf.start_round(arc, D(2026, 9, 1), D(2026, 9, 1))
    awf.mark_screened(arc, list(ids.values()), D(2026, 9, 1))
    outcome, closed = awf.close_round(arc, D(2026, 9, 4))  # not confirmed: nobody closed
    assert [n for _, n in outcome.no_longer] == ["赵小芳"] and closed == []
    assert arc.get_child(ids["D"]).status == "在册"
    # spring: A's parents come back
    rec = arc.get_child(ids["A"]).record
    arc.update_child(ids["A"], rec.model_copy(update={"father": rec.father.model_copy(update={"state": "在家"}),
                                                      "hardship": []}))
    awf.start_round(arc, D(2027, 3, 1), D(2027, 3, 1))
    with pytest.raises(StateError, match="已有进行中的排查"):
        awf.start_round(arc, D(2027, 3, 2), D(2027, 3, 2))
    outcome, closed = awf.close_round(arc, D(2027, 3, 5), apply_closures=True)
    assert sorted(n for _, n in outcome.no_longer) == ["张小明", "赵小芳"]
    assert {arc.get_child(i).status for i in (ids["A"], ids["D"])} == {"存档备查"}
    assert sorted(n for _, n in outcome.not_screened) == ["张小明", "李小红", "王小刚", "赵小芳"]


def test_record_dates_count_filing_date_and_village_told(arc: Archive) -> None:
    from workflow_helpers import child

    rec = child("周小雨", D(2014, 6, 1), 77).model_copy(update={"filed_date": D(2026, 9, 10)})
    cid = arc.add_child(rec)
    rules = {(o.rule, o.due.isoformat()) for o in awf.due(arc, D(2026, 9, 10)) if o.child_id == cid}
    assert ("home-visit", "2026-09-16") in rules and ("village", "2026-09-16") in rules  # from 建档日期
    arc.update_child(cid, rec.model_copy(update={"village_informed": D(2026, 9, 11)}))
    assert "village" not in {o.rule for o in awf.due(arc, D(2026, 9, 12)) if o.child_id == cid}
