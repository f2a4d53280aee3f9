"""A check of the PDF/A-2b rules a generated or signed PDF can break (ISO 19005-2:2011, level B).

veraPDF, the reference validator, is a Java program that no package registry reachable here
provides; this module checks, with pypdf, the clauses that LibreOffice's export, pyHanko's
incremental signature update or a later edit can get wrong (docs/GONGWEN.md, "PDF/A"):

- 6.1.2 header (``%PDF-1.n``, n ≤ 7, and a comment of four bytes ≥ 128);
- 6.1.3 trailer ``/ID``, no ``/Encrypt``, nothing after the last ``%%EOF`` but an end of line;
- 6.1.7 streams without ``/F``, ``/FFilter``, ``/FDecodeParms``, no ``LZWDecode``/``Crypt`` filter;
- 6.2.3 an output intent ``GTS_PDFA1`` with its ICC profile;
- 6.2.11.4 every font used by a page, form or annotation appearance embedded;
- 6.3 annotations: allowed types, print flag set, hidden/invisible/no-view not set, appearance
  streams for visible ones;
- 6.4.3 signatures: ``adbe.pkcs7.detached`` or ``ETSI.CAdES.detached``, byte ranges that cover
  the file (the last one up to its end);
- 6.5 no JavaScript, launch or other forbidden actions, no additional actions (``/AA``) on the
  catalog, pages or widgets;
- 6.6.2 an XMP packet in the catalog, unfiltered, claiming part 2 and conformance B, U or A, and
  the Info dictionary agreeing with it (title, author, subject, keywords, creator tool, producer,
  creation and modification dates).

It is a check of these clauses, not a full validation (no content-stream operators, colour
spaces inside images or font-program internals).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: Larger inputs are refused (a generated 公文 is well under 1 MB).
MAX_PDF_BYTES = 64 * 1024 * 1024
#: More indirect objects than this and the file is not looked into (a generated 公文 has a few
#: hundred; pypdf spends ~30 µs on each, so a hostile file of 500k tiny objects took 15 s).
MAX_OBJECTS = 50_000
#: Wall-clock bound of the object-by-object part of the check, in seconds.
TIME_LIMIT = 5.0

_FORBIDDEN_ACTIONS = {"/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData", "/Hide", "/SetOCGState",
                      "/Rendition", "/Trans", "/GoTo3DView", "/JavaScript"}
_FORBIDDEN_ANNOTS = {"/3D", "/Sound", "/Screen", "/Movie", "/FileAttachment"}
_SUBFILTERS = {"/adbe.pkcs7.detached", "/ETSI.CAdES.detached"}
#: Annotation flags (ISO 32000-1 12.5.3)
_INVISIBLE, _HIDDEN, _PRINT, _NOVIEW = 1, 2, 4, 32


@dataclass(frozen=True)
class PdfaIssue:
    """One clause the file breaks: the clause, what it requires, what the file has, where."""

    clause: str
    expected: str
    found: str
    where: str = ""


def check_pdfa(data: bytes) -> list[PdfaIssue]:
    """The PDF/A-2b issues of ``data`` (empty: the checked clauses hold). Never raises on bad
    input: an unreadable file is one issue."""
    if len(data) > MAX_PDF_BYTES:
        return [PdfaIssue("文件", f"不超过 {MAX_PDF_BYTES // (1024 * 1024)} MB", f"{len(data) // (1024 * 1024)} MB")]
    issues: list[PdfaIssue] = []
    _check_header_and_tail(data, issues)
    declared = declared_objects(data)
    if declared > MAX_OBJECTS:
        issues.append(_too_many(declared).issue)
        return issues
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        reader = PdfReader(io.BytesIO(data), strict=False)
        _check_document(reader, data, issues, _Clock(TIME_LIMIT))
    except _Refused as stop:
        issues.append(stop.issue)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
            UnicodeError, OSError, AssertionError) as err:
        why = _WHY.get(type(err).__name__, type(err).__name__)
        issues.append(PdfaIssue("文件结构", "可读的 PDF", f"无法解析（{why}）"))
    return _grouped(issues)


def _grouped(issues: list[PdfaIssue]) -> list[PdfaIssue]:
    """One issue per (clause, expected, found), at its first place and how many there are: a font
    left out on 24,000 pages is one line, not 24,000."""
    places: dict[tuple[str, str, str], list[str]] = {}
    for i in issues:
        seen = places.setdefault((i.clause, i.expected, i.found), [])
        if i.where not in seen:
            seen.append(i.where)
    return [PdfaIssue(c, e, f, w[0] + (f" 等 {len(w)} 处" if len(w) > 1 else "")) for (c, e, f), w in places.items()]


#: what the parse errors a user meets most often mean
_WHY = {"FileNotDecryptedError": "文件设有打开口令，内容无法读取", "LimitReachedError": "压缩数据过大，超出解析上限",
        "RecursionError": "嵌套过深", "PdfReadError": "结构损坏", "PdfStreamError": "数据流损坏或被截断"}


#: bounded runs, never starting inside a run of digits: `\d+\s+\d+\s+obj` took quadratic time
#: on a file of 30 MB of digits
_OBJ = re.compile(rb"(?<![0-9])[0-9]{1,10}[ \t\r\n\f\x00]{1,8}[0-9]{1,5}[ \t\r\n\f\x00]{1,8}obj\b")
_SIZE = re.compile(rb"/Size\s+(\d{1,12})")
_INDEX = re.compile(rb"/Index\s*\[([0-9\s]{1,10000})\]")


def declared_objects(data: bytes) -> int:
    """How many objects the file claims: the largest of the ``obj`` headers counted, the trailers'
    and cross-reference streams' ``/Size`` and the entries their ``/Index`` lists. Known before a
    parser reads anything (a 26 KB cross-reference stream can declare millions of entries, which
    pyHanko then reads one by one for 11 s)."""
    sizes = [int(m.group(1)) for m in _SIZE.finditer(data)]
    for m in _INDEX.finditer(data):
        nums = [int(x) for x in m.group(1).split()]
        sizes.append(sum(nums[1::2]))
    # every header holds "obj": when the bytes hold few, the headers cannot be more (no regex pass)
    headers = data.count(b"obj")
    if headers > MAX_OBJECTS:
        headers = len(_OBJ.findall(data))
    return max([headers, *sizes])


class _Refused(Exception):
    """The file is not looked into further: one issue says why."""

    def __init__(self, issue: PdfaIssue) -> None:
        super().__init__(issue.found)
        self.issue = issue


def _too_many(count: int) -> _Refused:
    return _Refused(PdfaIssue("文件结构", f"不超过 {MAX_OBJECTS} 个对象（生成的公文只有几百个）",
                              f"约 {count} 个对象，未逐项检查"))


class _Clock:
    """Raises ``_Refused`` once the time limit has passed (checked every so many objects)."""

    def __init__(self, limit: float) -> None:
        self.deadline = time.monotonic() + limit

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _Refused(PdfaIssue("文件结构", f"{TIME_LIMIT:g} 秒内能检查完的 PDF",
                                     "检查超时（结构异常复杂），未查完"))


# --------------------------------------------------------------------------- file structure

_HEADER = re.compile(rb"%PDF-1\.([0-9])\r?\n?")


def _check_header_and_tail(data: bytes, issues: list[PdfaIssue]) -> None:
    m = _HEADER.match(data)
    if m is None:
        issues.append(PdfaIssue("6.1.2 文件头", "以 %PDF-1.n 开头", repr(data[:12])))
        return
    if int(m.group(1)) > 7:
        issues.append(PdfaIssue("6.1.2 文件头", "PDF 1.7 或更低", f"PDF 1.{m.group(1).decode()}"))
    rest = data[m.end():m.end() + 16]
    comment = re.match(rb"%([^\r\n]{4,})", rest)
    if comment is None or sum(b >= 128 for b in comment.group(1)[:4]) < 4:
        issues.append(PdfaIssue("6.1.2 文件头", "第二行是至少 4 个字节 ≥128 的注释", repr(rest[:10])))
    tail = data.rstrip(b"\r\n")
    if not tail.endswith(b"%%EOF") or len(data) - len(tail) > 2:
        issues.append(PdfaIssue("6.1.3 文件尾", "最后的 %%EOF 之后只有一个换行", repr(data[-20:])))


def _check_document(reader: Any, data: bytes, issues: list[PdfaIssue], clock: _Clock) -> None:
    trailer = reader.trailer
    if "/Encrypt" in trailer:
        issues.append(PdfaIssue("6.1.3 加密", "不加密", "有 /Encrypt"))
    ident = trailer.get("/ID")
    if ident is None or len(ident) != 2:
        issues.append(PdfaIssue("6.1.3 文件标识", "文件尾有 /ID（两个字符串）", "没有"))
    root = trailer["/Root"].get_object()
    objects = list(_all_objects(reader, clock))
    _check_objects(objects, issues, clock)
    _check_output_intent(root, issues)
    _check_pages(reader, issues, clock)
    _check_actions(root, issues)
    _check_signatures(objects, data, issues)
    _check_metadata(reader, root, issues)


def _all_objects(reader: Any, clock: _Clock) -> Iterator[tuple[str, Any]]:
    """Every indirect object of the file's cross-reference tables (all revisions)."""
    from pypdf.generic import IndirectObject

    seen: set[tuple[int, int]] = set()
    refs = [(num, gen) for gen, entries in reader.xref.items() for num in entries]
    refs += [(num, 0) for num in reader.xref_objStm]
    if len(refs) > MAX_OBJECTS:  # object streams can hold more than the file's text shows
        raise _too_many(len(refs))
    for num, gen in refs:
        if (num, gen) not in seen:
            seen.add((num, gen))
            if len(seen) % 256 == 0:
                clock.tick()
            yield f"对象 {num} {gen}", IndirectObject(num, gen, reader).get_object()


