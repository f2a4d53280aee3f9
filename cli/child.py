"""`guanai child ...`: add, import, template, list, show, photo, update, classify, close/reopen/graduate."""

from __future__ import annotations

import errno
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from guanai.base.errors import InputError, Problem, StateError
from guanai.cli.common import echo_json, echo_table, json_option, refuse_overwrite, with_archive

if TYPE_CHECKING:
    from guanai.archive.rosters import RosterPlan
    from guanai.archive.store import Archive, ChildEntry
    from guanai.care.model import ChildRecord

REASON_MAX = 500


def _on_date(value: str | None) -> date:
    if not value:
        return date.today()
    from guanai.care.model import parse_date

    try:
        return parse_date(value)
    except ValueError as err:
        raise InputError(f"日期“{value[:40]}”无效：{err}", "请写成 2026-09-01 的形式。") from err


def _reason(value: str) -> str:
    text = value.strip()
    if not text:
        raise InputError("原因不能为空。", "用 --reason 写明原因，如 --reason 父母返乡")
    if len(text) > REASON_MAX:
        raise InputError(f"原因过长（{len(text)} 个字符，上限 {REASON_MAX}）。", "简要写明原因即可。")
    from guanai.care.model import check_one_line

    try:
        check_one_line(text)  # control characters, bidi overrides, zero-width characters
    except ValueError as err:
        raise InputError(f"原因{err}。", "只写普通文字，写在一行内。") from err
    return text


_OS_REASONS = {errno.ENOENT: "文件不存在", errno.EACCES: "没有读取权限", errno.EISDIR: "这是文件夹，不是文件",
               errno.EPERM: "没有读取权限"}


def _read_file(file: str, limit: int, what: str,
               too_big: str = "检查是否选错了文件；花名册过大时拆分为几个文件分别导入。") -> tuple[bytes, str]:
    """The bytes of FILE (or stdin for "-") and a display name; at most ``limit`` bytes are read."""
    if file == "-":
        raw = sys.stdin.buffer.read(limit + 1)
        name = "标准输入.yaml"
    else:
        path = Path(file)
        try:
            with path.open("rb") as fh:
                raw = fh.read(limit + 1)
        except OSError as err:
            reason = _OS_REASONS.get(err.errno or 0, err.strerror or str(err))
            raise InputError(f"无法读取{what} {file}：{reason}。", "检查文件路径和名称（可用 Tab 键补全）。") from err
        name = path.name
    if len(raw) > limit:
        raise InputError(f"{what} {name} 过大（上限 {limit // 1024 // 1024} MB）。", too_big)
    return raw, name


def _load_records(file: str) -> list[ChildRecord]:
    from guanai.care.roster import MAX_RECORD_FILE, read_record_bytes

    raw, name = _read_file(file, MAX_RECORD_FILE, "儿童记录文件")
    return read_record_bytes(raw, "标准输入" if file == "-" else name)


def _categories(record: ChildRecord, on: date) -> list[str]:
    from guanai.care.rules import classify

    return [c.name for c in classify(record, on)]


def _summary(entry: ChildEntry, on: date) -> dict[str, Any]:
    r = entry.record
    return {"id": entry.id, "name": r.name, "student_id": r.student_id, "school": r.school, "grade": r.grade,
            "class_name": r.class_name or "", "status": entry.status, "categories": _categories(r, on),
            "mentor": r.mentor or "", "updated_at": entry.updated_at}


def _check_open(entry: ChildEntry, action: str) -> None:
    from guanai.archive.children import require_open

    require_open(entry, action)


@click.group("child")
def child() -> None:
    """儿童档案：添加、花名册导入、查看、更新、分类、结案与毕业。

    \b
    示例：
      guanai child template --xlsx -o 花名册模板.xlsx
      guanai child import 花名册.xlsx
      guanai child show G341322201403050219
    """


