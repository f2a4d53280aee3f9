"""GB/T 9704-2012 official-format checker for .docx files (``guanai lint``).

Lists every violation as (element, expected, found, where): page size and margins, fonts per
element (the East Asian font ``w:eastAsia`` and theme-font overrides), sizes, line spacing,
heading fonts, 发文字号 and 成文日期 format, page-number footers (odd right / even left) and
the zh-CN language.

Elements are recognised by paragraph style name (``gbt9704.STYLE_*``) when present, otherwise by
position and text: 版头 (up to the 发文字号), title (first paragraph after it, plus centred
continuation lines), headings by their numbering (一、 / （一） / 1.), 成文日期 (the last paragraph
that is only a date), 版记 after it (not checked).

Input is hostile until proven otherwise: the zip is read with size caps (zip bombs), XML is
parsed without DTDs, entities or network access (XXE), missing parts and malformed XML become
an InputError naming the part.
"""

from __future__ import annotations

import io
import posixpath
import re
import shutil
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from guanai.base.errors import InputError, Problem
from guanai.generators import gbt9704 as G
from guanai.generators.text import error_detail

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OFFICE_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"

MAX_INPUT_BYTES = 64 * 1024 * 1024
MAX_PART_BYTES = 32 * 1024 * 1024
MAX_TOTAL_BYTES = 96 * 1024 * 1024
MAX_ENTRIES = 5000
MAX_STYLE_DEPTH = 32
MAX_WHERE = 5

_HINT_DOCX = "请用 Word/WPS 打开后另存为 .docx 再检查。"


# --------------------------------------------------------------------------- results


# Problem.code of a violation: "lint." + the element (role, then aspect), from its Chinese label
_CODE_PARTS: tuple[tuple[str, str], ...] = (
    ("纸张大小", "paper"), ("上边距", "margin.top"), ("下边距", "margin.bottom"), ("左边距", "margin.left"),
    ("右边距", "margin.right"), ("发文机关标志", "org_mark"), ("版头分隔线", "separator"), ("签发人", "signer"),
    ("发文字号位置", "doc_number.position"), ("发文字号", "doc_number"), ("标题回行", "title.breaks"),
    ("主送机关", "recipient"), ("版记", "record"), ("孤行页", "page.lone_line"), ("署名页", "page.signature"),
    ("页末标题", "page.heading_at_foot"),
    ("字库外的字", "repertoire"), ("成文日期", "date"), ("一级标题", "heading1"),
    ("二级标题", "heading2"), ("三级标题", "heading3"), ("标题", "title"), ("正文", "body"),
    ("主题字体语言", "theme_language"), ("主题字体", "theme_font"), ("语言", "language"),
    ("页码位置", "page_number.position"), ("页码格式", "page_number.format"), ("页码", "page_number"),
)
_CODE_ASPECTS = (("字体", "font"), ("字号", "size"), ("行距", "spacing"))


def violation_code(element: str) -> str:
    """``lint.body.font``, ``lint.page_number.position``, ``lint.paper`` … (``lint.other`` if unknown)."""
    clause = re.match(r"(\d+(?:\.\d+)*)[ /]", element)
    if clause:  # a PDF/A-2b clause (generators.pdfa): lint.pdfa.6.5.1
        return f"lint.pdfa.{clause.group(1)}"
    if element in ("文件结构", "文件"):
        return "lint.pdfa.structure"
    for prefix, part in _CODE_PARTS:
        if element.startswith(prefix):
            rest = element[len(prefix):]
            aspect = next((a for cn, a in _CODE_ASPECTS if rest.startswith(cn)), "")
            return f"lint.{part}" + (f".{aspect}" if aspect else "")
    return "lint.other"


@dataclass(frozen=True)
class Violation:
    """One broken rule: which element, what GB/T 9704 expects, what the document has, where.

    Reported as the common ``Problem`` (``to_problem``): where; what = element and what was found;
    hint = what the standard expects; code = ``violation_code(element)``.
    """

    element: str
    expected: str
    found: str
    where: str = ""

    @property
    def code(self) -> str:
        return violation_code(self.element)

    def to_problem(self) -> Problem:
        return Problem(self.where, f"{self.element}：{self.found}", f"应为 {self.expected}", self.code)


@dataclass
class LintReport:
    file: str
    violations: list[Violation] = field(default_factory=list)
    #: why the file was not checked (a guanai form, not a 公文); None when it was checked
    skipped: str | None = None
    #: not a format violation, but worth a look (characters outside a GB 2312 face's repertoire)
    warnings: list[Violation] = field(default_factory=list)
    #: what the file was checked against: a .docx against GB/T 9704, a PDF (whatever its name)
    #: against PDF/A-2b
    standard: str = "GB/T 9704-2012"

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def problems(self) -> list[Problem]:
        return [v.to_problem() for v in self.violations]

    def elements(self) -> set[str]:
        return {v.element for v in self.violations}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "ok": self.ok, "problems": [p.to_json() for p in self.problems]}
        if self.skipped:
            out["skipped"] = self.skipped
        if self.warnings:
            out["warnings"] = [v.to_problem().to_json() for v in self.warnings]
        return out


