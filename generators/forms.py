"""Form models: one pydantic model per document kind.

Forms are filled by secretaries in Chinese, so every field has a Chinese alias (the key used in
JSON/YAML, the column header in Excel/CSV); the English names are the template variables.
Validation errors become :class:`FormError` with a Chinese reason naming file, row, column, field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    model_validator,
)

from guanai.base.errors import InputError, Problem
from guanai.base.text import strip_invisible
from guanai.care.inputs import field_problems, normalise_text, parse_date, parse_yes_no, split_list

# ---------------------------------------------------------------------------------------------
# value normalisation

# Control characters are removed before anything is rendered (docxtpl would turn \t \a \f into
# tab/paragraph/page break and Word refuses most others inside XML): care.inputs.normalise_text.
SHORT_MAX = 200
LONG_MAX = 5000


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


def cn_date(value: dt.date | dt.datetime) -> str:
    """2020年4月20日 — Arabic numerals without padding (GB/T 9704 成文日期)."""
    return f"{value.year}年{value.month}月{value.day}日"


Date = Annotated[dt.date, BeforeValidator(parse_date)]


parse_bool = parse_yes_no


YesNo = Annotated[bool, BeforeValidator(parse_bool)]

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

    @classmethod
    def from_record(cls, record: Any, on: dt.date) -> dict[str, Any]:
        """Kind-specific fields (English names) taken from a child's record; none by default."""
        return {}

    def record_patch(self) -> dict[str, Any]:
        """What a generated document says that belongs on the child's record; nothing by default."""
        return {}

    def input_variant(self) -> str:
        """What the document is made from besides the form (part of its input digest); none by default."""
        return ""

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
    area: Literal["心理疏导", "学业辅导", "生活资助", "安全监管", "行为养成", "家访"] = Field(alias="方面")
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
    ethnicity: Short = Field("", alias="民族")
    boarding: Short = Field("", alias="寄宿")
    health: Short = Field("", alias="身体状况")
    address: Short = Field("", alias="家庭住址")
    village: Short = Field("", alias="户籍所在村（居）")
    guardian: Short = Field("", alias="监护人")
    guardian_relation: Short = Field("", alias="监护人关系")
    guardian_phone: Short = Field("", alias="监护人电话")
    entrusted: Short = Field("", alias="委托照护人")
    village_committee: Short = Field("", alias="村（居）委会")
    village_informed: Date | None = Field(None, alias="告知村（居）委会日期")
    father: Short = Field("", alias="父亲情况")
    mother: Short = Field("", alias="母亲情况")
    categories: StrList = Field(default_factory=list, alias="类别")
    hardship: StrList = Field(default_factory=list, alias="困境情形")
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
    # the child's photo (JPEG bytes, width, height in px) from the archive: never part of the form
    # (not in to_form_dict, not stored as JSON); set by the generator through ``with_photo``
    _photo: tuple[bytes, int, int] | None = PrivateAttr(default=None)

    #: The photo box of the card: a 1-inch photo, 25 x 35 mm.
    PHOTO_BOX_MM: ClassVar[tuple[float, float]] = (25.0, 35.0)

    def with_photo(self, data: bytes, width: int, height: int) -> ChildCard:
        self._photo = (data, width, height)
        return self

    @property
    def photo(self) -> tuple[bytes, int, int] | None:
        return self._photo

    def input_variant(self) -> str:
        """The photo is part of what the card is made from: a new photo makes a new card."""
        if self._photo is None:
            return ""
        import hashlib

        return ":photo:" + hashlib.sha256(self._photo[0]).hexdigest()

    @model_validator(mode="after")
    def _dates(self) -> ChildCard:
        if self.birth_date is not None and self.birth_date > self.filed_date:
            raise ValueError(f"建档日期（{cn_date(self.filed_date)}）早于出生日期（{cn_date(self.birth_date)}）")
        return self

    def title(self) -> str:
        return f"一人一卡一策档案卡（{self.name}）"

    def doc_date(self) -> dt.date | None:
        return self.filed_date

    def extra_context(self) -> dict[str, Any]:
        from guanai.care.rules import full_years

        # 周岁 as of the card's date (建档日期), not as of the day it is printed
        age = full_years(self.birth_date, self.filed_date) if self.birth_date else ""
        return {"age": age, "photo": self._photo_image()}

    def _photo_image(self) -> Any:
        """An InlineImage fit into the photo box (aspect kept), or "" (the box shows 照片)."""
        if self._photo is None:
            return ""
        from guanai.generators.render import InlineImage

        data, w, h = self._photo
        box_w, box_h = self.PHOTO_BOX_MM
        if w * box_h >= h * box_w:  # wider than the box: the width fills it
            return InlineImage(data, width_mm=box_w, description="照片")
        return InlineImage(data, height_mm=box_h, description="照片")

    @classmethod
    def from_record(cls, record: Any, on: dt.date) -> dict[str, Any]:
        """Fields of the card (English names) the child's record holds beyond the common ones:
        the plan, 需求评估 and 建档日期 stored on the record, so a regenerated card keeps them."""
        plan = record.plan
        out: dict[str, Any] = {
            "ethnicity": record.ethnicity, "boarding": "是" if record.boarding else "否",
            "health": health_text(record.health), "village": record.household_address,
            "entrusted": carer_text(record.entrusted_carer), "village_committee": record.village_committee,
            "village_informed": record.village_informed, "hardship": list(record.hardship),
            "needs": record.needs, "filed_date": record.filed_date or on,
        }
        if plan is not None:
            out.update({"plan_psych": plan.psych, "plan_study": plan.study, "plan_living": plan.living,
                        "plan_safety": plan.safety, "plan_behaviour": plan.behaviour})
        return out

    def record_patch(self) -> dict[str, Any]:
        """What this card says that belongs on the child's record (Chinese keys, for a merge)."""
        plan = {"心理疏导": self.plan_psych, "学业辅导": self.plan_study, "生活资助": self.plan_living,
                "安全监管": self.plan_safety, "行为养成": self.plan_behaviour}
        patch: dict[str, Any] = {"建档日期": self.filed_date.isoformat()}
        if self.needs:
            patch["需求评估"] = self.needs
        if any(plan.values()):
            patch["一策"] = {k: v for k, v in plan.items() if v}
        return patch


