"""`guanai serve`: the browser UI for the school office (guanai.web)."""

from __future__ import annotations

from pathlib import Path

import click

from guanai.cli.common import archive_dir


@click.command("serve")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="端口。")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听地址；默认只供本机访问。其他地址须同时加 --allow-lan。")
@click.option("--allow-lan", is_flag=True, help="允许校内局域网中的其他电脑访问（会显示警告）。")
@click.option("--open", "open_browser", is_flag=True, help="启动后打开浏览器。")
@click.pass_context
def serve(ctx: click.Context, port: int, host: str, allow_lan: bool, open_browser: bool) -> None:
    """启动网页界面（在浏览器中使用全部功能）。

    用档案库的用户名和口令在浏览器中登录；长时间不操作自动退出。默认只接受本机访问。

    \b
    示例：
      guanai --archive 我校档案 serve --open
      guanai --archive 我校档案 serve --port 8080
      guanai --archive 我校档案 serve --host 192.168.1.10 --allow-lan
    """
    from guanai.web.server import check_host
    from guanai.web.server import serve as run

    check_host(host, allow_lan)
    run(Path(archive_dir(ctx)), host=host, port=port, open_browser=open_browser, allow_lan=allow_lan,
        echo=click.echo)