class _Collector:
    """Groups identical (element, expected, found) triples and keeps their locations."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str], list[str]] = {}

    def add(self, element: str, expected: str, found: str, where: str = "") -> None:
        locs = self._items.setdefault((element, expected, found), [])
        if where and where not in locs:
            locs.append(where)

    def violations(self) -> list[Violation]:
        out = []
        for (element, expected, found), locs in self._items.items():
            where = "、".join(locs[:MAX_WHERE])
            if len(locs) > MAX_WHERE:
                where += f" 等 {len(locs)} 处"
            out.append(Violation(element, expected, found, where))
        return out


# --------------------------------------------------------------------------- safe package reading


class _Package:
    """Read-only view of a .docx zip with caps on sizes and a hardened XML parser."""

    def __init__(self, data: bytes, name: str) -> None:
        self.name = name
        self._read_total = 0
        if len(data) > MAX_INPUT_BYTES:
            raise InputError(f"{name}：文件过大（{len(data) // (1024 * 1024)} MB）。", "公文 .docx 通常小于 10 MB。")
        if data.startswith(b"\xd0\xcf\x11\xe0"):
            raise InputError(f"{name}：是旧版 .doc 或加密的文档，不是 .docx。", _HINT_DOCX)
        if not data.startswith(b"PK"):
            raise InputError(f"{name}：不是 Word .docx 文档（不是 ZIP 压缩包）。", _HINT_DOCX)
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as err:
            raise InputError(f"{name}：.docx 的 ZIP 结构损坏（{error_detail(err)}）。", _HINT_DOCX) from err
        if len(infos) > MAX_ENTRIES:
            raise InputError(f"{name}：压缩包内文件过多（{len(infos)} 个），拒绝处理。", _HINT_DOCX)
        self._names = {i.filename for i in infos}

    def has(self, part: str) -> bool:
        return part in self._names

    def read(self, part: str) -> bytes | None:
        if part not in self._names:
            return None
        info = self._zip.getinfo(part)
        if info.file_size > MAX_PART_BYTES:
            raise InputError(
                f"{self.name}：部件 {part} 解压后过大（{info.file_size} 字节），疑似 ZIP 炸弹，拒绝处理。", _HINT_DOCX
            )
        try:
            with self._zip.open(info) as fh:
                # The declared size can lie: read at most one byte past the cap.
                data = fh.read(MAX_PART_BYTES + 1)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, ValueError, OSError, EOFError) as err:
            raise InputError(f"{self.name}：部件 {part} 无法解压（{error_detail(err)}）。", _HINT_DOCX) from err
        if len(data) > MAX_PART_BYTES:
            raise InputError(f"{self.name}：部件 {part} 解压后过大，疑似 ZIP 炸弹，拒绝处理。", _HINT_DOCX)
        self._read_total += len(data)
        if self._read_total > MAX_TOTAL_BYTES:
            raise InputError(f"{self.name}：解压后总量过大，疑似 ZIP 炸弹，拒绝处理。", _HINT_DOCX)
        return data

    def xml(self, part: str) -> etree._Element | None:
        raw = self.read(part)
        if raw is None:
            return None
        if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
            raise InputError(
                f"{self.name}：部件 {part} 含 DTD/实体声明（Word 不会写出，可能是 XXE 攻击），拒绝处理。", _HINT_DOCX
            )
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
        )
        try:
            root = etree.fromstring(raw, parser)
        except etree.XMLSyntaxError as err:
            raise InputError(f"{self.name}：部件 {part} 不是合法的 XML（{error_detail(err)}）。", _HINT_DOCX) from err
        tree = root.getroottree()
        if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
            raise InputError(f"{self.name}：部件 {part} 含 DTD 声明，拒绝处理。", _HINT_DOCX)
        return root

    def rels(self, part: str) -> dict[str, str]:
        """Relationship id -> part name inside the package (external targets dropped)."""
        folder, base = posixpath.split(part)
        root = self.xml(posixpath.join(folder, "_rels", base + ".rels"))
        out: dict[str, str] = {}
        if root is None:
            return out
        for rel in root.iter(f"{PKG_REL}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            rid, target = rel.get("Id"), rel.get("Target")
            if not rid or not target:
                continue
            if target.startswith("/"):
                resolved = target.lstrip("/")
            else:
                resolved = posixpath.normpath(posixpath.join(folder, target))
            # Names only ever index the zip; a traversal just finds nothing.
            if resolved.startswith("../"):
                continue
            out[rid] = resolved
        return out

    def main_part(self) -> str:
        root = self.xml("_rels/.rels")
        if root is not None:
            for rel in root.iter(f"{PKG_REL}Relationship"):
                if rel.get("Type") == OFFICE_DOC_REL and rel.get("Target"):
                    target = posixpath.normpath(str(rel.get("Target")).lstrip("/"))
                    if self.has(target):
                        return target
        if self.has("word/document.xml"):
            return "word/document.xml"
        raise InputError(f"{self.name}：缺少正文部件 word/document.xml，不是 Word 文档。", _HINT_DOCX)


# --------------------------------------------------------------------------- styles


def _val(el: etree._Element | None, attr: str = "val") -> str | None:
    if el is None:
        return None
    v = el.get(W + attr)
    return None if v is None else str(v)


def _on(el: etree._Element | None) -> bool:
    if el is None:
        return False
    return _val(el) not in ("0", "false", "off")


@dataclass
class _Level:
    """One layer of formatting (docDefaults, a style, or direct formatting) with its label."""

    label: str
    el: etree._Element | None


class _Styles:
    def __init__(self, root: etree._Element | None) -> None:
        self.default_rpr: etree._Element | None = None
        self.default_ppr: etree._Element | None = None
        self.by_id: dict[str, etree._Element] = {}
        self.default_para: str | None = None
        if root is None:
            return
        dd = root.find(f"{W}docDefaults")
        if dd is not None:
            self.default_rpr = dd.find(f"{W}rPrDefault/{W}rPr")
            self.default_ppr = dd.find(f"{W}pPrDefault/{W}pPr")
        for st in root.findall(f"{W}style"):
            sid = _val(st, "styleId")
            if sid is None:
                continue
            self.by_id.setdefault(sid, st)
            if st.get(W + "type") == "paragraph" and _on_attr(st.get(W + "default")):
                self.default_para = sid

    def name(self, sid: str | None) -> str:
        st = self.by_id.get(sid or "")
        n = _val(st.find(f"{W}name")) if st is not None else None
        return n or (sid or "")

    def chain(self, sid: str | None) -> list[etree._Element]:
        """The style and its basedOn ancestors, base first (cycle- and depth-safe)."""
        out: list[etree._Element] = []
        seen: set[str] = set()
        while sid and sid not in seen and len(out) < MAX_STYLE_DEPTH:
            seen.add(sid)
            st = self.by_id.get(sid)
            if st is None:
                break
            out.append(st)
            sid = _val(st.find(f"{W}basedOn"))
        return list(reversed(out))

    def para_style(self, p: etree._Element) -> str | None:
        return _val(p.find(f"{W}pPr/{W}pStyle")) or self.default_para

    def run_levels(self, p: etree._Element, r: etree._Element | None) -> list[_Level]:
        """rPr layers for a run, lowest priority first."""
        levels = [_Level("docDefaults", self.default_rpr)]
        for st in self.chain(self.para_style(p)):
            levels.append(_Level(f"样式“{self.name(_val(st, 'styleId'))}”", st.find(f"{W}rPr")))
        if r is not None:
            rpr = r.find(f"{W}rPr")
            for st in self.chain(_val(rpr.find(f"{W}rStyle")) if rpr is not None else None):
                levels.append(_Level(f"样式“{self.name(_val(st, 'styleId'))}”", st.find(f"{W}rPr")))
            levels.append(_Level("直接格式", rpr))
        return levels

    def para_levels(self, p: etree._Element) -> list[_Level]:
        levels = [_Level("docDefaults", self.default_ppr)]
        for st in self.chain(self.para_style(p)):
            levels.append(_Level(f"样式“{self.name(_val(st, 'styleId'))}”", st.find(f"{W}pPr")))
        levels.append(_Level("直接格式", p.find(f"{W}pPr")))
        return levels


def _on_attr(v: str | None) -> bool:
    return v is not None and v not in ("0", "false", "off")


@dataclass(frozen=True)
class _Font:
    name: str | None  # explicit font name
    theme: str | None  # theme font reference that wins
    where: str
    latin: str | None = None


def _east_asia_font(levels: list[_Level]) -> _Font:
    latin = _latin_font(levels)
    for lv in reversed(levels):
        rf = lv.el.find(f"{W}rFonts") if lv.el is not None else None
        if rf is None:
            continue
        theme = rf.get(W + "eastAsiaTheme")
        if theme:  # a theme attribute overrides the explicit name on the same element
            return _Font(None, str(theme), lv.label, latin)
        name = rf.get(W + "eastAsia")
        if name:
            return _Font(str(name), None, lv.label, latin)
    return _Font(None, None, "", latin)


def _latin_font(levels: list[_Level]) -> str | None:
    for lv in reversed(levels):
        rf = lv.el.find(f"{W}rFonts") if lv.el is not None else None
        if rf is None:
            continue
        theme = rf.get(W + "asciiTheme")
        if theme:
            return f"主题字体 {theme}"
        name = rf.get(W + "ascii")
        if name:
            return str(name)
    return None


def _rpr_val(levels: list[_Level], tag: str, attr: str = "val") -> str | None:
    """The innermost level's ``w:<tag> w:<attr>`` (run or paragraph properties alike)."""
    for lv in reversed(levels):
        if lv.el is None:
            continue
        el = lv.el.find(W + tag)
        if el is not None and el.get(W + attr) is not None:
            return str(el.get(W + attr))
    return None


