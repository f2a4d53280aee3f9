"""Build every .docx template (python-docx + lxml), reproducibly.

Run: ``.venv/bin/python -m tools.build_templates`` (writes ``templates/*.docx``; the built files are
committed). The output is byte-for-byte the same on every run: fixed core properties, fixed zip
timestamps.

Why build instead of hand-editing in Word: Jinja tags typed in Word get split across runs
(docxtpl #81), and python-docx's default template carries theme fonts and ``ja-JP``/``en-US``
East-Asian language settings that make CJK text fall back to Japanese faces (docs/NOTES.md). Here
every tag is a single run and every run, style and the docDefaults carry ``w:eastAsia``.

公文 (official documents) follow GB/T 9704-2012 with the constants of ``generators.gbt9704``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm
from docx.table import Table, _Cell

from guanai.generators import gbt9704 as G
from guanai.generators.pdf import slim_styles, style_references
from guanai.generators.render import PPR_ORDER

OUT_DIR = Path(__file__).resolve().parents[1] / "templates"
FIXED_TIME = dt.datetime(2020, 4, 20, 8, 0, 0)

BODY = G.FONT_BODY
TITLE = G.FONT_TITLE
H1 = G.FONT_HEADING1
H2 = G.FONT_HEADING2
SONG = G.FONT_PAGE_NUMBER
LATIN = G.FONT_LATIN

Doc = Any  # docx.document.Document (python-docx has no public type for it)


# --------------------------------------------------------------------------- low-level XML


def set_rfonts(rpr: Any, east: str, latin: str | None = None) -> None:
    """Explicit fonts for every script, no theme attributes (they override explicit names)."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in list(rfonts.attrib):
        if attr.endswith("Theme"):
            del rfonts.attrib[attr]
    latin = latin or LATIN
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:cs"), latin)
    rfonts.set(qn("w:eastAsia"), east)
    rfonts.set(qn("w:hint"), "eastAsia")


def set_lang(rpr: Any) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    # Latin text stays en-US: with zh-CN LibreOffice breaks a 学籍号 or a phone number anywhere
    # (G34132220120315/001X); the document's language (PDF /Lang) is the docDefaults' zh-CN
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), G.LANG_EAST_ASIA)
    lang.set(qn("w:bidi"), "ar-SA")


def _child(parent: Any, tag: str) -> Any:
    el = parent.find(qn(tag))
    if el is None:
        el = OxmlElement(tag)
        parent.append(el)
    return el


def run_props(rpr: Any, east: str, size: float, bold: bool = False, color: str | None = None) -> None:
    set_rfonts(rpr, east)
    for tag in ("w:b", "w:bCs", "w:color", "w:sz", "w:szCs", "w:lang"):
        for el in rpr.findall(qn(tag)):
            rpr.remove(el)
    if bold:
        rpr.append(OxmlElement("w:b"))
        rpr.append(OxmlElement("w:bCs"))
    if color:
        c = OxmlElement("w:color")
        c.set(qn("w:val"), color)
        rpr.append(c)
    for tag in ("w:sz", "w:szCs"):
        el = OxmlElement(tag)
        el.set(qn("w:val"), str(round(size * 2)))
        rpr.append(el)
    set_lang(rpr)


