"""四性检测 (DA/T 70): authenticity, integrity, usability, security — every problem reported."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sqlite3
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive import crypto, keys
from guanai.base.errors import GuanaiError, IntegrityError

if TYPE_CHECKING:
    from guanai.archive.store import Archive

AUTH, INTEG, USAB, SECUR = "真实性", "完整性", "可用性", "安全性"
ENCODINGS = ("utf-8", "gb18030", "utf-16-le", "utf-16-be")
# A needle shorter than this many bytes would match random ciphertext by chance
# (6 bytes: ~1 false hit in 10^14 positions per needle).
MIN_NEEDLE_BYTES = 6
CHUNK = 16 * 1024 * 1024


@dataclass
class Problem:
    category: str
    obj: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"category": self.category, "object": self.obj, "message": self.message}


@dataclass
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, category: str, obj: str, message: str) -> None:
        self.problems.append(Problem(category, obj, message))

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": self.counts, "seconds": round(self.seconds, 3),
                "problems": [p.to_json() for p in self.problems]}


Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    return None


def verify_archive(arc: Archive, progress: Progress | None = None) -> VerifyReport:
    """Check everything, collecting every problem rather than stopping at the first."""
    from guanai.archive.audit import walk

    arc.require("verify")
    progress = progress or _noop
    t0 = time.perf_counter()
    rep = VerifyReport()
    conn = arc.conn

    # integrity: the database file itself
    try:
        for (msg,) in conn.execute("PRAGMA quick_check").fetchall():
            if msg != "ok":
                rep.add(INTEG, "catalog.sqlite", f"数据库结构检查失败：{msg}")
    except sqlite3.DatabaseError as err:
        rep.add(INTEG, "catalog.sqlite", f"数据库无法读取：{err}")
        rep.seconds = time.perf_counter() - t0
        return rep

    needles: set[str] = set()

    # children: records open in their row, blind index agrees
    rows = conn.execute("SELECT id, status, record FROM children").fetchall()
    blind_rows = {(k, m): c for k, m, c in conn.execute("SELECT kind, mac, child_id FROM blind")}
    expected_blind: set[tuple[str, str]] = set()
    for i, (cid, status, blob) in enumerate(rows):
        progress("children", i, len(rows))
        try:
            record = arc._load_record(cid, blob)
        except GuanaiError as err:
            rep.add(INTEG, f"儿童 {cid}", f"记录无法打开：{err.message}")
            continue
        except Exception as err:  # noqa: BLE001 - a record that opens but no longer validates
            rep.add(INTEG, f"儿童 {cid}", f"记录内容无效：{type(err).__name__}")
            continue
        for pair in arc._blind_keys(record):
            expected_blind.add(pair)
            if blind_rows.get(pair) != cid:
                rep.add(INTEG, f"儿童 {cid}", "学籍号/身份证号检索索引缺失或指向他人")
        needles.update(_personal_values(record))
        from guanai.archive.store import STATUSES

        if status not in STATUSES:
            rep.add(INTEG, f"儿童 {cid}", f"状态值无效：{status}")
    for pair, cid in blind_rows.items():
        if pair not in expected_blind:
            rep.add(INTEG, f"检索索引 {pair[0]}", f"多余的索引项（指向 {cid}）")
    rep.counts["children"] = len(rows)

    # documents: meta, content, hash, usability
    docs = conn.execute("SELECT id, child_id, kind, size, meta FROM documents").fetchall()
    content_ids = {r[0] for r in conn.execute("SELECT doc_id FROM content")}
    child_ids = {r[0] for r in rows}
    for i, (did, child_id, _kind, size, mblob) in enumerate(docs):
        progress("documents", i, len(docs))
        obj = f"文档 {did}"
        if child_id is not None and child_id not in child_ids:
            rep.add(INTEG, obj, f"所属儿童 {child_id} 不存在")
        try:
            meta = json.loads(arc.unseal("documents", "meta", did, mblob))
        except GuanaiError as err:
            rep.add(INTEG, obj, f"元数据无法打开：{err.message}")
            continue
        if meta.get("title"):
            obj = f"文档 {did}《{meta['title']}》"  # people know documents by their titles
        if did not in content_ids:
            rep.add(INTEG, obj, "内容缺失")
            continue
        try:
            data = arc._content(did, "data") or b""
            arc._content(did, "form")
            arc._content(did, "text")
        except GuanaiError as err:
            rep.add(INTEG, obj, f"内容无法打开：{err.message}")
            continue
        if len(data) != size or not crypto.ct_equal(hashlib.sha256(data).hexdigest(), meta.get("sha256", "")):
            rep.add(INTEG, obj, "内容与登记的大小或 SHA-256 不符")
        problem = usability_problem(meta.get("filename", ""), meta.get("mime", ""), data)
        if problem:
            rep.add(USAB, obj, problem)
    for orphan in content_ids - {d[0] for d in docs}:
        rep.add(INTEG, f"内容 {orphan}", "没有对应的文档目录项")
    rep.counts["documents"] = len(docs)

    # settings
    for (name,) in conn.execute("SELECT name FROM settings").fetchall():
        try:
            arc.get_setting(name)
        except IntegrityError as err:
            rep.add(INTEG, f"设置 {name}", err.message)

    # generation counter covers every row
    gen = arc.generation
    max_gen = conn.execute("SELECT max(g) FROM (SELECT max(gen) g FROM children UNION ALL "
                           "SELECT max(gen) FROM documents)").fetchone()[0] or 0
    if max_gen > gen:
        rep.add(INTEG, "catalog.sqlite", f"版本计数（{gen}）小于记录中的最大值（{max_gen}）")

    # authenticity: audit chain and key files
    progress("audit", 0, 1)
    entries, chain_problems = walk(arc)
    for p in chain_problems:
        rep.add(AUTH, "审计日志", p)
    rep.counts["audit_entries"] = len(entries)
    for kf in sorted((arc.path / "keys").glob("*.json")):
        try:
            keys.read_key_file(arc.path, kf.stem)
        except GuanaiError as err:
            rep.add(AUTH, f"keys/{kf.name}", err.message)
    try:
        from guanai.archive.store import read_info

        read_info(arc.path)
    except GuanaiError as err:
        rep.add(AUTH, "archive.json", err.message)

    # security: no personal value in clear anywhere under the archive directory.
    # Fold the WAL into the database first (best effort) so page images are not scanned twice.
    with contextlib.suppress(sqlite3.DatabaseError):
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    progress("scan", 0, 1)
    for obj, message in scan_plaintext(arc.path, needles):
        rep.add(SECUR, obj, message)
    rep.counts["scanned_values"] = len(needles)
    rep.seconds = time.perf_counter() - t0
    return rep


def usability_problem(filename: str, mime: str, data: bytes) -> str | None:
    name = filename.lower()
    if name.endswith(".docx") or "wordprocessingml" in mime:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if "word/document.xml" not in z.namelist():
                    return "不是有效的 .docx（缺少 word/document.xml）"
                if z.testzip() is not None:
                    return "不是有效的 .docx（压缩包损坏）"
        except zipfile.BadZipFile:
            return "不是有效的 .docx（不是压缩包）"
    elif name.endswith(".pdf") or mime == "application/pdf":
        if not data.startswith(b"%PDF-"):
            return "不是有效的 PDF（缺少 %PDF- 文件头）"
    return None


def _personal_values(record: Any) -> Iterable[str]:
    try:
        from guanai.care.model import personal_values

        return [v for v in personal_values(record) if v]
    except ImportError:  # pragma: no cover - care/ is part of the distribution
        return [str(getattr(record, a, "") or "") for a in ("name", "student_id", "id_number")]


def build_automaton(needles: Iterable[str]) -> tuple[Any, list[tuple[str, str]]] | None:
    """An Aho-Corasick automaton over each value in every encoding; None when nothing to look for."""
    import ahocorasick_rs

    patterns: list[bytes] = []
    labels: list[tuple[str, str]] = []
    seen: set[bytes] = set()
    for value in needles:
        for enc in ENCODINGS:
            try:
                b = value.encode(enc)
            except UnicodeEncodeError:
                continue
            if len(b) < MIN_NEEDLE_BYTES or b in seen:
                continue
            seen.add(b)
            patterns.append(b)
            labels.append((value, enc))
    if not patterns:
        return None
    return ahocorasick_rs.BytesAhoCorasick(patterns), labels


def mask(value: str) -> str:
    """Show a found personal value only partly (the report itself must not leak it)."""
    if len(value) <= 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def _catalog_skip_ranges(db: Path) -> list[tuple[int, int]]:
    """Byte ranges of the catalog's overflow pages (tails of sealed values, authenticated by opening)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = sorted(p for (p,) in conn.execute("SELECT pageno FROM dbstat WHERE pagetype='overflow'"))
    except sqlite3.DatabaseError:
        return []
    finally:
        conn.close()
    ranges: list[tuple[int, int]] = []
    for p in pages:
        start = (p - 1) * page_size
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], start + page_size)
        else:
            ranges.append((start, start + page_size))
    return ranges


