"""One input path for everything people type or export: rosters (花名册 / 台账), child records and
forms all come through here.

* :func:`read_table` — the rows of an .xlsx / .csv file (size and zip-ratio limits, openpyxl's
  declared dimension ignored, merged cells reported), and :func:`read_data` — the data of a
  .json / .yaml file (size limit, duplicate keys and YAML aliases refused, nesting depth limit).
* value parsers used by every model: :func:`parse_date` (2026-09-01, 2026/9/1, 2026.9.1,
  2026年9月1日, 20260901, Excel serial numbers, full-width digits), :func:`parse_yes_no`
  (是/否/√/×/有/无 …), :func:`split_list`, :func:`normalise_text` (control characters removed) and
  :func:`check_text` (control characters refused).
* :func:`field_problems` — a pydantic ``ValidationError`` as Chinese problems, with the field
  path in the models' Chinese names.

No file I/O: callers read the bytes (the CLI, the browser UI) and pass them in.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import typing
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from guanai.base.errors import InputError
from guanai.base.text import strip_invisible

MAX_TABLE_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED = 400 * 1024 * 1024
MAX_RATIO = 200
MAX_COLS = 200
MAX_CELL = 10_000
MAX_DEPTH = 20
FORMULA_START = ("=", "+", "-", "@")


# --------------------------------------------------------------------------- bytes -> text


def check_size(size: int, name: str, limit: int, hint: str = "检查是否选错了文件；过大的表格请拆分为几个文件。") -> None:
    """Refuse an input larger than ``limit`` bytes (callers check before reading a file whole)."""
    if size > limit:
        shown = f"{limit // 1024 // 1024} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
        raise InputError(f"{name} 过大（{max(size // 1024, 1)} KB，上限 {shown}）。", hint)


def decode_text(raw: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) or GB18030 (what Excel/WPS in Chinese save by default)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as err:
        raise InputError(f"{name} 不是 UTF-8 或 GB18030 编码的文本。",
                         "用记事本或 WPS 另存为 UTF-8（Excel 中选“CSV UTF-8”）。") from err


# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    """The cells of one sheet, row by row (row 1 is ``rows[0]``), and its merged ranges."""

    name: str
    sheet: str
    rows: list[list[Any]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # (row1, col1, row2, col2), 1-based


def read_table(raw: bytes, name: str, *, limit: int = MAX_TABLE_BYTES, max_rows: int = 200_000,
               sheets: tuple[str, ...] = (), what: str = "表格") -> Table:
    """The first sheet named in ``sheets`` (else the first sheet) of an .xlsx, or a .csv file."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    check_size(len(raw), name, limit)
    if suffix in ("xlsx", "xlsm"):
        return _xlsx_table(raw, name, max_rows, sheets)
    if suffix in ("csv", "txt"):
        return _csv_table(raw, name, max_rows)
    if suffix == "xls":
        raise InputError(f"{name} 是旧版 .xls 格式，不支持。", "用 Excel 或 WPS 打开后另存为 .xlsx 再导入。")
    raise InputError(f"{name}：不支持的{what}格式“{('.' + suffix) if suffix else '无扩展名'}”。", "请使用 .xlsx 或 .csv 文件。")


def _too_many_rows(name: str, max_rows: int) -> InputError:
    return InputError(f"{name}：行数超过上限 {max_rows}。", "把表格拆分为几个文件分别处理。")


