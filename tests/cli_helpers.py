"""CLI test helpers shared by the command tests (the ``arc_env`` fixture is in conftest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from guanai.cli.main import cli


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    """``guanai ARGS`` through click's runner (exceptions propagate): (exit code, output)."""
    res = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return res.exit_code, res.output


def open_archive(path: Path, pw: str, write: bool = False) -> Any:
    from guanai.archive.store import Archive

    return Archive.open(path, user="admin", passphrase=pw, write=write)
