"""Full-text search commands: search, show, open, reindex (library: search/api.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from guanai.cli.common import echo_json, json_option, kind_id, open_archive_ctx, with_archive

if TYPE_CHECKING:
    from guanai.archive.store import Archive

@contextmanager
def _progress(label: str, quiet: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A progress callback (done, total) drawing a bar on stderr once there is real work."""
    bars: list[Any] = []
    seen = [0]

    def cb(done: int, total: int) -> None:
        if quiet or total < 50:
            return
        if not bars:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
            bars.append(bar)
        bars[0].update(done - seen[0])
        seen[0] = done

    try:
        yield cb
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)


@click.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--kind", help="只查某种文书：代号或中文名称（如 home-visit 或 家访记录表）；child（儿童档案）表示儿童档案本身。")
@click.option("--school", help="只查某学校（学校标识码或校名）。")
@click.option("--child", "child_ref", help="只查某儿童（姓名、学籍号、身份证号或编号前 6 位以上）。")
@click.option("--from", "date_from", help="起始日期（含），如 2024-03-01。")
@click.option("--to", "date_to", help="截止日期（含），如 2024-06-30。")
@click.option("--status", help="儿童状态：在册、转出、存档备查、毕业。")
@click.option("--category", help="类别：留守儿童、困境儿童，或困境情形如 孤儿。")
@click.option("--limit", default=20, show_default=True, type=int, help="最多显示条数（1–1000）。")
@click.option("--include-void", is_flag=True, help="连同已作废的文档一起检索。")
@json_option
@with_archive()
def search(arc: Archive, query: tuple[str, ...], kind: str | None, school: str | None, child_ref: str | None,
           date_from: str | None, date_to: str | None, status: str | None, category: str | None,
           limit: int, include_void: bool, as_json: bool) -> None:
    """全文检索：按姓名、学籍号、身份证号、村名或正文中的词语查找儿童档案与文书。

    结果按相关度排序，显示标题、儿童、日期、种类和带【高亮】的摘要。
    写法：词语直接输入（按原文连续匹配）；短语加英文双引号；AND / OR / NOT（或 与 / 或 / 非）
    组合，可加括号；字段写成 字段:值（姓名、学籍号、身份证号、类型、状态、类别、日期、正文、人员）。
    筛选条件（--kind 等）同时缩小结果与总数；取值不认识时列出可选值。已作废的文档不在结果中（--include-void 可查）。
    每次检索都记入审计日志。

    \b
    示例：
      guanai search 张小明
      guanai search 34052419800101001X
      guanai search 上河家村 --kind 家访记录表 --from 2024-03-01 --to 2024-06-30
      guanai search '"连续三天未到校"' --category 留守儿童 --json
      guanai search '(韩思 OR 韩梅) AND 劝返'
    """
    from guanai.archive.resolve import unique_short_id
    from guanai.generators.labels import kind_label
    from guanai.search.api import make_filters, run_search

    filters = make_filters(arc, kind=kind_id(kind), school=school, child=child_ref, date_from=date_from,
                           date_to=date_to, status=status, category=category)
    with _progress("建立全文索引", quiet=as_json) as cb:
        view = run_search(arc, " ".join(query), filters, limit, progress=cb, include_void=include_void)
    if as_json:
        out = view.to_json()
        for h in out["hits"]:
            h["kind_name"] = kind_label(h["kind"])
        echo_json(out)
        return
    if not view.built:
        click.echo(f"全文索引尚未建立（{view.behind} 条档案与文档待编入），暂不能检索。")
        click.echo("提示：运行 guanai reindex 建立索引（只需一次，之后每次写入时自动更新）。")
        return
    if view.behind:
        click.echo(f"注意：全文索引落后于档案库 {view.behind} 条（最近写入的内容可能查不到）；"
                   "运行 guanai reindex 可立即补齐。", err=True)
    if view.damaged:
        click.echo(f"注意：{len(view.damaged)} 条结果已损坏，无法显示内容；请运行 guanai verify。", err=True)
    if not view.hits:
        click.echo("没有找到匹配的记录。")
        click.echo("提示：换个写法（如只输入姓名的一部分），或去掉筛选条件。")
        return
    total = f"{view.total}" if view.exact else f"约 {view.total}"
    click.echo(f"共 {total} 条，显示前 {len(view.hits)} 条：")
    for i, h in enumerate(view.hits, 1):
        what = kind_label(h.kind)
        line = f"{i}. {h.title}" + ("（已作废）" if h.void else "")
        meta = " · ".join(p for p in (h.child_name and f"儿童：{h.child_name}", h.date, what) if p)
        click.echo(f"{line}  [{meta}]")
        if h.snippet:
            click.echo(f"   {h.snippet}")
        click.echo(f"   编号：{unique_short_id(arc, h.id, 'children' if h.entity == 'child' else 'documents')}")
    if not view.exact:
        click.echo("提示：匹配条目很多，为保证响应速度，以上结果未在全部匹配中排序，总数为估计值；"
                   "加检索词或筛选条件可缩小范围。")


