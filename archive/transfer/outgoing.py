"""Sending: export one package (转学) or one package per destination school (升学)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.archive.transfer.bag import (
    ChildItem,
    DocItem,
    build_bag,
    safe_filename,
)
from guanai.archive.transfer.directory import Directory, require_directory
from guanai.archive.transfer.docsig import sender_counts, sign_documents
from guanai.archive.transfer.envelope import (
    seal_package,
)
from guanai.archive.transfer.identity import Card, get_identity, now_iso
from guanai.archive.transfer.slip import SlipRenderer
from guanai.archive.transfer.state import (
    CHILD_FORMAT,
    HIST_SETTING,
    OUT_SETTING,
    PENDING,
    PENDING_HINT,
    PURPOSES,
    Progress,
    load,
    pending_children,
    pending_problem,
    read_file,
    save,
)
from guanai.base.errors import InputError, IntegrityError, NotFoundError, Problem, StateError
from guanai.base.fsutil import atomic_write

if TYPE_CHECKING:
    from guanai.archive.documents import PdfSigner
    from guanai.archive.store import Archive, ChildEntry


@dataclass
class ExportResult:
    path: Path
    package_id: str
    recipient: Card
    children: int
    documents: int
    size: int
    document_bytes: int
    #: PDFs carried and their signatures: ``pdfs``, ``signed`` (now), ``kept`` (already signed),
    #: ``failed`` (could not be signed, carried as they are), ``off`` (exported without signing)
    signatures: dict[str, int] = field(default_factory=dict)
    sign_problems: list[Problem] = field(default_factory=list)  # one per ``failed`` PDF

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "package_id": self.package_id, "recipient": self.recipient.code,
                "recipient_name": self.recipient.name, "children": self.children, "documents": self.documents,
                "size": self.size, "document_bytes": self.document_bytes, "pdf_signatures": self.signatures,
                "sign_problems": [p.to_json() for p in self.sign_problems]}


def _child_item(arc: Archive, entry: ChildEntry, history: dict[str, Any],
                skip: frozenset[str] = frozenset()) -> ChildItem:
    docs: list[DocItem] = []
    listed = arc.list_documents(child_id=entry.id)
    stored = arc.conn.execute("SELECT count(*) FROM documents WHERE child_id=?", (entry.id,)).fetchone()[0]
    if len(listed) != stored:
        raise IntegrityError(f"儿童 {entry.id} 有 {stored - len(listed)} 份文档已损坏，不能转出（转出的档案必须完整）。",
                             "运行 guanai verify 查看损坏详情，由备份恢复该文档后再转出；其他儿童可正常转出。")
    for d in listed:
        if d.id in skip:  # voided documents stay home unless asked for
            continue
        content = arc.read_document(d.id, audit=False)  # one transfer.export audit entry covers the batch
        docs.append(DocItem(meta={
            "kind": d.kind, "title": d.title, "filename": d.filename, "mime": d.mime, "doc_date": d.doc_date,
            "created_at": d.created_at, "sender_doc_id": d.id, "sha256": d.sha256, "meta": d.meta,
            "form": arc.document_form(d.id), "text": arc.document_text(d.id),
        }, content=content))
    rec = entry.record
    record = {"format": CHILD_FORMAT, "version": 1, "student_id": rec.student_id, "sender_child_id": entry.id,
              "status": entry.status, "record": rec.to_json_dict()}
    hist = {"school_code": entry.school_code, "created_at": entry.created_at, "updated_at": entry.updated_at,
            "status": entry.status, "transfers": list(history.get(entry.id, []))}
    return ChildItem(student_id=rec.student_id, name=rec.name, record=record, history=hist, documents=docs)


def _check_exportable(entry: ChildEntry) -> None:
    if entry.status == "转出":
        raise StateError(f"{entry.record.name}（{entry.record.student_id}）的档案已转出，不能再次转接。",
                         "如确需重新转接，先由管理员用 guanai child reopen 重新启用。")


def export_package(arc: Archive, refs: list[str], to_code: str, out: Path, *, render_slip: SlipRenderer,
                   purpose: str = "转学",
                   directory: Directory | None = None, resend: bool = False,
                   progress: Progress | None = None, include_void: bool = False,
                   sign: PdfSigner | None = None) -> ExportResult:
    """Export the children named by ``refs`` (id, 学籍号 or ID number) into one package.

    A child already in a package awaiting its receipt is refused unless ``resend``: two schools
    must not both receive the same dossier by mistake. ``progress(1, total)`` after each child.
    ``sign``: every PDF carried is signed as the school first (``docsig.sign_documents``; the
    product passes ``guanai.generators.sign.pdf_signer(arc)``); None: carried unsigned.
    """
    arc.require("transfer")
    arc.require("write")
    if arc.info.kind == "county":
        raise StateError("县级档案库不转出儿童档案。", "转学、升学的转接包由学校档案库导出。")
    if purpose not in PURPOSES:
        raise InputError(f"转接类型不正确：{purpose}", "可选：转学、升学。")
    if not refs:
        raise InputError("没有指定要转出的儿童。", "列出儿童编号、学籍号或身份证号。")
    out = Path(out)
    if out.suffix != ".gtp":  # before any work: a 500-child package takes seconds to build
        raise InputError(f"输出文件应以 .gtp 结尾：{out}", "例如 -o 张小明-转学.gtp")
    if not out.parent.is_dir():
        raise NotFoundError(f"输出目录不存在：{out.parent}", "先创建该目录，或换一个 -o 路径。")
    d = directory or require_directory(arc)
    recipient = d.lookup(to_code, "接收学校")
    me = get_identity(arc)
    if recipient.code == me.card.code:
        raise InputError("接收学校就是本校。", "--to 应为对方学校的代码。")
    entries: list[ChildEntry] = []
    seen: set[str] = set()
    pending = {} if resend else pending_children(arc)
    for ref in refs:
        e = arc.get_child(ref)
        if e.id in seen:
            continue
        seen.add(e.id)
        _check_exportable(e)
        if e.id in pending:
            raise StateError(f"{pending_problem(e, *pending[e.id])}。", PENDING_HINT)
        entries.append(e)
    history = load(arc, HIST_SETTING)
    from guanai.archive.documents import voided

    skip = frozenset() if include_void else frozenset(voided(arc))
    items = []
    sign_problems: list[Problem] = []
    for e in entries:
        item = _child_item(arc, e, history, skip)
        sign_problems += sign_documents([item], sign)
        items.append(item)
        if progress:
            progress(1, len(entries))
    signatures = sender_counts(items)
    package_id = uuid.uuid4().hex
    created_at = now_iso()
    bag = build_bag(package_id=package_id, created_at=created_at, sender=me.card, recipient=recipient,
                    children=items, purpose=purpose, render_slip=render_slip)
    n_docs = sum(len(c.documents) for c in items)
    data = seal_package(bag, package_id=package_id, created_at=created_at, purpose=purpose, sender=me,
                        recipient=recipient, children=len(items), documents=n_docs)
    del bag
    # The file first, then the record of it: a failed write (no space, no permission) leaves no
    # "sent" package behind; a failed commit removes the file, so no package exists unrecorded.
    atomic_write(out, data, 0o600)
    try:
        _record_export(arc, package_id, recipient, data, created_at, purpose, entries, n_docs, resend, signatures)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return ExportResult(path=out, package_id=package_id, recipient=recipient, children=len(items), documents=n_docs,
                        size=len(data), document_bytes=sum(len(x.content) for c in items for x in c.documents),
                        signatures=signatures, sign_problems=sign_problems)


def _record_export(arc: Archive, package_id: str, recipient: Card, data: bytes, created_at: str, purpose: str,
                   entries: list[ChildEntry], n_docs: int, resend: bool = False,
                   signatures: dict[str, int] | None = None) -> None:
    with arc.transaction():
        # check again under the writer lock: another command may have exported one of these
        # children since the check above (check and act in one transaction)
        pending = {} if resend else pending_children(arc)
        for e in entries:
            now = arc.get_child(e.id)
            _check_exportable(now)
            if now.id in pending:
                raise StateError(f"{pending_problem(now, *pending[now.id])}（另一个命令刚刚导出）。", PENDING_HINT)
        outgoing = load(arc, OUT_SETTING)
        outgoing[package_id] = {
            "recipient": recipient.code, "recipient_name": recipient.name, "recipient_fp": recipient.fingerprint,
            "sha256": hashlib.sha256(data).hexdigest(), "created_at": created_at, "purpose": purpose,
            "children": [e.id for e in entries], "documents": n_docs, "state": "sent",
            "pdf_signatures": signatures or {},
        }
        save(arc, OUT_SETTING, outgoing)
        arc.audit("transfer.export", package_id, {
            "to": recipient.code, "children": [e.id for e in entries], "documents": n_docs, "purpose": purpose,
            "sha256": outgoing[package_id]["sha256"], "pdf_signatures": signatures or {}})


def read_mapping(path: Path) -> dict[str, str]:
    """Mapping file child → destination school code: .csv (two columns), .json, .yaml or .xlsx."""
    path = Path(path)
    data = read_file(path, 16 << 20, "去向对照表")
    suffix = path.suffix.lower()
    rows: list[tuple[Any, Any]] = []
    try:
        if suffix == ".csv":
            text = data.decode("utf-8-sig")
            rows = [(r[0], r[1]) for r in csv.reader(io.StringIO(text)) if len(r) >= 2 and any(c.strip() for c in r)]
        elif suffix in (".json", ".yaml", ".yml"):
            if suffix == ".json":
                obj = json.loads(data.decode("utf-8"))
            else:
                import yaml

                obj = yaml.safe_load(data.decode("utf-8"))
            if not isinstance(obj, dict):
                raise InputError(f"去向对照表 {path} 应为“儿童 → 学校代码”的键值对象。", '例如 {"G34132220120305001X": "3413220101"}')
            rows = list(obj.items())
        elif suffix == ".xlsx":
            import openpyxl

            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            rows = [(r[0], r[1]) for r in wb.worksheets[0].iter_rows(values_only=True) if len(r) >= 2 and r[0]]
        else:
            raise InputError(f"不支持的去向对照表格式：{path.suffix}", "支持 .csv（两列：学籍号,学校代码）、.json、.yaml、.xlsx。")
    except (UnicodeDecodeError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"去向对照表 {path} 无法解析：{err}", "CSV 请用 UTF-8 编码，两列：学籍号,学校代码。") from err
    mapping: dict[str, str] = {}
    for i, (ref, code) in enumerate(rows, 1):
        ref_s, code_s = str(ref or "").strip(), str(code or "").strip()
        if i == 1 and not re.fullmatch(r"[0-9A-Za-z]+", code_s):
            continue  # a header row such as 学籍号,去向学校代码
        if not ref_s or not code_s:
            raise InputError(f"去向对照表第 {i} 行不完整。", "每行两列：儿童（学籍号）与接收学校代码。")
        if ref_s in mapping and mapping[ref_s] != code_s:
            raise InputError(f"去向对照表中 {ref_s} 出现两次且去向不同。", "每名儿童只写一行。")
        mapping[ref_s] = code_s
    if not mapping:
        raise InputError(f"去向对照表 {path} 是空的。", "每行两列：学籍号,学校代码。")
    return mapping


def plan_by_destination(arc: Archive, grade: str, mapping: dict[str, str], d: Directory, *,
                        resend: bool = False) -> dict[str, list[str]]:
    """Check a 升学 mapping against the cohort: destination school code -> child ids.

    Every problem is collected (child not in the archive or not in the grade, unknown or revoked
    school, child still in a package awaiting its receipt, child without a destination) and
    raised together: nothing is exported unless the whole cohort is placed.
    """
    cohort = {e.id: e for e in arc.list_children() if e.record.grade == grade and e.status == "在册"}
    if not cohort:
        raise NotFoundError(f"年级“{grade}”没有在册儿童。", "用 guanai child list 查看年级的写法（如 六年级）。")
    problems: list[Problem] = []
    groups: dict[str, list[str]] = {}
    mapped: set[str] = set()
    pending = {} if resend else pending_children(arc)
    for ref, code in mapping.items():
        e = arc.find_child(ref)
        if e is None:
            problems.append(Problem(f"对照表 {ref}", "不在本档案库", code="mapping.unknown_child"))
            continue
        if e.id not in cohort:
            problems.append(Problem(f"对照表 {ref}（{e.record.name}）", f"不是“{grade}”的在册儿童",
                                    code="mapping.not_in_grade"))
            continue
        try:
            d.lookup(code, "接收学校")
        except (NotFoundError, IntegrityError) as err:
            problems.append(Problem(f"对照表 {ref} 的去向 {code}", err.message, err.hint or "", "mapping.school"))
            continue
        mapped.add(e.id)
        if e.id in pending:
            problems.append(pending_problem(e, *pending[e.id]))
            continue
        groups.setdefault(code, []).append(e.id)
    for e in (cohort[c] for c in cohort if c not in mapped):
        problems.append(Problem(f"{e.record.name}（{e.record.student_id}）", "未在对照表中指定去向",
                                code="mapping.missing_child"))
    if problems:
        hint = "修正对照表后重试；每名在册儿童一行。"
        if any(p.code == PENDING for p in problems):
            hint += PENDING_HINT
        raise InputError(f"去向对照表有 {len(problems)} 处问题，未导出任何转接包", hint, problems)
    return groups


def export_by_destination(arc: Archive, grade: str, mapping_path: Path, out_dir: Path, *,
                          render_slip: SlipRenderer,
                          echo: Callable[[str], None] | None = None, resend: bool = False,
                          progress: Progress | None = None, include_void: bool = False,
                          sign: PdfSigner | None = None) -> list[ExportResult]:
    """升学: every 在册 child of ``grade`` goes into one package per receiving school (``sign`` as
    in ``export_package``)."""
    arc.require("transfer")
    mapping = read_mapping(mapping_path)
    d = require_directory(arc)
    groups = plan_by_destination(arc, grade, mapping, d, resend=resend)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    total = sum(len(ids) for ids in groups.values())

    def overall(done: int, _package_total: int) -> None:
        if progress:  # one bar for the whole cohort, across its packages
            progress(done, total)

    for code, ids in sorted(groups.items()):
        card = d.lookup(code)
        out = out_dir / f"{code}-{safe_filename(card.name)}.gtp"
        results.append(export_package(arc, ids, code, out, render_slip=render_slip, purpose="升学", directory=d,
                                      resend=resend, progress=overall, include_void=include_void, sign=sign))
        if echo:
            echo(f"  {card.name}（{code}）：{len(ids)} 名，{out}")
    return results