def _direct_dicts(obj: Any, clock: _Clock) -> Iterator[Any]:
    """``obj`` (when a dictionary) and every dictionary written inside it — an action is most often
    an inline ``/OpenAction << /S /JavaScript ... >>`` or a link's ``/A << /S /Launch ... >>``,
    not an object of its own. Indirect references are not followed (each object is visited as
    its own entry); the walk ticks the clock."""
    from pypdf.generic import ArrayObject, DictionaryObject

    stack, visited = [obj], 0
    while stack:
        item = stack.pop()
        visited += 1
        if visited % 4096 == 0:
            clock.tick()
        if isinstance(item, DictionaryObject):
            yield item
            stack.extend(v for v in item.values() if isinstance(v, DictionaryObject | ArrayObject))
        elif isinstance(item, ArrayObject):
            stack.extend(v for v in item if isinstance(v, DictionaryObject | ArrayObject))


def _check_objects(objects: list[tuple[str, Any]], issues: list[PdfaIssue], clock: _Clock) -> None:
    from pypdf.generic import ArrayObject, NameObject, StreamObject

    for where, top in objects:
        if isinstance(top, StreamObject):
            obj = top
            for key in ("/F", "/FFilter", "/FDecodeParms"):
                if key in obj:
                    issues.append(PdfaIssue("6.1.7 流", f"流字典没有 {key}（外部文件）", f"有 {key}", where))
            filters = obj.get("/Filter")
            names = [filters] if isinstance(filters, NameObject) else list(filters or []) \
                if isinstance(filters, ArrayObject) else []
            for f in names:
                if f in ("/LZWDecode", "/Crypt"):
                    issues.append(PdfaIssue("6.1.7 流", "不用 LZWDecode、Crypt 过滤器", str(f), where))
        for obj in _direct_dicts(top, clock):
            action = obj.get("/S")
            if action in _FORBIDDEN_ACTIONS and obj.get("/Type", "/Action") == "/Action":
                issues.append(PdfaIssue("6.5.1 动作", "没有 JavaScript、Launch 等禁止的动作", str(action), where))
            if action == "/Named" and obj.get("/N") not in ("/NextPage", "/PrevPage", "/FirstPage", "/LastPage"):
                issues.append(PdfaIssue("6.5.1 动作", "命名动作只有翻页", str(obj.get("/N")), where))
            if "/JS" in obj:
                issues.append(PdfaIssue("6.5.1 动作", "没有 JavaScript", "有 /JS", where))


