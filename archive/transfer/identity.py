"""School (or county) identity: an Ed25519 signing key and an X25519 HPKE key per archive.

The private halves are sealed with ``K_identity`` (FORMAT.md §4) and kept in the sealed settings
row ``identity``; they are created at first use. The public *card* (code, name, county, kind,
both public keys) is what the county directory lists; its fingerprint is the SHA-256 of the
card's canonical JSON, shown in groups of four hex digits so people can compare it by phone.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from guanai.archive import crypto
from guanai.base.errors import FormatError, InputError, IntegrityError, PermissionDenied

if TYPE_CHECKING:
    from guanai.archive.store import Archive

CARD_FORMAT = "guanai-card"
CARD_VERSION = 1
SETTING = "identity"
HPKE_SUITE = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
KINDS = ("school", "county")
_CODE_RE = re.compile(r"^[0-9A-Za-z]{4,20}$")
_RAW = serialization.Encoding.Raw
_RAW_PUB = serialization.PublicFormat.Raw
_RAW_PRIV = serialization.PrivateFormat.Raw
_NOENC = serialization.NoEncryption()


def canonical_json(obj: Any) -> bytes:
    """Canonical serialisation of authenticated JSON (FORMAT.md §1)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def group_fingerprint(fp: str) -> str:
    """'ab12cd34…' → 'AB12 CD34 …' (easier to read aloud and compare)."""
    fp = fp.upper()
    return " ".join(fp[i : i + 4] for i in range(0, len(fp), 4))


def normalize_fingerprint(text: str) -> str:
    """Accept a fingerprint typed with spaces, colons or dashes, any case."""
    fp = re.sub(r"[\s:\-]", "", text).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", fp):
        raise InputError(f"指纹格式不正确：{text!r}", "指纹为 64 位十六进制数字（可带空格分组），如 identity show 所示。")
    return fp


def check_code(code: str, what: str = "学校代码") -> str:
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise InputError(f"{what}格式不正确：{code!r}", "代码由 4–20 位字母或数字组成，如 3413220001。")
    return code


def _domain(purpose: str) -> bytes:
    return b"guanai/v1/" + purpose.encode("ascii") + b"\x00"


def sign(key: Ed25519PrivateKey, purpose: str, message: bytes) -> bytes:
    """Ed25519 signature with a domain-separation prefix, so a signature never serves two purposes."""
    return key.sign(_domain(purpose) + message)


def verify(public: bytes, purpose: str, message: bytes, signature: bytes, what: str) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, _domain(purpose) + message)
    except (InvalidSignature, ValueError) as err:
        raise IntegrityError(f"{what}的签名无效：内容被篡改，或并非由所称的单位签发。",
                             "不要使用此文件；请向发送方重新索取。") from err


@dataclass(frozen=True)
class Card:
    """The public identity of an archive (school or county)."""

    code: str
    name: str
    county: str
    kind: str
    sign_key: bytes  # Ed25519 public key, 32 bytes
    hpke_key: bytes  # X25519 public key, 32 bytes

    def body(self) -> dict[str, Any]:
        return {
            "format": CARD_FORMAT,
            "version": CARD_VERSION,
            "code": self.code,
            "name": self.name,
            "county": self.county,
            "kind": self.kind,
            "sign_key": self.sign_key.hex(),
            "hpke_key": self.hpke_key.hex(),
            "hpke_suite": HPKE_SUITE,
        }

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(canonical_json(self.body())).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "fingerprint": self.fingerprint}

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"

    def hpke_public(self) -> X25519PublicKey:
        return X25519PublicKey.from_public_bytes(self.hpke_key)


