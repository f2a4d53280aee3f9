"""User management: add, passwd, list, remove (roles are enforced in the library)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from guanai.cli.common import echo_json, echo_table, json_option, with_archive

if TYPE_CHECKING:
    from guanai.archive.store import Archive


def _new_passphrase(name: str) -> str:
    import os

    env = os.environ.get("GUANAI_NEW_PASSPHRASE")
    if env:
        return env
    return str(click.prompt(f"为用户 {name} 设置新口令", hide_input=True, confirmation_prompt="再次输入口令"))


@click.group("user")
def user() -> None:
    """管理用户。角色：admin 管理员、secretary 文书、archivist 档案员、inspector 督查员（只读）。

    新口令从隐藏输入读取，或取环境变量 GUANAI_NEW_PASSPHRASE。

    \b
    示例：
      guanai user add 王老师 --role secretary
      guanai user list
    """


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "secretary", "archivist", "inspector"]), required=True,
              help="角色。")
@with_archive(write=True)
def user_add(arc: Archive, name: str, role: str) -> None:
    """添加用户（仅管理员）。新用户的口令隐藏输入两次，或取环境变量 GUANAI_NEW_PASSPHRASE。

    \b
    示例：
      guanai user add 档案员李 --role archivist
      guanai user add 督查员张 --role inspector    # 督查员只能查看、检索、导出、检测
    """
    arc.require("admin")
    arc.add_user(name, role, _new_passphrase(name))
    from guanai.archive.keys import ROLE_NAMES

    click.echo(f"已添加用户 {name}（{ROLE_NAMES.get(role, role)}）。")


@user.command("passwd")
@click.argument("name", required=False)
@with_archive()
def user_passwd(arc: Archive, name: str | None) -> None:
    """修改口令（自己的，或管理员改他人的）。数据不需重新加密。新口令隐藏输入两次，或取环境变量 GUANAI_NEW_PASSPHRASE。

    \b
    示例：
      guanai user passwd
      guanai user passwd 王老师
    """
    name = name or arc.user
    arc.change_passphrase(name, _new_passphrase(name))
    click.echo(f"已修改用户 {name} 的口令。")


@user.command("list")
@json_option
@with_archive()
def user_list(arc: Archive, as_json: bool) -> None:
    """列出用户与角色。

    \b
    示例：
      guanai user list --json
    """
    from guanai.archive.keys import ROLE_NAMES

    rows = arc.users()
    if as_json:
        echo_json([{"user": u, "role": r} for u, r in rows])
        return
    echo_table([[u, f"{r}（{ROLE_NAMES.get(r, r)}）"] for u, r in rows], ["用户", "角色"])


@user.command("remove")
@click.argument("name")
@with_archive(write=True)
def user_remove(arc: Archive, name: str) -> None:
    """删除用户（仅管理员；不能删除自己或最后一位管理员）。

    \b
    示例：
      guanai user remove 王老师
    """
    arc.remove_user(name)
    click.echo(f"已删除用户 {name}。")
