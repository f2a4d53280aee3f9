"""Idempotent document storage for batches (``generate``, ``attach``) re-run after a crash.

A batch killed halfway and run again must not store its first half twice. A document is "the
same" when kind, child, MIME type and content agree; for generated documents, whose bytes vary
between renderings (timestamps inside the .docx/PDF), the content is the form input: its
SHA-256 (``input_sha256`` in the sealed document meta) is compared instead of the file's.
The check and the insert run in one write transaction, so two concurrent runs store one copy.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from guanai.base.errors import GuanaiError

if TYPE_CHECKING:
    from guanai.archive.store import Archive

INPUT_KEY = "input_sha256"


def input_digest(kind: str, form: dict[str, Any], variant: str = "") -> str:
    """SHA-256 of a generated document's input: kind, template variant and canonical form."""
    from guanai.archive.store import canonical_json

    return hashlib.sha256(canonical_json({"kind": kind, "variant": variant, "form": form})).hexdigest()


def find_same(arc: Archive, *, kind: str, child_id: str | None, mime: str, sha256: str | None = None,
              input_sha256: str | None = None) -> str | None:
    """The id of a stored document with the same kind, child, MIME type and content, if any."""
    docs = arc.list_documents(child_id=child_id, kind=kind)
    for d in docs:
        if d.child_id != child_id or d.mime != mime:
            continue
        if input_sha256 is not None and d.meta.get(INPUT_KEY) == input_sha256:
            return d.id
        if input_sha256 is None and sha256 is not None and d.sha256 == sha256:
            return d.id
    return None


def put_once(arc: Archive, *, input_sha256: str | None = None, **kwargs: Any) -> tuple[str, bool]:
    """Store a document unless the same one is stored: ``(doc id, True when newly stored)``.

    ``kwargs`` are :meth:`Archive.put_document`'s; with ``input_sha256`` it goes into the meta.
    """
    content = kwargs.get("content")
    if not isinstance(content, bytes | bytearray):
        raise GuanaiError("文档内容必须是字节。")
    if input_sha256 is not None:
        kwargs["meta"] = {**(kwargs.get("meta") or {}), INPUT_KEY: input_sha256}
    sha = hashlib.sha256(content).hexdigest()
    with arc.transaction():  # check and insert under one writer lock
        child = arc.get_child(kwargs["child_id"]).id if kwargs.get("child_id") else None
        same = find_same(arc, kind=kwargs["kind"], child_id=child, mime=kwargs["mime"], sha256=sha,
                         input_sha256=input_sha256)
        if same is not None:
            return same, False
        return arc.put_document(**kwargs), True
