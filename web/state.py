"""Server-side state of the web UI: logged-in sessions (each holding its unlocked archive),
login rate limiting, uploads awaiting confirmation, and background jobs.

The master key never leaves this process: the browser holds only a signed random session id.
An idle session is closed by the sweeper (the archive handle closes and forgets its key).
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.base.errors import GuanaiError

if TYPE_CHECKING:
    from guanai.archive.store import Archive

IDLE_SECONDS = 15 * 60
MAX_FAILURES = 5  # per (client, user) within FAILURE_WINDOW
MAX_FAILURES_PER_CLIENT = 20
FAILURE_WINDOW = 300.0


@dataclass
class Session:
    sid: str
    csrf: str
    arc: Archive
    lock: threading.RLock = field(default_factory=threading.RLock)
    created: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)
    cache: dict[str, Any] = field(default_factory=dict)
    uploads: dict[str, Any] = field(default_factory=dict)  # token -> pending upload (preview → confirm)

    @property
    def user(self) -> str:
        return self.arc.user

    @property
    def role(self) -> str:
        return self.arc.role

    def can(self, perm: str) -> bool:
        from guanai.archive.store import PERMISSIONS

        return perm in PERMISSIONS.get(self.arc.role, frozenset())


class SharedCache:
    """Decrypted listings shared by the sessions of one archive (every role may read them), keyed
    by the archive's generation; computed once while concurrent sessions wait; emptied when the
    last session ends, so no decrypted data outlives the keys."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        self._compute = threading.RLock()  # a computation may need another cached value

    def get(self, name: str, key: Any, compute: Callable[[], Any]) -> Any:
        with self._lock:
            hit = self._data.get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
        with self._compute:
            with self._lock:
                hit = self._data.get(name)
            if hit is not None and hit[0] == key:
                return hit[1]
            value = compute()
            with self._lock:
                self._data[name] = (key, value)
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class SessionStore:
    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle = idle_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.shared = SharedCache()

    def create(self, arc: Archive) -> Session:
        s = Session(sid=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), arc=arc)
        with self._lock:
            self._sessions[s.sid] = s
        return s

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            s = self._sessions.get(sid)
        if s is None:
            return None
        now = time.monotonic()
        if now - s.last_seen > self.idle:
            self.drop(sid, reason="idle")
            return None
        s.last_seen = now
        return s

    def drop(self, sid: str, reason: str = "logout") -> None:
        with self._lock:
            s = self._sessions.pop(sid, None)
            last = not self._sessions
        if s is None:
            return
        if last:
            self.shared.clear()
        with s.lock:
            try:
                if reason != "logout":
                    s.arc.audit("web.logout", None, {"reason": reason})
            except GuanaiError:
                pass
            s.arc.close()  # the handle forgets the master key and its sub-keys
            s.cache.clear()
            s.uploads.clear()

    def sweep(self) -> int:
        now = time.monotonic()
        with self._lock:
            idle = [sid for sid, s in self._sessions.items() if now - s.last_seen > self.idle]
        for sid in idle:
            self.drop(sid, reason="idle")
        return len(idle)

    def close_all(self) -> None:
        with self._lock:
            sids = list(self._sessions)
        for sid in sids:
            self.drop(sid, reason="shutdown")

    def __len__(self) -> int:
        return len(self._sessions)


class RateLimiter:
    """Failed logins per (client, user) and per client in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, per_client: int = MAX_FAILURES_PER_CLIENT,
                 window: float = FAILURE_WINDOW) -> None:
        self.max = max_failures
        self.per_client = per_client
        self.window = window
        self._fail: dict[tuple[str, str], deque[float]] = {}
        self._client: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _trim(self, q: deque[float], now: float) -> deque[float]:
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked(self, client: str, user: str) -> float:
        """Seconds to wait before another attempt (0 when allowed)."""
        now = time.monotonic()
        with self._lock:
            q = self._trim(self._fail.get((client, user), deque()), now)
            c = self._trim(self._client.get(client, deque()), now)
            waits = []
            if len(q) >= self.max:
                waits.append(self.window - (now - q[0]))
            if len(c) >= self.per_client:
                waits.append(self.window - (now - c[0]))
            return max(waits, default=0.0)

    def failed(self, client: str, user: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._fail.setdefault((client, user), deque()).append(now)
            self._client.setdefault(client, deque()).append(now)

    def succeeded(self, client: str, user: str) -> None:
        with self._lock:
            self._fail.pop((client, user), None)


@dataclass
class Job:
    id: str
    owner: str  # user name: any session of that user may watch it (a reload, a new login)
    title: str
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    stage: str = ""
    result: Any = None
    error: str | None = None
    hint: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    template: str = ""  # result template
    files: dict[str, tuple[Path, str, str]] = field(default_factory=dict)  # key -> (path, filename, mime)

    @property
    def percent(self) -> int:
        if self.state != "running":
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class JobRunner:
    """Background jobs on threads, each with its own handle on the session's unlocked archive."""

    def __init__(self, spool: Path) -> None:
        self.spool = spool
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, session: Session, title: str, template: str,
              work: Callable[[Archive, Job], Any]) -> Job:
        job = Job(id=secrets.token_hex(16), owner=session.user, title=title, template=template)
        arc = session.arc.sibling()
        with self._lock:
            self._jobs[job.id] = job

        def run() -> None:
            try:
                job.result = work(arc, job)
                job.state = "done"
            except GuanaiError as err:
                job.error, job.hint, job.state = err.message, err.hint, "failed"
            except Exception as err:  # noqa: BLE001 - shown on the job page, never a traceback
                traceback.print_exc()
                job.error, job.state = f"内部错误：{type(err).__name__}: {err}", "failed"
            finally:
                job.finished = time.time()
                arc.close()

        threading.Thread(target=run, name=f"guanai-job-{job.id[:8]}", daemon=True).start()
        return job

    def record(self, session: Session, title: str, template: str, result: Any,
               files: dict[str, tuple[Path, str, str]]) -> Job:
        """A finished piece of work shown on a job page like a background job (e.g. a rejection)."""
        job = Job(id=secrets.token_hex(16), owner=session.user, title=title, template=template, state="done",
                  result=result, files=files, finished=time.time())
        with self._lock:
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str, user: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == user else None

    def workdir(self, job: Job) -> Path:
        d = self.spool / "jobs" / job.id
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return d

    def list_for(self, user: str) -> list[Job]:
        with self._lock:
            return sorted((j for j in self._jobs.values() if j.owner == user), key=lambda j: -j.started)

    def wait_all(self, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline and any(j.state == "running" for j in list(self._jobs.values())):
            time.sleep(0.05)


def make_spool() -> Path:
    """A private working folder for this server process (uploads, packages, backups)."""
    return Path(tempfile.mkdtemp(prefix="guanai-web-"))


def remove_spool(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
