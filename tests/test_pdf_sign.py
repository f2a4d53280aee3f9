"""PAdES signatures bound to the school identity in the county directory (generators/sign.py):
sign, verify with pyHanko and poppler's pdfsig, and every way of breaking it."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from transfer_helpers import (
    CODE_A,
    CODE_X,
    NAME_A,
    PASS_A,
    PASS_B,
    PASS_C,
    Scenario,
    _scenario_template,
    scenario,
)

from guanai.archive.store import Archive, init_archive
from guanai.archive.transfer.directory import held_directory, import_directory, publish, revoke
from guanai.base.errors import InputError
from guanai.cli.main import cli
from guanai.generators.sign import (
    SETTING,
    get_signing_key,
    new_signing_key,
    read_binding,
    sign_archive_pdf,
    sign_pdf,
    verify_pdf,
)

__all__ = ["scenario", "_scenario_template"]


def plain_pdf() -> bytes:
    """A small PDF made without LibreOffice (pypdf), so these tests run everywhere."""
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(width=595, height=842)
    w.add_metadata({"/Title": "测试", "/Producer": "pypdf"})
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def signed_by_a(s: Scenario, pdf: bytes | None = None) -> bytes:
    with s.open_a() as arc:
        return sign_archive_pdf(arc, pdf or plain_pdf())


def directory_of_b(s: Scenario):  # type: ignore[no-untyped-def]
    with s.open_b(write=False) as arc:
        return held_directory(arc)


def test_signed_pdf_verifies_and_names_the_school(scenario: Scenario) -> None:
    pdf = plain_pdf()
    signed = signed_by_a(scenario, pdf)
    assert signed.startswith(pdf)  # incremental: the original bytes are an unchanged prefix
    [report] = verify_pdf(signed, directory_of_b(scenario))
    assert report.ok and report.intact and report.valid and report.whole_file and report.bound
    assert report.directory == "known" and report.school_code == CODE_A and report.school_name == NAME_A
    assert report.signer == NAME_A and report.problems == []


def test_signing_key_is_made_once_sealed_and_bound(scenario: Scenario) -> None:
    with scenario.open_a() as arc:
        first = get_signing_key(arc)
        again = get_signing_key(arc)
        raw = arc.get_setting(SETTING) or b""
        from guanai.archive.transfer.identity import get_identity

        card = get_identity(arc).card
    assert first.cert_der == again.cert_der
    binding = read_binding(first.cert)
    assert binding["code"] == CODE_A and binding["card"] == card.fingerprint and binding["sign_key"] == card.sign_key.hex()
    # the setting is sealed by the archive: no file of it holds the private scalar or its hex in clear
    secret = first.key.private_numbers().private_value.to_bytes(32, "big")
    assert json.loads(raw)["key"]
    for f in scenario.a.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert secret not in data and secret.hex().encode() not in data, f


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_one_byte_tampered_breaks_the_signature(scenario: Scenario, where: str) -> None:
    pdf = plain_pdf()
    signed = bytearray(signed_by_a(scenario, pdf))
    at = {"start": 20, "middle": len(pdf) // 2, "end": len(signed) - 40}[where]
    signed[at] ^= 0x01
    try:
        reports = verify_pdf(bytes(signed), directory_of_b(scenario))
    except InputError:
        return  # the damaged file no longer parses: refused, not accepted
    assert reports and not any(r.ok for r in reports), [r.to_dict() for r in reports]


def test_changed_signature_value_breaks_it(scenario: Scenario) -> None:
    """A byte changed inside the CMS signature itself (the /Contents hole the digest skips)."""
    signed = signed_by_a(scenario)
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", signed)
    assert m is not None
    hole_start, hole_end = int(m.group(2)), int(m.group(3))
    der_hex = signed[hole_start + 1 : hole_end - 1].rstrip(b"0")  # the DER, without the zero padding
    bad = bytearray(signed)
    at = hole_start + 1 + len(der_hex) - 40  # inside the signature value near the end of the DER
    bad[at] = ord("0") if bad[at] != ord("0") else ord("1")
    try:
        reports = verify_pdf(bytes(bad), directory_of_b(scenario))
    except InputError:
        return
    assert reports and not any(r.ok for r in reports), [r.to_dict() for r in reports]


def test_truncated_pdf_is_refused(scenario: Scenario) -> None:
    signed = signed_by_a(scenario)
    try:
        reports = verify_pdf(signed[: len(signed) - 300], directory_of_b(scenario))
    except InputError:
        return
    assert not any(r.ok for r in reports)


def test_content_appended_after_signing_is_reported(scenario: Scenario) -> None:
    from pypdf import PdfWriter

    signed = signed_by_a(scenario)
    # an incremental update after the signature (a new page added by someone else)
    w = PdfWriter(io.BytesIO(signed), incremental=True)
    w.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    w.write(buf)
    [report] = verify_pdf(buf.getvalue(), directory_of_b(scenario))
    assert not report.ok and not report.whole_file
    assert any("追加" in p for p in report.problems)


def test_school_unknown_to_the_directory_is_not_trusted(scenario: Scenario) -> None:
    with scenario.open_x() as arc:
        signed = sign_archive_pdf(arc, plain_pdf())
    [report] = verify_pdf(signed, directory_of_b(scenario))
    assert report.intact and report.valid and report.bound  # a sound signature ...
    assert report.directory == "unknown" and not report.ok  # ... by a school the county never listed
    assert CODE_X in " ".join(report.problems)


def test_impostor_with_the_same_code_and_name_is_caught(scenario: Scenario, tmp_path: Path) -> None:
    fake = tmp_path / "fake"
    init_archive(fake, school_code=CODE_A, school_name=NAME_A, passphrase=PASS_A)
    with Archive.open(fake, user="admin", passphrase=PASS_A, write=True) as arc:
        signed = sign_archive_pdf(arc, plain_pdf())
    [report] = verify_pdf(signed, directory_of_b(scenario))
    assert report.bound and report.directory == "mismatch" and not report.ok


def test_revoked_school_is_not_trusted(scenario: Scenario) -> None:
    signed = signed_by_a(scenario)
    with scenario.open_county() as arc:
        revoke(arc, CODE_A, "测试吊销")
        directory, _ = publish(arc)
    with scenario.open_b() as arc:
        import_directory(arc, directory, county_fingerprint=scenario.county_fp)
    [report] = verify_pdf(signed, directory_of_b(scenario))
    assert report.directory == "revoked" and not report.ok


def test_without_a_directory_the_signature_is_checked_but_not_trusted(scenario: Scenario) -> None:
    [report] = verify_pdf(signed_by_a(scenario), None)
    assert report.intact and report.valid and report.bound and report.directory == "unchecked" and not report.ok


def test_certificate_whose_binding_names_another_key_is_not_bound(scenario: Scenario) -> None:
    # a binding copied from the real school's certificate into a certificate of another key
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    with scenario.open_a() as arc:
        real = get_signing_key(arc)
        from guanai.archive.transfer.identity import get_identity

        ident = get_identity(arc)
    other = new_signing_key(ident)
    ext = real.cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("2.25.161388028001061565499970606520663619873"))
    key = ec.generate_private_key(ec.SECP256R1())
    forged_cert = (x509.CertificateBuilder().subject_name(other.cert.subject).issuer_name(other.cert.subject)
                   .public_key(key.public_key()).serial_number(1).not_valid_before(other.cert.not_valid_before_utc)
                   .not_valid_after(other.cert.not_valid_after_utc).add_extension(ext.value, critical=False)
                   .sign(key, hashes.SHA256()))
    from guanai.generators.sign import SigningKey

    signed = sign_pdf(plain_pdf(), SigningKey(key, forged_cert))
    [report] = verify_pdf(signed, directory_of_b(scenario))
    assert not report.bound and not report.ok and report.directory == "unchecked"


def test_not_a_pdf_is_refused(scenario: Scenario) -> None:
    with pytest.raises(InputError):
        verify_pdf(b"PK\x03\x04 not a pdf")
    with scenario.open_a() as arc, pytest.raises(InputError):
        sign_archive_pdf(arc, b"hello")


def test_unsigned_pdf_has_no_reports() -> None:
    assert verify_pdf(plain_pdf()) == []


# --------------------------------------------------------------------------- CLI


def run(path: Path, passphrase: str, *args: str) -> Result:
    env = {"GUANAI_ARCHIVE": str(path), "GUANAI_PASSPHRASE": passphrase, "GUANAI_USER": "admin"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("cmd", [["doc", "sign"], ["doc", "verify"]])
def test_commands_have_chinese_help_with_example(cmd: list[str]) -> None:
    out = CliRunner().invoke(cli, [*cmd, "--help"]).output
    assert "示例：" in out and "guanai doc" in out


def test_cli_sign_then_verify(scenario: Scenario, tmp_path: Path) -> None:
    src = tmp_path / "通报.pdf"
    src.write_bytes(plain_pdf())
    res = run(scenario.a, PASS_A, "doc", "sign", str(src))
    assert res.exit_code == 0, res.output
    signed = tmp_path / "通报-已签名.pdf"
    assert signed.exists() and "已签名" in res.output and CODE_A in res.output
    # refuses to overwrite
    res = run(scenario.a, PASS_A, "doc", "sign", str(src))
    assert res.exit_code != 0 and "已存在" in res.output
    # the receiving school checks it against its county directory
    res = run(scenario.b, PASS_B, "doc", "verify", str(signed))
    assert res.exit_code == 0, res.output
    assert NAME_A in res.output and "县级目录中有此学校" in res.output and "结论：可信" in res.output
    data = json.loads(run(scenario.b, PASS_B, "doc", "verify", str(signed), "--json").output)
    assert data["ok"] and data["signatures"][0]["school_code"] == CODE_A
    # one byte of the signed content changed: exit 6 and says so
    bad = bytearray(signed.read_bytes())
    bad[len(src.read_bytes()) // 2] ^= 0x20
    tampered = tmp_path / "改过.pdf"
    tampered.write_bytes(bytes(bad))
    res = run(scenario.b, PASS_B, "doc", "verify", str(tampered))
    assert res.exit_code in (2, 6) and "Traceback" not in res.output
    assert "可信" not in res.output.replace("不可信", "")


def test_cli_verify_without_archive_checks_the_signature_only(scenario: Scenario, tmp_path: Path) -> None:
    signed = tmp_path / "s.pdf"
    signed.write_bytes(signed_by_a(scenario))
    res = run(tmp_path / "no-archive-here", "x", "doc", "verify", str(signed))
    assert res.exit_code == 6 and "未核对县级目录" in res.output and "有效" in res.output


def test_cli_verify_knows_its_own_school_without_a_directory(make_archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A school that has not imported the county directory still recognises its own signature —
    and only its own: another archive claiming the same code and name is not it."""
    own, pw = make_archive("own", school_code=CODE_A, school_name=NAME_A)
    other, pw2 = make_archive("impostor", school_code=CODE_A, school_name=NAME_A)
    with Archive.open(own, user="admin", passphrase=pw, write=True) as arc:
        signed_own = sign_archive_pdf(arc, plain_pdf())
    with Archive.open(other, user="admin", passphrase=pw2, write=True) as arc:
        signed_other = sign_archive_pdf(arc, plain_pdf())
    f = tmp_path / "本校.pdf"
    f.write_bytes(signed_own)
    res = run(own, pw, "doc", "verify", str(f))
    assert res.exit_code == 0 and "本校身份" in res.output and "结论：可信" in res.output, res.output
    assert re.search(r"签名时间 \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", res.output), res.output  # local time, readable
    data = json.loads(run(own, pw, "doc", "verify", str(f), "--json").output)
    assert data["ok"] and data["signatures"][0]["directory"] == "own"
    g = tmp_path / "冒名.pdf"
    g.write_bytes(signed_other)
    res = run(own, pw, "doc", "verify", str(g))
    assert res.exit_code == 6 and "未核对县级目录" in res.output and "结论：不可信" in res.output


