"""GB/T 9704-2012 geometry measured on the generated PDFs (PyMuPDF), for every 公文 kind with short and
long content and both 署名 layouts: margins, the 28 × 22 grid, 主送机关 at the left edge, 署名/成文日期
per 7.3.5.1 (seal) and 7.3.5.2 (no seal), the 版记 at the foot of an even last page, no page holding a
lone line, table header rows repeated on every page."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from guanai.generators import gbt9704 as G
from guanai.generators.forms import parse_date
from guanai.generators.kinds import KINDS
from guanai.generators.pdf import convert_official
from guanai.generators.render import render
from tests.gen_helpers import sample

pymupdf = pytest.importorskip("pymupdf")
pytestmark = pytest.mark.pdf

MM = 72 / 25.4
LEFT = G.MARGIN_LEFT_MM * MM
RIGHT = (G.PAGE_WIDTH_MM - G.MARGIN_RIGHT_MM) * MM
TOP = G.MARGIN_TOP_MM * MM
BOTTOM = (G.PAGE_HEIGHT_MM - G.MARGIN_BOTTOM_MM) * MM
CHAR = G.BODY_SIZE_PT
OFFICIAL = [k for k, v in KINDS.items() if v.official]
LONG_TEXT = ("学校多次组织教师上门走访，与监护人当面沟通，讲清义务教育法规定的监护人责任，"
             "并协调村（居）委会干部共同做好思想工作，但监护人仍未送孩子返校。")


def _long(kind: str) -> dict[str, Any]:
    """The sample with enough content for three or more pages (and a table across pages)."""
    form = copy.deepcopy(sample(kind))
    if kind == "dropout-report":
        form["辍学原因"] = LONG_TEXT * 6
        form["请求事项"] = LONG_TEXT * 3
    elif kind == "missing-report":
        form["已采取的措施"] = LONG_TEXT * 8
    elif kind in ("supervision-report", "circular"):
        form["各校情况"] = [{"学校": f"第{i + 1}中心小学", "情况": LONG_TEXT} for i in range(6)]
        form["数据表"] = [{"学校": f"第{i + 1}中心小学", "在册人数": str(100 + i), "建档人数": str(99 + i),
                        "结对帮扶人数": str(98 + i), "家访人数": str(97 + i)} for i in range(40)]
    elif kind == "leading-group-notice":
        form["正文"] = [LONG_TEXT * 3, LONG_TEXT * 2]
        form["成员"] = [{"姓名": f"成员{i}", "职务": "县教体局股室负责人"} for i in range(30)]
    return form


@dataclass
class Line:
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    base: float = 0.0  # baseline
    size: float = 0.0
    font: str = ""


@dataclass
class Doc:
    kind: str
    form: dict[str, Any]
    pdf: bytes
    docx: bytes
    pages: list[list[Line]]
    drawings: list[list[tuple[float, float, float, float, float]]]

    def find(self, needle: str) -> list[Line]:
        return [ln for page in self.pages for ln in page if needle in ln.text]


def _measure(kind: str, form: dict[str, Any], pdf: bytes, docx: bytes) -> Doc:
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    pages, drawings = [], []
    for n, page in enumerate(doc):
        lines = []
        for block in page.get_text("dict")["blocks"]:
            for line in block.get("lines", []):
                text = "".join(span["text"] for span in line["spans"])
                if text.strip():
                    x0, y0, x1, y1 = line["bbox"]
                    span = max(line["spans"], key=lambda sp: len(sp["text"]))
                    lines.append(Line(n + 1, x0, y0, x1, y1, text, span["origin"][1], span["size"], span["font"]))
        pages.append(sorted(lines, key=lambda ln: (ln.y0, ln.x0)))
        drawings.append([(d["rect"].x0, d["rect"].x1, d["rect"].y0, d["rect"].y1, d.get("width") or 0)
                         for d in page.get_drawings()])
    return Doc(kind, form, pdf, docx, pages, drawings)


CASES = [(k, size, seal) for k in OFFICIAL for size in ("short", "long") for seal in (True, False)]


@pytest.fixture(scope="module")
def docs() -> dict[tuple[str, str, bool], Doc]:
    items, forms = [], {}
    for kind, size, seal in CASES:
        form = sample(kind) if size == "short" else _long(kind)
        form = form | {"加盖印章": "是" if seal else "否"}
        forms[(kind, size, seal)] = form
        items.append((f"{kind}-{size}-{seal}.docx", render(kind, form)))
    results = convert_official(items)
    out = {}
    for key, (res, docx) in zip(CASES, results, strict=True):
        assert res.pdf is not None, res.error
        out[key] = _measure(key[0], forms[key], res.pdf, docx)
    return out


def _body_lines(doc: Doc, page: list[Line]) -> list[Line]:
    """Lines of the text block: no page number, no 版记."""
    return [ln for ln in page if ln.size > G.RECORD_SIZE_PT + 0.5]  # the 版记 and page numbers are 4号


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{'seal' if c[2] else 'noseal'}")
def test_geometry(docs: dict[tuple[str, str, bool], Doc], case: tuple[str, str, bool]) -> None:
    doc = docs[case]
    kind, _size, seal = case
    # the .docx the PDF was made from (版记 moved to an even page included) passes lint
    from guanai.generators.lint import lint_docx

    assert lint_docx(doc.docx).violations == []
    # margins: every line inside the text block (a hanging full stop may pass the right edge by a character)
    for page in doc.pages:
        for ln in page:
            assert ln.x0 >= LEFT - 1.5, ln
            assert ln.x1 <= RIGHT + CHAR + 1, ln
            assert ln.y0 >= TOP - 2, ln
            if "—" not in ln.text:
                assert ln.y1 <= BOTTOM + 2, ln
    # 28 × 22 grid: body lines (仿宋) sit on a 28.95 pt grid — headings in other faces place their
    # baselines differently inside the same exact line; a full line of Chinese text holds 28 characters
    pitches, full = [], []
    for page in doc.pages:
        body = [ln for ln in _body_lines(doc, page) if abs(ln.size - G.BODY_SIZE_PT) < 0.5 and "Fang" in ln.font]
        for a, b in zip(body, body[1:], strict=False):
            steps = round((b.base - a.base) / G.LINE_SPACING_PT)
            if 0 < steps <= 3:
                pitches.append((b.base - a.base) / steps)
        full += [ln for ln in body if abs(ln.x0 - LEFT) < 1.5 and ln.x1 > RIGHT - CHAR
                 and all(not c.isascii() for c in ln.text)]
    # LibreOffice places baselines on whole device units: single pitches vary by ±0.8 pt, their mean is exact
    assert pitches and all(abs(p - G.LINE_SPACING_PT) < 1.0 for p in pitches), sorted(set(round(p, 1) for p in pitches))
    assert abs(sum(pitches) / len(pitches) - G.LINE_SPACING_PT) < 0.1, sum(pitches) / len(pitches)
    for ln in full:
        n = len(ln.text.rstrip("，。、；：！？”）》"))
        assert 27 <= n <= 28 and len(ln.text) <= 29, (len(ln.text), ln.text)
    assert kind == "missing-report" or _size == "short" or full, "no full line to count"
    # a page the body runs on and off holds 22 lines (first page: below the 版头; last pages: the 署名 block)
    for page in doc.pages[1:-2]:
        body = _body_lines(doc, page)
        if body and all(abs(ln.size - G.BODY_SIZE_PT) < 0.5 for ln in body) and len({round(ln.base) for ln in body}) > 10:
            span = (max(ln.base for ln in body) - min(ln.base for ln in body)) / G.LINE_SPACING_PT + 1
            assert round(span) <= G.LINES_PER_PAGE, span
    for ln in full:
        n = len(ln.text.rstrip("，。、；：！？”）》"))
        assert 27 <= n <= 28 and len(ln.text) <= 29, (len(ln.text), ln.text)
    # 主送机关 flush left
    recipient = doc.find(doc.form["主送机关"] + "：")
    assert recipient and abs(recipient[0].x0 - LEFT) < 1.5, recipient
    # 署名 and 成文日期 per 7.3.5.1 / 7.3.5.2
    date_text = G.format_date(parse_date(doc.form["成文日期"]))
    dates = [ln for ln in doc.find(date_text.split("年")[0])
             if ln.text.replace(" ", "") == date_text and abs(ln.size - G.BODY_SIZE_PT) < 0.5]
    sigs = [ln for ln in doc.find(doc.form["发文机关"])
            if ln.text.strip() == doc.form["发文机关"] and abs(ln.size - G.BODY_SIZE_PT) < 0.5]
    assert dates and sigs, (dates, sigs)
    d, s = dates[-1], sigs[-1]
    assert d.page == s.page and 0 < d.y0 - s.y0 < 40  # the date on the line below the 署名
    if seal:
        assert abs(d.x1 - (RIGHT - 4 * CHAR)) < 2, d  # 右空四字
        assert abs((s.x0 + s.x1) / 2 - (d.x0 + d.x1) / 2) < 2.5, (s, d)  # 署名 centred over the date
    else:
        assert min(abs(s.x1 - (RIGHT - 2 * CHAR)), abs(d.x1 - (RIGHT - 2 * CHAR))) < 2, (s, d)  # 右空二字
        assert abs((d.x0 - s.x0) - 2 * CHAR) < 2.5, (s, d)  # date starts two characters right of the 署名
    # the 署名 block shares its page with at least two lines of text above it
    above = [ln for ln in _body_lines(doc, doc.pages[s.page - 1]) if ln.y1 < s.y0 - 1]
    assert len(above) >= 2, above
    # 版记 at the foot of the last page, which is even; its lines as wide as the text block
    assert len(doc.pages) % 2 == 0, len(doc.pages)
    printed = [ln for ln in doc.pages[-1] if "印发" in ln.text]
    assert printed and abs(printed[-1].y1 - BOTTOM) < 8, printed
    rules = [r for r in doc.drawings[-1] if abs(r[2] - r[3]) < 0.5 and r[2] > BOTTOM - 80]
    assert len(rules) >= 2 and all(abs(r[0] - LEFT) < 1.5 and abs(r[1] - RIGHT) < 1.5 for r in rules), rules
    assert max(r[4] for r in rules) >= 0.95  # first and last lines 0.35 mm
    # no page holds a single line of text (a blank page before the 版记 page holds none)
    for n, page in enumerate(doc.pages, 1):
        assert len(_body_lines(doc, page)) != 1, (n, page)
    # page numbers (7.5): every page of the body has its own; a blank page before the 版记 page,
    # and that 版记 page, have none
    numbers = [[ln.text.replace(" ", "") for ln in page if ln.text.strip().startswith("—")] for page in doc.pages]
    text_of = [[ln for ln in page if not ln.text.strip().startswith("—")] for page in doc.pages]
    blank = len(doc.pages) > 2 and not text_of[-2]
    if case == ("dropout-report", "short", True):
        assert blank, "the short dropout report's 版记 does not fit under its body: a blank page precedes it"
    for n, found in enumerate(numbers, 1):
        if blank and n >= len(doc.pages) - 1:
            assert found == [], (n, found)
        elif n < len(doc.pages) or _body_lines(doc, doc.pages[-1]):
            assert found == [f"—{n}—"], (n, found)
    # the 发文机关标志 in red, centred, top 35 mm (上行文 80 mm) below the text block's top
    mark = [ln for ln in doc.pages[0] if ln.text.endswith("文件")]
    assert mark and abs((mark[0].x0 + mark[0].x1) / 2 - (LEFT + RIGHT) / 2) < 2
    upward = getattr(KINDS[kind].model, "UPWARD", False)
    top = (G.ORG_MARK_TOP_UPWARD_MM if upward else G.ORG_MARK_TOP_MM) * MM
    assert abs(mark[0].y0 - (TOP + top)) < 3 * MM, (mark[0].y0 - TOP) / MM


def test_table_header_repeats_on_every_page(docs: dict[tuple[str, str, bool], Doc]) -> None:
    doc = docs[("supervision-report", "long", True)]
    pages_with_rows = {ln.page for ln in doc.find("中心小学") if any(c.isdigit() for c in ln.text)}
    rows = [ln for ln in doc.pages[0] + [x for p in doc.pages[1:] for x in p] if ln.text.strip().isdigit()]
    assert rows, "no figures"
    table_pages = {ln.page for ln in rows}
    assert len(table_pages) >= 2, table_pages
    for n in table_pages:
        assert any("在册人数" in ln.text for ln in doc.pages[n - 1]), f"page {n} has table rows but no header"
        # every header on one line: none leaves a character on a line of its own (结对帮扶人|数)
        for header in ("学校", "在册人数", "建档人数", "结对帮扶人数", "家访人数"):
            assert any(ln.text.strip() == header for ln in doc.pages[n - 1]), (n, header)
    # numbers right-aligned: in each column the right edges of the numbers coincide
    assert pages_with_rows
    by_col: dict[int, list[float]] = {}
    for ln in rows:
        by_col.setdefault(round(ln.x1 / 20), []).append(ln.x1)
    assert all(max(v) - min(v) < 1.0 for v in by_col.values()), by_col



def test_characters_outside_gb2312_get_a_fangsong_that_has_them() -> None:
    """李玥, 王堃, 张喆: FandolFang (GB 2312) lacks them; cwTeX 仿宋 or UMing draws them — no tofu,
    no silent switch to a sans face; and lint lists them."""
    from guanai.generators.lint import lint_docx
    from guanai.generators.pdf import convert_one

    form = sample("dropout-report") | {"儿童姓名": "李玥", "监护人": "王堃", "联系人": "张喆"}
    data = render("dropout-report", form)
    doc = pymupdf.open(stream=convert_one(data), filetype="pdf")
    faces: dict[str, set[str]] = {}
    for page in doc:
        for block in page.get_text("rawdict")["blocks"]:
            for line in block.get("lines", []):
                for span in line["spans"]:
                    for ch in span["chars"]:
                        faces.setdefault(ch["c"], set()).add(span["font"])
    for ch in "玥堃喆":
        assert ch in faces, f"{ch} missing from the PDF text"
        assert all(("cwTeX" in f or "UMing" in f or "Fandol" in f) for f in faces[ch]), (ch, faces[ch])
    assert any("Fandol" in f for f in faces["李"])  # the rest stays in FandolFang
    warnings = lint_docx(data).warnings
    assert warnings and all(c in " ".join(w.found for w in warnings) for c in "玥堃喆")


def test_ids_in_the_body_stay_whole_and_the_language_is_chinese() -> None:
    """The 学籍号 in a report's text moves to the next line whole (LibreOffice breaks Latin text set
    to zh-CN anywhere: runs keep en-US); the document's language is zh-CN all the same."""
    from guanai.generators.pdf import convert_one

    form = sample("dropout-report")
    doc = pymupdf.open(stream=convert_one(render("dropout-report", form)), filetype="pdf")
    lines = ["".join(s["text"] for s in ln["spans"]) for p in doc for b in p.get_text("dict")["blocks"]
             for ln in b.get("lines", [])]
    assert any(form["学籍号"] in ln for ln in lines), [ln for ln in lines if "G34" in ln or "001X" in ln]
    assert doc.xref_get_key(doc.pdf_catalog(), "Lang") == ("string", "zh-CN")
    assert doc.metadata is not None and doc.metadata["title"] == form["标题"]
