"""Registry of document kinds: id → Chinese name, form model, template, audience, format."""

from __future__ import annotations

from dataclasses import dataclass

from guanai.base.errors import InputError
from guanai.generators import forms


@dataclass(frozen=True)
class Kind:
    id: str
    name: str  # Chinese name shown to users
    model: type[forms.FormBase]
    template: str  # file name under templates/
    to_family: bool  # goes to families or is posted: must not label a child 留守/困境
    official: bool  # 公文 (GB/T 9704-2012 format)
    per_child: bool  # about one child (linked to the child's dossier)

    @property
    def sample(self) -> str:
        return f"{self.id}.yaml"


KINDS: dict[str, Kind] = {
    k.id: k
    for k in [
        Kind("child-card", "一人一卡一策档案卡", forms.ChildCard, "child-card.docx", False, False, True),
        Kind("home-visit", "家访记录表", forms.HomeVisit, "home-visit.docx", False, False, True),
        Kind("persuasion-notice", "劝返复学通知书", forms.PersuasionNotice, "persuasion-notice.docx",
             True, False, True),
        Kind("dropout-report", "辍学情况报告（报乡镇政府）", forms.DropoutReport, "dropout-report.docx",
             False, True, True),
        Kind("missing-report", "去向不明报告（报乡镇政府、派出所）", forms.MissingReport,
             "missing-report.docx", False, True, True),
        Kind("supervision-report", "督查报告", forms.SupervisionReport, "supervision-report.docx",
             False, True, False),
        Kind("circular", "通报", forms.Circular, "circular.docx", False, True, False),
        Kind("leading-group-notice", "关于成立领导小组的通知", forms.LeadingGroupNotice,
             "leading-group-notice.docx", False, True, False),
        Kind("entrusted-care", "委托照护告知书", forms.EntrustedCare, "entrusted-care.docx", True, False, True),
        Kind("care-record", "帮扶记录", forms.CareRecord, "care-record.docx", False, False, True),
    ]
}


def _plain(name: str) -> str:
    """A kind's Chinese name without its parenthesised addressee: 辍学情况报告（报乡镇政府） -> 辍学情况报告."""
    return name.split("（", 1)[0].strip()


def find_kind(text: str) -> Kind | None:
    """The kind named by its id (home-visit) or Chinese name (家访记录表, 辍学情况报告), else None."""
    key = (text or "").strip()
    if key in KINDS:
        return KINDS[key]
    low = key.lower()
    for k in KINDS.values():
        if key in (k.name, _plain(k.name)) or low == k.id:
            return k
    return None


def kind_choices() -> str:
    return "、".join(f"{k.id}（{_plain(k.name)}）" for k in KINDS.values())


def get_kind(kind_id: str) -> Kind:
    """A kind by id or Chinese name; InputError listing the valid ones otherwise."""
    k = find_kind(kind_id)
    if k is None:
        raise InputError(f"未知的文书种类“{kind_id}”。",
                         "可用的种类（代号或中文名称均可）：" + kind_choices() + "。")
    return k