def _xlsx_table(raw: bytes, name: str, max_rows: int, sheets: tuple[str, ...]) -> Table:
    import openpyxl

    bad_file = "用 Excel 或 WPS 打开后另存为 .xlsx；旧的 .xls 格式请先另存为 .xlsx。"
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except Exception as err:  # noqa: BLE001 - zipfile raises BadZipFile, NotImplementedError, EOFError, ...
        raise InputError(f"{name} 不是有效的 Excel（.xlsx）文件（无法解压）。", bad_file) from err
    if total > MAX_UNCOMPRESSED or total > max(len(raw), 1) * MAX_RATIO:
        raise InputError(f"{name} 解压后过大（{total // 1024 // 1024} MB），疑似异常文件，已拒绝。",
                         "确认文件来源；正常表格解压后不会超过几十 MB。")
    try:
        with warnings.catch_warnings():
            # Files saved by Excel/WPS carry extensions openpyxl warns about (in English); they do
            # not affect the cell values.
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 - openpyxl raises many kinds on malformed files
        raise InputError(f"{name} 不是有效的 Excel（.xlsx）文件（内容无法读取）。", bad_file) from err
    try:
        chosen = next((s for s in sheets if s in wb.sheetnames), None)
        ws = wb[chosen] if chosen else wb.worksheets[0]
        # The declared dimension can claim 1,048,576 rows x 16,384 columns for a tiny file: ignore
        # it, and never read more than MAX_COLS columns.
        ws.reset_dimensions()
        rows: list[list[Any]] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for row in ws.iter_rows(values_only=True, max_col=MAX_COLS):
                if len(rows) >= max_rows:
                    raise _too_many_rows(name, max_rows)
                rows.append(list(row))
        merged = _merged_ranges(wb, ws)
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001
        raise InputError(f"读取 Excel 文件 {name} 时出错：{type(err).__name__}: {err}",
                         "用 Excel 或 WPS 打开检查，另存为 .xlsx 后重试。") from err
    finally:
        wb.close()
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    width = max((max((i for i, v in enumerate(r) if v is not None), default=-1) for r in rows), default=-1) + 1
    return Table(name, str(ws.title), [r[:width] for r in rows], merged)


_MERGE_REF = re.compile(r"^([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})$")


def _merged_ranges(wb: Any, ws: Any) -> list[tuple[int, int, int, int]]:
    """Merged ranges of a read-only sheet (openpyxl gives them only in full mode): the sheet's
    ``<mergeCell ref="A1:C1"/>`` elements, streamed."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils import column_index_from_string

    path = getattr(ws, "_worksheet_path", None)
    if not path:
        return []
    out: list[tuple[int, int, int, int]] = []
    with wb._archive.open(path) as src:
        for _event, elem in iterparse(src):
            if elem.tag.endswith("}mergeCell"):
                m = _MERGE_REF.match(elem.get("ref", ""))
                if m and len(out) < 10_000:
                    out.append((int(m.group(2)), column_index_from_string(m.group(1)),
                                int(m.group(4)), column_index_from_string(m.group(3))))
            elif elem.tag.endswith("}row"):
                elem.clear()  # cell data is not needed here: keep memory flat
    return out


def _csv_table(raw: bytes, name: str, max_rows: int) -> Table:
    text = decode_text(raw, name)
    if "\x00" in text:
        raise InputError(f"{name} 含有空字符，不是文本格式的 CSV。", "确认文件是 CSV 而不是 Excel 或其他二进制文件。")
    csv.field_size_limit(MAX_CELL + 1)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[Any]] = []
    try:
        for row in reader:
            if len(rows) >= max_rows:
                raise _too_many_rows(name, max_rows)
            # a cell we wrote as '=... (formula guard, see csv_safe) reads back as it was typed
            rows.append([c[1:] if c.startswith("'") and c[1:].startswith(FORMULA_START) else c
                         for c in row[:MAX_COLS]])
    except csv.Error as err:
        raise InputError(f"{name} 第{reader.line_num}行：CSV 格式错误（{err}）。",
                         "检查引号是否成对，或另存为 .xlsx 后导入。") from err
    return Table(name, "", rows)


def csv_safe(value: Any) -> Any:
    """Spreadsheet programs run cells starting with = + - @ as formulas: quote them with "'"."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


# --------------------------------------------------------------------------- JSON / YAML