def test_cli_verify_unsigned_pdf(tmp_path: Path) -> None:
    f = tmp_path / "plain.pdf"
    f.write_bytes(plain_pdf())
    res = run(tmp_path / "none", "x", "doc", "verify", str(f))
    assert res.exit_code == 6 and "没有数字签名" in res.output


# --------------------------------------------------------------------------- PDF/A and poppler


@pytest.fixture(scope="module")
def lo_pdf() -> bytes:
    from guanai.generators.pdf import convert_one
    from guanai.generators.render import render
    from tests.gen_helpers import sample

    return convert_one(render("circular", sample("circular")))


@pytest.mark.pdf
def test_pdfa_metadata_stays_consistent_after_signing(scenario: Scenario, lo_pdf: bytes) -> None:
    from pypdf import PdfReader

    from guanai.generators.pdf import pdfa_claim

    signed = signed_by_a(scenario, lo_pdf)
    assert pdfa_claim(signed) == "2B"  # the PDF/A identification survives the signature's update
    reader = PdfReader(io.BytesIO(signed))
    assert reader.metadata is not None and reader.xmp_metadata is not None
    info, xmp = reader.metadata, reader.xmp_metadata
    # Info and XMP agree: producer, title, author, creation date
    assert xmp.pdf_producer == info.get("/Producer") == "LibreOffice 7.4" or xmp.pdf_producer == info.get("/Producer")
    assert xmp.dc_title and xmp.dc_title.get("x-default") == info.get("/Title")
    assert xmp.dc_creator and xmp.dc_creator[0] == info.get("/Author")
    assert info.get("/ModDate") is None or xmp.xmp_modify_date is not None
    assert len(re.findall(rb"pdfaid:part", signed)) == len(re.findall(rb"pdfaid:part", lo_pdf))


