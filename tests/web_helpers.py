"""Shared set-up for the web UI tests: a real uvicorn server on a free loopback port, in a thread."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

PASS = "网页测试口令-2026 alpha"
SCHOOL = "萧县龙城镇中心小学"
USERS = {"secretary": ("王老师", "文书口令-2026 bravo"), "archivist": ("李档案", "档案口令-2026 charlie"),
         "inspector": ("赵督查", "督查口令-2026 delta")}
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:<free port> for the duration of the block; yields the base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                            lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def make_school(path: Path, n_children: int = 12, *, users: bool = True) -> list[str]:
    """A school archive with synthetic children and the test users of every role."""
    from guanai.archive.store import Archive, init_archive
    from guanai.care.synth import synth_children

    init_archive(path, school_code="3413220001", school_name=SCHOOL, passphrase=PASS)
    ids = []
    with Archive.open(path, user="admin", passphrase=PASS, write=True) as arc:
        if users:
            for role, (name, pw) in USERS.items():
                arc.add_user(name, role, pw)
        with arc.transaction():
            for r in synth_children(n_children, seed=3):
                ids.append(arc.add_child(r.model_copy(update={"school": SCHOOL})))
    return ids


def login(client: Any, base: str, user: str = "admin", passphrase: str = PASS) -> str:
    """Log an httpx client in; returns the session's CSRF token."""
    r = client.get(base + "/login")
    pre = client.cookies.get("guanai_pre")
    r = client.post(base + "/login", data={"user": user, "passphrase": passphrase},
                    headers={"X-CSRF-Token": pre, "HX-Request": "true"})
    assert r.status_code == 204, r.text
    return csrf_of(client.get(base + "/").text)


def csrf_of(html: str) -> str:
    m = re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert m, "page carries no CSRF token"
    return m.group(1)


def require_browser() -> None:
    """Skip without chromium, unless GUANAI_REQUIRE_BROWSER=1 (CI), where that is a failure."""
    if os.path.exists(CHROMIUM) and shutil.which("chromium"):
        try:
            import playwright  # noqa: F401
        except ImportError:
            pass
        else:
            return
    if os.environ.get("GUANAI_REQUIRE_BROWSER") == "1":
        pytest.fail("GUANAI_REQUIRE_BROWSER=1 but chromium (/usr/bin/chromium) or playwright is missing")
    pytest.skip("chromium 或 playwright 未安装；浏览器测试跳过")
