"""``guanai absence``: 控辍保学 cases (实施方案三（二）): absence → persuasions → report → return."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from guanai.cli.common import echo_json, echo_table, json_option, with_archive
from guanai.cli.workflow import date_option, parse_day

if TYPE_CHECKING:
    from guanai.archive.store import Archive
    from guanai.care.workflow import Case


def _case_dict(name: str, case: Case) -> dict[str, Any]:
    return {"id": case.id, "child_id": case.child_id, "child_name": name, "since": case.since.isoformat(),
            "whereabouts_unknown": case.whereabouts_unknown, "state": case.label() if case.open else "已复学",
            "persuasions": [{"date": p.on.isoformat(), "by": p.by, "method": p.method, "result": p.result,
                             "return_by": p.return_by.isoformat() if p.return_by else None} for p in case.persuasions],
            "reports": [{"kind": "辍学情况报告" if r.kind == "dropout" else "去向不明报告", "date": r.on.isoformat(),
                         "doc_id": r.doc_id} for r in case.reports],
            "returned": case.returned.isoformat() if case.returned else None}


def _next_step(arc: Archive, case: Case, on: Any) -> None:
    from guanai.archive.workflow import get_settings
    from guanai.care.workflow import State, due

    todo = [o for o in due(State(cases=[case]), on, get_settings(arc)) if o.child_id == case.child_id]
    from guanai.archive.resolve import unique_short_id

    short = unique_short_id(arc, case.child_id, "children")  # as `guanai child list` shows it
    for o in todo:
        click.echo(f"下一步：{o.title}（期限 {o.due.isoformat()}）：{o.command.replace(case.child_id, short)}")


@click.group("absence")
def absence() -> None:
    """控辍保学：旷课立案、劝返（生成劝返复学通知书）、上报乡镇、复学结案。

    \b
    示例：
      guanai absence open G341322201203050012 --since 2026-10-08
      guanai absence persuade G341322201203050012 --date 2026-10-08 --by 王老师 --result 家长称孩子不愿上学
      guanai absence report G341322201203050012 --date 2026-10-14 --reason 厌学
      guanai absence close G341322201203050012 --returned 2026-10-20
    """


@absence.command("open")
@click.argument("child_ref")
@click.option("--since", required=True, help="无故旷课的第一天，如 2026-10-08。")
@click.option("--whereabouts-unknown", is_flag=True, help="学生具体去向不明（须立即报告乡镇政府和派出所）。")
@date_option("立案日期（默认今天）。")
@json_option
@with_archive(write=True)
def open_cmd(arc: Archive, child_ref: str, since: str, whereabouts_unknown: bool, on: str | None, as_json: bool) -> None:
    """立案：学生无故旷课。

    \b
    示例：
      guanai absence open G341322201203050012 --since 2026-10-08
      guanai absence open G341322201203050012 --since 2026-10-08 --whereabouts-unknown
    """
    from guanai.archive.workflow import open_case

    start = parse_day(since, "--since 旷课开始日期")
    day = parse_day(on) if on else start
    case = open_case(arc, child_ref, start, whereabouts_unknown=whereabouts_unknown, on=day)
    name = arc.get_child(case.child_id).record.name
    if as_json:
        echo_json(_case_dict(name, case))
        return
    click.echo(f"已立案：{name}，自 {start.isoformat()} 起无故旷课（{case.label()}）。")
    _next_step(arc, case, day)


@absence.command("persuade")
@click.argument("child_ref")
@click.option("--by", required=True, help="劝返的教师。")
@click.option("--result", required=True, help="劝返结果，如 家长表示明天送回、未返校。")
@click.option("--method", default="上门", show_default=True, help="方式：上门、电话、视频……")
@click.option("--return-by", default=None, help="通知书上的返校期限（默认劝返后第 3 天）。")
@click.option("--guardian", default=None, help="监护人姓名（档案中没有时须填写）。")
@click.option("--pdf", is_flag=True, help="通知书同时转换为 PDF。")
@date_option("劝返日期（默认今天）。")
@json_option
@with_archive(write=True)
def persuade(arc: Archive, child_ref: str, by: str, result: str, method: str, return_by: str | None,
             guardian: str | None, pdf: bool, on: str | None, as_json: bool) -> None:
    """记录一次劝返，并生成第一次 / 第二次劝返复学通知书（由档案预填，归档并关联）。

    \b
    示例：
      guanai absence persuade G341322201203050012 --date 2026-10-08 --by 王老师 --result 未返校
      guanai absence persuade G341322201203050012 --by 王老师 --method 电话 --result 家长在外地，未返校
    """
    from guanai.generators.workflow_docs import issue_persuasion

    day = parse_day(on)
    case, batch = issue_persuasion(arc, child_ref, day, by, result, method=method,
                                   return_by=parse_day(return_by, "--return-by 返校期限") if return_by else None,
                                   guardian=guardian, pdf=pdf)
    name = arc.get_child(case.child_id).record.name
    if as_json:
        echo_json({**_case_dict(name, case), "notice_doc_id": batch.ok[0].doc_id if batch else None})
        return
    n = len(case.persuasions)
    doc = f"，已生成{batch.ok[0].title}（文档 {batch.ok[0].doc_id[:8]}）" if batch and batch.ok[0].doc_id else ""
    click.echo(f"已记录第 {n} 次劝返（{name}）{doc}。")
    _next_step(arc, case, day)


@absence.command("report")
@click.argument("child_ref")
@click.option("--reason", default="", help="辍学原因（辍学情况报告）。")
@click.option("--doc-number", default=None, help="发文字号（默认按设置的发文机关代字自动编号）。")
@click.option("--place", "place", default=None, help="最后见到的地点（去向不明报告）。")
@click.option("--last-seen", default=None, help="最后见到的时间（去向不明报告，默认旷课开始日期）。")
@click.option("--description", default="", help="体貌特征（去向不明报告）。")
@click.option("--guardian", default=None, help="监护人姓名（档案中没有时须填写）。")
@click.option("--pdf", is_flag=True, help="同时转换为 PDF。")
@date_option("报告日期（默认今天）。")
@json_option
@with_archive(write=True)
def report(arc: Archive, child_ref: str, reason: str, doc_number: str | None, place: str | None,
           last_seen: str | None, description: str, guardian: str | None, pdf: bool, on: str | None,
           as_json: bool) -> None:
    """上报：生成辍学情况报告（报乡镇政府）或去向不明报告（报乡镇政府和派出所），劝返记录自动引用。

    无故旷课未满一周或劝返不足两次时拒绝，并说明依据；去向不明的可立即上报。

    \b
    示例：
      guanai absence report G341322201203050012 --date 2026-10-14 --reason 厌学，沉迷网络
      guanai absence report G341322201203050012 --place 学校门口 --description 身高约150厘米
    """
    from guanai.generators.workflow_docs import issue_report

    day = parse_day(on)
    case, batch = issue_report(arc, child_ref, day, reason=reason, doc_number=doc_number, last_seen=last_seen,
                               last_seen_place=place, description=description, guardian=guardian, pdf=pdf)
    name = arc.get_child(case.child_id).record.name
    g = batch.ok[0]
    if as_json:
        echo_json({**_case_dict(name, case), "report_doc_id": g.doc_id, "pdf_doc_id": g.pdf_doc_id})
        return
    click.echo(f"已生成并归档：{g.title}（文档 {g.doc_id[:8] if g.doc_id else ''}）。{name} 的状态：{case.label()}。")


@absence.command("close")
@click.argument("child_ref")
@click.option("--returned", required=True, help="复学（返校）日期。")
@click.option("--note", default="", help="备注。")
@json_option
@with_archive(write=True)
def close_cmd(arc: Archive, child_ref: str, returned: str, note: str, as_json: bool) -> None:
    """结案：学生已复学。

    \b
    示例：
      guanai absence close G341322201203050012 --returned 2026-10-20
    """
    from guanai.archive.workflow import close_case

    case = close_case(arc, child_ref, parse_day(returned, "--returned 复学日期"), note)
    name = arc.get_child(case.child_id).record.name
    if as_json:
        echo_json(_case_dict(name, case))
        return
    click.echo(f"已结案：{name} 于 {returned} 复学。")


@absence.command("list")
@click.option("--all", "all_", is_flag=True, help="包括已结案的。")
@json_option
@with_archive()
def list_cmd(arc: Archive, all_: bool, as_json: bool) -> None:
    """列出控辍保学案件（默认只列进行中的）。

    \b
    示例：
      guanai absence list
      guanai absence list --all --json
    """
    from guanai.archive.workflow import list_cases

    rows = [_case_dict(e.record.name, c) for e, c in list_cases(arc, include_closed=all_)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("没有进行中的控辍保学案件。" if not all_ else "没有控辍保学案件。")
        return
    echo_table([[r["child_name"], r["since"], r["state"], str(len(r["persuasions"])),
                 "、".join(x["kind"] for x in r["reports"]) or "—", r["returned"] or "—"] for r in rows],
               ["儿童", "旷课起始", "状态", "劝返次数", "上报", "复学"])
