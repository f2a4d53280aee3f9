"""Helpers for the search tests: plaintext scans and small archives with documents."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENCODINGS = ("utf-8", "gb18030", "utf-16-le", "utf-16-be")


def needle_variants(value: str) -> set[bytes]:
    out: set[bytes] = set()
    for v in {value, value.lower(), value.upper()}:
        for enc in ENCODINGS:
            try:
                out.add(v.encode(enc))
            except UnicodeEncodeError:
                pass
        # pickled bytes (protocol 2) carry UTF-8 term bytes re-encoded as latin-1 text
        out.add(v.encode("utf-8").decode("latin-1").encode("utf-8"))
        try:
            out.add(v.encode("latin-1"))
        except UnicodeEncodeError:
            pass
    # At least 6 bytes: a 4-byte needle (a 2-character name in GB18030 or UTF-16) matches random
    # ciphertext by chance about once per 4 GiB scanned per needle — with hundreds of needles over
    # megabytes of sealed segments that is a real false alarm (seen in CI). 6 bytes: ~1 in 2^48.
    # 2-character names are still searched in UTF-8 (6 bytes) and as pickled latin-1 (12 bytes).
    return {b for b in out if len(b) >= 6}


def scan_plaintext(root: Path, values: list[str]) -> list[tuple[str, str]]:
    """(file, value) for every value found under ``root`` in any encoding variant."""
    needles = {v: needle_variants(v) for v in values if len(v) >= 2}
    hits: list[tuple[str, str]] = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                data = Path(dirpath, name).read_bytes()
            except FileNotFoundError:
                continue  # removed while we walked (a vanished file holds nothing)
            for v, variants in needles.items():
                if any(n in data for n in variants):
                    hits.append((os.path.join(dirpath, name), v))
    return hits


def tiny_docx(text: str = "家访记录") -> bytes:
    """A minimal zip with word/document.xml (enough for the archive's usability check)."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", f"<w:document><w:t>{text}</w:t></w:document>")
    return buf.getvalue()


DOCX = tiny_docx()


def visit_text(record: Any, i: int) -> str:
    return (f"2024年3月{i % 28 + 1}日，帮扶教师到{record.residence or record.household_address or ''}"
            f"{record.name}家中家访。孩子学习认真，与父母每周视频通话一次。"
            f"第{i}次家访，家中经济困难，已申请生活补助。")


def fill_archive(path: Path, passphrase: str, n_children: int, docs_per_child: int = 2,
                 seed: int = 0) -> dict[str, Any]:
    """Children from guanai.care.synth plus home-visit documents with text; returns what was written."""
    from guanai.archive.store import Archive
    from guanai.care.synth import synth_children

    kids = synth_children(n_children, seed=seed)
    info: dict[str, Any] = {"children": [], "docs": []}
    with Archive.open(path, user="admin", passphrase=passphrase, write=True) as arc:
        for k in kids:
            cid = arc.add_child(k)
            info["children"].append((cid, k))
            for j in range(docs_per_child):
                text = visit_text(k, j)
                did = arc.put_document(kind="home-visit", title=f"{k.name}家访记录{j + 1}", content=DOCX,
                                       filename=f"visit{j}.docx", mime="application/octet-stream", child_id=cid,
                                       text=text, doc_date=f"2024-03-{j % 28 + 1:02d}")
                info["docs"].append((did, cid, text))
    return info
