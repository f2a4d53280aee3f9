"""Benchmark: child cards rendered by guanai's renderer vs the plain docxtpl loop; PDF batching.

Run: ``.venv/bin/python -m bench.generate [--n 500] [--pdf 60] [--naive-pdf 3] [--official 20] [--sign 30]``

Side by side on the same template and the same data, pinned to one core:
  - plain docxtpl: ``DocxTemplate(path)``, ``render(ctx, autoescape=True)``, ``save`` per card;
  - guanai: ``generators.render`` (cached compiled template, unchanged zip members copied,
    strict XML check, text extraction included).
PDF (if LibreOffice is installed): ms/doc converting in batches (two workers) vs one soffice
call per file (plain ``soffice --convert-to``, as a script would). Targets (issue 3): <= 5 ms per card, >= 5x plain docxtpl; PDF <= 100 ms/doc.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def forms(n: int) -> list[dict[str, Any]]:
    """n child-card forms: demo children's records + the sample's plan and follow-ups."""
    import yaml

    from guanai.care.synth import synth_children
    from guanai.generators.generate import child_prefill
    from guanai.generators.kinds import get_kind

    sample = yaml.safe_load((ROOT / "templates" / "samples" / "child-card.yaml").read_text(encoding="utf-8"))
    kind = get_kind("child-card")

    class _Entry:
        def __init__(self, rec: Any) -> None:
            self.record = rec

    out = []
    for rec in synth_children(n, seed=7):
        prefill = child_prefill(kind, _Entry(rec))  # type: ignore[arg-type]
        out.append({**{k: v for k, v in sample.items() if k not in prefill or k == "建档日期"}, **prefill})
    return out


def bench_docxtpl(path: Path, contexts: list[dict[str, Any]]) -> float:
    from docxtpl import DocxTemplate

    t0 = time.perf_counter()
    for ctx in contexts:
        tpl = DocxTemplate(path)
        tpl.render(ctx, autoescape=True)
        tpl.save(io.BytesIO())
    return (time.perf_counter() - t0) / len(contexts) * 1000


def bench_guanai(path: Path, contexts: list[dict[str, Any]]) -> float:
    from guanai.generators.render import _CACHE, compile_template, render_compiled

    _CACHE.clear()
    t0 = time.perf_counter()
    compiled = compile_template(path)  # the one-off compile is counted
    for ctx in contexts:
        render_compiled(compiled, ctx)
    return (time.perf_counter() - t0) / len(contexts) * 1000


def bench_guanai_full(models_in: list[dict[str, Any]]) -> float:
    from guanai.generators.render import render_document

    t0 = time.perf_counter()
    for form in models_in:
        render_document("child-card", form)
    return (time.perf_counter() - t0) / len(models_in) * 1000


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bench_pdf(docs: list[bytes], naive: int) -> tuple[float, float, float, float]:
    """(batch wall, batch soffice CPU, naive wall, naive soffice CPU), ms per document."""
    from guanai.generators.pdf import convert_results

    items = [(f"{i:04d}.docx", d) for i, d in enumerate(docs)]
    c0, t0 = _children_cpu(), time.perf_counter()
    res = convert_results(items, workers=2)
    batch = (time.perf_counter() - t0) / len(items) * 1000
    batch_cpu = (_children_cpu() - c0) / len(items) * 1000
    assert all(r.ok for r in res), [r.error for r in res if not r.ok]
    single, single_cpu = bench_naive_soffice(docs[:naive]) if naive else (float("nan"), float("nan"))
    return batch, batch_cpu, single, single_cpu


def bench_naive_soffice(docs: list[bytes]) -> tuple[float, float]:
    """The naive peer: one plain ``soffice --headless --convert-to pdf FILE`` call per document
    (same PDF/A filter and font mapping, a warm profile of its own), as a script would do it.
    (wall, soffice CPU) ms per document."""
    import subprocess
    import tempfile

    from guanai.generators.pdf import FONTS_CONF, PDF_FILTER, find_soffice

    soffice = find_soffice()
    env = {**os.environ, "FONTCONFIG_FILE": str(FONTS_CONF)}
    with tempfile.TemporaryDirectory(prefix="guanai-bench-") as tmp:
        base = Path(tmp)
        profile = f"-env:UserInstallation={(base / 'profile').as_uri()}"
        paths = []
        for i, data in enumerate(docs):
            path = base / f"{i:04d}.docx"
            path.write_bytes(data)
            paths.append(path)
        warm = [soffice, profile, "--headless", "--convert-to", PDF_FILTER, "--outdir", str(base / "warm"), str(paths[0])]
        subprocess.run(warm, env=env, capture_output=True, timeout=300, check=True)  # first start creates the profile
        c0, t0 = _children_cpu(), time.perf_counter()
        for path in paths:
            cmd = [soffice, profile, "--headless", "--convert-to", PDF_FILTER, "--outdir", str(base / "out"), str(path)]
            subprocess.run(cmd, env=env, capture_output=True, timeout=300, check=True)
        elapsed, cpu = time.perf_counter() - t0, _children_cpu() - c0
        assert len(list((base / "out").glob("*.pdf"))) == len(paths)
    return elapsed / len(docs) * 1000, cpu / len(docs) * 1000


def bench_official(n: int) -> tuple[float, float, int, float]:
    """公文 (every official kind's sample, n in all) to PDF/A with the 版记 moved to an even page:
    (ms per document through warm converters, ms per document through soffice --convert-to
    batches converting the odd ones again, documents whose 版记 moved, ms for one document alone)."""
    from guanai.generators.kinds import KINDS
    from guanai.generators.pdf import convert_official, convert_one, pdf_page_count
    from guanai.generators.render import render
    from tests.gen_helpers import sample

    kinds = [k for k, v in KINDS.items() if v.official]
    docs = [(f"{i:04d}.docx", render(kinds[i % len(kinds)], sample(kinds[i % len(kinds)]))) for i in range(n)]
    figures = []
    for no_warm in ("", "1"):
        os.environ["GUANAI_PDF_NO_WARM"] = no_warm
        t0 = time.perf_counter()
        out = convert_official(docs, workers=2)
        figures.append((time.perf_counter() - t0) / n * 1000)
        assert all(r.pdf is not None and pdf_page_count(r.pdf) % 2 == 0 for r, _ in out)
    os.environ.pop("GUANAI_PDF_NO_WARM")
    moved = sum(1 for (_, d), (_, final) in zip(docs, out, strict=True) if final is not d)
    convert_one(docs[0][1])  # profile warm
    t0 = time.perf_counter()
    convert_one(docs[1][1])
    one = (time.perf_counter() - t0) * 1000
    return figures[0], figures[1], moved, one


def bench_warm(n: int) -> float:
    """Median ms for one document from the warm converter (LibreOffice kept running)."""
    from guanai.generators.kinds import KINDS
    from guanai.generators.pdf import WarmConverter, uno_available
    from guanai.generators.render import render
    from tests.gen_helpers import sample

    if not uno_available():
        return float("nan")
    kinds = list(KINDS)
    docs = [render(kinds[i % len(kinds)], sample(kinds[i % len(kinds)])) for i in range(n)]
    times = []
    with WarmConverter() as wc:
        wc.convert(docs[0])  # first document loads LibreOffice's Writer and filters
        for d in docs:
            t0 = time.perf_counter()
            wc.convert(d)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_sign(n: int) -> float:
    """ms per PAdES signature of a 公文 PDF (key loaded once)."""
    import tempfile

    from guanai.archive.store import Archive, init_archive
    from guanai.archive.transfer.identity import get_identity
    from guanai.generators.pdf import convert_one
    from guanai.generators.render import render
    from guanai.generators.sign import get_signing_key, sign_pdf
    from tests.gen_helpers import sample

    pdf = convert_one(render("circular", sample("circular")))
    with tempfile.TemporaryDirectory(prefix="guanai-bench-") as tmp:
        path = Path(tmp) / "a"
        init_archive(path, school_code="3413220001", school_name="萧县实验小学", passphrase="bench-口令-2026")
        with Archive.open(path, user="admin", passphrase="bench-口令-2026", write=True) as arc:
            get_identity(arc)
            sk = get_signing_key(arc)
    sign_pdf(pdf, sk)  # imports
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        sign_pdf(pdf, sk)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--pdf", type=int, default=60, help="documents for the batched PDF figure (0: skip)")
    ap.add_argument("--naive-pdf", type=int, default=3, help="documents converted one soffice call each")
    ap.add_argument("--official", type=int, default=20, help="公文 for the PDF figure with even-page 版记 (0: skip)")
    ap.add_argument("--sign", type=int, default=30, help="signatures for the signing figure (0: skip)")
    args = ap.parse_args()

    from guanai.generators.kinds import get_kind
    from guanai.generators.render import render, template_file

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    kind = get_kind("child-card")
    path = template_file(kind, None)
    raw = forms(args.n)
    contexts = [kind.model.model_validate(f).context() for f in raw]
    # warm both (imports, first parse) outside the timings
    bench_docxtpl(path, contexts[:2])
    bench_guanai(path, contexts[:2])

    runs_plain = [bench_docxtpl(path, contexts) for _ in range(2)]
    runs_ours = [bench_guanai(path, contexts) for _ in range(3)]
    plain, ours = min(runs_plain), min(runs_ours)
    full = bench_guanai_full(raw)
    print(f"child cards: {args.n}, one core, template {path.name}")
    print(f"{'renderer':46} {'ms/doc':>8} {'docs/s':>8}")
    print(f"{'plain docxtpl (DocxTemplate, render, save)':46} {plain:8.2f} {1000 / plain:8.0f}")
    print(f"{'guanai render (compiled cache, raw zip copy)':46} {ours:8.2f} {1000 / ours:8.0f}")
    print(f"{'guanai incl. form validation (render_document)':46} {full:8.2f} {1000 / full:8.0f}")
    print(f"ratio plain/guanai: {plain / ours:.1f}x   (target: <= 5 ms/card, >= 5x)")
    print(f"  spread: plain {statistics.mean(runs_plain):.2f} ms mean, guanai {statistics.mean(runs_ours):.2f} ms mean")

    if args.pdf and shutil.which("soffice"):
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))  # PDF uses both cores
        try:
            import guanai.generators.pdf  # noqa: F401
        except ImportError:
            print("PDF: generators.pdf not available; skipped")
            return 0
        docs = [render("child-card", f) for f in raw[: args.pdf]]
        batch, batch_cpu, single, single_cpu = bench_pdf(docs, args.naive_pdf)
        print(f"{'PDF/A conversion':46} {'ms/doc':>8} {'CPU ms':>8}")
        print(f"{f'guanai batches ({len(docs)} cards, 2 workers)':46} {batch:8.0f} {batch_cpu:8.0f}")
        print(f"{f'naive: one soffice call per file ({args.naive_pdf})':46} {single:8.0f} {single_cpu:8.0f}")
        print(f"ratio naive/guanai: {single / batch:.1f}x   (target: <= 100 ms/doc; naive ~900 ms/doc)")
        print(f"  (CPU: soffice user+system time per document; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs)")
    elif args.pdf:
        print("PDF: soffice not installed; skipped")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))  # PDF uses both cores
    if args.official and shutil.which("soffice"):
        warm, cold, moved, one = bench_official(args.official)
        print(f"公文 PDF/A, 版记 on an even page ({args.official} docs, {moved} with the 版记 moved):")
        print(f"  warm converters, break made in the laid-out document: {warm:.0f} ms/doc (target <= 100)")
        print(f"  peer: soffice --convert-to batches, odd ones converted again: {cold:.0f} ms/doc")
        print(f"  one document alone (fresh soffice, warm profile): {one:.0f} ms; from the warm converter: "
              f"{bench_warm(10):.0f} ms median (target <= 300 ms)")
    if args.sign:
        print(f"PAdES signature (ECDSA P-256, pyHanko): {bench_sign(args.sign):.1f} ms/PDF median of {args.sign} "
              f"(target <= 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
