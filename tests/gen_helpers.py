"""Helpers for the generator tests (test_gen_*.py)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import docx
import yaml

from guanai.generators.assets import SAMPLES_DIR, TEMPLATE_DIR


def sample(kind: str) -> dict[str, Any]:
    return dict(yaml.safe_load((SAMPLES_DIR / f"{kind}.yaml").read_text(encoding="utf-8")))


def docx_text(data: bytes) -> str:
    """All text as python-docx reads it: body paragraphs, table cells, footers."""
    d = docx.Document(io.BytesIO(data))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            for c in row.cells:
                parts.append(c.text)
    return "\n".join(parts)


def leaf_values(value: Any) -> list[str]:
    """Every scalar of a form, as strings (lists and sub-tables flattened)."""
    if isinstance(value, dict):
        return [v for x in value.values() for v in leaf_values(x)]
    if isinstance(value, list):
        return [v for x in value for v in leaf_values(x)]
    return [str(value)]


def patched_template(kind: str, dest_dir: Path, old: str, new: str, part: str = "word/document.xml") -> Path:
    """A copy of a bundled template with one text replaced in ``part`` (default word/document.xml)."""
    src = TEMPLATE_DIR / f"{kind}.docx"
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / f"{kind}.docx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                text = data.decode("utf-8")
                assert old in text, old
                data = text.replace(old, new, 1).encode("utf-8")
            zout.writestr(info, data)
    return out


def pdf_facts(pdf: bytes) -> dict[str, Any]:
    """What a printer and an archival check see: page count and sizes (mm), PDF/A output intents,
    fonts that are not embedded (PDF/A forbids them), encryption."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    root: Any = reader.trailer["/Root"].get_object()
    intents = [str(o.get_object().get("/S")) for o in root.get("/OutputIntents", [])]
    sizes, not_embedded = set(), set()
    for page in reader.pages:
        sizes.add((round(float(page.mediabox.width) * 25.4 / 72), round(float(page.mediabox.height) * 25.4 / 72)))
        resources: Any = page["/Resources"].get_object()
        fonts: Any = resources.get("/Font", {})
        for ref in fonts.get_object().values():
            font = ref.get_object()
            if font.get("/Subtype") == "/Type0":
                font = font["/DescendantFonts"][0].get_object()
            desc = font.get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            if not any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                not_embedded.add(str(font.get("/BaseFont")))
    return {"pages": len(reader.pages), "sizes": sizes, "intents": intents, "not_embedded": not_embedded,
            "encrypted": reader.is_encrypted}
