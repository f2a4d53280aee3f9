"""Text hygiene shared by every layer: invisible and bidirectional control characters.

Form values, roster cells and names must not carry characters that change how text is shown
without being seen: bidi overrides/isolates (U+202A–202E, U+2066–2069, RLO …), zero-width
characters, the combining grapheme joiner U+034F, Hangul fillers (U+3164, U+115F, U+1160,
U+FFA0), variation selectors, tag characters, and other format (Cf) characters. Such a value
could hide a word from the no-labelling check (留*守 with a zero-width space between) or show
a different text than the one stored.
"""

from __future__ import annotations

import re
import unicodedata

# Explicit ranges (some are not category Cf: U+034F is Mn, the Hangul fillers are Lo)
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors, vowel separator
    (0x200B, 0x200F),  # zero width space/non-joiner/joiner, LRM, RLM
    (0x202A, 0x202E),  # LRE RLE PDF LRO RLO
    (0x2060, 0x206F),  # word joiner, invisible operators, LRI RLI FSI PDI, deprecated formats
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # BOM / zero width no-break space
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),  # unassigned specials
    (0x1D173, 0x1D17A),  # musical format controls
    (0xE0000, 0xE007F),  # tag characters
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
_RANGE_RE = re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in _INVISIBLE_RANGES) + "]")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def is_invisible(c: str) -> bool:
    """True for an invisible/bidi/format character (tab, newline and carriage return are not)."""
    if _RANGE_RE.match(c):
        return True
    return unicodedata.category(c) == "Cf"


def invisible_chars(value: str) -> list[str]:
    """The invisible characters in ``value`` as ``U+XXXX`` names, in order of first appearance."""
    seen: dict[str, None] = {}
    for c in value:
        if is_invisible(c):
            seen.setdefault(f"U+{ord(c):04X}", None)
    return list(seen)


def strip_invisible(value: str) -> str:
    """``value`` without invisible and bidirectional control characters."""
    if value.isascii():
        return value
    return "".join(c for c in value if not is_invisible(c))


def has_bidi_control(value: str) -> bool:
    return any(c in BIDI_CONTROLS for c in value)
