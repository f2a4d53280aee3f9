"""The school's signature on every PDF a package carries, and the receiver's check of it.

The package as a whole is signed (Ed25519, ``envelope``), but once a receiving school takes a PDF
out of its archive nothing in the file says where it came from. So the sender signs each PDF it
carries with its PAdES key (bound to its identity in the county directory), and the receiver checks
each one against its own copy of the directory when it inspects or opens the package.

PAdES is pyHanko, in ``guanai.generators.sign`` — above this layer — so the caller passes both
ends down, as it passes the ``SlipRenderer``: a ``PdfSigner`` (``generators.sign.pdf_signer``) to
export, a ``DocChecker`` (``generators.sign.check_document``) to inspect and open.

Sender side, per carried document, the field ``pdf_signature`` of its ``documents.json`` entry
(FORMAT.md §12.4): ``signed`` (signed by the sender at export), ``kept`` (it already carried a
signature — e.g. generated with ``--sign``, or signed by the school it came from — and is carried
byte for byte: a second, incremental signature would leave the first covering only a revision of
the file, which ``doc verify`` reports as "appended after signing"), ``failed`` (the bytes could
not be signed, carried as they are; the reason in ``pdf_signature_problem``) or ``off`` (exported
with ``--no-sign``). Non-PDF files have no such field; nor has anything from an older sender.
The receiver never relies on these claims: it checks every PDF itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guanai.archive.documents import PdfSigner
from guanai.archive.transfer.bag import ChildItem, DocItem
from guanai.base.errors import InputError, Problem

if TYPE_CHECKING:
    from guanai.archive.transfer.directory import Directory

SIGNED, KEPT, FAILED, OFF = "signed", "kept", "failed", "off"
#: Receiver's verdicts: every signature valid and by a school of the directory / a signature that
#: does not validate (tampered, unknown or revoked school, impostor) / no signature / not readable.
VALID, INVALID, UNSIGNED, UNREADABLE = "valid", "invalid", "unsigned", "unreadable"
VERDICT_WORDS = {VALID: "签名有效", INVALID: "签名无效", UNSIGNED: "未签名", UNREADABLE: "无法读取"}
SENDER_WORDS = {SIGNED: "本校签名", KEPT: "保留原有签名", FAILED: "未能签名", OFF: "未签名（--no-sign）"}


@dataclass(frozen=True)
class DocCheck:
    """The receiver's check of one carried PDF."""

    status: str  # VALID | INVALID | UNSIGNED | UNREADABLE
    signers: tuple[str, ...] = ()  # "name（code）" of each signature
    problems: tuple[str, ...] = ()

    @property
    def authentic(self) -> bool:
        return self.status == VALID

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "status_name": VERDICT_WORDS.get(self.status, self.status),
                "authentic": self.authentic, "signers": list(self.signers), "problems": list(self.problems)}


#: Checks one PDF's signatures against the receiving archive's county directory.
DocChecker = Callable[[bytes, "Directory"], DocCheck]


def is_pdf_bytes(content: bytes) -> bool:
    return content[:5] == b"%PDF-"


def sign_documents(children: list[ChildItem], sign: PdfSigner | None) -> list[Problem]:
    """Sign every PDF the children carry (in place); the PDFs that could not be signed, as problems.

    ``sign`` None: the PDFs are marked ``off``. A PDF the signer cannot handle (damaged, not really
    a PDF) is carried as it is, marked ``failed``: the dossier must still move with the child.
    """
    problems: list[Problem] = []
    for child in children:
        for doc in child.documents:
            if not is_pdf_bytes(doc.content):
                continue
            if sign is None:
                doc.meta["pdf_signature"] = OFF
                continue
            try:
                done = sign(doc.content)
            except InputError as err:
                doc.meta["pdf_signature"] = FAILED
                doc.meta["pdf_signature_problem"] = err.message
                problems.append(Problem(f"{child.name}（{child.student_id}）：{doc.meta.get('title') or '文书'}",
                                        f"未能签名，按原样转出（{err.message.rstrip('。')}）", code="transfer.sign_failed"))
                continue
            if done is None:
                doc.meta["pdf_signature"] = KEPT
            else:
                doc.meta["pdf_signature"] = SIGNED
                doc.content = done
    return problems


def sender_counts(children: list[ChildItem]) -> dict[str, int]:
    """PDFs carried and what the sender did with each (``pdfs``, ``signed``, ``kept``, ``failed``, ``off``)."""
    counts = {"pdfs": 0, SIGNED: 0, KEPT: 0, FAILED: 0, OFF: 0}
    for child in children:
        for doc in child.documents:
            if is_pdf_bytes(doc.content):
                counts["pdfs"] += 1
                state = doc.meta.get("pdf_signature")
                if state in counts:
                    counts[str(state)] += 1
    return counts


def check_documents(children: list[ChildItem], check: DocChecker, directory: Directory) -> None:
    """Check every carried PDF (``DocItem.check``); a PDF the checker cannot read is ``unreadable``."""
    for child in children:
        for doc in child.documents:
            doc.check = check_one(doc, check, directory)


def check_one(doc: DocItem, check: DocChecker, directory: Directory) -> DocCheck | None:
    if not is_pdf_bytes(doc.content):
        return None
    try:
        return check(doc.content, directory)
    except InputError as err:
        return DocCheck(UNREADABLE, (), (err.message,))


def receiver_counts(children: list[ChildItem]) -> dict[str, int]:
    """``pdfs`` carried; ``signed`` (valid + invalid); ``valid``, ``invalid``, ``unsigned``, ``unreadable``."""
    counts = {"pdfs": 0, "signed": 0, VALID: 0, INVALID: 0, UNSIGNED: 0, UNREADABLE: 0}
    for child in children:
        for doc in child.documents:
            if doc.check is None:
                continue
            counts["pdfs"] += 1
            counts[doc.check.status] = counts.get(doc.check.status, 0) + 1
            if doc.check.status in (VALID, INVALID):
                counts["signed"] += 1
    return counts


def not_authentic(children: list[ChildItem]) -> list[Problem]:
    """Each carried PDF whose signature does not validate, as a problem naming the document."""
    out = []
    for child in children:
        for doc in child.documents:
            c = doc.check
            if c is not None and c.status in (INVALID, UNREADABLE):
                what = "；".join(c.problems or ("未说明",))
                out.append(Problem(f"{child.name}（{child.student_id}）：{doc.meta.get('title') or '文书'}",
                                   what if c.status == UNREADABLE else f"签名无效：{what}",
                                   code=f"transfer.pdf_signature.{c.status}"))
    return out