def fix_styles(doc: Doc, east: str, size: float) -> None:
    """docDefaults and every style: explicit East-Asian font, no theme fonts, zh-CN."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr_default = _child(_child(defaults, "w:rPrDefault"), "w:rPr")
    run_props(rpr_default, east, size)
    for rfonts in styles.iter(qn("w:rFonts")):
        for attr in list(rfonts.attrib):
            if attr.endswith("Theme"):
                del rfonts.attrib[attr]
        rfonts.set(qn("w:eastAsia"), rfonts.get(qn("w:eastAsia")) or east)
        for a in ("w:ascii", "w:hAnsi", "w:cs"):
            rfonts.set(qn(a), rfonts.get(qn(a)) or LATIN)
    for lang in styles.iter(qn("w:lang")):
        lang.set(qn("w:eastAsia"), G.LANG_EAST_ASIA)
    # the document's language: zh-CN (LibreOffice writes it as the PDF's /Lang); runs and styles
    # keep en-US for their Latin text (set_lang)
    rpr_default.find(qn("w:lang")).set(qn("w:val"), G.LANG_EAST_ASIA)
    normal = doc.styles["Normal"]
    run_props(normal.element.get_or_add_rPr(), east, size)
    # widow/orphan control everywhere: no page starts or ends with a lone line of a paragraph
    ppr_default = _child(_child(defaults, "w:pPrDefault"), "w:pPr")
    if ppr_default.find(qn("w:widowControl")) is None:
        ppr_default.insert(0, OxmlElement("w:widowControl"))
    # no extra space between CJK and Latin text (Word/WPS and LibreOffice add ~1/4 em by default):
    # digits in a 发文字号 or 成文日期 take their own width, so the 28-character grid and the
    # 署名/日期 alignment of 7.3.5 come out as computed (in the Normal style: LibreOffice
    # ignores it in docDefaults)
    normal_ppr = normal.element.get_or_add_pPr()
    for name in ("w:autoSpaceDE", "w:autoSpaceDN"):
        if normal_ppr.find(qn(name)) is None:
            el = OxmlElement(name)
            el.set(qn("w:val"), "0")
            normal_ppr.append(el)
    settings = doc.settings.element
    for tfl in settings.iter(qn("w:themeFontLang")):
        tfl.set(qn("w:val"), "en-US")
        tfl.set(qn("w:eastAsia"), G.LANG_EAST_ASIA)
    # python-docx's default settings carry rsids of its own history: drop them (reproducible, neutral)
    for rsids in settings.findall(qn("w:rsids")):
        settings.remove(rsids)


def add_para_style(doc: Doc, name: str, east: str, size: float, *, align: str = "both",
                   first_line_chars: int = 0, exact: float | None = None, bold: bool = False) -> None:
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles["Normal"]
    style.quick_style = True
    ppr = style.element.get_or_add_pPr()
    _para_format(ppr, align=align, first_line_chars=first_line_chars, exact=exact, size=size)
    run_props(style.element.get_or_add_rPr(), east, size, bold)


def _para_format(ppr: Any, *, align: str, first_line_chars: int, exact: float | None, size: float,
                 right_chars: float = 0, left_chars: float = 0) -> None:
    for tag in ("w:spacing", "w:ind", "w:jc"):
        for el in ppr.findall(qn(tag)):
            ppr.remove(el)
    sp = OxmlElement("w:spacing")
    sp.set(qn("w:before"), "0")
    sp.set(qn("w:after"), "0")
    if exact:
        sp.set(qn("w:line"), str(round(exact * 20)))
        sp.set(qn("w:lineRule"), "exact")
    else:
        sp.set(qn("w:line"), "240")
        sp.set(qn("w:lineRule"), "auto")
    ppr.append(sp)
    if first_line_chars or right_chars or left_chars:
        ind = OxmlElement("w:ind")
        if left_chars:
            ind.set(qn("w:leftChars"), str(round(left_chars * 100)))
            ind.set(qn("w:left"), str(round(left_chars * size * 20)))
        if right_chars:
            ind.set(qn("w:rightChars"), str(round(right_chars * 100)))
            ind.set(qn("w:right"), str(round(right_chars * size * 20)))
        if first_line_chars:
            ind.set(qn("w:firstLineChars"), str(first_line_chars * 100))
            ind.set(qn("w:firstLine"), str(round(first_line_chars * size * 20)))
        ppr.append(ind)
    jc = OxmlElement("w:jc")
    jc.set(qn("w:val"), align)
    ppr.append(jc)


def para(container: Any, text: str, *, east: str = BODY, size: float = 16, align: str = "both",
         first_line_chars: int = 0, exact: float | None = None, bold: bool = False,
         style: str | None = None, right_chars: float = 0, left_chars: float = 0,
         color: str | None = None) -> Any:
    """One paragraph with one run (so a Jinja tag is never split across runs)."""
    p = container.add_paragraph(style=style) if style else container.add_paragraph()
    _para_format(p._p.get_or_add_pPr(), align=align, first_line_chars=first_line_chars, exact=exact,
                 size=size, right_chars=right_chars, left_chars=left_chars)
    ppr = p._p.get_or_add_pPr()
    # paragraph mark run properties: keeps empty lines at the body size (exact line height)
    mark = OxmlElement("w:rPr")
    run_props(mark, east, size, bold)
    ppr.append(mark)
    if text:
        r = p.add_run(text)
        run_props(r._r.get_or_add_rPr(), east, size, bold, color)
    return p


# --------------------------------------------------------------------------- page set-up


def page_setup(doc: Doc, *, official: bool) -> None:
    sec = doc.sections[0]
    sec.page_width = Mm(G.PAGE_WIDTH_MM)
    sec.page_height = Mm(G.PAGE_HEIGHT_MM)
    sect = sec._sectPr
    pgsz = sect.find(qn("w:pgSz"))
    pgsz.set(qn("w:w"), str(G.PAGE_WIDTH_TWIPS))
    pgsz.set(qn("w:h"), str(G.PAGE_HEIGHT_TWIPS))
    pgmar = sect.find(qn("w:pgMar"))
    if official:
        margins = (G.MARGIN_TOP_TWIPS, G.MARGIN_BOTTOM_TWIPS, G.MARGIN_LEFT_TWIPS, G.MARGIN_RIGHT_TWIPS)
        footer = G.FOOTER_DISTANCE_TWIPS
    else:
        margins = (G.mm_to_twips(20), G.mm_to_twips(18), G.mm_to_twips(20), G.mm_to_twips(20))
        footer = G.mm_to_twips(10)
    for attr, val in zip(("w:top", "w:bottom", "w:left", "w:right"), margins, strict=True):
        pgmar.set(qn(attr), str(val))
    pgmar.set(qn("w:header"), str(G.mm_to_twips(15)))
    pgmar.set(qn("w:footer"), str(footer))
    pgmar.set(qn("w:gutter"), "0")
    for attr in list(sect.attrib):
        del sect.attrib[attr]
    grid = sect.find(qn("w:docGrid"))
    if official:
        # 22 lines x 28 characters: line pitch 28.95 pt; char pitch = 156 mm / 28
        grid.set(qn("w:type"), "linesAndChars")
        grid.set(qn("w:linePitch"), str(G.LINE_SPACING_TWIPS))
        char_space = round((G.CHAR_PITCH_TWIPS / 20 - G.BODY_SIZE_PT) * 4096)
        grid.set(qn("w:charSpace"), str(char_space))
    else:
        grid.set(qn("w:type"), "lines")
        grid.set(qn("w:linePitch"), "312")


def _field_run(p: Any, *, instr: str | None = None, fld: str | None = None, text: str | None = None,
               east: str = SONG, size: float = 14) -> None:
    r = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    run_props(rpr, east, size)
    r.append(rpr)
    if fld:
        f = OxmlElement("w:fldChar")
        f.set(qn("w:fldCharType"), fld)
        r.append(f)
    elif instr:
        it = OxmlElement("w:instrText")
        it.set(qn("xml:space"), "preserve")
        it.text = instr
        r.append(it)
    else:
        t = OxmlElement("w:t")
        t.set(qn("xml:space"), "preserve")
        t.text = text
        r.append(t)
    p._p.append(r)


def page_number_paragraph(footer: Any, align: str, *, official: bool) -> None:
    footer.is_linked_to_previous = False
    p = footer.paragraphs[0]
    size = G.PAGE_NUMBER_SIZE_PT if official else 10.5
    ppr = p._p.get_or_add_pPr()
    # 空一字: one 4号 character (14 pt) from the text block edge
    _para_format(ppr, align=align, first_line_chars=0, exact=None, size=size,
                 right_chars=1 if align == "right" else 0, left_chars=1 if align == "left" else 0)
    mark = OxmlElement("w:rPr")
    run_props(mark, SONG, size)
    ppr.append(mark)
    prefix, suffix = (G.PAGE_NUMBER_PREFIX, G.PAGE_NUMBER_SUFFIX) if official else ("第 ", " 页")
    _field_run(p, text=prefix, size=size)
    _field_run(p, fld="begin", size=size)
    _field_run(p, instr=" PAGE ", size=size)
    _field_run(p, fld="separate", size=size)
    _field_run(p, text="1", size=size)
    _field_run(p, fld="end", size=size)
    _field_run(p, text=suffix, size=size)


def new_document(*, official: bool, title: str) -> Doc:
    doc = Document()
    # drop the default empty paragraph
    body = doc.element.body
    for p in body.findall(qn("w:p")):
        body.remove(p)
    if official:
        fix_styles(doc, BODY, G.BODY_SIZE_PT)
        add_para_style(doc, G.STYLE_TITLE, TITLE, G.TITLE_SIZE_PT, align="center", exact=G.LINE_SPACING_PT)
        add_para_style(doc, G.STYLE_BODY, BODY, G.BODY_SIZE_PT, first_line_chars=2, exact=G.LINE_SPACING_PT)
        add_para_style(doc, G.STYLE_HEADING1, H1, G.HEADING_SIZE_PT, first_line_chars=2, exact=G.LINE_SPACING_PT)
        add_para_style(doc, G.STYLE_HEADING2, H2, G.HEADING_SIZE_PT, first_line_chars=2, exact=G.LINE_SPACING_PT)
        add_para_style(doc, G.STYLE_DOC_NUMBER, BODY, G.BODY_SIZE_PT, align="center", exact=G.LINE_SPACING_PT)
        add_para_style(doc, G.STYLE_DATE, BODY, G.BODY_SIZE_PT, align="right", exact=G.LINE_SPACING_PT)
        add_para_style(doc, G.STYLE_ORG_MARK, TITLE, G.ORG_MARK_MAX_PT, align="center", exact=G.ORG_MARK_MAX_PT)
        add_para_style(doc, G.STYLE_HEAD_MARKS, H1, G.BODY_SIZE_PT, align="left", exact=G.LINE_SPACING_PT)
        add_para_style(doc, G.STYLE_RECIPIENT, BODY, G.BODY_SIZE_PT, align="left", exact=G.LINE_SPACING_PT)
        add_para_style(doc, G.STYLE_ATTACHMENT, BODY, G.BODY_SIZE_PT, exact=G.LINE_SPACING_PT)
        add_para_style(doc, G.STYLE_SIGNATURE, BODY, G.BODY_SIZE_PT, align="right", exact=G.LINE_SPACING_PT)
        add_para_style(doc, G.STYLE_NOTE, BODY, G.BODY_SIZE_PT, exact=G.LINE_SPACING_PT)
        add_para_style(doc, G.STYLE_RECORD, BODY, G.RECORD_SIZE_PT, align="left", exact=G.RECORD_SIZE_PT * 1.5)
    else:
        fix_styles(doc, SONG, 12)
    page_setup(doc, official=official)
    sec = doc.sections[0]
    doc.settings.odd_and_even_pages_header_footer = True
    page_number_paragraph(sec.footer, "right" if official else "center", official=official)
    page_number_paragraph(sec.even_page_footer, "left" if official else "center", official=official)
    cp = doc.core_properties
    cp.title = title
    cp.author = "guanai"
    cp.last_modified_by = "guanai"
    # how to edit the template is said in the README, not here: these properties end up in every
    # generated document and its PDF (the renderer rewrites title, subject, author and dates)
    cp.comments = "由 guanai（关爱档案）生成"
    cp.created = FIXED_TIME
    cp.modified = FIXED_TIME
    cp.revision = 1
    cp.keywords = ""
    cp.subject = ""
    cp.category = G.CATEGORY_OFFICIAL if official else G.CATEGORY_FORM
    return doc


# --------------------------------------------------------------------------- 公文 building blocks

EXACT = G.LINE_SPACING_PT


def o_blank(doc: Doc) -> None:
    para(doc, "", exact=EXACT, style=G.STYLE_BODY)


def _ppr_insert_early(p: Any, el: Any) -> None:
    """Insert a pPr child at its place in the schema's sequence (Word refuses another order)."""
    ppr = p._p.get_or_add_pPr()
    rank = PPR_ORDER.index(el.tag.split("}")[1])
    for child in ppr:
        name = child.tag.split("}")[1]
        if name in PPR_ORDER and PPR_ORDER.index(name) > rank:
            child.addprevious(el)
            return
    ppr.append(el)


