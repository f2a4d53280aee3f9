"""Command `transfer`: export, inspect, import (accept / reject), confirm, expire, list."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from guanai.cli.common import echo_err, echo_json, echo_table, json_option, with_archive

if TYPE_CHECKING:
    from guanai.archive.store import Archive

_DECISION = {"accepted": "已接收", "rejected": "已拒收"}
_STATE = {"sent": "已发出，待回执", "accepted": "对方已接收", "rejected": "对方已拒收"}


def _when(iso: str | None) -> str:
    """ISO timestamp (UTC) -> local 'YYYY-MM-DD HH:MM' for people; unchanged when unparsable."""
    from datetime import datetime

    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


class _Bar:
    """A progress bar on stderr, drawn only on a terminal, sized at the first report."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __call__(self, advance: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_pos=True,
                                         hidden=not sys.stderr.isatty())
            self.bar.__enter__()
        self.bar.update(advance)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _catch_up_index(arc: Archive) -> str:
    """Bring the search index up to date after an import."""
    from guanai.search.index import open_index

    open_index(arc)
    return "全文索引已更新。"


def _rebuild_index(arc: Archive) -> None:
    from guanai.search.index import index_for

    six = index_for(arc)
    if six.exists():
        six.rebuild(arc)



@click.group("transfer")
def transfer() -> None:
    """档案转接：导出加密转接包、查看、导入（接收或拒收）、确认回执。

    \b
    示例：
      guanai transfer export G341322201203050012 --to 3413220002 -o 张小明.gtp
      guanai transfer export --grade 六年级 --by-destination 升学包 --mapping 去向.csv
      guanai transfer inspect 张小明.gtp
      guanai transfer import 张小明.gtp --accept
      guanai transfer confirm 张小明.gtp.receipt
      guanai transfer expire --check
    """


@transfer.command("export")
@click.argument("children", nargs=-1)
@click.option("--to", "to_code", default=None, help="接收学校代码（须在县级目录中）。")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None, help="转接包文件（.gtp）。")
@click.option("--grade", default=None, help="升学：整个年级（如 六年级）。")
@click.option("--by-destination", "out_dir", type=click.Path(file_okay=False), default=None,
              help="升学：按去向学校每校一个转接包，写入此目录。")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False), default=None,
              help="升学：去向对照表（.csv 两列：学籍号,学校代码；或 .json/.yaml/.xlsx）。")
@click.option("--resend", is_flag=True,
              help="儿童已在待回执的转接包中时仍重新导出（原包丢失时；原包仍可能被导入，先与对方核实）。")
@click.option("--include-void", is_flag=True, help="连同已作废的文档一起转出（默认不转出作废的文档）。")
@click.option("--no-sign", "no_sign", is_flag=True,
              help="转出的 PDF 文书不加本校数字签名（默认每份 PDF 都加签名，已有签名的原样保留）。")
@json_option
@with_archive(write=True)
def transfer_export(arc: Archive, children: tuple[str, ...], to_code: str | None, output: str | None,
                    grade: str | None, out_dir: str | None, mapping: str | None, resend: bool,
                    include_void: bool, no_sign: bool, as_json: bool) -> None:
    """导出转接包：签名并加密给接收学校（转学），或按去向导出整个年级（升学）。

    儿童可用姓名、学籍号、身份证号或编号（至少前 6 位）指定。已作废的文档默认不转出。

    包中每份 PDF 文书都加本校数字签名（PAdES；接收学校取出后仍可用 guanai doc verify 或 pdfsig 核验来源）。

    已有签名的 PDF 原样转出；无法签名的（文件损坏）按原样转出并列出。--no-sign 不签名。

    \b
    示例：
      guanai transfer export G341322201203050012 --to 3413220002 -o 张小明.gtp
      guanai transfer export --grade 六年级 --by-destination 升学包 --mapping 去向.csv
      guanai transfer export 张小明 --to 3413220002 -o 张小明.gtp --no-sign
    """
    from guanai.archive.transfer import export_by_destination, export_package
    from guanai.base.errors import InputError
    from guanai.generators.sign import pdf_signer
    from guanai.generators.slip import render_slip

    sign = None if no_sign else pdf_signer(arc, reason="档案转接")

    if grade or out_dir or mapping:
        if children or to_code or output:
            raise InputError("升学导出（--grade）不能同时指定儿童、--to 或 -o。", "二选一：转学或升学。")
        if not (grade and out_dir and mapping):
            raise InputError("升学导出需要 --grade、--by-destination 与 --mapping 三项。",
                             "例如：--grade 六年级 --by-destination 升学包 --mapping 去向.csv")
        with _Bar("打包") as bar:
            results = export_by_destination(arc, grade, Path(mapping), Path(out_dir), render_slip=render_slip,
                                            resend=resend, progress=bar, include_void=include_void, sign=sign)
    else:
        if not children or not to_code or not output:
            raise InputError("转学导出需要儿童、--to 学校代码 与 -o 文件。",
                             "例如：guanai transfer export G341322201203050012 --to 3413220002 -o 张小明.gtp")
        with _Bar("打包") as bar:
            results = [export_package(arc, list(children), to_code, Path(output), render_slip=render_slip,
                                      resend=resend, progress=bar, include_void=include_void, sign=sign)]
    if as_json:
        echo_json([r.to_json() for r in results])
        return
    for r in results:
        click.echo(f"已导出转接包：{r.path}")
        click.echo(f"  接收学校：{r.recipient.name}（{r.recipient.code}）；儿童 {r.children} 名，文书 {r.documents} 件，"
                   f"{r.size:,} 字节；编号 {r.package_id}")
        click.echo("  " + _sender_signature_line(r.signatures))
        for p in r.sign_problems:
            click.echo(f"  警告：{p.where}：{p.what}", err=True)
    click.echo("请把转接包交给接收学校；收到回执后执行：guanai transfer confirm 回执文件")


