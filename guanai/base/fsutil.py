"""Small filesystem helpers: atomic writes (temp file in the same directory, fsync, replace)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path | str, data: bytes, mode: int = 0o600, suffix: str = ".tmp") -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a half.

    The temp file is ``.<name>.<random><suffix>`` beside the target (callers that sweep crash
    leftovers choose the suffix they sweep).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def publish_dir(tmp: Path, dest: Path) -> None:
    """Move a fully built directory into place (``dest`` absent or an empty directory)."""
    (tmp / ".lock").touch(mode=0o600)
    if dest.exists():
        dest.rmdir()
    os.rename(tmp, dest)
    fsync_dir(dest.resolve().parent)