def _no_snap(p: Any) -> None:
    snap = OxmlElement("w:snapToGrid")
    snap.set(qn("w:val"), "0")
    _ppr_insert_early(p, snap)


def _space_before(p: Any, twips: int) -> None:
    sp = p._p.get_or_add_pPr().find(qn("w:spacing"))
    sp.set(qn("w:before"), str(twips))


def o_head_marks(doc: Doc) -> None:
    """份号 / 密级和保密期限 / 紧急程度 (7.2.1-7.2.3): 3号黑体, 顶格, top left of the text block, one
    per line; in a frame anchored to the text block so the 发文机关标志 keeps its distance."""
    tag(doc, "{%p if head_marks %}")
    p = para(doc, "{{ head_marks }}", east=H1, align="left", exact=EXACT, style=G.STYLE_HEAD_MARKS)
    frame = OxmlElement("w:framePr")
    for attr, val in (("w:wrap", "around"), ("w:vAnchor", "margin"), ("w:hAnchor", "margin"),
                      ("w:x", "0"), ("w:y", "0"), ("w:w", str(G.mm_to_twips(60)))):
        frame.set(qn(attr), val)
    _ppr_insert_early(p, frame)
    tag(doc, "{%p endif %}")


def o_org_mark(doc: Doc, *, upward: bool) -> None:
    """发文机关标志 (7.2.4): red 小标宋, centred, top edge 35 mm (上行文 80 mm) below the block top.
    The renderer sizes it to its text (gbt9704.org_mark_size); 36 pt here."""
    size = G.ORG_MARK_MAX_PT
    p = para(doc, "{{ org_mark }}", east=TITLE, size=size, align="center", exact=size,
             style=G.STYLE_ORG_MARK, color=G.ORG_MARK_COLOR)
    _no_snap(p)
    top = G.ORG_MARK_TOP_UPWARD_MM if upward else G.ORG_MARK_TOP_MM
    # the glyph top sits ~0.06 em below the top of an exact line as tall as the type
    _space_before(p, G.mm_to_twips(top) - round(size * 20 * 0.06))


def _red_line_below(p: Any) -> None:
    bdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for attr, val in (("w:val", "single"), ("w:sz", str(G.SEPARATOR_EIGHTHS)),
                      ("w:space", str(G.SEPARATOR_GAP_PT)), ("w:color", G.SEPARATOR_COLOR)):
        bottom.set(qn(attr), val)
    bdr.append(bottom)
    _ppr_insert_early(p, bdr)


def _tab_stop(p: Any, pos_twips: int, align: str) -> None:
    tabs = OxmlElement("w:tabs")
    tab = OxmlElement("w:tab")
    tab.set(qn("w:val"), align)
    tab.set(qn("w:pos"), str(pos_twips))
    tabs.append(tab)
    _ppr_insert_early(p, tabs)


CHAR = round(G.BODY_SIZE_PT * 20)  # one 3号 character in twips
TEXT_WIDTH_TWIPS = G.mm_to_twips(G.TEXT_WIDTH_MM)


def o_number(doc: Doc, *, upward: bool) -> None:
    """发文字号 two lines below the mark: centred (下行文), or 左空一字 with 签发人 右空一字 on the
    same line (上行文, 7.2.5: "签发人：" 3号仿宋, names 3号楷体); the red line 4 mm below it."""
    if not upward:
        p = para(doc, "{{ doc_number }}", align="center", exact=EXACT, style=G.STYLE_DOC_NUMBER)
    else:
        p = para(doc, "{{ doc_number }}", align="left", exact=EXACT, style=G.STYLE_DOC_NUMBER, left_chars=1)
        _tab_stop(p, TEXT_WIDTH_TWIPS - CHAR, "right")
        # without a 签发人 (not yet known) the line holds the 发文字号 only; lint reports it
        for text, east in (("{% if signers_text %}\t签发人：", BODY), ("{{ signers_text }}{% endif %}", H2)):
            r = p.add_run(text)
            run_props(r._r.get_or_add_rPr(), east, G.BODY_SIZE_PT)
    _space_before(p, 2 * G.LINE_SPACING_TWIPS)
    _red_line_below(p)


def o_title(doc: Doc) -> None:
    p = para(doc, "{{ doc_title }}", east=TITLE, size=G.TITLE_SIZE_PT, align="center", exact=EXACT,
             style=G.STYLE_TITLE)
    # a 2号 title on the 28.95 pt document grid would snap each wrapped line to two grid lines
    _no_snap(p)
    # 红色分隔线下空二行
    _space_before(p, 2 * G.LINE_SPACING_TWIPS)


def o_body(doc: Doc, text: str) -> None:
    para(doc, text, first_line_chars=2, exact=EXACT, style=G.STYLE_BODY)


def o_h1(doc: Doc, text: str) -> None:
    para(doc, text, east=H1, first_line_chars=2, exact=EXACT, style=G.STYLE_HEADING1)


def o_h2(doc: Doc, text: str) -> None:
    para(doc, text, east=H2, first_line_chars=2, exact=EXACT, style=G.STYLE_HEADING2)


def _hanging(p: Any, left_chars: float, hanging_chars: float) -> None:
    ppr = p._p.get_or_add_pPr()
    for ind in ppr.findall(qn("w:ind")):
        ppr.remove(ind)
    ind = OxmlElement("w:ind")
    ind.set(qn("w:leftChars"), str(round(left_chars * 100)))
    ind.set(qn("w:left"), str(round(left_chars * CHAR)))
    ind.set(qn("w:hangingChars"), str(round(hanging_chars * 100)))
    ind.set(qn("w:hanging"), str(round(hanging_chars * CHAR)))
    ppr.find(qn("w:jc")).addprevious(ind)


def o_attachments(doc: Doc) -> None:
    """附件说明 (7.3.4): one line below the body, 左空二字 "附件：" then the names; several are
    numbered "1．" and a name that wraps lines up under its own first character."""
    tag(doc, "{%p if attachments %}")
    o_blank(doc)
    tag(doc, "{%p if attachments|length == 1 %}")
    p = para(doc, "附件：{{ attachments[0] }}", exact=EXACT, style=G.STYLE_ATTACHMENT)
    _hanging(p, 5, 3)
    tag(doc, "{%p else %}")
    tag(doc, "{%p for a in attachments %}")
    p = para(doc, "{% if loop.first %}附件：{% else %}\u3000\u3000\u3000{% endif %}{{ loop.index }}．{{ a }}",
             exact=EXACT, style=G.STYLE_ATTACHMENT)
    _hanging(p, 6.5, 4.5)
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endif %}")


