"""guanai.generators.lint: a correct 公文 passes; each deliberately broken property is caught and named."""

from __future__ import annotations

import re
from typing import Any

import pytest
from lint_helpers import build_gongwen, part, rezip

from guanai.generators.lint import LintReport, Violation, lint_docx


def _find(report: LintReport, element: str) -> list[Violation]:
    return [v for v in report.violations if v.element == element]


def test_correct_gongwen_passes() -> None:
    report = lint_docx(build_gongwen())
    assert report.violations == []
    assert report.ok


def test_correct_gongwen_with_simple_page_field_passes() -> None:
    assert lint_docx(build_gongwen(use_field_simple=True)).violations == []


# (changes to the correct document, element that must be reported, text expected in "found")
BROKEN: list[tuple[str, dict[str, Any], str, str]] = [
    ("top margin", {"margins_mm": {"top": 25.4, "bottom": 35, "left": 28, "right": 26}}, "上边距（天头）", "25.4 毫米"),
    ("left margin", {"margins_mm": {"top": 37, "bottom": 35, "left": 31.8, "right": 26}}, "左边距（订口）", "31.8 毫米"),
    ("right margin", {"margins_mm": {"top": 37, "bottom": 35, "left": 28, "right": 20}}, "右边距", "20.0 毫米"),
    ("bottom margin", {"margins_mm": {"top": 37, "bottom": 25, "left": 28, "right": 26}}, "下边距", "25.0 毫米"),
    ("letter paper", {"page_mm": (215.9, 279.4)}, "纸张大小", "215.9×279.4"),
    ("landscape", {"page_mm": (297, 210)}, "纸张大小", "297.0×210.0"),
    ("title font", {"title_font": "宋体"}, "标题字体", "宋体"),
    ("title size", {"title_size": 18}, "标题字号", "小2号（18磅）"),
    ("theme font override", {"body_theme_override": True}, "正文字体", "主题字体 minorEastAsia"),
    ("body size", {"body_size": 15}, "正文字号", "15磅"),
    ("body font", {"body_font": "宋体"}, "正文字体", "宋体"),
    ("missing eastAsia", {"body_font": None, "default_east_asia": False}, "正文字体", "w:eastAsia 缺失"),
    ("single spacing", {"line_spacing_pt": None}, "正文行距", "单倍行距"),
    ("wrong exact spacing", {"line_spacing_pt": 30}, "正文行距", "固定值 30 磅"),
    ("heading 1 font", {"heading1_font": "仿宋_GB2312"}, "一级标题字体", "仿宋_GB2312"),
    ("heading 2 font", {"heading2_font": "黑体"}, "二级标题字体", "黑体"),
    ("heading 3 font", {"heading3_font": "楷体_GB2312"}, "三级标题字体", "楷体_GB2312"),
    ("doc number with 第", {"doc_number": "萧教体〔2020〕第9号"}, "发文字号", "序号前不加“第”"),
    ("doc number leading zero", {"doc_number": "萧教体〔2020〕09号"}, "发文字号", "前导 0"),
    ("doc number square brackets", {"doc_number": "萧教体[2020]9号"}, "发文字号", "六角括号"),
    ("doc number round brackets", {"doc_number": "萧教体（2020）9号"}, "发文字号", "六角括号"),
    ("doc number missing", {"doc_number": ""}, "发文字号", "未找到"),
    ("padded date", {"date": "2020年04月20日"}, "成文日期", "虚位"),
    ("Chinese-numeral date", {"date": "二〇二〇年四月二十日"}, "成文日期", "汉字数字"),
    ("date missing", {"date": ""}, "成文日期", "未找到"),
    ("page numbers all on the right", {"even_odd": False}, "页码（奇偶页）", "未设置奇偶页不同"),
    ("even page number on the right", {"even_align": "right"}, "页码位置（双页码）", "居右"),
    ("odd page number centred", {"odd_align": "center"}, "页码位置（单页码）", "居中"),
    ("page number hyphens", {"page_dash": "-"}, "页码格式", "“- 1 -”"),
    ("page number font", {"footer_font": "仿宋_GB2312"}, "页码字体", "仿宋_GB2312"),
    ("page number size", {"footer_size": 10.5}, "页码字号", "10.5磅"),
    ("lang en-US", {"lang": "en-US"}, "语言（东亚）", "en-US"),
    ("themeFontLang ja-JP", {"theme_font_lang": "ja-JP"}, "主题字体语言", "ja-JP"),
    ("theme fonts in docDefaults", {"default_theme": True}, "主题字体", "w:eastAsiaTheme=minorEastAsia"),
]


