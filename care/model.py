"""The child record (一人一卡): a validated pydantic model with Chinese JSON keys.

JSON/YAML keys are the Chinese field names of the official 登记表 (aliases); English
attribute names are accepted as well (``populate_by_name``). Every validation message is
Chinese and names the field. ``parse_child`` turns all problems of one record into one
:class:`RecordError` listing every bad field.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from guanai.base.errors import InputError, Problem
from guanai.care import ids

_M = TypeVar("_M", bound=BaseModel)

# --- enumerations (the values the forms use) -------------------------------------------------

Gender = Literal["男", "女"]
Status = Literal["在册", "转出", "存档备查", "毕业"]
STATUSES: tuple[str, ...] = get_args(Status)
ParentState = Literal[
    "在家", "外出务工", "去世", "失踪", "服刑", "强制隔离戒毒", "重病", "重残", "其他",
]
PARENT_STATES: tuple[str, ...] = get_args(ParentState)
# Parent states in which a parent cannot act as guardian (无监护能力).
NO_GUARDIAN_CAPACITY: frozenset[str] = frozenset({"去世", "失踪", "服刑", "强制隔离戒毒", "重病", "重残"})
# Other words for the parent states found in 登记表 and hand-made sheets.
PARENT_STATE_SYNONYMS: dict[str, str] = {
    "外出": "外出务工", "务工": "外出务工", "外出打工": "外出务工", "打工": "外出务工", "在外务工": "外出务工",
    "在家务农": "在家", "务农": "在家", "在家务工": "在家", "本地务工": "在家", "在本地": "在家", "在本地务工": "在家",
    "死亡": "去世", "已故": "去世", "病故": "去世", "已去世": "去世", "下落不明": "失踪", "在押": "服刑",
    "服刑在押": "服刑", "戒毒": "强制隔离戒毒", "患重病": "重病", "重度残疾": "重残",
}
HealthState = Literal["健康", "残疾", "患病"]
HEALTH_STATES: tuple[str, ...] = get_args(HealthState)
DisabilityKind = Literal["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]
DISABILITY_KINDS: tuple[str, ...] = get_args(DisabilityKind)
DisabilityGrade = Literal["一级", "二级", "三级", "四级"]
DISABILITY_GRADES: tuple[str, ...] = get_args(DisabilityGrade)
CareCapacity = Literal["良好", "一般", "较差", "无"]
CARE_CAPACITIES: tuple[str, ...] = get_args(CareCapacity)
Hardship = Literal[
    "孤儿", "事实无人抚养", "艾滋病病毒感染", "重残", "重病", "低保家庭", "建档立卡贫困户",
    "受监护人侵害", "流浪", "遭遇突发事件", "意外伤害",
]
HARDSHIPS: tuple[str, ...] = get_args(Hardship)
HARDSHIP_SYNONYMS: dict[str, str] = {
    "艾滋病": "艾滋病病毒感染", "艾滋病感染": "艾滋病病毒感染", "HIV感染": "艾滋病病毒感染",
    "低保": "低保家庭", "最低生活保障": "低保家庭", "建档立卡": "建档立卡贫困户",
    "建档立卡贫困": "建档立卡贫困户", "贫困户": "建档立卡贫困户", "突发事件": "遭遇突发事件",
    "流浪儿童": "流浪", "重残儿童": "重残", "重病儿童": "重病", "孤儿儿童": "孤儿",
    "受侵害": "受监护人侵害", "事实无人抚养儿童": "事实无人抚养",
}

ETHNIC_GROUPS: tuple[str, ...] = tuple(
    (
        "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 "
        "拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 "
        "塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
    ).split()
)
ETHNICITIES: tuple[str, ...] = tuple(g + "族" for g in ETHNIC_GROUPS) + ("其他",)

NAME_MAX = 50
SHORT_MAX = 200
FREE_MAX = 5000
LIST_MAX = 50

# Control characters (Cc), surrogates (Cs), private use (Co), and the invisible bidirectional
# overrides / zero-width characters that can disguise text (Trojan Source).
_FORBIDDEN_REST = (
    "\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\U000f0000-\U0010ffff"
    "\u202a-\u202e\u2066-\u2069\u200b\u200e\u200f\ufeff"
)
_BAD_ONE_LINE = re.compile("[\x00-\x1f" + _FORBIDDEN_REST + "]")
_BAD_MULTI_LINE = re.compile("[\x00-\x09\x0b-\x1f" + _FORBIDDEN_REST + "]")


def _check_chars(value: str, allow_newline: bool) -> str:
    m = (_BAD_MULTI_LINE if allow_newline else _BAD_ONE_LINE).search(value)
    if m is not None:
        ch = m.group(0)
        where = "换行" if ch in "\r\n" else f"U+{ord(ch):04X}"
        raise ValueError(f"含有不允许的控制字符（{where}，第{m.start() + 1}个字符）")
    return value


def _strip_text(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().replace("\u3000", " ").strip()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):  # e.g. a class number typed as a number in Excel
        return str(value)
    return value


def _strip_free(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return value


def check_one_line(value: str) -> str:
    """``value`` unchanged, or ValueError (Chinese) if it has characters a one-line text must not have."""
    return _check_chars(value, allow_newline=False)


_one_line = check_one_line


def _multi_line(value: str) -> str:
    return _check_chars(value, allow_newline=True)


def _empty_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _gender(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        return {"男性": "男", "女性": "女", "": None}.get(text, text)
    return value


def _parent_state(value: Any) -> Any:
    value = _strip_text(value)
    if isinstance(value, str):
        return PARENT_STATE_SYNONYMS.get(value, value)
    return value


Name = Annotated[str, BeforeValidator(_strip_text), Field(min_length=1, max_length=NAME_MAX),
                 AfterValidator(_one_line)]
ShortText = Annotated[str, BeforeValidator(_strip_text), Field(min_length=1, max_length=SHORT_MAX),
                      AfterValidator(_one_line)]
FreeText = Annotated[str, BeforeValidator(_strip_free), Field(min_length=1, max_length=FREE_MAX),
                     AfterValidator(_multi_line)]
Grade = Annotated[str, BeforeValidator(_strip_text), Field(min_length=1, max_length=20), AfterValidator(_one_line)]
# Optional variants: the outer validator turns blanks into None before the union is tried.
OptName = Annotated[Name | None, BeforeValidator(_empty_to_none)]
OptShort = Annotated[ShortText | None, BeforeValidator(_empty_to_none)]
OptFree = Annotated[FreeText | None, BeforeValidator(_empty_to_none)]
OptGrade = Annotated[Grade | None, BeforeValidator(_empty_to_none)]




def _id_number(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) == 18:
        value = str(value)  # an exact integer (YAML/JSON number); Excel floats are refused in care.roster
    if not isinstance(value, str):
        raise ValueError("应为文本（18位号码，Excel 中请把该列设为“文本”格式，以免丢失位数）")
    if len(value) > 40:
        raise ValueError("过长（应为18位）")
    return ids.parse_id_number(value).number


def _phone(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("应为文本")
    if len(value) > 40:
        raise ValueError("过长")
    return ids.normalize_phone(value)


IdNumber = Annotated[str | None, BeforeValidator(_id_number)]
Phone = Annotated[str | None, BeforeValidator(_phone)]

_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def parse_date(text: str) -> date:
    """A date as written on forms: 2012-03-05, 2012/3/5, 2012.3.5, 2012年3月5日, 20120305."""
    value = _date(text)
    if not isinstance(value, date):
        raise ValueError("日期格式应为 2012-03-05")
    return value


def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) > 40:
            raise ValueError("日期格式应为 2012-03-05")
        m = _DATE_RE.match(text)
        if m is None and len(text) == 8 and text.isdigit():
            m = re.match(r"(\d{4})(\d{2})(\d{2})", text)
        if m is None:
            raise ValueError(f"日期“{text}”格式应为 2012-03-05")
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise ValueError(f"“{text}”不是有效日期") from None
    return value


_TRUE = {"是", "寄宿", "住校", "true", "yes", "y", "1"}
_FALSE = {"否", "不是", "走读", "false", "no", "n", "0", ""}


def _yes_no(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"“{value[:20]}”应为 是 或 否")
    return value


_LIST_SPLIT = re.compile(r"[、,，;；/\n]+")


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [p.strip() for p in _LIST_SPLIT.split(value) if p.strip()]
    return value


def _hardship(value: Any) -> Any:
    value = _split_list(value)
    if isinstance(value, list):
        return [HARDSHIP_SYNONYMS.get(v.strip(), v.strip()) if isinstance(v, str) else v for v in value]
    return value


def _ethnicity(value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    if text in ETHNICITIES:
        return text
    if text in ETHNIC_GROUPS:
        return text + "族"
    raise ValueError(f"“{text[:20]}”不是56个民族之一（如 汉族、回族；其他请填“其他”）")


# --- models ---------------------------------------------------------------------------------

_CONFIG = ConfigDict(populate_by_name=True, extra="forbid", str_max_length=FREE_MAX)

_WORK_RE = re.compile(r"^(?:外出务工|在外务工|外出打工|外出|务工|打工)\s*[（(:：\-—]\s*(.+?)\s*[)）]?$")


class Parent(BaseModel):
    """父亲 / 母亲."""

    model_config = _CONFIG

    name: OptName = Field(None, alias="姓名")
    id_number: IdNumber = Field(None, alias="身份证号")
    phone: Phone = Field(None, alias="电话")
    state: Annotated[ParentState, BeforeValidator(_parent_state)] = Field("在家", alias="状况")
    workplace: OptShort = Field(None, alias="务工地")

    @model_validator(mode="before")
    @classmethod
    def _split_workplace(cls, data: Any) -> Any:
        # "外出务工（上海）" in a roster cell carries the workplace too.
        if isinstance(data, dict):
            key = "状况" if "状况" in data else "state"
            state = data.get(key)
            if isinstance(state, str):
                m = _WORK_RE.match(state.strip())
                if m:
                    data = {**data, key: "外出务工"}
                    wkey = "务工地" if key == "状况" else "workplace"
                    data.setdefault(wkey, m.group(1))
        return data


class Carer(BaseModel):
    """监护人 / 委托照护人."""

    model_config = _CONFIG

    name: Name = Field(alias="姓名")
    relation: OptShort = Field(None, alias="关系")
    phone: Phone = Field(None, alias="电话")
    id_number: IdNumber = Field(None, alias="身份证号")
    address: OptShort = Field(None, alias="住址")
    capacity: Annotated[CareCapacity | None, BeforeValidator(_empty_to_none)] = Field(None, alias="照护能力")


class Health(BaseModel):
    """身体状况: 健康 / 残疾 (类别、等级) / 患病 (疾病名称, 是否重病)."""

    model_config = _CONFIG

    state: HealthState = Field("健康", alias="状况")
    disability_kind: Annotated[DisabilityKind | None, BeforeValidator(_empty_to_none)] = Field(None, alias="残疾类别")
    disability_grade: Annotated[DisabilityGrade | None, BeforeValidator(_empty_to_none)] = Field(
        None, alias="残疾等级")
    illness: OptShort = Field(None, alias="疾病名称")
    serious: Annotated[bool, BeforeValidator(_yes_no)] = Field(False, alias="是否重病")

    @model_validator(mode="after")
    def _consistent(self) -> Health:
        if self.state == "残疾" and (self.disability_kind is None or self.disability_grade is None):
            raise ValueError("身体状况为“残疾”时须填写残疾类别和残疾等级")
        if self.state == "患病" and self.illness is None:
            raise ValueError("身体状况为“患病”时须填写疾病名称")
        if self.state == "健康" and (self.disability_kind or self.disability_grade or self.illness or self.serious):
            raise ValueError("身体状况为“健康”时不应填写残疾或疾病信息")
        return self

    @property
    def severely_disabled(self) -> bool:
        return self.state == "残疾" and self.disability_grade in ("一级", "二级")

    @property
    def seriously_ill(self) -> bool:
        return self.state == "患病" and self.serious


def _health(value: Any) -> Any:
    # A roster cell or a bare string: "健康" / "残疾" / "患病".
    if isinstance(value, str):
        return {"状况": value.strip() or "健康"}
    if value is None:
        return {}
    return value


def _default_health() -> Health:
    return Health.model_validate({})


class ChildRecord(BaseModel):
    """One child's record (登记表 + 一人一卡)."""

    model_config = _CONFIG

    name: Name = Field(alias="姓名")
    gender: Annotated[Gender | None, BeforeValidator(_gender)] = Field(None, alias="性别")
    ethnicity: Annotated[str | None, BeforeValidator(_ethnicity)] = Field(None, alias="民族")
    id_number: IdNumber = Field(None, alias="身份证号")
    student_id: str = Field(alias="学籍号")
    birth_date: Annotated[date | None, BeforeValidator(_date)] = Field(None, alias="出生日期")
    school: ShortText = Field(alias="学校")
    grade: Grade = Field(alias="年级")
    class_name: OptGrade = Field(None, alias="班级")
    household_address: OptShort = Field(None, alias="户籍地")
    residence: OptShort = Field(None, alias="现居住地")
    village_committee: OptShort = Field(None, alias="村(居)委会")
    health: Annotated[Health, BeforeValidator(_health)] = Field(default_factory=_default_health, alias="身体状况")
    boarding: Annotated[bool, BeforeValidator(_yes_no)] = Field(False, alias="是否寄宿")
    father: Parent | None = Field(None, alias="父亲")
    mother: Parent | None = Field(None, alias="母亲")
    guardian: Carer | None = Field(None, alias="监护人")
    entrusted_carer: Carer | None = Field(None, alias="委托照护人")
    hardship: Annotated[list[Hardship], BeforeValidator(_hardship), Field(max_length=LIST_MAX)] = Field(
        default_factory=list, alias="困境情形")
    mentor: OptName = Field(None, alias="帮扶教师")
    mentor_phone: Phone = Field(None, alias="帮扶教师电话")
    assistance: Annotated[list[ShortText], BeforeValidator(_split_list), Field(max_length=LIST_MAX)] = Field(
        default_factory=list, alias="救助帮扶")
    income_source: OptShort = Field(None, alias="家庭经济来源")
    status: Annotated[Status, BeforeValidator(_strip_text)] = Field("在册", alias="状态")
    notes: OptFree = Field(None, alias="备注")

    @field_validator("student_id", mode="before")
    @classmethod
    def _student_id(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("应为文本（如 G341322201203050012）")
        if len(value) > 40:
            raise ValueError("过长（应为19位）")
        return ids.parse_student_id(value).number

    @field_validator("hardship", mode="after")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _cross_checks(self) -> ChildRecord:
        problems: list[str] = []
        sid = ids.parse_student_id(self.student_id)
        births: list[tuple[str, date]] = []
        males: list[tuple[str, bool]] = []
        if self.id_number:
            info = ids.parse_id_number(self.id_number)
            births.append(("身份证号", info.birth))
            males.append(("身份证号", info.male))
        births.append(("学籍号", sid.birth))
        if sid.male is not None:
            males.append(("学籍号", sid.male))
        if sid.form == "G" and self.id_number and sid.id_number != self.id_number:
            problems.append("学籍号：G 字头学籍号中的身份证号与“身份证号”不一致")
        if self.birth_date is not None:
            for what, b in births:
                if b != self.birth_date:
                    problems.append(f"出生日期：{self.birth_date.isoformat()} 与{what}中的 {b.isoformat()} 不一致")
            if self.birth_date > date.today():
                problems.append("出生日期：晚于今天")
        else:
            first = births[0][1]
            for what, b in births[1:]:
                if b != first:
                    problems.append(f"出生日期：{births[0][0]}与{what}中的出生日期不一致")
            self.birth_date = first
        if self.gender is not None:
            for what, male in males:
                if (self.gender == "男") != male:
                    problems.append(f"性别：填写为“{self.gender}”，但{what}表明为“{'男' if male else '女'}”")
        elif males:
            self.gender = "男" if males[0][1] else "女"
        else:
            problems.append("性别：必须填写（临时学籍号且无身份证号时无法推算）")
        if problems:
            raise ValueError("；".join(problems))
        return self

    # --- conveniences ------------------------------------------------------------------------

    @classmethod
    def from_trusted(cls, data: dict[str, Any]) -> ChildRecord:
        """Rebuild a record from ``to_json_dict()`` output that was validated before it was sealed.

        No validation (about 10x faster than ``model_validate``): only for data whose integrity
        is authenticated (an AEAD-sealed record of the archive). Anything else goes through
        ``parse_child``. Unknown keys raise ``KeyError``: a newer record layout must not be
        half-read silently.
        """
        names = _TRUSTED[ChildRecord][0]
        fields: dict[str, Any] = {}
        for key, value in data.items():
            name = names[key]
            if name in _NESTED:
                value = _construct(_NESTED[name], value)
            elif name == "birth_date":
                value = date.fromisoformat(value)
            elif name in ("hardship", "assistance"):
                value = list(value)
            fields[name] = value
        return _build(cls, fields)

    def to_json_dict(self) -> dict[str, Any]:
        """Chinese keys, JSON-safe values, empty optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def age_on(self, on: date) -> int:
        """Full years (周岁) on a date, counted from the day after the birthday (see care.rules)."""
        from guanai.care.rules import full_years

        assert self.birth_date is not None
        return full_years(self.birth_date, on)


def _names(model: type[BaseModel]) -> dict[str, str]:
    out: dict[str, str] = {}
    for fname, finfo in model.model_fields.items():
        out[finfo.alias or fname] = fname
        out[fname] = fname
    return out


_NESTED: dict[str, type[BaseModel]] = {"health": Health, "father": Parent, "mother": Parent,
                                        "guardian": Carer, "entrusted_carer": Carer}
_TRUSTED: dict[type[BaseModel], tuple[dict[str, str], dict[str, Any], dict[str, Any]]] = {
    # model -> (key or alias -> field name, plain defaults, default factories)
    m: (_names(m),
        {n: f.default for n, f in m.model_fields.items() if f.default_factory is None},
        {n: f.default_factory for n, f in m.model_fields.items() if f.default_factory is not None})
    for m in (ChildRecord, Health, Parent, Carer)
}


def _build(model: type[_M], values: dict[str, Any]) -> _M:
    """What ``model_construct`` does, without its per-field overhead (values are already complete)."""
    obj = model.__new__(model)
    _, defaults, factories = _TRUSTED[model]
    given = set(values)
    full = {**defaults, **{n: f() for n, f in factories.items() if n not in given}, **values}
    object.__setattr__(obj, "__dict__", full)
    object.__setattr__(obj, "__pydantic_fields_set__", given)
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def to_aliases(data: dict[str, Any]) -> dict[str, Any]:
    """A record dict with English field names replaced by the Chinese keys (for merging patches)."""
    return _to_aliases(ChildRecord, data)


def _to_aliases(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        finfo = model.model_fields.get(key) if isinstance(key, str) else None
        alias = finfo.alias if finfo is not None and finfo.alias else key
        fname = _TRUSTED[model][0].get(alias) if isinstance(alias, str) else None
        sub = _NESTED.get(fname or "") if model is ChildRecord else None
        out[alias] = _to_aliases(sub, value) if sub is not None and isinstance(value, dict) else value
    return out


def _construct(model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    names = _TRUSTED[model][0]
    return _build(model, {names[k]: v for k, v in data.items()})


# --- errors ---------------------------------------------------------------------------------


class RecordError(InputError):
    """A record failed validation; ``problems`` lists every bad field (Chinese)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.messages = problems  # "字段：原因" lines, as a roster row shows them
        super().__init__(
            f"{source}：儿童记录有 {len(problems)} 处错误",
            "按下面的说明修改后重试；全部字段与示例见 guanai child template --yaml -o 示例.yaml",
            [record_problem(source, text) for text in problems],
        )


def record_problem(source: str, text: str) -> Problem:
    """A translated "字段：原因" line as a Problem located at ``source`` and the field."""
    field, sep, reason = text.partition("：")
    if sep and field and "（" not in field and len(field) <= 40:
        return Problem(f"{source} {field}", reason, code="record.invalid")
    return Problem(source, text, code="record.invalid")


_FIELD_LABELS: dict[str, str] = {}
for _model in (ChildRecord, Parent, Carer, Health):
    for _fname, _finfo in _model.model_fields.items():
        if _finfo.alias:
            _FIELD_LABELS[_fname] = _finfo.alias


def _loc_label(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item + 1}]")
        elif item in ("function-after[_id_number()]",) or item.startswith(("function-", "literal[")):
            continue
        else:
            label = _FIELD_LABELS.get(item, item)
            parts.append(("." if parts else "") + label)
    return "".join(parts)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 20 else text[:20] + "…"


