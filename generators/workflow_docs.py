"""Documents the workflow produces, pre-filled from the archive's records.

- 控辍保学: the 1st / 2nd 劝返复学通知书 at each persuasion, the 辍学情况报告 or 去向不明报告
  from the case (the persuasion records become the report's 劝返记录, not retyped).
- ``generate supervision-report|circular --from-stats``: figures, tables, problems and
  rectifications from ``stats`` / ``due``, with a bar chart embedded in the .docx (and so the PDF).

All documents go through ``generate_batch`` (validation, rendering, 标签化 check, PDF, storage).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive import workflow as awf
from guanai.base.errors import InputError, StateError
from guanai.care import workflow as wf
from guanai.generators.generate import BatchResult, generate_batch

if TYPE_CHECKING:
    from guanai.archive.store import Archive

OFFICIAL_KINDS = ("dropout-report", "missing-report", "supervision-report", "circular", "leading-group-notice")
LEADING_GROUP = "县留守儿童困境儿童关爱救助保护工作领导小组"


def _first_error(result: BatchResult) -> None:
    if result.failed:
        f = result.failed[0]
        raise InputError(f"{f.message}", f.hint)


def next_doc_number(arc: Archive, settings: wf.Settings, year: int) -> str:
    """``<prefix>〔year〕N号``, N one more than the highest of that prefix and year in the archive."""
    if not settings.doc_prefix:
        raise InputError("未设置发文机关代字，无法自动编发文字号。",
                         "用 guanai settings set --doc-prefix 龙小 设置（发文字号如 龙小〔2026〕1号）；或直接给出发文字号："
                         "generate --from-stats 在表单文件中写“发文字号: 龙小〔2026〕1号”，absence 命令用 --doc-number。")
    pat = re.compile(rf"^{re.escape(settings.doc_prefix)}〔{year}〕([1-9]\d*)号$")
    highest = 0
    for kind in OFFICIAL_KINDS:
        for doc in arc.list_documents(kind=kind):
            if doc.meta.get("pdf_of"):
                continue
            number = str((arc.document_form(doc.id) or {}).get("发文字号", ""))
            m = pat.match(number)
            if m:
                highest = max(highest, int(m.group(1)))
    return f"{settings.doc_prefix}〔{year}〕{highest + 1}号"


def _guardian(entry: Any, given: str | None) -> str:
    who = (given or "").strip() or (entry.record.guardian.name if entry.record.guardian else "")
    if not who:
        raise InputError(f"{entry.record.name} 的档案中没有监护人，文书上无法填写。",
                         "加 --guardian 监护人姓名，或先用 guanai child update 登记监护人。")
    return str(who)


def _need_contact(settings: wf.Settings) -> None:
    if not settings.contact or not settings.contact_phone:
        raise InputError("未设置学校联系人或联系电话（通知书、报告上要写）。",
                         "用 guanai settings set --contact 姓名 --contact-phone 电话 设置。")


# --- 控辍保学 ------------------------------------------------------------------------------------


def issue_persuasion(arc: Archive, child_ref: str, on: dt.date, by: str, result: str, *, method: str = "上门",
                     return_by: dt.date | None = None, guardian: str | None = None,
                     pdf: bool = False) -> tuple[wf.Case, BatchResult | None]:
    """Record a persuasion and generate its 劝返复学通知书 (1st or 2nd), linked to the case."""
    arc.require("write")
    settings = awf.get_settings(arc)
    entry, case = awf.get_case(arc, child_ref)
    if case.whereabouts_unknown:
        raise StateError(f"{entry.record.name} 去向不明，无法送达劝返复学通知书。",
                         f"去向不明时应立即报告乡（镇）人民政府和派出所：guanai absence report {entry.id}")
    attempt = len(case.persuasions) + 1
    return_by = return_by or on + dt.timedelta(days=3)
    batch = None
    doc_id = None
    with arc.transaction():  # the notice and the persuasion record: both or neither
        if attempt <= 2:
            _need_contact(settings)
            form: dict[str, Any] = {"未到校起始日期": case.since, "劝返次数": attempt, "返校期限": return_by,
                                    "学校联系人": settings.contact, "联系电话": settings.contact_phone, "发出日期": on}
            form["监护人"] = _guardian(entry, guardian)
            batch = generate_batch(arc, "persuasion-notice", [form], child_ref=entry.id, pdf=pdf, today=on)
            _first_error(batch)
            doc_id = batch.ok[0].doc_id
        case = awf.add_persuasion(arc, entry.id, on, by, result, method=method, return_by=return_by, doc_id=doc_id)
    return case, batch


def issue_report(arc: Archive, child_ref: str, on: dt.date, *, reason: str = "", doc_number: str | None = None,
                 last_seen: str | None = None, last_seen_place: str | None = None, description: str = "",
                 guardian: str | None = None, pdf: bool = False) -> tuple[wf.Case, BatchResult]:
    """The 辍学情况报告 (or, whereabouts unknown, the 去向不明报告) from the case; refused with
    the rule's reason when the conditions are not met."""
    arc.require("write")
    settings = awf.get_settings(arc)
    entry, case = awf.get_case(arc, child_ref)
    refusal = awf.report_refusal(case, on)
    if refusal:
        from guanai.archive.resolve import unique_short_id

        ref = unique_short_id(arc, entry.id, "children")
        raise StateError(f"现在不能上报：{refusal}",
                         f"查看下一步：guanai due --child {ref}；劝返用 guanai absence persuade {ref} --by 教师 --result 未返校")
    _need_contact(settings)
    township = settings.township or "乡（镇）人民政府"
    number = doc_number or next_doc_number(arc, settings, on.year)
    name = entry.record.name
    school = arc.info.school_name
    form: dict[str, Any] = {"发文字号": number, "发文机关": school, "成文日期": on,
                            "联系人": settings.contact, "联系电话": settings.contact_phone}
    if settings.signer:  # an upward report (GB/T 9704 7.2.5); without the setting lint reminds
        form["签发人"] = settings.signer
    form["监护人"] = _guardian(entry, guardian)
    attempts: list[dict[str, Any]] = [{"日期": p.on, "方式": p.method, "参与人员": p.by, "结果": p.result}
                                      for p in case.persuasions]
    if case.whereabouts_unknown:
        kind, report_kind = "missing-report", "missing"
        police = settings.police or "当地派出所"
        form.update({"标题": f"关于{name}同学去向不明的报告", "主送机关": f"{township}、{police}",
                     "最后见到时间": last_seen or case.since.isoformat(),
                     "最后见到地点": last_seen_place or "",
                     "体貌特征": description,
                     "已采取的措施": "；".join(f"{a['日期'].isoformat()}{a['方式']}（{a['参与人员']}）：{a['结果']}"
                                          for a in attempts) or "学校已与监护人联系核实，监护人亦不知其下落。"})
        if not form["最后见到地点"]:
            raise InputError("去向不明报告须写明最后见到的地点。", "加 --place 地点（如 学校门口）。")
    else:
        kind, report_kind = "dropout-report", "dropout"
        form.update({"标题": f"关于{name}同学辍学情况的报告", "主送机关": township,
                     "未到校起始日期": case.since, "辍学原因": reason, "劝返记录": attempts,
                     "请求事项": "请乡（镇）人民政府启动劝返复学程序，督促其父母或其他监护人送其返校复学。"})
    with arc.transaction():  # the report and its entry in the case: both or neither
        batch = generate_batch(arc, kind, [form], child_ref=entry.id, pdf=pdf, today=on)
        _first_error(batch)
        case = awf.add_report(arc, entry.id, report_kind, on, batch.ok[0].doc_id)
    return case, batch


