"""The county plan's rules (教体基〔2020〕9号, docs/POLICY.md): who is 留守 / 困境, with reasons.

Pure functions: the same record and date always give the same answer.

Age (周岁) follows Chinese law: a period counted in years starts the day after the start date
(民法典第二百零一条; 最高人民法院：“周岁……从周岁生日的第二天起算”). So on the day of the 16th
birthday a child is still “不满16周岁”; from the next day on, 16. A child born on 29 February has
the birthday of a common year on 1 March.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from guanai.base.errors import InputError
from guanai.care.model import HEALTH_UNKNOWN, NO_GUARDIAN_CAPACITY, ChildRecord, Parent

LEFT_BEHIND = "留守儿童"
HARDSHIP = "困境儿童"
LEFT_BEHIND_AGE = 16  # 不满16周岁
CHILD_AGE = 18  # 儿童：不满18周岁


@dataclass(frozen=True)
class Category:
    """A category the child belongs to, with the reasons (Chinese) that make it so."""

    name: str
    reasons: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)  # 困境 conditions (孤儿, 重病, ...)

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.name, "reasons": list(self.reasons), "conditions": list(self.conditions)}


def anniversary(birth: date, years: int) -> date:
    """The birthday ``years`` after ``birth`` (29 Feb -> 1 Mar in common years)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def full_years(birth: date, on: date) -> int:
    """周岁 on ``on``: N is reached on the day after the N-th birthday."""
    if on <= birth:
        return 0
    years = on.year - birth.year
    while years > 0 and not on > anniversary(birth, years):
        years -= 1
    return years


def reaches_age_on(birth: date, years: int) -> date:
    """The first day on which the child is ``years`` 周岁 (the day after that birthday)."""
    return anniversary(birth, years) + timedelta(days=1)


def _parent_text(role: str, p: Parent) -> str:
    if p.state == "外出务工" and p.workplace:
        return f"{role}外出务工（{p.workplace}）"
    return f"{role}{p.state}"


def _left_behind_reason(record: ChildRecord) -> str | None:
    f, m = record.father, record.mother
    if f is None or m is None:
        return None
    if f.state == "外出务工" and m.state == "外出务工":
        places = [x for x in (f.workplace, m.workplace) if x]
        where = f"（{'、'.join(dict.fromkeys(places))}）" if places else ""
        return f"父母均外出务工{where}"
    for away, other, away_role, other_role in ((f, m, "父亲", "母亲"), (m, f, "母亲", "父亲")):
        if away.state == "外出务工" and other.state in NO_GUARDIAN_CAPACITY:
            return f"{_parent_text(away_role, away)}，{other_role}{other.state}、无监护能力"
    return None


_ALIVE = ("在家", "外出务工")


def statement_conflicts(record: ChildRecord) -> list[str]:
    """Where what the 学籍系统 states (学籍留守登记, 学籍孤儿登记) disagrees with the record's other
    fields: reported for a person to check, never resolved silently."""
    out: list[str] = []
    f, m = record.father, record.mother
    states = {role: p.state for role, p in (("父亲", f), ("母亲", m)) if p is not None and p.state != "不详"}
    away = [role for role, st in states.items() if st == "外出务工"]
    reg = record.registry_left_behind
    if reg == "双亲留守儿童":
        home = [f"{role}{st}" for role, st in states.items() if st != "外出务工"]
        if home:
            out.append(f"学籍系统登记为双亲留守儿童，但记录为{'、'.join(home)}")
    elif reg == "单亲留守儿童":
        if len(away) == 2:
            out.append("学籍系统登记为单亲留守儿童，但记录为父母均外出务工")
        elif len(states) == 2 and not away:
            out.append(f"学籍系统登记为单亲留守儿童，但记录为父亲{states['父亲']}、母亲{states['母亲']}")
    elif reg == "非留守儿童":
        by_states = _left_behind_reason(record)
        if by_states is not None:
            out.append(f"学籍系统登记为非留守儿童，但记录为{by_states}")
    if record.registry_orphan is True:
        alive = [f"{role}{st}" for role, st in states.items() if st in _ALIVE]
        if alive:
            out.append(f"学籍系统登记为孤儿，但记录为{'、'.join(alive)}")
    elif record.registry_orphan is False and states.get("父亲") == "去世" and states.get("母亲") == "去世":
        out.append("学籍系统登记为非孤儿，但记录为父母均已去世")
    return out


