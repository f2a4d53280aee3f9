"""Rosters (花名册 / 台账 / 学籍系统导出表): preview and parse .xlsx / .csv bytes, one row per child;
write the roster template.

A roster is read the way schools have them: title and 填报单位 rows above the header, two-row
grouped headers (父亲情况 over 姓名 / 状况 / 务工地点) with merged cells, a 序号 column, 合计 /
填表人 / 审核人 / 校长签字 rows below, header synonyms, "赵守义（祖父）" in a 监护人及关系 column,
and the 全国学籍系统 export's own columns (家庭成员N…, 是否留守儿童, 是否孤儿, 就读方式, 健康状况).
Every column is either mapped onto the record or reported as ignored by name
(:attr:`RosterPreview.columns`); every good row is kept and every bad row reported with its row
number and reason. The bytes come through the one hardened reader (:mod:`guanai.care.inputs`).
No file I/O here: callers pass the bytes.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from guanai.base.errors import InputError, Problem
from guanai.care.inputs import (
    MAX_CELL,
    MAX_TABLE_BYTES,
    Table,
    csv_safe,
    excel_serial_date,
    fold_width,
    read_data,
    read_table,
)
from guanai.care.model import (
    CARE_CAPACITIES,
    DISABILITY_GRADES,
    DISABILITY_KINDS,
    ETHNICITIES,
    HARDSHIPS,
    HEALTH_STATES,
    PARENT_STATES,
    REGISTRY_LEFT_BEHIND,
    STATUSES,
    ChildRecord,
    RecordError,
    parse_child,
)

MAX_FILE_BYTES = MAX_TABLE_BYTES
MAX_ROWS = 200_000
EXAMPLE_MARK = "【示例行】导入时自动忽略"
HEADER_SCAN = 15  # the header must start within the first rows

# Column header -> path in the record (tuple of Chinese keys). Several headers may map to one path.
COLUMNS: list[tuple[str, tuple[str, ...]]] = [
    ("姓名", ("姓名",)),
    ("性别", ("性别",)),
    ("民族", ("民族",)),
    ("身份证号", ("身份证号",)),
    ("学籍号", ("学籍号",)),
    ("出生日期", ("出生日期",)),
    ("学校", ("学校",)),
    ("年级", ("年级",)),
    ("班级", ("班级",)),
    ("户籍所在地", ("户籍地",)),
    ("现居住地", ("现居住地",)),
    ("村(居)委会", ("村(居)委会",)),
    ("村(居)委会告知日期", ("村(居)委会告知日期",)),
    ("身体状况", ("身体状况", "状况")),
    ("残疾类别", ("身体状况", "残疾类别")),
    ("残疾等级", ("身体状况", "残疾等级")),
    ("疾病名称", ("身体状况", "疾病名称")),
    ("是否重病", ("身体状况", "是否重病")),
    ("是否寄宿", ("是否寄宿",)),
    ("困境情形", ("困境情形",)),
    ("是否留守儿童", ("学籍留守登记",)),
    ("是否孤儿", ("学籍孤儿登记",)),
    ("父亲姓名", ("父亲", "姓名")),
    ("父亲身份证号", ("父亲", "身份证号")),
    ("父亲电话", ("父亲", "电话")),
    ("父亲状况", ("父亲", "状况")),
    ("父亲务工地", ("父亲", "务工地")),
    ("母亲姓名", ("母亲", "姓名")),
    ("母亲身份证号", ("母亲", "身份证号")),
    ("母亲电话", ("母亲", "电话")),
    ("母亲状况", ("母亲", "状况")),
    ("母亲务工地", ("母亲", "务工地")),
    ("监护人姓名", ("监护人", "姓名")),
    ("监护人关系", ("监护人", "关系")),
    ("监护人电话", ("监护人", "电话")),
    ("监护人身份证号", ("监护人", "身份证号")),
    ("监护人住址", ("监护人", "住址")),
    ("监护人照护能力", ("监护人", "照护能力")),
    ("委托照护人姓名", ("委托照护人", "姓名")),
    ("委托照护人关系", ("委托照护人", "关系")),
    ("委托照护人电话", ("委托照护人", "电话")),
    ("委托照护人身份证号", ("委托照护人", "身份证号")),
    ("委托照护人住址", ("委托照护人", "住址")),
    ("委托照护人照护能力", ("委托照护人", "照护能力")),
    ("其他家庭成员", ("其他家庭成员",)),
    ("帮扶教师", ("帮扶教师",)),
    ("帮扶教师电话", ("帮扶教师电话",)),
    ("救助帮扶", ("救助帮扶",)),
    ("家庭经济来源", ("家庭经济来源",)),
    ("需求评估", ("需求评估",)),
    ("心理疏导", ("一策", "心理疏导")),
    ("学业辅导", ("一策", "学业辅导")),
    ("生活资助", ("一策", "生活资助")),
    ("安全监管", ("一策", "安全监管")),
    ("行为养成", ("一策", "行为养成")),
    ("建档日期", ("建档日期",)),
    ("状态", ("状态",)),
    ("备注", ("备注",)),
]
# Headers read but not written by the template: "name and relation in one cell" columns, and the
# 学籍系统's 残疾人类型 / 身份证件类型.
SPLIT_CARER = {"监护人及关系": "监护人", "委托照护人及关系": "委托照护人"}
ID_TYPE = "身份证件类型"
EXTRA_PATHS: dict[str, tuple[str, ...]] = {"残疾人类型": ("身体状况", "残疾类别")}
# The headers of the 学籍 export and the official 登记表 named by the issue: recognised and asked for
# (a missing one is reported as a warning: without 父亲状况 / 母亲状况 no child can be classified 留守).
REQUIRED_HEADERS = ("姓名", "性别", "民族", "身份证号", "学籍号", "学校", "年级", "班级", "户籍所在地",
                    "现居住地", "困境情形", "父亲状况", "母亲状况")
# Without these a row cannot become a record at all (学校 may come from the caller's defaults).
ESSENTIAL_HEADERS = ("姓名", "学籍号", "学校", "年级")
# Other spellings found in 学籍 exports and hand-made sheets.
HEADER_ALIASES: dict[str, str] = {
    "户籍地": "户籍所在地", "户口所在地": "户籍所在地", "户籍地址": "户籍所在地",
    "村（居）委会": "村(居)委会", "村居委会": "村(居)委会", "村委会": "村(居)委会",
    "公民身份号码": "身份证号", "身份证号码": "身份证号", "身份证件号": "身份证号",
    "全国学籍号": "学籍号", "学籍号码": "学籍号", "学生姓名": "姓名", "班别": "班级",
    "现住址": "现居住地", "家庭住址": "现居住地", "困境类型": "困境情形", "困境儿童类型": "困境情形",
    "父亲情况": "父亲状况", "母亲情况": "母亲状况", "健康状况": "身体状况", "帮扶责任人": "帮扶教师",
    # 全国中小学生学籍信息管理系统 export and county 登记表 variants
    "身份证件号码": "身份证号", "学生身份证号": "身份证号", "儿童身份证号": "身份证号",
    "学校名称": "学校", "就读学校": "学校", "所在学校": "学校", "所在年级": "年级", "就读年级": "年级",
    "所在班级": "班级", "班级名称": "班级", "出生年月": "出生日期", "出生年月日": "出生日期",
    "就读方式": "是否寄宿", "是否住校": "是否寄宿", "是否寄宿生": "是否寄宿", "寄宿": "是否寄宿",
    "现居住地址": "现居住地", "居住地址": "现居住地", "户籍所在地址": "户籍所在地", "所在村(居)委会": "村(居)委会",
    "所属村(居)委会": "村(居)委会", "村(社区)": "村(居)委会", "困境类别": "困境情形",
    "困境儿童类别": "困境情形", "困境儿童情形": "困境情形", "父亲务工地点": "父亲务工地",
    "父亲外出务工地点": "父亲务工地", "母亲务工地点": "母亲务工地", "母亲外出务工地点": "母亲务工地",
    "父亲联系电话": "父亲电话", "母亲联系电话": "母亲电话", "监护人联系电话": "监护人电话",
    "委托照护人联系电话": "委托照护人电话", "与监护人关系": "监护人关系", "帮扶教师姓名": "帮扶教师",
    "结对帮扶教师": "帮扶教师", "帮扶教师联系电话": "帮扶教师电话", "监护人": "监护人姓名",
    "委托照护人": "委托照护人姓名", "受委托人": "委托照护人姓名", "受委托人姓名": "委托照护人姓名",
    "儿童姓名": "姓名", "留守儿童姓名": "姓名", "幼儿姓名": "姓名", "学生名字": "姓名",
    "是否留守": "是否留守儿童", "留守儿童": "是否留守儿童", "留守情况": "是否留守儿童", "孤儿": "是否孤儿",
    "监护人姓名及关系": "监护人及关系", "监护人及与儿童关系": "监护人及关系", "监护人(关系)": "监护人及关系",
    "委托照护人及关系": "委托照护人及关系", "身份证件类型": ID_TYPE, "残疾类型": "残疾人类型",
    "告知村(居)委会日期": "村(居)委会告知日期", "通报村(居)委会日期": "村(居)委会告知日期",
    "告知日期": "村(居)委会告知日期", "建档时间": "建档日期", "需求": "需求评估", "帮扶需求": "需求评估",
    "困境情况": "困境情形", "父亲务工地址": "父亲务工地", "母亲务工地址": "母亲务工地",
    "父亲现状": "父亲状况", "母亲现状": "母亲状况",
    "家庭现住址": "现居住地", "家庭现地址": "现居住地", "现家庭住址": "现居住地", "家庭地址": "现居住地",
}
# A group label over sub-headers ("父亲情况" over 姓名/状况/务工地点) -> the prefix its columns take.
GROUP_ROLES: dict[str, str] = {
    "父亲": "父亲", "父亲情况": "父亲", "父亲信息": "父亲", "母亲": "母亲", "母亲情况": "母亲", "母亲信息": "母亲",
    "监护人": "监护人", "监护人情况": "监护人", "监护人信息": "监护人", "委托照护人": "委托照护人",
    "委托照护人情况": "委托照护人", "受委托人": "委托照护人", "受委托人情况": "委托照护人",
    "帮扶教师": "帮扶教师", "结对帮扶教师": "帮扶教师", "帮扶责任人": "帮扶教师",
    "身体状况": "", "帮扶措施": "", "一策": "", "帮扶措施(一策)": "",
}
SUB_SYNONYMS: dict[str, str] = {
    "情况": "状况", "现状": "状况", "务工地点": "务工地", "外出务工地点": "务工地", "务工地址": "务工地",
    "联系电话": "电话", "手机": "电话", "手机号码": "电话", "身份证号码": "身份证号", "身份证件号": "身份证号",
    "与儿童关系": "关系", "关系": "关系", "家庭住址": "住址", "现住址": "住址",
}
# 家庭成员1姓名 / 成员2联系电话 ... (学籍系统 export) -> member number and field.
_MEMBER = re.compile(r"^(?:家庭成员|成员)(\d{1,2})(姓名|关系|联系电话|电话|是否监护人|身份证件号|身份证号|身份证件号码|身份证件类型|.+)$")
_MEMBER_FIELDS = {"姓名": "姓名", "关系": "关系", "联系电话": "电话", "电话": "电话", "是否监护人": "是否监护人",
                  "身份证件号": "身份证号", "身份证号": "身份证号", "身份证件号码": "身份证号", "身份证件类型": "证件类型"}
SERIAL_HEADERS = {"序号", "编号", "序", "No", "NO", "no", "No."}
# 合计 / signature rows below the data.
_FOOTER = re.compile(r"^(合计|总计|小计|共计|填表人|填报人|制表人|审核人|审核|校长|负责人|校长签字|分管领导|填表日期|"
                     r"填报日期|制表日期|单位盖章|盖章|签字|备注[:：])")
_PATHS = dict(COLUMNS)
_ID_LIKE = re.compile(r"^[GJLgjl]?\d{17}[\dXx]$|^\d{15}$")

# Dropdown lists of the template (column header -> allowed values).
CHOICES: dict[str, tuple[str, ...]] = {
    "性别": ("男", "女"),
    "民族": ETHNICITIES,
    "身体状况": HEALTH_STATES,
    "残疾类别": DISABILITY_KINDS,
    "残疾等级": DISABILITY_GRADES,
    "是否重病": ("是", "否"),
    "是否寄宿": ("是", "否"),
    "是否留守儿童": REGISTRY_LEFT_BEHIND,
    "是否孤儿": ("是", "否"),
    "父亲状况": PARENT_STATES,
    "母亲状况": PARENT_STATES,
    "监护人照护能力": CARE_CAPACITIES,
    "委托照护人照护能力": CARE_CAPACITIES,
    "状态": STATUSES,
}
TEXT_COLUMNS = ("身份证号", "学籍号", "父亲身份证号", "母亲身份证号", "监护人身份证号", "委托照护人身份证号",
                "父亲电话", "母亲电话", "监护人电话", "委托照护人电话", "帮扶教师电话", "出生日期", "班级",
                "村(居)委会告知日期", "建档日期")
_DATE_HEADERS = ("出生日期", "村(居)委会告知日期", "建档日期")


@dataclass
class RowError:
    row: int
    message: str
    problems: list[str] = field(default_factory=list)


@dataclass
class ColumnMap:
    """What one column of the roster becomes: ``target`` is the record field it fills (Chinese,
    e.g. 父亲.姓名), empty when the column is not imported; ``note`` says how or why."""

    column: str  # the column's letter (A, B, …) in the sheet
    header: str  # the header as written (a grouped header as 父亲情况›姓名)
    target: str = ""
    note: str = ""

    @property
    def ignored(self) -> bool:
        return not self.target

    def to_dict(self) -> dict[str, str]:
        return {"column": self.column, "header": self.header, "target": self.target, "note": self.note}


@dataclass
class Roster:
    """A roster read and checked, nothing stored yet (:func:`preview_roster`)."""

    source: str
    records: list[tuple[int, ChildRecord]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped_examples: int = 0
    total_rows: int = 0
    missing_columns: list[str] = field(default_factory=list)  # of REQUIRED_HEADERS (a warning)
    sheet: str = ""
    header_rows: tuple[int, int] = (0, 0)  # first and last row of the header (1-based)
    columns: list[ColumnMap] = field(default_factory=list)
    skipped: list[RowError] = field(default_factory=list)  # title, 合计 and signature rows passed over
    warnings: list[RowError] = field(default_factory=list)  # rows read, with something to verify
    covered: list[tuple[str, ...]] = field(default_factory=list)  # record paths the columns replace
    fills: list[tuple[str, ...]] = field(default_factory=list)  # paths set only when a row has a value

    @property
    def ignored_columns(self) -> list[str]:
        return [c.header for c in self.columns if c.ignored and c.header]

    def row_problems(self, rows: list[RowError], code: str = "roster.row") -> list[Problem]:
        return [Problem(f"{self.source} 第{e.row}行", e.message, code=code) for e in rows]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (the CLI's --json and the browser UI; keys as docs/CONTRACTS.md says)."""
        return {"file": self.source, "sheet": self.sheet, "header_rows": list(self.header_rows),
                "rows": self.total_rows, "importable": len(self.records), "skipped_examples": self.skipped_examples,
                "columns": [c.to_dict() for c in self.columns], "ignored_columns": self.ignored_columns,
                "missing_columns": self.missing_columns,
                "skipped_rows": [{"row": e.row, "reason": e.message} for e in self.skipped],
                "problems": [p.to_json() for p in self.row_problems(self.errors)],
                "warnings": [p.to_json() for p in self.row_problems(self.warnings, "roster.conflict")]}