# --- --from-stats ---------------------------------------------------------------------------------

_PROBLEM_TEXT = {
    "home-visit": "{n} 名留守儿童困境儿童认定后尚未家访",
    "mentor": "{n} 名留守儿童困境儿童尚无帮扶教师",
    "entrusted-carer": "{n} 名留守儿童父母外出务工，未登记委托照护人",
    "carer-capacity": "{n} 名留守儿童的委托照护人照护能力不足",
    "entrusted-ending": "{n} 名留守儿童的委托照护即将到期或已到期",
    "parent-contact": "{n} 名留守儿童的外出务工家长未按期联系",
    "village": "{n} 名儿童的情况尚未通报村（居）委会",
    "missing-report": "{n} 名去向不明学生尚未报告乡（镇）人民政府和派出所",
    "dropout-report": "{n} 名旷课学生应上报乡（镇）人民政府启动劝返复学程序",
    "persuade-1": "{n} 名旷课学生尚未劝返",
    "persuade-2": "{n} 名旷课学生尚未第二次劝返",
    "screening": "开学排查尚未完成",
    "screening-start": "开学排查尚未开始",
    "psych-teacher": "尚未明确心理健康辅导教师",
    "duty-meeting": "本学期尚未召开家长会",
    "duty-parent-school": "本学期尚未举办家长学校专题讲座",
}


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def stats_form(arc: Archive, kind_id: str, as_of: dt.date, by: str | None = None,
               overrides: dict[str, Any] | None = None) -> tuple[dict[str, Any], wf.Stats]:
    """A supervision-report / circular form filled from ``stats`` and ``due`` as of ``as_of``."""
    if kind_id not in ("supervision-report", "circular"):
        raise InputError(f"--from-stats 只用于督查报告（supervision-report）和通报（circular），不能用于 {kind_id}。")
    settings = awf.get_settings(arc)
    state = awf.load_state(arc)
    st = wf.stats(state, as_of, settings, by)
    obligations = wf.due(state, as_of, settings)
    school = arc.info.school_name
    term, term_start, _ = wf.term_of(as_of)
    f = st.figures
    fd = f.to_dict()
    overview = (f"截至{as_of.year}年{as_of.month}月{as_of.day}日，{school}在册学生{st.enrolled}名，"
                f"建档留守儿童困境儿童{f.filed}名（留守儿童{f.left_behind}名、困境儿童{f.hardship}名，"
                f"其中既是留守儿童又是困境儿童{f.both}名）。认定后{settings.home_visit_days}天内家访{f.visited_in_time}名，"
                f"家访率{_pct(fd['visit_rate'])}；结对帮扶{f.mentored}名，结对帮扶率{_pct(fd['mentor_rate'])}；"
                f"开展心理疏导{f.psych}名，覆盖率{_pct(fd['psych_rate'])}；留守儿童登记委托照护人{f.entrusted}名；"
                f"{settings.contact_days}天内联系外出务工家长{f.parents_reached}名。"
                f"控辍保学案件进行中{st.cases_open}件、已结案{st.cases_closed}件、已上报乡（镇）{st.cases_reported}件。")
    if st.screening:
        overview += f"本学期排查{st.screening['screened']}/{st.screening['to_screen']}名。"
    rows: list[dict[str, Any]] = []
    if by and st.groups:
        for key, g in st.groups.items():
            enrolled = st.group_enrolled.get(key)
            rows.append({"学校": key, "在册人数": "" if enrolled is None else str(enrolled), "建档人数": str(g.filed), "结对帮扶人数": str(g.mentored),
                         "家访人数": str(g.visited)})
    rows.append({"学校": school if not rows else "合计", "在册人数": str(st.enrolled), "建档人数": str(f.filed),
                 "结对帮扶人数": str(f.mentored), "家访人数": str(f.visited)})
    counts = Counter(o.rule for o in obligations)
    problems = [(_PROBLEM_TEXT[rule].format(n=n)) for rule, n in counts.items() if rule in _PROBLEM_TEXT]
    deadline = as_of + dt.timedelta(days=7)
    rect = [{"要求": f"针对“{p}”，逐人（逐项）落实，完成后在系统中登记", "期限": deadline} for p in problems]
    if not rect:
        rect = [{"要求": "继续落实一人一卡一策，保持结对帮扶全覆盖、家访全覆盖", "期限": wf.term_of(as_of)[2]}]
    form: dict[str, Any] = {
        "发文机关": settings.county_org or school, "成文日期": as_of, "主送机关": LEADING_GROUP,
        "标题": (f"关于{school}留守儿童困境儿童关爱工作情况的报告" if kind_id == "supervision-report"
               else f"关于{term}留守儿童困境儿童关爱工作情况的通报"),
        "督查时间": f"{term_start.year}年{term_start.month}月{term_start.day}日至{as_of.year}年{as_of.month}月{as_of.day}日",
        "督查范围": f"{school}在册学生及建档留守儿童困境儿童", "督查方式": ["不定期督查"],
        "总体情况": overview, "各校情况": [{"学校": school, "情况": overview}], "数据表": rows,
        "存在问题": problems, "整改要求": rect,
    }
    over = dict(overrides or {})
    if "发文字号" not in over:
        form["发文字号"] = next_doc_number(arc, settings, as_of.year)
    if kind_id == "supervision-report" and not over.get("签发人"):
        # a report goes up (to the leading group): GB/T 9704 7.2.5 wants its 签发人 beside the 发文字号
        if not settings.signer:
            raise StateError("督查报告是上行文，须标注签发人，但尚未设置签发人。",
                             "用 guanai settings set --signer 李明 设置（一般为校长），或用 --signer 李明 指定，"
                             "或在表单文件中写“签发人”。")
        form["签发人"] = settings.signer
    form.update(over)
    return form, st


