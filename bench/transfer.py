"""Transfer benchmark (issue 5): a 升学 cohort of 500 children × 10 documents, and one child end to end.

Prints export time, import time (verify + decrypt + validate + re-seal in one transaction), the
search-index catch-up at the receiver, and the package size against the documents' own size.
Targets: export ≤ 60 s, import ≤ 60 s, size ≤ 1.05×, single child end to end ≤ 2 s.

Documents are synthetic: incompressible bytes of 15–45 KB (the size of a filled-in .docx form,
which is already deflate-compressed), each with ~1.8 KB of extracted text and a 15-field form,
so the package carries everything a real dossier does. Usage:

    .venv/bin/python bench/transfer.py [--children 500] [--docs 10] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from guanai.archive import transfer  # noqa: E402
from guanai.archive.store import Archive, init_archive  # noqa: E402
from guanai.archive.transfer.directory import add_card, import_directory, publish  # noqa: E402
from guanai.archive.transfer.identity import get_identity  # noqa: E402
from guanai.generators.slip import render_slip  # noqa: E402

PASS = "bench-口令-transfer-2026"
SENDER, RECEIVER = ("3413220001", "萧县龙城镇中心小学"), ("3413220101", "萧县实验中学")
TEXT = "学生在校表现良好，班主任与帮扶教师每月家访一次，与监护人沟通学习与生活情况。" * 16


def setup(root: Path, n: int, docs: int, grade: str) -> tuple[Path, Path, int]:
    from guanai.care.synth import synth_children

    county, a, b = root / "county", root / "sender", root / "receiver"
    init_archive(county, school_code="341322", school_name="萧县教育体育局", passphrase=PASS, kind="county")
    init_archive(a, school_code=SENDER[0], school_name=SENDER[1], passphrase=PASS)
    init_archive(b, school_code=RECEIVER[0], school_name=RECEIVER[1], passphrase=PASS, suite="sm4-gcm")
    cards = []
    for p in (a, b):
        with Archive.open(p, user="admin", passphrase=PASS, write=True) as arc:
            cards.append(get_identity(arc).card.to_json())
    with Archive.open(county, user="admin", passphrase=PASS, write=True) as c:
        for card in cards:
            add_card(c, card)
        directory, _ = publish(c)
        fp = get_identity(c).card.fingerprint
    for p in (a, b):
        with Archive.open(p, user="admin", passphrase=PASS, write=True) as arc:
            import_directory(arc, directory, county_fingerprint=fp)
    rnd = random.Random(5)
    total = 0
    with Archive.open(a, user="admin", passphrase=PASS, write=True) as arc, arc.transaction():
        for rec in synth_children(n, seed=11):
            rec = rec.model_copy(update={"grade": grade, "school": SENDER[1]})
            cid = arc.add_child(rec)
            for j in range(docs):
                content = b"PK\x03\x04" + rnd.randbytes(rnd.randint(15_000, 45_000))
                total += len(content)
                arc.put_document(kind="visit", title=f"家访记录（第{j + 1}次）{rec.name}", content=content,
                                 filename=f"家访记录-{j + 1}.docx",
                                 mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                                 child_id=cid, text=f"{rec.name} {TEXT}", doc_date="2026-09-01",
                                 form={f"字段{i}": f"{rec.name} 内容 {i}" for i in range(15)})
    return a, b, total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=500)
    ap.add_argument("--docs", type=int, default=10)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    root = Path(args.workdir or tempfile.mkdtemp(prefix="guanai-bench-transfer-"))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    grade = "六年级"
    try:
        t0 = time.perf_counter()
        a, b, doc_bytes = setup(root, args.children, args.docs, grade)
        print(f"准备：{args.children} 名儿童 × {args.docs} 件文书（{doc_bytes / 1e6:.1f} MB），用时 {time.perf_counter() - t0:.1f} s")

        mapping = root / "去向.csv"
        with Archive.open(a, user="admin", passphrase=PASS) as arc:
            ids = [c.record.student_id for c in arc.list_children()]
        mapping.write_text("".join(f"{x},{RECEIVER[0]}\n" for x in ids), encoding="utf-8")

        t = time.perf_counter()
        with Archive.open(a, user="admin", passphrase=PASS, write=True) as arc:
            (res,) = transfer.export_by_destination(arc, grade, mapping, root / "升学", render_slip=render_slip)
        t_export = time.perf_counter() - t

        t = time.perf_counter()
        with Archive.open(b, user="admin", passphrase=PASS, write=True) as arc:
            opened = transfer.open_package(arc, res.path)
            t_validate = time.perf_counter() - t
            result = transfer.accept(arc, opened)
            del opened
            t_import = time.perf_counter() - t
            try:
                from guanai.search.index import open_index

                t = time.perf_counter()
                open_index(arc)
                t_index: float | None = time.perf_counter() - t
            except ImportError:
                t_index = None
        ratio = res.size / doc_bytes
        print()
        print(f"{'项目':<28}{'实测':>14}{'目标':>12}")
        print(f"{f'升学导出（{args.children} 人，1 个包）':<22}{t_export:>14.1f} s{'≤ 60 s':>12}")
        print(f"{'  其中核验+解密+BagIt 校验':<22}{t_validate:>14.1f} s")
        print(f"{'升学导入（一个事务）':<24}{t_import:>14.1f} s{'≤ 60 s':>12}")
        if t_index is not None:
            print(f"{'接收方全文索引补建':<24}{t_index:>14.1f} s{'（另计）':>10}")
        print(f"{'转接包大小 / 文书本身':<22}{ratio:>14.3f} ×{'≤ 1.05×':>12}")
        print(f"    包 {res.size / 1e6:.1f} MB，文书 {doc_bytes / 1e6:.1f} MB，儿童 {len(result.child_ids)} 名，"
              f"文书 {result.documents} 件")

        # single child, end to end, as the CLI does it (each step opens the archive: Argon2 included)
        with Archive.open(a, user="admin", passphrase=PASS, write=True) as arc:
            from guanai.care.synth import synth_children

            rec = synth_children(1, seed=999)[0].model_copy(update={"grade": "五年级", "school": SENDER[1]})
            cid = arc.add_child(rec)
            for j in range(args.docs):
                arc.put_document(kind="visit", title=f"记录{j}", content=os.urandom(30_000), filename=f"r{j}.docx",
                                 mime="application/octet-stream", child_id=cid, text=TEXT)
        t_unlock = 0.0

        def unlock(path: Path) -> Archive:
            nonlocal t_unlock
            t1 = time.perf_counter()
            arc = Archive.open(path, user="admin", passphrase=PASS, write=True)
            t_unlock += time.perf_counter() - t1
            return arc

        t = time.perf_counter()
        with unlock(a) as arc:
            one = transfer.export_package(arc, [cid], RECEIVER[0], root / "single.gtp", render_slip=render_slip)
        with unlock(b) as arc:
            r1 = transfer.accept(arc, transfer.open_package(arc, one.path))
        with unlock(a) as arc:
            transfer.confirm(arc, r1.receipt_path)
        t_single = time.perf_counter() - t
        print(f"{'单个儿童端到端（导出+导入+确认）':<18}{t_single:>14.2f} s{'≤ 2 s':>12}")
        print(f"    其中 3 次口令解锁（Argon2id，每步各开一次档案库，与命令行相同）{t_unlock:.2f} s，"
              f"转接本身 {t_single - t_unlock:.2f} s")
        # 3 unlocks is the minimum: export and confirm run at the sender days apart, import at the
        # receiver. Their cost is the archive's KDF setting (64 MiB, t=3, p=4), not the transfer's;
        # one bare derivation measured now shows how loaded this machine is (idle: ~0.1 s, docs/NOTES.md).
        from guanai.archive import crypto

        t = time.perf_counter()
        crypto.argon2id(PASS, crypto.KdfParams(salt=os.urandom(16)))
        print(f"    参照：同一时刻单独一次 Argon2id 派生 {time.perf_counter() - t:.2f} s（空闲机器约 0.1 s）；"
              "3 次解锁是最少次数（导出、确认在发送学校，导入在接收学校，分别执行）")
        ok = t_export <= 60 and t_import <= 60 and ratio <= 1.05 and t_single <= 2
        print("结论：" + ("全部达标" if ok else "有指标未达标"))
        return 0 if ok else 1
    finally:
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