@child.command("add")
@click.argument("file")
@json_option
@with_archive(write=True)
def add(arc: Archive, file: str, as_json: bool) -> None:
    """由 JSON 或 YAML 文件添加儿童（一条或多条；有任何错误则一条都不保存）。

    \b
    示例：
      guanai child template --yaml -o 张小明.yaml   # 先生成示例，修改后
      guanai child add 张小明.yaml
    """
    from guanai.care.synth import example_record

    records = _load_records(file)
    example = example_record()
    for rec in records:
        for key in (rec.student_id, rec.id_number):
            if key and arc.find_child(key) is not None:
                raise StateError(f"{rec.name}：{'学籍号' if key == rec.student_id else '身份证号'} {key} 已在档案库中。",
                                 "如需修改已有记录，用 guanai child update 编号 文件")
    ids: list[str] = []
    with arc.transaction():
        for rec in records:
            ids.append(arc.add_child(rec))
    if as_json:
        echo_json([{"id": i, "name": r.name, "student_id": r.student_id} for i, r in zip(ids, records, strict=True)])
        return
    for i, rec in zip(ids, records, strict=True):
        click.echo(f"已添加：{rec.name}（学籍号 {rec.student_id}，编号 {i}）")
        if rec.student_id == example.student_id and rec.id_number == example.id_number:
            click.echo(f"注意：{rec.name}（学籍号 {rec.student_id}）是模板中的示例儿童，不是真实儿童；如是误录，"
                       f"用 guanai child close {i[:8]} --reason 误录示例 结案。", err=True)


@child.command("import")
@click.argument("file")
@click.option("--check", "check_only", is_flag=True, help="只检查并显示列的对应关系与将做的改动，不写入。")
@click.option("--update", is_flag=True, help="春季/秋季重新排查：按学籍号或身份证号匹配已有儿童并更新，列出新增、变化和不在花名册的儿童。")
@json_option
@with_archive(write=True)
def import_cmd(arc: Archive, file: str, check_only: bool, update: bool, as_json: bool) -> None:
    """导入花名册（.xlsx 或 .csv，每行一名儿童）。

    可直接导入学籍系统导出表、县里的登记表和学校自制的台账：表头上方的标题、填报单位行，
    两行的分组表头（如“父亲情况”下分姓名、状况、务工地点）、合并单元格、序号列，以及表格下方的
    合计、填表人、审核人、校长签字行都会识别并跳过；每一列或导入、或列明“未导入”。
    有错误的行逐行报告（行号与原因），其余行在一个事务中导入；只要有一行出错，命令以非零状态退出。
    CSV 可为 UTF-8（含 BOM）或 GB18030 编码。没有“学校”列时填本档案库的学校。

    --update 用于每年 3 月、9 月的重新排查：已在档案库中的儿童按学籍号或身份证号匹配，
    只更新花名册中有的列（帮扶计划、需求评估等其他信息保留），逐人列出变化；
    档案库中在册、但不在这份花名册上的儿童只列出，不做处理。

    \b
    示例：
      guanai child import 2026秋季花名册.xlsx --check     # 先看列的对应关系和问题
      guanai child import 2026秋季花名册.xlsx
      guanai child import 学籍系统导出.xlsx --update --check
      guanai child import 学籍系统导出.xlsx --update
    """
    from guanai.archive.rosters import apply_roster, plan_roster
    from guanai.care.roster import MAX_FILE_BYTES, preview_roster

    raw, name = _read_file(file, MAX_FILE_BYTES, "花名册")
    tty = sys.stderr.isatty()

    def checked(rows: int) -> None:
        # Checking a few thousand rows takes seconds: show that work is going on (terminal only).
        if rows % 100 == 0:
            click.echo(f"\r正在检查花名册：已读 {rows} 行", nl=False, err=True)

    roster = preview_roster(raw, name, defaults={"学校": arc.info.school_name}, progress=checked if tty else None)
    if tty:
        click.echo("\r" + " " * 30 + "\r", nl=False, err=True)
    if check_only:
        plan = plan_roster(arc, roster, update=update)
    else:
        with click.progressbar(length=len(roster.records), label="写入", file=sys.stderr, show_pos=True,
                               hidden=not tty) as bar:
            plan = apply_roster(arc, roster, update=update, progress=lambda n: bar.update(1))
    counts = plan.counts()
    if as_json:
        report = plan.to_dict()
        report.update({"imported": counts["新增"] if plan.applied else 0,
                       "updated": counts["更新"] if plan.applied else 0})
        echo_json(report)
    else:
        _print_import(plan, check_only)
    if plan.errors:
        problems = plan.problems()
        if not as_json and len(problems) > _SHOWN_PROBLEMS:  # every row is listed above already
            problems = [*problems[:_SHOWN_PROBLEMS], Problem("", f"……另有 {len(problems) - _SHOWN_PROBLEMS} 行（见上）")]
        if not update and all("已在档案库中" in e.message for e in plan.errors):
            raise InputError(f"花名册 {roster.source} 的 {len(plan.errors)} 行儿童都已在档案库中，未导入。",
                             f"每学期重新排查、更新已有儿童时用：guanai child import {file} --update"
                             "（可先加 --check 预览）。", problems)
        if check_only:  # nothing was imported: the whole file is imported once it is fixed
            raise InputError(f"花名册 {roster.source} 有 {len(plan.errors)} 行未通过检查（见上）。",
                             "改正这些行后去掉 --check 导入（--check 只检查，什么也没有写入）。", problems)
        raise InputError(f"花名册 {roster.source} 有 {len(plan.errors)} 行未通过检查（见上），这些行未导入。",
                         "修改这些行后，只把它们另存为新花名册再次导入（已导入的行会被识别为重复）；"
                         "重新排查时用 --update。", problems)
    if roster.total_rows == 0:
        raise InputError(f"花名册 {roster.source} 中没有数据行。", "在表头下方逐行填写儿童信息。")


