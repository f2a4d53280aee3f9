"""The web UI signs PDFs as the CLI does: a signed download of a stored PDF (write roles only; an
already-signed PDF comes as stored; a .docx is refused) and the 签名 option when generating."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_helpers import PASS, USERS, login, make_school, running

from guanai.archive.store import Archive


def _plain_pdf() -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("web-sign") / "arc"
    cid = make_school(path, 2)[0]
    with Archive.open(path, user="admin", passphrase=PASS, write=True) as arc:
        ids = {"pdf": arc.put_document(kind="attachment", title="通报", content=_plain_pdf(), filename="通报.pdf",
                                       mime="application/pdf", child_id=cid),
               "docx": arc.put_document(kind="attachment", title="记录", content=b"PK\x03\x04 not really",
                                        filename="记录.docx", child_id=cid,
                                        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")}
    return path, ids


@pytest.fixture(scope="module")
def base(school: tuple[Path, dict[str, str]]) -> Iterator[str]:
    from guanai.web.app import create_app

    with running(create_app(school[0])) as url:
        yield url


def test_signed_download_for_write_roles(base: str, school: tuple[Path, dict[str, str]]) -> None:
    from guanai.generators.sign import verify_pdf

    pdf_id, docx_id = school[1]["pdf"], school[1]["docx"]
    name, pw = USERS["secretary"]
    with httpx.Client(timeout=60) as c:
        login(c, base, name, pw)
        page = c.get(base + f"/docs/{pdf_id}").text
        assert 'id="download-signed"' in page and "下载已签名 PDF" in page
        r = c.get(base + f"/docs/{pdf_id}/download-signed")
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert "%E5%B7%B2%E7%AD%BE%E5%90%8D" in r.headers["content-disposition"]  # 已签名 in the file name
        [report] = verify_pdf(r.content)
        assert report.intact and report.valid and report.whole_file and report.bound
        assert report.school_code == "3413220001"
        refused = c.get(base + f"/docs/{docx_id}/download-signed")
        assert refused.status_code >= 400 and "只有 PDF 可以加数字签名" in refused.text
    name, pw = USERS["inspector"]
    with httpx.Client(timeout=60) as c:
        login(c, base, name, pw)
        assert 'id="download-signed"' not in c.get(base + f"/docs/{pdf_id}").text
        assert c.get(base + f"/docs/{pdf_id}/download-signed").status_code == 403


def test_an_already_signed_pdf_comes_as_stored(base: str, school: tuple[Path, dict[str, str]]) -> None:
    from guanai.generators.sign import sign_archive_pdf

    path = school[0]
    with Archive.open(path, user="admin", passphrase=PASS, write=True) as arc:
        signed = sign_archive_pdf(arc, _plain_pdf())
        sid = arc.put_document(kind="attachment", title="已签", content=signed, filename="已签.pdf",
                               mime="application/pdf")
    name, pw = USERS["archivist"]
    with httpx.Client(timeout=60) as c:
        login(c, base, name, pw)
        r = c.get(base + f"/docs/{sid}/download-signed")
        assert r.status_code == 200 and r.content == signed


def test_generate_passes_the_sign_option(base: str, school: tuple[Path, dict[str, str]],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The form's 签名 box reaches generate_batch (the server runs in this process's thread)."""
    from guanai.web import services

    seen: dict[str, Any] = {}

    def fake(arc: Any, kind_id: str, forms: Any, **kw: Any) -> Any:
        seen.update(kw)
        raise RuntimeError("stop here")

    monkeypatch.setattr(services, "generate", fake)
    monkeypatch.setattr(services, "check_form", lambda *a, **k: None)  # the form's own checks are tested elsewhere
    name, pw = USERS["secretary"]
    with httpx.Client(timeout=60) as c:
        token = login(c, base, name, pw)
        assert 'name="_sign"' in c.get(base + "/docs/new?kind=circular").text
        r = c.post(base + "/docs/new", headers={"X-CSRF-Token": token, "HX-Request": "true"},
                   data={"_kind": "circular", "_pdf": "1", "_sign": "1"})
        assert r.status_code in (204, 303), r.text
    import time

    for _ in range(100):
        if seen:
            break
        time.sleep(0.05)
    assert seen.get("sign") is True and seen.get("pdf") is True