def split_signed(data: bytes, *, limit: int, what: str, hint: str) -> tuple[Any, bytes]:
    """The ``body`` and ``signature`` of a signed JSON file (directory, receipt), size bounded first.

    Nothing is verified here; ``what`` names the file in messages, ``hint`` says where a good one
    comes from.
    """
    if len(data) > limit:
        raise InputError(f"{what}过大（{len(data)} 字节）。", "请确认文件来源。")
    try:
        obj = json.loads(data.decode("utf-8"))
        return obj["body"], bytes.fromhex(obj["signature"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise FormatError(f"不是有效的{what}。", hint) from err


def card_from_dict(obj: Any, where: str = "身份卡") -> Card:
    """Validate a card's JSON object; the fingerprint, when present, must match the content."""
    if not isinstance(obj, dict):
        raise FormatError(f"{where}不是有效的身份卡（应为 JSON 对象）。", "请使用 guanai identity export 导出的文件。")
    if obj.get("format") != CARD_FORMAT:
        raise FormatError(f"{where}不是身份卡（format 应为 {CARD_FORMAT}）。", "请使用 guanai identity export 导出的文件。")
    if obj.get("version") != CARD_VERSION:
        raise FormatError(f"{where}的版本 {obj.get('version')!r} 不受支持。", "请升级本软件或请对方重新导出。")
    try:
        name, county, kind = obj["name"], obj["county"], obj["kind"]
        sign_key = bytes.fromhex(obj["sign_key"])
        hpke_key = bytes.fromhex(obj["hpke_key"])
        code = obj["code"]
    except (KeyError, TypeError, ValueError) as err:
        raise FormatError(f"{where}缺少字段或字段格式错误：{err}", "请请对方重新导出身份卡。") from err
    check_code(code)
    check_code(county, "县区代码")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise FormatError(f"{where}的名称无效。", "名称应为 1–100 个字符。")
    if kind not in KINDS:
        raise FormatError(f"{where}的类型 {kind!r} 无效。", "类型应为 school 或 county。")
    if len(sign_key) != 32 or len(hpke_key) != 32:
        raise FormatError(f"{where}的公钥长度不正确。", "请请对方重新导出身份卡。")
    if obj.get("hpke_suite", HPKE_SUITE) != HPKE_SUITE:
        raise FormatError(f"{where}的 HPKE 套件 {obj.get('hpke_suite')!r} 不受支持。", f"本版本仅支持 {HPKE_SUITE}。")
    card = Card(code=code, name=name, county=county, kind=kind, sign_key=sign_key, hpke_key=hpke_key)
    fp = obj.get("fingerprint")
    if fp is not None and not crypto.ct_equal(str(fp).lower(), card.fingerprint):
        raise IntegrityError(f"{where}的指纹与内容不符：文件被改动过。", "请向对方重新索取身份卡，并电话核对指纹。")
    return card


def parse_card(data: bytes, where: str = "身份卡") -> Card:
    if len(data) > 64 * 1024:
        raise InputError(f"{where}过大（{len(data)} 字节）。", "身份卡只有几百字节；请确认文件。")
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FormatError(f"{where}不是有效的 JSON：{err}", "请使用 guanai identity export 导出的文件。") from err
    return card_from_dict(obj, where)


@dataclass(frozen=True)
class Identity:
    """This archive's keys (private halves in memory only while the archive is open)."""

    card: Card
    signing: Ed25519PrivateKey
    hpke: X25519PrivateKey

    def sign(self, purpose: str, message: bytes) -> bytes:
        return sign(self.signing, purpose, message)


def _key_seal_ctx(arc: Archive, which: str) -> tuple[str, bytes, bytes]:
    suite = arc.info.suite
    key = arc.subkey("identity", crypto.SUITE_KEY_LEN[suite])
    aad = crypto.context_aad(arc.info.archive_id, "identity", which, arc.info.archive_id)
    return suite, key, aad


def _seal_private(arc: Archive, which: str, raw: bytes) -> str:
    suite, key, aad = _key_seal_ctx(arc, which)
    return crypto.seal(suite, key, raw, aad).hex()


def _unseal_private(arc: Archive, which: str, blob_hex: str) -> bytes:
    suite, key, aad = _key_seal_ctx(arc, which)
    return crypto.unseal(suite, key, bytes.fromhex(blob_hex), aad, what=f"本校身份私钥（{which}）")


def _card_for(arc: Archive, sign_pub: bytes, hpke_pub: bytes) -> Card:
    info = arc.info
    kind = getattr(info, "kind", "school") or "school"
    return Card(code=info.school_code, name=info.school_name, county=info.county_code, kind=kind,
                sign_key=sign_pub, hpke_key=hpke_pub)


def has_identity(arc: Archive) -> bool:
    return arc.get_setting(SETTING) is not None


def get_identity(arc: Archive, create: bool = True) -> Identity:
    """Load this archive's identity; create it at first use (needs a writable archive)."""
    raw = arc.get_setting(SETTING)
    if raw is None:
        if not create:
            raise PermissionDenied("本档案库尚未生成身份密钥。", "由管理员执行 guanai identity show 一次即可生成。")
        signing = Ed25519PrivateKey.generate()
        hpke = X25519PrivateKey.generate()
        stored = {
            "version": 1,
            "created_at": now_iso(),
            "sign_priv": _seal_private(arc, "sign", signing.private_bytes(_RAW, _RAW_PRIV, _NOENC)),
            "hpke_priv": _seal_private(arc, "hpke", hpke.private_bytes(_RAW, _RAW_PRIV, _NOENC)),
        }
        arc.set_setting(SETTING, canonical_json(stored))
        ident = Identity(_card_for(arc, signing.public_key().public_bytes(_RAW, _RAW_PUB),
                                   hpke.public_key().public_bytes(_RAW, _RAW_PUB)), signing, hpke)
        arc.audit("identity.create", ident.card.code, {"fingerprint": ident.card.fingerprint})
        return ident
    try:
        stored = json.loads(raw)
        if stored.get("version") != 1:
            raise FormatError(f"身份密钥记录版本 {stored.get('version')!r} 不受支持。", "请升级本软件。")
        sign_hex, hpke_hex = stored["sign_priv"], stored["hpke_priv"]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise IntegrityError("本校身份密钥记录已损坏。", "运行 guanai verify 检查档案库，必要时由备份恢复。") from err
    signing = Ed25519PrivateKey.from_private_bytes(_unseal_private(arc, "sign", sign_hex))
    hpke = X25519PrivateKey.from_private_bytes(_unseal_private(arc, "hpke", hpke_hex))
    card = _card_for(arc, signing.public_key().public_bytes(_RAW, _RAW_PUB),
                     hpke.public_key().public_bytes(_RAW, _RAW_PUB))
    return Identity(card, signing, hpke)