_SHOWN_PROBLEMS = 10  # rows repeated in the closing error (all of them are printed above it)


def _print_import(plan: RosterPlan, check_only: bool) -> None:
    roster = plan.roster
    if check_only:
        click.echo(f"{roster.source}（工作表“{roster.sheet or '—'}”，表头在第{roster.header_rows[0]}"
                   + (f"–{roster.header_rows[1]}" if roster.header_rows[1] != roster.header_rows[0] else "") + "行）：")
        echo_table([[c.column, c.header, c.target or "（未导入）", c.note] for c in roster.columns],
                   ["列", "表头", "导入为", "说明"])
    ignored = [f"{c.header}（{c.note}）" for c in roster.columns if c.ignored and c.header and c.note != "序号，不导入"]
    if ignored:
        click.echo(f"未导入的列：{'、'.join(ignored)}", err=True)
    if roster.missing_columns:
        kept = "已有儿童的这些信息保持不变，新增儿童的为空" if plan.update else "这些信息为空"
        click.echo(f"注意：花名册没有以下列，{kept}：{'、'.join(roster.missing_columns)}。"
                   + ("没有父亲状况、母亲状况时无法判定留守儿童，请用 guanai child update 补充。"
                      if {"父亲状况", "母亲状况"} & set(roster.missing_columns) else ""), err=True)
    for e in roster.skipped:
        click.echo(f"第{e.row}行：{e.message}", err=True)
    for e in plan.errors:
        click.echo(f"第{e.row}行：{e.message}")
    for w in roster.warnings:
        click.echo(f"第{w.row}行（请核实）：{w.message}")
    if roster.skipped_examples:
        click.echo(f"已跳过模板示例行 {roster.skipped_examples} 行。")
    if plan.update:
        for c in plan.children:
            if c.action == "新增":
                click.echo(f"新增：{c.name}（{c.student_id}）")
            elif c.action == "更新":
                changes = "；".join(f"{f.field} {f.old or '（空）'} → {f.new or '（空）'}" for f in c.changes)
                click.echo(f"更新：{c.name}（{c.student_id}）：{changes}")
            elif c.action == "不在花名册":
                click.echo(f"不在花名册：{c.name}（{c.student_id}，编号 {(c.child_id or '')[:8]}），"
                           "如已转学、毕业或不再属于关爱对象，请用 child close / graduate 处理")
    counts = plan.counts()
    good = counts["新增"] + counts["更新"] + counts["无变化"]
    if plan.update:
        head = "检查完成（未写入）" if check_only else "更新完成"
        click.echo(f"{head}：共 {roster.total_rows} 行，新增 {counts['新增']} 名，更新 {counts['更新']} 名，"
                   f"无变化 {counts['无变化']} 名，不在花名册 {counts['不在花名册']} 名，{len(plan.errors)} 行有错误。")
    elif check_only:
        click.echo(f"检查完成：共 {roster.total_rows} 行，{good} 行可导入，{len(plan.errors)} 行有错误（未导入任何数据）。")
    else:
        click.echo(f"导入完成：共 {roster.total_rows} 行，已导入 {counts['新增']} 行，{len(plan.errors)} 行有错误未导入。")


