"""Form models: one pydantic model per document kind.

Forms are filled by secretaries in Chinese, so every field has a Chinese alias (the key used in
JSON/YAML, the column header in Excel/CSV); the English names are the template variables.
Validation errors become :class:`FormError` with a Chinese reason naming file, row, column, field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from guanai.base.errors import InputError, Problem
from guanai.base.text import strip_invisible

# ---------------------------------------------------------------------------------------------
# value normalisation

# C0/C1 control characters except \n; docxtpl would turn \t \a \f into tab/paragraph/page break
# and Word refuses most others inside XML, so they are replaced before anything is rendered.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
SHORT_MAX = 200
LONG_MAX = 5000


def normalise_text(value: str, *, multiline: bool = True) -> str:
    """Remove control characters; keep line breaks only where the field allows them."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\t", " ").replace("\a", "\n").replace("\f", "\n").replace("\v", "\n")
    value = strip_invisible(_CONTROL.sub("", value))  # RLO, U+034F, U+3164 … (guanai.base.text)
    if not multiline:
        value = " ".join(part.strip() for part in value.split("\n") if part.strip())
    else:
        value = "\n".join(line.rstrip() for line in value.split("\n")).strip("\n")
    return value.strip()


# 避免标签化: the words that label a child, and what may hide them inside a text ("留 守",
# "留\u200b守"); line breaks are kept, so the end of one line and the start of the next do not
# make a word by accident.
LABELS: tuple[str, ...] = ("留守", "困境")
_LABEL_GAPS = re.compile(r"[ \t\u00a0\u00ad\u2000-\u200f\u202f\u205f\u2060\u3000\ufeff]+")


def find_labels(text: str) -> list[str]:
    """The labelling words (留守, 困境) found in ``text``, ignoring spaces and invisible characters."""
    bare = _LABEL_GAPS.sub("", strip_invisible(text))
    return [w for w in LABELS if w in bare]


def _to_str(value: Any, multiline: bool) -> Any:
    if value is None:
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel gives 13800000000.0 for a phone number
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, dt.datetime | dt.date):
        return cn_date(value)
    if isinstance(value, str):
        return normalise_text(value, multiline=multiline)
    return value


Short = Annotated[
    str,
    BeforeValidator(lambda v: _to_str(v, False)),
    StringConstraints(max_length=SHORT_MAX),
]
Long = Annotated[
    str,
    BeforeValidator(lambda v: _to_str(v, True)),
    StringConstraints(max_length=LONG_MAX),
]
Required = Annotated[
    str,
    BeforeValidator(lambda v: _to_str(v, False)),
    StringConstraints(min_length=1, max_length=SHORT_MAX),
]
RequiredLong = Annotated[
    str,
    BeforeValidator(lambda v: _to_str(v, True)),
    StringConstraints(min_length=1, max_length=LONG_MAX),
]


_DATE_PATTERNS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


def parse_date(value: Any) -> Any:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        text = text.split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2} \d", text) else text
        for pat in _DATE_PATTERNS:
            m = pat.match(text)
            if m:
                try:
                    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    raise ValueError(f"日期“{text}”不存在") from None
    raise ValueError(f"日期“{value}”格式不正确，应写作 2020-04-20 或 2020年4月20日")


def cn_date(value: dt.date | dt.datetime) -> str:
    """2020年4月20日 — Arabic numerals without padding (GB/T 9704 成文日期)."""
    return f"{value.year}年{value.month}月{value.day}日"


Date = Annotated[dt.date, BeforeValidator(parse_date)]