def o_signature(doc: Doc, issuer: str = "{{ issuer }}") -> None:
    """署名 and 成文日期 (7.3.5): with a seal (7.3.5.1) two lines below the body, the date 右空四字
    and the 署名 centred over it; without (7.3.5.2) one line below, 署名 右空二字, the date two
    characters further right. The renderer sets the exact indents from the text
    (gbt9704.signature_indents) and keeps the block with the last lines of the body."""
    tag(doc, "{%p if seal %}")
    o_blank(doc)
    tag(doc, "{%p endif %}")
    o_blank(doc)
    para(doc, issuer, align="right", exact=EXACT, style=G.STYLE_SIGNATURE, right_chars=G.SIGNATURE_RIGHT_CHARS)
    para(doc, "{{ date }}", align="right", exact=EXACT, style=G.STYLE_DATE, right_chars=G.DATE_RIGHT_CHARS_SEAL)
    tag(doc, "{%p if note %}")
    para(doc, "（{{ note }}）", exact=EXACT, style=G.STYLE_NOTE, left_chars=2)
    tag(doc, "{%p endif %}")


EMU_PER_TWIP = 635
RECORD_LINE_PT = G.RECORD_SIZE_PT * 1.5
#: Height of the 版记 box: two 1.5-line rows and the space their borders take.
RECORD_BOX_TWIPS = round(2 * RECORD_LINE_PT * 20 + 4 * 60 + 40)

_ANCHOR = (
    '<w:r xmlns:w="{w}" xmlns:wp="{wp}" xmlns:a="{a}" xmlns:wps="{wps}"><w:rPr><w:rFonts w:ascii="{latin}"'
    ' w:hAnsi="{latin}" w:cs="{latin}" w:eastAsia="{east}" w:hint="eastAsia"/><w:sz w:val="2"/><w:szCs w:val="2"/>'
    '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr><w:drawing>'
    '<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="251659264" behindDoc="0"'
    ' locked="1" layoutInCell="0" allowOverlap="0">'
    '<wp:simplePos x="0" y="0"/>'
    '<wp:positionH relativeFrom="margin"><wp:align>center</wp:align></wp:positionH>'
    '<wp:positionV relativeFrom="margin"><wp:align>bottom</wp:align></wp:positionV>'
    '<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapTopAndBottom/>'
    '<wp:docPr id="1" name="版记"/><wp:cNvGraphicFramePr/>'
    '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
    '<wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
    '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/><a:ln><a:noFill/></a:ln></wps:spPr>'
    '<wps:txbx><w:txbxContent/></wps:txbx>'
    '<wps:bodyPr rot="0" vert="horz" wrap="square" lIns="0" tIns="0" rIns="0" bIns="0" anchor="b" anchorCtr="0">'
    '<a:noAutofit/></wps:bodyPr></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></w:r>'
)


class _Box:
    """Adapter so ``para()`` can add paragraphs inside a text box's w:txbxContent."""

    def __init__(self, doc: Doc, content: Any) -> None:
        self.doc, self.content = doc, content

    def add_paragraph(self, style: str | None = None) -> Any:
        from docx.text.paragraph import Paragraph

        p = OxmlElement("w:p")
        self.content.append(p)
        para_ = Paragraph(p, self.doc._body)
        if style:
            para_.style = self.doc.styles[style]
        return para_


def _record_cell(row_tr: Any, text: str, *, cc: bool) -> None:
    """One 版记 row: 4号仿宋; 抄送 wraps under the first organ (hanging), 印发 has a right tab."""
    size = G.RECORD_SIZE_PT
    char = round(size * 20)
    tc = row_tr.find(qn("w:tc"))
    p = tc.find(qn("w:p"))
    ppr = OxmlElement("w:pPr")
    p.append(ppr)
    style = OxmlElement("w:pStyle")
    style.set(qn("w:val"), G.STYLE_RECORD)
    ppr.append(style)
    if not cc:
        tabs = OxmlElement("w:tabs")
        tab = OxmlElement("w:tab")
        tab.set(qn("w:val"), "right")
        tab.set(qn("w:pos"), str(TEXT_WIDTH_TWIPS - 2 * char))
        tabs.append(tab)
        ppr.append(tabs)
    snap = OxmlElement("w:snapToGrid")
    snap.set(qn("w:val"), "0")
    ppr.append(snap)
    sp = OxmlElement("w:spacing")
    for attr, val in (("w:before", "0"), ("w:after", "0"), ("w:line", str(round(RECORD_LINE_PT * 20))),
                      ("w:lineRule", "exact")):
        sp.set(qn(attr), val)
    ppr.append(sp)
    ind = OxmlElement("w:ind")
    ind.set(qn("w:left"), str(3 * char if cc else 0))
    ind.set(qn("w:hanging" if cc else "w:firstLine"), str(3 * char if cc else 0))
    ppr.append(ind)
    jc = OxmlElement("w:jc")
    jc.set(qn("w:val"), "left")
    ppr.append(jc)
    mark = OxmlElement("w:rPr")
    run_props(mark, BODY, size)
    ppr.append(mark)
    r = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    run_props(rpr, BODY, size)
    r.append(rpr)
    for i, piece in enumerate(text.split("\t")):
        if i:
            r.append(OxmlElement("w:tab"))
        t = OxmlElement("w:t")
        t.set(qn("xml:space"), "preserve")
        t.text = piece
        r.append(t)
    p.append(r)


def o_record(doc: Doc) -> None:
    """版记 (7.4): 抄送机关 and 印发机关/印发日期 (4号仿宋, 左右各空一字) between separator lines as
    wide as the text block (first and last 0.35 mm, the one between 0.25 mm), at the foot of the
    last page: a one-column table (the lines are its borders, the 一字 its cell margins) in a text
    box anchored to the bottom of the text block (body text keeps clear of it, wrapTopAndBottom).
    LibreOffice ignores a floating table's bottom alignment and lays framed paragraphs inline; a
    DrawingML text box it places as Word does. The PDF step moves it to an even page (page
    break) when the body ends on an odd one."""
    from docx.oxml import parse_xml

    holder = para(doc, "", exact=1, size=1, style=G.STYLE_RECORD)
    run = parse_xml(_ANCHOR.format(
        w="http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
        a="http://schemas.openxmlformats.org/drawingml/2006/main",
        wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
        cx=TEXT_WIDTH_TWIPS * EMU_PER_TWIP, cy=RECORD_BOX_TWIPS * EMU_PER_TWIP, latin=LATIN, east=BODY))
    holder._p.append(run)
    content = run.find(".//" + qn("w:txbxContent"))
    char = round(G.RECORD_SIZE_PT * 20)
    rows = ["{%tr if cc_text %}", "抄送：{{ cc_text }}", "{%tr endif %}", "{{ printer }}\t{{ print_date }}"]
    thick, thin = G.RECORD_THICK_EIGHTHS, G.RECORD_THIN_EIGHTHS
    tbl = parse_xml(
        f'<w:tbl xmlns:w="{qn("w:x")[1:].split("}")[0]}"><w:tblPr><w:tblW w:w="{TEXT_WIDTH_TWIPS}" w:type="dxa"/>'
        '<w:jc w:val="center"/><w:tblBorders>'
        f'<w:top w:val="single" w:sz="{thick}" w:space="0" w:color="000000"/><w:left w:val="nil"/>'
        f'<w:bottom w:val="single" w:sz="{thick}" w:space="0" w:color="000000"/><w:right w:val="nil"/>'
        f'<w:insideH w:val="single" w:sz="{thin}" w:space="0" w:color="000000"/><w:insideV w:val="nil"/>'
        '</w:tblBorders><w:tblLayout w:type="fixed"/><w:tblCellMar>'
        f'<w:top w:w="60" w:type="dxa"/><w:left w:w="{char}" w:type="dxa"/>'
        f'<w:bottom w:w="60" w:type="dxa"/><w:right w:w="{char}" w:type="dxa"/>'
        '</w:tblCellMar><w:tblLook w:val="0000"/></w:tblPr>'
        f'<w:tblGrid><w:gridCol w:w="{TEXT_WIDTH_TWIPS}"/></w:tblGrid></w:tbl>')
    for text in rows:
        tr = parse_xml(
            f'<w:tr xmlns:w="{qn("w:x")[1:].split("}")[0]}"><w:trPr><w:cantSplit/></w:trPr><w:tc><w:tcPr>'
            f'<w:tcW w:w="{TEXT_WIDTH_TWIPS}" w:type="dxa"/></w:tcPr><w:p/></w:tc></w:tr>')
        _record_cell(tr, text, cc=text.startswith("抄送"))
        tbl.append(tr)
    content.append(tbl)
    # a text box's content ends with a paragraph
    end = OxmlElement("w:p")
    content.append(end)
    box = _Box(doc, content)
    content.remove(end)
    para(box, "", exact=1, size=1)


