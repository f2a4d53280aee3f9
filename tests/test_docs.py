"""Docs that live here: every document the code and the docs cite is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for pattern in ("*.py", "*.md", "*.toml", "Makefile", "*.sh")
           for p in ROOT.rglob(pattern)
           if not {".venv", "build", ".git", "node_modules"} & set(p.relative_to(ROOT).parts)
           and p.name not in ("CHANGES.md", "test_docs.py")]
# a path with a directory (docs/X.md, archive/FORMAT.md, docs/policy/x.txt) or a bare NAME.md
_CITED = re.compile(r"(?<![\w/.-])((?:[\w-]+/)+[\w.-]+\.(?:md|txt)|[A-Z][A-Z_]+\.md)(?![\w])")


def cited() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for src in SOURCES:
        if src.relative_to(ROOT).parts[0] == "tests":  # test data names files (bag entries) that are no docs
            continue
        for m in _CITED.finditer(src.read_text(encoding="utf-8", errors="replace")):
            out.setdefault(m.group(1), []).append(str(src.relative_to(ROOT)))
    return out


def _exists(ref: str, where: str) -> bool:
    if "/" in ref:
        return (ROOT / ref).exists() or (ROOT / where).parent.joinpath(ref).exists()
    return any((d / ref).exists() for d in (ROOT, ROOT / "docs", (ROOT / where).parent))


def test_every_cited_document_exists() -> None:
    refs = cited()
    assert {"docs/ARCHITECTURE.md", "docs/NOTES.md", "docs/CONTRACTS.md"} <= set(refs)
    missing = {ref: wheres for ref, wheres in refs.items() if not any(_exists(ref, w) for w in wheres)}
    assert not missing, missing


def test_no_reference_outside_the_repository() -> None:
    for src in SOURCES:
        text = src.read_text(encoding="utf-8", errors="replace")
        assert "/work/" not in text and "shared/DESIGN" not in text and "shared/NOTES" not in text, src


def test_the_checker_sees_a_missing_document(tmp_path: Path) -> None:
    text = "see docs/NOPE.md and NOTES.md and archive/FORMAT.md"
    found = [m.group(1) for m in _CITED.finditer(text)]
    assert found == ["docs/NOPE.md", "NOTES.md", "archive/FORMAT.md"]
    assert not _exists("docs/NOPE.md", "README.md") and _exists("NOTES.md", "README.md")
