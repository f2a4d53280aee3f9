"""Check-and-act under the writer lock, and readers that never wait for a writer (FORMAT.md §6, §7.2)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from transfer_helpers import CODE_B, PASS_A, Scenario, _scenario_template, scenario

from guanai.archive import transfer
from guanai.archive.audit import walk, walk_all
from guanai.archive.store import Archive, _WriterLock
from guanai.base.errors import AuthError

__all__ = ["scenario", "_scenario_template"]  # fixtures, re-exported for pytest

# Each worker announces every write transaction it is about to start, so the test can hold the
# writer lock until every worker has done its checks outside the lock: the race is then certain.
WORKER = r"""
import json, sys
from pathlib import Path
from guanai.archive import transfer
from guanai.archive.store import Archive
from guanai.base.errors import GuanaiError
from guanai.generators.slip import render_slip

orig = Archive.transaction
def announced(self, *a, **k):
    if not self._depth:
        print("txn", flush=True)
    return orig(self, *a, **k)
Archive.transaction = announced

op, path, pw, arg, out = sys.argv[1:6]
try:
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        if op == "export":
            transfer.export_package(arc, [arg], "3413220002", Path(out), render_slip=render_slip)
        else:
            transfer.confirm(arc, Path(arg))
    print("result ok", flush=True)
except GuanaiError as err:
    print("result refused " + type(err).__name__ + " " + err.message, flush=True)
"""


def _race(args: list[list[str]], lock_path: Path) -> list[str]:
    """Start the workers while holding the writer lock; release once all wait for it."""
    env = {**os.environ, "GUANAI_LOCK_TIMEOUT": "60"}
    lock = _WriterLock(lock_path)
    lock.acquire(10)
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, *a], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=Path(__file__).resolve().parents[1]) for a in args]
    try:
        try:
            for p in procs:
                assert p.stdout is not None
                line = p.stdout.readline()
                assert line.strip() == "txn", (line, p.communicate(timeout=60)[1][-2000:])
            time.sleep(0.3)  # all are now blocked on the lock, their checks done
        finally:
            lock.release()
        results = []
        for p in procs:
            out, _ = p.communicate(timeout=120)
            results.append([ln for ln in out.splitlines() if ln.startswith("result")][-1])
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate()


def test_one_child_is_exported_once_by_two_concurrent_commands(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    cid = s.child_ids[0]
    results = _race([["export", str(s.a), PASS_A, cid, str(tmp_path / f"p{i}.gtp")] for i in range(2)],
                    s.a / ".lock")
    assert sorted(r.split()[1] for r in results) == ["ok", "refused"], results
    assert any("StateError" in r and "另一个命令刚刚导出" in r for r in results), results
    assert len(list(tmp_path.glob("p*.gtp"))) == 1  # the refused one left no package file
    with s.open_a(write=False) as a:
        from guanai.archive.transfer.state import pending_children

        assert list(pending_children(a)) == [cid]  # one package awaits its receipt


def test_a_receipt_is_applied_once_by_concurrent_confirms(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    pkg = tmp_path / "p.gtp"
    from guanai.generators.slip import render_slip

    with s.open_a() as a:
        transfer.export_package(a, s.child_ids[:1], CODE_B, pkg, render_slip=render_slip)
    with s.open_b() as b:
        transfer.accept(b, transfer.open_package(b, pkg))
    receipt = tmp_path / "p.gtp.receipt"
    import json

    head = json.loads(receipt.read_bytes())["body"]["archive_head"]  # the recipient's head, signed
    with s.open_b(write=False) as b:
        assert head["archive_id"] == b.info.archive_id and 0 < head["commit"] < b.head()["commit"]  # type: ignore[index]
    results = _race([["confirm", str(s.a), PASS_A, str(receipt), "-"] for _ in range(3)], s.a / ".lock")
    assert sorted(r.split()[1] for r in results) == ["ok", "refused", "refused"], results
    with s.open_a(write=False) as a:
        receipts = [d for d in a.list_documents(child_id=s.child_ids[0]) if d.kind == "transfer-receipt"]
        assert len(receipts) == 1
        confirms = [e for e in walk(a)[0] if e.action == "transfer.confirm"]
        assert len(confirms) == 1


HOLDER = r"""
import sys, time
from guanai.archive.store import Archive
with Archive.open(sys.argv[1], user="admin", passphrase=sys.argv[2]) as arc:
    with arc.transaction():
        arc.put_document(kind="note", title="长时间导入", content=b"x", filename="a.txt", mime="text/plain")
        print("holding", flush=True)
        time.sleep(float(sys.argv[3]))
print("released", flush=True)
"""


def test_readers_work_while_a_writer_holds_the_lock_for_15_seconds(scenario: Scenario) -> None:
    from guanai.search import api

    s = scenario
    with s.open_a() as a:  # an index to search
        api.reindex(a)
        doc = a.list_documents(child_id=s.child_ids[0])[0]
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(s.a), PASS_A, "15"], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "GUANAI_LOCK_TIMEOUT": "1"})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        t0 = time.monotonic()
        timings = {}
        with Archive.open(s.a, user="admin", passphrase=PASS_A) as a:
            timings["open"] = time.monotonic() - t0
            t = time.monotonic()
            assert len(a.list_children()) == 3
            assert a.read_document(doc.id)
            timings["doc get"] = time.monotonic() - t
            t = time.monotonic()
            view = api.run_search(a, "家访")
            assert view.total >= 1
            timings["search"] = time.monotonic() - t
            t = time.monotonic()
            assert api.show(a, doc.id)["title"] == doc.title
            timings["show"] = time.monotonic() - t
        with pytest.raises(AuthError):  # a failed unlock during the write is not lost
            Archive.open(s.a, user="admin", passphrase="wrong passphrase")
        elapsed = time.monotonic() - t0
        assert proc.poll() is None, "the writer must still hold the lock"
        assert elapsed < 10, timings
        assert all(v < 5 for v in timings.values()), timings
        with Archive.open(s.a, user="admin", passphrase=PASS_A) as a:
            pending = [e.action for e in walk_all(a)[0] if e.pending]
            assert {"doc.read", "search", "doc.show", "auth.fail"} <= set(pending), pending
    finally:
        out, _ = proc.communicate(timeout=60)
    assert "released" in out
    with Archive.open(s.a, user="admin", passphrase=PASS_A) as a:  # the next writer chains them
        entries, problems = walk(a)
        assert problems == []
        tail = [e.action for e in entries[-6:]]
        assert {"doc.read", "search", "doc.show", "auth.fail"} <= set(tail), tail
        assert not [e for e in walk_all(a)[0] if e.pending]
