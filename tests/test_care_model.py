"""The child record: validation in Chinese naming fields, derived fields, round trips, synthetic data."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guanai.care.ids import XIAO_COUNTY, make_id_number, parse_id_number
from guanai.care.model import (
    FREE_MAX,
    HARDSHIPS,
    NAME_MAX,
    ChildRecord,
    RecordError,
    parse_child,
    personal_values,
    search_fields,
)
from guanai.care.rules import classify
from guanai.care.synth import SCENARIOS, example_dict, example_record, synth_child_dicts, synth_children

BOY_ID = make_id_number(XIAO_COUNTY, date(2014, 3, 5), 21)


def minimal(**extra: Any) -> dict[str, Any]:
    return {"姓名": "张小明", "学籍号": "G" + BOY_ID, "学校": "萧县龙城镇中心小学", "年级": "五年级", **extra}


def problems_of(data: Any) -> list[str]:
    with pytest.raises(RecordError) as exc:
        parse_child(data, "测试.json")
    assert "测试.json" in exc.value.message
    assert exc.value.exit_code == 2
    assert len(exc.value.problems) == len(exc.value.messages)  # every line is a Problem too
    assert all(p.code == "record.invalid" and p.where.startswith("测试.json") for p in exc.value.problems)
    return exc.value.messages


def test_minimal_record_derives_birth_and_gender() -> None:
    rec = parse_child(minimal(), "x")
    assert rec.birth_date == date(2014, 3, 5)
    assert rec.gender == "男"
    assert rec.status == "在册"
    assert rec.health.state == "未登记"  # nothing given: no claim of 健康
    out = rec.to_json_dict()
    assert out["出生日期"] == "2014-03-05" and out["性别"] == "男" and out["学籍号"] == "G" + BOY_ID


def test_english_names_accepted() -> None:
    rec = ChildRecord.model_validate({"name": "张小明", "student_id": "G" + BOY_ID, "school": "某校", "grade": "一年级"})
    assert rec.name == "张小明" and rec.to_json_dict()["姓名"] == "张小明"


def test_every_bad_field_listed_in_chinese() -> None:
    bad = minimal(**{
        "姓名": "", "学校": "校" * 300, "民族": "火星族", "出生日期": "2012-13-01", "是否寄宿": "也许",
        "父亲": {"状况": "出差", "电话": "123"}, "母亲": {"身份证号": "340524198001010010"},
        "监护人": {"关系": "祖父"}, "困境情形": ["孤儿", "穷"], "备注": "a\x00b", "未知字段": 1,
        "身体状况": {"状况": "残疾"},
    })
    problems = problems_of(bad)
    text = "\n".join(problems)
    for expected in [
        "姓名：不能为空", "学校：过长（最多 200 个字符，现为 300 个）", "民族：“火星族”不是56个民族之一",
        "出生日期：“2012-13-01”不是有效日期", "是否寄宿：“也许”应为 是 或 否", "父亲.状况：取值“出差”无效",
        "父亲.电话：手机号码 123 无效", "母亲.身份证号：校验码错误", "监护人.姓名：必须填写",
        "困境情形[2]：取值“穷”无效", "备注：含有不允许的控制字符（U+0000", "未知字段：不是已知字段",
        "身体状况：身体状况为“残疾”时须填写残疾类别和残疾等级",
    ]:
        assert expected in text, (expected, text)
    assert len(problems) == 13


def test_not_an_object() -> None:
    assert "实际为列表" in problems_of([1, 2])[0]
    assert "实际为文本" in problems_of("张三")[0]


@pytest.mark.parametrize("field", ["学籍号", "学校", "年级", "姓名"])
def test_required_fields(field: str) -> None:
    data = minimal()
    del data[field]
    assert f"{field}：必须填写" in problems_of(data)


def test_birth_date_must_agree_with_id() -> None:
    problems = problems_of(minimal(出生日期="2014-03-06", 身份证号=BOY_ID))
    assert any("出生日期：2014-03-06 与身份证号中的 2014-03-05 不一致" in p for p in problems)
    assert any("与学籍号中的 2014-03-05 不一致" in p for p in problems)
    ok = parse_child(minimal(出生日期="2014年3月5日", 身份证号=BOY_ID), "x")
    assert ok.birth_date == date(2014, 3, 5)


def test_gender_must_agree_with_id() -> None:
    assert any("性别：填写为“女”，但学籍号表明为“男”" in p for p in problems_of(minimal(性别="女")))


def test_g_student_id_must_embed_the_id_number() -> None:
    other = make_id_number(XIAO_COUNTY, date(2014, 3, 5), 23)
    problems = problems_of(minimal(身份证号=other))
    assert any("G 字头学籍号中的身份证号与“身份证号”不一致" in p for p in problems)


def test_temporary_student_id_needs_gender() -> None:
    data = minimal(学籍号="L341322201403051234")
    assert any("性别：必须填写" in p for p in problems_of(data))
    rec = parse_child({**data, "性别": "女"}, "x")
    assert rec.birth_date == date(2014, 3, 5) and rec.id_number is None


def test_future_birth_date_refused() -> None:
    data = minimal(学籍号="L341322209903051234", 性别="男")
    assert any("学籍号" in p and "不合理" in p for p in problems_of(data))


@pytest.mark.parametrize("field", ["姓名", "学校", "现居住地", "帮扶教师"])
def test_ten_megabyte_field_refused(field: str) -> None:
    problems = problems_of(minimal(**{field: "张" * (10 * 1024 * 1024)}))
    assert any(p.startswith(f"{field}：过长") for p in problems)


def test_length_limits() -> None:
    assert parse_child(minimal(姓名="张" * NAME_MAX), "x").name == "张" * NAME_MAX
    assert any("姓名：过长（最多 50" in p for p in problems_of(minimal(姓名="张" * (NAME_MAX + 1))))
    assert parse_child(minimal(备注="记" * FREE_MAX), "x").notes == "记" * FREE_MAX
    assert any("备注：过长（最多 5000" in p for p in problems_of(minimal(备注="记" * (FREE_MAX + 1))))
    assert any("困境情形：项数过多" in p for p in problems_of(minimal(困境情形=["孤儿"] * 51)))


@pytest.mark.parametrize("bad", ["\x07", "\x1b[31m", "\r", "\t", "\u202e", "\u200b", "\ud800", "\x7f", "\U000f0001"])
def test_control_characters_refused(bad: str) -> None:
    for field in ("姓名", "现居住地", "备注"):
        if bad == "\r" and field == "备注":
            continue  # free text: CR / CRLF are normalised to a newline (tested below)
        problems = problems_of(minimal(**{field: f"张{bad}三"}))
        assert any(p.startswith(f"{field}：含有不允许的控制字符") for p in problems), (field, problems)


def test_newline_only_in_free_text() -> None:
    assert parse_child(minimal(备注="第一行\r\n第二行"), "x").notes == "第一行\n第二行"
    assert any("姓名：含有不允许的控制字符（换行" in p for p in problems_of(minimal(姓名="张\n三")))


def test_wrong_types() -> None:
    problems = problems_of(minimal(姓名=123.5, 学籍号=["G"], 父亲="外出务工", 困境情形={"a": 1}, 是否寄宿=[1]))
    text = "\n".join(problems)
    for expected in ["姓名：应为文本", "学籍号：应为文本", "父亲：应为对象", "困境情形：应为列表", "是否寄宿：应为 是 或 否"]:
        assert expected in text, (expected, text)


def test_parent_workplace_in_state_cell() -> None:
    rec = parse_child(minimal(父亲={"状况": "外出务工（上海）"}, 母亲={"状况": "外出务工-杭州"}), "x")
    assert rec.father is not None and rec.father.state == "外出务工" and rec.father.workplace == "上海"
    assert rec.mother is not None and rec.mother.workplace == "杭州"


def test_hardship_synonyms_split_and_dedupe() -> None:
    rec = parse_child(minimal(困境情形="低保、艾滋病，低保家庭;建档立卡"), "x")
    assert rec.hardship == ["低保家庭", "艾滋病病毒感染", "建档立卡贫困户"]


def test_blank_optionals_become_none() -> None:
    rec = parse_child(minimal(班级="", 现居住地="  ", 父亲={"姓名": "", "状况": "在家", "电话": ""}), "x")
    assert rec.class_name is None and rec.residence is None
    assert rec.father is not None and rec.father.name is None and rec.father.phone is None


def test_health_rules() -> None:
    assert any("须填写疾病名称" in p for p in problems_of(minimal(身体状况={"状况": "患病"})))
    assert any("不应填写残疾或疾病信息" in p for p in problems_of(minimal(身体状况={"状况": "健康", "残疾等级": "一级"})))
    rec = parse_child(minimal(身体状况={"状况": "残疾", "残疾类别": "肢体", "残疾等级": "二级"}), "x")
    assert rec.health.severely_disabled
    assert parse_child(minimal(身体状况="健康"), "x").health.state == "健康"


def test_example_has_every_field() -> None:
    data = example_dict()
    rec = example_record()
    assert set(rec.to_json_dict()) == {f.alias for f in ChildRecord.model_fields.values()}
    assert rec.to_json_dict() == {**data, "身体状况": {**data["身体状况"]}}


def test_round_trip_json() -> None:
    for rec in synth_children(40, seed=3):
        data = json.loads(json.dumps(rec.to_json_dict(), ensure_ascii=False))
        assert ChildRecord.model_validate(data) == rec


_text = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Co", "Zl", "Zp"),
                                       blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                                                            "\u200b\u200e\u200f\ufeff\u3000"),
                min_size=1, max_size=30).map(str.strip).filter(bool)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), name=_text, notes=st.one_of(st.none(), _text),
       hardship=st.lists(st.sampled_from(HARDSHIPS), max_size=4, unique=True), boarding=st.booleans())
def test_hypothesis_round_trip(seed: int, name: str, notes: str | None, hardship: list[str], boarding: bool) -> None:
    data = synth_child_dicts(1, seed=seed)[0]
    data.update({"姓名": name[:50], "困境情形": hardship, "是否寄宿": boarding})
    if notes is not None:
        data["备注"] = notes
    rec = parse_child(data, "h")
    out = rec.to_json_dict()
    again = parse_child(json.loads(json.dumps(out, ensure_ascii=False)), "h")
    assert again == rec
    assert again.to_json_dict() == out
    trusted = ChildRecord.from_trusted(json.loads(json.dumps(out, ensure_ascii=False)))
    assert trusted == rec and trusted.to_json_dict() == out


def test_from_trusted_equals_validated() -> None:
    recs = synth_children(60, seed=11) + [example_record()]
    for rec in recs:
        data = json.loads(json.dumps(rec.to_json_dict(), ensure_ascii=False))
        got = ChildRecord.from_trusted(data)
        assert got == rec
        assert got.model_dump() == rec.model_dump() and got.to_json_dict() == data
        assert got.model_fields_set == ChildRecord.model_validate(data).model_fields_set
        assert classify(got, date(2026, 9, 1)) == classify(rec, date(2026, 9, 1))
    # defaults (default factories too) are filled like validation does, and not shared
    minimal = {"姓名": "张三", "学籍号": "G34052419800101001X", "学校": "某校", "年级": "三年级",
               "出生日期": "1980-01-01", "性别": "男"}
    a, b = ChildRecord.from_trusted(minimal), ChildRecord.from_trusted(minimal)
    assert a == ChildRecord.model_validate(minimal)
    a.hardship.append("孤儿")
    assert b.hardship == []


def test_from_trusted_refuses_unknown_keys() -> None:
    data = {**example_record().to_json_dict(), "未来字段": 1}
    with pytest.raises(KeyError):
        ChildRecord.from_trusted(data)
    with pytest.raises(KeyError):
        ChildRecord.from_trusted({**example_record().to_json_dict(), "父亲": {"未来字段": 1}})


def test_personal_values_and_search_fields() -> None:
    rec = example_record()
    values = personal_values(rec)
    for v in ["张小明", "G" + rec.id_number, rec.id_number, "张建国", "13805571234", "李秀英", "张德明",
              "安徽省萧县龙城镇东王庄村18号", "低保家庭", "哮喘"]:
        assert v in values, v
    assert len(values) == len(set(values))
    fields = search_fields(rec)
    assert fields["name"] == "张小明" and fields["student_id"] == rec.student_id
    for word in ["东王庄村", "外出务工", "上海", "王丽娟", "低保家庭", "祖父"]:
        assert word in fields["text"], word


def test_synth_deterministic_valid_and_unique() -> None:
    a = synth_children(300, seed=7)
    assert a == synth_children(300, seed=7)
    assert a != synth_children(300, seed=8)
    assert a == synth_children(300, seed=7, validate=True)  # constructed == validated
    ids = [r.id_number for r in a if r.id_number]
    sids = [r.student_id for r in a]
    assert len(set(ids)) == len(ids) and len(set(sids)) == len(sids)
    for r in a:
        assert r.school.startswith("萧县") and r.household_address and "萧县" in r.household_address
        if r.id_number:
            assert parse_id_number(r.id_number).area == "341322"
    forms = {r.student_id[0] for r in a}
    assert forms == {"G", "J", "L"}


def test_synth_covers_every_category_and_condition() -> None:
    recs = synth_children(len(SCENARIOS), seed=1)
    on = date(2025, 9, 1)
    seen: set[str] = set()
    both = False
    conditions: set[str] = set()
    for r in recs:
        cats = classify(r, on)
        names = {c.name for c in cats}
        seen |= names
        both |= names == {"留守儿童", "困境儿童"}
        for c in cats:
            conditions |= set(c.conditions)
    assert seen == {"留守儿童", "困境儿童"} and both
    assert conditions == set(HARDSHIPS)
    assert any(not classify(r, on) for r in recs)


def test_synth_speed() -> None:
    import time

    start = time.perf_counter()
    recs = synth_children(10_000, seed=0)
    elapsed = time.perf_counter() - start
    assert len(recs) == 10_000
    assert elapsed < 10, elapsed  # ~0.6 s on an idle core; generous for a shared CI machine


@pytest.mark.parametrize("text", ["2014-03-05", "2014/3/5", "2014.3.5", "2014年3月5日", "20140305", " 2014 - 03 - 05 "])
def test_date_formats(text: str) -> None:
    from guanai.care.model import parse_date

    assert parse_date(text) == date(2014, 3, 5)


@pytest.mark.parametrize(("text", "message"), [
    ("2014-02-30", "不是有效日期"), ("2014-13-01", "不是有效日期"), ("2023-02-29", "不是有效日期"),
    ("05/03/2014", "格式应为"), ("三月五日", "格式应为"), ("2014-3", "格式应为"), ("9" * 100, "格式应为"),
])
def test_bad_dates(text: str, message: str) -> None:
    from guanai.care.model import parse_date

    with pytest.raises(ValueError, match=message):
        parse_date(text)
    assert any(p.startswith("出生日期：") and message in p
               for p in problems_of(minimal(学籍号="L341322201403051234", 性别="男", 出生日期=text)))


def test_leap_day_accepted() -> None:
    from guanai.care.model import parse_date

    assert parse_date("2024-02-29") == date(2024, 2, 29)


def test_cross_field_problems_listed_with_field_problems() -> None:
    problems = problems_of(minimal(性别="女", 出生日期="2014-03-06", 母亲={"电话": "123"}, 姓名=""))
    text = "\n".join(problems)
    assert "姓名：不能为空" in text and "母亲.电话" in text
    assert "出生日期：2014-03-06 与学籍号中的 2014-03-05 不一致" in text
    assert "性别：填写为“女”，但学籍号表明为“男”" in text
    assert len(problems) == len(set(problems)) == 4


def test_synth_stream_is_stable() -> None:
    # Other tests build on the records a seed gives (e.g. seed 42's first child is a girl):
    # changing the generator's random stream must be a deliberate, visible decision.
    import hashlib

    recs = synth_children(50, seed=42)
    blob = json.dumps([r.to_json_dict() for r in recs], ensure_ascii=False, sort_keys=True).encode()
    assert (recs[0].name, recs[0].gender, recs[0].student_id) == ("徐思", "女", "G341322201807234321")
    assert hashlib.sha256(blob).hexdigest() == "607aca3c596f900e6424eeb33b4c563d9d4aa2ee6f42eb1238f4359bad2919d5"


def test_apply_patch_merges_clears_and_rederives() -> None:
    from guanai.base.errors import InputError
    from guanai.care.patch import apply_patch
    from guanai.care.synth import example_record

    rec = example_record()
    out = apply_patch(rec, {"father": {"状况": "在家", "务工地": None}, "班级": "3班"}, "改动.yaml")
    assert out.father is not None and out.father.state == "在家" and out.father.workplace is None
    assert out.father.name == rec.father.name and out.class_name == "3班" and out.name == rec.name  # type: ignore[union-attr]
    with pytest.raises(InputError, match="状态不能用 update 修改"):
        apply_patch(rec, {"状态": "毕业"}, "改动.yaml")
    with pytest.raises(RecordError) as err:
        apply_patch(rec, {"姓名": "", "学籍号": "G1"}, "改动.yaml")
    assert len(err.value.problems) >= 2 and all(p.where.startswith("改动.yaml") for p in err.value.problems)
    with pytest.raises(InputError, match="键值对象"):
        apply_patch(rec, ["x"], "改动.yaml")
