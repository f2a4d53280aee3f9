"""The encrypted archive: catalog, sealed content, blind index, audit chain (FORMAT.md).

``Archive`` is the library API every other package uses (docs/CONTRACTS.md). It never prints
and never imports click, docxtpl or whoosh.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive import crypto, heads, keys
from guanai.base.errors import (
    ArchiveMissing,
    AuthError,
    BusyError,
    FormatError,
    GuanaiError,
    InputError,
    IntegrityError,
    NotFoundError,
    PermissionDenied,
    StateError,
)
from guanai.base.faults import translate
from guanai.base.fsutil import atomic_write, publish_dir

if TYPE_CHECKING:
    from guanai.care.model import ChildRecord

FORMAT_NAME = "guanai-archive"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # v1 opens read-only until `guanai upgrade`
STATUSES = ("在册", "转出", "存档备查", "毕业")
CLOSED_STATUSES = ("转出", "存档备查", "毕业")
KINDS = ("school", "county")
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
HEAD_INTERVAL = 2.0  # seconds between two records of the head outside the archive while writing

# role -> permissions; enforced here, in the library, and cryptographically (FORMAT.md §4):
# only write roles hold the writer signing key, only admins the admin signing key.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "export", "write", "transfer", "admin", "verify"}),
    "secretary": frozenset({"read", "export", "write", "transfer"}),
    "archivist": frozenset({"read", "export", "write", "transfer", "verify"}),
    "inspector": frozenset({"read", "export", "verify"}),
}
PERM_NAMES = {"read": "读取", "export": "导出", "write": "写入", "transfer": "转接", "admin": "用户管理",
              "verify": "检测"}


@dataclass(frozen=True)
class AuthTable:
    """A catalog table whose every row is authenticated (FORMAT.md §6.2).

    ``columns`` lists every column in table order (checked against the schema); ``key`` the
    columns that identify a row. Adding a table to the catalog means adding one entry to
    ``AUTH_TABLES``: the triggers, row MACs, set digests and verify follow from it.
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    # for a table added after v2 archives exist: its CREATE TABLE (and indexes), run by the first
    # write transaction on a catalog that lacks it (an empty table adds nothing to the state)
    ddl: str = ""


# the workflow table came after the first v2 archives: ``ddl`` adds it to those at their next write
_RECORDS_DDL = """CREATE TABLE records(id TEXT PRIMARY KEY, kind TEXT NOT NULL, child_id TEXT, created TEXT NOT NULL,
    gen INTEGER NOT NULL, sealed BLOB NOT NULL);
CREATE INDEX records_kind ON records(kind);
"""

AUTH_TABLES: dict[str, AuthTable] = {t.name: t for t in (
    AuthTable("meta", ("key",), ("key", "value")),
    AuthTable("children", ("id",), ("id", "status", "school_code", "created_at", "updated_at", "gen", "record")),
    AuthTable("blind", ("kind", "mac"), ("kind", "mac", "child_id")),
    AuthTable("documents", ("id",), ("id", "child_id", "kind", "created_at", "gen", "size", "meta")),
    AuthTable("content", ("doc_id",), ("doc_id", "data", "form", "text")),
    AuthTable("audit", ("seq",), ("seq", "at", "actor", "action", "target", "detail", "prev", "mac", "gen")),
    AuthTable("settings", ("name",), ("name", "value")),
    AuthTable("tombstones", ("id",), ("id", "entity", "gen", "at")),
    # workflow records (screening rounds, 控辍保学 cases, mentors, contacts, duties): FORMAT.md §6.1
    AuthTable("records", ("id",), ("id", "kind", "child_id", "created", "gen", "sealed"), ddl=_RECORDS_DDL),
)}
# settings only the store itself writes (users: signed by the admin key)
RESERVED_SETTINGS = frozenset({"audit_head", "users", "journal_absorbed"})

SCHEMA_V1 = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE children(id TEXT PRIMARY KEY, status TEXT NOT NULL, school_code TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, gen INTEGER NOT NULL, record BLOB NOT NULL);
CREATE TABLE blind(kind TEXT NOT NULL, mac TEXT NOT NULL, child_id TEXT NOT NULL REFERENCES children(id),
    PRIMARY KEY(kind, mac));
CREATE INDEX blind_child ON blind(child_id);
CREATE TABLE documents(id TEXT PRIMARY KEY, child_id TEXT REFERENCES children(id), kind TEXT NOT NULL,
    created_at TEXT NOT NULL, gen INTEGER NOT NULL, size INTEGER NOT NULL, meta BLOB NOT NULL);
CREATE INDEX documents_child ON documents(child_id);
CREATE INDEX documents_gen ON documents(gen);
CREATE INDEX children_gen ON children(gen);
CREATE TABLE content(doc_id TEXT PRIMARY KEY REFERENCES documents(id), data BLOB NOT NULL,
    form BLOB, text BLOB);
CREATE TABLE audit(seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT, detail BLOB, prev TEXT NOT NULL, mac TEXT NOT NULL);
CREATE TABLE settings(name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE auth_failures(at TEXT NOT NULL, user_hash TEXT NOT NULL);
CREATE TABLE tombstones(id TEXT PRIMARY KEY, entity TEXT NOT NULL, gen INTEGER NOT NULL, at TEXT NOT NULL);
"""
MAX_RECORD_BYTES = 1024 * 1024  # a workflow record's sealed JSON payload

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE children(id TEXT PRIMARY KEY, status TEXT NOT NULL, school_code TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, gen INTEGER NOT NULL, record BLOB NOT NULL);
CREATE TABLE blind(kind TEXT NOT NULL, mac TEXT NOT NULL, child_id TEXT NOT NULL REFERENCES children(id),
    PRIMARY KEY(kind, mac));
CREATE INDEX blind_child ON blind(child_id);
CREATE TABLE documents(id TEXT PRIMARY KEY, child_id TEXT REFERENCES children(id), kind TEXT NOT NULL,
    created_at TEXT NOT NULL, gen INTEGER NOT NULL, size INTEGER NOT NULL, meta BLOB NOT NULL);
CREATE INDEX documents_child ON documents(child_id);
CREATE INDEX documents_gen ON documents(gen);
CREATE INDEX children_gen ON children(gen);
CREATE TABLE content(doc_id TEXT PRIMARY KEY REFERENCES documents(id), data BLOB NOT NULL,
    form BLOB, text BLOB);
CREATE TABLE audit(seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT, detail BLOB, prev TEXT NOT NULL, mac TEXT NOT NULL, gen INTEGER);
CREATE TABLE settings(name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE tombstones(id TEXT PRIMARY KEY, entity TEXT NOT NULL, gen INTEGER NOT NULL, at TEXT NOT NULL);
""" + _RECORDS_DDL + """CREATE TABLE rowmac(tbl TEXT NOT NULL, pk TEXT NOT NULL, mac TEXT NOT NULL, PRIMARY KEY(tbl, pk));
CREATE TABLE accum(tbl TEXT PRIMARY KEY, rows INTEGER NOT NULL, acc BLOB NOT NULL);
CREATE TABLE state(id INTEGER PRIMARY KEY CHECK(id = 1), body TEXT NOT NULL, sig TEXT NOT NULL);
"""


def trigger_sql(t: AuthTable) -> str:
    """The three triggers that report every row change of ``t`` to the writer (FORMAT.md §6.2)."""
    new = ", ".join(f"NEW.{c}" for c in t.columns)
    old = ", ".join(f"OLD.{c}" for c in t.columns)
    n = t.name
    return (f"CREATE TRIGGER auth_{n}_ins AFTER INSERT ON {n} BEGIN SELECT guanai_row('{n}', 1, {new}); END;\n"
            f"CREATE TRIGGER auth_{n}_del AFTER DELETE ON {n} BEGIN SELECT guanai_row('{n}', -1, {old}); END;\n"
            f"CREATE TRIGGER auth_{n}_upd AFTER UPDATE ON {n} BEGIN SELECT guanai_row('{n}', -1, {old}); "
            f"SELECT guanai_row('{n}', 1, {new}); END;\n")


def row_pk(t: AuthTable, values: tuple[Any, ...]) -> str:
    """The row's identity: its key columns as text, joined by 0x1f."""
    if len(t.key) == 1:
        return str(values[t.columns.index(t.key[0])])
    return "\x1f".join(str(values[t.columns.index(k)]) for k in t.key)


_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_KIND_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_SETTING_RE = re.compile(r"^[a-z0-9_.:-]{1,64}$")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


@dataclass(frozen=True)
class ArchiveInfo:
    archive_id: str
    kind: str
    school_code: str
    school_name: str
    county_code: str
    suite: str
    created_at: str
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT_NAME, "version": self.format_version, "archive_id": self.archive_id,
                "kind": self.kind, "school_code": self.school_code, "school_name": self.school_name,
                "county_code": self.county_code, "suite": self.suite, "created_at": self.created_at}


