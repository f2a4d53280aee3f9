"""Library functions behind ``guanai search / show / open / reindex`` (the CLI only prints).

Every search, show and export is audited with the user (``arc.audit``); the query text goes
into the sealed audit detail, never into a clear column.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from guanai.base.errors import BusyError, GuanaiError, InputError, NotFoundError
from guanai.search.index import SCHEMA_VERSION, Progress, SearchIndex, index_for
from guanai.search.query import Filters, Result, search, snippet

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry

KIND_NAMES = {"child": "儿童档案"}
#: a search catches up at most this many pending catalog changes itself; more are left to the
#: writer (``index_changes``) or ``guanai reindex``, and the results say the index is behind
INLINE_CATCH_UP = int(os.environ.get("GUANAI_SEARCH_INLINE", "300"))


@dataclass
class HitView:
    id: str
    entity: str
    kind: str
    title: str
    child_id: str
    child_name: str
    date: str
    school: str
    status: str
    score: float
    snippet: str
    void: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchView:
    query: str
    total: int
    exact: bool
    hits: list[HitView]
    #: catalog entries written but not yet in the index (0: the index is current)
    behind: int = 0
    #: False when there is no index yet (and the catalog was too large to build it inline)
    built: bool = True
    #: entries the index could not read (damaged in the catalog): shown as damaged, see verify
    damaged: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "exact": self.exact,
                "index_behind": self.behind, "index_built": self.built, "damaged": self.damaged,
                "hits": [h.to_json() for h in self.hits]}


def _child_text(entry: ChildEntry) -> str:
    try:
        from guanai.care.model import search_fields

        return search_fields(entry.record).get("text", "")
    except Exception:  # noqa: BLE001 - unexpected record shape: show the name only
        return str(getattr(entry.record, "name", ""))


def resolve_child(arc: Archive, ref: str | None) -> str | None:
    """A child reference (id, 学籍号, ID number, short id, name) as the child id used in the index."""
    if not ref:
        return None
    from guanai.archive.resolve import resolve_child as resolve

    return resolve(arc, ref).id


CATEGORIES = ("留守儿童", "困境儿童")


def _iso_date(label: str, value: str | None) -> str | None:
    import datetime as dt
    import re
    import unicodedata

    if not value:
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    m = re.match(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$", text)
    try:
        if m is None:
            raise ValueError(text)
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        raise InputError(f"{label}“{value}”不是有效的日期。", "日期写成 2024-03-01。") from None


def make_filters(arc: Archive, *, kind: str | None = None, school: str | None = None, child: str | None = None,
                 date_from: str | None = None, date_to: str | None = None, status: str | None = None,
                 category: str | None = None) -> Filters:
    """Checked search filters: unknown values are refused with the list of valid ones.

    ``kind`` must already be a kind id (the caller maps Chinese names, see generators.labels).
    """
    from guanai.archive.store import STATUSES

    if status and status.strip() not in STATUSES:
        raise InputError(f"未知的状态“{status}”。", "可选：" + "、".join(STATUSES) + "。")
    from guanai.care.model import HARDSHIPS

    cats = CATEGORIES + tuple(HARDSHIPS)
    if category and category.strip() not in cats:
        raise InputError(f"未知的类别“{category}”。", "可选：" + "、".join(cats) + "。")
    code = None
    if school:
        schools = {arc.info.school_code: arc.info.school_name}
        for (c,) in arc.conn.execute("SELECT DISTINCT school_code FROM children").fetchall():
            schools.setdefault(c, "")
        key = school.strip()
        code = key if key in schools else next((c for c, n in schools.items() if n and n == key), None)
        if code is None:
            listed = "、".join(f"{c}（{n}）" if n else c for c, n in schools.items())
            raise InputError(f"档案库中没有学校“{school}”。", f"可选（学校标识码或校名）：{listed}。")
    lo, hi = _iso_date("起始日期", date_from), _iso_date("截止日期", date_to)
    if lo and hi and lo > hi:
        raise InputError(f"起始日期 {lo} 晚于截止日期 {hi}。", "交换 --from 与 --to。")
    return Filters(kind=kind or None, school=code, child=resolve_child(arc, child), date_from=lo, date_to=hi,
                   status=(status or "").strip() or None, category=(category or "").strip() or None)


def run_search(arc: Archive, q: str, filters: Filters | None = None, limit: int = 20,
               progress: Progress | None = None, include_void: bool = False) -> SearchView:
    """Search the archive's index (caught up first), build snippets from decrypted text, audit.

    Voided documents are left out of hits and total unless ``include_void``.
    """
    from dataclasses import replace

    from guanai.archive.documents import voided

    arc.require("read")
    filters = filters or Filters()
    voids = voided(arc)
    if voids and not include_void:
        filters = replace(filters, exclude=tuple(sorted(voids)))
    six, behind, built = _searchable(arc, progress)
    if not built:
        arc.audit("search", None, {"query": q, "hits": 0, "index": "missing"})
        return SearchView(query=q, total=0, exact=True, hits=[], behind=behind, built=False)
    res: Result = search(six, q, filters, limit)
    damaged: list[str] = []
    names: dict[str, str] = {}
    views: list[HitView] = []
    for h in res.hits:
        child_name = ""
        if h.child:
            if h.child not in names:
                try:
                    c = arc.find_child(h.child)
                    names[h.child] = c.record.name if c is not None else ""
                except (GuanaiError, ValueError, TypeError, UnicodeDecodeError):
                    names[h.child] = "（已损坏）"
            child_name = names[h.child]
        text = ""
        try:
            if h.entity == "document":
                try:
                    arc.get_document(h.id)
                except NotFoundError:
                    continue  # gone from the catalog since indexing (the next sync drops it)
                text = arc.document_text(h.id) or ""
            else:
                c = arc.find_child(h.id)
                text = _child_text(c) if c is not None else ""
        except (GuanaiError, ValueError, TypeError, UnicodeDecodeError):
            damaged.append(h.id)  # one damaged entry does not hide the others
            text = "（该条目已损坏，无法显示；请运行 guanai verify）"
        views.append(HitView(id=h.id, entity=h.entity, kind=h.kind, title=h.title, child_id=h.child,
                             child_name=child_name, date=h.date, school=h.school, status=h.status,
                             score=round(h.score, 3), snippet=snippet(text, res.terms), void=h.id in voids))
    detail = {"query": q, "filters": {k: v for k, v in asdict(filters).items() if v and k != "exclude"},
              "hits": res.total}
    arc.audit("search", None, detail)
    return SearchView(query=q, total=res.total, exact=res.exact, hits=views, behind=behind, damaged=damaged)


def index_changes(arc: Archive, progress: Progress | None = None, timeout: float = 10.0) -> int:
    """Index what the catalog holds and the index lacks; every write command calls this at its end.

    Builds the index when there is none yet. Returns the number of entries written.
    """
    return index_for(arc).sync(arc, progress, timeout=timeout)


def pending_changes(arc: Archive, six: SearchIndex) -> tuple[int, bool]:
    """(catalog entries not yet in the index, whether an index exists)."""
    state = six._safe_state()
    if state is None or state.schema != SCHEMA_VERSION or state.generation > arc.generation:
        n = arc.conn.execute("SELECT (SELECT count(*) FROM children) + (SELECT count(*) FROM documents)").fetchone()[0]
        return int(n), state is not None and state.schema == SCHEMA_VERSION
    if state.generation == arc.generation:
        return 0, True
    return len(arc.changes_since(state.generation)), True


def _searchable(arc: Archive, progress: Progress | None) -> tuple[SearchIndex, int, bool]:
    """The index to search now, the entries it lacks, whether it exists.

    A few pending changes (a crash between a write and its indexing, a write by an older
    program) are caught up here; a large backlog is not paid by the person searching: the
    results say the index is behind instead.
    """
    six = index_for(arc)
    behind, built = pending_changes(arc, six)
    if behind == 0:
        return six, 0, True
    if behind <= INLINE_CATCH_UP:
        try:
            six.sync(arc, progress, timeout=2.0)
            return six, 0, True
        except BusyError:
            pass  # another process is indexing: search the last committed state meanwhile
    return six, behind, built and six.exists()


def show(arc: Archive, ref: str) -> dict[str, Any]:
    """Metadata and decrypted text of a document (or, for a child reference, the child's summary).

    ``ref`` is a document id or unique prefix; failing that, any child reference (resolve.py).
    """
    from guanai.archive.documents import list_documents, voided
    from guanai.archive.labels import format_label, mime_label
    from guanai.archive.resolve import resolve_child as resolve
    from guanai.archive.resolve import unique_short_id

    arc.require("read")
    try:
        entry = arc.get_document(ref)
    except NotFoundError:
        try:
            child = resolve(arc, ref)
        except NotFoundError:
            raise NotFoundError(f"找不到文档或儿童：{ref}",
                                "文档用编号（至少前 6 位），儿童用姓名、学籍号、身份证号或编号；"
                                "用 guanai doc list、guanai child list 或 guanai search 查找。") from None
        arc.audit("child.show", child.id, None)
        return {"entity": "child", "id": child.id, "short_id": unique_short_id(arc, child.id, "children"), "name": child.record.name,
                "status": child.status, "school_code": child.school_code, "text": _child_text(child),
                "documents": [r.to_json() for r in list_documents(arc, child=child.id, sort="date")]}
    text = arc.document_text(entry.id)
    child_name = ""
    if entry.child_id:
        c = arc.find_child(entry.child_id)
        child_name = c.record.name if c is not None else ""
    arc.audit("doc.show", entry.id, {"title": entry.title})
    return {"entity": "document", **entry.to_json(), "short_id": unique_short_id(arc, entry.id),
            "format": format_label(entry.mime, entry.filename), "mime_name": mime_label(entry.mime),
            "child_name": child_name, "void": voided(arc).get(entry.id), "text": text or ""}


def reindex(arc: Archive, progress: Progress | None = None) -> int:
    """Rebuild the index from the catalog; returns the number of entries indexed."""
    from guanai.search.index import index_for

    arc.require("read")
    n = index_for(arc).rebuild(arc, progress)
    arc.audit("index.rebuild", None, {"entries": n})
    return n
