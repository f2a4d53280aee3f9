"""Archive benchmark (issues 2, 9): unlock, puts, large documents vs raw AES-GCM, verify, --help.

Run: .venv/bin/python -m bench.archive [--verify-docs 10000] [--no-v1]
Prints each figure beside its target and, where there is one, the peer measured in the same run:
format v2 (row MACs, set digests, signed state) side by side with format v1, whose code is taken
from git (the last v1 commit) and run in a subprocess on the same machine in the same run.
"""

from __future__ import annotations

import argparse
import json
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


V1_COMMIT = "e4c6a06fa03cf3a488536576f09a21a7bd92dabb"  # the last commit that wrote format v1


def measure(work: Path, docs: int, suite: str) -> dict[str, float]:
    """Unlock, 1,000 × 50 KB puts, verify of ``docs`` documents — only API common to v1 and v2."""
    path = work / "m"
    init_archive(path, school_code="3413220001", school_name="萧县龙城镇中心小学", passphrase=PW, suite=suite)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        Archive.open(path, user="admin", passphrase=PW).close()
        times.append(time.perf_counter() - t)
    out: dict[str, float] = {"unlock": statistics.median(times)}
    arc = Archive.open(path, user="admin", passphrase=PW)
    cid = arc.add_child(synth_children(1, seed=1)[0])
    payload = [docx_like(50 * 1024, i) for i in range(1000)]
    t = time.perf_counter()
    for i, data in enumerate(payload):
        arc.put_document(kind="attachment", title=f"文档{i}", content=data, filename=f"d{i}.docx",
                         mime="application/octet-stream", child_id=cid, text="正文" * 50)
    out["put"] = time.perf_counter() - t
    for b in range(0, max(0, docs - 1000), 500):
        with arc.transaction():
            for i in range(b, min(docs - 1000, b + 500)):
                arc.put_document(kind="attachment", title=f"补充{i}", content=payload[i % 1000], filename=f"x{i}.docx",
                                 mime="application/octet-stream", child_id=cid, text="正文")
    for c in synth_children(300, seed=7):
        try:
            arc.add_child(c)
        except Exception:  # noqa: BLE001 - synthetic duplicates are skipped
            pass
    t = time.perf_counter()
    rep = verify_archive(arc)
    out["verify"] = time.perf_counter() - t
    out["verify_docs"] = rep.counts["documents"]
    out["problems"] = len(rep.problems)
    arc.close()
    return out


def measure_v1(work: Path, docs: int, suite: str) -> dict[str, float] | None:
    """The same measurement with the format-v1 code, checked out from git into ``work``."""
    repo = Path(__file__).resolve().parents[1]
    tree = work / "v1tree"
    tree.mkdir()
    try:
        tar = subprocess.run(["git", "-C", str(repo), "archive", V1_COMMIT, "archive", "care", "guanai", "bench"],
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    subprocess.run(["tar", "-x", "-C", str(tree)], input=tar, check=True)
    root = work / "v1src" / "guanai"
    root.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    for name, src in (("base", tree / "guanai" / "base"), ("archive", tree / "archive"), ("care", tree / "care")):
        (root / name).symlink_to(src)
    (work / "v1src" / "bench").symlink_to(Path(__file__).resolve().parent)
    code = ("import json, sys; from pathlib import Path; from bench.archive import measure; "
            "print('RESULT ' + json.dumps(measure(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])))")
    (work / "v1run").mkdir()
    env = {**os.environ, "PYTHONPATH": str(work / "v1src")}
    proc = subprocess.run([sys.executable, "-c", code, str(work / "v1run"), str(docs), suite], env=env,
                          capture_output=True, text=True, cwd=work)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, float] = json.loads(line[7:])
            return result
    print(proc.stderr[-2000:])
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--verify-docs", type=int, default=10_000)
    ap.add_argument("--suite", default="aes-256-gcm")
    ap.add_argument("--no-v1", action="store_true", help="skip the format-v1 peer")
    ap.add_argument("--v1-first", action="store_true", help="measure the format-v1 peer before v2")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="guanai-bench-"))
    try:
        path = work / "arc"
        init_archive(path, school_code="3413220001", school_name="萧县龙城镇中心小学", passphrase=PW, suite=args.suite)
        print(f"guanai archive benchmark — suite {args.suite}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print("-" * 100)
        (work / "v2run").mkdir()
        if args.v1_first:  # the machine's load drifts: run the peer first to see the order's effect
            v1 = None if args.no_v1 else measure_v1(work, args.verify_docs, args.suite)
            v2 = measure(work / "v2run", args.verify_docs, args.suite)
        else:
            v2 = measure(work / "v2run", args.verify_docs, args.suite)
            v1 = None if args.no_v1 else measure_v1(work, args.verify_docs, args.suite)

        def peer(key: str, fmt: str) -> str:
            return "(v1 " + (fmt.format(v1[key]) if v1 else "n/a") + ")"

        row("v2 unlock (Argon2id + open + state check)", f"{v2['unlock'] * 1000:.0f} ms", "≤ 300 ms",
            v2["unlock"] <= 0.3, peer("unlock", "{:.3f} s"))
        row("v2 put 1,000 × 50 KB (one txn each)", f"{v2['put']:.2f} s", "≤ 5 s", v2["put"] <= 5.0,
            peer("put", "{:.2f} s"))
        row(f"v2 verify {int(v2['verify_docs']):,} documents", f"{v2['verify']:.1f} s", "≤ 30 s",
            v2["verify"] <= 30.0, peer("verify", "{:.1f} s") + f" problems v2 {int(v2['problems'])}"
            + (f" v1 {int(v1['problems'])}" if v1 else ""))
        print("-" * 100)

        arc = Archive.open(path, user="admin", passphrase=PW)
        cid = arc.add_child(synth_children(1, seed=1)[0])
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
