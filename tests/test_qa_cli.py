"""Fixes found by trying guanai as its users would (secretary, inspector): CliRunner, real archive."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from gen_helpers import sample

from guanai.cli.main import cli


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return res.exit_code, res.output


@pytest.fixture
def arc_env(make_archive: Callable[..., tuple[Path, str]], cli_env: Callable[..., None]) -> tuple[Path, str]:
    path, pw = make_archive()
    cli_env(path, pw)
    return path, pw


def _open(path: Path, pw: str, write: bool = False):  # type: ignore[no-untyped-def]
    from guanai.archive.store import Archive

    return Archive.open(path, user="admin", passphrase=pw, write=write)


def _add_children(path: Path, pw: str, n: int = 2) -> list[tuple[str, str, str]]:
    from guanai.care.synth import synth_children

    out = []
    with _open(path, pw, write=True) as arc:
        for rec in synth_children(n, seed=5):
            out.append((arc.add_child(rec), rec.student_id, rec.name))
    return out


def _home_visit(tmp_path: Path, name: str, **changes: object) -> Path:
    data = {**sample("home-visit"), **changes}
    data = {k: v for k, v in data.items() if v is not None}
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_home_visit_form_without_student_id_joins_the_child_of_that_name(
        arc_env: tuple[Path, str], tmp_path: Path) -> None:
    (cid, sid, name), _ = _add_children(*arc_env)
    form = _home_visit(tmp_path, "visit", 儿童姓名=name, 学籍号=None, 学校=None)
    code, out = run("generate", "home-visit", str(form))
    assert code == 0, out
    assert f"已按姓名关联到 {name}" in out and sid in out
    with _open(*arc_env) as arc:
        docs = arc.list_documents(kind="home-visit")
    assert [d.child_id for d in docs] == [cid]


def test_home_visit_form_with_unknown_student_id_is_said_not_silent(
        arc_env: tuple[Path, str], tmp_path: Path) -> None:
    (_cid, _sid, name), _ = _add_children(*arc_env)
    form = _home_visit(tmp_path, "visit", 儿童姓名=name, 学籍号="G34132220120315001X")
    code, out = run("generate", "home-visit", str(form))
    assert code == 0, out
    assert "学籍号 G34132220120315001X 不在本档案库中" in out and "未关联到儿童档案" in out
    with _open(*arc_env) as arc:
        assert [d.child_id for d in arc.list_documents(kind="home-visit")] == [None]


def test_home_visit_form_naming_nobody_is_said(arc_env: tuple[Path, str], tmp_path: Path) -> None:
    _add_children(*arc_env)
    form = _home_visit(tmp_path, "visit", 儿童姓名="查无此人", 学籍号=None)
    code, out = run("generate", "home-visit", str(form))
    assert code == 0, out
    assert "找不到名为“查无此人”的儿童" in out and "未关联到儿童档案" in out


def test_screening_status_shows_the_short_ids_child_list_shows(arc_env: tuple[Path, str]) -> None:
    kids = _add_children(*arc_env)
    assert run("screening", "start", "--term-start", "2026-09-01")[0] == 0
    code, out = run("screening", "status")
    assert code == 0, out
    for cid, _sid, name in kids:
        assert f"{cid[:8]}  {name}" in out and cid not in out
    code, listing = run("child", "list")
    assert all(cid[:8] in listing for cid, _s, _n in kids)
