"""The plan in motion (实施方案 三（一）–（七）): what is due, and the figures, as pure functions.

Everything here works on plain data (:class:`State`) and a date: the same state and date
always give the same 待办 and the same figures. ``guanai.archive.workflow`` loads the state
from the archive; the CLI and the browser UI both call ``due`` and ``stats`` through it.

Day counting follows ``care.rules``: the first day counts (a child identified on 1 September
must be visited by 7 September with the default 7 days; weekends and holidays count).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from guanai.base.errors import InputError
from guanai.care.model import ChildRecord
from guanai.care.rules import DROPOUT_DAYS, DROPOUT_PERSUASIONS, HARDSHIP, LEFT_BEHIND, category_names

ACTIVE = "在册"
CONTACT_WINDOW_DAYS = 7  # a recurring contact shows in 待办 from 7 days before it is due
ENTRUSTED_WARN_DAYS = 30  # an entrustment ending within 30 days shows in 待办
PARENT_AWAY = "外出父母"
CONTACT_WITH = (PARENT_AWAY, "委托照护人", "监护人", "村（居）委会", "其他")
CONTACT_HOW = ("电话", "视频", "上门", "来校", "其他")
# Term duties the plan names (三（六）, 三（七）): every term, a 家长会 and a 家长学校 talk.
DUTY_KINDS = ("家长会", "家长学校", "法制宣讲", "请销假检查")
REQUIRED_DUTIES = ("家长会", "家长学校")
LEAVE_CHECK = "请销假检查"  # required where the school has boarding pupils (三（二）请销假制度)
_DUTY_RULES = {"家长会": ("duty-meeting", "召开家长会"), "家长学校": ("duty-parent-school", "举办家长学校专题讲座"),
               LEAVE_CHECK: ("duty-leave-check", "检查寄宿生请销假记录（班主任、宿管人员与监护人核实）")}
_DUTY_BASIS = {LEAVE_CHECK: "实施方案三（二）：寄宿制学生临时请假离开校园的，班主任及宿管人员要与其监护人或委托监护人核实后方可同意"}


def required_duties(active: Iterable[ChildState]) -> list[str]:
    """The term duties the plan requires of this school: 请销假检查 only with boarding pupils."""
    out = list(REQUIRED_DUTIES)
    if any(c.record.boarding for c in active):
        out.append(LEAVE_CHECK)
    return out


SETTING_LABELS = {"home_visit_days": "家访期限（天）", "contact_days": "家长联系间隔（天）",
                  "psych_teacher": "心理健康辅导教师", "township": "乡（镇）人民政府", "police": "派出所",
                  "contact": "学校联系人", "contact_phone": "联系电话", "doc_prefix": "发文机关代字",
                  "county_org": "主管部门", "signer": "签发人"}
INT_SETTINGS = ("home_visit_days", "contact_days")


@dataclass(frozen=True)
class Settings:
    """The school's own settings for the workflow (stored in the archive)."""

    home_visit_days: int = 7
    contact_days: int = 30  # parents away reached at least monthly
    psych_teacher: str = ""  # 心理健康辅导教师 (at least one per school)
    township: str = ""  # 乡（镇）人民政府
    police: str = ""  # 当地派出所
    contact: str = ""  # school contact on notices
    contact_phone: str = ""
    doc_prefix: str = ""  # 发文机关代字, e.g. 龙小 → 龙小〔2026〕1号
    county_org: str = ""  # 主管部门 (issuer of supervision reports / circulars), e.g. 萧县教育体育局
    signer: str = ""  # 签发人 of upward 公文 (报告), GB/T 9704 7.2.5: the school's head, e.g. 李明

    def __post_init__(self) -> None:
        if not 1 <= self.home_visit_days <= 60:
            raise InputError(f"家访期限 {self.home_visit_days} 天无效。", "应为 1–60 天（默认 7 天）。")
        if not 1 <= self.contact_days <= 366:
            raise InputError(f"家长联系间隔 {self.contact_days} 天无效。", "应为 1–366 天（默认 30 天，即每月）。")

    def to_dict(self) -> dict[str, Any]:
        return {"home_visit_days": self.home_visit_days, "contact_days": self.contact_days,
                "psych_teacher": self.psych_teacher, "township": self.township, "police": self.police,
                "contact": self.contact, "contact_phone": self.contact_phone, "doc_prefix": self.doc_prefix,
                "county_org": self.county_org, "signer": self.signer}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        known = {k: data[k] for k in cls().to_dict() if k in data}
        return cls(**known)