def _scan_ranges(size: int, skip: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    pos = 0
    for a, b in skip:
        if a > pos:
            yield pos, a
        pos = max(pos, b)
    if pos < size:
        yield pos, size


def scan_plaintext(root: Path, needles: Iterable[str]) -> list[tuple[str, str]]:
    """Every (file, message) where a personal value appears in clear under ``root``.

    Every file is scanned byte for byte, except the catalog's overflow pages: they hold only the
    tails of sealed values, each of which verify has just opened (authenticated) in its context.
    """
    built = build_automaton(needles)
    if built is None:
        return []
    auto, labels = built
    found: list[tuple[str, str]] = []
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        rel = str(path.relative_to(root))
        skip = _catalog_skip_ranges(path) if rel == "catalog.sqlite" else []
        hits: set[int] = set()
        try:
            size = path.stat().st_size
            with open(path, "rb") as f:
                for a, b in _scan_ranges(size, skip):
                    f.seek(a)
                    pos = a
                    while pos < b:
                        # overlap so a value straddling two reads is still seen
                        start = max(a, pos - 256)
                        f.seek(start)
                        buf = f.read(min(CHUNK, b - start))
                        if not buf:
                            break
                        hits.update(i for i, _s, _e in auto.find_matches_as_indexes(buf, overlapping=True))
                        pos = start + len(buf)
        except OSError as err:
            found.append((rel, f"无法读取：{err.strerror}"))
            continue
        for value, enc in sorted({labels[i] for i in hits}):
            found.append((rel, f"发现明文个人信息（{mask(value)}，编码 {enc}）"))
    return found
