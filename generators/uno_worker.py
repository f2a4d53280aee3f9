"""The warm converter's worker: runs under the system Python (``/usr/bin/python3``, which has
Debian's ``python3-uno``), not in guanai's virtual environment, and imports nothing of guanai.

Protocol on stdin/stdout, one JSON object per line:
  startup: the worker connects to the soffice given by ``argv[1]`` (a UNO connection string, e.g.
  ``pipe,name=guanai-1234``) and prints ``{"ready": true}`` (or ``{"error": …}`` and exits);
  request ``{"in": "/path/a.docx", "out": "/path/a.pdf"}`` → reply ``{"ok": true, "variant": 0,
  "pages": n}`` or ``{"ok": false, "error": "…"}``; end of stdin ends the worker.
  ``"in"`` may be a list of variants of one document with ``"even": true``: each is laid out in
  turn until one has an even number of pages (or none is left), and that one is exported; the
  reply names it (``"variant": k``). This is how a 公文's 版记 lands on an even page without a
  second conversion (the variants carry one more page break before the 版记 each).
The PDF filter settings are those of ``generators.pdf.PDF_FILTER`` (PDF/A-2b).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import Any


def _prop(name: str, value: Any) -> Any:
    import uno

    p = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
    p.Name, p.Value = name, value
    return p


def _connect(conn: str, timeout: float = 60.0) -> Any:
    import uno

    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            ctx = resolver.resolve(f"uno:{conn};urp;StarOffice.ComponentContext")
            return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        except Exception:  # NoConnectException while soffice starts
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _page_count(doc: Any) -> int | None:
    """Pages of the laid-out document (the hidden view's controller knows them); None if unknown."""
    try:
        controller = doc.getCurrentController()
        return int(controller.getPropertyValue("PageCount")) if controller is not None else None
    except Exception:  # no view, or a document type without the property
        return None


def _break_before_record(doc: Any, style: str) -> bool:
    """Give the paragraph holding the 版记 box (the last drawing anchored in a paragraph of
    ``style``) a page break before it, in the loaded document; False if there is none."""
    from com.sun.star.style.BreakType import PAGE_BEFORE

    page = doc.getDrawPage()
    for i in reversed(range(page.getCount())):
        try:
            anchor = page.getByIndex(i).getAnchor()
            if anchor is not None and anchor.getPropertyValue("ParaStyleName") == style:
                anchor.setPropertyValue("BreakType", PAGE_BEFORE)
                return True
        except Exception:  # a shape without a text anchor
            continue
    return False


def _export(doc: Any, dst: str) -> None:
    import uno

    data = uno.Any("[]com.sun.star.beans.PropertyValue", (_prop("SelectPdfVersion", 2),))
    store = (_prop("FilterName", "writer_pdf_Export"), _prop("FilterData", data))
    uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(dst), store))


def _convert(desktop: Any, sources: list[str], dst: str, even: bool, record_style: str | None) -> tuple[int, int | None]:
    """Export the first of ``sources`` with an even page count (the last one otherwise) when
    ``even``, else the first; (index exported, its page count).

    Variant 1 is variant 0 with a page break before the 版记: when ``record_style`` names the
    版记 paragraphs' style, that break is made in the document already laid out (no second load);
    the caller checks the PDF's page count.
    """
    import uno

    load = (_prop("Hidden", True), _prop("ReadOnly", True), _prop("FilterName", "MS Word 2007 XML"))
    k = 0
    while True:
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(sources[k]), "_blank", 0, load)
        if doc is None:
            raise RuntimeError("LibreOffice could not open the file")
        try:
            pages = _page_count(doc)
            if even and k + 1 < len(sources) and pages is not None and pages % 2:
                if k == 0 and record_style and _break_before_record(doc, record_style):
                    pages = _page_count(doc)
                    if len(sources) == 2 or (pages is not None and pages % 2 == 0):
                        _export(doc, dst)  # variant 1, made in place
                        return 1, pages
                    k = 2  # variant 1 is odd as well
                else:
                    k += 1
                continue
            _export(doc, dst)
            return k, pages
        finally:
            with contextlib.suppress(Exception):
                doc.close(True)


def main() -> int:
    try:
        desktop = _connect(sys.argv[1])
    except Exception as err:
        print(json.dumps({"error": f"{type(err).__name__}: {err}"}), flush=True)
        return 1
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        try:
            req = json.loads(line)
            sources = req["in"] if isinstance(req["in"], list) else [req["in"]]
            style = req.get("record_style")
            variant, pages = _convert(desktop, [str(s) for s in sources], str(req["out"]), bool(req.get("even")),
                                      str(style) if style else None)
            reply: dict[str, Any] = {"ok": True, "variant": variant, "pages": pages}
        except Exception as err:  # reported to the caller, the worker stays up
            reply = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
