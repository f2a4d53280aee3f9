"""The last catalog state this user's software has seen, kept outside the archive (FORMAT.md §6.4).

One small JSON file per archive id and place under ``$GUANAI_HEADS_DIR`` or
``$XDG_CONFIG_HOME/guanai/heads`` (``~/.config/guanai/heads``). A whole archive directory rolled back
to an older copy (or a catalog that lost its WAL) shows a generation below the one recorded here.

The place (the archive directory's resolved path) is part of the key: a backup restored into a new
directory shares the archive id with the original, and each copy then moves on by itself; keyed by
the id alone, the first write to one copy made the other look rolled back or forked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_HEX32 = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Head:
    archive_id: str
    commit: int  # counts every write transaction (the generation counts row changes only)
    generation: int
    state: str  # SHA-256 of the signed state body
    writer_key: str
    admin_key: str
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def heads_dir() -> Path:
    env = os.environ.get("GUANAI_HEADS_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "guanai" / "heads"


def _path(archive_id: str, where: Path) -> Path:
    if not _HEX32.match(archive_id):
        raise ValueError("archive id")
    try:
        place = str(Path(where).resolve())
    except OSError:
        place = os.path.abspath(where)
    tag = hashlib.sha256(place.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return heads_dir() / f"{archive_id}-{tag}.json"


def from_json(d: Any) -> Head | None:
    try:
        return Head(archive_id=str(d["archive_id"]), commit=int(d["commit"]), generation=int(d["generation"]),
                    state=str(d["state"]),
                    writer_key=str(d["writer_key"]), admin_key=str(d["admin_key"]), at=str(d.get("at", "")))
    except (KeyError, TypeError, ValueError):
        return None


def load(archive_id: str, where: Path) -> Head | None:
    """The head last seen of archive ``archive_id`` in directory ``where``."""
    try:
        raw = _path(archive_id, where).read_bytes()
    except (OSError, ValueError):
        return None
    try:
        return from_json(json.loads(raw[:64 * 1024]))
    except ValueError:
        return None


def record(head: Head, where: Path) -> None:
    """Remember ``head`` (of the archive in ``where``) unless a newer one is already known; best
    effort (a read-only home is fine)."""
    known = load(head.archive_id, where)
    if known is not None and known.commit > head.commit:
        return
    if known == head:
        return
    with contextlib.suppress(OSError):
        d = heads_dir()
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        # a hint, not data: atomic (rename) but not fsync'd — a head lost in a power cut only
        # means the rollback across that cut goes unnoticed
        path = _path(head.archive_id, where)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(head.to_json(), ensure_ascii=False).encode())
        finally:
            os.close(fd)
        os.replace(tmp, path)


def forget(archive_id: str, where: Path) -> None:
    """Accept an older state deliberately (a backup restored into ``where``): drop the remembered head."""
    with contextlib.suppress(OSError, ValueError):
        _path(archive_id, where).unlink()


def compare(known: Head | None, current: Head) -> str | None:
    """A Chinese description of how ``current`` contradicts what was seen before, or None."""
    if known is None:
        return None
    if known.writer_key != current.writer_key or known.admin_key != current.admin_key:
        return "档案库的签名密钥与本机记录的不同：档案库可能被替换。"
    if known.commit > current.commit:
        return (f"档案库被回滚：本机曾见到第 {known.commit} 次写入后的状态（{known.at}），现为第 {current.commit} 次。"
                "可能整个目录被换成了旧副本，或崩溃后丢失了最近的写入。")
    if known.commit == current.commit and known.state != current.state:
        return f"第 {current.commit} 次写入后的状态与本机记录的不同：档案库被替换或分叉。"
    return None
