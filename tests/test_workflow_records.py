"""The sealed workflow-records table: round trip, tampering, old archives, permissions, audit."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from workflow_helpers import school

from guanai.archive.store import Archive
from guanai.base.errors import (
    InputError,
    IntegrityError,
    NotFoundError,
    PermissionDenied,
)

SECRET = "劝返记录-机密内容-王小刚"


def _raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path / "catalog.sqlite")
    conn.create_function("guanai_row", -1, lambda *a: None)  # an attacker satisfies the triggers
    return conn


def _arc(make_archive: Callable[..., tuple[Path, str]]) -> tuple[Path, str, Archive]:
    path, pw = make_archive()
    return path, pw, Archive.open(path, user="admin", passphrase=pw)


def test_round_trip_update_and_audit(make_archive: Callable[..., tuple[Path, str]]) -> None:
    path, pw, arc = _arc(make_archive)
    with arc:
        cid = arc.add_child(school()["A"])
        rid = arc.put_record("absence-case", {"since": "2026-10-08", "note": SECRET}, child_id=cid)
        r = arc.get_record(rid)
        assert (r.kind, r.child_id, r.data["note"]) == ("absence-case", cid, SECRET)
        arc.update_record(rid, {**r.data, "returned": "2026-10-20"}, action="close")
        assert arc.get_record(rid).data["returned"] == "2026-10-20"
        assert [x.id for x in arc.list_records(kind="absence-case", child_id=cid)] == [rid]
        assert arc.list_records(kind="teacher") == []
        actions = [a for (a,) in arc.conn.execute("SELECT action FROM audit ORDER BY seq")]
        assert actions[-2:] == ["record.put", "record.close"]
    raw = (path / "catalog.sqlite").read_bytes()
    assert SECRET.encode() not in raw and "王小刚".encode() not in raw


@pytest.mark.parametrize("column,value", [("kind", "teacher"), ("child_id", None), ("id", "0" * 32)])
def test_a_row_relabelled_or_moved_does_not_open(make_archive: Callable[..., tuple[Path, str]], column: str,
                                                 value: str | None) -> None:
    path, pw, arc = _arc(make_archive)
    with arc:
        cid = arc.add_child(school()["A"])
        rid = arc.put_record("absence-case", {"since": "2026-10-08"}, child_id=cid)
    conn = _raw(path)
    conn.execute(f"UPDATE records SET {column}=? WHERE id=?", (value, rid))
    conn.commit()
    conn.close()
    with Archive.open(path, user="admin", passphrase=pw) as arc, pytest.raises(IntegrityError):
        arc.list_records()


def test_swapped_and_truncated_payloads_fail(make_archive: Callable[..., tuple[Path, str]]) -> None:
    path, pw, arc = _arc(make_archive)
    with arc:
        a = arc.put_record("duty", {"kind": "家长会", "on": "2026-09-20"})
        b = arc.put_record("duty", {"kind": "家长学校", "on": "2026-10-01"})
    conn = _raw(path)
    blob_a = conn.execute("SELECT sealed FROM records WHERE id=?", (a,)).fetchone()[0]
    conn.execute("UPDATE records SET sealed=? WHERE id=?", (blob_a, b))
    conn.commit()
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        assert arc.get_record(a).data["kind"] == "家长会"
        with pytest.raises(IntegrityError):
            arc.get_record(b)
    conn.execute("UPDATE records SET sealed=? WHERE id=?", (blob_a[:-5], a))
    conn.commit()
    conn.close()
    with Archive.open(path, user="admin", passphrase=pw) as arc, pytest.raises(IntegrityError):
        arc.get_record(a)


def test_a_catalog_without_the_table_reads_no_records_and_gains_it_at_a_writers_open(
        make_archive: Callable[..., tuple[Path, str]]) -> None:
    path, pw, arc = _arc(make_archive)
    arc.close()
    conn = _raw(path)
    conn.execute("DROP TABLE records")  # as in a catalog made before the table existed
    conn.commit()
    conn.close()
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        arc.add_user("dudao", "inspector", pw)
    conn = _raw(path)
    conn.execute("DROP TABLE records")  # again: the user was added (a write) since
    conn.commit()
    conn.close()
    with Archive.open(path, user="dudao", passphrase=pw) as arc:  # a reader: no table, no records
        assert arc.list_records() == []
        with pytest.raises(NotFoundError):
            arc.get_record("0" * 32)
    # a writer's open adds the registered table (AuthTable.ddl, FORMAT.md §6.2): no upgrade needed
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        rid = arc.put_record("teacher", {"name": "王丽"})
        assert [r.id for r in arc.list_records()] == [rid]


def test_bad_input_and_permissions(make_archive: Callable[..., tuple[Path, str]]) -> None:
    path, pw, arc = _arc(make_archive)
    with arc:
        with pytest.raises(InputError):
            arc.put_record("../etc", {})
        with pytest.raises(InputError, match="记录过大"):
            arc.put_record("duty", {"note": "x" * (1024 * 1024 + 1)})
        with pytest.raises(NotFoundError):
            arc.put_record("contact", {}, child_id="f" * 32)
        with pytest.raises(NotFoundError):
            arc.get_record("'; DROP TABLE records; --")
        arc.add_user("insp", "inspector", "inspector-pass")
        rid = arc.put_record("duty", {"kind": "家长会"})
    with Archive.open(path, user="insp", passphrase="inspector-pass") as insp:
        assert insp.get_record(rid).data["kind"] == "家长会"
        with pytest.raises(PermissionDenied):
            insp.put_record("duty", {})
        with pytest.raises(PermissionDenied):
            insp.update_record(rid, {})


def test_verify_reports_a_tampered_record(make_archive: Callable[..., tuple[Path, str]]) -> None:
    from guanai.archive.verify import verify_archive

    path, pw, arc = _arc(make_archive)
    with arc:
        cid = arc.add_child(school()["A"])
        rid = arc.put_record("contact", {"on": "2026-09-28", "with": "外出父母", "how": "电话"}, child_id=cid)
        assert verify_archive(arc).counts["records"] == 1
        assert not [p for p in verify_archive(arc).problems if "工作记录" in str(p)]
    conn = _raw(path)
    conn.execute("UPDATE records SET kind='duty' WHERE id=?", (rid,))
    conn.commit()
    conn.close()
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        problems = [str(p) for p in verify_archive(arc).problems]
    assert any("工作记录" in p and rid in p for p in problems), problems


def test_settings_are_checked_and_sealed(make_archive: Callable[..., tuple[Path, str]]) -> None:
    from guanai.archive import workflow as awf

    path, pw, arc = _arc(make_archive)
    with arc:
        assert awf.get_settings(arc).home_visit_days == 7
        with pytest.raises(InputError, match="家访期限"):
            awf.set_settings(arc, home_visit_days="七")
        with pytest.raises(InputError, match="心理健康辅导教师"):
            awf.set_settings(arc, psych_teacher="陈\x00静")
        with pytest.raises(InputError, match="未知设置"):
            awf.set_settings(arc, colour="red")
        assert awf.set_settings(arc, home_visit_days="5", psych_teacher="陈静老师").home_visit_days == 5
    raw = (path / "catalog.sqlite").read_bytes()
    assert "陈静老师".encode() not in raw
