"""Run the web UI with uvicorn: loopback by default; another address only when allowed."""

from __future__ import annotations

import errno
import socket
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

from guanai.base.errors import InputError


def check_host(host: str, allow_lan: bool) -> None:
    """Refuse a non-loopback address unless the LAN was allowed explicitly."""
    from guanai.web.app import is_loopback

    if not is_loopback(host) and not allow_lan:
        raise InputError(f"拒绝监听 {host}：本服务默认只供本机使用。",
                         "确需让校内其他电脑访问时，加 --allow-lan（并确保只在学校内网使用）。")


def check_port(host: str, port: int) -> None:
    """Refuse a port already taken (another guanai serve?) or not allowed, in Chinese, before
    uvicorn would log an English error and exit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise InputError(f"端口 {port} 已被占用（可能已有一个 guanai serve 在运行）。",
                                 f"换一个端口，如 --port {8080 if port != 8080 else 8081}；或在浏览器打开已运行的服务。"
                                 ) from None
            if err.errno in (errno.EACCES, errno.EPERM):
                raise InputError(f"没有权限监听端口 {port}（1024 以下的端口需要管理员权限）。",
                                 "换一个 1024 以上的端口，如 --port 8000。") from None
            if err.errno == errno.EADDRNOTAVAIL:
                raise InputError(f"本机没有地址 {host}。", "用本机的地址（ip addr 查看），或去掉 --host。") from None
            raise


def serve(archive: Path, *, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          allow_lan: bool = False, echo: Callable[[str], None] = print) -> None:
    import uvicorn

    from guanai.archive.store import Archive
    from guanai.web.app import create_app

    check_host(host, allow_lan)
    Archive.check_exists(archive)
    check_port(host, port)
    names = {host} if allow_lan else set()
    app = create_app(archive, allow_lan=allow_lan, host_names=names)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    echo(f"关爱档案网页服务：{url}（档案库 {archive}）；按 Ctrl+C 停止。")
    if allow_lan:
        echo("警告：已允许局域网访问。请只在学校内网使用，勿在公共网络或互联网上开放；"
             "登录失败会被限制次数并记入审计日志。")
    if open_browser:
        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False,
                proxy_headers=False)