@child.command("template")
@click.option("--json", "fmt", flag_value="json", help="JSON 示例记录（含全部字段）。")
@click.option("--yaml", "fmt", flag_value="yaml", help="YAML 示例记录（含全部字段与可选值说明）。")
@click.option("--xlsx", "fmt", flag_value="xlsx", help="Excel 花名册模板（下拉选项、示例行）。")
@click.option("--csv", "fmt", flag_value="csv", help="CSV 花名册模板（UTF-8，含 BOM）。")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="输出文件（JSON/YAML 省略时打印到屏幕）。")
@click.option("--force", is_flag=True, help="输出文件已存在时覆盖。")
def template(fmt: str | None, output: str | None, force: bool) -> None:
    """生成示例记录或花名册模板。

    \b
    示例：
      guanai child template --xlsx -o 花名册模板.xlsx
      guanai child template --yaml -o 张小明.yaml
    """
    from guanai.base.fsutil import atomic_write
    from guanai.care.roster import roster_csv_bytes, roster_xlsx_bytes
    from guanai.care.synth import example_record

    if fmt is None:
        raise InputError("请选择模板格式。", "加 --json、--yaml、--xlsx 或 --csv 之一。")
    example = example_record()
    if fmt == "json":
        import json

        data = (json.dumps(example.to_json_dict(), ensure_ascii=False, indent=2) + "\n").encode()
    elif fmt == "yaml":
        data = _yaml_template(example).encode()
    elif fmt == "xlsx":
        data = roster_xlsx_bytes([], example=example)
    else:
        data = roster_csv_bytes([], example=example)
    if output is None:
        if fmt in ("xlsx",):
            raise InputError("Excel 模板须用 -o 指定输出文件。", "如：guanai child template --xlsx -o 花名册模板.xlsx")
        click.echo(data.decode("utf-8-sig"), nl=False)
        return
    refuse_overwrite(output, force)
    atomic_write(Path(output), data, mode=0o644)
    click.echo(f"已写入模板：{output}")


def _yaml_template(example: ChildRecord) -> str:
    import yaml

    from guanai.care.model import (
        CARE_CAPACITIES,
        DISABILITY_GRADES,
        DISABILITY_KINDS,
        HARDSHIPS,
        HEALTH_STATES,
        PARENT_STATES,
        PLAN_AREAS,
        REGISTRY_LEFT_BEHIND,
        STATUSES,
    )

    head = [
        "# 儿童记录示例（一人一卡）。修改后用 guanai child add 文件 添加。",
        "# 必填：姓名、学籍号、学校、年级；有身份证号时出生日期与性别自动推算并核对。",
        "# 学籍号：G/J 加18位身份证号，或 L 字头临时学籍号（此时须填出生日期、性别）。",
        f"# 父亲/母亲 状况可选：{'、'.join(PARENT_STATES)}（外出务工请填务工地）",
        f"# 身体状况 状况可选：{'、'.join(HEALTH_STATES)}；残疾类别：{'、'.join(DISABILITY_KINDS)}；"
        f"残疾等级：{'、'.join(DISABILITY_GRADES)}",
        f"# 照护能力可选：{'、'.join(CARE_CAPACITIES)}",
        f"# 困境情形可多项：{'、'.join(HARDSHIPS)}",
        f"# 学籍留守登记（学籍系统的“是否留守儿童”）可选：{'、'.join(REGISTRY_LEFT_BEHIND)}；学籍孤儿登记：是 / 否",
        f"# 一策（帮扶措施）分 {'、'.join(PLAN_AREAS)} 五方面；需求评估、建档日期随档案保存，生成档案卡时自动填入",
        f"# 状态：{'、'.join(STATUSES)}（新记录为 在册；结案、毕业用 child close / graduate）",
    ]
    body = yaml.safe_dump(example.to_json_dict(), allow_unicode=True, sort_keys=False, width=1000)
    return "\n".join(head) + "\n" + body


