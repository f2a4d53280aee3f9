"""The workflow commands through click's CliRunner: exit codes, output, --json, bad input."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result
from workflow_helpers import school

from guanai.archive.store import Archive
from guanai.cli.main import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def ids(make_archive: Callable[..., tuple[Path, str]], cli_env: Callable[[Path, str], None]) -> dict[str, str]:
    path, pw = make_archive()
    cli_env(path, pw)
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        return {k: arc.add_child(r) for k, r in school().items()}


def test_help_is_chinese_with_examples() -> None:
    for cmd in (["due"], ["stats"], ["screening", "start"], ["absence", "report"], ["mentor", "assign"],
                ["contact", "add"], ["duty", "add"], ["settings", "set"], ["ledger"]):
        r = run(*cmd, "--help")
        assert r.exit_code == 0 and "示例" in r.output, cmd


def test_a_term_through_the_cli(ids: dict[str, str], tmp_path: Path) -> None:
    r = run("settings", "set", "--psych-teacher", "陈静", "--contact", "王丽", "--contact-phone", "0557-5011234",
            "--doc-prefix", "龙小", "--township", "龙城镇人民政府", "--police", "龙城派出所")
    assert r.exit_code == 0 and "心理健康辅导教师：陈静" in r.output
    r = run("screening", "start", "--term-start", "2026-09-01")
    assert r.exit_code == 0 and "2026-09-07 前完成" in r.output
    r = run("screening", "status", "--as-of", "2026-09-02", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["days_left"] == 5 and len(json.loads(r.output)["not_screened"]) == 4
    r = run("screening", "mark", "--all", "--date", "2026-09-02")
    assert r.exit_code == 0 and "已标记 4 名" in r.output
    # D's parents are back: closing only proposes until confirmed
    r = run("screening", "close", "--date", "2026-09-03")
    assert r.exit_code == 0 and "建议存档备查：赵小芳" in r.output and "尚未结束" in r.output
    r = run("screening", "close", "--apply", "--date", "2026-09-03", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["archived"] == [ids["D"]]

    r = run("due", "--as-of", "2026-09-10", "--json")
    assert r.exit_code == 0
    items = json.loads(r.output)["obligations"]
    assert {(i["rule"], i["child_name"], i["overdue_days"]) for i in items if i["rule"] == "home-visit"} == {
        ("home-visit", "张小明", 2), ("home-visit", "李小红", 2), ("home-visit", "王小刚", 2)}
    assert all(i["command"].startswith("guanai ") for i in items)
    r = run("due", "--as-of", "2026-09-10", "--child", ids["B"], "--overdue", "--json")
    mine = json.loads(r.output)["obligations"]
    assert mine and {i["child_name"] for i in mine} == {"李小红"} and all(i["overdue_days"] == 2 for i in mine)
    r = run("due", "--as-of", "2026-09-10", "--xlsx", str(tmp_path / "待办.xlsx"))
    assert r.exit_code == 0 and "逾期" in r.output
    ws = openpyxl.load_workbook(tmp_path / "待办.xlsx")["待办"]
    assert ws.freeze_panes == "A2" and ws.max_row == len(items) + 1

    assert run("mentor", "add", "王丽", "--phone", "13705570001").exit_code == 0
    r = run("mentor", "assign", ids["A"], "--date", "2026-09-10")
    assert r.exit_code != 0 and "没有给出帮扶教师" in r.output
    r = run("mentor", "assign", ids["A"], ids["B"], ids["C"], "王丽", "--date", "2026-09-10")  # as the issue writes it
    assert r.exit_code == 0 and "已把 3 名" in r.output
    r = run("mentor", "list", "--as-of", "2026-09-10", "--json")
    assert json.loads(r.output)["without_mentor"] == [] and json.loads(r.output)["teachers"][0]["count"] == 3
    r = run("stats", "--as-of", "2026-09-10", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["mentor_rate"] == 1.0
    r = run("stats", "--as-of", "2026-09-10", "--by", "grade")
    assert r.exit_code == 0 and "结对帮扶率：100.0%" in r.output and "六年级" in r.output

    r = run("contact", "add", ids["A"], "--with", "外出父母", "--how", "视频", "--date", "2026-09-28")
    assert r.exit_code == 0
    assert run("duty", "add", "家长会", "--date", "2026-09-20").exit_code == 0

    # 控辍保学 for B: listings show the state; the report is refused before day 7
    assert run("absence", "open", ids["B"], "--since", "2026-10-08").exit_code == 0
    r = run("child", "list", "--json")
    assert {c["name"]: c["absence"] for c in json.loads(r.output)}["李小红"] == "旷课中"
    r = run("absence", "persuade", ids["B"], "--date", "2026-10-08", "--by", "王丽", "--result", "未返校")
    assert r.exit_code == 0 and "劝返复学通知书（李小红，第1次）" in r.output and "第二次劝返" in r.output
    r = run("absence", "report", ids["B"], "--date", "2026-10-09")
    assert r.exit_code != 0 and "须满一周" in r.output and "Traceback" not in r.output
    assert run("absence", "persuade", ids["B"], "--date", "2026-10-12", "--by", "王丽", "--result", "未返校").exit_code == 0
    assert run("settings", "set", "--signer", "李明").exit_code == 0
    r = run("absence", "report", ids["B"], "--date", "2026-10-14", "--reason", "厌学", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["state"] == "辍学"
    # the report goes up to the township: its 签发人 comes from the setting
    reports = [d for d in json.loads(run("doc", "list", "--json").output) if d["kind"] == "dropout-report"]
    code_text = run("show", reports[0]["id"])
    assert "签发人" in code_text.output and "李明" in code_text.output, code_text.output
    r = run("child", "list")
    assert "在册·辍学" in r.output
    assert run("absence", "close", ids["B"], "--returned", "2026-10-20").exit_code == 0
    r = run("absence", "list", "--all", "--json")
    assert [c["state"] for c in json.loads(r.output)] == ["已复学"]

    r = run("ledger", "-o", str(tmp_path / "台账.xlsx"), "--as-of", "2026-10-31")
    assert r.exit_code == 0
    wb = openpyxl.load_workbook(tmp_path / "台账.xlsx")
    assert wb.sheetnames == ["儿童台账", "家访记录", "控辍保学", "帮扶教师", "结对记录", "家校联系", "学期工作"]
    assert all(wb[s].freeze_panes == "A2" for s in wb.sheetnames)
    assert wb["控辍保学"]["F2"].value.count("未返校") == 2
    r = run("ledger", "-o", str(tmp_path / "台账.xlsx"))
    assert r.exit_code != 0 and "--force" in r.output


def test_bad_input_is_a_clear_message(ids: dict[str, str], tmp_path: Path) -> None:
    cases = [
        (["due", "--as-of", "明天"], "日期格式不正确"),
        (["screening", "start", "--term-start", "2026-06-01"], "3 月和 9 月"),
        (["screening", "status"], "还没有开始过排查"),
        (["screening", "mark", ids["A"]], "没有进行中的排查"),
        (["absence", "persuade", ids["A"], "--by", "王丽", "--result", "未返校"], "没有进行中的控辍保学案件"),
        (["absence", "open", "G000", "--since", "2026-10-08"], "找不到儿童"),
        (["mentor", "assign", ids["A"], "--teacher", "无名"], "未登记"),
        (["settings", "set", "--home-visit-days", "0"], "家访期限"),
        (["contact", "add", ids["A"], "--with", "外出父母", "--agreed", "a\x07b"], "控制字符"),
        (["due", "--xlsx", str(tmp_path / "x.txt")], ".xlsx"),
        (["stats", "--by", "town"], "town"),
    ]
    for args, needle in cases:
        r = run(*args)
        assert r.exit_code != 0, args
        assert needle in r.output, (args, r.output)
        assert "Traceback" not in r.output
    # a persuasion before the school's contact is set: refused, nothing recorded
    run("absence", "open", ids["A"], "--since", "2026-10-08")
    r = run("absence", "persuade", ids["A"], "--date", "2026-10-08", "--by", "王丽", "--result", "未返校")
    assert r.exit_code != 0 and "guanai settings set --contact" in r.output
    assert json.loads(run("absence", "list", "--json").output)[0]["persuasions"] == []


def test_formula_text_stays_text_in_the_ledger(ids: dict[str, str], tmp_path: Path) -> None:
    run("contact", "add", ids["A"], "--with", "外出父母", "--agreed", '=HYPERLINK("http://x","点我")')
    assert run("ledger", "-o", str(tmp_path / "t.xlsx")).exit_code == 0
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in sheets


def test_from_stats_report_has_the_figures_and_a_chart(ids: dict[str, str], tmp_path: Path) -> None:
    from docx import Document

    run("settings", "set", "--doc-prefix", "龙小", "--county-org", "萧县教育体育局")
    run("mentor", "add", "王丽")
    run("mentor", "assign", ids["A"], "--teacher", "王丽")
    # an upward report needs its 签发人 (GB/T 9704 7.2.5): refused until one is known, nothing stored
    r = run("generate", "supervision-report", "--from-stats", "--as-of", "2026-09-10", "--out", str(tmp_path))
    assert r.exit_code != 0 and "须标注签发人" in r.output and "settings set --signer" in r.output
    assert json.loads(run("doc", "list", "--json").output) == []
    assert run("settings", "set", "--signer", "李明").exit_code == 0
    r = run("generate", "supervision-report", "--from-stats", "--as-of", "2026-09-10", "--out", str(tmp_path),
            "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)["generated"][0]
    doc = Document(out["path"])
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "建档留守儿童困境儿童" in text and "图1" in text
    assert "龙小〔2026〕1号" in text and "签发人：李明" in text.replace("\u3000", "")
    r = run("lint", out["path"], "--no-pdf", "--json")
    assert "签发人" not in r.output, r.output
    assert r.exit_code == 0, r.output
    # --signer beats the setting
    r = run("generate", "supervision-report", "--from-stats", "--as-of", "2026-09-10", "--signer", "赵刚",
            "--out", str(tmp_path / "b"), "--json")
    assert r.exit_code == 0, r.output
    doc = Document(json.loads(r.output)["generated"][0]["path"])
    assert "签发人：赵刚" in "\n".join(p.text for p in doc.paragraphs).replace("\u3000", "")
    assert run("generate", "circular", "x.yaml", "--signer", "李明").exit_code != 0
    rows = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert rows[1] == ["萧县龙城镇中心小学", "4", "3", "1", "0"]  # 在册, 建档 (D not), 结对, 家访
    with zipfile.ZipFile(out["path"]) as z:
        pngs = [n for n in z.namelist() if n.startswith("word/media/") and n.endswith(".png")]
        assert pngs and z.read(pngs[0])[:8] == b"\x89PNG\r\n\x1a\n"
        img = z.read(pngs[0])
    from PIL import Image

    assert Image.open(io.BytesIO(img)).size[0] > 800
    r = run("generate", "circular", "--from-stats", "--as-of", "2026-09-10", "--out", str(tmp_path))
    assert r.exit_code == 0 and "龙小〔2026〕2号" not in r.output  # numbering reads the archive
    r = run("generate", "home-visit", "--from-stats")
    assert r.exit_code != 0 and "只用于督查报告" in r.output


def test_roster_import_and_update_during_a_round_mark_children_screened(ids: dict[str, str], tmp_path: Path) -> None:
    from workflow_helpers import child

    from guanai.care.roster import roster_xlsx_bytes

    assert run("screening", "start", "--term-start", "2026-09-01").exit_code == 0
    patch = tmp_path / "改动.yaml"
    patch.write_text("父亲: {状况: 在家}\n", encoding="utf-8")
    assert run("child", "update", ids["A"], str(patch)).exit_code == 0
    roster = tmp_path / "花名册.xlsx"
    roster.write_bytes(roster_xlsx_bytes([child("孙小雨", date(2015, 4, 2), 65)]))
    r = run("child", "import", str(roster))
    assert r.exit_code == 0, r.output
    st = json.loads(run("screening", "status", "--json").output)
    assert sorted(c["name"] for c in st["screened"]) == ["孙小雨", "张小明"]
    assert len(st["not_screened"]) == 3


def test_a_refused_notice_leaves_nothing_behind(ids: dict[str, str]) -> None:
    run("settings", "set", "--contact", "王丽", "--contact-phone", "0557-5011234")
    run("absence", "open", ids["A"], "--since", "2026-10-08")
    # the return-by date before the issue date is refused by the form: no document, no persuasion
    r = run("absence", "persuade", ids["A"], "--date", "2026-10-08", "--by", "王丽", "--result", "未返校",
            "--return-by", "2026-10-07")
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert json.loads(run("absence", "list", "--json").output)[0]["persuasions"] == []
    assert json.loads(run("doc", "list", "--json").output) == []
    # a notice that renders but whose persuasion is refused (dated before the previous one): rolled back
    assert run("absence", "persuade", ids["A"], "--date", "2026-10-10", "--by", "王丽", "--result", "未返校").exit_code == 0
    r = run("absence", "persuade", ids["A"], "--date", "2026-10-09", "--by", "王丽", "--result", "未返校")
    assert r.exit_code != 0 and "早于上一次劝返" in r.output
    assert len(json.loads(run("absence", "list", "--json").output)[0]["persuasions"]) == 1
    assert len(json.loads(run("doc", "list", "--json").output)) == 1


def test_from_stats_chart_in_a_schools_own_template(ids: dict[str, str], tmp_path: Path) -> None:
    """The chart is an InlineImage: a school's own template (rendered in the isolated worker) places
    it where it writes {{ chart }}."""
    import shutil

    from guanai.generators.render import bundled_template_dir

    own = tmp_path / "模板"
    own.mkdir()
    shutil.copy(bundled_template_dir() / "supervision-report.docx", own / "supervision-report.docx")
    run("settings", "set", "--doc-prefix", "龙小", "--signer", "李明")
    r = run("generate", "supervision-report", "--from-stats", "--as-of", "2026-09-10", "--templates", str(own),
            "--out", str(tmp_path / "out"), "--json")
    assert r.exit_code == 0, r.output
    path = json.loads(r.output)["generated"][0]["path"]
    with zipfile.ZipFile(path) as z:
        pngs = [n for n in z.namelist() if n.startswith("word/media/") and n.endswith(".png")]
        xml = z.read("word/document.xml").decode("utf-8")
    assert pngs and 'descr="图1' in xml and "{{" not in xml


@pytest.mark.pdf
def test_from_stats_chart_is_in_the_pdf(ids: dict[str, str], tmp_path: Path) -> None:
    from pypdf import PdfReader

    run("settings", "set", "--doc-prefix", "龙小")
    r = run("generate", "circular", "--from-stats", "--as-of", "2026-09-10", "--pdf", "--out", str(tmp_path), "--json")
    assert r.exit_code == 0, r.output
    pdf = json.loads(r.output)["generated"][0]["pdf_path"]
    reader = PdfReader(pdf)
    images = [img for page in reader.pages for img in page.images]
    assert images, "the bar chart is missing from the PDF"
    text = "".join(page.extract_text() for page in reader.pages).replace(" ", "")
    assert "图1" in text and "主要指标" in text


def test_a_child_without_guardian_needs_one_on_the_notice(ids: dict[str, str], tmp_path: Path) -> None:
    run("settings", "set", "--contact", "王丽", "--contact-phone", "0557-5011234")
    patch = tmp_path / "p.yaml"
    patch.write_text("监护人: null\n", encoding="utf-8")
    assert run("child", "update", ids["B"], str(patch)).exit_code == 0
    run("absence", "open", ids["B"], "--since", "2026-10-08")
    r = run("absence", "persuade", ids["B"], "--date", "2026-10-08", "--by", "王丽", "--result", "未返校")
    assert r.exit_code != 0 and "没有监护人" in r.output and "--guardian" in r.output
    r = run("absence", "persuade", ids["B"], "--date", "2026-10-08", "--by", "王丽", "--result", "未返校",
            "--guardian", "李德明")
    assert r.exit_code == 0, r.output


def test_the_signer_setting_fills_any_upward_report(ids: dict[str, str], tmp_path: Path) -> None:
    """`settings set --signer` is the 签发人 of every upward 公文 whose form names none (a plain
    `generate dropout-report` too, not only --from-stats and absence reports); the form's own wins."""
    from docx import Document

    form = tmp_path / "报告.yaml"
    assert run("form", "template", "dropout-report", "-o", str(form)).exit_code == 0
    text = form.read_text(encoding="utf-8")
    form.write_text("\n".join(ln for ln in text.splitlines() if not ln.startswith("签发人")), encoding="utf-8")
    run("settings", "set", "--signer", "李明")
    r = run("generate", "dropout-report", str(form), "--out", str(tmp_path / "a"), "--json")
    assert r.exit_code == 0, r.output
    doc = Document(json.loads(r.output)["generated"][0]["path"])
    assert "签发人：李明" in "\n".join(p.text for p in doc.paragraphs).replace("\u3000", "")
    form.write_text(text, encoding="utf-8")  # the sample names its own 签发人 (周建国)
    r = run("generate", "dropout-report", str(form), "--out", str(tmp_path / "b"), "--json")
    doc = Document(json.loads(r.output)["generated"][0]["path"])
    flat = "\n".join(p.text for p in doc.paragraphs).replace("\u3000", "")
    assert "签发人：周建国" in flat and "李明" not in flat
