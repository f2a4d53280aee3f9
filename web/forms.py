"""HTML form ⇄ library data: field layouts for the child record and the document kinds.

Only shaping of values (names, nesting, empty → absent); every check is the library's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from guanai.care import model as cm


@dataclass(frozen=True)
class ChildField:
    path: str  # "姓名", "父亲.状况"
    label: str
    kind: str = "text"  # text | date | choice | multi | bool | textarea
    choices: tuple[str, ...] = ()
    required: bool = False
    hint: str = ""


def _parent(who: str) -> list[ChildField]:
    return [ChildField(f"{who}.姓名", "姓名"), ChildField(f"{who}.状况", "状况", "choice", cm.PARENT_STATES),
            ChildField(f"{who}.务工地", "务工地", hint="外出务工时填写"), ChildField(f"{who}.电话", "电话")]


CHILD_SECTIONS: list[tuple[str, list[ChildField]]] = [
    ("基本信息", [
        ChildField("姓名", "姓名", required=True),
        ChildField("学籍号", "学籍号", required=True, hint="G/J 加 18 位身份证号，或 L 字头临时学籍号"),
        ChildField("身份证号", "身份证号"),
        ChildField("性别", "性别", "choice", ("男", "女"), hint="有身份证号时自动推算"),
        ChildField("出生日期", "出生日期", "date"),
        ChildField("民族", "民族", "choice", cm.ETHNICITIES),
        ChildField("学校", "学校", required=True),
        ChildField("年级", "年级", required=True, hint="如 六年级"),
        ChildField("班级", "班级", hint="如 2班"),
        ChildField("是否寄宿", "是否寄宿", "bool"),
    ]),
    ("住址", [
        ChildField("户籍地", "户籍地"), ChildField("现居住地", "现居住地"),
        ChildField("村(居)委会", "村(居)委会"),
    ]),
    ("父亲", _parent("父亲")),
    ("母亲", _parent("母亲")),
    ("监护人", [ChildField("监护人.姓名", "姓名"), ChildField("监护人.关系", "关系"),
              ChildField("监护人.电话", "电话"),
              ChildField("监护人.照护能力", "照护能力", "choice", cm.CARE_CAPACITIES)]),
    ("身体状况", [
        ChildField("身体状况.状况", "状况", "choice", cm.HEALTH_STATES),
        ChildField("身体状况.残疾类别", "残疾类别", "choice", cm.DISABILITY_KINDS),
        ChildField("身体状况.残疾等级", "残疾等级", "choice", cm.DISABILITY_GRADES),
        ChildField("身体状况.疾病名称", "疾病名称"),
        ChildField("身体状况.是否重病", "是否重病", "bool"),
    ]),
    ("困境与帮扶", [
        ChildField("困境情形", "困境情形", "multi", cm.HARDSHIPS),
        ChildField("帮扶教师", "帮扶教师"), ChildField("帮扶教师电话", "帮扶教师电话"),
        ChildField("救助帮扶", "救助帮扶", hint="多项用顿号“、”分隔"),
        ChildField("家庭经济来源", "家庭经济来源"),
        ChildField("备注", "备注", "textarea"),
    ]),
]
CHILD_FIELDS = {f.path: f for _, fs in CHILD_SECTIONS for f in fs}


def child_data(form: FormData) -> dict[str, Any]:
    """The posted child form as a record dict (Chinese keys, nested; empty fields left out)."""
    data: dict[str, Any] = {}
    for path, f in CHILD_FIELDS.items():
        if f.kind == "multi":
            values = [str(v) for v in form.getlist(path) if str(v).strip()]
            if values:
                data[path] = values
            continue
        value = str(form.get(path) or "")
        if f.kind != "textarea":
            value = value.strip()
        if not value:
            continue
        if f.kind == "bool":
            value_b: Any = value == "是"
            _put(data, path, value_b)
        else:
            _put(data, path, value)
    return data


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if rest:
        data.setdefault(head, {})[rest] = value
    else:
        data[head] = value


def child_values(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record (``to_json_dict``) as form values keyed by path."""
    out: dict[str, Any] = {}
    for path, f in CHILD_FIELDS.items():
        head, _, rest = path.partition(".")
        v = record.get(head)
        if rest:
            v = v.get(rest) if isinstance(v, dict) else None
        if v is None:
            continue
        if f.kind == "bool":
            out[path] = "是" if v else "否"
        elif f.kind == "multi":
            out[path] = list(v)
        elif isinstance(v, list):
            out[path] = "、".join(str(x) for x in v)
        else:
            out[path] = str(v)
    return out


