"""Forms in and out: JSON, YAML, CSV, Excel (one form per row), interactive prompts; blank
form templates (Excel with Chinese headers, dropdowns and an example row; JSON/YAML examples)."""

from __future__ import annotations

import datetime as dt
import io
import json
import types
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from guanai.base.errors import InputError
from guanai.base.fsutil import atomic_write
from guanai.care.inputs import check_size, read_data, read_table
from guanai.generators.forms import FormBase, cn_date
from guanai.generators.kinds import Kind, get_kind
from guanai.generators.text import error_detail

MAX_FORM_FILE = 20 * 1024 * 1024
MAX_ROWS = 5000
SHEET_NAME = "表单"
EXCEL_ROWS_WITH_DROPDOWNS = 1000


@dataclass
class FormRow:
    """One form read from a source, with where it came from (for error messages)."""

    source: str
    row: int | None
    data: dict[str, Any]
    columns: dict[str, str] = field(default_factory=dict)  # Chinese field name -> column letter

    @property
    def label(self) -> str:
        return f"{self.source} 第{self.row}行" if self.row is not None else self.source


# --------------------------------------------------------------------------- reading


def read_forms(path: Path | str) -> list[FormRow]:
    """All forms in a file (format by extension: .json .yaml/.yml .csv .xlsx)."""
    p = Path(path)
    try:
        return _read_forms(p)
    except OSError as err:  # missing, a directory, no permission: said in Chinese, not by the OS
        raise InputError(f"{p.name}：无法读取表单文件（{error_detail(err)}）。", f"检查文件路径：{p}") from err


def _read_forms(p: Path) -> list[FormRow]:
    ext = p.suffix.lower()
    if ext not in (".json", ".yaml", ".yml", ".csv", ".xlsx", ".xlsm", ".xls"):
        raise InputError(f"不支持的表单文件类型：{p.name}。", "支持 .json、.yaml、.csv、.xlsx。")
    size = p.stat().st_size
    check_size(size, f"表单文件 {p.name}", MAX_FORM_FILE, "一个表单文件不应超过 20 MB，可拆分后分批生成。")
    with p.open("rb") as fh:
        raw = fh.read(MAX_FORM_FILE + 1)
    if ext in (".json", ".yaml", ".yml"):
        return _from_objects(p, read_data(raw, p.name, limit=MAX_FORM_FILE))
    table = read_table(raw, p.name, limit=MAX_FORM_FILE, max_rows=MAX_ROWS + 1, sheets=(SHEET_NAME,), what="表单文件")
    if not table.rows:
        raise InputError(f"{p.name} 是空文件。", "第一行应为字段名（表头）。")
    return _rows_from_table(p, list(table.rows[0]), [(i, list(r)) for i, r in enumerate(table.rows[1:], 2)])


def _from_objects(p: Path, data: Any) -> list[FormRow]:
    if isinstance(data, dict) and isinstance(data.get(SHEET_NAME), list):
        data = data[SHEET_NAME]
    if isinstance(data, dict):
        return [FormRow(p.name, None, data)]
    if isinstance(data, list):
        if len(data) > MAX_ROWS:
            raise InputError(f"{p.name} 含 {len(data)} 份表单，超过上限 {MAX_ROWS}。", "拆分后分批生成。")
        rows = []
        for i, item in enumerate(data, 1):
            if not isinstance(item, dict):
                raise InputError(f"{p.name} 第{i}份表单不是“字段: 值”的形式。", "每份表单应是一组字段。")
            rows.append(FormRow(p.name, i, item))
        return rows
    raise InputError(f"{p.name} 不是表单：应为一组“字段: 值”，或多组组成的列表。",
                     "用 `guanai form template 种类代号 --yaml -o 示例.yaml` 生成示例后照着填写（种类代号见 guanai form kinds）。")


def _column_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(i))


def _clean_header(value: Any) -> str:
    return str(value).strip().rstrip("*＊").strip() if value is not None else ""


def _rows_from_table(p: Path, header: list[Any], rows: list[tuple[int, list[Any]]]) -> list[FormRow]:
    names = [_clean_header(h) for h in header]
    columns = {n: _column_letter(i + 1) for i, n in enumerate(names) if n}
    out = []
    for rownum, values in rows:
        data: dict[str, Any] = {}
        for name, value in zip(names, values, strict=False):
            if not name or value is None or (isinstance(value, str) and not value.strip()):
                continue
            data[name] = value
        if data:
            out.append(FormRow(p.name, rownum, data, columns))
    if len(out) > MAX_ROWS:
        raise InputError(f"{p.name} 含 {len(out)} 行表单，超过上限 {MAX_ROWS}。", "拆分后分批生成。")
    return out


# --------------------------------------------------------------------------- field descriptions