@dataclass(frozen=True)
class Contact:
    on: date
    with_whom: str
    how: str
    agreed: str = ""


@dataclass
class ChildState:
    """One child with the facts the rules need (from the record, documents and records)."""

    id: str
    record: ChildRecord
    status: str = ACTIVE
    created: date | None = None
    visits: list[date] = field(default_factory=list)  # 家访 dates
    village_informed: list[date] = field(default_factory=list)  # 已告知村（居）委会
    care: dict[str, list[date]] = field(default_factory=dict)  # 帮扶方面 -> dates
    contacts: list[Contact] = field(default_factory=list)
    entrusted_until: date | None = None  # end of the registered 委托照护


@dataclass
class Round:
    """A screening round (排查): opened at a term's start, deadline one week later."""

    id: str
    term_start: date
    deadline: date
    opened: date
    screened: dict[str, date] = field(default_factory=dict)  # child id -> date screened
    closed: date | None = None


@dataclass(frozen=True)
class Persuasion:
    on: date
    by: str
    result: str
    method: str = "上门"
    return_by: date | None = None


@dataclass(frozen=True)
class Report:
    kind: str  # "dropout" (辍学情况报告) | "missing" (去向不明报告)
    on: date
    doc_id: str | None = None


@dataclass
class Case:
    """A 控辍保学 case: absence → persuasions → report → return."""

    id: str
    child_id: str
    since: date
    whereabouts_unknown: bool = False
    persuasions: list[Persuasion] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    returned: date | None = None

    @property
    def open(self) -> bool:
        return self.returned is None

    def reported(self, kind: str) -> bool:
        return any(r.kind == kind for r in self.reports)

    def label(self) -> str:
        """What listings show while the case is open."""
        if self.whereabouts_unknown:
            return "去向不明"
        if self.reported("dropout"):
            return "辍学"
        return "旷课中"


@dataclass(frozen=True)
class Duty:
    kind: str
    on: date
    note: str = ""


@dataclass
class State:
    children: list[ChildState] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    duties: list[Duty] = field(default_factory=list)
    teachers: list[str] = field(default_factory=list)


# Short Chinese names of the rules (for summaries and the browser UI's filters).
RULE_NAMES = {
    "home-visit": "家访", "mentor": "帮扶教师", "entrusted-carer": "委托照护人", "carer-capacity": "照护能力",
    "entrusted-ending": "委托到期", "parent-contact": "联系外出家长", "village": "通报村（居）委会",
    "screening": "开学排查", "screening-close": "结束排查", "screening-start": "开始排查",
    "persuade-1": "第一次劝返", "persuade-2": "第二次劝返", "dropout-report": "上报辍学", "missing-report": "报告去向不明",
    "psych-teacher": "心理健康辅导教师", "duty-meeting": "家长会", "duty-parent-school": "家长学校",
    "duty-leave-check": "请销假检查",
}


@dataclass(frozen=True)
class Obligation:
    """One open obligation in 待办: its rule, due date and the command that resolves it."""

    rule: str
    title: str
    basis: str
    due: date
    as_of: date
    command: str
    child_id: str | None = None
    child_name: str | None = None

    @property
    def overdue_days(self) -> int:
        return max(0, (self.as_of - self.due).days)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "basis": self.basis, "due": self.due.isoformat(),
                "overdue_days": self.overdue_days, "child_id": self.child_id, "child_name": self.child_name,
                "command": self.command}


# --- dates --------------------------------------------------------------------------------------


def day_n(start: date, n: int) -> date:
    """The n-th day of a period that starts on ``start`` (day 1); weekends count."""
    if n < 1:
        raise InputError(f"天数 {n} 无效。")
    return start + timedelta(days=n - 1)


