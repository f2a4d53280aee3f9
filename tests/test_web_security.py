"""Security of the web UI, over HTTP against a real local server (no browser needed).

CSRF, session fixation, logged-out access, idle timeout, path traversal, upload limits, XSS in
typed fields, host / client restrictions, rate-limited and audited logins, roles refused
server-side, the `guanai serve` command's refusal of non-local addresses.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from web_helpers import PASS, USERS, csrf_of, login, make_school, running

MAX_UPLOAD = 1024 * 1024
XSS = ['<script>alert("x1")</script>', '"><img src=x onerror=alert(2)>', "'-alert(3)-'", "【<b>粗</b>】",
       "{{7*7}}", "javascript:alert(4)"]


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("web-sec") / "arc"
    return path, make_school(path, 6)


@pytest.fixture(scope="module")
def base(school: tuple[Path, list[str]]) -> Iterator[str]:
    from guanai.web.app import create_app

    with running(create_app(school[0], max_upload=MAX_UPLOAD)) as url:
        yield url


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=False, timeout=60) as c:
        yield c


def hx(token: str) -> dict[str, str]:
    return {"X-CSRF-Token": token, "HX-Request": "true"}


GET_PAGES = ["/", "/home/panels", "/children", "/children/new", "/docs", "/docs/new?kind=child-card", "/batch", "/search?q=张",
             "/transfer", "/verify", "/users", "/account", "/batch/roster-template.xlsx",
             "/docs/template/child-card.xlsx"]


def test_logged_out_reaches_nothing(base: str, client: httpx.Client, school: tuple[Path, list[str]]) -> None:
    cid = school[1][0]
    for url in [*GET_PAGES, f"/children/{cid}", f"/children/{cid}/edit", "/docs/" + "0" * 32 + "/download",
                "/docs/" + "0" * 32 + "/inline", "/jobs/" + "a" * 32, "/files/" + "a" * 32 + "/backup"]:
        r = client.get(base + url)
        assert r.status_code in (303, 401), (url, r.status_code)
        assert "/login" in r.headers.get("location", "/login"), url
        assert cid not in r.text and "儿童" not in r.text.replace("请先登录", "")
    for url in ["/children/new", "/batch/roster", "/logout", "/users/add", "/verify/run", "/backup",
                "/transfer/export", "/search/reindex"]:
        r = client.post(base + url, headers={"X-CSRF-Token": "x"}, data={"name": "x"})
        assert r.status_code in (303, 401, 403), (url, r.status_code)
    # a made-up or tampered session cookie is no session
    client.cookies.set("guanai_sid", "forged-session-id.signature")
    assert client.get(base + "/").status_code == 303


def test_csrf_refused(base: str, client: httpx.Client) -> None:
    token = login(client, base)
    data = {"姓名": "测试", "学籍号": "G11010519491231002X", "学校": "某校", "年级": "一年级"}
    for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "wrong" + token}, {"X-CSRF-Token": token[:-1]}):
        r = client.post(base + "/children/new", data=data, headers=headers)
        assert r.status_code == 403, headers
        assert "CSRF" in r.text
    # another session's valid token does not work here either
    with httpx.Client(timeout=60) as other:
        other_token = login(other, base)
    assert client.post(base + "/children/new", data=data, headers={"X-CSRF-Token": other_token}).status_code == 403
    # nothing was stored
    assert "G11010519491231002X" not in client.get(base + "/children?status=").text
    # the login form itself needs the pre-login token bound to its cookie
    with httpx.Client(timeout=60) as fresh:
        fresh.get(base + "/login")
        r = fresh.post(base + "/login", data={"user": "admin", "passphrase": PASS}, headers={"X-CSRF-Token": "x"})
        assert r.status_code == 403
        assert "guanai_sid" not in r.headers.get("set-cookie", "")


def test_session_fixation_and_logout(base: str, client: httpx.Client) -> None:
    # an id planted before login is never adopted
    client.cookies.set("guanai_sid", "planted", domain="127.0.0.1")
    token = login(client, base)
    first = client.cookies.get("guanai_sid")
    assert first and first != "planted"
    # logging in again (e.g. on a shared PC) issues a new id; the old one is dead
    login(client, base)
    second = client.cookies.get("guanai_sid")
    assert second != first
    with httpx.Client(timeout=60) as thief:
        thief.cookies.set("guanai_sid", first)
        assert thief.get(base + "/", follow_redirects=False).status_code == 303
    token = csrf_of(client.get(base + "/").text)
    r = client.post(base + "/logout", headers=hx(token))
    assert r.status_code == 204 and r.headers["hx-redirect"] == "/login"
    with httpx.Client(timeout=60) as replay:
        replay.cookies.set("guanai_sid", second)
        assert replay.get(base + "/children").status_code == 303


def test_cookie_flags_and_security_headers(base: str, client: httpx.Client) -> None:
    client.get(base + "/login")
    pre = client.cookies.get("guanai_pre")
    r = client.post(base + "/login", data={"user": "admin", "passphrase": PASS}, headers=hx(pre or ""))
    cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("guanai_sid=")][0]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get(base + "/children")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text.replace('<script src="/static/htmx.min.js" defer></script>', "").replace(
        '<script src="/static/app.js" defer></script>', "")


def test_path_traversal_in_downloads_and_uploads(base: str, client: httpx.Client, tmp_path: Path) -> None:
    token = login(client, base)
    for url in ["/docs/..%2F..%2F..%2Fetc%2Fpasswd/download", "/docs/%2e%2e/%2e%2e/etc/passwd/download",
                "/docs/....//....//etc/passwd/download", "/files/" + "a" * 32 + "/..%2F..%2Fetc%2Fpasswd",
                "/static/..%2F..%2F..%2Fetc%2Fpasswd", "/static/../app.py", "/docs/template/..%2F..%2Fetc%2Fpasswd.xlsx"]:
        r = client.get(base + url)
        assert r.status_code in (400, 404), (url, r.status_code)
        assert "root:" not in r.text and "import" not in r.text
    # an uploaded file name with directories is reduced to its last part inside the spool
    target = Path("/tmp/guanai-web-traversal-probe.gtp")
    target.unlink(missing_ok=True)
    r = client.post(base + "/transfer/inbox", headers=hx(token),
                    files={"file": ("../../../../tmp/guanai-web-traversal-probe.gtp", b"GTP" + b"x" * 100)})
    assert r.status_code in (400, 403, 409, 422)
    assert not target.exists()


def test_oversize_uploads_refused(base: str, client: httpx.Client) -> None:
    token = login(client, base)
    big = b"a,b\n" * (MAX_UPLOAD // 2)
    r = client.post(base + "/batch/roster", headers=hx(token), files={"file": ("花名册.csv", big)})
    assert r.status_code == 413
    assert "过大" in r.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        boundary = b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n"
        yield boundary
        for _ in range(40):
            yield b"x" * 65536
        yield b"\r\n--xyz--\r\n"

    r = client.post(base + "/batch/roster", content=chunks(),
                    headers={**hx(token), "Content-Type": "multipart/form-data; boundary=xyz"})
    assert r.status_code == 413
    # the server is still fine afterwards
    assert client.get(base + "/batch").status_code == 200


def test_xss_in_typed_fields_rendered_inert(base: str, client: httpx.Client, school: tuple[Path, list[str]]) -> None:
    token = login(client, base)
    form = {"姓名": "小明" + XSS[0], "学籍号": "G34052419800101001X", "学校": XSS[1], "年级": "六年级",
            "班级": XSS[2], "现居住地": XSS[3], "村(居)委会": XSS[4], "帮扶教师": "王" + XSS[1][:20],
            "备注": "\n".join(XSS), "救助帮扶": XSS[5], "父亲.状况": "外出务工", "父亲.务工地": XSS[0],
            "母亲.状况": "外出务工"}
    r = client.post(base + "/children/new", data=form, headers=hx(token))
    assert r.status_code == 204, r.text  # stored as typed: the payloads are valid text
    if True:
        child_url = r.headers["hx-redirect"]
        body = client.get(base + child_url).text
        body += client.get(base + child_url + "/edit").text
        body += client.get(base + "/children?status=").text
        body += client.get(base + "/").text
        body += client.get(base + "/home/panels").text
        body += client.get(base + "/search", params={"q": "小明"}).text
        # a document form with the payloads in free text, rendered back on its pages
        cid = child_url.rsplit("/", 1)[1]
        body += client.get(base + f"/docs/new?kind=child-card&child={cid}").text
        r = client.post(base + "/docs/new", headers=hx(token),
                        data={"_kind": "child-card", "_child": cid, "需求评估": XSS[0] + XSS[1],
                              "帮扶教师": "王" + XSS[1][:20], "跟踪记录.0.日期": "2026-09-01",
                              "跟踪记录.0.方面": "心理疏导", "跟踪记录.0.内容": XSS[3]})
        assert r.status_code == 204, r.text
        body += r.text
        if r.status_code == 204:
            job_url = r.headers["hx-redirect"]
            for _ in range(200):
                page = client.get(base + job_url).text
                if 'data-state="running"' not in page:
                    break
                time.sleep(0.1)
            assert 'data-state="done"' in page, page
            body += page
    for payload in XSS[:4]:
        assert payload not in body, payload
    assert "<script>alert" not in body and "<img src=x" not in body and "<b>粗</b>" not in body
    assert "&lt;script&gt;" in body
    assert "{{7*7}}" in body  # data is never evaluated as a template
    # a search query is echoed inert as well
    r = client.get(base + "/search", params={"q": XSS[0]})
    assert XSS[0] not in r.text


def test_inline_validation_names_the_field(base: str, client: httpx.Client) -> None:
    token = login(client, base)
    r = client.post(base + "/children/new", headers=hx(token),
                    data={"姓名": "张三", "学籍号": "G12345", "学校": "某校", "年级": "一年级", "身体状况.状况": "残疾"})
    assert r.status_code == 422
    errors = dict(re.findall(r'<div class="field has-error[^"]*">\s*<label for="f-([^"]+)">.*?'
                             r'<div class="field-error">([^<]+)</div>', r.text, re.S))
    assert "学籍号" in errors, errors
    assert "身体状况" in r.text and "残疾类别" in r.text


def test_hosts_and_clients_refused_unless_allowed(school: tuple[Path, list[str]], base: str) -> None:
    import asyncio

    from guanai.web.app import create_app

    r = httpx.get(base + "/login", headers={"Host": "evil.example"})
    assert r.status_code == 421
    r = httpx.get(base + "/login", headers={"Host": "192.168.1.10:8000"})
    assert r.status_code == 421

    async def call(app: Any, client: tuple[str, int], host: str) -> int:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as c:
            return (await c.get("/login")).status_code

    local = create_app(school[0])
    lan = create_app(school[0], allow_lan=True, host_names={"192.168.1.10"})
    assert asyncio.run(call(local, ("192.168.1.23", 5000), "127.0.0.1")) == 403
    assert asyncio.run(call(local, ("127.0.0.1", 5000), "127.0.0.1")) == 200
    assert asyncio.run(call(lan, ("192.168.1.23", 5000), "192.168.1.10")) == 200
    assert asyncio.run(call(lan, ("192.168.1.23", 5000), "evil.example")) == 421


def test_serve_command_refuses_lan_without_flag(school: tuple[Path, list[str]]) -> None:
    from guanai.cli.main import cli

    runner = CliRunner()
    r = runner.invoke(cli, ["--archive", str(school[0]), "serve", "--host", "0.0.0.0"])
    assert r.exit_code == 2
    assert "--allow-lan" in r.output and "Traceback" not in r.output
    r = runner.invoke(cli, ["--archive", str(school[0].parent / "nowhere"), "serve", "--port", "8123"])
    assert r.exit_code == 9 and "找不到档案库" in r.output
    r = runner.invoke(cli, ["serve", "--help"])
    assert r.exit_code == 0 and "示例" in r.output and "--allow-lan" in r.output
    r = runner.invoke(cli, ["--help"])
    assert "serve" in r.output


def test_login_rate_limited_and_audited(school: tuple[Path, list[str]]) -> None:
    from guanai.archive.audit import walk
    from guanai.archive.store import Archive
    from guanai.web.app import create_app
    from guanai.web.state import RateLimiter

    app = create_app(school[0], rate_limiter=RateLimiter(max_failures=3, window=60))
    with running(app) as url, httpx.Client(timeout=60) as c:
        c.get(url + "/login")
        pre = c.cookies.get("guanai_pre") or ""
        statuses = []
        for _ in range(3):
            r = c.post(url + "/login", data={"user": "admin", "passphrase": "wrong passphrase"}, headers=hx(pre))
            statuses.append(r.status_code)
            assert "用户名或口令错误" in r.text
        r = c.post(url + "/login", data={"user": "nobody", "passphrase": "wrong passphrase"}, headers=hx(pre))
        assert "用户名或口令错误" in r.text  # the same message: no user enumeration
        r = c.post(url + "/login", data={"user": "admin", "passphrase": PASS}, headers=hx(pre))
        assert statuses == [401, 401, 401] and r.status_code == 429 and "过多" in r.text
    with Archive.open(school[0], user="admin", passphrase=PASS) as arc:
        entries, problems = walk(arc)
    assert not problems
    assert sum(1 for e in entries if e.action == "auth.fail") >= 3


def test_idle_timeout_drops_the_key(school: tuple[Path, list[str]]) -> None:
    from guanai.web.app import create_app

    app = create_app(school[0], idle_seconds=0.6)
    with running(app) as url, httpx.Client(timeout=60) as c:
        login(c, url)
        sessions = app.state.sessions
        assert len(sessions) == 1
        arc = next(iter(sessions._sessions.values())).arc
        assert sessions.shared._data  # the home page decrypted the children listing
        time.sleep(1.5)  # the sweeper closes it without any request
        assert len(sessions) == 0
        assert not sessions.shared._data  # no decrypted listing outlives the last session
        assert arc._master == b"" and arc._subkeys == {}
        assert c.get(url + "/").status_code == 303


def test_roles_refused_server_side(base: str, school: tuple[Path, list[str]]) -> None:
    name, pw = USERS["inspector"]
    with httpx.Client(timeout=60) as c:
        token = login(c, base, name, pw)
        home = c.get(base + "/").text
        for link in ('href="/batch"', 'href="/transfer"', 'href="/users"'):
            assert link not in home
        assert 'href="/verify"' in home
        for url in ["/children/new", "/batch", "/transfer", "/users", f"/children/{school[1][0]}/edit"]:
            assert c.get(base + url).status_code == 403, url
        for url, data in [("/children/new", {"姓名": "x"}), ("/users/add", {"name": "x", "role": "admin"}),
                          ("/transfer/export", {"to": "1", "refs": "x"}), ("/search/reindex", {}),
                          (f"/children/{school[1][0]}/edit", {"姓名": "改名"})]:
            assert c.post(base + url, data=data, headers=hx(token)).status_code == 403, url
        r = c.post(base + "/batch/roster", headers=hx(token), files={"file": ("a.csv", b"x")})
        assert r.status_code == 403
        assert c.post(base + "/verify/run", headers=hx(token)).status_code == 204  # inspectors may verify
    # a job belongs to its user: the archivist cannot watch the secretary's
    sname, spw = USERS["secretary"]
    aname, apw = USERS["archivist"]
    with httpx.Client(timeout=60) as sec, httpx.Client(timeout=60) as arch:
        t = login(sec, base, sname, spw)
        job = sec.post(base + "/backup", headers=hx(t)).headers["hx-redirect"]
        assert sec.get(base + job).status_code == 200
        login(arch, base, aname, apw)
        assert arch.get(base + job).status_code == 404
        assert arch.get(base + job.replace("/jobs/", "/files/") + "/backup").status_code == 404


def test_actions_audited_with_the_user(base: str, school: tuple[Path, list[str]]) -> None:
    from guanai.archive.audit import walk
    from guanai.archive.store import Archive

    name, pw = USERS["secretary"]
    with httpx.Client(timeout=60) as c:
        token = login(c, base, name, pw)
        r = c.post(base + "/children/new", headers=hx(token),
                   data={"姓名": "审计测试", "学籍号": "G440524188001010014", "学校": "某校", "年级": "一年级",
                         "父亲.状况": "外出务工", "母亲.状况": "外出务工"})
        assert r.status_code == 204, r.text
        cid = r.headers["hx-redirect"].rsplit("/", 1)[1]
        assert c.get(base + f"/children/{cid}").status_code == 200
    with Archive.open(school[0], user="admin", passphrase=PASS) as arc:
        entries, _ = walk(arc)
    mine = [(e.action, e.target) for e in entries if e.actor == name]
    assert ("web.login", None) in mine
    assert ("child.add", cid) in mine and ("child.show", cid) in mine


def test_guanai_serve_starts_and_stops(school: tuple[Path, list[str]]) -> None:
    import shutil as _shutil
    import signal
    import subprocess
    import sys

    from web_helpers import free_port

    port = free_port()
    exe = _shutil.which("guanai", path=str(Path(sys.executable).parent)) or "guanai"
    proc = subprocess.Popen([exe, "--archive", str(school[0]), "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 30
        status = None
        while time.time() < deadline:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert status == 200
        r = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=False)
        assert r.status_code == 303 and "server" not in {k.lower() for k in r.headers}
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out and "Traceback" not in out
