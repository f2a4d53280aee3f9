"""Bar charts of the plan's figures (matplotlib, PNG) with a simplified-Chinese font.

The font is found through fontconfig (``fc-match``), the way LibreOffice finds it, and must be
a CJK face that matplotlib has registered (Noto Sans CJK SC from Debian's fonts-noto-cjk);
without one the chart would show empty boxes, so we refuse instead.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Sequence
from functools import lru_cache

from guanai.base.errors import GuanaiError
from guanai.base.proc import scrubbed_env

PREFERRED = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "AR PL UMing CN")


class FontMissing(GuanaiError):
    exit_code = 10


@lru_cache(maxsize=1)
def cjk_family() -> str:
    """A font family matplotlib can draw simplified Chinese with (fontconfig decides first)."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    fc = shutil.which("fc-match")
    if fc is not None:
        for want in PREFERRED:
            try:
                out = subprocess.run([fc, "-f", "%{family[0]}", f"{want}:lang=zh-cn"], capture_output=True,
                                     text=True, timeout=10, env=scrubbed_env(), check=False).stdout.strip()
            except (OSError, subprocess.TimeoutExpired):
                break
            if out == want and out in known:
                return out
    for want in PREFERRED:
        if want in known:
            return want
    raise FontMissing("未找到可显示中文的字体，无法绘制统计图。",
                      "安装 Noto CJK 字体：apt-get install fonts-noto-cjk（make setup 会安装）。")


def bar_chart_png(values: Sequence[tuple[str, float]], title: str, *, dpi: int = 200) -> bytes:
    """A horizontal bar chart of percentages (0–100) as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    family = cjk_family()
    fig = Figure(figsize=(6.1, 0.5 + 0.45 * max(len(values), 1)), dpi=dpi)
    ax = fig.add_subplot()
    labels = [label for label, _ in values][::-1]
    numbers = [float(v) for _, v in values][::-1]
    bars = ax.barh(labels, numbers, color="#3a6ea5", height=0.6)
    ax.set_xlim(0, 110)
    ax.set_xlabel("百分比（%）", fontfamily=family, fontsize=9)
    ax.set_title(title, fontfamily=family, fontsize=11)
    for tick in ax.get_yticklabels():
        tick.set_fontfamily(family)
        tick.set_fontsize(9)
    for bar, v in zip(bars, numbers, strict=True):
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, f"{v:g}%", va="center",
                fontfamily=family, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
