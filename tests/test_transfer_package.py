"""The .gtp format as pure functions: envelope, signatures, bag checks, safe extraction, slip, receipts."""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from guanai.archive.transfer import bag as tbag
from guanai.archive.transfer import bagit_check as tcheck
from guanai.archive.transfer import envelope as tenv
from guanai.archive.transfer import receipt as trcpt
from guanai.archive.transfer import slip as tslip
from guanai.archive.transfer.bag import ChildItem, DocItem, Limits
from guanai.archive.transfer.identity import Card, Identity, canonical_json, card_from_dict, parse_card
from guanai.base import privtmp
from guanai.base.errors import FormatError, InputError, IntegrityError
from guanai.generators.assets import TEMPLATE_DIR
from guanai.generators.slip import render_slip

PID = "0123456789abcdef0123456789abcdef"
XJH = "G341322201610175006"


def make_identity(code: str, name: str, kind: str = "school") -> Identity:
    from cryptography.hazmat.primitives import serialization

    s, h = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    card = Card(code=code, name=name, county="341322", kind=kind, sign_key=s.public_key().public_bytes(*raw),
                hpke_key=h.public_key().public_bytes(*raw))
    return Identity(card, s, h)


SENDER = make_identity("3413220001", "萧县龙城镇中心小学")
RECIPIENT = make_identity("3413220002", "萧县圣泉镇中心小学")
OTHER = make_identity("3413220003", "萧县第三小学")


def child(n_docs: int = 3, xjh: str = XJH) -> ChildItem:
    docs = [DocItem(meta={"kind": "visit", "title": f"家访记录{i}", "filename": f"../../家访{i}.pdf",
                          "mime": "application/pdf", "text": "上河家村"}, content=b"%PDF-1.7 " + bytes([i]) * 500)
            for i in range(n_docs)]
    return ChildItem(student_id=xjh, name="叶莹丽",
                     record={"format": "guanai-child", "version": 1, "student_id": xjh, "sender_child_id": "c" * 32,
                             "record": {"姓名": "叶莹丽", "学籍号": xjh}},
                     history={"transfers": []}, documents=docs)


def bag_bytes(children: list[ChildItem] | None = None) -> bytes:
    return tbag.build_bag(package_id=PID, created_at="2026-11-29T00:00:00+00:00", sender=SENDER.card,
                         recipient=RECIPIENT.card, children=children or [child()], purpose="转学", render_slip=render_slip)


def read_files(zip_bytes: bytes) -> dict[str, bytes]:
    return tbag.read_zip(zip_bytes, PID)


def rezip(entries: list[tuple[str, bytes]], *, mode: int = stat.S_IFREG | 0o644) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names: that is the point here
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                zi = zipfile.ZipInfo(name)
                zi.external_attr = mode << 16
                zi.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(zi, data)
    return buf.getvalue()


def entries_of(zip_bytes: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def check(zip_bytes: bytes, limits: Limits = tbag.DEFAULT_LIMITS) -> tbag.BagContents:
    files = tbag.read_zip(zip_bytes, PID, limits)
    contents = tbag.check_bag(files, package_id=PID, sender=SENDER.card.code, recipient=RECIPIENT.card.code,
                             limits=limits)
    tcheck.validate_with_bagit(files, PID)
    return contents


# ---- cards --------------------------------------------------------------------------------------


def test_card_round_trip_and_fingerprint_binds_content() -> None:
    data = SENDER.card.to_json()
    assert parse_card(data) == SENDER.card
    obj = json.loads(data)
    obj["name"] = "冒名学校"
    with pytest.raises(IntegrityError, match="指纹与内容不符"):
        card_from_dict(obj)
    obj = json.loads(data)
    obj["hpke_key"] = RECIPIENT.card.hpke_key.hex()  # key substitution
    with pytest.raises(IntegrityError):
        card_from_dict(obj)
    with pytest.raises(FormatError):
        parse_card(b"not json")
    with pytest.raises(InputError):
        parse_card(b" " * 70000)


# ---- bag ----------------------------------------------------------------------------------------


def test_bag_is_valid_bagit_with_required_tags() -> None:
    files = read_files(bag_bytes())
    assert set(tbag.TAG_FILES) <= set(files)
    assert "fetch.txt" not in files
    info = tbag.parse_bag_info(files["bag-info.txt"])
    assert info["Source-Organization"] == SENDER.card.name
    assert info["Guanai-Sending-School"] == SENDER.card.code
    assert info["Guanai-Receiving-School"] == RECIPIENT.card.code
    assert info["BagIt-Profile-Identifier"] == tbag.PROFILE_ID
    assert info["Bag-Count"] == "1 of 1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", info["Bagging-Date"])
    payload = {p: d for p, d in files.items() if p.startswith("data/")}
    assert info["Payload-Oxum"] == f"{sum(map(len, payload.values()))}.{len(payload)}"
    # document names were made safe: no traversal survives from a hostile filename
    assert all(".." not in p for p in files)
    contents = check(bag_bytes())
    assert contents.children[0].documents[1].content == b"%PDF-1.7 " + bytes([1]) * 500