RosterPreview = Roster


def _clean(value: Any) -> str:
    text = "" if value is None else fold_width(str(value))  # full-width （） ＊ Ａ
    return "".join(text.split()).replace("*", "")


def _norm_header(value: Any) -> str:
    text = _clean(value)
    if text in _PATHS:
        return text
    return HEADER_ALIASES.get(text, HEADER_ALIASES.get(text.replace("(", "（").replace(")", "）"), text))


def _known(header: str) -> bool:
    return (header in _PATHS or header in EXTRA_PATHS or header in SPLIT_CARER or header == ID_TYPE
            or header in SERIAL_HEADERS or _MEMBER.match(header) is not None)


# --- the header ---------------------------------------------------------------------------------


def _texts(row: list[Any]) -> list[str]:
    return [_clean(v) for v in row]


def _looks_like_data(row: list[Any]) -> bool:
    return any(isinstance(v, int | float | datetime | date) and not isinstance(v, bool) for v in row) or any(
        _ID_LIKE.match(t) for t in _texts(row))


def _group_spans(top: int, table: Table) -> dict[int, int]:
    """Column (0-based) -> first column of the horizontal merged range on row ``top`` covering it."""
    out: dict[int, int] = {}
    for r1, c1, r2, c2 in table.merged:
        if r1 == r2 == top + 1 and c2 > c1:
            for c in range(c1, c2 + 1):
                out[c - 1] = c1 - 1
    return out


