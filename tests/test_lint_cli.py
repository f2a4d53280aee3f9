"""guanai lint through click's CliRunner: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from lint_helpers import build_gongwen

from guanai.cli.main import cli


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_help_is_chinese_with_example() -> None:
    result = CliRunner().invoke(cli, ["lint", "--help"])
    assert result.exit_code == 0
    assert "GB/T 9704-2012" in result.output
    assert "示例：" in result.output and "guanai lint" in result.output
    assert "--json" in result.output


def test_correct_file_exits_zero(tmp_path: Path) -> None:
    good = _write(tmp_path, "通知.docx", build_gongwen())
    result = CliRunner().invoke(cli, ["lint", good])
    assert result.exit_code == 0, result.output
    assert "通知.docx：符合 GB/T 9704-2012" in result.output


def test_violations_are_listed_and_exit_one(tmp_path: Path) -> None:
    bad = _write(tmp_path, "坏.docx", build_gongwen(doc_number="萧教体〔2020〕第9号", even_odd=False, title_size=18))
    result = CliRunner().invoke(cli, ["lint", bad])
    assert result.exit_code == 1, result.output
    assert "3 项不符合" in result.output
    for text in ("要素", "应为", "实为", "发文字号", "序号前不加“第”", "页码（奇偶页）", "标题字号", "小2号（18磅）"):
        assert text in result.output


def test_json_output(tmp_path: Path) -> None:
    good = _write(tmp_path, "a.docx", build_gongwen())
    bad = _write(tmp_path, "b.docx", build_gongwen(date="2020年04月20日"))
    result = CliRunner().invoke(cli, ["lint", good, bad, "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert [d["ok"] for d in data] == [True, False]
    (v,) = data[1]["problems"]
    assert v["code"] == "lint.date" and v["what"].startswith("成文日期：") and "虚位" in v["what"] and v["hint"]
    assert set(v) == {"where", "what", "hint", "code"}


def test_unreadable_and_missing_files_are_reported_not_fatal(tmp_path: Path) -> None:
    good = _write(tmp_path, "a.docx", build_gongwen())
    junk = _write(tmp_path, "junk.docx", b"not a zip at all")
    result = CliRunner().invoke(cli, ["lint", junk, str(tmp_path / "nope.docx"), good])
    assert result.exit_code == 2
    assert "a.docx：符合" in result.output  # the good file after the bad ones is still checked
    assert "错误：" in result.output and "不是 ZIP" in result.output
    assert "找不到文件" in result.output
    assert "Traceback" not in result.output


def test_json_with_unreadable_file(tmp_path: Path) -> None:
    junk = _write(tmp_path, "junk.docx", b"PK\x03\x04broken")
    result = CliRunner().invoke(cli, ["lint", "--json", junk])
    assert result.exit_code == 2
    data = json.loads(result.stdout if hasattr(result, "stdout") else result.output)
    assert data[0]["ok"] is False and "ZIP" in data[0]["error"]["message"]


def test_directory_argument_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["lint", str(tmp_path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_generated_forms_are_named_not_checked_and_a_relabelled_form_is_checked(tmp_path: Path) -> None:
    # `guanai lint 输出/*.docx` over a generate output: forms are said to be no 公文, 公文 are checked
    from gen_helpers import sample
    from lint_helpers import part, rezip

    from guanai.generators.render import render

    form = render("home-visit", sample("home-visit"))
    notice = render("circular", sample("circular"))
    paths = [_write(tmp_path, "家访记录表.docx", form), _write(tmp_path, "通报.docx", notice)]
    result = CliRunner().invoke(cli, ["lint", *paths])
    assert result.exit_code == 0, result.output
    assert "家访记录表.docx：本系统生成的表格类文书（非公文）" in result.output and "未检查" in result.output
    assert "通报.docx：符合 GB/T 9704-2012" in result.output and "上边距" not in result.output
    payload = json.loads(CliRunner().invoke(cli, ["lint", "--json", *paths]).output)
    assert "skipped" in payload[0] and "skipped" not in payload[1]
    # the category is the only switch: without it the same form is checked like any .docx
    core = part(form, "docProps/core.xml").replace("表格类文书（非公文）".encode(), b"")
    relabelled = _write(tmp_path, "无类别.docx", rezip(form, replace_parts={"docProps/core.xml": core}))
    result = CliRunner().invoke(cli, ["lint", relabelled])
    assert result.exit_code == 1 and "上边距（天头）" in result.output