@child.command("list")
@click.option("--status", type=click.Choice(["在册", "转出", "存档备查", "毕业"]), help="只列某状态。")
@click.option("--grade", help="只列某年级，如 六年级。")
@click.option("--category", type=click.Choice(["留守儿童", "困境儿童"]), help="只列某类别（按今天分类）。")
@click.option("--sort", type=click.Choice(["class", "name", "created"]), default="class", show_default=True,
              help="排序：class＝年级、班级、姓名；name＝姓名；created＝登记先后。")
@json_option
@with_archive()
def list_cmd(arc: Archive, status: str | None, grade: str | None, category: str | None, sort: str,
             as_json: bool) -> None:
    """列出儿童（默认按年级、班级、姓名排序）。

    \b
    示例：
      guanai child list --status 在册
      guanai child list --category 留守儿童 --json
      guanai child list --sort name
    """
    from guanai.archive.resolve import short_ids, sort_key
    from guanai.archive.workflow import case_labels

    today = date.today()
    labels = case_labels(arc)  # 旷课中 / 辍学 / 去向不明 while a 控辍保学 case is open
    entries = arc.list_children(status=status)
    if sort == "class":
        entries.sort(key=sort_key)
    elif sort == "name":
        entries.sort(key=lambda e: (e.record.name, sort_key(e)))
    from guanai.generators.card import current_cards

    shorts = short_ids(arc, "children")
    cards = current_cards(arc)  # the newest stored 档案卡 of each child is the current one
    doc_shorts = short_ids(arc) if cards else {}
    rows = [_summary(e, today) | {"absence": labels.get(e.id, ""), "current_card": cards.get(e.id)}
            for e in entries]
    if grade:
        rows = [r for r in rows if r["grade"] == grade.strip()]
    if category:
        rows = [r for r in rows if category in r["categories"]]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("没有符合条件的儿童。")
        return
    echo_table([[shorts.get(r["id"], r["id"]), r["name"], r["student_id"], r["grade"], r["class_name"],
                 r["status"] + (f"·{r['absence']}" if r["absence"] else ""), "、".join(r["categories"]) or "—",
                 doc_shorts.get(r["current_card"] or "", "—")]
                for r in rows], ["编号", "姓名", "学籍号", "年级", "班级", "状态", "类别", "当前档案卡"])
    click.echo(f"共 {len(rows)} 名。")


def _lines(data: Any, indent: int = 0) -> list[str]:
    pad = "  " * indent
    out: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            out.append(f"{pad}{key}：")
            out += _lines(value, indent + 1)
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            from guanai.care.roster import format_members

            out.append(f"{pad}{key}：{format_members([v for v in value if isinstance(v, dict)])}")
        elif isinstance(value, list):
            out.append(f"{pad}{key}：{'、'.join(str(v) for v in value) or '无'}")
        elif isinstance(value, bool):
            out.append(f"{pad}{key}：{'是' if value else '否'}")
        elif isinstance(value, str) and "\n" in value:
            out.append(f"{pad}{key}：")
            out += [f"{pad}  {line}" for line in value.splitlines()]
        else:
            out.append(f"{pad}{key}：{value}")
    return out


