"""Format v2: a table-driven offline-tamper suite, role tests, rollback (FORMAT.md §4, §6.2–6.4).

Each case edits a copy of one populated archive the way an attacker with `sqlite3` and a text
editor would, then `verify` must report it and name the row (children and documents by name
or title). The attacker defines the triggers' SQL function as a no-op, so triggers do not stop them.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from guanai.archive import crypto, keys
from guanai.archive.store import AUTH_TABLES, Archive, init_archive
from guanai.archive.verify import verify_archive
from guanai.base.errors import AuthError, IntegrityError, PermissionDenied
from guanai.care.synth import synth_children

PW = "v2-tamper-口令-2026"


@dataclass
class Base:
    path: Path
    child: str  # 欧阳 child id (with documents)
    other: str  # a second child
    child_name: str
    other_name: str
    docs: list[str]
    doc_title: str


def _conn(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path / "catalog.sqlite", isolation_level=None)
    conn.create_function("guanai_row", -1, lambda *a: None)
    return conn


def _sql(path: Path, *stmts: str | tuple[str, tuple[object, ...]]) -> None:
    conn = _conn(path)
    try:
        for st in stmts:
            if isinstance(st, tuple):
                conn.execute(st[0], st[1])
            else:
                conn.execute(st)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("v2base")
    path = root / "a"
    init_archive(path, school_code="3413220001", school_name="萧县龙城镇中心小学", passphrase=PW)
    kids = synth_children(3, seed=11)
    with Archive.open(path, user="admin", passphrase=PW) as arc:
        arc.add_user("dudao", "inspector", PW)
        arc.add_user("wenshu", "secretary", PW)
        ids = [arc.add_child(k) for k in kids]
        docs = [arc.put_document(kind="attachment", title=f"困难证明{i}", content=b"%PDF-1.4 " + bytes([i]) * 50,
                                 filename=f"证明{i}.pdf", mime="application/pdf", child_id=ids[0], text="证明",
                                 form={"i": i}) for i in range(3)]
        arc.set_setting("transfer.outgoing", b'{"p1": {"state": "sent"}}')
        arc.update_child(ids[1], kids[1].model_copy(update={"grade": "六年级"}))
        arc.delete_document(docs[2], "测试删除")
        arc.read_document(docs[0])
        arc.put_record("screening", {"结果": "正常"}, child_id=ids[0])  # the workflow's table
    return Base(path, ids[0], ids[1], kids[0].name, kids[1].name, docs[:2], "困难证明0")


@pytest.fixture
def arc_copy(base: Base, tmp_path: Path) -> Path:
    dest = tmp_path / "copy"
    shutil.copytree(base.path, dest)
    return dest


def _problems(path: Path, user: str = "admin") -> list[str]:
    with Archive.open(path, user=user, passphrase=PW) as arc:
        rep = verify_archive(arc)
    return [f"{p.where}：{p.what}" for p in rep.problems]


def test_clean_v2_archive_verifies(arc_copy: Path) -> None:
    assert _problems(arc_copy) == []
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        assert arc.info.format_version == 2 and arc.open_problems == []
        body, problem = arc.read_state()
        assert problem is None and body is not None
        assert set(body["tables"]) == set(AUTH_TABLES)


def test_every_table_and_column_is_registered(arc_copy: Path) -> None:
    """The registry covers every catalog table except the three that hold the authentication itself."""
    conn = sqlite3.connect(arc_copy / "catalog.sqlite")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for t in AUTH_TABLES.values():
        assert tuple(r[1] for r in conn.execute(f"PRAGMA table_info({t.name})")) == t.columns
    conn.close()
    assert tables - set(AUTH_TABLES) == {"rowmac", "accum", "state"}


# ---- edits of every clear column --------------------------------------------------------------
def _edit_cases() -> list[tuple[str, str, str, str]]:
    """(table, column, SQL SET expression, expected name) for every clear column."""
    return [
        ("children", "status", "status='毕业'", "CHILD"),
        ("children", "school_code", "school_code='9999999999'", "CHILD"),
        ("children", "created_at", "created_at='2020-01-01T00:00:00+00:00'", "CHILD"),
        ("children", "updated_at", "updated_at='2020-01-01T00:00:00+00:00'", "CHILD"),
        ("children", "gen", "gen=gen+100", "CHILD"),
        ("documents", "child_id", "child_id=OTHER", "DOC"),
        ("documents", "kind", "kind='circular'", "DOC"),
        ("documents", "created_at", "created_at='2020-01-01T00:00:00+00:00'", "DOC"),
        ("documents", "gen", "gen=gen+100", "DOC"),
        ("documents", "size", "size=size+1", "DOC"),
        ("blind", "child_id", "child_id=OTHER", "检索索引项"),
        ("content", "form", "form=NULL", "DOC"),
        ("audit", "action", "action='doc.show'", "审计日志第"),
        ("audit", "target", "target=NULL", "审计日志第"),
        ("audit", "at", "at='2020-01-01T00:00:00+00:00'", "审计日志第"),
        ("audit", "gen", "gen=gen+1", "审计日志第"),
        ("tombstones", "gen", "gen=gen+1", "删除记录"),
        ("tombstones", "at", "at='2020-01-01T00:00:00+00:00'", "删除记录"),
        ("meta", "value", "value=value||'0'", "目录元数据"),
    ]


def _where(table: str, base: Base) -> str:
    return {"children": f"id='{base.child}'", "documents": f"id='{base.docs[0]}'",
            "blind": f"child_id='{base.child}'", "content": f"doc_id='{base.docs[0]}'",
            "audit": "seq=(SELECT max(seq) FROM audit WHERE action='child.add')", "tombstones": "1",
            "meta": "key='generation'"}[table]


@pytest.mark.parametrize(("table", "column", "expr", "name"), _edit_cases(), ids=[f"{c[0]}.{c[1]}" for c in _edit_cases()])
def test_edit_of_clear_column_is_reported_and_named(base: Base, arc_copy: Path, table: str, column: str,
                                                    expr: str, name: str) -> None:
    expr = expr.replace("OTHER", f"'{base.other}'").split(" WHERE ")[0]
    _sql(arc_copy, f"UPDATE {table} SET {expr} WHERE {_where(table, base)}")
    problems = _problems(arc_copy) if table != "meta" else _open_problems(arc_copy)
    want = {"CHILD": base.child_name, "DOC": base.doc_title}.get(name, name)
    assert any(want in p for p in problems), problems


def _open_problems(path: Path) -> list[str]:
    with Archive.open(path, user="admin", passphrase=PW) as arc:
        probs = list(arc.open_problems)
        probs += [f"{p.where}：{p.what}" for p in verify_archive(arc).problems]
    return probs


# ---- delete / duplicate / move / roll back rows ------------------------------------------------
def test_deleted_child_row_is_named_from_the_audit_chain(base: Base, arc_copy: Path) -> None:
    _sql(arc_copy, f"DELETE FROM blind WHERE child_id='{base.other}'", f"DELETE FROM children WHERE id='{base.other}'")
    problems = _problems(arc_copy)
    assert any(base.other_name in p and "删除" in p for p in problems), problems
    assert any(p.startswith("children 表") and "行集合" in p for p in problems), problems


def test_deleted_document_row_and_content_is_named_by_title(base: Base, arc_copy: Path) -> None:
    _sql(arc_copy, f"DELETE FROM content WHERE doc_id='{base.docs[1]}'", f"DELETE FROM documents WHERE id='{base.docs[1]}'")
    problems = _problems(arc_copy)
    assert any("困难证明1" in p and "删除" in p for p in problems), problems


def test_duplicated_document_row_is_reported(base: Base, arc_copy: Path) -> None:
    _sql(arc_copy, f"INSERT INTO documents SELECT 'ab'||substr(id,3), child_id, kind, created_at, gen, size, meta "
                   f"FROM documents WHERE id='{base.docs[0]}'")
    problems = _problems(arc_copy)
    assert any("行没有校验记录" in p for p in problems), problems
    assert any(p.startswith("documents 表") for p in problems), problems


def test_duplicated_row_with_copied_rowmac_still_breaks_the_set(base: Base, arc_copy: Path) -> None:
    """Copying a settings row under a new name with a forged MAC entry: the row MAC names it."""
    _sql(arc_copy, "INSERT INTO settings SELECT 'transfer.copy', value FROM settings WHERE name='transfer.outgoing'",
         "INSERT INTO rowmac SELECT tbl, 'transfer.copy', mac FROM rowmac WHERE tbl='settings' AND pk='transfer.outgoing'")
    problems = _problems(arc_copy)
    assert any("设置 transfer.copy" in p for p in problems), problems


def test_document_moved_to_another_child_is_named(base: Base, arc_copy: Path) -> None:
    _sql(arc_copy, f"UPDATE documents SET child_id='{base.other}' WHERE id='{base.docs[0]}'")
    problems = _problems(arc_copy)
    assert any(base.doc_title in p and "校验码不符" in p for p in problems), problems


def _snapshot_rows(path: Path, table: str, where: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path / "catalog.sqlite")
    try:
        return conn.execute(f"SELECT * FROM {table} WHERE {where}").fetchall()
    finally:
        conn.close()


def _put_back(path: Path, table: str, where: str, rows: list[tuple[object, ...]], with_macs: bool = True) -> None:
    """Restore old rows (and, for a thorough attacker, their old rowmac entries)."""
    conn = _conn(path)
    try:
        conn.execute(f"DELETE FROM {table} WHERE {where}")
        for r in rows:
            conn.execute(f"INSERT INTO {table} VALUES({','.join('?' * len(r))})", r)
    finally:
        conn.close()


def test_child_row_rolled_back_to_older_version_is_named(base: Base, arc_copy: Path) -> None:
    where = f"id='{base.child}'"
    old = _snapshot_rows(arc_copy, "children", where)
    old_mac = _snapshot_rows(arc_copy, "rowmac", f"tbl='children' AND pk='{base.child}'")
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        e = arc.get_child(base.child)
        arc.update_child(base.child, e.record.model_copy(update={"grade": "五年级"}))
    _put_back(arc_copy, "children", where, old)
    _put_back(arc_copy, "rowmac", f"tbl='children' AND pk='{base.child}'", old_mac)
    problems = _problems(arc_copy)
    assert any(base.child_name in p and "回滚" in p for p in problems), problems
    assert any(p.startswith("children 表") and "行集合" in p for p in problems), problems


def test_settings_row_replayed_is_reported(base: Base, arc_copy: Path) -> None:
    where = "name='transfer.outgoing'"
    old = _snapshot_rows(arc_copy, "settings", where)
    old_mac = _snapshot_rows(arc_copy, "rowmac", "tbl='settings' AND pk='transfer.outgoing'")
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        arc.set_setting("transfer.outgoing", b'{"p1": {"state": "accepted"}}')
    _put_back(arc_copy, "settings", where, old)
    _put_back(arc_copy, "rowmac", "tbl='settings' AND pk='transfer.outgoing'", old_mac)
    problems = _problems(arc_copy)
    assert any(p.startswith("settings 表") and "回滚" in p for p in problems), problems


def test_audit_tail_deleted_with_its_head_is_reported(base: Base, arc_copy: Path) -> None:
    old_head = _snapshot_rows(arc_copy, "settings", "name='audit_head'")
    old_head_mac = _snapshot_rows(arc_copy, "rowmac", "tbl='settings' AND pk='audit_head'")
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        arc.audit("doc.read", base.docs[0], None)
        arc.audit("doc.export", base.docs[0], {"path": "/media/u"})
    # cut the two newest entries and put the old head back: a consistent-looking chain
    conn = _conn(arc_copy)
    top = conn.execute("SELECT max(seq) FROM audit").fetchone()[0]
    conn.execute("DELETE FROM audit WHERE seq > ?", (top - 2,))
    conn.execute("DELETE FROM rowmac WHERE tbl='audit' AND CAST(pk AS INTEGER) > ?", (top - 2,))
    conn.close()
    _put_back(arc_copy, "settings", "name='audit_head'", old_head)
    _put_back(arc_copy, "rowmac", "tbl='settings' AND pk='audit_head'", old_head_mac)
    problems = _problems(arc_copy)
    assert any("审计日志" in p and "签名状态" in p for p in problems), problems
    assert any(p.startswith("audit 表") for p in problems), problems


def test_state_row_edited_is_refused_for_writes(arc_copy: Path) -> None:
    conn = _conn(arc_copy)
    body = json.loads(conn.execute("SELECT body FROM state").fetchone()[0])
    body["tables"]["children"]["rows"] += 1
    conn.execute("UPDATE state SET body=?", (json.dumps(body, sort_keys=True, separators=(",", ":")),))
    conn.close()
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        assert any("签名" in p for p in arc.open_problems)
        with pytest.raises(IntegrityError, match="拒绝写入"):
            arc.set_setting("x", b"1")
    with pytest.raises(IntegrityError, match="拒绝写入"):
        Archive.open(arc_copy, user="admin", passphrase=PW, write=True)


def test_trigger_dropped_is_reported(arc_copy: Path) -> None:
    _sql(arc_copy, "DROP TRIGGER auth_documents_del")
    assert any("触发器 auth_documents_del" in p for p in _problems(arc_copy))


# ---- whole-directory rollback, archive.json ----------------------------------------------------
def test_directory_rolled_back_to_older_copy_is_reported(base: Base, arc_copy: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(arc_copy, old)
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        arc.put_document(kind="note", title="新文档", content=b"x", filename="n.txt", mime="text/plain")
    shutil.rmtree(arc_copy)
    shutil.copytree(old, arc_copy)
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        assert any("回滚" in p for p in arc.open_problems)
        with pytest.raises(IntegrityError):
            arc.put_document(kind="note", title="再写", content=b"y", filename="m.txt", mime="text/plain")
    assert any("档案库目录" in p and "回滚" in p for p in _problems(arc_copy))


def test_catalog_file_replaced_by_older_copy_is_reported(arc_copy: Path, tmp_path: Path) -> None:
    """As when a crash loses the WAL: the catalog goes back, the heads file does not."""
    with Archive.open(arc_copy, user="admin", passphrase=PW):
        pass
    shutil.copy2(arc_copy / "catalog.sqlite", tmp_path / "old.sqlite")
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        arc.set_setting("x", b"1")
    for suffix in ("-wal", "-shm"):
        (arc_copy / f"catalog.sqlite{suffix}").unlink(missing_ok=True)
    shutil.copy2(tmp_path / "old.sqlite", arc_copy / "catalog.sqlite")
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        assert any("回滚" in p for p in arc.open_problems)


def test_archive_json_edited_is_reported(arc_copy: Path) -> None:
    info = json.loads((arc_copy / "archive.json").read_text())
    info["school_name"] = "别的学校"
    (arc_copy / "archive.json").write_text(json.dumps(info, ensure_ascii=False))
    assert any(p.startswith("archive.json") for p in _open_problems(arc_copy))


# ---- key files and the user registry -------------------------------------------------------
def test_removed_users_copied_back_key_file_is_refused_and_reported(arc_copy: Path) -> None:
    saved = (arc_copy / "keys" / "dudao.json").read_bytes()
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        arc.remove_user("dudao")
    (arc_copy / "keys" / "dudao.json").write_bytes(saved)
    with pytest.raises(AuthError, match="未在用户登记表"):
        Archive.open(arc_copy, user="dudao", passphrase=PW)
    assert any("keys/dudao.json" in p and "登记表" in p for p in _problems(arc_copy))


def test_key_file_role_edited_is_reported(arc_copy: Path) -> None:
    p = arc_copy / "keys" / "dudao.json"
    d = json.loads(p.read_text())
    d["role"] = "admin"
    p.write_text(json.dumps(d))
    with pytest.raises((AuthError, IntegrityError)):
        Archive.open(arc_copy, user="dudao", passphrase=PW)
    assert any("keys/dudao.json" in p for p in _problems(arc_copy))


def test_key_file_deleted_is_reported(arc_copy: Path) -> None:
    (arc_copy / "keys" / "wenshu.json").unlink()
    assert any("用户 wenshu" in p and "缺少密钥文件" in p for p in _problems(arc_copy))


def _grant_of(path: Path, user: str) -> tuple[keys.Grant, Archive]:
    arc = Archive.open(path, user=user, passphrase=PW)
    return arc._grant, arc


def test_inspector_hand_made_admin_key_file_is_reported(arc_copy: Path) -> None:
    """The inspector holds MK and mints an admin key file with keys of their own making."""
    g, arc = _grant_of(arc_copy, "dudao")
    info = arc.info
    arc.close()
    fake_w, fake_a = os.urandom(32), os.urandom(32)
    forged = keys.Grant(g.master, os.urandom(32), crypto.ed25519_public(fake_w), crypto.ed25519_public(fake_a),
                        fake_w, fake_a)
    keys.write_key_file(arc_copy, keys.make_key_file(info.archive_id, "boss", "admin", PW, forged))
    # the forged keys deceive only their maker: the real registry and state do not verify under them
    with Archive.open(arc_copy, user="boss", passphrase=PW) as boss:
        assert any("签名无效" in p for p in boss.open_problems)
        with pytest.raises(IntegrityError, match="拒绝写入"):
            boss.set_setting("x", b"1")
    assert any("keys/boss.json" in p and "登记表" in p for p in _problems(arc_copy))
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        assert "boss" not in dict(arc.users())  # a stray key file is no user


# ---- roles: what an inspector's or secretary's own keys can produce -------------------------
def _forger(path: Path, user: str, *, fake_writer: bool, fake_admin: bool) -> Archive:
    """An Archive driven by a user who fills in the keys their role lacks with keys of their own."""
    g, arc = _grant_of(path, user)
    info, role = arc.info, arc.role
    arc.close()
    w = os.urandom(32) if fake_writer else g.writer_seed
    a = os.urandom(32) if fake_admin else g.admin_seed
    grant = keys.Grant(g.master, g.user_seed, g.writer_pub, g.admin_pub, w, a)
    assert role in ("inspector", "secretary")
    return Archive(path, info, user, "admin", grant)


def test_inspector_cannot_write_through_the_library(arc_copy: Path) -> None:
    with Archive.open(arc_copy, user="dudao", passphrase=PW) as arc:
        assert not arc._grant.writer_seed
        with pytest.raises(PermissionDenied):
            arc.put_document(kind="note", title="t", content=b"x", filename="a.txt", mime="text/plain")
        arc.role = "admin"  # even with the permission check bypassed: no writer key, no write
        with pytest.raises(PermissionDenied):
            arc.put_document(kind="note", title="t", content=b"x", filename="a.txt", mime="text/plain")


@pytest.mark.parametrize("what", ["document", "audit", "user", "child"])
def test_inspector_keys_cannot_produce_an_accepted_state(arc_copy: Path, what: str) -> None:
    arc = _forger(arc_copy, "dudao", fake_writer=True, fake_admin=True)
    try:
        if what == "document":
            arc.put_document(kind="note", title="伪造文档", content=b"x", filename="a.txt", mime="text/plain")
        elif what == "audit":
            arc.audit("doc.read", None, None)
        elif what == "child":
            arc.add_child(synth_children(1, seed=99)[0])
        else:
            arc.add_user("fake", "admin", PW)
    finally:
        arc.close()
    problems = _problems(arc_copy)
    assert any("签名状态" in p and "签名无效" in p for p in problems), problems
    if what == "user":
        assert any("用户登记表" in p and "签名无效" in p for p in problems), problems


def test_secretary_keys_cannot_produce_a_user(arc_copy: Path) -> None:
    arc = _forger(arc_copy, "wenshu", fake_writer=False, fake_admin=True)
    try:
        arc.add_user("fake", "admin", PW)
    finally:
        arc.close()
    problems = _problems(arc_copy)
    assert any("用户登记表" in p and "签名无效" in p for p in problems), problems


def test_secretary_can_write_and_inspector_reads_are_journalled(base: Base, arc_copy: Path) -> None:
    with Archive.open(arc_copy, user="wenshu", passphrase=PW) as arc:
        arc.put_document(kind="note", title="文书写的", content=b"x", filename="a.txt", mime="text/plain")
    with Archive.open(arc_copy, user="dudao", passphrase=PW) as arc:
        arc.read_document(base.docs[0])
    from guanai.archive.audit import walk, walk_all

    with Archive.open(arc_copy, user="dudao", passphrase=PW) as arc:
        pending = [e for e in walk_all(arc)[0] if e.pending]
        assert [(e.actor, e.action) for e in pending] == [("dudao", "doc.read")]
    with Archive.open(arc_copy, user="wenshu", passphrase=PW) as arc:  # a writer's open chains it
        entries, problems = walk(arc)
        assert problems == [] and entries[-1].actor == "dudao" and entries[-1].action == "doc.read"
    assert _problems(arc_copy) == []


def test_failed_unlock_is_journalled_then_chained(arc_copy: Path) -> None:
    from guanai.archive.audit import walk

    with pytest.raises(AuthError):
        Archive.open(arc_copy, user="dudao", passphrase="wrong passphrase")
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        assert walk(arc)[0][-1].action == "auth.fail"


def test_forged_journal_entry_is_chained_as_invalid(arc_copy: Path) -> None:
    from guanai.archive.audit import journal_append, walk

    journal_append(arc_copy, "entry", "2026-11-29T00:00:00+00:00", b"\x01" * 40, "e" * 32, "0" * 64)
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        assert walk(arc)[0][-1].action == "audit.invalid"


def test_table_registry_makes_a_new_table_covered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a table = one AUTH_TABLES entry: its rows are then authenticated and verified."""
    from guanai.archive import store

    extra = store.AuthTable("extra_rows", ("id",), ("id", "kind", "child_id", "gen", "body"))
    monkeypatch.setitem(store.AUTH_TABLES, "extra_rows", extra)
    monkeypatch.setattr(store, "SCHEMA", store.SCHEMA + "CREATE TABLE extra_rows(id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                        "child_id TEXT, gen INTEGER NOT NULL, body BLOB NOT NULL);\n")
    path = tmp_path / "r"
    init_archive(path, school_code="3413220001", school_name="校", passphrase=PW)
    with Archive.open(path, user="admin", passphrase=PW) as arc, arc.transaction():
        arc.conn.execute("INSERT INTO extra_rows VALUES(?,?,?,?,?)",
                         ("r1", "screening", None, arc._gen(), arc.seal("extra_rows", "body", "r1", b"{}")))
    assert _problems(path) == []
    _sql(path, "UPDATE extra_rows SET kind='absence'")
    assert any("extra_rows 表的行 r1" in p for p in _problems(path))