@pytest.mark.parametrize(("changes", "element", "found"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_each_broken_property_is_caught(changes: dict[str, Any], element: str, found: str) -> None:
    report = lint_docx(build_gongwen(**changes))
    hits = _find(report, element)
    assert hits, f"{element} not reported; got {[v.element for v in report.violations]}"
    assert any(found in v.found for v in hits), [v.found for v in hits]
    assert all(v.expected for v in hits)
    assert not report.ok


def test_violations_name_where_they_are() -> None:
    report = lint_docx(build_gongwen(heading1_font="宋体", page_dash="-"))
    (h1,) = _find(report, "一级标题字体")
    assert h1.expected.startswith("黑体") and "一、工作目标" in h1.where
    (fmt,) = _find(report, "页码格式")
    assert "word/footer" in fmt.where


def test_every_violation_is_listed_not_just_the_first() -> None:
    report = lint_docx(
        build_gongwen(
            margins_mm={"top": 30, "bottom": 35, "left": 28, "right": 26},
            title_font="黑体",
            body_size=14,
            doc_number="萧教体〔2020〕第09号",
            date="2020年04月20日",
            even_align="right",
        )
    )
    elements = report.elements()
    assert {"上边距（天头）", "标题字体", "正文字号", "发文字号", "成文日期", "页码位置（双页码）"} <= elements
    # both problems of one 发文字号 are reported
    dn_found = [v.found for v in _find(report, "发文字号")]
    assert any("序号前不加“第”" in f for f in dn_found), dn_found
    assert any("前导 0" in f for f in dn_found), dn_found


def test_same_problem_in_many_paragraphs_is_grouped() -> None:
    report = lint_docx(build_gongwen(body_size=15, body_paragraphs=8))
    (body,) = _find(report, "正文字号")
    assert re.search(r"等 \d+ 处", body.where)


def test_heading_followed_by_body_text_in_one_paragraph() -> None:
    # "一、标题。正文……": only the heading part must be 黑体; the rest is 仿宋.
    docx = build_gongwen()
    xml = part(docx, "word/document.xml").decode()
    heading_run_end = xml.index("一、工作目标") + len("一、工作目标")
    tail_run = (
        '</w:t></w:r><w:r><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" '
        'w:eastAsia="仿宋_GB2312"/><w:sz w:val="32"/></w:rPr><w:t>各校要落实责任。'
    )
    xml = xml[:heading_run_end] + "。" + tail_run + xml[heading_run_end:]
    assert lint_docx(rezip(docx, replace_parts={"word/document.xml": xml.encode()})).violations == []


def test_theme_font_at_run_level_beats_docdefaults_name() -> None:
    docx = build_gongwen()
    xml = part(docx, "word/document.xml").decode()
    xml = xml.replace('w:eastAsia="黑体"', 'w:eastAsia="黑体" w:eastAsiaTheme="majorEastAsia"', 1)
    report = lint_docx(rezip(docx, replace_parts={"word/document.xml": xml.encode()}))
    (h1,) = _find(report, "一级标题字体")
    assert "majorEastAsia" in h1.found


def test_explicit_style_names_take_precedence() -> None:
    # A paragraph styled 公文标题 is checked as a title even where the heuristics would not look.
    from guanai.generators import gbt9704 as G

    docx = build_gongwen()
    styles = part(docx, "word/styles.xml").decode()
    style = (
        f'<w:style w:type="paragraph" w:styleId="GwTitle"><w:name w:val="{G.STYLE_TITLE}"/>'
        '<w:rPr><w:rFonts w:eastAsia="宋体"/><w:sz w:val="44"/></w:rPr></w:style></w:styles>'
    )
    styles = styles.replace("</w:styles>", style)
    xml = part(docx, "word/document.xml").decode()
    # a styled paragraph at the very end, without direct formatting: its style gives 宋体
    xml = xml.replace("<w:sectPr", '<w:p><w:pPr><w:pStyle w:val="GwTitle"/></w:pPr><w:r><w:t>附加标题</w:t></w:r></w:p><w:sectPr', 1)
    report = lint_docx(rezip(docx, replace_parts={"word/styles.xml": styles.encode(), "word/document.xml": xml.encode()}))
    hits = _find(report, "标题字体")
    assert any(v.found == "宋体" and "附加标题" in v.where for v in hits)


def test_every_violation_has_a_rule_code() -> None:
    from guanai.generators.lint import violation_code

    report = lint_docx(build_gongwen(date="2020年04月20日"))
    assert [p.code for p in report.problems] == ["lint.date"]
    assert violation_code("正文字体") == "lint.body.font" and violation_code("一级标题行距") == "lint.heading1.spacing"
    assert violation_code("页码位置（单页码）") == "lint.page_number.position" and violation_code("纸张大小") == "lint.paper"
    assert violation_code("上边距（天头）") == "lint.margin.top" and violation_code("未知") == "lint.other"
