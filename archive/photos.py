"""A child's photo (一人一卡 档案卡): checked, re-encoded and stored as one sealed document.

Photos come from phones and scanners and are hostile input: only JPEG and PNG are accepted (by
content, never by file name), at most ``MAX_PHOTO_BYTES`` and ``MAX_PIXELS``; the picture is
decoded, turned upright (EXIF orientation), scaled to at most ``LONG_SIDE`` pixels on its long
side and written again as a plain JPEG from raw pixels, so nothing of the original file -- EXIF
(GPS position, camera, time), XMP, ICC, comments, trailing data -- reaches the archive.

Storage (archive/FORMAT.md §6.5): a document of kind ``child-photo`` of the child (sealed like
every document, authenticated by the row MACs of ``documents`` and ``content``); a child has at
most one: setting a new photo deletes the old one in the same transaction, ``remove_photo``
deletes it (audited ``doc.delete`` with a tombstone). Being a document, it travels with the
dossier in transfer packages.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guanai.base.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from guanai.archive.store import Archive, DocumentEntry

PHOTO_KIND = "child-photo"
PHOTO_TITLE = "照片"
PHOTO_FILENAME = "照片.jpg"
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel phone picture; below Pillow's own bomb limit (89 M)
MAX_SIDE = 20_000
LONG_SIDE = 600
JPEG_QUALITY = 85
#: What a stored photo may be when it is used (a photo from a transfer package is re-checked).
MAX_STORED_BYTES = 2 * 1024 * 1024

_HINT = "请用手机或相机拍摄的 JPEG（.jpg）或 PNG 照片；可先在电脑上另存为 JPEG 再试。"


class PhotoError(InputError):
    """A file that is not a usable photo."""


@dataclass(frozen=True)
class Photo:
    doc_id: str
    data: bytes
    width: int
    height: int
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "width": self.width, "height": self.height, "size": len(self.data),
                "created_at": self.created_at}


def sniff(data: bytes) -> str | None:
    """"JPEG" / "PNG" from the first bytes (the file name is never trusted)."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    return None


def sanitize_photo(data: bytes, name: str = "照片") -> bytes:
    """A clean JPEG (≤ LONG_SIDE px, no metadata) from JPEG/PNG bytes; PhotoError otherwise."""
    from PIL import Image, ImageOps

    if not data:
        raise PhotoError(f"{name} 是空文件。", _HINT)
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(f"{name} 过大（{len(data) / 1024 / 1024:.1f} MB，上限 {MAX_PHOTO_BYTES // 1024 // 1024} MB）。",
                         "请先缩小照片（如用手机“编辑—调整大小”）后再试。")
    fmt = sniff(data)
    if fmt is None:
        raise PhotoError(f"{name} 不是 JPEG 或 PNG 图片（按文件内容判断，与扩展名无关）。", _HINT)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it: make every bomb an error here
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                w, h = im.size
                if w < 1 or h < 1 or w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
                    raise PhotoError(f"{name} 的尺寸 {w}×{h} 像素过大（上限 {MAX_PIXELS // 1_000_000} 百万像素）。",
                                     "请先缩小照片后再试。")
                if fmt == "JPEG":
                    im.draft("RGB", (LONG_SIDE, LONG_SIDE))  # decode at a reduced scale: less memory, faster
                im.load()
                upright = ImageOps.exif_transpose(im)
                pixels = _rgb(upright)
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise PhotoError(f"{name} 的像素数过多，疑似“解压炸弹”，已拒绝。", "请使用普通的照片文件。") from err
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, Image.UnidentifiedImageError) as err:
        raise PhotoError(f"{name} 已损坏或不完整，无法读取（{type(err).__name__}）。",
                         "请重新拍摄或重新导出照片后再试。") from err
    pixels.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
    # a new image from raw pixels: no info dict (EXIF, XMP, ICC, comments) can be carried over
    clean = Image.frombytes("RGB", pixels.size, pixels.tobytes())
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _rgb(im: Any) -> Any:
    """RGB pixels; transparency is laid on white (a PNG with alpha would turn black in JPEG)."""
    from PIL import Image

    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if im.mode == "I;16" or im.mode == "I":
        return im.point(lambda v: v / 256).convert("L").convert("RGB")
    return im.convert("RGB")


def _photo_docs(arc: Archive, child_id: str) -> list[DocumentEntry]:
    return arc.list_documents(child_id=child_id, kind=PHOTO_KIND)


def set_photo(arc: Archive, child_ref: str, data: bytes, *, name: str = "照片") -> Photo:
    """Store the child's photo (replacing the old one, in one transaction); returns it."""
    arc.require("write")
    entry = arc.get_child(child_ref)
    from guanai.archive.children import require_open

    require_open(entry, "存入照片")
    clean = sanitize_photo(data, name)
    w, h = _size(clean)
    old = _photo_docs(arc, entry.id)
    with arc.transaction():
        doc_id = arc.put_document(kind=PHOTO_KIND, title=PHOTO_TITLE, content=clean, filename=PHOTO_FILENAME,
                                  mime="image/jpeg", child_id=entry.id, meta={"width": w, "height": h})
        for d in old:
            arc.delete_document(d.id, "照片已更换")
    stored = arc.get_document(doc_id)
    return Photo(doc_id, clean, w, h, stored.created_at)


def remove_photo(arc: Archive, child_ref: str) -> int:
    """Delete the child's photo (the bytes are gone, not only hidden); the number removed."""
    arc.require("write")
    entry = arc.get_child(child_ref)
    old = _photo_docs(arc, entry.id)
    if not old:
        raise NotFoundError(f"{entry.record.name} 没有照片。", f"存入照片：guanai child photo {entry.record.student_id} 照片.jpg")
    from guanai.archive.children import require_open

    require_open(entry, "删除照片")
    with arc.transaction():
        for d in old:
            arc.delete_document(d.id, "照片已删除")
    return len(old)


def _size(data: bytes) -> tuple[int, int]:
    from docx.image.image import Image as DocxImage

    info = DocxImage.from_blob(data)
    return int(info.px_width), int(info.px_height)


def get_photo(arc: Archive, child_id: str) -> Photo | None:
    """The child's current photo (newest, not voided), fit to print; None without one.

    A photo that did not come through ``set_photo`` here (a transfer package from another
    school) is checked again and re-encoded if it is not a small JPEG; one that fails is not used.
    """
    from guanai.archive.documents import voided

    docs = [d for d in _photo_docs(arc, child_id) if d.id not in voided(arc)]
    if not docs:
        return None
    d = max(docs, key=lambda x: (x.gen, x.created_at, x.id))
    data = arc.read_document(d.id, audit=False)  # the card that uses it is audited (doc.put)
    try:
        if sniff(data) != "JPEG" or len(data) > MAX_STORED_BYTES or max(_size(data)) > LONG_SIDE:
            data = sanitize_photo(data)
        w, h = _size(data)
    except Exception:  # noqa: BLE001 -- a foreign photo that does not decode is left out, not fatal
        return None
    return Photo(d.id, data, w, h, d.created_at)


def has_photo(arc: Archive, child_id: str) -> DocumentEntry | None:
    """The child's photo document (no content read), for listings and `child show`."""
    from guanai.archive.documents import voided

    docs = [d for d in _photo_docs(arc, child_id) if d.id not in voided(arc)]
    return max(docs, key=lambda x: (x.gen, x.created_at, x.id)) if docs else None
