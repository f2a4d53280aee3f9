"""Receiving: inspect a package, open (verify, decrypt, validate) it, then accept or reject."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive.transfer.bag import (
    DEFAULT_LIMITS,
    BagContents,
    Limits,
    check_bag,
    read_zip,
)
from guanai.archive.transfer.bagit_check import validate_with_bagit
from guanai.archive.transfer.directory import require_directory
from guanai.archive.transfer.docsig import DocChecker, check_documents, not_authentic, receiver_counts
from guanai.archive.transfer.envelope import Envelope, open_envelope, parse_envelope, verify_envelope
from guanai.archive.transfer.identity import Card, get_identity, now_iso
from guanai.archive.transfer.receipt import make_receipt
from guanai.archive.transfer.slip import SLIP_NAME
from guanai.archive.transfer.state import (
    DOCX_MIME,
    HIST_SETTING,
    IN_SETTING,
    Progress,
    load,
    read_file,
    save,
)
from guanai.base.errors import InputError, IntegrityError, NotFoundError, Problem, StateError
from guanai.base.fsutil import atomic_write

if TYPE_CHECKING:
    from guanai.archive.store import Archive


@dataclass
class OpenedPackage:
    path: Path
    data_sha256: str
    envelope: Envelope
    sender: Card
    contents: BagContents
    records: list[Any] = field(default_factory=list)  # care.model.ChildRecord, validated
    signatures_checked: bool = False  # each carried PDF's signature checked (DocItem.check)

    @property
    def signatures(self) -> dict[str, int] | None:
        """Counts of the carried PDFs' checks (``docsig.receiver_counts``); None when not checked."""
        return receiver_counts(self.contents.children) if self.signatures_checked else None

    @property
    def not_authentic(self) -> list[Problem]:
        """Every carried PDF whose signature does not validate (or cannot be read)."""
        return not_authentic(self.contents.children)

    def summary(self) -> dict[str, Any]:
        h = self.envelope.header
        return {
            "package_id": self.envelope.package_id,
            "sha256": self.data_sha256,
            "purpose": h.get("purpose"),
            "created_at": h.get("created_at"),
            "sender": {"code": self.sender.code, "name": self.sender.name},
            "recipient": self.envelope.recipient,
            "children": [{"name": c.name, "student_id": c.student_id,
                          "grade": (c.record.get("record") or {}).get("年级"),
                          "documents": [_doc_json(d, self.signatures_checked) for d in c.documents]}
                         for c in self.contents.children],
            "documents": self.contents.document_count,
            "pdf_signatures": self.signatures,
            "pdf_signature_problems": [p.to_json() for p in self.not_authentic],
        }


def _doc_json(d: Any, checked: bool = True) -> dict[str, Any]:
    """One carried document in a summary: title, kind, size, SHA-512, what the sender says of its
    signature (``sender_signature``) and, when checked, the receiver's verdict (``signature``)."""
    out = {"title": d.meta.get("title"), "kind": d.meta.get("kind"), "size": len(d.content),
           "sha512": hashlib.sha512(d.content).hexdigest(), "sender_signature": d.meta.get("pdf_signature")}
    if checked:
        out["signature"] = d.check.to_json() if d.check is not None else None
    return out


def inspect_package(arc: Archive | None, path: Path, limits: Limits = DEFAULT_LIMITS,
                    check_document: DocChecker | None = None) -> dict[str, Any]:
    """Envelope facts for anyone; signature status when a directory is held; contents for the recipient
    (with ``check_document``: each carried PDF's signature checked against the directory)."""
    path = Path(path)
    data = read_file(path, limits.max_package, "转接包")
    env = parse_envelope(data, limits)
    h = env.header
    out: dict[str, Any] = {
        "file": str(path), "package_id": env.package_id, "sha256": env.sha256, "size": len(data),
        "created_at": h.get("created_at"), "purpose": h.get("purpose"), "sender": env.sender,
        "recipient": env.recipient, "counts": h.get("counts"), "hpke_suite": h.get("hpke_suite"),
        "signature": "未核验（本档案库未导入县级目录）", "signature_ok": None, "contents": None,
    }
    if arc is None:
        return out
    try:
        d = require_directory(arc)
        sender = d.lookup(env.sender["code"], "发送学校")
        verify_envelope(env, data, sender)
        out["signature"] = f"有效：由 {sender.name}（{sender.code}）签发，与县级目录（第 {d.serial} 版）一致"
        out["signature_ok"] = True
    except StateError as err:
        out["signature"] = f"未核验：{err.message}"
        return out
    except (IntegrityError, NotFoundError) as err:
        out["signature"] = f"无效：{err.message}"
        out["signature_ok"] = False
        return out
    imported = load(arc, IN_SETTING).get(env.package_id)
    if imported:
        out["imported"] = imported
    if env.recipient.get("code") == arc.info.school_code:
        me = get_identity(arc, create=False)
        bag = open_envelope(env, me)
        files = read_zip(bag, env.package_id, limits)
        contents = check_bag(files, package_id=env.package_id, sender=env.sender["code"],
                             recipient=env.recipient["code"], limits=limits)
        if check_document is not None:
            check_documents(contents.children, check_document, d)
            out["pdf_signatures"] = receiver_counts(contents.children)
            out["pdf_signature_problems"] = [p.to_json() for p in not_authentic(contents.children)]
        out["contents"] = [{"name": c.name, "student_id": c.student_id,
                            "documents": [_doc_json(x, check_document is not None) for x in c.documents]}
                           for c in contents.children]
    return out