def term_of(on: date) -> tuple[str, date, date]:
    """(name, first day, last day) of the school term ``on`` falls in.

    Autumn term: 1 August – 31 January (the plan's September screening); spring term:
    1 February – 31 July (the March screening).
    """
    if on.month >= 8:
        return f"{on.year}年秋季学期", date(on.year, 8, 1), date(on.year + 1, 1, 31)
    if on.month == 1:
        return f"{on.year - 1}年秋季学期", date(on.year - 1, 8, 1), date(on.year, 1, 31)
    return f"{on.year}年春季学期", date(on.year, 2, 1), date(on.year, 7, 31)


def identified_on(child: ChildState, rounds: Iterable[Round]) -> date | None:
    """When the child was identified: the first screening that covered it, else the record's 建档日期,
    else the day it was added to the archive."""
    dates = [r.screened[child.id] for r in rounds if child.id in r.screened]
    if dates:
        return min(dates)
    return getattr(child.record, "filed_date", None) or child.created


def categories(child: ChildState, on: date) -> list[str]:
    birth = child.record.birth_date
    if birth is None or on < birth:
        return []
    return category_names(child.record, on)


def _is_active(child: ChildState) -> bool:
    return child.status == ACTIVE


# --- 待办 ---------------------------------------------------------------------------------------

_VISIT_BASIS = "实施方案三（一）：对排查认定的留守儿童和困境儿童，要立即开展家访"


def visit_from(ident: date, settings: Settings) -> date:
    """The first day a home visit counts for a child identified on ``ident``: the visit made while
    screening (up to N days before identification, e.g. the home visit that found the parents
    away) counts as the visit after it, so a school that visits first and registers after is not
    told to visit again."""
    return ident - timedelta(days=settings.home_visit_days)


def _child_obligations(child: ChildState, cats: list[str], ident: date, as_of: date,
                       settings: Settings) -> list[Obligation]:
    rec = child.record
    n = settings.home_visit_days
    window_end = day_n(ident, n)
    out: list[Obligation] = []

    def add(rule: str, title: str, basis: str, due: date, command: str) -> None:
        out.append(Obligation(rule, title, basis, due, as_of, command, child.id, rec.name))

    if not any(v >= visit_from(ident, settings) for v in child.visits):
        add("home-visit", f"家访（认定后 {n} 天内）", _VISIT_BASIS, window_end,
            f"guanai generate home-visit --child {child.id}")
    if not rec.mentor:
        add("mentor", "指定帮扶教师", "实施方案三（七）：确保每位在校留守儿童困境儿童都有帮扶教师", window_end,
            f"guanai mentor assign {child.id} --teacher 教师姓名")
    if LEFT_BEHIND in cats:
        carer = rec.entrusted_carer
        if carer is None:
            add("entrusted-carer", "登记委托照护人（父母外出务工）",
                "实施方案三（三）：父母外出务工不能履行监护职责的，应当委托有照护能力的其他成年人代为照护",
                window_end, f"guanai child update {child.id} 更新.yaml")
        elif carer.capacity in ("较差", "无"):
            add("carer-capacity", f"委托照护人{carer.name}照护能力“{carer.capacity}”，通知父母另行委托",
                "实施方案三（三）：发现受委托人缺乏照护能力的，应当及时通知未成年人的父母", window_end,
                f"guanai contact add {child.id} --with 外出父母")
        if child.entrusted_until is not None and as_of >= child.entrusted_until - timedelta(days=ENTRUSTED_WARN_DAYS):
            add("entrusted-ending", f"委托照护期限 {child.entrusted_until.isoformat()} 届满，续签或重新委托",
                "实施方案三（三）：委托照护情况告知村（居）委会和学校", child.entrusted_until,
                f"guanai generate entrusted-care --child {child.id}")
        reached = [c.on for c in child.contacts if c.with_whom == PARENT_AWAY and c.on <= as_of]
        base = max(reached) if reached else ident
        due = base + timedelta(days=settings.contact_days)
        if as_of >= due - timedelta(days=CONTACT_WINDOW_DAYS):
            add("parent-contact", f"联系外出务工家长（每 {settings.contact_days} 天至少一次）",
                "实施方案三（七）：建立教师与家长、委托监护人定期交流沟通制度，引导外出务工家长经常与孩子联系沟通",
                due, f"guanai contact add {child.id} --with 外出父母 --how 电话")
    if not any(d >= ident for d in child.village_informed):
        what = "向村（居）委会通报情况" if rec.village_committee else "登记并联系户口（或实际居住地）所在村（居）委会"
        add("village", what, "实施方案三（一）：与村（居）委会联系……并及时向村（居）委会通报情况", window_end,
            f"guanai contact add {child.id} --with 村（居）委会 --how 上门")
    return out


