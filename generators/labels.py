"""Chinese names of every document kind stored in an archive (for listings and search hits)."""

from __future__ import annotations

# kinds stored by the archive itself rather than generated from a form
OTHER_KINDS = {
    "attachment": "附件",
    "transfer-slip": "档案转接单",
    "transfer-receipt": "转接回执",
    "child": "儿童档案",
}


def kind_label(kind: str) -> str:
    """The Chinese name of a document kind; the id itself when unknown (e.g. a newer kind)."""
    from guanai.generators.kinds import KINDS

    k = KINDS.get(kind)
    return k.name if k is not None else OTHER_KINDS.get(kind, kind)