def health_text(health: Any) -> str:
    """身体状况 as one phrase: 健康 / 患病（哮喘，重病）/ 残疾（肢体，二级）."""
    detail = [x for x in (health.disability_kind, health.disability_grade, health.illness) if x]
    if health.serious:
        detail.append("重病")
    return f"{health.state}（{'，'.join(detail)}）" if detail else str(health.state)


def carer_text(carer: Any) -> str:
    """A 委托照护人 as one phrase: 张德明（祖父，15955701234，照护能力一般）."""
    if carer is None:
        return ""
    detail = [x for x in (carer.relation, carer.phone) if x]
    if carer.capacity:
        detail.append(f"照护能力{carer.capacity}")
    return f"{carer.name}（{'，'.join(detail)}）" if detail else str(carer.name)


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
        if self.village_date is not None and self.village_date < self.visit_date:
            raise ValueError(f"告知日期（{cn_date(self.village_date)}）早于家访日期（{cn_date(self.visit_date)}）")
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
    """Fields every 公文 carries (GB/T 9704-2012 §7): 版头, 主体 and 版记.

    ``UPWARD`` documents (报告 to the township government or the county bureau) put the
    发文字号 left with the 签发人 right (7.2.4, 7.2.5); without a 签发人 the line holds the 发文字号
    only and `guanai lint` reports the missing 签发人 (a report made from a case file may not
    know it yet: it is added before the report is sent).
    """

    UPWARD: ClassVar[bool] = False

    doc_number: Required = Field(alias="发文字号")
    doc_title: Required = Field(alias="标题")
    recipient: Required = Field(alias="主送机关")
    issuer: Required = Field(alias="发文机关")
    date: Date = Field(alias="成文日期")
    # 版头 (7.2): the mark defaults to the archive setting ``org_mark``, else "<发文机关>文件"
    org_mark: Short = Field("", alias="发文机关标志")
    copy_number: Short = Field("", alias="份号")
    secrecy: Short = Field("", alias="密级和保密期限")
    urgency: Literal["", "特急", "加急"] = Field("", alias="紧急程度")
    signers: StrList = Field(default_factory=list, alias="签发人")
    # 主体 (7.3)
    attachments: StrList = Field(default_factory=list, alias="附件")
    seal: YesNo = Field(True, alias="加盖印章")
    note: Short = Field("", alias="附注")
    # 版记 (7.4)
    cc: StrList = Field(default_factory=list, alias="抄送机关")
    printer: Short = Field("", alias="印发机关")
    print_date: Annotated[dt.date | None, BeforeValidator(parse_date)] = Field(None, alias="印发日期")

    @model_validator(mode="after")
    def _check_number(self) -> OfficialBase:
        check_doc_number(self.doc_number)
        if self.copy_number and not re.fullmatch(r"\d{6}", self.copy_number):
            raise ValueError(f"份号“{self.copy_number}”应为 6 位阿拉伯数字（如 000001）")
        if self.print_date is not None and self.print_date < self.date:
            raise ValueError("“印发日期”不能早于“成文日期”")
        for a in self.attachments:
            if a[-1:] in "。，；：.,;:":
                raise ValueError(f"附件名称“{a}”后不加标点符号")
        return self

    def doc_date(self) -> dt.date | None:
        return self.date

    def context(self) -> dict[str, Any]:
        from guanai.generators.gbt9704 import format_date, title_lines

        ctx = super().context()
        ctx["doc_title"] = title_lines(self.doc_title)  # even lines between words, not 20 + 20 + 1
        ctx["org_mark"] = self.org_mark or f"{self.issuer}文件"
        ctx["upward"] = self.UPWARD
        ctx["seal"] = self.seal
        ctx["head_marks"] = "\n".join(x for x in (self.copy_number, self.secrecy, self.urgency) if x)
        ctx["signers_text"] = "\u3000".join(self.signers)
        ctx["cc_text"] = "，".join(self.cc) + "。" if self.cc else ""
        ctx["printer"] = self.printer or self.issuer
        ctx["print_date"] = format_date(self.print_date or self.date) + "印发"
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
    UPWARD: ClassVar[bool] = True

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
        # The plan: unexcused absence of one week or more AND two failed school persuasions.
        # Days count as in care.rules.dropout_actions: the first and the current day both count.
        from guanai.care.rules import DROPOUT_DAYS

        days = (self.date - self.absent_since).days + 1
        if days < DROPOUT_DAYS:
            raise ValueError(
                f"无故旷课须满一周（{DROPOUT_DAYS} 天，首日计入）才上报乡（镇）人民政府（现为 {days} 天）；此前请用“劝返复学通知书”"
            )
        if len(self.attempts) < 2:
            raise ValueError(f"须有两次劝返未果的记录才上报（现有 {len(self.attempts)} 次）")
        # dates must agree: a report cannot cite a persuasion made after it, or before the absence
        for i, a in enumerate(self.attempts, 1):
            if a.date > self.date:
                raise ValueError(f"成文日期（{cn_date(self.date)}）早于所引用的劝返记录第{i}项（{cn_date(a.date)}）")
            if a.date < self.absent_since:
                raise ValueError(f"劝返记录第{i}项的日期（{cn_date(a.date)}）早于未到校起始日期（{cn_date(self.absent_since)}）")
        return self

    def extra_context(self) -> dict[str, Any]:
        return {"days_absent": (self.date - self.absent_since).days + 1, "attempt_count": len(self.attempts)}

    def title(self) -> str:
        return self.doc_title


