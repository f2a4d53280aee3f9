"""Benchmark: a 500-child school's term start, end to end, as the school office runs it.

Run: ``.venv/bin/python -m bench.term_start [--n 500] [--peer 4] [--no-pdf]``

Stages, each one ``guanai`` command in its own process (wall and CPU seconds of the process and
its helpers, e.g. LibreOffice):

  1. import   ``guanai child import 学籍导出.xlsx`` — n pupils as the national 学籍 system exports
              them (every standard column: 全国学籍号, 身份证件号, 健康状况, 家庭成员N…, 是否留守儿童,
              是否孤儿, 就读方式 …; ``care.synth.xueji_export``);
  2. classify ``guanai child list --json`` — every child classified (留守 / 困境, with reasons);
  3. cards    ``guanai generate child-card --all --pdf 一策.yaml`` — every child's card as .docx
              and PDF/A, one batch;
  4. index    every write command indexes what it wrote before returning (stages 1 and 3 include
              it); this stage is a ``guanai search`` that must find the index current. A full
              ``guanai reindex`` is timed apart (not part of the flow).

Target (issue 11): all four ≤ 60 s wall on this 2-core machine.

Side by side, the same cards the way a script does it today: one
``guanai generate child-card --child <学籍号> --pdf 一策.yaml`` per child. That is measured on
``--peer`` children (default 4) and extrapolated to n (each call pays the process start, the
passphrase KDF and a LibreOffice start; the per-call time hardly depends on n).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "基准测试口令-term-start-2026"
TARGET_S = 60.0
PLAN = {"帮扶教师": "李红梅", "心理疏导": "每两周谈心一次，关注情绪变化", "学业辅导": "课后辅导数学、语文",
        "生活资助": "申请营养餐补助", "安全监管": "放学由祖父接送；假期防溺水提醒", "行为养成": "按时作息"}


def _env(archive: Path) -> dict[str, str]:
    return {**os.environ, "GUANAI_ARCHIVE": str(archive), "GUANAI_PASSPHRASE": PASSPHRASE, "GUANAI_USER": "admin"}


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def guanai(archive: Path, *args: str, cwd: Path) -> tuple[float, float, str]:
    """Run one guanai command; (wall s, CPU s of the process tree, stdout)."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "guanai.cli.main", *args], env=_env(archive), cwd=cwd,
                         capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"guanai {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return wall, _children_cpu() - cpu0, res.stdout


def make_roster(n: int, path: Path) -> list[str]:
    """n synthetic pupils as a 学籍系统 student export (every standard column); returns their 学籍号."""
    from guanai.care.synth import xueji_export

    raw, expected = xueji_export(n, seed=2026)
    path.write_bytes(raw)
    return [str(e["学籍号"]) for e in expected]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500, help="pupils on the roster")
    ap.add_argument("--peer", type=int, default=4, help="children for the one-command-per-child peer (0: skip)")
    ap.add_argument("--no-pdf", action="store_true", help="cards as .docx only")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)
    pdf = not args.no_pdf and shutil.which("soffice") is not None
    work = Path(tempfile.mkdtemp(prefix="guanai-term-"))
    try:
        roster = work / "学籍导出.xlsx"
        ids = make_roster(args.n, roster)
        (work / "一策.yaml").write_text(yaml.safe_dump(PLAN, allow_unicode=True), encoding="utf-8")
        archive = work / "档案"
        guanai(archive, "init", "--school-code", "3413220001", "--school-name", "萧县龙城镇中心小学", cwd=work)

        stages: list[tuple[str, str, float, float]] = []
        w, c, _ = guanai(archive, "child", "import", str(roster), cwd=work)
        stages.append(("import", f"child import 学籍导出.xlsx ({args.n} 行)", w, c))
        w, c, out = guanai(archive, "child", "list", "--json", cwd=work)
        rows = json.loads(out)
        left = sum(1 for r in rows if "留守儿童" in r["categories"])
        hard = sum(1 for r in rows if "困境儿童" in r["categories"])
        stages.append(("classify", f"child list --json (留守 {left}，困境 {hard})", w, c))
        gen_args = ["generate", "child-card", "--all", str(work / "一策.yaml"), "--json"] + (["--pdf"] if pdf else [])
        w, c, out = guanai(archive, *gen_args, cwd=work)
        result = json.loads(out)
        made = len(result["generated"])
        pdfs = sum(1 for g in result["generated"] if g["pdf_doc_id"])
        stages.append(("cards", f"generate child-card --all{' --pdf' if pdf else ''} ({made} docx, {pdfs} PDF/A)",
                       w, c))
        # every write command indexes what it wrote before it returns: the index stage is what is
        # left to do, checked by a search (index_behind must be 0); a full rebuild is shown apart
        w, c, out = guanai(archive, "search", ids[0], "--json", cwd=work)
        found = json.loads(out)
        stages.append(("index", f"search {ids[0]} (index behind {found['index_behind']}, "
                                f"{found['total']} hits; writes indexed by stages 1 and 3)", w, c))
        rw, rc, rout = guanai(archive, "reindex", cwd=work)
        total = sum(s[2] for s in stages)

        print(f"term start, {args.n} pupils, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        print(f"{'stage':<9} {'wall s':>7} {'CPU s':>7}  what")
        for name, what, w, c in stages:
            print(f"{name:<9} {w:7.1f} {c:7.1f}  {what}")
        verdict = "OK" if total <= TARGET_S else "OVER"
        print(f"{'total':<9} {total:7.1f} {sum(s[3] for s in stages):7.1f}  target ≤ {TARGET_S:.0f} s: {verdict}")
        print(f"{'(reindex)':<9} {rw:7.1f} {rc:7.1f}  full rebuild, not part of the flow: {rout.strip()}")
        if made != args.n or (pdf and pdfs != args.n):
            print(f"WARNING: {made} cards / {pdfs} PDFs for {args.n} pupils")

        if args.peer > 0:
            peer_archive = work / "对照档案"
            guanai(peer_archive, "init", "--school-code", "3413220001", "--school-name", "萧县龙城镇中心小学",
                   cwd=work)
            guanai(peer_archive, "child", "import", str(roster), cwd=work)
            per: list[float] = []
            cpu: list[float] = []
            for sid in ids[: args.peer]:
                a = ["generate", "child-card", "--child", sid, str(work / "一策.yaml")] + (["--pdf"] if pdf else [])
                w, c, _ = guanai(peer_archive, *a, cwd=work)
                per.append(w)
                cpu.append(c)
            mean = sum(per) / len(per)
            est = mean * args.n
            print(f"peer: one `guanai generate child-card --child 学籍号{' --pdf' if pdf else ''}` per child, "
                  f"measured on {len(per)} children: {mean:.2f} s wall, {sum(cpu) / len(cpu):.2f} s CPU each")
            print(f"peer extrapolated to {args.n} children: {est:.0f} s ({est / 60:.1f} min) for the cards stage "
                  f"vs {stages[2][2]:.1f} s in one batch ({est / stages[2][2]:.0f}x)")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