def _is_group_row(table: Table, top: int) -> bool:
    """Row ``top`` holds group labels over the header row below it."""
    if top < 0 or top + 1 >= len(table.rows):
        return False
    upper, lower = _texts(table.rows[top]), _texts(table.rows[top + 1])
    if sum(1 for t in upper if t) < 2 or _looks_like_data(table.rows[top + 1]):
        return False  # a title row has one cell
    if any(":" in t or len(t) > 16 for t in upper if t):
        return False  # "填报单位：…  填报日期：…" above the header is not a group row
    if _group_spans(top, table):
        return True
    # without merge information: a label followed by empty cells that have sub-headers below
    # (rows of a CSV can differ in length: only columns both rows have count)
    width = min(len(upper), len(lower))
    return any(upper[c] and lower[c] and c + 1 < width and not upper[c + 1] and lower[c + 1]
               for c in range(width))


def _combine(table: Table, top: int) -> list[tuple[str, str]]:
    """(group, sub) per column for a two-row header starting at ``top``; group "" when none."""
    upper, lower = table.rows[top], table.rows[top + 1]
    width = max(len(upper), len(lower))
    upper_t = _texts(list(upper) + [None] * (width - len(upper)))
    lower_t = _texts(list(lower) + [None] * (width - len(lower)))
    spans = _group_spans(top, table)
    out: list[tuple[str, str]] = []
    label = ""
    for c in range(width):
        if c in spans:
            label = upper_t[spans[c]] if lower_t[c] else ""
        elif upper_t[c]:
            label = upper_t[c] if lower_t[c] else ""
        elif not lower_t[c]:
            label = ""
        if not lower_t[c]:
            out.append(("", upper_t[c]))  # one header over both rows (merged vertically)
        else:
            out.append((label, lower_t[c]))
    return out


