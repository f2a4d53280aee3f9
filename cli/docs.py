"""Documents: attach an existing file, list, export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from guanai.cli.common import echo_json, echo_table, json_option, with_archive

if TYPE_CHECKING:
    from guanai.archive.store import Archive

@click.command("attach")
@click.argument("child_ref")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--title", help="文档标题（默认用文件名）。")
@click.option("--date", "doc_date", help="文档日期，如 2026-09-01。")
@json_option
@with_archive(write=True)
def attach(arc: Archive, child_ref: str, file: str, title: str | None, doc_date: str | None, as_json: bool) -> None:
    """把已有文件（扫描的证明、照片、PDF）存入某儿童的档案（加密保存）。

    \b
    示例：
      guanai attach G341322201501011234 低保证明.pdf --title 低保证明
    """
    from guanai.archive.documents import attach_file

    done = attach_file(arc, child_ref, Path(file), title=title, doc_date=doc_date)
    if as_json:
        echo_json({"doc_id": done.doc_id, "child_id": done.child.id, "title": done.title})
        return
    click.echo(f"已存入 {done.child.record.name} 的档案：{done.title}（文档编号 {done.doc_id}）")


@click.group("doc")
def doc() -> None:
    """文档：列表与导出。

    \b
    示例：
      guanai doc list --child G341322201501011234
      guanai doc get 文档编号 -o 家访记录.docx
    """


@doc.command("list")
@click.option("--child", "child_ref", help="只列某儿童（编号/学籍号/身份证号）的文档。")
@click.option("--kind", help="只列某种文书，如 home-visit。")
@json_option
@with_archive()
def doc_list(arc: Archive, child_ref: str | None, kind: str | None, as_json: bool) -> None:
    """列出文档。

    \b
    示例：
      guanai doc list --kind child-card --json
    """
    docs = arc.list_documents(child_id=child_ref, kind=kind)
    if as_json:
        echo_json([d.to_json() for d in docs])
        return
    if not docs:
        click.echo("没有文档。")
        return
    from guanai.generators.labels import kind_label

    echo_table([[d.id, kind_label(d.kind), d.title, d.doc_date or d.created_at[:10], f"{d.size / 1024:.0f} KB"]
                for d in docs],
               ["文档编号", "种类", "标题", "日期", "大小"])
    click.echo(f"共 {len(docs)} 份。")


@doc.command("get")
@click.argument("doc_id")
@click.option("-o", "--output", "out", required=True, type=click.Path(), help="导出到的文件（或已有目录）。")
@click.option("--force", is_flag=True, help="覆盖已有文件。")
@json_option
@with_archive()
def doc_get(arc: Archive, doc_id: str, out: str, force: bool, as_json: bool) -> None:
    """导出文档原件（解密后写出；导出已记入审计日志）。与 guanai open 相同。

    \b
    示例：
      guanai doc get 3f2a…c9 -o 家访记录.docx
    """
    from guanai.archive.documents import export_document

    done = export_document(arc, doc_id, Path(out), force=force)
    if as_json:
        echo_json({"doc_id": done.doc_id, "path": str(done.path), "size": done.size})
        return
    click.echo(f"已导出到 {done.path}（{done.size} 字节）。")
    click.echo("注意：导出的文件未加密，含儿童个人信息，用完请妥善保管或删除。")
