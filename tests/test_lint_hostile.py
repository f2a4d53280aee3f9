"""generators.lint on malformed and hostile .docx input: a clear Chinese InputError, never a traceback."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lint_helpers import build_gongwen, part, rezip

from guanai.base.errors import InputError
from guanai.generators import lint as L
from guanai.generators.lint import lint_docx

GOOD = build_gongwen()


def _raises(data: bytes, *needles: str) -> InputError:
    with pytest.raises(InputError) as info:
        lint_docx(data, name="输入.docx")
    err = info.value
    assert err.message.startswith("输入.docx："), err.message
    for needle in needles:
        assert needle in err.message, err.message
    assert err.hint and err.exit_code == 2
    return err


def test_not_a_zip() -> None:
    _raises("这是一个文本文件".encode(), "不是 ZIP")


def test_empty_file() -> None:
    _raises(b"", "不是 ZIP")


def test_old_doc_or_encrypted_office_file() -> None:
    _raises(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "旧版 .doc 或加密")


@pytest.mark.parametrize("cut", [10, 100, len(GOOD) // 2, len(GOOD) - 30])
def test_truncated_zip(cut: int) -> None:
    err = _raises(GOOD[:cut])
    assert "ZIP" in err.message or "无法解压" in err.message


def test_missing_document_part() -> None:
    _raises(rezip(GOOD, drop=("word/document.xml",)), "word/document.xml")


def test_document_part_not_wordprocessingml() -> None:
    _raises(rezip(GOOD, replace_parts={"word/document.xml": b"<html><body/></html>"}), "不是 WordprocessingML")


def test_malformed_xml_names_the_part() -> None:
    _raises(rezip(GOOD, replace_parts={"word/styles.xml": b"<w:styles><unclosed>"}), "word/styles.xml", "不是合法的 XML")


def test_xxe_external_entity_is_refused_and_not_resolved(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-在校儿童名单", encoding="utf-8")
    xml = part(GOOD, "word/document.xml").decode()
    head, rest = xml.split("?>", 1)
    evil = (
        f'{head}?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        + rest.replace("一、工作目标", "&xxe;", 1)
    )
    err = _raises(rezip(GOOD, replace_parts={"word/document.xml": evil.encode()}), "DTD", "XXE")
    assert "TOPSECRET" not in str(err)


def test_billion_laughs_is_refused() -> None:
    lol = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    ) + ']><w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&lol9;</w:settings>'
    _raises(rezip(GOOD, replace_parts={"word/settings.xml": lol.encode()}), "word/settings.xml", "DTD")


def test_utf16_encoded_doctype_is_refused_by_the_parser_check() -> None:
    # The byte scan cannot see "<!DOCTYPE" in UTF-16; the parsed tree's doctype is checked too.
    xml = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    _raises(rezip(GOOD, replace_parts={"word/settings.xml": xml.encode("utf-16")}), "word/settings.xml")


def test_zip_bomb_part_is_refused() -> None:
    # 40 MB of zeros compresses to ~40 KB: over the per-part cap, refused before parsing.
    bomb = b"<a>" + b"0" * (40 * 1024 * 1024) + b"</a>"
    data = rezip(GOOD, replace_parts={"word/settings.xml": bomb})
    assert len(data) < 200_000
    _raises(data, "ZIP 炸弹")


def test_zip_bomb_with_lying_header_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # A central directory can understate the size: the declared-size check passes, then the
    # capped read (or zipfile's own size/CRC check) must still refuse it.
    cap = max(i.file_size for i in zipfile.ZipFile(io.BytesIO(GOOD)).infolist()) + 100
    monkeypatch.setattr(L, "MAX_PART_BYTES", cap)
    big = b"<a>" + b"0" * (cap + 5000) + b"</a>"
    data = bytearray(rezip(GOOD, replace_parts={"word/settings.xml": big}))
    start, patched = 0, False
    while (start := bytes(data).find(b"PK\x01\x02", start)) >= 0:
        name_len = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + name_len] == b"word/settings.xml":
            data[start + 24 : start + 28] = (10).to_bytes(4, "little")  # uncompressed size
            patched = True
        start += 4
    assert patched
    err = _raises(bytes(data), "word/settings.xml")
    assert "ZIP 炸弹" in err.message or "无法解压" in err.message


def test_too_many_entries() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("word/document.xml", part(GOOD, "word/document.xml"))
        for i in range(L.MAX_ENTRIES + 1):
            zf.writestr(f"junk/{i}", b"")
    _raises(out.getvalue(), "文件过多")


def test_encrypted_zip_entry() -> None:
    # zipfile cannot write encrypted entries: set the "encrypted" flag bit in the headers.
    data = bytearray(GOOD)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := bytes(data).find(sig, start)) >= 0:
            data[start + off] |= 0x01
            start += 4
    _raises(bytes(data), "无法解压")


def test_unsupported_compression() -> None:
    data = bytearray(GOOD)
    # Set the compression method of every entry to 99 (AES / unknown).
    for sig, off in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (start := bytes(data).find(sig, start)) >= 0:
            data[start + off : start + off + 2] = (99).to_bytes(2, "little")
            start += 4
    with pytest.raises(InputError) as info:
        lint_docx(bytes(data))
    assert "无法解压" in info.value.message or "ZIP" in info.value.message


def test_deeply_nested_xml() -> None:
    deep = "<a>" * 5000 + "</a>" * 5000
    _raises(rezip(GOOD, replace_parts={"word/settings.xml": deep.encode()}), "word/settings.xml")


def test_missing_optional_parts_report_violations_not_crash() -> None:
    report = lint_docx(rezip(GOOD, drop=("word/styles.xml", "word/settings.xml")))
    elements = report.elements()
    assert "页码（奇偶页）" in elements  # settings gone: no even/odd pages
    assert not report.ok


def test_missing_footer_part_is_a_violation() -> None:
    report = lint_docx(rezip(GOOD, drop=("word/footer1.xml",)))
    (v,) = [v for v in report.violations if v.element == "页码（单页码）"]
    assert "页脚部件缺失" in v.found


def test_relationship_path_traversal_and_external_targets_are_ignored() -> None:
    rels = part(GOOD, "word/_rels/document.xml.rels").decode()
    rels = rels.replace('Target="footer1.xml"', 'Target="../../../../etc/passwd"')
    rels = rels.replace('Target="footer2.xml"', 'Target="file:///etc/passwd" TargetMode="External"')
    report = lint_docx(rezip(GOOD, replace_parts={"word/_rels/document.xml.rels": rels.encode()}))
    found = {v.element: v.found for v in report.violations}
    assert "页脚部件缺失" in found["页码（单页码）"]
    assert "页脚部件缺失" in found["页码（双页码）"]
    assert "root:" not in str(report.to_dict())


def test_style_basedon_cycle_terminates() -> None:
    styles = part(GOOD, "word/styles.xml").decode()
    cycle = (
        '<w:style w:type="paragraph" w:styleId="A"><w:name w:val="A"/><w:basedOn w:val="B"/></w:style>'
        '<w:style w:type="paragraph" w:styleId="B"><w:name w:val="B"/><w:basedOn w:val="A"/></w:style></w:styles>'
    )
    xml = part(GOOD, "word/document.xml").decode().replace("<w:pPr>", '<w:pPr><w:pStyle w:val="A"/>', 3)
    report = lint_docx(
        rezip(GOOD, replace_parts={"word/styles.xml": styles.replace("</w:styles>", cycle).encode(),
                                   "word/document.xml": xml.encode()})
    )
    assert isinstance(report.violations, list)


def test_oversized_input_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "MAX_INPUT_BYTES", 1000)
    _raises(GOOD, "文件过大")


@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), min_size=1, max_size=8))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_corruption_never_escapes_as_a_traceback(flips: list[tuple[int, int]]) -> None:
    data = bytearray(GOOD)
    for pos, val in flips:
        data[pos] = val
    try:
        report = lint_docx(bytes(data))
    except InputError as err:
        assert err.message and err.hint
    else:
        assert isinstance(report.violations, list)