def _left_behind_reasons(record: ChildRecord) -> list[str]:
    """Why the child is 留守 (empty when not): the parents' recorded states, and what the 学籍系统
    states. A 学籍 单亲留守 alone is not enough: the plan needs the other parent to lack capacity."""
    reasons: list[str] = []
    by_states = _left_behind_reason(record)
    if by_states is not None:
        reasons.append(by_states)
    # a statement the recorded parent states contradict does not count (the school's own screening
    # is newer); the contradiction is reported by statement_conflicts / care_gaps
    contradicted = any(c.startswith("学籍系统登记为双亲留守儿童") for c in statement_conflicts(record))
    if record.registry_left_behind == "双亲留守儿童" and not contradicted:
        reasons.append("学籍系统登记为双亲留守儿童")
    elif record.registry_left_behind == "单亲留守儿童" and by_states is not None:
        reasons.append("学籍系统登记为单亲留守儿童")
    return reasons


def _hardship_conditions(record: ChildRecord) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = [(h, f"登记的困境情形：{h}") for h in record.hardship]
    if record.registry_orphan and not any(c.startswith("学籍系统登记为孤儿") for c in statement_conflicts(record)):
        found.append(("孤儿", "学籍系统登记为孤儿"))
    f, m = record.father, record.mother
    if f is not None and m is not None:
        if f.state == "去世" and m.state == "去世":
            found.append(("孤儿", "父母均已去世"))
        elif f.state in NO_GUARDIAN_CAPACITY and m.state in NO_GUARDIAN_CAPACITY:
            found.append(("事实无人抚养", f"父亲{f.state}，母亲{m.state}，均无法履行抚养义务"))
    h = record.health
    if h.severely_disabled:
        found.append(("重残", f"身体状况：{h.disability_kind}残疾{h.disability_grade}"))
    if h.seriously_ill:
        found.append(("重病", f"身体状况：患{h.illness}（重病）"))
    seen: dict[str, list[str]] = {}
    for name, reason in found:
        seen.setdefault(name, [])
        if reason not in seen[name]:
            seen[name].append(reason)
    return [(name, "；".join(reasons)) for name, reasons in seen.items()]


def classify(record: ChildRecord, on: date) -> list[Category]:
    """Categories of the child on ``on`` (留守儿童, 困境儿童, both or none), with reasons."""
    birth = record.birth_date
    if birth is None:  # the model always derives it; keep the type checker and callers honest
        raise InputError(f"{record.name}：缺少出生日期，无法分类。", "填写身份证号或出生日期。")
    if on < birth:
        raise InputError(f"分类日期 {on.isoformat()} 早于出生日期 {birth.isoformat()}。", "检查 --on 日期。")
    age = full_years(birth, on)
    out: list[Category] = []
    left = _left_behind_reasons(record)
    if left and age < LEFT_BEHIND_AGE:
        conflicts = [f"待核实：{c}" for c in statement_conflicts(record) if "留守" in c]
        out.append(Category(LEFT_BEHIND, [*left, f"未满16周岁（{on.isoformat()} 时 {age} 周岁）", *conflicts]))
    conditions = _hardship_conditions(record)
    if conditions and age < CHILD_AGE:
        reasons = [f"{name}：{why}" for name, why in conditions]
        reasons.append(f"未满18周岁（{on.isoformat()} 时 {age} 周岁）")
        if out:
            reasons.append("同时为留守儿童，纳入困境儿童保障范围")
        reasons += [f"待核实：{c}" for c in statement_conflicts(record) if "孤儿" in c]
        out.append(Category(HARDSHIP, reasons, [name for name, _ in conditions]))
    return out


def category_names(record: ChildRecord, on: date) -> list[str]:
    return [c.name for c in classify(record, on)]


