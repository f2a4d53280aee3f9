"""The outer part of a transfer package (``.gtp``): HPKE to the recipient, Ed25519 by the sender.

The bag zip is sealed with HPKE (RFC 9180, base mode) to the receiving school's X25519 key, with
the header's hash bound through ``info``, and the whole file is signed by the sending school.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke

from guanai.archive import crypto
from guanai.archive.transfer.bag import DEFAULT_LIMITS, ID_RE, Limits
from guanai.archive.transfer.identity import HPKE_SUITE, Card, Identity, canonical_json, verify
from guanai.base.errors import FormatError, InputError, IntegrityError

MAGIC = b"GTP\x00\x00\x00\x00\x01"  # "GTP", format version 1 in the last byte
FORMAT_VERSION = 1
PACKAGE_FORMAT = "guanai-transfer"
SIG_LEN = 64
MAX_HEADER = 64 * 1024
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


@dataclass(frozen=True)
class Envelope:
    header: dict[str, Any]
    header_bytes: bytes
    payload: bytes
    signature: bytes
    sha256: str  # of the whole file: what a receipt references

    @property
    def package_id(self) -> str:
        return str(self.header["package_id"])

    @property
    def sender(self) -> dict[str, str]:
        return dict(self.header["sender"])

    @property
    def recipient(self) -> dict[str, str]:
        return dict(self.header["recipient"])


def hpke_info(header_bytes: bytes) -> bytes:
    # HPKE has no AAD parameter here: the header (format version, sender, recipient, package id)
    # is bound through ``info`` by its hash, so a payload cannot be moved under another header.
    return b"guanai/v1/gtp\x00" + hashlib.sha256(header_bytes).digest()


def _signed_digest(data_without_sig: bytes) -> bytes:
    return hashlib.sha512(data_without_sig).digest()


def seal_package(bag_zip: bytes, *, package_id: str, created_at: str, purpose: str, sender: Identity,
                 recipient: Card, children: int, documents: int) -> bytes:
    """Encrypt the bag to the recipient (HPKE) and sign the whole file as the sender."""
    header = {
        "format": PACKAGE_FORMAT,
        "version": FORMAT_VERSION,
        "package_id": package_id,
        "created_at": created_at,
        "purpose": purpose,
        "sender": {"code": sender.card.code, "name": sender.card.name, "county": sender.card.county,
                   "fingerprint": sender.card.fingerprint},
        "recipient": {"code": recipient.code, "name": recipient.name, "county": recipient.county,
                      "fingerprint": recipient.fingerprint},
        "hpke_suite": HPKE_SUITE,
        "counts": {"children": children, "documents": documents},
    }
    header_bytes = canonical_json(header)
    payload = _SUITE.encrypt(bag_zip, recipient.hpke_public(), info=hpke_info(header_bytes))
    body = MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes + struct.pack(">Q", len(payload)) + payload
    return body + sender.sign("gtp", _signed_digest(body))


def parse_envelope(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Envelope:
    """Check the framing and the header (no key needed)."""
    if len(data) > limits.max_package:
        raise InputError(f"转接包过大（{len(data)} 字节，上限 {limits.max_package}）。",
                         "按去向拆分为多个转接包，或确认文件来源。")
    if len(data) < len(MAGIC) + 4 + 8 + SIG_LEN or data[:3] != MAGIC[:3]:
        raise FormatError("不是转接包（.gtp）文件。", "请确认选择了发送学校提供的 .gtp 文件。")
    if data[: len(MAGIC)] != MAGIC:
        raise FormatError(f"转接包格式版本 {data[len(MAGIC) - 1]} 不受支持。", "请升级本软件。")
    pos = len(MAGIC)
    (hlen,) = struct.unpack(">I", data[pos : pos + 4])
    pos += 4
    if hlen > MAX_HEADER or pos + hlen + 8 + SIG_LEN > len(data):
        raise IntegrityError("转接包头部长度无效：文件被截断或篡改。", "请向发送学校重新索取。")
    header_bytes = data[pos : pos + hlen]
    pos += hlen
    (plen,) = struct.unpack(">Q", data[pos : pos + 8])
    pos += 8
    if pos + plen + SIG_LEN != len(data):
        raise IntegrityError("转接包长度与头部声明不符：文件被截断或篡改。", "请向发送学校重新索取。")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IntegrityError("转接包头部不是有效的 JSON：文件被篡改。", "请向发送学校重新索取。") from err
    if not isinstance(header, dict) or canonical_json(header) != header_bytes:
        raise IntegrityError("转接包头部不是规范 JSON：文件被篡改。", "请向发送学校重新索取。")
    ok = (header.get("format") == PACKAGE_FORMAT and header.get("version") == FORMAT_VERSION
          and isinstance(header.get("package_id"), str) and ID_RE.match(header["package_id"])
          and isinstance(header.get("sender"), dict) and isinstance(header.get("recipient"), dict)
          and all(isinstance(header[s].get(k), str) for s in ("sender", "recipient")
                  for k in ("code", "name", "fingerprint"))
          and header.get("hpke_suite") == HPKE_SUITE and isinstance(header.get("counts"), dict))
    if not ok:
        raise FormatError("转接包头部缺少字段或版本不受支持。", "请升级本软件，或向发送学校重新索取。")
    payload = data[pos : pos + plen]
    signature = data[pos + plen :]
    return Envelope(header=header, header_bytes=header_bytes, payload=payload, signature=signature,
                    sha256=hashlib.sha256(data).hexdigest())


def verify_envelope(env: Envelope, data: bytes, sender_card: Card) -> None:
    """Verify the sender's signature over the whole file with the key from the directory."""
    if env.sender["code"] != sender_card.code or not crypto.ct_equal(env.sender["fingerprint"],
                                                                     sender_card.fingerprint):
        raise IntegrityError(f"转接包声称来自 {env.sender['code']}，但其密钥指纹与县级目录不符。",
                             "可能是伪造的转接包，或对方更换了密钥而目录未更新；请联系县教体局核实。")
    verify(sender_card.sign_key, "gtp", _signed_digest(data[: len(data) - SIG_LEN]), env.signature,
           f"转接包（来自 {sender_card.name}）")


def open_envelope(env: Envelope, me: Identity) -> bytes:
    """Decrypt the inner bag (only the recipient can)."""
    rcpt = env.recipient
    if rcpt["code"] != me.card.code or not crypto.ct_equal(rcpt["fingerprint"], me.card.fingerprint):
        raise InputError(f"此转接包是发给 {rcpt.get('name', '')}（{rcpt['code']}）的，不是本校（{me.card.code}）。",
                         "请转交给接收学校；本校无法也不应打开它。")
    try:
        return _SUITE.decrypt(env.payload, me.hpke, info=hpke_info(env.header_bytes))
    except (InvalidTag, ValueError) as err:
        raise IntegrityError("转接包无法解密：内容被篡改，或并非用本校密钥加密。",
                             "请向发送学校重新索取，并核对本校身份卡指纹。") from err
