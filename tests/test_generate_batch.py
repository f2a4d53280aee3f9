"""Forms that save work: one document per child in one batch, voiding, exports, dates that agree."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from gen_helpers import sample

from guanai.archive.store import Archive
from guanai.cli.main import cli
from guanai.generators.generate import generate_batch


@pytest.fixture
def school(make_archive: Callable[..., tuple[Path, str]], cli_env: Callable[..., None]) -> dict[str, Any]:
    from guanai.care.synth import synth_children

    path, pw = make_archive()
    cli_env(path, pw)
    kids = synth_children(5, seed=41)
    places = [("三年级", "1班"), ("三年级", "2班"), ("三年级", "2班"), ("四年级", "1班"), ("一年级", "1班")]
    ids = []
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        for k, (g, c) in zip(kids, places, strict=True):
            ids.append(arc.add_child(k.model_copy(update={"grade": g, "class_name": c})))
    return {"path": path, "pw": pw, "kids": kids, "ids": ids}


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _open(env: dict[str, Any], write: bool = False) -> Archive:
    return Archive.open(env["path"], user="admin", passphrase=env["pw"], write=write)


def _plan(tmp_path: Path) -> Path:
    p = tmp_path / "一策.yaml"
    p.write_text(yaml.safe_dump({"帮扶教师": "李红梅", "建档日期": "2026-09-01", "学业辅导": "课后辅导"},
                                allow_unicode=True), encoding="utf-8")
    return p


def test_grade_and_class_one_card_per_child(school: dict[str, Any], tmp_path: Path) -> None:
    r = run("generate", "一人一卡一策档案卡", "--grade", "三年级", "--class", "2班", str(_plan(tmp_path)), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert sorted(g["child_id"] for g in out["generated"]) == sorted(school["ids"][1:3])
    assert all(g["short_id"] and g["doc_id"].startswith(g["short_id"]) for g in out["generated"])
    with _open(school) as arc:
        for cid in school["ids"][1:3]:
            docs = arc.list_documents(child_id=cid, kind="child-card")
            assert len(docs) == 1
            form = arc.document_form(docs[0].id) or {}
            rec = arc.get_child(cid).record
            assert form["姓名"] == rec.name and form["学业辅导"] == "课后辅导" and form["班级"] == "2班"


def test_all_and_repeated_child(school: dict[str, Any], tmp_path: Path) -> None:
    names = [k.name for k in school["kids"]]
    r = run("generate", "child-card", "--child", names[0], "--child", school["ids"][3][:6],
            "--child", names[0], str(_plan(tmp_path)))
    assert r.exit_code == 0, r.output
    assert "生成并归档 2 份" in r.output and "编号 " in r.output
    r = run("generate", "child-card", "--all", str(_plan(tmp_path)), "--json")
    assert r.exit_code == 0 and len(json.loads(r.output)["generated"]) == 5
    r = run("generate", "child-card", "--grade", "九年级", str(_plan(tmp_path)))
    assert r.exit_code == 2 and "一年级、三年级、四年级" in r.output
    r = run("generate", "circular", "--all", str(_plan(tmp_path)))
    assert r.exit_code == 2 and "不是针对单个儿童的文书" in r.output


def test_school_defaults_to_the_archive_and_other_school_is_said(school: dict[str, Any], tmp_path: Path) -> None:
    form = dict(sample("care-record"))
    form.pop("学校")
    with _open(school, write=True) as arc:
        res = generate_batch(arc, "care-record", [form], store=True)
        # the only note: the form's child is not in this archive (not a school warning)
        assert res.failed == [] and [n for n in res.notes if "未关联到儿童档案" not in n] == []
        assert (arc.document_form(res.ok[0].doc_id or "") or {})["学校"] == arc.info.school_name
        res = generate_batch(arc, "care-record", [{**form, "学校": "别的学校"}], store=True)
    assert any("不是本档案库的学校" in n for n in res.notes)


def test_void_hides_from_listing_keeps_and_audits(school: dict[str, Any], tmp_path: Path) -> None:
    from guanai.archive.audit import walk

    r = run("generate", "child-card", "--child", school["ids"][0], str(_plan(tmp_path)), "--json")
    did = json.loads(r.output)["generated"][0]["doc_id"]
    r = run("doc", "void", did[:7], "--reason", "重复归档")
    assert r.exit_code == 0 and "已作废" in r.output
    r = run("doc", "list", "--json")
    assert did not in {d["id"] for d in json.loads(r.output)}
    r = run("doc", "list", "--all")
    assert "（已作废）" in r.output
    r = run("doc", "void", did[:7], "--reason", "再次")
    assert r.exit_code != 0 and "已经作废" in r.output
    r = run("doc", "void", did[:7], "--reason", " ")
    assert r.exit_code == 2
    with _open(school) as arc:
        assert arc.read_document(did)  # kept
        entries, problems = walk(arc)
        assert problems == []
        void = [e for e in entries if e.action == "doc.void"]
        assert len(void) == 1 and void[0].detail and void[0].detail["reason"] == "重复归档"
        from guanai.archive.documents import voided
        from guanai.archive.transfer.outgoing import _child_item

        item = _child_item(arc, arc.get_child(school["ids"][0]), {}, frozenset(voided(arc)))
        assert item.documents == []  # not in a transfer package
    r = run("audit", "show")
    assert "作废文档" in r.output and "一人一卡一策档案卡" in r.output  # the document's title, not only its id


def test_doc_get_into_directory_several_ids_and_dossier(school: dict[str, Any], tmp_path: Path) -> None:
    cid = school["ids"][0]
    name = school["kids"][0].name
    r = run("generate", "child-card", "--child", cid, str(_plan(tmp_path)), "--json")
    card = json.loads(r.output)["generated"][0]["doc_id"]
    care = dict(sample("care-record"))
    care.pop("儿童姓名")
    care.pop("学籍号", None)
    p = tmp_path / "帮扶.yaml"
    p.write_text(yaml.safe_dump(care, allow_unicode=True), encoding="utf-8")
    r = run("generate", "帮扶记录", "--child", name, str(p), "--json")
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)["generated"][0]["doc_id"]
    out = tmp_path / "导出"
    r = run("doc", "get", card[:8], rec[:8], "-o", str(out))
    assert r.exit_code == 0, r.output
    assert len(list(out.iterdir())) == 2
    r = run("doc", "get", card[:8], "-o", str(out))  # into the existing directory: a new name, no overwrite
    assert r.exit_code == 0 and len(list(out.iterdir())) == 3
    r = run("open", rec[:8], "-o", str(tmp_path / "新目录") + "/")  # a trailing slash: a new directory
    assert r.exit_code == 0 and [p.suffix for p in (tmp_path / "新目录").iterdir()] == [".docx"]
    r = run("open", "--child", name, "-o", str(tmp_path / "档案"))
    assert r.exit_code == 0, r.output
    folder = next((tmp_path / "档案").iterdir())
    assert name in folder.name and len(list(folder.iterdir())) == 2
    r = run("doc", "get", card[:8], rec[:8], "-o", str(p))  # several documents need a directory
    assert r.exit_code == 2 and "不是目录" in r.output
    r = run("doc", "get", card[:8], "deadbeef", "-o", str(tmp_path / "半"))
    assert r.exit_code != 0 and not (tmp_path / "半").exists()  # nothing written when one id is bad
    r = run("doc", "list", "--child", name)
    assert "docx" in r.output and "格式" in r.output


def test_listing_sorted_by_grade_class_name(school: dict[str, Any], tmp_path: Path) -> None:
    run("generate", "child-card", "--all", str(_plan(tmp_path)))
    r = run("doc", "list", "--json")
    grades = [(d["grade"], d["class_name"]) for d in json.loads(r.output)]
    assert grades == sorted(grades, key=lambda g: ({"一年级": 1, "三年级": 3, "四年级": 4}[g[0]], g[1]))
    r = run("doc", "list", "--sort", "nonsense")
    assert r.exit_code == 2


def test_report_dated_before_its_persuasions_is_refused() -> None:
    form = dict(sample("dropout-report"))
    attempts = [dict(x) for x in form["劝返记录"]]
    attempts[-1]["日期"] = "2020-10-25"  # after the report's 成文日期 (2020-10-20)
    res = generate_batch(None, "dropout-report", [{**form, "劝返记录": attempts}], store=False)
    assert res.ok == [] and "早于所引用的劝返记录第2项" in res.failed[0].message
    attempts[-1]["日期"] = "2020-10-01"  # before the absence began (2020-10-08)
    res = generate_batch(None, "dropout-report", [{**form, "劝返记录": attempts}], store=False)
    assert res.ok == [] and "早于未到校起始日期" in res.failed[0].message
    visit = {**sample("home-visit"), "已告知村（居）委会": "是", "告知对象": "村委会", "告知日期": "2000-01-01"}
    res = generate_batch(None, "home-visit", [visit], store=False)
    assert res.ok == [] and "早于家访日期" in res.failed[0].message
    card = {**sample("child-card"), "出生日期": "2030-01-01"}
    res = generate_batch(None, "child-card", [card], store=False)
    assert res.ok == [] and "早于出生日期" in res.failed[0].message


def test_void_needs_write_permission(school: dict[str, Any]) -> None:
    from guanai.archive.documents import void_document
    from guanai.base.errors import PermissionDenied

    with _open(school, write=True) as arc:
        arc.add_user("督导员", "inspector", "督导口令-2026-abc")
        did = arc.put_document(kind="attachment", title="证明", content=b"%PDF-1.4", filename="z.pdf",
                               mime="application/pdf", child_id=school["ids"][0])
    with Archive.open(school["path"], user="督导员", passphrase="督导口令-2026-abc") as arc:
        with pytest.raises(PermissionDenied):
            void_document(arc, did, "试试")
    with _open(school) as arc:
        from guanai.archive.documents import voided

        assert voided(arc) == {}


def test_kinds_by_chinese_name_everywhere(school: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "家访.xlsx"
    r = run("form", "template", "家访记录表", "-o", str(out))
    assert r.exit_code == 0 and out.exists() and "家访记录表" in r.output
    r = run("form", "template", "辍学情况报告", "--yaml", "-o", str(tmp_path / "r.yaml"))
    assert r.exit_code == 0, r.output
    r = run("doc", "list", "--kind", "附件")
    assert r.exit_code == 0
    r = run("doc", "list", "--kind", "家访")
    assert r.exit_code == 2 and "家访记录表" in r.output and "附件" in r.output
    r = run("generate", "不存在的文书", "x.yaml")
    assert r.exit_code == 2 and "home-visit（家访记录表）" in r.output


def test_one_refused_child_does_not_stop_the_batch(school: dict[str, Any], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import guanai.generators.generate as gen

    monkeypatch.setattr(gen, "STORE_CHUNK", 2)  # several chunks, the refusal in the middle of one
    with _open(school, write=True) as arc:
        arc.set_child_status(school["ids"][1], "存档备查", "父母返乡")
    refs = [school["ids"][i][:8] for i in range(5)]
    args = [a for r in refs for a in ("--child", r)]
    r = run("generate", "child-card", *args, str(_plan(tmp_path)), "--json", "--out", str(tmp_path / "out"))
    assert r.exit_code != 0
    out = json.loads(r.output)
    assert len(out["generated"]) == 4 and len(out["failed"]) == 1 and "只读" in out["failed"][0]["message"]
    assert len(list((tmp_path / "out").glob("*.docx"))) == 4  # files only for what was stored
    with _open(school) as arc:
        assert len(arc.list_documents(kind="child-card")) == 4
        assert arc.list_documents(child_id=school["ids"][1]) == []


def test_interactive_for_several_children_asks_only_what_records_lack(school: dict[str, Any]) -> None:
    from guanai.generators.formsio import _flat, example_form, field_specs
    from guanai.generators.generate import prompt_defaults
    from guanai.generators.kinds import KINDS

    kind = KINDS["home-visit"]
    with _open(school) as arc:
        entries = [arc.get_child(school["ids"][0]), arc.get_child(school["ids"][3])]
        _defaults, skip = prompt_defaults(kind, arc, entries)
    assert {"儿童姓名", "年级", "班级"} <= skip
    sample = example_form(kind)
    answers: list[str] = []
    for spec in field_specs(kind.model):
        if spec.alias in skip:
            continue
        value = _flat(sample.get(spec.alias), spec)
        if spec.kind == "rows":
            answers += [ln for ln in str(value or "").split("\n") if ln.strip()] + [""]
        else:
            answers.append("" if value is None else str(value))
    r = CliRunner().invoke(cli, ["generate", "家访记录表", "--child", school["ids"][0][:8], "--child",
                                 school["ids"][3][:8], "-i", "--json"], input="\n".join(answers) + "\n",
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    with _open(school) as arc:
        for cid in (school["ids"][0], school["ids"][3]):
            docs = arc.list_documents(child_id=cid, kind="home-visit")
            assert len(docs) == 1
            form = arc.document_form(docs[0].id) or {}
            assert form["儿童姓名"] == arc.get_child(cid).record.name and form["家访形式"] == sample["家访形式"]


def test_disk_full_mid_chunk_counts_only_committed_chunks(school: dict[str, Any], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import guanai.generators.generate as gen
    from guanai.base.errors import DiskFullError

    real = gen.put_once
    calls = {"n": 0}

    def flaky(arc: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:  # the second form of the second chunk
            raise DiskFullError("磁盘已满。", "清理磁盘。")
        return real(arc, **kw)

    monkeypatch.setattr(gen, "STORE_CHUNK", 2)
    monkeypatch.setattr(gen, "put_once", flaky)
    with _open(school, write=True) as arc:
        entries = [arc.get_child(i) for i in school["ids"]]
        with pytest.raises(gen.BatchInterrupted) as info:
            gen.generate_batch(arc, "child-card", [{"帮扶教师": "李红梅", "建档日期": "2026-09-01"}],
                               children=entries)
        stored = {d.id for d in arc.list_documents(kind="child-card")}
    assert info.value.stored and set(info.value.stored) == stored and len(stored) == 2  # the first chunk only
    assert "本次已归档 2 份" in info.value.message
    monkeypatch.setattr(gen, "put_once", real)
    with _open(school, write=True) as arc:  # a re-run stores the rest, not the first chunk again
        res = gen.generate_batch(arc, "child-card", [{"帮扶教师": "李红梅", "建档日期": "2026-09-01"}],
                                 children=[arc.get_child(i) for i in school["ids"]])
        assert len(res.stored) == 3 and sum(g.existing for g in res.ok) == 2
        assert len(arc.list_documents(kind="child-card")) == 5