def translate_error(err: Any) -> str:
    """One pydantic error dict -> a Chinese line naming the field."""
    etype = err.get("type", "")
    ctx = err.get("ctx") or {}
    where = _loc_label(tuple(err.get("loc", ())))
    inp = err.get("input")
    if etype == "missing":
        msg = "必须填写"
    elif etype == "extra_forbidden":
        msg = "不是已知字段（请检查字段名拼写）"
    elif etype == "string_unicode":
        msg = "含有不允许的控制字符（无效的 Unicode 代理字符）"
    elif etype == "string_type":
        msg = "应为文本"
    elif etype in ("string_too_long", "too_long") and isinstance(inp, str):
        msg = f"过长（最多 {ctx.get('max_length')} 个字符，现为 {len(inp)} 个）"
    elif etype in ("string_too_short", "too_short"):
        msg = "不能为空"
    elif etype == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ").replace(", ", "、")
        msg = f"取值“{_short(inp)}”无效，可选：{expected}"
    elif etype.startswith("bool"):
        msg = "应为 是 或 否"
    elif etype.startswith("date") or etype.startswith("datetime"):
        msg = "日期格式应为 2012-03-05"
    elif etype == "list_type":
        msg = "应为列表"
    elif etype in ("model_type", "dict_type", "model_attributes_type"):
        msg = "应为对象（键值对）"
    elif etype == "too_long":
        msg = f"项数过多（最多 {ctx.get('max_length')} 项）"
    elif etype == "value_error":
        msg = str(ctx.get("error", err.get("msg", "")))
        if not where and "：" in msg:
            return msg  # cross-field checks name their fields themselves
    else:
        msg = f"取值无效（{etype}）"
    return f"{where}：{msg}" if where else msg


