"""Signed receipts: the receiving school's accept/reject decision, returned to the sender."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from guanai.archive import crypto
from guanai.archive.transfer.bag import ID_RE
from guanai.archive.transfer.envelope import FORMAT_VERSION
from guanai.archive.transfer.identity import Card, Identity, canonical_json, split_signed, verify
from guanai.base.errors import FormatError, IntegrityError

RECEIPT_FORMAT = "guanai-receipt"


@dataclass(frozen=True)
class Receipt:
    body: dict[str, Any]
    signature: bytes

    @property
    def package_id(self) -> str:
        return str(self.body["package_id"])


def make_receipt(me: Identity, body: dict[str, Any]) -> bytes:
    body = {"format": RECEIPT_FORMAT, "version": FORMAT_VERSION, **body,
            "recipient": {"code": me.card.code, "name": me.card.name, "fingerprint": me.card.fingerprint}}
    sig = me.sign("receipt", canonical_json(body))
    return json.dumps({"body": body, "signature": sig.hex()}, ensure_ascii=False, indent=2,
                      sort_keys=True).encode("utf-8") + b"\n"


def parse_receipt(data: bytes) -> Receipt:
    body, sig = split_signed(data, limit=1 << 20, what="回执文件",
                             hint="请使用接收学校 transfer import 生成的 .receipt 文件。")
    if not isinstance(body, dict) or body.get("format") != RECEIPT_FORMAT or body.get("version") != FORMAT_VERSION:
        raise FormatError("回执格式或版本不受支持。", "请升级本软件，或请接收学校重新生成回执。")
    ok = (isinstance(body.get("package_id"), str) and ID_RE.match(body["package_id"])
          and body.get("decision") in ("accepted", "rejected") and isinstance(body.get("package_sha256"), str)
          and isinstance(body.get("recipient"), dict) and isinstance(body["recipient"].get("code"), str))
    if not ok:
        raise FormatError("回执缺少必要字段。", "请请接收学校重新生成回执。")
    return Receipt(body=body, signature=sig)


def verify_receipt(receipt: Receipt, recipient_card: Card) -> None:
    r = receipt.body["recipient"]
    if r.get("code") != recipient_card.code or not crypto.ct_equal(str(r.get("fingerprint", "")),
                                                                   recipient_card.fingerprint):
        raise IntegrityError(f"回执声称来自 {r.get('code')}，但其密钥指纹与县级目录不符。", "请联系接收学校与县教体局核实。")
    verify(recipient_card.sign_key, "receipt", canonical_json(receipt.body), receipt.signature,
           f"回执（来自 {recipient_card.name}）")
