"""``guanai screening``: the term's screening round (排查, 实施方案三（一）)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from guanai.cli.common import echo_json, echo_table, json_option, with_archive
from guanai.cli.workflow import date_option, parse_day

if TYPE_CHECKING:
    from guanai.archive.store import Archive


@click.group("screening")
def screening() -> None:
    """开学排查：每年 3 月和 9 月开学一周内集中排查、认定。

    \b
    示例：
      guanai screening start --term-start 2026-09-01
      guanai screening mark --all --date 2026-09-03
      guanai screening status
      guanai screening close --apply
    """


@screening.command("start")
@click.option("--term-start", required=True, help="开学日期，如 2026-09-01（截止日期为开学后第 7 天）。")
@date_option("开始排查的日期（默认今天）。")
@json_option
@with_archive(write=True)
def start(arc: Archive, term_start: str, on: str | None, as_json: bool) -> None:
    """开始一轮排查。

    \b
    示例：
      guanai screening start --term-start 2026-09-01
      guanai screening start --term-start 2027-03-01 --date 2027-03-01
    """
    from guanai.archive.workflow import start_round

    ts = parse_day(term_start, "--term-start 开学日期")
    rnd = start_round(arc, ts, parse_day(on) if on else ts)
    if as_json:
        echo_json({"id": rnd.id, "term_start": rnd.term_start.isoformat(), "deadline": rnd.deadline.isoformat()})
        return
    click.echo(f"已开始排查：开学日期 {rnd.term_start.isoformat()}，须在 {rnd.deadline.isoformat()} 前完成。")
    click.echo("排查期间导入或更新花名册的儿童自动记为已排查；也可用 guanai screening mark 标记。")


@screening.command("mark")
@click.argument("children", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="标记全部在册儿童。")
@date_option("排查日期（默认今天）。")
@json_option
@with_archive(write=True)
def mark(arc: Archive, children: tuple[str, ...], all_: bool, on: str | None, as_json: bool) -> None:
    """把儿童标记为本轮已排查（可多个：编号、学籍号或身份证号）。

    \b
    示例：
      guanai screening mark G341322201203050012 G341322201106070023
      guanai screening mark --all --date 2026-09-03
    """
    from guanai.archive.workflow import mark_screened
    from guanai.base.errors import InputError

    if not children and not all_:
        raise InputError("没有给出儿童。", "列出儿童编号/学籍号，或用 --all 标记全部在册儿童。")
    ids = [e.id for e in arc.list_children(status="在册")] if all_ else [arc.get_child(c).id for c in children]
    n = mark_screened(arc, ids, parse_day(on))
    if as_json:
        echo_json({"newly_marked": n, "children": len(ids)})
    else:
        click.echo(f"已标记 {n} 名儿童为已排查（{len(ids) - n} 名此前已标记）。")


@screening.command("status")
@click.option("--as-of", "as_of", default=None, help="按此日期计算剩余天数（默认今天）。")
@json_option
@with_archive()
def status(arc: Archive, as_of: str | None, as_json: bool) -> None:
    """本轮排查进度：已排查、未排查的儿童，剩余天数。

    \b
    示例：
      guanai screening status
      guanai screening status --json
    """
    from guanai.archive.workflow import round_status

    st = round_status(arc, parse_day(as_of, "--as-of 日期"))
    if as_json:
        echo_json(st.to_dict())
        return
    r = st.round
    state = "已结束" if r.closed else (f"剩余 {st.days_left} 天" if st.days_left >= 0 else f"已逾期 {-st.days_left} 天")
    click.echo(f"开学日期 {r.term_start.isoformat()}，截止 {r.deadline.isoformat()}（{state}）")
    click.echo(f"已排查 {len(st.screened)} 名，未排查 {len(st.not_screened)} 名。")
    if st.not_screened:
        from guanai.archive.resolve import short_ids

        shorts = short_ids(arc, "children")  # the ids `guanai child list` shows and every command takes
        echo_table([[shorts.get(i, i), n] for i, n in st.not_screened], ["编号", "未排查"])


@screening.command("close")
@click.option("--apply", "apply_", is_flag=True, help="确认：结束排查，并把已不属于留守/困境的儿童档案结案为“存档备查”。")
@click.option("--keep", is_flag=True, help="结束排查，但这些儿童档案保持在册。")
@date_option("结束日期（默认今天）。")
@json_option
@with_archive(write=True)
def close(arc: Archive, apply_: bool, keep: bool, on: str | None, as_json: bool) -> None:
    """结束本轮排查，记录认定结果（按开学日期分类）。

    有“建议存档备查”的儿童（如父母返乡、已满 16/18 周岁）时，不加 --apply 或 --keep 只列出建议，
    不改动任何档案；确认后加 --apply 结案为“存档备查”，或加 --keep 保持在册。

    \b
    示例：
      guanai screening close
      guanai screening close --apply
    """
    from guanai.archive import workflow as awf
    from guanai.base.errors import InputError
    from guanai.care.workflow import screening_outcome

    if apply_ and keep:
        raise InputError("--apply 与 --keep 不能同时使用。")
    rec = awf.open_round(arc)
    if rec is not None and not (apply_ or keep):
        preview = screening_outcome(awf.load_state(arc), awf.round_of(rec), None)
        if preview.no_longer:
            if as_json:
                echo_json({**preview.to_dict(), "closed": False})
                return
            for _i, name in preview.no_longer:
                click.echo(f"  建议存档备查：{name}（{preview.on.isoformat()} 时不符合留守儿童、困境儿童条件）")
            _echo_undetermined(preview.undetermined)
            click.echo("本轮排查尚未结束。确认后：guanai screening close --apply（结案为存档备查），"
                       "或 guanai screening close --keep（保持在册）。")
            return
    outcome, closed = awf.close_round(arc, parse_day(on), apply_closures=apply_)
    if as_json:
        echo_json({**outcome.to_dict(), "closed": True, "archived": closed})
        return
    click.echo(f"排查已结束（按 {outcome.on.isoformat()} 认定）：认定 {len(outcome.identified)} 名，"
               f"新认定 {len(outcome.newly_identified)} 名，未排查 {len(outcome.not_screened)} 名。")
    for _i, name, cats in outcome.newly_identified:
        click.echo(f"  新认定：{name}（{'、'.join(cats)}）")
    for _i, name in outcome.no_longer:
        click.echo(f"  {'已存档备查' if apply_ else '保持在册'}：{name}（不符合留守儿童、困境儿童条件）")
    _echo_undetermined(outcome.undetermined)


def _echo_undetermined(names: list[tuple[str, str]]) -> None:
    """Children whose parents' situation is unknown: kept as they are, to be completed."""
    for _i, name in names:
        click.echo(f"  无法判定：{name}（父母状况不详，档案不动；用 guanai child update 补充父亲状况、母亲状况）")