@dataclass
class FieldSpec:
    name: str  # English attribute
    alias: str  # Chinese field name
    required: bool
    kind: Literal["text", "date", "bool", "choice", "list", "rows", "int"]
    choices: list[str]
    sub: list[str]  # aliases of a sub-table's columns

    @property
    def hint(self) -> str:
        if self.kind == "date":
            return "日期，如 2020-04-20"
        if self.kind == "bool":
            return "是 / 否"
        if self.kind == "choice":
            return " / ".join(self.choices)
        if self.kind == "list":
            return "多项用顿号“、”分隔" + (f"（可选：{'、'.join(self.choices)}）" if self.choices else "")
        if self.kind == "rows":
            return "每行一项，各栏用 | 分隔：" + "|".join(self.sub)
        return "文字"


def field_specs(model: type[FormBase]) -> list[FieldSpec]:
    specs = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        kind: Any = "text"
        choices: list[str] = []
        sub: list[str] = []
        base = _strip_optional(ann)
        origin = typing.get_origin(base)
        if base is dt.date:
            kind = "date"
        elif base is bool:
            kind = "bool"
        elif origin is Literal:
            kind = "choice"
            choices = [str(a) for a in typing.get_args(base)]
        elif origin is list:
            item = _strip_optional(typing.get_args(base)[0])
            if isinstance(item, type) and issubclass(item, BaseModel):
                kind = "rows"
                sub = [f.alias or n for n, f in item.model_fields.items()]
            else:
                kind = "list"
                if typing.get_origin(item) is Literal:
                    choices = [str(a) for a in typing.get_args(item)]
        specs.append(FieldSpec(name, info.alias or name, info.is_required(), kind, choices, sub))
    return specs


def _strip_optional(ann: Any) -> Any:
    # Annotated[...] -> its type; X | None -> X
    while typing.get_origin(ann) is typing.Annotated:
        ann = typing.get_args(ann)[0]
    args = typing.get_args(ann)
    if args and type(None) in args and typing.get_origin(ann) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _strip_optional(rest[0])
    return ann


# --------------------------------------------------------------------------- examples and templates


def example_form(kind: Kind | str) -> dict[str, Any]:
    """The shipped sample form of a kind (Chinese keys), valid as it is."""
    from guanai.generators.assets import sample_path

    k = get_kind(kind) if isinstance(kind, str) else kind
    data = yaml.safe_load(sample_path(k.id).read_text(encoding="utf-8"))
    return dict(data)


