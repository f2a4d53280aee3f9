"""The browser UI of the school office (``guanai serve``): FastAPI + Jinja2 templates + htmx.

Every page calls the library through :mod:`guanai.web.services`; permissions are the library's
(``Archive.require``) and are also checked here before a page is shown, so that menus and
buttons show only what a role may do. State-changing requests need the session's CSRF token in
the ``X-CSRF-Token`` header (htmx sends it from ``hx-headers`` on <body>).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import ipaddress
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, Signer
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from guanai.base.errors import GuanaiError, InputError, NotFoundError, PermissionDenied
from guanai.web import forms as wf
from guanai.web import services as svc
from guanai.web.state import Job, JobRunner, RateLimiter, Session, SessionStore, make_spool, remove_spool

HERE = Path(__file__).parent
COOKIE = "guanai_sid"
PRE_COOKIE = "guanai_pre"
CSRF_HEADER = "x-csrf-token"
MAX_UPLOAD = 100 * 1024 * 1024
PAGE_SIZE = 50

NAV = [("/", "首页", "read"), ("/children", "儿童", "read"), ("/docs", "文书", "read"),
       ("/batch", "批量", "write"), ("/search", "检索", "read"), ("/transfer", "转接", "transfer"),
       ("/verify", "检测与审计", "verify"), ("/users", "用户", "admin")]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'self'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cache-control", b"no-store"),
]

STATUS_FOR_EXIT = {2: 400, 3: 404, 4: 401, 5: 403, 6: 409, 7: 503, 8: 409, 9: 404, 10: 502, 11: 409}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LoginRequired(Exception):
    pass


class CsrfRefused(Exception):
    pass


class BodyTooLarge(Exception):
    """A request body larger than the upload limit (raised while it is being read)."""


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host in ("localhost",)


class Guard:
    """ASGI middleware: Host allow-list, client address check, body size limit, security headers."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: set[str], allow_lan: bool, max_body: int) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.allow_lan = allow_lan
        self.max_body = max_body

    async def _plain(self, send: Send, status: int, text: str) -> None:
        body = text.encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        client = (scope.get("client") or ("", 0))[0]
        if hostname.lower() not in self.allowed_hosts:
            await self._plain(send, 421, "拒绝：主机名不在允许范围内（仅限本机访问）。")
            return
        if not self.allow_lan and client and not is_loopback(client):
            await self._plain(send, 403, "拒绝：本服务只接受本机访问（启动时未加 --allow-lan）。")
            return
        try:
            length = int(headers.get("content-length", "0") or 0)
        except ValueError:
            length = 0
        if length > self.max_body:
            await self._plain(send, 413, f"上传内容过大（上限 {self.max_body // 1024 // 1024} MB）。")
            return
        seen = 0
        too_big = False

        async def limited() -> MutableMapping[str, Any]:
            nonlocal seen, too_big
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    too_big = True
                    raise BodyTooLarge()
            return message

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, limited, with_headers)
        except BodyTooLarge:
            if too_big:
                await self._plain(send, 413, f"上传内容过大（上限 {self.max_body // 1024 // 1024} MB）。")
                return
            raise


def _fmt_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


_NUMERALS = "一二三四五六七八九十"


def grade_key(grade: str) -> tuple[int, str]:
    """一年级 … 九年级 in school order (unicode order would put 九 before 三)."""
    g = grade or ""
    if len(g) >= 3 and g.endswith("年级") and g[0] in _NUMERALS:
        return (_NUMERALS.index(g[0]), g)
    return (99, g)


def _localtime(value: str | None, seconds: bool = False) -> str:
    """An ISO time stored in UTC, shown in the server's local time (the school's clock)."""
    if not value:
        return ""
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if t.tzinfo is not None:
        t = t.astimezone()
    return t.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _highlight(text: str) -> Markup:
    """A search snippet (terms marked 【…】 by the library) with the marks as <mark>, all else escaped."""
    safe = str(escape(text or ""))
    return Markup(safe.replace("【", "<mark>").replace("】", "</mark>"))


