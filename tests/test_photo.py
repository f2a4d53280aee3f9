"""A child's photo: hostile files refused (by content), EXIF/GPS stripped, one photo per child,
sealed and authenticated like every document, shown in the card's photo box (else the box says 照片)."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import open_archive, run
from PIL import Image
from transfer_helpers import CODE_B, Scenario, _scenario_template, scenario

from guanai.archive.photos import LONG_SIDE, MAX_PHOTO_BYTES, PhotoError, get_photo, sanitize_photo, set_photo
from guanai.care.synth import example_record
from guanai.generators.generate import generate_batch

__all__ = ["scenario", "_scenario_template"]  # fixtures, re-exported for pytest

DAY = dt.date(2026, 10, 8)
GPS_IFD = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (1200, 1600), orientation: int | None = None) -> bytes:
    """A phone-like JPEG: EXIF with a GPS position (31.1°N 116.9°E), make and model, a comment."""
    im = Image.new("RGB", size, (180, 120, 90))
    for x in range(0, size[0], 40):  # some structure, so the encoder has something to keep
        im.paste((20, 40, 200), (x, 0, x + 10, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "PhoneModel X"
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (31.0, 6.0, 36.0)
    gps[3], gps[4] = "E", (116.0, 54.0, 0.0)
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes(), comment=b"home of the child", quality=90)
    return out.getvalue()


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 200, 30, 128) if mode == "RGBA" else (10, 200, 30)).save(out, "PNG")
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG declaring a huge grey image: the IDAT holds a few compressed zero rows only."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def metadata_of(data: bytes) -> dict[str, Any]:
    im = Image.open(io.BytesIO(data))
    return {"format": im.format, "size": im.size, "info": set(im.info), "exif": dict(im.getexif()),
            "gps": dict(im.getexif().get_ifd(GPS_IFD))}


# --------------------------------------------------------------------------- the sanitiser


def test_exif_and_gps_are_stripped_and_the_photo_scaled() -> None:
    raw = jpeg_with_gps()
    assert metadata_of(raw)["gps"], "the fixture must carry a GPS position"
    assert b"PhoneModel X" in raw and b"home of the child" in raw
    clean = sanitize_photo(raw)
    meta = metadata_of(clean)
    assert meta["format"] == "JPEG" and max(meta["size"]) == LONG_SIDE and meta["size"] == (450, 600)
    assert meta["exif"] == {} and meta["gps"] == {}
    assert not meta["info"] & {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"}
    for needle in (b"Exif\x00\x00", b"PhoneModel X", b"PhoneMaker", b"home of the child", b"GPS"):
        assert needle not in clean, needle


def test_orientation_is_applied_before_the_exif_goes() -> None:
    # a phone held upright stores a landscape sensor image with orientation 6 (rotate 90°)
    clean = sanitize_photo(jpeg_with_gps((1600, 1200), orientation=6))
    assert metadata_of(clean)["size"] == (450, 600)


def test_png_with_transparency_becomes_a_white_backed_jpeg() -> None:
    clean = sanitize_photo(png((300, 400), "RGBA"))
    im = Image.open(io.BytesIO(clean))
    assert im.format == "JPEG" and im.size == (300, 400) and im.mode == "RGB"
    r, g, b = im.getpixel((150, 200))  # type: ignore[misc]
    assert r > 100 and b > 100  # half-transparent green on white, not on black


@pytest.mark.parametrize(("data", "message"), [
    (b"", "空文件"),
    (b"this is a text file pretending to be a photo" * 10, "不是 JPEG 或 PNG"),
    (b"GIF89a" + b"\x00" * 100, "不是 JPEG 或 PNG"),
    (b"%PDF-1.7\n" + b"\x00" * 100, "不是 JPEG 或 PNG"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "已损坏或不完整"),
])
def test_non_images_and_broken_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(PhotoError) as exc:
        sanitize_photo(data, "照片.jpg")
    assert message in exc.value.message and exc.value.exit_code == 2 and exc.value.hint


def test_truncated_jpeg_is_refused() -> None:
    raw = jpeg_with_gps()
    with pytest.raises(PhotoError) as exc:
        sanitize_photo(raw[: len(raw) // 2])
    assert "已损坏或不完整" in exc.value.message


def test_truncated_png_is_refused() -> None:
    raw = png((400, 300))
    with pytest.raises(PhotoError):
        sanitize_photo(raw[:60])


@pytest.mark.parametrize(("w", "h"), [(100_000, 100_000), (30_000, 100), (8_000, 6_000)])
def test_decompression_bombs_are_refused_before_decoding(w: int, h: int) -> None:
    bomb = png_bomb(w, h)
    assert len(bomb) < 200_000
    with pytest.raises(PhotoError) as exc:
        sanitize_photo(bomb)
    assert "过大" in exc.value.message or "解压炸弹" in exc.value.message


def test_oversized_file_is_refused_before_parsing() -> None:
    with pytest.raises(PhotoError) as exc:
        sanitize_photo(b"\xff\xd8\xff" + b"\x00" * MAX_PHOTO_BYTES)
    assert "过大" in exc.value.message and "10 MB" in exc.value.message


# --------------------------------------------------------------------------- the archive and the card


@pytest.fixture
def child(arc_env: tuple[Path, str]) -> str:
    with open_archive(*arc_env, write=True) as arc:
        return str(arc.add_child(example_record()))


def card_docx(arc: Any, child_id: str) -> bytes:
    res = generate_batch(arc, "child-card", [], child_ref=child_id, today=DAY)
    assert not res.failed, [f.message for f in res.failed]
    doc_id = res.ok[-1].doc_id
    assert doc_id is not None
    return bytes(arc.read_document(doc_id, audit=False))


def media_of(docx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("word/media/")}


def test_card_shows_the_photo_or_a_labelled_box(arc_env: tuple[Path, str], child: str, tmp_path: Path) -> None:
    with open_archive(*arc_env, write=True) as arc:
        empty = card_docx(arc, child)
        assert media_of(empty) == {}
        with zipfile.ZipFile(io.BytesIO(empty)) as z:
            xml = z.read("word/document.xml").decode()
        assert ">照片<" in xml  # the empty box is labelled
        stored = set_photo(arc, child, jpeg_with_gps())
        card = card_docx(arc, child)
    media = media_of(card)
    assert list(media.values()) == [stored.data]  # the clean JPEG, nothing of the original
    with zipfile.ZipFile(io.BytesIO(card)) as z:
        xml = z.read("word/document.xml").decode()
    assert ">照片<" not in xml and "<wp:inline" in xml
    # portrait 450×600 (3:4) is wider than the 25×35 mm box (5:7): the width fills it, aspect kept
    cx, cy = (int(v) for v in __import__("re").search(r'<wp:extent cx="(\d+)" cy="(\d+)"', xml).groups())  # type: ignore[union-attr]
    assert cx <= 25 * 36000 + 1 and cy <= 35 * 36000 + 1 and abs(cx / cy - 450 / 600) < 0.01


def test_cli_photo_set_show_replace_remove(arc_env: tuple[Path, str], child: str, tmp_path: Path) -> None:
    f = tmp_path / "照片.jpg"
    f.write_bytes(jpeg_with_gps())
    code, out = run("child", "show", child)
    assert code == 0 and "照片：无" in out
    code, out = run("child", "photo", child, str(f))
    assert code == 0, out
    assert "已存入" in out and "450×600" in out and "拍摄位置" in out
    code, out = run("child", "show", child, "--json")
    first = json.loads(out)["photo"]
    assert first and first["doc_id"]
    code, out = run("child", "show", child)
    assert "照片：有" in out
    # a new photo replaces the old one: the old bytes are deleted, not kept
    p2 = tmp_path / "新照片.png"
    p2.write_bytes(png((500, 700)))
    code, out = run("child", "photo", child, str(p2), "--json")
    assert code == 0, out
    second = json.loads(out)
    assert (second["width"], second["height"]) == (429, 600)
    with open_archive(*arc_env) as arc:
        photos = arc.list_documents(child_id=child, kind="child-photo")
        assert [d.id for d in photos] == [second["doc_id"]]
        got = get_photo(arc, child)
        assert got is not None and got.doc_id == second["doc_id"]
    code, out = run("doc", "list", "--child", child, "--json")
    assert code == 0 and [d["kind_name"] for d in json.loads(out)] == ["照片"]
    code, out = run("child", "photo", child, "--remove")
    assert code == 0 and "已删除" in out
    code, out = run("child", "photo", child, "--remove")
    assert code == 3 and "没有照片" in out
    with open_archive(*arc_env) as arc:
        assert arc.list_documents(child_id=child, kind="child-photo") == []
        assert get_photo(arc, child) is None
    code, out = run("verify")
    assert code == 0, out
    code, out = run("audit", "show", "--json")
    actions = [e["action"] for e in json.loads(out)]
    assert actions.count("doc.delete") == 2


@pytest.mark.parametrize(("content", "message"), [
    (b"not an image at all, only text with a .jpg name\n" * 20, "不是 JPEG 或 PNG"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "已损坏或不完整"),
])
def test_cli_refuses_bad_files_and_stores_nothing(arc_env: tuple[Path, str], child: str, tmp_path: Path,
                                                 content: bytes, message: str) -> None:
    f = tmp_path / "照片.jpg"
    f.write_bytes(content)
    code, out = run("child", "photo", child, str(f))
    assert code == 2 and message in out and "Traceback" not in out
    code, out = run("child", "photo", child, str(tmp_path / "没有这个文件.jpg"))
    assert code == 2 and "文件不存在" in out
    code, out = run("child", "photo", child)
    assert code == 2 and "二者选一" in out
    with open_archive(*arc_env) as arc:
        assert arc.list_documents(child_id=child) == []


def test_a_tampered_photo_is_reported_by_verify(arc_env: tuple[Path, str], child: str) -> None:
    with open_archive(*arc_env, write=True) as arc:
        stored = set_photo(arc, child, png((300, 400)))
    db = sqlite3.connect(arc_env[0] / "catalog.sqlite")
    db.create_function("guanai_row", -1, lambda *a: None)  # an attacker satisfies the triggers
    # swap the photo's bytes for other sealed bytes of the same row id: the row MAC no longer matches
    blob = db.execute("SELECT data FROM content WHERE doc_id=?", (stored.doc_id,)).fetchone()[0]
    db.execute("UPDATE content SET data=? WHERE doc_id=?", (blob[:-1] + bytes([blob[-1] ^ 1]), stored.doc_id))
    db.commit()
    db.close()
    code, out = run("verify")
    assert code == 6 and "content" in out, out


def test_a_foreign_unsanitised_photo_is_rechecked_before_use(arc_env: tuple[Path, str], child: str) -> None:
    # as a transfer package from another school could carry it: stored without our sanitiser
    with open_archive(*arc_env, write=True) as arc:
        arc.put_document(kind="child-photo", title="照片", content=jpeg_with_gps((2000, 3000)), filename="照片.jpg",
                         mime="image/jpeg", child_id=child)
        got = get_photo(arc, child)
        assert got is not None and max(got.width, got.height) == LONG_SIDE and b"PhoneModel X" not in got.data
        arc.put_document(kind="child-photo", title="照片", content=b"\xff\xd8\xff garbage", filename="照片.jpg",
                         mime="image/jpeg", child_id=child)
        assert get_photo(arc, child) is None  # the newest does not decode: no photo rather than a failed card
        assert media_of(card_docx(arc, child)) == {}


def test_a_school_template_gets_the_photo_too(arc_env: tuple[Path, str], child: str, tmp_path: Path) -> None:
    import shutil

    from guanai.generators.assets import TEMPLATE_DIR

    own = tmp_path / "我校模板"
    own.mkdir()
    shutil.copy(TEMPLATE_DIR / "child-card.docx", own / "child-card.docx")
    with open_archive(*arc_env, write=True) as arc:
        stored = set_photo(arc, child, png((300, 420)))
        res = generate_batch(arc, "child-card", [], child_ref=child, today=DAY, template_dir=own)
        assert not res.failed, [f.message for f in res.failed]
        assert any("自定义模板" in n for n in res.notes)
        doc_id = res.ok[-1].doc_id
        assert doc_id is not None
        media = media_of(arc.read_document(doc_id, audit=False))
    assert list(media.values()) == [stored.data]


def test_the_photo_travels_in_a_transfer_package(scenario: Scenario, tmp_path: Path) -> None:
    from guanai.archive import transfer
    from guanai.generators.slip import render_slip

    s = scenario
    cid = s.child_ids[0]
    with s.open_a() as a:
        stored = set_photo(a, cid, jpeg_with_gps())
        student_id = a.get_child(cid).record.student_id
        transfer.export_package(a, [cid], CODE_B, tmp_path / "p.gtp", render_slip=render_slip)
    with s.open_b() as b:
        transfer.accept(b, transfer.open_package(b, tmp_path / "p.gtp"))
        got = b.get_child(student_id)
        photo = get_photo(b, got.id)
        assert photo is not None and photo.data == stored.data
        assert media_of(card_docx(b, got.id)) != {}


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "I;16", "RGBA"])
def test_every_png_mode_becomes_an_rgb_jpeg(mode: str) -> None:
    im = Image.new("I;16" if mode == "I;16" else mode, (64, 48))
    out = io.BytesIO()
    im.save(out, "PNG")
    clean = Image.open(io.BytesIO(sanitize_photo(out.getvalue())))
    assert (clean.format, clean.mode, clean.size) == ("JPEG", "RGB", (64, 48))


@pytest.mark.pdf
def test_card_with_photo_is_one_page_pdfa_with_the_image(arc_env: tuple[Path, str], child: str) -> None:
    from pypdf import PdfReader

    from guanai.generators.pdfa import check_pdfa

    with open_archive(*arc_env, write=True) as arc:
        set_photo(arc, child, jpeg_with_gps())
        res = generate_batch(arc, "child-card", [], child_ref=child, today=DAY, pdf=True)
        assert not res.failed, [f.message for f in res.failed]
        pdf_id = res.ok[-1].pdf_doc_id
        assert pdf_id is not None
        pdf = bytes(arc.read_document(pdf_id, audit=False))
    assert check_pdfa(pdf) == []
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    (img,) = reader.pages[0].images
    # LibreOffice keeps 300 dpi: 25 mm wide = 295 px, print quality for the photo box
    assert img.image is not None and img.image.size[0] >= 280
    assert b"PhoneModel X" not in pdf and b"GPS" not in pdf


def test_verify_reports_an_image_document_that_is_not_one(arc_env: tuple[Path, str], child: str) -> None:
    with open_archive(*arc_env, write=True) as arc:
        arc.put_document(kind="attachment", title="扫描件", content=b"not a jpeg at all", filename="扫描件.jpg",
                         mime="image/jpeg", child_id=child)
        set_photo(arc, child, png((60, 80)))  # a real photo is usable
    code, out = run("verify")
    assert code != 0 and "不是有效的 JPEG 图片" in out and out.count("不是有效的") == 1, out