def test_slip_lists_every_document_with_sha512() -> None:
    item = child(4)
    files = read_files(bag_bytes([item]))
    slip = files[f"data/{XJH}/{tslip.SLIP_NAME}"]
    with zipfile.ZipFile(io.BytesIO(slip)) as zf:
        xml = zf.read("word/document.xml").decode()
    text = "".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", xml))
    assert "档案转接单" in text and SENDER.card.name in text and RECIPIENT.card.name in text and PID in text
    for d in item.documents:
        assert hashlib.sha512(d.content).hexdigest() in text
    assert hashlib.sha512(files[f"data/{XJH}/record.json"]).hexdigest() in text
    assert text.count("家访记录") == 4
    # the docx opens with python-docx (a real Word document, not just a zip)
    import docx

    doc = docx.Document(io.BytesIO(slip))
    assert doc.paragraphs[0].text == "档案转接单"
    assert len(doc.tables[0].rows) == 1 + 4 + 3


def test_slip_is_rendered_from_the_template_and_escapes_hostile_text() -> None:
    from guanai.generators.slip import TEMPLATE

    hostile = '</w:t></w:r></w:p><w:p><w:r><w:t>注入\x1b\x00{{ 7*7 }}&amp;'
    item = child(1)
    item.documents[0].meta["title"] = hostile
    item = ChildItem(student_id=item.student_id, name="叶<莹>丽\x00", record=item.record, history=item.history,
                     documents=item.documents)
    slip = read_files(bag_bytes([item]))[f"data/{XJH}/{tslip.SLIP_NAME}"]
    import docx

    doc = docx.Document(io.BytesIO(slip))
    assert len(doc.tables[0].rows) == 1 + 1 + 3  # no row or paragraph smuggled in
    cell = doc.tables[0].rows[1].cells[1].text
    assert "</w:t></w:r></w:p><w:p><w:r><w:t>注入{{ 7*7 }}&amp;" in cell and "\x1b" not in cell
    assert any(p.text == "学生：叶<莹>丽\u3000学籍号：" + XJH for p in doc.paragraphs)
    # the template's own styles and page set-up came along (not a hand-made WordprocessingML part)
    with zipfile.ZipFile(io.BytesIO(slip)) as zf, zipfile.ZipFile(TEMPLATE_DIR / TEMPLATE) as tz:
        assert zf.read("word/styles.xml") == tz.read("word/styles.xml")
        assert "word/footer1.xml" in zf.namelist()


@pytest.mark.parametrize("name", [
    f"{PID}/../evil.txt", "/etc/passwd", f"{PID}/data/../../x", "C:/x/y", f"{PID}/data/a\\..\\b",
    "other/bagit.txt", f"{PID}/data//x",
])
def test_dangerous_paths_refused(name: str) -> None:
    entries = entries_of(bag_bytes()) + [(name, b"x")]
    with pytest.raises(IntegrityError, match="转接包被拒绝"):
        read_files(rezip(entries))


def test_symlink_entry_refused() -> None:
    entries = entries_of(bag_bytes())
    link = rezip([(f"{PID}/data/{XJH}/link", b"/etc/passwd")], mode=stat.S_IFLNK | 0o777)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in entries:
            zf.writestr(n, d)
        with zipfile.ZipFile(io.BytesIO(link)) as lz:
            zi = lz.infolist()[0]
            zf.writestr(zi, lz.read(zi))
    with pytest.raises(IntegrityError, match="符号链接"):
        read_files(buf.getvalue())


