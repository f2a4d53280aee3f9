"""Cryptographic primitives of the archive format (FORMAT.md §4–5).

Everything here is pure: keys and bytes in, bytes out. The framing of a sealed value is
``version(1) ‖ suite(1) ‖ nonce(12) ‖ ciphertext ‖ tag(16)``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from guanai.base.errors import InputError, IntegrityError

SEALED_VERSION = 0x01
NONCE_LEN = 12
TAG_LEN = 16
HEADER_LEN = 2 + NONCE_LEN
MIN_SEALED_LEN = HEADER_LEN + TAG_LEN

SUITE_IDS = {"aes-256-gcm": 0x01, "sm4-gcm": 0x02}
SUITE_NAMES = {v: k for k, v in SUITE_IDS.items()}
SUITE_KEY_LEN = {"aes-256-gcm": 32, "sm4-gcm": 16}


def check_suite(suite: str) -> str:
    if suite not in SUITE_IDS:
        raise InputError(f"不支持的加密套件：{suite}", "可选 aes-256-gcm（默认）或 sm4-gcm。")
    return suite


def hkdf(ikm: bytes, label: str, length: int = 32) -> bytes:
    """One-line key derivation with a domain-separation label (FORMAT.md §4)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label.encode()).derive(ikm)


def context_aad(archive_id: str, table: str, column: str, row_id: str) -> bytes:
    """AAD binding a sealed value to where it belongs: moving it elsewhere breaks the tag."""
    return b"\x00".join(p.encode() for p in ("guanai/v1", archive_id, table, column, row_id))


