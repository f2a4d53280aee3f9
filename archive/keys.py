"""Per-user key files: the master key wrapped under each user's passphrase (FORMAT.md §4)."""

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


def _wrap_aad(archive_id: str, user: str, role: str) -> bytes:
    return b"\x00".join(p.encode() for p in ("guanai/v1/wrap", archive_id, user, role))


@dataclass
class KeyFile:
    user: str
    role: str
    kdf: crypto.KdfParams
    wrapped: bytes

    def to_json(self) -> dict[str, object]:
        return {"version": 1, "user": self.user, "role": self.role, "kdf": self.kdf.to_json(),
                "wrapped": self.wrapped.hex()}


def key_path(root: Path, user: str) -> Path:
    return root / "keys" / f"{check_user_name(user)}.json"


def make_key_file(archive_id: str, user: str, role: str, passphrase: str, master: bytes,
                  kdf: crypto.KdfParams | None = None) -> KeyFile:
    check_passphrase(passphrase)
    kdf = kdf or crypto.KdfParams(salt=os.urandom(16))
    kek = crypto.argon2id(passphrase, kdf)
    wrapped = crypto.seal("aes-256-gcm", kek, master, _wrap_aad(archive_id, user, role))
    return KeyFile(user=user, role=role, kdf=kdf, wrapped=wrapped)


def check_passphrase(passphrase: str) -> None:
    from guanai.base.passphrase import check_passphrase as policy

    policy(passphrase)


def write_key_file(root: Path, kf: KeyFile) -> None:
    path = key_path(root, kf.user)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    atomic_write(path, json.dumps(kf.to_json(), ensure_ascii=False, indent=1).encode())


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
    if len(raw) > 64 * 1024:
        raise IntegrityError(f"密钥文件过大：{path.name}", "密钥文件可能被篡改。")
    try:
        d = json.loads(raw)
        if d.get("version") != 1 or d.get("user") != user:
            raise ValueError("version/user")
        return KeyFile(user=user, role=check_role(str(d["role"])),
                       kdf=crypto.KdfParams.from_json(d["kdf"]), wrapped=bytes.fromhex(d["wrapped"]))
    except (ValueError, KeyError, TypeError, AttributeError, InputError) as err:
        raise IntegrityError(f"密钥文件格式错误：keys/{path.name}", "密钥文件可能被篡改或损坏；请由管理员重设该用户。") from err


def unwrap(archive_id: str, kf: KeyFile, passphrase: str) -> bytes:
    kek = crypto.argon2id(passphrase, kf.kdf)
    try:
        master = crypto.unseal("aes-256-gcm", kek, kf.wrapped, _wrap_aad(archive_id, kf.user, kf.role))
    except IntegrityError as err:
        raise AuthError(f"口令错误（用户“{kf.user}”），无法打开档案库。",
                        "检查口令与用户名；失败的尝试已记入审计日志。") from err
    if len(master) != 32:
        raise IntegrityError("主密钥长度错误", "密钥文件可能被篡改。")
    return master


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
