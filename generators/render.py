"""Fast, sandboxed docxtpl-compatible renderer: ``render(kind, form) -> .docx bytes``.

Semantics are docxtpl's (same tag syntax: ``{{ }}``, ``{% %}``, ``{%p %}``, ``{%tr %}``; the XML is
prepared with docxtpl's own ``patch_xml``), with these differences, all deliberate (docs/NOTES.md):

- Jinja runs in an ``ImmutableSandboxedEnvironment`` with autoescape and ``StrictUndefined``;
  templates are checked statically for ``_``-attributes before they are compiled, so
  ``{{ ''.__class__.__mro__ }}`` or ``cycler.__init__.__globals__`` are refused with a message.
- Values are normalised by the form models (control characters removed, ``\\t \\a \\f`` turned
  into spaces/line breaks) so docxtpl's "listing" side channel cannot change the layout.
- The rendered XML is parsed strictly (lxml without ``recover``); docxtpl's recovering re-parse,
  which drops data silently, never happens.
- Each template is read, patched and compiled once and cached (keyed by path, size, mtime); zip
  members that have no Jinja in them are copied as their compressed bytes; the output zip is
  written with fixed timestamps, so the same form gives the same bytes.

- docProps/core.xml is written from the form (title, kind, issuer, date): a template's own
  properties (with its editing notes) never reach a generated document or its PDF.
- Entities inside tags (``{{ x|default(&quot;无&quot;) }}``, as some editors write quotes) are
  read as the characters they stand for, as docxtpl's lxml round trip does.

Supported in the sandbox: docxtpl's ``RichText`` (its markup goes through ``__html__``) and
``InlineImage`` (this module's class: image bytes and a size, no DocxTemplate needed; body only).
Not supported: ``{%tc %}`` column loops (no gridCol fix-up), Subdoc, and Jinja in docProps.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import struct
import subprocess
import sys
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from lxml import etree
from pydantic import ValidationError

from guanai.base.errors import InputError
from guanai.base.proc import scrubbed_env
from guanai.generators.forms import FormBase, FormError, normalise_text, problems_from
from guanai.generators.kinds import Kind, get_kind
from guanai.generators.text import error_detail

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MAX_TEMPLATE_BYTES = 20 * 1024 * 1024
MAX_PART_BYTES = 10 * 1024 * 1024
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00


def bundled_template_dir() -> Path:
    from guanai.generators.assets import TEMPLATE_DIR

    return TEMPLATE_DIR


# --------------------------------------------------------------------------- Jinja environment

_CN_DIGITS = "零一二三四五六七八九"


def cn_num(value: Any) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (for 公文 headings “（一）”)."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return str(value)
    if n < 0 or n >= 100:
        return str(n)
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def make_env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        autoescape=True, undefined=StrictUndefined, finalize=_finalize, keep_trailing_newline=True
    )
    # Generators a template has no business with (lipsum burns CPU; cycler/joiner are object handles).
    for name in ("lipsum", "cycler", "joiner", "namespace"):
        env.globals.pop(name, None)
    env.filters["cn_num"] = cn_num
    return env


_ENV = make_env()


def unsafe_expressions(ast: nodes.Template) -> list[str]:
    """Attribute/item accesses to names starting with '_' (the way out of every sandbox escape)."""
    found = []
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            found.append(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
            found.append(node.arg.value)
    return found


# --------------------------------------------------------------------------- compiled templates


@dataclass
class _Member:
    name: bytes
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    data: bytes  # compressed bytes (raw members) — empty for rendered parts
    template: Any = None  # jinja Template for parts with tags
    decl: str = ""  # the XML declaration kept out of Jinja


@dataclass
class CompiledTemplate:
    path: Path
    members: list[_Member]
    variables: set[str]


_CACHE: dict[tuple[str, int, int], CompiledTemplate] = {}
_CACHE_LOCK = threading.Lock()


def _is_renderable(name: str) -> bool:
    return name == "word/document.xml" or bool(re.fullmatch(r"word/(header|footer)\d*\.xml|word/footnotes\.xml", name))


_TAG_SPAN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def _tag_entities(m: re.Match[str]) -> str:
    # &amp; last: "&amp;quot;" is the text &quot;, not a quote
    return (m.group(0).replace("&quot;", '"').replace("&#34;", '"').replace("&apos;", "'").replace("&#39;", "'")
            .replace("&amp;", "&"))


def _patch(xml: str) -> str:
    from docxtpl import DocxTemplate

    patched: str = DocxTemplate.patch_xml(None, xml)
    # Entities inside a tag as some editors write them ({{ x|default(&quot;无&quot;) }}): docxtpl
    # reads the part through lxml, whose serialisation turns quotes back into quotes; inside a
    # tag the text is Jinja source, so a string literal holds what the user typed ("A&B", not
    # "A&amp;B": autoescape escapes it once on the way out)
    if "&" in patched:
        patched = _TAG_SPAN.sub(_tag_entities, patched)
    # docxtpl's escapes for literal braces, resolved in the template (not in the output, where a
    # value containing "{_{" would otherwise be altered)
    for esc, lit in (("{_{", "{{"), ("}_}", "}}"), ("{_%", "{%"), ("%_}", "%}")):
        patched = patched.replace(esc, "{{ '" + lit + "' }}")
    # docxtpl does this too: one paragraph per line, so Jinja errors point at a paragraph
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", patched)


def _raw_member(zf: zipfile.ZipFile, raw: bytes, info: zipfile.ZipInfo) -> _Member:
    off = info.header_offset
    name_len, extra_len = struct.unpack("<HH", raw[off + 26 : off + 30])
    start = off + 30 + name_len + extra_len
    data = raw[start : start + info.compress_size]
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # re-deflate members in other methods (rare) so readers without bzip2/lzma cope
        content = zf.read(info.filename)
        data = _deflate(content)
        return _Member(info.filename.encode("utf-8"), 0x800, 8, zlib.crc32(content), len(data), len(content), data)
    return _Member(info.filename.encode("utf-8"), 0x800, info.compress_type, info.CRC, info.compress_size,
                   info.file_size, data)


def compile_template(path: Path) -> CompiledTemplate:
    """Read, patch, statically check and compile a .docx template (cached)."""
    try:
        st = path.stat()
    except OSError as err:
        raise InputError(f"找不到模板文件 {path}。", "检查 --templates 目录中是否有该种类的 .docx 模板。") from err
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    if st.st_size > MAX_TEMPLATE_BYTES:
        raise InputError(f"模板 {path.name} 过大（{st.st_size // 1024} KB）。", "模板不应超过 20 MB。")
    raw = path.read_bytes()
    members: list[_Member] = []
    variables: set[str] = set()
    try:
        zf = zipfile.ZipFile(_bytes_io(raw))
        infos = zf.infolist()
    except zipfile.BadZipFile as err:
        raise InputError(f"模板 {path.name} 不是有效的 .docx 文件（{error_detail(err)}）。", "用 Word/WPS 另存为 .docx 后再试。") from err
    names = [i.filename for i in infos]
    if "word/document.xml" not in names:
        raise InputError(f"模板 {path.name} 缺少 word/document.xml，不是 Word 文档。", "用 Word/WPS 另存为 .docx 后再试。")
    for info in infos:
        if _is_renderable(info.filename):
            if info.file_size > MAX_PART_BYTES:
                raise InputError(f"模板 {path.name} 的 {info.filename} 过大。", "模板正文不应超过 10 MB。")
            text = zf.read(info.filename).decode("utf-8")
            if "{{" in text or "{%" in text or "{#" in text:
                decl = ""
                m = re.match(r"<\?xml[^>]*\?>\s*", text)
                if m:
                    decl, text = m.group(0).strip(), text[m.end():]
                src = _patch(text)
                try:
                    ast = _ENV.parse(src)
                except TemplateSyntaxError as err:
                    raise InputError(
                        f"模板 {path.name} 有语法错误：{err.message}（{_near(src, err.lineno)}）。",
                        "检查 {{ }} 与 {% %} 是否成对、拼写是否正确；可用 `guanai template check` 检查。",
                    ) from err
                bad = unsafe_expressions(ast)
                if bad:
                    raise InputError(
                        f"模板 {path.name} 含有不安全的表达式（访问 {', '.join(sorted(set(bad)))}），已拒绝。",
                        "模板中只能使用表单字段，不能访问以下划线开头的属性。",
                    )
                variables |= meta.find_undeclared_variables(ast)
                template = _ENV.from_string(src)
                members.append(_Member(info.filename.encode("utf-8"), 0x800, 8, 0, 0, 0, b"", template, decl))
                continue
        members.append(_raw_member(zf, raw, info))
    compiled = CompiledTemplate(path, members, variables)
    with _CACHE_LOCK:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = compiled
    return compiled


def _bytes_io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def _near(src: str, lineno: int | None) -> str:
    if not lineno:
        return "位置不明"
    lines = src.splitlines()
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    text = re.sub(r"<[^>]+>", "", line).strip()
    return f"附近文字：“{text[:60]}”" if text else f"第 {lineno} 段"


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


# --------------------------------------------------------------------------- rendering

_T_WITH_NL = re.compile(r"(<w:t(?: [^>]*)?>)([^<]*\n[^<]*)</w:t>")
_PARSER = etree.XMLParser(recover=False, resolve_entities=False, no_network=True, huge_tree=False)


def _line_breaks(m: re.Match[str]) -> str:
    inner = m.group(2).replace("\n", '</w:t><w:br/><w:t xml:space="preserve">')
    return f'<w:t xml:space="preserve">{inner}</w:t>'


@dataclass
class Rendered:
    data: bytes
    text: str


# --------------------------------------------------------------------------- 公文 layout pass

_W = "{" + W_NS + "}"
#: The order of pPr children in the WordprocessingML schema (Word refuses another order).
PPR_ORDER = ("pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
              "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
              "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd",
              "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
              "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr")


def _ppr_child(p: Any, name: str) -> Any:
    """The pPr child ``name`` of paragraph ``p``, created at its place in the schema order."""
    ppr = p.find(_W + "pPr")
    if ppr is None:
        ppr = etree.SubElement(p, _W + "pPr")
        p.insert(0, ppr)
    el = ppr.find(_W + name)
    if el is not None:
        return el
    el = etree.Element(_W + name)
    rank = PPR_ORDER.index(name)
    for child in ppr:
        cname = etree.QName(child).localname
        if cname in PPR_ORDER and PPR_ORDER.index(cname) > rank:
            child.addprevious(el)
            return el
    ppr.append(el)
    return el


def style_of(p: Any) -> str:
    st = p.find(f"{_W}pPr/{_W}pStyle")
    return "" if st is None else str(st.get(_W + "val") or "")


def para_text(p: Any) -> str:
    return "".join(t.text or "" for t in p.iter(_W + "t"))


def set_right_indent(p: Any, chars: float, char_twips: int) -> None:
    ind = _ppr_child(p, "ind")
    ind.set(_W + "right", str(round(chars * char_twips)))
    ind.set(_W + "rightChars", str(round(chars * 100)))


_WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
_DML = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_EMU_PER_TWIP = 635
#: What one more line and one more row of the 版记 table add to its box (1.5 lines of 4号; the
#: cell's top and bottom margins), in twips — as tools/build_templates.py sizes the box.
_RECORD_LINE_TWIPS, _RECORD_ROW_TWIPS = 420, 120


def record_box_twips(lines: int, rows: int) -> int:
    """Height of a 版记 box of ``rows`` rows holding ``lines`` lines in all: each line, each row's
    cell margins and the rules (the template's box, one 抄送 line and the 印发 line: 1120)."""
    return lines * _RECORD_LINE_TWIPS + rows * _RECORD_ROW_TWIPS + 40


def record_lines(text: str, per_line: int, hanging: int = 0) -> int:
    """Lines a 版记 row of ``text`` takes: ``per_line`` characters on the first line, ``hanging``
    fewer on the others (the 抄送 list wraps under its first organ); one character of slack on
    the wrapped lines for a closing mark that may not start a line."""
    from guanai.generators import gbt9704 as G

    width = G.text_chars(text)
    if width <= per_line:
        return 1
    rest = max(1, per_line - hanging - 1)
    return 1 + int(-(-(width - per_line) // rest))


def fit_record_box(body: Any) -> None:
    """Grow the 版记 text box to hold its rows. The template's box holds a one-line 抄送 and the
    印发 line; its text box does not grow ( ``noAutofit``), so a 抄送 list of three lines lost the
    印发机关和印发日期 line in the PDF (clipped below the page) and crossed the bottom rule."""
    from guanai.generators import gbt9704 as G

    for doc_pr in body.iter(_WP + "docPr"):
        if doc_pr.get("name") != G.STYLE_RECORD:
            continue
        anchor = doc_pr.getparent()
        extent = anchor.find(_WP + "extent")
        if extent is None:
            continue
        char = round(G.RECORD_SIZE_PT * 20)
        per_line = int((int(extent.get("cx", "0")) / _EMU_PER_TWIP - 2 * char) // char)
        rows = ["".join(t.text or "" for t in tr.iter(_W + "t")) for tr in anchor.iter(_W + "tr")]
        if per_line < 4 or not rows:
            continue
        lines = sum(record_lines(text, per_line, 3 if text.startswith("抄送") else 0) for text in rows)
        need = record_box_twips(lines, len(rows))
        if need * _EMU_PER_TWIP <= int(extent.get("cy", "0")):
            continue
        extent.set("cy", str(need * _EMU_PER_TWIP))
        for ext in anchor.iter(_DML + "ext"):
            if ext.get("cy") is not None:
                ext.set("cy", str(need * _EMU_PER_TWIP))


def layout_official(root: Any, ctx: Mapping[str, Any]) -> None:
    """What a 公文's layout needs from its rendered text (GB/T 9704 §7), done on the parsed XML:

    - 发文机关标志 sized to its text (gbt9704.org_mark_size);
    - the 版记 box as tall as its rows (``fit_record_box``);
    - 署名/成文日期 indents per 7.3.5.1 (seal) or 7.3.5.2 (``ctx["seal"]``);
    - the 署名 block kept on one page with the end of the body: keep-with-next from the last two
      text paragraphs to the end, with widow/orphan control, so no page holds a lone line.
    """
    from guanai.generators import gbt9704 as G

    body = root.find(_W + "body")
    if body is None:
        return
    fit_record_box(body)
    paras = [el for el in body if el.tag == _W + "p"]
    char = round(G.BODY_SIZE_PT * 20)
    for p in paras:
        style = style_of(p)
        if style in (G.STYLE_HEADING1, G.STYLE_HEADING2, G.STYLE_HEADING3):
            # a heading goes to the next page with the text it heads: without this, when the 署名
            # block's keep-together moved the last items over, "四、整改要求" stayed alone at the
            # foot of the page
            _ppr_child(p, "keepNext")
        if style == G.STYLE_ORG_MARK:
            size = G.org_mark_size(para_text(p))
            for sz in p.iter(_W + "sz", _W + "szCs"):
                sz.set(_W + "val", str(round(size * 2)))
            spacing = _ppr_child(p, "spacing")
            before = int(spacing.get(_W + "before") or 0) + round((G.ORG_MARK_MAX_PT - size) * 20 * 0.06)
            spacing.set(_W + "before", str(before))
            spacing.set(_W + "line", str(round(size * 20)))
    sig = next((i for i, p in enumerate(paras) if style_of(p) == G.STYLE_SIGNATURE), None)
    if sig is None:
        return
    date_i = next((i for i in range(sig + 1, len(paras)) if style_of(paras[i]) == G.STYLE_DATE), None)
    if date_i is not None:
        seal = bool(ctx.get("seal", True))
        s_right, d_right = G.signature_indents(para_text(paras[sig]), para_text(paras[date_i]), seal=seal)
        set_right_indent(paras[sig], s_right, char)
        set_right_indent(paras[date_i], d_right, char)
        mark = etree.SubElement(paras[sig], _W + "bookmarkStart")
        mark.set(_W + "id", "90001")
        mark.set(_W + "name", G.BOOKMARK_SEAL if seal else G.BOOKMARK_NO_SEAL)
        etree.SubElement(paras[sig], _W + "bookmarkEnd").set(_W + "id", "90001")
    # keep together: back to the second paragraph with text before the 署名, on to the last one
    # (the 附件说明 counts as part of the block, not as body text)
    first, seen = sig, 0
    while first > 0 and seen < 2:
        first -= 1
        if para_text(paras[first]).strip() and style_of(paras[first]) != G.STYLE_ATTACHMENT:
            seen += 1
    last = sig
    for i in range(sig + 1, len(paras)):
        if style_of(paras[i]) == G.STYLE_RECORD:
            break
        if para_text(paras[i]).strip():
            last = i
    for p in paras[first:last]:
        _ppr_child(p, "keepNext")
        _ppr_child(p, "widowControl")


def _render_part(member: _Member, ctx: Mapping[str, Any], template_name: str) -> tuple[bytes, Any]:
    try:
        out = member.template.render(ctx)
    except SecurityError as err:
        raise InputError(f"模板 {template_name} 试图执行不安全的操作，已拒绝：{err}",
                         "模板中只能使用表单字段；请改用项目自带的模板或修正模板。") from err
    except UndefinedError as err:
        raise InputError(f"模板 {template_name} 使用了表单中没有的变量：{err.message}",
                         "用 `guanai template check 模板.docx --kind 种类` 列出未知变量。") from err
    except TemplateError as err:
        raise InputError(f"模板 {template_name} 渲染失败：{err}", "检查模板中的 {% %} 标签。") from err
    except (TypeError, ValueError, ArithmeticError, OverflowError, AttributeError) as err:
        raise InputError(f"模板 {template_name} 渲染失败：{type(err).__name__}: {err}",
                         "检查模板中的表达式。") from err
    # undo the one-paragraph-per-line split (values cannot contain "\n<w:p": "<" is escaped)
    out = out.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")
    if "\n" in out:
        out = _T_WITH_NL.sub(_line_breaks, out)
    body = out.encode("utf-8")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as err:
        # Never "recover": a recovering parser silently drops whole tables (docs/NOTES.md).
        raise InputError(
            f"模板 {template_name} 渲染出的 {member.name.decode()} 不是合法的 XML（{err.msg}），未生成文档。",
            "模板中的标签可能拆开了 Word 的段落或表格结构；用项目自带模板对比检查。",
        ) from err
    if member.name == b"word/document.xml" and isinstance(ctx.get("seal"), bool):
        layout_official(root, ctx)
        body = etree.tostring(root, encoding="utf-8")
    xml = (member.decl + "\n").encode("utf-8") + body if member.decl else body
    return xml, root


@dataclass(frozen=True)
class DocProps:
    """Core properties of a generated document (docProps/core.xml; LibreOffice copies them into the
    PDF's Info dictionary and XMP): the document's own title, its kind, who issued it, when."""

    title: str
    subject: str
    author: str
    created: dt.datetime
    category: str = ""

    def core_xml(self) -> bytes:
        from xml.sax.saxutils import escape

        stamp = self.created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
            ' xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{escape(self.title)}</dc:title><dc:subject>{escape(self.subject)}</dc:subject>"
            f"<dc:creator>{escape(self.author)}</dc:creator><cp:keywords></cp:keywords>"
            "<dc:description>由 guanai（关爱档案）生成</dc:description>"
            f"<cp:lastModifiedBy>{escape(self.author)}</cp:lastModifiedBy><cp:revision>1</cp:revision>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
            f"<cp:category>{escape(self.category)}</cp:category></cp:coreProperties>"
        ).encode()


def doc_props(kind: Kind, model: FormBase, created: dt.datetime | None = None) -> DocProps:
    """Properties of ``model``'s document; ``created`` defaults to its date (same form, same bytes)."""
    from guanai.generators import gbt9704 as G

    author = str(getattr(model, "issuer", "") or getattr(model, "school", "") or "")
    if created is None:
        day = model.doc_date() or dt.date(2000, 1, 1)
        created = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    category = G.CATEGORY_OFFICIAL if kind.official else G.CATEGORY_FORM
    return DocProps(model.title() or kind.name, kind.name, author, created, category)


# --------------------------------------------------------------------------- images


@dataclass(frozen=True)
class InlineImage:
    """A picture placed where ``{{ var }}`` stands (docxtpl's InlineImage without a DocxTemplate):
    PNG/JPEG/GIF bytes, width and/or height in millimetres (the other follows the aspect ratio).
    Only in the document body (word/document.xml)."""

    data: bytes
    width_mm: float | None = None
    height_mm: float | None = None
    description: str = ""


MAX_IMAGE_BYTES = 8 * 1024 * 1024
_EMU_PER_MM = 36000
_NS = {
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}
_IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"


class _PlacedImage:
    """An InlineImage given its relationship id for one rendering; Jinja's autoescape calls
    ``__html__`` (markup, not text), the sandbox never sees anything else of it."""

    def __init__(self, image: InlineImage, n: int) -> None:
        from docx.image.image import Image

        if len(image.data) > MAX_IMAGE_BYTES:
            raise InputError(f"图片过大（{len(image.data) // 1024} KB）。", "图片不应超过 8 MB；请缩小后再用。")
        try:
            info = Image.from_blob(image.data)
        except Exception as err:  # python-docx raises its own types for unknown formats
            raise InputError(f"无法识别的图片（{error_detail(err)}）。", "请使用 PNG 或 JPEG 图片。") from err
        if info.content_type not in ("image/png", "image/jpeg", "image/gif"):
            raise InputError(f"不支持的图片格式 {info.content_type}。", "请使用 PNG 或 JPEG 图片。")
        self.image, self.n = image, n
        self.rid = f"rIdGuanaiImg{n}"
        self.content_type = info.content_type
        self.ext = info.ext
        self.part = f"word/media/guanai-image{n}.{info.ext}"
        w_px, h_px = max(1, info.px_width), max(1, info.px_height)
        if image.width_mm and image.height_mm:
            w, h = image.width_mm, image.height_mm
        elif image.width_mm:
            w, h = image.width_mm, image.width_mm * h_px / w_px
        elif image.height_mm:
            w, h = image.height_mm * w_px / h_px, image.height_mm
        else:  # the image's own size at its dpi
            w, h = w_px / (info.horz_dpi or 96) * 25.4, h_px / (info.vert_dpi or 96) * 25.4
        self.cx, self.cy = round(w * _EMU_PER_MM), round(h * _EMU_PER_MM)

    def __html__(self) -> str:
        from xml.sax.saxutils import quoteattr

        n, ns = self.n, _NS
        descr = quoteattr(self.image.description)
        return (
            '</w:t></w:r><w:r><w:drawing>'
            f'<wp:inline xmlns:wp="{ns["wp"]}" distT="0" distB="0" distL="0" distR="0">'
            f'<wp:extent cx="{self.cx}" cy="{self.cy}"/><wp:docPr id="{90100 + n}" name="图片 {n}" descr={descr}/>'
            f'<wp:cNvGraphicFramePr><a:graphicFrameLocks xmlns:a="{ns["a"]}" noChangeAspect="1"/></wp:cNvGraphicFramePr>'
            f'<a:graphic xmlns:a="{ns["a"]}"><a:graphicData uri="{ns["pic"]}">'
            f'<pic:pic xmlns:pic="{ns["pic"]}"><pic:nvPicPr><pic:cNvPr id="{90100 + n}" name="guanai-image{n}.{self.ext}"/>'
            '<pic:cNvPicPr/></pic:nvPicPr>'
            f'<pic:blipFill><a:blip xmlns:r="{ns["r"]}" r:embed="{self.rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
            f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{self.cx}" cy="{self.cy}"/></a:xfrm>'
            '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>'
            '</wp:inline></w:drawing></w:r><w:r><w:t xml:space="preserve">'
        )

    def __str__(self) -> str:
        return self.image.description


def _place_images(value: Any, placed: list[_PlacedImage]) -> Any:
    """``value`` with every InlineImage (in dicts and lists) replaced by a placed one."""
    if isinstance(value, InlineImage):
        p = _PlacedImage(value, len(placed) + 1)
        placed.append(p)
        return p
    if isinstance(value, Mapping):
        return {k: _place_images(v, placed) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_place_images(v, placed) for v in value]
    return value


def _images_as_text(value: Any) -> Any:
    if isinstance(value, InlineImage):
        return value.description
    if isinstance(value, Mapping):
        return {k: _images_as_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_images_as_text(v) for v in value]
    return value


def _has_images(value: Any) -> bool:
    if isinstance(value, InlineImage):
        return True
    if isinstance(value, Mapping):
        return any(_has_images(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_images(v) for v in value)
    return False


def _inflate(m: _Member) -> bytes:
    return m.data if m.method == 0 else zlib.decompress(m.data, -15)


def _with_image_parts(m: _Member, placed: list[_PlacedImage]) -> bytes | None:
    """The rels / content types of the package with the placed images added (None: not such a part)."""
    if m.name == b"word/_rels/document.xml.rels":
        xml = _inflate(m).decode("utf-8")
        rels = "".join(f'<Relationship Id="{p.rid}" Type="{_IMAGE_REL}" Target="media/{p.part.rsplit("/", 1)[1]}"/>'
                       for p in placed)
        return xml.replace("</Relationships>", rels + "</Relationships>", 1).encode("utf-8")
    if m.name == b"[Content_Types].xml":
        xml = _inflate(m).decode("utf-8")
        for p in placed:
            if f'Extension="{p.ext}"' not in xml:
                xml = xml.replace("</Types>", f'<Default Extension="{p.ext}" ContentType="{p.content_type}"/></Types>', 1)
        return xml.encode("utf-8")
    return None


def render_compiled(compiled: CompiledTemplate, ctx: Mapping[str, Any], props: DocProps | None = None) -> Rendered:
    local = bytearray()
    central = bytearray()
    count = 0
    text = ""
    placed: list[_PlacedImage] = []
    text_ctx = ctx
    if _has_images(ctx):
        text_ctx = _images_as_text(ctx)  # headers and footers: the description (no relationship there)
        ctx = _place_images(ctx, placed)
    extra = [(p.part.encode("utf-8"), p.image.data) for p in placed]

    def add(name: bytes, flags: int, method: int, crc: int, csize: int, usize: int, data: bytes) -> None:
        nonlocal count
        offset = len(local)
        local.extend(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, _DOS_TIME, _DOS_DATE,
                                 crc, csize, usize, len(name), 0))
        local.extend(name)
        local.extend(data)
        central.extend(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, _DOS_TIME,
                                   _DOS_DATE, crc, csize, usize, len(name), 0, 0, 0, 0, 0o644 << 16, offset))
        central.extend(name)
        count += 1

    for m in compiled.members:
        changed = _with_image_parts(m, placed) if placed else None
        if m.template is not None:
            part_ctx = ctx if m.name == b"word/document.xml" or not placed else text_ctx
            xml, root = _render_part(m, part_ctx, compiled.path.name)
            if m.name == b"word/document.xml":
                from guanai.generators.text import xml_text

                text = xml_text(root)
        elif props is not None and m.name == b"docProps/core.xml":
            xml = props.core_xml()
        elif changed is not None:
            xml = changed
        else:
            add(m.name, m.flags, m.method, m.crc, m.csize, m.usize, m.data)
            continue
        data = _deflate(xml)
        add(m.name, m.flags, 8, zlib.crc32(xml), len(data), len(xml), data)
    for name, content in extra:  # JPEG / PNG are compressed already: stored, not deflated again
        add(name, 0x800, 0, zlib.crc32(content), len(content), len(content), content)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(local), 0)
    return Rendered(bytes(local + central + end), text)


def validate(kind: Kind | str, form: FormBase | Mapping[str, Any], *, source: str = "表单",
             row: int | None = None, columns: dict[str, str] | None = None) -> FormBase:
    """Form model instance of ``kind`` (FormError with Chinese problems when invalid)."""
    k = get_kind(kind) if isinstance(kind, str) else kind
    if isinstance(form, k.model):
        model = form
    elif isinstance(form, FormBase):
        raise InputError(f"表单类型 {type(form).__name__} 与种类 {k.id} 不符。")
    else:
        try:
            model = k.model.model_validate(dict(form))
        except ValidationError as err:
            raise FormError(problems_from(err, k.model, source=source, row=row, columns=columns),
                            f"按提示改正后重试；`guanai form template {k.id} --xlsx -o 台账.xlsx`（或 --json、--yaml）"
                            "可得到带示例的空白表单。") from None
    if k.to_family:
        check_no_labels(k, model, source=source, row=row)
    return model


def check_no_labels(kind: Kind, form: FormBase, *, source: str = "表单", row: int | None = None) -> None:
    """避免标签化: documents for families/posted must not call a child 留守 or 困境."""
    from guanai.generators.forms import FieldProblem, find_labels

    problems = []
    data = form.to_form_dict()
    for field, value in _walk(data):
        for word in find_labels(value):
            problems.append(FieldProblem(source, row, None, field,
                                         f"含有“{word}”字样；{kind.name}送给家庭，不得给儿童贴“留守”“困境”标签",
                                         "form.label"))
    if problems:
        raise FormError(problems, "改用中性的说法（如“外出务工家庭”），避免标签化。")


def _walk(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _walk(v, f"{path} › {k}" if path else str(k))]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _walk(v, f"{path} › 第{i + 1}项")]
    return []


