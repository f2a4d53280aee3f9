"""Per-user key files: the keys of a role wrapped under each user's passphrase (FORMAT.md §4).

Format v2 separates what a role may read from what it may write: every user's file wraps the
master key (reading), write roles also get the writer signing key, admins also the admin
signing key. Each file carries the user's own public key and is signed with it; the user
registry (signed by the admin key) lists that public key, so a removed user's copied-back file
or a hand-made one is recognised. Format-v1 files (master key only) are still read.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from guanai.archive import crypto
from guanai.base.errors import AuthError, InputError, IntegrityError, NotFoundError
from guanai.base.fsutil import atomic_write

ROLES = ("admin", "secretary", "archivist", "inspector")
ROLE_NAMES = {"admin": "管理员", "secretary": "文书", "archivist": "档案员", "inspector": "督查员"}
WRITE_ROLES = frozenset({"admin", "secretary", "archivist"})
ADMIN_ROLES = frozenset({"admin"})
_USER_RE = re.compile(r"^[\w.\-\u4e00-\u9fff]{1,32}$")


def check_user_name(name: str) -> str:
    if not _USER_RE.match(name or "") or name in (".", "..") or name.startswith("."):
        raise InputError(f"用户名不合法：{name!r}",
                         "用户名为 1–32 个字母、数字、汉字或 _ - .，且不能以 . 开头。")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"未知角色：{role}", "可选 admin（管理员）、secretary（文书）、archivist（档案员）、inspector（督查员）。")
    return role


def _wrap_aad(archive_id: str, user: str, role: str, user_key: str | None = None) -> bytes:
    if user_key is None:  # format v1
        return b"\x00".join(p.encode() for p in ("guanai/v1/wrap", archive_id, user, role))
    return b"\x00".join(p.encode() for p in ("guanai/v2/wrap", archive_id, user, role, user_key))


@dataclass(frozen=True)
class Grant:
    """What a user's passphrase unlocks: the master key and, by role, the signing keys."""

    master: bytes
    user_seed: bytes = b""
    writer_pub: bytes = b""
    admin_pub: bytes = b""
    writer_seed: bytes = b""
    admin_seed: bytes = b""

    @property
    def version(self) -> int:
        return 2 if self.user_seed else 1

    @property
    def user_pub(self) -> bytes:
        return crypto.ed25519_public(self.user_seed)

    def for_role(self, role: str, user_seed: bytes) -> Grant:
        """The grant of another user with ``role`` (only from a grant that holds what it passes on)."""
        writer = self.writer_seed if role in WRITE_ROLES else b""
        admin = self.admin_seed if role in ADMIN_ROLES else b""
        if (role in WRITE_ROLES and not writer) or (role in ADMIN_ROLES and not admin):
            raise AuthError("当前用户没有授予该角色所需的密钥。", "请由管理员操作。")
        return Grant(self.master, user_seed, self.writer_pub, self.admin_pub, writer, admin)

    def payload(self) -> bytes:
        return self.master + self.user_seed + self.writer_pub + self.admin_pub + self.writer_seed + self.admin_seed

    @classmethod
    def from_payload(cls, data: bytes, role: str) -> Grant:
        expect = 128 + (32 if role in WRITE_ROLES else 0) + (32 if role in ADMIN_ROLES else 0)
        if len(data) != expect:
            raise IntegrityError("密钥文件内容与角色不符", "密钥文件可能被篡改或伪造；请由管理员重设该用户。")
        g = cls(data[:32], data[32:64], data[64:96], data[96:128])
        rest = data[128:]
        writer = rest[:32] if role in WRITE_ROLES else b""
        admin = rest[32:64] if role in ADMIN_ROLES else b""
        g = Grant(g.master, g.user_seed, g.writer_pub, g.admin_pub, writer, admin)
        if (writer and crypto.ed25519_public(writer) != g.writer_pub) or (
                admin and crypto.ed25519_public(admin) != g.admin_pub):
            raise IntegrityError("密钥文件中的签名密钥不一致", "密钥文件可能被篡改或伪造。")
        return g


def new_archive_grant() -> Grant:
    """Fresh keys for a new archive (the first admin's grant)."""
    writer, admin = os.urandom(32), os.urandom(32)
    return Grant(os.urandom(32), os.urandom(32), crypto.ed25519_public(writer), crypto.ed25519_public(admin),
                 writer, admin)


@dataclass
class KeyFile:
    user: str
    role: str
    kdf: crypto.KdfParams
    wrapped: bytes
    version: int = 2
    user_key: str = ""  # hex Ed25519 public key (v2)
    sig: bytes = b""

    def signed_body(self, archive_id: str) -> bytes:
        from guanai.archive.store import canonical_json

        return canonical_json({"archive_id": archive_id, "user": self.user, "role": self.role,
                               "user_key": self.user_key, "kdf": self.kdf.to_json(), "wrapped": self.wrapped.hex()})

    def to_json(self) -> dict[str, object]:
        d: dict[str, object] = {"version": self.version, "user": self.user, "role": self.role}
        if self.version == 2:
            d["user_key"] = self.user_key
        d.update({"kdf": self.kdf.to_json(), "wrapped": self.wrapped.hex()})
        if self.version == 2:
            d["sig"] = self.sig.hex()
        return d

    def check_signature(self, archive_id: str) -> bool:
        try:
            pub = bytes.fromhex(self.user_key)
        except ValueError:
            return False
        return len(pub) == 32 and crypto.verify_sig(pub, "keyfile", self.signed_body(archive_id), self.sig)


