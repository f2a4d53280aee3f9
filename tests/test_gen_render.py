"""Every kind renders; its text contains the form's values; official format; determinism."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from gen_helpers import docx_text, leaf_values, pdf_facts, sample
from lxml import etree

from guanai.generators.assets import TEMPLATE_DIR
from guanai.generators.forms import cn_date, find_labels
from guanai.generators.generate import child_prefill
from guanai.generators.kinds import KINDS
from guanai.generators.lint import lint_docx
from guanai.generators.render import cn_num, render, render_document
from guanai.generators.text import docx_text as fast_text
from guanai.generators.text import visible_text

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
POLICY = Path(__file__).resolve().parents[1] / "docs" / "policy" / "xiao-county-2020-care-plan.txt"


def _expected(value: str) -> str:
    # dates are printed as 2020年4月20日, booleans as 是/否
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return cn_date(dt.date.fromisoformat(value))
    if value in ("True", "False"):
        return "是" if value == "True" else "否"
    return value


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_renders_with_its_values(kind: str) -> None:
    form = sample(kind)
    data = render(kind, form)
    # python-docx does not read text boxes (the 版记 is one): our extractor's text is checked too
    text = docx_text(data) + "\n" + fast_text(data)
    joined = text.replace("\n", "")  # a long 公文 title is broken into even lines
    for value in leaf_values(form):
        expected = _expected(value)
        if kind == "leading-group-notice" and len(value) == 2 and value in text.replace("\u3000", ""):
            continue  # two-character names are printed with an ideographic space (陈　光)
        assert expected in text or expected in joined, f"{kind}: {expected!r} missing from the document text"
    # our own extractor (stored with the document, indexed) agrees with python-docx
    stored = fast_text(data).replace("\n", "")
    for value in leaf_values(form)[:5]:
        assert _expected(value) in stored


@pytest.mark.parametrize("kind", list(KINDS))
def test_same_form_same_bytes(kind: str) -> None:
    assert render(kind, sample(kind)) == render(kind, sample(kind))


@pytest.mark.parametrize("kind", [k.id for k in KINDS.values() if k.official])
def test_official_documents_pass_gbt9704_lint(kind: str) -> None:
    report = lint_docx(render(kind, sample(kind)), name=kind)
    assert report.violations == [] and report.skipped is None


@pytest.mark.parametrize("kind", [k.id for k in KINDS.values() if not k.official])
def test_forms_are_marked_as_no_official_document(kind: str) -> None:
    report = lint_docx(render(kind, sample(kind)), name=kind)
    assert report.skipped and "非公文" in report.skipped and report.ok


@pytest.mark.parametrize("kind", [k.id for k in KINDS.values() if k.to_family])
def test_family_documents_do_not_label_children(kind: str) -> None:
    # a child who is both 留守 and 困境, filled in from the record as `generate --child` does
    from guanai.care.rules import classify
    from guanai.care.synth import synth_children

    rec = synth_children(10, seed=3)[9]
    assert {c.name for c in classify(rec, dt.date(2020, 9, 10))} == {"留守儿童", "困境儿童"}
    entry = SimpleNamespace(record=rec)
    form = sample(kind) | child_prefill(KINDS[kind], entry, dt.date(2020, 9, 10))  # type: ignore[arg-type]
    data = render(kind, form)
    assert rec.name in docx_text(data)
    # everything a reader sees: body, tables, headers, footers, document properties
    seen = visible_text(data)
    assert rec.name in seen and KINDS[kind].name in seen
    assert find_labels(seen) == [] and "留守" not in seen and "困境" not in seen


def test_every_family_facing_kind_is_marked() -> None:
    # documents handed to a guardian or a village committee must be checked (避免标签化)
    family = {k.id for k in KINDS.values() if k.to_family}
    assert family == {"persuasion-notice", "entrusted-care"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_fonts_east_asian_everywhere_no_theme_fonts(kind: str) -> None:
    with zipfile.ZipFile(io.BytesIO(render(kind, sample(kind)))) as zf:
        doc = etree.fromstring(zf.read("word/document.xml"))
        styles = zf.read("word/styles.xml")
        settings = zf.read("word/settings.xml")
    runs = doc.iter(W + "r")
    for r in runs:
        fonts = r.find(f"{W}rPr/{W}rFonts")
        assert fonts is not None and fonts.get(W + "eastAsia"), etree.tostring(r)[:200]
    assert b"Theme=" not in styles  # w:asciiTheme, w:eastAsiaTheme ... override explicit names
    assert b'w:eastAsia="ja-JP"' not in settings and b'w:eastAsia="en-US"' not in styles
    assert b'w:eastAsia="zh-CN"' in styles
    assert b"w:evenAndOddHeaders" in settings


@pytest.mark.parametrize("kind", list(KINDS))
def test_templates_carry_only_the_styles_they_use(kind: str) -> None:
    # python-docx's default styles.xml (350 KB, latent styles) cost LibreOffice ~100 ms per PDF
    from guanai.generators import gbt9704 as G
    from guanai.generators.pdf import style_references

    with zipfile.ZipFile(TEMPLATE_DIR / f"{kind}.docx") as zf:
        styles = zf.read("word/styles.xml")
        used: set[str] = set()
        for name in zf.namelist():
            if name.startswith("word/") and name.endswith(".xml") and name != "word/styles.xml":
                used |= style_references(zf.read(name)) or set()
        official = G.STYLE_BODY in zf.read("word/document.xml").decode()
    assert b"latentStyles" not in styles and len(styles) < 16_000
    defined = set(re.findall(r'w:styleId="([^"]*)"', styles.decode()))
    assert used <= defined, used - defined
    assert "Normal" in defined and "TableNormal" in defined
    if official:  # every 公文 style stays available to a secretary editing the template in Word/WPS
        assert {G.STYLE_TITLE, G.STYLE_BODY, G.STYLE_HEADING1, G.STYLE_HEADING2, G.STYLE_DOC_NUMBER,
                G.STYLE_DATE} <= defined


def test_page_numbers_odd_right_even_left_for_official() -> None:
    with zipfile.ZipFile(io.BytesIO(render("circular", sample("circular")))) as zf:
        footers = {n: zf.read(n).decode() for n in zf.namelist() if n.startswith("word/footer")}
    aligns = sorted(re.search(r'<w:jc w:val="(\w+)"', x).group(1) for x in footers.values())  # type: ignore[union-attr]
    assert aligns == ["left", "right"]
    assert all("\u2014 " in x and " PAGE " in x for x in footers.values())


def test_templates_build_reproducibly(tmp_path: Path) -> None:
    from tools.build_templates import main

    main([str(tmp_path)])
    names = [kind.template for kind in KINDS.values()] + ["transfer-slip.docx"]  # the slip is no form kind
    for name in names:
        built = (tmp_path / name).read_bytes()
        assert built == (TEMPLATE_DIR / name).read_bytes(), f"{name} differs from a fresh build"
    assert sorted(p.name for p in tmp_path.glob("*.docx")) == sorted(names)


def test_leading_group_notice_reproduces_the_county_notice() -> None:
    text = docx_text(render("leading-group-notice", sample("leading-group-notice")))
    flat = re.sub(r"\s", "", text)
    policy = POLICY.read_text(encoding="utf-8")
    notice = policy.split("萧县教育体育局")[0]
    for line in notice.splitlines():
        line = re.sub(r"\s", "", line)
        if line:
            assert line.replace("2020年4月20日", "") in flat, line
    assert "教体基〔2020〕9号" in flat and "2020年4月20日" in flat and "萧县教育体育局" in flat
    for name in ("赵树林", "陈光", "杜贤忠", "张朔", "欧阳明", "刘谊"):
        assert name in flat
    assert "领导小组下设办公室，办公室主任由张朔兼任。" in flat


def test_long_official_titles_are_broken_into_even_lines() -> None:
    from guanai.generators.gbt9704 import TITLE_CHARS_PER_LINE, title_break_problems, title_lines

    title = sample("leading-group-notice")["标题"]
    lines = title_lines(title).split("\n")
    assert "".join(lines) == title and len(lines) == 3
    assert max(map(len, lines)) - min(map(len, lines)) <= 2 and max(map(len, lines)) <= TITLE_CHARS_PER_LINE
    assert title_break_problems(lines) == []
    assert title_lines("关于张小明同学去向不明的报告") == "关于张小明同学去向不明的报告"
    for t in ("关于《萧县留守儿童困境儿童关爱保护工作实施细则（试行）》的补充通知", "关于2020年秋季学期控辍保学工作情况的报告（第2次补充说明）"):
        for line in title_lines(t).split("\n")[1:]:
            assert line[0] not in "》）”，。、" and not line[0].isdigit(), title_lines(t)
    # in the document: one title paragraph with line breaks (<w:br/>), and it still passes the lint
    data = render("leading-group-notice", sample("leading-group-notice"))
    assert "\n".join(lines) in fast_text(data)
    assert lint_docx(data).violations == []


def test_multiline_values_become_line_breaks() -> None:
    form = sample("care-record") | {"帮扶内容": "第一行\n第二行\n第三行"}
    data = render("care-record", form)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        xml = zf.read("word/document.xml").decode()
    assert xml.count("<w:br/>") >= 2
    assert "第一行\n第二行\n第三行" in fast_text(data)


def test_cn_num() -> None:
    assert [cn_num(n) for n in (1, 2, 10, 11, 20, 21, 99)] == ["一", "二", "十", "十一", "二十", "二十一", "九十九"]


def test_render_document_text_matches_content() -> None:
    r = render_document("home-visit", sample("home-visit"))
    assert r.text == fast_text(r.data)


@pytest.mark.pdf
def test_libreoffice_opens_every_kind_and_pdf_text_has_the_values() -> None:
    from guanai.generators.pdf import convert_results, normalize_text, pdf_text, pdfa_claim

    kinds = list(KINDS)
    results = convert_results([(f"{k}.docx", render(k, sample(k))) for k in kinds])
    for kind, res in zip(kinds, results, strict=True):
        assert res.pdf is not None, f"{kind}: {res.error}"
        # compare without spaces, page numbers and punctuation (pypdf drops some line-end commas)
        text = _bare(re.sub(r"—\d+—", "", normalize_text(pdf_text(res.pdf))))
        values = [_expected(v) for v in leaf_values(sample(kind)) if len(v) >= 3][:6]
        for value in values:
            assert _bare(value) in text, f"{kind}: {value!r} missing from the PDF text"
        # A4; forms (cards, records, notices) print on one page with the sample's data;
        # PDF/A-2b: the claim, its output intent, every font embedded, no encryption
        facts = pdf_facts(res.pdf)
        assert facts["sizes"] == {(210, 297)}, (kind, facts["sizes"])
        if not KINDS[kind].official:
            assert facts["pages"] == 1, f"{kind}: {facts['pages']} pages"
        assert pdfa_claim(res.pdf) == "2B", kind
        assert facts["intents"] == ["/GTS_PDFA1"] and not facts["not_embedded"] and not facts["encrypted"], facts


def _bare(text: str) -> str:
    return re.sub(r"[\s，。、：；,.:;]", "", text)


def test_second_break_before_the_record_leaves_the_blank_and_record_pages_unnumbered() -> None:
    """GB/T 9704 7.5: a blank page before the 版记 page, and the 版记 page, carry no page number —
    the second break is a section break, and the last section's footers are empty."""
    import io

    import docx as python_docx

    from guanai.generators.lint import lint_docx
    from guanai.generators.render import record_on_even_page

    original = render("dropout-report", sample("dropout-report"))
    assert record_on_even_page(original, 2) is None  # even: nothing to do
    once = record_on_even_page(original, 3)
    twice = record_on_even_page(once, 3) if once else None
    assert once is not None and twice is not None
    one, two = python_docx.Document(io.BytesIO(once)), python_docx.Document(io.BytesIO(twice))
    assert len(one.sections) == 1 and len(two.sections) == 2
    body, last = two.sections
    assert "PAGE" in body.footer._element.xml or "PAGE" in body.even_page_footer._element.xml
    for footer in (last.footer, last.even_page_footer):
        assert not footer.is_linked_to_previous and footer._element.xml.count("<w:t") == 0
    assert lint_docx(twice).violations == []
    thrice = record_on_even_page(twice, 3)  # a third break stays a plain one (no second blank footer)
    assert thrice is not None and len(python_docx.Document(io.BytesIO(thrice)).sections) == 2
