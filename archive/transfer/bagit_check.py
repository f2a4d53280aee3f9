"""The Library of Congress ``bagit`` reference validator, run on a private temporary copy.

The copy is plaintext: it lives in RAM (/dev/shm) when available, in a 0700 directory, is
overwritten before removal, survives neither SIGTERM/SIGHUP (turned into an exception so that
``finally`` runs) nor, after SIGKILL, the next validation (``sweep_stale_tmpdirs``).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from guanai.archive.transfer.bag import bad_package
from guanai.base.errors import Problem

_TMP_PREFIX = "guanai-bag-"


def _tmp_base() -> str | None:
    from guanai.base.privtmp import tmp_base  # /dev/shm, or GUANAI_TMPDIR (tests)

    return tmp_base()


def _wipe_tree(path: Path) -> None:
    """Overwrite every file with zeros, then remove the tree (best effort, never raises)."""
    for root, _dirs, names in os.walk(path):
        for n in names:
            p = os.path.join(root, n)
            try:
                if os.path.islink(p):
                    continue
                size = os.path.getsize(p)
                with open(p, "r+b") as f:
                    f.write(b"\x00" * size)
                    f.flush()
            except OSError:
                pass
    shutil.rmtree(path, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_tmpdirs(base: str | None = None) -> int:
    """Remove bag copies left by a process that was killed (SIGKILL, power loss) mid-validation.

    Each copy's name carries the pid of its owner; a copy whose owner is gone is wiped. Only
    directories of the current user are touched. Returns how many were removed.
    """
    root = Path(base if base is not None else (_tmp_base() or tempfile.gettempdir()))
    removed = 0
    try:
        candidates = list(root.glob(_TMP_PREFIX + "*"))
    except OSError:
        return 0
    for d in candidates:
        m = re.match(re.escape(_TMP_PREFIX) + r"(\d+)-", d.name)
        try:
            st = d.lstat()
        except OSError:
            continue
        if not m or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or _pid_alive(int(m.group(1))):
            continue
        _wipe_tree(d)
        removed += 1
    return removed


class _Terminated(BaseException):
    """Raised by the SIGTERM/SIGHUP handler so that ``finally`` blocks wipe the plaintext copy."""


@contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """While the plaintext copy exists, turn SIGTERM/SIGHUP into an exception (cleanup runs).

    SIGINT already raises KeyboardInterrupt; SIGKILL cannot be caught: its leftovers are swept by
    the next validation (``sweep_stale_tmpdirs``). Handlers can only be set in the main thread.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise _Terminated(signum)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    except _Terminated as err:
        raise SystemExit(128 + int(err.args[0])) from None
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def _private_tmpdir() -> Iterator[Path]:
    """A 0700 temp dir, in RAM (/dev/shm) when available; files are overwritten before removal."""
    base = _tmp_base()
    sweep_stale_tmpdirs(base)
    path = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", dir=base))
    os.chmod(path, 0o700)
    try:
        yield path
    finally:
        _wipe_tree(path)


def validate_with_bagit(files: dict[str, bytes], package_id: str) -> None:
    """Run the Library of Congress ``bagit`` validator on a private, wiped-after temp copy."""
    import bagit

    with _terminate_cleanly(), _private_tmpdir() as tmp:
        bag_dir = tmp / package_id
        for rel, data in files.items():
            target = bag_dir / rel
            # Names were checked by read_zip already; resolve again as defence in depth.
            if not str(target.resolve()).startswith(str(bag_dir.resolve()) + os.sep):
                raise bad_package([Problem(repr(rel), "不安全的路径", code="bag.path.unsafe")], "转接包被拒绝")
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        try:
            bag = bagit.Bag(str(bag_dir))
            bag.validate(processes=1)
        except bagit.BagValidationError as err:
            details = [Problem(str(getattr(d, "path", "") or "bag"), str(d), code="bag.bagit")
                       for d in (err.details or [])] or [Problem("bag", str(err.message), code="bag.bagit")]
            raise bad_package(details, "BagIt 校验器（bagit）报告错误") from err
        except bagit.BagError as err:
            raise bad_package([Problem("bag", str(err), code="bag.bagit")], "BagIt 校验器（bagit）报告错误") from err
