"""The forms (档案卡, 家访记录表, 帮扶记录, 劝返复学通知书, 委托照护告知书): what a family or a teacher
reads and signs — one 委托人 line per parent, the 2nd notice names the township government, ids and
dates whole in their cells, signature lines with a date and no lone character."""

from __future__ import annotations

import re

import pytest

from guanai.generators.render import render_document
from tests.gen_helpers import sample


def test_one_signature_line_per_parent() -> None:
    form = sample("entrusted-care")
    text = render_document("entrusted-care", form).text
    for parent in form["委托人"]:
        assert f"委托人（{parent['关系']}{parent['姓名']}）签名：" in text
    assert f"受委托人（{form['受委托人']}）签名：" in text
    one = form | {"委托人": form["委托人"][:1]}
    assert render_document("entrusted-care", one).text.count("）签名：") == 2  # one parent + the trustee


def test_second_notice_tells_the_family_about_the_township_report() -> None:
    first = render_document("persuasion-notice", sample("persuasion-notice") | {"劝返次数": 1}).text
    second = render_document("persuasion-notice", sample("persuasion-notice") | {"劝返次数": 2}).text
    assert "乡（镇）人民政府" not in first
    assert "书面报告乡（镇）人民政府" in second and "第二次" in second


@pytest.mark.parametrize("kind", ["home-visit", "care-record", "persuasion-notice", "entrusted-care"])
def test_signature_lines_carry_a_date_field(kind: str) -> None:
    text = render_document(kind, sample(kind)).text
    lines = [ln for ln in text.splitlines() if "签名：" in ln]
    assert lines and all("日期：" in ln and ln.rstrip().endswith("日") for ln in lines), lines


@pytest.mark.pdf
def test_ids_dates_and_signature_lines_are_never_broken() -> None:
    pymupdf = pytest.importorskip("pymupdf")
    from guanai.generators.pdf import convert_batch
    from guanai.generators.render import render

    card = sample("child-card") | {"身份证号": "34132220120315001X", "学籍号": "G34132220120315001X"}
    docs = [("card.docx", render("child-card", card))]
    docs += [(f"{k}.docx", render(k, sample(k))) for k in ("home-visit", "care-record", "persuasion-notice",
                                                             "entrusted-care")]
    for (name, _), pdf in zip(docs, convert_batch(docs), strict=True):
        doc = pymupdf.open(stream=pdf, filetype="pdf")
        lines = ["".join(s["text"] for s in ln["spans"]).strip() for page in doc
                 for b in page.get_text("dict")["blocks"] for ln in b.get("lines", [])]
        lines = [ln for ln in lines if ln]
        if name == "card.docx":
            for value in ("G34132220120315001X", "34132220120315001X"):
                assert value in lines, value  # whole, on one line of its cell
            dates = [ln for ln in lines if "年" in ln and "月" in ln]
            # a date ends its line (the birth date may carry the age after it: 2012年3月15日（8周岁）)
            assert dates and all(re.search(r"日(（\d+ ?周岁）)?$", ln) for ln in dates), dates
        # no line is a single character (a label or a signature line wrapped at its end)
        lone = [ln for ln in lines if len(ln) == 1 and not ln.isdigit() and ln not in "男女是否"]  # cell values
        assert not lone, (name, lone)
        assert len(doc) == 1, (name, len(doc))
