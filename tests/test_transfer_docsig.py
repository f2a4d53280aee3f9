"""Authenticity that travels: every PDF a transfer carries is signed by the sending school (PAdES,
generators/sign.py through the archive's PdfSigner seam) and checked by the receiver against its
county directory; `doc get --sign` / `open --sign`. Adversarial cases: a tampered package, a
tampered extracted PDF, a PDF signed by a school outside the directory, an impostor, a signed PDF
altered before export (never re-signed to launder it), a package from an older sender."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from transfer_helpers import (
    CODE_A,
    CODE_B,
    CODE_X,
    NAME_A,
    PASS_A,
    PASS_B,
    Scenario,
    _scenario_template,
    doc_bytes,
    scenario,
)

from guanai.archive.documents import export_documents
from guanai.archive.transfer import accept, export_package, inspect_package, open_package
from guanai.archive.transfer.directory import held_directory
from guanai.base.errors import InputError, IntegrityError
from guanai.cli.main import cli
from guanai.generators.sign import check_document, pdf_signer, sign_archive_pdf, verify_pdf
from guanai.generators.slip import render_slip

__all__ = ["scenario", "_scenario_template"]

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def plain_pdf(title: str = "测试") -> bytes:
    """A small PDF made without LibreOffice (pypdf): signing is the point here, not typesetting."""
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(width=595, height=842)
    w.add_metadata({"/Title": title, "/Producer": "pypdf"})
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def run(path: Path, passphrase: str, *args: str, user: str = "admin") -> Result:
    env = {"GUANAI_ARCHIVE": str(path), "GUANAI_PASSPHRASE": passphrase, "GUANAI_USER": user}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def put(arc: Any, child_id: str, title: str, content: bytes, filename: str = "文书.pdf",
        mime: str = "application/pdf") -> str:
    return str(arc.put_document(kind="attachment", title=title, content=content, filename=filename, mime=mime,
                                child_id=child_id))


def child_with_documents(s: Scenario, extra: dict[str, bytes] | None = None) -> tuple[str, dict[str, bytes]]:
    """Child 0 of sender A gets: a plain PDF, a PDF A signed before (generate --sign), a .docx.
    (It already holds three fake, unreadable "PDFs" from the scenario.) Returns (child id, originals)."""
    cid = s.child_ids[0]
    docs = {"通报": plain_pdf("通报")}
    with s.open_a() as arc:
        docs["已签名的报告"] = sign_archive_pdf(arc, plain_pdf("报告"))
        docs.update(extra or {})
        for title, content in docs.items():
            put(arc, cid, title, content)
        put(arc, cid, "家访记录", b"PK\x03\x04 not really a docx", "家访记录.docx", DOCX_MIME)
    return cid, docs


def export_a(s: Scenario, out: Path, cid: str, *, sign: bool = True) -> Any:
    with s.open_a() as arc:
        return export_package(arc, [cid], CODE_B, out, render_slip=render_slip,
                              sign=pdf_signer(arc, reason="档案转接") if sign else None)


def carried(opened: Any) -> dict[str, Any]:
    return {d.meta["title"]: d for c in opened.contents.children for d in c.documents}


# --------------------------------------------------------------------------- library


def test_export_signs_every_pdf_and_the_receiver_checks_each(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    cid, originals = child_with_documents(s)
    res = export_a(s, tmp_path / "p.gtp", cid)
    # 1 plain PDF signed now, 1 already signed (kept as is), 3 fake PDFs that cannot be signed
    assert res.signatures == {"pdfs": 5, "signed": 1, "kept": 1, "failed": 3, "off": 0}
    assert len(res.sign_problems) == 3 and all(p.code == "transfer.sign_failed" for p in res.sign_problems)
    assert res.to_json()["pdf_signatures"]["signed"] == 1
    with s.open_b() as arc:
        opened = open_package(arc, tmp_path / "p.gtp", check_document=check_document)
        docs = carried(opened)
        # the sender's claims travel in documents.json ...
        assert docs["通报"].meta["pdf_signature"] == "signed"
        assert docs["已签名的报告"].meta["pdf_signature"] == "kept"
        assert "家访记录" in docs and "pdf_signature" not in docs["家访记录"].meta
        # ... but the verdicts are the receiver's own
        assert docs["通报"].check.status == "valid" and NAME_A in docs["通报"].check.signers[0]
        assert docs["已签名的报告"].check.status == "valid"
        assert docs["已签名的报告"].content == originals["已签名的报告"]  # kept byte for byte, not re-signed
        assert docs["通报"].content.startswith(originals["通报"])  # an incremental signature
        assert docs["家访记录"].check is None
        counts = opened.signatures
        assert counts == {"pdfs": 5, "signed": 2, "valid": 2, "invalid": 0, "unsigned": 0, "unreadable": 3}
        assert len(opened.not_authentic) == 3  # the unreadable ones are never shown as authentic
        summary = opened.summary()
        assert summary["pdf_signatures"] == counts
        result = accept(arc, opened)
        assert result.pdf_signatures == counts
        stored = {e.title: e for e in arc.list_documents(child_id=result.child_ids[0])}
        meta = stored["通报"].meta["transfer"]
        assert meta["pdf_signature"]["status"] == "valid" and meta["sender_signature"] == "signed"
        got = arc.read_document(stored["通报"].id)
        directory = held_directory(arc)
    # the PDF taken out of the receiving archive still proves where it came from
    [report] = verify_pdf(got, directory)
    assert report.ok and report.school_code == CODE_A


def test_slip_marks_the_signed_documents(scenario: Scenario, tmp_path: Path) -> None:
    from guanai.archive.transfer.slip import Slip

    s = scenario
    cid, _ = child_with_documents(s)
    seen: list[Slip] = []

    def spy(slip: Slip) -> bytes:
        seen.append(slip)
        return render_slip(slip)

    with s.open_a() as arc:
        export_package(arc, [cid], CODE_B, tmp_path / "p.gtp", render_slip=spy, sign=pdf_signer(arc))
    notes = {r.title: r.signature for r in seen[0].rows}
    assert notes["通报"] == "已加本校数字签名" and notes["已签名的报告"] == "带原有数字签名"
    assert notes["家访记录"] == ""
    from guanai.generators.slip import slip_context

    labels = [r["label"] for r in slip_context(seen[0])["rows"]]
    assert any(lb.startswith("通报（attachment）【已加本校数字签名】") for lb in labels), labels


def test_without_signer_documents_are_marked_off_and_reported_unsigned(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    cid, _ = child_with_documents(s)
    res = export_a(s, tmp_path / "p.gtp", cid, sign=False)
    assert res.signatures["off"] == 5 and res.signatures["signed"] == 0
    with s.open_b() as arc:
        opened = open_package(arc, tmp_path / "p.gtp", check_document=check_document)
    docs = carried(opened)
    assert docs["通报"].check.status == "unsigned" and not docs["通报"].check.authentic
    assert docs["已签名的报告"].check.status == "valid"  # its own earlier signature still stands


def test_package_from_an_older_sender_imports_and_is_reported_unsigned(
        scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sender before document signatures: no pdf_signature field at all, PDFs unsigned."""
    import guanai.archive.transfer.outgoing as outgoing

    s = scenario
    cid = s.child_ids[0]
    with s.open_a() as arc:
        put(arc, cid, "旧通报", plain_pdf("旧通报"))
    monkeypatch.setattr(outgoing, "sign_documents", lambda children, sign: [])
    export_a(s, tmp_path / "old.gtp", cid)
    with s.open_b() as arc:
        info = inspect_package(arc, tmp_path / "old.gtp", check_document=check_document)
        docs = {d["title"]: d for c in info["contents"] for d in c["documents"]}
        assert docs["旧通报"]["sender_signature"] is None
        assert docs["旧通报"]["signature"]["status"] == "unsigned"
        assert info["pdf_signatures"]["unsigned"] == 1 and info["pdf_signatures"]["signed"] == 0
        opened = open_package(arc, tmp_path / "old.gtp", check_document=check_document)
        result = accept(arc, opened)
        assert result.decision == "accepted" and len(result.child_ids) == 1
        stored = {e.title: e for e in arc.list_documents(child_id=result.child_ids[0])}
        assert stored["旧通报"].meta["transfer"]["pdf_signature"]["status"] == "unsigned"
        assert "sender_signature" not in stored["旧通报"].meta["transfer"]


