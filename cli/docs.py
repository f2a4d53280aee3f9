"""Documents: attach an existing file, list, export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from guanai.cli.common import (
    archive_dir,
    echo_json,
    echo_table,
    json_option,
    kind_id,
    open_archive_ctx,
    with_archive,
)
from guanai.cli.search import export_cmd_body, export_options

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
      guanai attach 张小明 户口本.jpg

    同一儿童已存有同一文件（内容相同）时不再重复存入，重复运行是安全的。
    """
    from guanai.archive.documents import attach_file
    from guanai.archive.labels import mime_label
    from guanai.archive.resolve import unique_short_id

    done = attach_file(arc, child_ref, Path(file), title=title, doc_date=doc_date)
    short = unique_short_id(arc, done.doc_id)
    if as_json:
        echo_json({"doc_id": done.doc_id, "short_id": short, "child_id": done.child.id, "title": done.title,
                   "new": done.new})
        return
    if not done.new:
        click.echo(f"{done.child.record.name} 的档案中已有同一文件（编号 {short}），未重复存入。")
        return
    click.echo(f"已存入 {done.child.record.name} 的档案：{done.title}（{mime_label(done.mime)}，编号 {short}）")


@click.group("doc")
def doc() -> None:
    """文档：列表、导出、作废、PDF 签名与核验。

    文档编号可只写前 6 位以上（不与其他编号重复即可）；儿童可写姓名、学籍号或编号。

    \b
    示例：
      guanai doc list --child 张小明
      guanai doc get 3f2a9c -o 家访记录.docx
      guanai doc get 7b1e04 -o 通报.pdf --sign
      guanai doc void 3f2a9c --reason 重复归档
      guanai doc sign 通报.pdf -o 通报-已签名.pdf
      guanai doc verify 通报-已签名.pdf
    """


@doc.command("list")
@click.option("--child", "child_ref", help="只列某儿童（姓名、学籍号、身份证号或编号）的文档。")
@click.option("--kind", help="只列某种文书：代号或中文名称，如 home-visit 或 家访记录表。")
@click.option("--sort", type=click.Choice(["class", "date", "kind", "title"]), default="class", show_default=True,
              help="排序：class＝年级、班级、姓名；date＝日期；kind＝种类；title＝标题。")
@click.option("--all", "--include-void", "include_void", is_flag=True, help="连同已作废的文档一起列出。")
@json_option
@with_archive()
def doc_list(arc: Archive, child_ref: str | None, kind: str | None, sort: str, include_void: bool,
             as_json: bool) -> None:
    """列出文档（默认按年级、班级、姓名排序；已作废的不列出，加 --all 显示）。

    \b
    示例：
      guanai doc list --kind 一人一卡一策档案卡
      guanai doc list --child 张小明 --sort date
      guanai doc list --all --json
    """
    from guanai.archive.documents import list_documents
    from guanai.generators.card import current_cards
    from guanai.generators.labels import kind_label

    rows = list_documents(arc, child=child_ref, kind=kind_id(kind), include_void=include_void, sort=sort)
    current = set(current_cards(arc).values())  # each child's newest 档案卡; the older ones are history
    if as_json:
        echo_json([{**r.to_json(), "kind_name": kind_label(r.entry.kind), "current_card": r.entry.id in current}
                   for r in rows])
        return
    if not rows:
        click.echo("没有文档。")
        return
    echo_table([[r.short, r.child_name or "—", f"{r.grade}{r.class_name}" or "—", kind_label(r.entry.kind),
                 r.entry.title + ("（已作废）" if r.void else "") + ("（当前）" if r.entry.id in current else ""), r.date, r.format, f"{r.entry.size / 1024:.0f} KB"]
                for r in rows],
               ["编号", "儿童", "年级班级", "种类", "标题", "日期", "格式", "大小"])
    voided = sum(1 for r in rows if r.void)
    click.echo(f"共 {len(rows)} 份" + (f"（其中已作废 {voided} 份）。" if voided else "。"))


@doc.command("get")
@export_options
@click.pass_context
def doc_get(ctx: click.Context, doc_ids: tuple[str, ...], output: str, child_ref: str | None, include_void: bool,
            force: bool, do_sign: bool, as_json: bool) -> None:
    """导出文档原件（解密后写出；导出已记入审计日志）。可一次给出多个编号，或用 --child 导出整份档案。

    --sign：导出的同时给 PDF 加本校数字签名（PAdES，ECDSA P-256，PDF/A 不变；已有签名的原样导出）。

    对方用 guanai doc verify 或 pdfsig 核验。签名需要写入权限（第一次签名时生成签名密钥）。

    \b
    示例：
      guanai doc get 3f2a9c -o 家访记录.docx
      guanai doc get 3f2a9c 77b01e -o 导出/
      guanai doc get --child G341322201501011234 -o 导出/
      guanai doc get 7b1e04 -o 通报.pdf --sign
    """
    export_cmd_body(ctx, doc_ids, output, child_ref, include_void, force, do_sign, as_json)


