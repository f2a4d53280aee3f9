"""Demo step for the plan's work: screening, 待办, mentors, a 控辍保学 case, figures, 台账."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guanai.archive.store import Archive


def _term_start(today: date) -> date:
    if today.month >= 9:
        return date(today.year, 9, 1)
    if today.month >= 3:
        return date(today.year, 3, 1)
    return date(today.year - 1, 9, 1)


def run_demo(arc: Archive, workdir: Path, passphrase: str, echo: Callable[[str], None]) -> None:
    from guanai.archive import workflow as awf
    from guanai.base.fsutil import atomic_write
    from guanai.care.workflow import RULE_NAMES
    from guanai.generators.ledger import ledger_sheets, workbook_bytes
    from guanai.generators.workflow_docs import generate_from_stats, issue_persuasion, issue_report

    today = date.today()
    awf.set_settings(arc, psych_teacher="陈静", township="龙城镇人民政府", police="龙城派出所", contact="王丽",
                     contact_phone="0557-5011234", doc_prefix="龙小", county_org="萧县教育体育局", signer="李明")
    echo("设置：认定后 7 天内家访，每 30 天联系外出务工家长，心理健康辅导教师 陈静，发文机关代字 龙小，签发人 李明。")
    start = _term_start(today)
    if awf.open_round(arc) is None:
        awf.start_round(arc, start, start)
    active = arc.list_children(status="在册")
    awf.mark_screened(arc, [e.id for e in active], start + timedelta(days=1))
    outcome, _ = awf.close_round(arc, start + timedelta(days=3))
    echo(f"开学排查（开学 {start.isoformat()}，截止 {(start + timedelta(days=6)).isoformat()}）：在册 {len(active)} 名，"
         f"认定 {len(outcome.identified)} 名，建议存档备查 {len(outcome.no_longer)} 名（未确认，档案不动）。")

    # home visits in the week after identification for all but three of the identified children
    # (one batch, each form filled from the child's record; the three left show up in 待办)
    from guanai.generators.generate import generate_batch

    ids = [i for i, _, _ in outcome.identified]
    visited = [e for e in active if e.id in set(ids[:-3]) and e.record.guardian]
    if visited:
        day = start + timedelta(days=4)
        forms = []
        for e in visited:
            g = e.record.guardian
            assert g is not None
            forms.append({"家访日期": day.isoformat(), "家访形式": "上门", "家访教师": ["王丽"],
                          "会见人员": [{"姓名": g.name, "关系": g.relation}],
                          "家庭情况": "监护人照料，生活正常。", "已告知村（居）委会": True,
                          "告知对象": e.record.village_committee or "村民委员会", "告知日期": day.isoformat()})
        done = 0
        for e, form in zip(visited, forms, strict=True):
            res = generate_batch(arc, "home-visit", [form], child_ref=e.id)
            done += len(res.ok)
        echo(f"家访：开学第 5 天家访 {done} 名认定儿童并告知村（居）委会（生成家访记录表）；其余 {len(ids) - done} 名留在待办中。")

    todo = awf.due(arc, today)
    counts = Counter(RULE_NAMES.get(o.rule, o.rule) for o in todo)
    echo(f"待办（{today.isoformat()}）：共 {len(todo)} 项，逾期 {sum(1 for o in todo if o.overdue_days)} 项。")
    for title, n in counts.most_common(5):
        echo(f"  {title}：{n} 项")

    for name in ("王丽", "李强", "赵敏"):
        if awf.find_teacher(arc, name) is None:
            awf.add_teacher(arc, name)
    without = [e.id for e in active if not e.record.mentor and e.id in {i for i, _, _ in outcome.identified}]
    for k, name in enumerate(("王丽", "李强", "赵敏")):
        part = without[k::3]
        if part:
            awf.assign(arc, part, name, start + timedelta(days=4))
    if without:
        echo(f"帮扶教师：王丽、李强、赵敏结对 {len(without)} 名此前没有帮扶教师的儿童。")
    else:
        echo("帮扶教师：登记王丽、李强、赵敏；认定的儿童都已有帮扶教师（guanai mentor list 查看）。")

    identified = [e for e in active if e.id in {i for i, _, _ in outcome.identified} and e.record.guardian]
    if identified:
        pupil = identified[0]
        since = today - timedelta(days=9)
        if awf.open_case_record(arc, pupil.id) is None:
            awf.open_case(arc, pupil.id, since, on=since)
            issue_persuasion(arc, pupil.id, since, "王丽", "家长称孩子不愿上学，未返校")
            issue_persuasion(arc, pupil.id, since + timedelta(days=4), "王丽", "未返校", method="电话")
            _case, batch = issue_report(arc, pupil.id, today, reason="厌学")
            echo(f"控辍保学：{pupil.record.name} 自 {since.isoformat()} 旷课，两次劝返（生成两份劝返复学通知书）未果，"
                 f"第 10 天生成《{batch.ok[0].title}》报乡镇；儿童列表中显示“{awf.case_labels(arc)[pupil.id]}”。")

    st = awf.stats(arc, today).to_dict()

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{100 * v:.1f}%"

    echo(f"统计：建档 {st['filed']} 名（留守 {st['left_behind']}、困境 {st['hardship']}），家访率 {pct(st['visit_rate'])}，"
         f"结对帮扶率 {pct(st['mentor_rate'])}，控辍保学进行中 {st['cases']['open']} 件。")
    result = generate_from_stats(arc, "supervision-report", [], today, out_dir=Path(workdir))
    if result.ok and result.ok[0].out_path is not None:
        echo(f"由统计生成督查报告（含统计图）：{result.ok[0].out_path.name}")
    ledger = Path(workdir) / "关爱台账.xlsx"
    atomic_write(ledger, workbook_bytes(ledger_sheets(arc, today)))
    echo(f"台账工作簿：{ledger.name}（儿童、家访、控辍保学、帮扶教师、结对记录、家校联系、学期工作）")