def _sender_signature_line(c: dict[str, int]) -> str:
    if not c.get("pdfs"):
        return "PDF 数字签名：包中没有 PDF 文书。"
    if c.get("off"):
        return f"PDF 数字签名：未签名（--no-sign），PDF 文书 {c['pdfs']} 件。"
    parts = [f"本校签名 {c.get('signed', 0)} 件"]
    if c.get("kept"):
        parts.append(f"原有签名保留 {c['kept']} 件")
    if c.get("failed"):
        parts.append(f"未能签名 {c['failed']} 件（按原样转出）")
    return f"PDF 数字签名：PDF 文书 {c['pdfs']} 件，" + "，".join(parts) + "。"


def _receiver_signature_lines(counts: dict[str, int] | None, problems: list[dict[str, str]]) -> list[str]:
    """What the receiver found when checking each carried PDF's signature against its directory."""
    if counts is None:
        return []
    if not counts.get("pdfs"):
        return ["  PDF 数字签名：包中没有 PDF 文书。"]
    line = (f"  PDF 数字签名（按县级目录逐份核验）：PDF {counts['pdfs']} 件，有签名 {counts['signed']} 件，"
            f"有效 {counts['valid']} 件，无效 {counts['invalid']} 件，未签名 {counts['unsigned']} 件")
    if counts.get("unreadable"):
        line += f"，无法读取 {counts['unreadable']} 件"
    lines = [line + "。"]
    if counts.get("unsigned") and not counts.get("signed"):
        lines.append("  （发送学校未给文书签名，可能是旧版本软件；这些文书无法单独证明来源。）")
    for p in problems:
        lines.append(f"  警告：{p['where']}：{p['what']}（不能证明文书来源）")
    return lines


def _print_inspect(info: dict[str, Any]) -> None:
    click.echo(f"转接包：{info['file']}（{info['size']:,} 字节）")
    click.echo(f"  编号：{info['package_id']}  类型：{info.get('purpose')}  打包时间：{_when(info.get('created_at'))}")
    s, r = info["sender"], info["recipient"]
    click.echo(f"  发送：{s.get('name')}（{s.get('code')}）  接收：{r.get('name')}（{r.get('code')}）")
    counts = info.get("counts") or {}
    click.echo(f"  儿童 {counts.get('children')} 名，文书 {counts.get('documents')} 件")
    click.echo(f"  签名：{info['signature']}")
    click.echo(f"  SHA-256：{info['sha256']}")
    if info.get("imported"):
        imp = info["imported"]
        click.echo(f"  本校已于 {_when(imp.get('at'))} 处理过（{_DECISION.get(imp.get('decision'), imp.get('decision'))}）")
    if info.get("contents") is None:
        click.echo("  内容：已加密，仅接收学校可查看。")
        return
    for line in _receiver_signature_lines(info.get("pdf_signatures"), info.get("pdf_signature_problems") or []):
        click.echo(line)
    for c in info["contents"]:
        click.echo(f"  {c['name']}（{c['student_id']}）：文书 {len(c['documents'])} 件")
        for d in c["documents"]:
            sig = d.get("signature")
            note = f"  [{sig['status_name']}]" if sig else ""
            click.echo(f"    - {d['title']}（{d['size']:,} 字节）SHA-512 {d['sha512'][:32]}…{note}")


