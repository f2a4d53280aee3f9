"""The warm converter (one LibreOffice kept running, driven through UNO) for single-document previews."""

from __future__ import annotations

import pytest

from guanai.base.errors import InputError
from guanai.generators.pdf import WarmConverter, pdf_text, pdfa_claim, uno_available
from guanai.generators.render import render
from tests.gen_helpers import sample

pytestmark = [pytest.mark.pdf, pytest.mark.skipif(not uno_available(), reason="python3-uno not installed")]


def test_converts_one_document_after_another() -> None:
    with WarmConverter(timeout=120) as wc:
        a = wc.convert(render("circular", sample("circular")))
        b = wc.convert(render("home-visit", sample("home-visit")))
        with pytest.raises(InputError):
            wc.convert(b"not a docx")  # refused before LibreOffice sees it
        c = wc.convert(render("care-record", sample("care-record")))  # still up
    assert pdfa_claim(a) == pdfa_claim(b) == pdfa_claim(c) == "2B"
    assert "萧县教育体育局文件" in pdf_text(a) and "家访记录表" in pdf_text(b) and "帮扶记录" in pdf_text(c)


def test_close_stops_its_processes() -> None:
    wc = WarmConverter(timeout=120)
    wc.start()
    procs = [wc._worker, wc._soffice]
    wc.close()
    assert all(p is not None and p.poll() is not None for p in procs)


# --------------------------------------------------------------------------- 公文 batches


def _official_docs() -> list[tuple[str, bytes]]:
    from guanai.generators.kinds import KINDS

    return [(f"{kind}.docx", render(kind, sample(kind))) for kind, spec in KINDS.items() if spec.official]


def _words(pdf: bytes) -> list[list[tuple[int, int, str]]]:
    import pymupdf

    with pymupdf.open(stream=pdf) as doc:
        return [[(round(w[0]), round(w[1]), w[4]) for w in page.get_text("words")] for page in doc]


def test_official_batch_warm_equals_cold(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warm path (版记 break made in the laid-out document) gives the same .docx and the same
    pages, word for word and position for position, as converting the fixed .docx again."""
    from guanai.generators.pdf import convert_official, pdf_page_count

    docs = _official_docs()
    done: list[int] = []
    warm = convert_official(docs, progress=done.append)
    assert sum(done) == len(docs)
    monkeypatch.setenv("GUANAI_PDF_NO_WARM", "1")
    cold = convert_official(docs)
    moved = 0
    for (name, original), (rw, dw), (rc, dc) in zip(docs, warm, cold, strict=True):
        assert rw.pdf is not None and rc.pdf is not None, name
        assert pdf_page_count(rw.pdf) % 2 == 0, name
        assert dw == dc, name  # the same .docx stored
        assert _words(rw.pdf) == _words(rc.pdf), name
        moved += dw != original
    assert moved >= 1  # the samples include 公文 whose 版记 had to move


def test_official_batch_falls_back_when_the_warm_converter_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from guanai.base.errors import ExternalToolError
    from guanai.generators import pdf as P

    docs = _official_docs()[:3]
    real = P.WarmConverter.convert_even
    calls: list[str] = []

    def flaky(self: P.WarmConverter, docx: bytes, *, name: str = "document.docx") -> tuple[bytes, int]:
        calls.append(name)
        if name == docs[1][0]:
            raise ExternalToolError("boom", None)
        return real(self, docx, name=name)

    monkeypatch.setattr(P.WarmConverter, "convert_even", flaky)
    out = P.convert_official(docs + [("broken.docx", b"PK\x03\x04 not a zip")])
    assert docs[1][0] in calls
    assert [r.ok for r, _ in out] == [True, True, True, False]  # the failed one went the cold way
    assert out[3][0].error_kind == "input"
    assert all(P.pdf_page_count(r.pdf) % 2 == 0 for r, _ in out[:3] if r.pdf is not None)


def test_official_batch_without_warm_converters(monkeypatch: pytest.MonkeyPatch) -> None:
    from guanai.base.errors import ExternalToolError
    from guanai.generators import pdf as P

    def cannot(self: P.WarmConverter) -> None:
        raise ExternalToolError("no uno", None)

    monkeypatch.setattr(P.WarmConverter, "start", cannot)
    out = P.convert_official(_official_docs()[:2])
    assert all(r.ok and r.pdf is not None and P.pdf_page_count(r.pdf) % 2 == 0 for r, _ in out)
