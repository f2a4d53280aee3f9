"""School templates written for docxtpl render the same with guanai's sandboxed renderer: docxtpl's
own test templates (tests/data/docxtpl, entities inside tags included), RichText and InlineImage."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import docx
import pytest
from docxtpl import DocxTemplate, RichText
from lxml import etree

from guanai.base.errors import InputError
from guanai.generators.render import InlineImage, compile_template, render_compiled
from guanai.generators.text import xml_text

DATA = Path(__file__).parent / "data" / "docxtpl"

# the contexts of docxtpl's test scripts of the same names
CONTEXTS: dict[str, dict[str, Any]] = {
    "header_footer_entities_tpl.docx": {"title": "Header and footer test"},
    "less_cells_after_loop_tpl.docx": {},
    "nested_for_tpl.docx": {
        "dishes": [{"name": "Pizza", "ingredients": ["bread", "tomato", "ham", "cheese"]},
                   {"name": "Hamburger", "ingredients": ["bread", "chopped steak", "cheese", "sauce"]}],
        "authors": [{"name": "Saint-Exupery", "books": [{"title": "Le petit prince"}, {"title": "L'aviateur"}]},
                    {"name": "Barjavel", "books": [{"title": "Ravage"}]}],
    },
    "order_tpl.docx": {
        "customer_name": "Eric", "in_europe": True, "is_paid": False, "company_name": "The World Wide company",
        "total_price": "100,000,000.00",
        "items": [{"desc": "Python interpreters", "qty": 2, "price": "FREE"},
                  {"desc": "Guido", "qty": 1, "price": "100,000,000.00"}],
    },
}


def texts(data: bytes) -> list[str]:
    z = zipfile.ZipFile(io.BytesIO(data))
    out = []
    for name in sorted(z.namelist()):
        if re.fullmatch(r"word/(document|header\d*|footer\d*|footnotes)\.xml", name):
            out.append(re.sub(r"\s+", " ", xml_text(etree.fromstring(z.read(name)))).strip())
    return out


def docxtpl_render(path: Path, ctx: dict[str, Any]) -> bytes:
    tpl = DocxTemplate(path)
    tpl.render(ctx)  # as docxtpl's test scripts do (plain values: escaping changes nothing)
    buf = io.BytesIO()
    tpl.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_docxtpl_test_templates_render_the_same_text(name: str) -> None:
    path = DATA / name
    ours = render_compiled(compile_template(path), CONTEXTS[name]).data
    assert texts(ours) == texts(docxtpl_render(path, CONTEXTS[name]))


def test_quotes_written_as_entities_inside_tags_are_accepted() -> None:
    raw = zipfile.ZipFile(DATA / "header_footer_entities_tpl.docx").read("word/footer1.xml").decode("utf-8")
    assert "default(&quot;" in raw  # the template really has them
    out = texts(render_compiled(compile_template(DATA / "header_footer_entities_tpl.docx"), {"title": "t"}).data)
    assert any("Testé&xx;" in t for t in out), out


def test_entities_inside_tags_do_not_open_the_sandbox(tmp_path: Path) -> None:
    from guanai.generators.render import _replace_member

    d = docx.Document()
    d.add_paragraph("{{ QQ.__class__.__mro__ }}")
    buf = io.BytesIO()
    d.save(buf)
    z = zipfile.ZipFile(buf)
    xml = z.read("word/document.xml").decode("utf-8").replace("QQ", "&apos;&apos;")
    path = tmp_path / "t.docx"
    path.write_bytes(_replace_member(z, "word/document.xml", xml.encode("utf-8")))
    # {{ &apos;&apos;.__class__… }} reads as {{ ''.__class__… }}: refused like the plain form
    with pytest.raises(InputError, match="不安全"):
        compile_template(path)


def _png(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def image_template(tmp_path: Path) -> Path:
    d = docx.Document()
    d.add_paragraph("照片：{{ photo }}")
    d.add_paragraph("{{r note }}")
    d.add_paragraph("图表：{{ chart }}结束")
    d.sections[0].header.paragraphs[0].text = "页眉 {{ photo }}"
    path = tmp_path / "img.docx"
    d.save(path)
    return path


def test_inline_image_and_richtext(image_template: Path) -> None:
    rt = RichText("红色<重点>", color="FF0000", bold=True)
    ctx = {"photo": InlineImage(_png(30, 40), width_mm=30, description="学生照片"),
           "chart": InlineImage(_png(200, 100), height_mm=50), "note": rt}
    data = render_compiled(compile_template(image_template), ctx).data
    out = docx.Document(io.BytesIO(data))
    shapes = out.inline_shapes
    assert len(shapes) == 2
    assert abs(shapes[0].width.mm - 30) < 0.1 and abs(shapes[0].height.mm - 40) < 0.1  # aspect kept
    assert abs(shapes[1].height.mm - 50) < 0.1 and abs(shapes[1].width.mm - 100) < 0.1
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.read("word/media/guanai-image1.png") == ctx["photo"].data
    assert 'Extension="png"' in z.read("[Content_Types].xml").decode()
    body = z.read("word/document.xml").decode()
    assert "红色&lt;重点&gt;" in body and 'w:val="FF0000"' in body  # RichText's runs, escaped text
    assert "图表：" in out.paragraphs[2].text and "结束" in out.paragraphs[2].text
    # the header (no image relationship there) gets the description
    assert "页眉 学生照片" in out.sections[0].header.paragraphs[0].text


def test_not_an_image_is_refused(image_template: Path) -> None:
    with pytest.raises(InputError, match="图片"):
        render_compiled(compile_template(image_template),
                        {"photo": InlineImage(b"this is not an image"), "chart": "", "note": ""})


@pytest.mark.pdf
def test_inline_image_reaches_the_pdf(image_template: Path) -> None:
    pymupdf = pytest.importorskip("pymupdf")
    from guanai.generators.pdf import convert_one

    ctx = {"photo": InlineImage(_png(30, 40), width_mm=30), "chart": InlineImage(_png(200, 100), height_mm=50),
           "note": RichText("说明")}
    pdf = convert_one(render_compiled(compile_template(image_template), ctx).data)
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    assert len(doc[0].get_images()) == 2