@click.command("show")
@click.argument("ref")
@json_option
@with_archive()
def show(arc: Archive, ref: str, as_json: bool) -> None:
    """显示文档的信息与正文（解密后）；给出儿童（姓名、学籍号、编号）时显示儿童档案摘要及其文档。

    编号可只写前 6 位以上（不与其他编号重复即可）。每次查看都记入审计日志。

    \b
    示例：
      guanai show 3f2c0d
      guanai show 张小明
      guanai show 3f2c0d9e8a7b4c1d9e8f7a6b5c4d3e2f --json
    """
    from guanai.generators.labels import kind_label
    from guanai.search.api import show as show_entry

    info = show_entry(arc, ref)
    if as_json:
        if info["entity"] == "document":
            info["kind_name"] = kind_label(info["kind"])
        echo_json(info)
        return
    if info["entity"] == "child":
        click.echo(f"儿童：{info['name']}（状态：{info['status']}，学校：{info['school_code']}）")
        click.echo(f"编号：{info['short_id']}（完整编号 {info['id']}）")
        click.echo("")
        click.echo(info["text"])
        click.echo("")
        click.echo(f"文档 {len(info['documents'])} 份：")
        for d in info["documents"]:
            click.echo(f"  {d['short_id']}  {d['doc_date'] or d['created_at'][:10]}  {kind_label(d['kind'])}  "
                       f"{d['format']}  {d['title']}")
        return
    rows = [("标题", info["title"] + ("（已作废）" if info["void"] else "")), ("种类", kind_label(info["kind"])),
            ("儿童", info["child_name"] or "—"), ("日期", info["doc_date"] or "—"), ("入库", info["created_at"]),
            ("文件", info["filename"]), ("类型", info["mime_name"]), ("大小", f"{info['size']} 字节"),
            ("SHA-256", info["sha256"]), ("编号", f"{info['short_id']}（完整编号 {info['id']}）")]
    received = (info.get("meta") or {}).get("transfer") or {}
    verdict = received.get("pdf_signature") if isinstance(received, dict) else None
    if isinstance(verdict, dict):  # checked against the county directory when the package was imported
        who = "、".join(verdict.get("signers") or [])
        rows.append(("转入时签名核验", str(verdict.get("status_name") or verdict.get("status"))
                     + (f"（{who}）" if who else "") + ("" if verdict.get("authentic") else "，不能证明文书来源")))
    if info["void"]:
        rows.append(("作废", f"{info['void'].get('at', '')[:10]} {info['void'].get('by', '')}：{info['void'].get('reason', '')}"))
    for k, v in rows:
        click.echo(f"{k}：{v}")
    click.echo("")
    click.echo(info["text"] or "（该文档没有可显示的正文；用 guanai open 导出原件。）")


def export_options(f: Any) -> Any:
    """The arguments and options of ``guanai open`` and ``guanai doc get`` (one command, two names)."""
    for deco in reversed((
        click.argument("doc_ids", nargs=-1),
        click.option("-o", "--output", "output", required=True, type=click.Path(),
                     help="输出文件路径；或目录（已有目录、以 / 结尾或多份文档时），文件名用原文件名。"),
        click.option("--child", "child_ref", default=None, help="导出该儿童的全部文档（整份档案）到 -o 目录。"),
        click.option("--include-void", is_flag=True, help="与 --child 同用：连同已作废的文档。"),
        click.option("--force", is_flag=True, help="输出文件已存在时覆盖（只对单个文件路径）。"),
        click.option("--sign", "do_sign", is_flag=True,
                     help="导出的 PDF 加本校数字签名（PAdES；已有签名的原样导出，非 PDF 文件不签名）。需写入权限。"),
        json_option,
    )):
        f = deco(f)
    return f