def _check_output_intent(root: Any, issues: list[PdfaIssue]) -> None:
    intents = root.get("/OutputIntents")
    for intent in (intents.get_object() if intents is not None else []):
        intent = intent.get_object()
        if intent.get("/S") == "/GTS_PDFA1":
            if intent.get("/DestOutputProfile") is None:
                issues.append(PdfaIssue("6.2.3 输出意图", "GTS_PDFA1 输出意图带 ICC 配置文件", "没有 DestOutputProfile"))
            return
    issues.append(PdfaIssue("6.2.3 输出意图", "有 GTS_PDFA1 输出意图", "没有"))


# --------------------------------------------------------------------------- pages, fonts, annotations


def _font_embedded(font: Any) -> bool:
    subtype = font.get("/Subtype")
    if subtype == "/Type3":
        return True
    if subtype == "/Type0":
        descendants = font.get("/DescendantFonts")
        if not descendants:
            return False
        font = descendants.get_object()[0].get_object()
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False
    descriptor = descriptor.get_object()
    return any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def _resources_fonts(resources: Any, where: str, seen: set[int], issues: list[PdfaIssue],
                     clock: _Clock | None = None) -> None:
    """Fonts of a resource dictionary and of the forms (XObjects) it uses, recursively."""
    if resources is None:
        return
    resources = resources.get_object()
    if id(resources) in seen or len(seen) > 10_000:
        return
    seen.add(id(resources))
    if clock is not None and len(seen) % 64 == 0:
        clock.tick()
    fonts = resources.get("/Font")
    for name, ref in (fonts.get_object().items() if fonts is not None else []):
        font = ref.get_object()
        if not _font_embedded(font):
            issues.append(PdfaIssue("6.2.11.4 字体嵌入", "所用字体全部嵌入",
                                    f"{font.get('/BaseFont', name)} 未嵌入", where))
    xobjects = resources.get("/XObject")
    for ref in (xobjects.get_object().values() if xobjects is not None else []):
        xobj = ref.get_object()
        if xobj.get("/Subtype") == "/Form":
            _resources_fonts(xobj.get("/Resources"), where, seen, issues, clock)
        for key in ("/OPI", "/Alternates"):
            if key in xobj:
                issues.append(PdfaIssue("6.2.8/6.2.9 图像与表单对象", f"没有 {key}", f"有 {key}", where))
        if xobj.get("/Subtype") == "/PS" or "/Subtype2" in xobj:
            issues.append(PdfaIssue("6.2.9 PostScript", "没有 PostScript 对象", "有", where))


