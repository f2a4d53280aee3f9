"""Hostile PDFs against the two parsers a received or linted PDF meets: the PDF/A check
(``generators.pdfa``, ``guanai lint``) and the signature check (``generators.sign``, ``doc verify``
and ``transfer import``). Each ends in bounded time with an issue or a Chinese InputError, never a
traceback, a hang or pages of English library warnings."""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import pytest
from cli_helpers import run

from guanai.base.errors import InputError
from guanai.generators import pdfa
from guanai.generators.pdfa import check_pdfa


def build(objs: list[tuple[int, bytes]], root: int = 1) -> bytes:
    """A classic-xref PDF of the given objects (offsets right)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offs = {}
    for num, body in objs:
        offs[num] = len(out)
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref, n = len(out), max(offs) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % n
    out += b"".join(b"%010d 00000 n \n" % offs.get(i, 0) for i in range(1, n))
    out += b"trailer\n<< /Size %d /Root %d 0 R /ID [<00><00>] >>\nstartxref\n%d\n%%%%EOF\n" % (n, root, xref)
    return bytes(out)


PAGES = [(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
         (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")]
CATALOG = (1, b"<< /Type /Catalog /Pages 2 0 R >>")
SIGNED_CATALOG = (1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>")


def sig_field(extra: bytes = b"") -> list[tuple[int, bytes]]:
    return [(4, b"<< /FT /Sig /T (S1) /V 5 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 /P 3 0 R "
                + extra + b">>"),
            (5, b"<< /Type /Sig /SubFilter /adbe.pkcs7.detached /ByteRange [0 10 20 30] /Contents <3082> >>")]


def xref_stream_bomb(n: int = 2_000_000) -> bytes:
    """~20 KB whose compressed cross-reference stream declares ``n`` entries."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    o1 = len(out)
    out += b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] >> >>\nendobj\n% /ByteRange\n"
    o2 = len(out)
    out += b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    rows = b"\x00\x00\x00\x00\x00\xff" + b"\x01" + o1.to_bytes(4, "big") + b"\x00" + b"\x01" + o2.to_bytes(4, "big") \
        + b"\x00" + b"\x01\x00\x00\x00\x10\x00" * (n - 3)
    comp = zlib.compress(rows, 9)
    ox = len(out)
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 1] /Root 1 0 R /ID [<00><00>] /Filter /FlateDecode "
            b"/Length %d >>\nstream\n" % (n, n + 1, len(comp)) + comp
            + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % ox)
    return bytes(out)


def test_many_tiny_objects_are_refused_fast() -> None:
    data = build([CATALOG, *PAGES, *((i, b"<< /A %d >>" % i) for i in range(4, 60_004))])
    t0 = time.monotonic()
    issues = check_pdfa(data)
    assert time.monotonic() - t0 < 2  # was 15 s for 500k objects
    assert [i.clause for i in issues if "对象" in i.found] == ["文件结构"]
    assert "60004" in " ".join(i.found for i in issues)


def test_declared_object_count_reads_xref_streams() -> None:
    data = xref_stream_bomb()
    assert len(data) < 100_000 and pdfa.declared_objects(data) >= 2_000_000
    t0 = time.monotonic()
    assert any("对象" in i.found for i in check_pdfa(data))
    assert time.monotonic() - t0 < 2


def test_time_limit_ends_the_check_with_an_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdfa, "TIME_LIMIT", -1.0)
    data = build([CATALOG, *PAGES, *((i, b"<< /A %d >>" % i) for i in range(4, 2_000))])
    found = [i for i in check_pdfa(data) if i.clause == "文件结构"]
    assert found and "超时" in found[0].found


def test_signature_check_refuses_a_declared_object_flood() -> None:
    from guanai.generators.sign import has_signature, verify_pdf

    data = xref_stream_bomb()
    t0 = time.monotonic()
    for fn in (verify_pdf, has_signature):
        with pytest.raises(InputError, match="对象"):
            fn(data)
    assert time.monotonic() - t0 < 2  # pyHanko read the 2M entries for 7 s


@pytest.mark.parametrize("extra", [b"/X " + b"[" * 50_000 + b"]" * 50_000], ids=["nested-arrays"])
def test_signature_check_turns_deep_nesting_into_an_input_error(extra: bytes) -> None:
    from guanai.generators.sign import has_signature, verify_pdf

    data = build([SIGNED_CATALOG, *PAGES, *sig_field(extra)])
    for fn in (verify_pdf, has_signature):
        with pytest.raises(InputError, match="无法读取 PDF"):  # was a RecursionError traceback
            fn(data)


