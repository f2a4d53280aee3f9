"""Plain text of a .docx (for storage and the search index): one line per paragraph."""

from __future__ import annotations

import csv
import errno
import io
import re
import zipfile
import zlib
from typing import Any

from lxml import etree

from guanai.base.errors import InputError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _T, _TAB, _BR, _CR = W + "p", W + "t", W + "tab", W + "br", W + "cr"
_TXBX = W + "txbxContent"


def _in_text_box_below(el: Any, p: Any) -> bool:
    """Is ``el`` inside a text box that is inside paragraph ``p``?"""
    for a in el.iterancestors():
        if a is p:
            return False
        if a.tag == _TXBX:
            return True
    return False
_PARSER = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
MAX_DOCUMENT_XML = 50 * 1024 * 1024


def error_detail(err: BaseException) -> str:
    """A Chinese description of a low-level reading error (the English original stays chained)."""
    if isinstance(err, zipfile.BadZipFile):
        return "不是 ZIP 压缩格式，或文件已损坏、被截断"
    if isinstance(err, zlib.error | EOFError):
        return "压缩数据损坏或被截断"
    if isinstance(err, zipfile.LargeZipFile):
        return "压缩包过大"
    if isinstance(err, KeyError):
        return "缺少必要的组成部分"
    if isinstance(err, etree.XMLSyntaxError):
        line, col = (err.position if err.position else (err.lineno, 0))
        return f"XML 第 {line} 行第 {col} 列有语法错误"
    if isinstance(err, csv.Error):
        return "引号或分隔符不配对"
    if isinstance(err, OSError):
        known = {errno.ENOENT: "文件不存在", errno.EACCES: "没有读取权限", errno.EISDIR: "这是一个目录"}
        return known.get(err.errno or 0, f"读写错误（错误码 {err.errno}）" if err.errno else "读写错误")
    return "格式不正确或文件已损坏"


def xml_text(root: Any) -> str:
    """Text of a parsed word/document.xml: paragraphs (also inside tables) in document order."""
    lines = []
    for p in root.iter(_P):
        parts = []
        # a text box's paragraphs come on their own: not again as part of the paragraph holding it
        nested = p.find(".//" + _TXBX) is not None
        for el in p.iter(_T, _TAB, _BR, _CR):
            if nested and _in_text_box_below(el, p):
                continue
            if el.tag == _T:
                parts.append(el.text or "")
            elif el.tag == _TAB:
                parts.append("\t")
            else:
                parts.append("\n")
        lines.append("".join(parts))
    return "\n".join(lines).strip("\n") + "\n"


def docx_text(data: bytes) -> str:
    """Text of a .docx given as bytes (InputError if it is not a readable Word document)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            info = zf.getinfo("word/document.xml")
            if info.file_size > MAX_DOCUMENT_XML:
                raise InputError("文档正文过大，无法提取文字。", "文档 word/document.xml 不应超过 50 MB。")
            xml = zf.read(info)
        return xml_text(etree.fromstring(xml, _PARSER))
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as err:
        raise InputError(f"不是可读的 .docx 文档（{error_detail(err)}）。", "用 Word/WPS 打开检查该文件。") from err


# Parts a reader sees besides the body: headers, footers, notes, comments, and the document
# properties (title, subject, keywords) that Word/WPS and PDF viewers show.
_VISIBLE_PARTS = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml|docProps/(core|app)\.xml")
MAX_VISIBLE_BYTES = 64 * 1024 * 1024


def visible_text(data: bytes) -> str:
    """Every text a reader of the .docx can see: body, headers, footers, notes, comments, properties.

    One line per paragraph (or property); used to check documents for families for labelling
    words (避免标签化), where a customised template could hide them outside the body.
    """
    lines: list[str] = []
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                if not _VISIBLE_PARTS.fullmatch(info.filename):
                    continue
                total += info.file_size
                if total > MAX_VISIBLE_BYTES:
                    raise InputError("文档过大，无法检查文字。", "文档各部分合计不应超过 64 MB。")
                root = etree.fromstring(zf.read(info), _PARSER)
                if info.filename.startswith("word/"):
                    lines.append(xml_text(root))
                else:
                    lines.extend(t for el in root.iter() if isinstance(el.tag, str) and (t := (el.text or "").strip()))
    except (zipfile.BadZipFile, etree.XMLSyntaxError) as err:
        raise InputError(f"不是可读的 .docx 文档（{error_detail(err)}）。", "用 Word/WPS 打开检查该文件。") from err
    return "\n".join(lines)