def _receipt_path(path: Path, receipt: Path | None) -> Path:
    return Path(receipt) if receipt else path.with_name(path.name + ".receipt")


def open_package(arc: Archive, path: Path, limits: Limits = DEFAULT_LIMITS,
                 receipt: Path | None = None, for_reject: bool = False,
                 check_document: DocChecker | None = None) -> OpenedPackage:
    """Verify, decrypt and validate a package addressed to this archive; nothing is written.

    ``for_reject``: skip the checks that only matter when accepting (records valid, not yet held,
    the carried PDFs' signatures). ``check_document``: check each carried PDF's signature against
    the county directory (the product passes ``guanai.generators.sign.check_document``); a PDF that
    does not validate does not stop the import — it is reported (``OpenedPackage.not_authentic``)
    and accepted with its verdict recorded, never as authentic.
    """
    from guanai.care.model import parse_child

    arc.require("transfer")
    path = Path(path)
    data = read_file(path, limits.max_package, "转接包")
    env = parse_envelope(data, limits)
    seen = load(arc, IN_SETTING).get(env.package_id)
    if seen is not None:
        hint = "同一转接包只能导入一次；如需重新转接，请发送学校重新导出（新编号）。"
        rp = _receipt_path(path, receipt)
        if seen.get("receipt") and seen.get("sha256") == env.sha256 and not rp.exists():
            atomic_write(rp, bytes.fromhex(seen["receipt"]), 0o600)
            hint = f"原回执已重新写出：{rp}。" + hint
        decision = "接收" if seen.get("decision") == "accepted" else "拒收"
        raise StateError(f"转接包 {env.package_id} 已于 {seen.get('at', '')} 处理过（{decision}），拒绝重复导入。", hint)
    d = require_directory(arc)
    sender = d.lookup(env.sender["code"], "发送学校")
    verify_envelope(env, data, sender)
    me = get_identity(arc)
    bag = open_envelope(env, me)
    del data
    files = read_zip(bag, env.package_id, limits)
    del bag
    contents = check_bag(files, package_id=env.package_id, sender=sender.code, recipient=me.card.code,
                         limits=limits)
    validate_with_bagit(files, env.package_id)
    counts = env.header.get("counts") or {}
    if counts.get("children") != len(contents.children) or counts.get("documents") != contents.document_count:
        raise IntegrityError("转接包头部声明的人数/文书数与内容不符。", "请向发送学校重新索取。")
    records = []
    problems: list[Problem] = []
    for c in contents.children:
        if for_reject:
            continue
        rec = parse_child(c.record["record"], f"转接包中 {c.student_id} 的档案记录")
        if rec.student_id != c.student_id:
            problems.append(Problem(f"data/{c.student_id}/record.json", "记录中的学籍号与目录不一致",
                                    code="transfer.student_id"))
        existing = arc.find_child(c.student_id)
        if existing is not None:
            problems.append(Problem(f"{c.name}（{c.student_id}）", f"已在本校档案库中（状态：{existing.status}）",
                                    code="transfer.already_held"))
        records.append(rec)
    if problems:
        raise StateError(f"无法接收（{len(problems)} 处问题）", "已在册的儿童不能重复接收；请与发送学校核实，必要时拒收。",
                         problems)
    checked = False
    if check_document is not None and not for_reject:
        check_documents(contents.children, check_document, d)
        checked = True
    return OpenedPackage(path=path, data_sha256=env.sha256, envelope=env, sender=sender, contents=contents,
                         records=records, signatures_checked=checked)


@dataclass
class ImportResult:
    decision: str  # 'accepted' | 'rejected'
    package_id: str
    receipt_path: Path
    child_ids: list[str]
    documents: int
    pdf_signatures: dict[str, int] | None = None  # the carried PDFs' checks (None: not checked)


def _receipt_body(opened: OpenedPackage, decision: str, reason: str | None,
                  head: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        # the recipient archive's head when it decided (FORMAT.md §6.4): a witness kept by the sender
        "archive_head": head,
        "package_id": opened.envelope.package_id,
        "package_sha256": opened.data_sha256,
        "sender": {"code": opened.sender.code, "name": opened.sender.name},
        "decision": decision,
        "reason": reason,
        "decided_at": now_iso(),
        "children": [{"sender_child_id": c.record.get("sender_child_id"),
                      "documents": len(c.documents)} for c in opened.contents.children],
        "documents": opened.contents.document_count,
    }