def _case_obligations(case: Case, name: str | None, as_of: date) -> list[Obligation]:
    out: list[Obligation] = []

    def add(rule: str, title: str, basis: str, due: date, command: str) -> None:
        out.append(Obligation(rule, title, basis, due, as_of, command, case.child_id, name))

    if case.whereabouts_unknown:
        if not case.reported("missing"):
            add("missing-report", "去向不明：学校与监护人共同报告乡（镇）人民政府和当地派出所，查找下落",
                "实施方案三（二）：对具体去向不明的，由学校和学生父母或其他监护人共同向乡（镇）人民政府和当地派出所报告",
                case.since, f"guanai absence report {case.child_id}")
        return out
    if case.reported("dropout"):
        return out
    k = len(case.persuasions)
    if k < DROPOUT_PERSUASIONS:
        if k == 0:
            due = case.since
        else:
            last = case.persuasions[-1]
            due = (last.return_by or last.on) + timedelta(days=1)
        add(f"persuade-{k + 1}", f"第{'一二'[k]}次劝返（发出劝返复学通知书）",
            "实施方案三（二）：发现学生旷课等情况要立即追问并采取相关措施", due,
            f"guanai absence persuade {case.child_id} --by 教师 --result 未返校")
    else:
        due = max(day_n(case.since, DROPOUT_DAYS), case.persuasions[DROPOUT_PERSUASIONS - 1].on)
        add("dropout-report", "上报乡（镇）人民政府，启动劝返复学程序（辍学情况报告）",
            "实施方案三（二）：无故旷课一周以上并经学校两次劝返未果的，必须上报乡（镇）人民政府", due,
            f"guanai absence report {case.child_id}")
    return out


def due(state: State, as_of: date, settings: Settings) -> list[Obligation]:
    """Every open obligation as of ``as_of``, most overdue first."""
    out: list[Obligation] = []
    names = {c.id: c.record.name for c in state.children}
    active = [c for c in state.children if _is_active(c)]
    for child in active:
        cats = categories(child, as_of)
        ident = identified_on(child, state.rounds)
        if not cats or ident is None or ident > as_of:
            continue
        out.extend(_child_obligations(child, cats, ident, as_of, settings))
    for case in state.cases:
        if case.open and case.since <= as_of:
            out.extend(_case_obligations(case, names.get(case.child_id), as_of))
    out.extend(_school_obligations(state, active, as_of, settings))
    out.sort(key=lambda o: (o.due, o.rule, o.child_name or "", o.child_id or ""))
    return out


def current_round(rounds: Iterable[Round], as_of: date) -> Round | None:
    """The latest round opened on or before ``as_of``."""
    opened = [r for r in rounds if r.opened <= as_of]
    return max(opened, key=lambda r: (r.opened, r.term_start)) if opened else None


