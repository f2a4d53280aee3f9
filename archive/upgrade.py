"""`guanai upgrade`: migrate a format-v1 archive to v2 (FORMAT.md §10).

Backup first (a plain copy of the v1 archive beside it, itself a usable v1 archive), then the
v2 archive is built in a temporary directory beside the original from the v1 rows (sealed
values are kept byte for byte: v2 seals exactly as v1), verified, and swapped in with one
atomic directory exchange. Until that exchange the v1 archive is untouched, so an interrupted
upgrade leaves it usable; leftovers of an interrupted run are removed by the next run.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from guanai.archive import keys
from guanai.archive.store import (
    FORMAT_VERSION,
    Archive,
    _connect,
    _WriterLock,
    create_catalog,
    read_info,
    unlock,
)
from guanai.base.errors import IntegrityError, PermissionDenied, StateError
from guanai.base.fsutil import atomic_write, fsync_dir

# rows copied as they are (the sealed values' contexts do not change between v1 and v2)
_COPIED = ("children", "blind", "documents", "content", "settings", "tombstones")

Step = Callable[[str], None]


@dataclass
class UpgradeResult:
    backup: Path
    children: int
    documents: int
    audit_entries: int
    reissued: dict[str, str] = field(default_factory=dict)  # user -> temporary passphrase
    kept: list[str] = field(default_factory=list)  # users whose passphrase was given

    def to_json(self) -> dict[str, Any]:
        return {"backup": str(self.backup), "children": self.children, "documents": self.documents,
                "audit_entries": self.audit_entries, "reissued": sorted(self.reissued), "kept": self.kept}


def _noop(_stage: str) -> None:
    return None


def temporary_passphrase() -> str:
    """A one-time passphrase for a user whose key file had to be issued anew (4 groups of 4)."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def sweep_leftovers(path: Path) -> None:
    """Remove the temporary directories of an interrupted upgrade of ``path``."""
    for p in path.resolve().parent.glob(f".{path.name}.upgrade-*"):
        shutil.rmtree(p, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0:
        return True
    return False


def _backup_copy(path: Path, stamp: str) -> Path:
    """A consistent copy of the v1 archive beside it (catalog through SQLite's backup API)."""
    dest = path.resolve().parent / f"{path.name}.v1-backup-{stamp}"
    tmp = path.resolve().parent / f".{path.name}.upgrade-backup-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(mode=0o700)
    try:
        shutil.copy2(path / "archive.json", tmp / "archive.json")
        shutil.copytree(path / "keys", tmp / "keys")
        for name in ("catalog.sqlite", "journal.sqlite"):
            if not (path / name).exists():
                continue
            src = sqlite3.connect(f"file:{path / name}?mode=ro", uri=True)
            dst = sqlite3.connect(tmp / name)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
        (tmp / ".lock").touch(mode=0o600)
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        os.rename(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def upgrade_archive(path: Path | str, *, user: str, passphrase: str,
                    passphrases: Mapping[str, str] | None = None, progress: Step | None = None) -> UpgradeResult:
    """Migrate the v1 archive at ``path`` to v2, all or nothing; returns what was done."""
    path = Path(path)
    progress = progress or _noop
    info = read_info(path)
    if info.format_version >= FORMAT_VERSION:
        raise StateError(f"档案库已是格式 v{info.format_version}，无需升级。")
    kf, grant = unlock(path, info, user, passphrase)
    if kf.role != "admin":
        raise PermissionDenied(f"用户“{user}”不是管理员，不能升级档案库。", "请由管理员运行 guanai upgrade。")
    passphrases = dict(passphrases or {})
    sweep_leftovers(path)
    lock = _WriterLock(path / ".lock")
    lock.acquire(10)
    try:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        progress("backup")
        backup = _backup_copy(path, stamp)
        tmp = path.resolve().parent / f".{path.name}.upgrade-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(mode=0o700)
        try:
            progress("build")
            try:
                result = _build(path, tmp, info, user, grant, {**passphrases, user: passphrase}, backup)
            except sqlite3.DatabaseError as err:
                raise IntegrityError(f"旧档案库的数据无法读取，原档案库保持不变：{err}",
                                     "先运行 guanai verify 查看旧档案库的问题，必要时由备份恢复后再升级。") from err
            progress("verify")
            _verify_new(tmp, user, passphrase)
            progress("swap")
            if _exchange(tmp, path):
                fsync_dir(path.resolve().parent)
            else:
                aside = path.resolve().parent / f".{path.name}.upgrade-old-{uuid.uuid4().hex[:8]}"
                os.rename(path, aside)
                os.rename(tmp, path)
                fsync_dir(path.resolve().parent)
                tmp = aside
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        lock.release()
    return result


def _build(path: Path, tmp: Path, info: Any, admin: str, v1: keys.Grant, passphrases: dict[str, str],
           backup: Path) -> UpgradeResult:
    from dataclasses import replace

    new_info = replace(info, format_version=FORMAT_VERSION)
    atomic_write(tmp / "archive.json", json.dumps(new_info.to_json(), ensure_ascii=False, indent=1).encode(), 0o644)
    base = keys.new_archive_grant()
    grant = keys.Grant(v1.master, base.user_seed, base.writer_pub, base.admin_pub, base.writer_seed, base.admin_seed)
    old = _connect(path / "catalog.sqlite")
    try:
        generation = int(old.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
        create_catalog(tmp / "catalog.sqlite", info.archive_id, generation)
        # key files: the admin's with the same passphrase; others with theirs if given, else a temporary one
        result = UpgradeResult(backup=backup, children=0, documents=0, audit_entries=0)
        key_files: list[keys.KeyFile] = []
        registry: dict[str, dict[str, str]] = {}
        for name, role in keys.list_users(path):
            g = grant if name == admin else grant.for_role(role, os.urandom(32))
            given = passphrases.get(name)
            if given is not None:
                old_kf = keys.read_key_file(path, name)
                keys.unwrap(info.archive_id, old_kf, given)  # the given passphrase must be that user's
                result.kept.append(name)
            else:
                given = temporary_passphrase()
                result.reissued[name] = given
            kf = keys.make_key_file(info.archive_id, name, role, given, g)
            key_files.append(kf)
            registry[name] = {"role": role, "user_key": kf.user_key}
        for kf in key_files:
            keys.write_key_file(tmp, kf)
        arc = Archive(tmp, new_info, admin, "admin", grant)
        try:
            arc.conn.execute("ATTACH DATABASE ? AS old", (f"file:{path / 'catalog.sqlite'}?mode=ro",))
        except sqlite3.OperationalError:
            arc.conn.execute("ATTACH DATABASE ? AS old", (str(path / "catalog.sqlite"),))
        try:
            with arc.transaction():
                for t in _COPIED:
                    arc.conn.execute(f"INSERT INTO main.{t} SELECT * FROM old.{t}")
                arc.conn.execute("INSERT INTO main.audit SELECT seq, at, actor, action, target, detail, prev, mac, "
                                 "NULL FROM old.audit")
                failures = arc.conn.execute("SELECT at, user_hash FROM old.auth_failures ORDER BY rowid").fetchall()
                for at, user_hash in failures:
                    arc._append_audit("auth.fail", None, {"user_hash": user_hash, "at": at}, actor="?")
                arc._put_registry(registry)
                arc._append_audit("archive.upgrade", None, {"from": 1, "to": FORMAT_VERSION, "backup": backup.name,
                                                            "reissued": sorted(result.reissued)})
            result.children = arc.conn.execute("SELECT count(*) FROM children").fetchone()[0]
            result.documents = arc.conn.execute("SELECT count(*) FROM documents").fetchone()[0]
            result.audit_entries = arc.conn.execute("SELECT count(*) FROM audit").fetchone()[0]
            arc.conn.execute("DETACH DATABASE old")
        finally:
            arc.close()
    finally:
        old.close()
    # readers' entries recorded while v1 was read-only: chained at the first v2 write
    if (path / "journal.sqlite").exists():
        src = sqlite3.connect(path / "journal.sqlite")
        dst = sqlite3.connect(tmp / "journal.sqlite")
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    if (path / "index").is_dir():
        shutil.copytree(path / "index", tmp / "index")
    (tmp / ".lock").touch(mode=0o600)
    return result


def _verify_new(tmp: Path, user: str, passphrase: str) -> None:
    from guanai.archive.verify import verify_archive

    with Archive.open(tmp, user=user, passphrase=passphrase) as arc:
        rep = verify_archive(arc)
    problems = [p for p in rep.problems if p.where != "档案库目录"]
    if problems:
        raise IntegrityError("升级后的档案库未通过检测，原档案库保持不变",
                             "先运行 guanai verify 修复旧档案库的问题，再升级。", problems)
