"""GB/T 9704-2012 (党政机关公文格式) constants and small helpers.

One source of truth for the official-document format: the templates/renderer build 公文 with
these values and ``generators.lint`` checks .docx files against them.

Units: OOXML page geometry is in twips (1/20 pt, 1440 per inch), font sizes in half-points
(``w:sz``), line spacing ``w:line`` in twips when ``w:lineRule="exact"``.

Chinese size names: 2号 = 22 pt, 3号 = 16 pt, 4号 = 14 pt.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

# --------------------------------------------------------------------------- document category

#: ``cp:category`` (Word: 文件 › 属性 › 类别) of the templates and so of every generated document:
#: `guanai lint` checks 公文 and says plainly that a form (card, record, notice to a family) is
#: not one, instead of listing a dozen 公文 rules it was never meant to follow.
CATEGORY_OFFICIAL: Final = "公文"
CATEGORY_FORM: Final = "表格类文书（非公文）"


# --------------------------------------------------------------------------- units

TWIPS_PER_MM: Final = 1440 / 25.4


def mm_to_twips(mm: float) -> int:
    return round(mm * TWIPS_PER_MM)


def twips_to_mm(twips: float) -> float:
    return twips / TWIPS_PER_MM


def pt_to_half_points(pt: float) -> int:
    return round(pt * 2)


# --------------------------------------------------------------------------- page (§5.2)

PAGE_WIDTH_MM: Final = 210
PAGE_HEIGHT_MM: Final = 297
MARGIN_TOP_MM: Final = 37  # 天头
MARGIN_BOTTOM_MM: Final = 35
MARGIN_LEFT_MM: Final = 28  # 订口
MARGIN_RIGHT_MM: Final = 26
TEXT_WIDTH_MM: Final = 156  # 版心 156 × 225 mm
TEXT_HEIGHT_MM: Final = 225
#: The standard allows ±1 mm on 天头 and 订口; the checker uses it for every margin.
MARGIN_TOLERANCE_MM: Final = 1.0
PAGE_TOLERANCE_MM: Final = 1.0

PAGE_WIDTH_TWIPS: Final = 11906  # the values Word writes for A4
PAGE_HEIGHT_TWIPS: Final = 16838
MARGIN_TOP_TWIPS: Final = mm_to_twips(MARGIN_TOP_MM)  # 2098
MARGIN_BOTTOM_TWIPS: Final = mm_to_twips(MARGIN_BOTTOM_MM)  # 1984
MARGIN_LEFT_TWIPS: Final = mm_to_twips(MARGIN_LEFT_MM)  # 1587
MARGIN_RIGHT_TWIPS: Final = mm_to_twips(MARGIN_RIGHT_MM)  # 1474
#: w:footer (page edge to the bottom of the footer line): the page number's top sits 7 mm below the
#: text block (页码一字线上距版心下边缘 7 mm), its line is about 5 mm high.
FOOTER_DISTANCE_TWIPS: Final = mm_to_twips(MARGIN_BOTTOM_MM - 7 - 5)

LINES_PER_PAGE: Final = 22
CHARS_PER_LINE: Final = 28

# --------------------------------------------------------------------------- type sizes

TITLE_SIZE_PT: Final = 22.0  # 2号
#: 2号 characters that fit on one line of the 156 mm text block (156 mm / 22 pt = 20.1)
TITLE_CHARS_PER_LINE: Final = int(TEXT_WIDTH_MM / (TITLE_SIZE_PT * 25.4 / 72))
BODY_SIZE_PT: Final = 16.0  # 3号
HEADING_SIZE_PT: Final = 16.0  # headings are 3号 as well
PAGE_NUMBER_SIZE_PT: Final = 14.0  # 4号
RECORD_SIZE_PT: Final = 14.0  # 版记 (抄送, 印发机关) 4号

TITLE_SIZE_HALF_POINTS: Final = 44
BODY_SIZE_HALF_POINTS: Final = 32
HEADING_SIZE_HALF_POINTS: Final = 32
PAGE_NUMBER_SIZE_HALF_POINTS: Final = 28

#: Exact line spacing of body text: the 225 mm text block holds 22 lines.
LINE_SPACING_PT: Final = 28.95
LINE_SPACING_TWIPS: Final = 579  # w:spacing w:line="579" w:lineRule="exact"
LINE_SPACING_TOLERANCE_PT: Final = 0.3
#: Character pitch for 28 characters per line (w:docGrid w:charSpace is derived from it).
CHAR_PITCH_TWIPS: Final = round(mm_to_twips(TEXT_WIDTH_MM) / CHARS_PER_LINE)

# --------------------------------------------------------------------------- fonts

#: Names as Windows/WPS users have them; keep these in the .docx (docs/NOTES.md).
FONT_BODY: Final = "仿宋_GB2312"
FONT_TITLE: Final = "方正小标宋简体"
FONT_HEADING1: Final = "黑体"
FONT_HEADING2: Final = "楷体_GB2312"
FONT_HEADING3: Final = "仿宋_GB2312"
FONT_PAGE_NUMBER: Final = "宋体"
#: Latin font for digits and letters next to 仿宋 body text.
FONT_LATIN: Final = "Times New Roman"

#: Names accepted by the checker as "the same face" (WPS/Office ship different spellings).
FANGSONG_NAMES: Final = frozenset({"仿宋_GB2312", "仿宋", "FangSong", "FangSong_GB2312", "仿宋体"})
XIAOBIAOSONG_NAMES: Final = frozenset({"方正小标宋简体", "方正小标宋_GBK", "方正小标宋体", "小标宋体", "FZXiaoBiaoSong-B05S"})
HEITI_NAMES: Final = frozenset({"黑体", "SimHei"})
KAITI_NAMES: Final = frozenset({"楷体_GB2312", "楷体", "KaiTi", "KaiTi_GB2312"})
SONGTI_NAMES: Final = frozenset({"宋体", "SimSun"})

#: Free faces used for PDF conversion on Linux (fontconfig mapping in generators/fonts.conf).
FONT_FALLBACKS: Final[dict[str, str]] = {
    "仿宋_GB2312": "AR PL UMing CN",
    "仿宋": "AR PL UMing CN",
    "FangSong": "AR PL UMing CN",
    "FangSong_GB2312": "AR PL UMing CN",
    "方正小标宋简体": "Noto Serif CJK SC:bold",
    "方正小标宋_GBK": "Noto Serif CJK SC:bold",
    "宋体": "Noto Serif CJK SC",
    "SimSun": "Noto Serif CJK SC",
    "楷体": "AR PL UKai CN",
    "楷体_GB2312": "AR PL UKai CN",
    "KaiTi": "AR PL UKai CN",
    "黑体": "Noto Sans CJK SC",
    "SimHei": "Noto Sans CJK SC",
}

LANG_EAST_ASIA: Final = "zh-CN"

# --------------------------------------------------------------------------- paragraph styles

#: Paragraph style names (w:name) that mark an element explicitly; the checker uses them when
#: present and falls back to recognising elements by their text otherwise.
STYLE_TITLE: Final = "公文标题"
STYLE_BODY: Final = "公文正文"
STYLE_HEADING1: Final = "一级标题"
STYLE_HEADING2: Final = "二级标题"
STYLE_HEADING3: Final = "三级标题"
STYLE_DOC_NUMBER: Final = "发文字号"
STYLE_DATE: Final = "成文日期"
STYLE_RECORD: Final = "版记"

# --------------------------------------------------------------------------- headings (§7.3.3)

_CN_NUM = "一二三四五六七八九十百零〇"
#: 一、  (黑体)
HEADING1_RE: Final = re.compile(rf"^[{_CN_NUM}]+、")
#: （一）  (楷体), full-width parentheses
HEADING2_RE: Final = re.compile(rf"^（[{_CN_NUM}]+）")
#: 1.  (仿宋); "1．" with a full-width point is common too
HEADING3_RE: Final = re.compile(r"^[1-9]\d*[.．]")
#: (1)  (仿宋, level 4) — checked like body text
HEADING4_RE: Final = re.compile(r"^（[1-9]\d*）")

# --------------------------------------------------------------------------- 发文字号 (§7.2.4)

#: 发文机关代字 + 〔年份〕 + 序号 + 号, e.g. 教体基〔2020〕9号: brackets U+3014/U+3015, no 第,
#: no leading zero in the number.
DOC_NUMBER_RE: Final = re.compile(r"^(?P<org>[\u4e00-\u9fffA-Za-z]{1,20})〔(?P<year>(?:19|20)\d{2})〕(?P<num>[1-9]\d{0,4})号$")
#: Loose pattern that finds something meant as a 发文字号 (to report what is wrong with it).
DOC_NUMBER_LOOSE_RE: Final = re.compile(
    r"(?P<org>[\u4e00-\u9fffA-Za-z]{1,20})\s*"
    r"(?P<open>[〔\[【(（［〈<《{｛])\s*(?P<year>[0-9０-９〇○零一二三四五六七八九]{4})\s*"
    r"(?P<close>[〕\]】)）］〉>》}｝])\s*(?P<di>第?)\s*(?P<num>[0-9０-９〇○零一二三四五六七八九十]+)\s*号"
)
DOC_NUMBER_EXAMPLE: Final = "教体基〔2020〕9号"


def format_doc_number(org: str, year: int, number: int) -> str:
    """The canonical 发文字号: ``format_doc_number("教体基", 2020, 9) == "教体基〔2020〕9号"``."""
    return f"{org}〔{year}〕{number}号"


def doc_number_problems(text: str) -> list[str]:
    """Chinese descriptions of what is wrong with a 发文字号 (empty when it is correct)."""
    s = text.strip()
    if DOC_NUMBER_RE.match(s):
        return []
    problems: list[str] = []
    m = DOC_NUMBER_LOOSE_RE.search(s)
    if m is None:
        return [f"不是“机关代字〔年份〕序号号”的形式（如 {DOC_NUMBER_EXAMPLE}）"]
    if m.group("open") != "〔" or m.group("close") != "〕":
        problems.append(f"年份应使用六角括号〔〕，而不是 {m.group('open')}{m.group('close')}")
    year = m.group("year")
    if not re.fullmatch(r"(?:19|20)\d{2}", year):
        problems.append(f"年份应为 4 位阿拉伯数字，而不是“{year}”")
    if m.group("di"):
        problems.append("序号前不加“第”")
    num = m.group("num")
    if not re.fullmatch(r"\d+", num):
        problems.append(f"序号应为阿拉伯数字，而不是“{num}”")
    elif num.startswith("0"):
        problems.append(f"序号不编虚位（不加前导 0），“{num}”应为“{int(num)}”")
    if re.search(r"\s", m.group(0)):
        problems.append("发文字号中不应有空格")
    rest = (s[: m.start()] + s[m.end():]).strip()
    if not problems and rest:
        problems.append(f"发文字号前后有多余文字“{rest}”")
    return problems or [f"不是“机关代字〔年份〕序号号”的形式（如 {DOC_NUMBER_EXAMPLE}）"]


# --------------------------------------------------------------------------- 成文日期 (§7.3.5)

#: 2020年4月20日: Arabic numerals, year in full, month and day without padding.
DATE_RE: Final = re.compile(r"^(?P<y>(?:19|20)\d{2})年(?P<m>[1-9]|1[0-2])月(?P<d>[1-9]|[12]\d|3[01])日$")
#: Something meant as a date, in any numerals (to report what is wrong with it).
DATE_LOOSE_RE: Final = re.compile(
    r"^\s*(?P<y>[0-9０-９〇○零一二三四五六七八九]{2,4})\s*年\s*(?P<m>[0-9０-９〇○零一二三四五六七八九十]{1,3})\s*月"
    r"\s*(?P<d>[0-9０-９〇○零一二三四五六七八九十]{1,3})\s*日\s*$"
)
DATE_EXAMPLE: Final = "2020年4月20日"


def format_date(d: date) -> str:
    """The canonical 成文日期: ``format_date(date(2020, 4, 20)) == "2020年4月20日"``."""
    return f"{d.year}年{d.month}月{d.day}日"


def date_problems(text: str) -> list[str]:
    """Chinese descriptions of what is wrong with a 成文日期 (empty when it is correct)."""
    s = text.strip()
    m = DATE_RE.match(s)
    if m:
        try:
            date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        except ValueError:
            return [f"日期不存在：{s}"]
        return []
    lm = DATE_LOOSE_RE.match(s)
    if lm is None:
        return [f"不是“年月日”的形式（如 {DATE_EXAMPLE}）"]
    problems: list[str] = []
    parts = [lm.group("y"), lm.group("m"), lm.group("d")]
    if any(re.search(r"[〇○零一二三四五六七八九十]", p) for p in parts):
        problems.append("应使用阿拉伯数字，而不是汉字数字")
    if any(re.search(r"[０-９]", p) for p in parts):
        problems.append("应使用半角阿拉伯数字，而不是全角数字")
    if re.fullmatch(r"\d+", lm.group("y")) and len(lm.group("y")) != 4:
        problems.append("年份应写全 4 位")
    if any(re.fullmatch(r"0\d", p) for p in parts[1:]):
        problems.append("月、日不编虚位（不加前导 0）")
    if re.search(r"\s", s):
        problems.append("日期中不应有空格")
    return problems or [f"不是“年月日”的形式（如 {DATE_EXAMPLE}）"]


# --------------------------------------------------------------------------- page numbers (§7.5)

#: "— 1 —": an em dash (U+2014) on each side, 4号 半角宋体 Arabic digits; odd pages right
#: (空一字), even pages left (空一字). Needs ``w:evenAndOddHeaders`` in settings.xml.
PAGE_NUMBER_DASH: Final = "\u2014"
PAGE_NUMBER_PREFIX: Final = "\u2014 "
PAGE_NUMBER_SUFFIX: Final = " \u2014"
PAGE_NUMBER_TEXT_RE: Final = re.compile(r"^\u2014 ?\{PAGE\} ?\u2014$")
PAGE_NUMBER_ODD_ALIGN: Final = "right"
PAGE_NUMBER_EVEN_ALIGN: Final = "left"


def page_number_text(n: int) -> str:
    """``page_number_text(1) == "— 1 —"``."""
    return f"{PAGE_NUMBER_PREFIX}{n}{PAGE_NUMBER_SUFFIX}"


# --------------------------------------------------------------------------- title lines

_NO_LINE_START = frozenset("》）」』”’，。、；：！？)]%")
_NO_LINE_END = frozenset("《（「『“‘([")


def _width(ch: str) -> float:
    return 0.5 if ch.isascii() else 1.0


def title_lines(title: str, per_line: int | None = None) -> str:
    """A long title broken into lines of even length ("\n" between them).

    GB/T 9704 7.3.3: a title that runs over is split into lines "长短适宜、排列对称" (梯形或菱形);
    left to the word processor, a 41-character title wraps 20 + 20 + 1 with one lonely character.
    No line starts with a closing mark or ends with an opening one, and digit runs stay whole.
    A title with its own line breaks, or one that fits on a line, is returned as it is.
    """
    limit = per_line or TITLE_CHARS_PER_LINE
    total = sum(_width(c) for c in title)
    if "\n" in title or total <= limit:
        return title
    n = -(-int(total * 2) // (limit * 2))  # ceil(total / limit) on half-width units
    target = total / n
    lines: list[str] = []
    cur, width = "", 0.0
    for i, ch in enumerate(title):
        cur += ch
        width += _width(ch)
        nxt = title[i + 1] if i + 1 < len(title) else ""
        if (len(lines) < n - 1 and nxt and width >= target - 0.01 and nxt not in _NO_LINE_START
                and ch not in _NO_LINE_END and not (ch.isascii() and nxt.isascii())):
            lines.append(cur)
            cur, width = "", 0.0
    lines.append(cur)
    if any(sum(_width(c) for c in line) > limit for line in lines):
        return title  # punctuation pushed a line over: let the word processor wrap it
    return "\n".join(lines)