def key_path(root: Path, user: str) -> Path:
    return root / "keys" / f"{check_user_name(user)}.json"


def make_key_file(archive_id: str, user: str, role: str, passphrase: str, grant: Grant,
                  kdf: crypto.KdfParams | None = None) -> KeyFile:
    check_passphrase(passphrase)
    kdf = kdf or crypto.KdfParams.new()
    kek = crypto.argon2id(passphrase, kdf)
    user_key = grant.user_pub.hex()
    wrapped = crypto.seal("aes-256-gcm", kek, grant.payload(), _wrap_aad(archive_id, user, role, user_key))
    kf = KeyFile(user=user, role=role, kdf=kdf, wrapped=wrapped, version=2, user_key=user_key)
    kf.sig = crypto.sign(grant.user_seed, "keyfile", kf.signed_body(archive_id))
    return kf


def check_passphrase(passphrase: str) -> None:
    from guanai.base.passphrase import check_passphrase as policy

    policy(passphrase)


def write_key_file(root: Path, kf: KeyFile) -> None:
    path = key_path(root, kf.user)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    atomic_write(path, json.dumps(kf.to_json(), ensure_ascii=False, indent=1).encode())


def parse_key_file(raw: bytes, user: str, name: str) -> KeyFile:
    if len(raw) > 64 * 1024:
        raise IntegrityError(f"密钥文件过大：{name}", "密钥文件可能被篡改。")
    try:
        d = json.loads(raw)
        version = d.get("version")
        if version not in (1, 2) or d.get("user") != user:
            raise ValueError("version/user")
        kf = KeyFile(user=user, role=check_role(str(d["role"])), kdf=crypto.KdfParams.from_json(d["kdf"]),
                     wrapped=bytes.fromhex(d["wrapped"]), version=version)
        if version == 2:
            kf.user_key = str(d["user_key"])
            kf.sig = bytes.fromhex(d["sig"])
            if not re.fullmatch(r"[0-9a-f]{64}", kf.user_key):
                raise ValueError("user_key")
        return kf
    except (ValueError, KeyError, TypeError, AttributeError, InputError) as err:
        raise IntegrityError(f"密钥文件格式错误：keys/{name}", "密钥文件可能被篡改或损坏；请由管理员重设该用户。") from err


def read_key_file(root: Path, user: str) -> KeyFile:
    path = key_path(root, user)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as err:
        kdir = Path(root) / "keys"
        if not kdir.is_dir() or not any(kdir.glob("*.json")):
            raise IntegrityError(f"密钥文件缺失：{kdir} 中没有任何密钥文件（应有 keys/{user}.json）。",
                                 "密钥目录被删除或未随档案库一起复制：从原目录或备份中找回 keys 目录；"
                                 "没有密钥文件无法解密档案。") from err
        raise AuthError(f"用户“{user}”不存在于此档案库（没有密钥文件 keys/{path.name}）。",
                        "用 --user 指定用户名（或环境变量 GUANAI_USER）；管理员可用 guanai user list 查看。") from err
    return parse_key_file(raw, user, path.name)


def unwrap(archive_id: str, kf: KeyFile, passphrase: str) -> Grant:
    kek = crypto.argon2id(passphrase, kf.kdf)
    aad = _wrap_aad(archive_id, kf.user, kf.role, kf.user_key if kf.version == 2 else None)
    try:
        payload = crypto.unseal("aes-256-gcm", kek, kf.wrapped, aad)
    except IntegrityError as err:
        raise AuthError(f"口令错误（用户“{kf.user}”），无法打开档案库。",
                        "检查口令与用户名；失败的尝试已记入审计日志。") from err
    if kf.version == 1:
        if len(payload) != 32:
            raise IntegrityError("主密钥长度错误", "密钥文件可能被篡改。")
        return Grant(payload)
    grant = Grant.from_payload(payload, kf.role)
    if grant.user_pub.hex() != kf.user_key or not kf.check_signature(archive_id):
        raise IntegrityError(f"密钥文件签名无效：keys/{kf.user}.json", "密钥文件可能被篡改或伪造；请由管理员重设该用户。")
    return grant


def list_users(root: Path) -> list[tuple[str, str]]:
    out = []
    kdir = root / "keys"
    if not kdir.is_dir():
        return []
    for p in sorted(kdir.glob("*.json")):
        try:
            kf = read_key_file(root, p.stem)
        except (AuthError, IntegrityError, InputError):
            continue
        out.append((kf.user, kf.role))
    return out


def remove_key_file(root: Path, user: str) -> None:
    path = key_path(root, user)
    if not path.exists():
        raise NotFoundError(f"用户“{user}”不存在。", "用 guanai user list 查看现有用户。")
    path.unlink()
