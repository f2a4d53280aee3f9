"""Tamper, truncation, plaintext scan, crash and concurrency: verify names every problem."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guanai.archive.store import Archive
from guanai.archive.verify import ENCODINGS, category, verify_archive
from guanai.base.errors import BusyError, IntegrityError
from guanai.care.model import parse_child
from guanai.care.synth import synth_children

DISTINCT = {
    "姓名": "欧阳翠花",
    "身份证号": "34132220130505104X",
    "学籍号": "G34132220130505104X",
    "困境情形": ["艾滋病病毒感染"],
}


def _distinct_child():  # type: ignore[no-untyped-def]
    base = synth_children(1, seed=42)[0].to_json_dict()
    base.update(DISTINCT)
    base.pop("出生日期", None)
    return parse_child(base, "test")


def _populated(make_archive, n_docs: int = 3) -> tuple[Path, str, str, list[str]]:  # type: ignore[no-untyped-def]
    path, pw = make_archive()
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        cid = arc.add_child(_distinct_child())
        for c in synth_children(3, seed=1):
            arc.add_child(c)
        docs = [arc.put_document(kind="attachment", title=f"欧阳翠花 证明{i}", content=b"%PDF-1.4 " + os.urandom(64),
                                 filename=f"证明{i}.pdf", mime="application/pdf", child_id=cid,
                                 text="欧阳翠花 艾滋病病毒感染 随访") for i in range(n_docs)]
    return path, pw, cid, docs


def _verify(path: Path, pw: str):  # type: ignore[no-untyped-def]
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        return verify_archive(arc)


def _tamper_conn(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path / "catalog.sqlite")
    conn.create_function("guanai_row", -1, lambda *a: None)  # an attacker defines the triggers' function
    return conn


def _sql(path: Path, sql: str, args: tuple = ()) -> None:  # type: ignore[type-arg]
    conn = _tamper_conn(path)
    conn.execute(sql, args)
    conn.commit()
    conn.close()


def test_clean_archive_verifies(make_archive) -> None:
    path, pw, _, docs = _populated(make_archive)
    rep = _verify(path, pw)
    assert rep.ok, rep.problems
    assert rep.counts["children"] == 4 and rep.counts["documents"] == len(docs)
    assert rep.counts["scanned_values"] > 10


def test_no_plaintext_anywhere_in_three_encodings(make_archive) -> None:
    path, _, _, _ = _populated(make_archive)
    needles = ["欧阳翠花", "34132220130505104X", "G34132220130505104X", "艾滋病病毒感染", "艾滋病"]
    for f in path.rglob("*"):
        if not f.is_file():
            continue
        data = f.read_bytes()
        for n in needles:
            for enc in ENCODINGS:
                assert n.encode(enc) not in data, f"{n} in {enc} found in {f.name}"


def test_verify_detects_planted_plaintext(make_archive) -> None:
    path, pw, _, _ = _populated(make_archive)
    (path / "index").mkdir(exist_ok=True)
    (path / "index" / "leak.bin").write_bytes(b"xx" + "欧阳翠花".encode("gb18030") + b"yy")
    rep = _verify(path, pw)
    msgs = [(category(p), p.where, p.what) for p in rep.problems]
    assert any(c == "安全性" and "leak.bin" in o and "gb18030" in m for c, o, m in msgs), msgs
    assert all("欧阳翠花" not in m for _, _, m in msgs)  # the report masks the value


@pytest.mark.parametrize("target", ["children.record", "documents.meta", "content.data", "content.text",
                                    "settings.value"])
def test_flipped_byte_in_sealed_value_is_named(make_archive, target: str) -> None:
    path, pw, cid, docs = _populated(make_archive)
    table, column = target.split(".")
    key = {"children": "id", "documents": "id", "content": "doc_id", "settings": "name"}[table]
    row = {"children": cid, "documents": docs[1], "content": docs[1], "settings": "audit_head"}[table]
    conn = _tamper_conn(path)
    blob = bytearray(conn.execute(f"SELECT {column} FROM {table} WHERE {key}=?", (row,)).fetchone()[0])
    blob[len(blob) // 2] ^= 0x01
    conn.execute(f"UPDATE {table} SET {column}=? WHERE {key}=?", (bytes(blob), row))
    conn.commit()
    conn.close()
    rep = _verify(path, pw)
    assert not rep.ok
    text = " ".join(f"{p.where} {p.what}" for p in rep.problems)
    assert row in text or "链头" in text, text


def test_sealed_value_moved_to_another_row_fails(make_archive) -> None:
    path, pw, _, docs = _populated(make_archive)
    conn = _tamper_conn(path)
    blob = conn.execute("SELECT data FROM content WHERE doc_id=?", (docs[0],)).fetchone()[0]
    conn.execute("UPDATE content SET data=? WHERE doc_id=?", (blob, docs[2]))
    conn.commit()
    conn.close()
    rep = _verify(path, pw)
    assert any(docs[2] in p.where and "内容无法打开" in p.what for p in rep.problems), rep.problems
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        with pytest.raises(IntegrityError, match=docs[2]):
            arc.read_document(docs[2])


def test_edited_audit_entry_detected(make_archive) -> None:
    path, pw, _, _ = _populated(make_archive)
    _sql(path, "UPDATE audit SET action='doc.nothing' WHERE seq=3")
    rep = _verify(path, pw)
    assert any(category(p) == "真实性" and "第 3 条" in p.what for p in rep.problems), rep.problems


def test_deleted_middle_audit_entry_detected(make_archive) -> None:
    path, pw, _, _ = _populated(make_archive)
    _sql(path, "DELETE FROM audit WHERE seq=2")
    rep = _verify(path, pw)
    assert any("序号不连续" in p.what or "链接断开" in p.what for p in rep.problems), rep.problems


def test_deleted_newest_audit_entries_detected_by_chain_head(make_archive) -> None:
    path, pw, _, _ = _populated(make_archive)
    conn = _tamper_conn(path)
    last = conn.execute("SELECT max(seq) FROM audit").fetchone()[0]
    conn.execute("DELETE FROM audit WHERE seq >= ?", (last - 1,))
    conn.commit()
    conn.close()
    rep = _verify(path, pw)
    assert any("链头" in p.what for p in rep.problems), rep.problems


def test_deleted_document_row_detected(make_archive) -> None:
    path, pw, _, docs = _populated(make_archive)
    _sql(path, "PRAGMA foreign_keys=OFF")
    conn = _tamper_conn(path)
    conn.execute("DELETE FROM documents WHERE id=?", (docs[0],))
    conn.commit()
    conn.close()
    rep = _verify(path, pw)
    assert any(docs[0] in p.where and "没有对应" in p.what for p in rep.problems), rep.problems


def test_truncated_catalog_refused_or_reported(make_archive) -> None:
    path, pw, _, _ = _populated(make_archive, n_docs=20)
    db = path / "catalog.sqlite"
    # fold the WAL in first so truncation hits real pages
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.truncate(size // 2)
    try:
        rep = _verify(path, pw)
    except IntegrityError as err:
        assert "catalog.sqlite" in err.message or "无法" in err.message
    else:
        assert not rep.ok
        assert any("catalog.sqlite" in p.where or "无法" in p.what for p in rep.problems), rep.problems


def test_truncated_key_file_is_clear_error(make_archive) -> None:
    path, pw = make_archive()
    kf = path / "keys" / "admin.json"
    kf.write_bytes(kf.read_bytes()[:40])
    with pytest.raises(IntegrityError, match="密钥文件"):
        Archive.open(path, user="admin", passphrase=pw)


WRITER = textwrap.dedent("""
    import os, sys
    from guanai.archive.store import Archive
    arc = Archive.open(sys.argv[1], user="admin", passphrase=sys.argv[2])
    i = 0
    while True:
        did = arc.put_document(kind="attachment", title=f"t{i}", content=os.urandom(2000) * (1 + i % 50),
                               filename=f"f{i}.bin", mime="application/octet-stream", text=f"text {i}")
        print(did, flush=True)
        i += 1
