"""Passphrase policy: at least 10 characters, not all of one character class, not a common password.

Character classes: digits, Latin letters, other letters (汉字 and the like), everything else
(punctuation, spaces, symbols). The list of common passwords ships with the package
(``guanai/base/data/common-passwords.txt``); it is compared after NFKC normalisation,
case-insensitively, with spaces removed.
"""

from __future__ import annotations

import functools
import unicodedata
from importlib import resources

from guanai.base.errors import InputError

MIN_LENGTH = 10
MAX_LENGTH = 1024
EXAMPLE = "建议用一句容易记住、别人猜不到的话，如“萧县实验小学2026关爱档案”。"


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("guanai.base").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _norm(passphrase: str) -> str:
    return "".join(unicodedata.normalize("NFKC", passphrase).split()).casefold()


def char_class(c: str) -> str:
    if c.isdigit():
        return "digit"
    if c.isascii() and c.isalpha():
        return "latin"
    if c.isalpha():
        return "letter"
    return "other"


def check_passphrase(passphrase: str) -> None:
    """Raise InputError (Chinese message and hint) when ``passphrase`` breaks the policy."""
    if len(passphrase) > MAX_LENGTH:
        raise InputError(f"口令太长：最多 {MAX_LENGTH} 个字符。")
    if len(passphrase) < MIN_LENGTH:
        raise InputError(f"口令太短：至少 {MIN_LENGTH} 个字符（现为 {len(passphrase)} 个）。", EXAMPLE)
    if len({char_class(c) for c in passphrase if not c.isspace()}) < 2:
        raise InputError("口令太简单：全是同一类字符（只有数字、只有字母或只有汉字）。",
                         "请混用汉字、字母、数字或符号中的至少两类。" + EXAMPLE)
    norm = _norm(passphrase)
    # a common password with digits or symbols tacked on (P@ssw0rd1234, admin888!) is still common
    stem = norm.rstrip("0123456789!@#$%^&*.,-_~")
    if norm in common_passwords() or stem in common_passwords() or len(set(norm)) <= 2:
        raise InputError("口令太常见，容易被猜中。", EXAMPLE)
