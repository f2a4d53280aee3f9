"""Entry point: the ``guanai`` group with lazily imported sub-commands.

Sub-command modules are imported only when used so that ``guanai --help`` stays fast
(no cryptography, docxtpl or whoosh import at start-up).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from guanai.cli.i18n import install as _install_zh

_install_zh()

# name -> ("module:attribute", short Chinese help shown by `guanai --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("guanai.cli.archive_cmds:init_cmd", "创建新的加密档案库"),
    "user": ("guanai.cli.users:user", "管理用户（添加、改口令、列表、删除）"),
    "child": ("guanai.cli.child:child", "儿童档案：添加、导入、查看、更新、分类、结案"),
    "attach": ("guanai.cli.docs:attach", "把已有文件（如扫描件）存入某个儿童的档案"),
    "doc": ("guanai.cli.docs:doc", "文档：列表、导出"),
    "form": ("guanai.cli.generate:form", "表单：文书种类、空白表单模板"),
    "generate": ("guanai.cli.generate:generate", "由表单生成规范文书（.docx / PDF）并归档"),
    "template": ("guanai.cli.generate:template", "检查学校自定义的文书模板"),
    "lint": ("guanai.cli.lint:lint", "按 GB/T 9704-2012 检查公文格式"),
    "search": ("guanai.cli.search:search", "全文检索（中文分词，加密索引）"),
    "show": ("guanai.cli.search:show", "显示文档的信息与正文"),
    "open": ("guanai.cli.search:open_cmd", "导出文档原件到文件"),
    "reindex": ("guanai.cli.search:reindex", "由目录重建全文索引"),
    "identity": ("guanai.cli.identity:identity", "本校身份（签名与加密公钥）"),
    "directory": ("guanai.cli.directory:directory", "县级学校目录：添加、发布、导入、吊销"),
    "transfer": ("guanai.cli.transfer:transfer", "档案转接：导出、查看、导入、回执确认"),
    "verify": ("guanai.cli.archive_cmds:verify", "四性检测：真实性、完整性、可用性、安全性"),
    "audit": ("guanai.cli.archive_cmds:audit", "审计日志：查看、校验"),
    "backup": ("guanai.cli.archive_cmds:backup", "备份档案库（使用中亦可）"),
    "restore": ("guanai.cli.archive_cmds:restore", "由备份恢复档案库到新目录"),
    "screening": ("guanai.cli.screening:screening", "开学排查：开始、标记、进度、结束认定"),
    "due": ("guanai.cli.workflow:due", "待办：按实施方案列出到期和逾期的事项"),
    "absence": ("guanai.cli.absence:absence", "控辍保学：旷课立案、劝返、上报、复学结案"),
    "mentor": ("guanai.cli.mentor:mentor", "帮扶教师：登记、结对指派、覆盖情况"),
    "contact": ("guanai.cli.workflow:contact", "家校联系记录（外出务工家长、委托照护人）"),
    "duty": ("guanai.cli.workflow:duty", "学期工作：家长会、家长学校等"),
    "stats": ("guanai.cli.workflow:stats", "统计：家访率、结对帮扶率、控辍保学等"),
    "ledger": ("guanai.cli.workflow:ledger", "导出台账工作簿（.xlsx）"),
    "settings": ("guanai.cli.workflow:settings", "关爱工作设置（家访期限、心理健康辅导教师等）"),
    "upgrade": ("guanai.cli.archive_cmds:upgrade", "把旧格式 v1 档案库升级为 v2"),
    "salvage": ("guanai.cli.archive_cmds:salvage", "抢救损坏的档案库：把仍能解密的记录复制到新目录"),
    "demo": ("guanai.cli.demo:demo", "创建演示档案库并演示全部功能"),
    "serve": ("guanai.cli.serve:serve", "启动网页界面（浏览器中使用，默认仅本机）"),
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module_name, attr = spec[0].split(":")
        module = importlib.import_module(module_name)
        cmd = getattr(module, attr, None)
        return cmd if isinstance(cmd, click.Command) else None

    def invoke(self, ctx: click.Context) -> Any:
        # The one place where library errors become user output (message, hint, exit code).
        from guanai.cli.common import report_errors

        with report_errors(ctx):
            return super().invoke(ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("命令"):
            formatter.write_dl(rows)


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--archive",
    "archive_dir",
    envvar="GUANAI_ARCHIVE",
    default="guanai-archive",
    show_default=True,
    type=click.Path(file_okay=False),
    help="档案库目录（环境变量 GUANAI_ARCHIVE）。",
)
@click.option("--user", "user", envvar="GUANAI_USER", default="admin", show_default=True,
              help="用户名（环境变量 GUANAI_USER）。")
@click.option("--passphrase-file", type=click.Path(dir_okay=False), default=None,
              help="从文件读取口令（首行）；也可用环境变量 GUANAI_PASSPHRASE；否则隐藏输入。")
@click.version_option(package_name="guanai", message="guanai %(version)s")
@click.pass_context
def cli(ctx: click.Context, archive_dir: str, user: str, passphrase_file: str | None) -> None:
    """关爱档案（guanai）：留守儿童、困境儿童“一人一卡一策”档案与规范文书系统。

    \b
    示例：
      guanai --archive 我校档案 init --school-code 3413220001 --school-name 萧县实验小学
      guanai --archive 我校档案 child import 花名册.xlsx
      guanai --archive 我校档案 search 张小明
    """
    ctx.ensure_object(dict)
    # pypdf and pyHanko log every oddity of a damaged or hostile PDF as an English warning (16,000
    # lines for one crafted file); what the user needs is the Chinese message the command prints
    import logging

    for name in ("pypdf", "pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # plaintext temporaries of a process killed with SIGKILL do not outlive the next command
    import contextlib

    from guanai.base.privtmp import sweep_stale

    with contextlib.suppress(OSError):
        sweep_stale()
    ctx.obj["archive_dir"] = archive_dir
    ctx.obj["user"] = user
    ctx.obj["passphrase_file"] = passphrase_file


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry."""
    return cli.main(args=argv, prog_name="guanai")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