def template_file(kind: Kind, template_dir: Path | None) -> Path:
    return (template_dir or bundled_template_dir()) / kind.template


def render_document(kind: Kind | str, form: FormBase | Mapping[str, Any], template_dir: Path | None = None,
                    created: dt.datetime | None = None) -> Rendered:
    """Validate, render in-process; bytes and the document's text."""
    k = get_kind(kind) if isinstance(kind, str) else kind
    model = validate(k, form)
    compiled = compile_template(template_file(k, template_dir))
    return render_compiled(compiled, model.context(), doc_props(k, model, created))


def render(kind: str, form: FormBase | Mapping[str, Any], template_dir: Path | None = None) -> bytes:
    """The .docx bytes of ``form`` rendered with the template of ``kind`` (same form → same bytes)."""
    return render_document(kind, form, template_dir).data


# --------------------------------------------------------------------------- 版记 on an even page

_RECORD_HOLDER = re.compile(
    r'<w:p\b[^>]*><w:pPr><w:pStyle w:val="' + re.escape("版记") + r'"/>(?:(?!</w:p>).)*?<w:drawing>', re.S)
#: An empty paragraph holding a page break (1 pt high: it takes no room where it lands).
_PAGE_BREAK_PARA = ('<w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="20" w:lineRule="exact"/>'
                    '<w:rPr><w:sz w:val="2"/></w:rPr></w:pPr><w:r><w:rPr><w:sz w:val="2"/></w:rPr>'
                    '<w:br w:type="page"/></w:r></w:p>')