def care_gaps(record: ChildRecord, on: date) -> list[str]:
    """What the plan requires for this child but the record lacks (reminders, Chinese)."""
    cats = category_names(record, on)
    gaps: list[str] = [f"{c}，请核实后更正" for c in statement_conflicts(record)]
    if record.registry_left_behind == "单亲留守儿童" and LEFT_BEHIND not in cats:
        gaps.append("学籍系统登记为单亲留守儿童：请核实另一方是否有监护能力（一方外出务工、另一方无监护能力"
                    "才认定为留守儿童），并登记父母状况")
    if not cats:
        return gaps
    if not record.mentor:
        gaps.append("未指定帮扶教师（实施方案：每位在校留守儿童困境儿童都有帮扶教师）")
    if LEFT_BEHIND in cats:
        carer = record.entrusted_carer
        if carer is None:
            gaps.append("父母外出务工，未登记委托照护人（应委托有照护能力的成年人，并告知村（居）委会和学校）")
        elif carer.capacity in ("较差", "无"):
            gaps.append(f"委托照护人{carer.name}照护能力“{carer.capacity}”，应通知父母另行委托有照护能力的成年人")
    if not record.village_committee:
        gaps.append("未登记村（居）委会（排查认定后应向村（居）委会通报情况）")
    if record.health.state == HEALTH_UNKNOWN:  # 重残 / 重病 make a child 困境: the category may be incomplete
        gaps.append("身体状况未登记（残疾或重病的儿童属于困境儿童），请核实后登记")
    return gaps


# --- 控辍保学 (三（二）), screening (三（一）), coverage (三（七）) ---------------------------------

DROPOUT_DAYS = 7  # “无故旷课一周以上”; 以上 includes the number itself (民法典第一千二百五十九条)
DROPOUT_PERSUASIONS = 2  # “经学校两次劝返未果”


@dataclass(frozen=True)
class Action:
    """A step the plan requires, with whom it goes to and why."""

    step: str
    to: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"step": self.step, "to": self.to, "reason": self.reason}


def dropout_actions(absent_since: date, on: date, failed_persuasions: int,
                    whereabouts_known: bool = True) -> list[Action]:
    """What the school must do about an unexcused absence (控辍保学), as of ``on``."""
    if on < absent_since:
        raise InputError(f"日期 {on.isoformat()} 早于旷课开始日期 {absent_since.isoformat()}。", "检查日期。")
    if failed_persuasions < 0:
        raise InputError("劝返次数不能为负数。")
    days = (on - absent_since).days + 1  # both the first and the current day count
    actions = [Action("立即追问原因并采取相关措施", "学生家长或其他监护人",
                      f"已无故旷课 {days} 天（发现学生旷课等情况要立即追问）")]
    if not whereabouts_known:
        actions.append(Action("学校和学生父母或其他监护人共同报告，查找下落", "乡（镇）人民政府、当地派出所",
                              "学生具体去向不明"))
    if days >= DROPOUT_DAYS:
        if failed_persuasions >= DROPOUT_PERSUASIONS:
            actions.append(Action("上报，启动劝返复学程序", "乡（镇）人民政府",
                                  f"无故旷课一周以上（{days} 天）且经学校{failed_persuasions}次劝返未果"))
        else:
            actions.append(Action(f"继续劝返（已劝返 {failed_persuasions} 次；两次未果须上报乡（镇）人民政府）",
                                  "学生家长或其他监护人", f"无故旷课一周以上（{days} 天）"))
    return actions


def screening_deadline(term_start: date) -> date:
    """Last day of the screening (排查) that must happen within one week of a term's start."""
    if term_start.month not in (2, 3, 8, 9):
        raise InputError(f"开学日期 {term_start.isoformat()} 不在春季（3月）或秋季（9月）学期开始前后。",
                         "实施方案：每年 3 月和 9 月开学一周内集中排查。")
    return term_start + timedelta(days=6)


@dataclass
class Coverage:
    """Figures for inspection: how many children in the dossier, and mentor coverage (must be 100%)."""

    total: int = 0
    left_behind: int = 0
    hardship: int = 0
    both: int = 0
    with_mentor: int = 0
    without_mentor: list[str] = field(default_factory=list)  # names, for the school's own follow-up

    @property
    def mentor_rate(self) -> float:
        return 1.0 if self.total == 0 else self.with_mentor / self.total

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "left_behind": self.left_behind, "hardship": self.hardship,
                "both": self.both, "with_mentor": self.with_mentor,
                "mentor_rate": round(self.mentor_rate, 4), "without_mentor": list(self.without_mentor)}


def coverage(records: list[ChildRecord], on: date) -> Coverage:
    """Coverage among the given (active) records that are 留守 or 困境 on ``on``."""
    out = Coverage()
    for record in records:
        names = category_names(record, on)
        if not names:
            continue
        out.total += 1
        out.left_behind += LEFT_BEHIND in names
        out.hardship += HARDSHIP in names
        out.both += len(names) == 2
        if record.mentor:
            out.with_mentor += 1
        else:
            out.without_mentor.append(record.name)
    return out
