"""The living 一人一卡一策: the plan, 需求评估 and 建档日期 live on the child's record; regenerating
the card keeps them; 跟踪记录 comes from the child's 帮扶记录 and 家访记录表; the card shows what
the dossier needs and has room and signature lines for writing by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gen_helpers import docx_text, sample

from guanai.archive.store import Archive
from guanai.care.synth import example_record
from guanai.generators.generate import generate_batch

DAY = dt.date(2026, 10, 8)


@pytest.fixture
def arc(make_archive: Callable[..., tuple[Path, str]]) -> Any:
    path, pw = make_archive()
    with Archive.open(path, user="admin", passphrase=pw, write=True) as a:
        yield a


def card(arc: Any, child: str, *forms: dict[str, Any]) -> tuple[dict[str, Any], str]:
    res = generate_batch(arc, "child-card", list(forms), child_ref=child, today=DAY)
    assert not res.failed, [f.message for f in res.failed]
    doc_id = res.ok[-1].doc_id
    assert doc_id is not None
    form = arc.document_form(doc_id)
    return form, docx_text(arc.read_document(doc_id, audit=False))


def test_card_shows_the_record_and_keeps_the_plan(arc: Any) -> None:
    rec = example_record()
    child = arc.add_child(rec)
    form, text = card(arc, child)
    assert form["心理疏导"] == rec.plan.psych and form["需求评估"] == rec.needs  # type: ignore[union-attr]
    assert form["建档日期"] == "2026-09-08"  # the record's, not the day it is printed
    for value in ("汉族", "低保家庭", "患病（哮喘）", "张德明（祖父，15955701234，照护能力一般）", "东王庄村民委员会",
                  "2026年9月8日", "班主任（签名）", "帮扶教师（签名）", "校长（签名）", "12周岁"):
        assert value in text, value
    # a new measure written on a card goes onto the record; the next card keeps it
    form, _ = card(arc, child, {"学业辅导": "每周一、三、五课后辅导数学。"})
    assert arc.get_child(child).record.plan.study == "每周一、三、五课后辅导数学。"
    form, text = card(arc, child)
    assert form["学业辅导"] == "每周一、三、五课后辅导数学。" and form["心理疏导"] == rec.plan.psych  # type: ignore[union-attr]
    assert arc.get_child(child).record.filed_date == dt.date(2026, 9, 8)


def test_first_card_files_the_plan_of_a_record_without_one(arc: Any) -> None:
    rec = example_record().model_copy(update={"plan": None, "needs": None, "filed_date": None})
    child = arc.add_child(rec)
    data = {k: v for k, v in sample("child-card").items() if k in ("需求评估", "心理疏导", "行为养成")}
    card(arc, child, data)
    stored = arc.get_child(child).record
    assert stored.filed_date == DAY and stored.needs == data["需求评估"]
    assert stored.plan is not None and stored.plan.psych == data["心理疏导"] and stored.plan.study is None
    form, _ = card(arc, child)  # regenerated without a form: nothing lost
    assert form["需求评估"] == data["需求评估"] and form["行为养成"] == data["行为养成"]


def test_followups_come_from_care_records_and_home_visits(arc: Any) -> None:
    rec = example_record()
    child = arc.add_child(rec)
    care = dict(sample("care-record"), 儿童姓名=rec.name, 学籍号=rec.student_id, 日期="2026-09-20",
                帮扶方面="学业辅导", 帮扶内容="辅导分数加减法。", 帮扶人="王丽娟", 帮扶效果="会做了")
    res = generate_batch(arc, "care-record", [care], child_ref=child, today=DAY)
    assert not res.failed, [f.message for f in res.failed]
    visit = dict(sample("home-visit"), 儿童姓名=rec.name, 学籍号=rec.student_id, 家访日期="2026-09-12",
                 告知日期="2026-09-14")
    res = generate_batch(arc, "home-visit", [visit], child_ref=child, today=DAY)
    assert not res.failed, [f.message for f in res.failed]
    form, text = card(arc, child)
    rows = form["跟踪记录"]
    assert [r["日期"] for r in rows] == ["2026-09-12", "2026-09-20"]
    assert rows[0]["方面"] == "家访" and rows[1] == {"日期": "2026-09-20", "方面": "学业辅导",
                                                  "内容": "辅导分数加减法。（效果：会做了）", "记录人": "王丽娟"}
    assert "辅导分数加减法" in text


def test_newest_card_is_the_current_one_and_voided_records_are_not_followed(arc: Any) -> None:
    from guanai.generators.card import current_cards, followups

    rec = example_record()
    child = arc.add_child(rec)
    first = generate_batch(arc, "child-card", [], child_ref=child, today=DAY).ok[0].doc_id
    second = generate_batch(arc, "child-card", [{"学业辅导": "换一种辅导方法。"}], child_ref=child, today=DAY).ok[0].doc_id
    assert first != second and current_cards(arc) == {child: second}
    care = dict(sample("care-record"), 儿童姓名=rec.name, 学籍号=rec.student_id, 日期="2026-09-20")
    doc = generate_batch(arc, "care-record", [care], child_ref=child, today=DAY).ok[0].doc_id
    assert len(followups(arc, child)) == 1
    from guanai.archive.documents import void_document

    void_document(arc, doc, "重复归档")
    assert followups(arc, child) == []


def test_listings_show_the_newest_card_as_the_current_one(make_archive: Callable[..., tuple[Path, str]],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from guanai.cli.main import cli

    path, pw = make_archive()
    with Archive.open(path, user="admin", passphrase=pw, write=True) as a:
        child = a.add_child(example_record())
        card(a, child)
        card(a, child, {"学业辅导": "每周一、三、五课后辅导数学。"})
        cards = [d.id for d in a.list_documents(kind="child-card")]
    assert len(cards) == 2
    monkeypatch.setenv("GUANAI_ARCHIVE", str(path))
    monkeypatch.setenv("GUANAI_PASSPHRASE", pw)
    runner = CliRunner()
    r = runner.invoke(cli, ["doc", "list", "--kind", "一人一卡一策档案卡", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    current = [x["id"] for x in rows if x["current_card"]]
    assert len(current) == 1 and current[0] in cards
    older = (set(cards) - set(current)).pop()
    with Archive.open(path, user="admin", passphrase=pw) as a:
        assert a.get_document(current[0]).gen > a.get_document(older).gen  # the newest write is current
    r = runner.invoke(cli, ["child", "list", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["current_card"] == current[0]
    r = runner.invoke(cli, ["child", "list"])
    assert r.exit_code == 0 and "当前档案卡" in r.output and current[0][:6] in r.output
    r = runner.invoke(cli, ["doc", "list"])
    assert r.exit_code == 0 and r.output.count("（当前）") == 1