def parse_bool(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    if text in {"是", "已", "已告知", "y", "yes", "true", "1", "√"}:
        return True
    if text in {"否", "未", "未告知", "n", "no", "false", "0", "×", ""}:
        return False
    raise ValueError(f"“{value}”应为“是”或“否”")


YesNo = Annotated[bool, BeforeValidator(parse_bool)]

_LIST_SPLIT = re.compile(r"[、,，;；\n]+")


def split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [p.strip() for p in _LIST_SPLIT.split(value) if p.strip()]
    return value


StrList = Annotated[list[Short], BeforeValidator(split_list)]


def rows_from_text(model: type[BaseModel]) -> Any:
    """Sub-tables in one cell (Excel/CSV/prompt): one entry per line, columns split by | or ｜."""

    aliases = [f.alias or name for name, f in model.model_fields.items()]

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        rows = []
        for line in value.replace("\r\n", "\n").split("\n"):
            if not line.strip():
                continue
            cells = [c.strip() for c in re.split(r"[|｜]", line)]
            if len(cells) > len(aliases):
                raise ValueError(
                    f"“{line.strip()}”有 {len(cells)} 栏，最多 {len(aliases)} 栏（{'｜'.join(aliases)}）"
                )
            rows.append({a: c for a, c in zip(aliases, cells, strict=False) if c})
        return rows

    return BeforeValidator(convert)


# ---------------------------------------------------------------------------------------------
# base


class FormBase(BaseModel):
    """Base of every form: Chinese aliases, no unknown fields, strings stripped."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", str_strip_whitespace=True)

    # words that label a child; documents for families or posted must not contain them
    LABELS: ClassVar[tuple[str, ...]] = LABELS

    def context(self) -> dict[str, Any]:
        """Template context: dates as 2020年4月20日, booleans as 是/否, None as ''."""
        ctx = {name: _ctx_value(getattr(self, name)) for name in type(self).model_fields}
        ctx.update(self.extra_context())
        return ctx

    def extra_context(self) -> dict[str, Any]:
        return {}

    def title(self) -> str:
        return str(getattr(self, "doc_title", "") or "")

    def child_name(self) -> str | None:
        return getattr(self, "name", None) or getattr(self, "child_name", None)

    def student_id_value(self) -> str | None:
        return getattr(self, "student_id", None) or None

    def doc_date(self) -> dt.date | None:
        return None

    def to_form_dict(self) -> dict[str, Any]:
        """Chinese-keyed, JSON-safe copy (what is stored with the document)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _ctx_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return cn_date(value)
    if isinstance(value, BaseModel):
        return {k: _ctx_value(getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, list):
        return [_ctx_value(v) for v in value]
    return value


AREAS = ("心理疏导", "学业辅导", "生活资助", "安全监管", "行为养成")
Area = Literal["心理疏导", "学业辅导", "生活资助", "安全监管", "行为养成"]
Gender = Literal["男", "女"]


class Person(FormBase):
    name: Required = Field(alias="姓名")
    post: Short = Field("", alias="职务")


# ---------------------------------------------------------------------------------------------
# 1. child-card


class FollowUp(FormBase):
    date: Date = Field(alias="日期")
    area: Area = Field(alias="方面")
    content: RequiredLong = Field(alias="内容")
    recorder: Short = Field("", alias="记录人")


class ChildCard(FormBase):
    school: Required = Field(alias="学校")
    name: Required = Field(alias="姓名")
    gender: Gender = Field(alias="性别")
    birth_date: Date | None = Field(None, alias="出生日期")
    student_id: Short = Field("", alias="学籍号")
    id_number: Short = Field("", alias="身份证号")
    grade: Short = Field("", alias="年级")
    class_name: Short = Field("", alias="班级")
    address: Short = Field("", alias="家庭住址")
    village: Short = Field("", alias="户籍所在村（居）")
    guardian: Short = Field("", alias="监护人")
    guardian_relation: Short = Field("", alias="监护人关系")
    guardian_phone: Short = Field("", alias="监护人电话")
    father: Short = Field("", alias="父亲情况")
    mother: Short = Field("", alias="母亲情况")
    categories: StrList = Field(default_factory=list, alias="类别")
    reasons: Long = Field("", alias="认定理由")
    mentor: Required = Field(alias="帮扶教师")
    mentor_phone: Short = Field("", alias="帮扶教师电话")
    needs: Long = Field("", alias="需求评估")
    plan_psych: Long = Field("", alias="心理疏导")
    plan_study: Long = Field("", alias="学业辅导")
    plan_living: Long = Field("", alias="生活资助")
    plan_safety: Long = Field("", alias="安全监管")
    plan_behaviour: Long = Field("", alias="行为养成")
    filed_date: Date = Field(alias="建档日期")
    followups: Annotated[list[FollowUp], rows_from_text(FollowUp)] = Field(
        default_factory=list, alias="跟踪记录"
    )

    def title(self) -> str:
        return f"一人一卡一策档案卡（{self.name}）"

    def doc_date(self) -> dt.date | None:
        return self.filed_date


# ---------------------------------------------------------------------------------------------
# 2. home-visit


class MetPerson(FormBase):
    name: Required = Field(alias="姓名")
    relation: Required = Field(alias="关系")


class HomeVisit(FormBase):
    school: Required = Field(alias="学校")
    name: Required = Field(alias="儿童姓名")
    student_id: Short = Field("", alias="学籍号")
    grade: Short = Field("", alias="年级")
    class_name: Short = Field("", alias="班级")
    visit_date: Date = Field(alias="家访日期")
    visit_time: Short = Field("", alias="家访时间")
    mode: Literal["上门", "电话", "视频"] = Field(alias="家访形式")
    teachers: StrList = Field(alias="家访教师", min_length=1)
    met: Annotated[list[MetPerson], rows_from_text(MetPerson)] = Field(alias="会见人员", min_length=1)
    address: Short = Field("", alias="家庭住址")
    family: Long = Field("", alias="家庭情况")
    at_school: Long = Field("", alias="在校表现")
    at_home: Long = Field("", alias="在家表现")
    guardian_opinion: Long = Field("", alias="家长（监护人）意见")
    problems: Long = Field("", alias="发现的问题")
    measures: Long = Field("", alias="商定的措施")
    follow_up: Long = Field("", alias="后续跟进")
    village_informed: YesNo = Field(False, alias="已告知村（居）委会")
    village_contact: Short = Field("", alias="告知对象")
    village_date: Date | None = Field(None, alias="告知日期")

    @model_validator(mode="after")
    def _village(self) -> HomeVisit:
        if self.village_informed and (not self.village_contact or self.village_date is None):
            raise ValueError("已告知村（居）委会时须填写“告知对象”和“告知日期”")
        return self

    def title(self) -> str:
        return f"家访记录表（{self.name}，{cn_date(self.visit_date)}）"

    def doc_date(self) -> dt.date | None:
        return self.visit_date


# ---------------------------------------------------------------------------------------------
# 3. 控辍保学: persuasion-notice, dropout-report, missing-report


class PersuasionNotice(FormBase):
    school: Required = Field(alias="学校")
    guardian: Required = Field(alias="监护人")
    name: Required = Field(alias="儿童姓名")
    student_id: Short = Field("", alias="学籍号")
    grade: Short = Field("", alias="年级")
    class_name: Short = Field("", alias="班级")
    absent_since: Date = Field(alias="未到校起始日期")
    attempt: Literal[1, 2] = Field(alias="劝返次数")
    return_by: Date = Field(alias="返校期限")
    contact: Required = Field(alias="学校联系人")
    contact_phone: Required = Field(alias="联系电话")
    issue_date: Date = Field(alias="发出日期")

    @model_validator(mode="after")
    def _dates(self) -> PersuasionNotice:
        if self.return_by < self.issue_date:
            raise ValueError("“返校期限”不能早于“发出日期”")
        if self.absent_since > self.issue_date:
            raise ValueError("“未到校起始日期”不能晚于“发出日期”")
        return self

    def extra_context(self) -> dict[str, Any]:
        return {"attempt_cn": "第一次" if self.attempt == 1 else "第二次"}

    def title(self) -> str:
        return f"劝返复学通知书（{self.name}，第{self.attempt}次）"

    def doc_date(self) -> dt.date | None:
        return self.issue_date


class OfficialBase(FormBase):
    """Fields every 公文 carries (GB/T 9704: 发文字号, 标题, 主送机关, 署名, 成文日期)."""

    doc_number: Required = Field(alias="发文字号")
    doc_title: Required = Field(alias="标题")
    recipient: Required = Field(alias="主送机关")
    issuer: Required = Field(alias="发文机关")
    date: Date = Field(alias="成文日期")

    @model_validator(mode="after")
    def _check_number(self) -> OfficialBase:
        check_doc_number(self.doc_number)
        return self

    def doc_date(self) -> dt.date | None:
        return self.date

    def context(self) -> dict[str, Any]:
        from guanai.generators.gbt9704 import title_lines

        ctx = super().context()
        ctx["doc_title"] = title_lines(self.doc_title)  # even lines, not 20 + 20 + 1 characters
        return ctx


_DOC_NUMBER = re.compile(r"^[\u4e00-\u9fff]{1,12}〔(\d{4})〕([1-9]\d*)号$")


def check_doc_number(value: str) -> None:
    """发文字号 like 教体基〔2020〕9号: 〔〕 U+3014/U+3015, no 第, no leading zero."""
    if _DOC_NUMBER.match(value):
        return
    hint = "应写作“教体基〔2020〕9号”：年份用六角括号〔〕，序号不编虚位（不写 09）、不加“第”"
    if "第" in value:
        raise ValueError(f"发文字号“{value}”不应含“第”；{hint}")
    raise ValueError(f"发文字号“{value}”格式不正确；{hint}")


class Attempt(FormBase):
    date: Date = Field(alias="日期")
    method: Required = Field(alias="方式")
    people: Short = Field("", alias="参与人员")
    result: Required = Field(alias="结果")


class DropoutReport(OfficialBase):
    school: Required = Field(alias="学校")
    name: Required = Field(alias="儿童姓名")
    gender: Gender = Field(alias="性别")
    student_id: Short = Field("", alias="学籍号")
    grade: Short = Field("", alias="年级")
    class_name: Short = Field("", alias="班级")
    address: Short = Field("", alias="家庭住址")
    guardian: Required = Field(alias="监护人")
    guardian_phone: Short = Field("", alias="监护人电话")
    absent_since: Date = Field(alias="未到校起始日期")
    reason: Long = Field("", alias="辍学原因")
    attempts: Annotated[list[Attempt], rows_from_text(Attempt)] = Field(alias="劝返记录")
    request: RequiredLong = Field(alias="请求事项")
    contact: Required = Field(alias="联系人")
    contact_phone: Required = Field(alias="联系电话")

    @model_validator(mode="after")
    def _policy(self) -> DropoutReport:
        # The plan: unexcused absence over one week AND two failed school persuasions.
        days = (self.date - self.absent_since).days
        if days <= 7:
            raise ValueError(
                f"无故旷课须超过一周才上报乡（镇）人民政府（现为 {days} 天）；此前请用“劝返复学通知书”"
            )
        if len(self.attempts) < 2:
            raise ValueError(f"须有两次劝返未果的记录才上报（现有 {len(self.attempts)} 次）")
        return self

    def extra_context(self) -> dict[str, Any]:
        return {"days_absent": (self.date - self.absent_since).days, "attempt_count": len(self.attempts)}

    def title(self) -> str:
        return self.doc_title


class MissingReport(OfficialBase):
    school: Required = Field(alias="学校")
    name: Required = Field(alias="儿童姓名")
    gender: Gender = Field(alias="性别")
    student_id: Short = Field("", alias="学籍号")
    grade: Short = Field("", alias="年级")
    class_name: Short = Field("", alias="班级")
    address: Short = Field("", alias="家庭住址")
    guardian: Required = Field(alias="监护人")
    guardian_phone: Short = Field("", alias="监护人电话")
    last_seen: Required = Field(alias="最后见到时间")
    last_seen_place: Required = Field(alias="最后见到地点")
    description: Long = Field("", alias="体貌特征")
    actions: RequiredLong = Field(alias="已采取的措施")
    contact: Required = Field(alias="联系人")
    contact_phone: Required = Field(alias="联系电话")

    def title(self) -> str:
        return self.doc_title


# ---------------------------------------------------------------------------------------------
# 4. supervision-report, circular


class Finding(FormBase):
    school: Required = Field(alias="学校")
    finding: RequiredLong = Field(alias="情况")


class Figure(FormBase):
    school: Required = Field(alias="学校")
    enrolled: Short = Field("", alias="在册人数")
    filed: Short = Field("", alias="建档人数")
    mentored: Short = Field("", alias="结对帮扶人数")
    visited: Short = Field("", alias="家访人数")


class Rectification(FormBase):
    requirement: RequiredLong = Field(alias="要求")
    deadline: Date = Field(alias="期限")


Method = Literal["不定期督查", "明察暗访", "突击检查"]


class InspectionBase(OfficialBase):
    period: Required = Field(alias="督查时间")
    scope: RequiredLong = Field(alias="督查范围")
    methods: Annotated[list[Method], BeforeValidator(split_list)] = Field(alias="督查方式", min_length=1)
    overview: Long = Field("", alias="总体情况")
    findings: Annotated[list[Finding], rows_from_text(Finding)] = Field(alias="各校情况", min_length=1)
    figures: Annotated[list[Figure], rows_from_text(Figure)] = Field(default_factory=list, alias="数据表")
    problems: StrList = Field(default_factory=list, alias="存在问题")
    rectifications: Annotated[list[Rectification], rows_from_text(Rectification)] = Field(
        alias="整改要求", min_length=1
    )

    def extra_context(self) -> dict[str, Any]:
        return {"methods_text": "、".join(self.methods)}

    def title(self) -> str:
        return self.doc_title


class SupervisionReport(InspectionBase):
    pass


class Circular(InspectionBase):
    commended: StrList = Field(default_factory=list, alias="表扬学校")
    criticised: StrList = Field(default_factory=list, alias="通报批评学校")


# ---------------------------------------------------------------------------------------------
# 5. leading-group-notice


class LeadingGroupNotice(OfficialBase):
    body: Annotated[list[RequiredLong], BeforeValidator(lambda v: _paragraphs(v))] = Field(
        alias="正文", min_length=1
    )
    group_intro: RequiredLong = Field(alias="成立说明")
    leaders: Annotated[list[Person], rows_from_text(Person)] = Field(alias="组长", min_length=1)
    deputies: Annotated[list[Person], rows_from_text(Person)] = Field(default_factory=list, alias="副组长")
    members: Annotated[list[Person], rows_from_text(Person)] = Field(default_factory=list, alias="成员")
    office: Long = Field("", alias="办公室")
    closing: Annotated[list[RequiredLong], BeforeValidator(lambda v: _paragraphs(v))] = Field(
        default_factory=list, alias="结语"
    )

    def extra_context(self) -> dict[str, Any]:
        return {
            "leaders_cn": [_person_line(p) for p in self.leaders],
            "deputies_cn": [_person_line(p) for p in self.deputies],
            "members_cn": [_person_line(p) for p in self.members],
        }

    def title(self) -> str:
        return self.doc_title


def _person_line(p: Person) -> str:
    # Two-character names are padded with an ideographic-width space (陈  光), as in the plan.
    name = p.name if len(p.name) != 2 else f"{p.name[0]}\u3000{p.name[1]}"
    return f"{name}\u3000{p.post}".rstrip()


def _paragraphs(value: Any) -> Any:
    if isinstance(value, str):
        return [p.strip() for p in value.replace("\r\n", "\n").split("\n") if p.strip()]
    return value


# ---------------------------------------------------------------------------------------------
# 6. entrusted-care


class Parent(FormBase):
    name: Required = Field(alias="姓名")
    relation: Literal["父亲", "母亲", "其他监护人"] = Field(alias="关系")
    phone: Short = Field("", alias="联系电话")
    workplace: Short = Field("", alias="务工地点")


_DEFAULT_DUTIES = [
    "保障儿童的生活、饮食和衣着，照顾其日常起居",
    "督促儿童按时上学，不无故缺课，配合学校做好教育工作",
    "关注儿童身心健康和安全，防止溺水、交通等意外伤害",
    "定期与儿童父母、学校保持联系，发现异常情况及时告知",
]


class EntrustedCare(FormBase):
    parents: Annotated[list[Parent], rows_from_text(Parent)] = Field(alias="委托人", min_length=1)
    trustee: Required = Field(alias="受委托人")
    trustee_relation: Required = Field(alias="受委托人与儿童关系")
    trustee_phone: Required = Field(alias="受委托人电话")
    trustee_address: Short = Field("", alias="受委托人住址")
    name: Required = Field(alias="儿童姓名")
    gender: Gender = Field(alias="性别")
    school: Required = Field(alias="学校")
    grade: Short = Field("", alias="年级")
    class_name: Short = Field("", alias="班级")
    student_id: Short = Field("", alias="学籍号")
    start: Date = Field(alias="委托开始日期")
    end: Date = Field(alias="委托结束日期")
    duties: Annotated[list[RequiredLong], BeforeValidator(lambda v: _paragraphs(v))] = Field(
        default_factory=lambda: list(_DEFAULT_DUTIES), alias="照护职责"
    )
    village_committee: Required = Field(alias="村（居）委会")
    date: Date = Field(alias="告知日期")

    @model_validator(mode="after")
    def _period(self) -> EntrustedCare:
        if self.end <= self.start:
            raise ValueError("“委托结束日期”须晚于“委托开始日期”")
        return self

    def title(self) -> str:
        return f"委托照护告知书（{self.name}）"

    def doc_date(self) -> dt.date | None:
        return self.date


# ---------------------------------------------------------------------------------------------
# 7. care-record


class CareRecord(FormBase):
    school: Required = Field(alias="学校")
    name: Required = Field(alias="儿童姓名")
    student_id: Short = Field("", alias="学籍号")
    grade: Short = Field("", alias="年级")
    class_name: Short = Field("", alias="班级")
    area: Area = Field(alias="帮扶方面")
    date: Date = Field(alias="日期")
    by: Required = Field(alias="帮扶人")
    content: RequiredLong = Field(alias="帮扶内容")
    result: Long = Field("", alias="帮扶效果")
    next_steps: Long = Field("", alias="下一步打算")

    def title(self) -> str:
        return f"帮扶记录（{self.name}，{self.area}，{cn_date(self.date)}）"

    def doc_date(self) -> dt.date | None:
        return self.date


# ---------------------------------------------------------------------------------------------
# errors


@dataclass(frozen=True)
class FieldProblem:
    """One validation problem of a form field, located as precisely as the source allows.

    Reported as the common ``Problem`` (``to_problem``): where = source, row, column and field.
    """

    source: str  # file name (or "表单")
    row: int | None  # 1-based row in the sheet / index of the form in a JSON list
    column: str | None  # Excel column letter(s)
    field: str  # Chinese field name
    reason: str
    code: str = "form.invalid"  # "form." + the pydantic error type ("form.missing", "form.date_parsing" …)

    def short(self) -> str:
        """Column, field and reason (when the source and row are already shown)."""
        where = f"第{self.column}列" if self.column else ""
        if self.field:
            where += f"“{self.field}”"
        return f"{where}：{self.reason}" if where else self.reason

    def location(self) -> str:
        where = self.source + (f" 第{self.row}行" if self.row is not None else "")
        if self.column:
            where += f" 第{self.column}列"
        return where + (f"“{self.field}”" if self.field else "")

    def to_problem(self) -> Problem:
        return Problem(self.location(), self.reason, code=self.code)

    def __str__(self) -> str:
        head = self.source + (f" 第{self.row}行" if self.row is not None else "")
        return f"{head} {self.short()}"


class FormError(InputError):
    """A form that does not validate; ``problems`` lists every problem found (``field_problems``:
    the same, with source / row / column / field apart)."""

    def __init__(self, problems: list[FieldProblem], hint: str | None = None) -> None:
        self.field_problems = problems
        self.short_text = "；".join(p.short() for p in problems)
        sources = sorted({p.source + (f" 第{p.row}行" if p.row is not None else "") for p in problems})
        super().__init__(
            f"表单有误（{'、'.join(sources[:3])}{' 等' if len(sources) > 3 else ''}，共 {len(problems)} 处）",
            hint or "按提示改正后重试；用 `guanai form template 种类 --json -o 示例.json` 可得到完整的示例表单。",
            [p.to_problem() for p in problems],
        )


_REASONS = {
    "missing": "必填，不能为空",
    "extra_forbidden": "不是此种文书的字段（检查是否写错字段名）",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "bool_parsing": "应为“是”或“否”",
    "date_from_datetime_parsing": "日期格式不正确，应写作 2020-04-20",
    "date_parsing": "日期格式不正确，应写作 2020-04-20",
    "date_type": "日期格式不正确，应写作 2020-04-20",
    "list_type": "应为列表",
    "dict_type": "应为一组字段",
    "model_type": "应为一组字段",
    "string_type": "应为文字",
}


def _reason(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("string_too_long", "too_long"):
        value = err.get("input", "")
        unit = "项" if isinstance(value, list) else "字"
        return f"过长（最多 {ctx.get('max_length')} {unit}，现为 {len(value) if value is not None else 0} {unit}）"
    if kind == "string_too_short":
        return "必填，不能为空"
    if kind == "too_short":
        return f"至少需要 {ctx.get('min_length')} 项"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"取值“{err.get('input')}”无效，应为：{'、'.join(x.strip() for x in expected.split(','))}"
    if kind == "value_error":
        msg = str(err.get("msg", ""))
        return msg.removeprefix("Value error, ")
    return _REASONS.get(kind, str(err.get("msg", "")))


def alias_path(model: type[BaseModel], loc: Iterable[Any]) -> list[str]:
    """Translate a pydantic error location into Chinese field names (跟踪记录 › 第2项 › 日期)."""
    out: list[str] = []
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            out.append(f"第{part + 1}项")
            continue
        name = str(part)
        if current is not None and name in current.model_fields:
            info = current.model_fields[name]
            out.append(info.alias or name)
            current = _submodel(info.annotation)
        else:
            out.append(name)
            current = None
    return out


def _submodel(annotation: Any) -> type[BaseModel] | None:
    import typing

    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for sub in typing.get_args(arg):
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                return sub
    return None


def problems_from(
    err: ValidationError,
    model: type[BaseModel],
    *,
    source: str = "表单",
    row: int | None = None,
    columns: dict[str, str] | None = None,
) -> list[FieldProblem]:
    problems = []
    for e in err.errors():
        path = alias_path(model, e.get("loc", ()))
        field = " › ".join(path)
        column = columns.get(path[0]) if columns and path else None
        problems.append(FieldProblem(source, row, column, field, _reason(dict(e)), f"form.{e['type']}"))
    return problems
