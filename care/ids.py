"""Chinese identifiers: 公民身份号码 (GB 11643), 全国学籍号, phone numbers, GB/T 2260 area codes.

Every checker raises ``ValueError`` with a Chinese message (without the field name: the caller
names the field). Pure functions, no I/O.
"""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# GB 11643-1999: weights of the first 17 digits, and the check character by (sum mod 11).
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"

# GB/T 2260 province-level codes (first two digits); 71/81/82/83 for Taiwan, HK, Macau residents.
PROVINCE_CODES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省",
    "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
    "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区", "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
    "83": "台湾地区居民",
}

# GB/T 2260 codes the county work meets most (安徽省宿州市).
AREA_CODES: dict[str, str] = {
    "340000": "安徽省",
    "341300": "宿州市",
    "341302": "埇桥区",
    "341321": "砀山县",
    "341322": "萧县",
    "341323": "灵璧县",
    "341324": "泗县",
}
XIAO_COUNTY = "341322"

# 萧县 townships (乡镇).
XIAO_TOWNSHIPS: tuple[str, ...] = (
    "龙城镇", "黄口镇", "杨楼镇", "闫集镇", "新庄镇", "刘套镇", "马井镇", "大屯镇", "赵庄镇",
    "圣泉镇", "官桥镇", "丁里镇", "王寨镇", "祖楼镇", "青龙镇", "庄里乡", "孙圩子乡", "白土镇",
    "永堌镇", "酒店乡", "石林乡", "张庄寨镇", "李庄镇",
)

_ID_RE = re.compile(r"^\d{17}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?[2-9]\d{6,7}(-\d{1,6})?$")
_EARLIEST = date(1800, 1, 1)  # the GB 11643 sample 440524188001010014 is born in 1880


def id_check_char(first17: str) -> str:
    """The GB 11643 check character (MOD 11-2) of the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("前17位应为数字")
    total = sum(map(operator.mul, map(int, first17), _WEIGHTS))
    return _CHECK[total % 11]


@dataclass(frozen=True)
class IdInfo:
    number: str
    area: str
    birth: date
    male: bool

    @property
    def gender(self) -> str:
        return "男" if self.male else "女"


def normalize_id(value: str) -> str:
    # NFKC: digits and letters typed with a full-width input method (３４１３…Ｘ) become ASCII.
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def _parse_ymd(text: str, what: str) -> date:
    try:
        return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise ValueError(f"{what}中的出生日期 {text} 不是有效日期") from None


@functools.lru_cache(maxsize=4096)
def _decode_id(number: str) -> IdInfo:
    """The date-independent checks of an upper-cased, space-free ID number (cached: hot path)."""
    if len(number) == 15 and number.isdigit():
        raise ValueError("为15位旧号码，请填写18位公民身份号码")
    if len(number) != 18:
        raise ValueError(f"应为18位（现为{len(number)}位）")
    if not number.isascii() or not _ID_RE.match(number):
        raise ValueError("前17位应为数字，最后一位为数字或 X")
    if number[:2] not in PROVINCE_CODES:
        raise ValueError(f"地址码 {number[:6]} 无效（省级代码 {number[:2]} 不存在）")
    birth = _parse_ymd(number[6:14], "身份证号")
    if birth < _EARLIEST:
        raise ValueError(f"出生日期 {birth.isoformat()} 早于1800年")
    expected = id_check_char(number[:17])
    if number[17] != expected:
        raise ValueError(f"校验码错误（最后一位应为 {expected}），请核对号码")
    return IdInfo(number=number, area=number[:6], birth=birth, male=int(number[16]) % 2 == 1)


def parse_id_number(value: str, today: date | None = None) -> IdInfo:
    """Validate an 18-character 公民身份号码 and return what it encodes."""
    info = _decode_id(normalize_id(value))
    if info.birth > (today or date.today()):
        raise ValueError(f"出生日期 {info.birth.isoformat()} 晚于今天")
    return info


def is_valid_id_number(value: str) -> bool:
    try:
        parse_id_number(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class StudentIdInfo:
    number: str
    form: str  # 'G' formal with ID number, 'J' formal without usable ID, 'L' temporary
    birth: date
    id_number: str | None  # the embedded 18-character number (G/J forms)
    male: bool | None  # from the embedded number (G/J), unknown for L


def parse_student_id(value: str, today: date | None = None) -> StudentIdInfo:
    """Validate a 全国学籍号: G/J + 18-character ID (check digit), or L + area + birth + 4 digits."""
    number = normalize_id(value)
    if not number:
        raise ValueError("不能为空")
    form = number[0]
    rest = number[1:]
    if form in ("G", "J"):
        if len(rest) != 18:
            raise ValueError(f"{form} 字头学籍号应为 {form} 加18位身份证号（共19位，现为{len(number)}位）")
        try:
            info = parse_id_number(rest, today)
        except ValueError as err:
            raise ValueError(f"学籍号中的身份证号{err}") from None
        return StudentIdInfo(number, form, info.birth, info.number, info.male)
    if form == "L":
        if len(rest) != 18 or not rest.isascii() or not rest.isdigit():
            raise ValueError(f"L 字头临时学籍号应为 L 加18位数字（6位地址码、8位出生日期、4位顺序码），现为{len(number)}位")
        if rest[:2] not in PROVINCE_CODES:
            raise ValueError(f"地址码 {rest[:6]} 无效")
        birth = _parse_ymd(rest[6:14], "学籍号")
        if birth > (today or date.today()) or birth < _EARLIEST:
            raise ValueError(f"学籍号中的出生日期 {birth.isoformat()} 不合理")
        return StudentIdInfo(number, form, birth, None, None)
    raise ValueError("应以 G、J 或 L 开头（如 G341322201203050012）")


def normalize_phone(value: str) -> str:
    """Validate a mobile (11 digits) or landline (区号-号码[-分机]) number; return it normalised."""
    text = unicodedata.normalize("NFKC", value).strip()
    for ch in " \u3000()（）":
        text = text.replace(ch, "")
    text = text.replace("—", "-").replace("－", "-")
    if text.startswith("+86"):
        text = text[3:].lstrip("-")
    elif text.startswith("0086"):
        text = text[4:].lstrip("-")
    if not text.isascii():
        raise ValueError("只能包含数字和连字符")
    digits = text.replace("-", "")
    if _MOBILE_RE.match(digits):
        return digits
    if _LANDLINE_RE.match(text):
        return text
    if text.startswith("1"):
        raise ValueError(f"手机号码 {value.strip()} 无效（应为以 13–19 开头的11位数字）")
    raise ValueError(f"电话号码 {value.strip()} 无效（手机为11位数字，固定电话如 0557-5012345）")


def make_id_number(area: str, birth: date, seq: int) -> str:
    """Build a valid 18-character ID number (for synthetic data and tests)."""
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)
