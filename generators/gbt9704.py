"""GB/T 9704-2012 (党政机关公文格式) constants and small helpers.

One source of truth for the official-document format: the templates/renderer build 公文 with
these values and ``generators.lint`` checks .docx files against them.

Units: OOXML page geometry is in twips (1/20 pt, 1440 per inch), font sizes in half-points
(``w:sz``), line spacing ``w:line`` in twips when ``w:lineRule="exact"``.

Chinese size names: 2号 = 22 pt, 3号 = 16 pt, 4号 = 14 pt.
"""

from __future__ import annotations

import itertools
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

#: Free faces used for PDF conversion on Linux (fontconfig mapping in generators/fonts.conf), each
#: with the faces that fill in characters it lacks, closest style first. 仿宋: FandolFang (CTEX's
#: GB 2312 FangSong, from Debian's texlive-lang-chinese), then cwTeX 仿宋 (fonts-cwtex-fs: has
#: 玥 珺 垚 璟 彧 旻 芃 翀 …), then AR PL UMing for the rest (堃 喆 祎 …). 宋/黑/小标宋: the SC
#: (Simplified Chinese) Noto faces by their SC family names, never the JP ones.
FANGSONG_FACES: Final = ("FandolFang", "cwTeXFangSong", "AR PL UMing CN")
KAI_FACES: Final = ("AR PL UKai CN", "AR PL UMing CN")
SONG_FACES: Final = ("Noto Serif CJK SC", "AR PL UMing CN")
HEI_FACES: Final = ("Noto Sans CJK SC", "WenQuanYi Zen Hei")
FONT_FALLBACKS: Final[dict[str, tuple[tuple[str, ...], bool]]] = {
    **{name: (FANGSONG_FACES, False) for name in ("仿宋_GB2312", "仿宋", "FangSong", "FangSong_GB2312", "仿宋体")},
    **{name: (SONG_FACES, True) for name in ("方正小标宋简体", "方正小标宋_GBK", "方正小标宋体", "小标宋体")},
    **{name: (SONG_FACES, False) for name in ("宋体", "SimSun")},
    **{name: (KAI_FACES, False) for name in ("楷体", "楷体_GB2312", "KaiTi", "KaiTi_GB2312")},
    **{name: (HEI_FACES, False) for name in ("黑体", "SimHei")},
    # digits and Latin letters: Liberation Serif has Times New Roman's metrics (fonts-liberation2);
    # without it fontconfig hands Latin text to Noto CJK JP
    FONT_LATIN: (("Liberation Serif", "DejaVu Serif"), False),
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
STYLE_ORG_MARK: Final = "发文机关标志"
STYLE_HEAD_MARKS: Final = "份号密级紧急程度"
STYLE_RECIPIENT: Final = "主送机关"
STYLE_ATTACHMENT: Final = "附件说明"
STYLE_SIGNATURE: Final = "发文机关署名"
STYLE_NOTE: Final = "附注"
#: Hidden bookmarks (Word hides names starting with "_") the renderer puts in the 署名 paragraph:
#: which of the two layouts of 7.3.5 it used, so the PDF step can recompute it for LibreOffice.
BOOKMARK_SEAL: Final = "_GuanaiSeal"
BOOKMARK_NO_SEAL: Final = "_GuanaiNoSeal"

# --------------------------------------------------------------------------- 版头, 署名, 版记 (§7)

#: 发文机关标志: red, 小标宋, centred; its top edge 35 mm below the text block's top (80 mm for
#: 上行文, room for the 批办意见). The size is chosen so the mark fits the line with room to spare.
ORG_MARK_COLOR: Final = "FF0000"
ORG_MARK_MAX_PT: Final = 36.0
ORG_MARK_MIN_PT: Final = 22.0
ORG_MARK_TOP_MM: Final = 35.0
ORG_MARK_TOP_UPWARD_MM: Final = 80.0
#: 版头中的分隔线: red, as wide as the text block, 4 mm below the 发文字号 (w:pBdr bottom, 1/8 pt).
SEPARATOR_COLOR: Final = "FF0000"
SEPARATOR_EIGHTHS: Final = 12
SEPARATOR_GAP_PT: Final = 11  # 4 mm
#: 版记 lines: first and last 0.35 mm (1 pt), those between 0.25 mm (0.75 pt), in 1/8 pt.
RECORD_THICK_EIGHTHS: Final = 8
RECORD_THIN_EIGHTHS: Final = 6
#: 署名/成文日期 (7.3.5): with a seal the date is 右空四字 and the 署名 centred over it; without,
#: the 署名 is 右空二字 and the date starts two characters right of the 署名's first character.
DATE_RIGHT_CHARS_SEAL: Final = 4.0
SIGNATURE_RIGHT_CHARS: Final = 2.0
#: Blank lines between the body (or 附件说明) and the 署名: the seal overlaps the lines above.
SIGNATURE_GAP_LINES_SEAL: Final = 2
SIGNATURE_GAP_LINES: Final = 1


#: LibreOffice 7.4 ignores w:autoSpaceDE/DN and puts 0.2 em between Chinese and Latin characters
#: (digits); the PDF's 署名/日期 indents are computed with it (generators.pdf), the .docx's without.
LIBREOFFICE_AUTOSPACE: Final = 0.2


def text_chars(text: str, autospace: float = 0.0) -> float:
    """Width in 3号 characters: CJK and full-width 1, ASCII (Times New Roman digits) 0.5, plus
    ``autospace`` characters at each change between the two."""
    width = sum(0.5 if ch.isascii() else 1.0 for ch in text)
    if autospace:
        width += autospace * sum(1 for a, b in zip(text, text[1:], strict=False)
                                 if a.isascii() != b.isascii() and not a.isspace() and not b.isspace())
    return width


def signature_indents(signature: str, date_text: str, *, seal: bool, autospace: float = 0.0) -> tuple[float, float]:
    """Right indents (in characters) of the 署名 and the 成文日期 per 7.3.5.1 (seal) or 7.3.5.2."""
    s, d = text_chars(signature, autospace), text_chars(date_text, autospace)
    if seal:
        date_right = DATE_RIGHT_CHARS_SEAL
        return max(0.0, date_right + (d - s) / 2), date_right
    sig_right = max(SIGNATURE_RIGHT_CHARS, d + SIGNATURE_RIGHT_CHARS + 2 - s)
    return sig_right, sig_right + s - 2 - d


def org_mark_size(mark: str) -> float:
    """Point size of the 发文机关标志: as large as ORG_MARK_MAX_PT allows with a character to spare."""
    width_pt = TEXT_WIDTH_MM * 72 / 25.4
    fit = width_pt / (text_chars(mark) + 1)
    return max(ORG_MARK_MIN_PT, min(ORG_MARK_MAX_PT, int(fit * 2) / 2))


def outside_gb2312(text: str) -> list[str]:
    """Hanzi of ``text`` outside GB 2312 (仿宋_GB2312/楷体_GB2312 lack them: 玥 堃 喆 …), in order, once."""
    seen: list[str] = []
    for ch in text:
        if ch in seen or ch.isascii() or not ("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"
                                              or "\U00020000" <= ch <= "\U0003134f"):
            continue
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            seen.append(ch)
    return seen

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

_NO_LINE_START = frozenset("》）」』”’，。、；：！？)]%·")
_NO_LINE_END = frozenset("《（「『“‘([")
#: Words that read badly at the start of a title line (…的\n通报 is fine, …情况\n的通报 is not).
_WEAK_LINE_START = frozenset("的和与及等之")
#: Terms of this domain that jieba cuts in two (留守/儿童): a break inside them is avoided when possible.
KEEP_TOGETHER: Final = ("留守儿童", "困境儿童", "人民政府", "教育体育局", "领导小组", "关爱保护", "控辍保学",
                        "劝返复学", "义务教育", "派出所")
#: A number and the unit after it stay on one line (2020 年, 3 号).
_NUMBER_UNITS = frozenset("年月日号届期次名个所人")


def _width(ch: str) -> float:
    return 0.5 if ch.isascii() else 1.0


def _text_width(text: str) -> float:
    return sum(_width(c) for c in text)


def title_words(title: str) -> list[str]:
    """The title cut into words (rjieba, jieba's dictionary): a line break may fall only between them."""
    try:
        import rjieba

        words = [w for w in rjieba.cut(title) if w]
    except ImportError:  # pragma: no cover - rjieba is a declared dependency
        import jieba

        words = [w for w in jieba.cut(title) if w]
    return words if "".join(words) == title else list(title)


def title_break_allowed(before: str, after: str) -> bool:
    """May a title line end with ``before`` and the next begin with ``after`` (word boundary assumed)?"""
    if not before or not after:
        return False
    if after[0] in _NO_LINE_START or before[-1] in _NO_LINE_END:
        return False
    if before[-1].isdigit() and after[0] in _NUMBER_UNITS:
        return False
    return not (before[-1].isascii() and before[-1].isalnum() and after[0].isascii() and after[0].isalnum())


def _break_points(title: str) -> list[int]:
    points, pos = [], 0
    words = title_words(title)
    for w in words[:-1]:
        pos += len(w)
        if title_break_allowed(title[:pos], title[pos:]):
            points.append(pos)
    return points


def _shape_cost(widths: list[float], title: str, cuts: list[int]) -> float:
    mean = sum(widths) / len(widths)
    cost = sum((w - mean) ** 2 for w in widths)
    # 梯形或菱形: the middle line of three is not the shortest (no hourglass)
    if len(widths) >= 3 and min(widths[1:-1]) < min(widths[0], widths[-1]) - 0.01:
        cost += 4.0
    for c in cuts:
        if title[c] in _WEAK_LINE_START:
            cost += 2.0
        for term in KEEP_TOGETHER:
            start = title.find(term, max(0, c - len(term) + 1))
            if start != -1 and start < c < start + len(term):
                cost += 10.0
    return cost


def title_lines(title: str, per_line: int | None = None) -> str:
    """A long title broken into balanced lines ("\n" between them), only between words.

    GB/T 9704 7.3.3: a title that runs over is split into lines "长短适宜、排列对称" (梯形或菱形),
    "回行时，要做到词意完整"; left to the word processor, a 41-character title wraps 20 + 20 + 1
    and breaks words (困/境). Here every break falls between two words (rjieba), never before a
    closing mark or after an opening one, never between a number and its unit, no line is a lone
    character and the lines are as even as the words allow (trapezoid or diamond, no hourglass).
    A title with its own line breaks, or one that fits on a line, is returned as it is.
    """
    limit = per_line or TITLE_CHARS_PER_LINE
    total = _text_width(title)
    if "\n" in title or total <= limit:
        return title
    points = _break_points(title)
    first_n = -(-int(total * 2) // (limit * 2))  # ceil(total / limit) on half-width units
    best: tuple[float, list[int]] | None = None
    for n in range(first_n, first_n + 2):
        for cuts in itertools.combinations(points, n - 1):
            bounds = [0, *cuts, len(title)]
            lines = [title[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
            widths = [_text_width(x) for x in lines]
            if max(widths) > limit or min(len(x) for x in lines) < 2:
                continue
            # one more line than needed costs a little: it is fine when it keeps a term whole
            cost = _shape_cost(widths, title, list(cuts)) + 5.0 * (n - first_n)
            if best is None or cost < best[0]:
                best = (cost, list(cuts))
    if best is not None:
        bounds = [0, *best[1], len(title)]
        return "\n".join(title[a:b] for a, b in zip(bounds, bounds[1:], strict=False))
    return title  # no word-respecting break fits: let the word processor wrap it


def title_break_problems(lines: list[str], per_line: int | None = None) -> list[str]:
    """Chinese descriptions of what is wrong with a title's line breaks (empty when fine)."""
    limit = per_line or TITLE_CHARS_PER_LINE
    title = "".join(lines)
    problems: list[str] = []
    if len(lines) == 1:
        if _text_width(title) > limit:
            problems.append(f"标题超过一行（{_text_width(title):g} 字，每行约 {limit} 字）却未分行，"
                            "将由排版软件随意回行；应在词与词之间分成长短适宜的几行")
        return problems
    words = title_words(title)
    ends, pos = set(), 0
    for w in words:
        pos += len(w)
        ends.add(pos)
    pos = 0
    for i, line in enumerate(lines[:-1]):
        pos += len(line)
        nxt = lines[i + 1]
        if pos not in ends:
            problems.append(f"第 {i + 1} 行在词中间断开（“{line[-2:]}/{nxt[:2]}”）")
        elif not title_break_allowed(line, nxt):
            problems.append(f"第 {i + 1} 行与下一行的断开处不当（“{line[-2:]}/{nxt[:2]}”：标点或数字与单位被分开）")
    for i, line in enumerate(lines):
        if len(line) < 2:
            problems.append(f"第 {i + 1} 行只有一个字“{line}”")
        if _text_width(line) > limit:
            problems.append(f"第 {i + 1} 行（{_text_width(line):g} 字）超过一行的宽度（{limit} 字），会再次回行")
    widths = [_text_width(x) for x in lines]
    if max(widths) - min(widths) > max(4.0, max(widths) / 2):
        problems.append("各行长短悬殊（" + " / ".join(f"{w:g}" for w in widths) + " 字），应长短适宜、排列对称")
    return problems
