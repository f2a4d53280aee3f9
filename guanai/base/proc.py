"""Environment for helper processes (template worker, LibreOffice).

Helper processes never inherit secrets: the passphrase variable and Python's import-path
variables are removed, so a child process cannot read the passphrase nor be pointed at modules
planted in some directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: Variables a helper process must never see (secrets, import redirection, preloading).
SCRUBBED_PREFIXES = ("GUANAI_", "PYTHON", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT")
#: Variables a helper process keeps.
KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "FONTCONFIG_FILE",
        "FONTCONFIG_PATH", "SYSTEMROOT", "XDG_RUNTIME_DIR")


def scrubbed_env(extra: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for a helper process: only :data:`KEPT` variables, plus ``extra``."""
    src = os.environ if base is None else base
    env = {k: v for k, v in src.items() if k in KEPT and not k.startswith(SCRUBBED_PREFIXES)}
    env.setdefault("PATH", "/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    if extra:
        env.update(extra)
    return env
