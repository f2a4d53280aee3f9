"""Demo step for children: add synthetic children, import a roster, classify, close a record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from guanai.care.roster import parse_roster, roster_xlsx_bytes
from guanai.care.rules import HARDSHIP, LEFT_BEHIND, classify, coverage
from guanai.care.synth import SCENARIOS, example_record, synth_children

if TYPE_CHECKING:
    from guanai.archive.store import Archive
    from guanai.care.model import ChildRecord

DIRECT = 30
ROSTER = 12


def run_demo(arc: Archive, workdir: Path, passphrase: str, echo: Callable[[str], None]) -> None:
    from guanai.base.fsutil import atomic_write

    today = date.today()
    children = synth_children(DIRECT + ROSTER, seed=2026)
    direct, for_roster = children[:DIRECT], children[DIRECT:]
    with arc.transaction():
        ids = [arc.add_child(rec) for rec in direct]
    echo(f"登记儿童 {len(ids)} 名（合成数据：身份证校验码有效，萧县各乡镇村庄；覆盖 {len(SCENARIOS)} 种情形）。")

    roster_path = Path(workdir) / "花名册-示例.xlsx"
    roster_bytes = _roster_with_one_typo(for_roster)
    atomic_write(roster_path, roster_bytes)
    echo(f"写出花名册 {roster_path.name}（{len(for_roster)} 行 + 模板示例行，带下拉选项；"
         "故意把一行的身份证号末位写错）。")
    roster = parse_roster(roster_bytes, roster_path.name)
    with arc.transaction():
        for _row, rec in roster.records:
            arc.add_child(rec)
    echo(f"导入花名册：{len(roster.records)} 行已导入，{len(roster.errors)} 行有错误未导入，"
         f"跳过示例行 {roster.skipped_examples} 行。")
    for err in roster.errors:
        echo(f"  第{err.row}行：{err.message}")

    labels = {(LEFT_BEHIND,): "仅留守儿童", (HARDSHIP,): "仅困境儿童",
              (LEFT_BEHIND, HARDSHIP): "既是留守儿童又是困境儿童", (): "均不属于"}
    counts: Counter[str] = Counter()
    entries = arc.list_children(status="在册")
    for entry in entries:
        names = tuple(c.name for c in classify(entry.record, today))
        counts[labels.get(names, "、".join(names))] += 1
    echo(f"按县实施方案分类（{today.isoformat()}，在册 {len(entries)} 名）：")
    for key, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        echo(f"  {key}：{n} 名")
    cov = coverage([e.record for e in entries], today)
    echo(f"帮扶教师覆盖率（实施方案要求每位留守儿童困境儿童都有帮扶教师）：{cov.with_mentor}/{cov.total}"
         f"（{cov.mentor_rate:.0%}）" + (f"，缺帮扶教师：{'、'.join(cov.without_mentor)}" if cov.without_mentor else ""))
    echo("举例（类别与理由）：")
    for entry in entries[:4]:
        cats = classify(entry.record, today)
        text = "；".join(f"{c.name}（{'；'.join(c.reasons)}）" for c in cats) or "不属于留守/困境儿童"
        echo(f"  {entry.record.name}（{entry.record.student_id}）：{text}")

    # Lifecycle: a child whose parents came home is closed (存档备查), kept and read-only.
    neither = next((e for e in entries if not classify(e.record, today)), None)
    if neither is not None:
        arc.set_child_status(neither.id, "存档备查", "父母返乡，已不属于留守儿童（演示）")
        echo(f"结案：{neither.record.name} 父母返乡 → 状态“存档备查”（保留、只读、可检索）。")
    echo("命令行：guanai child list、child show 学籍号、child classify 学籍号 --on 2026-09-01")


def _roster_with_one_typo(records: list[ChildRecord]) -> bytes:
    """The roster workbook with the last row's ID check digit mistyped (to show row-level errors)."""
    import io

    import openpyxl

    from guanai.care.roster import COLUMNS

    wb = openpyxl.load_workbook(io.BytesIO(roster_xlsx_bytes(records, example=example_record())))
    ws = wb["花名册"]
    column = [h for h, _ in COLUMNS].index("身份证号") + 1
    for row in range(ws.max_row, 2, -1):
        value = ws.cell(row=row, column=column).value
        if isinstance(value, str) and value:
            ws.cell(row=row, column=column, value=value[:-1] + ("1" if value[-1] != "1" else "2"))
            break
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
