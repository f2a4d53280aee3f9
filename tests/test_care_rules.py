"""The county plan's classification: 留守 / 困境 with reasons, as of a date."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from guanai.base.errors import InputError
from guanai.care.ids import XIAO_COUNTY, make_id_number
from guanai.care.model import ChildRecord, parse_child
from guanai.care.rules import anniversary, classify, full_years, reaches_age_on

BIRTH = date(2010, 9, 1)


def child(birth: date = BIRTH, father: str | None = "外出务工", mother: str | None = "外出务工",
          **extra: Any) -> ChildRecord:
    number = make_id_number(XIAO_COUNTY, birth, 31)
    data: dict[str, Any] = {"姓名": "王小雨", "学籍号": "G" + number, "学校": "萧县黄口镇中心学校", "年级": "八年级"}
    if father is not None:
        data["父亲"] = {"状况": father, **({"务工地": "上海"} if father == "外出务工" else {})}
    if mother is not None:
        data["母亲"] = {"状况": mother, **({"务工地": "苏州"} if mother == "外出务工" else {})}
    data.update(extra)
    return parse_child(data, "test")


def names(rec: ChildRecord, on: date) -> list[str]:
    return [c.name for c in classify(rec, on)]


def test_left_behind_both_parents_away_with_reasons() -> None:
    cats = classify(child(), date(2020, 10, 1))
    assert [c.name for c in cats] == ["留守儿童"]
    assert cats[0].reasons == ["父母均外出务工（上海、苏州）", "未满16周岁（2020-10-01 时 10 周岁）"]
    assert cats[0].to_dict()["category"] == "留守儿童"


def test_turning_sixteen_on_the_date_is_still_under_sixteen() -> None:
    # 周岁 is reached the day after the birthday (民法典第二百零一条; 最高法: 从周岁生日的第二天起算).
    rec = child()
    birthday16 = date(2026, 9, 1)
    assert names(rec, date(2026, 8, 31)) == ["留守儿童"]
    cats = classify(rec, birthday16)
    assert [c.name for c in cats] == ["留守儿童"]
    assert "未满16周岁（2026-09-01 时 15 周岁）" in cats[0].reasons
    assert names(rec, date(2026, 9, 2)) == []
    assert reaches_age_on(BIRTH, 16) == date(2026, 9, 2)


def test_leap_day_birthday() -> None:
    leap = date(2008, 2, 29)
    assert anniversary(leap, 16) == date(2024, 2, 29)
    assert anniversary(leap, 17) == date(2025, 3, 1)
    assert full_years(leap, date(2025, 3, 1)) == 16
    assert full_years(leap, date(2025, 3, 2)) == 17
    rec = child(birth=leap)
    assert names(rec, date(2024, 2, 29)) == ["留守儿童"]
    assert names(rec, date(2024, 3, 1)) == []


@pytest.mark.parametrize("other", ["重病", "重残", "去世", "失踪", "服刑"])
def test_one_parent_away_other_without_guardian_capacity(other: str) -> None:
    cats = classify(child(mother=other), date(2020, 9, 1))
    assert cats[0].name == "留守儿童"
    assert cats[0].reasons[0] == f"父亲外出务工（上海），母亲{other}、无监护能力"
    cats = classify(child(father=other), date(2020, 9, 1))
    assert cats[0].reasons[0] == f"母亲外出务工（苏州），父亲{other}、无监护能力"


@pytest.mark.parametrize(("father", "mother"), [("外出务工", "在家"), ("在家", "外出务工"), ("在家", "在家"),
                                                ("外出务工", None), (None, None), ("外出务工", "其他")])
def test_not_left_behind(father: str | None, mother: str | None) -> None:
    assert "留守儿童" not in names(child(father=father, mother=mother), date(2020, 9, 1))


@pytest.mark.parametrize(("condition", "reason"), [
    ("孤儿", "孤儿：登记的困境情形：孤儿"), ("艾滋病病毒感染", "艾滋病病毒感染：登记的困境情形：艾滋病病毒感染"),
    ("低保家庭", "低保家庭：登记的困境情形：低保家庭"), ("建档立卡贫困户", "建档立卡贫困户：登记的困境情形：建档立卡贫困户"),
    ("受监护人侵害", "受监护人侵害：登记的困境情形：受监护人侵害"), ("流浪", "流浪：登记的困境情形：流浪"),
    ("遭遇突发事件", "遭遇突发事件：登记的困境情形：遭遇突发事件"), ("意外伤害", "意外伤害：登记的困境情形：意外伤害"),
    ("重病", "重病：登记的困境情形：重病"), ("重残", "重残：登记的困境情形：重残"),
    ("事实无人抚养", "事实无人抚养：登记的困境情形：事实无人抚养"),
])
def test_each_hardship_condition(condition: str, reason: str) -> None:
    cats = classify(child(father="在家", mother="在家", 困境情形=[condition]), date(2020, 9, 1))
    assert [c.name for c in cats] == ["困境儿童"]
    assert cats[0].conditions == [condition]
    assert cats[0].reasons[0] == reason


def test_left_behind_and_hardship_both() -> None:
    cats = classify(child(困境情形=["低保家庭"]), date(2020, 9, 1))
    assert [c.name for c in cats] == ["留守儿童", "困境儿童"]
    assert "同时为留守儿童，纳入困境儿童保障范围" in cats[1].reasons


def test_derived_orphan_and_de_facto_unsupported() -> None:
    cats = classify(child(father="去世", mother="去世"), date(2020, 9, 1))
    assert cats[0].name == "困境儿童" and cats[0].conditions == ["孤儿"]
    assert cats[0].reasons[0] == "孤儿：父母均已去世"
    cats = classify(child(father="服刑", mother="失踪"), date(2020, 9, 1))
    assert cats[0].conditions == ["事实无人抚养"]
    assert "父亲服刑，母亲失踪，均无法履行抚养义务" in cats[0].reasons[0]
    # registered and derived reasons are merged under one condition
    cats = classify(child(father="去世", mother="去世", 困境情形=["孤儿"]), date(2020, 9, 1))
    assert cats[0].conditions == ["孤儿"]
    assert cats[0].reasons[0] == "孤儿：登记的困境情形：孤儿；父母均已去世"


def test_health_derived_conditions() -> None:
    severe = child(father="在家", mother="在家", 身体状况={"状况": "残疾", "残疾类别": "肢体", "残疾等级": "一级"})
    assert classify(severe, date(2020, 9, 1))[0].reasons[0] == "重残：身体状况：肢体残疾一级"
    mild = child(father="在家", mother="在家", 身体状况={"状况": "残疾", "残疾类别": "肢体", "残疾等级": "三级"})
    assert classify(mild, date(2020, 9, 1)) == []
    ill = child(father="在家", mother="在家", 身体状况={"状况": "患病", "疾病名称": "白血病", "是否重病": "是"})
    assert classify(ill, date(2020, 9, 1))[0].reasons[0] == "重病：身体状况：患白血病（重病）"
    light = child(father="在家", mother="在家", 身体状况={"状况": "患病", "疾病名称": "感冒"})
    assert classify(light, date(2020, 9, 1)) == []


def test_hardship_ends_at_eighteen_left_behind_at_sixteen() -> None:
    rec = child(困境情形=["孤儿"])
    assert names(rec, date(2026, 9, 2)) == ["困境儿童"]  # 16: no longer 留守, still a child
    assert names(rec, date(2028, 9, 1)) == ["困境儿童"]  # 18th birthday: still under 18
    assert names(rec, date(2028, 9, 2)) == []


def test_date_before_birth_refused() -> None:
    with pytest.raises(InputError, match="早于出生日期"):
        classify(child(), date(2010, 8, 31))


def test_classify_is_pure() -> None:
    rec = child(困境情形=["流浪"])
    before = rec.to_json_dict()
    assert classify(rec, date(2020, 9, 1)) == classify(rec, date(2020, 9, 1))
    assert rec.to_json_dict() == before


def test_care_gaps() -> None:
    from guanai.care.rules import care_gaps

    on = date(2020, 10, 1)
    bare = child()
    gaps = care_gaps(bare, on)
    assert any(g.startswith("未指定帮扶教师") for g in gaps)
    assert any(g.startswith("父母外出务工，未登记委托照护人") for g in gaps)
    assert any(g.startswith("未登记村（居）委会") for g in gaps)
    assert any(g.startswith("身体状况未登记") for g in gaps)  # 重残 / 重病 would make the child 困境
    carer = {"姓名": "王德明", "关系": "祖父", "照护能力": "较差"}
    known = {"村(居)委会": "后楼村民委员会", "身体状况": "健康"}
    weak = child(帮扶教师="李老师", 委托照护人=carer, **known)
    assert care_gaps(weak, on) == ["委托照护人王德明照护能力“较差”，应通知父母另行委托有照护能力的成年人"]
    good = child(帮扶教师="李老师", 委托照护人={**carer, "照护能力": "良好"}, **known)
    assert care_gaps(good, on) == []
    assert care_gaps(child(father="在家", mother="在家"), on) == []  # not in the dossier's categories


def test_dropout_escalation() -> None:
    from guanai.care.rules import dropout_actions

    start = date(2020, 10, 12)
    early = dropout_actions(start, date(2020, 10, 17), failed_persuasions=2)
    assert [a.to for a in early] == ["学生家长或其他监护人"]
    assert "已无故旷课 6 天" in early[0].reason
    week = dropout_actions(start, date(2020, 10, 18), failed_persuasions=1)
    assert week[-1].step.startswith("继续劝返（已劝返 1 次") and "7 天" in week[-1].reason
    report = dropout_actions(start, date(2020, 10, 18), failed_persuasions=2)
    assert report[-1].to == "乡（镇）人民政府" and report[-1].step == "上报，启动劝返复学程序"
    assert report[-1].reason == "无故旷课一周以上（7 天）且经学校2次劝返未果"
    missing = dropout_actions(start, date(2020, 10, 13), failed_persuasions=0, whereabouts_known=False)
    assert missing[1].to == "乡（镇）人民政府、当地派出所" and missing[1].to_dict()["reason"] == "学生具体去向不明"
    with pytest.raises(InputError):
        dropout_actions(start, date(2020, 10, 11), failed_persuasions=0)
    with pytest.raises(InputError):
        dropout_actions(start, date(2020, 10, 20), failed_persuasions=-1)


def test_screening_deadline() -> None:
    from guanai.care.rules import screening_deadline

    assert screening_deadline(date(2026, 9, 1)) == date(2026, 9, 7)
    assert screening_deadline(date(2026, 2, 24)) == date(2026, 3, 2)
    with pytest.raises(InputError, match="3 月和 9 月开学一周内"):
        screening_deadline(date(2026, 5, 1))


def test_coverage_figures() -> None:
    from guanai.care.rules import coverage

    on = date(2020, 10, 1)
    recs = [child(帮扶教师="李老师"), child(困境情形=["低保家庭"]), child(father="在家", mother="在家"),
            child(father="在家", mother="在家", 困境情形=["孤儿"], 帮扶教师="王老师")]
    cov = coverage(recs, on)
    assert (cov.total, cov.left_behind, cov.hardship, cov.both, cov.with_mentor) == (3, 2, 2, 1, 2)
    assert cov.without_mentor == ["王小雨"]
    assert cov.to_dict()["mentor_rate"] == round(2 / 3, 4)
    assert coverage([], on).mentor_rate == 1.0
