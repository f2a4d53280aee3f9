"""The one input path (care.inputs): hostile files refused with Chinese messages, values parsed the
ways people write them, pydantic errors in Chinese; forms and rosters read through it alike."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Literal

import openpyxl
import pytest
from pydantic import BaseModel, Field, ValidationError

from guanai.base.errors import InputError
from guanai.base.text import strip_invisible
from guanai.care.inputs import (
    MAX_DEPTH,
    check_text,
    field_problems,
    normalise_text,
    parse_date,
    parse_yes_no,
    read_data,
    read_table,
    split_list,
)
from guanai.generators.formsio import read_forms


@pytest.mark.parametrize("text", ["2026-09-01", "2026/9/1", "2026.9.1", "2026年9月1日", "2026 年 9 月 1 日",
                                  "20260901", "２０２６．９．１", "2026-09-01 00:00:00", 46266, 46266.0,
                                  dt.datetime(2026, 9, 1, 8, 30), dt.date(2026, 9, 1)])
def test_dates(text: object) -> None:
    assert parse_date(text) == dt.date(2026, 9, 1)


@pytest.mark.parametrize(("text", "needle"), [("2026-02-30", "不是有效日期"), ("9月1日", "格式应为"),
                                              ("2026-9", "格式应为"), ("1" * 50, "格式应为")])
def test_bad_dates(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_date(text)


@pytest.mark.parametrize(("text", "want"), [("是", True), ("√", True), ("✓", True), ("有", True), ("Y", True),
                                            (1, True), ("否", False), ("×", False), ("无", False), ("", False),
                                            ("住校", True), ("走读", False), (0, False)])
def test_yes_no(text: object, want: bool) -> None:
    assert parse_yes_no(text) is want


def test_yes_no_refuses_other_words() -> None:
    with pytest.raises(ValueError, match="应为 是 或 否"):
        parse_yes_no("也许")


def test_lists_and_text() -> None:
    assert split_list("低保、重病，孤儿;流浪\n重残/事实无人抚养") == ["低保", "重病", "孤儿", "流浪", "重残", "事实无人抚养"]
    assert normalise_text("甲\t乙\a丙\x00丁\u202e戊\u200b己", multiline=False) == "甲 乙 丙丁戊己"
    assert normalise_text("第一行\r\n第二行  \n", multiline=True) == "第一行\n第二行"
    for bad in ("张\u202e三", "张\x00三", "张\u200b三", "张\n三"):
        with pytest.raises(ValueError, match="不允许的控制字符"):
            check_text(bad)
    assert check_text("第一行\n第二行", multiline=True) == "第一行\n第二行"
    assert strip_invisible("赵\u200b守\u202e义\ufeff") == "赵守义"


# --- hostile data files -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "raw", "needle"), [
    ("a.yaml", b"a: 1\nb: 2\na: 3\n", "字段“a”重复出现"),
    ("a.yaml", b"- {x: 1, x: 2}\n", "重复出现"),
    ("a.json", b'{"a": {"b": 1, "b": 2}}', "字段“b”重复出现"),
    ("a.yaml", b"a: &x [1]\nb: *x\n", "别名"),
    ("a.yaml", b"a: !!python/object/apply:os.system ['id']\n", "YAML 格式错误"),
    ("a.json", b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "嵌套层数过深"),
    ("a.yaml", b"a:" + b" [" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "嵌套层数过深"),
    ("a.json", b"[" * 100_000, "嵌套层数过深"),
    ("a.json", b"{}" + b" " * 2048, "过大"),
])
def test_hostile_data_refused(name: str, raw: bytes, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        read_data(raw, name, limit=1024 if needle == "过大" else 1024 * 1024)


def test_depth_limit_allows_normal_nesting() -> None:
    assert read_data(b'{"a": [{"b": {"c": [1]}}]}', "a.json", limit=1000) == {"a": [{"b": {"c": [1]}}]}


def _xlsx(build: object) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    build(ws)  # type: ignore[operator]
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_declared_dimension_is_ignored_and_merges_are_read() -> None:
    def fill(ws: object) -> None:
        ws.append(["标题"])  # type: ignore[attr-defined]
        ws.merge_cells("A1:D1")  # type: ignore[attr-defined]
        ws.append(["姓名", "学籍号"])  # type: ignore[attr-defined]
    raw = _xlsx(fill)
    # claim a sheet of 1,048,576 x 16,384 cells: a reader that trusts it allocates all of them
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', data)
                assert b"XFD1048576" in data
            dst.writestr(item, data)
    table = read_table(out.getvalue(), "a.xlsx")
    assert table.rows == [["标题", None], ["姓名", "学籍号"]] and table.merged == [(1, 1, 1, 4)]


def test_zip_bomb_and_non_zip_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (20 * 1024 * 1024))
    with pytest.raises(InputError, match="解压后过大"):
        read_table(buf.getvalue(), "bomb.xlsx")
    with pytest.raises(InputError, match="不是有效的 Excel"):
        read_table(b"PK\x03\x04 broken", "a.xlsx")
    with pytest.raises(InputError, match="行数超过上限"):
        read_table(b"a\n" * 11, "a.csv", max_rows=10)
    with pytest.raises(InputError, match="空字符"):
        read_table(b"a,\x00b\n", "a.csv")


def test_csv_formula_guard_is_undone_and_gb18030_read() -> None:
    table = read_table("姓名,备注\n张三,'=1+1\n".encode("gb18030"), "a.csv")
    assert table.rows == [["姓名", "备注"], ["张三", "=1+1"]]


# --- one translator ----------------------------------------------------------------------------


class _Item(BaseModel):
    when: dt.date = Field(alias="日期")


class _Form(BaseModel):
    model_config = {"extra": "forbid", "populate_by_name": True}
    kind: Literal["上门", "电话"] = Field(alias="形式")
    items: list[_Item] = Field(alias="记录", min_length=1)


def test_field_problems_name_chinese_paths() -> None:
    with pytest.raises(ValidationError) as info:
        _Form.model_validate({"形式": "写信", "记录": [{"日期": "x"}], "多余": 1})
    problems = {p.arrowed(): p.reason for p in field_problems(info.value, _Form, unknown="不是此表的字段")}
    assert problems["形式"].startswith("取值“写信”无效，可选：上门、电话")
    assert problems["记录 › 第1项 › 日期"].startswith("日期格式不正确")
    assert problems["多余"] == "不是此表的字段"
    with pytest.raises(ValidationError) as info:
        _Form.model_validate({"形式": "上门", "记录": []})
    assert [p.reason for p in field_problems(info.value, _Form)] == ["至少需要 1 项"]


def test_forms_share_the_hardened_reader(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("学校: 甲\n学校: 乙\n", encoding="utf-8")
    with pytest.raises(InputError, match="重复出现"):
        read_forms(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("x: &a [1, 2]\ny: *a\n", encoding="utf-8")
    with pytest.raises(InputError, match="别名"):
        read_forms(tmp_path / "b.yaml")
    (tmp_path / "c.csv").write_bytes("学校,日期\n甲,2026.9.1\n".encode("gb18030"))
    assert read_forms(tmp_path / "c.csv")[0].data == {"学校": "甲", "日期": "2026.9.1"}