def test_duplicate_entries_refused() -> None:
    entries = entries_of(bag_bytes())
    dup = next(e for e in entries if e[0].endswith("record.json"))
    with pytest.raises(IntegrityError, match="重复条目"):
        read_files(rezip([*entries, dup]))
    # a case/normalisation twin is a duplicate too (it would overwrite on Windows/macOS)
    with pytest.raises(IntegrityError, match="重复条目"):
        read_files(rezip([*entries, (dup[0].upper().replace(PID.upper(), PID), dup[1])]))


def test_zip_bomb_ratio_and_total_refused() -> None:
    bomb = (f"{PID}/data/{XJH}/docs/bomb.bin", b"\x00" * (8 << 20))
    entries = entries_of(bag_bytes())
    with pytest.raises(IntegrityError, match="zip 炸弹"):
        read_files(rezip([*entries, bomb]))
    with pytest.raises(IntegrityError, match="超过上限"):
        tbag.read_zip(bag_bytes(), PID, Limits(max_bag=1000))
    with pytest.raises(IntegrityError, match="条目过多"):
        tbag.read_zip(bag_bytes(), PID, Limits(max_entries=3))


def test_declared_size_lie_is_caught() -> None:
    data = bytearray(bag_bytes())
    # shrink the declared uncompressed size of the first stored document in the central directory
    zf = zipfile.ZipFile(io.BytesIO(bytes(data)))
    zi = next(i for i in zf.infolist() if i.filename.endswith(".pdf"))
    pos = data.find(zi.filename.encode(), zf.start_dir) - 46  # its central directory header
    assert data[pos : pos + 4] == b"PK\x01\x02"
    struct.pack_into("<I", data, pos + 24, zi.file_size - 10)
    with pytest.raises(IntegrityError):
        read_files(bytes(data))


def _mutate(files: dict[str, bytes], path: str, data: bytes | None) -> bytes:
    entries = [(f"{PID}/{p}", d) for p, d in files.items() if p != path]
    if data is not None:
        entries.append((f"{PID}/{path}", data))
    return rezip(entries)


def test_every_problem_is_carried_not_a_shortened_list() -> None:
    files = read_files(bag_bytes([child(9)]))
    docs = [p for p in files if p.endswith(".pdf")]
    forged = dict(files)
    for d in docs:
        forged[d] = b"%PDF-forged"
    with pytest.raises(IntegrityError) as err:
        check(_mutate(forged, "none", None))
    changed = [p.where for p in err.value.problems if p.code == "bag.payload.checksum"]
    assert sorted(changed) == sorted(docs) and len(docs) == 9
    assert all(p.what and p.code.startswith("bag.") for p in err.value.problems)


def test_manifest_payload_mismatch_reported_in_full() -> None:
    files = read_files(bag_bytes())
    doc = next(p for p in files if p.endswith(".pdf"))
    # changed payload
    with pytest.raises(IntegrityError, match="校验值不符") as err:
        check(_mutate(files, doc, b"%PDF-forged"))
    assert any(p.where == doc and p.code == "bag.payload.checksum" for p in err.value.problems), err.value.problems
    # missing payload file
    with pytest.raises(IntegrityError, match="缺失的文件"):
        check(_mutate(files, doc, None))
    # extra payload file not in manifest
    extra = dict(files)
    extra[f"data/{XJH}/docs/extra.pdf"] = b"%PDF-"
    with pytest.raises(IntegrityError, match="清单未列出"):
        check(_mutate(extra, "none", None))
    # manifest edited consistently but tagmanifest not
    man = files["manifest-sha512.txt"].replace(b"  data/", b"  data/x", 1)
    with pytest.raises(IntegrityError, match="manifest-sha512.txt"):
        check(_mutate(files, "manifest-sha512.txt", man))
    # fetch.txt is refused
    with pytest.raises(IntegrityError, match="fetch.txt"):
        check(_mutate(files, "fetch.txt", b"http://example.org/x 1 data/x\n"))