@child.command("show")
@click.argument("ref")
@click.option("--on", "on", help="按此日期分类（默认今天），如 2026-09-01。")
@json_option
@with_archive()
def show(arc: Archive, ref: str, on: str | None, as_json: bool) -> None:
    """显示一名儿童的档案（编号、学籍号或身份证号）。

    \b
    示例：
      guanai child show G341322201403050219
      guanai child show G341322201403050219 --json
    """
    from guanai.archive.photos import has_photo
    from guanai.care.rules import care_gaps, classify

    when = _on_date(on)
    entry = arc.get_child(ref)
    cats = classify(entry.record, when)
    photo_doc = has_photo(arc, entry.id)
    if as_json:
        echo_json({"id": entry.id, "status": entry.status, "school_code": entry.school_code,
                   "created_at": entry.created_at, "updated_at": entry.updated_at,
                   "classified_on": when.isoformat(), "categories": [c.to_dict() for c in cats],
                   "reminders": care_gaps(entry.record, when), "record": entry.record.to_json_dict(),
                   "photo": None if photo_doc is None else {"doc_id": photo_doc.id, "size": photo_doc.size,
                                                            "created_at": photo_doc.created_at}})
        return
    click.echo(f"编号：{entry.id}    状态：{entry.status}")
    click.echo("照片：" + (f"有（{photo_doc.size // 1024 + 1} KB，{photo_doc.created_at[:10]} 存入）" if photo_doc
                          else "无（guanai child photo 编号 照片.jpg 存入）"))
    data = entry.record.to_json_dict()
    data.pop("状态", None)
    for line in _lines(data):
        click.echo(line)
    click.echo(f"分类（{when.isoformat()}）：")
    if not cats:
        click.echo(_no_category_text(arc, entry))
    for c in cats:
        click.echo(f"  {c.name}：{'；'.join(c.reasons)}")
    for gap in care_gaps(entry.record, when):
        click.echo(f"提醒：{gap}")
    click.echo(f"创建：{entry.created_at}    更新：{entry.updated_at}")


@child.command("update")
@click.argument("ref")
@click.argument("file")
@json_option
@with_archive(write=True)
def update(arc: Archive, ref: str, file: str, as_json: bool) -> None:
    """用文件中的字段更新儿童记录（只写要改的字段即可；写 null 清空该字段）。

    已结案（存档备查）、毕业或转出的档案只读，不能更新。

    \b
    示例：
      guanai child update G341322201403050219 改动.yaml
      （改动.yaml 内容如：  父亲: {状况: 在家}）
    """
    from guanai.archive.children import patch_child
    from guanai.care.roster import MAX_RECORD_FILE, parse_record_bytes

    entry = arc.get_child(ref)
    _check_open(entry, "修改")  # before reading the file: a read-only dossier is refused first
    raw, name = _read_file(file, MAX_RECORD_FILE, "儿童记录文件")
    from guanai.archive.workflow import mark_screened

    with arc.transaction():
        entry, record = patch_child(arc, entry.id, parse_record_bytes(raw, name), name)
        mark_screened(arc, [entry.id], date.today(), required=False)  # an update during a screening round
    if as_json:
        echo_json({"id": entry.id, "name": record.name, "student_id": record.student_id,
                   "record": record.to_json_dict()})
        return
    click.echo(f"已更新：{record.name}（编号 {entry.id}）")


@child.command("classify")
@click.argument("ref")
@click.option("--on", "on", help="分类日期（默认今天），如 2026-09-01。")
@json_option
@with_archive()
def classify_cmd(arc: Archive, ref: str, on: str | None, as_json: bool) -> None:
    """按县实施方案判断儿童类别（留守儿童、困境儿童），并给出理由。

    \b
    示例：
      guanai child classify G341322201403050219 --on 2026-09-01
    """
    from guanai.care.rules import care_gaps, classify

    when = _on_date(on)
    entry = arc.get_child(ref)
    cats = classify(entry.record, when)
    if as_json:
        echo_json({"id": entry.id, "name": entry.record.name, "classified_on": when.isoformat(),
                   "categories": [c.to_dict() for c in cats], "reminders": care_gaps(entry.record, when)})
        return
    click.echo(f"{entry.record.name}（{entry.record.student_id}），{when.isoformat()}：")
    if not cats:
        click.echo(_no_category_text(arc, entry) + "。")
    for c in cats:
        click.echo(f"  {c.name}")
        for r in c.reasons:
            click.echo(f"    - {r}")
    for gap in care_gaps(entry.record, when):
        click.echo(f"  提醒：{gap}")


