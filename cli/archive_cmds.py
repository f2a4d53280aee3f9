"""Archive-level commands: init, verify, audit, backup, restore."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from guanai.cli.common import (
    archive_dir,
    echo_json,
    echo_table,
    get_passphrase,
    json_option,
    user_name,
    with_archive,
)

if TYPE_CHECKING:
    from guanai.archive.store import Archive
    from guanai.archive.verify import VerifyReport


@click.command("init")
@click.argument("directory", required=False, metavar="[目录]")
@click.option("--school-code", help="学校标识码（10 位）或单位代码；县级档案库可省略（默认用县区代码）。")
@click.option("--school-name", help="学校全称，如“萧县龙城镇中心小学”。")
@click.option("--name", "unit_name", help="单位名称（县级档案库用，同 --school-name）。")
@click.option("--county-code", default="341322", show_default=True, help="县区行政区划代码（萧县 341322）。")
@click.option("--suite", type=click.Choice(["aes-256-gcm", "sm4-gcm"]), default="aes-256-gcm", show_default=True,
              help="加密套件：AES-256-GCM（默认）或国密 SM4-GCM。")
@click.option("--kind", type=click.Choice(["school", "county"]), default="school", show_default=True,
              help="档案库类型：school（学校）或 county（县教体局）。")
@click.option("--admin", default=None, help="管理员用户名（默认取全局 --user，即 admin）。")
@click.pass_context
def init_cmd(ctx: click.Context, directory: str | None, school_code: str | None, school_name: str | None,
             unit_name: str | None, county_code: str, suite: str, kind: str, admin: str | None) -> None:
    """创建新的加密档案库（目录由全局 --archive 或参数“目录”指定，默认 guanai-archive）。

    口令用于解开主密钥，请牢记：忘记口令将无法打开档案库。

    \b
    示例：
      guanai --archive 龙城小学档案 init --school-code 3413220001 --school-name 萧县龙城镇中心小学
      guanai --archive 县局档案 init --kind county --county-code 341322 --name 萧县教育体育局
      guanai init 龙城小学档案 --school-code 3413220001 --school-name 萧县龙城镇中心小学
    """
    from guanai.archive.store import init_archive
    from guanai.base.errors import InputError

    name = school_name or unit_name
    code = school_code or (county_code if kind == "county" else None)
    if not code:
        raise InputError("缺少 --school-code（学校标识码）。", "例如：--school-code 3413220001")
    if not name:
        raise InputError("缺少 --school-name（学校或单位名称）。", "例如：--school-name 萧县龙城镇中心小学")
    path = archive_dir(ctx)
    root = ctx.find_root()
    source = root.get_parameter_source("archive_dir")
    given = (root.obj or {}).get("archive_dir") if source not in (None, click.core.ParameterSource.DEFAULT) else None
    if directory is not None:
        if given and Path(given) != Path(directory):
            raise InputError(f"档案库目录给了两个：--archive（或 GUANAI_ARCHIVE）{given} 与 {directory}。", "只写一个。")
        path = Path(directory)
    admin = admin or (ctx.find_root().obj or {}).get("user") or "admin"
    passphrase = get_passphrase(ctx, prompt=f"为管理员 {admin} 设置口令", confirm=True)
    info = init_archive(path, school_code=code, school_name=name, passphrase=passphrase, admin=admin,
                        county_code=county_code, suite=suite, kind=kind)
    kind_name = "县级" if kind == "county" else "学校"
    click.echo(f"已创建{kind_name}档案库：{path}")
    click.echo(f"  单位：{info.school_name}（{info.school_code}），县区 {info.county_code}")
    click.echo(f"  加密：{info.suite}，管理员：{admin}")
    if directory is not None and not given:
        click.echo(f"以后的命令请加 --archive {path}，或设置环境变量 GUANAI_ARCHIVE={path}。")
    if kind == "county":
        click.echo("下一步：收集各校身份卡（学校执行 guanai identity export -o 身份卡.json），"
                   "guanai directory add 身份卡.json，再 guanai directory publish -o 萧县学校目录.json 下发各校。")
    else:
        click.echo("下一步：guanai child import 花名册.xlsx，或 guanai child template --xlsx -o 花名册模板.xlsx")


@click.command("verify")
@json_option
@with_archive()
def verify(arc: Archive, as_json: bool) -> None:
    """四性检测：真实性、完整性、可用性、安全性（DA/T 70）。

    检查每一条记录与文档能否打开、校验码与审计链是否完好、数量是否相符、
    档案库目录下有无明文个人信息。列出发现的全部问题；有任何问题时退出码非零。

    \b
    示例：
      guanai verify
      guanai verify --json > 检测报告.json
    """
    from guanai.archive.verify import category, verify_archive

    if as_json:
        rep = verify_archive(arc)
        _add_index_problems(arc, rep)
        echo_json(rep.to_json())
    else:
        bar_cm: Any = click.progressbar(length=100, label="检测中", file=sys.stderr)
        with bar_cm as bar:
            state = {"pct": 0}
            stages = {"children": (0, 20), "documents": (20, 80), "audit": (80, 90), "scan": (90, 100)}

            def progress(stage: str, done: int, total: int) -> None:
                lo, hi = stages.get(stage, (0, 100))
                pct = lo + (hi - lo) * done // max(total, 1)
                if pct > state["pct"]:
                    bar.update(pct - state["pct"])
                    state["pct"] = pct

            rep = verify_archive(arc, progress)
            _add_index_problems(arc, rep)
            bar.update(100 - state["pct"])
        c = rep.counts
        click.echo(f"儿童记录 {c.get('children', 0)} 条，文档 {c.get('documents', 0)} 份，"
                   f"审计日志 {c.get('audit_entries', 0)} 条，明文扫描 {c.get('scanned_values', 0)} 项个人信息；"
                   f"用时 {rep.seconds:.1f} 秒。")
        if rep.ok:
            click.echo("检测通过：真实性、完整性、可用性、安全性均未发现问题。")
        else:
            click.echo(f"发现 {len(rep.problems)} 个问题：")
            for p in rep.problems:
                click.echo(f"  [{category(p)}] {p}" + (f"（{p.hint}）" if p.hint else ""))
    arc.audit("archive.verify", None, {"ok": rep.ok, "problems": len(rep.problems)})
    if not rep.ok:
        raise SystemExit(6)


def _add_index_problems(arc: Archive, rep: VerifyReport) -> None:
    """The search index is derived data, but a damaged or stale one is still worth naming."""
    from guanai.archive.verify import INTEG
    from guanai.base.errors import GuanaiError

    if not (arc.path / "index").is_dir():
        return
    try:
        from guanai.search.index import index_for

        problems = index_for(arc).verify(arc)
    except GuanaiError as err:
        problems = [err.message]
    for p in problems:
        rep.add(INTEG, "全文索引", p, "可用 guanai reindex 重建，目录数据不受影响")


@click.command("upgrade")
@click.option("--ask-passphrases", is_flag=True,
              help="逐个输入其他用户的现有口令，使其口令不变（不输入的用户获得一次性临时口令）。")
@json_option
@click.pass_context
def upgrade(ctx: click.Context, ask_passphrases: bool, as_json: bool) -> None:
    """把旧格式 v1 档案库升级为 v2（仅管理员）。

    先在档案库旁自动备份一份完整的 v1 副本，再在旁边生成 v2 档案库、检测通过后一次性替换；
    任何一步失败或中断，原档案库保持不变、照常可读。v2 对每一行（含明文列）、行的集合、
    审计日志末尾和用户角色都做了签名保护。其他用户的密钥需重新签发：口令未输入的用户
    获得一次性临时口令（只显示这一次），请转告本人后用 guanai user passwd 修改。

    \b
    示例：
      guanai --archive 龙城小学档案 upgrade
      guanai --archive 龙城小学档案 upgrade --ask-passphrases
    """
    from guanai.archive import keys
    from guanai.archive.store import Archive
    from guanai.archive.upgrade import upgrade_archive
    from guanai.cli.common import user_name

    path = archive_dir(ctx)
    Archive.check_exists(path)
    admin = user_name(ctx)
    passphrase = get_passphrase(ctx)
    given: dict[str, str] = {}
    if ask_passphrases:
        for name, _role in keys.list_users(path):
            if name != admin:
                pw = str(click.prompt(f"用户 {name} 的现有口令（直接回车则签发临时口令）", hide_input=True,
                                      default="", show_default=False))
                if pw:
                    given[name] = pw
    result = upgrade_archive(path, user=admin, passphrase=passphrase, passphrases=given,
                             progress=lambda stage: None if as_json else click.echo(
                                 {"backup": "备份旧档案库……", "build": "生成 v2 档案库……", "verify": "检测……",
                                  "swap": "替换……"}.get(stage, stage), err=True))
    if as_json:
        echo_json({**result.to_json(), "temporary_passphrases": result.reissued})
        return
    click.echo(f"已升级到格式 v2：儿童 {result.children} 名，文档 {result.documents} 份，审计日志 {result.audit_entries} 条。")
    click.echo(f"升级前的备份（v1，可直接打开）：{result.backup}")
    if result.reissued:
        click.echo("以下用户的密钥已重新签发，一次性临时口令（只显示这一次，请转告本人并让其用 guanai user passwd 修改）：")
        for name, pw in sorted(result.reissued.items()):
            click.echo(f"  {name}：{pw}")


@click.group("audit")
def audit() -> None:
    """审计日志：每次写入、读取文档、导出、检索、转接与失败的登录都有记录。

    \b
    示例：
      guanai audit show --limit 20
      guanai audit verify
    """


@audit.command("show")
@click.option("--child", "child_ref", help="只看与某儿童（编号/学籍号）及其文档有关的条目。")
@click.option("--limit", type=click.IntRange(1), default=None, help="只显示最近 N 条。")
@json_option
@with_archive()
def audit_show(arc: Archive, child_ref: str | None, limit: int | None, as_json: bool) -> None:
    """列出审计日志条目。

    \b
    示例：
      guanai audit show --child G341322201001011234 --json
    """
    from guanai.archive.audit import walk_all

    arc.require("verify")
    entries, _ = walk_all(arc)
    if child_ref:
        child = arc.get_child(child_ref)
        targets = {child.id} | {d.id for d in arc.list_documents(child_id=child.id)}
        # the child's work records too: absence cases (立案、劝返、上报、结案), contacts
        targets |= {r.id for r in arc.list_records(child_id=child.id)}
        entries = [e for e in entries if e.target in targets]
    if limit:
        entries = entries[-limit:]
    if as_json:
        echo_json([e.to_json() for e in entries])
        return
    if not entries:
        click.echo("没有符合条件的审计条目。")
        return
    from datetime import datetime

    from guanai.archive.audit import action_name

    def local(at: str) -> str:
        try:
            return datetime.fromisoformat(at).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return at

    names = _target_names(arc, {e.target for e in entries if e.target})

    def target(e: Any) -> str:
        if not e.target:
            return ""
        title = names.get(e.target) or (e.detail or {}).get("title")
        return f"{e.target[:8]} {title}" if title else e.target[:8]

    echo_table([[str(e.seq) if not e.pending else "待入链", local(e.at), e.actor, action_name(e.action),
                 target(e)] for e in entries],
               ["序号", "时间", "用户", "操作", "对象"])


def _target_names(arc: Archive, targets: set[str]) -> dict[str, str]:
    """What the audit targets name, for people: 《document title》 or the child's name."""
    import re

    from guanai.base.errors import GuanaiError

    out: dict[str, str] = {}
    for t in targets:
        if not re.fullmatch(r"[0-9a-f]{32}", t):
            continue
        try:
            out[t] = f"《{arc.get_document(t).title}》"
            continue
        except GuanaiError:
            pass
        c = arc.find_child(t)
        if c is not None:
            out[t] = f"儿童 {c.record.name}"
            continue
        try:
            r = arc.get_record(t)
        except GuanaiError:
            continue
        what = _RECORD_KINDS.get(r.kind, "工作记录")
        child = arc.find_child(r.child_id) if r.child_id else None
        out[t] = what + (f"（{child.record.name}）" if child is not None else "")
    return out


