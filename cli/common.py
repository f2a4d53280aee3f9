"""Shared CLI plumbing: error reporting, opening the archive, JSON output, passphrases."""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import re
import sqlite3
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
    except (OSError, sqlite3.Error) as err:
        from guanai.base.faults import translate

        known = translate(err, archive_dir(ctx))
        if known is not None:
            echo_err(known.message, known.hint)
            ctx.exit(known.exit_code)
        if not isinstance(err, OSError):
            _internal(ctx, err)
            return
        message, hint = os_error_text(err)
        echo_err(message, hint)
        ctx.exit(1)
    except Exception as err:  # noqa: BLE001 - last resort: never a traceback for users
        _internal(ctx, err)


_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{6,12}\.tmp$")  # fsutil's atomic-write temporaries
_ERRNO_TEXT = {errno.ENOENT: "文件或目录不存在", errno.EACCES: "没有权限", errno.EPERM: "没有权限",
               errno.EISDIR: "这是一个目录，不是文件", errno.ENOTDIR: "路径中有一段不是目录",
               errno.EEXIST: "已存在", errno.EROFS: "只读文件系统", errno.ENAMETOOLONG: "文件名太长"}


def os_error_text(err: OSError) -> tuple[str, str]:
    """A Chinese message and hint for an OSError no one explained: the file the user named (not a
    temporary beside it) and, for a missing directory, which one."""
    path = Path(str(err.filename)) if err.filename else None
    if path is not None:
        m = _TEMP_NAME.match(path.name)
        if m:
            path = path.with_name(m.group("name"))
    what = _ERRNO_TEXT.get(err.errno or 0, err.strerror or str(err))
    if path is None:
        return f"文件操作失败：{what}。", "检查路径是否存在、磁盘空间与权限。"
    if err.errno == errno.ENOENT and not path.parent.exists():
        return f"无法写入 {path}：目录 {path.parent} 不存在。", "先建立该目录（mkdir），或换一个已有的目录。"
    return f"文件操作失败：{path}：{what}。", "检查路径是否存在、磁盘空间与权限。"


def _internal(ctx: click.Context, err: BaseException) -> None:
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
        _warn_if_readable(Path(path))
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            why = _ERRNO_TEXT.get(err.errno or 0, err.strerror or str(err))
            raise InputError(f"无法读取口令文件 {path}：{why}", "检查 --passphrase-file 的路径。") from err
        line = text.splitlines()[0] if text else ""
        if not line:
            raise InputError(f"口令文件 {path} 为空。", "在文件第一行写入口令。")
        return line
    env = os.environ.get("GUANAI_PASSPHRASE")
    if env:
        return env
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=confirm and "再次输入口令"))


def _warn_if_readable(path: Path) -> None:
    """A passphrase file others can read (group/world bits) gets a warning on stderr."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        click.echo(f"警告：口令文件 {path} 其他用户也能读取（权限 {mode & 0o777:o}）。"
                   f"请执行 chmod 600 {path}，只让自己读取。", err=True)


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
    for problem in arc.open_problems:  # the command goes on (reading): a warning, not an error
        click.echo(f"警告：档案库状态异常（只读打开）：{problem}", err=True)
        click.echo("提示：运行 guanai verify 查看全部问题；写入已被拒绝。", err=True)
    from guanai.archive.resolve import choosing

    try:
        gen = arc.generation if write else None
        try:
            # several children of one name: a numbered choice on a terminal, an error listing them otherwise
            with choosing(terminal_chooser if _interactive() else None):
                yield arc
        finally:
            _report_damaged(arc)
        if write and arc.generation != gen:
            _index_writes(arc)
    finally:
        arc.close()


def _report_damaged(arc: Archive) -> None:
    """Rows a listing had to leave out are shown as damaged (the others were processed)."""
    damaged = getattr(arc, "damaged", None)
    if not damaged:
        return
    click.echo(f"注意：{len(damaged)} 条记录已损坏，无法打开，未包含在上面的结果中：", err=True)
    for rid, problem in list(damaged.items())[:20]:
        click.echo(f"  已损坏  {rid}  {problem}", err=True)
    if len(damaged) > 20:
        click.echo(f"  …… 另有 {len(damaged) - 20} 条", err=True)
    click.echo("提示：运行 guanai verify 查看损坏详情；其他记录不受影响。", err=True)


def _index_writes(arc: Archive) -> None:
    """Index what this command wrote, before it returns (search never pays for it)."""
    from guanai.base.errors import BusyError

    try:
        from guanai.search.api import index_changes
    except ImportError:  # pragma: no cover - the search package is part of the distribution
        return
    bars: list[Any] = []

    def progress(done: int, total: int) -> None:
        if total < 200 or not sys.stderr.isatty():
            return
        if not bars:
            bars.append(click.progressbar(length=total, label="更新全文索引", file=sys.stderr))
            bars[0].__enter__()
        bars[0].update(done - bars[0].pos)

    try:
        index_changes(arc, progress)
    except BusyError:
        click.echo("提示：全文索引正被其他程序更新，本次写入的内容稍后编入索引；检索结果会注明索引是否落后。", err=True)
    except Exception as err:  # noqa: BLE001 - the write is committed: never report it as failed
        from guanai.base.faults import translate

        known = translate(err, arc.path, "更新全文索引")
        why = known.message if known is not None else f"{type(err).__name__}: {err}"
        click.echo(f"警告：数据已保存，但全文索引未能更新：{why}（检索结果会注明索引落后；可稍后运行 guanai reindex）",
                   err=True)
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
def _interactive() -> bool:
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_chooser(ref: str, candidates: Any) -> int | None:
    """Ask which of several children named ``ref`` is meant; None when the user gives no number."""
    click.echo(f"“{ref}”有 {len(candidates)} 名同名儿童：", err=True)
    for i, c in enumerate(candidates, 1):
        click.echo(f"  {i}. {c.label}  编号 {c.id[:8]}", err=True)
    while True:
        answer = str(click.prompt("请输入序号（直接回车取消）", default="", show_default=False, err=True)).strip()
        if not answer:
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(candidates):
            return int(answer) - 1
        click.echo(f"  请输入 1 到 {len(candidates)} 之间的序号。", err=True)


def kind_id(value: str | None) -> str | None:
    """A --kind option (id or Chinese name) as a kind id; InputError listing the valid ones."""
    if not value:
        return None
    from guanai.generators.labels import resolve_kind

    return resolve_kind(value)


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


def refuse_overwrite(path: str | Path, force: bool) -> None:
    """InputError when ``path`` exists and ``--force`` was not given: a template written over a
    form the secretary has already filled in would lose her work without a word."""
    if not force and Path(path).exists():
        raise InputError(f"文件 {path} 已存在（可能是已填写的表单），未覆盖。", "换一个文件名（-o），或加 --force 覆盖。")