def _type_name(value: Any) -> str:
    names = {list: "列表", str: "文本", int: "整数", float: "小数", bool: "是/否", type(None): "空值", dict: "对象"}
    return names.get(type(value), type(value).__name__)


def parse_child(data: Any, source: str) -> ChildRecord:
    """Validate one record; every problem is listed in one RecordError naming ``source``."""
    if not isinstance(data, dict):
        raise RecordError(source, [f"内容应为一个儿童记录（键值对象），实际为{_type_name(data)}"])
    try:
        return ChildRecord.model_validate(data)
    except ValidationError as err:
        problems = _problems(err)
    # Cross-field checks (birth date / gender against the numbers) run only once every field is
    # valid; check the identity fields alone so that those problems are listed in this round too.
    identity = {k: data[k] for k in ("学籍号", "身份证号", "出生日期", "性别") if k in data}
    try:
        ChildRecord.model_validate({"姓名": "核对", "学校": "核对", "年级": "核对", **identity})
    except ValidationError as err:
        problems += [p for p in _problems(err, cross_only=True) if p not in problems]
    raise RecordError(source, problems) from None


def _problems(err: ValidationError, cross_only: bool = False) -> list[str]:
    out: list[str] = []
    for e in err.errors(include_url=False):
        if cross_only and e.get("loc"):
            continue
        line = translate_error(e)
        out.extend(line.split("；") if "；" in line and not e.get("loc") else [line])
    return out