def o_head(doc: Doc, *, upward: bool = False) -> None:
    o_head_marks(doc)
    o_org_mark(doc, upward=upward)
    o_number(doc, upward=upward)
    o_title(doc)
    o_blank(doc)
    para(doc, "{{ recipient }}：", exact=EXACT, style=G.STYLE_RECIPIENT)


def o_end(doc: Doc) -> None:
    """附件说明, 署名, 成文日期, 附注 and the 版记."""
    o_attachments(doc)
    o_signature(doc)
    o_record(doc)


def tag(doc: Any, text: str, *, official: bool = True) -> None:
    """A paragraph holding only a docxtpl {%p ... %} tag (removed when rendered)."""
    if official:
        para(doc, text, exact=EXACT, style=G.STYLE_BODY)
    else:
        para(doc, text, east=SONG, size=12)


# --------------------------------------------------------------------------- tables


def table(container: Any, widths_mm: Sequence[float], rows: int, *, size: float = 10.5) -> Table:
    t = container.add_table(rows=rows, cols=len(widths_mm))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    for row in t.rows:
        for i, w in enumerate(widths_mm):
            row.cells[i].width = Mm(w)
    grid = t._tbl.tblGrid
    for i, gc in enumerate(grid.findall(qn("w:gridCol"))):
        gc.set(qn("w:w"), str(G.mm_to_twips(widths_mm[i])))
    return t


#: Values that must never break inside a cell (ids, dates): set at 9 pt, no wrapping.
UNBROKEN = ("{{ student_id }}", "{{ id_number }}", "{{ birth_date }}", "{{ f.date }}")


def cell(c: _Cell, text: str, *, bold: bool = False, align: str = "left", size: float = 10.5,
         east: str = SONG) -> None:
    if text in UNBROKEN:
        size = 9
        nowrap = OxmlElement("w:noWrap")
        c._tc.get_or_add_tcPr().append(nowrap)
    p = c.paragraphs[0]
    _para_format(p._p.get_or_add_pPr(), align=align, first_line_chars=0, exact=None, size=size)
    mark = OxmlElement("w:rPr")
    run_props(mark, east, size, bold)
    p._p.get_or_add_pPr().append(mark)
    if text:
        r = p.add_run(text)
        run_props(r._r.get_or_add_rPr(), east, size, bold)
    tcpr = c._tc.get_or_add_tcPr()
    va = OxmlElement("w:vAlign")
    va.set(qn("w:val"), "center")
    tcpr.append(va)


def label_row(t: Table, i: int, cells: list[tuple[int, int, str, bool]], *, size: float = 10.5,
              min_height_mm: float | None = None) -> None:
    """Fill row i: (first col, last col, text, is_label) — ranges are merged."""
    row = t.rows[i]
    for first, last, text, is_label in cells:
        target = row.cells[first]
        if last > first:
            target = target.merge(row.cells[last])
        cell(target, text, bold=is_label, align="center" if is_label else "left", size=size,
             east=H1 if is_label else SONG)
    if min_height_mm:
        row.height = Mm(min_height_mm)


def _row_flag(row: Any, tag_name: str) -> None:
    trpr = row._tr.get_or_add_trPr()
    if trpr.find(qn(tag_name)) is None:
        trpr.append(OxmlElement(tag_name))


def loop_table(container: Any, headers: list[str], cells_: list[str], widths: list[float], loop: str,
               *, size: float = 10.5, east: str = SONG, numeric: Sequence[int] = (),
               header_size: float | None = None) -> Table:
    """Header row + a {%tr for %} row + one content row + {%tr endfor %} row.

    The header row repeats on every page a long table runs onto (w:tblHeader), no row is split
    across pages (w:cantSplit), and numeric columns are right-aligned so digits line up.
    ``header_size``: a smaller size for headers that would otherwise wrap (结对帮扶人|数).
    """
    t = table(container, widths, 4, size=size)
    for i, h in enumerate(headers):
        cell(t.rows[0].cells[i], h, bold=True, align="center", size=header_size or size, east=H1)
    _row_flag(t.rows[0], "w:cantSplit")
    _row_flag(t.rows[0], "w:tblHeader")
    start = t.rows[1].cells[0].merge(t.rows[1].cells[len(widths) - 1])
    cell(start, "{%tr " + loop + " %}", size=size, east=east)
    for i, text in enumerate(cells_):
        cell(t.rows[2].cells[i], text, align="right" if i in numeric else "left", size=size, east=east)
    _row_flag(t.rows[2], "w:cantSplit")
    end = t.rows[3].cells[0].merge(t.rows[3].cells[len(widths) - 1])
    cell(end, "{%tr endfor %}", size=size, east=east)
    return t


def form_title(doc: Doc, text: str, size: float = 20) -> None:
    para(doc, text, east=TITLE, size=size, align="center", exact=size * 1.6)


def form_line(doc: Doc, text: str, *, align: str = "left", size: float = 12, first: int = 0,
              right: float = 0, keep: bool = False) -> None:
    """A line of a form; ``keep``: stays on the page of the next line (signature blocks)."""
    p = para(doc, text, east=SONG, size=size, align=align, exact=size * 1.7, first_line_chars=first,
             right_chars=right)
    if keep:
        _ppr_insert_early(p, OxmlElement("w:keepNext"))


# --------------------------------------------------------------------------- the kinds


