"""The audit hash chain (FORMAT.md §7): entry MACs, chain walk, reading entries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guanai.archive import crypto
from guanai.base.errors import IntegrityError

if TYPE_CHECKING:
    from guanai.archive.store import Archive

GENESIS = "0" * 64

# Chinese names of audit actions (the chain stores the ids; listings show these)
ACTION_NAMES = {
    "archive.init": "创建档案库", "archive.backup": "备份", "archive.verify": "四性检测",
    "auth.fail": "口令错误（登录失败）", "user.add": "添加用户", "user.passwd": "修改口令", "user.remove": "删除用户",
    "child.add": "登记儿童", "child.update": "修改儿童记录", "child.status": "变更儿童状态", "child.show": "查看儿童记录",
    "doc.put": "存入文档", "doc.read": "读取文档", "doc.show": "查看文档", "doc.export": "导出文档",
    "doc.delete": "删除文档", "doc.void": "作废文档", "child.export": "导出整份档案", "search": "检索", "index.rebuild": "重建索引", "template.use": "设定学校模板",
    "identity.create": "生成本校身份", "identity.export": "导出身份卡",
    "directory.add": "目录添加学校", "directory.publish": "签发学校目录", "directory.revoke": "吊销学校",
    "directory.import": "导入学校目录",
    "transfer.export": "导出转接包", "transfer.import": "接收转接包", "transfer.reject": "拒收转接包",
    "transfer.confirm": "确认回执", "transfer.expire": "保留期满处理",
}


def action_name(action: str) -> str:
    return ACTION_NAMES.get(action, action)


def next_prev(last_mac: str | None) -> str:
    return GENESIS if last_mac is None else hashlib.sha256(bytes.fromhex(last_mac)).hexdigest()


def entry_body(seq: int, at: str, actor: str, action: str, target: str | None, detail: dict[str, Any] | None) -> bytes:
    from guanai.archive.store import canonical_json

    return canonical_json({"seq": seq, "at": at, "actor": actor, "action": action, "target": target,
                           "detail": detail})


def entry_mac(key: bytes, seq: int, at: str, actor: str, action: str, target: str | None,
              detail: dict[str, Any] | None, prev: str) -> str:
    return crypto.hmac_hex(key, prev.encode() + b"\x00" + entry_body(seq, at, actor, action, target, detail))


@dataclass
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
                "target": self.target, "detail": self.detail}


def walk(arc: Archive) -> tuple[list[AuditEntry], list[str]]:
    """Read and check the whole chain; returns entries and every problem found (Chinese)."""
    problems: list[str] = []
    entries: list[AuditEntry] = []
    key = arc.subkey("audit")
    expected_prev = GENESIS
    expected_seq = 1
    last_mac: str | None = None
    last_seq = 0
    rows = arc.conn.execute("SELECT seq, at, actor, action, target, detail, prev, mac FROM audit ORDER BY seq")
    for seq, at, actor_hex, action, target, detail_blob, prev, mac in rows:
        where = f"审计日志第 {seq} 条"
        if seq != expected_seq:
            problems.append(f"{where}：序号不连续（应为 {expected_seq}），有条目被删除或插入")
        try:
            actor = arc.unseal("audit", "actor", str(seq), bytes.fromhex(actor_hex)).decode()
            detail = None if detail_blob is None else json.loads(arc.unseal("audit", "detail", str(seq), detail_blob))
        except (IntegrityError, ValueError) as err:
            problems.append(f"{where}：加密字段无法打开（{err}）")
            actor, detail = "?", None
        else:
            good = entry_mac(key, seq, at, actor, action, target, detail, prev)
            if not crypto.ct_equal(good, mac):
                problems.append(f"{where}：校验码不符，条目被修改")
        if not crypto.ct_equal(prev, expected_prev):
            problems.append(f"{where}：与前一条的链接断开")
        entries.append(AuditEntry(seq, at, actor, action, target, detail))
        expected_prev = next_prev(mac) if _is_hex(mac) else GENESIS
        expected_seq = seq + 1
        last_mac, last_seq = mac, seq
    head_raw = None
    try:
        head_raw = arc.get_setting("audit_head")
    except IntegrityError as err:
        problems.append(f"审计日志链头记录无法打开（{err.message}）")
    if head_raw is not None:
        head = json.loads(head_raw)
        if head.get("seq") != last_seq or not crypto.ct_equal(str(head.get("mac")), str(last_mac)):
            problems.append(f"审计日志末尾与链头记录不符（链头为第 {head.get('seq')} 条，实际最后为第 {last_seq} 条）："
                            "最新条目被删除或修改")
    elif last_seq:
        problems.append("审计日志链头记录缺失")
    return entries, problems


def _is_hex(s: str) -> bool:
    try:
        bytes.fromhex(s)
        return len(s) == 64
    except (ValueError, TypeError):
        return False