def _resolve(group: str, sub: str) -> str:
    """The canonical header of a sub-header under a group label (父亲情况 › 务工地点 -> 父亲务工地)."""
    if not group:
        return _norm_header(sub)
    role = GROUP_ROLES.get(group)
    sub2 = SUB_SYNONYMS.get(sub, sub)
    candidates = [role + sub2, role + sub] if role else []
    candidates += [sub] if not role else []
    candidates += [group + sub, group + sub2]
    for cand in candidates:
        name = _norm_header(cand)
        if _known(name):
            return name
    return f"{group}›{sub}"


def _find_header(table: Table) -> tuple[int, int, list[tuple[str, str]]]:
    """(first row, last row, (shown header, canonical header) per column), rows 0-based."""
    for i, row in enumerate(table.rows[:HEADER_SCAN]):
        names = [_norm_header(v) for v in row]
        if "姓名" not in names or sum(1 for n in names if _known(n)) < 2:
            continue
        if _is_group_row(table, i - 1):
            top = i - 1
        elif _is_group_row(table, i):
            top = i
        else:
            return i, i, [(_clean(v), n) for v, n in zip(row, names, strict=True)]
        pairs = _combine(table, top)
        return top, top + 1, [(f"{g}›{s}" if g else s, _resolve(g, s)) for g, s in pairs]
    raise InputError(f"{table.name}：前{HEADER_SCAN}行中未找到表头（至少需要“姓名”和“学籍号”列）。",
                     "用 guanai child template --xlsx -o 花名册模板.xlsx 生成模板，按模板填写。")


# --- columns ------------------------------------------------------------------------------------


@dataclass
class _Slot:
    kind: str  # path | split | member | idtype | serial | ignored
    name: str = ""
    path: tuple[str, ...] = ()
    member: tuple[int, str] = (0, "")


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(i + 1))


_BARE_PHONE = ("联系电话", "电话", "手机", "手机号码", "联系方式")
_ROLES = ("委托照护人", "监护人", "帮扶教师", "父亲", "母亲")


def _plan_columns(headers: list[tuple[str, str]]) -> tuple[list[_Slot], list[ColumnMap]]:
    slots: list[_Slot] = []
    maps: list[ColumnMap] = []
    taken: dict[str, str] = {}
    role = ""  # whose columns the previous ones were (a bare 联系电话 after 监护人 is the 监护人's)
    for i, (shown, name) in enumerate(headers):
        letter = _letter(i)
        slot, target, note = _Slot("ignored"), "", ""
        if name in _BARE_PHONE and role:
            name, note = f"{role}电话", f"紧随{role}列，视为{role}电话"
        member = _MEMBER.match(name)
        if not shown:
            slot, note = _Slot("ignored"), "无表头"
        elif name in SERIAL_HEADERS:
            slot, note = _Slot("serial"), "序号，不导入"
        elif name in taken:
            note = f"与第{taken[name]}列重复（同为“{name}”），未导入"
        elif name in _PATHS or name in EXTRA_PATHS:
            path = _PATHS.get(name) or EXTRA_PATHS[name]
            slot, target = _Slot("path", name, path), ".".join(path)
            note = note if name in EXTRA_PATHS or note else ""
        elif name in SPLIT_CARER:
            role = SPLIT_CARER[name]
            slot, target, note = _Slot("split", role), f"{role}.姓名 + {role}.关系", "如“赵守义（祖父）”拆为姓名和关系"
        elif name == ID_TYPE:
            slot, target, note = _Slot("idtype"), "（用于判断身份证件号）", "非居民身份证的证件号记入备注"
        elif member and member.group(2) in _MEMBER_FIELDS:
            field_name = _MEMBER_FIELDS[member.group(2)]
            slot = _Slot("member", name, member=(int(member.group(1)), field_name))
            target = f"家庭成员{member.group(1)}.{field_name}"
            note = "按关系归入父亲、母亲、监护人或其他家庭成员"
            if field_name == "证件类型":
                target, note = "（用于判断成员身份证件号）", "非居民身份证的证件号不导入"
        else:
            note = "未识别的列，不导入"
        if slot.kind in ("path", "split", "member", "idtype"):
            taken[name] = letter
        role = next((r for r in _ROLES if slot.kind in ("path", "split") and (slot.name.startswith(r)
                                                                             or slot.path[:1] == (r,))), "")
        slots.append(slot)
        maps.append(ColumnMap(letter, shown, target, note))
    return slots, maps


