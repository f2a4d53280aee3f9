"""`guanai upgrade`: the v1 fixture made by the released code migrates whole; interruptions leave v1."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from guanai.archive.audit import walk
from guanai.archive.store import Archive
from guanai.archive.verify import verify_archive
from guanai.base.errors import FormatError, IntegrityError, PermissionDenied, StateError

FIXTURE = Path(__file__).parent / "fixtures" / "v1-archive"
PW = "fixture-v1-口令-2026"  # both users of the fixture (see fixtures/make_v1_fixture.py)


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    dest = tmp_path / "school"
    shutil.copytree(FIXTURE, dest)
    return dest


def _snapshot(path: Path, user: str = "admin") -> dict[str, object]:
    """Everything a user sees: children, documents with content, audit entries."""
    with Archive.open(path, user=user, passphrase=PW) as arc:
        children = sorted((c.id, c.record.name, c.status, c.record.student_id) for c in arc.list_children())
        docs = sorted((d.id, d.title, d.child_id, d.kind, arc.read_document(d.id, audit=False),
                       arc.document_form(d.id), arc.document_text(d.id)) for d in arc.list_documents())
        entries, problems = walk(arc)
        audit = [(e.seq, e.at, e.actor, e.action, e.target, e.detail) for e in entries]
        users = arc.users()
    return {"children": children, "docs": docs, "audit": audit, "problems": problems, "users": users}


def test_v1_fixture_is_readable_but_not_writable(v1: Path) -> None:
    with Archive.open(v1, user="dudao", passphrase=PW) as arc:
        assert arc.info.format_version == 1
        assert len(arc.list_children()) == 3 and len(arc.list_documents()) == 5
        arc.read_document(arc.list_documents()[0].id)  # audited into the journal
        with pytest.raises(FormatError, match="upgrade"):
            arc.set_setting("x", b"1")
    with Archive.open(v1, user="admin", passphrase=PW) as arc:
        with pytest.raises(FormatError, match="upgrade"):
            arc.put_document(kind="note", title="t", content=b"x", filename="a.txt", mime="text/plain")
        rep = verify_archive(arc)
        assert [p.where for p in rep.problems] == ["archive.json"] and "v1" in rep.problems[0].what


def test_upgrade_keeps_every_child_document_and_audit_entry(v1: Path) -> None:
    from guanai.archive.upgrade import upgrade_archive

    before = _snapshot(v1)
    assert before["problems"] == [] and len(before["audit"]) == 15  # type: ignore[arg-type]
    with Archive.open(v1, user="dudao", passphrase=PW) as arc:  # a read while still v1
        arc.read_document(arc.list_documents()[0].id)
    result = upgrade_archive(v1, user="admin", passphrase=PW, passphrases={"dudao": PW})
    assert result.children == 3 and result.documents == 5 and result.reissued == {}
    assert result.backup.is_dir() and (result.backup / "catalog.sqlite").exists()
    after = _snapshot(v1)
    assert after["children"] == before["children"] and after["docs"] == before["docs"]
    assert after["users"] == before["users"]
    n = len(before["audit"])  # type: ignore[arg-type]
    assert after["audit"][:n] == before["audit"]  # type: ignore[index]
    assert [a[3] for a in after["audit"][n:]] == ["archive.upgrade", "doc.read"]  # type: ignore[index]
    assert after["problems"] == []
    with Archive.open(v1, user="admin", passphrase=PW) as arc:
        assert arc.info.format_version == 2
        rep = verify_archive(arc)
        assert rep.ok, rep.problems
        arc.put_document(kind="note", title="升级后", content=b"x", filename="a.txt", mime="text/plain")
    with Archive.open(v1, user="dudao", passphrase=PW) as arc:
        assert not arc._grant.writer_seed  # the inspector got no writer key
    # the backup is the untouched v1 archive, still usable
    with Archive.open(result.backup, user="admin", passphrase=PW) as arc:
        assert arc.info.format_version == 1 and len(arc.list_documents()) == 5
    assert not [p for p in v1.parent.iterdir() if p.name.startswith(".")]


def test_upgrade_reissues_users_without_passphrase(v1: Path) -> None:
    from guanai.archive.upgrade import upgrade_archive

    result = upgrade_archive(v1, user="admin", passphrase=PW)
    temp = result.reissued["dudao"]
    with pytest.raises(Exception, match="口令错误"):
        Archive.open(v1, user="dudao", passphrase=PW)
    with Archive.open(v1, user="dudao", passphrase=temp) as arc:
        assert arc.role == "inspector" and len(arc.list_children()) == 3


def test_upgrade_refuses_non_admin_and_v2(v1: Path) -> None:
    from guanai.archive.upgrade import upgrade_archive

    with pytest.raises(PermissionDenied):
        upgrade_archive(v1, user="dudao", passphrase=PW)
    upgrade_archive(v1, user="admin", passphrase=PW)
    with pytest.raises(StateError, match="无需升级"):
        upgrade_archive(v1, user="admin", passphrase=PW)


@pytest.mark.parametrize("stage", ["build", "verify", "swap"])
def test_failed_upgrade_leaves_v1_untouched(v1: Path, stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from guanai.archive import upgrade

    before = _snapshot(v1)
    target = {"build": "_build", "verify": "_verify_new", "swap": "_exchange"}[stage]

    def boom(*a: object, **k: object) -> None:
        raise IntegrityError("simulated failure")

    monkeypatch.setattr(upgrade, target, boom)
    with pytest.raises(IntegrityError, match="simulated"):
        upgrade.upgrade_archive(v1, user="admin", passphrase=PW, passphrases={"dudao": PW})
    assert _snapshot(v1) == before
    assert not [p for p in v1.parent.iterdir() if p.name.startswith(".")]


def test_upgrade_of_undecodable_v1_is_refused(v1: Path) -> None:
    import sqlite3

    from guanai.archive.upgrade import upgrade_archive

    conn = sqlite3.connect(v1 / "catalog.sqlite")
    conn.execute("UPDATE children SET status=CAST(x'ff00' AS TEXT) WHERE rowid=1")
    conn.commit()
    conn.close()
    with pytest.raises(IntegrityError, match="原档案库保持不变"):
        upgrade_archive(v1, user="admin", passphrase=PW, passphrases={"dudao": PW})
    assert not [p for p in v1.parent.iterdir() if p.name.startswith(".")]


def test_upgrade_of_tampered_v1_is_refused(v1: Path) -> None:
    import sqlite3

    from guanai.archive.upgrade import upgrade_archive

    conn = sqlite3.connect(v1 / "catalog.sqlite")
    rowid, data = conn.execute("SELECT rowid, data FROM content LIMIT 1").fetchone()
    conn.execute("UPDATE content SET data=? WHERE rowid=?", (data[:20] + bytes([data[20] ^ 1]) + data[21:], rowid))
    conn.commit()
    conn.close()
    with pytest.raises(IntegrityError, match="原档案库保持不变"):
        upgrade_archive(v1, user="admin", passphrase=PW, passphrases={"dudao": PW})
    with Archive.open(v1, user="admin", passphrase=PW) as arc:
        assert arc.info.format_version == 1


KILLED = """
import sys
from guanai.archive.upgrade import upgrade_archive
upgrade_archive(sys.argv[1], user="admin", passphrase=sys.argv[2], passphrases={"dudao": sys.argv[2]})
"""


def test_killed_upgrade_leaves_a_usable_archive(v1: Path) -> None:
    """SIGKILL at several points: the directory is v1 (untouched) or v2 (complete), never neither."""
    from guanai.archive.upgrade import upgrade_archive

    before = _snapshot(v1)
    outcomes = set()
    for delay in (0.3, 0.6, 0.9, 1.2, 1.6):
        proc = subprocess.Popen([sys.executable, "-c", KILLED, str(v1), PW], env=dict(os.environ))
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with Archive.open(v1, user="admin", passphrase=PW) as arc:
            outcomes.add(arc.info.format_version)
            assert verify_archive(arc).problems == [] or arc.info.format_version == 1
        snap = _snapshot(v1)
        assert snap["children"] == before["children"] and snap["docs"] == before["docs"]
        if outcomes == {2}:
            break
    if 2 not in outcomes:  # every kill landed before the swap: the next run completes and sweeps
        upgrade_archive(v1, user="admin", passphrase=PW, passphrases={"dudao": PW})
    assert not [p for p in v1.parent.iterdir() if p.name.startswith(".") and "upgrade" in p.name
                and not p.name.endswith("-backup")] or 2 in outcomes


def test_upgrade_cli(v1: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from guanai.cli.main import cli

    monkeypatch.setenv("GUANAI_ARCHIVE", str(v1))
    monkeypatch.setenv("GUANAI_PASSPHRASE", PW)
    monkeypatch.setenv("GUANAI_USER", "admin")
    runner = CliRunner()
    r = runner.invoke(cli, ["child", "list"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["upgrade", "--help"])
    assert r.exit_code == 0 and "示例" in r.output
    r = runner.invoke(cli, ["upgrade"])
    assert r.exit_code == 0, r.output
    assert "已升级到格式 v2" in r.output and "儿童 3 名" in r.output and "dudao：" in r.output
    temp = r.output.split("dudao：")[1].split()[0]
    with Archive.open(v1, user="dudao", passphrase=temp) as arc:
        assert arc.role == "inspector"
    r = runner.invoke(cli, ["upgrade"])
    assert r.exit_code != 0 and "无需升级" in r.output and "Traceback" not in r.output
    r = runner.invoke(cli, ["verify", "--json"])
    assert r.exit_code == 0, r.output


def test_upgrade_cli_wrong_passphrase(v1: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from guanai.cli.main import cli

    monkeypatch.setenv("GUANAI_ARCHIVE", str(v1))
    monkeypatch.setenv("GUANAI_PASSPHRASE", "wrong passphrase")
    monkeypatch.setenv("GUANAI_USER", "admin")
    r = CliRunner().invoke(cli, ["upgrade"])
    assert r.exit_code == 4 and "口令错误" in r.output
    with Archive.open(v1, user="admin", passphrase=PW) as arc:
        assert arc.info.format_version == 1


def test_upgrade_cli_asks_other_users_passphrases(v1: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from guanai.cli.main import cli

    monkeypatch.setenv("GUANAI_ARCHIVE", str(v1))
    monkeypatch.setenv("GUANAI_PASSPHRASE", PW)
    monkeypatch.setenv("GUANAI_USER", "admin")
    r = CliRunner().invoke(cli, ["upgrade", "--ask-passphrases", "--json"], input=PW + "\n")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output[r.output.index("{"):])
    assert out["kept"] == ["admin", "dudao"] and out["temporary_passphrases"] == {}
    with Archive.open(v1, user="dudao", passphrase=PW) as arc:  # the inspector keeps their passphrase
        assert arc.role == "inspector"


def test_write_on_v1_archive_through_cli_names_the_upgrade(v1: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from guanai.cli.main import cli

    monkeypatch.setenv("GUANAI_ARCHIVE", str(v1))
    monkeypatch.setenv("GUANAI_PASSPHRASE", PW)
    monkeypatch.setenv("GUANAI_USER", "admin")
    r = CliRunner().invoke(cli, ["user", "add", "新老师", "--role", "secretary"], env={"GUANAI_NEW_PASSPHRASE": PW})
    assert r.exit_code == 8, r.output
    assert "guanai upgrade" in r.output and "Traceback" not in r.output
