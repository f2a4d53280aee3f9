"""``guanai form`` / ``guanai generate`` / ``guanai template``: forms in, documents out."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from guanai.base.errors import InputError
from guanai.cli.common import echo_err, echo_json, echo_table, json_option, open_archive_ctx, refuse_overwrite

if TYPE_CHECKING:
    from guanai.archive.store import Archive
    from guanai.generators.generate import BatchResult


def _kind_ids() -> list[str]:
    from guanai.generators.kinds import KINDS

    return list(KINDS)


# --------------------------------------------------------------------------- form


@click.group("form")
def form() -> None:
    """表单：列出文书种类，生成空白表单模板（Excel / JSON / YAML）。

    \b
    示例：
      guanai form kinds
      guanai form template home-visit --xlsx -o 家访台账.xlsx
    """


@form.command("kinds")
@json_option
def form_kinds(as_json: bool) -> None:
    """列出全部文书种类（种类代号与中文名称）。

    \b
    示例：
      guanai form kinds
      guanai form kinds --json
    """
    from guanai.generators.kinds import KINDS

    rows: list[dict[str, Any]] = [
        {"kind": k.id, "name": k.name, "official": k.official, "to_family": k.to_family, "per_child": k.per_child}
        for k in KINDS.values()
    ]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        [[r["kind"], r["name"], "公文" if r["official"] else "表格/文书", "是" if r["to_family"] else "否"]
         for r in rows],
        ["种类", "名称", "格式", "送家庭/张贴"],
    )


@form.command("template")
@click.argument("kind")
@click.option("--xlsx", "fmt", flag_value="xlsx", help="Excel 台账：中文表头、下拉选项、一行示例。")
@click.option("--json", "fmt", flag_value="json", help="JSON 示例表单（可直接用于 generate）。")
@click.option("--yaml", "fmt", flag_value="yaml", help="YAML 示例表单（可直接用于 generate）。")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="输出文件路径。")
@click.option("--force", is_flag=True, help="输出文件已存在时覆盖。")
def form_template(kind: str, fmt: str | None, output: str, force: bool) -> None:
    """生成某种文书的空白表单模板（含一份完整的示例，可直接用于 generate）。

    \b
    示例：
      guanai form template child-card --xlsx -o 档案卡台账.xlsx
      guanai form template dropout-report --yaml -o 辍学报告.yaml
    """
    from guanai.generators.formsio import write_form_template
    from guanai.generators.kinds import get_kind

    k = get_kind(kind)
    if fmt is None:
        suffix = Path(output).suffix.lower().lstrip(".")
        fmt = {"xlsx": "xlsx", "json": "json", "yaml": "yaml", "yml": "yaml"}.get(suffix)
        if fmt is None:
            raise InputError("请指定表单格式：--xlsx、--json 或 --yaml。", f"例如：guanai form template {k.id} --xlsx -o 表单.xlsx")
    refuse_overwrite(output, force)
    write_form_template(k, fmt, Path(output))  # type: ignore[arg-type]
    click.echo(f"已生成{k.name}的{'Excel 台账' if fmt == 'xlsx' else fmt.upper() + ' 示例表单'}：{output}")


# --------------------------------------------------------------------------- generate


@contextlib.contextmanager
def _maybe_archive(ctx: click.Context, use: bool) -> Iterator[Archive | None]:
    if not use:
        yield None
        return
    with open_archive_ctx(ctx, write=True) as arc:
        yield arc


@click.command("generate")
@click.argument("kind")
@click.argument("forms", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--child", "child_refs", multiple=True,
              help="儿童（姓名、学籍号、身份证号或编号）：取其档案记录填表并关联；可写多次。")
@click.option("--all", "every", is_flag=True, help="为全部在册儿童各生成一份（可再用 --grade / --class 缩小）。")
@click.option("--grade", default=None, help="为该年级的在册儿童各生成一份，如 三年级。")
@click.option("--class", "class_name", default=None, help="为该班的在册儿童各生成一份，如 2班（常与 --grade 同用）。")
@click.option("--pdf", is_flag=True, help="同时转换为 PDF/A（需要 LibreOffice）。")
@click.option("--sign", "do_sign", is_flag=True, help="与 --pdf 同用：PDF 加本校数字签名（PAdES，可用 guanai doc verify 核验）。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="把生成的文件另存到此目录。")
@click.option("--no-archive", is_flag=True, help="不存入档案库，只生成文件（默认存到当前目录）。")
@click.option("--templates", "templates_dir", type=click.Path(file_okay=False), default=None,
              help="使用学校自己的模板目录（在隔离的子进程中渲染）。")
@click.option("-i", "--interactive", is_flag=True, help="逐项提示输入表单（给出儿童时先填入其档案记录）。")
@click.option("--from-stats", is_flag=True,
              help="督查报告、通报：数据、问题与整改要求取自档案统计（guanai stats），并插入统计图；表单文件中的项优先。")
@click.option("--as-of", "as_of", default=None, help="与 --from-stats 同用：统计日期（默认今天）。")
@click.option("--by", type=click.Choice(["grade", "class", "category"]), default=None,
              help="与 --from-stats 同用：数据表按年级、班级或类别分行。")
@click.option("--signer", default=None,
              help="与 --from-stats 同用：督查报告的签发人（默认取 guanai settings set --signer 的设置）。")
@json_option
@click.pass_context
def generate(ctx: click.Context, kind: str, forms: tuple[str, ...], child_refs: tuple[str, ...], every: bool,
             grade: str | None, class_name: str | None, pdf: bool, do_sign: bool, out_dir: str | None, no_archive: bool,
             templates_dir: str | None, interactive: bool, from_stats: bool, as_of: str | None, by: str | None,
             signer: str | None, as_json: bool) -> None:
    """由表单生成规范文书（.docx，可选 PDF），并存入档案库。

    KIND 是种类代号或中文名称（如 home-visit 或 家访记录表，见 guanai form kinds）。
    FORMS 可以是 JSON、YAML、CSV 或 Excel（.xlsx，每行一份表单）文件，可多个。
    针对单个儿童的文书可用 --child（可多次）、--all、--grade、--class：每名儿童一份，
    表单由其档案记录填写（表单文件可补充其余各项），一次批量生成。学校默认为本档案库的学校。
    有表单出错时跳过该份、其余照常生成，最后汇总，退出码非 0。

    \b
    示例：
      guanai generate home-visit 家访.yaml
      guanai generate 一人一卡一策档案卡 档案卡台账.xlsx --pdf --out 输出
      guanai generate child-card --child 张小明 补充.yaml
      guanai generate child-card --grade 三年级 --pdf 建档.yaml
      guanai generate 家访记录表 --child G341322201203050012 -i
      guanai generate leading-group-notice 通知.json --no-archive --out 输出
      guanai generate supervision-report --from-stats --as-of 2026-10-31 --pdf
      guanai generate supervision-report --from-stats --signer 李明 --pdf --sign
      guanai generate circular 通报.yaml --pdf --sign
    """
    from guanai.generators.generate import generate_batch
    from guanai.generators.kinds import get_kind

    k = get_kind(kind)
    if do_sign and (not pdf or no_archive):
        raise InputError("--sign 给生成的 PDF 签名：须与 --pdf 同用，且需要档案库（不能与 --no-archive 同用）。",
                         "例如：guanai generate circular 通报.yaml --pdf --sign；已有的 PDF 用 guanai doc sign 文件 签名。")
    if signer and not from_stats:
        raise InputError("--signer 只与 --from-stats 同用。", "其他公文的签发人写在表单的“签发人”一项中。")
    if from_stats:
        from guanai.cli.workflow import parse_day
        from guanai.generators.workflow_docs import generate_from_stats

        if no_archive or child_refs or every or grade or class_name or interactive:
            raise InputError("--from-stats 取档案库的统计数据，不能与 --no-archive、--child、-i 同用。")
        with _maybe_archive(ctx, True) as arc:
            assert arc is not None
            result = generate_from_stats(arc, k.id, [Path(f) for f in forms], parse_day(as_of, "--as-of 日期"), by=by,
                                         pdf=pdf, out_dir=Path(out_dir) if out_dir else None,
                                         template_dir=templates_dir, signer=signer, sign=do_sign)
        _report(result, as_json, stored=True)
        if result.failed:
            ctx.exit(max(f.exit_code for f in result.failed))
        return
    sources: list[Any] = list(forms)
    wants_children = bool(child_refs or every or grade or class_name)
    if wants_children and no_archive:
        raise InputError("--child / --all / --grade / --class 需要档案库，不能与 --no-archive 同用。",
                         "去掉 --no-archive，或直接在表单中填写儿童信息。")
    if wants_children and not k.per_child:
        raise InputError(f"“{k.name}”不是针对单个儿童的文书，不能用 --child、--all、--grade 或 --class。",
                         "去掉这些选项。")
    if not sources and not wants_children and not interactive:
        raise InputError("没有给出表单文件。", f"例如：guanai generate {k.id} 表单.yaml；"
                         f"或用 `guanai form template {k.id} --yaml -o 表单.yaml` 先生成示例表单；或加 -i 逐项输入。")
    out = Path(out_dir) if out_dir else (Path(".") if no_archive else None)
    with _maybe_archive(ctx, not no_archive) as arc:
        entries: list[Any] = []
        if arc is not None and wants_children:
            from guanai.archive.resolve import select_children

            entries = select_children(arc, child_refs, every=every, grade=grade, class_name=class_name)
        if interactive:
            sources.append(_interactive_form(k, arc, entries))
        total = _count(sources) * max(1, len(entries))
        # on stderr and only on a terminal (like `child import`): stdout stays clean for --json and pipes
        hidden = total < 2 or as_json or not sys.stderr.isatty()
        bar_cm: Any = click.progressbar(length=total * (2 if pdf else 1), file=sys.stderr, hidden=hidden,
                                        label="生成文书并转换 PDF" if pdf else "生成文书")
        with bar_cm as bar:
            result = generate_batch(arc, k.id, sources, children=entries, pdf=pdf, out_dir=out,
                                    template_dir=templates_dir, store=not no_archive,
                                    progress=lambda n: bar.update(n), sign=do_sign)
        shorts = _short_ids(arc, result)
    _report(result, as_json, stored=not no_archive, shorts=shorts)
    if result.failed:
        ctx.exit(max(f.exit_code for f in result.failed))


def _interactive_form(k: Any, arc: Archive | None, entries: list[Any]) -> Any:
    """One form asked field by field; the child's record (and the archive's school) shown as defaults."""
    from guanai.generators.formsio import FormRow, prompt_form
    from guanai.generators.generate import prompt_defaults, typed_over_record

    defaults, skip = prompt_defaults(k, arc, entries)
    if skip:
        click.echo(f"为 {len(entries)} 名儿童各生成一份；各自档案记录中的项目（{'、'.join(sorted(skip))}）不再询问。")

    def ask(label: str, required: bool) -> str:
        return str(click.prompt(label, default="" if not required else None, show_default=False))

    data = prompt_form(k, ask, click.echo, defaults=defaults, skip=skip)
    if len(entries) == 1:
        data = typed_over_record(k, entries[0], data)
    return FormRow("交互输入", None, data)


def _short_ids(arc: Archive | None, result: BatchResult) -> dict[str, str]:
    if arc is None:
        return {}
    from guanai.archive.resolve import unique_short_id

    ids = [i for g in result.ok for i in (g.doc_id, g.pdf_doc_id) if i]
    return {i: unique_short_id(arc, i) for i in ids}


def _count(sources: list[Any]) -> int:
    # rough total for the progress bar (files are read again by the batch; cheap next to rendering)
    from guanai.generators.formsio import read_forms

    n = 0
    for s in sources:
        if isinstance(s, str | Path):
            try:
                n += max(1, len(read_forms(s)))
            except InputError:
                n += 1
        else:
            n += 1
    return max(n, 1)


def _report(result: BatchResult, as_json: bool, *, stored: bool, shorts: dict[str, str] | None = None) -> None:
    from guanai.generators.kinds import get_kind

    shorts = shorts or {}
    if as_json:
        echo_json({
            "kind": result.kind,
            "generated": [{"source": g.label, "title": g.title, "file": g.filename, "doc_id": g.doc_id,
                           "short_id": shorts.get(g.doc_id or ""), "pdf_doc_id": g.pdf_doc_id,
                           "pdf_short_id": shorts.get(g.pdf_doc_id or ""), "child_id": g.child_id,
                           "existing": g.existing,
                           "path": str(g.out_path) if g.out_path else None,
                           "pdf_path": str(g.pdf_path) if g.pdf_path else None} for g in result.ok],
            "failed": [{"source": f.label, "message": f.message, "hint": f.hint,
                        "problems": [p.to_json() for p in f.problems]} for f in result.failed],
            "stored": result.stored,
            "notes": result.notes,
        })
        return
    name = get_kind(result.kind).name
    for note in result.notes:
        click.echo(f"注意：{note}")
    for g in result.ok:
        where = f" → {g.out_path}" if g.out_path else ""
        if g.pdf_path:
            where += f"，{g.pdf_path.name}"
        doc = ""
        if g.doc_id:
            doc = f"（编号 {shorts.get(g.doc_id, g.doc_id[:8])}"
            doc += f"，PDF {shorts.get(g.pdf_doc_id, g.pdf_doc_id[:8])}）" if g.pdf_doc_id else "）"
        again = "（档案库中已有，未重复归档）" if g.existing else ""
        click.echo(f"✓ {g.label}：{g.title}{doc}{again}{where}")
    shown: set[str] = set()
    for f in result.failed:  # the same hint under every bad row of a 台账 would drown the messages
        echo_err(f"{f.label}：{f.message}", f.hint if f.hint not in shown else None)
        shown.add(f.hint or "")
    verb = "生成并归档" if stored else "生成"
    summary = f"{name}：{verb} {len(result.ok)} 份"
    repeated = sum(1 for g in result.ok if g.existing)
    if repeated:
        summary += f"（其中 {repeated} 份档案库中已有，未重复存入）"
    summary += f"，失败 {len(result.failed)} 份（已跳过）。" if result.failed else "。"
    click.echo(summary)
    if stored and result.ok and not result.failed:
        click.echo("以上编号可直接用于 guanai show / open / doc get / doc void。")


# --------------------------------------------------------------------------- template


@click.group("template")
def template() -> None:
    """检查学校自定义的文书模板（未知变量、缺少的字段、语法与安全）。

    \b
    示例：
      guanai template check 我校家访记录表.docx --kind home-visit
      guanai template use 我校模板
      guanai template mark 萧县教育体育局文件
    """


@template.command("mark")
@click.argument("mark", required=False)
@click.option("--clear", is_flag=True, help="不再设定，用“发文机关＋文件”。")
@click.pass_context
def template_mark(ctx: click.Context, mark: str | None, clear: bool) -> None:
    """设定本档案库公文的发文机关标志（版头红色大字，如“萧县教育体育局文件”）。

    表单中填写了“发文机关标志”时以表单为准；都没有时用“发文机关”加“文件”二字。

    \b
    示例：
      guanai template mark 萧县教育体育局文件
      guanai template mark --clear
    """
    from guanai.generators.generate import ORG_MARK_SETTING

    if clear == bool(mark):
        raise InputError("请给出发文机关标志，或用 --clear 取消（二者选一）。", "例如：guanai template mark 萧县教育体育局文件")
    text = (mark or "").strip()
    if mark is not None and not 2 <= len(text) <= 30:
        raise InputError(f"发文机关标志“{text}”长度不合适（应为 2–30 个字）。",
                         "使用发文机关全称或规范化简称，可加“文件”二字，如“萧县教育体育局文件”。")
    with open_archive_ctx(ctx, write=True) as arc:
        arc.set_setting(ORG_MARK_SETTING, text.encode("utf-8"))
        arc.audit("template.mark", None, {"mark": text})
    click.echo(f"已设定发文机关标志：{text}" if text else "已取消发文机关标志设定（用“发文机关＋文件”）。")


@template.command("use")
@click.argument("directory", required=False, type=click.Path(file_okay=False, exists=True))
@click.option("--clear", is_flag=True, help="恢复使用系统自带的模板。")
@click.pass_context
def template_use(ctx: click.Context, directory: str | None, clear: bool) -> None:
    """设定本档案库使用学校自己的模板目录（目录中按种类命名，如 home-visit.docx；缺少的种类用自带模板）。

    设定前会逐一检查目录中的模板；有问题的模板会列出，设定不会生效。

    \b
    示例：
      guanai template use /home/文书/我校模板
      guanai template use --clear
    """
    from guanai.generators.generate import TEMPLATES_SETTING
    from guanai.generators.kinds import KINDS, get_kind
    from guanai.generators.render import check_template

    if clear == bool(directory):
        raise InputError("请给出模板目录，或用 --clear 恢复自带模板（二者选一）。", "例如：guanai template use 我校模板")
    if directory:
        root = Path(directory).resolve()
        found = [k for k in KINDS if (root / f"{k}.docx").is_file()]
        if not found:
            raise InputError(f"目录 {root} 中没有模板文件。", "模板按种类命名，如 home-visit.docx；种类见 guanai form kinds。")
        bad = []
        for k in found:
            report = check_template(root / f"{k}.docx", get_kind(k))
            if not report.ok:
                bad.append(k)
                click.echo(f"  {k}.docx 有问题：" + "；".join(report.errors + [f"未知变量 {u}" for u in report.unknown]))
        if bad:
            raise InputError(f"{len(bad)} 个模板未通过检查，未设定。", "用 guanai template check 文件 --kind 种类 查看详情。")
    with open_archive_ctx(ctx, write=True) as arc:
        if directory:
            arc.set_setting(TEMPLATES_SETTING, str(Path(directory).resolve()).encode("utf-8"))
            arc.audit("template.use", None, {"kinds": found})
            click.echo(f"已设定学校模板目录：{Path(directory).resolve()}（{len(found)} 种：{'、'.join(found)}）")
        else:
            arc.set_setting(TEMPLATES_SETTING, b"")
            arc.audit("template.use", None, {"kinds": []})
            click.echo("已恢复使用系统自带模板。")


@template.command("check")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--kind", "kind", required=True, help="模板对应的文书种类（见 guanai form kinds）。")
@json_option
@click.pass_context
def template_check(ctx: click.Context, file: str, kind: str, as_json: bool) -> None:
    """检查模板：列出未知变量（表单中没有的）、缺少的必填字段、语法或安全问题，并试渲染示例表单。

    有问题时退出码为 2。

    \b
    示例：
      guanai template check 我校档案卡.docx --kind child-card
      guanai template check 我校档案卡.docx --kind child-card --json
    """
    from guanai.generators.kinds import get_kind
    from guanai.generators.render import bundled_template_dir, check_template

    k = get_kind(kind)
    report = check_template(Path(file), k)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(f"模板 {file}（{k.name}）：")
        if report.errors:
            for e in report.errors:
                click.echo(f"  错误：{e}")
        if report.unknown:
            click.echo("  未知变量（表单中没有）：" + "、".join(report.unknown))
        if report.missing:
            click.echo("  缺少的必填字段（模板没有用到）：" + "、".join(report.missing))
        if report.unused:
            click.echo("  未用到的选填字段：" + "、".join(report.unused))
        bundled = bundled_template_dir() / k.template
        if report.ok:
            click.echo("  检查通过：变量都能由表单提供，示例表单渲染成功。")
        elif report.unknown:
            click.echo("提示：Word/WPS 编辑时 {{ }} 可能被拆开；请整体重新输入该变量。"
                       f"变量名以系统自带模板为准：{bundled}")
        elif report.missing:
            click.echo("提示：在模板中加入缺少的字段，写作 {{ 字段代号 }}（括号中的英文名，如 {{ name }}）；"
                       f"可参照系统自带模板：{bundled}")
        else:
            click.echo(f"提示：确认该文件能用 Word/WPS 打开并另存为 .docx；或以系统自带模板为基础修改：{bundled}")
    if not report.ok:
        ctx.exit(2)