#: The footer part of the pages after the body when a blank page precedes the 版记 page.
_BLANK_FOOTER = "word/footer-guanai-blank.xml"
_BLANK_FOOTER_RID = "rIdGuanaiBlankFooter"
_BLANK_FOOTER_XML = (
    "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    '<w:ftr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:p/></w:ftr>'
)
_FOOTER_REL = ('<Relationship Id="' + _BLANK_FOOTER_RID + '" Type="http://schemas.openxmlformats.org/'
               'officeDocument/2006/relationships/footer" Target="footer-guanai-blank.xml"/>')
_FOOTER_TYPE = ('<Override PartName="/' + _BLANK_FOOTER + '" ContentType="application/'
                'vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>')
_FINAL_SECT = re.compile(r"(<w:sectPr\b[^>]*>)(.*?)(</w:sectPr>)\s*</w:body>", re.S)
_FOOTER_REF = re.compile(r'<w:footerReference\b[^>]*/>')


def record_on_even_page(docx: bytes, pages: int, *, deflate: bool = True) -> bytes | None:
    """The document with one more page break before its 版记 when the PDF has an odd number of pages.

    GB/T 9704 7.4: the 版记 sits at the foot of the last page, and documents are printed on both
    sides, so that page is an even one (the back of the last sheet). The 版记 box is anchored to
    the document's last paragraph; a page break before it moves the box to the foot of the next
    page. Where the box had already been pushed onto a page of its own (it does not fit under the
    body's last, even page), one break is not enough (the break lands on the page before); the
    caller converts again and asks again, and the second break leaves a blank page before the
    版记 page. GB/T 9704 7.5: "版记页前有空白页的，空白页和版记页均不编排页码" — so the second
    time the first break becomes a section break, and the section of the blank and the 版记 page
    has an empty footer. None when nothing needs to change (even page count, or no 版记 box of ours).
    """
    if pages % 2 == 0:
        return None
    zin = zipfile.ZipFile(_bytes_io(docx))
    xml = zin.read("word/document.xml").decode("utf-8")
    matches = list(_RECORD_HOLDER.finditer(xml))
    if not matches:
        return None
    at = matches[-1].start()
    final = _FINAL_SECT.search(xml)
    if not xml[:at].endswith(_PAGE_BREAK_PARA) or final is None or _BLANK_FOOTER_RID in xml:
        return _replace_members(zin, {"word/document.xml": (xml[:at] + _PAGE_BREAK_PARA + xml[at:]).encode("utf-8")},
                                deflate=deflate)
    # second break: the body's section ends where the first break was; the last section (the
    # blank page and the 版记 page) gets the empty footer for every page type it had one for
    body_sect = final.group(0)[: -len("</w:body>")].rstrip()
    section_break = _PAGE_BREAK_PARA.replace(
        '<w:rPr><w:sz w:val="2"/></w:rPr></w:pPr><w:r><w:rPr><w:sz w:val="2"/></w:rPr><w:br w:type="page"/></w:r>',
        '<w:rPr><w:sz w:val="2"/></w:rPr>' + body_sect + "</w:pPr>")
    refs = _FOOTER_REF.findall(final.group(2))
    blank_refs = "".join(re.sub(r'r:id="[^"]*"', f'r:id="{_BLANK_FOOTER_RID}"', r) for r in refs)
    last_sect = final.group(1) + blank_refs + _FOOTER_REF.sub("", final.group(2)) + final.group(3)
    start = at - len(_PAGE_BREAK_PARA)
    new = (xml[:start] + section_break + _PAGE_BREAK_PARA + xml[at:final.start()] + last_sect
           + xml[final.end(3):])
    rels = zin.read("word/_rels/document.xml.rels").decode("utf-8").replace(
        "</Relationships>", _FOOTER_REL + "</Relationships>")
    types = zin.read("[Content_Types].xml").decode("utf-8").replace("</Types>", _FOOTER_TYPE + "</Types>")
    return _replace_members(zin, deflate=deflate, changes={"word/document.xml": new.encode("utf-8"),
                                  "word/_rels/document.xml.rels": rels.encode("utf-8"),
                                  "[Content_Types].xml": types.encode("utf-8"),
                                  _BLANK_FOOTER: _BLANK_FOOTER_XML.encode("utf-8")})


