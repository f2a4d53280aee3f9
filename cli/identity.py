"""Command `identity`: this school's (or county's) signing and HPKE public keys."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from guanai.cli.common import echo_json, json_option, with_archive

if TYPE_CHECKING:
    from guanai.archive.store import Archive


def _identity(arc: Archive) -> Any:
    from guanai.archive.transfer.identity import get_identity, has_identity

    if not has_identity(arc):
        arc.require("write")  # first use creates the keys
    return get_identity(arc)



@click.group("identity")
def identity() -> None:
    """本校身份：签名公钥（Ed25519）与加密公钥（X25519，HPKE）。

    私钥以主密钥加密保存在档案库中，首次使用时自动生成。
    身份卡（公钥与指纹）交给县教体局，由其签入县级学校目录。

    \b
    示例：
      guanai identity show
      guanai identity export -o 龙城小学身份卡.json
    """


@identity.command("show")
@json_option
@with_archive()
def identity_show(arc: Archive, as_json: bool) -> None:
    """显示本校（或县局）的代码、名称与公钥指纹（首次使用时生成密钥）。

    \b
    示例：
      guanai identity show
      guanai identity show --json
    """
    from guanai.archive.transfer.identity import group_fingerprint

    card = _identity(arc).card
    if as_json:
        echo_json(card.to_dict())
        return
    kind = "县教体局" if card.kind == "county" else "学校"
    click.echo(f"单位：{card.name}（{card.code}），{kind}，县区 {card.county}")
    click.echo(f"指纹：{group_fingerprint(card.fingerprint)}")
    click.echo(f"签名公钥（Ed25519）：{card.sign_key.hex()}")
    click.echo(f"加密公钥（X25519）：{card.hpke_key.hex()}")
    click.echo("请与对方电话核对指纹；导出身份卡：guanai identity export -o 文件")


@identity.command("export")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="身份卡文件（JSON）。")
@json_option
@with_archive()
def identity_export(arc: Archive, output: str, as_json: bool) -> None:
    """导出本校公开身份卡（代码、名称、县区、公钥、指纹），交县教体局签入目录。

    \b
    示例：
      guanai identity export -o 龙城小学身份卡.json
    """
    from guanai.archive.transfer.identity import group_fingerprint
    from guanai.base.fsutil import atomic_write

    card = _identity(arc).card
    atomic_write(Path(output), card.to_json(), 0o644)
    arc.audit("identity.export", card.code, {"fingerprint": card.fingerprint})
    if as_json:
        echo_json({"file": output, **card.to_dict()})
        return
    click.echo(f"已导出身份卡：{output}")
    click.echo(f"指纹：{group_fingerprint(card.fingerprint)}（请县教体局添加时电话核对）")