def accept(arc: Archive, opened: OpenedPackage, receipt: Path | None = None,
           progress: Progress | None = None) -> ImportResult:
    """Re-seal everything under this archive's keys, in one transaction; then write the receipt."""
    arc.require("transfer")
    arc.require("write")
    me = get_identity(arc)
    env = opened.envelope
    today = date.today().isoformat()
    provenance = {"from": opened.sender.code, "from_name": opened.sender.name, "to": me.card.code,
                  "package_id": env.package_id, "package_sha256": opened.data_sha256, "at": now_iso(),
                  "purpose": env.header.get("purpose")}
    if len(opened.records) != len(opened.contents.children):
        raise StateError("转接包尚未按接收要求校验。", "请用 open_package(..., for_reject=False) 打开后再接收。")
    child_ids: list[str] = []
    n_docs = 0
    receipt_bytes = make_receipt(me, _receipt_body(opened, "accepted", None, arc.head()))
    with arc.transaction():
        if env.package_id in load(arc, IN_SETTING):  # re-check under the writer lock
            raise StateError(f"转接包 {env.package_id} 已处理过，拒绝重复导入。", "同一转接包只能导入一次。")
        history = load(arc, HIST_SETTING)
        for child, rec in zip(opened.contents.children, opened.records, strict=True):
            rec = rec.model_copy(update={"school": arc.info.school_name, "status": "在册"})
            cid = arc.add_child(rec, status="在册")
            child_ids.append(cid)
            for doc in child.documents:
                m = doc.meta
                extra = dict(m.get("meta") or {})
                extra["transfer"] = {**provenance, "sender_doc_id": m.get("sender_doc_id"),
                                     "sender_created_at": m.get("created_at")}
                if m.get("pdf_signature"):
                    extra["transfer"]["sender_signature"] = m.get("pdf_signature")
                if doc.check is not None:  # the verdict stays with the document: never taken as authentic later
                    extra["transfer"]["pdf_signature"] = doc.check.to_json()
                arc.put_document(kind=str(m.get("kind") or "attachment"), title=str(m.get("title") or "文书"),
                                 content=doc.content, filename=str(m.get("filename") or "document"),
                                 mime=str(m.get("mime") or "application/octet-stream"), child_id=cid,
                                 form=m.get("form") if isinstance(m.get("form"), dict) else None,
                                 text=m.get("text") if isinstance(m.get("text"), str) else None,
                                 doc_date=m.get("doc_date") if isinstance(m.get("doc_date"), str) else None,
                                 meta=extra)
                n_docs += 1
            if child.slip:
                arc.put_document(kind="transfer-slip", title=f"档案转接单（由{opened.sender.name}转入）",
                                 content=child.slip, filename=SLIP_NAME, mime=DOCX_MIME, child_id=cid,
                                 doc_date=today, meta={"transfer": provenance})
            prior = child.history.get("transfers")
            history[cid] = [*(prior if isinstance(prior, list) else []), provenance]
            if progress:
                progress(1, len(opened.records))
        save(arc, HIST_SETTING, history)
        imported = load(arc, IN_SETTING)
        imported[env.package_id] = {"sha256": opened.data_sha256, "decision": "accepted", "at": now_iso(),
                                    "from": opened.sender.code, "from_name": opened.sender.name,
                                    "children": child_ids,
                                    "receipt": receipt_bytes.hex()}
        save(arc, IN_SETTING, imported)
        arc.audit("transfer.import", env.package_id, {
            "decision": "accepted", "from": opened.sender.code, "children": child_ids, "documents": n_docs,
            "sha256": opened.data_sha256, "pdf_signatures": opened.signatures})
    rp = _receipt_path(opened.path, receipt)
    atomic_write(rp, receipt_bytes, 0o600)
    return ImportResult("accepted", env.package_id, rp, child_ids, n_docs, opened.signatures)


def reject(arc: Archive, opened: OpenedPackage, reason: str, receipt: Path | None = None) -> ImportResult:
    """Record the rejection (replay protection) and write a signed rejection receipt."""
    arc.require("transfer")
    if not reason.strip():
        raise InputError("拒收必须说明原因。", "例如 --reject \"该生未到我校报到\"")
    me = get_identity(arc)
    body = _receipt_body(opened, "rejected", reason.strip(), arc.head())
    receipt_bytes = make_receipt(me, body)
    with arc.transaction():
        imported = load(arc, IN_SETTING)
        if opened.envelope.package_id in imported:
            raise StateError(f"转接包 {opened.envelope.package_id} 已处理过。", "同一转接包只能处理一次。")
        imported[opened.envelope.package_id] = {"sha256": opened.data_sha256, "decision": "rejected",
                                                "at": now_iso(), "from": opened.sender.code,
                                                "from_name": opened.sender.name, "reason": reason,
                                                "receipt": receipt_bytes.hex()}
        save(arc, IN_SETTING, imported)
        arc.audit("transfer.reject", opened.envelope.package_id,
                  {"from": opened.sender.code, "reason": reason, "sha256": opened.data_sha256})
    rp = _receipt_path(opened.path, receipt)
    atomic_write(rp, receipt_bytes, 0o600)
    return ImportResult("rejected", opened.envelope.package_id, rp, [], 0)
