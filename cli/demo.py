"""`guanai demo`: a demo archive with synthetic children, walking through every feature."""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import click

DEMO_PASSPHRASE = "演示口令-guanai-2026"
# (module, Chinese title) — each module has run_demo(arc, workdir, passphrase, echo)
STEPS = [
    ("guanai.cli.demos.children", "儿童档案：登记、花名册导入、分类"),
    ("guanai.cli.demos.documents", "规范文书：由表单生成各类文书"),
    ("guanai.cli.demos.search", "全文检索"),
    ("guanai.cli.demos.transfer", "档案转接：签名加密的转接包与回执"),
    ("guanai.cli.demos.workflow", "关爱工作：排查、待办、帮扶教师、控辍保学、统计与台账"),
]


def _step(echo: Callable[[str], None], title: str) -> None:
    echo("")
    echo(click.style(f"== {title} ==", bold=True))


@click.command("demo")
@click.argument("directory", required=False, default="demo-archive", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="目录已存在时先删除（仅限演示目录）。")
def demo(directory: str, force: bool) -> None:
    """创建演示档案库（合成的儿童数据，非真实信息）并演示全部功能。

    演示口令固定为“演示口令-guanai-2026”，请勿用于真实数据。

    \b
    示例：
      guanai demo
      guanai demo /tmp/演示档案 --force
    """
    from guanai.archive.backup import backup, restore
    from guanai.archive.store import Archive, init_archive
    from guanai.archive.verify import category, verify_archive
    from guanai.base.errors import StateError

    root = Path(directory)
    if root.exists() and any(root.iterdir()):
        if not force:
            raise StateError(f"目录 {root} 已存在且不为空。", "换一个目录，或加 --force 删除后重建。")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    arc_path = root / "档案库"
    work = root / "工作区"
    work.mkdir(exist_ok=True)
    echo = click.echo

    _step(echo, "创建加密档案库")
    info = init_archive(arc_path, school_code="3413220001", school_name="萧县龙城镇中心小学",
                        passphrase=DEMO_PASSPHRASE, admin="admin")
    echo(f"档案库：{arc_path}（{info.school_name}，{info.suite}，管理员 admin，口令“{DEMO_PASSPHRASE}”）")
    with Archive.open(arc_path, user="admin", passphrase=DEMO_PASSPHRASE, write=True) as arc:
        arc.add_user("文书王", "secretary", DEMO_PASSPHRASE)
        arc.add_user("督查员李", "inspector", DEMO_PASSPHRASE)
        echo("已添加用户：文书王（文书）、督查员李（督查员，只读）")

        for module_name, title in STEPS:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as err:
                if err.name == module_name:
                    continue
                raise
            run = getattr(module, "run_demo", None)
            if run is None:
                continue
            _step(echo, title)
            run(arc, work, DEMO_PASSPHRASE, echo)

        _step(echo, "附件、四性检测、备份与恢复")
        children = arc.list_children(status="在册")
        if children:
            child = children[0]
            scan = b"%PDF-1.4\n% demo scan\n"
            arc.put_document(kind="attachment", title="户籍证明（扫描件）", content=scan, filename="户籍证明.pdf",
                             mime="application/pdf", child_id=child.id)
            echo(f"已为 {child.record.name} 存入附件：户籍证明（扫描件）")
        rep = verify_archive(arc)
        c = rep.counts
        echo(f"四性检测：儿童 {c['children']} 名，文档 {c['documents']} 份，审计 {c['audit_entries']} 条，"
             f"用时 {rep.seconds:.2f} 秒 —— {'通过' if rep.ok else f'发现 {len(rep.problems)} 个问题'}")
        for p in rep.problems:
            echo(f"  [{category(p)}] {p}")
        bak = work / "备份.gab"
        if bak.exists():
            bak.unlink()
        backup(arc, bak)
        echo(f"已备份到 {bak}（{bak.stat().st_size // 1024} KB）")
    restored = work / "恢复的档案库"
    if restored.exists():
        shutil.rmtree(restored)
    restore(bak, restored)
    with Archive.open(restored, user="admin", passphrase=DEMO_PASSPHRASE) as arc2:
        echo(f"已恢复到 {restored}：儿童 {len(arc2.list_children())} 名，文档 {len(arc2.list_documents())} 份")
    echo("")
    echo("演示完成。试试：")
    env = f"GUANAI_ARCHIVE={arc_path} GUANAI_PASSPHRASE={DEMO_PASSPHRASE}"
    echo(f"  {env} guanai child list")
    echo(f"  {env} guanai audit show --limit 10")
    if os.environ.get("GUANAI_DEMO_STRICT") and not rep.ok:
        raise SystemExit(6)
