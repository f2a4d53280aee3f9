"""Turning low-level faults (full disk, I/O errors) into clear Chinese errors.

A full disk (``ENOSPC``/``EDQUOT``, SQLite's ``SQLITE_FULL``) gets its own error and exit code,
naming the disk (mount point and free space) and what to free. A transient I/O error
(``SQLITE_IOERR``, ``EIO``, a busy or locked database) never sends people to restore a backup:
nothing is known to be damaged, and a retry is the right first step. Only SQLite's
``SQLITE_CORRUPT``/``SQLITE_NOTADB`` mean damage.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from guanai.base.errors import BusyError, DiskFullError, GuanaiError, IntegrityError, TransientIOError

# SQLite primary result codes (extended codes carry them in the low byte)
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL = 5, 6, 10, 11, 13
SQLITE_CANTOPEN, SQLITE_NOTADB = 14, 26
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_TRANSIENT_ERRNOS = {errno.EIO, errno.EAGAIN, errno.EBUSY, errno.ETIMEDOUT}


def mount_point(path: Path | str) -> Path:
    """The mount point holding ``path`` (or its nearest existing parent)."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    while not os.path.ismount(p) and p != p.parent:
        p = p.parent
    return p


def human_bytes(n: float) -> str:
    for unit in ("字节", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "字节" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def disk_full(where: Path | str) -> DiskFullError:
    """The Chinese disk-full error for a write under ``where``."""
    mp = mount_point(where)
    try:
        usage = shutil.disk_usage(mp)
        free = f"，剩余 {human_bytes(usage.free)}，共 {human_bytes(usage.total)}"
    except OSError:
        free = ""
    return DiskFullError(
        f"磁盘已满：{where} 所在的磁盘（挂载点 {mp}{free}）没有空间，本次写入已撤销，档案库中已有的数据不受影响。",
        f"清理 {mp} 上的旧备份文件（*.gab）、导出的文书和下载的文件，或清空回收站，至少留出几百 MB 后重试；"
        "查询与导出仍可使用。")


def transient(what: str, detail: str) -> TransientIOError:
    return TransientIOError(
        f"{what}时发生暂时性读写错误：{detail}",
        "这通常是磁盘、U 盘或网络盘暂时出错，并不表示档案已损坏：请稍后重试；"
        "若反复出现，检查磁盘连接与健康状况，再运行 guanai verify。")


def is_disk_full(err: BaseException) -> bool:
    if isinstance(err, OSError):
        return err.errno in _FULL_ERRNOS
    if isinstance(err, sqlite3.Error):
        code = getattr(err, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF == SQLITE_FULL:
            return True
        return "database or disk is full" in str(err)
    return False


#: below this much free space an SQLite I/O error (growing the -shm or -wal file, a write, an
#: fsync) is taken to be the full disk it almost certainly is
LOW_SPACE = 1024 * 1024
SQLITE_READONLY = 8


def low_space(where: Path | str) -> bool:
    try:
        return shutil.disk_usage(mount_point(where)).free < LOW_SPACE
    except OSError:
        return False


def translate(err: BaseException, where: Path | str, what: str = "读写档案库") -> GuanaiError | None:
    """A GuanaiError for a low-level fault, or None when it is not one of ours to explain."""
    if isinstance(err, GuanaiError):
        return err
    if is_disk_full(err):
        return disk_full(where)
    if isinstance(err, sqlite3.Error | OSError) and _io_like(err) and low_space(where):
        return disk_full(where)  # SQLITE_IOERR_SHMSIZE and friends on a full disk
    if isinstance(err, OSError) and err.errno in _TRANSIENT_ERRNOS:
        return transient(what, err.strerror or str(err))
    if isinstance(err, sqlite3.Error):
        code = getattr(err, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        text = str(err)
        if primary in (SQLITE_BUSY, SQLITE_LOCKED) or "database is locked" in text:
            return BusyError("档案库正被其他程序使用（数据库忙）。", "稍候重试。")
        if primary in (SQLITE_IOERR, SQLITE_CANTOPEN) or "disk I/O error" in text or "unable to open" in text:
            return transient(what, text)
        if primary in (SQLITE_CORRUPT, SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
            return IntegrityError(f"目录数据库 catalog.sqlite 已损坏：{text}",
                                  "运行 guanai verify 查看损坏范围；用 guanai salvage 抢救仍可打开的记录，"
                                  "或由备份恢复（guanai restore）。")
    return None


def _io_like(err: BaseException) -> bool:
    if isinstance(err, OSError):
        return err.errno in _TRANSIENT_ERRNOS
    code = getattr(err, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(err)
    return primary in (SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_READONLY) or "disk I/O error" in text \
        or "readonly database" in text


def readonly_fallback(db: Path, err: BaseException) -> sqlite3.Connection | None:
    """On a full disk SQLite cannot even create its ``-shm`` file to read: open the catalog
    read-only and immutable instead (only when no ``-wal`` holds newer data), so reads keep
    working; any write through it fails and is reported as the full disk."""
    if not (_io_like(err) and low_space(db.parent)):
        return None
    wal = db.with_name(db.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return None
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro&immutable=1", uri=True, isolation_level=None,
                               check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.Error:
        return None