def test_pdf_signed_by_a_school_outside_the_directory_is_reported_invalid(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with s.open_x() as arc:
        foreign = sign_archive_pdf(arc, plain_pdf("外校通知"))
    cid, _ = child_with_documents(s, {"外校通知": foreign})
    res = export_a(s, tmp_path / "p.gtp", cid)
    assert res.signatures["kept"] == 2  # A does not sign over another school's signature
    with s.open_b() as arc:
        opened = open_package(arc, tmp_path / "p.gtp", check_document=check_document)
        check = carried(opened)["外校通知"].check
        assert check.status == "invalid" and not check.authentic
        assert any(CODE_X in p and "不在县级学校目录" in p for p in check.problems)
        assert any("外校通知" in p.where and p.code == "transfer.pdf_signature.invalid" for p in opened.not_authentic)
        result = accept(arc, opened)  # the dossier still moves with the child ...
        stored = {e.title: e for e in arc.list_documents(child_id=result.child_ids[0])}
    # ... but the document is recorded as not authentic, never as authentic
    sig = stored["外校通知"].meta["transfer"]["pdf_signature"]
    assert sig["status"] == "invalid" and sig["authentic"] is False


def test_signed_pdf_altered_before_export_is_not_laundered(scenario: Scenario, tmp_path: Path) -> None:
    """A signed PDF with a page added after signing: the sender keeps it as it is (does not sign
    over it) and the receiver reports the first signature as not covering the file."""
    from pypdf import PdfWriter

    s = scenario
    with s.open_a() as arc:
        signed = sign_archive_pdf(arc, plain_pdf("原件"))
    w = PdfWriter(io.BytesIO(signed), incremental=True)
    w.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    w.write(buf)
    cid, _ = child_with_documents(s, {"改过的原件": buf.getvalue()})
    res = export_a(s, tmp_path / "p.gtp", cid)
    assert res.signatures["kept"] == 2
    with s.open_b() as arc:
        check = carried(open_package(arc, tmp_path / "p.gtp", check_document=check_document))["改过的原件"].check
    assert check.status == "invalid" and any("追加" in p for p in check.problems)


def test_impostor_signature_in_a_package_is_invalid(scenario: Scenario, tmp_path: Path) -> None:
    from guanai.archive.store import Archive, init_archive

    fake = tmp_path / "fake"
    init_archive(fake, school_code=CODE_A, school_name=NAME_A, passphrase=PASS_A)
    with Archive.open(fake, user="admin", passphrase=PASS_A, write=True) as arc:
        forged = sign_archive_pdf(arc, plain_pdf("冒名通知"))
    s = scenario
    cid, _ = child_with_documents(s, {"冒名通知": forged})
    export_a(s, tmp_path / "p.gtp", cid)
    with s.open_b() as arc:
        check = carried(open_package(arc, tmp_path / "p.gtp", check_document=check_document))["冒名通知"].check
    assert check.status == "invalid" and any("不符" in p for p in check.problems)


def test_pdf_tampered_inside_the_package_is_refused(scenario: Scenario, tmp_path: Path) -> None:
    """One byte of a carried PDF changed in the .gtp: the envelope signature refuses the package
    before anything is decrypted or written."""
    s = scenario
    cid, _ = child_with_documents(s)
    out = tmp_path / "p.gtp"
    export_a(s, out, cid)
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = tmp_path / "bad.gtp"
    bad.write_bytes(bytes(data))
    with s.open_b() as arc:
        with pytest.raises(IntegrityError):
            open_package(arc, bad, check_document=check_document)
        assert arc.list_children() == []
    res = run(s.b, PASS_B, "transfer", "import", str(bad), "--accept", "--yes")
    assert res.exit_code == 6 and "Traceback" not in res.output


def test_signing_a_non_pdf_or_damaged_pdf(scenario: Scenario) -> None:
    with scenario.open_a() as arc:
        sign = pdf_signer(arc)
        with pytest.raises(InputError):
            sign(b"PK\x03\x04")
        with pytest.raises(InputError):
            sign(doc_bytes(1))  # "%PDF-1.7" followed by noise
        signed = sign(plain_pdf())
        assert signed is not None and sign(signed) is None  # already signed: left as it is


def test_check_document_verdicts(scenario: Scenario) -> None:
    with scenario.open_b(write=False) as arc:
        directory = held_directory(arc)
    assert directory is not None
    with scenario.open_a() as arc:
        good = sign_archive_pdf(arc, plain_pdf())
    assert check_document(good, directory).status == "valid"
    assert check_document(plain_pdf(), directory).status == "unsigned"
    bad = bytearray(good)
    bad[len(plain_pdf()) // 2] ^= 0x01
    try:
        verdict = check_document(bytes(bad), directory).status
    except InputError:
        verdict = "unreadable"
    assert verdict in ("invalid", "unreadable")


# --------------------------------------------------------------------------- CLI: transfer


def test_cli_export_signs_by_default_and_import_reports(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    cid, _ = child_with_documents(s)
    out = tmp_path / "张小明.gtp"
    res = run(s.a, PASS_A, "transfer", "export", cid, "--to", CODE_B, "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "PDF 文书 5 件，本校签名 1 件，原有签名保留 1 件，未能签名 3 件" in res.output
    assert "未能签名，按原样转出" in res.output
    res = run(s.b, PASS_B, "transfer", "inspect", str(out))
    assert res.exit_code == 0, res.output
    assert "有签名 2 件，有效 2 件，无效 0 件，未签名 0 件，无法读取 3 件" in res.output
    assert "[签名有效]" in res.output and "[无法读取]" in res.output
    info = json.loads(run(s.b, PASS_B, "transfer", "inspect", str(out), "--json").output)
    assert info["pdf_signatures"]["valid"] == 2
    res = run(s.b, PASS_B, "transfer", "import", str(out), "--accept", "--yes", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output[res.output.index("{"):]) if not res.output.startswith("{") else json.loads(res.output)
    docs = {d["title"]: d for c in data["children"] for d in c["documents"]}
    assert docs["通报"]["signature"]["status"] == "valid" and docs["通报"]["sender_signature"] == "signed"
    assert docs["家访记录"]["signature"] is None
    assert data["pdf_signatures"] == {"pdfs": 5, "signed": 2, "valid": 2, "invalid": 0, "unsigned": 0,
                                      "unreadable": 3}
    assert len(data["pdf_signature_problems"]) == 3


def test_cli_export_no_sign_and_json(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    cid, _ = child_with_documents(s)
    out = tmp_path / "p.gtp"
    res = run(s.a, PASS_A, "transfer", "export", cid, "--to", CODE_B, "-o", str(out), "--no-sign", "--json")
    assert res.exit_code == 0, res.output
    [r] = json.loads(res.output)
    assert r["pdf_signatures"] == {"pdfs": 5, "signed": 0, "kept": 0, "failed": 0, "off": 5}
    res = run(s.b, PASS_B, "transfer", "import", str(out), "--accept", "--yes")
    assert res.exit_code == 0, res.output
    assert "未签名 1 件" in res.output and "有效 1 件" in res.output  # the earlier signed report still valid


def _package_with_a_foreign_signature(s: Scenario, tmp_path: Path) -> Path:
    """A package from school A carrying a PDF signed by school X (not in the directory)."""
    with s.open_x() as arc:
        foreign = sign_archive_pdf(arc, plain_pdf("外校通知"))
    cid, _ = child_with_documents(s, {"外校通知": foreign})
    out = tmp_path / "p.gtp"
    assert run(s.a, PASS_A, "transfer", "export", cid, "--to", CODE_B, "-o", str(out)).exit_code == 0
    return out


def test_cli_import_warns_about_a_foreign_signature(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    out = _package_with_a_foreign_signature(s, tmp_path)
    res = run(s.b, PASS_B, "transfer", "import", str(out), "--accept", "--yes")
    assert res.exit_code == 0, res.output
    assert "警告：" in res.output and "外校通知" in res.output and "签名无效" in res.output
    assert "不能证明文书来源" in res.output and "已在档案中如实标记" in res.output


def test_cli_extracted_pdf_tampered_fails_doc_verify(scenario: Scenario, tmp_path: Path) -> None:
    """The file path: take a signed PDF out of the receiving archive, change one byte, verify."""
    s = scenario
    cid, originals = child_with_documents(s)
    out = tmp_path / "p.gtp"
    assert run(s.a, PASS_A, "transfer", "export", cid, "--to", CODE_B, "-o", str(out)).exit_code == 0
    assert run(s.b, PASS_B, "transfer", "import", str(out), "--accept", "--yes").exit_code == 0
    with s.open_b(write=False) as arc:
        [doc] = [e for e in arc.list_documents() if e.title == "通报"]
    got = tmp_path / "通报.pdf"
    res = run(s.b, PASS_B, "doc", "get", doc.id, "-o", str(got))
    assert res.exit_code == 0, res.output
    res = run(s.b, PASS_B, "doc", "verify", str(got))
    assert res.exit_code == 0 and "结论：可信" in res.output and NAME_A in res.output
    bad = bytearray(got.read_bytes())
    bad[len(originals["通报"]) // 2] ^= 0x01
    tampered = tmp_path / "改过.pdf"
    tampered.write_bytes(bytes(bad))
    res = run(s.b, PASS_B, "doc", "verify", str(tampered))
    assert res.exit_code in (2, 6) and "Traceback" not in res.output
    assert "结论：可信" not in res.output


def test_cli_export_by_destination_signs(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with s.open_a() as arc:
        cohort = [e for e in arc.list_children() if e.status == "在册"]
        grade = cohort[0].record.grade
        members = [e for e in cohort if e.record.grade == grade]
        put(arc, members[0].id, "升学通报", plain_pdf("升学通报"))
    mapping = tmp_path / "去向.csv"
    mapping.write_text("".join(f"{e.record.student_id},{CODE_B}\n" for e in members), encoding="utf-8")
    res = run(s.a, PASS_A, "transfer", "export", "--grade", str(grade), "--by-destination", str(tmp_path / "升学"),
              "--mapping", str(mapping), "--json")
    assert res.exit_code == 0, res.output
    [r] = json.loads(res.output)
    assert r["pdf_signatures"]["signed"] == 1
    with s.open_b() as arc:
        opened = open_package(arc, Path(r["path"]), check_document=check_document)
    assert carried(opened)["升学通报"].check.status == "valid"


def test_transfer_help_mentions_signing() -> None:
    res = CliRunner().invoke(cli, ["transfer", "export", "--help"])
    assert res.exit_code == 0 and "--no-sign" in res.output and "示例：" in res.output and "数字签名" in res.output


# --------------------------------------------------------------------------- doc get / open --sign


@pytest.mark.parametrize("cmd", [["doc", "get"], ["open"]])
def test_get_sign_help(cmd: list[str]) -> None:
    res = CliRunner().invoke(cli, [*cmd, "--help"])
    assert res.exit_code == 0 and "--sign" in res.output and "示例：" in res.output and "--sign" in res.output.split("示例：")[1]


@pytest.mark.parametrize("cmd", [["doc", "get"], ["open"]])
def test_get_sign_writes_a_signed_pdf(scenario: Scenario, tmp_path: Path, cmd: list[str]) -> None:
    s = scenario
    pdf = plain_pdf("通报")
    with s.open_a() as arc:
        doc_id = put(arc, s.child_ids[1], "通报", pdf)
    out = tmp_path / "通报.pdf"
    res = run(s.a, PASS_A, *cmd, doc_id[:8], "-o", str(out), "--sign")
    assert res.exit_code == 0, res.output
    assert f"已导出：{out}（已加本校签名）" in res.output and "数字签名：本次签名 1 份" in res.output
    signed = out.read_bytes()
    assert signed.startswith(pdf) and len(signed) > len(pdf)
    with s.open_b(write=False) as arc:
        [report] = verify_pdf(signed, held_directory(arc))
    assert report.ok and report.school_code == CODE_A
    # without --sign: the stored bytes, unsigned
    plain = tmp_path / "原件.pdf"
    assert run(s.a, PASS_A, *cmd, doc_id[:8], "-o", str(plain)).exit_code == 0
    assert plain.read_bytes() == pdf


def test_get_sign_keeps_an_already_signed_pdf(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with s.open_a() as arc:
        signed = sign_archive_pdf(arc, plain_pdf())
        doc_id = put(arc, s.child_ids[1], "已签名", signed)
    out = tmp_path / "x.pdf"
    res = run(s.a, PASS_A, "doc", "get", doc_id, "-o", str(out), "--sign")
    assert res.exit_code == 0 and "已有签名，原样导出" in res.output, res.output
    assert out.read_bytes() == signed


def test_get_sign_refuses_a_docx_and_writes_nothing(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with s.open_a() as arc:
        doc_id = put(arc, s.child_ids[1], "家访记录", b"PK\x03\x04 docx", "家访记录.docx", DOCX_MIME)
    out = tmp_path / "x.docx"
    res = run(s.a, PASS_A, "doc", "get", doc_id, "-o", str(out), "--sign")
    assert res.exit_code == 2 and "都不是 PDF" in res.output and "去掉 --sign" in res.output
    assert not out.exists()


def test_get_sign_damaged_pdf_writes_nothing(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with s.open_a() as arc:
        good = put(arc, s.child_ids[1], "好的", plain_pdf())
        broken = put(arc, s.child_ids[1], "坏的", doc_bytes(5))
    res = run(s.a, PASS_A, "doc", "get", good, broken, "-o", str(tmp_path / "导出") + "/", "--sign")
    assert res.exit_code == 2 and "坏的" in res.output and "无法签名" in res.output
    assert not any((tmp_path / "导出").glob("*"))  # the good one was not written either


def test_get_sign_dossier_json(scenario: Scenario, tmp_path: Path) -> None:
    """A dossier is never refused: its unreadable old "PDFs" are written as stored and listed."""
    s = scenario
    cid, _ = child_with_documents(s, None)
    res = run(s.a, PASS_A, "doc", "get", "--child", cid, "-o", str(tmp_path / "档案"), "--sign", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    outcomes = sorted(data["signatures"].values())
    assert outcomes == ["failed", "failed", "failed", "kept", "not_pdf", "signed"]
    assert len(data["sign_problems"]) == 3 and len(data["files"]) == 6
    res = run(s.a, PASS_A, "doc", "get", "--child", cid, "-o", str(tmp_path / "档案2"), "--sign")
    assert res.exit_code == 0, res.output
    assert "（已加本校签名）" in res.output and "（已有签名，原样导出）" in res.output
    assert "（无法签名，原样导出）" in res.output and "警告：" in res.output and "本次签名 1 份，原有签名 1 份" in res.output


def test_get_sign_needs_write_permission(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with s.open_a() as arc:
        doc_id = put(arc, s.child_ids[1], "通报", plain_pdf())
        arc.add_user("督查员", "inspector", "督查员口令-inspect 2026")
    res = run(s.a, "督查员口令-inspect 2026", "doc", "get", doc_id, "-o", str(tmp_path / "x.pdf"), "--sign",
              user="督查员")
    assert res.exit_code == 5 and "写入" in res.output
    assert not (tmp_path / "x.pdf").exists()
    # reading without signing stays open to the inspector
    res = run(s.a, "督查员口令-inspect 2026", "doc", "get", doc_id, "-o", str(tmp_path / "x.pdf"), user="督查员")
    assert res.exit_code == 0, res.output


def test_export_documents_library_sign(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with s.open_a() as arc:
        a = put(arc, s.child_ids[1], "甲", plain_pdf())
        b = put(arc, s.child_ids[1], "乙", b"PK\x03\x04", "乙.docx", DOCX_MIME)
        paths = export_documents(arc, [a, b], tmp_path / "out", sign=pdf_signer(arc))
    assert sorted(paths.signature.values()) == ["not_pdf", "signed"]
    assert len(paths) == 2 and all(p.exists() for p in paths)


# --------------------------------------------------------------------------- PDF/A and poppler


@pytest.fixture(scope="module")
def lo_pdf() -> bytes:
    from gen_helpers import sample

    from guanai.generators.pdf import convert_one
    from guanai.generators.render import render

    return convert_one(render("circular", sample("circular")))


@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) not installed")
def test_carried_pdfa_stays_pdfa_and_pdfsig_validates(scenario: Scenario, lo_pdf: bytes, tmp_path: Path) -> None:
    from guanai.generators.pdf import pdfa_claim
    from guanai.generators.pdfa import check_pdfa

    s = scenario
    cid = s.child_ids[2]
    with s.open_a() as arc:
        put(arc, cid, "通报（PDF/A）", lo_pdf)
    out = tmp_path / "p.gtp"
    assert run(s.a, PASS_A, "transfer", "export", cid, "--to", CODE_B, "-o", str(out)).exit_code == 0
    with s.open_b() as arc:
        opened = open_package(arc, out, check_document=check_document)
        doc = carried(opened)["通报（PDF/A）"]
        assert doc.check.status == "valid"
        accept(arc, opened)
        [entry] = [e for e in arc.list_documents() if e.title == "通报（PDF/A）"]
    got = tmp_path / "got.pdf"
    res = run(s.b, PASS_B, "doc", "get", entry.id, "-o", str(got))
    assert res.exit_code == 0, res.output
    data = got.read_bytes()
    assert data.startswith(lo_pdf) and pdfa_claim(data) == "2B"
    assert check_pdfa(data) == []  # still PDF/A-2b after the transfer's signature
    text = subprocess.run(["pdfsig", str(got)], capture_output=True, text=True, timeout=60).stdout
    assert "Signature is Valid." in text and NAME_A in text and "Total document signed" in text


def test_cli_import_question_names_the_flagged_documents(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    cid, _ = child_with_documents(s)
    out = tmp_path / "p.gtp"
    assert run(s.a, PASS_A, "transfer", "export", cid, "--to", CODE_B, "-o", str(out)).exit_code == 0
    env = {"GUANAI_ARCHIVE": str(s.b), "GUANAI_PASSPHRASE": PASS_B, "GUANAI_USER": "admin"}
    res = CliRunner().invoke(cli, ["transfer", "import", str(out)], env=env, input="n\n", catch_exceptions=False)
    assert res.exit_code == 1 and "其中 3 份 PDF 的签名无效或无法核验，将如实标记" in res.output
    assert "未导入任何内容" in res.output
    with s.open_b(write=False) as arc:
        assert arc.list_children() == []


def test_show_tells_the_verdict_recorded_at_import(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    out = _package_with_a_foreign_signature(s, tmp_path)
    assert run(s.b, PASS_B, "transfer", "import", str(out), "--accept", "--yes").exit_code == 0
    with s.open_b(write=False) as arc:
        ids = {e.title: e.id for e in arc.list_documents()}
    res = run(s.b, PASS_B, "show", ids["外校通知"])
    assert res.exit_code == 0 and "转入时签名核验：签名无效" in res.output and "不能证明文书来源" in res.output
    res = run(s.b, PASS_B, "show", ids["通报"])
    assert res.exit_code == 0 and f"转入时签名核验：签名有效（{NAME_A}（{CODE_A}））" in res.output
