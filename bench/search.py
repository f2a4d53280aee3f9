"""Search benchmark: encrypted whoosh index vs plain whoosh FileStorage vs SQLite FTS5.

    .venv/bin/python bench/search.py                    # 20,000 and 100,000 documents
    .venv/bin/python bench/search.py --sizes 20000 --queries 40

Each engine runs in its own process (so peak memory is its own) on the same synthetic corpus
(``search.corpus``; deterministic). Reported per engine: indexing docs/s (wall and per CPU
second — the machine may be shared), open ms (cold open of the searcher), p50/p95 per query kind
with a warm searcher (term, AND, phrase, name, ID), recall against exact-substring truth,
index size and peak RSS. Plain whoosh uses the same schema and analyzers; FTS5 gets the same
pre-segmented text (CJK bigrams, numbers whole) and phrase queries over it. Finally the cold
``guanai search`` process time on a real archive whose index holds the encrypted corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

KINDS = ("term", "and", "phrase", "name", "id")
TARGET_P95_MS = 100.0


# ---- queries and truth ------------------------------------------------------------------------

def make_queries(corpus: Any, n: int, seed: int = 1) -> dict[str, list[tuple[str, list[str]]]]:
    """Per kind: (query text, substrings that must all occur) — the truth is exact substring."""
    from bench.corpus import CITIES, SENTENCES

    rng = random.Random(seed)
    words = ["学习", "安全", "辅导", "心理疏导", "补助", "劝返", "视频", "画画", "危房", "作业", "成绩", "监护"]
    words += list(CITIES)
    out: dict[str, list[tuple[str, list[str]]]] = {k: [] for k in KINDS}
    for _ in range(n):
        w = rng.choice(words)
        out["term"].append((w, [w]))
        a, b = rng.sample(words, 2)
        out["and"].append((f"{a} AND {b}", [a, b]))
        s = rng.choice(SENTENCES).rstrip("。")
        i = rng.randrange(0, max(1, len(s) - 6))
        p = s[i : i + rng.randint(4, 8)].strip("，")
        out["phrase"].append((f'"{p}"', [p]))
        c = rng.choice(corpus.children)
        out["name"].append((c.name, [c.name]))
        c = rng.choice(corpus.children)
        v = c.id_number if rng.random() < 0.6 else c.student_id
        out["id"].append((v, [v]))
    return out


def truth(docs: list[Any], needles: list[str]) -> set[str]:
    return {d.id for d in docs if all(n in d.text for n in needles)}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))
    return s[k]


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the index build forks workers)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


# ---- engines (each in a worker process) --------------------------------------------------------

def _plain_storage_cls() -> Any:
    from whoosh.filedb.filestore import FileStorage

    from guanai.search.storage import SealedStorage

    class PlainStorage(FileStorage):
        """Plain whoosh FileStorage (mmap on, temp files on disk) with the same helper API."""

        def __init__(self, path: Any, key: bytes, index_id: str, readonly: bool = False) -> None:
            super().__init__(os.fspath(path), readonly=readonly)
            self.index_id = index_id

        def read_plain(self, name: str) -> bytes:
            with open(self._fpath(name), "rb") as f:
                return f.read()

        def write_plain(self, name: str, data: bytes) -> None:
            with open(self._fpath(name), "wb") as f:
                f.write(data)

        def sweep(self) -> list[str]:
            return []

    assert issubclass(SealedStorage, FileStorage)  # same interface
    return PlainStorage


def run_whoosh(engine: str, corpus: Any, queries: dict[str, list[tuple[str, list[str]]]], workdir: Path,
               recall_n: int, index_path: Path | None = None, key: bytes = b"\x01" * 32,
               archive_id: str = "bench") -> dict[str, Any]:
    from guanai.search import query as Q
    from guanai.search.index import SearchIndex
    from guanai.search.storage import SealedStorage

    cls = SealedStorage if engine == "encrypted" else _plain_storage_cls()
    path = index_path or (workdir / engine)
    six = SearchIndex(path, key, archive_id, storage_cls=cls)
    t0, c0 = time.perf_counter(), cpu_seconds()
    six.build_from(corpus.docs, generation=0)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    res: dict[str, Any] = {"engine": engine, "docs": len(corpus.docs), "index_s": round(wall, 1),
                           "docs_per_s": round(len(corpus.docs) / wall), "docs_per_cpu_s": round(len(corpus.docs) / cpu)}
    opens = []
    for _ in range(3):
        six.close()
        t = time.perf_counter()
        six.searcher()
        opens.append((time.perf_counter() - t) * 1000)
    res["open_ms"] = round(statistics.median(opens), 1)
    Q.search(six, "家访", limit=10)  # warm
    lat: dict[str, dict[str, float]] = {}
    recall: dict[str, float] = {}
    for kind, qs in queries.items():
        times = []
        for q, _needles in qs:
            Q._RESULT_CACHE.clear()
            t = time.perf_counter()
            Q.search(six, q, limit=10)
            times.append((time.perf_counter() - t) * 1000)
        lat[kind] = {"p50": round(pct(times, 0.5), 1), "p95": round(pct(times, 0.95), 1),
                     "max": round(max(times), 1)}
        found = expected = 0
        for q, needles in qs[:recall_n]:
            want = truth(corpus.docs, needles)
            got = Q.matching_ids(six, q)
            expected += len(want)
            found += len(want & got)
        recall[kind] = round(found / expected, 4) if expected else 1.0
    res["latency_ms"] = lat
    res["recall"] = recall
    six.close()
    res["size_mb"] = round(dir_size(path) / 1e6, 1)
    return res


def _fts_query(q: str) -> str:
    from guanai.search.analysis import query_bigrams

    def phrase(s: str) -> str:
        toks = query_bigrams(s)
        if len(toks) == 1 and len(toks[0]) == 1 and not toks[0].isascii():
            return f'"{toks[0]}"*'
        return '"' + " ".join(toks) + '"'

    if " AND " in q:
        return " AND ".join(phrase(p) for p in q.split(" AND "))
    return phrase(q.strip('"'))


def run_fts(corpus: Any, queries: dict[str, list[tuple[str, list[str]]]], workdir: Path,
            recall_n: int) -> dict[str, Any]:
    db = workdir / "fts.sqlite"
    conn = sqlite3.connect(db)
    # the same index units as whoosh's bigram field, with positions (unigrams share positions
    # in whoosh; FTS5 has no same-position tokens, so it gets the index-time sequence as is)
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, body, tokenize='unicode61')")
    t0, c0 = time.perf_counter(), cpu_seconds()
    rows = ((d.id, " ".join(query_seq(d.text))) for d in corpus.docs)
    conn.executemany("INSERT INTO docs VALUES(?, ?)", rows)
    conn.commit()
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    res: dict[str, Any] = {"engine": "sqlite-fts5", "docs": len(corpus.docs), "index_s": round(wall, 1),
                           "docs_per_s": round(len(corpus.docs) / wall), "docs_per_cpu_s": round(len(corpus.docs) / cpu)}
    conn.close()
    t = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("SELECT count(*) FROM docs WHERE docs MATCH '家访'").fetchone()
    res["open_ms"] = round((time.perf_counter() - t) * 1000, 1)
    lat: dict[str, dict[str, float]] = {}
    recall: dict[str, float] = {}
    for kind, qs in queries.items():
        times = []
        for q, _n in qs:
            fq = _fts_query(q)
            t = time.perf_counter()
            conn.execute("SELECT id FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10", (fq,)).fetchall()
            times.append((time.perf_counter() - t) * 1000)
        lat[kind] = {"p50": round(pct(times, 0.5), 2), "p95": round(pct(times, 0.95), 2), "max": round(max(times), 1)}
        found = expected = 0
        for q, needles in qs[:recall_n]:
            want = truth(corpus.docs, needles)
            got = {r[0] for r in conn.execute("SELECT id FROM docs WHERE docs MATCH ?", (_fts_query(q),))}
            expected += len(want)
            found += len(want & got)
        recall[kind] = round(found / expected, 4) if expected else 1.0
    conn.close()
    res["latency_ms"] = lat
    res["recall"] = recall
    res["size_mb"] = round(db.stat().st_size / 1e6, 1)
    return res


def query_seq(text: str) -> list[str]:
    """FTS5 token sequence: bigrams of each CJK run (a run of one: the character), numbers whole.

    FTS5 has no same-position tokens, so the index-time unigrams of whoosh's bigram field are
    left out; single-character queries use FTS5 prefix search instead.
    """
    from guanai.search.analysis import bigram_spans, normalize

    return [t for t, _p, _s, _e in bigram_spans(normalize(text), query=True)]


def compare(corpus: Any, queries: dict[str, list[tuple[str, list[str]]]], workdir: Path,
            archive: str, passphrase: str) -> dict[str, Any]:
    """Encrypted vs plain in one process, queries interleaved: a fair ratio on a busy machine."""
    from guanai.archive.store import Archive
    from guanai.search import query as Q
    from guanai.search.index import SearchIndex

    with Archive.open(archive, user="admin", passphrase=passphrase) as arc:
        key, aid = arc.subkey("index"), arc.info.archive_id
    engines = {"encrypted": SearchIndex(Path(archive) / "index", key, aid),
               "plain": SearchIndex(workdir / "plain", key, "bench", storage_cls=_plain_storage_cls())}
    for six in engines.values():
        Q.search(six, "家访", limit=10)
    times: dict[str, dict[str, list[float]]] = {e: {k: [] for k in KINDS} for e in engines}
    for rnd in range(2):
        for kind, qs in queries.items():
            for i, (q, _n) in enumerate(qs):
                order = list(engines) if (i + rnd) % 2 == 0 else list(reversed(engines))
                for e in order:
                    Q._RESULT_CACHE.clear()
                    t = time.perf_counter()
                    Q.search(engines[e], q, limit=10)
                    times[e][kind].append((time.perf_counter() - t) * 1000)
    out: dict[str, Any] = {}
    for kind in KINDS:
        enc, pl = times["encrypted"][kind], times["plain"][kind]
        out[kind] = {"enc_p50": round(pct(enc, 0.5), 1), "enc_p95": round(pct(enc, 0.95), 1),
                     "plain_p50": round(pct(pl, 0.5), 1), "plain_p95": round(pct(pl, 0.95), 1),
                     "ratio_p95": round(pct(enc, 0.95) / max(pct(pl, 0.95), 0.01), 2),
                     "ratio_total": round(sum(enc) / max(sum(pl), 0.01), 2)}
    return out


def worker(args: argparse.Namespace) -> None:
    from bench.corpus import make_corpus

    corpus = make_corpus(args.size, seed=42)
    queries = make_queries(corpus, args.queries)
    workdir = Path(args.workdir)
    engine = args.worker
    if engine == "compare":
        print("RESULT " + json.dumps(compare(corpus, queries, workdir, args.archive, args.passphrase)), flush=True)
        return
    if engine == "sqlite-fts5":
        res = run_fts(corpus, queries, workdir, args.recall)
    elif engine == "encrypted" and args.archive:
        from guanai.archive.store import Archive

        with Archive.open(args.archive, user="admin", passphrase=args.passphrase) as arc:
            key, aid, gen = arc.subkey("index"), arc.info.archive_id, arc.generation
        res = run_whoosh("encrypted", corpus, queries, workdir, args.recall,
                         index_path=Path(args.archive) / "index", key=key, archive_id=aid)
        # record the archive's generation so `guanai search` does not try to catch up
        from guanai.search.index import IndexState, SearchIndex

        six = SearchIndex(Path(args.archive) / "index", key, aid)
        six._write_state(IndexState(gen, len(corpus.docs)))
    else:
        res = run_whoosh(engine, corpus, queries, workdir, args.recall)
    # peak of this process and, separately, of its largest worker child (build workers)
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    res["peak_child_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    print("RESULT " + json.dumps(res, ensure_ascii=False), flush=True)


def run_worker(engine: str, size: int, workdir: Path, n_queries: int, recall: int,
               archive: Path | None = None, passphrase: str = "") -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", engine, "--size", str(size), "--workdir", str(workdir),
           "--queries", str(n_queries), "--recall", str(recall)]
    if archive:
        cmd += ["--archive", str(archive), "--passphrase", passphrase]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise SystemExit(f"worker {engine} failed:\n{out.stdout}\n{out.stderr}")


def cold_cli(archive: Path, passphrase: str, queries: list[str]) -> list[float]:
    env = {**os.environ, "GUANAI_ARCHIVE": str(archive), "GUANAI_PASSPHRASE": passphrase}
    guanai = str(Path(sys.executable).parent / "guanai")
    times = []
    for q in queries:
        t = time.perf_counter()
        p = subprocess.run([guanai, "search", q, "--limit", "10"], capture_output=True, text=True, env=env, check=False)
        times.append(time.perf_counter() - t)
        if p.returncode != 0:
            raise SystemExit(f"guanai search failed: {p.stdout}{p.stderr}")
    return times


def table(results: list[dict[str, Any]]) -> str:
    lines = []
    head = f"{'engine':12} {'docs/s':>7} {'/cpu-s':>7} {'open ms':>8} " + " ".join(f"{k + ' p50/p95':>17}" for k in KINDS)
    lines.append(head)
    for r in results:
        cells = " ".join(f"{r['latency_ms'][k]['p50']:>8}/{r['latency_ms'][k]['p95']:<8}" for k in KINDS)
        lines.append(f"{r['engine']:12} {r['docs_per_s']:>7} {r['docs_per_cpu_s']:>7} {r['open_ms']:>8} {cells}")
    lines.append("")
    lines.append(f"{'engine':12} {'size MB':>8} {'peak RSS MB':>12} {'worker MB':>10}  recall " + " ".join(KINDS))
    for r in results:
        rec = " ".join(f"{r['recall'][k]:.4f}" for k in KINDS)
        lines.append(f"{r['engine']:12} {r['size_mb']:>8} {r['peak_rss_mb']:>12} {r.get('peak_child_rss_mb', 0):>10}  {rec}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--queries", type=int, default=60, help="queries per kind (latency)")
    ap.add_argument("--recall", type=int, default=15, help="queries per kind checked for recall")
    ap.add_argument("--engines", default="encrypted,plain,sqlite-fts5")
    ap.add_argument("--worker")
    ap.add_argument("--size", type=int)
    ap.add_argument("--workdir")
    ap.add_argument("--archive")
    ap.add_argument("--passphrase", default="")
    ap.add_argument("--json", help="also write all results to this file")
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    from guanai.archive.store import init_archive

    all_results: dict[str, Any] = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        work = Path(tempfile.mkdtemp(prefix=f"guanai-bench-{size}-"))
        try:
            pw = "bench-口令-2026"
            arc_path = work / "archive"
            init_archive(arc_path, school_code="3413220001", school_name="萧县基准测试学校", passphrase=pw)
            results = []
            for engine in args.engines.split(","):
                print(f"[{size}] {engine} ...", flush=True)
                archive = arc_path if engine == "encrypted" else None
                results.append(run_worker(engine, size, work, args.queries, args.recall, archive, pw))
            print(f"\n== {size:,} documents ==")
            print(table(results))
            enc = next((r for r in results if r["engine"] == "encrypted"), None)
            plain = next((r for r in results if r["engine"] == "plain"), None)
            summary: dict[str, Any] = {}
            if enc and plain:
                cmp = run_worker("compare", size, work, args.queries, args.recall, arc_path, pw)
                summary["encrypted_vs_plain_interleaved"] = cmp
                summary["encrypted_over_plain_open"] = round(enc["open_ms"] / max(plain["open_ms"], 0.01), 2)
                summary["encrypted_over_plain_index_time"] = round(plain["docs_per_s"] / max(enc["docs_per_s"], 1), 2)
                print("\nencrypted vs plain, same process, queries interleaved (ms):")
                for k in KINDS:
                    c = cmp[k]
                    print(f"  {k:7} enc p50/p95 {c['enc_p50']}/{c['enc_p95']}  plain p50/p95 {c['plain_p50']}/{c['plain_p95']}"
                          f"  ratio p95 {c['ratio_p95']}  ratio of total time {c['ratio_total']}")
                print(f"  open {summary['encrypted_over_plain_open']}x, indexing time {summary['encrypted_over_plain_index_time']}x")
            if enc:
                cold = cold_cli(arc_path, pw, ["韩思", "34052419800101001X", '"与父母每周视频通话一次"'])
                summary["cold_cli_s"] = [round(c, 2) for c in cold]
                print(f"guanai search, cold process (unlock + open index + query + audit): "
                      f"{', '.join(f'{c:.2f}' for c in cold)} s")
                worst = max(enc["latency_ms"][k]["p95"] for k in KINDS)
                print(f"targets: p95 <= {TARGET_P95_MS} ms every kind: {'OK' if worst <= TARGET_P95_MS else 'MISSED'} "
                      f"(worst {worst}); indexing >= 1000 docs/s: {enc['docs_per_s']} wall, {enc['docs_per_cpu_s']} per CPU-s; "
                      f"peak <= 1024 MB: {enc['peak_rss_mb']}; cold <= 1.5 s: {max(cold):.2f}")
            all_results[str(size)] = {"results": results, "summary": summary}
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(all_results, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