def _no_category_text(arc: Archive, entry: ChildEntry) -> str:
    """Neither category — or not decidable, when the parents' situation is not recorded."""
    from guanai.archive.resolve import unique_short_id
    from guanai.care.workflow import parents_undetermined

    if parents_undetermined(entry.record):
        return ("  未认定为留守儿童或困境儿童；父母状况不详，无法判定是否留守儿童"
                f"（用 guanai child update {unique_short_id(arc, entry.id, 'children')} 儿童.yaml 补充父亲状况、母亲状况）")
    return "  不属于留守儿童或困境儿童"


def _status_result(entry: ChildEntry, status: str, reason: str) -> dict[str, str]:
    return {"id": entry.id, "name": entry.record.name, "student_id": entry.record.student_id,
            "previous_status": entry.status, "status": status, "reason": reason}


@child.command("photo")
@click.argument("ref")
@click.argument("file", required=False)
@click.option("--remove", is_flag=True, help="删除该儿童的照片（照片数据从档案库中删除，记入审计日志）。")
@json_option
@with_archive(write=True)
def photo(arc: Archive, ref: str, file: str | None, remove: bool, as_json: bool) -> None:
    """存入（或更换、删除）儿童照片，印在一人一卡档案卡的照片栏中。

    REF 是儿童的姓名、学籍号、身份证号或编号；FILE 是 JPEG 或 PNG 照片（按内容判断，不看扩展名）。

    照片不超过 10 MB、4000 万像素；存入时缩小到长边 600 像素、重新保存为 JPEG，拍摄位置（GPS）、相机信息等一概去除。

    每名儿童只保留一张照片：存入新照片即替换旧照片，--remove 删除照片。

    \b
    示例：
      guanai child photo G341322201403050219 照片.jpg
      guanai child photo 张小明 证件照.png --json
      guanai child photo 张小明 --remove
    """
    from guanai.archive.photos import MAX_PHOTO_BYTES, remove_photo, set_photo

    if remove == bool(file):
        raise InputError("请给出照片文件，或用 --remove 删除照片（二者选一）。",
                         "例如：guanai child photo 张小明 照片.jpg；guanai child photo 张小明 --remove")
    if remove:
        entry = arc.get_child(ref)
        n = remove_photo(arc, entry.id)
        if as_json:
            echo_json({"child_id": entry.id, "removed": n})
            return
        click.echo(f"已删除 {entry.record.name} 的照片。")
        return
    assert file is not None
    if file == "-":
        raise InputError("照片不能从标准输入读取。", "给出照片文件的路径。")
    raw, name = _read_file(file, MAX_PHOTO_BYTES, "照片", "请先缩小照片（如用手机“编辑—调整大小”）后再试。")
    entry = arc.get_child(ref)
    stored = set_photo(arc, entry.id, raw, name=name)
    if as_json:
        echo_json({"child_id": entry.id, **stored.to_json()})
        return
    click.echo(f"已存入 {entry.record.name} 的照片（{stored.width}×{stored.height} 像素，{len(stored.data) // 1024 + 1} KB，"
               "已去除拍摄位置等信息）；生成档案卡时印在照片栏中。")