def _check_pages(reader: Any, issues: list[PdfaIssue], clock: _Clock) -> None:
    seen: set[int] = set()
    for n, page in enumerate(reader.pages, 1):
        clock.tick()
        where = f"第 {n} 页"
        _resources_fonts(page.get("/Resources"), where, seen, issues, clock)
        if "/AA" in page:
            issues.append(PdfaIssue("6.5.2 附加动作", "页面没有 /AA", "有 /AA", where))
        for k, ref in enumerate(page.get("/Annots") or []):
            if k % 256 == 255:
                clock.tick()
            annot = ref.get_object()
            _check_annotation(annot, where, seen, issues, clock)


def _check_annotation(annot: Any, where: str, seen: set[int], issues: list[PdfaIssue], clock: _Clock) -> None:
    subtype = annot.get("/Subtype")
    if subtype in _FORBIDDEN_ANNOTS:
        issues.append(PdfaIssue("6.3.1 注释类型", "没有 3D、声音、影片等注释", str(subtype), where))
    if subtype == "/Popup":
        return
    flags = int(annot.get("/F", 0))
    if not flags & _PRINT or flags & (_INVISIBLE | _HIDDEN | _NOVIEW):
        issues.append(PdfaIssue("6.3.2 注释标志", "打印位置位，隐藏/不可见/不显示位未置位",
                                f"/F {flags}（{subtype}）", where))
    if "/AA" in annot:
        issues.append(PdfaIssue("6.5.2 附加动作", "注释与表单域没有 /AA", f"有 /AA（{subtype}）", where))
    rect = [float(x) for x in annot.get("/Rect", [0, 0, 0, 0])]
    visible = len(rect) == 4 and rect[2] - rect[0] > 0 and rect[3] - rect[1] > 0
    ap = annot.get("/AP")
    if visible and subtype != "/Link":
        ap = ap.get_object() if ap is not None else None
        if ap is None or "/N" not in ap or set(ap.keys()) - {"/N"}:
            issues.append(PdfaIssue("6.3.3 注释外观", "可见注释只有正常外观流 /AP /N",
                                    "没有外观流" if ap is None else f"/AP 键 {sorted(ap.keys())}", where))
        else:
            normal = ap["/N"].get_object()
            _resources_fonts(normal.get("/Resources"), where, seen, issues, clock)


