"""Render docxtpl's own test scripts with docxtpl and with guanai's renderer; compare the texts.

Run from a docxtpl checkout's ``tests/`` directory (its scripts open ``templates/…`` relative to it):
``cd python-docx-template/tests && /path/to/guanai/.venv/bin/python -m tools.docxtpl_compat nested_for order …``
(with the guanai root on PYTHONPATH). Each script runs with docxtpl patched to keep its context and
output; the same template and context then go through ``generators.render``. Prints SAME / DIFF /
the error per script. Measured 2026-11-29: all 15 scripts with plain contexts SAME (two of them
with ``&quot;`` inside tags); template_error refused by both; module_execute fails in docxtpl itself.
"""

from __future__ import annotations

import io
import re
import runpy
import sys
import zipfile
from pathlib import Path
from typing import Any

#: docxtpl's test scripts whose contexts are plain values (no RichText, images, subdocs, custom Jinja)
PLAIN = ("comments doc_properties dynamic_table escape_auto footnotes header_footer_entities horizontal_merge "
         "less_cells_after_loop merge_paragraph module_execute multi_rendering nested_for order preserve_spaces "
         "template_error vertical_merge vertical_merge_nested").split()


def texts(data: bytes) -> list[str]:
    from lxml import etree

    from guanai.generators.text import xml_text

    z = zipfile.ZipFile(io.BytesIO(data))
    return [re.sub(r"\s+", " ", xml_text(etree.fromstring(z.read(n)))).strip() for n in sorted(z.namelist())
            if re.fullmatch(r"word/(document|header\d*|footer\d*|footnotes)\.xml", n)]


def main(names: list[str]) -> int:
    import docxtpl

    from guanai.generators.render import compile_template, render_compiled

    captured: dict[str, Any] = {}
    orig_render, orig_save = docxtpl.DocxTemplate.render, docxtpl.DocxTemplate.save

    def cap_render(self: Any, context: Any = None, jinja_env: Any = None, autoescape: bool = False) -> Any:
        captured.update(ctx=context, path=self.template_file)
        return orig_render(self, context, jinja_env, autoescape)

    def cap_save(self: Any, filename: Any, *a: Any, **k: Any) -> None:
        buf = io.BytesIO()
        orig_save(self, buf)
        captured["out"] = buf.getvalue()

    docxtpl.DocxTemplate.render = cap_render  # type: ignore[method-assign]
    docxtpl.DocxTemplate.save = cap_save  # type: ignore[method-assign]
    Path("output").mkdir(exist_ok=True)
    for name in names or PLAIN:
        captured.clear()
        try:
            runpy.run_path(name + ".py", run_name="__main__")
        except Exception as err:  # a script of another project: report and go on
            print(f"{name}: docxtpl failed ({type(err).__name__}: {str(err)[:80]})")
            continue
        if "out" not in captured:
            print(f"{name}: docxtpl wrote nothing")
            continue
        try:
            ours = render_compiled(compile_template(Path(captured["path"])), captured["ctx"] or {}).data
        except Exception as err:
            print(f"{name}: guanai refused ({type(err).__name__}: {str(err)[:120]})")
            continue
        print(f"{name}: {'SAME' if texts(ours) == texts(captured['out']) else 'DIFF'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
