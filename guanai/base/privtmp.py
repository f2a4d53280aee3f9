"""Private temporary directories for plaintext (PDF conversion, bag validation).

A directory is created 0700, in RAM (``/dev/shm``) where that is available, named
``<prefix><pid>-<random>``; it is wiped (files overwritten with zeros, then removed) on every
exit path that runs Python code. A SIGKILL leaves it behind: :func:`sweep_stale` removes
directories whose owning process is gone; every ``guanai`` command calls it at start, so no
plaintext survives a kill past the next command.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: prefixes of private directories (``guanai-bag-`` is the transfer package's validation copy)
PREFIXES = ("guanai-pdf-", "guanai-bag-", "guanai-priv-")


def tmp_base() -> str:
    """``/dev/shm`` (tmpfs: never on disk) when writable, else the system temp directory."""
    env = os.environ.get("GUANAI_TMPDIR")
    if env and os.path.isdir(env):
        return env
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    return tempfile.gettempdir()


def wipe_tree(path: Path | str) -> None:
    """Overwrite every file with zeros, then remove the tree (best effort, never raises)."""
    for root, _dirs, names in os.walk(path):
        for n in names:
            p = os.path.join(root, n)
            with contextlib.suppress(OSError):
                if os.path.islink(p):
                    continue
                size = os.path.getsize(p)
                with open(p, "r+b") as f:
                    f.write(b"\x00" * size)
                    f.flush()
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(base: str | None = None) -> int:
    """Wipe private directories left by a killed process (its pid is gone); returns how many."""
    root = Path(base or tmp_base())
    removed = 0
    try:
        names = os.listdir(root)
    except OSError:
        return 0
    for name in names:
        prefix = next((p for p in PREFIXES if name.startswith(p)), None)
        if prefix is None:
            continue
        m = re.match(re.escape(prefix) + r"(\d+)-", name)
        d = root / name
        try:
            st = d.lstat()
        except OSError:
            continue
        if not m or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or pid_alive(int(m.group(1))):
            continue
        wipe_tree(d)
        removed += 1
    return removed


class _Terminated(BaseException):
    """Raised by the SIGTERM/SIGHUP handler so that ``finally`` blocks wipe the plaintext."""


@contextlib.contextmanager
def terminate_cleanly() -> Iterator[None]:
    """While plaintext exists, turn SIGTERM/SIGHUP into an exception so cleanup runs.

    SIGINT already raises KeyboardInterrupt; SIGKILL cannot be caught (its leftovers are swept
    by the next command). Handlers can only be set in the main thread, and only replace the
    default action.
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


@contextlib.contextmanager
def private_tmpdir(prefix: str = "guanai-priv-") -> Iterator[Path]:
    """A fresh 0700 directory for plaintext, wiped when the block ends (however it ends,
    SIGTERM and SIGHUP included)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown private temp prefix {prefix!r}")
    with terminate_cleanly():
        base = tmp_base()
        path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=base))
        os.chmod(path, 0o700)
        try:
            yield path
        finally:
            wipe_tree(path)