def _school_obligations(state: State, active: list[ChildState], as_of: date, settings: Settings) -> list[Obligation]:
    out: list[Obligation] = []
    term, term_start, term_end = term_of(as_of)
    in_term = [r for r in state.rounds if term_start <= r.term_start <= term_end and r.opened <= as_of]
    for r in in_term:
        if r.closed is not None and r.closed <= as_of:
            continue
        missing = sum(1 for c in active if c.id not in r.screened)
        if missing:
            out.append(Obligation("screening", f"排查：尚有 {missing} 名在册学生未排查",
                                  "实施方案三（一）：每年 3 月和 9 月开学一周内集中排查", r.deadline, as_of,
                                  "guanai screening status"))
        else:
            out.append(Obligation("screening-close", "排查已全部完成，确认认定结果并结束本轮排查",
                                  "实施方案三（一）：排查、认定和建档", r.deadline, as_of, "guanai screening close"))
    if not in_term:
        month = 9 if term_start.month == 8 else 3
        start = date(term_start.year, month, 1)
        if as_of >= start - timedelta(days=14):
            out.append(Obligation("screening-start", f"{term}开学排查尚未开始",
                                  "实施方案三（一）：每年 3 月和 9 月开学一周内集中排查", day_n(start, 7), as_of,
                                  "guanai screening start --term-start 开学日期"))
    if not settings.psych_teacher:
        out.append(Obligation("psych-teacher", "指定本校心理健康辅导教师（至少 1 名）",
                              "实施方案三（六）：实现每所学校至少要有 1 名专兼职心理健康辅导教师", term_start, as_of,
                              "guanai settings set --psych-teacher 姓名"))
    done = {d.kind for d in state.duties if term_start <= d.on <= min(term_end, as_of)}
    for kind in required_duties(active):
        if kind not in done:
            rule, title = _DUTY_RULES[kind]
            basis = _DUTY_BASIS.get(kind, "实施方案三（七）：每学期都要召开家长会，举办家长委员会及家长学校系列专题讲座")
            out.append(Obligation(rule, f"{term}{title}", basis, term_end, as_of, f"guanai duty add {kind} --date 日期"))
    return out


# --- figures ------------------------------------------------------------------------------------


def _rate(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 4)


@dataclass
class Figures:
    """Child-level counts for one group (the whole school, a grade, a class or a category)."""

    filed: int = 0  # 建档: active children identified 留守 or 困境
    left_behind: int = 0
    hardship: int = 0
    both: int = 0
    visited_in_time: int = 0
    visited: int = 0
    mentored: int = 0
    psych: int = 0
    entrusted: int = 0  # left-behind with a registered 委托照护人
    parents_reached: int = 0  # left-behind whose parents were reached within the interval

    def add(self, other: Figures) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def to_dict(self) -> dict[str, Any]:
        return {
            "filed": self.filed, "left_behind": self.left_behind, "hardship": self.hardship, "both": self.both,
            "visited_in_time": self.visited_in_time, "visited": self.visited,
            "visit_rate": _rate(self.visited_in_time, self.filed),
            "mentored": self.mentored, "mentor_rate": _rate(self.mentored, self.filed),
            "psych": self.psych, "psych_rate": _rate(self.psych, self.filed),
            "entrusted": self.entrusted, "entrusted_rate": _rate(self.entrusted, self.left_behind),
            "parents_reached": self.parents_reached, "parent_contact_rate": _rate(self.parents_reached, self.left_behind),
        }


@dataclass
class Stats:
    as_of: date
    settings: Settings
    enrolled: int = 0  # 在册 children in the archive
    figures: Figures = field(default_factory=Figures)
    groups: dict[str, Figures] = field(default_factory=dict)
    group_enrolled: dict[str, int] = field(default_factory=dict)  # 在册 per grade / class
    by: str | None = None
    cases_open: int = 0
    cases_closed: int = 0
    cases_reported: int = 0
    cases_missing: int = 0
    screening: dict[str, Any] = field(default_factory=dict)
    duties_done: list[str] = field(default_factory=list)
    duties_required: list[str] = field(default_factory=list)
    psych_teacher: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"as_of": self.as_of.isoformat(), "enrolled": self.enrolled}
        out.update(self.figures.to_dict())
        out["home_visit_days"] = self.settings.home_visit_days
        out["contact_days"] = self.settings.contact_days
        out["cases"] = {"open": self.cases_open, "closed": self.cases_closed, "reported": self.cases_reported,
                        "whereabouts_unknown": self.cases_missing}
        out["screening"] = dict(self.screening)
        out["term_duties"] = {"required": list(self.duties_required), "done": list(self.duties_done),
                              "psych_teacher": self.psych_teacher or None}
        if self.by:
            out["groups"] = {"by": self.by, "groups": {k: {"enrolled": self.group_enrolled.get(k), **v.to_dict()}
                                                    for k, v in self.groups.items()}}
        return out

    def chart_values(self) -> list[tuple[str, float]]:
        """(label, percentage) pairs for the bar chart."""
        d = self.figures.to_dict()
        labels = [("visit_rate", "家访率"), ("mentor_rate", "结对帮扶率"), ("psych_rate", "心理疏导"),
                  ("entrusted_rate", "委托照护登记"), ("parent_contact_rate", "家长联系")]
        out = [(label, round(100 * d[key], 1)) for key, label in labels if d[key] is not None]
        done = self.screening.get("completion")
        if done is not None:
            out.append(("排查完成", round(100 * done, 1)))
        return out


