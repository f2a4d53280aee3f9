"""Salvage a damaged archive: copy every row whose seal still opens into a new archive.

``guanai salvage DIR NEW_DIR`` is for a catalog that is truncated or corrupt (a disk fault, a
copy interrupted halfway) when no good backup exists. The catalog is first copied into the new
archive's private build directory; when SQLite's ``quick_check`` fails it is rebuilt there with
the ``sqlite3`` shell's ``.recover`` (which reads every page it can; without the shell, rows are
read one by one until the damage stops the scan). Then every row is checked the way ``verify``
does: a child record, a document's meta and content, a setting or an audit entry is kept only
when its AEAD seal opens under this archive's key and its context (table, column, row id) — so
nothing damaged or forged is carried over. The report says what was kept and what was lost.

The original directory is never written. The new archive (format v2, built with an
administrator's grant) keeps the archive id, the key files (same users and passphrases), the
user registry and the surviving audit entries verbatim; an ``archive.salvage`` entry records the
counts. ``verify`` of the copy names the lost rows (the audit chain remembers them) and any gap
in the chain. The search index is rebuilt by ``guanai reindex`` (or the first write).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.base.errors import GuanaiError, StateError
from guanai.base.fsutil import atomic_write, publish_dir

if TYPE_CHECKING:
    from guanai.archive.store import Archive

_SEALED_ERRORS = (GuanaiError, ValueError, TypeError, KeyError, AttributeError, UnicodeError)


@dataclass
class TableReport:
    name: str
    kept: int = 0
    lost: list[str] = field(default_factory=list)  # row ids (no personal data)
    unreadable: bool = False  # the scan stopped at damage: rows after it are unknown

    def to_json(self) -> dict[str, Any]:
        return {"table": self.name, "kept": self.kept, "lost": len(self.lost), "lost_ids": self.lost,
                "scan_stopped_at_damage": self.unreadable}


@dataclass
class SalvageReport:
    source: str
    dest: str
    method: str  # 'copy' (catalog sound), 'scan' (damaged: scanned and probed row by row)
    tables: dict[str, TableReport] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return sum(len(t.lost) for t in self.tables.values())

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "dest": self.dest, "method": self.method, "lost": self.lost,
                "tables": [t.to_json() for t in self.tables.values()]}


def _readable_copy(src: Path, work: Path) -> tuple[sqlite3.Connection, str]:
    """A connection to a readable copy of the source catalog, and how it was obtained."""
    from guanai.archive.store import _text

    copy = work / "source.sqlite"
    shutil.copyfile(src / "catalog.sqlite", copy)
    for suffix in ("-wal",):
        if (src / f"catalog.sqlite{suffix}").exists():
            shutil.copyfile(src / f"catalog.sqlite{suffix}", work / f"source.sqlite{suffix}")
    os.chmod(copy, 0o600)
    _pad_pages(copy)
    try:
        conn = sqlite3.connect(copy)
        conn.text_factory = _text
        if conn.execute("PRAGMA quick_check").fetchone()[0] == "ok":
            return conn, "copy"
        conn.close()
    except sqlite3.DatabaseError:
        pass
    conn = sqlite3.connect(copy)
    conn.text_factory = _text
    return conn, "scan"


def _pad_pages(db: Path) -> None:
    """A truncated file ends mid-page and is shorter than its header says: SQLite then refuses
    every page. Padded with zeros to the header's page count, the sound pages read again."""
    with open(db, "r+b") as f:
        head = f.read(100)
        if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
            return
        page = int.from_bytes(head[16:18], "big")
        page = 65536 if page == 1 else page
        if page < 512 or page & (page - 1):
            return
        pages = int.from_bytes(head[28:32], "big")
        size = os.fstat(f.fileno()).st_size
        want = max(-(-size // page), pages) * page
        if want > size and want - size < 1 << 34:
            f.truncate(want)


#: after the last row found, how many rowids a damaged table is probed further
PROBE_WINDOW = 5000


def _rows(conn: sqlite3.Connection, table: str, cols: str, rep: TableReport) -> list[tuple[Any, ...]]:
    """Every row the damage lets us read.

    A plain scan first; when it stops at a damaged page, every rowid is probed on its own (a
    lookup only reads the pages on its path, so rows on sound pages after the damage are still
    found), up to :data:`PROBE_WINDOW` past the last row found.
    """
    out: dict[int, tuple[Any, ...]] = {}
    try:
        cur = conn.execute(f"SELECT rowid, {cols} FROM {table} ORDER BY rowid")
        while True:
            row = cur.fetchone()
            if row is None:
                return list(out.values())
            out[int(row[0])] = tuple(row[1:])
    except sqlite3.DatabaseError:
        rep.unreadable = True
    try:
        hi = int(conn.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0)
    except (sqlite3.DatabaseError, TypeError, ValueError):
        hi = 0
    rid, last_hit = 1, max(out, default=0)
    while rid <= max(hi, last_hit + PROBE_WINDOW):
        if rid not in out:
            try:
                row = conn.execute(f"SELECT {cols} FROM {table} WHERE rowid=?", (rid,)).fetchone()
            except sqlite3.DatabaseError:
                row = None
            if row is not None:
                out[rid] = tuple(row)
                last_hit = rid
        rid += 1
    return [out[k] for k in sorted(out)]


def salvage(src: Path | str, dest: Path | str, *, user: str, passphrase: str) -> SalvageReport:
    """Recover every row of ``src`` whose seal still opens into a new archive at ``dest``.

    Needs an administrator of ``src`` (the new catalog is signed with the writer key and keeps
    the admin-signed user registry). A format-v1 source is refused: upgrade it first.
    """
    from guanai.archive import keys
    from guanai.archive.audit import entry_mac
    from guanai.archive.store import FORMAT_VERSION, Archive, create_catalog, read_info
    from guanai.base.errors import PermissionDenied

    src, dest = Path(src), Path(dest)
    info = read_info(src)
    if info.format_version != FORMAT_VERSION:
        raise StateError(f"档案库为旧格式 v{info.format_version}，抢救只支持 v{FORMAT_VERSION}。",
                         "旧格式档案库请先由备份恢复，或用 guanai upgrade 升级后再抢救。")
    kf = keys.read_key_file(src, user)
    grant = keys.unwrap(info.archive_id, kf, passphrase)
    if kf.role != "admin":
        raise PermissionDenied(f"用户“{user}”不是管理员，不能抢救档案库。", "请由管理员运行 guanai salvage。")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StateError(f"目标目录 {dest} 已存在且不为空。", "抢救到一个新的空目录；原档案库不会被改动。")
    if dest.resolve() == src.resolve():
        raise StateError("目标目录不能是原档案库。", "抢救到一个新目录。")
    parent = dest.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{dest.name}.salvage-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(mode=0o700)
    try:
        shutil.copyfile(src / "archive.json", tmp / "archive.json")
        (tmp / "keys").mkdir(mode=0o700)
        for k in sorted((src / "keys").glob("*.json")):
            atomic_write(tmp / "keys" / k.name, k.read_bytes())
        work = tmp / ".work"
        work.mkdir(mode=0o700)
        old, method = _readable_copy(src, work)
        rep = SalvageReport(str(src), str(dest), method)
        try:
            try:
                generation = int(old.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
            except (sqlite3.Error, TypeError, ValueError):
                generation = 0
            create_catalog(tmp / "catalog.sqlite", info.archive_id, generation)
            arc = Archive(tmp, info, user, kf.role, grant)
            try:
                _copy_all(arc, old, rep, entry_mac, generation)
            finally:
                arc.close()
        finally:
            old.close()
        shutil.rmtree(work, ignore_errors=True)
        (tmp / ".lock").touch(mode=0o600)
        publish_dir(tmp, dest)
        return rep
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _copy_all(arc: Archive, old: sqlite3.Connection, rep: SalvageReport, entry_mac: Any, old_gen: int) -> None:
    tables = {n: TableReport(n) for n in ("children", "documents", "settings", "audit", "tombstones")}
    rep.tables = tables
    c = arc.conn
    with arc.transaction():
        # children: the record opens and parses
        max_gen = 0
        kept_children: set[str] = set()
        for cid, status, school, created, updated, gen, blob in _rows(
                old, "children", "id, status, school_code, created_at, updated_at, gen, record", tables["children"]):
            try:
                record = arc._load_record(str(cid), bytes(blob))
                pairs = arc._blind_keys(record)
                gen = int(gen)
                c.execute("INSERT INTO children VALUES(?,?,?,?,?,?,?)",
                          (str(cid), str(status), str(school), str(created), str(updated), gen, bytes(blob)))
                c.executemany("INSERT OR IGNORE INTO blind VALUES(?,?,?)", [(k, m, str(cid)) for k, m in pairs])
            except (*_SEALED_ERRORS, sqlite3.Error):
                tables["children"].lost.append(_rid(cid))
                continue
            kept_children.add(str(cid))
            tables["children"].kept += 1
            max_gen = max(max_gen, gen)
        # documents: meta and content open, content matches its digest
        content: dict[str, tuple[Any, ...]] = {}
        for row in _rows(old, "content", "doc_id, data, form, text", TableReport("content")):
            content[str(row[0])] = row
        for did, child_id, kind, created, gen, size, mblob in _rows(
                old, "documents", "id, child_id, kind, created_at, gen, size, meta", tables["documents"]):
            did = str(did)
            try:
                meta = json.loads(arc.unseal("documents", "meta", did, bytes(mblob)))
                _, data_blob, form_blob, text_blob = content[did]
                data = arc.unseal("content", "data", did, bytes(data_blob))
                if hashlib.sha256(data).hexdigest() != meta["sha256"] or len(data) != int(size):
                    raise ValueError("digest")
                for col, blob in (("form", form_blob), ("text", text_blob)):
                    if blob is not None:
                        arc.unseal("content", col, did, bytes(blob))
                if child_id is not None and str(child_id) not in kept_children:
                    raise ValueError("child lost")
                gen = int(gen)
                c.execute("INSERT INTO documents VALUES(?,?,?,?,?,?,?)",
                          (did, None if child_id is None else str(child_id), str(kind), str(created), gen,
                           int(size), bytes(mblob)))
                c.execute("INSERT INTO content VALUES(?,?,?,?)",
                          (did, bytes(data_blob), None if form_blob is None else bytes(form_blob),
                           None if text_blob is None else bytes(text_blob)))
            except (*_SEALED_ERRORS, sqlite3.Error):
                tables["documents"].lost.append(_rid(did))
                continue
            tables["documents"].kept += 1
            max_gen = max(max_gen, gen)
        for tid, entity, gen, at in _rows(old, "tombstones", "id, entity, gen, at", tables["tombstones"]):
            try:
                c.execute("INSERT INTO tombstones VALUES(?,?,?,?)", (str(tid), str(entity), int(gen), str(at)))
                tables["tombstones"].kept += 1
                max_gen = max(max_gen, int(gen))
            except (ValueError, TypeError, sqlite3.Error):
                tables["tombstones"].lost.append(_rid(tid))
        for name, value in _rows(old, "settings", "name, value", tables["settings"]):
            if name in ("audit_head", "journal_absorbed"):
                continue  # rewritten by the salvage audit entry below; the journal is not carried over
            try:
                arc.unseal("settings", "value", str(name), bytes(value))
                c.execute("INSERT INTO settings VALUES(?,?)", (str(name), bytes(value)))
                tables["settings"].kept += 1
            except (*_SEALED_ERRORS, sqlite3.Error):
                tables["settings"].lost.append(_rid(name))
        # audit: entries whose own MAC holds, verbatim (a gap stays visible to verify)
        key = arc.subkey("audit")
        for seq, at, actor_hex, action, target, detail_blob, prev, mac, agen in _rows(
                old, "audit", "seq, at, actor, action, target, detail, prev, mac, gen", tables["audit"]):
            try:
                seq = int(seq)
                actor = arc.unseal("audit", "actor", str(seq), bytes.fromhex(actor_hex)).decode()
                detail = None if detail_blob is None else json.loads(
                    arc.unseal("audit", "detail", str(seq), bytes(detail_blob)))
                if entry_mac(key, seq, at, actor, action, target, detail, prev) != mac:
                    raise ValueError("mac")
                c.execute("INSERT INTO audit VALUES(?,?,?,?,?,?,?,?,?)",
                          (seq, at, actor_hex, action, target, detail_blob, prev, mac,
                           None if agen is None else int(agen)))
                tables["audit"].kept += 1
            except (*_SEALED_ERRORS, sqlite3.Error):
                tables["audit"].lost.append(_rid(seq))
        c.execute("UPDATE meta SET value=? WHERE key='generation'", (str(max(max_gen, old_gen)),))
        try:  # the write counter goes on from the original's: this machine's head records must not see a rollback
            old_commit = int(old.execute("SELECT value FROM meta WHERE key='commit'").fetchone()[0])
        except (sqlite3.Error, TypeError, ValueError):
            old_commit = 0
        c.execute("INSERT OR REPLACE INTO meta VALUES('commit', ?)", (str(old_commit + 1),))
        arc._append_audit("archive.salvage", None, {
            "method": rep.method, "kept": {t.name: t.kept for t in tables.values()},
            "lost": {t.name: len(t.lost) for t in tables.values()},
            "incomplete": [t.name for t in tables.values() if t.unreadable]})


def _rid(v: Any) -> str:
    return str(v).encode("utf-8", "backslashreplace").decode("utf-8")[:64]