""")


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_committed(make_archive) -> None:
    path, pw = make_archive()
    rng = random.Random(1234)
    committed: list[str] = []
    env = dict(os.environ)
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), pw], stdout=subprocess.PIPE, env=env,
                                text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()  # the writer is past start-up and committing
        time.sleep(rng.random() * 0.6)  # then kill it at a random point of its write loop
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        committed += [line.strip() for line in [first, *out.splitlines()] if len(line.strip()) == 32]
    assert len(committed) > 12
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        ids = {d.id for d in arc.list_documents()}
        assert set(committed) <= ids
        rep = verify_archive(arc)
    assert rep.ok, rep.problems
    assert not [p for p in path.iterdir() if p.name.endswith(".tmp")]


HOLDER = textwrap.dedent("""
    import sys, time
    from guanai.archive.store import Archive
    arc = Archive.open(sys.argv[1], user="admin", passphrase=sys.argv[2])
    with arc.transaction():
        arc.put_document(kind="attachment", title="held", content=b"x", filename="x.bin", mime="a/b")
        print("holding", flush=True)
        sys.stdin.readline()  # hold the writer lock until the test says so (no fixed sleep)
    print("done", flush=True)
""")


def test_second_writer_gets_busy_and_readers_still_work(make_archive, monkeypatch: pytest.MonkeyPatch) -> None:
    path, pw = make_archive()
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        arc.add_child(synth_children(1, seed=2)[0])
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), pw], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "holding"
        monkeypatch.setenv("GUANAI_LOCK_TIMEOUT", "0.5")
        with Archive.open(path, user="admin", passphrase=pw) as arc:
            assert len(arc.list_children()) == 1  # reader works during the write
            t = time.monotonic()
            with pytest.raises(BusyError, match="档案库忙"):
                arc.put_document(kind="attachment", title="t", content=b"y", filename="y.bin", mime="a/b")
            assert time.monotonic() - t < 3
    finally:
        assert proc.stdin is not None
        proc.stdin.write("release\n")
        proc.stdin.close()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        assert [d.title for d in arc.list_documents()] == ["held"]


def test_backup_restore_roundtrip_and_tamper(make_archive, tmp_path: Path) -> None:
    import tarfile

    from guanai.archive.backup import backup, restore
    from guanai.base.errors import IntegrityError as IE
    from guanai.base.errors import StateError

    path, pw, cid, docs = _populated(make_archive)
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        bak = tmp_path / "b.gab"
        manifest = backup(arc, bak)
        with pytest.raises(StateError):
            backup(arc, bak)
        originals = {d: arc.read_document(d, audit=False) for d in docs}
    assert set(manifest["files"]) >= {"archive.json", "catalog.sqlite", "keys/admin.json"}
    info = restore(bak, tmp_path / "restored")
    assert info.school_code == "3413220001"
    with Archive.open(tmp_path / "restored", user="admin", passphrase=pw) as arc:
        assert {d: arc.read_document(d, audit=False) for d in docs} == originals
        assert arc.get_child(cid).record.name == "欧阳翠花"
        assert verify_archive(arc).ok
    with pytest.raises(StateError):
        restore(bak, tmp_path / "restored")
    # a tampered member and a path-traversal member are refused, nothing left behind
    evil = tmp_path / "evil.gab"
    with tarfile.open(bak) as src, tarfile.open(evil, "w") as dst:
        for m in src:
            f = src.extractfile(m)
            assert f is not None
            data = f.read()
            if m.name == "catalog.sqlite":
                data = data[:-100] + bytes(100)
            m.size = len(data)
            import io

            dst.addfile(m, io.BytesIO(data))
    with pytest.raises(IE, match="校验值不符"):
        restore(evil, tmp_path / "r2")
    trav = tmp_path / "trav.gab"
    with tarfile.open(trav, "w") as dst:
        import io

        ti = tarfile.TarInfo("../../etc/x")
        ti.size = 1
        dst.addfile(ti, io.BytesIO(b"x"))
    with pytest.raises(IE, match="不允许"):
        restore(trav, tmp_path / "r3")
    assert not (tmp_path / "r2").exists() and not (tmp_path / "r3").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert json.loads((path / "archive.json").read_text())["version"] == 2


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(st.tuples(st.text(min_size=1, max_size=30).filter(lambda s: s.strip() and s.isprintable()),
                               st.binary(max_size=3000)), min_size=1, max_size=5))
def test_backup_restore_roundtrip_property(tmp_path_factory: pytest.TempPathFactory, docs) -> None:  # type: ignore[no-untyped-def]
    from guanai.archive.backup import backup, restore
    from guanai.archive.store import init_archive

    base = tmp_path_factory.mktemp("bp")
    pw = "property-pass-1"
    init_archive(base / "a", school_code="3413220001", school_name="校", passphrase=pw)
    with Archive.open(base / "a", user="admin", passphrase=pw) as arc:
        ids = [arc.put_document(kind="attachment", title=t, content=c, filename="f.bin", mime="a/b") for t, c in docs]
        backup(arc, base / "b.gab")
    restore(base / "b.gab", base / "r")
    with Archive.open(base / "r", user="admin", passphrase=pw) as arc:
        got = [(arc.get_document(i).title, arc.read_document(i, audit=False)) for i in ids]
    assert got == [(t.strip(), c) for t, c in docs]


def test_backup_while_another_process_writes_is_consistent(make_archive, tmp_path: Path) -> None:
    from guanai.archive.backup import backup, restore

    path, pw = make_archive()
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), pw], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdout is not None
        for _ in range(3):
            proc.stdout.readline()  # the writer is running
        with Archive.open(path, user="admin", passphrase=pw) as arc:
            for i in range(2):
                backup(arc, tmp_path / f"live{i}.gab")
    finally:
        proc.kill()
        proc.communicate()
    for i in range(2):
        restore(tmp_path / f"live{i}.gab", tmp_path / f"r{i}")
        with Archive.open(tmp_path / f"r{i}", user="admin", passphrase=pw) as arc:
            rep = verify_archive(arc)
            assert rep.ok, rep.problems
            assert rep.counts["documents"] >= 3


def test_backup_keeps_the_readers_audit_entries_not_yet_chained(make_archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Reads by a reader go to journal.sqlite until the next write chains them: a backup made
    before that write carries them (no record of who read what is lost by restoring)."""
    from guanai.archive.audit import read_journal, walk_all
    from guanai.archive.backup import backup, restore

    path, pw, _cid, docs = _populated(make_archive)
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        arc.add_user("督查员", "inspector", "inspector-pass-1")
    with Archive.open(path, user="督查员", passphrase="inspector-pass-1") as arc:  # cannot write: journalled
        arc.read_document(docs[0])
        pending, bad = read_journal(arc)
        assert bad == [] and any(e.action.startswith("doc.") for e in pending)
        manifest = backup(arc, tmp_path / "b.gab")
    assert "journal.sqlite" in manifest["files"]
    restore(tmp_path / "b.gab", tmp_path / "restored")
    with Archive.open(tmp_path / "restored", user="admin", passphrase=pw) as arc:  # a writer chains them
        chained, bad = walk_all(arc)
        assert bad == []
        restored = [(e.actor, e.action, e.target) for e in chained]
        assert all((e.actor, e.action, e.target) in restored for e in pending), (pending, restored[-5:])
        assert verify_archive(arc).ok
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