#: workflow record kinds (guanai.archive.workflow), as the audit listing names them
_RECORD_KINDS = {"screening-round": "排查轮次", "absence-case": "控辍保学个案", "teacher": "帮扶教师",
                 "mentor-assignment": "结对帮扶", "contact": "家校联系", "duty": "学期工作"}


@audit.command("verify")
@json_option
@with_archive()
def audit_verify(arc: Archive, as_json: bool) -> None:
    """校验审计日志的哈希链与链头（发现修改、删除、插入）。

    \b
    示例：
      guanai audit verify
      guanai audit verify --json
    """
    from guanai.archive.verify import audit_problems

    entries, problems = audit_problems(arc)
    if as_json:
        echo_json({"ok": not problems, "entries": entries, "problems": [p.to_json() for p in problems]})
    elif problems:
        click.echo(f"审计日志校验失败，发现 {len(problems)} 个问题：")
        for p in problems:
            click.echo(f"  {p.what}")
    else:
        click.echo(f"审计日志完好：共 {entries} 条，哈希链与链头一致。")
    if problems:
        raise SystemExit(6)


@click.command("backup")
@click.argument("out", type=click.Path(dir_okay=False))
@with_archive()
def backup(arc: Archive, out: str) -> None:
    """备份档案库到一个文件（使用中亦可，得到一致的快照）。

    备份中的个人信息与档案库一样是加密的；全文索引不备份，恢复后自动重建。
    备份先写入临时文件（仅本人可读）、读回校验后才改为正式文件名；上次被中断留下的临时文件会被清除。
    被备份的档案库检测出问题时给出警告（备份仍会写入）。

    \b
    示例：
      guanai backup /media/U盘/关爱档案-2026-11-29.gab
    """
    from guanai.archive.backup import backup as do_backup

    manifest = do_backup(arc, Path(out))
    size = Path(out).stat().st_size
    click.echo(f"已备份到 {out}（{size / 1024 / 1024:.1f} MB，{len(manifest['files'])} 个文件，版本 {manifest['generation']}）。")
    problems = manifest.get("source_problems") or []
    if problems:
        click.echo(f"警告：被备份的档案库本身有 {len(problems)} 个问题（备份已照原样写入并校验）：", err=True)
        for p in problems[:10]:
            click.echo(f"  {p}", err=True)
        click.echo("提示：运行 guanai verify 查看详情；请保留此前的备份，不要用这份备份覆盖它们。", err=True)