# --- values for scans and the search index -------------------------------------------------


def _people(record: ChildRecord) -> list[Parent | Carer]:
    return [p for p in (record.father, record.mother, record.guardian, record.entrusted_carer) if p]


def personal_values(record: ChildRecord) -> list[str]:
    """Distinctive personal strings of a record (names, numbers, phones, addresses, conditions)."""
    values: list[str | None] = [record.name, record.student_id, record.id_number, record.household_address,
                                record.residence, record.mentor_phone, record.notes, record.income_source]
    for p in _people(record):
        values += [p.name, p.id_number, p.phone]
        if isinstance(p, Carer):
            values.append(p.address)
        else:
            values.append(p.workplace)
    values += [h for h in record.hardship if len(h) >= 3]
    values.append(record.health.illness)
    out: list[str] = []
    for v in values:
        if v and len(v) >= 2 and v not in out:
            out.append(v)
    return out


def search_fields(record: ChildRecord) -> dict[str, str]:
    """Text to index for a child: exact fields (name, numbers) and one free-text field ``text``."""
    text_parts: list[str] = [
        record.name, record.school, record.grade, record.class_name or "",
        record.household_address or "", record.residence or "", record.village_committee or "",
        record.ethnicity or "", record.health.state, record.health.illness or "",
        record.health.disability_kind or "", " ".join(record.hardship), record.mentor or "",
        " ".join(record.assistance), record.income_source or "", record.notes or "",
    ]
    for role, p in (("父亲", record.father), ("母亲", record.mother)):
        if p:
            text_parts += [role, p.name or "", p.state, p.workplace or ""]
    for role, c in (("监护人", record.guardian), ("委托照护人", record.entrusted_carer)):
        if c:
            text_parts += [role, c.name, c.relation or "", c.address or ""]
    return {
        "name": record.name,
        "student_id": record.student_id,
        "id_number": record.id_number or "",
        "school": record.school,
        "grade": record.grade,
        "class_name": record.class_name or "",
        "status": record.status,
        "text": " ".join(p for p in text_parts if p),
    }
