"""`guanai lint` on the whole 公文 (GB/T 9704 §7): 版头, 主送机关, 标题回行, 签发人, 版记 — each rule
catches its broken variant, and every generated 公文 passes."""

from __future__ import annotations

import pytest

from guanai.generators import gbt9704 as G
from guanai.generators.kinds import KINDS
from guanai.generators.lint import lint_docx
from guanai.generators.render import render
from tests.gen_helpers import sample
from tests.lint_helpers import build_gongwen

OFFICIAL = [k for k, v in KINDS.items() if v.official]


def test_complete_gongwen_passes() -> None:
    report = lint_docx(build_gongwen())
    assert report.violations == [] and report.warnings == []


@pytest.mark.parametrize(
    ("changes", "element"),
    [
        ({"header_color": None}, "发文机关标志颜色"),
        ({"red_line": False}, "版头分隔线"),
        ({"record": False}, "版记"),
        ({"break_title": False}, "标题回行"),
        ({"title": "关于做好农村留守儿童和困\n境儿童关爱保护工作的通知", "break_title": False}, "标题回行"),
        ({"title": "关于做好农村留守儿童和困境儿童关爱保护工作的通\n知", "break_title": False}, "标题回行"),
        ({"recipient_indent": True}, "主送机关"),
        ({"title": "关于张小明同学去向不明的报告"}, "签发人"),
    ],
)
def test_each_broken_variant_is_caught(changes: dict[str, object], element: str) -> None:
    report = lint_docx(build_gongwen(**changes))
    assert element in report.elements(), report.violations


def test_missing_org_mark_is_caught() -> None:
    report = lint_docx(build_gongwen(header_text=""))
    assert "发文机关标志" in report.elements()


@pytest.mark.parametrize("kind", OFFICIAL)
@pytest.mark.parametrize("seal", [True, False])
def test_every_generated_gongwen_passes(kind: str, seal: bool) -> None:
    form = sample(kind) | {"加盖印章": "是" if seal else "否"}
    report = lint_docx(render(kind, form))
    assert report.violations == [] and report.skipped is None, report.violations


def test_names_outside_gb2312_are_warned_about() -> None:
    form = sample("dropout-report") | {"儿童姓名": "李玥", "监护人": "王堃"}
    report = lint_docx(render("dropout-report", form))
    assert report.violations == []
    assert any("玥" in w.found and "堃" in w.found for w in report.warnings), report.warnings


def test_upward_report_without_a_signer_is_made_but_caught_by_lint() -> None:
    form = {k: v for k, v in sample("dropout-report").items() if k != "签发人"}
    data = render("dropout-report", form)
    report = lint_docx(data)
    assert "签发人" in report.elements(), report.violations
    from guanai.generators.text import docx_text

    assert "签发人" not in docx_text(data)  # no empty "签发人：" on the line


def test_signature_indents_follow_both_layouts() -> None:
    # 7.3.5.1: date 右空四字, 署名 centred over it
    s, d = G.signature_indents("萧县实验小学", "2020年10月20日", seal=True)
    assert d == 4 and abs((s + 6 / 2) - (d + 7 / 2)) < 1e-9
    # 7.3.5.2: 署名 右空二字 unless the date is longer; the date starts two characters further right
    s, d = G.signature_indents("萧县龙城镇中心小学", "2020年4月2日", seal=False)
    assert s == 2 and (s + 9) - (d + 6) == 2
    s, d = G.signature_indents("萧县实验小学", "2020年10月20日", seal=False)
    assert d == 2 and (s + 6) - (d + 7) == 2


# --------------------------------------------------------------------------- pages (LibreOffice)

def _page_break_before(docx: bytes, text: str) -> bytes:
    """The document with a page break run put at the start of the paragraph holding ``text``."""
    import io
    import re
    import zipfile

    from guanai.generators.render import _replace_member

    zin = zipfile.ZipFile(io.BytesIO(docx))
    xml = zin.read("word/document.xml").decode("utf-8")
    at = xml.index(text)
    start = xml.rindex("<w:p>", 0, at) if "<w:p>" in xml[:at] else xml.rindex("<w:p ", 0, at)
    end_ppr = xml.find("</w:pPr>", start, at)
    insert = end_ppr + len("</w:pPr>") if end_ppr != -1 else xml.index(">", start) + 1
    xml = xml[:insert] + '<w:r><w:br w:type="page"/></w:r>' + xml[insert:]
    assert re.search(r'<w:br w:type="page"/>', xml)
    return _replace_member(zin, "word/document.xml", xml.encode("utf-8"))


@pytest.mark.pdf
def test_lone_line_page_is_caught() -> None:
    # the 成文日期 pushed onto a page of its own: a page with one line, and a 署名 block without text
    broken = _page_break_before(build_gongwen(), "2020年4月20日</w:t>")
    report = lint_docx(broken, layout=True)
    assert {"孤行页", "署名页"} <= report.elements(), report.violations


@pytest.mark.pdf
def test_signature_page_without_text_is_caught() -> None:
    broken = _page_break_before(build_gongwen(), "萧县教育体育局</w:t>")
    report = lint_docx(broken, layout=True)
    assert "署名页" in report.elements(), report.violations


@pytest.mark.pdf
@pytest.mark.parametrize("kind", OFFICIAL)
def test_generated_gongwen_pass_the_page_checks(kind: str) -> None:
    report = lint_docx(render(kind, sample(kind)), layout=True)
    assert report.violations == [], report.violations