# --------------------------------------------------------------------------- attachments (附件)

_BODY_RE = re.compile(r"<w:body>(.*)</w:body>", re.S)
_SECT_RE = re.compile(r"<w:sectPr\b.*?</w:sectPr>\s*$", re.S)
_ATTACH_LABEL = (
    '<w:p><w:pPr><w:pageBreakBefore/><w:spacing w:before="0" w:after="0" w:line="579" w:lineRule="exact"/>'
    '<w:jc w:val="left"/></w:pPr><w:r><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" '
    'w:cs="Times New Roman" w:eastAsia="黑体" w:hint="eastAsia"/><w:sz w:val="32"/><w:szCs w:val="32"/>'
    '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr><w:t>{label}</w:t></w:r></w:p>'
)


def append_attachments(docx: bytes, attachments: Sequence[bytes]) -> bytes:
    """The 公文 with other documents of the archive as its 附件 (GB/T 9704 7.3.4, 8.1 附件另面编排,
    在版记之前): each on a new page after the 署名 block, headed "附件1" … (3号黑体, 顶格), its body
    copied in before the 版记. Only documents without images or other relationships (the forms
    guanai makes: 劝返复学通知书 with its 回执) — anything else is refused."""
    if not attachments:
        return docx
    zin = zipfile.ZipFile(_bytes_io(docx))
    xml = zin.read("word/document.xml").decode("utf-8")
    holders = list(_RECORD_HOLDER.finditer(xml))
    at = holders[-1].start() if holders else xml.rindex("<w:sectPr")
    pieces = []
    for n, data in enumerate(attachments, 1):
        try:
            inner = zipfile.ZipFile(_bytes_io(data)).read("word/document.xml").decode("utf-8")
        except (zipfile.BadZipFile, KeyError, UnicodeDecodeError) as err:
            raise InputError(f"附件{n}不是可读的 Word 文档。", "重新生成该文书后再试。") from err
        m = _BODY_RE.search(inner)
        body = _SECT_RE.sub("", m.group(1)) if m is not None else ""  # its own page set-up and footers go
        if m is None or "r:id=" in body or "r:embed=" in body:
            raise InputError(f"附件{n}含有图片或链接，不能并入公文。", "把附件另行打印，在附件说明中列出名称即可。")
        pieces.append(_ATTACH_LABEL.format(label=f"附件{n}") + body)
    new = xml[:at] + "".join(pieces) + xml[at:]
    try:
        etree.fromstring(new.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as err:
        raise InputError(f"附件并入后文档不是合法的 XML（{err.msg}）。", "把附件另行打印。") from err
    return _replace_member(zin, "word/document.xml", new.encode("utf-8"))


def _replace_member(zin: zipfile.ZipFile, name: str, content: bytes) -> bytes:
    return _replace_members(zin, {name: content})


def _replace_members(zin: zipfile.ZipFile, changes: dict[str, bytes], *, deflate: bool = True) -> bytes:
    """The package with ``changes`` (member name → content; names not in it are added at the end).
    ``deflate=False``: stored (a copy for LibreOffice only, made faster)."""
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    out = _bytes_io(b"")
    with zipfile.ZipFile(out, "w", method) as zout:
        names = [info.filename for info in zin.infolist()]
        for name in names + [n for n in changes if n not in names]:
            data = changes[name] if name in changes else zin.read(name)
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = method
            zi.external_attr = 0o644 << 16
            zout.writestr(zi, data)
    return bytes(out.getvalue())


# --------------------------------------------------------------------------- isolation

#: Seconds allowed per document (plus a fixed start-up allowance) for user-supplied templates.
ISOLATED_SECONDS_PER_DOC = 2.0
ISOLATED_STARTUP_SECONDS = 15.0
ISOLATED_MEMORY_BYTES = 1024 * 1024 * 1024


@dataclass
class IsolatedResult:
    rendered: Rendered | None
    error: InputError | None


def _limit_resources(cpu_seconds: int) -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ISOLATED_MEMORY_BYTES, ISOLATED_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def render_isolated(kind: Kind | str, forms: Sequence[FormBase], template: Path,
                    timeout: float | None = None, created: dt.datetime | None = None) -> list[IsolatedResult]:
    """Render validated forms with a user-supplied template in a child process.

    The sandbox blocks escapes but does not bound CPU or memory ({% for %} nested loops,
    huge strings), so a school's own template runs with rlimits and a timeout.
    """
    k = get_kind(kind) if isinstance(kind, str) else kind
    if not forms:
        return []
    limit = timeout or (ISOLATED_STARTUP_SECONDS + ISOLATED_SECONDS_PER_DOC * len(forms))
    payload = json.dumps({"kind": k.id, "template": str(template),
                          "created": created.isoformat() if created else None,
                          "forms": [f.model_dump(mode="json") for f in forms],
                          "photos": [_photo_json(f) for f in forms],
                          "charts": [_chart_json(f) for f in forms]}, ensure_ascii=False)
    try:
        # -I: isolated mode (no current-directory or user-site imports, PYTHON* variables ignored);
        # the environment is scrubbed so the worker never sees the passphrase.
        proc = subprocess.run(
            [sys.executable, "-I", "-m", "guanai.generators.render", "--worker"],
            input=payload.encode("utf-8"), capture_output=True, timeout=limit, env=scrubbed_env(),
            cwd=tempfile.gettempdir(),
            preexec_fn=lambda: _limit_resources(int(limit) + 1), check=False,
        )
    except subprocess.TimeoutExpired:
        err = InputError(f"自定义模板渲染超时（超过 {limit:.0f} 秒），已终止。",
                         "模板中可能有过大的循环；用 `guanai template check` 检查或改用自带模板。")
        return [IsolatedResult(None, err) for _ in forms]
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        reason = "超出内存或 CPU 限制" if proc.returncode < 0 or "MemoryError" in tail[0] else tail[0][:200]
        err = InputError(f"自定义模板渲染失败（{reason}）。", "检查模板，或改用项目自带的模板。")
        return [IsolatedResult(None, err) for _ in forms]
    results = []
    for item in json.loads(proc.stdout.decode("utf-8")):
        if "error" in item:
            results.append(IsolatedResult(None, InputError(item["error"], item.get("hint"))))
        else:
            results.append(IsolatedResult(Rendered(base64.b64decode(item["data"]), item["text"]), None))
    return results


def _photo_json(form: FormBase) -> list[Any] | None:
    """A card's photo for the worker (bytes as base64, width, height), else None."""
    photo = getattr(form, "photo", None)
    if photo is None:
        return None
    data, w, h = photo
    return [base64.b64encode(data).decode("ascii"), w, h]


def _chart_json(form: FormBase) -> list[Any] | None:
    """A report's chart for the worker (PNG as base64, caption), else None."""
    chart = getattr(form, "chart", None)
    if chart is None:
        return None
    png, caption = chart
    return [base64.b64encode(png).decode("ascii"), caption]


def _worker() -> int:  # pragma: no cover - exercised through render_isolated
    req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    k = get_kind(req["kind"])
    out = []
    try:
        compiled = compile_template(Path(req["template"]))
    except InputError as err:
        out = [{"error": err.message, "hint": err.hint} for _ in req["forms"]]
        sys.stdout.write(json.dumps(out, ensure_ascii=False))
        return 0
    created = dt.datetime.fromisoformat(req["created"]) if req.get("created") else None
    photos = req.get("photos") or [None] * len(req["forms"])
    charts = req.get("charts") or [None] * len(req["forms"])
    for data, photo, chart in zip(req["forms"], photos, charts, strict=True):
        try:
            model = k.model.model_validate(data)
            if photo is not None and hasattr(model, "with_photo"):
                model.with_photo(base64.b64decode(photo[0]), int(photo[1]), int(photo[2]))
            if chart is not None and hasattr(model, "with_chart"):
                model.with_chart(base64.b64decode(chart[0]), str(chart[1]))
            r = render_compiled(compiled, model.context(), doc_props(k, model, created))
            out.append({"data": base64.b64encode(r.data).decode("ascii"), "text": r.text})
        except InputError as err:
            out.append({"error": err.message, "hint": err.hint})
    sys.stdout.write(json.dumps(out, ensure_ascii=False))
    return 0


@dataclass
class TemplateReport:
    file: str
    kind: str
    unknown: list[str]
    missing: list[str]
    unused: list[str]
    errors: list[str]

    @property
    def ok(self) -> bool:
        return not (self.unknown or self.missing or self.errors)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "ok": self.ok, "unknown": self.unknown,
                "missing": self.missing, "unused": self.unused, "errors": self.errors}


