"""Rosters (花名册 / 台账): parse .xlsx / .csv bytes, one row per child; write the roster template.

Parsing keeps every good row and reports every bad row with its row number and reason. The
bytes are checked before parsing: size, and for .xlsx the zip's uncompressed size and ratio
(a small file must not expand into gigabytes). No file I/O here (docs/ARCHITECTURE.md: ``care/`` does no
I/O): the CLI reads the file and passes its bytes.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from guanai.base.errors import InputError
from guanai.care.model import (
    CARE_CAPACITIES,
    DISABILITY_GRADES,
    DISABILITY_KINDS,
    ETHNICITIES,
    HARDSHIPS,
    HEALTH_STATES,
    PARENT_STATES,
    STATUSES,
    ChildRecord,
    RecordError,
    parse_child,
)

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED = 400 * 1024 * 1024
MAX_RATIO = 200
MAX_ROWS = 200_000
MAX_CELL = 10_000
MAX_COLS = 200
EXAMPLE_MARK = "【示例行】导入时自动忽略"

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
    ("身体状况", ("身体状况", "状况")),
    ("残疾类别", ("身体状况", "残疾类别")),
    ("残疾等级", ("身体状况", "残疾等级")),
    ("疾病名称", ("身体状况", "疾病名称")),
    ("是否重病", ("身体状况", "是否重病")),
    ("是否寄宿", ("是否寄宿",)),
    ("困境情形", ("困境情形",)),
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
    ("帮扶教师", ("帮扶教师",)),
    ("帮扶教师电话", ("帮扶教师电话",)),
    ("救助帮扶", ("救助帮扶",)),
    ("家庭经济来源", ("家庭经济来源",)),
    ("状态", ("状态",)),
    ("备注", ("备注",)),
]
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
    "就读方式": "是否寄宿", "是否住校": "是否寄宿", "是否寄宿生": "是否寄宿", "现居住地址": "现居住地",
    "居住地址": "现居住地", "户籍所在地址": "户籍所在地", "所在村(居)委会": "村(居)委会",
    "所属村(居)委会": "村(居)委会", "村(社区)": "村(居)委会", "困境类别": "困境情形",
    "困境儿童类别": "困境情形", "困境儿童情形": "困境情形", "父亲务工地点": "父亲务工地",
    "父亲外出务工地点": "父亲务工地", "母亲务工地点": "母亲务工地", "母亲外出务工地点": "母亲务工地",
    "父亲联系电话": "父亲电话", "母亲联系电话": "母亲电话", "监护人联系电话": "监护人电话",
    "委托照护人联系电话": "委托照护人电话", "与监护人关系": "监护人关系", "帮扶教师姓名": "帮扶教师",
    "结对帮扶教师": "帮扶教师", "帮扶教师联系电话": "帮扶教师电话",
}
_PATHS = dict(COLUMNS)

# Dropdown lists of the template (column header -> allowed values).
CHOICES: dict[str, tuple[str, ...]] = {
    "性别": ("男", "女"),
    "民族": ETHNICITIES,
    "身体状况": HEALTH_STATES,
    "残疾类别": DISABILITY_KINDS,
    "残疾等级": DISABILITY_GRADES,
    "是否重病": ("是", "否"),
    "是否寄宿": ("是", "否"),
    "父亲状况": PARENT_STATES,
    "母亲状况": PARENT_STATES,
    "监护人照护能力": CARE_CAPACITIES,
    "委托照护人照护能力": CARE_CAPACITIES,
    "状态": STATUSES,
}
TEXT_COLUMNS = ("身份证号", "学籍号", "父亲身份证号", "母亲身份证号", "监护人身份证号", "委托照护人身份证号",
                "父亲电话", "母亲电话", "监护人电话", "委托照护人电话", "帮扶教师电话", "出生日期", "班级")


@dataclass
class RowError:
    row: int
    message: str
    problems: list[str] = field(default_factory=list)


@dataclass
class Roster:
    source: str
    records: list[tuple[int, ChildRecord]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped_examples: int = 0
    total_rows: int = 0
    missing_columns: list[str] = field(default_factory=list)  # of REQUIRED_HEADERS (a warning)


def _norm_header(value: Any) -> str:
    text = "" if value is None else unicodedata.normalize("NFKC", str(value))  # full-width （） ＊ Ａ
    text = "".join(text.split()).replace("*", "")
    if text in _PATHS:
        return text
    return HEADER_ALIASES.get(text, HEADER_ALIASES.get(text.replace("(", "（").replace(")", "）"), text))


_EXCEL_EPOCH = date(1899, 12, 30)
_SCIENTIFIC = re.compile(r"^\s*\d(\.\d+)?[eE]\+?\d+\s*$")


def _cell_value(header: str, value: Any) -> Any:
    """Excel cell -> the value the model expects; raises ValueError for lossy cells."""
    if value is None:
        return None
    if header == "出生日期" and isinstance(value, int | float) and not isinstance(value, bool) \
            and 1 <= value < 110_000 and float(value).is_integer():
        # A date typed into a "常规" (General) cell is stored as its Excel serial number.
        return (_EXCEL_EPOCH + timedelta(days=int(value))).isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if "身份证号" in header or header == "学籍号":
            raise ValueError(f"{header}：单元格为数字格式，18位号码已丢失精度；请把该列设为“文本”后重新填写")
        if value.is_integer():
            value = int(value)
        else:
            return str(value)
    if isinstance(value, int):
        if "身份证号" in header and len(str(value)) > 15:
            raise ValueError(f"{header}：单元格为数字格式，18位号码已丢失精度；请把该列设为“文本”后重新填写")
        return str(value)
    text = str(value)
    if len(text) > MAX_CELL:
        raise ValueError(f"{header}：单元格内容过长（{len(text)} 个字符）")
    if "身份证号" in header and _SCIENTIFIC.match(text):
        # A CSV saved from a numeric Excel cell: "3.41322E+17" — the digits are gone.
        raise ValueError(f"{header}：“{text.strip()}”是科学计数法，18位号码已丢失；"
                         "请在 Excel 中把该列设为“文本”后重新填写号码")
    return text


def row_to_data(headers: list[str], values: list[Any]) -> tuple[dict[str, Any], list[str]]:
    """One roster row -> a nested record dict (Chinese keys), plus cell-level problems."""
    data: dict[str, Any] = {}
    problems: list[str] = []
    for header, raw in zip(headers, values, strict=False):
        path = _PATHS.get(header)
        if path is None:
            continue
        try:
            value = _cell_value(header, raw)
        except ValueError as err:
            problems.append(str(err))
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        target = data
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return data, problems


def check_roster_size(size: int, name: str) -> None:
    """Refuse a roster larger than MAX_FILE_BYTES (callers check before reading the file)."""
    if size > MAX_FILE_BYTES:
        raise InputError(f"花名册 {name} 过大（{size // 1024 // 1024} MB，上限 {MAX_FILE_BYTES // 1024 // 1024} MB）。",
                         "把花名册拆分为几个文件分别导入。")


def _xlsx_rows(raw: bytes, name: str) -> Iterator[list[Any]]:
    import openpyxl

    size = len(raw)
    check_roster_size(size, name)
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except Exception as err:  # noqa: BLE001 - zipfile raises BadZipFile, NotImplementedError, EOFError, ...
        raise InputError(f"{name} 不是有效的 Excel（.xlsx）文件：{err}",
                         "用 Excel 或 WPS 打开后“另存为” .xlsx；旧的 .xls 格式请先另存为 .xlsx。") from err
    if total > MAX_UNCOMPRESSED or total > max(size, 1) * MAX_RATIO:
        raise InputError(f"{name} 解压后过大（{total // 1024 // 1024} MB），疑似异常文件，已拒绝。",
                         "确认文件来源；正常花名册解压后不会超过几十 MB。")
    try:
        with warnings.catch_warnings():
            # Files saved by Excel/WPS often carry extensions openpyxl warns about (in English);
            # they do not affect the cell values we read.
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds on malformed files
        raise InputError(f"无法读取 Excel 文件 {name}：{type(err).__name__}: {err}",
                         "用 Excel 或 WPS 打开检查，另存为 .xlsx 后重试。") from err
    try:
        ws = wb["花名册"] if "花名册" in wb.sheetnames else wb.worksheets[0]
        # The declared dimension can claim 1,048,576 rows × 16,384 columns for a tiny file:
        # ignore it, and never read more than MAX_COLS columns.
        ws.reset_dimensions()
        rows = ws.iter_rows(values_only=True, max_col=MAX_COLS)
        while True:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row = next(rows, None)
            if row is None:
                break
            yield list(row)
    except InputError:
        raise
    except Exception as err:
        raise InputError(f"读取 Excel 文件 {name} 时出错：{type(err).__name__}: {err}",
                         "用 Excel 或 WPS 打开检查，另存为 .xlsx 后重试。") from err
    finally:
        wb.close()


def decode_csv(raw: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030 (Excel 中文版 default)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _csv_rows(raw: bytes, name: str) -> Iterator[list[Any]]:
    check_roster_size(len(raw), name)
    try:
        text = decode_csv(raw)
    except UnicodeDecodeError as err:
        raise InputError(f"{name} 的编码无法识别（既不是 UTF-8 也不是 GB18030）。",
                         "在 Excel/WPS 中另存为“CSV UTF-8”。") from err
    if "\x00" in text:
        raise InputError(f"{name} 含有空字符，不是文本格式的 CSV。", "确认文件是 CSV 而不是 Excel 或其他二进制文件。")
    csv.field_size_limit(MAX_CELL + 1)
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            yield [c[1:] if c.startswith("'") and c[1:].startswith(_FORMULA_START) else c for c in row]
    except csv.Error as err:
        raise InputError(f"{name} 不是有效的 CSV：{err}", "检查引号是否成对，或另存为 .xlsx 后导入。") from err


def parse_roster(raw: bytes, name: str, progress: Callable[[int], None] | None = None,
                 defaults: dict[str, str] | None = None) -> Roster:
    """Parse a roster file's bytes (``name`` gives the format by its suffix); good rows become
    records, bad rows are reported with row numbers. ``progress`` is called with the count of
    data rows read so far; ``defaults`` fill top-level fields a row leaves empty or the sheet
    lacks (e.g. {"学校": the archive's school name})."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(raw, name)
    elif suffix in (".csv", ".txt"):
        rows = _csv_rows(raw, name)
    elif suffix == ".xls":
        raise InputError(f"{name} 是旧版 .xls 格式，不支持。", "用 Excel 或 WPS 打开后“另存为” .xlsx 再导入。")
    else:
        raise InputError(f"{name}：不支持的花名册格式“{suffix or '无扩展名'}”。", "请使用 .xlsx 或 .csv 文件。")
    defaults = {k: v for k, v in (defaults or {}).items() if v}
    roster = Roster(source=name)
    headers: list[str] | None = None
    header_row = 0
    seen: dict[str, int] = {}
    for number, values in enumerate(rows, start=1):
        if headers is None:
            cells = [_norm_header(v) for v in values]
            if "姓名" in cells and ("学籍号" in cells or "身份证号" in cells):
                headers, header_row = cells, number
                roster.missing_columns = _check_headers(name, headers, number, defaults)
            elif number >= 10:
                raise InputError(f"{name}：前10行中未找到表头（至少需要“姓名”和“学籍号”列）。",
                                 "用 guanai child template --xlsx -o 花名册模板.xlsx 生成模板，按模板填写。")
            continue
        if number - header_row > MAX_ROWS:
            raise InputError(f"{name}：行数超过上限 {MAX_ROWS}。", "把花名册拆分为几个文件分别导入。")
        if not any(values) or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        roster.total_rows += 1
        if progress is not None:
            progress(roster.total_rows)
        data, problems = row_to_data(headers, values)
        for field_name, default in defaults.items():
            data.setdefault(field_name, default)
        if data.get("备注") == EXAMPLE_MARK:
            roster.skipped_examples += 1
            roster.total_rows -= 1
            continue
        try:
            record = parse_child(data, f"第{number}行")
        except RecordError as err:
            problems += err.messages
            record = None
        if problems or record is None:
            roster.errors.append(RowError(number, "；".join(problems), problems))
            continue
        dup = None
        for key in (record.student_id, record.id_number):
            if key and key in seen:
                dup = (key, seen[key])
                break
        if dup is not None:
            roster.errors.append(RowError(number, f"与第{dup[1]}行重复（{'学籍号' if dup[0] == record.student_id else '身份证号'}相同）",
                                          [f"与第{dup[1]}行重复"]))
            continue
        for key in (record.student_id, record.id_number):
            if key:
                seen[key] = number
        roster.records.append((number, record))
    if headers is None:
        raise InputError(f"{name}：文件为空或没有表头。",
                         "用 guanai child template --xlsx -o 花名册模板.xlsx 生成模板，按模板填写。")
    return roster


def _check_headers(name: str, headers: list[str], row: int, defaults: dict[str, str]) -> list[str]:
    """Refuse a header without the essential columns; return the missing recommended ones."""
    missing = [h for h in ESSENTIAL_HEADERS if h not in headers and h not in defaults]
    if missing:
        raise InputError(f"{name} 第{row}行表头缺少必备列：{'、'.join(missing)}。",
                         "表头至少须有：" + "、".join(ESSENTIAL_HEADERS) + "；建议包含："
                         + "、".join(REQUIRED_HEADERS) + "（可用 guanai child template --xlsx 生成模板）。")
    dups = sorted({h for h in headers if h and headers.count(h) > 1 and h in _PATHS})
    if dups:
        raise InputError(f"{name} 第{row}行表头有重复的列：{'、'.join(dups)}。", "删除重复的列后重试。")
    return [h for h in REQUIRED_HEADERS if h not in headers and h not in defaults]


# --- writing ---------------------------------------------------------------------------------


def record_to_row(record: ChildRecord) -> list[Any]:
    """A record as one roster row, in the order of COLUMNS."""
    data = record.to_json_dict()
    row: list[Any] = []
    for header, path in COLUMNS:
        value: Any = data
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, list):
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
    notes.column_dimensions["A"].width = 100
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


_FORMULA_START = ("=", "+", "-", "@")


def _csv_safe(value: Any) -> Any:
    """Spreadsheet programs run cells starting with = + - @ as formulas: quote them with "'"."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def roster_csv_bytes(records: list[ChildRecord]) -> bytes:
    """A roster as CSV in UTF-8 with BOM (Excel opens it with the right encoding)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([h for h, _ in COLUMNS])
    for rec in records:
        writer.writerow([_csv_safe(v) for v in record_to_row(rec)])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


# --- single records from JSON / YAML ---------------------------------------------------------

MAX_RECORD_FILE = 2 * 1024 * 1024
MAX_RECORDS_PER_FILE = 1000


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"字段“{key}”重复出现")
        out[key] = value
    return out


