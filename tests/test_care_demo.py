"""The children step of `guanai demo`: what it stores and what it prints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from guanai.archive.store import Archive
from guanai.care.roster import Roster, parse_roster
from guanai.cli.demos.children import DIRECT, ROSTER, run_demo


def read_roster(path: Path) -> Roster:
    """The CLI's way: the file's bytes and its name."""
    return parse_roster(Path(path).read_bytes(), Path(path).name)


def test_run_demo(make_archive: Callable[..., tuple[Path, str]], tmp_path: Path) -> None:
    path, pw = make_archive()
    lines: list[str] = []
    work = tmp_path / "work"
    work.mkdir()
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        run_demo(arc, work, pw, lines.append)
        entries = arc.list_children()
    text = "\n".join(lines)
    assert f"登记儿童 {DIRECT} 名" in text
    assert f"导入花名册：{ROSTER - 1} 行已导入，1 行有错误未导入，跳过示例行 1 行。" in text
    assert "身份证号：校验码错误" in text
    assert "仅留守儿童" in text and "仅困境儿童" in text and "父母返乡" in text
    assert "帮扶教师覆盖率" in text
    assert len(entries) == DIRECT + ROSTER - 1
    assert sorted(e.status for e in entries).count("存档备查") == 1
    roster = read_roster(work / "花名册-示例.xlsx")
    assert len(roster.records) == ROSTER - 1 and [e.row for e in roster.errors] == [ROSTER + 2]