def field_errors(problems: list[str], known: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Split library problem lines ("父亲.状况：……") into per-field messages and the rest."""
    per: dict[str, list[str]] = {}
    rest: list[str] = []
    for p in problems:
        head, sep, msg = p.partition("：")
        key = re.sub(r"\[\d+\]", "", head.strip())
        if sep and key in known:
            per.setdefault(key, []).append(msg)
        elif sep and key.split(".")[0] in known:
            per.setdefault(key.split(".")[0], []).append(msg)
        else:
            rest.append(p)
    return per, rest


# ---- document forms ---------------------------------------------------------------------------


def doc_data(specs: list[Any], subs: dict[str, list[Any]], form: FormData) -> dict[str, Any]:
    """A posted document form as the kind's form dict (aliases; rows as lists of dicts)."""
    data: dict[str, Any] = {}
    for spec in specs:
        name = spec.alias
        if spec.kind == "rows":
            rows: dict[int, dict[str, Any]] = {}
            pattern = re.compile(re.escape(name) + r"\.(\d{1,3})\.(.+)$")
            for key in form.keys():
                m = pattern.match(key)
                if not m:
                    continue
                value = str(form.get(key) or "").strip()
                if value:
                    rows.setdefault(int(m.group(1)), {})[m.group(2)] = value
            if rows:
                data[name] = [rows[i] for i in sorted(rows)]
        elif spec.kind == "list" and spec.choices:
            values = [str(v) for v in form.getlist(name) if str(v).strip()]
            if values:
                data[name] = values
        else:
            value = str(form.get(name) or "").strip()
            if value:
                data[name] = value
    return data


def doc_values(specs: list[Any], data: dict[str, Any]) -> dict[str, Any]:
    """Form values (aliases → display strings; rows stay lists of dicts) from prefill data."""
    import datetime as dt

    out: dict[str, Any] = {}
    for spec in specs:
        v = data.get(spec.alias, data.get(spec.name))
        if v is None:
            continue
        if spec.kind == "rows":
            out[spec.alias] = [{k: _show(x) for k, x in row.items()} for row in v if isinstance(row, dict)]
        elif spec.kind == "list" and spec.choices:
            out[spec.alias] = [str(x) for x in v] if isinstance(v, list) else [str(v)]
        elif isinstance(v, list):
            out[spec.alias] = "、".join(str(x) for x in v)
        elif isinstance(v, bool):
            out[spec.alias] = "是" if v else "否"
        elif isinstance(v, dt.date):
            out[spec.alias] = v.isoformat()
        else:
            out[spec.alias] = str(v)
    return out


def _show(v: Any) -> str:
    import datetime as dt

    if isinstance(v, dt.date):
        return v.isoformat()
    return "" if v is None else str(v)


def doc_errors(problems: list[Any]) -> tuple[dict[str, list[str]], list[str]]:
    """FormError problems by top-level field alias ("跟踪记录 › 第2项 › 日期" → 跟踪记录)."""
    per: dict[str, list[str]] = {}
    rest: list[str] = []
    for p in problems:
        top = (p.field or "").split(" › ")[0]
        if top:
            detail = " › ".join((p.field or "").split(" › ")[1:])
            per.setdefault(top, []).append((detail + "：" if detail else "") + p.reason)
        else:
            rest.append(p.reason)
    return per, rest


def is_long(model: Any, name: str) -> bool:
    """A free-text field long enough for a textarea (its max_length exceeds one line)."""
    info = model.model_fields.get(name)
    if info is None:
        return False
    for m in getattr(info, "metadata", []):
        n = getattr(m, "max_length", None)
        if n is not None and n > 200:
            return True
    return False
