"""The 档案转接单 (transfer slip): what it says, not how it is typeset.

Every child's directory in a bag carries a slip listing each file handed over with its size and
SHA-512, for the people at both schools to sign. The archive layer assembles the facts (``Slip``);
the document itself is rendered by a ``SlipRenderer`` passed in by the caller — in the product
``guanai.generators.slip.render_slip``, which fills the ``transfer-slip.docx`` template through the
same sandboxed pipeline as every other document. (``generators`` sits above ``archive`` in the
layers, so the archive cannot import it; the callback is the seam.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

SLIP_NAME = "档案转接单.docx"


@dataclass(frozen=True)
class SlipRow:
    """One file handed over: its title, document kind ("" for the record files), bag path, size,
    SHA-512, and a note on its PDF signature ("" when none: not a PDF, or not signed)."""

    title: str
    kind: str
    path: str
    size: int
    sha512: str
    signature: str = ""


@dataclass(frozen=True)
class Slip:
    package_id: str
    created_at: str
    sender_code: str
    sender_name: str
    recipient_code: str
    recipient_name: str
    student_id: str
    name: str
    rows: tuple[SlipRow, ...]


#: Renders a slip to the bytes of a .docx file.
SlipRenderer = Callable[[Slip], bytes]