@doc.command("void")
@click.argument("doc_id")
@click.option("--reason", required=True, help="作废原因（记入审计日志）。")
@with_archive(write=True)
def doc_void(arc: Archive, doc_id: str, reason: str) -> None:
    """作废误归档的文档：文档仍保留并记入审计日志，但不再出现在列表与转接包中（--all 可查看）。

    \b
    示例：
      guanai doc void 3f2a9c --reason 重复归档
    """
    from guanai.archive.documents import void_document

    entry = void_document(arc, doc_id, reason)
    from guanai.archive.resolve import unique_short_id

    click.echo(f"已作废：{entry.title}（编号 {unique_short_id(arc, entry.id)}）。原因：{reason.strip()}")
    click.echo("该文档仍保留在档案库中；用 guanai doc list --all 可查看。")


@doc.command("sign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), help="签名后的文件（默认：原名-已签名.pdf）。")
@click.option("--reason", default="学校签发", show_default=True, help="签名理由（写入签名）。")
@click.option("--force", is_flag=True, help="覆盖已有文件。")
@click.option("--visible", is_flag=True, help="可见签名：在成文日期下方加签名框（学校名称与签名时间）。")
@with_archive(write=True)
def doc_sign(arc: Archive, file: str, out: str | None, reason: str, force: bool, visible: bool) -> None:
    """用本校的 PDF 签名密钥给 PDF 加数字签名（PAdES，ECDSA P-256；PDF/A 保持不变）。

    签名证书与县级学校目录中的本校身份绑定；对方用 guanai doc verify 或 pdfsig 核验。
    第一次签名时生成签名密钥（加密保存在档案库中）。

    \b
    示例：
      guanai doc sign 通报.pdf
      guanai doc sign 通报.pdf -o 通报-已签名.pdf --reason 督查通报
      guanai doc sign 通报.pdf --visible
    """
    from guanai.base.errors import StateError
    from guanai.base.fsutil import atomic_write
    from guanai.generators.sign import sign_archive_pdf

    src = Path(file)
    target = Path(out) if out else src.with_name(src.stem + "-已签名.pdf")
    if target.exists() and not force:
        raise StateError(f"文件已存在：{target}", "换一个文件名（-o），或加 --force 覆盖。")
    signed = sign_archive_pdf(arc, src.read_bytes(), reason=reason, visible=visible)
    atomic_write(target, signed)
    click.echo(f"已签名：{target}（签名者 {arc.info.school_name}，{arc.info.school_code}）")


_DIRECTORY_WORDS = {
    "known": "县级目录中有此学校，身份一致",
    "unknown": "县级目录中没有此学校",
    "revoked": "此学校的身份已被县教体局吊销",
    "mismatch": "与县级目录中该校的身份不符",
    "unchecked": "未核对县级目录",
    "own": "本校身份（与本档案库的学校身份一致）",
}


def _local(iso: str) -> str:
    """An ISO time as this machine's local time (the JSON keeps the signed UTC value)."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


@doc.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@json_option
@click.pass_context
def doc_verify(ctx: click.Context, file: str, as_json: bool) -> None:
    """核验 PDF 的数字签名：谁签的、签名后是否被改动、县级学校目录是否认得这所学校。

    有档案库时（--archive 或 GUANAI_ARCHIVE）用其中导入的县级目录核对学校身份；没有时只核验签名本身。
    全部签名有效且学校在目录中时退出码为 0；否则为 6。

    \b
    示例：
      guanai doc verify 通报-已签名.pdf
      guanai --archive 我校档案 doc verify 转来的通知.pdf --json
    """
    from guanai.archive.store import Archive
    from guanai.archive.transfer.directory import held_directory
    from guanai.archive.transfer.identity import get_identity, has_identity
    from guanai.base.errors import ArchiveMissing, IntegrityError
    from guanai.generators.sign import verify_pdf

    directory = own = None
    try:
        Archive.check_exists(archive_dir(ctx))
    except ArchiveMissing:
        pass  # no archive here: the signature itself is still checked
    else:
        with open_archive_ctx(ctx) as arc:
            directory = held_directory(arc)
            own = get_identity(arc, create=False).card if has_identity(arc) else None
    reports = verify_pdf(Path(file).read_bytes(), directory, own=own)
    if as_json:
        echo_json({"file": file, "signed": bool(reports), "ok": bool(reports) and all(r.ok for r in reports),
                   "signatures": [r.to_dict() for r in reports]})
    else:
        if not reports:
            click.echo(f"{file}：没有数字签名。")
        for r in reports:
            who = f"{r.signer}（学校代码 {r.school_code or '未知'}）"
            click.echo(f"签名“{r.field_name}”：{who}，签名时间 {_local(r.signed_at) if r.signed_at else '未知'}")
            click.echo(f"  签名：{'有效，文件未被改动' if r.intact and r.valid and r.whole_file else '无效'}")
            click.echo(f"  学校身份：{'已绑定' if r.bound else '未绑定'}；{_DIRECTORY_WORDS[r.directory]}"
                       + (f"（指纹 {r.fingerprint[:16]}…）" if r.fingerprint else ""))
            for p in r.problems:
                click.echo(f"  问题：{p}")
            click.echo("  结论：" + ("可信" if r.ok else "不可信"))
    if not reports or not all(r.ok for r in reports):
        ctx.exit(IntegrityError.exit_code)
