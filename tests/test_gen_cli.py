"""CLI: guanai form / generate / template, with a real archive (CliRunner)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cli_helpers import open_archive as _open
from cli_helpers import run
from gen_helpers import docx_text, sample
from openpyxl import load_workbook

from guanai.generators.formsio import write_form_template
from guanai.generators.kinds import KINDS


def _yaml(tmp_path: Path, name: str, data: dict[str, object]) -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


@pytest.mark.parametrize("cmd", [["form", "kinds"], ["form", "template"], ["generate"], ["template", "check"],
                                 ["form"], ["template"], ["template", "use"]])
def test_help_is_chinese_with_example(cmd: list[str]) -> None:
    code, out = run(*cmd, "--help")
    assert code == 0 and "示例：" in out and "guanai" in out


def test_form_kinds_json_lists_every_kind() -> None:
    code, out = run("form", "kinds", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["kind"] for r in rows] == list(KINDS)
    assert {r["kind"]: r["name"] for r in rows}["home-visit"] == "家访记录表"
    code, out = run("form", "kinds")
    assert "一人一卡一策档案卡" in out and "通报" in out


def test_generate_stores_document_with_form_and_text(arc_env: tuple[Path, str], tmp_path: Path) -> None:
    form = _yaml(tmp_path, "家访.yaml", sample("home-visit"))
    code, out = run("generate", "home-visit", str(form))
    assert code == 0, out
    assert "生成并归档 1 份" in out
    with _open(*arc_env) as arc:
        docs = arc.list_documents(kind="home-visit")
        assert len(docs) == 1
        d = docs[0]
        assert d.title == "家访记录表（张小明，2020年9月12日）" and d.doc_date == "2020-09-12"
        assert arc.document_form(d.id)["家访形式"] == "上门"  # type: ignore[index]
        assert "上河家村委会 刘主任" in (arc.document_text(d.id) or "")
        assert "商定的措施" in docx_text(arc.read_document(d.id))


def test_bad_rows_reported_good_rows_stored_exit_nonzero(arc_env: tuple[Path, str], tmp_path: Path) -> None:
    xlsx = tmp_path / "帮扶台账.xlsx"
    write_form_template("care-record", "xlsx", xlsx)
    wb = load_workbook(xlsx)
    ws = wb["表单"]
    example = [c.value for c in ws[2]]
    ws.append([*example[:1], "李四", *example[2:]])
    bad = list(example)
    bad[1] = "王五"
    bad[5] = "不存在的方面"
    ws.append(bad)
    bad2 = list(example)
    bad2[1] = "赵六"
    bad2[6] = "2020-02-30"
    ws.append(bad2)
    wb.save(xlsx)
    code, out = run("generate", "care-record", str(xlsx))
    assert code == 2
    assert "帮扶台账.xlsx 第4行" in out and "帮扶方面" in out and "失败 2 份" in out and "生成并归档 1 份" in out
    # the template's example row (row 2) is never archived; another school's name is pointed out
    assert "第2行 是表单模板中的示例行" in out and "不是本档案库的学校" in out
    assert "帮扶台账.xlsx 第5行" in out and "2020-02-30" in out
    # the hint names this kind's template command, once (not under every bad row)
    assert out.count("提示：") == 1 and "guanai form template care-record" in out
    with _open(*arc_env) as arc:
        titles = sorted(d.title for d in arc.list_documents(kind="care-record"))
    assert len(titles) == 1 and any("李四" in t for t in titles) and not any("王五" in t for t in titles)


def _add_child(path: Path, pw: str) -> tuple[str, str, str]:
    from guanai.care.synth import synth_children

    rec = synth_children(1, seed=3)[0]
    with _open(path, pw, write=True) as arc:
        cid = arc.add_child(rec)
    return cid, rec.student_id, rec.name


def test_child_card_from_the_childs_record(arc_env: tuple[Path, str], tmp_path: Path) -> None:
    cid, sid, name = _add_child(*arc_env)
    plan = {"心理疏导": "每两周谈心", "学业辅导": "课后辅导", "帮扶教师": "李红梅", "建档日期": "2020-09-10"}
    form = _yaml(tmp_path, "一策.yaml", plan)
    code, out = run("generate", "child-card", "--child", sid, str(form), "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["generated"][0]["child_id"] == cid
    with _open(*arc_env) as arc:
        doc = arc.list_documents(child_id=cid)[0]
        text = docx_text(arc.read_document(doc.id))
        rec = arc.get_child(cid).record
    assert name in text and sid in text and "每两周谈心" in text
    from guanai.care.rules import classify

    for cat in classify(rec, __import__("datetime").date.today()):
        assert cat.name in text


def test_child_record_conflict_is_refused(arc_env: tuple[Path, str], tmp_path: Path) -> None:
    _, sid, _ = _add_child(*arc_env)
    form = _yaml(tmp_path, "x.yaml", {"姓名": "别人", "帮扶教师": "李红梅", "建档日期": "2020-09-10"})
    code, out = run("generate", "child-card", "--child", sid, str(form))
    assert code == 2 and "与档案记录" in out and "姓名" in out


def test_form_with_student_id_links_to_child(arc_env: tuple[Path, str], tmp_path: Path) -> None:
    cid, sid, name = _add_child(*arc_env)
    form = _yaml(tmp_path, "r.yaml", sample("care-record") | {"儿童姓名": name, "学籍号": sid})
    code, out = run("generate", "care-record", str(form))
    assert code == 0, out
    with _open(*arc_env) as arc:
        assert [d.kind for d in arc.list_documents(child_id=cid)] == ["care-record"]


def test_form_template_then_generate_no_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run("form", "template", "leading-group-notice", "--json", "-o", "通知.json")
    assert code == 0 and "通知.json" in out
    code, out = run("generate", "leading-group-notice", "通知.json", "--no-archive", "--out", "输出")
    assert code == 0, out
    files = list((tmp_path / "输出").glob("*.docx"))
    assert len(files) == 1 and "教体基〔2020〕9号" in docx_text(files[0].read_bytes())


def test_generate_errors_are_messages_not_tracebacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run("generate", "no-such-kind", "x.yaml", "--no-archive")
    assert code == 2 and "未知的文书种类" in out and "Traceback" not in out
    code, out = run("generate", "care-record", "missing.yaml", "--no-archive")
    assert code == 2 and "missing.yaml" in out
    code, out = run("generate", "care-record", "--no-archive")
    assert code == 2 and "没有给出表单文件" in out
    code, out = run("form", "template", "care-record", "-o", "x.txt")
    assert code == 2 and "--xlsx" in out


def test_generate_without_archive_says_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GUANAI_ARCHIVE", str(tmp_path / "nope"))
    form = _yaml(tmp_path, "r.yaml", sample("care-record"))
    code, out = run("generate", "care-record", str(form))
    assert code == 9 and "找不到档案库" in out and " init " in out


def test_template_check_command(tmp_path: Path) -> None:
    from guanai.generators.assets import TEMPLATE_DIR

    code, out = run("template", "check", str(TEMPLATE_DIR / "care-record.docx"), "--kind", "care-record")
    assert code == 0 and "检查通过" in out
    code, out = run("template", "check", str(TEMPLATE_DIR / "care-record.docx"), "--kind", "home-visit", "--json")
    assert code == 2
    report = json.loads(out)
    assert "content" in report["unknown"] and any("家访日期" in m for m in report["missing"])
    not_docx = tmp_path / "我校帮扶记录.docx"
    not_docx.write_text("不是 Word 文件", encoding="utf-8")
    code, out = run("template", "check", str(not_docx), "--kind", "care-record")
    assert code == 2 and "不是有效的 .docx" in out and "not a zip" not in out
    assert "拆开" not in out and "care-record.docx" in out  # points to the bundled template, not to {{ }} splits


def test_archive_setting_selects_school_templates(arc_env: tuple[Path, str], tmp_path: Path) -> None:
    from gen_helpers import patched_template

    tdir = tmp_path / "我校模板"
    patched_template("care-record", tdir, "帮扶记录</w:t>", "萧县实验小学帮扶记录</w:t>")
    with _open(*arc_env, write=True) as arc:
        arc.set_setting("templates_dir", str(tdir).encode())
    form = _yaml(tmp_path, "r.yaml", sample("care-record"))
    code, out = run("generate", "care-record", str(form))
    assert code == 0, out
    assert "自定义模板" in out
    with _open(*arc_env) as arc:
        doc = arc.list_documents(kind="care-record")[0]
        assert "萧县实验小学帮扶记录" in docx_text(arc.read_document(doc.id))


def test_interactive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    answers = "\n".join(["萧县实验小学", "张三", "", "三年级", "1班", "行为养成", "2020-11-02", "王老师",
                         "制定作息表", "按时起床", ""]) + "\n"
    code, out = run("generate", "care-record", "-i", "--no-archive", input=answers)
    assert code == 0, out
    files = list(tmp_path.glob("帮扶记录-张三-*.docx"))
    assert len(files) == 1 and "制定作息表" in docx_text(files[0].read_bytes())


def test_demo_generates_every_kind(make_archive: Callable[..., tuple[Path, str]], tmp_path: Path) -> None:
    from guanai.care.synth import synth_children
    from guanai.cli.demos.documents import run_demo

    path, pw = make_archive()
    lines: list[str] = []
    with _open(path, pw, write=True) as arc:
        for rec in synth_children(3, seed=5):
            arc.add_child(rec)
        run_demo(arc, tmp_path, pw, lines.append)
        kinds = {d.kind for d in arc.list_documents()}
        card = max((d for d in arc.list_documents(child_id=arc.list_children()[0].id, kind="child-card")),
                   key=lambda d: d.gen)
        with zipfile.ZipFile(io.BytesIO(arc.read_document(card.id, audit=False))) as z:
            assert any(n.startswith("word/media/") for n in z.namelist())  # the demo photo on the card
    assert kinds == set(KINDS) | {"child-photo"}
    assert not any(line.strip().startswith("✗") for line in lines)
    assert any("存入照片" in line for line in lines)


@pytest.mark.pdf
def test_generate_pdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from guanai.generators.pdf import normalize_text, pdf_text

    monkeypatch.chdir(tmp_path)
    forms = [str(_yaml(tmp_path, f"{k}.yaml", sample(k))) for k in ("care-record",)]
    code, out = run("generate", "care-record", *forms, "--pdf", "--no-archive", "--out", "o")
    assert code == 0, out
    pdfs = list((tmp_path / "o").glob("*.pdf"))
    assert len(pdfs) == 1
    text = normalize_text(pdf_text(pdfs[0].read_bytes()))
    for value in ("张小明", "课后辅导分数的加减法", "2020年10月15日"):
        assert value in text


def test_stored_text_keeps_a_broken_title_whole(arc_env: tuple[Path, str], tmp_path: Path) -> None:
    # the printed title is broken into even lines; the stored, indexed text keeps it searchable as one
    form = _yaml(tmp_path, "通知.yaml", sample("leading-group-notice"))
    code, out = run("generate", "leading-group-notice", str(form))
    assert code == 0, out
    with _open(*arc_env) as arc:
        (doc,) = arc.list_documents(kind="leading-group-notice")
        title = sample("leading-group-notice")["标题"]
        assert title in (arc.document_text(doc.id) or "")
        assert title not in docx_text(arc.read_document(doc.id)).replace("\n\n", "")  # printed in lines


def test_generate_never_overwrites_a_file_in_the_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    form = _yaml(tmp_path, "帮扶.yaml", sample("care-record"))
    assert run("generate", "care-record", str(form), "--no-archive", "--out", "输出")[0] == 0
    (first,) = (tmp_path / "输出").iterdir()
    first.write_bytes(b"edited in WPS")  # the secretary's own edits
    code, out = run("generate", "care-record", str(form), "--no-archive", "--out", "输出")
    assert code == 0, out
    assert first.read_bytes() == b"edited in WPS"
    second = first.with_name(first.stem + "-2.docx")
    assert second.is_file() and second.name in out and "李红梅" in docx_text(second.read_bytes())
