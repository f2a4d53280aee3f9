"""The living 一人一卡一策: the card's 跟踪记录 from the child's 帮扶记录 and 家访记录表 in the
archive, and the plan written back onto the child's record when a card says more than it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guanai.care.model import parse_child

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry
    from guanai.generators.forms import FormBase

MAX_FOLLOWUPS = 60
_CONTENT_MAX = 300


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CONTENT_MAX else text[: _CONTENT_MAX - 1] + "…"


def _from_care_record(form: dict[str, Any]) -> dict[str, Any] | None:
    if not form.get("日期") or not form.get("帮扶方面"):
        return None
    content = str(form.get("帮扶内容", ""))
    if form.get("帮扶效果"):
        content += f"（效果：{form['帮扶效果']}）"
    return {"日期": form["日期"], "方面": form["帮扶方面"], "内容": _clip(content), "记录人": form.get("帮扶人", "")}


def _from_home_visit(form: dict[str, Any]) -> dict[str, Any] | None:
    if not form.get("家访日期"):
        return None
    found = form.get("商定的措施") or form.get("发现的问题") or form.get("家庭情况") or ""
    content = f"{form.get('家访形式', '')}家访" + (f"：{found}" if found else "")
    teachers = form.get("家访教师") or []
    return {"日期": form["家访日期"], "方面": "家访", "内容": _clip(content),
            "记录人": "、".join(teachers) if isinstance(teachers, list) else str(teachers)}


def _voided(arc: Archive, doc_id: str) -> bool:
    from guanai.archive.documents import VOID_PREFIX  # the void marker: sealed setting void.<id>

    return arc.get_setting(VOID_PREFIX + doc_id) is not None


def current_cards(arc: Archive, child_id: str | None = None) -> dict[str, str]:
    """Child id -> id of the child's current 一人一卡一策档案卡 (.docx): the newest one stored (not
    voided); earlier cards are the dossier's history. Listings mark these as current."""
    out: dict[str, tuple[int, str, str]] = {}
    for doc in arc.list_documents(child_id=child_id, kind="child-card"):
        if doc.child_id is None or doc.meta.get("pdf_of") or _voided(arc, doc.id):
            continue
        key = (doc.gen, doc.created_at, doc.id)  # gen: the write transaction, in order
        if doc.child_id not in out or key > out[doc.child_id]:
            out[doc.child_id] = key
    return {child: key[2] for child, key in out.items()}


def followups(arc: Archive, child_id: str) -> list[dict[str, Any]]:
    """The child's 帮扶记录 and 家访记录表 as 跟踪记录 rows (oldest first; PDF copies not twice)."""
    rows: list[dict[str, Any]] = []
    for kind, convert in (("care-record", _from_care_record), ("home-visit", _from_home_visit)):
        for doc in arc.list_documents(child_id=child_id, kind=kind):
            if doc.meta.get("pdf_of") or _voided(arc, doc.id):
                continue
            form = arc.document_form(doc.id)
            row = convert(form) if isinstance(form, dict) else None
            if row is not None:
                rows.append(row)
    rows.sort(key=lambda r: str(r["日期"]))
    return rows[-MAX_FOLLOWUPS:]


def save_to_record(arc: Archive, entry: ChildEntry, model: FormBase) -> bool:
    """Write what a generated card says that belongs on the child's record: its plan and 需求评估
    (the card was prefilled from the record, so a difference is what the person wrote now) and
    the 建档日期 if the record has none yet (the first filing date stays). True if it changed."""
    patch = model.record_patch()
    if not patch or entry.status != "在册":
        return False
    data = entry.record.to_json_dict()
    merged = dict(data)
    for key, value in patch.items():
        if key == "建档日期":
            merged.setdefault(key, value)
        elif key == "一策":
            merged[key] = {**(data.get(key) or {}), **value}
        else:
            merged[key] = value
    if merged == data:
        return False
    arc.update_child(entry.id, parse_child(merged, "档案卡"))
    return True