@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) not installed")
def test_pdfsig_validates_and_sees_tampering(scenario: Scenario, lo_pdf: bytes, tmp_path: Path) -> None:
    good = tmp_path / "good.pdf"
    good.write_bytes(signed_by_a(scenario, lo_pdf))
    out = subprocess.run(["pdfsig", str(good)], capture_output=True, text=True, timeout=60).stdout
    assert "Signature is Valid." in out and NAME_A in out and "Total document signed" in out
    bad = bytearray(good.read_bytes())
    bad[len(lo_pdf) // 2] ^= 0x01
    broken = tmp_path / "bad.pdf"
    broken.write_bytes(bytes(bad))
    out = subprocess.run(["pdfsig", str(broken)], capture_output=True, text=True, timeout=60).stdout
    assert "Signature is Valid." not in out, out
    _ = PASS_C


@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig) not installed")
def test_visible_signature_over_the_date(scenario: Scenario, lo_pdf: bytes, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from guanai.generators.pdf import pdfa_claim
    from guanai.generators.sign import STAMP_FONT

    if not STAMP_FONT.is_file():
        pytest.skip("FandolFang not installed")
    with scenario.open_a() as arc:
        signed = sign_archive_pdf(arc, lo_pdf, visible=True)
    [report] = verify_pdf(signed, directory_of_b(scenario))
    assert report.ok and pdfa_claim(signed) == "2B"
    reader = PdfReader(io.BytesIO(signed))
    widgets = [a.get_object() for p in reader.pages for a in (p.get("/Annots") or [])
               if a.get_object().get("/FT") == "/Sig"]
    assert widgets and "/AP" in widgets[0]
    x1, y1, x2, y2 = (float(v) for v in widgets[0]["/Rect"])
    assert x2 - x1 > 100 and y2 - y1 > 30  # a real box ...
    text = reader.pages[-1].extract_text() if reader.pages[-1].get("/Annots") else ""
    assert text is not None
    f = tmp_path / "v.pdf"
    f.write_bytes(signed)
    out = subprocess.run(["pdfsig", str(f)], capture_output=True, text=True, timeout=60).stdout
    assert "Signature is Valid." in out


def _with_action(where: str) -> bytes:
    """A plain PDF whose open action, or a link on its page, runs something."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

    w = PdfWriter()
    page = w.add_blank_page(width=595, height=842)
    js = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")})
    launch = DictionaryObject({NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")})
    if where == "open":
        w._root_object[NameObject("/OpenAction")] = w._add_object(js)
    elif where == "link":
        link = DictionaryObject({NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
                                 NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 90, 40)]),
                                 NameObject("/A"): DictionaryObject({NameObject("/S"): NameObject("/URI"),
                                                                     NameObject("/URI"): TextStringObject("x"),
                                                                     NameObject("/Next"): launch})})
        page[NameObject("/Annots")] = ArrayObject([w._add_object(link)])
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


@pytest.mark.parametrize("where", ["open", "link"])
def test_no_signature_on_a_pdf_that_runs_something(scenario: Scenario, where: str) -> None:
    """The school's signature must not vouch for JavaScript or a launch action (even chained
    behind a harmless link)."""
    from guanai.generators.pdfa import active_content

    pdf = _with_action(where)
    assert active_content(pdf) and active_content(plain_pdf()) == []
    with scenario.open_a() as arc, pytest.raises(InputError, match="不为其签名"):
        sign_archive_pdf(arc, pdf)
