"""GB 11643 ID numbers, 学籍号 forms, phone numbers."""

from __future__ import annotations

from datetime import date

import pytest

from guanai.care.ids import (
    XIAO_COUNTY,
    XIAO_TOWNSHIPS,
    id_check_char,
    is_valid_id_number,
    make_id_number,
    normalize_phone,
    parse_id_number,
    parse_student_id,
)

VALID = ["11010519491231002X", "440524188001010014", "34052419800101001X"]


@pytest.mark.parametrize("number", VALID)
def test_valid_samples(number: str) -> None:
    info = parse_id_number(number)
    assert info.number == number
    assert id_check_char(number[:17]) == number[17]


def test_sample_details() -> None:
    info = parse_id_number("11010519491231002X")
    assert info.birth == date(1949, 12, 31)
    assert info.area == "110105"
    assert info.gender == "女"  # sequence 002: even
    assert parse_id_number("440524188001010014").gender == "男"


def test_lower_case_x_and_spaces_normalised() -> None:
    assert parse_id_number(" 34052419800101001x ").number == "34052419800101001X"
    assert parse_id_number("340524 1980 0101 001X").number == "34052419800101001X"


@pytest.mark.parametrize("number", VALID)
def test_every_single_character_substitution_is_rejected(number: str) -> None:
    # MOD 11-2 detects every single-character error: each position, each other character.
    rejected = 0
    for pos in range(18):
        for ch in "0123456789X":
            if ch == number[pos] or (ch == "X" and pos < 17):
                continue
            bad = number[:pos] + ch + number[pos + 1:]
            assert not is_valid_id_number(bad), bad
            rejected += 1
    assert rejected == 17 * 9 + 10


@pytest.mark.parametrize("number", VALID)
def test_adjacent_transpositions_rejected(number: str) -> None:
    for pos in range(16):
        a, b = number[pos], number[pos + 1]
        if a == b:
            continue
        bad = number[:pos] + b + a + number[pos + 2:]
        assert not is_valid_id_number(bad), bad


def test_wrong_check_digit_message_names_expected() -> None:
    with pytest.raises(ValueError, match="校验码错误（最后一位应为 X）"):
        parse_id_number("340524198001010010")


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("3405241980010100", "应为18位（现为16位）"),
        ("3405241980010100100", "应为18位"),
        ("340524800101001", "15位旧号码"),
        ("34052419800101001Y", "最后一位为数字或 X"),
        ("X4052419800101001X", "前17位应为数字"),
        ("\u0663\u0664\u0660\u0665\u0662\u0664\u0661\u0669\u0668\u0660\u0660\u0661\u0660\u0661\u0660\u0660\u0661X",
         "前17位应为数字"),  # Arabic-Indic digits (full-width ones are normalised)
        ("990524198001010016", "地址码"),
        ("340524198002300010", "不是有效日期"),  # 30 February
        ("340524179912310010", "早于1800年"),
        ("", "应为18位"),
    ],
)
def test_bad_numbers(number: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_id_number(number)


def test_future_birth_date_rejected() -> None:
    future = make_id_number(XIAO_COUNTY, date(2031, 1, 1), 11)
    with pytest.raises(ValueError, match="晚于今天"):
        parse_id_number(future, today=date(2030, 1, 1))
    assert parse_id_number(future, today=date(2031, 1, 1)).birth == date(2031, 1, 1)


def test_make_id_number_is_valid_and_encodes_gender() -> None:
    boy = make_id_number(XIAO_COUNTY, date(2014, 3, 5), 21)
    girl = make_id_number(XIAO_COUNTY, date(2014, 3, 5), 22)
    assert boy.startswith("34132220140305021")
    assert parse_id_number(boy).gender == "男"
    assert parse_id_number(girl).gender == "女"


def test_student_id_forms() -> None:
    g = parse_student_id("G34052419800101001X")
    assert (g.form, g.id_number, g.birth, g.male) == ("G", "34052419800101001X", date(1980, 1, 1), True)
    j = parse_student_id("j11010519491231002x")
    assert (j.form, j.number, j.male) == ("J", "J11010519491231002X", False)
    tmp = parse_student_id("L341322201403051234")
    assert (tmp.form, tmp.birth, tmp.id_number, tmp.male) == ("L", date(2014, 3, 5), None, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("G34052419800101001", "共19位"),
        ("G340524198001010010", "校验码错误"),
        ("J34052419800101001Y", "最后一位为数字或 X"),
        ("L34132220140305123", "L 字头临时学籍号应为 L 加18位数字"),
        ("L341322201402301234", "不是有效日期"),
        ("L991322201403051234", "地址码"),
        ("L341322209903051234", "不合理"),
        ("34052419800101001X", "应以 G、J 或 L 开头"),
        ("", "不能为空"),
    ],
)
def test_bad_student_ids(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_student_id(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13805571234", "13805571234"),
        ("138 0557 1234", "13805571234"),
        ("+86 138-0557-1234", "13805571234"),
        ("008613805571234", "13805571234"),
        ("0557-5012345", "0557-5012345"),
        ("05575012345", "05575012345"),
        ("010-62345678-123", "010-62345678-123"),
        ("（0557）5012345", "05575012345"),
    ],
)
def test_valid_phones(value: str, expected: str) -> None:
    assert normalize_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1380557123", "手机号码"),
        ("12805571234", "手机号码"),
        ("138055712345", "手机号码"),
        ("5012345", "电话号码"),
        ("0557-0012345", "电话号码"),
        ("电话13805571234", "只能包含数字"),
        ("\u0661\u0663\u0668\u0660\u0665\u0665\u0667\u0661\u0662\u0663\u0664", "只能包含数字"),
        ("138O5571234", "手机号码"),
        ("abc", "电话号码"),
    ],
)
def test_bad_phones(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_phone(value)


def test_township_list() -> None:
    assert len(XIAO_TOWNSHIPS) == 23 and len(set(XIAO_TOWNSHIPS)) == 23
    assert "龙城镇" in XIAO_TOWNSHIPS and "孙圩子乡" in XIAO_TOWNSHIPS


def test_full_width_input_normalised() -> None:
    full = str.maketrans("0123456789XGL-", "０１２３４５６７８９ＸＧＬ－")
    assert parse_id_number("11010519491231002X".translate(full)).number == "11010519491231002X"
    assert parse_id_number(" 11010519491231002x\t").number == "11010519491231002X"
    assert parse_student_id("G34052419800101001X".translate(full)).number == "G34052419800101001X"
    assert normalize_phone("１３８０５５７１２３４") == "13805571234"
    assert normalize_phone("０５５７－５０１２３４５") == "0557-5012345"