def _check_actions(root: Any, issues: list[PdfaIssue]) -> None:
    if "/AA" in root:
        issues.append(PdfaIssue("6.5.2 附加动作", "文档目录没有 /AA", "有 /AA"))
    names = root.get("/Names")
    if names is not None and "/JavaScript" in names.get_object():
        issues.append(PdfaIssue("6.5.1 动作", "没有文档级 JavaScript", "名称树有 /JavaScript"))
    form = root.get("/AcroForm")
    if form is not None and form.get_object().get("/NeedAppearances"):
        issues.append(PdfaIssue("6.4.1 表单", "NeedAppearances 不为 true", "true"))


def _check_signatures(objects: list[tuple[str, Any]], data: bytes, issues: list[PdfaIssue]) -> None:
    from pypdf.generic import DictionaryObject

    ranges: list[tuple[str, list[int]]] = []
    for where, obj in objects:
        if isinstance(obj, DictionaryObject) and obj.get("/Type") == "/Sig" and "/ByteRange" in obj:
            sub = obj.get("/SubFilter")
            if sub not in _SUBFILTERS:
                issues.append(PdfaIssue("6.4.3 数字签名", "SubFilter 为 adbe.pkcs7.detached 或 ETSI.CAdES.detached",
                                        str(sub), where))
            byte_range: Any = obj["/ByteRange"]
            ranges.append((where, [int(x) for x in byte_range]))
    for where, br in ranges:
        ok = len(br) == 4 and br[0] == 0 and 0 < br[1] < br[2] <= br[2] + br[3] <= len(data) \
            and data[br[1]:br[1] + 1] == b"<" and data[br[2] - 1:br[2]] == b">"
        if not ok:
            issues.append(PdfaIssue("6.4.3 数字签名", "ByteRange 自文件开头覆盖除签名值外的全部内容", str(br), where))
    if ranges and max(br[2] + br[3] for _, br in ranges if len(br) == 4) != len(data):
        issues.append(PdfaIssue("6.4.3 数字签名", "最后一个签名覆盖到文件末尾", "签名之后文件又被改动"))


# --------------------------------------------------------------------------- metadata

_X = {
    "x": "adobe:ns:meta/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/", "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/", "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
}