_JSON_REASONS = {
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Expecting property name enclosed in double quotes": "字段名应放在英文双引号中，或多了一个逗号",
    "Expecting value": "缺少值，或有多余的逗号",
    "Unterminated string starting at": "引号没有闭合",
    "Invalid control character at": "文字中有换行等控制字符",
    "Extra data": "末尾有多余的内容",
    "Invalid \\escape": "反斜杠 \\ 用法不对",
}
_YAML_REASONS = {
    "mapping values are not allowed here": "此处不能出现“: ”（值中含冒号时请给整个值加引号）",
    "could not find expected ':'": "缺少冒号",
    "found character '\\t' that cannot start any token": "含有制表符（缩进只能用空格）",
    "found undefined alias": "含有未定义的 * 引用",
    "did not find expected key": "缩进不一致",
    "did not find expected '-' indicator": "列表缩进不一致",
    "found unexpected end of stream": "引号或括号没有闭合",
    "不允许使用 YAML 别名": "不允许使用 YAML 别名（*引用）",
}


def _reason_of(text: str, table: dict[str, str]) -> str:
    return next((cn for en, cn in table.items() if text.startswith(en)), "格式不正确")


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"字段“{key}”重复出现")
        out[key] = value
    return out


def _yaml_loader() -> type:
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """Safe YAML without aliases (a small file could expand exponentially) or repeated keys."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(None, None, "不允许使用 YAML 别名（*引用）", event.start_mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, typing.Hashable) and key in seen:
                    raise _DuplicateKey(f"第{key_node.start_mark.line + 1}行：字段“{key}”重复出现")
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def _depth(data: Any) -> int:
    deepest, stack = 0, [(data, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def read_data(raw: bytes, name: str, *, limit: int) -> Any:
    """The data of a .json or .yaml/.yml file's bytes (format by ``name``), with Chinese errors."""
    check_size(len(raw), name, limit, "检查是否选错了文件；大量记录请用表格（.xlsx）分批处理。")
    text = decode_text(raw, name)
    is_yaml = name.lower().endswith((".yaml", ".yml"))
    try:
        data = _load_yaml(text, name) if is_yaml else _load_json(text, name)
    except _DuplicateKey as err:
        raise InputError(f"{name}：{err}。", "每个字段只写一次。") from err
    except RecursionError as err:
        raise InputError(f"{name} 嵌套层数过深。", f"最多 {MAX_DEPTH} 层嵌套。") from err
    if _depth(data) > MAX_DEPTH:
        raise InputError(f"{name} 嵌套层数过深。", f"最多 {MAX_DEPTH} 层嵌套。")
    return data


