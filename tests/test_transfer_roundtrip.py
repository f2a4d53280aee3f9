"""Transfers between real archives: round trip, refusals (nothing imported), receipts, confirm, 升学, crash."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from transfer_helpers import (
    CODE_A,
    CODE_B,
    CODE_X,
    NAME_B,
    PASS_B,
    PASS_C,
    Scenario,
    _scenario_template,
    add_children,
    scenario,
)

from guanai.archive import transfer
from guanai.archive.audit import walk
from guanai.archive.store import Archive, init_archive
from guanai.archive.transfer import bag as tbag
from guanai.archive.transfer import envelope as tenv
from guanai.archive.transfer import outgoing
from guanai.archive.transfer import receipt as trcpt
from guanai.archive.transfer.directory import add_card, import_directory, publish, revoke
from guanai.archive.transfer.identity import get_identity
from guanai.base.errors import GuanaiError, InputError, IntegrityError, NotFoundError, StateError
from guanai.generators.slip import render_slip

__all__ = ["scenario", "_scenario_template"]  # fixtures, re-exported for pytest


def snapshot(arc: Archive) -> tuple[object, ...]:
    return (arc.generation, sorted(c.id for c in arc.list_children()), sorted(d.id for d in arc.list_documents()),
            arc.get_setting(transfer.IN_SETTING), arc.get_setting(transfer.HIST_SETTING))


def export(s: Scenario, tmp: Path, ids: list[str] | None = None, to: str = CODE_B) -> Path:
    out = tmp / "p.gtp"
    with s.open_a() as a:
        transfer.export_package(a, ids or s.child_ids[:2], to, out, render_slip=render_slip)
    return out


def refused(s: Scenario, path: Path, exc: type[GuanaiError], match: str, **kw: object) -> GuanaiError:
    """Import must fail with ``exc`` and leave the receiving archive exactly as it was."""
    with s.open_b() as b:
        before = snapshot(b)
        with pytest.raises(exc, match=match) as err:
            opened = transfer.open_package(b, path, **kw)  # type: ignore[arg-type]
            transfer.accept(b, opened)
        assert snapshot(b) == before
    assert not path.with_name(path.name + ".receipt").exists()
    return err.value


def audit_actions(arc: Archive) -> list[tuple[str, str | None]]:
    entries, problems = walk(arc)
    assert problems == []
    return [(e.action, e.target) for e in entries]


# ---- round trip ---------------------------------------------------------------------------------


def test_round_trip_aes_to_sm4(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with s.open_a() as a:
        assert a.info.suite == "aes-256-gcm"
        sent = {cid: a.get_child(cid) for cid in s.child_ids[:2]}
        sent_docs = {cid: [(d, a.read_document(d.id, audit=False), a.document_form(d.id), a.document_text(d.id))
                           for d in a.list_documents(child_id=cid)] for cid in sent}
        res = transfer.export_package(a, list(sent), CODE_B, tmp_path / "p.gtp", render_slip=render_slip)
    data = (tmp_path / "p.gtp").read_bytes()
    assert res.children == 2 and res.documents == 6 and res.size == len(data)
    for e in sent.values():  # nothing personal in clear in the package file
        assert e.record.name.encode() not in data and e.record.student_id.encode() not in data

    with s.open_b() as b:
        assert b.info.suite == "sm4-gcm"
        opened = transfer.open_package(b, tmp_path / "p.gtp")
        summary = opened.summary()
        assert {c["student_id"] for c in summary["children"]} == {e.record.student_id for e in sent.values()}
        result = transfer.accept(b, opened)
        assert result.decision == "accepted" and result.documents == 6
        for cid, e in sent.items():
            got = b.get_child(e.record.student_id)
            assert got.status == "在册"
            want = e.record.to_json_dict() | {"学校": NAME_B}
            assert got.record.to_json_dict() == want
            docs = {d.title: d for d in b.list_documents(child_id=got.id)}
            for d, content, form, text in sent_docs[cid]:
                mine = docs.pop(d.title)
                assert b.read_document(mine.id, audit=False) == content  # byte-identical
                assert (mine.kind, mine.filename, mine.mime, mine.doc_date) == (d.kind, d.filename, d.mime, d.doc_date)
                assert b.document_form(mine.id) == form and b.document_text(mine.id) == text
                assert mine.meta["origin"] == "test" and mine.meta["transfer"]["package_id"] == res.package_id
            (slip,) = docs.values()  # the one extra document is the transfer slip
            assert slip.kind == "transfer-slip"
            with zipfile.ZipFile(io.BytesIO(b.read_document(slip.id, audit=False))) as zf:
                xml = zf.read("word/document.xml").decode()
            for _d, content, _f, _t in sent_docs[cid]:
                assert hashlib.sha512(content).hexdigest() in xml
        assert ("transfer.import", res.package_id) in audit_actions(b)
        # searchable at the receiver
        from guanai.search.index import open_index
        from guanai.search.query import search

        six = open_index(b)
        name = next(iter(sent.values())).record.name
        hits = search(six, name).hits
        assert any(h.entity == "child" for h in hits), hits
        assert any("家访记录" in h.title for h in hits)

    receipt = json.loads((tmp_path / "p.gtp.receipt").read_text())
    assert receipt["body"]["package_id"] == res.package_id
    assert receipt["body"]["package_sha256"] == hashlib.sha256(data).hexdigest()
    assert receipt["body"]["decision"] == "accepted"

    with s.open_a() as a:
        out = transfer.confirm(a, tmp_path / "p.gtp.receipt")
        assert out.decision == "accepted" and out.retain_until
        for cid in sent:
            assert a.get_child(cid).status == "转出"
            assert len(a.list_documents(child_id=cid)) == 4  # sealed copy kept + the receipt
        assert a.get_child(s.child_ids[2]).status == "在册"
        actions = audit_actions(a)
        assert ("transfer.export", res.package_id) in actions and ("transfer.confirm", res.package_id) in actions
        with pytest.raises(StateError, match="确认过"):
            transfer.confirm(a, tmp_path / "p.gtp.receipt")
        # exporting a child already transferred out is refused
        with pytest.raises(StateError, match="已转出"):
            transfer.export_package(a, [s.child_ids[0]], CODE_B, tmp_path / "q.gtp", render_slip=render_slip)


def test_history_travels_with_the_child(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    p = export(s, tmp_path, s.child_ids[:1])
    with s.open_b() as b:
        r = transfer.accept(b, transfer.open_package(b, p))
        hist = json.loads(b.get_setting(transfer.HIST_SETTING) or b"{}")
        assert hist[r.child_ids[0]][-1]["from"] == CODE_A and hist[r.child_ids[0]][-1]["package_id"] == r.package_id


def test_failed_export_leaves_no_sent_record(scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = scenario
    with s.open_a() as a:
        before = (a.get_setting(transfer.OUT_SETTING), a.generation)
        with pytest.raises(InputError, match=".gtp"):
            transfer.export_package(a, s.child_ids[:1], CODE_B, tmp_path / "p.zip", render_slip=render_slip)
        with pytest.raises(NotFoundError, match="输出目录不存在"):
            transfer.export_package(a, s.child_ids[:1], CODE_B, tmp_path / "no" / "p.gtp", render_slip=render_slip)

        def disk_full(*_a: object, **_k: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(outgoing, "atomic_write", disk_full)
        with pytest.raises(OSError):
            transfer.export_package(a, s.child_ids[:1], CODE_B, tmp_path / "p.gtp", render_slip=render_slip)
        # no package recorded as sent that the receiver could never have got
        assert (a.get_setting(transfer.OUT_SETTING), a.generation) == before
    assert list(tmp_path.glob("*.gtp")) == []


def test_child_awaiting_a_receipt_is_not_exported_twice(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    first = export(s, tmp_path, s.child_ids[:1])
    with s.open_a() as a:
        with pytest.raises(StateError, match="尚未收到回执") as err:
            transfer.export_package(a, s.child_ids[:2], CODE_B, tmp_path / "again.gtp", render_slip=render_slip)
        assert "--resend" in (err.value.hint or "")
        assert not (tmp_path / "again.gtp").exists()
        grade = a.get_child(s.child_ids[0]).record.grade
        cohort = [c.record.student_id for c in a.list_children() if c.record.grade == grade and c.status == "在册"]
        mapping = tmp_path / "去向.csv"
        mapping.write_text("".join(f"{k},{CODE_B}\n" for k in cohort), encoding="utf-8")
        with pytest.raises(InputError, match="尚未收到回执"):
            transfer.export_by_destination(a, grade, mapping, tmp_path / "升学", render_slip=render_slip)
        # an explicit resend (the first package was lost) is allowed
        transfer.export_package(a, s.child_ids[:1], CODE_B, tmp_path / "again.gtp", resend=True, render_slip=render_slip)
    # once the receipt says "rejected", the child can go elsewhere without --resend
    with s.open_b() as b:
        transfer.reject(b, transfer.open_package(b, first, for_reject=True), "未报到")
        transfer.reject(b, transfer.open_package(b, tmp_path / "again.gtp", for_reject=True), "未报到")
    with s.open_a() as a:
        transfer.confirm(a, first.with_name(first.name + ".receipt"))
        transfer.confirm(a, tmp_path / "again.gtp.receipt")
        transfer.export_package(a, s.child_ids[:1], CODE_B, tmp_path / "third.gtp", render_slip=render_slip)


# ---- refusals: nothing imported -----------------------------------------------------------------


def test_tampered_envelope_refused(scenario: Scenario, tmp_path: Path) -> None:
    p = export(scenario, tmp_path)
    data = bytearray(p.read_bytes())
    for pos in (len(data) // 2, 20, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x01
        p.write_bytes(bytes(bad))
        refused(scenario, p, IntegrityError, "签名无效|篡改")
    p.write_bytes(bytes(data[:-100]))
    refused(scenario, p, IntegrityError, "截断|篡改")


def test_wrong_recipient_refused(scenario: Scenario, tmp_path: Path) -> None:
    p = export(scenario, tmp_path)
    with scenario.open_x() as x:
        before = snapshot(x)
        with pytest.raises(GuanaiError):  # X is not in the directory: the sender lookup or the recipient check fails
            transfer.open_package(x, p)
        assert snapshot(x) == before
    # an in-directory school that is not the recipient: A itself receiving its own package to B
    with scenario.open_a() as a:
        with pytest.raises(InputError, match="不是本校"):
            transfer.open_package(a, p)


def test_unknown_sender_refused(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with s.open_x() as x:
        add_children(x, 1, 1, seed=99)
        cid = x.list_children()[0].id
        transfer.export_package(x, [cid], CODE_B, tmp_path / "x.gtp", render_slip=render_slip)
    refused(s, tmp_path / "x.gtp", NotFoundError, "不在县级学校目录")


def test_revoked_sender_refused(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    p = export(s, tmp_path)
    with s.open_county() as c:
        revoke(c, CODE_A, "电脑被盗")
        data, serial = publish(c)
    assert serial == 2
    with s.open_b() as b:
        import_directory(b, data)
    refused(s, p, IntegrityError, "吊销")


def test_directory_not_signed_by_trusted_county_refused(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    fake = tmp_path / "fake-county"
    init_archive(fake, school_code="341322", school_name="萧县教育体育局", passphrase=PASS_C, kind="county")
    with Archive.open(fake, user="admin", passphrase=PASS_C, write=True) as c:
        with s.open_x() as x:
            add_card(c, get_identity(x).card.to_json())
        forged, _ = publish(c)
        fake_fp = get_identity(c).card.fingerprint
    with s.open_b() as b:
        before = b.get_setting("directory")
        with pytest.raises(IntegrityError, match="不是由本校信任的"):
            import_directory(b, forged, county_fingerprint=fake_fp)
        assert b.get_setting("directory") == before
    # a directory whose body was edited after signing
    obj = json.loads((s.root / "directory.json").read_text())
    obj["body"]["schools"][0]["name"] = "冒名学校"
    with s.open_b() as b, pytest.raises(IntegrityError):
        import_directory(b, json.dumps(obj, ensure_ascii=False).encode())


def test_directory_first_trust_needs_confirmation(tmp_path: Path, scenario: Scenario) -> None:
    s = scenario
    fresh = tmp_path / "fresh"
    init_archive(fresh, school_code="3413220005", school_name="萧县新校", passphrase=PASS_B)
    data = (s.root / "directory.json").read_bytes()
    with Archive.open(fresh, user="admin", passphrase=PASS_B, write=True) as f:
        with pytest.raises(StateError, match="未确认"):
            import_directory(f, data)
        with pytest.raises(StateError, match="未确认"):
            import_directory(f, data, confirm=lambda d: False)
        with pytest.raises(IntegrityError, match="不符"):
            import_directory(f, data, county_fingerprint="00" * 32)
        assert f.get_setting("county_trust") is None
        seen: list[str] = []
        res = import_directory(f, data, confirm=lambda d: seen.append(d.county.fingerprint) or True)
        assert res.first_trust and seen == [s.county_fp]
    # an older directory is refused once a newer one is held
    with s.open_county() as c:
        newer, serial = publish(c)
    with s.open_b() as b:
        import_directory(b, newer)
        with pytest.raises(StateError, match="旧"):
            import_directory(b, data)


def test_replay_refused(scenario: Scenario, tmp_path: Path) -> None:
    p = export(scenario, tmp_path, scenario.child_ids[:1])
    with scenario.open_b() as b:
        transfer.accept(b, transfer.open_package(b, p))
    (tmp_path / "p.gtp.receipt").unlink()
    with scenario.open_b() as b:
        before = snapshot(b)
        with pytest.raises(StateError, match="拒绝重复导入") as err:
            transfer.open_package(b, p)
        assert snapshot(b) == before
    assert "重新写出" in (err.value.hint or "")  # the lost receipt is re-issued, nothing else happens
    assert json.loads((tmp_path / "p.gtp.receipt").read_text())["body"]["decision"] == "accepted"



def test_oversized_package_refused(scenario: Scenario, tmp_path: Path) -> None:
    p = export(scenario, tmp_path)
    refused(scenario, p, InputError, "过大", limits=tbag.Limits(max_package=10_000))


def craft(s: Scenario, tmp: Path, mutate: Callable[[list[tuple[str, bytes]], str], list[tuple[str, bytes]]]) -> Path:
    """A package signed by the (legitimate) sender whose inner zip was altered before sealing."""
    from test_transfer_package import rezip

    with s.open_a() as a:
        me = get_identity(a)
        from guanai.archive.transfer.directory import require_directory

        rcpt = require_directory(a).lookup(CODE_B)
        items = [outgoing._child_item(a, a.get_child(cid), {}) for cid in s.child_ids[:1]]
    pid = "ab" * 16
    bag = tbag.build_bag(package_id=pid, created_at="2026-11-29T00:00:00+00:00", sender=me.card, recipient=rcpt,
                       children=items, purpose="转学", render_slip=render_slip)
    with zipfile.ZipFile(io.BytesIO(bag)) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    data = tenv.seal_package(rezip(mutate(entries, pid)), package_id=pid, created_at="2026-11-29T00:00:00+00:00",
                            purpose="转学", sender=me, recipient=rcpt, children=1, documents=3)
    out = tmp / "crafted.gtp"
    out.write_bytes(data)
    return out


def _edit(entries: list[tuple[str, bytes]], suffix: str, fn: Callable[[bytes], bytes]) -> list[tuple[str, bytes]]:
    """Apply ``fn`` to the first entry whose name ends with ``suffix`` (there must be one)."""
    target = next(n for n, _ in entries if n.endswith(suffix))
    return [(n, fn(d) if n == target else d) for n, d in entries]


def _drop(entries: list[tuple[str, bytes]], suffix: str) -> list[tuple[str, bytes]]:
    target = next(n for n, _ in entries if n.endswith(suffix))
    return [x for x in entries if x[0] != target]


HOSTILE: dict[str, tuple[Callable[[list[tuple[str, bytes]], str], list[tuple[str, bytes]]], str]] = {
    "inner-file": (lambda e, pid: _edit(e, ".pdf", lambda d: d[:-1] + bytes([d[-1] ^ 1])), "校验值不符"),
    "dotdot": (lambda e, pid: [*e, (f"{pid}/data/../../evil.sh", b"rm -rf /")], "'..'"),
    "absolute": (lambda e, pid: [*e, ("/etc/cron.d/evil", b"x")], "绝对路径"),
    "duplicate": (lambda e, pid: [*e, next(x for x in e if x[0].endswith("record.json"))], "重复条目"),
    "bomb": (lambda e, pid: [*e, (f"{pid}/data/x/bomb", b"\0" * (16 << 20))], "zip 炸弹"),
    "manifest": (lambda e, pid: _drop(e, ".pdf"), "缺失的文件"),
    "record": (lambda e, pid: _edit(e, "record.json", lambda d: d.replace("在册".encode(), "转出".encode())),
               "校验值不符"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_inner_bag_refused(scenario: Scenario, tmp_path: Path, case: str) -> None:
    mutate, match = HOSTILE[case]
    p = craft(scenario, tmp_path, mutate)
    refused(scenario, p, IntegrityError, match)


def test_symlink_in_inner_bag_refused(scenario: Scenario, tmp_path: Path) -> None:
    import stat

    # a legitimately signed package whose inner zip carries a symlink entry (Unix mode bits)
    p = craft(scenario, tmp_path, lambda e, pid: e)
    with scenario.open_a() as a:
        me = get_identity(a)
    with scenario.open_b() as b:
        rcpt = get_identity(b).card
        env = tenv.parse_envelope(p.read_bytes())
        inner = tenv.open_envelope(env, get_identity(b))
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(inner)) as src, zipfile.ZipFile(buf, "w") as dst:
        for zi in src.infolist():
            dst.writestr(zi, src.read(zi))
        zi = zipfile.ZipInfo(f"{env.package_id}/data/link")
        zi.create_system = 3
        zi.external_attr = (stat.S_IFLNK | 0o777) << 16
        dst.writestr(zi, b"/etc/shadow")
    data = tenv.seal_package(buf.getvalue(), package_id=env.package_id, created_at=env.header["created_at"],
                            purpose="转学", sender=me, recipient=rcpt, children=1, documents=3)
    p.write_bytes(data)
    refused(scenario, p, IntegrityError, "符号链接")


# ---- reject, confirm, retention ------------------------------------------------------------------


def test_reject_then_confirm_returns_children(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    p = export(s, tmp_path)
    with s.open_b() as b:
        before = (sorted(c.id for c in b.list_children()), len(b.list_documents()))
        opened = transfer.open_package(b, p, for_reject=True)
        with pytest.raises(InputError, match="原因"):
            transfer.reject(b, opened, "  ")
        r = transfer.reject(b, opened, "该生未到我校报到", tmp_path / "回执.receipt")
        assert (sorted(c.id for c in b.list_children()), len(b.list_documents())) == before
        assert ("transfer.reject", r.package_id) in audit_actions(b)
        with pytest.raises(StateError, match="重复导入"):
            transfer.open_package(b, p)
    rc = json.loads((tmp_path / "回执.receipt").read_text())
    assert rc["body"]["decision"] == "rejected" and rc["body"]["reason"] == "该生未到我校报到"
    with s.open_a() as a:
        out = transfer.confirm(a, tmp_path / "回执.receipt")
        assert out.decision == "rejected" and out.reason == "该生未到我校报到"
        assert all(a.get_child(c).status == "在册" for c in s.child_ids)


def test_confirm_refuses_forged_or_foreign_receipts(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    p = export(s, tmp_path)
    with s.open_b() as b:
        transfer.accept(b, transfer.open_package(b, p))
    rpath = tmp_path / "p.gtp.receipt"
    good = rpath.read_bytes()
    obj = json.loads(good)
    obj["body"]["decision"] = "rejected"
    rpath.write_text(json.dumps(obj, ensure_ascii=False))
    with s.open_a() as a:
        before = snapshot(a)
        with pytest.raises(IntegrityError, match="签名无效"):
            transfer.confirm(a, rpath)
        obj = json.loads(good)
        obj["body"]["package_id"] = "cd" * 16
        rpath.write_text(json.dumps(obj, ensure_ascii=False))
        with pytest.raises(NotFoundError, match="没有发出过"):
            transfer.confirm(a, rpath)
        assert snapshot(a) == before
        assert all(a.get_child(c).status == "在册" for c in s.child_ids)
    # validly signed receipts that do not match what was sent: another school's, another file's hash
    body = {k: v for k, v in json.loads(good)["body"].items() if k not in ("format", "version", "recipient")}
    with s.open_x() as x:
        rpath.write_bytes(trcpt.make_receipt(get_identity(x), body))
    with s.open_a() as a, pytest.raises(IntegrityError, match="发给 " + CODE_B):
        transfer.confirm(a, rpath)
    with s.open_b() as b:
        rpath.write_bytes(trcpt.make_receipt(get_identity(b), {**body, "package_sha256": "0" * 64}))
    with s.open_a() as a:
        with pytest.raises(IntegrityError, match="校验值与本校发出的不符"):
            transfer.confirm(a, rpath)
        assert snapshot(a) == before


def test_minimal_retention_keeps_only_receipt_and_minimal_record(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    p = export(s, tmp_path, s.child_ids[:1])
    with s.open_b() as b:
        transfer.accept(b, transfer.open_package(b, p))
    with s.open_a() as a:
        full = a.get_child(s.child_ids[0]).record.to_json_dict()
        out = transfer.confirm(a, tmp_path / "p.gtp.receipt", transfer.Retention("minimal"))
        assert out.deleted_documents == 3
        e = a.get_child(s.child_ids[0])
        assert e.status == "转出"
        rec = e.record.to_json_dict()
        assert rec["姓名"] == full["姓名"] and rec["学籍号"] == full["学籍号"]
        assert "父亲" not in rec and "监护人" not in rec and "帮扶教师" not in rec
        (doc,) = a.list_documents(child_id=e.id)
        assert doc.kind == "transfer-receipt"
        assert json.loads(a.read_document(doc.id, audit=False))["body"]["package_id"] == out.package_id
        from guanai.archive.verify import verify_archive

        assert verify_archive(a).ok


def test_sealed_copy_reduced_when_retention_ends(scenario: Scenario, tmp_path: Path) -> None:
    from datetime import date, timedelta

    s = scenario
    p = export(s, tmp_path, s.child_ids[:1])
    with s.open_b() as b:
        transfer.accept(b, transfer.open_package(b, p))
    with s.open_a() as a:
        out = transfer.confirm(a, tmp_path / "p.gtp.receipt", transfer.Retention("sealed", 1))
        assert len(a.list_documents(child_id=s.child_ids[0])) == 4  # kept while the retention runs
        assert transfer.expire_retention(a) == []
        later = date.fromisoformat(out.retain_until or "") + timedelta(days=1)
        before = snapshot(a)
        (due,) = transfer.expire_retention(a, later, dry_run=True)
        assert due.children == [s.child_ids[0]] and snapshot(a) == before
        (done,) = transfer.expire_retention(a, later)
        assert done.deleted_documents == 3
        e = a.get_child(s.child_ids[0])
        assert e.status == "转出" and "监护人" not in e.record.to_json_dict()
        assert [d.kind for d in a.list_documents(child_id=e.id)] == ["transfer-receipt"]
        assert ("transfer.expire", out.package_id) in audit_actions(a)
        assert transfer.expire_retention(a, later) == []  # applied once
        assert a.get_child(s.child_ids[1]).status == "在册"


# ---- 升学 by destination ---------------------------------------------------------------------------


def test_export_by_destination(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with s.open_county() as c:
        add_card(c, (s.root / "x.card").read_bytes())
        data, _ = publish(c)
    with s.open_a() as a:
        import_directory(a, data)
        ids = add_children(a, 4, 1, seed=42, grade="测试年级")
        kids = [a.get_child(i).record.student_id for i in ids]
        mapping = tmp_path / "去向.csv"
        mapping.write_text("学籍号,去向学校代码\n" + "".join(
            f"{k},{CODE_B if n < 3 else CODE_X}\n" for n, k in enumerate(kids)), encoding="utf-8")
        ticks: list[tuple[int, int]] = []
        results = transfer.export_by_destination(a, "测试年级", mapping, tmp_path / "升学",
                                                 progress=lambda n, t: ticks.append((n, t)), render_slip=render_slip)
        assert sorted((r.recipient.code, r.children) for r in results) == [(CODE_B, 3), (CODE_X, 1)]
        assert ticks == [(1, 4)] * 4  # one bar for the cohort, across both packages
        # a mapping that leaves a child out exports nothing
        mapping.write_text(f"{kids[0]},{CODE_B}\n", encoding="utf-8")
        with pytest.raises(InputError, match="未在对照表中指定去向"):
            transfer.export_by_destination(a, "测试年级", mapping, tmp_path / "升学2", render_slip=render_slip)
        assert not (tmp_path / "升学2").exists() or not list((tmp_path / "升学2").iterdir())
    pb = next(r.path for r in results if r.recipient.code == CODE_B)
    with s.open_b() as b:
        import_directory(b, data)
        ticks.clear()
        r = transfer.accept(b, transfer.open_package(b, pb), progress=lambda n, t: ticks.append((n, t)))
        assert len(r.child_ids) == 3 and ticks == [(1, 3)] * 3
        assert {b.get_child(c).record.grade for c in r.child_ids} == {"测试年级"}


# ---- crash: killing the import midway leaves the receiver as before ------------------------------


def test_kill_midway_leaves_receiver_unchanged(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    p = export(s, tmp_path)
    with s.open_b(write=False) as b:
        before = snapshot(b)
    marker = tmp_path / "midway"
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from guanai.archive.store import Archive
        from guanai.archive import transfer
        calls = {{"n": 0}}
        orig = Archive.put_document
        def slow(self, **kw):
            calls["n"] += 1
            if calls["n"] == 4:
                Path({str(marker)!r}).write_text("x")
                time.sleep(60)
            return orig(self, **kw)
        Archive.put_document = slow
        with Archive.open({str(s.b)!r}, user="admin", passphrase={PASS_B!r}, write=True) as b:
            transfer.accept(b, transfer.open_package(b, Path({str(p)!r})))
    """)
    errlog = tmp_path / "stderr.txt"
    with open(errlog, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parent,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.time() + 60
        while not marker.exists():
            assert proc.poll() is None, errlog.read_text()
            assert time.time() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with s.open_b() as b:
        assert snapshot(b) == before
        from guanai.archive.verify import verify_archive

        assert verify_archive(b).ok
        # and the same package imports cleanly afterwards (no replay record was left behind)
        r = transfer.accept(b, transfer.open_package(b, p))
        assert len(r.child_ids) == 2
