"""The encrypted full-text index: schema, building, catching up, one searcher per process.

The index is derived data: the catalog (``archive/``) is the source of truth, and
``rebuild`` recreates the index from it at any time. The index records the catalog generation
it reflects (a sealed state file written *after* each whoosh commit), so a crash between the
catalog write and the index update is repaired at the next open by re-indexing
``arc.changes_since(indexed_generation)`` (updates are idempotent: unique ids).

Files under ``<archive>/index/``::

    guanai-index.json   clear: format, version, build id (random per rebuild; no personal data)
    guanai.state        sealed JSON: catalog generation indexed, schema version, doc count
    guanai.lock         empty; fcntl lock of the one index writer
    _MAIN_<n>.toc, MAIN_<seg>.seg, MAIN_WRITELOCK   whoosh files, each sealed (search/storage.py)
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from whoosh import index as windex
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.searching import Searcher

from guanai.base.errors import BusyError, FormatError, GuanaiError, IntegrityError, NotFoundError
from guanai.base.fsutil import fsync_dir
from guanai.search.analysis import BigramTokenizer, CompactPositions, JiebaTokenizer, PositionalText
from guanai.search.storage import REINDEX_HINT, SealedStorage, atomic_write
from guanai.search.whoosh_tuning import FastSegmentWriter
from guanai.search.whoosh_tuning import apply as _tune_whoosh

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry, DocumentEntry

_tune_whoosh()

INDEX_FORMAT = "guanai-index"
INDEX_VERSION = 1
SCHEMA_VERSION = 2  # 2: compact positions
INDEX_NAME = "MAIN"
HEADER = "guanai-index.json"
STATE = "guanai.state"
LOCK = "guanai.lock"
# a rebuild builds in <archive>/.index.build-<hex>, then swaps it with <archive>/index
BUILD_PREFIX = ".index.build-"
CHILD_KIND = "child"
# documents per whoosh commit while (re)building: bounds the in-memory posting pool
BATCH = int(os.environ.get("GUANAI_INDEX_BATCH", "5000"))
WRITER_MB = int(os.environ.get("GUANAI_INDEX_MB", "256"))
# worker processes for a fresh build (each writes its own sealed segment); 1 = in-process only
PROCS = max(1, int(os.environ.get("GUANAI_INDEX_PROCS", str(min(2, os.cpu_count() or 1)))))
LOCK_TIMEOUT = float(os.environ.get("GUANAI_INDEX_LOCK_TIMEOUT", "10"))

Progress = Callable[[int, int], None]


def _text_field(analyzer: Any) -> TEXT:
    f = PositionalText(analyzer=analyzer, phrase=True)
    f.format = CompactPositions(field_boost=1.0)
    return f


def make_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        entity=ID(stored=True),  # 'child' | 'document'
        kind=ID(stored=True),
        school=ID(stored=True),
        child=ID(stored=True),
        date=ID(stored=True),  # ISO yyyy-mm-dd, range-filtered lexically
        status=ID(stored=True),
        # sensitive (留守/困境 categories): only here, inside the sealed index
        category=KEYWORD(commas=True),
        title=STORED,
        name=KEYWORD(commas=True, scorable=True, field_boost=8.0),  # the child's exact name
        people=KEYWORD(commas=True, scorable=True, field_boost=3.0),  # parents, carers, mentor
        ids=KEYWORD(commas=True, scorable=True, field_boost=8.0),  # 学籍号, ID numbers (upper case)
        text=_text_field(JiebaTokenizer()),
        bigram=_text_field(BigramTokenizer()),
    )


@dataclass
class IndexDoc:
    """One unit of the index: a child record or a document (with its child's fields)."""

    id: str
    entity: str
    kind: str
    text: str
    title: str = ""
    school: str = ""
    child: str = ""
    date: str = ""
    status: str = ""
    categories: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        def kw(values: Iterable[str]) -> str:
            return ",".join(v.replace(",", " ").strip() for v in values if v and v.strip())

        return {
            "id": self.id, "entity": self.entity, "kind": self.kind, "school": self.school,
            "child": self.child, "date": self.date, "status": self.status,
            "category": kw(self.categories), "title": self.title, "name": kw(self.names),
            "people": kw(self.people), "ids": kw(v.upper() for v in self.ids),
            "text": self.text, "bigram": self.text,
        }


# ---- from archive entries to index docs -------------------------------------------------------

def _categories(record: Any) -> list[str]:
    cats: list[str] = []
    try:
        from guanai.care.rules import classify

        cats += [c.name for c in classify(record, on=date.today())]
    except Exception:  # noqa: BLE001 - care.rules is optional; the record's own fields still count
        pass
    for h in getattr(record, "hardship", None) or []:
        if h not in cats:
            cats.append(h)
    return cats


def _child_parts(record: Any) -> tuple[str, list[str], list[str], list[str]]:
    """(free text, exact names, other people, id numbers) of a child record."""
    try:
        from guanai.care.model import search_fields

        sf = search_fields(record)
        text = " ".join(v for k, v in sf.items() if k not in ("status",) and v)
    except Exception:  # noqa: BLE001 - before care.model existed / unexpected record shapes
        text = " ".join(str(getattr(record, a, "") or "") for a in ("name", "student_id", "id_number", "school"))
    names = [str(getattr(record, "name", "") or "")]
    people: list[str] = []
    ids = [str(getattr(record, "student_id", "") or ""), str(getattr(record, "id_number", "") or "")]
    for attr in ("father", "mother", "guardian", "entrusted_carer"):
        p = getattr(record, attr, None)
        if p is not None:
            people.append(str(getattr(p, "name", "") or ""))
            ids.append(str(getattr(p, "id_number", "") or ""))
    people.append(str(getattr(record, "mentor", "") or ""))
    return text, [n for n in names if n], [p for p in people if p], [i for i in ids if i]


def child_doc(entry: ChildEntry) -> IndexDoc:
    text, names, people, ids = _child_parts(entry.record)
    return IndexDoc(
        id=entry.id, entity="child", kind=CHILD_KIND, text=text, title=names[0] if names else "",
        school=entry.school_code, child=entry.id, date=(entry.created_at or "")[:10], status=entry.status,
        categories=_categories(entry.record), names=names, people=people, ids=ids,
    )


def document_doc(entry: DocumentEntry, body: str | None, child: ChildEntry | None, school: str) -> IndexDoc:
    parts = [entry.title, body or ""]
    names: list[str] = []
    people: list[str] = []
    ids: list[str] = []
    cats: list[str] = []
    status = ""
    if child is not None:
        # a document is found by its child's name, numbers and village too
        ctext, names, people, ids = _child_parts(child.record)
        parts.append(ctext)
        cats = _categories(child.record)
        status = child.status
        school = child.school_code or school
    return IndexDoc(
        id=entry.id, entity="document", kind=entry.kind, text="\n".join(p for p in parts if p),
        title=entry.title, school=school, child=entry.child_id or "",
        date=(entry.doc_date or entry.created_at or "")[:10], status=status, categories=cats,
        names=names, people=people, ids=ids,
    )


def archive_docs(arc: Archive, doc_ids: Iterable[str], child_ids: Iterable[str]) -> Iterator[IndexDoc | str]:
    """Index docs for the given ids; a bare id string means 'delete it from the index'."""
    children: dict[str, ChildEntry | None] = {}

    damaged = (GuanaiError, ValueError, TypeError, KeyError, AttributeError)

    def note(rid: str, err: Exception) -> None:
        if isinstance(getattr(arc, "damaged", None), dict):
            arc.damaged[rid] = getattr(err, "message", None) or f"{type(err).__name__}: {err}"

    def child(cid: str | None) -> ChildEntry | None:
        if not cid:
            return None
        if cid not in children:
            try:
                children[cid] = arc.find_child(cid)
            except damaged as err:  # a damaged record: its documents are indexed without its fields
                note(cid, err)
                children[cid] = None
        return children[cid]

    for cid in child_ids:
        c = child(cid)
        yield child_doc(c) if c is not None else cid
    for did in doc_ids:
        try:
            entry = arc.get_document(did)
            body = arc.document_text(did)
        except NotFoundError:
            yield did
            continue
        except damaged as err:  # one damaged document does not stop the others (see verify)
            note(did, err)
            yield did
            continue
        yield document_doc(entry, body, child(entry.child_id), arc.info.school_code)


# ---- the index ------------------------------------------------------------------------------

@dataclass
class IndexState:
    generation: int
    count: int
    schema: int = SCHEMA_VERSION


class SearchIndex:
    """The sealed whoosh index of one archive, with its writer lock and a long-lived searcher."""

    def __init__(self, path: Path | str, key: bytes, archive_id: str,
                 storage_cls: type[SealedStorage] = SealedStorage) -> None:
        self.path = Path(path)
        self.storage_cls = storage_cls  # the benchmark swaps in a plain FileStorage twin
        self._key = key
        self.archive_id = archive_id
        self._storage: SealedStorage | None = None
        self._ix: Any = None
        self._searcher: Searcher | None = None
        self._mutex = threading.RLock()
        self.schema = make_schema()
        self.filter_cache: dict[tuple[Any, ...], Any] = {}
        self._lock_fd: int | None = None

    # -- files -----------------------------------------------------------------------------
    @property
    def where(self) -> str:
        return str(self.path)

    def _read_header(self) -> str | None:
        try:
            raw = (self.path / HEADER).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            h = json.loads(raw)
            if h.get("format") != INDEX_FORMAT or not isinstance(h.get("build"), str):
                raise ValueError("format")
        except ValueError as err:
            raise IntegrityError(f"全文索引 {self.where} 的 {HEADER} 已损坏。", REINDEX_HINT) from err
        if h.get("version") != INDEX_VERSION:
            raise FormatError(f"全文索引 {self.where} 的格式版本 {h.get('version')!r} 不受支持。", REINDEX_HINT)
        return str(h["build"])

    def storage(self) -> SealedStorage | None:
        if self._storage is None:
            build = self._read_header()
            if build is None:
                return None
            self._storage = self.storage_cls(self.path, self._key, f"{self.archive_id}:{build}")
        return self._storage

    def read_state(self) -> IndexState | None:
        st = self.storage()
        if st is None or not st.file_exists(STATE):
            return None
        data = json.loads(st.read_plain(STATE))
        return IndexState(int(data["generation"]), int(data["count"]), int(data.get("schema", 0)))

    def _write_state(self, state: IndexState) -> None:
        st = self.storage()
        assert st is not None
        payload = {"generation": state.generation, "count": state.count, "schema": state.schema}
        st.write_plain(STATE, json.dumps(payload).encode())

    def exists(self) -> bool:
        return self.read_state() is not None

    # -- locking ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer_lock(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """The one index writer (across processes); BusyError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            _sweep_builds(self.path)
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise BusyError("全文索引正被其他程序更新。", "稍候再试；如长时间如此，检查是否有 guanai reindex 在运行。") from None
                time.sleep(0.05)
                continue
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path / LOCK).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # a rebuild swapped the directory while we waited: lock the new one
        try:
            _sweep_builds(self.path, locked=True)
            with self._mutex:
                st = self.storage()
                if st is not None:
                    st.sweep()  # leftovers of a writer killed mid-commit (sealed, but not ours to keep)
                self._lock_fd = fd
                try:
                    yield
                finally:
                    self._lock_fd = None
        finally:
            os.close(fd)

    # -- whoosh plumbing -------------------------------------------------------------------
    def _index(self) -> Any:
        if self._ix is None:
            st = self.storage()
            if st is None or not windex.exists(st, indexname=INDEX_NAME):
                raise NotFoundError(f"全文索引 {self.where} 尚未建立。", "执行 guanai reindex 建立索引。")
            self._ix = windex.FileIndex(st, schema=self.schema, indexname=INDEX_NAME)
        return self._ix

    def _reset(self) -> None:
        with self._mutex:
            if self._searcher is not None:
                with contextlib.suppress(Exception):
                    self._searcher.close()
            self._searcher = None
            self._ix = None
            self._storage = None
            self.filter_cache.clear()

    def searcher(self) -> Searcher:
        """The process's searcher, kept open and renewed only when the index changed.

        whoosh's own ``Searcher.refresh()`` reuses segment readers by segment identity and so
        keeps their *old* deletion sets (an updated or deleted document stays visible); here a
        reader is reused only when both the segment and its deletions are unchanged.
        """
        with self._mutex:
            if self._searcher is not None and self._searcher.up_to_date():
                return self._searcher
            self._searcher = self._open_searcher(self._searcher)
            self.filter_cache.clear()
            return self._searcher

    def _open_searcher(self, previous: Searcher | None) -> Searcher:
        from whoosh.reading import EmptyReader, MultiReader, SegmentReader

        ix = self._index()
        toc = ix._read_toc()
        reusable: dict[tuple[str, frozenset[int]], Any] = {}
        if previous is not None:
            for r, _offset in previous.ixreader.leaf_readers():
                seg = r.segment()
                if seg is not None:
                    reusable[(seg.segment_id(), frozenset(seg.deleted_docs()))] = r
        readers = []
        for seg in toc.segments:
            key = (seg.segment_id(), frozenset(seg.deleted_docs()))
            r = reusable.pop(key, None)
            readers.append(r if r is not None else SegmentReader(ix.storage, self.schema, seg, generation=toc.generation))
        for r in reusable.values():
            with contextlib.suppress(Exception):
                r.close()
        if not readers:
            reader: Any = EmptyReader(self.schema)
        elif len(readers) == 1:
            reader = readers[0]
        else:
            reader = MultiReader(readers, generation=toc.generation)
        reader._gen = toc.generation
        return Searcher(reader, fromindex=ix)

    def close(self) -> None:
        self._reset()

    # -- writing ---------------------------------------------------------------------------
    def _create_empty(self) -> None:
        """Fresh build id (old files can no longer be mixed in), empty whoosh index."""
        self._reset()
        for name in os.listdir(self.path):
            if name == LOCK:
                continue
            full = self.path / name
            if full.is_dir():
                shutil.rmtree(full)
            else:
                full.unlink()
        header = {"format": INDEX_FORMAT, "version": INDEX_VERSION, "build": secrets.token_hex(16)}
        atomic_write(str(self.path / HEADER), json.dumps(header).encode())
        st = self.storage()
        assert st is not None
        windex.FileIndex.create(st, self.schema, indexname=INDEX_NAME)

    def write_docs(self, docs: Iterable[IndexDoc | str], *, fresh: bool, total: int = 0,
                   progress: Progress | None = None) -> int:
        """Add/replace docs (a bare id deletes), committing every BATCH docs. Caller holds the lock.

        A fresh build of more than one batch is split over PROCS forked worker processes, each
        writing whole sealed segments; the segments join the index in one TOC commit at the end.
        """
        if fresh and PROCS > 1:
            it = iter(docs)
            first = [d for d in itertools.islice(it, BATCH) if not isinstance(d, str)]
            if len(first) >= BATCH:
                return self._write_parallel(itertools.chain(first, it), total, progress)
            docs = first
        ix = self._index()
        done = 0
        writer = None
        try:
            for item in docs:
                if writer is None:
                    writer = FastSegmentWriter(ix, limitmb=WRITER_MB)
                if isinstance(item, str):
                    writer.delete_by_term("id", item)
                elif fresh:
                    writer.add_document(**item.fields())
                else:
                    writer.update_document(**item.fields())
                done += 1
                if done % BATCH == 0:
                    writer.commit()
                    writer = None
                if progress is not None and (done % 200 == 0):
                    progress(done, total)
            if writer is not None:
                writer.commit()
                writer = None
        finally:
            if writer is not None:
                writer.cancel()
        if progress is not None:
            progress(done, total)
        return done

    def _write_parallel(self, docs: Iterable[IndexDoc | str], total: int, progress: Progress | None) -> int:
        """Fresh build: batches go to forked workers; the parent commits their segments at the end."""
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        ix = self._index()
        writer: FastSegmentWriter | None = FastSegmentWriter(ix, limitmb=WRITER_MB)  # holds whoosh's lock; commits the TOC
        running: list[tuple[Any, Any]] = []
        segments: list[Any] = []

        def collect(proc: Any, conn: Any) -> None:
            try:
                status, payload = conn.recv()
            except EOFError:
                status, payload = "error", f"exit code {proc.exitcode}"
            finally:
                conn.close()
                proc.join()
            if status != "ok":
                raise RuntimeError(f"index worker failed: {payload}")
            segments.append(payload)

        def start(batch: list[IndexDoc]) -> None:
            while len(running) >= PROCS:
                collect(*running.pop(0))
            parent_conn, child_conn = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_segment_worker, args=(self, ix, batch, child_conn, os.getpid()), daemon=True)
            proc.start()
            child_conn.close()
            running.append((proc, parent_conn))

        done = 0
        try:
            batch: list[IndexDoc] = []
            for item in docs:
                if isinstance(item, str):
                    continue  # a deletion means nothing in a fresh index
                batch.append(item)
                done += 1
                if len(batch) >= BATCH:
                    start(batch)
                    batch = []
                if progress is not None and (done % 200 == 0):
                    progress(done, total)
            if batch:
                start(batch)
            while running:
                collect(*running.pop(0))
            w, writer = writer, None
            assert w is not None
            w._close_segment()
            w._commit_toc(list(w.segments) + segments)
            w._finish()
        finally:
            for proc, conn in running:
                with contextlib.suppress(Exception):
                    proc.kill()
                    proc.join()
                    conn.close()
            if writer is not None:
                writer.cancel()  # the workers' segment files are swept by the next commit
        if progress is not None:
            progress(done, total)
        return done

    def doc_count(self) -> int:
        return int(self.searcher().doc_count())

    def build_from(self, docs: Iterable[IndexDoc], generation: int = 0, progress: Progress | None = None) -> int:
        """Create a fresh index holding ``docs`` (tests, benchmark, rebuild without an archive)."""
        with self.writer_lock():
            self._create_empty()
            n = self.write_docs(docs, fresh=True, progress=progress)
            self._write_state(IndexState(generation, n))
            self._reset()
            return n

    def update_docs(self, docs: Iterable[IndexDoc | str], generation: int) -> int:
        """Add/replace (or delete, for a bare id) docs and record ``generation``."""
        with self.writer_lock():
            n = self.write_docs(docs, fresh=False)
            self._write_state(IndexState(generation, self.doc_count()))
            return n

    # -- archive-facing operations -----------------------------------------------------------
    def rebuild(self, arc: Archive, progress: Progress | None = None) -> int:
        """Recreate the index from the catalog (``guanai reindex``)."""
        with self.writer_lock():
            return self._rebuild_locked(arc, progress)

    def _rebuild_locked(self, arc: Archive, progress: Progress | None) -> int:
        """Build a new index beside the old one (``.index.build-*``), then swap the directories.

        The old index keeps answering searches until the swap; a failed or killed rebuild
        leaves it as it was (the half-built directory is swept by the next writer).
        """
        build = self.path.parent / f"{BUILD_PREFIX}{secrets.token_hex(6)}"
        build.mkdir(mode=0o700)
        try:
            twin = SearchIndex(build, self._key, self.archive_id, self.storage_cls)
            twin._lock_fd = self._lock_fd  # forked build workers must drop our lock too
            try:
                n = twin._build_here(arc, progress)
            finally:
                twin.close()
            (build / LOCK).touch(mode=0o600)
            self._reset()
            if self.path.is_dir():
                swap_dirs(build, self.path)
            else:
                os.rename(build, self.path)
            fsync_dir(self.path.parent)
        finally:
            shutil.rmtree(build, ignore_errors=True)  # the old index after a swap, else the failed build
        return n

    def _build_here(self, arc: Archive, progress: Progress | None) -> int:
        gen = arc.generation  # read first: writes after this are caught up next time
        self._create_empty()
        children = [c.id for c in arc.list_children()]
        documents = [d.id for d in arc.list_documents()]
        total = len(children) + len(documents)
        n = self.write_docs(archive_docs(arc, documents, children), fresh=True, total=total, progress=progress)
        self._write_state(IndexState(gen, n))
        self._reset()
        return n

    def sync(self, arc: Archive, progress: Progress | None = None, timeout: float = LOCK_TIMEOUT) -> int:
        """Bring the index up to the catalog's generation; returns the number of entries written."""
        state = self._safe_state()
        if state is not None and state.generation == arc.generation and state.schema == SCHEMA_VERSION:
            return 0
        with self.writer_lock(timeout):
            self._reset()  # another process may have rebuilt it meanwhile
            state = self.read_state()
            target = arc.generation
            if state is None or state.schema != SCHEMA_VERSION or state.generation > target:
                return self._rebuild_locked(arc, progress)
            if state.generation == target:
                return 0
            changes = arc.changes_since(state.generation)
            child_ids = list(dict.fromkeys(c.id for c in changes if c.entity == "child"))
            # a tombstone ('deleted') is a document id that no longer opens: archive_docs deletes it
            doc_ids = list(dict.fromkeys(c.id for c in changes if c.entity in ("document", "deleted")))
            for cid in child_ids:  # the child's fields live in each of its documents too
                for d in arc.list_documents(child_id=cid):
                    if d.id not in doc_ids:
                        doc_ids.append(d.id)
            n = self.write_docs(archive_docs(arc, doc_ids, child_ids), fresh=False,
                                total=len(child_ids) + len(doc_ids), progress=progress)
            self._write_state(IndexState(target, self.doc_count()))
            return n

    def _safe_state(self) -> IndexState | None:
        try:
            return self.read_state()
        except (IntegrityError, ValueError, KeyError):
            return None

    def verify(self, arc: Archive | None = None) -> list[str]:
        """Every file opens under its tag; with ``arc``: indexed ids equal the catalog's ids."""
        problems: list[str] = []
        st = self.storage()
        if st is None:
            return [f"全文索引 {self.where} 不存在。"]
        for name in sorted(os.listdir(self.path)):
            if name in (HEADER, LOCK) or name.endswith("WRITELOCK"):
                continue
            try:
                st.read_plain(name)
            except IntegrityError as err:
                problems.append(err.message)
        if problems or arc is None:
            return problems
        state = self.read_state()
        if state is None:
            return [f"全文索引 {self.where} 缺少状态文件（未建完）。"]
        s = self.searcher()
        indexed = {f["id"] for f in s.all_stored_fields()}
        expected = {c.id for c in arc.list_children()} | {d.id for d in arc.list_documents()}
        if state.generation == arc.generation and indexed != expected:
            problems.append(f"全文索引 {self.where} 与目录不一致：缺 {len(expected - indexed)} 条，多 {len(indexed - expected)} 条。")
        return problems