def test_registered_table_added_to_an_existing_archive(arc_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table added by a later release (one AuthTable with ddl): created at the next write, then covered."""
    from guanai.archive import store

    extra = store.AuthTable("later_rows", ("id",), ("id", "kind", "body"),
                            ddl="CREATE TABLE later_rows(id TEXT PRIMARY KEY, kind TEXT NOT NULL, body BLOB NOT NULL)")
    monkeypatch.setitem(store.AUTH_TABLES, "later_rows", extra)
    with Archive.open(arc_copy, user="dudao", passphrase=PW) as arc:  # a reader creates nothing
        assert arc.conn.execute("SELECT 1 FROM sqlite_master WHERE name='later_rows'").fetchone() is None
        assert verify_archive(arc).problems == []  # not there yet: nothing to report
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:  # a writer's open adds it
        assert arc.conn.execute("SELECT 1 FROM sqlite_master WHERE name='later_rows'").fetchone() is not None
    assert _problems(arc_copy) == []
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc, arc.transaction():
        arc.conn.execute("INSERT INTO later_rows VALUES('r1', 'mentor', ?)", (arc.seal("later_rows", "body", "r1", b"{}"),))
    assert _problems(arc_copy) == []
    _sql(arc_copy, "DELETE FROM later_rows")
    problems = _problems(arc_copy)
    assert any("later_rows 表的行 r1" in p and "删除" in p for p in problems), problems
    assert any(p.startswith("later_rows 表") and "行集合" in p for p in problems), problems


def test_backup_carries_the_head_and_restore_accepts_it(arc_copy: Path, tmp_path: Path) -> None:
    import tarfile

    from guanai.archive.backup import backup, restore

    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        head = arc.head()
        backup(arc, tmp_path / "b.gab")
        arc.set_setting("x", b"newer")
    with tarfile.open(tmp_path / "b.gab") as tar:
        f = tar.extractfile("backup.json")
        assert f is not None
        manifest = json.loads(f.read())
    assert head is not None and manifest["head"]["commit"] == head["commit"]
    assert manifest["head"]["state"] == head["state"]
    restore(tmp_path / "b.gab", tmp_path / "r")  # a deliberate return to an older state
    assert _problems(tmp_path / "r") == []


@pytest.mark.parametrize("table", sorted(AUTH_TABLES))
def test_any_row_of_any_table_deleted_is_reported(arc_copy: Path, table: str) -> None:
    conn = _conn(arc_copy)
    key = AUTH_TABLES[table].key[0]
    (k,) = conn.execute(f"SELECT {key} FROM {table} ORDER BY rowid DESC LIMIT 1").fetchone()
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute(f"DELETE FROM {table} WHERE {key}=?", (k,))
    conn.close()
    problems = _open_problems(arc_copy) if table == "meta" else _problems(arc_copy)
    assert any(p.startswith(f"{table} 表") or "被删除" in p or "缺失" in p for p in problems), problems
    assert any("删除" in p for p in problems), problems


@pytest.mark.parametrize("table", sorted(AUTH_TABLES))
def test_any_row_of_any_table_duplicated_is_reported(arc_copy: Path, table: str) -> None:
    t = AUTH_TABLES[table]
    conn = _conn(arc_copy)
    cols = ", ".join(f"{c}||'d'" if c in t.key and c != "seq" else ("seq+1000" if c == "seq" else c)
                     for c in t.columns)
    conn.execute(f"INSERT INTO {table} SELECT {cols} FROM {table} ORDER BY rowid LIMIT 1")
    conn.close()
    problems = _problems(arc_copy)
    assert any("行没有校验记录" in p for p in problems), problems
    assert any(p.startswith(f"{table} 表") and "行集合" in p for p in problems), problems


def test_cli_warns_of_a_rolled_back_archive_and_refuses_writes(arc_copy: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from guanai.cli.main import cli

    old = tmp_path / "old"
    shutil.copytree(arc_copy, old)
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        arc.set_setting("x", b"newer")
    shutil.rmtree(arc_copy)
    shutil.copytree(old, arc_copy)
    monkeypatch.setenv("GUANAI_ARCHIVE", str(arc_copy))
    monkeypatch.setenv("GUANAI_PASSPHRASE", PW)
    monkeypatch.setenv("GUANAI_USER", "admin")
    runner = CliRunner()
    r = runner.invoke(cli, ["child", "list"])
    assert r.exit_code == 0 and "档案库状态异常（只读打开）" in r.output and "回滚" in r.output
    r = runner.invoke(cli, ["verify"])
    assert r.exit_code == 6 and "回滚" in r.output
    r = runner.invoke(cli, ["user", "add", "新老师", "--role", "secretary"], env={"GUANAI_NEW_PASSPHRASE": PW})
    assert r.exit_code == 6 and "拒绝写入" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("table", sorted(AUTH_TABLES))
def test_any_table_rolled_back_with_its_row_macs_is_reported(base: Base, arc_copy: Path, table: str) -> None:
    """A thorough attacker restores a whole table *and* its rowmac entries from an older copy."""
    old = _snapshot_rows(arc_copy, table, "1")
    old_macs = _snapshot_rows(arc_copy, "rowmac", f"tbl='{table}'")
    with Archive.open(arc_copy, user="admin", passphrase=PW) as arc:
        cid = arc.add_child(synth_children(1, seed=77)[0])  # children, blind, audit, settings, meta
        arc.put_document(kind="note", title="新增", content=b"x", filename="n.txt", mime="text/plain",
                         child_id=cid)  # documents, content
        arc.delete_document(base.docs[1], "测试")  # tombstones
        arc.put_record("mentor", {"导师": "王老师"}, child_id=cid)  # records
    conn = _conn(arc_copy)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute(f"DELETE FROM {table}")
    for r in old:
        conn.execute(f"INSERT INTO {table} VALUES({','.join('?' * len(r))})", r)
    conn.execute("DELETE FROM rowmac WHERE tbl=?", (table,))
    for r in old_macs:
        conn.execute("INSERT INTO rowmac VALUES(?,?,?)", r)
    conn.close()
    problems = _open_problems(arc_copy) if table == "meta" else _problems(arc_copy)
    assert any(p.startswith(f"{table} 表") and "行集合" in p for p in problems) or (
        table == "meta" and any("版本计数" in p or "计数" in p for p in problems)), problems


def test_read_that_cannot_be_audited_is_not_done(base: Base, arc_copy: Path) -> None:
    from guanai.base.errors import GuanaiError

    (arc_copy / "journal.sqlite").mkdir()  # the journal cannot be written
    with Archive.open(arc_copy, user="dudao", passphrase=PW) as arc:
        with pytest.raises(GuanaiError):
            arc.read_document(base.docs[0])