GROUP_BY = ("grade", "class", "category")

# Chinese labels of the figures' keys (text output, workbooks, reports)
FIGURE_LABELS = {
    "as_of": "统计日期", "enrolled": "在册学生", "filed": "建档儿童", "left_behind": "留守儿童", "hardship": "困境儿童",
    "both": "留守且困境", "visited_in_time": "按期家访", "visited": "已家访", "visit_rate": "家访率",
    "mentored": "结对帮扶", "mentor_rate": "结对帮扶率", "psych": "心理疏导", "psych_rate": "心理疏导覆盖率",
    "entrusted": "委托照护已登记", "entrusted_rate": "委托照护登记率", "parents_reached": "家长已联系",
    "parent_contact_rate": "家长联系率", "home_visit_days": "家访期限（天）", "contact_days": "家长联系间隔（天）",
    "cases": "控辍保学", "open": "进行中", "closed": "已结案", "reported": "已上报乡镇", "whereabouts_unknown": "去向不明",
    "screening": "排查", "term_start": "开学日期", "deadline": "截止日期", "screened": "已排查", "to_screen": "应排查",
    "completion": "完成率", "term_duties": "学期工作", "required": "应完成", "done": "已完成",
    "psych_teacher": "心理健康辅导教师",
}


_GRADE_NUMBERS = "一二三四五六七八九"


def group_sort_key(key: str) -> tuple[int, str]:
    """Grades in school order (一年级 … 九年级, 高一 …), then anything else by name."""
    for i, ch in enumerate(_GRADE_NUMBERS):
        if key.startswith(f"{ch}年级"):
            return (i, key)
        if key.startswith(f"高{ch}"):
            return (20 + i, key)
    return (99, key)


def _group_keys(child: ChildState, cats: list[str], by: str) -> list[str]:
    rec = child.record
    if by == "grade":
        return [rec.grade]
    if by == "class":
        return [f"{rec.grade}{rec.class_name or ''}"]
    return list(cats)


def child_figures(child: ChildState, cats: list[str], ident: date | None, as_of: date, settings: Settings) -> Figures:
    f = Figures(filed=1, left_behind=int(LEFT_BEHIND in cats), hardship=int(HARDSHIP in cats), both=int(len(cats) == 2))
    start = ident or as_of
    visits = [v for v in child.visits if visit_from(start, settings) <= v <= as_of]
    f.visited = int(bool(visits))
    f.visited_in_time = int(any(v <= day_n(start, settings.home_visit_days) for v in visits))
    f.mentored = int(bool(child.record.mentor))
    f.psych = int(any(d <= as_of for d in child.care.get("心理疏导", [])))
    if LEFT_BEHIND in cats:
        f.entrusted = int(child.record.entrusted_carer is not None)
        since = as_of - timedelta(days=settings.contact_days)
        f.parents_reached = int(any(since < c.on <= as_of and c.with_whom == PARENT_AWAY for c in child.contacts))
    return f


