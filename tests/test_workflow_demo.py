"""The workflow step of `guanai demo`: what it stores and what it prints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from guanai.archive import workflow as awf
from guanai.archive.store import Archive
from guanai.cli.demos import children, workflow


def test_run_demo(make_archive: Callable[..., tuple[Path, str]], tmp_path: Path) -> None:
    path, pw = make_archive()
    work = tmp_path / "work"
    work.mkdir()
    lines: list[str] = []
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        children.run_demo(arc, work, pw, lambda s: None)
        workflow.run_demo(arc, work, pw, lines.append)
        text = "\n".join(lines)
        assert "开学排查" in text and "待办" in text and "辍学情况的报告" in text
        assert list(awf.case_labels(arc).values()) == ["辍学"]
        assert awf.open_round(arc) is None  # the round was closed
        kinds = sorted(d.kind for d in arc.list_documents())
        assert kinds.count("persuasion-notice") == 2 and kinds.count("dropout-report") == 1
        assert kinds.count("supervision-report") == 1
        # visits in the week after identification count: the 家访率 is neither 0 nor 100 %
        visits = kinds.count("home-visit")
        assert visits >= 1 and "家访：开学第 5 天家访" in text
        rate = awf.stats(arc, __import__("datetime").date.today()).to_dict()["visit_rate"]
        assert rate is not None and 0 < rate < 1
    assert (work / "关爱台账.xlsx").is_file()
