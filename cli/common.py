"""Shared CLI plumbing: error reporting, opening the archive, JSON output, passphrases."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from guanai.base.errors import GuanaiError, InputError, Problem

if TYPE_CHECKING:
    from guanai.archive.store import Archive

F = TypeVar("F", bound=Callable[..., Any])


def echo_err(message: str, hint: str | None = None, problems: Sequence[Problem] = ()) -> None:
    click.echo(f"错误：{message}", err=True)
    for p in problems:
        click.echo(f"  - {p}" + (f"（{p.hint}）" if p.hint else ""), err=True)
    if hint:
        click.echo(f"提示：{hint}", err=True)


def json_requested(ctx: click.Context) -> bool:
    """Whether the command being run was given ``--json`` (set by ``json_option``)."""
    return bool((ctx.find_root().obj or {}).get("json"))


@contextlib.contextmanager
def report_errors(ctx: click.Context) -> Iterator[None]:
    """Turn library errors into a Chinese message, every problem, a hint and the error's exit code.

    Under ``--json`` the error also goes to stdout as one JSON object (``GuanaiError.to_json``),
    unless the command already wrote its JSON report (which then carries the problems itself).
    """
    try:
        yield
    except GuanaiError as err:
        echo_err(err.message, err.hint, err.problems)
        obj = ctx.find_root().obj or {}
        if json_requested(ctx) and not obj.get("json_written"):  # stdout stays one JSON document
            echo_json(err.to_json())
        ctx.exit(err.exit_code)
    except BrokenPipeError:
        # output piped into `head` and the like: stop quietly (and keep Python's exit flush quiet)
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        ctx.exit(0)
    except KeyboardInterrupt:
        click.echo("已中断。", err=True)
        ctx.exit(130)
    except (click.exceptions.Exit, click.ClickException, click.Abort):
        raise
    except OSError as err:
        echo_err(f"文件操作失败：{err.strerror or err}（{err.filename or ''}）",
                 "检查路径是否存在、磁盘空间与权限。")
        ctx.exit(1)
    except Exception as err:  # noqa: BLE001 - last resort: never a traceback for users
        if os.environ.get("GUANAI_DEBUG"):
            traceback.print_exc()
        echo_err(f"内部错误：{type(err).__name__}: {err}",
                 "请设置 GUANAI_DEBUG=1 重试以查看详细信息，并报告此问题。")
        ctx.exit(1)


def get_passphrase(ctx: click.Context, prompt: str = "口令", confirm: bool = False) -> str:
    """Passphrase from --passphrase-file, GUANAI_PASSPHRASE, or a hidden prompt."""
    obj = ctx.find_root().obj or {}
    path = obj.get("passphrase_file")
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise InputError(f"无法读取口令文件 {path}：{err.strerror}", "检查 --passphrase-file 的路径。") from err
        line = text.splitlines()[0] if text else ""
        if not line:
            raise InputError(f"口令文件 {path} 为空。", "在文件第一行写入口令。")
        return line
    env = os.environ.get("GUANAI_PASSPHRASE")
    if env:
        return env
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=confirm and "再次输入口令"))


def archive_dir(ctx: click.Context) -> Path:
    obj = ctx.find_root().obj or {}
    return Path(obj.get("archive_dir") or "guanai-archive")


def user_name(ctx: click.Context) -> str:
    obj = ctx.find_root().obj or {}
    return str(obj.get("user") or "admin")


@contextlib.contextmanager
def open_archive_ctx(ctx: click.Context, *, write: bool = False) -> Iterator[Archive]:
    """Open the archive named by the global options (one place: version, lock, passphrase)."""
    from guanai.archive.store import Archive

    path = archive_dir(ctx)
    Archive.check_exists(path)
    passphrase = get_passphrase(ctx)
    arc = Archive.open(path, user=user_name(ctx), passphrase=passphrase, write=write)
    for problem in arc.open_problems:
        echo_err(f"档案库状态异常（只读打开）：{problem}", "运行 guanai verify 查看全部问题；写入已被拒绝。")
    try:
        yield arc
    finally:
        arc.close()


def with_archive(write: bool = False) -> Callable[[F], F]:
    """Decorator: open the archive and pass it as the first argument of the command."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ctx = click.get_current_context()
            with open_archive_ctx(ctx, write=write) as arc:
                return fn(arc, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return deco


def _remember_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        root = ctx.find_root()
        root.ensure_object(dict)
        root.obj["json"] = True
    return value


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, callback=_remember_json,
                        help="以 JSON 输出（供其他程序使用；出错时输出错误对象，见 docs/CONTRACTS.md）。")(fn)


def echo_json(obj: Any) -> None:
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        root = ctx.find_root()
        root.ensure_object(dict)
        root.obj["json_written"] = True
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def echo_table(rows: list[list[str]], headers: list[str]) -> None:
    """A simple aligned table; widths count CJK characters as two columns."""
    import unicodedata

    def width(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)

    cols = [headers, *rows]
    widths = [max(width(str(r[i])) for r in cols) for i in range(len(headers))]
    for r in cols:
        click.echo("  ".join(str(c) + " " * (widths[i] - width(str(c))) for i, c in enumerate(r)).rstrip())