# --------------------------------------------------------------------------- paragraphs


def _body_paragraphs(body: etree._Element) -> Iterator[etree._Element]:
    """Top-level paragraphs (also inside content controls); tables are not 公文 body text."""
    for child in body:
        if child.tag == f"{W}p":
            yield child
        elif child.tag == f"{W}sdt":
            content = child.find(f"{W}sdtContent")
            if content is not None:
                yield from _body_paragraphs(content)


def _runs(p: etree._Element) -> list[etree._Element]:
    return [r for r in p.iter(f"{W}r") if not any(a.tag in (f"{W}del", f"{W}moveFrom") for a in r.iterancestors())]


def _run_text(r: etree._Element) -> str:
    parts = []
    for el in r:
        if el.tag == f"{W}t":
            parts.append(el.text or "")
        elif el.tag == f"{W}tab":
            parts.append("\t")
    return "".join(parts)


def _para_text(p: etree._Element) -> str:
    return "".join(_run_text(r) for r in _runs(p))


def _half_points_label(hp: str | None) -> str:
    if hp is None:
        return "未设置（默认 10 磅）"
    try:
        pt = int(hp) / 2
    except ValueError:
        return f"无效值 {hp}"
    names = {22.0: "2号", 16.0: "3号", 14.0: "4号", 15.0: "小3号", 18.0: "小2号", 12.0: "小4号", 10.5: "5号"}
    label = f"{pt:g}磅"
    return f"{names[pt]}（{label}）" if pt in names else label


def _font_found(f: _Font) -> str:
    if f.theme:
        return f"主题字体 {f.theme}（w:eastAsiaTheme，{f.where}），覆盖了指定字体"
    if f.name:
        return f.name
    latin = f"，仅设置了西文字体 {f.latin}" if f.latin else ""
    return f"未设置东亚字体（w:eastAsia 缺失{latin}）"


# --------------------------------------------------------------------------- the checker


_ROLE_BY_STYLE = {
    G.STYLE_TITLE: "title",
    G.STYLE_BODY: "body",
    G.STYLE_HEADING1: "h1",
    G.STYLE_HEADING2: "h2",
    G.STYLE_HEADING3: "h3",
    G.STYLE_DOC_NUMBER: "docnum",
    G.STYLE_DATE: "date",
    G.STYLE_RECORD: "record",
    G.STYLE_ORG_MARK: "orgmark",
    G.STYLE_HEAD_MARKS: "header",
    G.STYLE_RECIPIENT: "recipient",
    G.STYLE_ATTACHMENT: "attachment",
    G.STYLE_SIGNATURE: "signature",
    G.STYLE_NOTE: "note",
}

_ROLE_SPEC: dict[str, tuple[str, frozenset[str], str, int]] = {
    # role: (element label, accepted names, expected name, size in half-points)
    "title": ("标题", G.XIAOBIAOSONG_NAMES, G.FONT_TITLE, G.TITLE_SIZE_HALF_POINTS),
    "body": ("正文", G.FANGSONG_NAMES, G.FONT_BODY, G.BODY_SIZE_HALF_POINTS),
    "h1": ("一级标题", G.HEITI_NAMES, G.FONT_HEADING1, G.HEADING_SIZE_HALF_POINTS),
    "h2": ("二级标题", G.KAITI_NAMES, G.FONT_HEADING2, G.HEADING_SIZE_HALF_POINTS),
    "h3": ("三级标题", G.FANGSONG_NAMES, G.FONT_HEADING3, G.HEADING_SIZE_HALF_POINTS),
    "docnum": ("发文字号", G.FANGSONG_NAMES, G.FONT_BODY, G.BODY_SIZE_HALF_POINTS),
    "date": ("成文日期", G.FANGSONG_NAMES, G.FONT_BODY, G.BODY_SIZE_HALF_POINTS),
}

