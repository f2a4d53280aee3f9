"""generators.gbt9704: the 发文字号 / 成文日期 rules and the page geometry constants."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guanai.generators import gbt9704 as G


def test_geometry_matches_the_standard() -> None:
    # The text block is what is left of A4 by the margins: 156 × 225 mm.
    assert G.PAGE_WIDTH_MM - G.MARGIN_LEFT_MM - G.MARGIN_RIGHT_MM == G.TEXT_WIDTH_MM == 156
    assert G.PAGE_HEIGHT_MM - G.MARGIN_TOP_MM - G.MARGIN_BOTTOM_MM == G.TEXT_HEIGHT_MM == 225
    assert (G.MARGIN_TOP_TWIPS, G.MARGIN_BOTTOM_TWIPS, G.MARGIN_LEFT_TWIPS, G.MARGIN_RIGHT_TWIPS) == (2098, 1984, 1587, 1474)
    assert abs(G.twips_to_mm(G.PAGE_WIDTH_TWIPS) - 210) < 0.1
    assert abs(G.twips_to_mm(G.PAGE_HEIGHT_TWIPS) - 297) < 0.1
    # 22 lines of exact 28.95 pt fill the 225 mm block (within the rounding of the standard).
    assert abs(G.LINES_PER_PAGE * G.LINE_SPACING_PT * 25.4 / 72 - 225) < 1
    assert G.LINE_SPACING_TWIPS == round(G.LINE_SPACING_PT * 20)
    assert (G.TITLE_SIZE_HALF_POINTS, G.BODY_SIZE_HALF_POINTS, G.PAGE_NUMBER_SIZE_HALF_POINTS) == (44, 32, 28)


def test_fonts_conf_maps_every_fallback() -> None:
    text = (Path(G.__file__).parent / "fonts.conf").read_text(encoding="utf-8")
    assert "<include ignore_missing=\"yes\">/etc/fonts/fonts.conf</include>" in text
    from guanai.generators.pdf import fontconfig_xml

    assert text == fontconfig_xml()  # generated from FONT_FALLBACKS, never edited by hand
    for name, (faces, _bold) in G.FONT_FALLBACKS.items():
        assert f"<string>{name}</string></test>\n    <edit name=\"family\" mode=\"assign\" binding=\"strong\"><string>{faces[0]}</string>" in text
    # never a Japanese variant of Noto CJK
    assert "JP" not in text


@pytest.mark.parametrize("text", ["教体基〔2020〕9号", "萧教体〔2021〕123号", "皖教秘〔1999〕1号"])
def test_correct_doc_numbers(text: str) -> None:
    assert G.doc_number_problems(text) == []


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("教体基〔2020〕第9号", "第"),
        ("教体基〔2020〕09号", "前导 0"),
        ("教体基〔2020〕009号", "前导 0"),
        ("教体基[2020]9号", "六角括号"),
        ("教体基（2020）9号", "六角括号"),
        ("教体基(2020)9号", "六角括号"),
        ("教体基【2020】9号", "六角括号"),
        ("教体基［2020］9号", "六角括号"),
        ("教体基〔二〇二〇〕9号", "4 位阿拉伯数字"),
        ("教体基〔2020〕九号", "阿拉伯数字"),
        ("教体基 〔2020〕 9号", "空格"),
        ("2020年工作要点", "形式"),
    ],
)
def test_broken_doc_numbers_are_named(text: str, needle: str) -> None:
    problems = G.doc_number_problems(text)
    assert problems, text
    assert any(needle in p for p in problems), problems


@pytest.mark.parametrize("text", ["2020年4月20日", "2020年12月1日", "2024年2月29日"])
def test_correct_dates(text: str) -> None:
    assert G.date_problems(text) == []


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("2020年04月20日", "虚位"),
        ("2020年4月05日", "虚位"),
        ("二〇二〇年四月二十日", "汉字数字"),
        ("２０２０年４月２０日", "全角"),
        ("20年4月20日", "4 位"),
        ("2020年2月30日", "不存在"),
        ("2023年2月29日", "不存在"),
        ("2020 年 4 月 20 日", "空格"),
        ("2020-04-20", "形式"),
    ],
)
def test_broken_dates_are_named(text: str, needle: str) -> None:
    problems = G.date_problems(text)
    assert any(needle in p for p in problems), problems


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2099, 12, 31)))
@settings(max_examples=200, deadline=None)
def test_format_date_round_trip(d: date) -> None:
    text = G.format_date(d)
    assert G.date_problems(text) == []
    m = G.DATE_RE.match(text)
    assert m and date(int(m["y"]), int(m["m"]), int(m["d"])) == d


@given(st.sampled_from(["教体基", "萧教体", "宿教"]), st.integers(1950, 2099), st.integers(1, 9999))
@settings(max_examples=200, deadline=None)
def test_format_doc_number_round_trip(org: str, year: int, number: int) -> None:
    text = G.format_doc_number(org, year, number)
    assert G.doc_number_problems(text) == []
    m = G.DOC_NUMBER_RE.match(text)
    assert m and (m["org"], int(m["year"]), int(m["num"])) == (org, year, number)


def test_page_number_text_and_headings() -> None:
    assert G.page_number_text(1) == "\u2014 1 \u2014"
    assert G.PAGE_NUMBER_TEXT_RE.match("\u2014 {PAGE} \u2014")
    assert not G.PAGE_NUMBER_TEXT_RE.match("- {PAGE} -")
    assert G.HEADING1_RE.match("一、工作目标") and not G.HEADING1_RE.match("（一）摸底")
    assert G.HEADING2_RE.match("（十二）其他") and not G.HEADING2_RE.match("(一)其他")
    assert G.HEADING3_RE.match("1.建立台账") and G.HEADING3_RE.match("12．落实") and not G.HEADING3_RE.match("2020年")
