"""Library functions behind ``guanai search / show / open / reindex`` (the CLI only prints).

Every search, show and export is audited with the user (``arc.audit``); the query text goes
into the sealed audit detail, never into a clear column.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from guanai.base.errors import BusyError, GuanaiError, NotFoundError
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
    """A child reference (id, 学籍号, ID number) as the child id used in the index."""
    if not ref:
        return None
    return arc.get_child(ref).id


def run_search(arc: Archive, q: str, filters: Filters | None = None, limit: int = 20,
               progress: Progress | None = None) -> SearchView:
    """Search the archive's index (caught up first), build snippets from decrypted text, audit."""
    arc.require("read")
    filters = filters or Filters()
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
                             score=round(h.score, 3), snippet=snippet(text, res.terms)))
    detail = {"query": q, "filters": {k: v for k, v in asdict(filters).items() if v}, "hits": res.total}
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
    """Metadata and decrypted text of a document (or, for a child id, the child's summary)."""
    arc.require("read")
    try:
        entry = arc.get_document(ref)
    except NotFoundError:
        child = arc.find_child(ref)
        if child is None:
            raise
        arc.audit("child.show", child.id, None)
        return {"entity": "child", "id": child.id, "name": child.record.name, "status": child.status,
                "school_code": child.school_code, "text": _child_text(child),
                "documents": [d.to_json() for d in arc.list_documents(child_id=child.id)]}
    text = arc.document_text(entry.id)
    child_name = ""
    if entry.child_id:
        c = arc.find_child(entry.child_id)
        child_name = c.record.name if c is not None else ""
    arc.audit("doc.show", entry.id, None)
    return {"entity": "document", **entry.to_json(), "child_name": child_name, "text": text or ""}


def reindex(arc: Archive, progress: Progress | None = None) -> int:
    """Rebuild the index from the catalog; returns the number of entries indexed."""
    from guanai.search.index import index_for

    arc.require("read")
    n = index_for(arc).rebuild(arc, progress)
    arc.audit("index.rebuild", None, {"entries": n})
    return n