def _yaml_loader() -> type:
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        """Safe YAML without anchors/aliases: aliases can expand a small file exponentially."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(None, None, "不允许使用 YAML 别名（*引用）", event.start_mark)
            return super().compose_node(parent, index)

    return NoAliasLoader


def parse_record_bytes(raw: bytes, name: str) -> Any:
    """Bytes of a .json / .yaml file -> Python data, with Chinese errors naming the file."""
    if len(raw) > MAX_RECORD_FILE:
        raise InputError(f"{name} 过大（{len(raw) // 1024} KB，上限 {MAX_RECORD_FILE // 1024 // 1024} MB）。",
                         "一个儿童记录不会这么大；检查是否选错了文件，或把大段说明写成文档附件。")
    try:
        text = decode_csv(raw)
    except UnicodeDecodeError as err:
        raise InputError(f"{name} 不是 UTF-8 或 GB18030 编码的文本。", "用记事本或 VS Code 另存为 UTF-8。") from err
    is_yaml = name.lower().endswith((".yaml", ".yml"))
    if not is_yaml:
        import json

        try:
            return json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except json.JSONDecodeError as err:
            raise InputError(f"{name} 不是有效的 JSON：第{err.lineno}行第{err.colno}列附近（{err.msg}）。",
                             "检查引号、逗号和括号；也可改用 YAML（.yaml）格式。") from err
        except ValueError as err:
            raise InputError(f"{name}：{err}。", "每个字段只写一次。") from err
        except RecursionError as err:
            raise InputError(f"{name} 嵌套层数过深。", "一个儿童记录最多两层嵌套。") from err
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"第{mark.line + 1}行第{mark.column + 1}列附近" if mark is not None else ""
        raise InputError(f"{name} 不是有效的 YAML：{where}（{err.problem or err}）。",
                         "检查缩进（用空格，不用 Tab）和冒号后的空格。") from err
    except (yaml.YAMLError, RecursionError, ValueError) as err:
        raise InputError(f"{name} 不是有效的 YAML：{err}", "检查缩进（用空格，不用 Tab）和冒号后的空格。") from err


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