def _flat(value: Any, spec: FieldSpec) -> Any:
    """A form value as one Excel/CSV cell."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if spec.kind == "rows" and isinstance(value, list):
        lines = []
        for item in value:
            cells = ["" if item.get(a) is None else str(_flat(item.get(a), spec)) for a in spec.sub]
            lines.append("|".join(cells).rstrip("|"))
        return "\n".join(lines)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def form_template_bytes(kind: Kind | str, fmt: Literal["xlsx", "json", "yaml"]) -> bytes:
    from guanai.generators.assets import sample_path

    k = get_kind(kind) if isinstance(kind, str) else kind
    sample = example_form(k)
    if fmt == "yaml":
        return sample_path(k.id).read_bytes()
    if fmt == "json":
        return (json.dumps(sample, ensure_ascii=False, indent=2, default=_json_default) + "\n").encode("utf-8")
    return _excel_template(k, sample)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _combinations(choices: list[str]) -> list[str]:
    """Each non-empty combination of ``choices`` in their order, joined with 、 (fewest first);
    empty when an Excel list (255 characters at most) could not hold them."""
    from itertools import combinations

    out = ["、".join(c) for n in range(1, len(choices) + 1) for c in combinations(choices, n)]
    return out if len(",".join(out)) + 2 <= 255 else []


def _excel_template(k: Kind, sample: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    specs = field_specs(k.model)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET_NAME
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for col, spec in enumerate(specs, 1):
        c = ws.cell(row=1, column=col, value=spec.alias)
        c.font = Font(bold=True, name="宋体")
        c.comment = Comment(("必填。" if spec.required else "选填。") + spec.hint, "guanai")
        if spec.required:
            c.fill = required_fill
        value = _flat(sample.get(spec.alias), spec)
        ex = ws.cell(row=2, column=col, value=value)
        ex.number_format = "@"  # text: keeps phone numbers and 学籍号 intact
        ex.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[_column_letter(col)].width = max(10, min(40, len(spec.alias) * 2 + 4))
        choices = spec.choices if spec.kind == "choice" else (["是", "否"] if spec.kind == "bool" else [])
        if spec.kind == "list" and spec.choices:
            choices = _combinations(spec.choices)  # several of a few values (督查方式): every combination
        if choices:
            dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=not spec.required,
                                showErrorMessage=True, errorTitle="取值无效", error="请从下拉列表中选择：" + "、".join(choices))
            ws.add_data_validation(dv)
            letter = _column_letter(col)
            dv.add(f"{letter}2:{letter}{EXCEL_ROWS_WITH_DROPDOWNS}")
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("说明")
    notes.append(["字段", "必填", "填写说明"])
    for spec in specs:
        notes.append([spec.alias, "是" if spec.required else "否", spec.hint])
    notes.append([])
    notes.append([f"“{SHEET_NAME}”工作表每一行生成一份{k.name}；第 2 行是示例，可直接修改或删除。"])
    notes.column_dimensions["A"].width = 22
    notes.column_dimensions["C"].width = 60
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def is_template_example(kind: Kind | str, data: dict[str, Any]) -> bool:
    """Whether ``data`` is the example row of the Excel form template, left as it was."""
    k = get_kind(kind) if isinstance(kind, str) else kind
    sample = example_form(k)
    expected: dict[str, str] = {}
    for spec in field_specs(k.model):
        value = _flat(sample.get(spec.alias), spec)
        if value not in (None, ""):
            expected[spec.alias] = str(value).strip()
    given = {str(key).strip(): _cell_text(v) for key, v in data.items() if _cell_text(v)}
    return bool(expected) and given == expected


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").strip()


def write_form_template(kind: Kind | str, fmt: Literal["xlsx", "json", "yaml"], path: Path) -> None:
    atomic_write(Path(path), form_template_bytes(kind, fmt))


# --------------------------------------------------------------------------- interactive


def prompt_form(kind: Kind | str, ask: Callable[[str, bool], str], say: Callable[[str], None],
                defaults: dict[str, Any] | None = None, skip: Collection[str] = ()) -> dict[str, Any]:
    """Ask for every field; sub-tables one line per entry until an empty line.

    ``defaults`` (Chinese field name -> value, e.g. from the child's record) are shown in
    brackets and taken on an empty answer; fields in ``skip`` are not asked (filled elsewhere).
    An enumeration accepts exactly what its prompt shows ("1 / 2" takes 1 and 2).
    """
    k = get_kind(kind) if isinstance(kind, str) else kind
    defaults = defaults or {}
    data: dict[str, Any] = {}
    say(f"填写{k.name}（直接回车跳过选填项；方括号中是档案记录中的值，回车即采用）：")
    for spec in field_specs(k.model):
        if spec.alias in skip:
            continue
        default = defaults.get(spec.alias)
        shown = "" if default in (None, "", []) else str(_flat(default, spec))
        label = f"{spec.alias}（{'必填' if spec.required else '选填'}；{spec.hint}）"
        if spec.kind == "rows":
            say(label + "，空行结束：")
            lines: list[str] = []
            while True:
                line = ask(f"  {spec.alias} 第{len(lines) + 1}项", False).strip()
                if not line:
                    break
                lines.append(line)
            if lines:
                data[spec.alias] = "\n".join(lines)
            elif shown:
                data[spec.alias] = shown
            continue
        check = _field_checker(k, spec)
        if shown and "\n" not in shown:
            label += f" [{shown}]"
        while True:
            value = ask(label, spec.required and not shown).strip()
            if not value and shown:
                value = shown
            if not value or check(value):
                break
            # asked again at once: a typo must not cost the secretary every answer typed so far
            say(f"  “{value}”无效（{spec.alias}：{spec.hint}），请重新输入。")
        if value:
            data[spec.alias] = _choice_value(k, spec, value)
    return data


def _choice_value(k: Kind, spec: FieldSpec, value: str) -> Any:
    """An enumeration answer as the enumeration's own value (the text "1" as the number 1)."""
    if spec.kind != "choice":
        return value
    base = _strip_optional(k.model.model_fields[spec.name].annotation)
    for option in typing.get_args(base):
        if str(option) == value:
            return option
    return value


def _field_checker(k: Kind, spec: FieldSpec) -> Callable[[str], bool]:
    """Whether one answer is valid for its field on its own (types, choices, dates, lengths)."""
    from typing import Annotated

    from pydantic import TypeAdapter, ValidationError

    info = k.model.model_fields[spec.name]
    target: Any = Annotated.__class_getitem__((info.annotation, *info.metadata)) if info.metadata else info.annotation  # type: ignore[attr-defined]
    adapter: TypeAdapter[Any] = TypeAdapter(target)

    def check(value: str) -> bool:
        try:
            adapter.validate_python(_choice_value(k, spec, value))
        except ValidationError:
            return False
        return True

    return check


def describe_value(value: Any) -> str:
    if isinstance(value, dt.date):
        return cn_date(value)
    return str(value)
