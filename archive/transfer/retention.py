"""Back at the sender: confirm a receipt, then keep what the retention policy allows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive.transfer.directory import require_directory
from guanai.archive.transfer.identity import Card, now_iso
from guanai.archive.transfer.receipt import parse_receipt, verify_receipt
from guanai.archive.transfer.state import (
    OUT_SETTING,
    load,
    read_file,
    save,
)
from guanai.base.errors import InputError, IntegrityError, NotFoundError, StateError

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry


@dataclass(frozen=True)
class Retention:
    """What the sender keeps after an accepted transfer.

    ``sealed``: the whole dossier stays (read-only, status 转出) until ``retain_until``;
    ``minimal``: only a minimal record (name, 学籍号, school, grade) and the receipt.
    """

    mode: str = "sealed"
    years: int = 3

    def __post_init__(self) -> None:
        if self.mode not in ("sealed", "minimal"):
            raise InputError(f"保留方式不正确：{self.mode}", "可选 sealed（保留加密副本 N 年）或 minimal（仅回执与最小记录）。")
        if not 0 <= self.years <= 100:
            raise InputError(f"保留年限不正确：{self.years}", "应为 0–100 年。")


_MINIMAL_KEYS = ("姓名", "性别", "出生日期", "身份证号", "学籍号", "学校", "年级", "班级")


@dataclass
class ConfirmResult:
    package_id: str
    decision: str
    recipient: Card
    children: list[str]
    retention: Retention
    retain_until: str | None
    deleted_documents: int = 0
    reason: str | None = None


def confirm(arc: Archive, receipt_path: Path, retention: Retention | None = None) -> ConfirmResult:
    """Verify a receipt and apply its decision to the children of the package."""
    arc.require("transfer")
    arc.require("write")
    retention = retention or Retention()
    receipt_path = Path(receipt_path)
    data = read_file(receipt_path, 1 << 20, "回执")
    rc = parse_receipt(data)
    outgoing = load(arc, OUT_SETTING)
    entry = outgoing.get(rc.package_id)
    if entry is None:
        raise NotFoundError(f"本校没有发出过转接包 {rc.package_id}。", "请确认回执来自本校发出的转接包。")
    rcode = str(rc.body["recipient"].get("code"))
    if rcode != entry["recipient"]:
        raise IntegrityError(f"回执来自 {rcode}，但该转接包是发给 {entry['recipient']} 的。", "不要使用此回执。")
    card = require_directory(arc).lookup(rcode, "接收学校")
    verify_receipt(rc, card)
    if str(rc.body.get("package_sha256")) != entry["sha256"]:
        raise IntegrityError("回执所引用的转接包校验值与本校发出的不符。", "对方导入的可能不是本校发出的原件；请联系接收学校核实。")
    if entry.get("state") in ("accepted", "rejected"):
        raise StateError(f"转接包 {rc.package_id} 的回执已于 {entry.get('confirmed_at', '')} 确认过。", "无需重复确认。")
    decision = str(rc.body["decision"])
    retain_until: str | None = None
    deleted = 0
    with arc.transaction():
        # applied once: re-read under the writer lock (another confirm may have just applied it)
        entry = load(arc, OUT_SETTING).get(rc.package_id) or entry
        if entry.get("state") in ("accepted", "rejected"):
            raise StateError(f"转接包 {rc.package_id} 的回执已于 {entry.get('confirmed_at', '')} 确认过。", "无需重复确认。")
        for cid in entry["children"]:
            e = arc.find_child(cid)
            if e is None:
                continue
            if decision == "accepted":
                reason = f"转入 {card.name}（{card.code}），转接包 {rc.package_id}"
                if e.status in ("转出", "存档备查", "毕业"):
                    arc.set_child_status(cid, "在册", f"确认转出前临时启用（{reason}）")
                arc.put_document(kind="transfer-receipt", title=f"转接回执（{card.name} 已接收）", content=data,
                                 filename=receipt_path.name if receipt_path.name.endswith(".receipt")
                                 else "transfer.receipt", mime="application/json", child_id=cid,
                                 doc_date=date.today().isoformat(),
                                 meta={"package_id": rc.package_id, "recipient": card.code})
                if retention.mode == "minimal":
                    deleted += _reduce_to_minimal(arc, e)
                arc.set_child_status(cid, "转出", reason)
            else:
                if e.status != "在册":
                    arc.set_child_status(cid, "在册", f"转接被 {card.name} 拒收：{rc.body.get('reason')}")
        if decision == "accepted" and retention.mode == "sealed":
            d0 = date.today()
            try:
                retain_until = d0.replace(year=d0.year + retention.years).isoformat()
            except ValueError:  # 29 February
                retain_until = d0.replace(year=d0.year + retention.years, day=28).isoformat()
        entry.update({"state": decision, "confirmed_at": now_iso(), "reason": rc.body.get("reason"),
                      "retention": retention.mode, "retain_until": retain_until})
        outgoing[rc.package_id] = entry
        save(arc, OUT_SETTING, outgoing)
        arc.audit("transfer.confirm", rc.package_id, {
            "decision": decision, "recipient": card.code, "children": entry["children"],
            "retention": retention.mode, "retain_until": retain_until, "deleted_documents": deleted})
    return ConfirmResult(rc.package_id, decision, card, list(entry["children"]), retention, retain_until, deleted,
                         rc.body.get("reason"))


def _reduce_to_minimal(arc: Archive, e: ChildEntry) -> int:
    """Minimal record + only the receipt(s); the child must be editable (在册). Returns documents deleted."""
    from guanai.care.model import ChildRecord

    full = e.record.to_json_dict()
    arc.update_child(e.id, ChildRecord.model_validate({k: full[k] for k in _MINIMAL_KEYS if k in full}))
    return _delete_documents(arc, e.id, keep_kind="transfer-receipt")


@dataclass
class Expired:
    package_id: str
    recipient: str
    recipient_name: str
    retain_until: str
    children: list[str]
    deleted_documents: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"package_id": self.package_id, "recipient": self.recipient, "recipient_name": self.recipient_name,
                "retain_until": self.retain_until, "children": self.children,
                "deleted_documents": self.deleted_documents}


def expire_retention(arc: Archive, today: date | None = None, dry_run: bool = False) -> list[Expired]:
    """Sealed copies of transferred-out dossiers whose retention ended: keep only receipt + minimal record.

    A child reopened since the transfer (status no longer 转出) is left untouched. One transaction.
    """
    arc.require("transfer")
    if not dry_run:
        arc.require("write")
    day = (today or date.today()).isoformat()
    outgoing = load(arc, OUT_SETTING)
    due = [Expired(pid, str(e.get("recipient")), str(e.get("recipient_name", "")), str(e["retain_until"]),
                   list(e.get("children", [])))
           for pid, e in sorted(outgoing.items())
           if e.get("state") == "accepted" and e.get("retention") == "sealed" and e.get("retain_until")
           and str(e["retain_until"]) <= day]
    if dry_run or not due:
        return due
    with arc.transaction():
        for x in due:
            for cid in x.children:
                e = arc.find_child(cid)
                if e is None or e.status != "转出":
                    continue
                arc.set_child_status(cid, "在册", f"保留期满（{x.retain_until}），精简档案")
                x.deleted_documents += _reduce_to_minimal(arc, arc.get_child(cid))
                arc.set_child_status(cid, "转出", f"保留期满（{x.retain_until}），仅留回执与最小记录")
            outgoing[x.package_id].update({"retention": "minimal", "reduced_at": now_iso(),
                                           "deleted_documents": x.deleted_documents})
            arc.audit("transfer.expire", x.package_id, {"children": x.children, "retain_until": x.retain_until,
                                                         "deleted_documents": x.deleted_documents})
        save(arc, OUT_SETTING, outgoing)
    return due


def _delete_documents(arc: Archive, child_id: str, keep_kind: str) -> int:
    """Remove a child's documents except ``keep_kind`` (minimal retention), in the caller's transaction."""
    docs = [d for d in arc.list_documents(child_id=child_id) if d.kind != keep_kind]
    for d in docs:
        arc.delete_document(d.id, "转出后按保留策略删除")
    return len(docs)