def check_template(path: Path, kind: Kind | str, *, trial: bool = True) -> TemplateReport:
    """Unknown variables, unused required fields, syntax/safety errors and a trial render with
    the kind's sample form — all in the limited child process: compiling a school's template
    already runs its code (Jinja folds constant expressions such as ``9**9**9`` at compile time).
    """
    k = get_kind(kind) if isinstance(kind, str) else kind
    limit = ISOLATED_STARTUP_SECONDS + ISOLATED_SECONDS_PER_DOC
    payload = json.dumps({"kind": k.id, "template": str(Path(path).resolve()), "trial": trial}, ensure_ascii=False)
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-m", "guanai.generators.render", "--check"],
            input=payload.encode("utf-8"), capture_output=True, timeout=limit, env=scrubbed_env(),
            cwd=tempfile.gettempdir(), preexec_fn=lambda: _limit_resources(int(limit) + 1), check=False,
        )
    except subprocess.TimeoutExpired:
        return TemplateReport(str(path), k.id, [], [], [], [f"检查模板超时（超过 {limit:.0f} 秒），已终止：模板中可能有过大的计算或循环。"])
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        reason = "超出内存或 CPU 限制" if proc.returncode < 0 or "MemoryError" in tail[0] else tail[0][:200]
        return TemplateReport(str(path), k.id, [], [], [], [f"检查模板失败（{reason}）。"])
    d = json.loads(proc.stdout.decode("utf-8"))
    return TemplateReport(str(path), k.id, d["unknown"], d["missing"], d["unused"], d["errors"])