def build_child_card() -> Doc:
    doc = new_document(official=False, title="一人一卡一策档案卡")
    form_title(doc, "一人一卡一策档案卡")
    form_line(doc, "学校：{{ school }}\u3000\u3000\u3000\u3000建档日期：{{ filed_date }}", align="center")
    # the grid: the old six columns (labels such as 村(居)委会 on one line; LibreOffice spaces the
    # brackets) with the last one split so that the top rows leave a column for the photo box
    w = [26, 31, 26, 28, 24, 35 - PHOTO_COL_MM, PHOTO_COL_MM]  # = 26 31 26 28 24 6 29
    top = [  # beside the photo: label / value / label / wide value
        [(0, 0, "姓名", True), (1, 1, "{{ name }}", False), (2, 2, "性别", True), (3, 5, "{{ gender }}", False)],
        [(0, 0, "民族", True), (1, 1, "{{ ethnicity }}", False), (2, 2, "出生日期", True),
         (3, 5, "{{ birth_date }}{% if age != '' %}（{{ age }}周岁）{% endif %}", False)],
        [(0, 0, "寄宿", True), (1, 1, "{{ boarding }}", False), (2, 2, "身份证号", True),
         (3, 5, "{{ id_number }}", False)],
        [(0, 0, "年级班级", True), (1, 1, "{{ grade }}{{ class_name }}", False), (2, 2, "学籍号", True),
         (3, 5, "{{ student_id }}", False)],
        [(0, 0, "身体状况", True), (1, 1, "{{ health }}", False), (2, 2, "家庭住址", True),
         (3, 5, "{{ address }}", False)],
    ]
    rows = [
        [(0, 0, "户籍村(居)", True), (1, 1, "{{ village }}", False), (2, 2, "村(居)委会", True),
         (3, 3, "{{ village_committee }}", False), (4, 4, "告知日期", True), (5, 6, "{{ village_informed }}", False)],
        [(0, 0, "监护人", True), (1, 1, "{{ guardian }}", False), (2, 2, "关系", True),
         (3, 3, "{{ guardian_relation }}", False), (4, 4, "联系电话", True), (5, 6, "{{ guardian_phone }}", False)],
        [(0, 0, "委托照护人", True), (1, 6, "{{ entrusted }}", False)],
        [(0, 0, "父亲情况", True), (1, 2, "{{ father }}", False), (3, 3, "母亲情况", True), (4, 6, "{{ mother }}", False)],
        [(0, 0, "类别", True), (1, 2, "{{ categories|join('、') }}", False), (3, 3, "困境情形", True),
         (4, 6, "{{ hardship|join('、') }}", False)],
        [(0, 0, "认定理由", True), (1, 6, "{{ reasons }}", False)],
        [(0, 0, "帮扶教师", True), (1, 2, "{{ mentor }}", False), (3, 3, "联系电话", True),
         (4, 6, "{{ mentor_phone }}", False)],
        [(0, 0, "需求评估", True), (1, 6, "{{ needs }}", False)],
        [(0, 6, "帮扶措施（一策）", True)],
        [(0, 0, "心理疏导", True), (1, 6, "{{ plan_psych }}", False)],
        [(0, 0, "学业辅导", True), (1, 6, "{{ plan_study }}", False)],
        [(0, 0, "生活资助", True), (1, 6, "{{ plan_living }}", False)],
        [(0, 0, "安全监管", True), (1, 6, "{{ plan_safety }}", False)],
        [(0, 0, "行为养成", True), (1, 6, "{{ plan_behaviour }}", False)],
    ]
    t = table(doc, w, len(top) + len(rows))
    for i, r in enumerate(top):
        label_row(t, i, r, min_height_mm=PHOTO_BOX_MM[1] / len(top) + 0.6)
    # the photo box: a 1-inch photo (25 x 35 mm) when the archive has one, else the word 照片
    box = t.cell(0, 6).merge(t.cell(len(top) - 1, 6))
    cell(box, "{% if photo %}{{ photo }}{% else %}照片{% endif %}", align="center", size=10.5)
    for i, r in enumerate(rows, start=len(top)):
        # the needs and the five measures get room to add to by hand
        tall = r[0][2] in ("需求评估", "心理疏导", "学业辅导", "生活资助", "安全监管", "行为养成")
        label_row(t, i, r, min_height_mm=10 if tall else 6.5)
    form_line(doc, "跟踪记录", align="center")
    track = loop_table(doc, ["日期", "方面", "内容", "记录人"],
                       ["{{ f.date }}", "{{ f.area }}", "{{ f.content }}", "{{ f.recorder }}"],
                       [32, 22, 90, 26], "for f in followups")  # the date column fits a date on one line
    for _ in range(CARD_BLANK_ROWS):  # empty rows to write later visits and talks by hand
        row = track.add_row()
        row.height = Mm(7)
        for c in row.cells:
            cell(c, "")
    signatures = table(doc, [57, 57, 56], 2)
    for i, who in enumerate(("班主任", "帮扶教师", "校长")):
        cell(signatures.rows[0].cells[i], f"{who}（签名）：", size=10.5)
        cell(signatures.rows[1].cells[i], "日期：\u3000\u3000年\u3000\u3000月\u3000\u3000日", size=10.5)
    signatures.rows[0].height = Mm(10)
    return doc


CARD_BLANK_ROWS = 3
#: The photo box: a 1-inch photo (25 x 35 mm) in a column wide enough for it and the cell margins.
PHOTO_BOX_MM = (25.0, 35.0)
PHOTO_COL_MM = 29


def build_home_visit() -> Doc:
    doc = new_document(official=False, title="家访记录表")
    form_title(doc, "家访记录表")
    w = [38, 47, 34, 51]  # "家长（监护人）意见" on one line of its label cell
    rows = [
        [(0, 0, "学校", True), (1, 1, "{{ school }}", False), (2, 2, "年级班级", True),
         (3, 3, "{{ grade }}{{ class_name }}", False)],
        [(0, 0, "儿童姓名", True), (1, 1, "{{ name }}", False), (2, 2, "学籍号", True), (3, 3, "{{ student_id }}", False)],
        [(0, 0, "家访时间", True), (1, 1, "{{ visit_date }} {{ visit_time }}", False), (2, 2, "家访形式", True),
         (3, 3, "{{ mode }}", False)],
        [(0, 0, "家访教师", True), (1, 3, "{{ teachers|join('、') }}", False)],
        [(0, 0, "会见人员及关系", True),
         (1, 3, "{% for m in met %}{{ m.name }}（{{ m.relation }}）{% if not loop.last %}、{% endif %}{% endfor %}",
          False)],
        [(0, 0, "家庭住址", True), (1, 3, "{{ address }}", False)],
        [(0, 0, "家庭情况", True), (1, 3, "{{ family }}", False)],
        [(0, 0, "在校表现", True), (1, 3, "{{ at_school }}", False)],
        [(0, 0, "在家表现", True), (1, 3, "{{ at_home }}", False)],
        [(0, 0, "家长（监护人）意见", True), (1, 3, "{{ guardian_opinion }}", False)],
        [(0, 0, "发现的问题", True), (1, 3, "{{ problems }}", False)],
        [(0, 0, "商定的措施", True), (1, 3, "{{ measures }}", False)],
        [(0, 0, "后续跟进", True), (1, 3, "{{ follow_up }}", False)],
        [(0, 0, "告知村（居）委会", True),
         (1, 3, "{{ village_informed }}{% if village_informed == '是' %}（告知对象：{{ village_contact }}，"
                "告知日期：{{ village_date }}）{% endif %}", False)],
    ]
    t = table(doc, w, len(rows))
    for i, r in enumerate(rows):
        label_row(t, i, r, min_height_mm=10)
    form_line(doc, "")
    # room to sign by hand, each signature with its date
    form_line(doc, "家访教师签名：" + BLANK + SIGN_DATE, align="right", right=1, keep=True)
    form_line(doc, "家长（监护人）签名：" + BLANK + SIGN_DATE, align="right", right=1)
    return doc


#: Room for a handwritten signature, and a date to fill in by hand.
BLANK = "\u3000" * 6
#: Short enough that a signature line with its date fits one line at 4号 (no "日" alone on a line).
SIGN_DATE = "日期：\u3000\u3000年\u3000月\u3000日"


def build_persuasion_notice() -> Doc:
    doc = new_document(official=False, title="劝返复学通知书")
    form_title(doc, "劝返复学通知书", 22)
    form_line(doc, "（{{ attempt_cn }}）", align="center", size=14)
    form_line(doc, "", size=14)
    form_line(doc, "{{ guardian }}：", size=14)
    form_line(doc, "您的孩子{{ name }}{% if grade or class_name %}（{{ grade }}{{ class_name }}）{% endif %}"
                   "自{{ absent_since }}起未到校上学。根据《中华人民共和国义务教育法》，"
                   "适龄儿童、少年的父母或者其他法定监护人应当依法保证其按时入学接受并完成义务教育。"
                   "这是学校{{ attempt_cn }}劝返。", size=14, first=2)
    form_line(doc, "请您于{{ return_by }}前送孩子返校复学。孩子在学习、生活上如有困难，请及时与学校联系，"
                   "学校将尽力帮助解决。", size=14, first=2)
    # the plan: after two failed persuasions the school reports to the township government
    tag(doc, "{%p if attempt == 2 %}", official=False)
    form_line(doc, "这是学校第二次书面劝返。如孩子到期仍未返校，学校将依照规定书面报告乡（镇）人民政府，"
                   "由乡（镇）人民政府依法督促您送孩子返校复学。", size=14, first=2)
    tag(doc, "{%p endif %}", official=False)
    form_line(doc, "学校联系人：{{ contact }}\u3000\u3000联系电话：{{ contact_phone }}", size=14, first=2)
    form_line(doc, "", size=14)
    form_line(doc, "{{ school }}", align="right", size=14, right=2)
    form_line(doc, "{{ issue_date }}", align="right", size=14, right=2)
    form_line(doc, "", size=14, keep=True)
    # the 回执 stays whole on one page with the cut line (it is cut off and returned)
    form_line(doc, "- - - - - - - - - - - - - - - - - - - - （沿此线剪下） - - - - - - - - - - - - - - - - - - - -",
              align="center", size=10.5, keep=True)
    form_line(doc, "回\u3000执", align="center", size=16, keep=True)
    form_line(doc, "本人已收到{{ school }}于{{ issue_date }}发出的关于{{ name }}的劝返复学通知书（{{ attempt_cn }}）。",
              size=14, first=2, keep=True)
    form_line(doc, "监护人签名：" + BLANK + SIGN_DATE, align="right", size=14, right=1)
    return doc