class MissingReport(OfficialBase):
    UPWARD: ClassVar[bool] = True

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

    # the figures' bar chart (PNG) and its caption, from ``--from-stats``: never part of the form;
    # set by the generator through ``with_chart`` and placed by the template as an InlineImage
    _chart: tuple[bytes, str] | None = PrivateAttr(default=None)
    #: The chart's width on the page (the text block is 156 mm wide).
    CHART_WIDTH_MM: ClassVar[float] = 150.0

    def with_chart(self, png: bytes, caption: str) -> InspectionBase:
        self._chart = (png, caption)
        return self

    @property
    def chart(self) -> tuple[bytes, str] | None:
        return self._chart

    def input_variant(self) -> str:
        """The chart is part of what the report is made from."""
        if self._chart is None:
            return ""
        import hashlib

        return ":chart:" + hashlib.sha256(self._chart[0] + self._chart[1].encode("utf-8")).hexdigest()

    def extra_context(self) -> dict[str, Any]:
        chart: Any = ""
        if self._chart is not None:
            from guanai.generators.render import InlineImage

            chart = InlineImage(self._chart[0], width_mm=self.CHART_WIDTH_MM, description=self._chart[1])
        return {"methods_text": "、".join(self.methods), "chart": chart,
                "chart_caption": self._chart[1] if self._chart else ""}

    def title(self) -> str:
        return self.doc_title


class SupervisionReport(InspectionBase):
    UPWARD: ClassVar[bool] = True


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


def problems_from(
    err: ValidationError,
    model: type[BaseModel],
    *,
    source: str = "表单",
    row: int | None = None,
    columns: dict[str, str] | None = None,
) -> list[FieldProblem]:
    problems = []
    for p in field_problems(err, model, unknown="不是此种文书的字段（检查是否写错字段名）"):
        first = p.path[0] if p.path else None
        column = columns.get(first) if columns and isinstance(first, str) else None
        problems.append(FieldProblem(source, row, column, p.arrowed(), p.reason, f"form.{p.code}"))
    return problems
