"""`guanai generate KIND -i` for every kind, driven through a pseudo-terminal to a stored document.

Each field's prompt is awaited and answered with what the prompt itself shows (the shipped
sample's values: "1" for an enumeration shown as "1 / 2", "是" for 是 / 否, lines for sub-tables).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guanai.generators.formsio import _flat, example_form, field_specs
from guanai.generators.kinds import KINDS

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parent.parent


def _spawn(path: Path, pw: str, *args: str) -> Any:
    env = {**os.environ, "GUANAI_ARCHIVE": str(path), "GUANAI_PASSPHRASE": pw, "GUANAI_USER": "admin",
           "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8", "COLUMNS": "200"}
    return pexpect.spawn(sys.executable, ["-m", "guanai.cli.main", *args], env=env, encoding="utf-8",
                         timeout=60, dimensions=(50, 250), cwd=str(path.parent))


def _answer_form(child: Any, kind_id: str, prefilled: dict[str, Any] | None = None) -> None:
    """Wait for each prompt and answer it; prefilled fields are accepted with Enter."""
    kind = KINDS[kind_id]
    sample = example_form(kind)
    prefilled = prefilled or {}
    for spec in field_specs(kind.model):
        value = _flat(sample.get(spec.alias), spec)
        if spec.kind == "rows":
            lines = [ln for ln in str(value or "").split("\n") if ln.strip()]
            for i, line in enumerate(lines, 1):
                child.expect(re.escape(f"{spec.alias} 第{i}项") + r"[^\n]*: ")
                child.sendline(line)
            child.expect(re.escape(f"{spec.alias} 第{len(lines) + 1}项") + r"[^\n]*: ")
            child.sendline("")
            continue
        child.expect(re.escape(f"{spec.alias}（") + r"[^\n]*: ")
        if spec.alias in prefilled:
            assert f"[{prefilled[spec.alias]}]" in child.after, child.after  # the record's value is shown
            child.sendline("")
        else:
            child.sendline("" if value is None else str(value))


def _stored(path: Path, pw: str, kind_id: str) -> list[Any]:
    from guanai.archive.store import Archive

    with Archive.open(path, user="admin", passphrase=pw) as arc:
        return [(d, arc.document_form(d.id)) for d in arc.list_documents(kind=kind_id)]


@pytest.mark.parametrize("kind_id", list(KINDS))
def test_interactive_form_through_a_terminal(kind_id: str, make_archive: Callable[..., tuple[Path, str]]) -> None:
    path, pw = make_archive()
    child = _spawn(path, pw, "generate", kind_id, "-i")
    _answer_form(child, kind_id)
    child.expect(pexpect.EOF)
    child.close()
    out = child.before or ""
    assert child.exitstatus == 0, out
    assert "生成并归档 1 份" in out and "编号" in out
    docs = _stored(path, pw, kind_id)
    assert len(docs) == 1
    entry, form = docs[0]
    sample = example_form(KINDS[kind_id])
    # what was typed is what was stored (a field the sample gives, compared as the template shows it)
    for spec in field_specs(KINDS[kind_id].model):
        if spec.kind in ("text", "choice") and sample.get(spec.alias) not in (None, ""):
            assert str(form[spec.alias]) == str(sample[spec.alias]), spec.alias  # type: ignore[index]
    short = re.search(r"编号 ([0-9a-f]{8,})", out)
    assert short is not None and entry.id.startswith(short.group(1))


def test_interactive_per_child_form_is_prefilled_from_the_record(
        make_archive: Callable[..., tuple[Path, str]]) -> None:
    from guanai.archive.store import Archive
    from guanai.care.synth import synth_children
    from guanai.generators.generate import child_prefill

    path, pw = make_archive()
    rec = synth_children(1, seed=5)[0]
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        cid = arc.add_child(rec)
        entry = arc.get_child(cid)
        kind = KINDS["home-visit"]
        prefill = {k: _flat(v, next(s for s in field_specs(kind.model) if s.alias == k))
                   for k, v in child_prefill(kind, entry).items()}
        school = arc.info.school_name
    prefill.setdefault("学校", school)  # the record's school, else the archive's
    school = prefill["学校"]
    child = _spawn(path, pw, "generate", "家访记录表", "--child", rec.name, "-i")
    _answer_form(child, "home-visit", prefilled=prefill)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    docs = _stored(path, pw, "home-visit")
    assert len(docs) == 1
    entry_doc, form = docs[0]
    assert entry_doc.child_id == cid
    assert form["儿童姓名"] == rec.name and form["学校"] == school  # type: ignore[index]
    if rec.student_id:
        assert form["学籍号"] == rec.student_id  # type: ignore[index]


def test_same_name_offers_a_numbered_choice_in_a_terminal(make_archive: Callable[..., tuple[Path, str]]) -> None:
    from guanai.archive.store import Archive
    from guanai.care.synth import synth_children

    path, pw = make_archive()
    a, b = synth_children(2, seed=11)
    b = b.model_copy(update={"name": a.name})
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        arc.add_child(a)
        second = arc.add_child(b)
    child = _spawn(path, pw, "child", "show", a.name)
    child.expect("同名儿童")
    child.expect(r"请输入序号[^\n]*: ")
    listing = child.before or ""
    # the list is sorted by grade, class and name: find which number is the second child
    lines = [ln for ln in listing.splitlines() if re.match(r"\s+\d\. ", ln)]
    assert len(lines) == 2
    pick = next(i for i, ln in enumerate(lines, 1) if second[:8] in ln)
    child.sendline(str(pick))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert second in (child.before or "")
