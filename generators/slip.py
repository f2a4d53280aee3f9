"""The 档案转接单 rendered through the template pipeline: ``render_slip`` is the ``SlipRenderer``
that the command line hands to ``guanai.archive.transfer`` (which cannot import generators).

The template ``transfer-slip.docx`` is built by ``tools/build_templates.py`` like every other one
and rendered by ``render.render_compiled`` (sandboxed Jinja, strict XML, fixed zip timestamps:
the same slip gives the same bytes). Values are normalised as form values are (control
characters removed), so a hostile document title cannot change the layout.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from guanai.archive.transfer.slip import Slip
from guanai.generators.assets import template_path
from guanai.generators.render import compile_template, render_compiled, sanitize_value

TEMPLATE = "transfer-slip.docx"


def slip_context(slip: Slip) -> dict[str, Any]:
    """The template's variables: the slip's facts, one row per file with a number and a readable label."""
    ctx = asdict(slip)
    ctx["rows"] = [
        {"number": i, "label": (f"{r.title}（{r.kind}）" if r.kind else r.title)
         + (f"【{r.signature}】" if r.signature else "") + f"\n{r.path}",
         "size": f"{r.size:,}", "sha512": r.sha512}
        for i, r in enumerate(slip.rows, 1)
    ]
    return dict(sanitize_value(ctx))


def render_slip(slip: Slip, template_dir: Path | None = None) -> bytes:
    """The .docx bytes of the slip (bundled template unless ``template_dir`` holds another one)."""
    compiled = compile_template(template_path(TEMPLATE, template_dir))
    return render_compiled(compiled, slip_context(slip)).data