def _sm4_encrypt(key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    # cryptography has no SM4 AEAD class: GCM mode on the SM4 block cipher, AAD fed explicitly.
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    ct = enc.update(data) + enc.finalize()
    return ct + enc.tag


def _sm4_decrypt(key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    ct, tag = data[:-TAG_LEN], data[-TAG_LEN:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    return dec.update(ct) + dec.finalize()


def seal(suite: str, key: bytes, plaintext: bytes, aad: bytes, nonce: bytes | None = None) -> bytes:
    """Encrypt and authenticate; ``nonce`` is random unless given (test vectors only)."""
    sid = SUITE_IDS[suite]
    if len(key) != SUITE_KEY_LEN[suite]:
        raise ValueError("key length does not match suite")
    nonce = os.urandom(NONCE_LEN) if nonce is None else nonce
    if sid == 0x01:
        body = AESGCM(key).encrypt(nonce, plaintext, aad)
    else:
        body = _sm4_encrypt(key, nonce, plaintext, aad)
    return bytes((SEALED_VERSION, sid)) + nonce + body


def unseal(suite: str, key: bytes, blob: bytes, aad: bytes, what: str = "") -> bytes:
    """Open a sealed value; any failure is an IntegrityError naming ``what``."""
    where = f"（{what}）" if what else ""
    if not isinstance(blob, bytes | bytearray | memoryview) or len(blob) < MIN_SEALED_LEN:
        raise IntegrityError(f"加密数据被截断或缺失{where}", "运行 guanai verify 检查档案库；必要时由备份恢复。")
    blob = bytes(blob)
    if blob[0] != SEALED_VERSION:
        raise IntegrityError(f"加密数据版本未知（{blob[0]}）{where}", "该数据可能被篡改或来自更新版本的软件。")
    if SUITE_NAMES.get(blob[1]) != suite:
        raise IntegrityError(f"加密套件不符{where}", "该数据可能被篡改或来自其他档案库。")
    nonce, body = blob[2:HEADER_LEN], blob[HEADER_LEN:]
    try:
        if blob[1] == 0x01:
            return AESGCM(key).decrypt(nonce, body, aad)
        return _sm4_decrypt(key, nonce, body, aad)
    except InvalidTag as err:
        raise IntegrityError(f"加密数据校验失败{where}：内容被篡改、移动或密钥不符",
                             "运行 guanai verify 查看全部问题；必要时由备份恢复。") from err


def hmac_hex(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def ct_equal(a: str | bytes, b: str | bytes) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)


@dataclass(frozen=True)
class KdfCost:
    """The cost part of Argon2id parameters."""

    iterations: int
    lanes: int
    memory_cost: int  # KiB


#: The cost new key files get (FORMAT.md §4): ~0.1 s and 64 MiB per passphrase check.
PRODUCTION_KDF_COST = KdfCost(iterations=3, lanes=4, memory_cost=65536)
#: The lowest cost the format accepts (``KdfParams.check``): only for tests that are not about the KDF.
MIN_KDF_COST = KdfCost(iterations=1, lanes=1, memory_cost=8 * 1024)
#: Cost of key files created from now on in this process. The product never changes it; the test
#: suite lowers it to MIN_KDF_COST (tests/conftest.py) except for the tests of the KDF itself.
KDF_COST = PRODUCTION_KDF_COST


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters, bounded so a tampered key file cannot hang or exhaust memory."""

    salt: bytes
    iterations: int = PRODUCTION_KDF_COST.iterations
    lanes: int = PRODUCTION_KDF_COST.lanes
    memory_cost: int = PRODUCTION_KDF_COST.memory_cost  # KiB

    @classmethod
    def new(cls) -> KdfParams:
        """Fresh parameters for a new key file: a random salt and the current ``KDF_COST``."""
        return cls(salt=os.urandom(16), iterations=KDF_COST.iterations, lanes=KDF_COST.lanes,
                   memory_cost=KDF_COST.memory_cost)

    def check(self) -> None:
        ok = (
            len(self.salt) >= 16
            and 1 <= self.iterations <= 10
            and 1 <= self.lanes <= 8
            and 8 * 1024 <= self.memory_cost <= 1024 * 1024
        )
        if not ok:
            raise IntegrityError("密钥文件中的口令派生参数超出允许范围", "密钥文件可能被篡改；请由管理员重设该用户。")

    def to_json(self) -> dict[str, object]:
        return {"name": "argon2id", "salt": self.salt.hex(), "iterations": self.iterations,
                "lanes": self.lanes, "memory_cost": self.memory_cost}

    @classmethod
    def from_json(cls, d: dict[str, object]) -> KdfParams:
        try:
            if d.get("name") != "argon2id":
                raise ValueError("kdf")
            p = cls(salt=bytes.fromhex(str(d["salt"])), iterations=int(str(d["iterations"])),
                    lanes=int(str(d["lanes"])), memory_cost=int(str(d["memory_cost"])))
        except (KeyError, ValueError, TypeError) as err:
            raise IntegrityError("密钥文件格式错误（口令派生参数）", "密钥文件可能被篡改或损坏。") from err
        p.check()
        return p


# Two Argon2id derivations with lanes > 1 running at once in one process (two threads, e.g. two
# logins to the web UI) hang forever in cryptography 50 / its bundled OpenSSL (measured: lanes=4
# hangs with 2 threads; lanes=1 does not). One derivation at a time per process.
_ARGON2_LOCK = threading.Lock()


def argon2id(passphrase: str, params: KdfParams) -> bytes:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    params.check()
    with _ARGON2_LOCK:
        return Argon2id(salt=params.salt, length=32, iterations=params.iterations, lanes=params.lanes,
                        memory_cost=params.memory_cost).derive(passphrase.encode("utf-8"))


# ---- format v2: signatures, row MACs, the set hash (FORMAT.md §4, §6.2) -----------------------

def ed25519_public(seed: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(seed: bytes, purpose: str, message: bytes) -> bytes:
    """Ed25519 over ``"guanai/v2/" ‖ purpose ‖ 0x00 ‖ message`` (one purpose per signature)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(seed).sign(f"guanai/v2/{purpose}".encode() + b"\x00" + message)


def verify_sig(public: bytes, purpose: str, message: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, f"guanai/v2/{purpose}".encode() + b"\x00"
                                                          + message)
    except (InvalidSignature, ValueError):
        return False
    return True


def encode_values(values: tuple[object, ...] | list[object]) -> bytes:
    """Unambiguous encoding of a row's cells: a type byte, then a fixed-size or length-prefixed value."""
    out = bytearray()
    for v in values:
        if v is None:
            out += b"\x00"
        elif isinstance(v, bool):
            raise TypeError("bool cell")
        elif isinstance(v, int):
            out += b"\x01" + v.to_bytes(8, "big", signed=True)
        elif isinstance(v, str):
            b = v.encode("utf-8", "surrogatepass")
            out += b"\x02" + len(b).to_bytes(8, "big") + b
        elif isinstance(v, bytes | bytearray | memoryview):
            b = bytes(v)
            out += b"\x03" + len(b).to_bytes(8, "big") + b
        elif isinstance(v, float):
            import struct

            out += b"\x04" + struct.pack(">d", v)
        else:
            raise TypeError(f"cell of type {type(v).__name__}")
    return bytes(out)


def row_mac(key: bytes, archive_id: str, table: str, values: tuple[object, ...] | list[object]) -> str:
    """HMAC binding every column of a row (clear and sealed) to its table and archive."""
    h = hmac.new(key, b"guanai/v2/row\x00" + archive_id.encode() + b"\x00" + table.encode() + b"\x00",
                 hashlib.sha256)
    h.update(encode_values(values))
    return h.hexdigest()


SET_HASH_BYTES = 2048
SET_HASH_MOD = 1 << (8 * SET_HASH_BYTES)


def set_element(table: str, pk: str, mac: str) -> int:
    """One row's element of the additive set hash (AdHash with a 2^16384 modulus)."""
    data = b"guanai/v2/set\x00" + table.encode() + b"\x00" + pk.encode() + b"\x00" + mac.encode()
    return int.from_bytes(hashlib.shake_256(data).digest(SET_HASH_BYTES), "little")


def set_digest(acc: int) -> str:
    return hashlib.sha256(acc.to_bytes(SET_HASH_BYTES, "little")).hexdigest()
