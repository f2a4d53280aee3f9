"""The PDF/A-2b check (generators.pdfa): every PDF guanai makes — forms, 公文 (with the 版记 moved
and the unnumbered blank page), signed invisibly and visibly — passes it, and each clause it checks
catches a file broken on purpose. ``guanai lint`` runs it on PDFs."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from cli_helpers import run
from transfer_helpers import Scenario, _scenario_template, scenario

from guanai.generators import pdfa
from guanai.generators.kinds import KINDS
from guanai.generators.pdfa import check_pdfa
from guanai.generators.render import render
from tests.gen_helpers import sample

__all__ = ["scenario", "_scenario_template"]


def clauses(data: bytes) -> set[str]:
    return {i.clause.split()[0] for i in check_pdfa(data)}


@pytest.fixture(scope="module")
def generated() -> dict[str, bytes]:
    from guanai.generators.pdf import convert_official, convert_results

    forms = [k for k, v in KINDS.items() if not v.official]
    official = [k for k, v in KINDS.items() if v.official]
    out = {}
    for kind, res in zip(forms, convert_results([(f"{k}.docx", render(k, sample(k))) for k in forms]), strict=True):
        assert res.pdf is not None, res.error
        out[kind] = res.pdf
    pairs = convert_official([(f"{k}.docx", render(k, sample(k))) for k in official])
    for kind, (res, _docx) in zip(official, pairs, strict=True):
        assert res.pdf is not None, res.error
        out[kind] = res.pdf
    return out


@pytest.mark.pdf
def test_every_generated_pdf_passes(generated: dict[str, bytes]) -> None:
    assert set(generated) == set(KINDS)
    for kind, data in generated.items():
        assert check_pdfa(data) == [], (kind, check_pdfa(data))


@pytest.mark.pdf
@pytest.mark.parametrize("visible", [False, True])
def test_signed_pdfs_pass_and_a_change_after_signing_is_caught(generated: dict[str, bytes], scenario: Scenario,
                                                               visible: bool) -> None:
    from guanai.generators.sign import sign_archive_pdf

    with scenario.open_a() as arc:
        signed = sign_archive_pdf(arc, generated["circular"], visible=visible)
    assert check_pdfa(signed) == []
    appended = _incremental(signed, {"/Title": "被改过的标题"})
    found = clauses(appended)
    assert "6.4.3" in found and "6.6.3" in found  # after the signature, and Info no longer matches XMP


# --------------------------------------------------------------------------- broken on purpose


def _incremental(data: bytes, info: dict[str, str] | None = None, js: str | None = None) -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter(io.BytesIO(data), incremental=True)
    if info:
        w.add_metadata(info)
    if js:
        from pypdf.generic import DictionaryObject, NameObject, TextStringObject

        action = DictionaryObject({NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject("/JavaScript"),
                                   NameObject("/JS"): TextStringObject(js)})
        w._root_object[NameObject("/OpenAction")] = w._add_object(action)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def good(generated: dict[str, bytes]) -> bytes:
    return generated["home-visit"]


@pytest.mark.pdf
def test_header_tail_and_trailer(good: bytes) -> None:
    assert good.startswith(b"%PDF-1.") and "6.1.2" in clauses(b"%PDF-2.0" + good[8:])
    no_comment = re.sub(rb"\A(%PDF-1\.\d\r?\n)%[^\r\n]*\r?\n", rb"\1", good, count=1)
    assert "6.1.2" in clauses(no_comment)
    assert "6.1.3" in clauses(good + b"\n% a tail that PDF/A forbids\n")
    assert "6.1.3" in clauses(re.sub(rb"/ID\s*\[[^\]]*\]", b"", good))


@pytest.mark.pdf
def test_info_that_disagrees_with_xmp(good: bytes) -> None:
    found = check_pdfa(_incremental(good, {"/Author": "别人"}))
    assert [i.clause for i in found] == ["6.6.3 元数据一致"] and "/Author" in found[0].expected


@pytest.mark.pdf
def test_javascript(good: bytes) -> None:
    assert "6.5.1" in clauses(_incremental(good, js="app.alert('x');"))


@pytest.mark.pdf
def test_xmp_without_pdfa_identification(good: bytes) -> None:
    broken = re.sub(rb'pdfaid:part="2"|<pdfaid:part>2</pdfaid:part>', lambda m: m.group(0).replace(b"2", b"9"), good)
    assert broken != good and "6.6.4" in clauses(broken)


@pytest.mark.pdf
def test_encrypted(good: bytes) -> None:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(good)))
    w.encrypt("", "owner", algorithm="AES-128")
    buf = io.BytesIO()
    w.write(buf)
    assert "6.1.3" in clauses(buf.getvalue())


def test_pdf_made_without_pdfa_care() -> None:
    """pypdf's own output: a font that is not embedded, a hidden annotation, no output intent, no XMP."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, NumberObject

    w = PdfWriter()
    page = w.add_blank_page(width=595, height=842)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
    annot = DictionaryObject({NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Text"),
                              NameObject("/F"): NumberObject(2),
                              NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 50, 50)])})
    page[NameObject("/Annots")] = ArrayObject([w._add_object(annot)])
    buf = io.BytesIO()
    w.write(buf)
    found = clauses(buf.getvalue())
    assert {"6.2.11.4", "6.3.2", "6.3.3", "6.2.3", "6.6.2.1"} <= found, found


@pytest.mark.parametrize("data", [b"", b"not a pdf at all", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<", b"%PDF-1.4\n" + b"\x00" * 500])
def test_garbage_and_truncation_are_issues_not_crashes(data: bytes) -> None:
    assert check_pdfa(data)


@pytest.mark.pdf
def test_truncated_generated_pdf(good: bytes) -> None:
    assert check_pdfa(good[: len(good) // 2])


def test_oversized_input_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdfa, "MAX_PDF_BYTES", 100)
    [issue] = check_pdfa(b"%PDF-1.7\n" + b"x" * 200)
    assert issue.clause == "文件"


@pytest.mark.pdf
def test_lint_checks_pdfs(generated: dict[str, bytes], tmp_path: Path) -> None:
    ok, bad = tmp_path / "通报.pdf", tmp_path / "被改.pdf"
    ok.write_bytes(generated["circular"])
    bad.write_bytes(_incremental(generated["circular"], {"/Title": "改"}))
    code, out = run("lint", str(ok))
    assert code == 0 and "符合 PDF/A-2b" in out
    code, out = run("lint", str(bad))
    assert code == 1 and "不符合 PDF/A-2b" in out and "元数据一致" in out
    code, out = run("lint", str(bad), "--json")
    assert code == 1 and '"ok": false' in out
