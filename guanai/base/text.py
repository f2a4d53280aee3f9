"""Text helpers shared by every layer: removing invisible and bidirectional control characters."""

from __future__ import annotations

import re

# Zero-width characters, bidirectional embeddings/overrides/isolates, marks and the BOM: they are
# invisible on screen and in print, so they can disguise a name or a number (Trojan Source) and
# make two equal-looking values differ.
INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")


def strip_invisible(s: str) -> str:
    """``s`` without invisible formatting characters (zero-width, bidi controls, soft hyphen, BOM)."""
    return INVISIBLE.sub("", s)