def test_bag_consistent_with_manifest_but_not_documents_json_refused() -> None:
    """A payload file listed in the manifest but not in documents.json is smuggled content."""
    files = dict(read_files(bag_bytes()))
    files[f"data/{XJH}/docs/smuggled.exe"] = b"MZ"
    manifest = "".join(f"{hashlib.sha512(d).hexdigest()}  {p}\n" for p, d in files.items() if p.startswith("data/"))
    files["manifest-sha512.txt"] = manifest.encode()
    payload = {p: d for p, d in files.items() if p.startswith("data/")}
    files["bag-info.txt"] = re.sub(rb"Payload-Oxum: \S+", f"Payload-Oxum: {sum(map(len, payload.values()))}."
                                   f"{len(payload)}".encode(), files["bag-info.txt"])
    tags = [n for n in ("bagit.txt", "bag-info.txt", "manifest-sha512.txt")]
    files["tagmanifest-sha512.txt"] = "".join(f"{hashlib.sha512(files[n]).hexdigest()}  {n}\n" for n in tags).encode()
    with pytest.raises(IntegrityError, match="未在文书目录中登记"):
        check(_mutate(files, "none", None))


def test_bagit_library_catches_what_it_should() -> None:
    files = dict(read_files(bag_bytes()))
    doc = next(p for p in files if p.endswith(".pdf"))
    files[doc] = b"%PDF-tampered"
    with pytest.raises(IntegrityError, match="bagit"):
        tcheck.validate_with_bagit(files, PID)


def _my_copies() -> set[str]:
    import os

    base = privtmp.tmp_base()
    return {n for n in os.listdir(base) if n.startswith(f"{tcheck.TMP_PREFIX}{os.getpid()}-")}


def test_bagit_copy_is_wiped_on_success_and_on_failure() -> None:
    before = _my_copies()
    files = dict(read_files(bag_bytes()))
    tcheck.validate_with_bagit(files, PID)
    assert _my_copies() == before
    files[next(p for p in files if p.endswith(".pdf"))] = b"%PDF-tampered"
    with pytest.raises(IntegrityError):
        tcheck.validate_with_bagit(files, PID)
    assert _my_copies() == before  # the plaintext copy is gone even though validation failed


