"""One exception root for the whole library.

Every error a user can meet is a :class:`GuanaiError` subclass carrying a Chinese message,
an optional hint and an exit code. The CLI turns it into output in exactly one place
(``cli.main``); no traceback reaches a user.

Exit codes (documented in README):
  1 generic failure · 2 bad input/usage · 3 not found · 4 authentication (passphrase)
  5 permission (role) · 6 integrity (tamper, verification) · 7 archive busy
  8 format/version · 9 archive missing · 10 external tool (LibreOffice) · 11 conflict/state
  12 disk full (ENOSPC, SQLITE_FULL) · 13 transient I/O error (retry; not damage)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One problem found by a check (verify, lint, form / record / roster validation, transfer checks).

    ``where``: the place, as a person finds it (file, row and column, field, document id, path in
    a package); ``what``: what is wrong (Chinese); ``hint``: how to fix it, when there is more to
    say than the report's own hint; ``code``: a stable, dotted, English identifier of the rule
    (``form.missing``, ``verify.integrity``, ``bag.path.unsafe`` …) that programs may test
    instead of reading the Chinese text. JSON: ``{"where", "what", "hint", "code"}``.
    """

    where: str
    what: str
    hint: str = ""
    code: str = ""

    def __str__(self) -> str:
        return f"{self.where}：{self.what}" if self.where else self.what

    def to_json(self) -> dict[str, str]:
        return {"where": self.where, "what": self.what, "hint": self.hint, "code": self.code}


class GuanaiError(Exception):
    """Base of every error the user can see.

    ``problems`` carries every problem found when the error reports a check (never a shortened
    list); ``message`` says what failed as a whole, and the CLI prints each problem below it.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.problems: list[Problem] = list(problems)

    def __str__(self) -> str:
        text = self.message
        if self.problems:
            text += "：" + "；".join(str(p) for p in self.problems)
        if self.hint:
            return f"{text}（提示：{self.hint}）"
        return text

    def to_json(self) -> dict[str, Any]:
        """The error as the CLI emits it under ``--json`` (docs/CONTRACTS.md)."""
        return {"error": type(self).__name__, "exit_code": self.exit_code, "message": self.message,
                "hint": self.hint or "", "problems": [p.to_json() for p in self.problems]}


class InputError(GuanaiError):
    """Bad user input: a file, a field, an option."""

    exit_code = 2


class NotFoundError(GuanaiError):
    exit_code = 3


class AuthError(GuanaiError):
    """Wrong passphrase or unknown user."""

    exit_code = 4


class PermissionDenied(GuanaiError):
    """The user's role does not allow the operation."""

    exit_code = 5


class IntegrityError(GuanaiError):
    """A MAC, tag, signature or hash chain did not hold: tampering or corruption."""

    exit_code = 6


class BusyError(GuanaiError):
    """Another writer holds the archive."""

    exit_code = 7


class FormatError(GuanaiError):
    """Unknown format version or malformed archive structure."""

    exit_code = 8


class ArchiveMissing(GuanaiError):
    exit_code = 9


class ExternalToolError(GuanaiError):
    """An external program (LibreOffice) failed or is missing."""

    exit_code = 10


class StateError(GuanaiError):
    """The operation conflicts with the record's state (closed record, duplicate, replay)."""

    exit_code = 11


class DiskFullError(GuanaiError):
    """The disk holding the archive (or an output file) is full; nothing was half-written."""

    exit_code = 12


class TransientIOError(GuanaiError):
    """An I/O error that says nothing about damage (SQLITE_IOERR, EIO, a locked file): retry."""

    exit_code = 13
