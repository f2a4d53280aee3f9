"""The child record (一人一卡): a validated pydantic model with Chinese JSON keys.

JSON/YAML keys are the Chinese field names of the official 登记表 (aliases); English
attribute names are accepted as well (``populate_by_name``). Every validation message is
Chinese and names the field. ``parse_child`` turns all problems of one record into one
:class:`RecordError` listing every bad field.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Final, Literal, TypeVar, get_args

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
from guanai.care.inputs import DATE_HINT, check_text, field_problems, parse_yes_no, split_list, type_name
from guanai.care.inputs import parse_date as inputs_parse_date

_M = TypeVar("_M", bound=BaseModel)

# --- enumerations (the values the forms use) -------------------------------------------------

Gender = Literal["男", "女"]
Status = Literal["在册", "转出", "存档备查", "毕业"]
STATUSES: tuple[str, ...] = get_args(Status)
ParentState = Literal[
    "在家", "外出务工", "去世", "失踪", "服刑", "强制隔离戒毒", "重病", "重残", "其他", "不详",
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
    "未知": "不详", "不清楚": "不详", "未登记": "不详",
}
# 健康 / 残疾 / 患病 of the county 登记表, plus the 学籍系统's 一般或较弱 / 慢性病 / 生理缺陷, and
# 未登记: nothing is known (a roster without the column, an empty cell) -- absence of data must
# not become the claim "健康" on a card.
HEALTH_UNKNOWN: Final = "未登记"
HealthState = Literal["健康", "一般或较弱", "慢性病", "生理缺陷", "残疾", "患病", "未登记"]
HEALTH_STATES: tuple[str, ...] = get_args(HealthState)
DisabilityKind = Literal["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]
# 学籍系统 健康状况 values and other spellings of the health states.
HEALTH_SYNONYMS: dict[str, str] = {
    "健康或良好": "健康", "良好": "健康", "健康良好": "健康", "一般": "一般或较弱", "较弱": "一般或较弱",
    "有慢性病": "慢性病", "有生理缺陷": "生理缺陷", "残疾人": "残疾", "有残疾": "残疾", "疾病": "患病", "生病": "患病",
    "不详": "未登记", "未知": "未登记", "不清楚": "未登记", "无记录": "未登记",
}
# 学籍系统 是否留守儿童 values.
RegistryLeftBehind = Literal["非留守儿童", "单亲留守儿童", "双亲留守儿童"]
REGISTRY_LEFT_BEHIND: tuple[str, ...] = get_args(RegistryLeftBehind)
REGISTRY_SYNONYMS: dict[str, str] = {
    "非": "非留守儿童", "否": "非留守儿童", "不是": "非留守儿童", "非留守": "非留守儿童",
    "单亲": "单亲留守儿童", "单亲留守": "单亲留守儿童", "双亲": "双亲留守儿童", "双亲留守": "双亲留守儿童",
}
PLAN_AREAS: tuple[str, ...] = ("心理疏导", "学业辅导", "生活资助", "安全监管", "行为养成")
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

def _check_chars(value: str, allow_newline: bool) -> str:
    return check_text(value, multiline=allow_newline)


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


def _opt_yes_no(value: Any) -> Any:
    value = _empty_to_none(value)
    return None if value is None else parse_yes_no(value)


def _registry(value: Any) -> Any:
    value = _empty_to_none(_strip_text(value))
    if isinstance(value, str):
        return REGISTRY_SYNONYMS.get(value, value)
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

def parse_date(text: str) -> date:
    """A date as written on forms: 2012-03-05, 2012/3/5, 2012.3.5, 2012年3月5日, 20120305."""
    value = _date(text)
    if not isinstance(value, date):
        raise ValueError(f"日期格式不正确：{DATE_HINT}")
    return value


_date = inputs_parse_date
_yes_no = parse_yes_no
_split_list = split_list


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


class _Person(BaseModel):
    """A named adult of the family: 姓名, 关系, 电话, 身份证号."""

    model_config = _CONFIG

    name: Name = Field(alias="姓名")
    relation: OptShort = Field(None, alias="关系")
    phone: Phone = Field(None, alias="电话")
    id_number: IdNumber = Field(None, alias="身份证号")


class Carer(_Person):
    """监护人 / 委托照护人."""

    address: OptShort = Field(None, alias="住址")
    capacity: Annotated[CareCapacity | None, BeforeValidator(_empty_to_none)] = Field(None, alias="照护能力")


def _disability_kind(value: Any) -> Any:
    value = _empty_to_none(value)
    if isinstance(value, str):  # 学籍系统: 肢体残疾, 视力残疾, 多重残疾
        value = value.strip().removesuffix("残疾人").removesuffix("残疾") or None
    return value


class Health(BaseModel):
    """身体状况: 健康 / 残疾 (类别、等级) / 患病 (疾病名称, 是否重病); 未登记 when not given."""

    model_config = _CONFIG

    state: Annotated[HealthState, BeforeValidator(_health_state)] = Field(HEALTH_UNKNOWN, alias="状况")
    disability_kind: Annotated[DisabilityKind | None, BeforeValidator(_disability_kind)] = Field(
        None, alias="残疾类别")
    disability_grade: Annotated[DisabilityGrade | None, BeforeValidator(_empty_to_none)] = Field(
        None, alias="残疾等级")
    illness: OptShort = Field(None, alias="疾病名称")
    serious: Annotated[bool, BeforeValidator(_yes_no)] = Field(False, alias="是否重病")

    @model_validator(mode="after")
    def _consistent(self) -> Health:
        # the 学籍系统 records the kind (残疾人类型) but not always the grade: the grade may stay empty
        if self.state == "残疾" and self.disability_kind is None:
            raise ValueError("身体状况为“残疾”时须填写残疾类别和残疾等级")
        if self.state == "患病" and self.illness is None:
            raise ValueError("身体状况为“患病”时须填写疾病名称")
        detail = self.disability_kind or self.disability_grade or self.illness or self.serious
        if self.state == "健康" and detail:
            raise ValueError("身体状况为“健康”时不应填写残疾或疾病信息")
        if self.state == HEALTH_UNKNOWN and detail:
            raise ValueError("填写了残疾或疾病信息时须填写身体状况（残疾、患病等）")
        return self

    @property
    def severely_disabled(self) -> bool:
        return self.state == "残疾" and self.disability_grade in ("一级", "二级")

    @property
    def seriously_ill(self) -> bool:
        return self.state == "患病" and self.serious


def _health_state(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        return HEALTH_SYNONYMS.get(text, text) or HEALTH_UNKNOWN
    return value


def _health(value: Any) -> Any:
    # A roster cell or a bare string: "健康" / "残疾" / "患病" / 学籍系统 values.
    if isinstance(value, str):
        return {"状况": _health_state(value)}
    if value is None:
        return {}
    if isinstance(value, dict):
        key = "状况" if "状况" in value else "state"
        if key in value:
            return {**value, key: _health_state(value[key])}
    return value


def _default_health() -> Health:
    return Health.model_validate({})


class Member(_Person):
    """家庭成员 (as the 学籍系统 lists them: 姓名, 关系, 联系电话, 身份证件号, 是否监护人)."""

    guardian: Annotated[bool, BeforeValidator(_yes_no)] = Field(False, alias="是否监护人")


class CarePlan(BaseModel):
    """一策: the measures in the five areas the county plan names."""

    model_config = _CONFIG

    psych: OptFree = Field(None, alias="心理疏导")
    study: OptFree = Field(None, alias="学业辅导")
    living: OptFree = Field(None, alias="生活资助")
    safety: OptFree = Field(None, alias="安全监管")
    behaviour: OptFree = Field(None, alias="行为养成")

    def is_empty(self) -> bool:
        return not any((self.psych, self.study, self.living, self.safety, self.behaviour))


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
    village_informed: Annotated[date | None, BeforeValidator(_date)] = Field(None, alias="村(居)委会告知日期")
    health: Annotated[Health, BeforeValidator(_health)] = Field(default_factory=_default_health, alias="身体状况")
    boarding: Annotated[bool, BeforeValidator(_yes_no)] = Field(False, alias="是否寄宿")
    father: Parent | None = Field(None, alias="父亲")
    mother: Parent | None = Field(None, alias="母亲")
    guardian: Carer | None = Field(None, alias="监护人")
    entrusted_carer: Carer | None = Field(None, alias="委托照护人")
    family: Annotated[list[Member] | None, Field(max_length=LIST_MAX)] = Field(None, alias="其他家庭成员")
    registry_left_behind: Annotated[RegistryLeftBehind | None, BeforeValidator(_registry)] = Field(
        None, alias="学籍留守登记")
    registry_orphan: Annotated[bool | None, BeforeValidator(_opt_yes_no)] = Field(
        None, alias="学籍孤儿登记")
    hardship: Annotated[list[Hardship], BeforeValidator(_hardship), Field(max_length=LIST_MAX)] = Field(
        default_factory=list, alias="困境情形")
    mentor: OptName = Field(None, alias="帮扶教师")
    mentor_phone: Phone = Field(None, alias="帮扶教师电话")
    assistance: Annotated[list[ShortText], BeforeValidator(_split_list), Field(max_length=LIST_MAX)] = Field(
        default_factory=list, alias="救助帮扶")
    income_source: OptShort = Field(None, alias="家庭经济来源")
    needs: OptFree = Field(None, alias="需求评估")
    plan: CarePlan | None = Field(None, alias="一策")
    filed_date: Annotated[date | None, BeforeValidator(_date)] = Field(None, alias="建档日期")
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
            elif name in _DATES:
                value = date.fromisoformat(value)
            elif name == "family" and value is not None:
                value = [_construct(Member, m) for m in value]
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
                                        "guardian": Carer, "entrusted_carer": Carer, "plan": CarePlan}
_DATES = ("birth_date", "village_informed", "filed_date")
_TRUSTED: dict[type[BaseModel], tuple[dict[str, str], dict[str, Any], dict[str, Any]]] = {
    # model -> (key or alias -> field name, plain defaults, default factories)
    m: (_names(m),
        {n: f.default for n, f in m.model_fields.items() if f.default_factory is None},
        {n: f.default_factory for n, f in m.model_fields.items() if f.default_factory is not None})
    for m in (ChildRecord, Health, Parent, Carer, Member, CarePlan)
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


def parse_child(data: Any, source: str) -> ChildRecord:
    """Validate one record; every problem is listed in one RecordError naming ``source``."""
    if not isinstance(data, dict):
        raise RecordError(source, [f"内容应为一个儿童记录（键值对象），实际为{type_name(data)}"])
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
    for p in field_problems(err, ChildRecord):
        if cross_only and p.path:
            continue
        where = p.dotted()
        if not where:  # cross-field checks name their fields themselves, joined with "；"
            out.extend(p.reason.split("；"))
        else:
            out.append(f"{where}：{p.reason}")
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
    for m in record.family or []:
        values += [m.name, m.id_number, m.phone]
    values += [record.needs]
    if record.plan is not None:
        values += [record.plan.psych, record.plan.study, record.plan.living, record.plan.safety,
                   record.plan.behaviour]
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
    for m in record.family or []:
        text_parts += [m.name, m.relation or ""]
    text_parts.append(record.needs or "")
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