_SIZE_EXPECTED = {44: "2号（22磅）", 32: "3号（16磅）", 28: "4号（14磅）"}


class _Checker:
    def __init__(self, pkg: _Package) -> None:
        self.pkg = pkg
        self.out = _Collector()
        self.main = pkg.main_part()
        doc = pkg.xml(self.main)
        if doc is None or doc.tag != f"{W}document":
            raise InputError(f"{pkg.name}：{self.main} 不是 WordprocessingML 正文（可能是 Strict OOXML 或其他格式）。", _HINT_DOCX)
        body = doc.find(f"{W}body")
        if body is None:
            raise InputError(f"{pkg.name}：正文部件没有 w:body。", _HINT_DOCX)
        self.body = body
        folder = posixpath.dirname(self.main)
        self.styles = _Styles(pkg.xml(posixpath.join(folder, "styles.xml")))
        self.settings = pkg.xml(posixpath.join(folder, "settings.xml"))
        self.rels = pkg.rels(self.main)
        self.used_styles: set[str] = set()
        self.warnings: list[Violation] = []

    # ---- page geometry
    def check_page(self) -> None:
        sects = [s for s in self.body.iter(f"{W}sectPr")]
        if not sects:
            self.out.add("纸张大小", "A4（210×297 毫米）", "未设置页面（缺少 w:sectPr）")
            return
        for n, sect in enumerate(sects, 1):
            where = f"第{n}节" if len(sects) > 1 else ""
            self._check_section(sect, where)

    def _check_section(self, sect: etree._Element, where: str) -> None:
        pg = sect.find(f"{W}pgSz")
        w, h = _int(_val(pg, "w")), _int(_val(pg, "h"))
        if w is None or h is None:
            self.out.add("纸张大小", "A4（210×297 毫米）", "未设置（w:pgSz 缺失或无效）", where)
        else:
            wm, hm = G.twips_to_mm(w), G.twips_to_mm(h)
            if abs(wm - G.PAGE_WIDTH_MM) > G.PAGE_TOLERANCE_MM or abs(hm - G.PAGE_HEIGHT_MM) > G.PAGE_TOLERANCE_MM:
                self.out.add("纸张大小", "A4 纵向（210×297 毫米）", f"{wm:.1f}×{hm:.1f} 毫米", where)
        mar = sect.find(f"{W}pgMar")
        for attr, label, mm in (
            ("top", "上边距（天头）", G.MARGIN_TOP_MM),
            ("bottom", "下边距", G.MARGIN_BOTTOM_MM),
            ("left", "左边距（订口）", G.MARGIN_LEFT_MM),
            ("right", "右边距", G.MARGIN_RIGHT_MM),
        ):
            v = _int(_val(mar, attr))
            if v is None:
                self.out.add(label, f"{mm} 毫米", "未设置", where)
                continue
            found = G.twips_to_mm(abs(v))
            if abs(found - mm) > G.MARGIN_TOLERANCE_MM:
                self.out.add(label, f"{mm} 毫米", f"{found:.1f} 毫米", where)

    # ---- paragraphs
    def classify(self) -> list[tuple[etree._Element, str, str]]:
        """(paragraph, role, location) for non-empty top-level paragraphs."""
        paras = [(p, _para_text(p)) for p in _body_paragraphs(self.body)]
        items = [(p, t) for p, t in paras if t.strip()]
        roles: list[str | None] = []
        for p, _ in items:
            sid = self.styles.para_style(p)
            self.used_styles.add(sid or "")
            roles.append(_ROLE_BY_STYLE.get(self.styles.name(sid)))
        texts = [t.strip() for _, t in items]

        # 发文字号: in the first lines, before any title.
        if "docnum" not in roles:
            for i, t in enumerate(texts[:10]):
                if roles[i] == "title":
                    break
                if roles[i] is None and (G.DOC_NUMBER_LOOSE_RE.search(t) or G.DOC_NUMBER_RE.match(t)):
                    roles[i] = "docnum"
                    break
        dn = roles.index("docnum") if "docnum" in roles else -1
        for i in range(dn):
            roles[i] = roles[i] or "header"
        # title: first paragraph after the 版头, plus centred continuation lines
        if "title" not in roles:
            start = dn + 1
            if start < len(items) and roles[start] is None:
                roles[start] = "title"
                j = start + 1
                while (
                    j < len(items)
                    and roles[j] is None
                    and j - start < 3
                    and self._align(items[j][0]) == "center"
                    and not texts[j].endswith(("：", ":"))
                    and not G.DATE_LOOSE_RE.match(texts[j])
                ):
                    roles[j] = "title"
                    j += 1
        last_title = max((i for i, r in enumerate(roles) if r == "title"), default=dn)
        # 成文日期: the last paragraph that is nothing but a date
        if "date" not in roles:
            for i in range(len(items) - 1, last_title, -1):
                if roles[i] is None and G.DATE_LOOSE_RE.match(texts[i]) and len(texts[i]) <= 20:
                    roles[i] = "date"
                    break
        if "date" in roles:
            for i in range(roles.index("date") + 1, len(items)):
                roles[i] = roles[i] or "record"
        for i, t in enumerate(texts):
            if roles[i] is None:
                if G.HEADING1_RE.match(t):
                    roles[i] = "h1"
                elif G.HEADING2_RE.match(t):
                    roles[i] = "h2"
                elif G.HEADING3_RE.match(t):
                    roles[i] = "h3"
                else:
                    roles[i] = "body"
        out = []
        for i, ((p, _), role) in enumerate(zip(items, roles, strict=True)):
            snippet = texts[i][:12] + ("…" if len(texts[i]) > 12 else "")
            out.append((p, role or "body", f"第{i + 1}段“{snippet}”"))
        return out

    def _align(self, p: etree._Element) -> str:
        jc = _rpr_val(self.styles.para_levels(p), "jc", "val")
        if jc in ("right", "end"):
            return "right"
        if jc == "center":
            return "center"
        return "left"

    def check_paragraphs(self) -> None:
        classified = self.classify()
        roles = {r for _, r, _ in classified}
        if "docnum" not in roles:
            self.out.add("发文字号", f"机关代字〔年份〕序号号（如 {G.DOC_NUMBER_EXAMPLE}）", "未找到发文字号")
        if "date" not in roles:
            self.out.add("成文日期", f"阿拉伯数字、不编虚位（如 {G.DATE_EXAMPLE}）", "未找到成文日期（单独一行的日期）")
        if "title" not in roles:
            self.out.add("标题", "发文字号之后的居中标题", "未找到标题")
        self.check_parts(classified)
        for p, role, where in classified:
            text = _para_text(p).strip()
            if role == "docnum":
                m = G.DOC_NUMBER_LOOSE_RE.search(text)
                token = m.group(0) if m else text
                for problem in G.doc_number_problems(token):
                    self.out.add("发文字号", f"机关代字〔年份〕序号号（如 {G.DOC_NUMBER_EXAMPLE}）", f"“{token}”：{problem}", where)
            elif role == "date":
                for problem in G.date_problems(text):
                    self.out.add("成文日期", f"{G.DATE_EXAMPLE} 式样（阿拉伯数字，不编虚位）", f"“{text}”：{problem}", where)
            spec = _ROLE_SPEC.get(role)
            if spec is None:
                continue
            self._check_fonts(p, role, spec, where)
            self._check_repertoire(p, where)
            if role in ("body", "h1", "h2", "h3"):
                self._check_spacing(p, spec[0], where)

    def check_parts(self, classified: list[tuple[etree._Element, str, str]]) -> None:
        """版头, 主送机关, 标题回行, 签发人 and 版记 (GB/T 9704 §7.2-7.4)."""
        roles = [r for _, r, _ in classified]
        texts = [_para_text(p).strip() for p, _, _ in classified]
        dn = roles.index("docnum") if "docnum" in roles else -1
        if dn >= 0 and not any(r in ("orgmark", "header") for r in roles[:dn]):
            self.out.add("发文机关标志", "版头居中的红色发文机关标志（如“萧县教育体育局文件”）", "发文字号之前没有发文机关标志")
        marks = [i for i, r in enumerate(roles) if r == "orgmark"] or [
            i for i, r in enumerate(roles[:max(dn, 0)]) if r == "header"
            and classified[i][0].find(f"{W}pPr/{W}framePr") is None][-1:]
        for i in marks:
            p = classified[i][0]
            color = _rpr_val(self.styles.run_levels(p, (_runs(p) or [None])[0]), "color")
            if (color or "").upper() not in ("FF0000", "RED"):
                self.out.add("发文机关标志颜色", "红色", color or "未设置（黑色）", classified[i][2])
        if dn >= 0:
            p = classified[dn][0]
            if p.find(f"{W}pPr/{W}pBdr/{W}bottom") is None and not any(
                    (p2.find(f"{W}pPr/{W}pBdr/{W}top") is not None) for p2, _, _ in classified[dn + 1:dn + 2]):
                self.out.add("版头分隔线", "发文字号之下 4 毫米处与版心等宽的红色分隔线", "没有分隔线", classified[dn][2])
            title_text = "".join(t for t, r in zip(texts, roles, strict=True) if r == "title")
            upward = title_text.endswith(("报告", "请示"))
            if upward and "签发人" not in texts[dn]:
                self.out.add("签发人", "上行文（报告、请示）在发文字号同一行右侧标注“签发人：姓名”", "没有签发人", classified[dn][2])
            if upward and "签发人" in texts[dn] and self._align(p) != "left":
                self.out.add("发文字号位置", "上行文：发文字号居左空一字，签发人居右空一字", "居中", classified[dn][2])
            if not upward and "签发人" not in texts[dn] and self._align(p) != "center":
                self.out.add("发文字号位置", "下行文：发文字号居中", "不居中", classified[dn][2])
        # 标题回行: between words, no lone character, balanced
        for p, role, where in classified:
            if role != "title":
                continue
            lines = [x for x in _para_lines(p) if x.strip()]
            for problem in G.title_break_problems(lines):
                self.out.add("标题回行", "词意完整、长短适宜、排列对称（梯形或菱形），不留单字", problem, where)
        # 主送机关: 标题下空一行，居左顶格
        last_title = max((i for i, r in enumerate(roles) if r == "title"), default=-1)
        if 0 <= last_title < len(classified) - 1:
            i = last_title + 1
            p, role, where = classified[i]
            if texts[i].endswith(("：", ":")) and role in ("recipient", "body"):
                levels = self.styles.para_levels(p)
                first = _int(_rpr_val(levels, "ind", "firstLine")) or 0
                first_chars = _int(_rpr_val(levels, "ind", "firstLineChars")) or 0
                left = _int(_rpr_val(levels, "ind", "left")) or 0
                if first > 0 or first_chars > 0 or left > 0 or self._align(p) != "left":
                    self.out.add("主送机关", "标题下空一行居左顶格，不缩进", "缩进或未居左", where)
        # 版记: 印发机关和印发日期 after the 成文日期
        if "date" in roles and not any("印发" in t for t, r in zip(texts, roles, strict=True) if r == "record"):
            self.out.add("版记", "成文日期之后的版记：（抄送机关，）印发机关和印发日期（“……印发”）", "没有版记")
        self._check_record_box()

    def _check_record_box(self) -> None:
        """Our 版记 text box does not grow with its text: rows it cannot hold are cut off in print."""
        import copy

        from guanai.generators.render import _EMU_PER_TWIP, _WP, fit_record_box

        for doc_pr in self.body.iter(_WP + "docPr"):
            if doc_pr.get("name") != G.STYLE_RECORD:
                continue
            anchor = doc_pr.getparent()
            if anchor is None or anchor.find(_WP + "extent") is None:
                continue
            holder = etree.Element(f"{W}body")
            holder.append(copy.deepcopy(anchor))
            fit_record_box(holder)
            have = int(anchor.find(_WP + "extent").get("cy", "0")) // _EMU_PER_TWIP
            need = int(holder[0].find(_WP + "extent").get("cy", "0")) // _EMU_PER_TWIP
            if need > have:
                self.out.add("版记", "版记框容得下抄送机关与印发机关、印发日期各行",
                             f"框高 {have / 20:.0f} 磅，内容约需 {need / 20:.0f} 磅：多出的行（如印发机关和印发日期）打印时被裁掉")

    def _check_repertoire(self, p: etree._Element, where: str) -> None:
        """Characters a GB 2312 face (仿宋_GB2312, 楷体_GB2312) does not have: a warning."""
        for r in _runs(p):
            text = _run_text(r)
            if not text.strip():
                continue
            font = _east_asia_font(self.styles.run_levels(p, r))
            if font.name and font.name.endswith("_GB2312"):
                missing = G.outside_gb2312(text)
                if missing:
                    self.warnings.append(Violation(
                        "字库外的字", f"{font.name} 只含 GB 2312 的 6763 个汉字",
                        f"“{'、'.join(missing)}”不在其中：Word/WPS 会用别的字体显示（PDF 中已用含该字的仿宋/宋体补字）", where))

    def _check_fonts(self, p: etree._Element, role: str, spec: tuple[str, frozenset[str], str, int], where: str) -> None:
        label, names, expected_name, size_hp = spec
        text_runs = [(r, _run_text(r)) for r in _runs(p)]
        text_runs = [(r, t) for r, t in text_runs if t.strip()]
        if role in ("h1", "h2"):
            # Only the heading itself (up to its first 。) takes the heading face;
            # body text may follow in the same paragraph.
            full = "".join(t for _, t in text_runs)
            end = full.find("。")
            limit = len(full) if end < 0 else end + 1
            kept, pos = [], 0
            for r, t in text_runs:
                if pos < limit:
                    kept.append((r, t))
                pos += len(t)
            font_runs = kept
        elif role == "docnum":
            # 上行文: "签发人：" in 仿宋, the names after it in 楷体 (7.2.5)
            font_runs = []
            for r, t in text_runs:
                font_runs.append((r, t))
                if "签发人" in t:
                    break
        else:
            font_runs = text_runs
        for r, _ in font_runs:
            font = _east_asia_font(self.styles.run_levels(p, r))
            if font.name is None or font.name not in names:
                self.out.add(f"{label}字体", f"{expected_name}（东亚字体 w:eastAsia）", _font_found(font), where)
        for r, _ in text_runs:
            levels = self.styles.run_levels(p, r)
            sz = _rpr_val(levels, "sz")
            if _int(sz) != size_hp:
                self.out.add(f"{label}字号", _SIZE_EXPECTED[size_hp], _half_points_label(sz), where)
            lang = _rpr_val(levels, "lang", "eastAsia")
            if lang != G.LANG_EAST_ASIA:
                self.out.add("语言（东亚）", f"{G.LANG_EAST_ASIA}（w:lang w:eastAsia）", lang or "未设置", where)

    def _check_spacing(self, p: etree._Element, label: str, where: str) -> None:
        levels = self.styles.para_levels(p)
        rule = _rpr_val(levels, "spacing", "lineRule")
        line = _int(_rpr_val(levels, "spacing", "line"))
        expected = f"固定值 {G.LINE_SPACING_PT} 磅（每页 {G.LINES_PER_PAGE} 行）"
        if rule == "exact" and line is not None:
            if abs(line / 20 - G.LINE_SPACING_PT) > G.LINE_SPACING_TOLERANCE_PT:
                self.out.add(f"{label}行距", expected, f"固定值 {line / 20:g} 磅", where)
        elif rule == "atLeast" and line is not None:
            self.out.add(f"{label}行距", expected, f"最小值 {line / 20:g} 磅", where)
        else:
            mult = (line or 240) / 240
            self.out.add(f"{label}行距", expected, "单倍行距" if mult == 1 else f"{mult:g} 倍行距", where)

    # ---- document-wide font settings
    def check_theme_fonts(self) -> None:
        layers: list[tuple[str, etree._Element | None]] = [("docDefaults", self.styles.default_rpr)]
        seen: set[str] = set()
        for sid in sorted(self.used_styles | {self.styles.default_para or ""}):
            for st in self.styles.chain(sid):
                st_id = _val(st, "styleId") or ""
                if st_id in seen:
                    continue
                seen.add(st_id)
                layers.append((f"样式“{self.styles.name(st_id)}”", st.find(f"{W}rPr")))
        for label, rpr in layers:
            rf = rpr.find(f"{W}rFonts") if rpr is not None else None
            if rf is None:
                continue
            attrs = [a for a in ("eastAsiaTheme", "asciiTheme", "hAnsiTheme") if rf.get(W + a)]
            if attrs:
                found = "，".join(f"w:{a}={rf.get(W + a)}" for a in attrs)
                self.out.add("主题字体", "不使用主题字体（删除 w:eastAsiaTheme 等属性，直接指定字体名）", found, label)
        if self.settings is not None:
            tfl = self.settings.find(f"{W}themeFontLang")
            ea = _val(tfl, "eastAsia")
            if ea is not None and ea != G.LANG_EAST_ASIA:
                self.out.add("主题字体语言", f"{G.LANG_EAST_ASIA}（w:themeFontLang w:eastAsia）", ea, "settings.xml")

    # ---- page numbers
    def check_page_numbers(self) -> None:
        even_odd = self.settings is not None and _on(self.settings.find(f"{W}evenAndOddHeaders"))
        if not even_odd:
            self.out.add(
                "页码（奇偶页）",
                "奇偶页不同（w:evenAndOddHeaders）：单页码居右、双页码居左",
                "未设置奇偶页不同，所有页码在同一侧",
            )
        refs: dict[str, str] = {}
        for sect in self.body.iter(f"{W}sectPr"):
            for ref in sect.findall(f"{W}footerReference"):
                kind = ref.get(W + "type") or "default"
                rid = ref.get(f"{{{R_NS}}}id")
                if rid and kind not in refs:
                    refs[kind] = rid
        self._check_footer("单页码", refs.get("default"), "right")
        if even_odd:
            self._check_footer("双页码", refs.get("even"), "left")

    def _check_footer(self, label: str, rid: str | None, align: str) -> None:
        side = "居右" if align == "right" else "居左"
        expected = f"“{G.page_number_text(1)}”式样的页码域，{side}"
        part = self.rels.get(rid or "")
        root = self.pkg.xml(part) if part else None
        if root is None:
            self.out.add(f"页码（{label}）", expected, "没有页脚" if rid is None else f"页脚部件缺失（{rid}）")
            return
        paras = [p for p in root.iter(f"{W}p") if _has_page_field(p)]
        if not paras:
            self.out.add(f"页码（{label}）", expected, "页脚中没有页码域（PAGE）")
            return
        p = paras[0]
        found_align = self._align(p)
        if found_align != align:
            names = {"right": "居右", "left": "居左", "center": "居中"}
            self.out.add(f"页码位置（{label}）", side, names[found_align], part or "")
        text = _footer_text(p).strip()
        if not G.PAGE_NUMBER_TEXT_RE.match(text):
            shown = text.replace("{PAGE}", "1")
            self.out.add("页码格式", f"“{G.page_number_text(1)}”（数字两侧各一条一字线 U+2014）", f"“{shown}”", part or "")
        for r in _runs(p):
            if not (_run_text(r).strip() or r.find(f"{W}fldChar") is not None or r.find(f"{W}instrText") is not None):
                continue
            levels = self.styles.run_levels(p, r)
            font = _east_asia_font(levels)
            if font.name not in G.SONGTI_NAMES:
                self.out.add("页码字体", f"{G.FONT_PAGE_NUMBER}（东亚字体 w:eastAsia）", _font_found(font), part or "")
            sz = _rpr_val(levels, "sz")
            if _int(sz) != G.PAGE_NUMBER_SIZE_HALF_POINTS:
                self.out.add("页码字号", "4号（14磅）", _half_points_label(sz), part or "")

    def run(self) -> list[Violation]:
        self.check_page()
        self.check_paragraphs()
        self.check_theme_fonts()
        self.check_page_numbers()
        return self.out.violations()