def _load_json(text: str, name: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as err:
        raise InputError(f"{name} 不是有效的 JSON：第{err.lineno}行第{err.colno}列，JSON 格式错误"
                         f"（{_reason_of(err.msg, _JSON_REASONS)}）。",
                         "检查引号、逗号和括号是否成对；也可改用 YAML（.yaml）格式。") from err


def _load_yaml(text: str, name: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"第{mark.line + 1}行第{mark.column + 1}列，" if mark is not None else ""
        problem = str(getattr(err, "problem", None) or "")
        raise InputError(f"{name} 不是有效的 YAML：{where}YAML 格式错误（{_reason_of(problem, _YAML_REASONS)}）。",
                         "检查缩进（用空格，不用 Tab）和冒号（冒号后要有空格）。") from err


# --------------------------------------------------------------------------- values


# C0/C1 control characters, surrogates, non-characters; line breaks handled by the callers.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
# What a checked text must not contain: the above, tabs, private use, and the invisible
# bidirectional overrides / zero-width characters that can disguise text (Trojan Source).
_FORBIDDEN = ("\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\U000f0000-\U0010ffff"
              "\u202a-\u202e\u2066-\u2069\u200b\u200e\u200f\ufeff")
_BAD_ONE_LINE = re.compile("[\x00-\x1f" + _FORBIDDEN + "]")
_BAD_MULTI_LINE = re.compile("[\x00-\x09\x0b-\x1f" + _FORBIDDEN + "]")


def normalise_text(value: str, *, multiline: bool = True) -> str:
    """Remove control and invisible characters; keep line breaks only where allowed."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\t", " ").replace("\a", "\n").replace("\f", "\n").replace("\v", "\n")
    value = strip_invisible(_CONTROL.sub("", value))  # RLO, U+034F, U+3164 … (guanai.base.text)
    if not multiline:
        return " ".join(part.strip() for part in value.split("\n") if part.strip()).strip()
    return "\n".join(line.rstrip() for line in value.split("\n")).strip("\n").strip()


def check_text(value: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or ValueError (Chinese) naming the first character it must not have."""
    m = (_BAD_MULTI_LINE if multiline else _BAD_ONE_LINE).search(value)
    if m is not None:
        ch = m.group(0)
        where = "换行" if ch in "\r\n" else f"U+{ord(ch):04X}"
        raise ValueError(f"含有不允许的控制字符（{where}，第{m.start() + 1}个字符）")
    return value


def fold_width(text: str) -> str:
    """Full-width digits, letters and punctuation as ASCII (０１２Ａ（） -> 012A()); CJK unchanged."""
    return unicodedata.normalize("NFKC", text)


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_DATE_TIME = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})[ T]\d{1,2}:\d{2}(:\d{2})?$")
DATE_HINT = "格式应为 2026-09-01、2026.9.1 或 2026年9月1日"


def excel_serial_date(value: float) -> dt.date | None:
    """The date of an Excel serial number (a date typed into a "常规" cell), if it is one."""
    if 1 <= value < 100_000 and float(value).is_integer():
        return _EXCEL_EPOCH + dt.timedelta(days=int(value))
    return None


def parse_date(value: Any) -> Any:
    """A date as people write it (see the module doc); None/blank -> None; other types unchanged
    (pydantic reports them); ValueError (Chinese) for text that is not a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, int | float) and not isinstance(value, bool):
        serial = excel_serial_date(value)
        if serial is not None:
            return serial
        value = str(int(value)) if float(value).is_integer() else str(value)
    if not isinstance(value, str):
        return value
    text = fold_width(value).strip()
    if not text:
        return None
    if len(text) > 40:
        raise ValueError(f"日期格式不正确：{DATE_HINT}")
    dtm = _DATE_TIME.match(text)
    if dtm:
        text = dtm.group(1)
    m = _DATE_RE.match(text) or (re.match(r"^(\d{4})(\d{2})(\d{2})$", text) if len(text) == 8 else None)
    if m is None:
        raise ValueError(f"日期“{text}”格式不正确：{DATE_HINT}")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError(f"“{text}”不是有效日期（该日不存在）") from None


_TRUE = {"是", "√", "✓", "✔", "有", "已", "已告知", "y", "yes", "true", "1", "寄宿", "住校"}
_FALSE = {"否", "不是", "×", "✗", "✘", "无", "没有", "未", "未告知", "n", "no", "false", "0", "", "走读"}


def parse_yes_no(value: Any) -> Any:
    """是/否 and the ways people tick a box (√ ×, 有 无, Y N, 1 0); other types unchanged."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = fold_width(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"“{value[:20]}”应为 是 或 否")
    return value


_LIST_SPLIT = re.compile(r"[、,，;；/\n]+")


def split_list(value: Any) -> Any:
    """"a、b，c" -> ["a", "b", "c"] (、 , ， ; ； / or line breaks); other types unchanged."""
    if isinstance(value, str):
        return [p.strip() for p in _LIST_SPLIT.split(value) if p.strip()]
    return value


# --------------------------------------------------------------------------- validation errors


