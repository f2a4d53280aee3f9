"""FORMAT.md test vectors, read from the document itself, plus external SM4 / SM4-GCM vectors."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest

from guanai.archive import crypto
from guanai.archive.audit import entry_mac
from guanai.base.errors import IntegrityError

FORMAT = Path(__file__).resolve().parents[1] / "archive" / "FORMAT.md"


def _vectors() -> list[tuple[str, dict[str, str]]]:
    text = FORMAT.read_text(encoding="utf-8")
    out = []
    for kind, body in re.findall(r"```vector (\w+)\n(.*?)```", text, re.S):
        fields = {}
        for line in body.strip().splitlines():
            k, _, v = line.partition(": ")
            fields[k.strip(": ")] = v.strip()
        out.append((kind, fields))
    return out


VECTORS = _vectors()


def test_format_md_has_every_vector_kind() -> None:
    kinds = {k for k, _ in VECTORS}
    assert kinds >= {"hkdf", "seal", "open", "blind", "audit", "row", "set", "sign"}
    assert len(VECTORS) >= 10


@pytest.mark.parametrize(("kind", "v"), VECTORS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(VECTORS)])
def test_vector(kind: str, v: dict[str, str]) -> None:
    if kind == "hkdf":
        assert crypto.hkdf(bytes.fromhex(v["ikm"]), v["label"], int(v["length"])).hex() == v["expect"]
    elif kind in ("seal", "open"):
        aad = crypto.context_aad(v["archive_id"], v["table"], v["column"], v["row"])
        key = bytes.fromhex(v["key"])
        if kind == "seal":
            sealed = crypto.seal(v["suite"], key, bytes.fromhex(v["plaintext"]), aad, nonce=bytes.fromhex(v["nonce"]))
            assert sealed.hex() == v["expect"]
            assert crypto.unseal(v["suite"], key, sealed, aad) == bytes.fromhex(v["plaintext"])
        else:
            assert v["expect"] == "integrity failure"
            with pytest.raises(IntegrityError):
                crypto.unseal(v["suite"], key, bytes.fromhex(v["sealed"]), aad)
    elif kind == "blind":
        mac = crypto.hmac_hex(bytes.fromhex(v["key"]), v["kind"].encode() + b"\x00" + v["value"].encode())
        assert mac == v["expect"]
    elif kind == "audit":
        mac = entry_mac(bytes.fromhex(v["key"]), int(v["seq"]), v["at"], v["actor"], v["action"],
                        v["target"] or None, json.loads(v["detail"]), v["prev"])
        assert mac == v["expect"]
    elif kind == "row":
        values = [bytes.fromhex(x[4:]) if isinstance(x, str) and x.startswith("hex:") else x
                  for x in json.loads(v["values"])]
        assert crypto.row_mac(bytes.fromhex(v["key"]), v["archive_id"], v["table"], values) == v["expect"]
        # the spec's own words, re-implemented independently of crypto.encode_values
        enc = b""
        for x in values:
            if x is None:
                enc += b"\x00"
            elif isinstance(x, int):
                enc += b"\x01" + x.to_bytes(8, "big", signed=True)
            elif isinstance(x, str):
                enc += b"\x02" + len(x.encode()).to_bytes(8, "big") + x.encode()
            else:
                enc += b"\x03" + len(x).to_bytes(8, "big") + x
        msg = b"guanai/v2/row\x00" + v["archive_id"].encode() + b"\x00" + v["table"].encode() + b"\x00" + enc
        assert hmac.new(bytes.fromhex(v["key"]), msg, hashlib.sha256).hexdigest() == v["expect"]
    elif kind == "set":
        acc = 0
        for i, item in enumerate(v["rows"].split()):
            table, pk, mac = item.split("/")
            e = crypto.set_element(table, pk, mac)
            if i == 0:
                assert hashlib.sha256(e.to_bytes(2048, "little")).hexdigest() == v["element"]
            acc = (acc + e) % crypto.SET_HASH_MOD
        assert crypto.set_digest(acc) == v["expect"]
    elif kind == "sign":
        seed = bytes.fromhex(v["seed"])
        assert crypto.ed25519_public(seed).hex() == v["public"]
        sig = crypto.sign(seed, v["purpose"], bytes.fromhex(v["message"]))
        assert sig.hex() == v["expect"]
        assert crypto.verify_sig(bytes.fromhex(v["public"]), v["purpose"], bytes.fromhex(v["message"]), sig)
        assert not crypto.verify_sig(bytes.fromhex(v["public"]), "users", bytes.fromhex(v["message"]), sig)
    else:  # pragma: no cover
        pytest.fail(f"unknown vector kind {kind}")


def test_sm4_block_cipher_matches_gbt32907() -> None:
    # GB/T 32907-2016 Appendix A.1: the SM4 block cipher itself is the standard one.
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_gcm_matches_rfc8998() -> None:
    # RFC 8998 Appendix A.1 (SM4-GCM), through our own framing.
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    pt = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
                       "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
    ct = ("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
          "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D")
    tag = "83DE3541E4C2B58177E065A9BF7B62EC"
    sealed = crypto.seal("sm4-gcm", key, pt, aad, nonce=nonce)
    assert sealed[:2] == b"\x01\x02"
    assert sealed[14:].hex().upper() == ct + tag
    assert crypto.unseal("sm4-gcm", key, sealed, aad) == pt