@click.command("restore")
@click.argument("backup_file", type=click.Path(dir_okay=False))
@click.argument("dest", type=click.Path(file_okay=False))
def restore(backup_file: str, dest: str) -> None:
    """由备份文件恢复档案库到一个新目录（不会覆盖已有目录）。

    \b
    示例：
      guanai restore 关爱档案-2026-11-29.gab 恢复的档案
      guanai --archive 恢复的档案 verify
    """
    from guanai.archive.backup import restore as do_restore

    info = do_restore(Path(backup_file), Path(dest))
    click.echo(f"已恢复档案库到 {dest}：{info.school_name}（{info.school_code}）。")
    click.echo(f"建议立即检测：guanai --archive {dest} verify")


TABLE_NAMES = {"children": "儿童档案", "documents": "文档", "settings": "设置", "audit": "审计日志",
               "tombstones": "删除记录"}


@click.command("salvage")
@click.argument("source", type=click.Path(file_okay=False))
@click.argument("dest", type=click.Path(file_okay=False))
@json_option
@click.pass_context
def salvage(ctx: click.Context, source: str, dest: str, as_json: bool) -> None:
    """抢救损坏的档案库：把每条仍能解密、校验通过的记录复制到一个新目录，并列出丢失的记录。

    用于目录数据库被截断或损坏、又没有可用备份的情况（有备份时优先用 guanai restore）。
    原目录不会被改动；需要原档案库用户的口令（--user 与口令，同其他命令）。
    审计日志中丢失的条目会在新档案库的 verify 中显示为断链。有记录丢失时退出码为 6。

    \b
    示例：
      guanai salvage 我校档案 我校档案-抢救
      guanai --user admin salvage /media/U盘/档案 抢救的档案 --json
      guanai --archive 我校档案-抢救 verify
    """
    from guanai.archive.salvage import salvage as do_salvage
    from guanai.archive.store import Archive

    Archive.check_exists(Path(source))
    report = do_salvage(Path(source), Path(dest), user=user_name(ctx), passphrase=get_passphrase(ctx))
    if as_json:
        echo_json(report.to_json())
    else:
        method = {"copy": "数据库结构完好，逐条校验后复制",
                  "scan": "数据库已损坏，逐页逐行读出仍完好的记录并逐条校验"}[report.method]
        click.echo(f"已抢救到 {dest}（{method}）：")
        for t in report.tables.values():
            more = "；读取在损坏处中止，之后的记录无法读出" if t.unreadable else ""
            click.echo(f"  {TABLE_NAMES.get(t.name, t.name)}：保留 {t.kept} 条，丢失 {len(t.lost)} 条{more}")
            for rid in t.lost[:10]:
                click.echo(f"    丢失：{rid}")
            if len(t.lost) > 10:
                click.echo(f"    …… 另有 {len(t.lost) - 10} 条")
        click.echo(f"下一步：guanai --archive {dest} verify；确认无误后用新目录替换原档案库，并立即备份。")
    if report.lost or any(t.unreadable for t in report.tables.values()):
        ctx.exit(6)
