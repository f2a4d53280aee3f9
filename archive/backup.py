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

from guanai.archive.audit import JOURNAL
from guanai.base.errors import FormatError, InputError, IntegrityError, StateError
from guanai.base.fsutil import fsync_dir, publish_dir
from guanai.base.privtmp import pid_alive

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ArchiveInfo

MAX_MEMBER = 64 * 1024 * 1024 * 1024
#: archive.json, backup.json and key files are small; anything larger is not ours
MAX_SMALL_MEMBER = 1024 * 1024
_MEMBER_RE = re.compile(r"^(archive\.json|backup\.json|catalog\.sqlite|journal\.sqlite|keys/[\w.\-\u4e00-\u9fff]{1,32}\.json)$")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_LEFTOVER_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.(sqlite|tmp|journal\.sqlite)(-journal|-wal|-shm)?$")


def sweep_leftovers(folder: Path) -> list[str]:
    """Remove temp files of a backup that was killed (its process is gone); returns their names."""
    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for n in names:
        m = _LEFTOVER_RE.match(n)
        if m is None or pid_alive(int(m.group("pid"))):
            continue
        try:
            (folder / n).unlink()
            removed.append(n)
        except OSError:
            pass
    return removed


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (a backup holds keys and every sealed record)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def _check_written(tmp: Path, manifest: dict[str, Any]) -> None:
    """Read the written backup back: every member present with its digest, the catalog sound."""
    seen: dict[str, str] = {}
    with tarfile.open(tmp, "r:") as tar:
        for m in tar:
            src = tar.extractfile(m)
            if src is None:
                raise IntegrityError(f"写入的备份无法读回：{m.name}", "检查目标磁盘后重试。")
            h = hashlib.sha256()
            while block := src.read(1 << 20):
                h.update(block)
            seen[m.name] = h.hexdigest()
    for name, digest in manifest["files"].items():
        if seen.get(name) != digest:
            raise IntegrityError(f"写入的备份读回校验失败：{name}", "目标磁盘可能有坏块或已满；换一个位置重试。")


def _source_problems(arc: Archive, snap: Path) -> list[str]:
    """Problems of the source worth a warning: the snapshot's structure, rows that do not open,
    the audit chain (a full ``verify`` when the user may run it)."""
    problems: list[str] = []
    conn = sqlite3.connect(snap)
    try:
        problems += [f"catalog.sqlite：{m}" for (m,) in conn.execute("PRAGMA quick_check").fetchall() if m != "ok"]
    except sqlite3.DatabaseError as err:
        problems.append(f"catalog.sqlite：{err}")
    finally:
        conn.close()
    if problems:
        return problems
    try:
        from guanai.archive.store import PERMISSIONS

        if "verify" in PERMISSIONS.get(arc.role, frozenset()):
            from guanai.archive.verify import verify_archive

            problems += [str(p) for p in verify_archive(arc).problems]
        else:
            from guanai.archive.audit import walk

            arc.list_children()
            arc.list_documents()
            problems += [f"{rid}：{msg}" for rid, msg in arc.damaged.items()]
            problems += list(walk(arc)[1])
    except Exception as err:  # noqa: BLE001 - a check that fails is itself a warning, never a lost backup
        problems.append(f"检查未能完成：{getattr(err, 'message', None) or err}")
    return problems


