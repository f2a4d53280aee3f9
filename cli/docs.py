"""Documents: attach an existing file, list, export."""

from __future__ import annotations

import mimetypes
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
@with_archive(write=True)
def attach(arc: Archive, child_ref: str, file: str, title: str | None, doc_date: str | None) -> None:
    """把已有文件（扫描的证明、照片、PDF）存入某儿童的档案（加密保存）。

    \b
    示例：
      guanai attach G341322201501011234 低保证明.pdf --title 低保证明

    同一儿童已存有同一文件（内容相同）时不再重复存入，重复运行是安全的。
    """
    from guanai.archive.store import MAX_DOCUMENT_BYTES
    from guanai.base.errors import InputError

    path = Path(file)
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise InputError(f"文件过大：{path.name}", "扫描件请降低分辨率或分成几个文件。")
    if doc_date:
        from datetime import date

        try:
            doc_date = date.fromisoformat(doc_date).isoformat()
        except ValueError as err:
            raise InputError(f"日期格式不正确：{doc_date}", "请写成 2026-09-01 的形式。") from err
    child = arc.get_child(child_ref)
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    from guanai.archive.batch import put_once

    doc_id, new = put_once(arc, kind="attachment", title=title or path.stem, content=path.read_bytes(),
                           filename=path.name, mime=mime, child_id=child.id, doc_date=doc_date)
    if not new:
        click.echo(f"{child.record.name} 的档案中已有同一文件（文档编号 {doc_id}），未重复存入。")
        return
    click.echo(f"已存入 {child.record.name} 的档案：{title or path.stem}（文档编号 {doc_id}）")


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
@with_archive()
def doc_get(arc: Archive, doc_id: str, out: str, force: bool) -> None:
    """导出文档原件（解密后写出；导出已记入审计日志）。与 guanai open 相同。

    \b
    示例：
      guanai doc get 3f2a…c9 -o 家访记录.docx
    """
    from guanai.archive.export import export_document

    done = export_document(arc, doc_id, Path(out), force=force)
    click.echo(f"已导出到 {done.path}（{done.size} 字节）。")
    click.echo("注意：导出的文件未加密，含儿童个人信息，用完请妥善保管或删除。")