def swap_dirs(a: Path, b: Path) -> None:
    """Exchange two directories atomically (Linux ``renameat2(RENAME_EXCHANGE)``).

    Where that call is missing, ``b`` is first renamed to ``a``'s name plus ``.old`` and then
    ``a`` into place; a crash between the two is repaired by :func:`_sweep_builds`.
    """
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
        at_fdcwd, rename_exchange = -100, 2
        if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
            return
    old = a.with_name(a.name + ".old")
    os.rename(b, old)
    os.rename(a, b)
    os.rename(old, a)


def _sweep_builds(index_dir: Path, locked: bool = False) -> None:
    """Repair an interrupted swap; with the writer lock held also remove half-built indexes."""
    parent = index_dir.parent
    if not parent.is_dir():
        return
    for p in parent.iterdir():
        if not p.name.startswith(BUILD_PREFIX):
            continue
        if p.name.endswith(".old") and not index_dir.exists():
            with contextlib.suppress(OSError):
                os.rename(p, index_dir)  # the old index, moved away by a swap that did not finish
        elif locked:
            shutil.rmtree(p, ignore_errors=True)


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this process when the parent dies (a killed build leaves no writer behind)."""
    import signal

    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def _segment_worker(six: SearchIndex, ix: Any, batch: list[IndexDoc], conn: Any, parent: int) -> None:
    """In a forked child: write ``batch`` as one sealed segment and send back its descriptor."""
    import random

    _die_with_parent(parent)
    if six._lock_fd is not None:
        # the parent's flock is shared through the inherited descriptor: let it go with the parent
        os.close(six._lock_fd)
    random.seed(os.urandom(16))  # whoosh names segments with `random`: forked twins must differ
    try:
        w = FastSegmentWriter(ix, _lk=False, limitmb=WRITER_MB)
        for i, d in enumerate(batch):
            if i % 256 == 0 and os.getppid() != parent:
                os._exit(1)  # the parent died (kill -9): stop writing
            w.add_document(**d.fields())
        # the temp storage is left alone: with a plain FileStorage (benchmark twin) it is one
        # directory shared with the parent and the other workers; the parent's commit removes it
        seg = w._finalize_segment()
        conn.send(("ok", seg))
    except BaseException as err:  # noqa: BLE001 - reported to the parent, which raises
        conn.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


# ---- one index object per archive per process --------------------------------------------------

_OPEN: dict[tuple[str, str], SearchIndex] = {}
_OPEN_LOCK = threading.Lock()


def index_for(arc: Archive) -> SearchIndex:
    """The process-wide SearchIndex of an archive (keeps its searcher warm across calls)."""
    key = (str(Path(arc.path).resolve()), arc.info.archive_id)
    with _OPEN_LOCK:
        six = _OPEN.get(key)
        if six is None:
            six = SearchIndex(Path(arc.path) / "index", arc.subkey("index"), arc.info.archive_id)
            _OPEN[key] = six
        return six


def open_index(arc: Archive, progress: Progress | None = None) -> SearchIndex:
    """The archive's index, caught up with the catalog (built on first use)."""
    six = index_for(arc)
    try:
        six.sync(arc, progress, timeout=LOCK_TIMEOUT if not six.exists() else 2.0)
    except BusyError:
        if not six.exists():
            raise
        # another process is updating it: search the last committed state meanwhile
    return six


def reset_cache() -> None:
    with _OPEN_LOCK:
        for six in _OPEN.values():
            six.close()
        _OPEN.clear()
