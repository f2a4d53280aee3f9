"""Workflow benchmark (issue 12): `guanai due` and `guanai stats` on 2,000 children / 20,000 documents.

Run: .venv/bin/python -m bench.workflow [--children 2000 --documents 20000]
Each figure comes from a fresh process: the CLI's whole wall time, and — in another fresh
process — the time after unlock (Archive.open done) to the finished result, target ≤ 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from guanai.archive import workflow as awf
from guanai.archive.store import Archive, init_archive
from guanai.care.synth import synth_children

PW = "bench-passphrase-2026"
AS_OF = "2026-10-31"

AFTER_UNLOCK = """
import sys, time, json
from datetime import date
from guanai.archive.store import Archive
arc = Archive.open(sys.argv[1], user="admin", passphrase=sys.argv[2])
t, c = time.perf_counter(), time.process_time()
from guanai.archive import workflow as awf
if sys.argv[3] == "due":
    n = len(awf.due(arc, date.fromisoformat(sys.argv[4])))
else:
    n = len(json.dumps(awf.stats(arc, date.fromisoformat(sys.argv[4])).to_dict()))
print(time.perf_counter() - t, time.process_time() - c, n)
"""


def build(path: Path, n_children: int, n_docs: int) -> None:
    init_archive(path, school_code="3413220001", school_name="萧县龙城镇中心小学", passphrase=PW)
    rnd = random.Random(12)
    with Archive.open(path, user="admin", passphrase=PW) as arc:
        with arc.transaction():
            ids = [arc.add_child(r) for r in synth_children(n_children, seed=12)]
        awf.set_settings(arc, psych_teacher="陈静", contact="王丽", contact_phone="0557-5011234")
        awf.start_round(arc, date(2026, 9, 1), date(2026, 9, 1))
        awf.mark_screened(arc, ids, date(2026, 9, 2))
        start = date(2026, 9, 2)
        kinds = ["home-visit"] * 4 + ["care-record"] * 4 + ["entrusted-care"] + ["attachment"] * 11
        with arc.transaction():
            for i in range(n_docs):
                kind = kinds[i % len(kinds)]
                cid = ids[rnd.randrange(len(ids))]
                day = start + timedelta(days=rnd.randrange(60))
                form: dict[str, object] = {}
                if kind == "home-visit":
                    form = {"家访日期": day.isoformat(), "家访形式": "上门", "已告知村（居）委会": rnd.random() < 0.5,
                            "告知日期": day.isoformat(), "告知对象": "村委会"}
                elif kind == "care-record":
                    form = {"帮扶方面": rnd.choice(["心理疏导", "学业辅导", "生活资助"]), "日期": day.isoformat()}
                elif kind == "entrusted-care":
                    form = {"委托结束日期": (day + timedelta(days=365)).isoformat()}
                arc.put_document(kind=kind, title=f"{kind}-{i}", content=os.urandom(2048), filename=f"d{i}.docx",
                                 mime="application/octet-stream", child_id=cid, form=form or None,
                                 text="正文" * 100, doc_date=day.isoformat())
            for t in range(40):
                arc.put_record("teacher", {"name": f"教师{t}", "phone": "", "subject": "", "removed": None})
            for _i in range(3000):
                arc.put_record("contact", {"on": (start + timedelta(days=rnd.randrange(60))).isoformat(),
                                           "with": "外出父母", "how": "电话", "agreed": "", "by": ""},
                               child_id=ids[rnd.randrange(len(ids))])
            for i in range(min(100, len(ids))):
                arc.put_record("absence-case", {"since": "2026-10-08", "opened": "2026-10-08",
                                                "whereabouts_unknown": i % 10 == 0, "persuasions": [],
                                                "reports": [], "returned": None}, child_id=ids[(i * 7) % len(ids)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--children", type=int, default=2000)
    ap.add_argument("--documents", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="guanai-bench-wf-"))
    try:
        path = work / "arc"
        t = time.perf_counter()
        build(path, args.children, args.documents)
        print(f"built {args.children} children, {args.documents} documents in {time.perf_counter() - t:.0f} s")
        env = {**os.environ, "GUANAI_ARCHIVE": str(path), "GUANAI_PASSPHRASE": PW}
        py = sys.executable
        for cmd in ("due", "stats"):
            walls, after, cpu = [], [], []
            for _ in range(args.runs):
                t = time.perf_counter()
                subprocess.run([py, "-m", "guanai.cli.main", cmd, "--as-of", AS_OF, "--json"], env=env, check=True,
                               stdout=subprocess.DEVNULL)
                walls.append(time.perf_counter() - t)
                out = subprocess.run([py, "-c", AFTER_UNLOCK, str(path), PW, cmd, AS_OF], env=env, check=True,
                                     capture_output=True, text=True).stdout.split()
                after.append(float(out[0]))
                cpu.append(float(out[1]))
            a, w, c = statistics.median(after), statistics.median(walls), statistics.median(cpu)
            print(f"guanai {cmd:<6} after unlock {a * 1000:6.0f} ms wall, {c * 1000:4.0f} ms CPU "
                  f"(target ≤ 1000 ms {'OK' if a <= 1 else 'MISS'})"
                  f"   whole CLI process {w * 1000:6.0f} ms (incl. start-up, imports, Argon2 unlock)")
        t = time.perf_counter()
        subprocess.run([py, "-m", "guanai.cli.main", "settings", "show"], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"peer: `guanai settings show` (start-up + unlock only) {1000 * (time.perf_counter() - t):.0f} ms")
        print(json.dumps({"children": args.children, "documents": args.documents,
                          "load_average": os.getloadavg()[0], "cores": os.cpu_count()}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