@transfer.command("inspect")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@json_option
@with_archive()
def transfer_inspect(arc: Archive, file: str, as_json: bool) -> None:
    """查看转接包：发送/接收学校、日期、人数、签名状态；接收学校还可看到内容清单。

    接收学校查看时还按县级目录逐份核验包中 PDF 文书的数字签名（有效 / 无效 / 未签名）。

    \b
    示例：
      guanai transfer inspect 张小明.gtp
      guanai transfer inspect 张小明.gtp --json
    """
    from guanai.archive.transfer import inspect_package
    from guanai.generators.sign import check_document

    info = inspect_package(arc, Path(file), check_document=check_document)
    if as_json:
        echo_json(info)
        return
    _print_inspect(info)
    if info.get("signature_ok") is False:
        raise click.exceptions.Exit(6)


@transfer.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--accept", "do_accept", is_flag=True, help="接收（核验通过后存入本校档案库）。")
@click.option("--reject", "reject_reason", default=None, help="拒收，并说明原因。")
@click.option("--yes", is_flag=True, help="不再询问确认。")
@click.option("--receipt", type=click.Path(dir_okay=False), default=None,
              help="回执文件路径（默认：转接包旁的 FILE.gtp.receipt）。")
@json_option
@with_archive(write=True)
def transfer_import(arc: Archive, file: str, do_accept: bool, reject_reason: str | None, yes: bool,
                    receipt: str | None, as_json: bool) -> None:
    """导入转接包：核验签名与县级目录、解密、校验（BagIt）、显示摘要，然后接收或拒收。

    接收时所有记录与文书在一个事务中以本校密钥重新加密存入，状态为“在册”；无论接收或拒收，都生成签名回执。

    包中每份 PDF 文书的数字签名按县级目录逐份核验并报告；签名无效的文书照常接收，但如实标记，不作为可证明来源的文书。

    \b
    示例：
      guanai transfer import 张小明.gtp
      guanai transfer import 张小明.gtp --accept --yes
      guanai transfer import 张小明.gtp --reject "该生未到我校报到"
    """
    from guanai.archive.transfer import accept, open_package, reject
    from guanai.base.errors import InputError
    from guanai.generators.sign import check_document

    if do_accept and reject_reason is not None:
        raise InputError("--accept 与 --reject 只能选一个。")
    rpath = Path(receipt) if receipt else None
    if sys.stderr.isatty():
        click.echo("正在核验签名、解密并校验转接包……", err=True)
    opened = open_package(arc, Path(file), receipt=rpath, for_reject=reject_reason is not None,
                          check_document=check_document)
    summary = opened.summary()
    # under --json the summary and the question go to stderr, so stdout stays one JSON document
    click.echo(f"转接包 {summary['package_id']}：核验通过（签名、解密、BagIt 校验）。", err=as_json)
    click.echo(f"  发送：{summary['sender']['name']}（{summary['sender']['code']}）  类型：{summary['purpose']}"
               f"  打包时间：{_when(summary['created_at'])}", err=as_json)
    for c in summary["children"]:
        click.echo(f"  {c['name']}（{c['student_id']}，{c.get('grade') or ''}）：文书 {len(c['documents'])} 件",
                   err=as_json)
    for line in _receiver_signature_lines(summary["pdf_signatures"], summary["pdf_signature_problems"]):
        click.echo(line, err=as_json)
    if reject_reason is not None:
        result = reject(arc, opened, reject_reason, rpath)
    else:
        if not yes:
            try:
                flagged = len(summary["pdf_signature_problems"])
                question = "接收以上儿童档案" + (f"（其中 {flagged} 份 PDF 的签名无效或无法核验，将如实标记）" if flagged else "")
                agreed = click.confirm(question + "？", default=False, err=True)
            except click.Abort:  # no terminal to answer (EOF) or Ctrl-C: same as "no", in Chinese
                agreed = False
            if not agreed:
                echo_err("已取消，未导入任何内容，也未生成回执。",
                         "确认接收：加 --accept --yes；拒收：--reject 原因。")
                raise click.exceptions.Exit(1)
        with _Bar("入库") as bar:
            result = accept(arc, opened, rpath, progress=bar)
    note = _catch_up_index(arc) if result.decision == "accepted" else ""
    if as_json:
        echo_json({**summary, "decision": result.decision, "child_ids": result.child_ids,
                   "receipt": str(result.receipt_path)})
        return
    if result.decision == "accepted":
        click.echo(f"已接收：儿童 {len(result.child_ids)} 名，文书 {result.documents} 件，状态“在册”。" + note)
        if summary["pdf_signature_problems"]:
            click.echo(f"注意：{len(summary['pdf_signature_problems'])} 份 PDF 的签名无效或无法核验，已在档案中如实标记，"
                       "不能作为证明文书来源的凭证；请与发送学校核实。")
    else:
        click.echo(f"已拒收：{reject_reason}")
    click.echo(f"回执：{result.receipt_path}（请交回发送学校）")


