"""The audit hash chain (FORMAT.md §7): entry MACs, chain walk, reading entries."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive import crypto
from guanai.base.errors import IntegrityError

if TYPE_CHECKING:
    from guanai.archive.store import Archive

GENESIS = "0" * 64

# Chinese names of audit actions (the chain stores the ids; listings show these)
ACTION_NAMES = {
    "archive.init": "创建档案库", "archive.backup": "备份", "archive.verify": "四性检测", "archive.salvage": "抢救档案库",
    "auth.fail": "口令错误（登录失败）", "web.login": "网页登录", "web.logout": "网页退出",
    "web.download": "网页下载文件", "user.add": "添加用户", "user.passwd": "修改口令", "user.remove": "删除用户",
    "child.add": "登记儿童", "child.update": "修改儿童记录", "child.status": "变更儿童状态", "child.show": "查看儿童记录",
    "doc.put": "存入文档", "doc.read": "读取文档", "doc.show": "查看文档", "doc.export": "导出文档",
    "doc.delete": "删除文档", "doc.void": "作废文档", "child.export": "导出整份档案", "search": "检索",
    "index.rebuild": "重建索引", "template.use": "设定学校模板", "template.mark": "设定发文机关标志",
    "pdf_signing.create": "生成 PDF 签名密钥", "pdf.sign": "PDF 数字签名",
    "identity.create": "生成本校身份", "identity.export": "导出身份卡",
    "directory.add": "目录添加学校", "directory.publish": "签发学校目录", "directory.revoke": "吊销学校",
    "directory.import": "导入学校目录",
    "transfer.export": "导出转接包", "transfer.import": "接收转接包", "transfer.reject": "拒收转接包",
    "transfer.confirm": "确认回执", "transfer.expire": "保留期满处理",
    "archive.upgrade": "升级档案库格式", "audit.invalid": "无效的待入链审计条目",
    # workflow records (screening rounds, 控辍保学 cases, mentors, contact log, duties)
    "record.put": "新建工作记录", "record.update": "更新工作记录", "record.screened": "登记排查",
    "record.close": "结束（排查轮次或个案）", "record.persuade": "登记劝返", "record.report": "登记上报",
    "record.remove": "撤销记录", "record.end": "结束结对帮扶", "ledger.export": "导出台账",
    "workflow.settings": "修改工作设置",
}

# Actions that write the row named by their target (verify compares the row's generation).
ROW_WRITES = {"children": frozenset({"child.add", "child.update", "child.status"}),
              "documents": frozenset({"doc.put"})}


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
    gen: int | None = None
    pending: bool = False  # recorded in the journal, chained at the next write

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
                "target": self.target, "detail": self.detail, "pending": self.pending}


def walk(arc: Archive) -> tuple[list[AuditEntry], list[str]]:
    """Read and check the whole chain; returns entries and every problem found (Chinese)."""
    problems: list[str] = []
    entries: list[AuditEntry] = []
    key = arc.subkey("audit")
    expected_prev = GENESIS
    expected_seq = 1
    last_mac: str | None = None
    last_seq = 0
    v2 = arc.info.format_version >= 2
    cols = "seq, at, actor, action, target, detail, prev, mac" + (", gen" if v2 else ", NULL")
    rows = arc.conn.execute(f"SELECT {cols} FROM audit ORDER BY seq")
    for seq, at, actor_hex, action, target, detail_blob, prev, mac, gen in rows:
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
        entries.append(AuditEntry(seq, at, actor, action, target, detail, gen))
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


def walk_all(arc: Archive) -> tuple[list[AuditEntry], list[str]]:
    """The chain followed by the entries still waiting in the journal (readers' entries)."""
    entries, problems = walk(arc)
    pending, bad = read_journal(arc)
    return entries + pending, problems + bad


# ---- the journal: entries recorded without the writer lock (FORMAT.md §7.2) -----------------
JOURNAL = "journal.sqlite"
_JOURNAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending(id INTEGER PRIMARY KEY AUTOINCREMENT, eid TEXT NOT NULL, at TEXT NOT NULL,
    kind TEXT NOT NULL, body BLOB NOT NULL, mac TEXT);
"""


def journal_connect(root: Path, create: bool = True) -> sqlite3.Connection | None:
    path = Path(root) / JOURNAL
    if not create and not path.exists():
        return None
    conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA secure_delete=ON")
    conn.executescript(_JOURNAL_SCHEMA)
    conn.execute("INSERT OR IGNORE INTO meta VALUES('journal_id', ?)", (uuid.uuid4().hex,))
    return conn


def journal_id(conn: sqlite3.Connection) -> str:
    return str(conn.execute("SELECT value FROM meta WHERE key='journal_id'").fetchone()[0])


def journal_append(root: Path, kind: str, at: str, body: bytes, eid: str, mac: str | None) -> None:
    """One short transaction on the journal file: never waits for the catalog's writer."""
    conn = journal_connect(root)
    assert conn is not None
    try:
        conn.execute("INSERT INTO pending(eid, at, kind, body, mac) VALUES(?,?,?,?,?)", (eid, at, kind, body, mac))
    finally:
        conn.close()


def journal_mac(key: bytes, jid: str, eid: str, at: str, kind: str, body: bytes) -> str:
    return crypto.hmac_hex(key, b"\x00".join([b"guanai/v2/journal", jid.encode(), eid.encode(), at.encode(),
                                              kind.encode(), body]))


def journal_rows(conn: sqlite3.Connection, after: int) -> list[tuple[int, str, str, str, bytes, str | None]]:
    return conn.execute("SELECT id, eid, at, kind, body, mac FROM pending WHERE id > ? ORDER BY id",
                        (after,)).fetchall()


def open_journal_row(arc: Archive, jid: str, row: tuple[int, str, str, str, bytes, str | None]
                     ) -> tuple[str, str, str | None, dict[str, Any] | None, str]:
    """(actor, action, target, detail, at) of a journal row; raises IntegrityError when forged."""
    _id, eid, at, kind, body, mac = row
    body = bytes(body)
    if kind == "auth.fail":  # written without any key (FORMAT.md §7.2)
        d = json.loads(body)
        return "?", "auth.fail", None, {"user_hash": str(d["user_hash"]), "at": at}, at
    if kind != "entry" or not mac or not crypto.ct_equal(
            journal_mac(arc.subkey("audit"), jid, eid, at, kind, body), mac):
        raise IntegrityError(f"待入链审计条目 {_id} 的校验码不符")
    d = json.loads(arc.unseal("journal", "body", eid, body))
    return str(d["actor"]), str(d["action"]), d.get("target"), d.get("detail"), at


def read_journal(arc: Archive) -> tuple[list[AuditEntry], list[str]]:
    conn = journal_connect(arc.path, create=False)
    if conn is None:
        return [], []
    out: list[AuditEntry] = []
    bad: list[str] = []
    try:
        jid = journal_id(conn)
        after = arc.journal_absorbed(jid)
        for row in journal_rows(conn, after):
            try:
                actor, action, target, detail, at = open_journal_row(arc, jid, row)
            except (IntegrityError, ValueError, KeyError, TypeError) as err:
                bad.append(f"待入链审计条目 {row[0]} 无法打开（{err}）")
                continue
            out.append(AuditEntry(0, at, actor, action, target, detail, None, pending=True))
    except sqlite3.DatabaseError as err:
        bad.append(f"审计日志待入链文件 {JOURNAL} 无法读取：{err}")
    finally:
        with contextlib.suppress(sqlite3.DatabaseError):
            conn.close()
    return out, bad


def _is_hex(s: str) -> bool:
    try:
        bytes.fromhex(s)
        return len(s) == 64
    except (ValueError, TypeError):
        return False
