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


class GuanaiError(Exception):
    """Base of every error the user can see."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}（提示：{self.hint}）"
        return self.message


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