_PAGE_INSTR = re.compile(r"^\s*PAGE\b")


def _para_lines(p: etree._Element) -> list[str]:
    """The paragraph's text split at its manual line breaks (w:br, w:cr)."""
    lines = [""]
    for el in p.iter(f"{W}t", f"{W}br", f"{W}cr", f"{W}tab"):
        if el.tag == f"{W}t":
            lines[-1] += el.text or ""
        elif el.tag == f"{W}tab":
            lines[-1] += "\t"
        elif el.get(W + "type") in (None, "textWrapping"):
            lines.append("")
    return lines


def _has_page_field(p: etree._Element) -> bool:
    for fs in p.iter(f"{W}fldSimple"):
        if _PAGE_INSTR.match(fs.get(W + "instr") or ""):
            return True
    return any(_PAGE_INSTR.match(it.text or "") for it in p.iter(f"{W}instrText"))


def _footer_text(p: etree._Element) -> str:
    """Paragraph text with the PAGE field (its cached result) replaced by ``{PAGE}``."""
    parts: list[str] = []
    state: str | None = None
    instr = ""
    emitted = False
    done_simple: list[etree._Element] = []  # elements, not id(): lxml proxies are recreated
    for r in _runs(p):
        simple = next((a for a in r.iterancestors(f"{W}fldSimple")), None)
        if simple is not None:
            if _PAGE_INSTR.match(simple.get(W + "instr") or ""):
                if not any(simple is d for d in done_simple):
                    done_simple.append(simple)
                    parts.append("{PAGE}")
                continue
            parts.append(_run_text(r))
            continue
        fc = r.find(f"{W}fldChar")
        kind = fc.get(W + "fldCharType") if fc is not None else None
        if kind == "begin":
            state, instr, emitted = "instr", "", False
            continue
        if kind == "separate":
            state = "result"
            if _PAGE_INSTR.match(instr):
                parts.append("{PAGE}")
                emitted = True
            continue
        if kind == "end":
            if _PAGE_INSTR.match(instr) and not emitted:
                parts.append("{PAGE}")
            state = None
            continue
        if state == "instr":
            instr += "".join(it.text or "" for it in r.iter(f"{W}instrText"))
            continue
        if state == "result" and _PAGE_INSTR.match(instr):
            continue
        parts.append(_run_text(r))
    # simple fields without runs inside
    for fs in p.iter(f"{W}fldSimple"):
        if _PAGE_INSTR.match(fs.get(W + "instr") or "") and not any(fs is d for d in done_simple):
            parts.append("{PAGE}")
    return "".join(parts)


