"""generators.pdf with the real LibreOffice: Chinese text survives, PDF/A-2b, real CJK faces, batches."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path

import pytest
from docx import Document
from lint_helpers import build_gongwen, part, rezip

from guanai.base.errors import InputError
from guanai.generators.lint import lint_docx
from guanai.generators.pdf import (
    ConversionFailed,
    convert_batch,
    convert_one,
    convert_results,
    pdf_fonts,
    pdf_text,
    pdfa_claim,
)

pytestmark = pytest.mark.pdf


def _docx(text: str) -> bytes:
    doc = Document()
    doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def gongwen_pdf() -> bytes:
    return convert_one(build_gongwen())


def test_chinese_text_reads_back(gongwen_pdf: bytes) -> None:
    text = pdf_text(gongwen_pdf)
    for needle in ("萧教体〔2020〕9号", "关于做好农村留守儿童和\n困境儿童关爱保护工作的通知", "一、工作目标", "（一）摸底排查",
                   "第1项工作于2020年3月启动", "2020年4月20日", "\u2014 1 \u2014"):
        assert needle in text, needle


def test_claims_pdfa_2b(gongwen_pdf: bytes) -> None:
    assert pdfa_claim(gongwen_pdf) == "2B"


def test_fonts_are_real_cjk_faces_per_element(gongwen_pdf: bytes) -> None:
    fonts = pdf_fonts(gongwen_pdf)
    joined = " ".join(sorted(fonts))
    assert any("FandolFang" in f for f in fonts), joined  # 仿宋_GB2312 body: a real FangSong face
    assert any("UKai" in f for f in fonts), joined  # 楷体_GB2312 level-2 heading
    assert any("NotoSansCJK" in f for f in fonts), joined  # 黑体 level-1 heading
    assert any("NotoSerifCJK" in f and "Bold" in f for f in fonts), joined  # 方正小标宋简体 title
    assert any("NotoSerifCJK" in f and "Regular" in f for f in fonts), joined  # 宋体 page number
    assert len(fonts) >= 5  # not one fallback face for everything


def test_character_grid_does_not_halve_the_line_length() -> None:
    # Word/WPS templates use a character grid with a negative charSpace for 28 chars per line;
    # LibreOffice alone would print ~13 characters per line (generators.pdf._lo_compat).
    docx = build_gongwen(body_paragraphs=1)
    xml = part(docx, "word/document.xml").decode()
    xml = xml.replace("</w:sectPr>", '<w:docGrid w:type="linesAndChars" w:linePitch="579" w:charSpace="-819"/></w:sectPr>')
    text = pdf_text(convert_one(rezip(docx, replace_parts={"word/document.xml": xml.encode()})))
    line = next(ln for ln in text.splitlines() if ln.startswith("为贯彻落实"))
    assert len(line) >= 25, line


def test_punctuation_hanging_at_a_justified_line_end_is_not_lost() -> None:
    # After a 2-character indent, 25 characters fill the line; the comma after them cannot start
    # the next line and hangs. LibreOffice drops it from justified paragraphs (found in the
    # leading-group-notice PDF; worked around in generators.pdf._lo_compat).
    line = "为加强对留守儿童困境儿童教育关爱救助保护工作的领导"
    assert len(line) == 25
    text = line + "，教育部门要强化适龄儿童控辍保学、教育资助等工作措施。"
    docx = build_gongwen(justify_body=True, closing_text=text)
    assert lint_docx(docx).violations == []
    pdf_plain = re.sub(r"\s", "", pdf_text(convert_one(docx)))
    assert "领导，教育部门" in pdf_plain


def test_batch_of_ten_on_two_workers_keeps_order() -> None:
    docs = [(f"文书{i}.docx", _docx(f"第{i}号测试文书：张小明{i}同学家访记录")) for i in range(10)]
    pdfs = convert_batch(docs, workers=2)
    assert len(pdfs) == 10
    for i, pdf in enumerate(pdfs):
        text = pdf_text(pdf)
        assert f"第{i}号测试文书：张小明{i}同学家访记录" in text
        assert pdfa_claim(pdf) == "2B"


def test_broken_docx_fails_alone_with_a_clear_error() -> None:
    good = _docx("完好的文书")
    broken_xml = rezip(good, replace_parts={"word/document.xml": b"<w:document><unclosed"})
    items = [("好1.docx", good), ("坏-不是ZIP.docx", b"plain text"), ("坏-XML.docx", broken_xml),
             ("坏-不是Word.docx", _zip_without_document()), ("好2.docx", _docx("第二份完好的文书"))]
    results = convert_results(items, workers=2)
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert "完好的文书" in pdf_text(results[0].pdf or b"")
    assert "第二份完好的文书" in pdf_text(results[4].pdf or b"")
    assert "不是 ZIP" in (results[1].error or "")
    assert "word/document.xml" in (results[3].error or "")
    assert results[2].error and results[2].error_kind == "input"
    with pytest.raises(ConversionFailed) as info:
        convert_batch(items, workers=2)
    assert "3 个文件未能转换" in info.value.message and "坏-不是ZIP.docx" in str(info.value)
    assert len(info.value.problems) == 3 and {p.code for p in info.value.problems} <= {"pdf.input", "pdf.tool", "pdf.timeout"}
    assert info.value.exit_code == 10
    assert sum(r.ok for r in info.value.results) == 2


def test_convert_one_broken_is_input_error() -> None:
    with pytest.raises(InputError) as info:
        convert_one(b"\xd0\xcf\x11\xe0 old doc", name="旧文档.doc")
    assert "旧文档.doc" in info.value.message and "不是 ZIP" in info.value.message


def test_convert_one_from_path(tmp_path: Path) -> None:
    path = tmp_path / "通知.docx"
    path.write_bytes(_docx("路径输入的文书"))
    assert "路径输入的文书" in pdf_text(convert_one(path))


def test_real_timeout_is_reported_and_nothing_is_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    results = convert_results([("a.docx", _docx("超时测试"))], timeout=0.05, workers=1)
    assert not results[0].ok and results[0].error_kind == "timeout"
    assert "超时" in (results[0].error or "")
    # the private working directory (document copies) is gone
    assert list(tmp_path.iterdir()) == []


def _zip_without_document() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()