@dataclass(frozen=True)
class FieldProblem:
    """One pydantic error in Chinese: the path (Chinese field names; list positions as ints),
    the pydantic error type and the reason."""

    path: tuple[str | int, ...]
    code: str
    reason: str

    def dotted(self) -> str:
        """父亲.状况 / 困境情形[2] (child records)."""
        out = ""
        for part in self.path:
            out += f"[{part + 1}]" if isinstance(part, int) else (("." if out else "") + part)
        return out

    def arrowed(self) -> str:
        """跟踪记录 › 第2项 › 日期 (forms)."""
        return " › ".join(f"第{p + 1}项" if isinstance(p, int) else p for p in self.path)


_TYPE_NAMES = {list: "列表", str: "文本", int: "整数", float: "小数", bool: "是/否", type(None): "空值", dict: "对象"}


def type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 20 else text[:20] + "…"


_REASONS = {
    "missing": "必须填写",
    "string_unicode": "含有不允许的控制字符（无效的 Unicode 代理字符）",
    "string_type": "应为文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "list_type": "应为列表",
    "model_type": "应为对象（键值对）",
    "dict_type": "应为对象（键值对）",
    "model_attributes_type": "应为对象（键值对）",
}


def _reason(err: dict[str, Any], unknown: str) -> str:
    etype = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    inp = err.get("input")
    if etype == "extra_forbidden":
        return unknown
    if etype in ("string_too_long", "too_long"):
        if isinstance(inp, list):
            return f"项数过多（最多 {ctx.get('max_length')} 项，现为 {len(inp)} 项）"
        return f"过长（最多 {ctx.get('max_length')} 个字符，现为 {len(inp) if isinstance(inp, str) else '?'} 个）"
    if etype == "string_too_short":
        return "不能为空"
    if etype == "too_short":
        return f"至少需要 {ctx.get('min_length')} 项" if isinstance(inp, list) and ctx.get("min_length") else "不能为空"
    if etype == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"取值“{_short(inp)}”无效，可选：{'、'.join(x.strip() for x in expected.split(','))}"
    if etype.startswith("bool"):
        return "应为 是 或 否"
    if etype.startswith(("date", "datetime")):
        return f"日期格式不正确：{DATE_HINT}"
    if etype == "value_error":
        return str(ctx.get("error") or err.get("msg", "")).removeprefix("Value error, ")
    return _REASONS.get(etype, f"取值无效（{etype}）")


def _submodel(annotation: Any) -> type[BaseModel] | None:
    todo = [annotation]
    while todo:
        arg = todo.pop(0)
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        todo.extend(typing.get_args(arg))
    return None


def _path(model: type[BaseModel] | None, loc: Iterable[Any], extra: bool) -> tuple[str | int, ...]:
    parts = list(loc)
    out: list[str | int] = []
    current = model
    for i, part in enumerate(parts):
        if isinstance(part, int):
            out.append(part)
            continue
        name = str(part)
        fields = current.model_fields if current is not None else {}
        if name in fields:
            info = fields[name]
            out.append(info.alias or name)
            current = _submodel(info.annotation)
            continue
        alias_hit = next((n for n, f in fields.items() if f.alias == name), None)
        if alias_hit is not None:
            out.append(name)
            current = _submodel(fields[alias_hit].annotation)
            continue
        if extra and i == len(parts) - 1:
            out.append(name)  # the unknown key itself
        # otherwise a pydantic-internal step (function-after[...], literal[...], a union member)
    return tuple(out)


def field_problems(err: ValidationError, model: type[BaseModel] | None,
                   unknown: str = "不是已知字段（请检查字段名拼写）") -> list[FieldProblem]:
    """Every error of ``err`` in Chinese; ``unknown`` is the reason given for unknown keys."""
    out: list[FieldProblem] = []
    for e in err.errors(include_url=False):
        etype = str(e.get("type", ""))
        path = _path(model, e.get("loc", ()), etype == "extra_forbidden")
        out.append(FieldProblem(path, etype, _reason(dict(e), unknown)))
    return out
