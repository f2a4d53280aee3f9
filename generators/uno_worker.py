"""The warm converter's worker: runs under the system Python (``/usr/bin/python3``, which has
Debian's ``python3-uno``), not in guanai's virtual environment, and imports nothing of guanai.

Protocol on stdin/stdout, one JSON object per line:
  startup: the worker connects to the soffice given by ``argv[1]`` (a UNO connection string, e.g.
  ``pipe,name=guanai-1234``) and prints ``{"ready": true}`` (or ``{"error": …}`` and exits);
  request ``{"in": "/path/a.docx", "out": "/path/a.pdf"}`` → reply ``{"ok": true}`` or
  ``{"ok": false, "error": "…"}``; end of stdin ends the worker.
The PDF filter settings are those of ``generators.pdf.PDF_FILTER`` (PDF/A-2b).
"""

from __future__ import annotations

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


def _convert(desktop: Any, src: str, dst: str) -> None:
    import uno

    load = (_prop("Hidden", True), _prop("ReadOnly", True), _prop("FilterName", "MS Word 2007 XML"))
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0, load)
    if doc is None:
        raise RuntimeError("LibreOffice could not open the file")
    try:
        data = uno.Any("[]com.sun.star.beans.PropertyValue", (_prop("SelectPdfVersion", 2),))
        store = (_prop("FilterName", "writer_pdf_Export"), _prop("FilterData", data))
        uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(dst), store))
    finally:
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
            _convert(desktop, req["in"], req["out"])
            reply: dict[str, Any] = {"ok": True}
        except Exception as err:  # reported to the caller, the worker stays up
            reply = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
