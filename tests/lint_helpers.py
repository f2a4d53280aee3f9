"""Builder of GB/T 9704 公文 .docx fixtures: a correct one, and each property breakable on demand.

Written with python-docx independently of the project's templates, so that the checker is
tested against documents it did not produce.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field, replace
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from guanai.generators import gbt9704 as G


@dataclass(frozen=True)
class Spec:
    page_mm: tuple[float, float] = (210, 297)
    margins_mm: dict[str, float] = field(
        default_factory=lambda: {"top": 37, "bottom": 35, "left": 28, "right": 26}
    )
    header_text: str = "萧县教育体育局文件"
    doc_number: str = "萧教体〔2020〕9号"
    title: str = "关于做好农村留守儿童和困境儿童关爱保护工作的通知"
    title_font: str = G.FONT_TITLE
    title_size: float = 22
    body_font: str | None = G.FONT_BODY
    body_size: float = 16
    line_spacing_pt: float | None = G.LINE_SPACING_PT  # None: single spacing
    heading1_font: str = G.FONT_HEADING1
    heading2_font: str = G.FONT_HEADING2
    heading3_font: str = G.FONT_HEADING3
    date: str = "2020年4月20日"
    even_odd: bool = True
    odd_align: str = "right"
    even_align: str = "left"
    page_dash: str = "\u2014"
    footer_font: str = G.FONT_PAGE_NUMBER
    footer_size: float = 14
    lang: str = "zh-CN"
    theme_font_lang: str = "zh-CN"
    body_theme_override: bool = False  # eastAsiaTheme on body runs next to the explicit name
    default_theme: bool = False  # keep python-docx's theme fonts in docDefaults
    default_east_asia: bool = True  # w:eastAsia in docDefaults
    use_field_simple: bool = False  # PAGE as w:fldSimple instead of a complex field
    body_paragraphs: int = 3
    justify_body: bool = False  # w:jc="both" and a 2-character first-line indent (as WPS/Word 公文 do)
    closing_text: str = "各校要在开学一周内完成排查，做到一人一卡一策。"
    header_color: str | None = "FF0000"  # 发文机关标志 in red
    red_line: bool = True  # 版头分隔线 under the 发文字号
    record: bool = True  # 版记 with 印发机关和印发日期
    break_title: bool = True  # a long title broken between words (gbt9704.title_lines)
    recipient_indent: bool = False  # 主送机关 indented two characters (wrong)


def _set_run(run: Any, east_asia: str | None, size: float, latin: str = G.FONT_LATIN, theme: bool = False) -> None:
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    if east_asia is not None:
        rfonts.set(qn("w:eastAsia"), east_asia)
    if theme:
        rfonts.set(qn("w:eastAsiaTheme"), "minorEastAsia")
    run.font.size = Pt(size)


def _spacing(paragraph: Any, spec: Spec) -> None:
    pf = paragraph.paragraph_format
    if spec.line_spacing_pt is None:
        pf.line_spacing = 1.0
    else:
        pf.line_spacing = Pt(spec.line_spacing_pt)
        from docx.enum.text import WD_LINE_SPACING

        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)


def _clean_styles(doc: Any, spec: Spec) -> None:
    styles = doc.styles.element
    if not spec.default_theme:
        for rfonts in styles.iter(qn("w:rFonts")):
            for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                if rfonts.get(qn(attr)) is not None:
                    del rfonts.attrib[qn(attr)]
    rpr_default = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    rfonts = rpr_default.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr_default.insert(0, rfonts)
    rfonts.set(qn("w:ascii"), G.FONT_LATIN)
    rfonts.set(qn("w:hAnsi"), G.FONT_LATIN)
    if not spec.default_theme and spec.default_east_asia:
        rfonts.set(qn("w:eastAsia"), G.FONT_BODY)
    lang = rpr_default.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr_default.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), spec.lang)
    settings = doc.settings.element
    tfl = settings.find(qn("w:themeFontLang"))
    if tfl is not None:
        tfl.set(qn("w:eastAsia"), spec.theme_font_lang)


def _page_field(paragraph: Any, spec: Spec, align: str) -> None:
    paragraph.alignment = {
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
    }[align]
    for r in list(paragraph.runs):
        r._element.getparent().remove(r._element)
    dash = spec.page_dash
    _set_run(paragraph.add_run(f"{dash} "), spec.footer_font, spec.footer_size, latin=spec.footer_font)
    if spec.use_field_simple:
        fld = OxmlElement("w:fldSimple")
        fld.set(qn("w:instr"), " PAGE ")
        paragraph._p.append(fld)
        inner = paragraph.add_run("1")
        _set_run(inner, spec.footer_font, spec.footer_size, latin=spec.footer_font)
        fld.append(inner._element)
    else:
        for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
            run = paragraph.add_run()
            _set_run(run, spec.footer_font, spec.footer_size, latin=spec.footer_font)
            if kind:
                fc = OxmlElement("w:fldChar")
                fc.set(qn("w:fldCharType"), kind)
                run._element.append(fc)
            elif text == " PAGE ":
                it = OxmlElement("w:instrText")
                it.set(qn("xml:space"), "preserve")
                it.text = text
                run._element.append(it)
            else:
                run.text = text
    _set_run(paragraph.add_run(f" {dash}"), spec.footer_font, spec.footer_size, latin=spec.footer_font)


def build_gongwen(spec: Spec | None = None, **changes: Any) -> bytes:
    """A 公文 .docx; with no arguments it follows GB/T 9704-2012 in every checked property."""
    spec = replace(spec or Spec(), **changes)
    doc = Document()
    _clean_styles(doc, spec)
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(spec.page_mm[0]), Mm(spec.page_mm[1])
    sec.top_margin = Mm(spec.margins_mm["top"])
    sec.bottom_margin = Mm(spec.margins_mm["bottom"])
    sec.left_margin = Mm(spec.margins_mm["left"])
    sec.right_margin = Mm(spec.margins_mm["right"])
    doc.settings.odd_and_even_pages_header_footer = spec.even_odd

    def para(text: str, font: str | None, size: float, *, center: bool = False, right: bool = False,
             spacing: bool = True, theme: bool = False, justify: bool = False) -> Any:
        p = doc.add_paragraph()
        if justify:
            p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            p.paragraph_format.first_line_indent = Pt(2 * size)
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if right:
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if spacing:
            _spacing(p, spec)
        _set_run(p.add_run(text), font, size, theme=theme)
        return p

    # The python-docx default document starts with no paragraph; add the 版头.
    mark = para(spec.header_text, G.FONT_TITLE, 26, center=True, spacing=False)
    if spec.header_color:
        mark.runs[0].font.color.rgb = RGBColor.from_string(spec.header_color)
    if spec.doc_number:
        number = para(spec.doc_number, spec.body_font, spec.body_size, center=True)
        if spec.red_line:
            bdr = OxmlElement("w:pBdr")
            bottom = OxmlElement("w:bottom")
            for attr, val in (("w:val", "single"), ("w:sz", "12"), ("w:space", "11"), ("w:color", "FF0000")):
                bottom.set(qn(attr), val)
            bdr.append(bottom)
            number._p.get_or_add_pPr().insert(0, bdr)
    title = G.title_lines(spec.title) if spec.break_title else spec.title
    para(title, spec.title_font, spec.title_size, center=True, spacing=False)
    recipient = para("各乡镇中心学校，县直各学校：", spec.body_font, spec.body_size, theme=spec.body_theme_override)
    if spec.recipient_indent:
        recipient.paragraph_format.first_line_indent = Pt(2 * spec.body_size)
    for i in range(spec.body_paragraphs):
        para(f"为贯彻落实县政府工作要求，第{i + 1}项工作于2020年3月启动，请各校高度重视。",
             spec.body_font, spec.body_size, theme=spec.body_theme_override)
    para("一、工作目标", spec.heading1_font, spec.body_size)
    para("（一）摸底排查", spec.heading2_font, spec.body_size)
    para("1.建立台账", spec.heading3_font, spec.body_size)
    para(spec.closing_text, spec.body_font, spec.body_size, theme=spec.body_theme_override,
         justify=spec.justify_body)
    para("萧县教育体育局", spec.body_font, spec.body_size, right=True)
    if spec.date:
        para(spec.date, spec.body_font, spec.body_size, right=True)
    para("抄送：县政府办公室。", spec.body_font, 14, spacing=False)
    if spec.record:
        para("萧县教育体育局办公室\t2020年4月20日印发", spec.body_font, 14, spacing=False)

    _page_field(sec.footer.paragraphs[0], spec, spec.odd_align)
    if spec.even_odd:
        _page_field(sec.even_page_footer.paragraphs[0], spec, spec.even_align)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def rezip(docx: bytes, *, replace_parts: dict[str, bytes] | None = None, drop: tuple[str, ...] = ()) -> bytes:
    """The same .docx with some parts replaced or removed (for hostile-input tests)."""
    src = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    replace_parts = replace_parts or {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = replace_parts.pop(info.filename, None)
            zf.writestr(info.filename, data if data is not None else src.read(info.filename))
        for name, data in replace_parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def part(docx: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(docx)).read(name)