def test_copy_left_by_a_killed_import_is_swept(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pid = int(dead.stdout)
    stale = tmp_path / f"{tcheck.TMP_PREFIX}{pid}-abc"
    (stale / PID / "data").mkdir(parents=True)
    (stale / PID / "data" / "record.json").write_text('{"姓名": "叶莹丽"}', encoding="utf-8")
    mine = tmp_path / f"{tcheck.TMP_PREFIX}{os.getpid()}-live"  # a live owner: left alone
    mine.mkdir()
    other = tmp_path / "guanai-bag-notapid"
    other.mkdir()
    assert privtmp.sweep_stale(str(tmp_path)) == 1
    assert not stale.exists() and mine.exists() and other.exists()


def test_sigterm_during_bagit_validation_wipes_the_copy(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "inside"
    script = f"""
import sys, time
import bagit
from pathlib import Path
import test_transfer_package as t
from guanai.archive.transfer import bagit_check as tcheck
def slow(self, **kw):
    Path({str(marker)!r}).write_text(str(self.path))
    time.sleep(30)
bagit.Bag.validate = slow
tcheck.validate_with_bagit(dict(t.read_files(t.bag_bytes())), t.PID)
"""
    errlog = tmp_path / "stderr.txt"
    with open(errlog, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parent,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.time() + 60
        while not marker.exists() or not marker.read_text():
            assert proc.poll() is None, errlog.read_text()
            assert time.time() < deadline
            time.sleep(0.05)
        copy = Path(marker.read_text()).parent
        assert copy.name.startswith(tcheck.TMP_PREFIX) and (copy / PID / "bagit.txt").exists()
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM
    assert not copy.exists()  # no plaintext of the bag left behind


# ---- envelope -----------------------------------------------------------------------------------


def seal(bag: bytes | None = None, recipient: Identity = RECIPIENT, sender: Identity = SENDER) -> bytes:
    return tenv.seal_package(bag or bag_bytes(), package_id=PID, created_at="2026-11-29T00:00:00+00:00",
                            purpose="转学", sender=sender, recipient=recipient.card, children=1, documents=3)


def test_envelope_round_trip() -> None:
    data = seal()
    env = tenv.parse_envelope(data)
    assert env.package_id == PID and env.sender["code"] == SENDER.card.code
    assert env.sha256 == hashlib.sha256(data).hexdigest()
    tenv.verify_envelope(env, data, SENDER.card)
    assert tenv.open_envelope(env, RECIPIENT) == bag_bytes()  # build_bag is deterministic
    # the inner bag is not visible in the file
    assert b"bagit.txt" not in data and "叶莹丽".encode() not in data


def test_envelope_wrong_recipient_and_wrong_signer() -> None:
    data = seal()
    env = tenv.parse_envelope(data)
    with pytest.raises(InputError, match="不是本校"):
        tenv.open_envelope(env, OTHER)
    with pytest.raises(IntegrityError, match="指纹与县级目录不符"):
        tenv.verify_envelope(env, data, OTHER.card)
    # a package signed by OTHER but claiming to be SENDER: fingerprint in header is OTHER's
    forged = seal(sender=OTHER)
    fenv = tenv.parse_envelope(forged)
    with pytest.raises(IntegrityError):
        tenv.verify_envelope(fenv, forged, SENDER.card)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_any_flipped_byte_is_detected(pos: int, delta: int) -> None:
    data = bytearray(SEALED)
    i = pos % len(data)
    data[i] = (data[i] + delta) % 256
    with pytest.raises((IntegrityError, FormatError, InputError)):
        env = tenv.parse_envelope(bytes(data))
        tenv.verify_envelope(env, bytes(data), SENDER.card)
        tenv.open_envelope(env, RECIPIENT)


SEALED = seal()


def test_truncation_and_header_swap_detected() -> None:
    for cut in (1, 64, len(SEALED) // 2, len(SEALED) - 10):
        with pytest.raises((IntegrityError, FormatError)):
            env = tenv.parse_envelope(SEALED[:cut])
            tenv.verify_envelope(env, SEALED[:cut], SENDER.card)
    # re-sign a payload under a different header: HPKE info binds the header, so decryption fails
    env = tenv.parse_envelope(SEALED)
    header = dict(env.header, purpose="升学")
    hb = canonical_json(header)
    body = tenv.MAGIC + struct.pack(">I", len(hb)) + hb + struct.pack(">Q", len(env.payload)) + env.payload
    resigned = body + SENDER.sign("gtp", hashlib.sha512(body).digest())
    renv = tenv.parse_envelope(resigned)
    tenv.verify_envelope(renv, resigned, SENDER.card)  # the (honest) sender's signature is fine...
    with pytest.raises(IntegrityError, match="无法解密"):
        tenv.open_envelope(renv, RECIPIENT)  # ...but the payload does not belong to that header


def test_oversized_and_unknown_version() -> None:
    with pytest.raises(InputError, match="过大"):
        tenv.parse_envelope(SEALED, Limits(max_package=1000))
    v2 = bytearray(SEALED)
    v2[7] = 2
    with pytest.raises(FormatError, match="版本 2"):
        tenv.parse_envelope(bytes(v2))
    with pytest.raises(FormatError, match="不是转接包"):
        tenv.parse_envelope(b"PK\x03\x04" + b"\x00" * 200)


# ---- receipts -----------------------------------------------------------------------------------


def test_receipt_signed_and_tamper_evident() -> None:
    body = {"package_id": PID, "package_sha256": "ab" * 32, "decision": "accepted", "reason": None,
            "sender": {"code": SENDER.card.code}}
    data = trcpt.make_receipt(RECIPIENT, body)
    rc = trcpt.parse_receipt(data)
    assert rc.package_id == PID and rc.body["package_sha256"] == "ab" * 32
    trcpt.verify_receipt(rc, RECIPIENT.card)
    obj = json.loads(data)
    obj["body"]["decision"] = "rejected"
    with pytest.raises(IntegrityError, match="签名无效"):
        trcpt.verify_receipt(trcpt.parse_receipt(json.dumps(obj).encode()), RECIPIENT.card)
    with pytest.raises(IntegrityError):
        trcpt.verify_receipt(rc, OTHER.card)
    with pytest.raises(FormatError):
        trcpt.parse_receipt(b"{}")