def stats(state: State, as_of: date, settings: Settings, by: str | None = None) -> Stats:
    """The figures the plan and an inspection ask for, as of ``as_of``."""
    if by is not None and by not in GROUP_BY:
        raise InputError(f"未知的分组依据：{by}", "可选 grade（年级）、class（班级）、category（类别）。")
    out = Stats(as_of=as_of, settings=settings, by=by)
    active = [c for c in state.children if _is_active(c)]
    out.enrolled = len(active)
    for child in active:
        cats = categories(child, as_of)
        if by in ("grade", "class"):
            for key in _group_keys(child, cats, by):
                out.group_enrolled[key] = out.group_enrolled.get(key, 0) + 1
        if not cats:
            continue
        f = child_figures(child, cats, identified_on(child, state.rounds), as_of, settings)
        out.figures.add(f)
        if by:
            for key in _group_keys(child, cats, by):
                out.groups.setdefault(key, Figures()).add(f)
    out.groups = dict(sorted(out.groups.items(), key=lambda kv: group_sort_key(kv[0])))
    for case in state.cases:
        if case.since > as_of:
            continue
        if case.returned is not None and case.returned <= as_of:
            out.cases_closed += 1
        else:
            out.cases_open += 1
            out.cases_missing += int(case.whereabouts_unknown)
        out.cases_reported += int(any(r.on <= as_of for r in case.reports))
    rnd = current_round(state.rounds, as_of)
    if rnd is not None:
        ids = {c.id for c in active}
        screened = sum(1 for cid, d in rnd.screened.items() if cid in ids and d <= as_of)
        out.screening = {"term_start": rnd.term_start.isoformat(), "deadline": rnd.deadline.isoformat(),
                         "screened": screened, "to_screen": len(ids), "completion": _rate(screened, len(ids)),
                         "closed": rnd.closed is not None and rnd.closed <= as_of}
    _, term_start, term_end = term_of(as_of)
    out.duties_required = required_duties(active)
    out.duties_done = sorted({d.kind for d in state.duties if term_start <= d.on <= min(term_end, as_of)})
    out.psych_teacher = settings.psych_teacher
    return out


# --- screening outcome --------------------------------------------------------------------------


@dataclass
class ScreeningOutcome:
    on: date
    identified: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (id, name, categories)
    newly_identified: list[tuple[str, str, list[str]]] = field(default_factory=list)
    no_longer: list[tuple[str, str]] = field(default_factory=list)  # proposals: close as 存档备查
    not_screened: list[tuple[str, str]] = field(default_factory=list)
    #: neither category, but the parents' situation is not recorded (不详): cannot be decided, so
    #: not proposed for 存档备查 (a roster without 父亲状况 / 母亲状况 must not archive a school)
    undetermined: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"on": self.on.isoformat(),
                "identified": [{"id": i, "name": n, "categories": c} for i, n, c in self.identified],
                "newly_identified": [{"id": i, "name": n, "categories": c} for i, n, c in self.newly_identified],
                "no_longer_qualify": [{"id": i, "name": n} for i, n in self.no_longer],
                "not_screened": [{"id": i, "name": n} for i, n in self.not_screened],
                "undetermined": [{"id": i, "name": n} for i, n in self.undetermined]}


def parents_undetermined(record: ChildRecord) -> bool:
    """Whether 留守 cannot be decided: a parent's situation is unknown and no parent is known at home."""
    states = [getattr(p, "state", None) if p is not None else None for p in (record.father, record.mother)]
    return any(st in (None, "不详") for st in states) and "在家" not in states


def screening_outcome(state: State, rnd: Round, previous: Round | None) -> ScreeningOutcome:
    """Classification as of the round's date: who is identified, who is new, who no longer qualifies.

    "No longer qualifies": an active (在册) dossier that is neither 留守 nor 困境 on the round's
    date (parents back, 16th / 18th birthday passed) — proposed for 存档备查, applied only when
    confirmed.
    """
    on = rnd.term_start
    out = ScreeningOutcome(on)
    for child in state.children:
        if not _is_active(child):
            continue
        name = child.record.name
        if child.id not in rnd.screened:
            out.not_screened.append((child.id, name))
        cats = categories(child, on)
        before = categories(child, previous.term_start) if previous is not None else []
        if cats:
            out.identified.append((child.id, name, cats))
            if previous is None or not before:
                out.newly_identified.append((child.id, name, cats))
        elif parents_undetermined(child.record):
            out.undetermined.append((child.id, name))
        else:
            out.no_longer.append((child.id, name))
    return out
