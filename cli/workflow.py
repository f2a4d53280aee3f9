"""``guanai due`` / ``stats`` / ``settings`` / ``contact`` / ``duty`` / ``ledger``: the plan's work."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from guanai.base.errors import InputError
from guanai.cli.common import echo_json, echo_table, json_option, with_archive

if TYPE_CHECKING:
    from guanai.archive.store import Archive


def parse_day(value: str | None, label: str = "日期") -> date:
    """A date option (default today) with a Chinese message when it is not a date."""
    from guanai.archive.workflow import to_date

    return to_date(value, label, default=date.today())


def as_of_option(fn: Any) -> Any:
    return click.option("--as-of", "as_of", default=None, help="按此日期计算（默认今天），如 2026-09-08。")(fn)


def date_option(help_: str = "日期（默认今天），如 2026-09-01。") -> Any:
    return click.option("--date", "on", default=None, help=help_)


def write_xlsx(path: str, sheets: list[Any]) -> None:
    from guanai.base.fsutil import atomic_write
    from guanai.generators.ledger import workbook_bytes

    p = Path(path)
    if p.suffix.lower() != ".xlsx":
        raise InputError(f"导出文件须以 .xlsx 结尾：{path}", "例如 --xlsx 待办.xlsx")
    if p.is_dir():
        raise InputError(f"{path} 是目录。", "给出文件名，例如 --xlsx 待办.xlsx")
    atomic_write(p, workbook_bytes(sheets))


# --------------------------------------------------------------------------- due


@click.command("due")
@as_of_option
@click.option("--child", "child_ref", default=None, help="只列某儿童的事项（编号、学籍号或身份证号）。")
@click.option("--overdue", is_flag=True, help="只列已逾期的事项。")
@click.option("--xlsx", "xlsx", default=None, type=click.Path(dir_okay=False), help="同时导出到 Excel 文件。")
@json_option
@with_archive()
def due(arc: Archive, as_of: str | None, child_ref: str | None, overdue: bool, xlsx: str | None,
        as_json: bool) -> None:
    """待办：按实施方案列出所有未办结的事项、期限、逾期天数和办理命令。

    包括：认定后 N 天内家访（默认 7 天，guanai settings set --home-visit-days 设置）、
    帮扶教师、委托照护人、通报村（居）委会、委托到期、联系外出务工家长（默认每 30 天）、
    开学排查、控辍保学各步骤、家长会与家长学校、心理健康辅导教师。

    \b
    示例：
      guanai due
      guanai due --as-of 2026-09-08 --json
      guanai due --xlsx 待办.xlsx
      guanai due --child G341322201203050012 --overdue
    """
    from guanai.archive import workflow as awf

    day = parse_day(as_of, "--as-of 日期")
    items = awf.due(arc, day)
    if child_ref:
        cid = arc.get_child(child_ref).id
        items = [o for o in items if o.child_id == cid]
    if overdue:
        items = [o for o in items if o.overdue_days]
    if xlsx:
        arc.require("export")
        from guanai.generators.ledger import due_sheet

        write_xlsx(xlsx, [due_sheet(items)])
    if as_json:
        echo_json({"as_of": day.isoformat(), "obligations": [o.to_dict() for o in items]})
        return
    if not items:
        click.echo(f"截至 {day.isoformat()} 没有待办事项。")
        return
    from guanai.archive.resolve import short_ids

    shorts = short_ids(arc, "children")  # the ids `guanai child list` shows; --json keeps the full ones

    def command(o: Any) -> str:
        return o.command.replace(o.child_id, shorts.get(o.child_id, o.child_id)) if o.child_id else o.command

    echo_table([[o.due.isoformat(), f"逾期{o.overdue_days}天" if o.overdue_days else "未逾期", o.child_name or "（学校）",
                 o.title, command(o)] for o in items], ["期限", "状态", "儿童", "事项", "办理"])
    n_overdue = sum(1 for o in items if o.overdue_days)
    click.echo(f"共 {len(items)} 项，其中逾期 {n_overdue} 项。" + (f"已导出到 {xlsx}。" if xlsx else ""))


# --------------------------------------------------------------------------- stats


@click.command("stats")
@as_of_option
@click.option("--by", type=click.Choice(["grade", "class", "category"]), default=None,
              help="分组：grade 年级、class 班级、category 类别。")
@click.option("--xlsx", "xlsx", default=None, type=click.Path(dir_okay=False), help="同时导出到 Excel 文件。")
@json_option
@with_archive()
def stats(arc: Archive, as_of: str | None, by: str | None, xlsx: str | None, as_json: bool) -> None:
    """统计：建档人数、家访率、结对帮扶率、心理疏导覆盖、委托照护、控辍保学、排查完成、家长联系、学期工作。

    \b
    示例：
      guanai stats
      guanai stats --as-of 2026-10-31 --by grade
      guanai stats --json
      guanai stats --by class --xlsx 统计.xlsx
    """
    from guanai.archive import workflow as awf

    day = parse_day(as_of, "--as-of 日期")
    st = awf.stats(arc, day, by)
    if xlsx:
        arc.require("export")
        from guanai.generators.ledger import stats_sheets

        write_xlsx(xlsx, stats_sheets(st))
    d = st.to_dict()
    if as_json:
        echo_json(d)
        return

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{100 * v:.1f}%"

    f = d
    click.echo(f"统计日期：{f['as_of']}    在册学生：{f['enrolled']}")
    click.echo(f"建档儿童：{f['filed']}（留守 {f['left_behind']}，困境 {f['hardship']}，留守且困境 {f['both']}）")
    click.echo(f"家访率（认定后 {f['home_visit_days']} 天内）：{pct(f['visit_rate'])}（{f['visited_in_time']}/{f['filed']}，"
               f"已家访 {f['visited']}）")
    click.echo(f"结对帮扶率：{pct(f['mentor_rate'])}（{f['mentored']}/{f['filed']}）")
    click.echo(f"心理疏导覆盖率：{pct(f['psych_rate'])}（{f['psych']}/{f['filed']}）")
    click.echo(f"委托照护登记率：{pct(f['entrusted_rate'])}（{f['entrusted']}/{f['left_behind']}）")
    click.echo(f"家长联系率（{f['contact_days']} 天内）：{pct(f['parent_contact_rate'])}（{f['parents_reached']}/{f['left_behind']}）")
    c = f["cases"]
    click.echo(f"控辍保学：进行中 {c['open']}（去向不明 {c['whereabouts_unknown']}），已结案 {c['closed']}，已上报乡镇 {c['reported']}")
    s = f["screening"]
    if s:
        click.echo(f"排查：{s['screened']}/{s['to_screen']}（{pct(s['completion'])}），截止 {s['deadline']}"
                   + ("，已结束" if s["closed"] else ""))
    t = f["term_duties"]
    click.echo(f"学期工作：已完成 {'、'.join(t['done']) or '无'}（应完成 {'、'.join(t['required'])}）；"
               f"心理健康辅导教师：{t['psych_teacher'] or '未指定'}")
    if by:
        groups = f["groups"]["groups"]
        echo_table([[k, str(g["enrolled"] if g["enrolled"] is not None else "—"), str(g["filed"]), pct(g["visit_rate"]),
                     pct(g["mentor_rate"]), pct(g["psych_rate"])] for k, g in groups.items()],
                   ["分组", "在册", "建档", "家访率", "结对帮扶率", "心理疏导"])
    if xlsx:
        click.echo(f"已导出到 {xlsx}。")


# --------------------------------------------------------------------------- settings


@click.group("settings")
def settings() -> None:
    """关爱工作设置：家访期限、家长联系间隔、心理健康辅导教师、乡镇与派出所名称、联系人、发文字号。

    \b
    示例：
      guanai settings show
      guanai settings set --home-visit-days 7 --psych-teacher 李老师 --township 龙城镇人民政府
    """


def _show(values: dict[str, Any], as_json: bool) -> None:
    from guanai.care.workflow import SETTING_LABELS

    if as_json:
        echo_json(values)
        return
    for k, v in values.items():
        click.echo(f"{SETTING_LABELS[k]}：{v if v not in ('', None) else '（未设置）'}")


@settings.command("show")
@json_option
@with_archive()
def settings_show(arc: Archive, as_json: bool) -> None:
    """显示设置。

    \b
    示例：
      guanai settings show --json
    """
    from guanai.archive.workflow import get_settings

    _show(get_settings(arc).to_dict(), as_json)


@settings.command("set")
@click.option("--home-visit-days", type=int, default=None, help="认定后多少天内须家访（默认 7）。")
@click.option("--contact-days", type=int, default=None, help="外出务工家长至少每多少天联系一次（默认 30，即每月）。")
@click.option("--psych-teacher", default=None, help="本校心理健康辅导教师姓名。")
@click.option("--township", default=None, help="乡（镇）人民政府名称，如 龙城镇人民政府。")
@click.option("--police", default=None, help="当地派出所名称，如 龙城派出所。")
@click.option("--contact", default=None, help="通知书、报告上的学校联系人。")
@click.option("--contact-phone", default=None, help="学校联系电话。")
@click.option("--doc-prefix", default=None, help="发文机关代字，如 龙小（发文字号 龙小〔2026〕1号）。")
@click.option("--county-org", default=None, help="主管部门，如 萧县教育体育局（督查报告、通报的发文机关）。")
@click.option("--signer", default=None,
              help="签发人（一般为校长），标注在督查报告、辍学情况报告等上行文的发文字号右侧；多人用“、”分隔。")
@json_option
@with_archive(write=True)
def settings_set(arc: Archive, home_visit_days: int | None, contact_days: int | None, psych_teacher: str | None,
                 township: str | None, police: str | None, contact: str | None, contact_phone: str | None,
                 doc_prefix: str | None, county_org: str | None, signer: str | None, as_json: bool) -> None:
    """修改设置（只改给出的项）。

    \b
    示例：
      guanai settings set --home-visit-days 5
      guanai settings set --contact 王老师 --contact-phone 0557-5011234 --doc-prefix 龙小
      guanai settings set --signer 李明
    """
    from guanai.archive.workflow import set_settings

    new = set_settings(arc, home_visit_days=home_visit_days, contact_days=contact_days, psych_teacher=psych_teacher,
                       township=township, police=police, contact=contact, contact_phone=contact_phone,
                       doc_prefix=doc_prefix, county_org=county_org, signer=signer)
    _show(new.to_dict(), as_json)


# --------------------------------------------------------------------------- contact


@click.group("contact")
def contact() -> None:
    """家校联系记录：与外出务工家长、委托照护人、村（居）委会的联系。

    \b
    示例：
      guanai contact add G341322201203050012 --with 外出父母 --how 视频 --agreed 每周日视频一次
      guanai contact list --child G341322201203050012
    """


@contact.command("add")
@click.argument("child_ref")
@click.option("--with", "with_whom", required=True, type=click.Choice(["外出父母", "委托照护人", "监护人", "村（居）委会", "其他"]),
              help="联系对象。")
@click.option("--how", default="电话", show_default=True, type=click.Choice(["电话", "视频", "上门", "来校", "其他"]),
              help="联系方式。")
@click.option("--agreed", default="", help="商定的事项。")
@click.option("--by", default="", help="联系的教师。")
@date_option()
@json_option
@with_archive(write=True)
def contact_add(arc: Archive, child_ref: str, with_whom: str, how: str, agreed: str, by: str, on: str | None,
                as_json: bool) -> None:
    """记录一次家校联系。

    \b
    示例：
      guanai contact add G341322201203050012 --with 外出父母 --how 电话 --date 2026-09-20
      guanai contact add 张小明的编号 --with 村（居）委会 --how 上门 --agreed 已通报家庭情况
    """
    from guanai.archive.workflow import add_contact

    rid = add_contact(arc, child_ref, parse_day(on), with_whom, how, agreed, by)
    if as_json:
        echo_json({"id": rid})
    else:
        click.echo(f"已记录家校联系（{with_whom}，{how}），编号 {rid[:8]}。")


@contact.command("list")
@click.option("--child", "child_ref", default=None, help="只列某儿童。")
@json_option
@with_archive()
def contact_list(arc: Archive, child_ref: str | None, as_json: bool) -> None:
    """列出家校联系记录。

    \b
    示例：
      guanai contact list
      guanai contact list --child G341322201203050012 --json
    """
    from guanai.archive.workflow import list_contacts

    rows = list_contacts(arc, child_ref)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("没有家校联系记录。")
        return
    echo_table([[r["date"], r["child_name"], r["with"], r["how"], r["agreed"]] for r in rows],
               ["日期", "儿童", "联系对象", "方式", "商定事项"])


# --------------------------------------------------------------------------- duty


@click.group("duty")
def duty() -> None:
    """学校学期工作：家长会、家长学校专题讲座、法制宣讲、请销假检查。

    \b
    示例：
      guanai duty add 家长会 --date 2026-09-20 --note 三年级家长会，到会 42 人
      guanai duty list
    """


@duty.command("add")
@click.argument("kind", type=click.Choice(["家长会", "家长学校", "法制宣讲", "请销假检查"]))
@click.option("--note", default="", help="记录（时间、人数、内容）。")
@date_option()
@json_option
@with_archive(write=True)
def duty_add(arc: Archive, kind: str, note: str, on: str | None, as_json: bool) -> None:
    """登记一项已完成的学期工作。

    \b
    示例：
      guanai duty add 家长学校 --date 2026-10-15 --note 家庭监护责任专题讲座
    """
    from guanai.archive.workflow import add_duty

    rid = add_duty(arc, kind, parse_day(on), note)
    if as_json:
        echo_json({"id": rid})
    else:
        click.echo(f"已登记：{kind}，编号 {rid[:8]}。")


@duty.command("list")
@json_option
@with_archive()
def duty_list(arc: Archive, as_json: bool) -> None:
    """列出已登记的学期工作。

    \b
    示例：
      guanai duty list --json
    """
    from guanai.archive.workflow import list_duties

    rows = list_duties(arc)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("没有登记的学期工作。")
        return
    echo_table([[r["date"], r["kind"], r["note"]] for r in rows], ["日期", "工作", "记录"])


# --------------------------------------------------------------------------- ledger


@click.command("ledger")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="输出的 .xlsx 文件。")
@as_of_option
@click.option("--force", is_flag=True, help="覆盖已有文件。")
@with_archive()
def ledger(arc: Archive, output: str, as_of: str | None, force: bool) -> None:
    """导出台账工作簿：儿童、家访、控辍保学、帮扶教师、结对记录、家校联系、学期工作（每表一页，表头冻结）。

    \b
    示例：
      guanai ledger -o 关爱台账.xlsx
      guanai ledger -o 台账.xlsx --as-of 2026-12-31 --force
    """
    from guanai.generators.ledger import ledger_sheets

    if Path(output).exists() and not force:
        raise InputError(f"文件 {output} 已存在。", "换一个文件名，或加 --force 覆盖。")
    write_xlsx(output, ledger_sheets(arc, parse_day(as_of, "--as-of 日期")))
    click.echo(f"已导出台账到 {output}。")
