"""四性检测 (DA/T 70): authenticity, integrity, usability, security — every problem reported."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sqlite3
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive import crypto, keys
from guanai.base.errors import GuanaiError, Problem

if TYPE_CHECKING:
    from guanai.archive.store import Archive

AUTH, INTEG, USAB, SECUR = "真实性", "完整性", "可用性", "安全性"
ENCODINGS = ("utf-8", "gb18030", "utf-16-le", "utf-16-be")
# A needle shorter than this many bytes would match random ciphertext by chance
# (6 bytes: ~1 false hit in 10^14 positions per needle).
MIN_NEEDLE_BYTES = 6
CHUNK = 16 * 1024 * 1024


#: Problem.code of each of the four properties (DA/T 70), and back to its Chinese name
CODES = {AUTH: "verify.authenticity", INTEG: "verify.integrity", USAB: "verify.usability", SECUR: "verify.security"}
CATEGORIES = {code: name for name, code in CODES.items()}


def category(problem: Problem) -> str:
    """The property (真实性, 完整性, 可用性, 安全性) a verify problem belongs to."""
    return CATEGORIES.get(problem.code, "")


@dataclass
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, category: str, obj: str, message: str, hint: str = "") -> None:
        """A problem with ``obj`` (where) under one of AUTH, INTEG, USAB, SECUR."""

        def printable(v: str) -> str:  # invalid UTF-8 from a damaged cell is shown escaped
            return str(v).encode("utf-8", "backslashreplace").decode("utf-8")

        self.problems.append(Problem(printable(obj), printable(message), hint, CODES[category]))

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": self.counts, "seconds": round(self.seconds, 3),
                "problems": [p.to_json() for p in self.problems]}


Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    return None


def verify_archive(arc: Archive, progress: Progress | None = None) -> VerifyReport:
    """Check everything, collecting every problem rather than stopping at the first.

    Phases: the database file, children, documents, settings and the generation counter
    (integrity); the audit chain and key files (authenticity); documents open (usability,
    inside the documents phase); no personal value in clear anywhere (security).
    """
    arc.require("verify")
    progress = progress or _noop
    t0 = time.perf_counter()
    rep = VerifyReport()
    names: dict[str, str] = {}  # child id -> "儿童 张三", document id -> "文档《…》"
    if _check_database(arc, rep):
        needles = _check_children(arc, rep, progress, names)
        _check_documents(arc, rep, progress, names)
        _check_settings_and_generation(arc, rep)
        _check_records(arc, rep)
        _check_authenticity(arc, rep, progress, names)
        _check_security(arc, rep, progress, needles)
    rep.seconds = time.perf_counter() - t0
    return rep


def _check_database(arc: Archive, rep: VerifyReport) -> bool:
    """Integrity of the SQLite file itself; False when it cannot be read at all (nothing else can run)."""
    try:
        for (msg,) in arc.conn.execute("PRAGMA quick_check").fetchall():
            if msg != "ok":
                rep.add(INTEG, "catalog.sqlite", f"数据库结构检查失败：{msg}")
    except sqlite3.DatabaseError as err:
        rep.add(INTEG, "catalog.sqlite", f"数据库无法读取：{err}")
        return False
    return True


def _check_children(arc: Archive, rep: VerifyReport, progress: Progress, names: dict[str, str]) -> set[str]:
    """Records open in their row, the blind index agrees; returns the personal values to scan for."""
    from guanai.archive.store import STATUSES

    conn = arc.conn
    needles: set[str] = set()
    rows = conn.execute("SELECT id, status, record FROM children").fetchall()
    blind_rows = {(k, m): c for k, m, c in conn.execute("SELECT kind, mac, child_id FROM blind")}
    expected_blind: set[tuple[str, str]] = set()
    for i, (cid, status, blob) in enumerate(rows):
        progress("children", i, len(rows))
        try:
            record = arc._load_record(cid, blob)
        except GuanaiError as err:
            rep.add(INTEG, f"儿童 {cid}", f"记录无法打开：{err.message}")
            continue
        except Exception as err:  # noqa: BLE001 - a record that opens but no longer validates
            rep.add(INTEG, f"儿童 {cid}", f"记录内容无效：{type(err).__name__}")
            continue
        names[cid] = f"儿童 {getattr(record, 'name', '')}（{cid}）"
        for pair in arc._blind_keys(record):
            expected_blind.add(pair)
            if blind_rows.get(pair) != cid:
                rep.add(INTEG, f"儿童 {cid}", "学籍号/身份证号检索索引缺失或指向他人")
        needles.update(_personal_values(record))
        if status not in STATUSES:
            rep.add(INTEG, f"儿童 {cid}", f"状态值无效：{status}")
    for pair, cid in blind_rows.items():
        if pair not in expected_blind:
            rep.add(INTEG, f"检索索引 {pair[0]}", f"多余的索引项（指向 {cid}）")
    rep.counts["children"] = len(rows)
    return needles


def _check_documents(arc: Archive, rep: VerifyReport, progress: Progress, names: dict[str, str]) -> None:
    """Metadata and content open, size and SHA-256 match, the file opens (usability), no orphans."""
    conn = arc.conn
    docs = conn.execute("SELECT id, child_id, kind, size, meta FROM documents").fetchall()
    content_ids = {r[0] for r in conn.execute("SELECT doc_id FROM content")}
    child_ids = {r[0] for r in conn.execute("SELECT id FROM children")}
    for i, (did, child_id, _kind, size, mblob) in enumerate(docs):
        progress("documents", i, len(docs))
        obj = f"文档 {did}"
        if child_id is not None and child_id not in child_ids:
            rep.add(INTEG, obj, f"所属儿童 {child_id} 不存在")
        try:
            meta = json.loads(arc.unseal("documents", "meta", did, mblob))
            if not isinstance(meta, dict):
                raise TypeError("meta is not an object")
        except GuanaiError as err:
            rep.add(INTEG, obj, f"元数据无法打开：{err.message}")
            continue
        except Exception as err:  # noqa: BLE001 - malformed cell (wrong type, bad UTF-8): a problem, go on
            rep.add(INTEG, obj, f"元数据格式异常：{type(err).__name__}")
            continue
        obj = names[did] = f"文档《{meta.get('title', '')}》（{did}）"
        if did not in content_ids:
            rep.add(INTEG, obj, "内容缺失")
            continue
        try:
            data = arc._content(did, "data") or b""
            arc._content(did, "form")
            arc._content(did, "text")
        except GuanaiError as err:
            rep.add(INTEG, obj, f"内容无法打开：{err.message}")
            continue
        except Exception as err:  # noqa: BLE001 - malformed cell: a problem, go on
            rep.add(INTEG, obj, f"内容格式异常：{type(err).__name__}")
            continue
        if len(data) != size or not crypto.ct_equal(hashlib.sha256(data).hexdigest(), str(meta.get("sha256", ""))):
            rep.add(INTEG, obj, "内容与登记的大小或 SHA-256 不符")
        problem = usability_problem(str(meta.get("filename", "")), str(meta.get("mime", "")), data)
        if problem:
            rep.add(USAB, obj, problem)
    for orphan in content_ids - {d[0] for d in docs}:
        rep.add(INTEG, f"内容 {orphan}", "没有对应的文档目录项")
    rep.counts["documents"] = len(docs)


def _check_settings_and_generation(arc: Archive, rep: VerifyReport) -> None:
    conn = arc.conn
    for (name,) in conn.execute("SELECT name FROM settings").fetchall():
        try:
            arc.get_setting(name)
        except GuanaiError as err:
            rep.add(INTEG, f"设置 {name}", err.message)
        except Exception as err:  # noqa: BLE001 - malformed cell: a problem, go on
            rep.add(INTEG, f"设置 {name}", f"格式异常：{type(err).__name__}")

    # the generation counter covers every row
    gen = arc.generation
    max_gen = conn.execute("SELECT max(g) FROM (SELECT max(gen) g FROM children UNION ALL "
                           "SELECT max(gen) FROM documents)").fetchone()[0] or 0
    if not isinstance(max_gen, int):
        rep.add(INTEG, "catalog.sqlite", f"版本计数列含非整数值：{max_gen!r}")
    elif max_gen > gen:
        rep.add(INTEG, "catalog.sqlite", f"版本计数（{gen}）小于记录中的最大值（{max_gen}）")


def _check_authenticity(arc: Archive, rep: VerifyReport, progress: Progress, names: dict[str, str]) -> None:
    """The audit hash chain, the key files and archive.json."""
    from guanai.archive.audit import walk
    from guanai.archive.store import read_info

    progress("audit", 0, 1)
    try:
        entries, chain_problems = walk(arc)
    except Exception as err:  # noqa: BLE001 - a malformed audit cell must not stop the other checks
        entries, chain_problems = [], [f"审计日志无法逐条校验（格式异常：{getattr(err, 'message', None) or type(err).__name__}）"]
    for p in chain_problems:
        rep.add(AUTH, "审计日志", p)
    rep.counts["audit_entries"] = len(entries)
    if arc.info.format_version >= 2:
        from guanai.archive.audit import read_journal

        for p in read_journal(arc)[1]:
            rep.add(AUTH, "审计日志待入链文件", p)
        progress("rows", 0, 1)
        check_rows(arc, rep, names)
        check_state(arc, rep)
        check_audit_rows(arc, rep, entries, names)
        check_users(arc, rep)
    else:
        rep.add(AUTH, "archive.json", "档案库为旧格式 v1：只有加密值与审计日志受保护，明文列、行集合与角色未受保护；"
                "请由管理员运行 guanai upgrade 升级")
        for kf in sorted((arc.path / "keys").glob("*.json")):
            try:
                keys.read_key_file(arc.path, kf.stem)
            except GuanaiError as err:
                rep.add(AUTH, f"keys/{kf.name}", err.message)
    try:
        read_info(arc.path)
    except GuanaiError as err:
        rep.add(AUTH, "archive.json", err.message)


def _check_security(arc: Archive, rep: VerifyReport, progress: Progress, needles: set[str]) -> None:
    """No personal value in clear anywhere under the archive directory."""
    # Fold the WAL into the database first (best effort) so page images are not scanned twice.
    with contextlib.suppress(sqlite3.DatabaseError):
        arc.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    progress("scan", 0, 1)
    for obj, message in scan_plaintext(arc.path, needles):
        rep.add(SECUR, obj, message)
    rep.counts["scanned_values"] = len(needles)


def _check_records(arc: Archive, rep: VerifyReport) -> None:
    """Workflow records (screening rounds, 控辍保学 cases, mentors, contacts, duties): each opens."""
    if not arc._has_records():
        return
    ids = {r[0] for r in arc.conn.execute("SELECT id FROM children")}
    rows = arc.conn.execute("SELECT id, kind, child_id, created, gen, sealed FROM records").fetchall()
    for row in rows:
        try:
            arc._record_entry(row)
        except GuanaiError as err:
            rep.add(INTEG, f"工作记录 {row[0]}", f"无法打开：{err.message}")
        except ValueError:
            rep.add(INTEG, f"工作记录 {row[0]}", "内容无效")
        if row[2] is not None and row[2] not in ids:
            rep.add(INTEG, f"工作记录 {row[0]}", f"所属儿童 {row[2]} 不存在")
    rep.counts["records"] = len(rows)


def _row_name(t: str, pk: str, names: dict[str, str]) -> str:
    if t in ("children", "documents") and pk in names:
        return names[pk]
    if t == "content":
        return names.get(pk, f"文档 {pk}") + " 的内容"
    if t == "blind":
        return f"检索索引项 {pk.split(chr(31))[0]}"
    return {"audit": f"审计日志第 {pk} 条", "settings": f"设置 {pk}", "meta": f"目录元数据 {pk}",
            "tombstones": f"删除记录 {pk}", "records": f"工作记录 {pk}"}.get(t, f"{t} 表的行 {pk}")


def check_rows(arc: Archive, rep: VerifyReport, names: dict[str, str]) -> None:
    """Every row of every authenticated table against its MAC; each table's set against the state."""
    from guanai.archive.store import AUTH_TABLES, row_pk, trigger_sql

    conn = arc.conn
    body, problem = arc.read_state()
    state_tables = (body or {}).get("tables") or {}
    triggers = {n: sql for n, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger'")}
    for t in AUTH_TABLES.values():
        cols = tuple(r[1] for r in conn.execute(f"PRAGMA table_info({t.name})"))
        if not cols and t.ddl and not (state_tables.get(t.name) or {}).get("rows"):
            continue  # a table added by a later release, created at the next write
        if cols != t.columns:
            rep.add(INTEG, f"{t.name} 表", f"表结构与格式规定不符（列 {', '.join(cols) or '无'}）")
            continue
        for line in trigger_sql(t).strip().split("\n"):
            name = line.split()[2]
            if triggers.get(name, "").strip() + ";" != line.strip().rstrip().removesuffix(";") + ";":
                rep.add(INTEG, f"{t.name} 表", f"触发器 {name} 缺失或被改动")
        stored = {pk: mac for pk, mac in conn.execute("SELECT pk, mac FROM rowmac WHERE tbl=?", (t.name,))}
        n, acc = 0, 0
        seen: set[str] = set()
        for values in conn.execute(f"SELECT {', '.join(t.columns)} FROM {t.name}"):
            try:
                pk, mac = row_pk(t, values), arc.row_mac(t.name, values)
            except (TypeError, ValueError) as err:
                rep.add(INTEG, f"{t.name} 表", f"行的值无法读取：{err}")
                continue
            n, acc = n + 1, (acc + crypto.set_element(t.name, pk, mac)) % crypto.SET_HASH_MOD
            seen.add(pk)
            good = stored.get(pk)
            if good is None:
                rep.add(INTEG, _row_name(t.name, pk, names), "行没有校验记录：在本软件之外被添加或复制")
            elif not crypto.ct_equal(good, mac):
                rep.add(INTEG, _row_name(t.name, pk, names), "行的校验码不符：某一列（含明文列）在本软件之外被修改")
        for pk in sorted(set(stored) - seen):
            rep.add(INTEG, _row_name(t.name, pk, names), "行已不存在：在本软件之外被删除")
        want = state_tables.get(t.name)
        if want is None and n == 0:
            continue  # a table added later, still empty
        if body is not None and (not isinstance(want, dict) or want.get("rows") != n
                                 or want.get("digest") != crypto.set_digest(acc)):
            have = want.get("rows") if isinstance(want, dict) else "?"
            rep.add(INTEG, f"{t.name} 表", f"行集合与签名状态不符（现有 {n} 行，签名时 {have} 行）："
                    "有行被删除、添加、复制、移动或回滚到旧版本")


def check_state(arc: Archive, rep: VerifyReport) -> None:
    from guanai.archive import heads
    from guanai.archive.store import _info_digest

    body, problem = arc.read_state()
    if body is None:
        rep.add(AUTH, "签名状态", problem or "签名状态无效")
        return
    if body.get("archive_id") != arc.info.archive_id:
        rep.add(AUTH, "签名状态", "签名状态属于另一个档案库")
    meta = dict(arc.conn.execute("SELECT key, value FROM meta").fetchall())
    for key in ("generation", "commit"):
        if str(body.get(key)) != str(meta.get(key)):
            rep.add(INTEG, "签名状态", f"计数 {key}（{meta.get(key)}）与签名状态（{body.get(key)}）不符")
    if body.get("info") != _info_digest(arc.info):
        rep.add(AUTH, "archive.json", "与签名状态不符：单位、套件或创建时间被改动")
    last = arc.conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    head = body.get("audit") or {}
    if (last[0] if last else 0) != head.get("seq") or (last[1] if last else "") != head.get("mac"):
        rep.add(AUTH, "审计日志", f"最后一条（第 {last[0] if last else 0} 条）与签名状态记录的链头"
                f"（第 {head.get('seq')} 条）不符：审计日志末尾被删除或改动")
    seen = heads.compare(heads.load(arc.info.archive_id, arc.path), arc.state_head(body))
    if seen:
        rep.add(AUTH, "档案库目录", seen)


def check_audit_rows(arc: Archive, rep: VerifyReport, entries: list[Any], names: dict[str, str]) -> None:
    """Children and documents against the audit chain: a deleted or rolled-back row is named."""
    from guanai.archive.audit import ROW_WRITES

    last: dict[str, tuple[int | None, Any]] = {}
    deleted: set[str] = set()
    recorded: dict[str, str] = {}  # target -> name or title from the sealed details
    for e in entries:
        if e.target and isinstance(e.detail, dict) and (e.detail.get("name") or e.detail.get("title")):
            recorded[e.target] = str(e.detail.get("name") or e.detail.get("title"))
        if e.target and (e.action in ROW_WRITES["children"] or e.action in ROW_WRITES["documents"]):
            last[e.target] = (e.gen, e)
        if e.action == "doc.delete" and e.target:
            deleted.add(e.target)
    rows = {cid: gen for cid, gen in arc.conn.execute("SELECT id, gen FROM children")}
    rows.update({did: gen for did, gen in arc.conn.execute("SELECT id, gen FROM documents")})
    for target, (gen, e) in last.items():
        if target in deleted and target not in rows:
            continue
        what = "儿童" if e.action.startswith("child.") else "文档"
        label = names.get(target) or (f"儿童 {recorded.get(target, '')}（{target}）" if what == "儿童"
                                      else f"文档《{recorded.get(target, '')}》（{target}）")
        if target not in rows:
            rep.add(INTEG, label, f"记录已不存在（审计日志第 {e.seq} 条登记过）：在本软件之外被删除")
        elif gen is not None and rows[target] < gen:
            rep.add(INTEG, label, f"记录比审计日志第 {e.seq} 条所写的旧（版本 {rows[target]} < {gen}）：被回滚到旧版本")


def check_users(arc: Archive, rep: VerifyReport) -> None:
    """Key files against the admin-signed registry: a removed user's or hand-made file is named."""
    users, problem = arc.registry()
    if problem:
        rep.add(AUTH, "用户登记表", problem)
    present: set[str] = set()
    for kf_path in sorted((arc.path / "keys").glob("*.json")):
        obj = f"keys/{kf_path.name}"
        try:
            kf = keys.read_key_file(arc.path, kf_path.stem)
        except GuanaiError as err:
            rep.add(AUTH, obj, err.message)
            continue
        present.add(kf.user)
        entry = users.get(kf.user)
        if kf.version != 2 or not kf.check_signature(arc.info.archive_id):
            rep.add(AUTH, obj, "密钥文件的签名无效：被改动或伪造")
        elif entry is None:
            rep.add(AUTH, obj, f"用户“{kf.user}”不在管理员签署的用户登记表中：已删除用户的旧密钥文件，或伪造的密钥文件")
        elif entry.get("user_key") != kf.user_key or entry.get("role") != kf.role:
            rep.add(AUTH, obj, f"密钥文件与用户登记表不符（角色 {kf.role}）：被替换、复制或伪造")
    for name in sorted(set(users) - present):
        rep.add(AUTH, f"用户 {name}", "用户登记表中的用户缺少密钥文件")


def audit_problems(arc: Archive) -> tuple[int, list[Problem]]:
    """The audit chain alone (`audit verify`): how many entries, and every broken link as a Problem."""
    from guanai.archive.audit import walk

    arc.require("verify")
    entries, problems = walk(arc)
    return len(entries), [Problem("审计日志", p, code=CODES[AUTH]) for p in problems]


def usability_problem(filename: str, mime: str, data: bytes) -> str | None:
    name = filename.lower()
    if name.endswith(".docx") or "wordprocessingml" in mime:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if "word/document.xml" not in z.namelist():
                    return "不是有效的 .docx（缺少 word/document.xml）"
                if z.testzip() is not None:
                    return "不是有效的 .docx（压缩包损坏）"
        except zipfile.BadZipFile:
            return "不是有效的 .docx（不是压缩包）"
    elif name.endswith(".pdf") or mime == "application/pdf":
        if not data.startswith(b"%PDF-"):
            return "不是有效的 PDF（缺少 %PDF- 文件头）"
    elif name.endswith((".jpg", ".jpeg")) or mime == "image/jpeg":  # photos, scans
        if not data.startswith(b"\xff\xd8\xff"):
            return "不是有效的 JPEG 图片（文件头不符）"
    elif name.endswith(".png") or mime == "image/png":
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            return "不是有效的 PNG 图片（文件头不符）"
    return None


def _personal_values(record: Any) -> Iterable[str]:
    try:
        from guanai.care.model import personal_values

        return [v for v in personal_values(record) if v]
    except ImportError:  # pragma: no cover - care/ is part of the distribution
        return [str(getattr(record, a, "") or "") for a in ("name", "student_id", "id_number")]


def build_automaton(needles: Iterable[str]) -> tuple[Any, list[tuple[str, str]]] | None:
    """An Aho-Corasick automaton over each value in every encoding; None when nothing to look for."""
    import ahocorasick_rs

    patterns: list[bytes] = []
    labels: list[tuple[str, str]] = []
    seen: set[bytes] = set()
    for value in needles:
        for enc in ENCODINGS:
            try:
                b = value.encode(enc)
            except UnicodeEncodeError:
                continue
            if len(b) < MIN_NEEDLE_BYTES or b in seen:
                continue
            seen.add(b)
            patterns.append(b)
            labels.append((value, enc))
    if not patterns:
        return None
    return ahocorasick_rs.BytesAhoCorasick(patterns), labels


def mask(value: str) -> str:
    """Show a found personal value only partly (the report itself must not leak it)."""
    if len(value) <= 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def _catalog_skip_ranges(db: Path) -> list[tuple[int, int]]:
    """Byte ranges of the catalog's overflow pages (tails of sealed values, authenticated by opening)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = sorted(p for (p,) in conn.execute("SELECT pageno FROM dbstat WHERE pagetype='overflow'"))
    except sqlite3.DatabaseError:
        return []
    finally:
        conn.close()
    ranges: list[tuple[int, int]] = []
    for p in pages:
        start = (p - 1) * page_size
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], start + page_size)
        else:
            ranges.append((start, start + page_size))
    return ranges


def _scan_ranges(size: int, skip: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    pos = 0
    for a, b in skip:
        if a > pos:
            yield pos, a
        pos = max(pos, b)
    if pos < size:
        yield pos, size


def scan_plaintext(root: Path, needles: Iterable[str]) -> list[tuple[str, str]]:
    """Every (file, message) where a personal value appears in clear under ``root``.

    Every file is scanned byte for byte, except the catalog's overflow pages: they hold only the
    tails of sealed values, each of which verify has just opened (authenticated) in its context.
    """
    built = build_automaton(needles)
    if built is None:
        return []
    auto, labels = built
    found: list[tuple[str, str]] = []
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        rel = str(path.relative_to(root))
        skip = _catalog_skip_ranges(path) if rel == "catalog.sqlite" else []
        hits: set[int] = set()
        try:
            size = path.stat().st_size
            with open(path, "rb") as f:
                for a, b in _scan_ranges(size, skip):
                    f.seek(a)
                    pos = a
                    while pos < b:
                        # overlap so a value straddling two reads is still seen
                        start = max(a, pos - 256)
                        f.seek(start)
                        buf = f.read(min(CHUNK, b - start))
                        if not buf:
                            break
                        hits.update(i for i, _s, _e in auto.find_matches_as_indexes(buf, overlapping=True))
                        pos = start + len(buf)
        except OSError as err:
            found.append((rel, f"无法读取：{err.strerror}"))
            continue
        for value, enc in sorted({labels[i] for i in hits}):
            found.append((rel, f"发现明文个人信息（{mask(value)}，编码 {enc}）"))
    return found
