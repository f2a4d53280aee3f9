"""The Archive library API: open/unlock, roles, children, documents, settings, change feed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guanai.archive import crypto
from guanai.archive.audit import walk
from guanai.archive.store import Archive, init_archive
from guanai.base.errors import (
    ArchiveMissing,
    AuthError,
    FormatError,
    InputError,
    IntegrityError,
    NotFoundError,
    PermissionDenied,
    StateError,
)
from guanai.care.synth import synth_children


def open_arc(path: Path, passphrase: str, user: str = "admin") -> Archive:
    return Archive.open(path, user=user, passphrase=passphrase)


def test_init_and_open(make_archive) -> None:
    path, pw = make_archive()
    info = json.loads((path / "archive.json").read_text())
    assert info["format"] == "guanai-archive" and info["version"] == 2
    with open_arc(path, pw) as arc:
        assert arc.role == "admin"
        assert arc.info.school_code == "3413220001"
        entries, problems = walk(arc)
        assert problems == []
        assert [e.action for e in entries] == ["archive.init"]


def test_init_refuses_non_empty_dir_and_bad_values(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("keep me")
    with pytest.raises(StateError, match="不为空"):
        init_archive(tmp_path / "x", school_code="3413220001", school_name="校", passphrase="口令-passphrase-10")
    assert (tmp_path / "x" / "f").read_text() == "keep me"
    with pytest.raises(InputError, match="单位代码"):
        init_archive(tmp_path / "y", school_code="../..", school_name="校", passphrase="口令-passphrase-10")
    with pytest.raises(InputError, match="口令太短"):
        init_archive(tmp_path / "y", school_code="3413220001", school_name="校", passphrase="short")
    with pytest.raises(InputError, match="加密套件"):
        init_archive(tmp_path / "y", school_code="3413220001", school_name="校", passphrase="口令-passphrase-10", suite="rc4")
    assert not (tmp_path / "y").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["x"]  # no half-built archive left behind


def test_wrong_passphrase_is_refused_and_audited(make_archive) -> None:
    path, pw = make_archive()
    with pytest.raises(AuthError, match="口令错误"):
        open_arc(path, "wrong passphrase!")
    with pytest.raises(AuthError, match="不存在"):
        open_arc(path, pw, user="nobody")
    with open_arc(path, pw) as arc:
        entries, problems = walk(arc)
    assert problems == []
    fails = [e for e in entries if e.action == "auth.fail"]
    assert len(fails) == 2
    assert all(len(e.detail["user_hash"]) == 64 for e in fails)  # type: ignore[index]


def test_unknown_format_version_refused(make_archive) -> None:
    path, pw = make_archive()
    info = json.loads((path / "archive.json").read_text())
    info["version"] = 3
    (path / "archive.json").write_text(json.dumps(info))
    with pytest.raises(FormatError, match="版本 3 不受支持"):
        open_arc(path, pw)
    (path / "archive.json").write_text("{not json")
    with pytest.raises(FormatError, match="archive.json"):
        open_arc(path, pw)


def test_missing_archive_message_has_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ArchiveMissing) as exc:
        open_arc(tmp_path / "nowhere", "whatever-pass")
    assert "guanai" in (exc.value.hint or "") and "init" in (exc.value.hint or "")


def test_role_edit_in_key_file_breaks_unwrap(make_archive) -> None:
    path, pw = make_archive()
    with open_arc(path, pw) as arc:
        arc.add_user("督查员", "inspector", "inspector-pass-1")
    kf = path / "keys" / "督查员.json"
    d = json.loads(kf.read_text())
    d["role"] = "admin"
    kf.write_text(json.dumps(d))
    with pytest.raises(AuthError):
        open_arc(path, "inspector-pass-1", user="督查员")


def test_kdf_params_bounded(make_archive) -> None:
    path, pw = make_archive()
    kf = path / "keys" / "admin.json"
    d = json.loads(kf.read_text())
    d["kdf"]["memory_cost"] = 1 << 30 << 4
    kf.write_text(json.dumps(d))
    with pytest.raises(IntegrityError, match="超出允许范围"):
        open_arc(path, pw)


def test_roles_enforced_in_library(make_archive) -> None:
    path, pw = make_archive()
    child = synth_children(1, seed=3)[0]
    with open_arc(path, pw) as arc:
        arc.add_user("insp", "inspector", "inspector-pass")
        arc.add_user("sec", "secretary", "secretary-pass")
        cid = arc.add_child(child)
    with open_arc(path, "inspector-pass", user="insp") as arc:
        assert arc.get_child(cid).record.name == child.name  # can read
        with pytest.raises(PermissionDenied, match="无写入权限"):
            arc.put_document(kind="attachment", title="t", content=b"x", filename="x.txt", mime="text/plain")
        with pytest.raises(PermissionDenied):
            arc.update_child(cid, child)
        with pytest.raises(PermissionDenied, match="用户管理"):
            arc.add_user("x", "admin", "some-passphrase")
    with pytest.raises(PermissionDenied):
        Archive.open(path, user="insp", passphrase="inspector-pass", write=True)
    with open_arc(path, "secretary-pass", user="sec") as arc:
        arc.put_document(kind="attachment", title="t", content=b"x", filename="x.txt", mime="text/plain")
        with pytest.raises(PermissionDenied):
            arc.remove_user("insp")
        arc.change_passphrase("sec", "new-secretary-pass")  # own passphrase: allowed
        with pytest.raises(PermissionDenied):
            arc.change_passphrase("insp", "hijacked-pass")
    open_arc(path, "new-secretary-pass", user="sec").close()


def test_user_management(make_archive) -> None:
    path, pw = make_archive()
    with open_arc(path, pw) as arc:
        arc.add_user("王老师", "secretary", "wang-pass-123")
        with pytest.raises(StateError, match="已存在"):
            arc.add_user("王老师", "secretary", "wang-pass-123")
        with pytest.raises(InputError):
            arc.add_user("../evil", "secretary", "wang-pass-123")
        assert ("王老师", "secretary") in arc.users()
        with pytest.raises(StateError, match="最后一位管理员|当前登录"):
            arc.remove_user("admin")
        arc.remove_user("王老师")
        assert [u for u, _ in arc.users()] == ["admin"]
        actions = [e.action for e in walk(arc)[0]]
    assert actions.count("user.add") == 1 and "user.remove" in actions


def test_children_blind_lookup_and_duplicates(make_archive) -> None:
    path, pw = make_archive()
    a, b = synth_children(2, seed=11)
    with open_arc(path, pw) as arc:
        ida = arc.add_child(a)
        arc.add_child(b)
        assert arc.get_child(a.student_id).id == ida
        assert arc.get_child(a.student_id.lower()).id == ida
        fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in a.student_id)  # Ｇ３４… typed with a CJK IME
        assert arc.get_child(fullwidth).id == ida
        if a.id_number:
            assert arc.get_child(a.id_number).id == ida
        with pytest.raises(StateError, match="不能重复登记"):
            arc.add_child(a)
        with pytest.raises(NotFoundError, match="child list"):
            arc.get_child("G000000000000000000")
        assert len(arc.list_children()) == 2


def test_closed_child_refuses_edits(make_archive) -> None:
    path, pw = make_archive()
    child = synth_children(1, seed=5)[0]
    with open_arc(path, pw) as arc:
        cid = arc.add_child(child)
        arc.set_child_status(cid, "存档备查", "父母返乡")
        assert arc.get_child(cid).record.status == "存档备查"
        with pytest.raises(StateError, match="只读"):
            arc.update_child(cid, child)
        with pytest.raises(StateError, match="只读"):
            arc.put_document(kind="attachment", title="t", content=b"x", filename="x.txt", mime="text/plain",
                             child_id=cid)
        arc.set_child_status(cid, "在册", "重新认定")
        arc.update_child(cid, child)
        with pytest.raises(InputError, match="未知状态"):
            arc.set_child_status(cid, "删除", "x")


def test_documents_roundtrip_and_change_feed(make_archive) -> None:
    path, pw = make_archive()
    child = synth_children(1, seed=7)[0]
    with open_arc(path, pw) as arc:
        g0 = arc.generation
        cid = arc.add_child(child)
        did = arc.put_document(kind="home-visit", title="家访记录", content=b"PK\x03\x04 fake", filename="../../x.docx",
                               mime="application/octet-stream", child_id=cid, form={"a": "值"}, text="正文 艾滋病",
                               doc_date="2026-09-01")
        e = arc.get_document(did)
        assert e.filename == "x.docx"  # directories stripped
        assert e.child_id == cid and e.doc_date == "2026-09-01" and e.size == len(b"PK\x03\x04 fake")
        assert arc.read_document(did) == b"PK\x03\x04 fake"
        assert arc.document_form(did) == {"a": "值"}
        assert arc.document_text(did) == "正文 艾滋病"
        assert [d.id for d in arc.list_documents(child_id=child.student_id)] == [did]
        assert arc.list_documents(kind="circular") == []
        changes = arc.changes_since(g0)
        assert [(c.entity, c.id) for c in changes] == [("child", cid), ("document", did)]
        assert arc.generation == g0 + 2
        assert arc.changes_since(arc.generation) == []
        with pytest.raises(NotFoundError):
            arc.get_document("nope")
        with pytest.raises(InputError, match="种类"):
            arc.put_document(kind="Bad Kind", title="t", content=b"", filename="a", mime="x")


def test_transaction_is_all_or_nothing(make_archive) -> None:
    path, pw = make_archive()
    with open_arc(path, pw) as arc:
        n = arc.conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        with pytest.raises(RuntimeError):
            with arc.transaction():
                arc.put_document(kind="attachment", title="t", content=b"1", filename="a.txt", mime="text/plain")
                arc.put_document(kind="attachment", title="t", content=b"2", filename="b.txt", mime="text/plain")
                raise RuntimeError("boom")
        assert arc.list_documents() == []
        assert arc.conn.execute("SELECT count(*) FROM audit").fetchone()[0] == n
        assert walk(arc)[1] == []


def test_settings_are_sealed(make_archive) -> None:
    path, pw = make_archive()
    with open_arc(path, pw) as arc:
        arc.set_setting("templates_dir", "学校模板".encode())
        assert arc.get_setting("templates_dir") == "学校模板".encode()
        assert arc.get_setting("absent") is None
        with pytest.raises(InputError):
            arc.set_setting("audit_head", b"forged")
        raw = arc.conn.execute("SELECT value FROM settings WHERE name='templates_dir'").fetchone()[0]
    assert "学校模板".encode() not in raw


@pytest.mark.parametrize("suite", ["aes-256-gcm", "sm4-gcm"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096), row=st.text(min_size=1, max_size=40))
def test_seal_open_roundtrip_property(suite: str, data: bytes, row: str) -> None:
    key = bytes(range(crypto.SUITE_KEY_LEN[suite]))
    aad = crypto.context_aad("a" * 32, "t", "c", row)
    blob = crypto.seal(suite, key, data, aad)
    assert crypto.unseal(suite, key, blob, aad) == data
    with pytest.raises(IntegrityError):
        crypto.unseal(suite, key, blob, crypto.context_aad("a" * 32, "t", "c", row + "x"))
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x40
    with pytest.raises(IntegrityError):
        crypto.unseal(suite, key, bytes(flipped), aad)
    with pytest.raises(IntegrityError):
        crypto.unseal(suite, key, blob[: len(blob) - 1], aad)


def test_unseal_rejects_wrong_suite_version_and_key() -> None:
    key = bytes(32)
    aad = b"ctx"
    blob = crypto.seal("aes-256-gcm", key, b"hello", aad)
    with pytest.raises(IntegrityError, match="套件不符"):
        crypto.unseal("sm4-gcm", bytes(16), blob, aad)
    with pytest.raises(IntegrityError, match="版本未知"):
        crypto.unseal("aes-256-gcm", key, b"\x09" + blob[1:], aad)
    with pytest.raises(IntegrityError, match="截断"):
        crypto.unseal("aes-256-gcm", key, blob[:10], aad)
    with pytest.raises(IntegrityError, match="校验失败"):
        crypto.unseal("aes-256-gcm", bytes([1]) * 32, blob, aad)


def test_sm4_archive_works_end_to_end(make_archive) -> None:
    path, pw = make_archive(suite="sm4-gcm")
    child = synth_children(1, seed=9)[0]
    with open_arc(path, pw) as arc:
        cid = arc.add_child(child)
        did = arc.put_document(kind="attachment", title="t", content=b"abc" * 1000, filename="a.bin",
                               mime="application/octet-stream", child_id=cid)
        assert arc.read_document(did) == b"abc" * 1000
        blob = arc.conn.execute("SELECT record FROM children").fetchone()[0]
        assert blob[1] == 0x02  # SM4-GCM suite byte
        assert arc.get_child(cid).record == child.model_copy(update={"status": "在册"})


def test_delete_document_leaves_tombstone_and_audit(make_archive) -> None:
    from guanai.archive.verify import verify_archive

    path, pw = make_archive()
    with open_arc(path, pw) as arc:
        keep = arc.put_document(kind="attachment", title="留", content=b"1", filename="a.txt", mime="text/plain")
        gone = arc.put_document(kind="attachment", title="删", content=b"2", filename="b.txt", mime="text/plain")
        g = arc.generation
        with pytest.raises(InputError, match="删除原因"):
            arc.delete_document(gone, "")
        arc.delete_document(gone, "转出后按保留策略删除")
        assert [d.id for d in arc.list_documents()] == [keep]
        assert [(c.entity, c.id) for c in arc.changes_since(g)] == [("deleted", gone)]
        with pytest.raises(NotFoundError):
            arc.get_document(gone)
        entries, problems = walk(arc)
        assert problems == [] and entries[-1].action == "doc.delete"
        assert entries[-1].detail == {"kind": "attachment", "child": None, "reason": "转出后按保留策略删除"}
        assert verify_archive(arc).ok


@pytest.mark.production_kdf
def test_new_key_files_get_the_production_kdf_cost(make_archive) -> None:
    from guanai.archive import crypto

    path, pw = make_archive()
    kdf = json.loads((path / "keys" / "admin.json").read_text())["kdf"]
    cost = crypto.PRODUCTION_KDF_COST
    assert (kdf["iterations"], kdf["lanes"], kdf["memory_cost"]) == (cost.iterations, cost.lanes, cost.memory_cost)
    with open_arc(path, pw) as arc:
        arc.add_user("王老师", "secretary", "teacher-pass-1")
    kdf = json.loads((path / "keys" / "王老师.json").read_text())["kdf"]
    assert (kdf["iterations"], kdf["memory_cost"]) == (3, 65536) and len(bytes.fromhex(kdf["salt"])) == 16


def test_the_suite_runs_at_the_minimum_cost_the_format_accepts(make_archive) -> None:
    from guanai.archive import crypto

    path, pw = make_archive()
    kdf = json.loads((path / "keys" / "admin.json").read_text())["kdf"]
    assert (kdf["iterations"], kdf["lanes"], kdf["memory_cost"]) == (1, 1, 8192)
    crypto.KdfParams(salt=b"\0" * 16, iterations=1, lanes=1, memory_cost=8192).check()  # accepted
    with pytest.raises(IntegrityError):
        crypto.KdfParams(salt=b"\0" * 16, iterations=1, lanes=1, memory_cost=8191).check()  # below: refused
    with open_arc(path, pw):
        pass