def _int(v: str | None) -> int | None:
    if v is None:
        return None
    try:
        return int(float(v))
    except ValueError:
        return None


# --------------------------------------------------------------------------- public API


# --------------------------------------------------------------------------- layout, from the PDF


@dataclass(frozen=True)
class PdfLine:
    page: int
    top: float  # distance from the top of the page, pt
    size: float
    text: str


def pdf_lines(pdf: bytes) -> list[list[PdfLine]]:
    """Text lines of each page (pypdf's text visitor), top to bottom; pieces on one baseline joined."""
    from guanai.generators.pdf import _reader

    pages: list[list[PdfLine]] = []
    for n, page in enumerate(_reader(pdf).pages, 1):
        height = float(page.mediabox.height)
        pieces: dict[float, list[tuple[float, float, str]]] = {}

        def visit(text: str, cm: Any, tm: Any, _font: Any, size: float,
                  pieces: dict[float, list[tuple[float, float, str]]] = pieces) -> None:
            if not text.strip():
                return
            y = round(cm[5] + tm[5] * cm[3], 0)
            eff = size * abs(tm[3] * cm[3]) if tm[3] else size
            pieces.setdefault(y, []).append((tm[4] * cm[0] + cm[4], eff, text))

        page.extract_text(visitor_text=visit)
        lines = [PdfLine(n, height - y, max(p[1] for p in ps), "".join(p[2] for p in sorted(ps)).strip())
                 for y, ps in pieces.items()]
        pages.append(sorted(lines, key=lambda ln: ln.top))
    return pages