@transfer.command("confirm")
@click.argument("receipt", type=click.Path(exists=True, dir_okay=False))
@click.option("--retention", type=click.Choice(["sealed", "minimal"]), default="sealed", show_default=True,
              help="接收后本校保留：sealed＝加密副本保留 N 年；minimal＝仅回执与最小记录。")
@click.option("--keep-years", type=click.IntRange(0, 100), default=3, show_default=True,
              help="sealed 方式的保留年限。")
@json_option
@with_archive(write=True)
def transfer_confirm(arc: Archive, receipt: str, retention: str, keep_years: int, as_json: bool) -> None:
    """（发送学校）核验接收学校的回执：接收则标记“转出”，拒收则恢复“在册”。

    \b
    示例：
      guanai transfer confirm 张小明.gtp.receipt
      guanai transfer confirm 张小明.gtp.receipt --retention minimal
    """
    from guanai.archive.transfer import Retention, confirm

    res = confirm(arc, Path(receipt), Retention(retention, keep_years))
    if res.deleted_documents:
        _rebuild_index(arc)
    if as_json:
        echo_json({"package_id": res.package_id, "decision": res.decision, "reason": res.reason,
                   "recipient": res.recipient.code,
                   "children": res.children, "retention": res.retention.mode, "retain_until": res.retain_until,
                   "deleted_documents": res.deleted_documents})
        return
    who = f"{res.recipient.name}（{res.recipient.code}）"
    if res.decision == "accepted":
        click.echo(f"回执有效：{who}已接收 {len(res.children)} 名儿童的档案，已标记“转出”。")
        if res.retention.mode == "sealed":
            click.echo(f"本校保留加密副本至 {res.retain_until}（只读）。")
        else:
            click.echo(f"本校仅保留回执与最小记录（已删除文书 {res.deleted_documents} 件）。")
    else:
        click.echo(f"回执有效：{who}拒收，原因：{res.reason}；儿童已恢复“在册”。")


@transfer.command("expire")
@click.option("--check", "dry_run", is_flag=True, help="只列出保留期已满的转接包，不作改动。")
@json_option
@with_archive(write=True)
def transfer_expire(arc: Archive, dry_run: bool, as_json: bool) -> None:
    """（发送学校）保留期满的转出档案：删除文书，只留回执与最小记录。

    transfer confirm 默认保留加密副本 N 年（--keep-years）；期满后运行本命令执行保留策略。
    其间已重新启用（不再是“转出”）的儿童不受影响。

    \b
    示例：
      guanai transfer expire --check
      guanai transfer expire
    """
    from guanai.archive.transfer import expire_retention

    due = expire_retention(arc, dry_run=dry_run)
    if not dry_run and any(x.deleted_documents for x in due):
        _rebuild_index(arc)
    if as_json:
        echo_json({"check": dry_run, "packages": [x.to_json() for x in due]})
        return
    if not due:
        click.echo("没有保留期已满的转出档案。")
        return
    for x in due:
        line = f"转接包 {x.package_id[:12]}（{x.recipient_name}（{x.recipient}），保留至 {x.retain_until}）：儿童 {len(x.children)} 名"
        click.echo(line + ("" if dry_run else f"，已删除文书 {x.deleted_documents} 件，仅留回执与最小记录"))
    if dry_run:
        click.echo("以上为保留期已满的转接包；执行：guanai transfer expire")


@transfer.command("list")
@json_option
@with_archive()
def transfer_list(arc: Archive, as_json: bool) -> None:
    """列出本校发出与收到的转接包。

    \b
    示例：
      guanai transfer list
      guanai transfer list --json
    """
    from guanai.archive.transfer import list_transfers

    data = list_transfers(arc)
    if as_json:
        echo_json(data)
        return
    click.echo("发出：")
    echo_table([[o["package_id"][:12], f"{o.get('recipient_name')}（{o.get('recipient')}）", str(o["children"]),
                 _STATE.get(o.get("state") or "", o.get("state") or ""), _when(o.get("created_at"))]
                for o in data["outgoing"]],
               ["编号", "接收学校", "人数", "状态", "时间"])
    click.echo("收到：")
    echo_table([[i["package_id"][:12],
                 f"{i['from_name']}（{i.get('from')}）" if i.get("from_name") else (i.get("from") or ""),
                 _DECISION.get(i.get("decision") or "", i.get("decision") or ""), _when(i.get("at"))]
                for i in data["incoming"]], ["编号", "发送学校", "处理", "时间"])
