"""Archive benchmark (issue 2): unlock, puts, large documents vs raw AES-GCM, verify, --help.

Run: .venv/bin/python bench/archive.py [--verify-docs 10000]
Prints each figure beside its target and, where there is one, the peer measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from guanai.archive.store import Archive, init_archive  # noqa: E402
from guanai.archive.verify import verify_archive  # noqa: E402
from guanai.care.synth import synth_children  # noqa: E402

PW = "bench-passphrase-2026"


def row(name: str, value: str, target: str, ok: bool, peer: str = "") -> None:
    print(f"{name:<38} {value:>16}   target {target:<14} {'OK ' if ok else 'MISS'}  {peer}")


def docx_like(n: int, seed: int) -> bytes:
    """A valid .docx-shaped zip of about ``n`` bytes (verify opens every document as docx)."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", f"<w:document>{seed}</w:document>")
        z.writestr("word/media/image1.png", os.urandom(max(0, n - 400)))
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--verify-docs", type=int, default=10_000)
    ap.add_argument("--suite", default="aes-256-gcm")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="guanai-bench-"))
    try:
        path = work / "arc"
        init_archive(path, school_code="3413220001", school_name="萧县龙城镇中心小学", passphrase=PW, suite=args.suite)
        print(f"guanai archive benchmark — suite {args.suite}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print("-" * 100)

        times = []
        for _ in range(5):
            t = time.perf_counter()
            Archive.open(path, user="admin", passphrase=PW).close()
            times.append(time.perf_counter() - t)
        unlock = statistics.median(times)
        row("unlock (Argon2id + open)", f"{unlock * 1000:.0f} ms", "≤ 300 ms", unlock <= 0.3)

        arc = Archive.open(path, user="admin", passphrase=PW)
        cid = arc.add_child(synth_children(1, seed=1)[0])
        payload = [docx_like(50 * 1024, i) for i in range(1000)]
        t = time.perf_counter()
        for i, data in enumerate(payload):
            arc.put_document(kind="attachment", title=f"文档{i}", content=data, filename=f"d{i}.docx",
                             mime="application/octet-stream", child_id=cid, text="正文" * 50)
        put_s = time.perf_counter() - t
        row("put 1,000 × 50 KB (one txn each)", f"{put_s:.2f} s", "≤ 5 s", put_s <= 5.0,
            f"({1000 / put_s:.0f} docs/s, {50 * 1000 / 1024 / put_s:.1f} MB/s)")

        big = [b"%PDF-1.7\n" + os.urandom(20 * 1024 * 1024 - 9) for _ in range(10)]
        t = time.perf_counter()
        for i, data in enumerate(big):
            arc.put_document(kind="attachment", title=f"扫描件{i}", content=data, filename=f"s{i}.pdf",
                             mime="application/pdf", child_id=cid)
        big_s = time.perf_counter() - t
        mbps = 200 / big_s
        key = AESGCM.generate_key(bit_length=256)
        t = time.perf_counter()
        for data in big:
            AESGCM(key).encrypt(os.urandom(12), data, b"aad")
        raw = 200 / (time.perf_counter() - t)
        import sqlite3

        raw_db = sqlite3.connect(work / "raw.sqlite", isolation_level=None)
        raw_db.execute("PRAGMA journal_mode=WAL")
        raw_db.execute("PRAGMA synchronous=FULL")
        raw_db.execute("CREATE TABLE t(x BLOB)")
        t = time.perf_counter()
        for data in big:
            raw_db.execute("BEGIN IMMEDIATE")
            raw_db.execute("INSERT INTO t VALUES(?)", (data,))
            raw_db.execute("COMMIT")
        raw_sql = 200 / (time.perf_counter() - t)
        raw_db.close()
        row("put 10 × 20 MB", f"{mbps:.0f} MB/s", "≥ 100 MB/s", mbps >= 100,
            f"(raw AES-256-GCM {raw:.0f} MB/s; plain SQLite WAL insert, no crypto {raw_sql:.0f} MB/s)")
        arc.close()

        # verify at 10,000 documents: top up with 50 KB documents in batched transactions
        arc = Archive.open(path, user="admin", passphrase=PW)
        have = len(arc.list_documents())
        need = max(0, args.verify_docs - have)
        for b in range(0, need, 500):
            with arc.transaction():
                for i in range(b, min(need, b + 500)):
                    arc.put_document(kind="attachment", title=f"补充{i}", content=payload[i % 1000], filename=f"x{i}.docx",
                                     mime="application/octet-stream", child_id=cid, text="正文")
        for c in synth_children(300, seed=7):
            try:
                arc.add_child(c)
            except Exception:  # noqa: BLE001 - synthetic duplicates are skipped
                pass
        t = time.perf_counter()
        rep = verify_archive(arc)
        ver = time.perf_counter() - t
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024 / 1024
        row(f"verify {rep.counts['documents']:,} documents", f"{ver:.1f} s", "≤ 30 s", ver <= 30.0,
            f"({size:.0f} MB scanned, {rep.counts['scanned_values']} personal values, "
            f"{len(rep.problems)} problems found)")
        for p in rep.problems[:5]:
            print(f"    [{p.category}] {p.obj}: {p.message}")
        arc.close()

        env = dict(os.environ)
        guanai = [sys.executable, "-c", "import sys; from guanai.cli.main import main; sys.argv=['guanai','--help']; main()"]
        subprocess.run(guanai, env=env, capture_output=True, check=True)
        hs = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run(guanai, env=env, capture_output=True, check=True)
            hs.append(time.perf_counter() - t)
        bare = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], capture_output=True, check=True)
            bare.append(time.perf_counter() - t)
        h = statistics.median(hs)
        row("guanai --help (cold process)", f"{h * 1000:.0f} ms", "≤ 200 ms", h <= 0.2,
            f"(bare python start {statistics.median(bare) * 1000:.0f} ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
