"""Backup (consistent while the archive is in use) and restore into a new directory.

A backup is a tar file holding ``archive.json``, ``keys/*.json``, a snapshot of
``catalog.sqlite`` taken with SQLite's online backup API, and ``backup.json`` (SHA-256 of every
member). Everything personal in it is sealed exactly as in the archive; the search index is
derived data and is rebuilt after a restore.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import tarfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.base.errors import FormatError, InputError, IntegrityError, StateError
from guanai.base.fsutil import fsync_dir, publish_dir

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ArchiveInfo

MAX_MEMBER = 64 * 1024 * 1024 * 1024
_MEMBER_RE = re.compile(r"^(archive\.json|backup\.json|catalog\.sqlite|keys/[\w.\-\u4e00-\u9fff]{1,32}\.json)$")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def backup(arc: Archive, out: Path | str) -> dict[str, Any]:
    """Write a consistent backup of ``arc`` to ``out`` (which must not exist)."""
    from guanai.archive.store import now_iso

    arc.require("export")
    out = Path(out)
    if out.exists():
        raise StateError(f"目标文件已存在：{out}", "换一个文件名，备份不会覆盖已有文件。")
    out.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    snap = out.parent / f".{out.name}.{tag}.sqlite"
    tmp = out.parent / f".{out.name}.{tag}.tmp"
    try:
        dst = sqlite3.connect(snap)
        try:
            arc.conn.backup(dst)  # consistent snapshot even while another process writes
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
        members: list[tuple[str, Path]] = [("archive.json", arc.path / "archive.json"), ("catalog.sqlite", snap)]
        members += [(f"keys/{p.name}", p) for p in sorted((arc.path / "keys").glob("*.json"))]
        manifest = {"format": "guanai-backup", "version": 1, "archive_id": arc.info.archive_id,
                    "created_at": now_iso(), "generation": arc.generation, "head": _snapshot_head(snap),
                    "files": {name: _sha256_file(p) for name, p in members}}
        with tarfile.open(tmp, "w") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            ti = tarfile.TarInfo("backup.json")
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
            for name, p in members:
                tar.add(p, arcname=name, recursive=False)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)
        fsync_dir(out.parent)
    finally:
        for p in (snap, tmp):
            if p.exists():
                p.unlink()
    arc.audit("archive.backup", None, {"file": out.name, "generation": manifest["generation"]})
    return manifest


def _snapshot_head(db: Path) -> dict[str, Any] | None:
    """The signed state of the snapshot (FORMAT.md §6.4): commit, generation and its hash."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT body FROM state WHERE id=1").fetchone()
    except sqlite3.DatabaseError:
        return None  # a format-v1 catalog
    finally:
        conn.close()
    if row is None:
        return None
    body = json.loads(row[0])
    return {"commit": body.get("commit"), "generation": body.get("generation"),
            "state": hashlib.sha256(str(row[0]).encode()).hexdigest()}


def restore(backup_file: Path | str, dest: Path | str) -> ArchiveInfo:
    """Restore a backup into a new directory; every member is checked before anything is kept."""
    from guanai.archive.store import read_info

    backup_file, dest = Path(backup_file), Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StateError(f"目标目录 {dest} 已存在且不为空。", "恢复到一个新目录；不会覆盖已有档案库。")
    if not backup_file.is_file():
        raise InputError(f"找不到备份文件：{backup_file}")
    parent = dest.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{dest.name}.restore-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(mode=0o700)
    try:
        try:
            tar = tarfile.open(backup_file, "r:")
        except (tarfile.TarError, OSError) as err:
            raise FormatError(f"备份文件无法读取：{backup_file}", "文件可能被截断或不是 guanai 备份。") from err
        with tar:
            manifest: dict[str, Any] | None = None
            seen: set[str] = set()
            for m in tar:
                if not _MEMBER_RE.match(m.name) or not m.isfile() or m.name in seen:
                    raise IntegrityError(f"备份中有不允许的条目：{m.name!r}", "备份文件可能被篡改。")
                if m.size > MAX_MEMBER:
                    raise IntegrityError(f"备份条目过大：{m.name}")
                seen.add(m.name)
                src = tar.extractfile(m)
                if src is None:
                    raise IntegrityError(f"备份条目无法读取：{m.name}")
                if m.name == "backup.json":
                    try:
                        manifest = json.loads(src.read(1024 * 1024))
                    except ValueError as err:
                        raise IntegrityError("备份清单 backup.json 格式错误") from err
                    continue
                target = tmp / m.name
                target.parent.mkdir(mode=0o700, exist_ok=True)
                with open(target, "wb") as f:
                    shutil.copyfileobj(src, f, 1 << 20)
        if not manifest or manifest.get("format") != "guanai-backup" or manifest.get("version") != 1:
            raise FormatError("备份清单缺失或版本不受支持", "该文件不是本版本 guanai 的备份。")
        files: dict[str, str] = manifest.get("files") or {}
        for name in ("archive.json", "catalog.sqlite"):
            if name not in files:
                raise IntegrityError(f"备份缺少 {name}")
        for name, digest in files.items():
            p = tmp / name
            if not p.is_file():
                raise IntegrityError(f"备份缺少文件：{name}", "备份文件可能被截断。")
            if _sha256_file(p) != digest:
                raise IntegrityError(f"备份文件 {name} 的校验值不符", "备份文件已损坏或被篡改。")
        extra = {str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()} - set(files)
        if extra:
            raise IntegrityError(f"备份中有清单外的文件：{', '.join(sorted(extra))}")
        info = read_info(tmp)
        if info.archive_id != manifest.get("archive_id"):
            raise IntegrityError("备份清单与档案库标识不符")
        conn = sqlite3.connect(tmp / "catalog.sqlite")
        try:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise IntegrityError("备份中的目录数据库损坏")
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        publish_dir(tmp, dest)
        # restoring is a deliberate return to an older state: this machine accepts it
        from guanai.archive import heads

        heads.forget(info.archive_id)
        return info
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