@child.command("close")
@click.argument("ref")
@click.option("--reason", required=True, help="结案原因，如 父母返乡、随父母迁居。")
@json_option
@with_archive(write=True)
def close(arc: Archive, ref: str, reason: str, as_json: bool) -> None:
    """结案：不再属于留守/困境儿童的档案转为“存档备查”（保留、只读、可检索，不删除）。

    \b
    示例：
      guanai child close G341322201403050219 --reason 父母返乡
    """
    reason = _reason(reason)
    entry = arc.get_child(ref)
    if entry.status != "在册":
        raise StateError(f"{entry.record.name} 的档案状态为“{entry.status}”，只有“在册”的档案可以结案。",
                         "用 guanai child show 编号 查看档案状态；已结案的档案无需再次结案。")
    arc.set_child_status(entry.id, "存档备查", reason)
    if as_json:
        echo_json(_status_result(entry, "存档备查", reason))
        return
    click.echo(f"已结案：{entry.record.name}（编号 {entry.id}），状态 存档备查，原因：{reason}")


@child.command("reopen")
@click.argument("ref")
@click.option("--reason", required=True, help="重新启用的原因，如 父母再次外出务工。")
@json_option
@with_archive(write=True)
def reopen(arc: Archive, ref: str, reason: str, as_json: bool) -> None:
    """重新启用已结案（存档备查）或毕业的档案，状态回到“在册”。

    \b
    示例：
      guanai child reopen G341322201403050219 --reason 父母再次外出务工
    """
    reason = _reason(reason)
    entry = arc.get_child(ref)
    if entry.status == "在册":
        raise StateError(f"{entry.record.name} 的档案已是“在册”状态，无需重新启用。",
                         "用 guanai child list --status 存档备查 查看已结案的档案。")
    if entry.status == "转出":
        raise StateError(f"{entry.record.name} 的档案已转出，由转入学校管理，不能在本校重新启用。",
                         "转接被退回时，用 guanai transfer confirm 回执文件 恢复为在册。")
    arc.set_child_status(entry.id, "在册", reason)
    if as_json:
        echo_json(_status_result(entry, "在册", reason))
        return
    click.echo(f"已重新启用：{entry.record.name}（编号 {entry.id}），状态 在册，原因：{reason}")


@child.command("graduate")
@click.argument("refs", nargs=-1)
@click.option("--grade", help="该年级全部在册儿童毕业，如 九年级。")
@click.option("--reason", default="毕业", show_default=True, help="原因。")
@click.option("--yes", is_flag=True, help="按年级毕业时不再确认。")
@json_option
@with_archive(write=True)
def graduate(arc: Archive, refs: tuple[str, ...], grade: str | None, reason: str, yes: bool, as_json: bool) -> None:
    """毕业：把儿童档案状态改为“毕业”（全部成功或全部不改）。

    \b
    示例：
      guanai child graduate G341322201403050219 G341322201309120022
      guanai child graduate --grade 九年级 --yes
    """
    reason = _reason(reason)
    if not refs and not grade:
        raise InputError("请指定要毕业的儿童（编号/学籍号）或 --grade 年级。", "如：guanai child graduate --grade 九年级")
    entries: list[ChildEntry] = []
    seen: set[str] = set()
    for ref in refs:
        entry = arc.get_child(ref)
        _check_open(entry, "办理毕业")
        if entry.id not in seen:
            seen.add(entry.id)
            entries.append(entry)
    if grade:
        cohort = [e for e in arc.list_children(status="在册") if e.record.grade == grade.strip()]
        if not cohort:
            raise InputError(f"没有“{grade}”的在册儿童。", "用 guanai child list --grade 年级 查看。")
        if not yes and not click.confirm(f"将把 {grade} 的 {len(cohort)} 名儿童标为毕业，继续？", err=True):
            raise InputError("已取消，没有修改任何档案。", f"确认无误后可加 --yes：guanai child graduate --grade {grade} --yes")
        for e in cohort:
            if e.id not in seen:
                seen.add(e.id)
                entries.append(e)
    with arc.transaction():
        for e in entries:
            arc.set_child_status(e.id, "毕业", reason)
    if as_json:
        echo_json([_status_result(e, "毕业", reason) for e in entries])
        return
    for e in entries:
        click.echo(f"已毕业：{e.record.name}（{e.record.student_id}）")
    click.echo(f"共 {len(entries)} 名。")
