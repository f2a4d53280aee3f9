"""Documents: attach an existing file, list, export."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING

import click

from guanai.cli.common import archive_dir, echo_json, echo_table, json_option, open_archive_ctx, with_archive

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
    doc_id = arc.put_document(kind="attachment", title=title or path.stem, content=path.read_bytes(),
                              filename=path.name, mime=mime, child_id=child.id, doc_date=doc_date)
    click.echo(f"已存入 {child.record.name} 的档案：{title or path.stem}（文档编号 {doc_id}）")


@click.group("doc")
def doc() -> None:
    """文档：列表、导出、PDF 签名与核验。

    \b
    示例：
      guanai doc list --child G341322201501011234
      guanai doc get 文档编号 -o 家访记录.docx
      guanai doc sign 通报.pdf -o 通报-已签名.pdf
      guanai doc verify 通报-已签名.pdf
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
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False), help="导出到的文件。")
@click.option("--force", is_flag=True, help="覆盖已有文件。")
@click.option("--sign", "do_sign", is_flag=True, help="导出 PDF 时加本校的数字签名（PAdES）。")
@with_archive()
def doc_get(arc: Archive, doc_id: str, out: str, force: bool, do_sign: bool) -> None:
    """导出文档原件（解密后写出；导出已记入审计日志）。PDF 可加 --sign 签名。

    \b
    示例：
      guanai doc get 3f2a…c9 -o 家访记录.docx
      guanai doc get 7b1e…04 -o 通报.pdf --sign
    """
    from guanai.base.errors import StateError
    from guanai.base.fsutil import atomic_write

    path = Path(out)
    if path.exists() and not force:
        raise StateError(f"文件已存在：{out}", "换一个文件名，或加 --force 覆盖。")
    data = arc.read_document(doc_id)
    if do_sign:
        from guanai.generators.sign import sign_archive_pdf

        data = sign_archive_pdf(arc, data)
    atomic_write(path, data)
    click.echo(f"已导出到 {out}（{len(data)} 字节{'，已签名' if do_sign else ''}）。")


@doc.command("sign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), help="签名后的文件（默认：原名-已签名.pdf）。")
@click.option("--reason", default="学校签发", show_default=True, help="签名理由（写入签名）。")
@click.option("--force", is_flag=True, help="覆盖已有文件。")
@with_archive(write=True)
def doc_sign(arc: Archive, file: str, out: str | None, reason: str, force: bool) -> None:
    """用本校的 PDF 签名密钥给 PDF 加数字签名（PAdES，ECDSA P-256；PDF/A 保持不变）。

    签名证书与县级学校目录中的本校身份绑定；对方用 guanai doc verify 或 pdfsig 核验。
    第一次签名时生成签名密钥（加密保存在档案库中）。

    \b
    示例：
      guanai doc sign 通报.pdf
      guanai doc sign 通报.pdf -o 通报-已签名.pdf --reason 督查通报
    """
    from guanai.base.errors import StateError
    from guanai.base.fsutil import atomic_write
    from guanai.generators.sign import sign_archive_pdf

    src = Path(file)
    target = Path(out) if out else src.with_name(src.stem + "-已签名.pdf")
    if target.exists() and not force:
        raise StateError(f"文件已存在：{target}", "换一个文件名（-o），或加 --force 覆盖。")
    signed = sign_archive_pdf(arc, src.read_bytes(), reason=reason)
    atomic_write(target, signed)
    click.echo(f"已签名：{target}（签名者 {arc.info.school_name}，{arc.info.school_code}）")


_DIRECTORY_WORDS = {
    "known": "县级目录中有此学校，身份一致",
    "unknown": "县级目录中没有此学校",
    "revoked": "此学校的身份已被县教体局吊销",
    "mismatch": "与县级目录中该校的身份不符",
    "unchecked": "未核对县级目录",
}


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
    from guanai.archive.directory import held_directory
    from guanai.archive.store import Archive
    from guanai.base.errors import ArchiveMissing, IntegrityError
    from guanai.generators.sign import verify_pdf

    directory = None
    try:
        Archive.check_exists(archive_dir(ctx))
    except ArchiveMissing:
        pass  # no archive here: the signature itself is still checked
    else:
        with open_archive_ctx(ctx) as arc:
            directory = held_directory(arc)
    reports = verify_pdf(Path(file).read_bytes(), directory)
    if as_json:
        echo_json({"file": file, "signed": bool(reports), "ok": bool(reports) and all(r.ok for r in reports),
                   "signatures": [r.to_dict() for r in reports]})
    else:
        if not reports:
            click.echo(f"{file}：没有数字签名。")
        for r in reports:
            who = f"{r.signer}（学校代码 {r.school_code or '未知'}）"
            click.echo(f"签名“{r.field_name}”：{who}，签名时间 {r.signed_at or '未知'}")
            click.echo(f"  签名：{'有效，文件未被改动' if r.intact and r.valid and r.whole_file else '无效'}")
            click.echo(f"  学校身份：{'已绑定' if r.bound else '未绑定'}；{_DIRECTORY_WORDS[r.directory]}"
                       + (f"（指纹 {r.fingerprint[:16]}…）" if r.fingerprint else ""))
            for p in r.problems:
                click.echo(f"  问题：{p}")
            click.echo("  结论：" + ("可信" if r.ok else "不可信"))
    if not reports or not all(r.ok for r in reports):
        ctx.exit(IntegrityError.exit_code)