def _child_sentence(intro: str) -> str:
    return (intro + "{{ grade }}{{ class_name }}学生{{ name }}（{{ gender }}"
            "{% if student_id %}，学籍号{{ student_id }}{% endif %}"
            "{% if address %}，家住{{ address }}{% endif %}，监护人{{ guardian }}"
            "{% if guardian_phone %}，联系电话{{ guardian_phone }}{% endif %}）")


def build_dropout_report() -> Doc:
    doc = new_document(official=True, title="辍学情况报告")
    o_head(doc, upward=True)
    o_body(doc, _child_sentence("我校") + "自{{ absent_since }}起无故未到校，至今已{{ days_absent }}天。"
                "{{ reason }}")
    o_h1(doc, "一、劝返工作情况")
    o_body(doc, "学校先后{{ attempt_count }}次开展劝返，均未果，具体如下：")
    tag(doc, "{%p for a in attempts %}")
    o_body(doc, "{{ loop.index }}．{{ a.date }}，{{ a.method }}{% if a.people %}（{{ a.people }}）{% endif %}：{{ a.result }}")
    tag(doc, "{%p endfor %}")
    o_h1(doc, "二、请求事项")
    o_body(doc, "{{ request }}")
    o_body(doc, "联系人：{{ contact }}，联系电话：{{ contact_phone }}。")
    o_body(doc, "特此报告。")
    o_end(doc)
    return doc


def build_missing_report() -> Doc:
    doc = new_document(official=True, title="去向不明报告")
    o_head(doc, upward=True)
    o_h1(doc, "一、基本情况")
    o_body(doc, _child_sentence("我校") + "于{{ last_seen }}在{{ last_seen_place }}最后一次被见到，至今去向不明。")
    tag(doc, "{%p if description %}")
    o_body(doc, "体貌特征：{{ description }}")
    tag(doc, "{%p endif %}")
    o_h1(doc, "二、已采取的措施")
    o_body(doc, "{{ actions }}")
    o_h1(doc, "三、请求事项")
    o_body(doc, "现由学校和学生监护人共同报告，恳请协助查找该生下落。"
                "联系人：{{ contact }}，联系电话：{{ contact_phone }}。")
    o_body(doc, "特此报告。")
    o_attachments(doc)
    o_signature(doc)
    # jointly reported with the guardian (the plan): the guardian signs below the school
    para(doc, "监护人：{{ guardian }}", align="right", exact=EXACT, style=G.STYLE_BODY, right_chars=2)
    o_record(doc)
    return doc


def _inspection(kind: str) -> Doc:
    report = kind == "supervision-report"
    doc = new_document(official=True, title="督查报告" if report else "通报")
    o_head(doc, upward=report)
    o_body(doc, "{{ period }}，县教育体育局采取{{ methods_text }}等方式，对{{ scope }}开展了督查。现将有关情况"
                + ("报告如下：" if report else "通报如下："))
    o_h1(doc, "一、总体情况")
    o_body(doc, "{{ overview }}")
    o_h1(doc, "二、各校情况")
    tag(doc, "{%p for f in findings %}")
    o_h2(doc, "（{{ loop.index|cn_num }}）{{ f.school }}")
    o_body(doc, "{{ f.finding }}")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p if figures %}")
    o_body(doc, "各校主要数据见下表。")
    loop_table(doc, ["学校", "在册人数", "建档人数", "结对帮扶人数", "家访人数"],
               ["{{ r.school }}", "{{ r.enrolled }}", "{{ r.filed }}", "{{ r.mentored }}", "{{ r.visited }}"],
               [44, 28, 28, 28, 28], "for r in figures", size=12, east=BODY, numeric=(1, 2, 3, 4),
               header_size=10.5)  # 6 characters of 五号 in 28 mm: no header wraps
    tag(doc, "{%p endif %}")
    # the figures' chart (--from-stats): an InlineImage in a paragraph of automatic height (an
    # exact 28.95 pt line would clip it), its caption a centred body line
    tag(doc, "{%p if chart %}")
    pic = para(doc, "{{ chart }}", align="center", exact=None, style=G.STYLE_BODY)
    _ppr_insert_early(pic, OxmlElement("w:keepNext"))
    para(doc, "{{ chart_caption }}", align="center", exact=EXACT, style=G.STYLE_BODY)
    tag(doc, "{%p endif %}")
    o_h1(doc, "三、存在问题")
    tag(doc, "{%p for p in problems %}")
    o_body(doc, "{{ loop.index }}．{{ p }}")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p if not problems %}")
    o_body(doc, "本次督查未发现突出问题。")
    tag(doc, "{%p endif %}")
    o_h1(doc, "四、整改要求")
    tag(doc, "{%p for r in rectifications %}")
    o_body(doc, "{{ loop.index }}．{{ r.requirement }}（整改期限：{{ r.deadline }}前）")
    tag(doc, "{%p endfor %}")
    if not report:
        o_h1(doc, "五、表扬与批评")
        o_body(doc, "{% if commended %}对{{ commended|join('、') }}予以通报表扬。{% endif %}"
                    "{% if criticised %}对{{ criticised|join('、') }}予以通报批评，限期整改。{% endif %}"
                    "{% if not commended and not criticised %}无。{% endif %}")
    o_end(doc)
    return doc


def build_leading_group_notice() -> Doc:
    doc = new_document(official=True, title="关于成立领导小组的通知")
    o_head(doc)
    tag(doc, "{%p for p in body %}")
    o_body(doc, "{{ p }}")
    tag(doc, "{%p endfor %}")
    o_body(doc, "{{ group_intro }}")
    for var, label in (("leaders_cn", "组\u3000长："), ("deputies_cn", "副组长："), ("members_cn", "成\u3000员：")):
        tag(doc, "{%p for p in " + var + " %}")
        o_body(doc, "{% if loop.first %}" + label + "{% else %}\u3000\u3000\u3000\u3000{% endif %}{{ p }}")
        tag(doc, "{%p endfor %}")
    tag(doc, "{%p if office %}")
    o_body(doc, "{{ office }}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p for p in closing %}")
    o_body(doc, "{{ p }}")
    tag(doc, "{%p endfor %}")
    o_end(doc)
    return doc


