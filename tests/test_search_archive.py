"""The index over a real archive: catch-up, tampering + reindex, kill -9, CLI, audit, roles."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from search_helpers import DOCX, fill_archive, scan_plaintext

from guanai.archive.store import Archive
from guanai.base.errors import IntegrityError
from guanai.cli.main import cli
from guanai.search import index as sindex
from guanai.search.query import Filters, matching_ids, search

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_index_cache() -> Iterator[None]:
    # each CLI run is a new process in real life: no searcher survives between invocations
    sindex.reset_cache()
    yield
    sindex.reset_cache()


@pytest.fixture
def filled(make_archive: Callable[..., tuple[Path, str]]) -> tuple[Path, str, dict[str, Any]]:
    path, pw = make_archive()
    info = fill_archive(path, pw, n_children=8, docs_per_child=2)
    return path, pw, info


def run(*args: str) -> Any:
    sindex.reset_cache()
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def personal(info: dict[str, Any]) -> list[str]:
    from guanai.care.model import personal_values

    vals: list[str] = []
    for _cid, rec in info["children"]:
        vals += [v for v in personal_values(rec) if len(v) >= 2]
    return vals


def test_catch_up_after_catalog_writes(filled: tuple[Path, str, dict[str, Any]]) -> None:
    path, pw, info = filled
    cid, rec = info["children"][0]
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        six = sindex.open_index(arc)
        own = {d for d, c, _t in info["docs"] if c == cid}
        assert matching_ids(six, rec.name) >= own | {cid}
        state = six.read_state()
        assert state is not None and state.generation == arc.generation
        # a write the index has not seen (as after a crash between catalog commit and index update)
        did = arc.put_document(kind="home-visit", title="补充记录", content=DOCX, filename="a.docx",
                               mime="application/octet-stream", child_id=cid, text="独一无二的蓝色风筝短语")
        arc.set_child_status(cid, "存档备查", "随父母迁出")
        sindex.reset_cache()
        six = sindex.open_index(arc)  # catches up at open
        assert matching_ids(six, "蓝色风筝") == {did}
        hits = matching_ids(six, rec.name, Filters(status="存档备查"))
        assert hits == own | {cid, did}
        assert six.verify(arc) == []


def test_deleted_document_leaves_the_index_at_catch_up(filled: tuple[Path, str, dict[str, Any]]) -> None:
    path, pw, info = filled
    cid, _rec = info["children"][1]
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        did = arc.put_document(kind="home-visit", title="待删记录", content=DOCX, filename="b.docx",
                               mime="application/octet-stream", child_id=cid, text="一只紫色的纸飞机")
        six = sindex.open_index(arc)
        assert matching_ids(six, "紫色的纸飞机") == {did}
        arc.delete_document(did, "转出后按保留策略删除")
        sindex.reset_cache()
        six = sindex.open_index(arc)  # the tombstone reaches the index at catch-up
        assert matching_ids(six, "紫色的纸飞机") == set()
        assert six.verify(arc) == []


def test_tampered_index_file_named_and_reindex_recovers(filled: tuple[Path, str, dict[str, Any]],
                                                         cli_env: Callable[..., None]) -> None:
    path, pw, info = filled
    cli_env(path, pw)
    name = info["children"][1][1].name
    r = run("search", name)
    assert r.exit_code == 0, r.output
    assert name in r.output
    seg = max((p for p in (path / "index").iterdir() if p.suffix == ".seg"), key=lambda p: p.stat().st_size)
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0x40
    seg.write_bytes(bytes(data))
    r = run("search", name)
    assert r.exit_code == IntegrityError.exit_code
    assert seg.name in r.output and str(path / "index") in r.output and "guanai reindex" in r.output
    assert "Traceback" not in r.output
    # the catalog is not affected
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        assert len(arc.list_documents()) == len(info["docs"])
        assert arc.read_document(info["docs"][0][0], audit=False).startswith(b"PK")
    r = run("reindex")
    assert r.exit_code == 0, r.output
    assert f"{len(info['docs']) + len(info['children'])} 条" in r.output
    r = run("search", name, "--json")
    assert r.exit_code == 0, r.output
    hits = json.loads(r.output)["hits"]
    assert {h["child_name"] for h in hits} == {name}
    assert scan_plaintext(path, personal(info)) == []


def test_truncated_or_swapped_index_files(filled: tuple[Path, str, dict[str, Any]],
                                          cli_env: Callable[..., None]) -> None:
    path, pw, _info = filled
    cli_env(path, pw)
    assert run("search", "家访").exit_code == 0
    state = path / "index" / "guanai.state"
    toc = next(p for p in (path / "index").iterdir() if p.name.endswith(".toc"))
    # swap: the state file's sealed bytes put in place of the TOC
    toc.write_bytes(state.read_bytes())
    r = run("search", "家访")
    assert r.exit_code == IntegrityError.exit_code and toc.name in r.output
    assert run("reindex").exit_code == 0
    state.write_bytes(state.read_bytes()[:10])  # truncated
    r = run("search", "家访")
    assert r.exit_code == IntegrityError.exit_code and "guanai.state" in r.output
    assert run("reindex").exit_code == 0
    assert run("search", "家访").exit_code == 0


_CHILD = """
import os, sys
from guanai.archive.store import Archive
from guanai.search import index as sindex
arc = Archive.open({path!r}, user="admin", passphrase={pw!r})
print("start", flush=True)
sindex.open_index(arc)
print("done", flush=True)
"""


def _wait_for_orphans(marker: str, timeout: float = 10.0) -> None:
    """Forked build workers die with their parent (PR_SET_PDEATHSIG), but asynchronously: wait."""
    deadline = time.monotonic() + timeout
    me = os.getpid()
    while time.monotonic() < deadline:
        alive = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == me:
                continue
            try:
                cmd = Path("/proc", pid, "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmd:
                alive.append(pid)
        if not alive:
            return
        time.sleep(0.05)
    raise AssertionError(f"index build workers still alive after the kill: {alive}")


@pytest.mark.slow
def test_kill_9_during_indexing_then_catch_up(make_archive: Callable[..., tuple[Path, str]]) -> None:
    path, pw = make_archive()
    info = fill_archive(path, pw, n_children=40, docs_per_child=3)
    values = personal(info)
    env = {**os.environ, "GUANAI_INDEX_BATCH": "15"}
    killed = 0
    for delay in (0.05, 0.3, 0.8, 1.5):  # the first lands mid-build even on an idle machine
        proc = subprocess.Popen([sys.executable, "-c", _CHILD.format(root=str(ROOT), path=str(path), pw=pw)],
                                stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "start"
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
        proc.stdout.close()
        _wait_for_orphans(str(path))
        # whatever was on disk at the kill: sealed, no plaintext temp files
        assert scan_plaintext(path / "index", values) == []
        assert not [p.name for p in (path / "index").iterdir() if p.name.endswith(".tmp")]
    assert killed >= 1
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        six = sindex.open_index(arc)
        assert six.verify(arc) == []
        for cid, rec in info["children"][:10]:
            own = {d for d, c, _t in info["docs"] if c == cid}
            assert matching_ids(six, rec.name) >= own | {cid}
    assert scan_plaintext(path, values) == []


def test_cli_search_show_open_are_audited(filled: tuple[Path, str, dict[str, Any]],
                                         cli_env: Callable[..., None], tmp_path: Path) -> None:
    from guanai.archive.audit import walk

    path, pw, info = filled
    cli_env(path, pw)
    cid, rec = info["children"][2]
    r = run("search", rec.name, "--kind", "home-visit")
    assert r.exit_code == 0, r.output
    assert f"儿童：{rec.name}" in r.output and f"【{rec.name}】" in r.output and "家访记录表" in r.output
    r = run("search", rec.name, "--json", "--limit", "1")
    doc = json.loads(r.output)["hits"][0]
    assert doc["child_name"] == rec.name
    did = next(d for d, c, _t in info["docs"] if c == cid)
    text = next(t for d, _c, t in info["docs"] if d == did)
    r = run("show", did)
    assert r.exit_code == 0 and text in r.output and rec.name in r.output
    out = tmp_path / "导出.docx"
    r = run("open", did, "-o", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == DOCX
    r = run("open", did, "-o", str(out))
    assert r.exit_code != 0 and "已存在" in r.output
    r = run("show", "0" * 32)
    assert r.exit_code == 3 and "找不到" in r.output
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        entries, problems = walk(arc)
    assert problems == []
    actions = [(e.action, e.actor) for e in entries]
    assert ("search", "admin") in actions and ("doc.show", "admin") in actions
    assert ("doc.export", "admin") in actions
    search_entry = next(e for e in entries if e.action == "search")
    assert search_entry.detail and search_entry.detail["query"] == rec.name


def test_cli_bad_query_and_inspector(filled: tuple[Path, str, dict[str, Any]],
                                     cli_env: Callable[..., None]) -> None:
    path, pw, info = filled
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        arc.add_user("督导员", "inspector", "督导口令-2026-abc")
    cli_env(path, pw)
    r = run("search", '"上河家村')
    assert r.exit_code == 2 and "引号" in r.output and "提示" in r.output
    r = run("search", "家访", "--from", "2024-13-01")
    assert r.exit_code == 2 and "日期" in r.output
    cli_env(path, "督导口令-2026-abc", user="督导员")
    name = info["children"][3][1].name
    r = run("search", name)
    assert r.exit_code == 0 and name in r.output
    # an inspector cannot write the catalog through these commands; the index is derived data
    r = run("reindex")
    assert r.exit_code == 0


def test_search_help_is_chinese_with_examples() -> None:
    for cmd in ("search", "show", "open", "reindex"):
        r = CliRunner().invoke(cli, [cmd, "--help"])
        assert r.exit_code == 0 and "示例：" in r.output and f"guanai {cmd}" in r.output


def test_search_results_match_library(filled: tuple[Path, str, dict[str, Any]]) -> None:
    path, pw, info = filled
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        six = sindex.open_index(arc)
        res = search(six, info["children"][4][1].name, limit=3)
        assert 1 <= len(res.hits) <= 3 and res.exact


def test_demo_step_prints_hits(filled: tuple[Path, str, dict[str, Any]]) -> None:
    from guanai.cli.demos.search import run_demo

    path, pw, info = filled
    lines: list[str] = []
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        run_demo(arc, path.parent, pw, lines.append)
        first = arc.list_children()[0].record
    out = "\n".join(lines)
    assert f"guanai search {first.name}" in out and f"儿童：{first.name}" in out
    assert f"【{first.name}】" in out and "短语" in out and "村名" in out
