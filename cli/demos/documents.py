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
    if children:  # the first card shows the photo box filled, the others labelled 照片
        from guanai.archive.photos import set_photo

        set_photo(arc, children[0].id, demo_portrait(), name="示意照片.png")
        echo(f"为 {children[0].record.name} 存入照片（合成的示意图）：其档案卡的照片栏印出照片，其余为空栏。")
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


def demo_portrait() -> bytes:
    """A drawn head-and-shoulders figure (PNG, 5:7): a stand-in photo for synthetic children."""
    import io

    from PIL import Image, ImageDraw

    im = Image.new("RGB", (250, 350), (222, 232, 245))
    d = ImageDraw.Draw(im)
    d.ellipse((35, 235, 215, 420), fill=(52, 92, 160))  # shoulders
    d.rectangle((105, 190, 145, 250), fill=(238, 200, 170))  # neck
    d.ellipse((70, 70, 180, 210), fill=(240, 205, 175))  # face
    d.chord((64, 55, 186, 170), 180, 360, fill=(40, 32, 28))  # hair
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()