def _covered(slots: list[_Slot]) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The record paths a roster's columns speak for: (replaced — an empty cell clears the field,
    filled — set when the roster has a value, kept otherwise). 家庭成员N… columns only fill: a
    parent the export does not list is not thereby gone."""
    out: list[tuple[str, ...]] = [s.path for s in slots if s.kind == "path"]
    for s in slots:
        if s.kind == "split":
            out += [(s.name, "姓名"), (s.name, "关系")]
    fills: list[tuple[str, ...]] = []
    member_fields = {s.member[1] for s in slots if s.kind == "member"}
    if "姓名" in member_fields:
        for role in ("父亲", "母亲", "监护人"):
            fills += [(role, f) for f in ("姓名", "电话", "身份证号", "关系")
                      if (f in member_fields or f == "姓名") and not (f == "关系" and role != "监护人")]
        fills.append(("其他家庭成员",))
    return list(dict.fromkeys(out)), [f for f in dict.fromkeys(fills) if f not in out]


# --- cells --------------------------------------------------------------------------------------

_NUMBER_TEXT = ("身份证号", "学籍号", "电话", "班级", "年级")


def _cell_value(header: str, value: Any) -> Any:
    """Excel cell -> the value the model expects; raises ValueError for lossy cells."""
    if value is None:
        return None
    if header in _DATE_HEADERS and isinstance(value, int | float) and not isinstance(value, bool):
        serial = excel_serial_date(value)  # a date typed into a "常规" (General) cell
        if serial is not None:
            return serial.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if "身份证号" in header or header == "学籍号":
            raise ValueError(f"{header}：单元格为数字格式，18位号码已丢失精度；请把该列设为“文本”后重新填写")
        if not value.is_integer():
            return str(value)
        value = int(value)
    if isinstance(value, int):
        if "身份证号" in header and len(str(value)) > 15 and not _exact_id(str(value)):
            raise ValueError(f"{header}：单元格为数字格式，18位号码已丢失精度；请把该列设为“文本”后重新填写")
        return str(value)
    text = str(value)
    if len(text) > MAX_CELL:
        raise ValueError(f"{header}：单元格内容过长（{len(text)} 个字符）")
    if any(k in header for k in _NUMBER_TEXT) or header in _DATE_HEADERS:
        text = fold_width(text).strip()  # ３４１３２２… and ２０１４年３月５日 as typed on a Chinese keyboard
    if "身份证号" in header and _SCIENTIFIC.match(text):
        # A CSV saved from a numeric Excel cell: "3.41322E+17" — the digits are gone.
        raise ValueError(f"{header}：“{text.strip()}”是科学计数法，18位号码已丢失；"
                         "请在 Excel 中把该列设为“文本”后重新填写号码")
    return text


_SCIENTIFIC = re.compile(r"^\s*\d(\.\d+)?[eE]\+?\d+\s*$")


def _exact_id(text: str) -> bool:
    """An 18-digit number stored as a number that still checks (an exact integer, not rounded)."""
    from guanai.care import ids

    try:
        ids.parse_id_number(text)
    except (ValueError, InputError):
        return False
    return True


_RELATIONS = ("外祖父", "外祖母", "祖父", "祖母", "爷爷", "奶奶", "外公", "外婆", "姥爷", "姥姥", "父亲", "母亲",
              "伯父", "伯母", "叔叔", "婶婶", "姑姑", "姑父", "舅舅", "舅妈", "姨妈", "姨父", "哥哥", "姐姐",
              "兄", "姐", "其他亲属", "亲属", "邻居", "老师")
_CARER_PAREN = re.compile(r"^(.+?)\s*[（(【\[]\s*(.+?)\s*[)）】\]]$")


def split_carer(text: str) -> tuple[str, str | None]:
    """"赵守义（祖父）" / "赵守义 祖父" / "祖父：赵守义" -> ("赵守义", "祖父")."""
    text = text.strip()
    m = _CARER_PAREN.match(text)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    parts = [p for p in re.split(r"[\s/、，,:：\-—]+", text) if p]
    if len(parts) == 2:
        a, b = parts
        return (b, a) if a in _RELATIONS and b not in _RELATIONS else (a, b)
    for rel in _RELATIONS:
        if text.endswith(rel) and 2 <= len(text) - len(rel) <= 4:
            return text[: -len(rel)], rel
        if text.startswith(rel) and 2 <= len(text) - len(rel) <= 4:
            return text[len(rel):], rel
    return text, None


_MEMBER_CELL = re.compile(r"^(.+?)\s*[（(]\s*([^，,）)]*?)\s*(?:[，,]\s*([^）)]*?)\s*)?[)）]$")


def parse_members(text: str) -> list[dict[str, Any]] | str:
    """"王桂兰（祖母，15955705678）、赵四（叔叔）" -> member dicts (the 其他家庭成员 column)."""
    out: list[dict[str, Any]] = []
    for part in (p.strip() for p in re.split(r"[、;；\n]+", text)):
        if not part:
            continue
        m = _MEMBER_CELL.match(part)
        if m is None:
            out.append({"姓名": part})
            continue
        item: dict[str, Any] = {"姓名": m.group(1), "是否监护人": False}
        if m.group(2):
            item["关系"] = m.group(2)
        if m.group(3):
            item["电话"] = fold_width(m.group(3))
        out.append(item)
    return out


def format_members(members: list[dict[str, Any]]) -> str:
    parts = []
    for m in members:
        inner = "，".join(str(m[k]) for k in ("关系", "电话") if m.get(k))
        parts.append(f"{m.get('姓名', '')}（{inner}）" if inner else str(m.get("姓名", "")))
    return "、".join(parts)


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = data
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


_PLAIN_ID = {"", "居民身份证", "身份证", "中华人民共和国居民身份证", "二代身份证"}


def _row_data(slots: list[_Slot], values: list[Any]) -> tuple[dict[str, Any], list[str]]:
    """One roster row -> a nested record dict (Chinese keys), plus cell-level problems."""
    data: dict[str, Any] = {}
    problems: list[str] = []
    members: dict[int, dict[str, Any]] = {}
    id_type = ""
    for slot, raw in zip(slots, values, strict=False):
        if slot.kind in ("ignored", "serial") or raw is None:
            continue
        if slot.kind == "idtype":
            id_type = _clean(raw)
            continue
        header = slot.name if slot.kind == "path" else ("身份证号" if slot.member[1] == "身份证号" else
                                                         "电话" if slot.member[1] == "电话" else slot.name)
        try:
            value = _cell_value(header, raw)
        except ValueError as err:
            problems.append(str(err))
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if slot.kind == "path" and slot.name == "其他家庭成员":
            data["其他家庭成员"] = parse_members(str(value))
        elif slot.kind == "path":
            _set(data, slot.path, value)
        elif slot.kind == "split":
            name, relation = split_carer(str(value))
            data.setdefault(slot.name, {})["姓名"] = name
            if relation:
                data[slot.name].setdefault("关系", relation)
        elif slot.kind == "member":
            members.setdefault(slot.member[0], {})[slot.member[1]] = value
    _year_month_birth(data, problems)
    if id_type not in _PLAIN_ID and "身份证号" in data:
        number = data.pop("身份证号")
        note = f"身份证件（{id_type}）：{number}"
        data["备注"] = f"{data['备注']}\n{note}" if data.get("备注") else note
    _members_into(data, members, problems)
    for role in ("父亲", "母亲"):
        if isinstance(data.get(role), dict) and not data[role].get("状况"):
            # a 台账 with a 务工地 column but no 状况: a place of work written down means working
            # away (外出务工); otherwise the roster says nothing about it: not 在家 by default
            data[role]["状况"] = "外出务工" if str(data[role].get("务工地") or "").strip() else "不详"
    return data, problems


_YEAR_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$|^(\d{4})(\d{2})$")


def _year_month_birth(data: dict[str, Any], problems: list[str]) -> None:
    """出生年月 as many 台账 keep it (2014.03, 2014年3月, 201403): checked against the ID number or
    学籍号 (which carry the full date) instead of being refused as an incomplete date."""
    m = _YEAR_MONTH.match(str(data.get("出生日期", "")).strip())
    if m is None:
        return
    year, month = int(m.group(1) or m.group(3)), int(m.group(2) or m.group(4))
    del data["出生日期"]
    number = str(data.get("身份证号") or str(data.get("学籍号", ""))[1:])
    if len(number) == 18 and number[6:12].isdigit():
        if (int(number[6:10]), int(number[10:12])) != (year, month):
            problems.append(f"出生日期：出生年月 {year}年{month}月 与身份证号（或学籍号）中的 "
                            f"{number[6:10]}年{int(number[10:12])}月 不一致")
    else:
        problems.append(f"出生日期：只有年月（{year}年{month}月），没有身份证号时须写完整日期，如 {year}-{month:02d}-01")


def _members_into(data: dict[str, Any], members: dict[int, dict[str, Any]], problems: list[str]) -> None:
    """家庭成员N… columns: 父亲 / 母亲 fill those; 是否监护人=是 makes the 监护人; the rest are kept."""
    from guanai.care.inputs import parse_yes_no

    family: list[dict[str, Any]] = []
    for n in sorted(members):
        m = dict(members[n])
        id_type = _clean(m.pop("证件类型", ""))
        if id_type not in _PLAIN_ID:
            m.pop("身份证号", None)
        if not m.get("姓名"):
            if m:
                problems.append(f"家庭成员{n}：有{'、'.join(m)}但没有姓名")
            continue
        try:
            guardian = bool(parse_yes_no(m.pop("是否监护人", "否")))
        except ValueError as err:
            problems.append(f"家庭成员{n}是否监护人：{err}")
            guardian = False
        relation = str(m.get("关系", "")).strip()
        person = {k: v for k, v in m.items() if k in ("姓名", "电话", "身份证号")}
        role = {"父亲": "父亲", "父": "父亲", "爸爸": "父亲", "母亲": "母亲", "母": "母亲", "妈妈": "母亲"}.get(relation)
        if guardian and "监护人" not in data:
            data["监护人"] = {**person, "关系": relation or None}
        elif role is None:
            family.append({**m, "是否监护人": guardian})
        if role:
            parent = data.setdefault(role, {})
            for k, v in person.items():
                parent.setdefault(k, v)
    if family:
        data["其他家庭成员"] = family


# --- rows ---------------------------------------------------------------------------------------


def _has_id(values: list[Any]) -> bool:
    return any(_ID_LIKE.match(t) for t in _texts(values))


def _is_footer(values: list[Any]) -> bool:
    texts = [t for t in _texts(values) if t]
    return bool(texts) and not any(_ID_LIKE.match(t) for t in texts) and any(_FOOTER.match(t) for t in texts[:3])


def preview_roster(raw: bytes, name: str, defaults: dict[str, str] | None = None,
                   progress: Callable[[int], None] | None = None) -> Roster:
    """Read a roster's bytes (``name`` gives the format by its suffix) and check every row; nothing
    is stored. Good rows become records, bad rows are reported with row numbers, every column is
    mapped or listed as ignored. ``defaults`` fill top-level fields a row leaves empty or the sheet
    lacks (e.g. {"学校": the archive's school name}); ``progress`` gets the data rows read so far."""
    table = read_table(raw, name, limit=MAX_FILE_BYTES, max_rows=MAX_ROWS + HEADER_SCAN + 100,
                       sheets=("花名册", "台账"), what="花名册")
    if not table.rows or not any(any(v is not None and str(v).strip() for v in r) for r in table.rows):
        raise InputError(f"{name}：文件为空或没有表头。",
                         "用 guanai child template --xlsx -o 花名册模板.xlsx 生成模板，按模板填写。")
    first, last, headers = _find_header(table)
    defaults = {k: v for k, v in (defaults or {}).items() if v}
    roster = Roster(source=name, sheet=table.sheet, header_rows=(first + 1, last + 1))
    slots, roster.columns = _plan_columns(headers)
    roster.covered, roster.fills = _covered(slots)
    names = {s.name for s in slots if s.kind == "path"} | {"监护人姓名" for s in slots if s.kind == "split"}
    roster.missing_columns = _check_headers(name, names, first + 1, defaults)
    if "学籍号" not in names and "学籍号" not in defaults:
        for i, col in enumerate(roster.columns):
            if col.target == "身份证号":  # said in the mapping: nothing happens without a word
                roster.columns[i] = ColumnMap(col.column, col.header, col.target,
                                              "；".join(x for x in (col.note, "表中无学籍号列：学籍号取 G + 身份证号") if x))
    for i in range(first):
        if any(v is not None and str(v).strip() for v in table.rows[i]):
            roster.skipped.append(RowError(i + 1, "表头上方的标题行，已跳过"))
    header_texts = [_norm_header(h) for _, h in headers]
    seen: dict[str, int] = {}
    footer = False
    for idx in range(last + 1, len(table.rows)):
        number, values = idx + 1, table.rows[idx]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        # 合计 / 小计 / signature rows; after one, rows without a 学籍号 or ID number are more of them
        # (a 小计 between two classes is followed by data rows again, which carry their numbers)
        if _is_footer(values) or (footer and not _has_id(values)):
            footer = True
            roster.skipped.append(RowError(number, "合计、签字或日期行，已跳过"))
            continue
        if [_norm_header(v) for v in values][: len(header_texts)] == header_texts:
            roster.skipped.append(RowError(number, "重复的表头行，已跳过"))
            continue
        if number - last > MAX_ROWS:
            raise InputError(f"{name}：行数超过上限 {MAX_ROWS}。", "把花名册拆分为几个文件分别导入。")
        roster.total_rows += 1
        if progress is not None:
            progress(roster.total_rows)
        _read_row(roster, slots, number, values, defaults, seen)
    return roster


def _read_row(roster: Roster, slots: list[_Slot], number: int, values: list[Any], defaults: dict[str, str],
              seen: dict[str, int]) -> None:
    from guanai.care.rules import statement_conflicts

    data, problems = _row_data(slots, values)
    for field_name, default in defaults.items():
        data.setdefault(field_name, default)
    if not data.get("学籍号") and data.get("身份证号"):
        # a 台账 without 学籍号: the formal 全国学籍号 of a pupil with an ID number is G + that
        # number (docs/NOTES.md, identifiers); the ID number's own check applies to both
        number_text = unicodedata.normalize("NFKC", str(data["身份证号"])).strip().upper()
        if len(number_text) == 18:
            data["学籍号"] = "G" + number_text
    if data.get("备注") == EXAMPLE_MARK:
        roster.skipped_examples += 1
        roster.total_rows -= 1
        return
    try:
        record = parse_child(data, f"第{number}行")
    except RecordError as err:
        problems += err.messages
        record = None
    if problems or record is None:
        roster.errors.append(RowError(number, "；".join(problems), problems))
        return
    for key in (record.student_id, record.id_number):
        if key and key in seen:
            what = "学籍号" if key == record.student_id else "身份证号"
            roster.errors.append(RowError(number, f"与第{seen[key]}行重复（{what}相同）", [f"与第{seen[key]}行重复"]))
            return
    for key in (record.student_id, record.id_number):
        if key:
            seen[key] = number
    conflicts = statement_conflicts(record)
    if conflicts:
        roster.warnings.append(RowError(number, f"{record.name}：" + "；".join(conflicts), conflicts))
    roster.records.append((number, record))


def parse_roster(raw: bytes, name: str, progress: Callable[[int], None] | None = None,
                 defaults: dict[str, str] | None = None) -> Roster:
    """:func:`preview_roster` with the older argument order."""
    return preview_roster(raw, name, defaults=defaults, progress=progress)


def _check_headers(name: str, headers: set[str], row: int, defaults: dict[str, str]) -> list[str]:
    """Refuse a header without the essential columns; return the missing recommended ones."""
    present = set(headers)
    missing = [h for h in ESSENTIAL_HEADERS if h not in present and h not in defaults
               and not (h == "学籍号" and "身份证号" in present)]  # 学籍号 = G + 身份证号 (see _read_row)
    if missing:
        raise InputError(f"{name} 第{row}行表头缺少必备列：{'、'.join(missing)}。",
                         "表头至少须有：" + "、".join(ESSENTIAL_HEADERS) + "；建议包含："
                         + "、".join(REQUIRED_HEADERS) + "（可用 guanai child template --xlsx 生成模板）。")
    return [h for h in REQUIRED_HEADERS if h not in present and h not in defaults]


# --- writing ---------------------------------------------------------------------------------


def record_to_row(record: ChildRecord) -> list[Any]:
    """A record as one roster row, in the order of COLUMNS."""
    data = record.to_json_dict()
    row: list[Any] = []
    for header, path in COLUMNS:
        value: Any = data
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if header == "其他家庭成员" and isinstance(value, list):
            value = format_members(value)
        elif isinstance(value, list):
            value = "、".join(value)
        elif isinstance(value, bool):
            value = "是" if value else "否"
        row.append(value if value is not None else "")
        if header in ("身份证号", "学籍号") and value is None:
            row[-1] = ""
    return row


def roster_xlsx_bytes(records: list[ChildRecord], example: ChildRecord | None = None) -> bytes:
    """A roster workbook: Chinese headers, dropdowns for enumerations, text-formatted ID columns."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "花名册"
    headers = [h for h, _ in COLUMNS]
    ws.append(headers)
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for col, header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=col)
        cell.font = bold
        cell.alignment = Alignment(horizontal="center")
        if header in REQUIRED_HEADERS:
            cell.fill = required_fill
        ws.column_dimensions[get_column_letter(col)].width = max(10, min(24, len(header) * 2 + 4))
    ws.freeze_panes = "B2"
    # Printed on A4 landscape with the header repeated on every page (rosters are printed and signed).
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.print_title_rows = "1:1"
    rows: list[ChildRecord] = ([example] if example is not None else []) + list(records)
    for i, rec in enumerate(rows):
        row = record_to_row(rec)
        if example is not None and i == 0:
            row[headers.index("备注")] = EXAMPLE_MARK
        ws.append(row)
        if example is not None and i == 0:
            for cell in ws[ws.max_row]:
                cell.font = Font(italic=True, color="808080")  # the example row looks like one
        for cell in ws[ws.max_row]:
            # openpyxl stores a string starting with "=" as a formula: a name like
            # "=HYPERLINK(...)" must stay text (formula injection).
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    last = max(len(rows) + 1, 1000)
    for header in TEXT_COLUMNS:
        letter = get_column_letter(headers.index(header) + 1)
        for r in range(2, last + 1):
            ws[f"{letter}{r}"].number_format = "@"
    # Option lists live on a hidden sheet: a list formula is limited to 255 characters (民族 is longer).
    opts = wb.create_sheet("选项")
    for col, (header, values) in enumerate(CHOICES.items(), start=1):
        opts.cell(row=1, column=col, value=header)
        for r, v in enumerate(values, start=2):
            opts.cell(row=r, column=col, value=v)
        letter = get_column_letter(col)
        dv = DataValidation(type="list", formula1=f"=选项!${letter}$2:${letter}${len(values) + 1}",
                            allow_blank=True, showErrorMessage=True,
                            errorTitle="取值无效", error=f"请从下拉列表中选择{header}。")
        target = get_column_letter(headers.index(header) + 1)
        dv.add(f"{target}2:{target}{last}")
        ws.add_data_validation(dv)
    opts.sheet_state = "hidden"
    hint = get_column_letter(headers.index("困境情形") + 1)
    ws[f"{hint}1"].comment = Comment("可填多项，用顿号分隔：" + "、".join(HARDSHIPS), "guanai")
    ws[f"{get_column_letter(headers.index('学籍号') + 1)}1"].comment = Comment(
        "G/J 加18位身份证号，或 L 字头临时学籍号", "guanai")
    notes = wb.create_sheet("说明")
    notes.append(["说明"])
    notes.append(["1. 每行一名儿童；黄色表头为应填列，其中姓名、学籍号、学校、年级必不可少（没有“学校”列时"
                  "按本档案库的学校导入）。第2行（灰色）为示例，导入时自动忽略，可删除。"])
    notes.append(["2. 身份证号、学籍号、电话列为文本格式，请勿改为数字格式（会丢失位数）。"])
    notes.append(["3. 困境情形可填多项，用顿号分隔：" + "、".join(HARDSHIPS) + "。"])
    notes.append(["4. 父亲/母亲状况为“外出务工”时，请在务工地列填写城市。"])
    notes.append(["5. 导入：guanai child import 花名册.xlsx；有错误的行会逐行报告，其余行照常导入。"
                  "先检查不导入：guanai child import 花名册.xlsx --check"])
    notes.append(["6. 也可直接导入学籍系统导出的表格或县里的登记表：表头上方的标题行会自动跳过，"
                  "“身份证件号”“全国学籍号”“户口所在地”“现住址”“就读方式”等列名都能识别。"])
    notes.append(["7. 是否留守儿童、是否孤儿按学籍系统的登记填写（非留守儿童 / 单亲留守儿童 / 双亲留守儿童；是 / 否），"
                  "分类时计入并注明；与父母状况矛盾时会提示核实。"])
    notes.append(["8. 需求评估、心理疏导、学业辅导、生活资助、安全监管、行为养成（一策）和建档日期保存在儿童档案中，"
                  "生成档案卡时自动填入。每年 3 月、9 月重新排查时用 guanai child import 花名册.xlsx --update，"
                  "只更新表中有的列。"])
    notes.column_dimensions["A"].width = 100
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


_csv_safe = csv_safe


def roster_csv_bytes(records: list[ChildRecord], example: ChildRecord | None = None) -> bytes:
    """A roster as CSV in UTF-8 with BOM (Excel opens it with the right encoding); an ``example``
    row first carries EXAMPLE_MARK in 备注, so importing the template unchanged adds nobody."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    headers = [h for h, _ in COLUMNS]
    writer.writerow(headers)
    if example is not None:
        row = record_to_row(example)
        row[headers.index("备注")] = EXAMPLE_MARK
        writer.writerow([_csv_safe(v) for v in row])
    for rec in records:
        writer.writerow([_csv_safe(v) for v in record_to_row(rec)])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


# --- single records from JSON / YAML ---------------------------------------------------------

MAX_RECORD_FILE = 2 * 1024 * 1024
MAX_RECORDS_PER_FILE = 1000


def parse_record_bytes(raw: bytes, name: str) -> Any:
    """Bytes of a .json / .yaml file -> Python data, with Chinese errors naming the file."""
    return read_data(raw, name, limit=MAX_RECORD_FILE)


def records_from_data(data: Any, name: str) -> list[ChildRecord]:
    """One record (object) or several (list of objects); every record validated, all errors listed."""
    items = data if isinstance(data, list) else [data]
    if not items:
        raise InputError(f"{name} 中没有儿童记录。", "用 guanai child template --yaml -o 示例.yaml 查看格式。")
    if len(items) > MAX_RECORDS_PER_FILE:
        raise InputError(f"{name} 中记录过多（{len(items)} 条，上限 {MAX_RECORDS_PER_FILE}）。",
                         "大量儿童请用花名册导入：guanai child import 花名册.xlsx")
    out: list[ChildRecord] = []
    problems: list[str] = []
    for i, item in enumerate(items, start=1):
        source = name if len(items) == 1 else f"第{i}条记录"
        try:
            out.append(parse_child(item, source))
        except RecordError as err:
            problems += [p if len(items) == 1 else f"第{i}条：{p}" for p in err.messages]
    if problems:
        raise RecordError(name, problems)
    return out


def read_record_bytes(raw: bytes, name: str) -> list[ChildRecord]:
    """The records of a .json / .yaml file's bytes (one object or a list), every one validated."""
    return records_from_data(parse_record_bytes(raw, name), name)