def test_signature_check_on_a_long_field_chain() -> None:
    from guanai.generators.sign import verify_pdf

    objs = [(1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [10 0 R] >> >>"), *PAGES]
    objs += [(i, b"<< /T (f) /Kids [%d 0 R] >>" % (i + 1)) for i in range(10, 20_010)]
    objs.append((20_010, b"<< /FT /Sig /T (s) /V 5 0 R >>"))
    objs.append((5, b"<< /Type /Sig /SubFilter /adbe.pkcs7.detached /ByteRange [0 1 2 3] /Contents <30> >>"))
    with pytest.raises(InputError, match="无法读取 PDF"):
        verify_pdf(build(objs))


def test_lint_a_pdf_that_is_not_one_says_so(tmp_path: Path) -> None:
    empty, fake = tmp_path / "空.pdf", tmp_path / "改名.pdf"
    empty.write_bytes(b"")
    fake.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    for path in (empty, fake):
        code, out = run("lint", str(path))
        assert code == 2 and "不是 PDF 文件" in out and ".docx" not in out, out


def test_lint_a_hostile_pdf_prints_no_library_warnings(tmp_path: Path) -> None:
    deep = tmp_path / "evil.pdf"
    deep.write_bytes(build([(1, b"<< /Type /Catalog /Pages 2 0 R /X " + b"<< /A " * 3000 + b"1"
                             + b" >>" * 3000 + b" >>"), *PAGES]))
    flood = tmp_path / "flood.pdf"
    flood.write_bytes(xref_stream_bomb())
    code, out = run("lint", str(deep), str(flood))
    assert code == 1 and "不符合 PDF/A-2b" in out and "约 2000001 个对象" in out
    assert "PdfReadError" not in out and "Error" not in out and "Traceback" not in out, out[:500]
    assert len(out.splitlines()) < 20


def test_lint_names_the_standard_by_content_not_by_file_name(tmp_path: Path) -> None:
    renamed = tmp_path / "通报"  # a PDF saved without its extension
    renamed.write_bytes(build([CATALOG, *PAGES]))
    code, out = run("lint", str(renamed))
    assert code == 1 and "不符合 PDF/A-2b" in out and "GB/T 9704" not in out, out


@pytest.mark.parametrize("objs, found", [
    ([(1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"), *PAGES],
     "/JavaScript"),
    ([CATALOG, PAGES[0], (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>"),
      (4, b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /F 4 /A << /S /Launch /F (cmd.exe) >> >>")], "/Launch"),
    ([(1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /GoTo /D [3 0 R /Fit] "
          b"/Next [<< /S /JavaScript /JS (x) >>] >> >>"), *PAGES], "/JavaScript"),
], ids=["open-action", "link-launch", "next-chain"])
def test_actions_written_inline_are_caught(objs: list[tuple[int, bytes]], found: str) -> None:
    # the check looked only at actions that were objects of their own: all three passed 6.5.1
    assert any(i.clause == "6.5.1 动作" and i.found == found for i in check_pdfa(build(objs)))


def test_an_encrypted_pdf_is_named_as_such_and_issues_are_not_repeated() -> None:
    import io

    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(595, 842)
    w.encrypt("用户口令", "owner")
    buf = io.BytesIO()
    w.write(buf)
    found = [i.found for i in check_pdfa(buf.getvalue())]
    assert "有 /Encrypt" in found and "无法解析（文件设有打开口令，内容无法读取）" in found, found  # was FileNotDecryptedError
    twice = build([(1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (a) >> "
                       b"/Names << /JavaScript << /Names [(x) << /S /JavaScript /JS (b) >>] >> >> >>"), *PAGES])
    issues = check_pdfa(twice)
    assert len(issues) == len(set(issues)) and sum(i.found == "/JavaScript" for i in issues) == 1


def test_one_issue_on_many_pages_is_one_line(tmp_path: Path) -> None:
    n = 3000
    objs = [CATALOG, (2, b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % i for i in range(3, 3 + n))
                      + b"] /Count %d >>" % n)]
    objs += [(i, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 9000 0 R >> >> "
                 b"/Annots [9001 0 R] >>") for i in range(3, 3 + n)]
    objs += [(9000, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
             (9001, b"<< /Type /Annot /Subtype /Text /Rect [0 0 9 9] /F 0 /AP << /N 9002 0 R >> >>"),
             (9002, b"<< /Type /XObject /Subtype /Form /BBox [0 0 9 9] /Length 0 >>\nstream\n\nendstream")]
    issues = check_pdfa(build(objs))
    # was one issue per page: 3,000 lines of the same annotation flags
    flags = [i for i in issues if i.clause == "6.3.2 注释标志"]
    assert len(flags) == 1 and flags[0].where == f"第 1 页 等 {n} 处", flags
    assert len(issues) < 10, issues
    f = tmp_path / "many.pdf"
    f.write_bytes(build(objs))
    code, out = run("lint", str(f))
    assert code == 1 and len(out.splitlines()) < 12, out


@pytest.mark.parametrize("data", [b"9" * 20_000_000 + b"obj " * 60_000, b"1 2 " * 4_000_000 + b"obj " * 60_000,
                                  (b"/Size" + b" " * 100_000) * 100], ids=["digits", "pairs", "size-spaces"])
def test_counting_the_declared_objects_is_linear(data: bytes) -> None:
    t0 = time.monotonic()
    pdfa.declared_objects(data)
    assert time.monotonic() - t0 < 3  # `\d+\s+\d+\s+obj` never finished on 30 MB of digits


def test_an_xmp_packet_of_unclosed_headers_is_checked_in_linear_time() -> None:
    xmp = b"<?xpacket begin=" * 200_000
    objs = [(1, b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>"), *PAGES,
            (4, b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(xmp) + xmp + b"\nendstream")]
    t0 = time.monotonic()
    issues = check_pdfa(build(objs))
    assert time.monotonic() - t0 < 3  # the header search never finished
    assert any(i.expected == "合法的 XMP" for i in issues), issues
    assert pdfa._xpacket_header(b'<?xpacket begin="\xef\xbb\xbf" id="W5M0"?><x/>') == b'<?xpacket begin="\xef\xbb\xbf" id="W5M0"?>'


def test_pdf_issues_carry_their_clause_as_code(tmp_path: Path) -> None:
    import json

    f = tmp_path / "js.pdf"
    f.write_bytes(build([(1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (a) >> >>"), *PAGES]))
    flood = tmp_path / "flood.pdf"
    flood.write_bytes(xref_stream_bomb())
    code, out = run("lint", str(f), str(flood), "--json")
    codes = {p["code"] for r in json.loads(out) for p in r["problems"]}
    assert code == 1 and {"lint.pdfa.6.5.1", "lint.pdfa.6.2.3", "lint.pdfa.structure"} <= codes, codes
    assert "lint.other" not in codes  # every PDF/A issue was lint.other
