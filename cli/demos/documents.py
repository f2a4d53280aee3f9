"""`guanai demo`: generate every document kind from the shipped samples for the demo children."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.generators.formsio import FormRow, example_form
from guanai.generators.generate import child_prefill, generate_batch
from guanai.generators.kinds import KINDS

if TYPE_CHECKING:
    from guanai.archive.store import Archive

CARDS = 5  # child cards generated in the demo (one per child, for the first children)


def run_demo(arc: Archive, workdir: Path, passphrase: str, echo: Callable[[str], None]) -> None:
    out = Path(workdir) / "文书"
    children = [c for c in arc.list_children() if c.status == "在册"]
    echo(f"生成文书（每种文书一份，档案卡 {min(CARDS, len(children)) or 1} 份），输出到 {out}：")
    total = failed = 0
    for kind in KINDS.values():
        sample = example_form(kind)
        targets = children[: CARDS if kind.id == "child-card" else 1] if kind.per_child else []
        jobs: list[tuple[str | None, dict[str, object]]] = []
        if targets:
            for child in targets:
                prefill = child_prefill(kind, child)
                # the record supplies the child's identity; the sample the rest (its dates too)
                form = {k: _rename(v, "张小明", child.record.name) for k, v in sample.items()
                        if k not in prefill or k == "建档日期"}
                jobs.append((child.id, form))
        else:
            jobs.append((None, sample))
        for child_id, form in jobs:
            res = generate_batch(arc, kind.id, [FormRow(f"示例表单 {kind.sample}", None, form)],
                                 child_ref=child_id, out_dir=out)
            total += len(res.ok)
            failed += len(res.failed)
            for g in res.ok:
                echo(f"  ✓ {kind.name}：{g.title} → {g.filename}")
            for f in res.failed:
                echo(f"  ✗ {kind.name}：{f.message}")
    echo(f"共生成 {total} 份文书并存入档案库" + (f"，{failed} 份失败" if failed else "") + "。")


def _rename(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_rename(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _rename(v, old, new) for k, v in value.items()}
    return value