def _check_here(path: Path, kind: Kind | str, *, trial: bool = True) -> TemplateReport:
    """The checks of :func:`check_template`, in this process (the worker)."""
    from guanai.generators.formsio import example_form

    k = get_kind(kind) if isinstance(kind, str) else kind
    sample = k.model.model_validate(example_form(k))
    known = set(sample.context()) | set(_ENV.globals)
    report = TemplateReport(str(path), k.id, [], [], [], [])
    try:
        compiled = compile_template(Path(path))
    except InputError as err:
        report.errors.append(err.message)
        return report
    used = compiled.variables
    report.unknown = sorted(used - known)
    for name, info in k.model.model_fields.items():
        if name not in used:
            label = f"{info.alias or name}（{name}）"
            (report.missing if info.is_required() else report.unused).append(label)
    if trial and not report.unknown:
        try:
            render_compiled(compiled, sample.context())
        except InputError as err:
            report.errors.append(err.message)
    return report


def _check_worker() -> int:  # pragma: no cover - exercised through check_template
    req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    report = _check_here(Path(req["template"]), req["kind"], trial=bool(req.get("trial", True)))
    sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False))
    return 0


def sanitize_value(value: Any) -> Any:
    """Normalise a raw value the way form models do (for contexts built by hand)."""
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, dict):
        return {k: sanitize_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sanitize_value(v) for v in value]
    return value


if __name__ == "__main__":  # pragma: no cover
    # run the workers from the imported module, not from __main__: the forms build their
    # InlineImage from guanai.generators.render, and a second copy of this module's classes
    # (__main__.InlineImage) would not recognise it
    from guanai.generators import render as _module

    if sys.argv[1:] == ["--worker"]:
        sys.exit(_module._worker())
    if sys.argv[1:] == ["--check"]:
        sys.exit(_module._check_worker())
    sys.exit(2)