def _snapshot_journal(journal: Path, dest: Path) -> bool:
    """A consistent copy of the journal into ``dest``; False when there is no journal."""
    if not journal.is_file():
        return False
    _private_file(dest)
    src = sqlite3.connect(f"{journal.as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    return True


def backup(arc: Archive, out: Path | str, *, check_source: bool = True) -> dict[str, Any]:
    """Write a consistent backup of ``arc`` to ``out`` (which must not exist).

    Written under a temp name (mode 0600), read back and checked, then renamed; leftovers of a
    killed backup in the same folder are removed first. The manifest gains ``source_problems``
    (the source's own problems: the backup is still written — it may be the best copy there is).
    """
    from guanai.archive.store import now_iso

    arc.require("export")
    out = Path(out)
    if out.exists():
        raise StateError(f"目标文件已存在：{out}", "换一个文件名，备份不会覆盖已有文件。")
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(out.parent)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    snap = out.parent / f".{out.name}.{tag}.sqlite"
    journal_snap = out.parent / f".{out.name}.{tag}.journal.sqlite"
    tmp = out.parent / f".{out.name}.{tag}.tmp"
    try:
        _private_file(snap)
        dst = sqlite3.connect(snap)
        try:
            arc.conn.backup(dst)  # consistent snapshot even while another process writes
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
        problems = _source_problems(arc, snap) if check_source else []
        members: list[tuple[str, Path]] = [("archive.json", arc.path / "archive.json"), ("catalog.sqlite", snap)]
        # the readers' audit entries not yet chained (FORMAT.md §7.2): taken after the catalog, so
        # the copy holds at least every entry the catalog's copy has not absorbed
        if _snapshot_journal(arc.path / JOURNAL, journal_snap):
            members.append((JOURNAL, journal_snap))
        members += [(f"keys/{p.name}", p) for p in sorted((arc.path / "keys").glob("*.json"))]
        manifest = {"format": "guanai-backup", "version": 1, "archive_id": arc.info.archive_id,
                    "created_at": now_iso(), "generation": arc.generation, "head": _snapshot_head(snap),
                    "files": {name: _sha256_file(p) for name, p in members}}
        _private_file(tmp)
        with open(tmp, "r+b") as out_f, tarfile.open(fileobj=out_f, mode="w") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            ti = tarfile.TarInfo("backup.json")
            ti.size = len(data)
            ti.mode = 0o600
            tar.addfile(ti, io.BytesIO(data))
            for name, p in members:
                tar.add(p, arcname=name, recursive=False)
        with open(tmp, "rb") as done_f:
            os.fsync(done_f.fileno())
        _check_written(tmp, manifest)
        os.replace(tmp, out)
        fsync_dir(out.parent)
    finally:
        for p in (snap, journal_snap, tmp):
            if p.exists():
                p.unlink()
    arc.audit("archive.backup", None, {"file": out.name, "generation": manifest["generation"],
                                       "source_problems": len(problems)})
    manifest["source_problems"] = problems
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
            members = tar.getmembers()  # headers only: checked before anything is written
            total = 0
            for m in members:
                if not _MEMBER_RE.match(m.name) or not m.isreg() or m.issparse() or m.name in seen:
                    raise IntegrityError(f"备份中有不允许的条目：{m.name!r}（只允许普通文件，不允许稀疏文件或链接）",
                                         "备份文件可能被篡改。")
                limit = MAX_MEMBER if m.name == "catalog.sqlite" else MAX_SMALL_MEMBER
                if m.size > limit:
                    raise IntegrityError(f"备份条目过大：{m.name}（{m.size} 字节，上限 {limit} 字节）",
                                         "备份文件可能被篡改。")
                seen.add(m.name)
                total += m.size
            free = shutil.disk_usage(parent).free
            if total > free:
                from guanai.base.faults import disk_full

                raise disk_full(parent)
            seen = set()
            for m in members:
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
                with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
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
        if (tmp / JOURNAL).is_file():  # its rows are MACed: a forged one is refused when read
            conn = sqlite3.connect(tmp / JOURNAL)
            try:
                if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise IntegrityError("备份中的审计日志库 journal.sqlite 损坏")
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.DatabaseError as err:
                raise IntegrityError("备份中的审计日志库 journal.sqlite 损坏") from err
            finally:
                conn.close()
        publish_dir(tmp, dest)
        # restoring is a deliberate return to an older state: this machine accepts it
        from guanai.archive import heads

        heads.forget(info.archive_id, dest)
        return info
    except (tarfile.TarError, EOFError) as err:  # a truncated or damaged file, met while reading it
        shutil.rmtree(tmp, ignore_errors=True)
        raise FormatError(f"备份文件已被截断或损坏，无法恢复：{backup_file}",
                          "什么也没有写入。换一份完好的备份（备份后会读回校验，原文件应完好）。") from err
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
