"""``guanai mentor``: 帮扶教师 (实施方案三（七）: every identified child has a mentor)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from guanai.cli.common import echo_json, echo_table, json_option, with_archive
from guanai.cli.workflow import as_of_option, date_option, parse_day

if TYPE_CHECKING:
    from guanai.archive.store import Archive


@click.group("mentor")
def mentor() -> None:
    """帮扶教师：登记、移除、结对指派（可一次多名），每位教师帮扶的儿童，缺帮扶教师的儿童。

    \b
    示例：
      guanai mentor add 王丽 --phone 13905571234
      guanai mentor assign G341322201203050012 G341322201106070023 --teacher 王丽
      guanai mentor list
    """


@mentor.command("add")
@click.argument("name")
@click.option("--phone", default="", help="电话。")
@click.option("--subject", default="", help="任教学科。")
@with_archive(write=True)
def add(arc: Archive, name: str, phone: str, subject: str) -> None:
    """登记帮扶教师。

    \b
    示例：
      guanai mentor add 王丽 --phone 13905571234 --subject 语文
    """
    from guanai.archive.workflow import add_teacher

    add_teacher(arc, name, phone, subject)
    click.echo(f"已登记帮扶教师：{name.strip()}。")


@mentor.command("remove")
@click.argument("name")
@date_option()
@with_archive(write=True)
def remove(arc: Archive, name: str, on: str | None) -> None:
    """移除帮扶教师（须先把其帮扶的儿童改派他人）。

    \b
    示例：
      guanai mentor remove 王丽
    """
    from guanai.archive.workflow import remove_teacher

    remove_teacher(arc, name.strip(), parse_day(on))
    click.echo(f"已移除帮扶教师：{name.strip()}。")


@mentor.command("assign")
@click.argument("children", nargs=-1, required=True)
@click.option("--teacher", default=None, help="帮扶教师姓名（须已登记）；不写时取最后一个参数。")
@date_option("结对日期（默认今天）。")
@json_option
@with_archive(write=True)
def assign(arc: Archive, children: tuple[str, ...], teacher: str | None, on: str | None, as_json: bool) -> None:
    """结对：把一名或多名儿童指派给帮扶教师（原教师的结对记为结束，历史保留）。

    \b
    示例：
      guanai mentor assign G341322201203050012 王丽
      guanai mentor assign 编号1 编号2 编号3 --teacher 李强 --date 2026-09-05
    """
    from guanai.archive.workflow import assign as do_assign
    from guanai.base.errors import InputError

    if teacher is None:
        if len(children) < 2:
            raise InputError("没有给出帮扶教师。", "写作 guanai mentor assign 儿童… 教师姓名，或加 --teacher 教师姓名。")
        children, teacher = children[:-1], children[-1]

    done = do_assign(arc, list(children), teacher.strip(), parse_day(on))
    if as_json:
        echo_json({"teacher": teacher.strip(), "assigned": done})
    else:
        click.echo(f"已把 {len(done)} 名儿童指派给 {teacher.strip()}（{len(children) - len(done)} 名原已由其帮扶）。")


@mentor.command("list")
@as_of_option
@json_option
@with_archive()
def list_cmd(arc: Archive, as_of: str | None, as_json: bool) -> None:
    """每位教师帮扶的儿童，以及缺帮扶教师的留守/困境儿童。

    \b
    示例：
      guanai mentor list
      guanai mentor list --json
    """
    from guanai.archive.workflow import mentor_overview

    data = mentor_overview(arc, parse_day(as_of, "--as-of 日期"))
    if as_json:
        echo_json(data)
        return
    if data["teachers"]:
        echo_table([[t["name"] + ("" if t["registered"] else "（未登记）"), t["phone"], str(t["count"]),
                     "、".join(t["children"])] for t in data["teachers"]], ["教师", "电话", "人数", "帮扶儿童"])
    else:
        click.echo("还没有登记帮扶教师（guanai mentor add 姓名）。")
    if data["without_mentor"]:
        click.echo(f"缺帮扶教师的留守/困境儿童 {len(data['without_mentor'])} 名：" +
                   "、".join(c["name"] for c in data["without_mentor"]))
    else:
        click.echo("所有留守/困境儿童都有帮扶教师。")
