"""``guanai lint``: check .docx files against GB/T 9704-2012, PDFs against PDF/A-2b (no archive needed)."""

from __future__ import annotations

import click

from guanai.base.errors import GuanaiError
from guanai.cli.common import echo_err, echo_json, echo_table, json_option

#: Exit status when a file was read but breaks the format (unreadable files use the error's own).
EXIT_VIOLATIONS = 1


@click.command("lint")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--pdf/--no-pdf", "layout", default=None,
              help="用 LibreOffice 排版后检查各页（孤行页、署名页）；默认：装有 LibreOffice 时检查。")
@json_option
@click.pass_context
def lint(ctx: click.Context, files: tuple[str, ...], layout: bool | None, as_json: bool) -> None:
    """按 GB/T 9704-2012《党政机关公文格式》检查 .docx 公文，列出每一处不符合项。

    检查纸张与页边距、各要素字体（含东亚字体与主题字体覆盖）、字号、行距、标题层次字体、发文字号、成文日期、页码（单页居右、双页居左）、语言 zh-CN；
    版头（红色发文机关标志、红色分隔线）、上行文的签发人、主送机关顶格、标题回行（词意完整、不留单字、长短适宜）、版记；
    装有 LibreOffice 时还排版检查孤行页与署名页。仿宋_GB2312 等字库以外的字（如 玥、堃）作为提示列出。

    给出 PDF 文件时检查 PDF/A-2b 长期保存格式（ISO 19005-2）：文件头与文件尾、字体嵌入、输出意图、注释、禁止的动作与脚本、数字签名覆盖范围、XMP 元数据及其与文档信息一致。

    有不符合项时退出码为 1，文件无法读取时为 2。不需要打开档案库。
    本系统生成的表格类文书（档案卡、家访记录、通知书等，文档属性“类别”为“表格类文书（非公文）”）不是公文，会注明“未检查”。

    \b
    示例：
      guanai lint 关于成立领导小组的通知.docx
      guanai lint 输出/*.docx --json
      guanai lint 通报.docx --no-pdf
      guanai lint 通报-已签名.pdf
    """
    from guanai.generators.lint import lint_file

    reports = []
    errors: list[tuple[str, GuanaiError]] = []
    for path in files:
        try:
            reports.append(lint_file(path, layout=layout))
        except GuanaiError as err:
            errors.append((path, err))
    if as_json:
        payload: list[dict[str, object]] = [r.to_dict() for r in reports]
        payload += [{"file": p, "ok": False, "error": e.to_json()} for p, e in errors]
        echo_json(payload)
    else:
        for report in reports:
            if report.skipped:
                click.echo(f"{report.file}：{report.skipped}。")
                continue
            for w in report.warnings:
                click.echo(f"{report.file}：提示：{w.found}（{w.expected}；{w.where}）")
            if report.ok:
                standard = "PDF/A-2b" if report.file.lower().endswith(".pdf") else "GB/T 9704-2012"
                click.echo(f"{report.file}：符合 {standard} 检查项。")
                continue
            standard = "PDF/A-2b" if report.file.lower().endswith(".pdf") else "GB/T 9704-2012"
            click.echo(f"{report.file}：{len(report.violations)} 项不符合 {standard}：")
            echo_table(
                [[v.element, v.expected, v.found, v.where] for v in report.violations],
                ["要素", "应为", "实为", "位置"],
            )
            click.echo("")
        for _, error in errors:
            echo_err(error.message, error.hint)
    if errors:
        ctx.exit(max(e.exit_code for _, e in errors))
    if any(not r.ok for r in reports):
        ctx.exit(EXIT_VIOLATIONS)
