"""Crash loop: ≥ 100 SIGKILLs across import, generate, attach, reindex, backup and transfer import.

A "zygote" process imports everything once and forks one child per command (the CLI through
click's runner, exactly as a user runs it); the test SIGKILLs the child at a random moment of
its run. Afterwards every command is run again to completion, and: no write that was reported
(exit 0) is lost, re-running stored no duplicates, no plaintext temporary survives the next
command, no half-built index or backup is left, and ``verify`` is clean.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from transfer_helpers import CODE_B, PASS_B, Scenario, _scenario_template, scenario  # noqa: F401 - fixtures

from guanai.archive.store import Archive

KILLS = int(os.environ.get("GUANAI_CRASH_KILLS", "102"))

ZYGOTE = textwrap.dedent("""
    import json, os, sys
    from click.testing import CliRunner
    from guanai.cli.main import cli
    import guanai.cli.child, guanai.cli.docs, guanai.cli.generate, guanai.cli.search, guanai.cli.transfer
    import guanai.cli.archive_cmds, guanai.search.api, guanai.generators.generate, guanai.archive.transfer
    ops = json.loads(sys.argv[1])
    for line in sys.stdin:
        name, extra = line.split(" ", 1) if " " in line else (line.strip(), "")
        argv = ops[name.strip()] + [a for a in extra.split() if a]
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            res = CliRunner().invoke(cli, argv)
            os.write(w, json.dumps({"code": res.exit_code, "out": res.output}).encode())
            os._exit(0)
        os.close(w)
        print(pid, flush=True)
        data = b""
        while True:
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        print(json.dumps({"op": name.strip(), "result": json.loads(data) if data else None}), flush=True)
""")


def _forms(tmp: Path) -> list[Path]:
    from guanai.generators.formsio import example_form
    from guanai.generators.kinds import get_kind

    out = []
    base = example_form(get_kind("home-visit"))
    for i in range(3):
        f = dict(base)
        f["后续跟进"] = f"第 {i} 次回访"
        p = tmp / f"家访{i}.json"
        p.write_text(json.dumps(f, ensure_ascii=False, default=str), encoding="utf-8")
        out.append(p)
    return out


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_crash_loop(scenario: Scenario, tmp_path: Path) -> None:  # noqa: F811
    from guanai.archive import transfer
    from guanai.care.roster import roster_csv_bytes
    from guanai.care.synth import synth_children
    from guanai.generators.slip import render_slip

    s = scenario
    rng = random.Random(20261129)
    private = tmp_path / "shm"
    private.mkdir()
    backups = tmp_path / "备份"
    backups.mkdir()
    roster = tmp_path / "花名册.csv"
    roster.write_bytes(roster_csv_bytes(synth_children(20, seed=515)))
    forms = _forms(tmp_path)
    scan = tmp_path / "低保证明.pdf"
    scan.write_bytes(b"%PDF-1.4\n" + os.urandom(30000))
    with s.open_b() as b:  # a child of B's own for attach
        own = b.add_child(synth_children(1, seed=77)[0])
    pkgs = []

    with s.open_a() as a:
        for i, cid in enumerate(s.child_ids[:2]):
            out = tmp_path / f"转接{i}.gtp"
            transfer.export_package(a, [cid], CODE_B, out, render_slip=render_slip)
            pkgs.append(out)
    ops = {
        "import": ["child", "import", str(roster)],
        "generate": ["generate", "home-visit", *map(str, forms), "--json"],
        "attach": ["attach", own, str(scan)],
        "reindex": ["reindex"],
        "backup": ["backup"],  # + a fresh file name each time
        "transfer0": ["transfer", "import", str(pkgs[0]), "--accept", "--yes"],
        "transfer1": ["transfer", "import", str(pkgs[1]), "--accept", "--yes"],
    }
    env = dict(os.environ, GUANAI_ARCHIVE=str(s.b), GUANAI_PASSPHRASE=PASS_B, GUANAI_USER="admin",
               GUANAI_TMPDIR=str(private))
    zy = subprocess.Popen([sys.executable, "-c", ZYGOTE, json.dumps(ops)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, env=env, cwd=Path(__file__).parent)
    assert zy.stdin is not None and zy.stdout is not None
    reported: list[tuple[str, dict]] = []  # type: ignore[type-arg]
    n_backup = 0

    def run(op: str, kill_after: float | None) -> dict | None:  # type: ignore[type-arg]
        nonlocal n_backup
        extra = ""
        if op == "backup":
            n_backup += 1
            extra = str(backups / f"b{n_backup}.gab")
        assert zy.stdin is not None and zy.stdout is not None
        zy.stdin.write(f"{op} {extra}\n")
        zy.stdin.flush()
        pid = int(zy.stdout.readline())
        t0 = time.monotonic()
        if kill_after is not None:
            time.sleep(kill_after)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        line = json.loads(zy.stdout.readline())
        res = line["result"]
        durations[op] = max(durations.get(op, 0.0), time.monotonic() - t0) if kill_after is None else durations[op]
        if res is not None and res["code"] == 0:
            reported.append((op, res))
        return res

    durations: dict[str, float] = {}
    kills = 0
    try:
        # one clean run of each (its duration bounds the kill delay), then the loop
        for op in ("reindex", "backup", "attach"):
            res = run(op, None)
            assert res is not None and res["code"] == 0, (op, res)
        for op in ("import", "generate", "transfer0", "transfer1"):
            durations[op] = 0.8  # first runs are killed too; measured below from a later full run
        loop_ops = list(ops)
        t_start = time.monotonic()
        while kills < KILLS:
            op = rng.choice(loop_ops)
            run(op, rng.random() * durations[op] * 1.1)
            kills += 1
        loop_seconds = time.monotonic() - t_start
        # re-run everything to completion
        final: dict[str, dict] = {}  # type: ignore[type-arg]
        for op in ("import", "generate", "attach", "transfer0", "transfer1", "reindex", "backup"):
            res = run(op, None)
            assert res is not None, op
            final[op] = res
    finally:
        zy.stdin.close()
        zy.wait(30)
        zy.stdout.close()
    assert kills >= 100
    print(f"crash loop: {kills} SIGKILLs in {loop_seconds:.1f} s")
    assert final["generate"]["code"] == 0, final["generate"]["out"]
    assert final["attach"]["code"] == 0, final["attach"]["out"]
    assert final["reindex"]["code"] == 0 and final["backup"]["code"] == 0, final
    for op in ("transfer0", "transfer1"):  # accepted now, or already accepted before (replay refused)
        assert final[op]["code"] == 0 or "已" in final[op]["out"], final[op]["out"]

    with Archive.open(s.b, user="admin", passphrase=PASS_B) as b:
        children = b.list_children()
        docs = b.list_documents()
        assert not b.damaged
        # no duplicates
        sids = [c.record.student_id for c in children]
        assert len(sids) == len(set(sids))
        assert len(children) == 1 + 20 + 2  # own + roster + two transferred
        visits = [d for d in docs if d.kind == "home-visit"]
        keys = [(d.child_id, d.meta.get("input_sha256"), d.mime) for d in visits]
        assert len(keys) == len(set(keys)) == 3
        assert len([d for d in docs if d.kind == "attachment" and d.child_id == own]) == 1
        # nothing reported is lost
        ids = {d.id for d in docs}
        for op, res in reported:
            if op == "generate":
                for g in json.loads(res["out"])["generated"]:
                    assert g["doc_id"] in ids
            elif op == "attach":
                short = re.search(r"编号 ([0-9a-f]{6,32})", res["out"])  # the short id it printed
                assert short is not None and any(i.startswith(short.group(1)) for i in ids), res["out"]
            elif op == "import":
                assert len(children) >= 21
        from guanai.archive.verify import verify_archive

        rep = verify_archive(b)
        assert rep.ok, rep.problems
    # no plaintext temporary survives the next command; no half-built index or backup
    from click.testing import CliRunner

    from guanai.cli.main import cli

    old = os.environ.get("GUANAI_TMPDIR")
    os.environ["GUANAI_TMPDIR"] = str(private)
    try:
        assert CliRunner().invoke(cli, ["form", "kinds"]).exit_code == 0
    finally:
        if old is None:
            del os.environ["GUANAI_TMPDIR"]
        else:
            os.environ["GUANAI_TMPDIR"] = old
    assert list(private.iterdir()) == []
    assert not [p for p in s.b.iterdir() if p.name.startswith(".index.build-")]
    assert not [p for p in backups.iterdir() if p.name.startswith(".")]
    # secret or personal files are private: backups and receipts 0600
    assert all(p.stat().st_mode & 0o077 == 0 for p in backups.iterdir())
    receipts = [Path(f"{p}.receipt") for p in pkgs if Path(f"{p}.receipt").exists()]
    assert receipts and all(r.stat().st_mode & 0o077 == 0 for r in receipts)
