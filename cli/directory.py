"""Command `directory`: the county directory of school cards (add, revoke, publish, import, list)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from guanai.cli.common import echo_json, echo_table, json_option, with_archive

if TYPE_CHECKING:
    from guanai.archive.store import Archive
    from guanai.archive.transfer.directory import Directory


def _read_small(path: Path, what: str, limit: int = 64 * 1024) -> bytes:
    """Read a small input file without loading an arbitrarily large one first."""
    from guanai.base.errors import InputError

    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{what}过大：{path}（上限 {limit:,} 字节）。", "请确认选择了正确的文件。")
    return data



@click.group("directory")
def directory() -> None:
    """县级学校目录：县教体局添加、吊销学校身份卡并签名发布；学校导入。

    \b
    示例（县教体局档案库）：
      guanai --archive 县局档案 directory add 龙城小学身份卡.json
      guanai --archive 县局档案 directory publish -o 萧县学校目录.json
    示例（学校档案库）：
      guanai directory import 萧县学校目录.json --county-fingerprint "AB12 CD34 ..."
    """


@directory.command("add")
@click.argument("card", type=click.Path(exists=True, dir_okay=False))
@json_option
@with_archive(write=True)
def directory_add(arc: Archive, card: str, as_json: bool) -> None:
    """（县教体局）把学校身份卡加入目录；之后需 publish 发布。

    \b
    示例：
      guanai --archive 县局档案 directory add 龙城小学身份卡.json
    """
    from guanai.archive.transfer.directory import add_card
    from guanai.archive.transfer.identity import group_fingerprint

    c = add_card(arc, _read_small(Path(card), "身份卡"), where=f"文件“{card}”")
    if as_json:
        echo_json(c.to_dict())
        return
    click.echo(f"已加入目录：{c.name}（{c.code}）")
    click.echo(f"指纹：{group_fingerprint(c.fingerprint)}")
    click.echo("请与该校电话核对指纹；核对无误后发布：guanai directory publish -o 文件")


@directory.command("revoke")
@click.argument("code")
@click.option("--reason", default="", help="吊销原因（如：设备丢失、密钥泄露）。")
@json_option
@with_archive(write=True)
def directory_revoke(arc: Archive, code: str, reason: str, as_json: bool) -> None:
    """（县教体局）吊销某校身份卡；之后需 publish 发布，各校导入后生效。

    \b
    示例：
      guanai --archive 县局档案 directory revoke 3413220001 --reason 电脑被盗
    """
    from guanai.archive.transfer.directory import revoke

    c = revoke(arc, code, reason)
    if as_json:
        echo_json({"revoked": c.code, "name": c.name, "fingerprint": c.fingerprint, "reason": reason})
        return
    click.echo(f"已吊销：{c.name}（{c.code}）。请重新发布目录并通知各校导入。")


@directory.command("publish")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="目录文件。")
@json_option
@with_archive(write=True)
def directory_publish(arc: Archive, output: str, as_json: bool) -> None:
    """（县教体局）签名发布目录（版本号自动加一）。

    \b
    示例：
      guanai --archive 县局档案 directory publish -o 萧县学校目录.json
    """
    from guanai.archive.transfer.directory import publish
    from guanai.archive.transfer.identity import get_identity, group_fingerprint
    from guanai.base.fsutil import atomic_write

    data, serial = publish(arc)
    atomic_write(Path(output), data, 0o644)
    fp = get_identity(arc).card.fingerprint
    if as_json:
        echo_json({"file": output, "serial": serial, "county_fingerprint": fp})
        return
    click.echo(f"已发布目录第 {serial} 版：{output}")
    click.echo(f"县教体局密钥指纹：{group_fingerprint(fp)}（各校首次导入时核对）")


@directory.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--county-fingerprint", default=None, help="县教体局密钥指纹（首次导入时核对用）。")
@click.option("--yes", is_flag=True,
              help="不询问。首次导入时不能代替指纹核对：须交互回答或用 --county-fingerprint。")
@json_option
@with_archive(write=True)
def directory_import(arc: Archive, file: str, county_fingerprint: str | None, yes: bool, as_json: bool) -> None:
    """（学校）导入县教体局发布的学校目录。

    首次导入时显示县教体局密钥指纹，核对一致后才信任（或用 --county-fingerprint 直接给出）；
    以后的目录必须由同一密钥签发，且版本不旧于已导入的。

    \b
    示例：
      guanai directory import 萧县学校目录.json
      guanai directory import 萧县学校目录.json --county-fingerprint "AB12 CD34 ..."
    """
    from guanai.archive.transfer.directory import import_directory
    from guanai.archive.transfer.identity import group_fingerprint
    from guanai.base.errors import InputError

    def ask(d: Directory) -> bool:
        click.echo(f"目录由 {d.county.name}（{d.county.code}）签发，第 {d.serial} 版。", err=as_json)
        click.echo(f"县教体局密钥指纹：{group_fingerprint(d.county.fingerprint)}", err=as_json)
        if yes:  # trusting a county key unseen would defeat the fingerprint check (trust on first use)
            raise InputError("首次导入县级目录时，--yes 不能代替核对县教体局密钥指纹。",
                             "电话向县教体局核对上面的指纹后，加 --county-fingerprint 指纹 重新导入。")
        try:
            return click.confirm("此指纹与县教体局告知的一致吗？", default=False, err=True)
        except click.Abort:
            return False

    from guanai.archive.transfer.directory import MAX_DIRECTORY

    res = import_directory(arc, _read_small(Path(file), "目录文件", MAX_DIRECTORY),
                           county_fingerprint=county_fingerprint, confirm=ask)
    d = res.directory
    if as_json:
        echo_json({"serial": d.serial, "first_trust": res.first_trust, "previous_serial": res.previous_serial,
                   "county": d.county.to_dict(), "schools": len(d.schools), "revoked": sorted(d.revoked)})
        return
    first = "（首次导入，已信任县教体局密钥）" if res.first_trust else ""
    click.echo(f"已导入目录第 {d.serial} 版{first}：学校 {len(d.schools)} 所，已吊销 {len(d.revoked)} 所。")


@directory.command("list")
@json_option
@with_archive()
def directory_list(arc: Archive, as_json: bool) -> None:
    """列出目录中的学校（县局：编辑中的目录；学校：已导入的目录）。

    \b
    示例：
      guanai directory list
      guanai directory list --json
    """
    from guanai.archive.transfer.directory import county_listing, held_directory
    from guanai.archive.transfer.identity import group_fingerprint

    if arc.info.kind == "county":
        data = county_listing(arc)
    else:
        d = held_directory(arc)
        if d is None:
            click.echo("尚未导入县级学校目录。提示：guanai directory import 文件")
            if as_json:
                echo_json({"serial": None, "schools": [], "revoked": []})
            return
        data = {"serial": d.serial, "county": d.county.to_dict(),
                "schools": [c.to_dict() for _, c in sorted(d.schools.items())],
                "revoked": [{"code": k, **v} for k, v in sorted(d.revoked.items())]}
    if as_json:
        echo_json(data)
        return
    click.echo(f"目录版本：{data['serial']}")
    echo_table([[s["code"], s["name"], group_fingerprint(s["fingerprint"])[:19] + " …"] for s in data["schools"]],
               ["代码", "名称", "指纹"])
    for r in data["revoked"]:
        click.echo(f"已吊销：{r['code']}（{r.get('at', '')}，{r.get('reason', '')}）")