@click.command("open")
@export_options
@click.pass_context
def open_cmd(ctx: click.Context, doc_ids: tuple[str, ...], output: str, child_ref: str | None, include_void: bool,
             force: bool, do_sign: bool, as_json: bool) -> None:
    """导出文档原件（.docx / .pdf / 扫描件）到文件或目录，原子写入。每次导出都记入审计日志。

    编号可只写前 6 位以上；可一次给出多个编号；--child 导出一名儿童的整份档案。

    --sign 在导出的同时给 PDF 加本校数字签名（对方用 guanai doc verify 或 pdfsig 核验）。

    \b
    示例：
      guanai open 3f2c0d -o 家访记录.docx
      guanai open 3f2c0d 9a81be -o 导出目录/
      guanai open --child 张小明 -o 导出目录/
      guanai open 7b1e04 -o 通报.pdf --sign
    """
    export_cmd_body(ctx, doc_ids, output, child_ref, include_void, force, do_sign, as_json)


_SIGN_WORDS = {"signed": "已加本校签名", "kept": "已有签名，原样导出", "not_pdf": "不是 PDF，未签名",
               "failed": "无法签名，原样导出"}


def export_cmd_body(ctx: click.Context, doc_ids: tuple[str, ...], output: str, child_ref: str | None,
                    include_void: bool, force: bool, do_sign: bool = False, as_json: bool = False) -> None:
    """Shared by ``guanai open`` and ``guanai doc get`` (the archive is opened for writing only to
    sign: the signing key is made at first use, and signing speaks for the school)."""
    from guanai.archive.documents import export_documents, export_dossier
    from guanai.base.errors import InputError

    if child_ref and doc_ids:
        raise InputError("--child 与文档编号不能同时给出。", "导出整份档案用 --child；导出几份文档只写编号。")
    if not child_ref and not doc_ids:
        raise InputError("没有给出文档编号。", "例如：guanai open 3f2c0d -o 导出目录/；整份档案用 --child 姓名。")
    with open_archive_ctx(ctx, write=do_sign) as arc:
        sign = None
        if do_sign:
            from guanai.generators.sign import pdf_signer

            sign = pdf_signer(arc)
        if child_ref:
            paths = export_dossier(arc, child_ref, Path(output), include_void=include_void, sign=sign)
        else:
            paths = export_documents(arc, list(doc_ids), output, force=force, sign=sign)
    if as_json:
        obj: dict[str, Any] = {"files": [str(p) for p in paths]}
        if do_sign:  # per file: signed / kept / not_pdf / failed (why in sign_problems)
            obj["signatures"] = {str(p): v for p, v in paths.signature.items()}
            obj["sign_problems"] = {str(p): why for p, why in paths.problems.items()}
        echo_json(obj)
        return
    marks = {p: f"（{_SIGN_WORDS[v]}）" for p, v in paths.signature.items()}
    if child_ref:
        click.echo(f"已导出 {len(paths)} 份文档到 {paths[0].parent}：")
    elif len(paths) > 1:
        click.echo(f"已导出 {len(paths)} 份文档：")
    if len(paths) == 1 and not child_ref:
        click.echo(f"已导出：{paths[0]}{marks.get(paths[0], '')}")
    else:
        for p in paths:
            click.echo(f"  {p}{marks.get(p, '')}")
    if do_sign:
        signed = sum(1 for v in paths.signature.values() if v == "signed")
        kept = sum(1 for v in paths.signature.values() if v == "kept")
        if signed + kept == 0:
            click.echo("注意：这份档案中没有 PDF 文档，未签名。")
        else:
            click.echo(f"数字签名：本次签名 {signed} 份，原有签名 {kept} 份（核验：guanai doc verify 文件.pdf 或 pdfsig）。")
        for p, why in paths.problems.items():
            click.echo(f"警告：{p.name} 无法签名，已按原样导出（{why}）。", err=True)
    click.echo("注意：导出的文件未加密，含儿童个人信息，用完请妥善保管或删除。")


@click.command("reindex")
@with_archive()
def reindex(arc: Archive) -> None:
    """由目录重建全文索引（索引是派生数据；索引损坏、被篡改或版本变化时使用）。

    \b
    示例：
      guanai reindex
    """
    from guanai.search.api import reindex as rebuild

    with _progress("重建全文索引") as cb:
        n = rebuild(arc, progress=cb)
    click.echo(f"全文索引已重建：{n} 条（儿童档案与文档）。")
