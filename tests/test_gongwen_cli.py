"""CLI around the 公文: the archive's 发文机关标志 setting and lint's page checks switch."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import docx
import pytest
import yaml
from click.testing import CliRunner

from guanai.cli.main import cli
from tests.gen_helpers import sample


def _form(tmp_path: Path, **changes: Any) -> Path:
    form = {k: v for k, v in sample("circular").items() if k != "发文机关标志"} | changes
    path = tmp_path / "通报.yaml"
    path.write_text(yaml.safe_dump(form, allow_unicode=True), encoding="utf-8")
    return path


def _first_paragraphs(path: Path) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(path.read_bytes())).paragraphs if p.text.strip()][:3]


def test_template_mark_sets_the_org_mark(make_archive, cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, pw = make_archive()
    cli_env(path, pw)
    runner = CliRunner()
    res = runner.invoke(cli, ["template", "mark", "萧县教育体育局文件"])
    assert res.exit_code == 0 and "已设定发文机关标志：萧县教育体育局文件" in res.output
    out = tmp_path / "out"
    res = runner.invoke(cli, ["generate", "circular", str(_form(tmp_path)), "--out", str(out)])
    assert res.exit_code == 0, res.output
    [made] = list(out.glob("*.docx"))
    assert _first_paragraphs(made)[0] == "萧县教育体育局文件"
    # a form's own mark wins
    out2 = tmp_path / "out2"
    res = runner.invoke(cli, ["generate", "circular", str(_form(tmp_path, 发文机关标志="萧县教体局文件")), "--out", str(out2)])
    assert res.exit_code == 0 and _first_paragraphs(next(out2.glob("*.docx")))[0] == "萧县教体局文件"
    # cleared: "<发文机关>文件"
    assert runner.invoke(cli, ["template", "mark", "--clear"]).exit_code == 0
    out3 = tmp_path / "out3"
    assert runner.invoke(cli, ["generate", "circular", str(_form(tmp_path)), "--out", str(out3)]).exit_code == 0
    assert _first_paragraphs(next(out3.glob("*.docx")))[0] == sample("circular")["发文机关"] + "文件"


def test_template_mark_refuses_bad_input(make_archive, cli_env) -> None:  # type: ignore[no-untyped-def]
    path, pw = make_archive()
    cli_env(path, pw)
    res = CliRunner().invoke(cli, ["template", "mark"])
    assert res.exit_code == 2 and "发文机关标志" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["template", "mark", "文"])
    assert res.exit_code == 2 and "长度" in res.output


def test_help_has_examples() -> None:
    for cmd in (["template", "mark"], ["lint"]):
        out = CliRunner().invoke(cli, [*cmd, "--help"]).output
        assert "示例：" in out
    assert "--no-pdf" in CliRunner().invoke(cli, ["lint", "--help"]).output


def test_dropout_report_carries_the_childs_two_notices(make_archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """附件: the child's 劝返复学通知书 (with their 回执) in the archive go with the report, each on a new
    page headed 附件1/附件2, named in the 附件说明; a form that names its own 附件 keeps them."""
    from guanai.archive.store import Archive
    from guanai.care.synth import synth_children
    from guanai.generators.generate import generate_batch
    from guanai.generators.text import docx_text

    path, pw = make_archive()
    rec = synth_children(1, seed=3)[0]
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        cid = arc.add_child(rec)
        who = {"儿童姓名": rec.name, "学籍号": rec.student_id}
        for n, day in ((1, "2020-10-12"), (2, "2020-10-17")):
            notice = sample("persuasion-notice") | who | {"劝返次数": n, "发出日期": day, "返校期限": "2020-10-30"}
            assert generate_batch(arc, "persuasion-notice", [notice]).ok
        res = generate_batch(arc, "dropout-report", [{k: v for k, v in sample("dropout-report").items() if k != "附件"}
                                                     | who])
        assert res.ok, res.failed
        text = docx_text(arc.read_document(res.ok[0].doc_id or ""))
    assert "附件：1．劝返复学通知书（第一次，2020年10月12日）及回执" in text
    assert "2．劝返复学通知书（第二次，2020年10月17日）及回执" in text
    assert "附件1" in text and "附件2" in text and text.count("回\u3000执") == 2
    assert text.index("附件1") > text.index(sample("dropout-report")["发文机关"] + "\n")  # after the 署名
    assert text.index("附件2") < text.rindex("印发")  # before the 版记
    assert cid


@pytest.mark.pdf
def test_generate_pdf_and_sign(tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """guanai generate … --pdf --sign: the stored and written PDF carries the school's signature."""

    from transfer_helpers import PASS_A, build_scenario

    from guanai.archive.store import Archive
    from guanai.archive.transfer.directory import held_directory
    from guanai.generators.sign import verify_pdf

    s = build_scenario(tmp_path / "s")
    env = {"GUANAI_ARCHIVE": str(s.a), "GUANAI_PASSPHRASE": PASS_A, "GUANAI_USER": "admin"}
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["generate", "circular", str(_form(tmp_path)), "--pdf", "--sign", "--out", str(out)],
                             env=env)
    assert res.exit_code == 0, res.output
    [pdf] = list(out.glob("*.pdf"))
    with Archive.open(s.b, user="admin", passphrase="乙校口令-bravo 2026") as arc:
        directory = held_directory(arc)
    [report] = verify_pdf(pdf.read_bytes(), directory)
    assert report.ok and report.school_code == "3413220001"
    res = CliRunner().invoke(cli, ["generate", "circular", str(_form(tmp_path)), "--sign"], env=env)
    assert res.exit_code == 2 and "--pdf" in res.output