def create_app(archive_dir: Path | str, *, allow_lan: bool = False, host_names: set[str] | None = None,
               idle_seconds: float = 15 * 60, max_upload: int = MAX_UPLOAD,
               rate_limiter: RateLimiter | None = None) -> FastAPI:
    archive_path = Path(archive_dir)
    sessions = SessionStore(idle_seconds)
    limiter = rate_limiter or RateLimiter()
    spool = make_spool()
    jobs = JobRunner(spool)
    stop = threading.Event()

    def sweeper() -> None:
        # idle sessions are closed (and their keys dropped) even when no request comes in
        while not stop.wait(min(30.0, max(idle_seconds / 4, 0.2))):
            sessions.sweep()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=sweeper, name="guanai-session-sweeper", daemon=True).start()
        try:
            yield
        finally:
            stop.set()
            jobs.wait_all(10)
            sessions.close_all()
            remove_spool(spool)

    app = FastAPI(title="关爱档案", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    signer = Signer(secrets.token_bytes(32), salt="guanai-session")
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["size"] = _fmt_size
    templates.env.filters["highlight"] = _highlight
    templates.env.filters["localtime"] = _localtime
    templates.env.filters["action_name"] = svc.action_name
    templates.env.globals["role_names"] = svc.ROLE_NAMES
    templates.env.globals["count_names"] = svc.COUNT_NAMES
    templates.env.globals["verify_names"] = svc.verify_category_names()
    app.state.sessions = sessions
    app.state.jobs = jobs
    app.state.spool = spool
    app.state.archive_path = archive_path
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # ---- plumbing ---------------------------------------------------------------------------

    def session_of(request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            sid = signer.unsign(raw).decode()
        except BadSignature:
            return None
        return sessions.get(sid)

    def need(request: Request, perm: str = "read", *, post: bool = False) -> Session:
        s = session_of(request)
        if s is None:
            raise LoginRequired()
        if post:
            token = request.headers.get(CSRF_HEADER, "")
            if not token or not hmac.compare_digest(token, s.csrf):
                raise CsrfRefused()
        if not s.can(perm):
            s.arc.require(perm)  # raises PermissionDenied with the library's message
        return s

    def render(request: Request, name: str, ctx: dict[str, Any], status: int = 200,
               session: Session | None = None) -> HTMLResponse:
        s = session if session is not None else session_of(request)
        base = {"request": request, "session": s, "today": dt.date.today(),
                "nav": [(p, label) for p, label, perm in NAV if s is not None and s.can(perm)],
                "school": s.arc.info.school_name if s is not None else "",
                "path": request.url.path, "can": (lambda perm: s is not None and s.can(perm))}
        return templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status)

    def redirect(request: Request, url: str) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        if request.method != "GET" or request.url.path.startswith(("/docs/", "/files/")) and "download" in str(
                request.url.path):
            return Response("请先登录。", status_code=401, media_type="text/plain; charset=utf-8")
        nxt = request.url.path if request.url.path.startswith("/") and not request.url.path.startswith("//") else "/"
        return RedirectResponse("/login?" + urlencode({"next": nxt}), status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return Response("拒绝：缺少或错误的安全令牌（CSRF）。请刷新页面后重试。", status_code=403,
                        media_type="text/plain; charset=utf-8")

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        return Response(f"上传内容过大（上限 {max_upload // 1024 // 1024} MB）。", status_code=413,
                        media_type="text/plain; charset=utf-8")

    @app.exception_handler(GuanaiError)
    async def _guanai_error(request: Request, exc: GuanaiError) -> Response:
        status = STATUS_FOR_EXIT.get(exc.exit_code, 500)
        if isinstance(exc, PermissionDenied):
            status = 403
        if request.headers.get("hx-request"):
            return render(request, "_error.html", {"message": exc.message, "hint": exc.hint}, status)
        return render(request, "error.html", {"message": exc.message, "hint": exc.hint}, status)

    @app.exception_handler(404)
    async def _not_found(request: Request, exc: Exception) -> Response:
        return render(request, "error.html", {"message": "找不到该页面。", "hint": None}, 404)

    def rows_of(s: Session) -> list[dict[str, Any]]:
        """The children table (decrypted once per archive generation, shared by the sessions)."""
        today = dt.date.today()
        key = (s.arc.info.archive_id, s.arc.generation, today)
        rows: list[dict[str, Any]] = sessions.shared.get("rows", key, lambda: svc.children_rows(s.arc, today))
        return rows

    def sorted_rows(s: Session, key: str) -> list[dict[str, Any]]:
        today = dt.date.today()
        ckey = (s.arc.info.archive_id, s.arc.generation, today)
        rows = rows_of(s)

        def order(r: dict[str, Any]) -> tuple[Any, ...]:
            first = grade_key(r["grade"]) if key in ("grade", "class_name") else r[key]
            return (first, grade_key(r["grade"]), r["class_name"], r["name"])

        out: list[dict[str, Any]] = sessions.shared.get(f"sorted:{key}", ckey, lambda: sorted(rows, key=order))
        return out

    def facets_of(s: Session) -> dict[str, Any]:
        """Values offered by the filters (a 帮扶教师 list only when it is short enough for a menu)."""
        today = dt.date.today()
        ckey = (s.arc.info.archive_id, s.arc.generation, today)

        def compute() -> dict[str, Any]:
            rows = rows_of(s)
            mentors = sorted({r["mentor"] for r in rows if r["mentor"]})
            return {"grades": sorted({r["grade"] for r in rows if r["grade"]}, key=grade_key),
                    "classes": sorted({r["class_name"] for r in rows if r["class_name"]}),
                    "mentors": mentors if len(mentors) <= 300 else None}

        facets: dict[str, Any] = sessions.shared.get("facets", ckey, compute)
        return facets

    async def read_form(request: Request) -> FormData:
        return await request.form(max_files=4, max_fields=2000, max_part_size=max_upload)

    async def upload_bytes(form: FormData, name: str, limit: int = max_upload) -> tuple[bytes, str]:
        f = form.get(name)
        if not isinstance(f, UploadFile) or not f.filename:
            raise InputError("请选择要上传的文件。")
        try:
            data = await f.read(limit + 1)
        finally:
            await f.close()
        if len(data) > limit:
            raise InputError(f"文件 {f.filename} 过大（上限 {limit // 1024 // 1024} MB）。")
        from guanai.archive.store import safe_filename

        return data, safe_filename(f.filename)

    def start_job(s: Session, title: str, template: str, work: Callable[[Any, Job], Any]) -> Job:
        job = jobs.start(s, title, template, work)
        return job

    # ---- login ------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        pre = secrets.token_urlsafe(24)
        resp = render(request, "login.html", {"pre": pre, "next": next if next.startswith("/") and
                                               not next.startswith("//") else "/"}, session=None)
        resp.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", max_age=3600)
        return resp

    @app.post("/login")
    async def login(request: Request) -> Response:
        pre_cookie = request.cookies.get(PRE_COOKIE, "")
        token = request.headers.get(CSRF_HEADER, "")
        if not pre_cookie or not token or not hmac.compare_digest(pre_cookie, token):
            raise CsrfRefused()
        form = await read_form(request)
        user = str(form.get("user") or "").strip()
        passphrase = str(form.get("passphrase") or "")
        nxt = str(form.get("next") or "/")
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        client = request.client.host if request.client else "?"
        wait = limiter.blocked(client, user)
        if wait > 0:
            return render(request, "_login_error.html",
                          {"message": f"登录失败次数过多，请 {int(wait) + 1} 秒后再试。"}, 429, session=None)
        try:
            arc = await run_in_threadpool(svc.open_archive, archive_path, user, passphrase)
        except GuanaiError as err:
            if err.exit_code == 4 or isinstance(err, InputError):
                limiter.failed(client, user)
                # one message for unknown user and wrong passphrase (no user enumeration)
                return render(request, "_login_error.html", {"message": "用户名或口令错误。"}, 401, session=None)
            return render(request, "_login_error.html", {"message": err.message, "hint": err.hint},
                          STATUS_FOR_EXIT.get(err.exit_code, 500), session=None)
        limiter.succeeded(client, user)
        old = session_of(request)
        if old is not None:
            sessions.drop(old.sid)
        s = sessions.create(arc)  # always a fresh id: no session fixation

        def audited() -> None:
            with s.lock:
                arc.audit("web.login", None, {"client": client})

        await run_in_threadpool(audited)
        resp = Response(status_code=204, headers={"HX-Redirect": nxt})
        resp.set_cookie(COOKIE, signer.sign(s.sid).decode(), httponly=True, samesite="strict", path="/")
        resp.delete_cookie(PRE_COOKIE)
        return resp

    @app.post("/logout")
    def logout(request: Request) -> Response:
        s = need(request, post=True)
        with s.lock:
            s.arc.audit("web.logout", None, {"reason": "logout"})
        sessions.drop(s.sid)
        resp = redirect(request, "/login")
        resp.delete_cookie(COOKIE, path="/")
        return resp

    # ---- 首页 -------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        s = need(request)
        with s.lock:
            ov = svc.home_counts(rows_of(s), dt.date.today())
        return render(request, "home.html", {"ov": ov})

    @app.get("/home/panels", response_class=HTMLResponse)
    def home_panels(request: Request) -> Response:
        """待办 and figures: the workflow reads every record, so the page shows first and these follow."""
        s = need(request)
        today = dt.date.today()
        with s.lock:
            key = (s.arc.info.archive_id, s.arc.generation, today)
            ov = sessions.shared.get("overview", key, lambda: svc.overview(s.arc, rows_of(s), today))
        return render(request, "_home_panels.html", {"ov": ov, "jobs": jobs.list_for(s.user)[:5]}, session=s)

    # ---- 儿童 -------------------------------------------------------------------------------

    SORTS = {"name": "name", "student_id": "student_id", "grade": "grade", "class_name": "class_name",
             "status": "status", "mentor": "mentor", "updated_at": "updated_at"}

    @app.get("/children", response_class=HTMLResponse)
    def children(request: Request, q: str = "", grade: str = "", class_name: str = "", category: str = "",
                 status: str = "在册", mentor: str = "", sort: str = "grade", dir: str = "asc",
                 page: int = 1) -> Response:
        s = need(request)
        key = SORTS.get(sort, "grade")
        with s.lock:
            facets = facets_of(s)
            sel = sorted_rows(s, key)  # shared and cached: filtering keeps the order
        grades, classes, mentors = facets["grades"], facets["classes"], facets["mentors"]
        if status:
            sel = [r for r in sel if r["status"] == status]
        if grade:
            sel = [r for r in sel if r["grade"] == grade]
        if class_name:
            sel = [r for r in sel if r["class_name"] == class_name]
        if category == "无":
            sel = [r for r in sel if not r["categories"]]
        elif category:
            sel = [r for r in sel if category in r["categories"]]
        if mentor.strip():
            sel = [r for r in sel if r["mentor"] == mentor.strip()]
        if q.strip():
            needle = q.strip().upper()
            sel = [r for r in sel if needle in r["name"].upper() or needle in r["student_id"]]
        if dir == "desc":
            sel = sel[::-1]
        pages = max(1, (len(sel) + PAGE_SIZE - 1) // PAGE_SIZE)
        page = min(max(1, page), pages)
        params = {"q": q, "grade": grade, "class_name": class_name, "category": category, "status": status,
                  "mentor": mentor, "sort": sort, "dir": dir}
        ctx = {"rows": sel[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], "count": len(sel), "page": page,
               "pages": pages, "params": params, "grades": grades, "classes": classes, "mentors": mentors,
               "qs": lambda **kw: urlencode({**params, **kw})}
        if request.headers.get("hx-target") == "children-table":
            return render(request, "_children_table.html", ctx, session=s)
        return render(request, "children.html", ctx, session=s)

    @app.get("/children/new", response_class=HTMLResponse)
    def child_new(request: Request) -> Response:
        s = need(request, "write")
        return render(request, "child_form.html", {"sections": wf.CHILD_SECTIONS, "values":
                                                   {"学校": s.arc.info.school_name, "身体状况.状况": "未登记"},
                                                   "errors": {}, "general": [], "child_id": None})

    def _save_child(request: Request, s: Session, child_id: str | None, form: FormData) -> Response:
        from guanai.care.model import RecordError

        data = wf.child_data(form)
        try:
            with s.lock:
                cid = svc.save_child(s.arc, child_id, data)
        except RecordError as err:
            per, rest = wf.field_errors(err.messages, set(wf.CHILD_FIELDS) | {p.split(".")[0]
                                                                              for p in wf.CHILD_FIELDS})
            values = {p: (form.getlist(p) if f.kind == "multi" else str(form.get(p) or ""))
                      for p, f in wf.CHILD_FIELDS.items()}
            return render(request, "_child_form_body.html",
                          {"sections": wf.CHILD_SECTIONS, "values": values, "errors": per, "general": rest,
                           "child_id": child_id}, 422, session=s)
        return redirect(request, f"/children/{cid}")

    @app.post("/children/new")
    async def child_create(request: Request) -> Response:
        s = need(request, "write", post=True)
        form = await read_form(request)
        return await run_in_threadpool(_save_child, request, s, None, form)

    @app.get("/children/{cid}", response_class=HTMLResponse)
    def child_page(request: Request, cid: str) -> Response:
        s = need(request)
        with s.lock:
            d = svc.child_detail(s.arc, cid, dt.date.today())
        return render(request, "child.html", d, session=s)

    @app.get("/children/{cid}/photo.jpg")
    def child_photo(request: Request, cid: str) -> Response:
        s = need(request)
        with s.lock:
            data = svc.child_photo(s.arc, cid)
        if data is None:
            return Response("没有照片。", status_code=404, media_type="text/plain; charset=utf-8")
        return Response(data, media_type="image/jpeg")

    @app.post("/children/{cid}/photo", response_class=HTMLResponse)
    async def child_photo_upload(request: Request, cid: str) -> Response:
        from guanai.archive.photos import MAX_PHOTO_BYTES

        s = need(request, "write", post=True)
        form = await read_form(request)

        def panel(error: InputError | None = None) -> dict[str, Any]:
            with s.lock:
                ctx = svc.photo_panel(s.arc, cid)
            return {**ctx, "error": error}

        def store(raw: bytes, name: str) -> None:
            with s.lock:
                svc.set_child_photo(s.arc, cid, raw, name)

        try:  # a refused file comes back in the panel, with the form to try another one
            raw, name = await upload_bytes(form, "file", MAX_PHOTO_BYTES)
            await run_in_threadpool(store, raw, name)
        except InputError as err:
            return render(request, "_photo_panel.html", await run_in_threadpool(panel, err), 400, session=s)
        return render(request, "_photo_panel.html", await run_in_threadpool(panel), session=s)

    @app.post("/children/{cid}/photo/remove", response_class=HTMLResponse)
    def child_photo_remove(request: Request, cid: str) -> Response:
        s = need(request, "write", post=True)
        with s.lock:
            svc.remove_child_photo(s.arc, cid)
            ctx = svc.photo_panel(s.arc, cid)
        return render(request, "_photo_panel.html", ctx, session=s)

    @app.get("/children/{cid}/edit", response_class=HTMLResponse)
    def child_edit(request: Request, cid: str) -> Response:
        s = need(request, "write")
        with s.lock:
            entry = svc.child_entry(s.arc, cid)
        return render(request, "child_form.html", {"sections": wf.CHILD_SECTIONS,
                                                   "values": wf.child_values(entry.record.to_json_dict()),
                                                   "errors": {}, "general": [], "child_id": entry.id,
                                                   "entry": entry})

    @app.post("/children/{cid}/edit")
    async def child_update(request: Request, cid: str) -> Response:
        s = need(request, "write", post=True)
        form = await read_form(request)

        def go() -> Response:
            with s.lock:
                entry = svc.child_entry(s.arc, cid)
            return _save_child(request, s, entry.id, form)

        return await run_in_threadpool(go)

    # ---- 文书 -------------------------------------------------------------------------------

    @app.get("/docs", response_class=HTMLResponse)
    def docs(request: Request, kind: str = "") -> Response:
        s = need(request)
        with s.lock:
            recent = sorted(s.arc.list_documents(kind=kind or None), key=lambda d: d.created_at, reverse=True)[:100]
        return render(request, "docs.html", {"kinds": svc.kinds(), "recent": recent, "kind": kind})

    def _doc_form_ctx(s: Session, kind_id: str, child: str | None, values: dict[str, Any],
                      errors: dict[str, list[str]], general: list[str]) -> dict[str, Any]:
        k = svc.kind(kind_id)
        specs = svc.form_fields(kind_id)
        subs = {sp.alias: svc.subfields(kind_id, sp) for sp in specs if sp.kind == "rows"}
        long = {sp.alias for sp in specs if sp.kind == "text" and wf.is_long(k.model, sp.name)}
        child_entry = None
        if child:
            with s.lock:
                child_entry = svc.child_entry(s.arc, child)
        from guanai.generators.pdf import find_soffice

        try:
            find_soffice()
            pdf_ok = True
        except GuanaiError:
            pdf_ok = False
        return {"k": k, "specs": specs, "subs": subs, "long": long, "values": values, "errors": errors,
                "general": general, "child": child_entry, "pdf_ok": pdf_ok}

    @app.get("/docs/new", response_class=HTMLResponse)
    def doc_new(request: Request, kind: str = "child-card", child: str = "") -> Response:
        s = need(request, "write")
        with s.lock:
            pre = svc.prefill(s.arc, kind, child or None, dt.date.today())
        values = wf.doc_values(svc.form_fields(kind), pre)
        return render(request, "doc_form.html", _doc_form_ctx(s, kind, child or None, values, {}, []), session=s)

    @app.post("/docs/new")
    async def doc_generate(request: Request) -> Response:
        from guanai.generators.forms import FormError

        s = need(request, "write", post=True)
        form = await read_form(request)
        kind_id = str(form.get("_kind") or "")
        child = str(form.get("_child") or "") or None
        pdf = form.get("_pdf") == "1"
        sign = pdf and form.get("_sign") == "1"
        specs = svc.form_fields(kind_id)
        subs = {sp.alias: svc.subfields(kind_id, sp) for sp in specs if sp.kind == "rows"}
        data = wf.doc_data(specs, subs, form)

        def check() -> Response | None:
            try:
                if child:
                    with s.lock:
                        pre = svc.prefill(s.arc, kind_id, child, dt.date.today())
                    svc.check_form(kind_id, {**pre, **data})
                else:
                    svc.check_form(kind_id, data)
            except FormError as err:
                per, rest = wf.doc_errors(err.field_problems)
                values = wf.doc_values(specs, data)
                return render(request, "_doc_form_body.html", _doc_form_ctx(s, kind_id, child, values, per, rest),
                              422, session=s)
            return None

        refused = await run_in_threadpool(check)
        if refused is not None:
            return refused

        def work(arc: Any, job: Job) -> Any:
            job.total = 2 if pdf else 1
            job.stage = "生成文书"

            def tick(n: int) -> None:
                job.done += n
                job.stage = "转换 PDF" if job.done >= 1 and pdf else job.stage

            # the child's record fills what the form leaves empty; the form's own values win
            res = svc.generate(arc, kind_id, [data], child_ref=child, pdf=pdf, sign=sign, progress=tick)
            return res

        job = start_job(s, f"生成{svc.kind(kind_id).name}", "job_generate.html", work)
        return redirect(request, f"/jobs/{job.id}")

    @app.get("/docs/template/{kind_id}.xlsx")
    def doc_template(request: Request, kind_id: str) -> Response:
        need(request)
        k = svc.kind(kind_id)
        return _attachment(svc.form_template(kind_id), f"{k.name}-台账模板.xlsx",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @app.get("/docs/{doc_id}", response_class=HTMLResponse)
    def doc_page(request: Request, doc_id: str) -> Response:
        s = need(request)
        with s.lock:
            entry = svc.document(s.arc, doc_id)
            pdf = svc.pdf_of(s.arc, entry.id)
            child = s.arc.find_child(entry.child_id) if entry.child_id else None
        return render(request, "doc.html", {"d": entry, "pdf": pdf, "child": child})

    def _attachment(data: bytes, filename: str, mime: str, inline: bool = False) -> Response:
        disp = "inline" if inline else "attachment"
        ascii_name = "".join(c if c.isascii() and c.isalnum() or c in "._-" else "_" for c in filename) or "file"
        headers = {"Content-Disposition": f"{disp}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"}
        return Response(data, media_type=mime, headers=headers)

    @app.get("/docs/{doc_id}/download")
    def doc_download(request: Request, doc_id: str) -> Response:
        s = need(request, "export")
        with s.lock:
            entry, data = svc.document_bytes(s.arc, doc_id)
        return _attachment(data, entry.filename, entry.mime or "application/octet-stream")

    @app.get("/docs/{doc_id}/download-signed")
    def doc_download_signed(request: Request, doc_id: str) -> Response:
        """The stored PDF with the school's PAdES signature (as ``guanai doc get --sign``); a PDF that
        already carries one comes as stored. The signing key is made at first use: write roles only."""
        s = need(request, "write")
        with s.lock:
            entry, data = svc.document_bytes_signed(s.arc, doc_id)
        name = entry.filename if entry.filename.lower().endswith(".pdf") else entry.filename + ".pdf"
        return _attachment(data, name[:-4] + "-已签名.pdf", "application/pdf")

    @app.get("/docs/{doc_id}/inline")
    def doc_inline(request: Request, doc_id: str) -> Response:
        s = need(request, "export")
        with s.lock:
            entry, data = svc.document_bytes(s.arc, doc_id)
        if entry.mime != "application/pdf":
            raise InputError("只有 PDF 可在页面中预览。", "下载 .docx 后用 Word/WPS 打开。")
        resp = _attachment(data, entry.filename, "application/pdf", inline=True)
        # the browser's PDF viewer needs its own scripts: this response carries no CSP of ours
        resp.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
        return resp

    # ---- 批量 -------------------------------------------------------------------------------

    @app.get("/batch", response_class=HTMLResponse)
    def batch(request: Request) -> Response:
        need(request, "write")
        return render(request, "batch.html", {"kinds": svc.kinds()})

    @app.get("/batch/roster-template.xlsx")
    def roster_template(request: Request) -> Response:
        need(request)
        return _attachment(svc.roster_template(), "花名册模板.xlsx",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @app.post("/batch/roster", response_class=HTMLResponse)
    async def roster_upload(request: Request) -> Response:
        s = need(request, "write", post=True)
        form = await read_form(request)
        raw, name = await upload_bytes(form, "file")
        def preview() -> svc.RosterPreview:
            with s.lock:
                return svc.roster_preview(s.arc, raw, name)

        prev = await run_in_threadpool(preview)
        token = secrets.token_hex(16)
        s.uploads.clear()  # one pending upload per session
        s.uploads[token] = prev
        return render(request, "_roster_preview.html", {"p": prev, "token": token}, session=s)

    @app.post("/batch/roster/{token}/apply")
    def roster_apply(request: Request, token: str) -> Response:
        s = need(request, "write", post=True)
        prev = s.uploads.pop(token, None)
        if not isinstance(prev, svc.RosterPreview):
            raise NotFoundError("该花名册预览已失效。", "请重新上传花名册。")

        def work(arc: Any, job: Job) -> Any:
            job.total = len(prev.good)
            job.stage = "导入儿童记录"

            def tick(done: int, total: int) -> None:
                job.done, job.total = done, total

            ids = svc.roster_apply(arc, prev, tick)
            return {"ids": ids, "stored": len(ids), "problems": prev.problems, "source": prev.source,
                    "total": prev.total_rows}

        job = start_job(s, f"导入花名册 {prev.source}", "job_roster.html", work)
        return redirect(request, f"/jobs/{job.id}")

    @app.post("/batch/forms")
    async def forms_upload(request: Request) -> Response:
        s = need(request, "write", post=True)
        form = await read_form(request)
        kind_id = str(form.get("kind") or "")
        k = svc.kind(kind_id)
        pdf = form.get("pdf") == "1"
        raw, name = await upload_bytes(form, "file", 20 * 1024 * 1024)

        def work(arc: Any, job: Job) -> Any:
            path = jobs.workdir(job) / name
            path.write_bytes(raw)
            job.stage = "生成文书"

            def tick(n: int) -> None:
                job.done += n

            try:
                from guanai.generators.formsio import read_forms

                job.total = len(read_forms(path)) * (2 if pdf else 1)
            except GuanaiError:
                job.total = 0
            try:
                return svc.generate_file(arc, kind_id, path, pdf=pdf, progress=tick)
            finally:
                path.unlink(missing_ok=True)

        job = start_job(s, f"批量生成{k.name}（{name}）", "job_generate.html", work)
        return redirect(request, f"/jobs/{job.id}")

    # ---- jobs -------------------------------------------------------------------------------

    def job_of(s: Session, job_id: str) -> Job:
        job = jobs.get(job_id, s.user)
        if job is None:
            raise NotFoundError("找不到该任务（服务重启后任务记录不保留）。")
        return job

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, job_id: str) -> Response:
        s = need(request)
        return render(request, "job.html", {"job": job_of(s, job_id)})

    @app.get("/jobs/{job_id}/status", response_class=HTMLResponse)
    def job_status(request: Request, job_id: str) -> Response:
        s = need(request)
        job = job_of(s, job_id)
        resp = render(request, "_job_status.html", {"job": job})
        if job.state != "running":
            resp.status_code = 286  # htmx: stop polling
        return resp

    @app.get("/files/{job_id}/{key}")
    def job_file(request: Request, job_id: str, key: str) -> Response:
        s = need(request, "export")
        job = job_of(s, job_id)
        item = job.files.get(key)
        if item is None:
            raise NotFoundError("找不到该文件。")
        path, filename, mime = item
        with s.lock:
            s.arc.audit("web.download", job.id, {"file": filename})
        return _attachment(path.read_bytes(), filename, mime)

    # ---- 检索 -------------------------------------------------------------------------------

    @app.get("/search", response_class=HTMLResponse)
    def search_page(request: Request, q: str = "", kind: str = "", status: str = "", category: str = "",
                    date_from: str = "", date_to: str = "") -> Response:
        s = need(request)
        view = None
        error = None
        if q.strip():
            try:
                with s.lock:
                    view = svc.search(s.arc, q, kind=kind, status=status, category=category,
                                      date_from=date_from, date_to=date_to)
            except InputError as err:
                error = err
        ctx = {"q": q, "kind": kind, "status": status, "category": category, "date_from": date_from,
               "date_to": date_to, "view": view, "error": error, "kinds": svc.kinds()}
        if request.headers.get("hx-target") == "search-results":
            return render(request, "_search_results.html", ctx, session=s)
        return render(request, "search.html", ctx, session=s)

    @app.post("/search/reindex")
    def search_reindex(request: Request) -> Response:
        s = need(request, "write", post=True)

        def work(arc: Any, job: Job) -> Any:
            job.stage = "重建索引"
            return {"entries": svc.reindex(arc)}

        job = start_job(s, "重建全文索引", "job_reindex.html", work)
        return redirect(request, f"/jobs/{job.id}")

    # ---- 转接 -------------------------------------------------------------------------------

    @app.get("/transfer", response_class=HTMLResponse)
    def transfer(request: Request) -> Response:
        s = need(request, "transfer")
        with s.lock:
            listing = svc.transfers(s.arc)
            schools = svc.schools(s.arc)
            rows = rows_of(s)
        grades = sorted({r["grade"] for r in rows if r["grade"] and r["status"] == "在册"}, key=grade_key)
        return render(request, "transfer.html", {"t": listing, "schools": schools, "grades": grades})

    @app.post("/transfer/export")
    async def transfer_export(request: Request) -> Response:
        s = need(request, "transfer", post=True)
        form = await read_form(request)
        refs = [r for r in str(form.get("refs") or "").replace("，", ",").replace("、", ",").replace("\n", ",")
                .split(",") if r.strip()]
        grade = str(form.get("grade") or "").strip()
        to = str(form.get("to") or "").strip()
        purpose = str(form.get("purpose") or "转学")
        sign = not form.get("no_sign")  # signed unless the box "不签名" is ticked
        if grade:
            def cohort() -> list[str]:
                with s.lock:
                    return [r["id"] for r in rows_of(s) if r["grade"] == grade and r["status"] == "在册"]

            refs += await run_in_threadpool(cohort)
        if not to:
            raise InputError("请选择接收学校。")
        if not refs:
            raise InputError("请填写要转出的儿童（学籍号），或选择年级。")

        def work(arc: Any, job: Job) -> Any:
            job.stage = "打包、签名、加密"
            job.total = len(refs)

            def tick(n: int, total: int) -> None:
                job.done += n
                job.total = total

            out = jobs.workdir(job) / f"转接包-{to}-{dt.date.today().isoformat()}.gtp"
            res = svc.export_package(arc, [r.strip() for r in refs], to, out, purpose, tick, sign=sign)
            job.files["package"] = (res.path, res.path.name, "application/octet-stream")
            return res

        job = start_job(s, f"导出转接包（{purpose}）", "job_export.html", work)
        return redirect(request, f"/jobs/{job.id}")

    @app.post("/transfer/inbox", response_class=HTMLResponse)
    async def transfer_inbox(request: Request) -> Response:
        s = need(request, "transfer", post=True)
        form = await read_form(request)
        raw, name = await upload_bytes(form, "file")
        token = secrets.token_hex(16)
        d = spool / "inbox" / token
        d.mkdir(parents=True, mode=0o700)
        path = d / (name if name.endswith(".gtp") else name + ".gtp")
        path.write_bytes(raw)

        def inspect() -> dict[str, Any]:
            with s.lock:
                return svc.inspect_package(s.arc, path)

        info = await run_in_threadpool(inspect)
        s.uploads["pkg:" + token] = path
        return render(request, "_package.html", {"info": info, "token": token}, session=s)

    def _pkg(s: Session, token: str) -> Path:
        path = s.uploads.get("pkg:" + token)
        if not isinstance(path, Path):
            raise NotFoundError("该转接包已失效。", "请重新上传。")
        return path

    @app.post("/transfer/inbox/{token}/accept")
    def transfer_accept(request: Request, token: str) -> Response:
        s = need(request, "transfer", post=True)
        path = _pkg(s, token)
        s.uploads.pop("pkg:" + token, None)

        def work(arc: Any, job: Job) -> Any:
            job.stage = "核验并导入"

            def tick(n: int, total: int) -> None:
                job.done += n
                job.total = total

            res = svc.accept_package(arc, path, tick)
            job.files["receipt"] = (res.receipt_path, res.receipt_path.name, "application/octet-stream")
            return res

        job = start_job(s, "接收转接包", "job_import.html", work)
        return redirect(request, f"/jobs/{job.id}")

    @app.post("/transfer/inbox/{token}/reject")
    async def transfer_reject(request: Request, token: str) -> Response:
        s = need(request, "transfer", post=True)
        form = await read_form(request)
        path = _pkg(s, token)
        reason = str(form.get("reason") or "")

        def do_reject() -> Any:
            with s.lock:
                return svc.reject_package(s.arc, path, reason)

        res = await run_in_threadpool(do_reject)
        s.uploads.pop("pkg:" + token, None)
        job = jobs.record(s, "拒收转接包", "job_import.html", res,
                          {"receipt": (res.receipt_path, res.receipt_path.name, "application/octet-stream")})
        return redirect(request, f"/jobs/{job.id}")

    @app.post("/transfer/receipt", response_class=HTMLResponse)
    async def transfer_receipt(request: Request) -> Response:
        s = need(request, "transfer", post=True)
        form = await read_form(request)
        raw, name = await upload_bytes(form, "file", 16 * 1024 * 1024)
        d = spool / "receipts" / secrets.token_hex(16)
        d.mkdir(parents=True, mode=0o700)
        path = d / name
        path.write_bytes(raw)

        def do_confirm() -> Any:
            with s.lock:
                return svc.confirm_receipt(s.arc, path)

        res = await run_in_threadpool(do_confirm)
        return render(request, "_receipt.html", {"r": res}, session=s)

    # ---- 检测与审计 ------------------------------------------------------------------------

    @app.get("/verify", response_class=HTMLResponse)
    def verify_page(request: Request, action: str = "", actor: str = "", target: str = "", day: str = "",
                    page: int = 1) -> Response:
        s = need(request, "verify")
        with s.lock:
            entries, problems = svc.audit_log(s.arc)
        sel = list(reversed(entries))
        if action:
            sel = [e for e in sel if e.action.startswith(action)]
        if actor:
            sel = [e for e in sel if e.actor == actor]
        if target:
            sel = [e for e in sel if (e.target or "").startswith(target)]
        if day:
            sel = [e for e in sel if e.at.startswith(day)]
        pages = max(1, (len(sel) + 99) // 100)
        page = min(max(1, page), pages)
        params = {"action": action, "actor": actor, "target": target, "day": day}
        ctx = {"entries": sel[(page - 1) * 100: page * 100], "count": len(sel), "problems": problems,
               "actions": sorted({e.action for e in entries}), "actors": sorted({e.actor for e in entries}),
               "params": params, "page": page, "pages": pages,
               "qs": lambda **kw: urlencode({**params, **kw})}
        if request.headers.get("hx-target") == "audit-table":
            return render(request, "_audit_table.html", ctx, session=s)
        return render(request, "verify.html", ctx, session=s)

    @app.post("/verify/run")
    def verify_run(request: Request) -> Response:
        s = need(request, "verify", post=True)

        def work(arc: Any, job: Job) -> Any:
            def tick(stage: str, done: int, total: int) -> None:
                job.stage, job.done, job.total = stage, done, total

            return svc.verify(arc, tick)

        job = start_job(s, "四性检测", "job_verify.html", work)
        return redirect(request, f"/jobs/{job.id}")

    @app.post("/backup")
    def backup_run(request: Request) -> Response:
        s = need(request, "export", post=True)

        def work(arc: Any, job: Job) -> Any:
            job.stage = "备份"
            name = f"备份-{arc.info.school_code}-{time.strftime('%Y%m%d-%H%M%S')}.gab"
            out = jobs.workdir(job) / name
            manifest = svc.backup(arc, out)
            job.files["backup"] = (out, name, "application/octet-stream")
            return {"manifest": manifest, "size": out.stat().st_size, "name": name}

        job = start_job(s, "备份档案库", "job_backup.html", work)
        return redirect(request, f"/jobs/{job.id}")

    # ---- 用户 -------------------------------------------------------------------------------

    @app.get("/users", response_class=HTMLResponse)
    def users_page(request: Request) -> Response:
        s = need(request, "admin")
        with s.lock:
            users = svc.users(s.arc)
        return render(request, "users.html", {"users": users, "message": None})

    async def _users_action(request: Request, action: Callable[[Session, FormData], str]) -> Response:
        s = need(request, "admin", post=True)
        form = await read_form(request)

        def go() -> Response:  # a key file costs an Argon2id derivation: off the event loop
            error = None
            message = None
            try:
                with s.lock:
                    message = action(s, form)
            except GuanaiError as err:
                error = err
            with s.lock:
                users = svc.users(s.arc)
            return render(request, "_users_body.html", {"users": users, "message": message, "error": error},
                          422 if error else 200, session=s)

        return await run_in_threadpool(go)

    @app.post("/users/add", response_class=HTMLResponse)
    async def users_add(request: Request) -> Response:
        def act(s: Session, form: FormData) -> str:
            name = str(form.get("name") or "").strip()
            p1, p2 = str(form.get("passphrase") or ""), str(form.get("passphrase2") or "")
            if p1 != p2:
                raise InputError("两次输入的口令不一致。")
            svc.add_user(s.arc, name, str(form.get("role") or ""), p1)
            return f"已添加用户“{name}”。"

        return await _users_action(request, act)

    @app.post("/users/passwd", response_class=HTMLResponse)
    async def users_passwd(request: Request) -> Response:
        def act(s: Session, form: FormData) -> str:
            name = str(form.get("name") or "").strip()
            p1, p2 = str(form.get("passphrase") or ""), str(form.get("passphrase2") or "")
            if p1 != p2:
                raise InputError("两次输入的口令不一致。")
            svc.change_passphrase(s.arc, name, p1)
            return f"已修改“{name}”的口令。"

        return await _users_action(request, act)

    @app.post("/users/remove", response_class=HTMLResponse)
    async def users_remove(request: Request) -> Response:
        def act(s: Session, form: FormData) -> str:
            name = str(form.get("name") or "").strip()
            svc.remove_user(s.arc, name)
            return f"已删除用户“{name}”。"

        return await _users_action(request, act)

    @app.get("/account", response_class=HTMLResponse)
    def account(request: Request) -> Response:
        need(request)
        return render(request, "account.html", {"message": None, "error": None})

    @app.post("/account/passwd", response_class=HTMLResponse)
    async def account_passwd(request: Request) -> Response:
        s = need(request, post=True)
        form = await read_form(request)

        def go() -> Response:
            error = message = None
            try:
                p1, p2 = str(form.get("passphrase") or ""), str(form.get("passphrase2") or "")
                if p1 != p2:
                    raise InputError("两次输入的口令不一致。")
                with s.lock:
                    svc.change_passphrase(s.arc, s.user, p1)
                message = "口令已修改；下次登录请使用新口令。"
            except GuanaiError as err:
                error = err
            return render(request, "_account_body.html", {"message": message, "error": error},
                          422 if error else 200, session=s)

        return await run_in_threadpool(go)

    allowed = {"localhost", "127.0.0.1", "[::1]"} | {h.lower() for h in (host_names or set())}
    app.add_middleware(Guard, allowed_hosts=allowed, allow_lan=allow_lan, max_body=max_upload)
    return app


