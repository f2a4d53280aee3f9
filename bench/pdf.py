"""PDF conversion benchmark: batched LibreOffice on two cores vs one ``soffice`` call per file.

Usage: .venv/bin/python bench/pdf.py [--n 60] [--naive 6] [--json]

Both sides convert the same one-page Chinese .docx files to PDF/A-2b with the same profile
kind (already initialised, so neither pays the first-run profile creation) and the same
fontconfig mapping. ``run()`` is importable (bench/generate.py may call it).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from docx import Document  # noqa: E402
from docx.oxml.ns import qn  # noqa: E402
from docx.shared import Pt  # noqa: E402

from guanai.generators import pdf as P  # noqa: E402


def sample_docs(n: int) -> list[tuple[str, bytes]]:
    """n one-page 家访记录-like documents with distinct text, fonts named as in the templates."""
    out = []
    for i in range(n):
        doc = Document()
        for text, font, size in (
            (f"家访记录表（第{i + 1}号）", "方正小标宋简体", 22),
            (f"学生：张小明{i}　年级：四年级　家访日期：2020年4月{1 + i % 28}日", "仿宋_GB2312", 16),
            ("一、家庭基本情况", "黑体", 16),
            ("（一）监护情况", "楷体_GB2312", 16),
            ("父母均在外务工，由祖父母照料，祖父身体状况一般。学校已告知村委会，约定每月电话回访一次。" * 3,
             "仿宋_GB2312", 16),
        ):
            run = doc.add_paragraph().add_run(text)
            run.font.size = Pt(size)
            run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
        buf = io.BytesIO()
        doc.save(buf)
        out.append((f"doc{i:04d}.docx", buf.getvalue()))
    return out


def naive_ms_per_doc(docs: list[tuple[str, bytes]]) -> tuple[float, float]:
    """(wall ms/doc, CPU ms/doc) of one plain soffice process per file, as a simple script does it.

    Its own profile, warmed by one call outside the timing; not ours, which records the version
    so that LibreOffice skips its start-up render tests (an optimisation of the converter).
    """
    soffice = P.find_soffice()
    with tempfile.TemporaryDirectory(prefix="guanai-bench-") as tmp:
        tmp_path = Path(tmp)
        profile = f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}"
        env = dict(os.environ, FONTCONFIG_FILE=str(P.FONTS_CONF))
        paths = []
        for name, data in docs:
            path = tmp_path / name
            path.write_bytes(data)
            paths.append(path)

        def call(path: Path, outdir: Path) -> None:
            subprocess.run(
                [soffice, "--headless", "--norestore", profile,
                 "--convert-to", P.PDF_FILTER, "--outdir", str(outdir), str(path)],
                check=True, capture_output=True, env=env, timeout=120,
            )

        call(paths[0], tmp_path / "warm")  # the first start creates the profile
        c0, t0 = _children_cpu(), time.perf_counter()
        for path in paths:
            call(path, tmp_path / "out")
        elapsed, cpu = time.perf_counter() - t0, _children_cpu() - c0
        assert len(list((tmp_path / "out").glob("*.pdf"))) == len(paths)
    return elapsed * 1000 / len(paths), cpu * 1000 / len(paths)


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def batch_ms_per_doc(docs: list[tuple[str, bytes]], workers: int) -> tuple[float, float]:
    """(wall ms/doc, soffice CPU ms/doc): on a busy shared machine the CPU figure is the stable one."""
    c0, t0 = _children_cpu(), time.perf_counter()
    pdfs = P.convert_batch(docs, workers=workers)
    elapsed, cpu = time.perf_counter() - t0, _children_cpu() - c0
    assert len(pdfs) == len(docs)
    return elapsed * 1000 / len(docs), cpu * 1000 / len(docs)


def run(n: int = 60, naive: int = 6) -> dict[str, Any]:
    docs = sample_docs(n)
    P.convert_batch(docs[:2], workers=2)  # warm both profiles (first run creates them)
    wall2, cpu2 = batch_ms_per_doc(docs, 2)
    wall1, cpu1 = batch_ms_per_doc(docs, 1)
    naive_wall, naive_cpu = naive_ms_per_doc(docs[:naive])
    return {
        "docs": n,
        "cpus": os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "batch_2_workers_ms_per_doc": round(wall2, 1),
        "batch_cpu_ms_per_doc": round(cpu2, 1),
        "batch_1_worker_ms_per_doc": round(wall1, 1),
        "batch_1_worker_cpu_ms_per_doc": round(cpu1, 1),
        "naive_docs": naive,
        "naive_ms_per_doc": round(naive_wall, 1),
        "naive_cpu_ms_per_doc": round(naive_cpu, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description="PDF conversion benchmark (LibreOffice)")
    ap.add_argument("--n", type=int, default=60, help="documents in the batch runs")
    ap.add_argument("--naive", type=int, default=6, help="documents converted one soffice call each")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = run(args.n, args.naive)
    if args.json:
        print(json.dumps(r))
        return
    ratio = r["naive_ms_per_doc"] / r["batch_2_workers_ms_per_doc"]
    print(f"PDF/A-2b conversion, {r['docs']} one-page Chinese .docx, {r['cpus']} CPUs, load {r['load_avg_1min']}")
    print(f"  {'method':<44}{'wall ms/doc':>12}{'CPU ms/doc':>12}")
    print(f"  {'guanai batch, 2 soffice workers':<44}{r['batch_2_workers_ms_per_doc']:>12.1f}{r['batch_cpu_ms_per_doc']:>12.1f}")
    print(f"  {'guanai batch, 1 soffice worker':<44}{r['batch_1_worker_ms_per_doc']:>12.1f}"
          f"{r['batch_1_worker_cpu_ms_per_doc']:>12.1f}")
    naive_label = "naive: one soffice call per file (" + str(r["naive_docs"]) + " docs)"
    print(f"  {naive_label:<44}{r['naive_ms_per_doc']:>12.1f}{r['naive_cpu_ms_per_doc']:>12.1f}")
    print("  (CPU: soffice processes' user+system time per document; stable on a busy machine)")
    print(f"  speed-up (naive / batch on 2 workers): {ratio:.1f}×   target ≤ 100 ms/doc")


if __name__ == "__main__":
    main()