#: a line opening with a level-1 or level-2 heading number (一、 / （一）)
_HEADING_LINE = re.compile(r"^(?:[一二三四五六七八九十]{1,3}、|（[一二三四五六七八九十]{1,3}）)")


def layout_violations(pdf: bytes) -> list[Violation]:
    """What only the laid-out pages show: a page holding a single line of text (孤行), a heading
    left as a page's last line (页末标题), and a 署名 block without at least two lines of text above it on its page (7.3.5 "不能出现空白页只有署名")."""
    out = _Collector()
    pages = pdf_lines(pdf)
    # text lines of the text block: not the page number (below the block) nor the 版记 (4号 lines at
    # the foot of the block); a form attached as 附件 may be set in 4号 itself
    bottom = (G.PAGE_HEIGHT_MM - G.MARGIN_BOTTOM_MM) * 72 / 25.4
    def record(ln: PdfLine) -> bool:
        return ln.size < G.RECORD_SIZE_PT + 0.5 and (
            ln.top > bottom - 75 or ln.text.startswith("抄送") or ln.text.replace(" ", "").endswith("印发"))

    body = [[ln for ln in page if ln.top < bottom - 2 and not record(ln)] for page in pages]
    for n, lines in enumerate(body, 1):
        if len(lines) == 1:
            out.add("孤行页", "每页至少两行正文（末行不单独成页）", f"第 {n} 页只有一行“{lines[0].text[:20]}”", f"第 {n} 页")
    for n, lines in enumerate(body[:-1], 1):
        # a level-1/2 heading as the page's last line, its text on the next page
        if lines and _HEADING_LINE.match(lines[-1].text.replace(" ", "")) and any(body[n:]):
            out.add("页末标题", "标题与其下的正文同页（标题不单独留在页末）",
                    f"第 {n} 页末行是标题“{lines[-1].text[:20]}”", f"第 {n} 页")
    dates = [(n, i) for n, lines in enumerate(body, 1) for i, ln in enumerate(lines)
             if G.DATE_RE.match(ln.text.replace(" ", ""))]
    if dates:
        n, i = dates[-1]
        above = body[n - 1][:i]
        # the 署名 line directly above the date, then at least two lines of text
        if len(above) < 3:
            out.add("署名页", "署名、成文日期与至少两行正文同页",
                    f"第 {n} 页署名之上只有 {max(0, len(above) - 1)} 行正文", f"第 {n} 页")
    return out.violations()


