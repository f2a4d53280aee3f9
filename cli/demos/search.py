"""Demo step: index the demo archive and run a few searches (a name, an ID, a village, a phrase)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from guanai.search.api import reindex, run_search

if TYPE_CHECKING:
    from guanai.archive.store import Archive


def _village(arc: Archive) -> str | None:
    for c in arc.list_children():
        for v in (c.record.village_committee, c.record.residence):
            if v:
                # "前崔庄村村民委员会" -> "前崔庄村"; "安徽省萧县丁里镇前崔庄村18号" -> "前崔庄村"
                head = v.split("村")[0]
                name = head[-3:] + "村" if len(head) >= 2 else None
                if name:
                    return name
    return None


def _phrase(arc: Archive) -> str | None:
    for d in arc.list_documents():
        text = arc.document_text(d.id) or ""
        for part in text.replace("。", "，").replace("；", "，").split("，"):
            part = part.strip()
            if 6 <= len(part) <= 14 and all("\u4e00" <= ch <= "\u9fff" for ch in part):
                return part
    return None


def run_demo(arc: Archive, workdir: Path, passphrase: str, echo: Callable[[str], None]) -> None:
    from guanai.generators.labels import kind_label

    t0 = time.perf_counter()
    n = reindex(arc)
    echo(f"全文索引（加密，中文分词 + 双字索引）已建立：{n} 条，用时 {time.perf_counter() - t0:.1f} 秒。")
    children = arc.list_children()
    if not children:
        echo("档案库中没有儿童记录，跳过检索演示。")
        return
    first = children[0].record
    queries: list[tuple[str, str]] = [("姓名", first.name)]
    if first.id_number:
        queries.append(("身份证号", first.id_number))
    village = _village(arc)
    if village:
        queries.append(("村名", village))
    phrase = _phrase(arc)
    if phrase:
        queries.append(("短语", f'"{phrase}"'))
    for label, q in queries:
        t = time.perf_counter()
        view = run_search(arc, q, limit=3)
        ms = (time.perf_counter() - t) * 1000
        total = view.total if view.exact else f"约 {view.total}"
        echo(f"guanai search {q}   （{label}，{total} 条，{ms:.0f} 毫秒）")
        for h in view.hits:
            who = f"儿童：{h.child_name}" if h.child_name else ""
            kind = "儿童档案" if h.entity == "child" else kind_label(h.kind)
            echo(f"  · {h.title}  [{' · '.join(p for p in (who, h.date, kind) if p)}]")
            if h.snippet:
                echo(f"    {h.snippet}")
    echo("每次检索均已记入审计日志；索引文件逐个加密，磁盘上没有明文。")
