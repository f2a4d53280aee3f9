"""Chinese names of every document kind stored in an archive (for listings and search hits)."""

from __future__ import annotations

# kinds stored by the archive itself rather than generated from a form
OTHER_KINDS = {
    "attachment": "附件",
    "transfer-slip": "档案转接单",
    "transfer-receipt": "转接回执",
    "child-photo": "照片",
    "child": "儿童档案",
}


def kind_label(kind: str) -> str:
    """The Chinese name of a document kind; the id itself when unknown (e.g. a newer kind)."""
    from guanai.generators.kinds import KINDS

    k = KINDS.get(kind)
    return k.name if k is not None else OTHER_KINDS.get(kind, kind)


def resolve_kind(text: str) -> str:
    """A stored kind's id from its id or Chinese name (家访记录表, 附件, 儿童档案); InputError otherwise."""
    from guanai.base.errors import InputError
    from guanai.generators.kinds import find_kind, kind_choices

    k = find_kind(text)
    if k is not None:
        return k.id
    key = (text or "").strip()
    for kid, name in OTHER_KINDS.items():
        if key in (kid, name):
            return kid
    others = "、".join(f"{kid}（{name}）" for kid, name in OTHER_KINDS.items())
    raise InputError(f"未知的文书种类“{text}”。", f"可用的种类（代号或中文名称均可）：{kind_choices()}、{others}。")