def lint_docx(data: bytes, *, name: str = "document.docx", layout: bool | None = False) -> LintReport:
    """Check one .docx against GB/T 9704-2012; InputError when the file cannot be read safely.

    ``layout``: also lay the document out with LibreOffice and check the pages (孤行页, 署名页);
    None: when LibreOffice is installed.
    """
    pkg = _Package(data, name)
    if _category(pkg) == G.CATEGORY_FORM:
        return LintReport(name, [], skipped="本系统生成的表格类文书（非公文），GB/T 9704-2012 不适用，未检查")
    try:
        checker = _Checker(pkg)
        violations = checker.run()
    except RecursionError as err:  # pathological nesting
        raise InputError(f"{name}：文档结构嵌套过深，拒绝处理。", _HINT_DOCX) from err
    if layout is None:
        layout = shutil.which("soffice") is not None or shutil.which("libreoffice") is not None
    if layout:
        from guanai.generators.pdf import convert_one

        violations += layout_violations(convert_one(data, name="lint.docx"))
    return LintReport(name, violations, warnings=checker.warnings)


def _category(pkg: _Package) -> str | None:
    """``cp:category`` of the document properties (generated documents carry the template's)."""
    props = pkg.xml("docProps/core.xml") if pkg.has("docProps/core.xml") else None
    if props is None:
        return None
    el = props.find("{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}category")
    return (el.text or "").strip() if el is not None else None


def lint_file(path: str | Path, *, layout: bool | None = False) -> LintReport:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InputError(f"{p}：文件过大（{size // (1024 * 1024)} MB）。", "公文 .docx 通常小于 10 MB。")
        data = p.read_bytes()
    except FileNotFoundError as err:
        raise InputError(f"找不到文件 {p}。", "检查文件名与路径。") from err
    except IsADirectoryError as err:
        raise InputError(f"{p} 是目录，不是 .docx 文件。", "给出 .docx 文件的路径。") from err
    except OSError as err:
        raise InputError(f"无法读取 {p}（{error_detail(err)}）。", "检查文件权限。") from err
    if data.startswith(b"%PDF-") or (p.suffix.lower() == ".pdf" and b"%PDF-" in data[:1024]):
        return lint_pdf(data, name=str(path))
    if p.suffix.lower() == ".pdf":
        raise InputError(f"{p}：不是 PDF 文件（开头没有 %PDF-{'，文件是空的' if not data else ''}）。",
                         "文件可能损坏、被截断，或只是改了扩展名；请重新导出 PDF。")
    return lint_docx(data, name=str(path), layout=layout)


def lint_pdf(data: bytes, *, name: str = "document.pdf") -> LintReport:
    """A PDF's PDF/A-2b check (``generators.pdfa``): each clause broken is a violation."""
    from guanai.generators.pdfa import check_pdfa

    return LintReport(name, [Violation(i.clause, i.expected, i.found, i.where) for i in check_pdfa(data)],
                      standard="PDF/A-2b")


def lint_many(paths: Iterable[str | Path]) -> list[LintReport]:
    return [lint_file(p) for p in paths]
