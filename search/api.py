"""Library functions behind ``guanai search / show / open / reindex`` (the CLI only prints).

Every search, show and export is audited with the user (``arc.audit``); the query text goes
into the sealed audit detail, never into a clear column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from guanai.base.errors import NotFoundError
from guanai.search.index import Progress, open_index
from guanai.search.query import Filters, Result, search, snippet

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry

KIND_NAMES = {"child": "儿童档案"}


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

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "exact": self.exact,
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
    six = open_index(arc, progress)
    res: Result = search(six, q, filters, limit)
    names: dict[str, str] = {}
    views: list[HitView] = []
    for h in res.hits:
        child_name = ""
        if h.child:
            if h.child not in names:
                c = arc.find_child(h.child)
                names[h.child] = c.record.name if c is not None else ""
            child_name = names[h.child]
        text = ""
        if h.entity == "document":
            try:
                arc.get_document(h.id)
            except NotFoundError:
                continue  # gone from the catalog since indexing (the next sync drops it)
            text = arc.document_text(h.id) or ""
        else:
            c = arc.find_child(h.id)
            text = _child_text(c) if c is not None else ""
        views.append(HitView(id=h.id, entity=h.entity, kind=h.kind, title=h.title, child_id=h.child,
                             child_name=child_name, date=h.date, school=h.school, status=h.status,
                             score=round(h.score, 3), snippet=snippet(text, res.terms)))
    detail = {"query": q, "filters": {k: v for k, v in asdict(filters).items() if v}, "hits": res.total}
    arc.audit("search", None, detail)
    return SearchView(query=q, total=res.total, exact=res.exact, hits=views)


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