def build_entrusted_care() -> Doc:
    doc = new_document(official=False, title="委托照护告知书")
    form_title(doc, "委托照护告知书", 22)
    form_line(doc, "", size=14)
    form_line(doc, "{{ village_committee }}、{{ school }}：", size=14)
    form_line(doc, "我们是{{ school }}{{ grade }}{{ class_name }}学生{{ name }}（{{ gender }}）的"
                   "{% for p in parents %}{{ p.relation }}{{ p.name }}{% if not loop.last %}、{% endif %}{% endfor %}。"
                   "因外出务工，不能亲自照护孩子，现委托{{ trustee }}（与孩子关系：{{ trustee_relation }}，"
                   "联系电话：{{ trustee_phone }}{% if trustee_address %}，住址：{{ trustee_address }}{% endif %}）"
                   "自{{ start }}至{{ end }}代为照护。受委托人同意并承诺履行以下照护职责：", size=14, first=2)
    tag(doc, "{%p for d in duties %}", official=False)
    form_line(doc, "{{ loop.index }}．{{ d }}", size=14, first=2)
    tag(doc, "{%p endfor %}", official=False)
    form_line(doc, "委托期间，我们将经常与孩子、受委托人和学校保持联系。联系方式如下：", size=14, first=2)
    loop_table(doc, ["委托人", "关系", "联系电话", "务工地点"],
               ["{{ p.name }}", "{{ p.relation }}", "{{ p.phone }}", "{{ p.workplace }}"],
               [36, 30, 44, 60], "for p in parents", size=12)
    form_line(doc, "特此告知。", size=14, first=2, keep=True)
    form_line(doc, "", size=14, keep=True)
    # one signature line per parent who entrusts the child, then the trustee's; the block stays
    # on one page with the last line of text
    tag(doc, "{%p for p in parents %}", official=False)
    form_line(doc, "委托人（{{ p.relation }}{{ p.name }}）签名：" + BLANK + SIGN_DATE, align="right", size=14, right=1,
              keep=True)
    tag(doc, "{%p endfor %}", official=False)
    form_line(doc, "受委托人（{{ trustee }}）签名：" + BLANK + SIGN_DATE, align="right", size=14, right=1, keep=True)
    form_line(doc, "", size=14, keep=True)
    form_line(doc, "{{ date }}", align="right", size=14, right=2)
    return doc


def build_care_record() -> Doc:
    doc = new_document(official=False, title="帮扶记录")
    form_title(doc, "帮扶记录")
    w = [34, 51, 34, 51]
    rows = [
        [(0, 0, "学校", True), (1, 1, "{{ school }}", False), (2, 2, "日期", True), (3, 3, "{{ date }}", False)],
        [(0, 0, "儿童姓名", True), (1, 1, "{{ name }}", False), (2, 2, "年级班级", True),
         (3, 3, "{{ grade }}{{ class_name }}", False)],
        [(0, 0, "帮扶方面", True), (1, 1, "{{ area }}", False), (2, 2, "帮扶人", True), (3, 3, "{{ by }}", False)],
        [(0, 0, "帮扶内容", True), (1, 3, "{{ content }}", False)],
        [(0, 0, "帮扶效果", True), (1, 3, "{{ result }}", False)],
        [(0, 0, "下一步打算", True), (1, 3, "{{ next_steps }}", False)],
    ]
    t = table(doc, w, len(rows))
    for i, r in enumerate(rows):
        label_row(t, i, r, min_height_mm=12)
    form_line(doc, "")
    form_line(doc, "帮扶人签名：" + BLANK + SIGN_DATE, align="right", right=1)
    return doc


def build_transfer_slip() -> Doc:
    """档案转接单 (not a form kind: filled by ``generators.slip`` from a transfer's ``Slip``)."""
    doc = new_document(official=False, title="档案转接单")
    form_title(doc, "档案转接单", size=18)
    for line in ("转出学校：{{ sender_name }}（{{ sender_code }}）", "转入学校：{{ recipient_name }}（{{ recipient_code }}）",
                 "学生：{{ name }}\u3000学籍号：{{ student_id }}", "转接包编号：{{ package_id }}",
                 "打包时间：{{ created_at }}", "本学生共移交文件 {{ rows|length }} 件，逐件列明 SHA-512 校验值如下："):
        form_line(doc, line)
    t = loop_table(doc, ["序号", "文书", "大小（字节）", "SHA-512"],
                   ["{{ r.number }}", "{{ r.label }}", "{{ r.size }}", "{{ r.sha512 }}"], [11, 45, 22, 92],
                   "for r in rows", size=9)
    # the digest in a fixed-width face (128 hex digits read and compared by people), smaller
    for run in t.rows[2].cells[3]._tc.iter(qn("w:r")):
        rpr = run.find(qn("w:rPr"))
        run_props(rpr, SONG, 7)
        set_rfonts(rpr, SONG, "Courier New")
    form_line(doc, "")
    form_line(doc, "转出学校经办人（签字）：__________\u3000\u3000转入学校经办人（签字）：__________")
    form_line(doc, "说明：本单随转接包一并移交；接收学校可用 guanai transfer inspect 核对每件文件的校验值。", size=9)
    return doc


BUILDERS: dict[str, Callable[[], Doc]] = {
    "child-card": build_child_card,
    "home-visit": build_home_visit,
    "persuasion-notice": build_persuasion_notice,
    "dropout-report": build_dropout_report,
    "missing-report": build_missing_report,
    "supervision-report": lambda: _inspection("supervision-report"),
    "circular": lambda: _inspection("circular"),
    "leading-group-notice": build_leading_group_notice,
    "entrusted-care": build_entrusted_care,
    "care-record": build_care_record,
    "transfer-slip": build_transfer_slip,
}


#: Parts of python-docx's default package that do not belong in our templates: a thumbnail of
#: an unrelated document and the Word 2010 copy of the styles (with theme fonts).
DROP_PARTS = ("docProps/thumbnail.jpeg", "word/stylesWithEffects.xml")


def _drop_references(name: str, xml: bytes) -> bytes:
    text = xml.decode("utf-8")
    for part in DROP_PARTS:
        base = part.rsplit("/", 1)[-1]
        if name.endswith(".rels"):
            text = re.sub(r'<Relationship [^>]*Target="[^"]*' + re.escape(base) + r'"[^>]*/>', "", text)
        elif name == "[Content_Types].xml":
            text = re.sub(r'<Override [^>]*PartName="/' + re.escape(part) + r'"[^>]*/>', "", text)
    return text.encode("utf-8")


OFFICIAL_STYLES = (G.STYLE_TITLE, G.STYLE_BODY, G.STYLE_HEADING1, G.STYLE_HEADING2, G.STYLE_DOC_NUMBER, G.STYLE_DATE,
                   G.STYLE_ORG_MARK, G.STYLE_HEAD_MARKS, G.STYLE_RECIPIENT, G.STYLE_ATTACHMENT, G.STYLE_SIGNATURE,
                   G.STYLE_NOTE, G.STYLE_RECORD)


def _slim_styles(src: zipfile.ZipFile) -> bytes | None:
    """styles.xml without python-docx's latent styles and the styles no part of ours uses.

    The default package's styles.xml is 350 KB (~160 styles, 276 latent-style entries for
    Word's gallery); LibreOffice spends ~100 ms importing it for every PDF. Word/WPS use their
    built-in definitions for any style a secretary picks later.
    """
    # our 公文 styles stay even where a template does not use them yet: a secretary editing it in
    # Word/WPS picks them from the style list (python-docx's style id is the name without spaces)
    used = {name.replace(" ", "") for name in OFFICIAL_STYLES}
    for name in src.namelist():
        if name.startswith("word/") and name.endswith(".xml") and name != "word/styles.xml":
            refs = style_references(src.read(name))
            if refs is None:
                raise ValueError(f"{name} is not well-formed XML")
            used |= refs
    return slim_styles(src.read("word/styles.xml"), used)


def reproducible_zip(data: bytes) -> bytes:
    """Rewrite the package with fixed timestamps and a fixed member order (same bytes every build)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    styles = _slim_styles(src)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in DROP_PARTS:
                continue
            content = src.read(info.filename)
            if info.filename == "word/styles.xml" and styles is not None:
                content = styles
            if info.filename.endswith(".rels") or info.filename == "[Content_Types].xml":
                content = _drop_references(info.filename, content)
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, content)
    return out.getvalue()


def build(kind: str) -> bytes:
    doc = BUILDERS[kind]()
    buf = io.BytesIO()
    doc.save(buf)
    return reproducible_zip(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    for kind in BUILDERS:
        data = build(kind)
        target = out / f"{kind}.docx"
        tmp = target.with_suffix(".docx.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
        print(f"{target}  {len(data)} 字节")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