@dataclass
class ChildEntry:
    id: str
    record: ChildRecord
    status: str
    school_code: str
    created_at: str
    updated_at: str
    gen: int


@dataclass
class DocumentEntry:
    id: str
    kind: str
    title: str
    filename: str
    mime: str
    child_id: str | None
    doc_date: str | None
    created_at: str
    size: int
    sha256: str
    gen: int
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "filename": self.filename,
                "mime": self.mime, "child_id": self.child_id, "doc_date": self.doc_date,
                "created_at": self.created_at, "size": self.size, "sha256": self.sha256, "meta": self.meta}


@dataclass
class RecordEntry:
    """A workflow record: clear kind / child / creation time, sealed JSON payload."""

    id: str
    kind: str
    child_id: str | None
    created: str
    gen: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Change:
    entity: str  # 'child' | 'document'
    id: str
    gen: int


def read_info(path: Path) -> ArchiveInfo:
    """Read and check ``archive.json`` first, before any key or database is touched."""
    Archive.check_exists(path)
    try:
        raw = (path / "archive.json").read_bytes()
        if len(raw) > 64 * 1024:
            raise ValueError("too large")
        d = json.loads(raw)
        if not isinstance(d, dict):
            raise ValueError("not an object")
    except (ValueError, OSError) as err:
        raise FormatError(f"档案库描述文件 archive.json 无法读取或格式错误：{path}",
                          "该目录可能不是 guanai 档案库，或文件已损坏；可由备份恢复（guanai restore）。") from err
    if d.get("format") != FORMAT_NAME:
        raise FormatError(f"{path} 不是 guanai 档案库（format={d.get('format')!r}）。", "检查 --archive 参数。")
    version = d.get("version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise FormatError(f"档案库格式版本 {version!r} 不受支持（本软件支持版本 1、{FORMAT_VERSION}）。",
                          "请使用与该档案库相符的 guanai 版本；本软件不会猜测未知格式。")
    try:
        info = ArchiveInfo(archive_id=str(d["archive_id"]), kind=str(d["kind"]), school_code=str(d["school_code"]),
                           school_name=str(d["school_name"]), county_code=str(d["county_code"]),
                           suite=crypto.check_suite(str(d["suite"])), created_at=str(d["created_at"]),
                           format_version=version)
    except (KeyError, InputError) as err:
        raise FormatError("archive.json 缺少字段或字段无效", "文件可能被篡改；可由备份恢复。") from err
    if not _HEX32.match(info.archive_id) or info.kind not in KINDS:
        raise FormatError("archive.json 字段无效（archive_id / kind）", "文件可能被篡改；可由备份恢复。")
    return info


def _check_text(label: str, value: str, max_len: int, pattern: str | None = None, hint: str = "") -> str:
    value = (value or "").strip()
    if not value or len(value) > max_len or any(ord(c) < 32 for c in value):
        raise InputError(f"{label}无效：{value!r}", hint or f"{label}不能为空，不超过 {max_len} 个字符，不含控制字符。")
    if pattern and not re.fullmatch(pattern, value):
        raise InputError(f"{label}格式不正确：{value}", hint)
    return value


def init_archive(path: Path | str, *, school_code: str, school_name: str, passphrase: str, admin: str = "admin",
                 county_code: str = "341322", suite: str = "aes-256-gcm", kind: str = "school") -> ArchiveInfo:
    """Create a new archive at ``path`` (built beside it, then renamed into place)."""
    path = Path(path)
    crypto.check_suite(suite)
    keys.check_user_name(admin)
    keys.check_passphrase(passphrase)
    if kind not in KINDS:
        raise InputError(f"未知档案库类型：{kind}", "可选 school（学校，默认）或 county（县教体局）。")
    school_code = _check_text("单位代码", school_code, 20, r"[0-9A-Za-z]{4,20}",
                              "单位代码为 4–20 位数字或字母，如学校标识码 3413220001。")
    school_name = _check_text("单位名称", school_name, 60)
    county_code = _check_text("县区代码", county_code, 6, r"\d{6}", "县区代码为 6 位行政区划代码，如萧县 341322。")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise StateError(f"目录 {path} 已存在且不为空，不能在此创建档案库。", "换一个新目录，或先移走原有内容。")
    parent = path.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    info = ArchiveInfo(archive_id=uuid.uuid4().hex, kind=kind, school_code=school_code, school_name=school_name,
                       county_code=county_code, suite=suite, created_at=now_iso())
    tmp = parent / f".{path.name}.init-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(mode=0o700)
    try:
        atomic_write(tmp / "archive.json", json.dumps(info.to_json(), ensure_ascii=False, indent=1).encode(), 0o644)
        grant = keys.new_archive_grant()
        keys.write_key_file(tmp, keys.make_key_file(info.archive_id, admin, "admin", passphrase, grant))
        create_catalog(tmp / "catalog.sqlite", info.archive_id)
        arc = Archive(tmp, info, admin, "admin", grant)
        try:
            with arc.transaction():
                arc._put_registry({admin: {"role": "admin", "user_key": grant.user_pub.hex()}})
                arc._append_audit("archive.init", None, {"school_code": school_code, "suite": suite, "kind": kind})
        finally:
            arc.close()
        publish_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return info


def create_catalog(db: Path, archive_id: str, generation: int = 0) -> None:
    """A new, empty format-v2 catalog; the first write transaction authenticates its meta rows."""
    conn = _connect(db)
    try:
        conn.executescript(SCHEMA)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO meta VALUES(?,?)", [("format_version", str(FORMAT_VERSION)),
                                                           ("archive_id", archive_id),
                                                           ("generation", str(generation))])
        conn.execute("COMMIT")
        conn.executescript("".join(trigger_sql(t) for t in AUTH_TABLES.values()))
    finally:
        conn.close()