def _xmp_values(xmp: bytes) -> dict[str, str | None]:
    """The XMP properties the Info dictionary mirrors (and the PDF/A identification)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    start, end = xmp.find(b"<x:xmpmeta"), xmp.rfind(b"</x:xmpmeta>")
    tree = etree.fromstring(xmp[start:end + len(b"</x:xmpmeta>")] if 0 <= start < end else xmp, parser)
    out: dict[str, str | None] = {}

    def prop(ns: str, name: str) -> Any:
        tag = f"{{{_X[ns]}}}{name}"
        for desc in tree.iter(f"{{{_X['rdf']}}}Description"):
            attr = desc.get(tag)
            if attr is not None:
                return attr
            el = desc.find(tag)
            if el is not None:
                return el
        return None

    def text(ns: str, name: str) -> str | None:
        v = prop(ns, name)
        if v is None or isinstance(v, str):
            return v
        li = v.findall(f".//{{{_X['rdf']}}}li")
        if li:
            # lang alternatives: x-default first
            best = next((x for x in li if x.get("{http://www.w3.org/XML/1998/namespace}lang") == "x-default"), li[0])
            return "".join(best.itertext())
        return "".join(v.itertext())

    for key, (ns, name) in {"part": ("pdfaid", "part"), "conformance": ("pdfaid", "conformance"),
                            "/Title": ("dc", "title"), "/Author": ("dc", "creator"),
                            "/Subject": ("dc", "description"), "/Keywords": ("pdf", "Keywords"),
                            "/Creator": ("xmp", "CreatorTool"), "/Producer": ("pdf", "Producer"),
                            "/CreationDate": ("xmp", "CreateDate"), "/ModDate": ("xmp", "ModifyDate")}.items():
        out[key] = text(ns, name)
    creators = prop("dc", "creator")
    if creators is not None and not isinstance(creators, str) and len(creators.findall(f".//{{{_X['rdf']}}}li")) > 1:
        out["/Author"] = "\x00several"  # Info /Author is one string: one creator only
    return out


_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?'?")


def _pdf_date(value: str) -> dt.datetime | None:
    m = _PDF_DATE.match(value.strip())
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) if g else default for g, default in zip(m.groups()[:6], (0, 1, 1, 0, 0, 0), strict=True))
    tz = dt.UTC
    if m.group(7) in ("+", "-"):
        off = dt.timedelta(hours=int(m.group(8) or 0), minutes=int(m.group(9) or 0))
        tz = dt.timezone(off if m.group(7) == "+" else -off)
    try:
        return dt.datetime(y, mo, d, h, mi, s, tzinfo=tz)
    except ValueError:
        return None


def _xmp_date(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _xpacket_header(xmp: bytes) -> bytes | None:
    """The first ``<?xpacket begin=…?>`` (the regular expression searched before took quadratic
    time on a packet of 200,000 unclosed openings)."""
    start = xmp.find(b"<?xpacket begin=")
    if start < 0:
        return None
    end = xmp.find(b">", start, start + 4096)
    return xmp[start:end + 1] if end > 0 and xmp[end - 1:end] == b"?" else None


def _check_metadata(reader: Any, root: Any, issues: list[PdfaIssue]) -> None:
    ref = root.get("/Metadata")
    if ref is None:
        issues.append(PdfaIssue("6.6.2.1 元数据", "文档目录有 XMP 元数据流", "没有"))
        return
    stream = ref.get_object()
    if "/Filter" in stream:
        issues.append(PdfaIssue("6.6.2.1 元数据", "XMP 元数据流不压缩（无 /Filter）", str(stream["/Filter"])))
    xmp = stream.get_data()
    header = _xpacket_header(xmp)
    if header is not None and (b" bytes=" in header or b" encoding=" in header):
        issues.append(PdfaIssue("6.6.2.1 元数据", "xpacket 头没有 bytes、encoding 属性", header.decode("latin-1")))
    try:
        values = _xmp_values(xmp)
    except Exception as err:  # lxml raises its own family; a broken packet is one issue
        issues.append(PdfaIssue("6.6.2.1 元数据", "合法的 XMP", f"无法解析（{type(err).__name__}）"))
        return
    if values.get("part") != "2" or (values.get("conformance") or "").upper() not in ("A", "B", "U"):
        issues.append(PdfaIssue("6.6.4 PDF/A 标识", "pdfaid:part 2，conformance B（或 U、A）",
                                f"part {values.get('part')}，conformance {values.get('conformance')}"))
    info_ref = reader.trailer.get("/Info")
    info = info_ref.get_object() if info_ref is not None else {}
    for key in ("/Title", "/Author", "/Subject", "/Keywords", "/Creator", "/Producer", "/CreationDate", "/ModDate"):
        in_info = info.get(key)
        if in_info is None:
            continue
        in_xmp = values.get(key)
        if key.endswith("Date"):
            a, b = _pdf_date(str(in_info)), _xmp_date(in_xmp) if in_xmp else None
            same = a is not None and b is not None and a == b
        else:
            same = in_xmp is not None and str(in_info) == in_xmp
        if not same:
            issues.append(PdfaIssue("6.6.3 元数据一致", f"文档信息 {key} 与 XMP 相同",
                                    f"信息字典 {str(in_info)[:60]!r}，XMP {str(in_xmp)[:60]!r}"))


# --------------------------------------------------------------------------- active content


def active_content(data: bytes, *, limit: int = 10_000) -> list[str]:
    """What in ``data`` would run when the PDF is opened or clicked: JavaScript (document-level
    or in an action), launch and the other actions PDF/A forbids, on the catalog (open action,
    /AA), the pages (/AA) and their annotations and form fields (/A, /AA, /Next chains). Empty
    for a PDF guanai makes. Only the catalog, pages and annotations are read (a few ms), not every
    object; ``limit`` bounds the dictionaries visited. Unreadable input: InputError."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    from guanai.base.errors import InputError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        root: Any = reader.trailer["/Root"].get_object()
        found: list[str] = []
        seen: set[tuple[int, int]] = set()
        budget = [limit]

        def actions(obj: Any, where: str) -> None:
            """An action (or /AA dictionary of them) and the actions it chains to."""
            stack = [obj]
            while stack and budget[0] > 0:
                item = stack.pop()
                if isinstance(item, IndirectObject):
                    key = (item.idnum, item.generation)
                    if key in seen:
                        continue
                    seen.add(key)
                    item = item.get_object()
                budget[0] -= 1
                if isinstance(item, ArrayObject):
                    stack.extend(item)
                elif isinstance(item, DictionaryObject):
                    kind = item.get("/S")
                    if kind in _FORBIDDEN_ACTIONS or "/JS" in item:
                        found.append(f"{where}：{str(kind or '/JavaScript')[1:]}")
                    nxt = item.get("/Next")
                    if nxt is not None:
                        stack.append(nxt)
                    if kind is None and "/JS" not in item:  # an /AA dictionary: its values are actions
                        stack.extend(v for k, v in item.items() if k not in ("/Type", "/Next"))

        if "/OpenAction" in root:
            actions(root["/OpenAction"], "打开文件时")
        if "/AA" in root:
            actions(root["/AA"], "文档事件")
        names = root.get("/Names")
        if names is not None and "/JavaScript" in names.get_object():
            found.append("文档级 JavaScript")
        for n, page in enumerate(reader.pages, 1):
            if budget[0] <= 0:
                break
            if "/AA" in page:
                actions(page["/AA"], f"第 {n} 页")
            for ref in page.get("/Annots") or []:
                annot = ref.get_object()
                for key in ("/A", "/AA"):
                    if key in annot:
                        actions(annot[key], f"第 {n} 页的{'链接' if annot.get('/Subtype') == '/Link' else '注释或表单域'}")
        if budget[0] <= 0:
            found.append("结构过于复杂，未能查完")
        return found
    except RecursionError as err:
        raise InputError("PDF 结构嵌套过深，无法读取。", "文件可能是恶意构造的；请用原软件重新生成 PDF。") from err
    except Exception as err:  # pypdf raises many kinds on broken files
        raise InputError(f"无法读取 PDF（{type(err).__name__}）。", "文件可能已损坏；请重新生成 PDF。") from err