def generate_from_stats(arc: Archive, kind_id: str, forms: Sequence[Path | str], as_of: dt.date, *,
                        by: str | None = None, pdf: bool = False, out_dir: Path | None = None,
                        template_dir: Path | str | None = None, signer: str | None = None,
                        sign: bool = False) -> BatchResult:
    """``generate supervision-report|circular --from-stats``: one document whose figures come
    from ``stats`` (values in the given form files take precedence), with the bar chart.
    ``signer``: the 签发人 of a supervision report (else the form's, else the setting);
    ``sign``: its PDF signed by the school, as ``generate_batch`` does."""
    from guanai.generators.chart import bar_chart_png
    from guanai.generators.formsio import read_forms

    overrides: dict[str, Any] = {}
    for f in forms:
        for row in read_forms(f):
            overrides.update({k: v for k, v in row.data.items() if v not in (None, "")})
    if signer:
        overrides["签发人"] = signer
    form, st = stats_form(arc, kind_id, as_of, by, overrides)
    values = st.chart_values()
    if not values:
        raise StateError("没有可绘图的统计数据（尚无建档儿童）。", "先导入花名册并完成排查认定。")
    title = f"主要指标（截至{as_of.year}年{as_of.month}月{as_of.day}日）"
    png = bar_chart_png(values, title)

    return generate_batch(arc, kind_id, [form], pdf=pdf, out_dir=out_dir, template_dir=template_dir,
                          chart=(png, f"图1  {title}"), today=as_of, sign=sign)
