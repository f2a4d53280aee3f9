"""Short ids and names resolve everywhere an id is accepted; ambiguity is an error, never a guess."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from search_helpers import DOCX

from guanai.archive.resolve import (
    AmbiguousError,
    choosing,
    class_rank,
    grade_rank,
    resolve_child,
    resolve_document,
    resolve_documents,
    select_children,
    short_ids,
    unique_short_id,
)
from guanai.archive.store import Archive
from guanai.base.errors import InputError, NotFoundError
from guanai.cli.main import cli
from guanai.search import index as sindex

DOC_A = "abcdef01" + "0" * 24
DOC_B = "abcdef02" + "0" * 24
KID_A = "c0ffee11" + "1" * 24
KID_B = "c0ffee22" + "2" * 24
KID_C = "7777aaaa" + "3" * 24


class _Ids:
    """uuid4 stand-in handing out chosen ids (to make prefixes collide on purpose)."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = list(ids)

    def __call__(self) -> Any:
        value = self.ids.pop(0)
        return type("U", (), {"hex": value})()


@pytest.fixture(autouse=True)
def _fresh_index_cache() -> Iterator[None]:
    sindex.reset_cache()
    yield
    sindex.reset_cache()


@pytest.fixture
def arc(make_archive: Callable[..., tuple[Path, str]], cli_env: Callable[..., None],
        monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Three children (two of one name, ids sharing 'c0ffee'), two documents sharing 'abcdef'."""
    import guanai.archive.store as store
    from guanai.care.synth import synth_children

    path, pw = make_archive()
    cli_env(path, pw)
    a, b, c = synth_children(3, seed=31)
    b = b.model_copy(update={"name": a.name, "grade": "三年级", "class_name": "2班"})
    a = a.model_copy(update={"grade": "三年级", "class_name": "1班"})
    c = c.model_copy(update={"grade": "一年级", "class_name": "1班"})
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        arc.add_child(a, child_id=KID_A)
        arc.add_child(b, child_id=KID_B)
        arc.add_child(c, child_id=KID_C)
        monkeypatch.setattr(store.uuid, "uuid4", _Ids([DOC_A, DOC_B]))
        arc.put_document(kind="home-visit", title="家访一", content=DOCX, filename="家访一.docx",
                         mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                         child_id=KID_C, text="家访一 正文", doc_date="2024-03-01")
        arc.put_document(kind="care-record", title="帮扶二", content=DOCX, filename="帮扶二.docx",
                         mime="application/pdf", child_id=KID_C, text="帮扶二 正文", doc_date="2024-04-01")
    monkeypatch.undo()
    cli_env(path, pw)
    return {"path": path, "pw": pw, "a": a, "b": b, "c": c}


def run(*args: str, input: str | None = None) -> Any:
    sindex.reset_cache()
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def _open(env: dict[str, Any], write: bool = False) -> Archive:
    return Archive.open(env["path"], user="admin", passphrase=env["pw"], write=write)


# ---- library --------------------------------------------------------------------------------

def test_documents_by_unique_prefix_and_ambiguity(arc: dict[str, Any]) -> None:
    with _open(arc) as a:
        assert resolve_document(a, "abcdef01").id == DOC_A
        assert resolve_document(a, "ABCDEF02").id == DOC_B
        assert a.get_document("abcdef0100").id == DOC_A  # the store's own lookup resolves too
        with pytest.raises(AmbiguousError) as info:
            resolve_document(a, "abcdef")
        assert {c.id for c in info.value.candidates} == {DOC_A, DOC_B}
        assert "家访一" in info.value.message and "帮扶二" in info.value.message
        with pytest.raises(InputError, match="太短"):
            resolve_document(a, "abcde")
        with pytest.raises(NotFoundError):
            resolve_document(a, "abcdef03")
        with pytest.raises(NotFoundError):
            resolve_document(a, "../../etc/passwd")
        assert short_ids(a) == {DOC_A: "abcdef01", DOC_B: "abcdef02"}
        with pytest.raises(InputError) as several:
            resolve_documents(a, ["abcdef01", "ffffff", "abc", "abcdef"])
        assert "ffffff" in several.value.message and "太短" in several.value.message
        assert "对应 2 个文档" in several.value.message
        assert unique_short_id(a, DOC_A) == "abcdef01"


def test_children_by_prefix_name_numbers_and_ambiguity(arc: dict[str, Any]) -> None:
    with _open(arc) as a:
        assert resolve_child(a, "c0ffee11").id == KID_A
        assert resolve_child(a, "7777aa").id == KID_C
        assert resolve_child(a, arc["c"].name).id == KID_C
        assert resolve_child(a, arc["c"].student_id).id == KID_C
        with pytest.raises(AmbiguousError) as info:
            resolve_child(a, "c0ffee")
        assert {c.id for c in info.value.candidates} == {KID_A, KID_B}
        with pytest.raises(AmbiguousError) as info:
            resolve_child(a, arc["a"].name)
        assert "同名" in info.value.message and "三年级1班" in info.value.message and "三年级2班" in info.value.message
        # a terminal chooser picks by number; no answer is still an error, not a guess
        with choosing(lambda ref, cands: 1):
            assert resolve_child(a, arc["a"].name).id == KID_B
        with choosing(lambda ref, cands: None), pytest.raises(AmbiguousError):
            resolve_child(a, arc["a"].name)
        with pytest.raises(NotFoundError):
            resolve_child(a, "没有这个人")


def test_selection_by_grade_class_sorted(arc: dict[str, Any]) -> None:
    with _open(arc) as a:
        assert [e.id for e in select_children(a, every=True)] == [KID_C, KID_A, KID_B]
        assert [e.id for e in select_children(a, grade="三年级", class_name="（2）班")] == [KID_B]
        with pytest.raises(InputError, match="一年级、三年级"):
            select_children(a, grade="五年级")
    assert grade_rank("一年级") < grade_rank("六年级") < grade_rank("初一") < grade_rank("高三") < grade_rank("")
    assert class_rank("2班") < class_rank("十一班") and class_rank("（3）班") == 3


# ---- every command that takes an id --------------------------------------------------------

def test_documents_by_short_id_in_every_command(arc: dict[str, Any], tmp_path: Path) -> None:
    r = run("show", "abcdef01")
    assert r.exit_code == 0 and "家访一" in r.output and "家访记录表" in r.output and "Word 文档" in r.output
    r = run("show", "abcdef")
    assert r.exit_code == 2 and "对应 2 个文档" in r.output and "家访一" in r.output and "帮扶二" in r.output
    out = tmp_path / "x.docx"
    r = run("open", "abcdef02", "-o", str(out))
    assert r.exit_code == 0 and out.read_bytes() == DOCX
    r = run("doc", "get", "abcdef01", "-o", str(tmp_path / "y.docx"))
    assert r.exit_code == 0 and (tmp_path / "y.docx").read_bytes() == DOCX
    r = run("doc", "get", "abcdef", "-o", str(tmp_path / "z.docx"))
    assert r.exit_code == 2 and not (tmp_path / "z.docx").exists()
    r = run("doc", "void", "abcdef", "--reason", "重复")
    assert r.exit_code == 2 and "无法确定" in r.output


def test_children_by_name_and_short_id_in_every_command(arc: dict[str, Any], tmp_path: Path) -> None:
    c = arc["c"]
    for args in (["child", "show", c.name], ["child", "show", "7777aa"], ["child", "classify", c.name],
                 ["doc", "list", "--child", c.name], ["audit", "show", "--child", "7777aaaa"],
                 ["search", "正文", "--child", c.name]):
        r = run(*args)
        assert r.exit_code == 0, (args, r.output)
    r = run("doc", "list", "--child", "7777aa", "--json")
    assert {d["id"] for d in json.loads(r.output)} == {DOC_A, DOC_B}
    scan = tmp_path / "证明.pdf"
    scan.write_bytes(b"%PDF-1.4 x")
    r = run("attach", c.name, str(scan))
    assert r.exit_code == 0 and c.name in r.output and "PDF 文档" in r.output
    patch = tmp_path / "p.yaml"
    patch.write_text(yaml.safe_dump({"帮扶教师": "李红梅"}, allow_unicode=True), encoding="utf-8")
    r = run("child", "update", "7777aaaa", str(patch))
    assert r.exit_code == 0, r.output
    form = tmp_path / "card.yaml"
    form.write_text(yaml.safe_dump({"帮扶教师": "李红梅", "建档日期": "2026-09-01"}, allow_unicode=True),
                    encoding="utf-8")
    r = run("generate", "child-card", "--child", c.name, str(form), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["generated"][0]["child_id"] == KID_C
    r = run("child", "close", "7777aa", "--reason", "父母返乡")
    assert r.exit_code == 0, r.output


def test_same_name_is_an_error_listing_them_outside_a_terminal(arc: dict[str, Any], tmp_path: Path) -> None:
    name = arc["a"].name
    for args in (["child", "show", name], ["doc", "list", "--child", name], ["search", "正文", "--child", name],
                 ["child", "close", name, "--reason", "x"]):
        r = run(*args)
        assert r.exit_code == 2, (args, r.output)
        assert "同名儿童" in r.output and "三年级1班" in r.output and "三年级2班" in r.output
        assert "学籍号" in r.output  # the hint says how to tell them apart
    with _open(arc) as a:
        assert {e.status for e in a.list_children()} == {"在册"}  # nothing was closed by a guess


def test_verify_and_audit_name_documents_by_title(arc: dict[str, Any]) -> None:
    import sqlite3

    from guanai.archive.verify import verify_archive

    conn = sqlite3.connect(arc["path"] / "catalog.sqlite")
    conn.create_function("guanai_row", -1, lambda *a: None)  # an attacker satisfies the triggers
    blob = bytearray(conn.execute("SELECT data FROM content WHERE doc_id=?", (DOC_A,)).fetchone()[0])
    blob[len(blob) // 2] ^= 1
    conn.execute("UPDATE content SET data=? WHERE doc_id=?", (bytes(blob), DOC_A))
    conn.commit()
    conn.close()
    with _open(arc) as a:
        rep = verify_archive(a)
    assert any(DOC_A in p.where and "《家访一》" in p.where for p in rep.problems), rep.problems
    r = run("audit", "show")
    assert r.exit_code == 0 and "《帮扶二》" in r.output and "存入文档" in r.output


def test_removing_a_void_marker_is_detected(arc: dict[str, Any]) -> None:
    import sqlite3

    from guanai.archive.documents import void_document, voided
    from guanai.archive.verify import verify_archive

    with _open(arc, write=True) as a:
        void_document(a, "abcdef01", "重复归档")
    conn = sqlite3.connect(arc["path"] / "catalog.sqlite")
    conn.create_function("guanai_row", -1, lambda *a: None)  # an attacker satisfies the triggers
    conn.execute("DELETE FROM settings WHERE name=?", ("void." + DOC_A,))
    conn.commit()
    conn.close()
    with _open(arc) as a:
        assert voided(a) == {}
        rep = verify_archive(a)
    assert not rep.ok and any("settings" in (p.where + p.what) or "设置" in (p.where + p.what)
                              for p in rep.problems), rep.problems