def _text(raw: bytes) -> str:
    """Invalid UTF-8 in a TEXT cell becomes surrogates (flagged as damage) instead of an
    exception that would abort a whole listing or ``verify``."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "surrogateescape")


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None, timeout=30, check_same_thread=False)
    conn.text_factory = _text
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as err:
        from guanai.base.faults import readonly_fallback

        ro = readonly_fallback(db, err)  # a full disk: reads keep working
        if ro is None:
            raise
        conn.close()
        ro.text_factory = _text
        return ro
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    # never spill sorts or temp tables to /tmp; overwrite freed pages
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA secure_delete=ON")
    # INSERT OR REPLACE must fire the delete trigger of the replaced row (FORMAT.md §6.2)
    conn.execute("PRAGMA recursive_triggers=ON")
    return conn


def _lock_timeout() -> float:
    try:
        return float(os.environ.get("GUANAI_LOCK_TIMEOUT", "10"))
    except ValueError:
        return 10.0


# Writers of one archive inside one process (threads of a web server, each with its own handle)
# queue on a threading lock first: the fcntl lock below can only be polled, and its 50 ms naps
# made short audit writes wait for nothing.
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(path: Path) -> threading.Lock:
    key = str(path.resolve())
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(key, threading.Lock())


class _WriterLock:
    """An exclusive fcntl lock on ``<archive>/.lock``: one writer at a time, bounded wait."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self._local = _thread_lock(path)

    def _busy(self, timeout: float) -> BusyError:
        return BusyError("档案库正被其他程序写入（档案库忙）。",
                         f"等待 {timeout:g} 秒后仍未释放；请稍后重试，或关闭其他正在使用该档案库的程序。")

    def acquire(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if not self._local.acquire(timeout=max(timeout, 0.0)):
            raise self._busy(timeout)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except BaseException:
            self._local.release()
            raise
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.fd = fd
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    self._local.release()
                    raise self._busy(timeout) from None
                time.sleep(0.01)

    def try_acquire(self) -> bool:
        """Take the lock only if it is free right now."""
        try:
            self.acquire(0)
        except BusyError:
            return False
        return True

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
            self._local.release()



def unlock(path: Path, info: ArchiveInfo, user: str, passphrase: str) -> tuple[keys.KeyFile, keys.Grant]:
    """The user's key file and what it grants; a wrong passphrase is recorded (no key needed)."""
    keys.check_user_name(user)
    try:
        kf = keys.read_key_file(path, user)
        return kf, keys.unwrap(info.archive_id, kf, passphrase)
    except AuthError:
        _record_auth_failure(path, info.archive_id, user)
        raise


class Archive:
    """An unlocked archive. Open with :meth:`open`; use as a context manager."""

    def __init__(self, path: Path, info: ArchiveInfo, user: str, role: str, grant: keys.Grant) -> None:
        self.path = Path(path)
        self.info = info
        self.user = user
        self.role = role
        self._grant = grant
        self._master = grant.master
        self._subkeys: dict[tuple[str, int], bytes] = {}
        # problems seen at open (state signature, rollback): reads go on, writes are refused
        self.open_problems: list[str] = []
        self._row_events: list[tuple[str, int, str, str]] = []
        self._absorbed: tuple[str, int] | None = None
        self._state_body: dict[str, Any] = {}
        self._unrecorded_head: heads.Head | None = None
        # caches valid while the catalog's commit counter is the one this object signed last
        self._own_commit: str | None = None
        self._accum_cache: dict[str, tuple[int, int]] = {}
        self._txn_accum: dict[str, tuple[int, int]] = {}
        self._digest_cache: dict[tuple[str, int], str] = {}
        self._journal: sqlite3.Connection | None = None
        self._head_recorded_at = 0.0
        try:
            self.conn = _connect(self.path / "catalog.sqlite")
            self.conn.create_function("guanai_row", -1, self._row_event)
        except sqlite3.DatabaseError as err:
            raise translate(err, self.path, "打开档案库") or IntegrityError(
                f"目录数据库 catalog.sqlite 无法打开：{err}",
                "文件可能被截断或损坏；运行 guanai verify，必要时由备份恢复（guanai restore）。") from err
        self._lock = _WriterLock(self.path / ".lock")
        self._depth = 0
        self._txn_gen: int | None = None
        #: id -> problem, for rows a listing had to leave out (see ``_tolerant``; run verify)
        self.damaged: dict[str, str] = {}
        self._check_meta()

    # ---- opening -------------------------------------------------------------------------
    @staticmethod
    def check_exists(path: Path | str) -> None:
        path = Path(path)
        if not (path / "archive.json").is_file():
            if path.is_dir() and any(path.iterdir()):
                raise ArchiveMissing(f"{path} 不是 guanai 档案库（缺少 archive.json）。",
                                     "检查 --archive 参数或环境变量 GUANAI_ARCHIVE。")
            raise ArchiveMissing(f"找不到档案库：{path}",
                                 f"先创建：guanai --archive {path} init --school-code 学校标识码 --school-name 学校名称；"
                                 "或用 --archive / GUANAI_ARCHIVE 指定已有档案库。")

    @classmethod
    def open(cls, path: Path | str, *, user: str, passphrase: str, write: bool = False) -> Archive:
        path = Path(path)
        info = read_info(path)  # version first
        kf, grant = unlock(path, info, user, passphrase)
        if kf.version != info.format_version:
            raise IntegrityError(f"用户“{user}”的密钥文件是格式 v{kf.version}，档案库是 v{info.format_version}。",
                                 "该密钥文件可能是升级前的旧副本；请管理员用 guanai user passwd 重设该用户。")
        arc = cls(path, info, user, kf.role, grant)
        try:
            if info.format_version >= 2:
                arc.open_problems = arc._check_state() + arc._check_registered(kf)
            if write:
                arc.require("write")
                arc._require_writable()
            if info.format_version >= 2 and kf.role in keys.WRITE_ROLES and not arc.open_problems:
                arc._absorb_journal_now()
                arc._create_missing_tables()
        except BaseException:
            arc.close()
            raise
        return arc

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sibling(self) -> Archive:
        """Another handle on this unlocked archive (its own SQLite connection and writer lock) for
        another thread of the same process, e.g. a web server's background job. Close it after use."""
        if not self._master:
            raise StateError("档案库已关闭。")
        arc = Archive(self.path, self.info, self.user, self.role, self._grant)
        arc.open_problems = list(self.open_problems)
        return arc

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._record_head()
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self.conn is not None:
            self.conn.close()
        self._lock.release()
        self._master = b""
        self._grant = keys.Grant(b"")
        self._subkeys.clear()

    def _check_meta(self) -> None:
        try:
            rows = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as err:
            raise translate(err, self.path, "读取档案库") or IntegrityError(
                f"目录数据库 catalog.sqlite 无法读取：{err}",
                "文件可能被截断或损坏；运行 guanai verify，必要时由备份恢复。") from err
        if rows.get("format_version") != str(self.info.format_version):
            raise FormatError(f"目录数据库格式版本 {rows.get('format_version')!r} 与 archive.json 不符。",
                              "文件可能被替换；运行 guanai verify，必要时由备份恢复。")
        if rows.get("archive_id") != self.info.archive_id:
            raise IntegrityError("目录数据库与 archive.json 不属于同一档案库。", "文件可能被替换；由备份恢复。")

    def _check_registered(self, kf: keys.KeyFile) -> list[str]:
        """The opening user's key file must be the one the admin-signed registry lists."""
        users, problem = self.registry()
        if problem:
            return [f"用户登记表无效：{problem}"]
        entry = users.get(kf.user)
        if entry is None or entry.get("user_key") != kf.user_key or entry.get("role") != kf.role:
            raise AuthError(f"用户“{kf.user}”的密钥文件未在用户登记表中（该用户已被删除，或密钥文件为伪造或被改动）。",
                            "请联系管理员；运行 guanai verify 可列出所有未登记的密钥文件。")
        return []

    # ---- state: the signed summary of every authenticated row (FORMAT.md §6.3) ----------------
    def read_state(self) -> tuple[dict[str, Any] | None, str | None]:
        """(state body, problem); the body only when its signature holds."""
        try:
            row = self.conn.execute("SELECT body, sig FROM state WHERE id=1").fetchone()
        except sqlite3.DatabaseError as err:
            return None, f"签名状态无法读取：{err}"
        if row is None:
            return None, "签名状态缺失"
        body, sig = row
        try:
            ok = crypto.verify_sig(self._grant.writer_pub, "state", str(body).encode(), bytes.fromhex(str(sig)))
            d = json.loads(body)
        except (ValueError, TypeError):
            ok, d = False, None
        if not ok or not isinstance(d, dict):
            return None, "签名状态的签名无效（不是有写入权限的用户写入的）"
        return d, None

    def head(self) -> dict[str, Any] | None:
        """This archive's current head (commit, generation, state hash) for backups and receipts."""
        if self.info.format_version < 2:
            return None
        body, _problem = self.read_state()
        if body is None:
            return None
        h = self.state_head(body)
        return {"archive_id": h.archive_id, "commit": h.commit, "generation": h.generation, "state": h.state}

    def state_head(self, body: dict[str, Any]) -> heads.Head:
        return heads.Head(archive_id=self.info.archive_id, commit=int(body.get("commit", -1)),
                          generation=int(body.get("generation", -1)),
                          state=hashlib.sha256(canonical_json(body)).hexdigest(),
                          writer_key=self._grant.writer_pub.hex(), admin_key=self._grant.admin_pub.hex(),
                          at=str(body.get("at", "")))

    def _check_state(self) -> list[str]:
        """Cheap checks at open: signature, generation, archive.json, the head seen before."""
        body, problem = self.read_state()
        if body is None:
            return [problem or "签名状态无效"]
        out: list[str] = []
        if body.get("archive_id") != self.info.archive_id:
            out.append("签名状态属于另一个档案库")
        if (str(body.get("generation")), str(body.get("commit"))) != (self._meta("generation"), self._meta("commit")):
            out.append(f"版本计数（{self._meta('generation')}/{self._meta('commit')}）与签名状态"
                       f"（{body.get('generation')}/{body.get('commit')}）不符")
        if body.get("info") != _info_digest(self.info):
            out.append("archive.json 与签名状态不符（单位、套件或创建时间被改动）")
        head = self.state_head(body)
        seen = heads.compare(heads.load(self.info.archive_id, self.path), head)
        if seen:
            out.append(seen)
        elif not out:
            heads.record(head, self.path)
        return out

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _require_writable(self) -> None:
        if self.info.format_version < FORMAT_VERSION:
            raise FormatError(f"档案库为旧格式 v{self.info.format_version}，只能读取，不能写入。",
                              "由管理员运行 guanai upgrade 升级到 v2（会先自动备份）。")
        if self.open_problems:
            raise IntegrityError("档案库状态异常，拒绝写入：" + "；".join(self.open_problems),
                                 "运行 guanai verify 查看；若确认是恢复了旧备份，用 guanai restore 恢复到新目录。")
        if not self._grant.writer_seed:
            role = keys.ROLE_NAMES.get(self.role, self.role)
            raise PermissionDenied(f"用户“{self.user}”（{role}）没有写入密钥。", "请用有写入权限的用户操作。")

    # ---- the user registry, signed by the admin key (FORMAT.md §4.3) ---------------------------
    def registry(self) -> tuple[dict[str, dict[str, str]], str | None]:
        """(users, problem): ``{name: {"role", "user_key"}}`` when the admin signature holds."""
        try:
            raw = self.get_setting("users")
        except IntegrityError as err:
            return {}, err.message
        if raw is None:
            return {}, "用户登记表缺失"
        try:
            d = json.loads(raw)
            body, sig = d["body"], bytes.fromhex(d["sig"])
            ok = crypto.verify_sig(self._grant.admin_pub, "users", canonical_json(body), sig)
        except (ValueError, KeyError, TypeError):
            return {}, "用户登记表格式错误"
        if not ok:
            return {}, "用户登记表的签名无效（不是管理员签署的）"
        if body.get("archive_id") != self.info.archive_id or not isinstance(body.get("users"), dict):
            return {}, "用户登记表属于另一个档案库或格式错误"
        return dict(body["users"]), None

    def _put_registry(self, users: dict[str, dict[str, str]]) -> None:
        if not self._grant.admin_seed:
            raise PermissionDenied(f"用户“{self.user}”没有管理员签名密钥，不能修改用户登记表。", "请由管理员操作。")
        serial = 0
        raw = self.get_setting("users")
        if raw is not None:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                serial = int(json.loads(raw)["body"]["serial"])
        body = {"archive_id": self.info.archive_id, "serial": serial + 1, "users": users}
        sig = crypto.sign(self._grant.admin_seed, "users", canonical_json(body))
        self._put_setting("users", canonical_json({"body": body, "sig": sig.hex()}))

    # ---- permissions and keys ------------------------------------------------------------
    def require(self, perm: str) -> None:
        if perm not in PERMISSIONS.get(self.role, frozenset()):
            role = keys.ROLE_NAMES.get(self.role, self.role)
            raise PermissionDenied(f"用户“{self.user}”（{role}）无{PERM_NAMES.get(perm, perm)}权限。",
                                   "请用有相应权限的用户操作（--user），或请管理员调整角色。")

    def subkey(self, label: str, length: int = 32) -> bytes:
        k = self._subkeys.get((label, length))
        if k is None:
            if not self._master:
                raise StateError("档案库已关闭。")
            full = label if label.startswith("guanai/") else f"guanai/v1/{label}"
            k = crypto.hkdf(self._master, full, length)
            self._subkeys[(label, length)] = k
        return k

    def _suite_key(self, table: str) -> bytes:
        label = "content" if table == "content" else "catalog"
        return self.subkey(label, crypto.SUITE_KEY_LEN[self.info.suite])

    def seal(self, table: str, column: str, row_id: str, data: bytes) -> bytes:
        aad = crypto.context_aad(self.info.archive_id, table, column, row_id)
        return crypto.seal(self.info.suite, self._suite_key(table), data, aad)

    def unseal(self, table: str, column: str, row_id: str, blob: bytes) -> bytes:
        aad = crypto.context_aad(self.info.archive_id, table, column, row_id)
        return crypto.unseal(self.info.suite, self._suite_key(table), blob, aad, f"{table}.{column} {row_id}")

    def blind(self, kind: str, value: str) -> str:
        # NFKC: full-width input (Ｇ３４…) finds the same child as ASCII
        norm = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()
        return crypto.hmac_hex(self.subkey("blind"), kind.encode() + b"\x00" + norm.encode())

    def row_mac(self, table: str, values: tuple[Any, ...]) -> str:
        return crypto.row_mac(self.subkey("guanai/v2/row"), self.info.archive_id, table, values)

    # ---- transactions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, wait: float | None = None) -> Iterator[None]:
        """One all-or-nothing write transaction, holding the writer lock (nestable).

        Every row change reaches :meth:`_row_event` through the tables' triggers; before
        COMMIT the row MACs, the set digests and the signed state are brought up to date in
        the same transaction (FORMAT.md §6.3).
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._require_writable()
        self._lock.acquire(_lock_timeout() if wait is None else wait)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            self._txn_gen = None
            self._row_events = []
            self._absorbed = None
            try:
                self._check_fresh()
                self._ensure_tables()
                self._absorb_journal()
                yield
                self._seal_state()
            except BaseException:
                self.conn.execute("ROLLBACK")
                self._own_commit = None
                self._accum_cache = {}
                self._txn_accum = {}
                raise
            else:
                self.conn.execute("COMMIT")
                self._own_commit = str(self._state_body.get("commit"))
                self._after_commit()
            finally:
                self._depth = 0
                self._txn_gen = None
                self._row_events = []
        finally:
            self._lock.release()

    def _check_fresh(self) -> None:
        """Another process may have written since open: its state must still be signed."""
        commit = self._meta("commit")
        if commit is not None and commit == self._own_commit:
            return  # the state is the one this object signed last (the writer lock was held since)
        self._accum_cache = {}
        if self.conn.execute("SELECT 1 FROM state").fetchone() is None:
            return  # a new catalog: the first transaction authenticates it
        body, problem = self.read_state()
        if body is None or str(body.get("commit")) != str(commit):
            raise IntegrityError(f"档案库状态异常，拒绝写入：{problem or '版本计数与签名状态不符'}",
                                 "运行 guanai verify 查看全部问题。")

    def _ensure_tables(self) -> None:
        """Create registered tables this catalog predates (with their triggers), once per open."""
        if getattr(self, "_tables_checked", False):
            return
        have = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for t in AUTH_TABLES.values():
            if t.name not in have and t.ddl:
                for stmt in t.ddl.split(";"):
                    if stmt.strip():
                        self.conn.execute(stmt)
                for stmt in trigger_sql(t).strip().split("\n"):
                    self.conn.execute(stmt)
        self._tables_checked = True

    def _row_event(self, table: str, sign: int, *values: Any) -> None:
        """Called by the triggers for every inserted (+1) or deleted (-1) row of an authenticated table."""
        if not self._depth or not self._grant.writer_seed:
            raise PermissionDenied("没有写入密钥，不能修改档案库。")
        t = AUTH_TABLES[table]
        self._row_events.append((table, sign, row_pk(t, values), self.row_mac(table, values)))

    def _seal_state(self) -> None:
        # every write transaction advances the commit counter (the generation: row changes only)
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES('commit', ?)", (str(int(self._meta("commit") or 0) + 1),))
        fresh = self.conn.execute("SELECT 1 FROM state").fetchone() is None
        if fresh:
            self._authenticate_all()
        else:
            self._apply_row_events()
        self.conn.execute("INSERT OR REPLACE INTO state VALUES(1,?,?)", self._state_row())

    def _apply_row_events(self) -> None:
        touched: dict[str, tuple[int, int]] = {}
        for table, sign, pk, mac in self._row_events:
            if table not in touched:
                cached = self._accum_cache.get(table)
                if cached is not None:
                    touched[table] = cached
                else:
                    row = self.conn.execute("SELECT rows, acc FROM accum WHERE tbl=?", (table,)).fetchone()
                    touched[table] = (row[0], int.from_bytes(row[1], "little")) if row else (0, 0)
            n, acc = touched[table]
            e = crypto.set_element(table, pk, mac)
            if sign > 0:
                self.conn.execute("INSERT OR REPLACE INTO rowmac VALUES(?,?,?)", (table, pk, mac))
                touched[table] = (n + 1, (acc + e) % crypto.SET_HASH_MOD)
            else:
                self.conn.execute("DELETE FROM rowmac WHERE tbl=? AND pk=? AND mac=?", (table, pk, mac))
                touched[table] = (n - 1, (acc - e) % crypto.SET_HASH_MOD)
        for table, (n, acc) in touched.items():
            self.conn.execute("INSERT OR REPLACE INTO accum VALUES(?,?,?)",
                              (table, n, acc.to_bytes(crypto.SET_HASH_BYTES, "little")))
            self._txn_accum[table] = (n, acc)
        self._row_events = []

    def _authenticate_all(self) -> None:
        """Compute every row MAC and set digest from the rows themselves (new or upgraded catalog)."""
        self._accum_cache = {}
        self._txn_accum = {}
        self.conn.execute("DELETE FROM rowmac")
        self.conn.execute("DELETE FROM accum")
        for t in AUTH_TABLES.values():
            n, acc = 0, 0
            for values in self.conn.execute(f"SELECT {', '.join(t.columns)} FROM {t.name}"):
                pk, mac = row_pk(t, values), self.row_mac(t.name, values)
                self.conn.execute("INSERT INTO rowmac VALUES(?,?,?)", (t.name, pk, mac))
                n, acc = n + 1, (acc + crypto.set_element(t.name, pk, mac)) % crypto.SET_HASH_MOD
            self.conn.execute("INSERT INTO accum VALUES(?,?,?)", (t.name, n, acc.to_bytes(crypto.SET_HASH_BYTES, "little")))
        self._row_events = []

    def _state_row(self) -> tuple[str, str]:
        if not self._accum_cache or not set(self._txn_accum) <= set(self._accum_cache):
            self._accum_cache = {tbl: (n, int.from_bytes(acc, "little"))
                                 for tbl, n, acc in self.conn.execute("SELECT tbl, rows, acc FROM accum")}
        self._accum_cache.update(self._txn_accum)
        self._txn_accum = {}
        tables = {}
        for tbl in sorted(self._accum_cache):
            n, acc = self._accum_cache[tbl]
            digest = self._digest_cache.get((tbl, acc))
            if digest is None:
                digest = crypto.set_digest(acc)
                self._digest_cache = {k: v for k, v in self._digest_cache.items() if k[0] != tbl}
                self._digest_cache[(tbl, acc)] = digest
            tables[tbl] = {"rows": n, "digest": digest}
        last = self.conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        body = {"format": "guanai-state", "version": FORMAT_VERSION, "archive_id": self.info.archive_id,
                "generation": int(self._meta("generation") or 0), "commit": int(self._meta("commit") or 0),
                "info": _info_digest(self.info),
                "audit": {"seq": last[0] if last else 0, "mac": last[1] if last else ""},
                "tables": tables, "at": now_iso()}
        raw = canonical_json(body)
        self._state_body = body
        return raw.decode(), crypto.sign(self._grant.writer_seed, "state", raw).hex()

    def _after_commit(self) -> None:
        # the head outside the archive: at most every HEAD_INTERVAL seconds while writing, and at close
        self._unrecorded_head = self.state_head(self._state_body)
        if time.monotonic() - self._head_recorded_at >= HEAD_INTERVAL:
            self._record_head()
        if self._absorbed is not None:
            jid, upto = self._absorbed
            with contextlib.suppress(sqlite3.DatabaseError, OSError):
                from guanai.archive.audit import journal_connect, journal_id

                jc = journal_connect(self.path, create=False)
                if jc is not None:
                    try:
                        if journal_id(jc) == jid:
                            jc.execute("DELETE FROM pending WHERE id <= ?", (upto,))
                    finally:
                        jc.close()

    def _record_head(self) -> None:
        if self._unrecorded_head is not None:
            heads.record(self._unrecorded_head, self.path)
            self._unrecorded_head = None
        self._head_recorded_at = time.monotonic()

    def _gen(self) -> int:
        """The generation of the current write transaction (bumped once per transaction)."""
        assert self._depth, "write outside a transaction"
        if self._txn_gen is None:
            cur = int(self.conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
            self._txn_gen = cur + 1
            self.conn.execute("UPDATE meta SET value=? WHERE key='generation'", (str(self._txn_gen),))
        return self._txn_gen

    @property
    def generation(self) -> int:
        return int(self.conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])

    def changes_since(self, gen: int) -> list[Change]:
        rows = self.conn.execute(
            "SELECT 'child', id, gen FROM children WHERE gen > ? UNION ALL "
            "SELECT 'document', id, gen FROM documents WHERE gen > ? UNION ALL "
            "SELECT 'deleted', id, gen FROM tombstones WHERE gen > ? ORDER BY 3", (gen, gen, gen)).fetchall()
        return [Change(e, i, g) for e, i, g in rows]

    # ---- audit -------------------------------------------------------------------------------
    def audit(self, action: str, target: str | None = None, detail: dict[str, Any] | None = None) -> None:
        """Record an entry: in the chain now when this user can write and the lock is free,
        else in the journal (no waiting); journal entries are chained at the next write."""
        if self._depth:
            self._append_audit(action, target, detail)
            return
        if self.info.format_version >= FORMAT_VERSION and self._grant.writer_seed and not self.open_problems:
            try:
                with self.transaction(wait=0):
                    self._append_audit(action, target, detail)
                return
            except (BusyError, IntegrityError):
                pass  # busy, or a state this user will not sign over: the journal still records it
        self._journal_entry(action, target, detail)

    def _journal_entry(self, action: str, target: str | None, detail: dict[str, Any] | None) -> None:
        from guanai.archive.audit import journal_append, journal_connect, journal_id, journal_mac

        eid, at = uuid.uuid4().hex, now_iso()
        body = self.seal("journal", "body", eid, canonical_json(
            {"actor": self.user, "action": action, "target": target, "detail": detail}))
        try:
            conn = journal_connect(self.path)
            assert conn is not None
            try:
                jid = journal_id(conn)
            finally:
                conn.close()
            journal_append(self.path, "entry", at, body, eid,
                           journal_mac(self.subkey("audit"), jid, eid, at, "entry", body))
        except (sqlite3.Error, OSError) as err:
            # nothing is read or exported unaudited: the caller's operation stops here
            from guanai.base.faults import translate

            raise translate(err, self.path, "记录审计日志") or StateError(
                f"审计记录无法写入（{err}），操作未执行。", "检查档案库目录的磁盘空间与写权限。") from err

    def journal_absorbed(self, jid: str) -> int:
        """How far the journal ``jid`` has been chained (FORMAT.md §7.2)."""
        try:
            raw = self.get_setting("journal_absorbed")
        except IntegrityError:
            return 0
        if raw is None:
            return 0
        d = json.loads(raw)
        return int(d["upto"]) if d.get("journal") == jid else 0

    def _absorb_journal(self) -> None:
        """Chain the journal's entries (readers' entries, failed unlocks) in this transaction."""
        from guanai.archive.audit import JOURNAL, journal_id, journal_rows, open_journal_row

        if self._journal is None:
            if not (self.path / JOURNAL).exists():
                return
            try:
                self._journal = sqlite3.connect(self.path / JOURNAL, isolation_level=None, timeout=30,
                                                check_same_thread=False)
            except sqlite3.DatabaseError:
                return
        jc = self._journal
        try:
            if jc.execute("SELECT 1 FROM pending LIMIT 1").fetchone() is None:
                return  # the usual case: nothing waiting
            jid = journal_id(jc)
            rows = journal_rows(jc, self.journal_absorbed(jid))
        except sqlite3.DatabaseError:
            return
        if not rows:
            return
        for row in rows:
            try:
                actor, action, target, detail, at = open_journal_row(self, jid, row)
            except (IntegrityError, ValueError, KeyError, TypeError):
                actor, action, target, detail, at = "?", "audit.invalid", None, {"journal_row": row[0]}, row[2]
            self._append_audit(action, target, detail, actor=actor, at=at)
        self._put_setting("journal_absorbed", canonical_json({"journal": jid, "upto": rows[-1][0]}))
        self._absorbed = (jid, rows[-1][0])

    def _create_missing_tables(self) -> None:
        """A table registered by a later release (``AuthTable.ddl``): created at open by a writer."""
        have = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if all(t.name in have or not t.ddl for t in AUTH_TABLES.values()):
            return
        with contextlib.suppress(BusyError), self.transaction(wait=0):
            pass  # _ensure_tables creates them

    def _absorb_journal_now(self) -> None:
        from guanai.archive.audit import journal_connect

        if not (self.path / "journal.sqlite").exists():
            return
        with contextlib.suppress(sqlite3.DatabaseError):
            jc = journal_connect(self.path, create=False)
            if jc is None:
                return
            try:
                pending = jc.execute("SELECT count(*) FROM pending").fetchone()[0]
            finally:
                jc.close()
            if not pending:
                return
            with contextlib.suppress(BusyError), self.transaction(wait=0):
                pass  # the transaction chains the journal

    def _append_audit(self, action: str, target: str | None, detail: dict[str, Any] | None,
                      actor: str | None = None, at: str | None = None) -> None:
        from guanai.archive.audit import entry_mac, next_prev

        actor = actor or self.user
        last = self.conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq = (last[0] + 1) if last else 1
        prev = next_prev(last[1] if last else None)
        at = at or now_iso()
        mac = entry_mac(self.subkey("audit"), seq, at, actor, action, target, detail, prev)
        sealed_actor = self.seal("audit", "actor", str(seq), actor.encode()).hex()
        sealed_detail = None if detail is None else self.seal("audit", "detail", str(seq), canonical_json(detail))
        gen = self._txn_gen if self._txn_gen is not None else self.generation
        self.conn.execute("INSERT INTO audit VALUES(?,?,?,?,?,?,?,?,?)",
                          (seq, at, sealed_actor, action, target, sealed_detail, prev, mac, gen))
        self._put_setting("audit_head", canonical_json({"seq": seq, "mac": mac}))

    # ---- settings ------------------------------------------------------------------------------
    def get_setting(self, name: str) -> bytes | None:
        row = self.conn.execute("SELECT value FROM settings WHERE name=?", (name,)).fetchone()
        return None if row is None else self.unseal("settings", "value", name, row[0])

    def set_setting(self, name: str, value: bytes) -> None:
        if not _SETTING_RE.match(name) or name in RESERVED_SETTINGS:
            raise InputError(f"设置名不合法：{name}")
        with self.transaction():
            self._put_setting(name, value)

    def _put_setting(self, name: str, value: bytes) -> None:
        self.conn.execute("INSERT OR REPLACE INTO settings VALUES(?,?)",
                          (name, self.seal("settings", "value", name, value)))

    # ---- children -----------------------------------------------------------------------------
    def _blind_keys(self, record: ChildRecord) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        xjh = (getattr(record, "student_id", None) or "").strip().upper()
        sfz = (getattr(record, "id_number", None) or "").strip().upper()
        if xjh:
            out.append(("xjh", self.blind("xjh", xjh)))
            if xjh[0] in "GJ" and len(xjh) == 19 and xjh[1:] != sfz:
                out.append(("sfz", self.blind("sfz", xjh[1:])))
        if sfz:
            out.append(("sfz", self.blind("sfz", sfz)))
        return out

    def _check_blind_free(self, pairs: list[tuple[str, str]], child_id: str | None) -> None:
        for kind, mac in pairs:
            row = self.conn.execute("SELECT child_id FROM blind WHERE kind=? AND mac=?", (kind, mac)).fetchone()
            if row and row[0] != child_id:
                what = "学籍号" if kind == "xjh" else "身份证号"
                raise StateError(f"{what}已在档案库中（儿童编号 {row[0]}），不能重复登记。",
                                 f"用 guanai child show {row[0]} 查看；如需修改用 guanai child update。")

    def _seal_record(self, child_id: str, record: ChildRecord) -> bytes:
        return self.seal("children", "record", child_id, canonical_json(record.to_json_dict()))

    def _load_record(self, child_id: str, blob: bytes) -> ChildRecord:
        from guanai.care.model import ChildRecord

        data = json.loads(self.unseal("children", "record", child_id, blob))
        try:
            # authenticated and validated before sealing: skip re-validation (3-4x faster listings)
            return ChildRecord.from_trusted(data)
        except (KeyError, TypeError, ValueError):
            return ChildRecord.model_validate(data)  # an older layout: full validation

    def add_child(self, record: ChildRecord, *, status: str | None = None, child_id: str | None = None) -> str:
        self.require("write")
        status = status or getattr(record, "status", None) or "在册"
        if status not in STATUSES:
            raise InputError(f"未知状态：{status}", "可选：" + "、".join(STATUSES))
        child_id = child_id or uuid.uuid4().hex
        if not _HEX32.match(child_id):
            raise InputError(f"儿童编号格式不正确：{child_id}")
        pairs = self._blind_keys(record)
        with self.transaction():
            self._check_blind_free(pairs, None)
            if self.conn.execute("SELECT 1 FROM children WHERE id=?", (child_id,)).fetchone():
                raise StateError(f"儿童编号 {child_id} 已存在。")
            now = now_iso()
            self.conn.execute("INSERT INTO children VALUES(?,?,?,?,?,?,?)",
                              (child_id, status, self.info.school_code, now, now, self._gen(),
                               self._seal_record(child_id, record)))
            self.conn.executemany("INSERT OR IGNORE INTO blind VALUES(?,?,?)", [(k, m, child_id) for k, m in pairs])
            self._append_audit("child.add", child_id, {"status": status, "name": getattr(record, "name", "")})
        return child_id

    def update_child(self, child_id: str, record: ChildRecord) -> None:
        self.require("write")
        entry = self.get_child(child_id)
        if entry.status in CLOSED_STATUSES:
            raise StateError(f"该儿童档案状态为“{entry.status}”，只读，不能修改。",
                             "如确需修改，先用 guanai child reopen 编号 --reason 原因 重新启用。")
        pairs = self._blind_keys(record)
        with self.transaction():
            self._check_blind_free(pairs, entry.id)
            self.conn.execute("DELETE FROM blind WHERE child_id=?", (entry.id,))
            self.conn.executemany("INSERT OR IGNORE INTO blind VALUES(?,?,?)", [(k, m, entry.id) for k, m in pairs])
            self.conn.execute("UPDATE children SET record=?, updated_at=?, gen=? WHERE id=?",
                              (self._seal_record(entry.id, record), now_iso(), self._gen(), entry.id))
            self._append_audit("child.update", entry.id, None)

    def set_child_status(self, child_id: str, status: str, reason: str) -> None:
        self.require("write")
        if status not in STATUSES:
            raise InputError(f"未知状态：{status}", "可选：" + "、".join(STATUSES))
        entry = self.get_child(child_id)
        with self.transaction():
            self.conn.execute("UPDATE children SET status=?, updated_at=?, gen=? WHERE id=?",
                              (status, now_iso(), self._gen(), entry.id))
            self._append_audit("child.status", entry.id, {"from": entry.status, "to": status, "reason": reason})

    def _entry(self, row: tuple[Any, ...]) -> ChildEntry:
        cid, status, school, created, updated, gen, blob = row
        record = self._load_record(cid, blob)
        if getattr(record, "status", status) != status:
            # the catalog's clear status column is authoritative (lifecycle changes don't re-seal)
            record = record.model_copy(update={"status": status})
        return ChildEntry(id=cid, record=record, status=status, school_code=school,
                          created_at=created, updated_at=updated, gen=gen)

    def find_child(self, ref: str) -> ChildEntry | None:
        ref = (ref or "").strip()
        cols = "id, status, school_code, created_at, updated_at, gen, record"
        if _HEX32.match(ref):
            row = self.conn.execute(f"SELECT {cols} FROM children WHERE id=?", (ref,)).fetchone()
            return self._entry(row) if row else None
        for kind in ("xjh", "sfz"):
            hit = self.conn.execute("SELECT child_id FROM blind WHERE kind=? AND mac=?",
                                    (kind, self.blind(kind, ref))).fetchone()
            if hit:
                row = self.conn.execute(f"SELECT {cols} FROM children WHERE id=?", (hit[0],)).fetchone()
                return self._entry(row) if row else None
        return None

    def get_child(self, ref: str) -> ChildEntry:
        """The child ``ref`` names: id, 学籍号, ID number, unique id prefix or name (see resolve.py)."""
        entry = self.find_child(ref)
        if entry is not None:
            return entry
        from guanai.archive.resolve import resolve_child

        return resolve_child(self, ref)

    def list_children(self, status: str | None = None) -> list[ChildEntry]:
        sql = "SELECT id, status, school_code, created_at, updated_at, gen, record FROM children"
        args: tuple[Any, ...] = ()
        if status:
            sql += " WHERE status=?"
            args = (status,)
        return self._tolerant(self._entry, self.conn.execute(sql + " ORDER BY created_at, id", args).fetchall())

    def _tolerant(self, make: Any, rows: list[tuple[Any, ...]]) -> list[Any]:
        """Entries of ``rows``; a row that does not open is left out and noted in ``self.damaged``
        (one damaged record must not block listing, searching or exporting the others)."""
        out = []
        for r in rows:
            try:
                for v in r:
                    if isinstance(v, str):
                        v.encode("utf-8")  # surrogates: the cell held invalid UTF-8
                out.append(make(r))
            except (GuanaiError, ValueError, TypeError, KeyError, AttributeError) as err:
                self.damaged[str(r[0])] = getattr(err, "message", None) or f"{type(err).__name__}: {err}"
        return out

    # ---- documents -----------------------------------------------------------------------------
    def put_document(self, *, kind: str, title: str, content: bytes, filename: str, mime: str,
                     child_id: str | None = None, form: dict[str, Any] | None = None, text: str | None = None,
                     doc_date: str | None = None, meta: dict[str, Any] | None = None,
                     allow_closed: bool = False) -> str:
        """Store a document: row, sealed content and audit entry in one transaction."""
        self.require("write")
        if not _KIND_RE.match(kind or ""):
            raise InputError(f"文档种类不合法：{kind!r}")
        title = _check_text("文档标题", title, 200)
        filename = safe_filename(filename)
        if not isinstance(content, bytes | bytearray):
            raise InputError("文档内容必须是字节。")
        if len(content) > MAX_DOCUMENT_BYTES:
            raise InputError(f"文件过大：{len(content) // (1024 * 1024)} MB（上限 {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB）。",
                             "扫描件请降低分辨率或分成几个文件。")
        if child_id is not None:
            entry = self.get_child(child_id)
            child_id = entry.id
            if entry.status in CLOSED_STATUSES and not allow_closed:
                raise StateError(f"该儿童档案状态为“{entry.status}”，只读，不能添加文档。",
                                 "如确需添加，先用 guanai child reopen 编号 --reason 原因 重新启用。")
        doc_id = uuid.uuid4().hex
        content = bytes(content)
        # Seal before taking the writer lock; for large files hash on a second core meanwhile
        # (hashlib releases the GIL), since hashing costs about as much as AES-GCM here.
        if len(content) >= 1 << 20:
            with ThreadPoolExecutor(max_workers=1) as pool:
                digest = pool.submit(lambda: hashlib.sha256(content).hexdigest())
                sealed_data = self.seal("content", "data", doc_id, content)
                sha = digest.result()
        else:
            sealed_data = self.seal("content", "data", doc_id, content)
            sha = hashlib.sha256(content).hexdigest()
        m = {"title": title, "filename": filename, "mime": mime, "doc_date": doc_date, "sha256": sha,
             "extra": meta or {}}
        sealed_meta = self.seal("documents", "meta", doc_id, canonical_json(m))
        sealed_form = None if form is None else self.seal("content", "form", doc_id, canonical_json(form))
        sealed_text = None if text is None else self.seal("content", "text", doc_id, text.encode())
        with self.transaction():
            self.conn.execute("INSERT INTO documents VALUES(?,?,?,?,?,?,?)",
                              (doc_id, child_id, kind, now_iso(), self._gen(), len(content), sealed_meta))
            self.conn.execute("INSERT INTO content VALUES(?,?,?,?)", (doc_id, sealed_data, sealed_form, sealed_text))
            self._append_audit("doc.put", doc_id, {"kind": kind, "child": child_id, "title": title})
        return doc_id

    def delete_document(self, doc_id: str, reason: str) -> None:
        """Remove a document (only where the policy allows it, e.g. minimal retention after a transfer).

        The deletion is audited with its reason and leaves a tombstone (id + generation, nothing
        personal) so that derived data such as the search index drops the document too.
        """
        self.require("write")
        entry = self.get_document(doc_id)
        reason = _check_text("删除原因", reason, 200)
        with self.transaction():
            self.conn.execute("DELETE FROM content WHERE doc_id=?", (entry.id,))
            self.conn.execute("DELETE FROM documents WHERE id=?", (entry.id,))
            self.conn.execute("INSERT OR REPLACE INTO tombstones VALUES(?,?,?,?)",
                              (entry.id, "document", self._gen(), now_iso()))
            self._append_audit("doc.delete", entry.id, {"kind": entry.kind, "child": entry.child_id,
                                                        "reason": reason})

    def _doc_entry(self, row: tuple[Any, ...]) -> DocumentEntry:
        did, child_id, kind, created, gen, size, blob = row
        m = json.loads(self.unseal("documents", "meta", did, blob))
        return DocumentEntry(id=did, kind=kind, title=m["title"], filename=m["filename"], mime=m["mime"],
                             child_id=child_id, doc_date=m.get("doc_date"), created_at=created, size=size,
                             sha256=m["sha256"], gen=gen, meta=m.get("extra") or {})

    def get_document(self, doc_id: str) -> DocumentEntry:
        row = None
        if _HEX32.match(doc_id or ""):
            row = self.conn.execute("SELECT id, child_id, kind, created_at, gen, size, meta FROM documents WHERE id=?",
                                    (doc_id,)).fetchone()
        if row is None:
            if not _HEX32.match(doc_id or ""):
                # a short id (unique prefix of at least 6 characters): see resolve.py
                from guanai.archive.resolve import resolve_document

                return resolve_document(self, doc_id)
            raise NotFoundError(f"找不到文档：{doc_id}", "用 guanai doc list 或 guanai search 查找文档编号。")
        return self._doc_entry(row)

    def _content(self, doc_id: str, column: str) -> bytes | None:
        row = self.conn.execute(f"SELECT {column} FROM content WHERE doc_id=?", (doc_id,)).fetchone()
        if row is None:
            raise IntegrityError(f"文档 {doc_id} 的内容缺失", "运行 guanai verify；必要时由备份恢复。")
        return None if row[0] is None else self.unseal("content", column, doc_id, row[0])

    def read_document(self, doc_id: str, *, audit: bool = True) -> bytes:
        self.require("read")
        entry = self.get_document(doc_id)
        data = self._content(entry.id, "data") or b""
        if not crypto.ct_equal(hashlib.sha256(data).hexdigest(), entry.sha256):
            raise IntegrityError(f"文档 {doc_id} 内容的校验值不符", "运行 guanai verify；必要时由备份恢复。")
        if audit:
            self.audit("doc.read", entry.id, None)
        return data

    def document_form(self, doc_id: str) -> dict[str, Any] | None:
        raw = self._content(doc_id, "form")
        return None if raw is None else json.loads(raw)

    def document_text(self, doc_id: str) -> str | None:
        raw = self._content(doc_id, "text")
        return None if raw is None else raw.decode()

    def list_documents(self, child_id: str | None = None, kind: str | None = None) -> list[DocumentEntry]:
        sql = "SELECT id, child_id, kind, created_at, gen, size, meta FROM documents"
        cond, args = [], []
        if child_id:
            cond.append("child_id=?")
            args.append(self.get_child(child_id).id)
        if kind:
            cond.append("kind=?")
            args.append(kind)
        if cond:
            sql += " WHERE " + " AND ".join(cond)
        return self._tolerant(self._doc_entry, self.conn.execute(sql + " ORDER BY created_at, id", args).fetchall())

    def document_forms(self, kind: str) -> list[tuple[str, str | None, dict[str, Any]]]:
        """(document id, child id, form) of every document of ``kind`` stored with a form, in one
        query (the workflow reads thousands of them; a PDF copy repeats its .docx's form)."""
        rows = self.conn.execute("SELECT d.id, d.child_id, c.form FROM documents d JOIN content c ON c.doc_id = d.id "
                                 "WHERE d.kind=? AND c.form IS NOT NULL ORDER BY d.created_at, d.id", (kind,))
        return [(did, child_id, json.loads(self.unseal("content", "form", did, blob))) for did, child_id, blob in rows]

    # ---- workflow records ----------------------------------------------------------------------
    # The payload is sealed with AAD binding table, id, kind and child: a row moved to another
    # child or relabelled as another kind no longer opens.
    def _record_aad_id(self, record_id: str, kind: str, child_id: str | None) -> str:
        return f"{record_id}\x00{kind}\x00{child_id or ''}"

    def _has_records(self) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='records'").fetchone() is not None

    def _seal_payload(self, record_id: str, kind: str, child_id: str | None, data: dict[str, Any]) -> bytes:
        raw = canonical_json(data)
        if len(raw) > MAX_RECORD_BYTES:
            raise InputError(f"记录过大：{len(raw)} 字节（上限 {MAX_RECORD_BYTES} 字节）。")
        return self.seal("records", "sealed", self._record_aad_id(record_id, kind, child_id), raw)

    def put_record(self, kind: str, data: dict[str, Any], *, child_id: str | None = None) -> str:
        """Store a new workflow record (row + audit entry in one transaction); returns its id."""
        self.require("write")
        if not _KIND_RE.match(kind or ""):
            raise InputError(f"记录种类不合法：{kind!r}")
        if child_id is not None:
            child_id = self.get_child(child_id).id
        record_id = uuid.uuid4().hex
        sealed = self._seal_payload(record_id, kind, child_id, data)
        with self.transaction():
            if not self._has_records():
                raise StateError("该档案库没有工作记录表（旧格式）。", "先用 guanai upgrade 升级档案库。")
            self.conn.execute("INSERT INTO records VALUES(?,?,?,?,?,?)",
                              (record_id, kind, child_id, now_iso(), self._gen(), sealed))
            self._append_audit("record.put", record_id, {"kind": kind, "child": child_id})
        return record_id

    def update_record(self, record_id: str, data: dict[str, Any], *, action: str = "update") -> None:
        """Replace a record's payload (kind and child stay); audited with ``action``."""
        self.require("write")
        entry = self.get_record(record_id)
        sealed = self._seal_payload(entry.id, entry.kind, entry.child_id, data)
        with self.transaction():
            self.conn.execute("UPDATE records SET sealed=?, gen=? WHERE id=?", (sealed, self._gen(), entry.id))
            act = "record." + (action if _KIND_RE.match(action) else "update")  # named in audit.ACTION_NAMES
            self._append_audit(act, entry.id, {"kind": entry.kind, "child": entry.child_id})

    def _record_entry(self, row: tuple[Any, ...]) -> RecordEntry:
        rid, kind, child_id, created, gen, blob = row
        data = json.loads(self.unseal("records", "sealed", self._record_aad_id(rid, kind, child_id), blob))
        if not isinstance(data, dict):
            raise IntegrityError(f"记录 {rid} 内容无效", "运行 guanai verify；必要时由备份恢复。")
        return RecordEntry(rid, kind, child_id, created, gen, data)

    def get_record(self, record_id: str) -> RecordEntry:
        row = None
        if _HEX32.match(record_id or "") and self._has_records():
            row = self.conn.execute("SELECT id, kind, child_id, created, gen, sealed FROM records WHERE id=?",
                                    (record_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"找不到记录：{record_id}")
        return self._record_entry(row)

    def list_records(self, kind: str | None = None, child_id: str | None = None) -> list[RecordEntry]:
        if not self._has_records():
            return []
        sql = "SELECT id, kind, child_id, created, gen, sealed FROM records"
        cond, args = [], []
        if kind:
            cond.append("kind=?")
            args.append(kind)
        if child_id:
            cond.append("child_id=?")
            args.append(child_id)
        if cond:
            sql += " WHERE " + " AND ".join(cond)
        return [self._record_entry(r) for r in self.conn.execute(sql + " ORDER BY created, rowid", args).fetchall()]

    # ---- users ---------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, passphrase: str) -> None:
        self.require("admin")
        keys.check_user_name(name)
        keys.check_role(role)
        if keys.key_path(self.path, name).exists():
            raise StateError(f"用户“{name}”已存在。", "如需修改口令用 guanai user passwd。")
        grant = self._grant.for_role(role, os.urandom(32))
        kf = keys.make_key_file(self.info.archive_id, name, role, passphrase, grant)
        with self.transaction():
            users, problem = self.registry()
            if problem:
                raise IntegrityError(f"用户登记表无效：{problem}", "运行 guanai verify。")
            users[name] = {"role": role, "user_key": kf.user_key}
            self._put_registry(users)
            self._append_audit("user.add", None, {"user": name, "role": role, "user_key": kf.user_key})
            keys.write_key_file(self.path, kf)

    def change_passphrase(self, name: str, new_passphrase: str) -> None:
        """Own passphrase: the same keys re-wrapped. Another user's (admin): keys issued anew."""
        if name != self.user:
            self.require("admin")
        kf = keys.read_key_file(self.path, name)
        if name == self.user:
            new = keys.make_key_file(self.info.archive_id, name, kf.role, new_passphrase, self._grant)
            with self.transaction():
                self._append_audit("user.passwd", None, {"user": name})
                keys.write_key_file(self.path, new)
            return
        new = keys.make_key_file(self.info.archive_id, name, kf.role, new_passphrase,
                                 self._grant.for_role(kf.role, os.urandom(32)))
        with self.transaction():
            users, problem = self.registry()
            if problem:
                raise IntegrityError(f"用户登记表无效：{problem}", "运行 guanai verify。")
            users[name] = {"role": kf.role, "user_key": new.user_key}
            self._put_registry(users)
            self._append_audit("user.passwd", None, {"user": name, "user_key": new.user_key})
            keys.write_key_file(self.path, new)

    def remove_user(self, name: str) -> None:
        self.require("admin")
        users = keys.list_users(self.path)
        if name == self.user:
            raise StateError("不能删除当前登录的用户。", "请用另一位管理员操作。")
        if dict(users).get(name) == "admin" and sum(1 for _, r in users if r == "admin") <= 1:
            raise StateError("不能删除最后一位管理员。")
        keys.key_path(self.path, name)
        with self.transaction():
            registry, problem = self.registry()
            if problem:
                raise IntegrityError(f"用户登记表无效：{problem}", "运行 guanai verify。")
            registry.pop(name, None)
            self._put_registry(registry)
            self._append_audit("user.remove", None, {"user": name})
            keys.remove_key_file(self.path, name)

    def users(self) -> list[tuple[str, str]]:
        """(name, role) of every user: the admin-signed registry in v2 (a stray key file is no user)."""
        if self.info.format_version >= 2:
            registry, problem = self.registry()
            if problem is None:
                return sorted((name, str(e.get("role"))) for name, e in registry.items())
        return keys.list_users(self.path)


def safe_filename(name: str) -> str:
    """A file name without directories or control characters (documents are exported by it)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in base if ord(c) >= 32 and c not in '<>:"|?*').strip().lstrip(".")
    if not base:
        raise InputError(f"文件名无效：{name!r}", "文件名不能为空，也不能只含路径或特殊字符。")
    return base[:120]


def _info_digest(info: ArchiveInfo) -> str:
    return hashlib.sha256(canonical_json(info.to_json())).hexdigest()


def _record_auth_failure(path: Path, archive_id: str, user: str) -> None:
    """Record a failed unlock without any key and without the writer lock (FORMAT.md §7.2)."""
    from guanai.archive.audit import journal_append

    user_hash = hashlib.sha256(f"{archive_id}\x00{user}".encode()).hexdigest()
    with contextlib.suppress(sqlite3.DatabaseError, OSError):
        journal_append(path, "auth.fail", now_iso(), canonical_json({"user_hash": user_hash}), uuid.uuid4().hex, None)
