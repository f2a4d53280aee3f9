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
