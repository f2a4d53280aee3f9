"""`guanai child ...` through CliRunner: exit codes and output, nothing stored half."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from click.testing import CliRunner, Result

from guanai.archive.store import Archive
from guanai.care.ids import parse_student_id
from guanai.care.roster import COLUMNS, record_to_row, roster_xlsx_bytes
from guanai.care.synth import example_dict, example_record, synth_children
from guanai.cli.main import cli

HEADERS = [h for h, _ in COLUMNS]
EX = example_dict()
SID = EX["学籍号"]


@pytest.fixture
def arc(make_archive: Callable[..., tuple[Path, str]], cli_env: Callable[[Path, str], None]) -> tuple[Path, str]:
    path, pw = make_archive()
    cli_env(path, pw)
    return path, pw


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def children(arc: tuple[Path, str]) -> list[Any]:
    with Archive.open(arc[0], user="admin", passphrase=arc[1]) as a:
        return a.list_children()


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_add_show_json_and_yaml(arc: tuple[Path, str], tmp_path: Path) -> None:
    r = run("child", "add", str(write_json(tmp_path / "a.json", EX)))
    assert r.exit_code == 0, r.output
    assert f"已添加：张小明（学籍号 {SID}" in r.output
    r = run("child", "show", SID, "--json")
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert shown["record"] == example_record().to_json_dict()
    assert shown["status"] == "在册"
    assert [c["category"] for c in shown["categories"]] == ["留守儿童", "困境儿童"]
    r = run("child", "show", EX["身份证号"])
    assert r.exit_code == 0
    assert "姓名：张小明" in r.output and "  务工地：上海" in r.output and "留守儿童：父母均外出务工（上海、杭州）" in r.output
    # YAML, second child
    other = synth_children(1, seed=77)[0].to_json_dict()
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(other, allow_unicode=True), encoding="utf-8")
    r = run("child", "add", str(tmp_path / "b.yaml"), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["student_id"] == other["学籍号"]
    assert sorted(e.record.name for e in children(arc)) == sorted(["张小明", other["姓名"]])


def test_add_duplicate_refused(arc: tuple[Path, str], tmp_path: Path) -> None:
    f = write_json(tmp_path / "a.json", EX)
    assert run("child", "add", str(f)).exit_code == 0
    r = run("child", "add", str(f))
    assert r.exit_code == 11
    assert f"学籍号 {SID} 已在档案库中" in r.output
    assert len(children(arc)) == 1


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("bad.json", '{"姓名": "张三",', "不是有效的 JSON"),
    ("bad.yaml", "姓名: [", "不是有效的 YAML"),
    ("bad.json", json.dumps({**EX, "父亲": {"状况": "出差"}, "姓名": "a\x1bb"}, ensure_ascii=False),
     "父亲.状况：取值“出差”无效"),
    ("big.json", json.dumps({**EX, "备注": "记" * (10 * 1024 * 1024)}, ensure_ascii=False), "过大"),
    ("types.json", json.dumps({**EX, "是否寄宿": {"a": 1}, "班级": [1]}, ensure_ascii=False), "是否寄宿"),
])
def test_bad_add_stores_nothing(arc: tuple[Path, str], tmp_path: Path, name: str, content: str, expected: str) -> None:
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    r = run("child", "add", str(f))
    assert r.exit_code == 2, r.output
    assert expected in r.output and "错误：" in r.output
    assert "Traceback" not in r.output
    assert children(arc) == []


def test_list_with_one_bad_record_stores_none(arc: tuple[Path, str], tmp_path: Path) -> None:
    good = synth_children(2, seed=5)
    data = [good[0].to_json_dict(), {**good[1].to_json_dict(), "学籍号": "G000"}]
    r = run("child", "add", str(write_json(tmp_path / "two.json", data)))
    assert r.exit_code == 2
    assert "第2条：学籍号" in r.output
    assert children(arc) == []


def _roster(tmp_path: Path) -> tuple[Path, list[Any]]:
    recs = synth_children(10, seed=31)
    wb = openpyxl.load_workbook(io.BytesIO(roster_xlsx_bytes(recs)))
    ws = wb["花名册"]
    ws.cell(row=4, column=HEADERS.index("身份证号") + 1, value="341322201001010000")
    ws.cell(row=7, column=HEADERS.index("学籍号") + 1, value="X123")
    path = tmp_path / "花名册.xlsx"
    wb.save(path)
    return path, recs


def test_import_reports_bad_rows_keeps_good_ones(arc: tuple[Path, str], tmp_path: Path) -> None:
    path, recs = _roster(tmp_path)
    r = run("child", "import", str(path))
    assert r.exit_code == 2, r.output
    assert "第4行：身份证号" in r.output
    assert "第7行：学籍号：应以 G、J 或 L 开头" in r.output
    assert "已导入 8 行，2 行有错误未导入" in r.output
    assert "有 2 行未通过检查" in r.output
    stored = sorted(e.record.student_id for e in children(arc))
    assert stored == sorted(rec.student_id for i, rec in enumerate(recs) if i not in (2, 5))
    # importing again: every row is now a duplicate, nothing changes
    r = run("child", "import", str(path), "--json")
    assert r.exit_code == 2
    report = json.loads(r.stdout)
    assert report["imported"] == 0 and len(report["problems"]) == 10
    assert any("学籍号已在档案库中" in e["what"] for e in report["problems"])
    assert {e["code"] for e in report["problems"]} == {"roster.row"}
    assert len(children(arc)) == 8


def test_import_check_only_and_clean_roster(arc: tuple[Path, str], tmp_path: Path) -> None:
    recs = synth_children(6, seed=40)
    path = tmp_path / "ok.xlsx"
    path.write_bytes(roster_xlsx_bytes(recs, example=example_record()))
    r = run("child", "import", str(path), "--check")
    assert r.exit_code == 0, r.output
    assert "6 行可导入" in r.output and "跳过模板示例行 1 行" in r.output
    assert children(arc) == []
    r = run("child", "import", str(path))
    assert r.exit_code == 0, r.output
    assert "已导入 6 行，0 行有错误" in r.output
    assert sorted(e.record.name for e in children(arc)) == sorted(x.name for x in recs)


def test_import_csv_gb18030(arc: tuple[Path, str], tmp_path: Path) -> None:
    from guanai.care.roster import roster_csv_bytes

    recs = synth_children(3, seed=41)
    path = tmp_path / "r.csv"
    path.write_bytes(roster_csv_bytes(recs).decode("utf-8-sig").encode("gb18030"))
    r = run("child", "import", str(path))
    assert r.exit_code == 0, r.output
    assert len(children(arc)) == 3


def test_import_xueji_export_without_school_column(arc: tuple[Path, str], tmp_path: Path) -> None:
    recs = synth_children(2, seed=42)
    lines = ["全国学籍号,姓名,性别,身份证件号,所在年级,班级"]
    lines += [f"{r.student_id},{r.name},{r.gender},{r.id_number or ''},{r.grade},{r.class_name or ''}" for r in recs]
    path = tmp_path / "学籍导出.csv"
    path.write_bytes("\r\n".join(lines).encode("gb18030"))
    r = run("child", "import", str(path))
    assert r.exit_code == 0, r.output
    assert "注意：花名册没有以下列" in r.stderr and "父亲状况" in r.stderr and "无法判定留守儿童" in r.stderr
    with Archive.open(arc[0], user="admin", passphrase=arc[1]) as a:
        school = a.info.school_name
        stored = {e.record.student_id: e.record for e in a.list_children()}
    assert sorted(stored) == sorted(x.student_id for x in recs)
    assert {x.school for x in stored.values()} == {school}
    r = run("child", "import", str(path), "--json", "--check")
    assert "父亲状况" in json.loads(r.stdout)["missing_columns"]


@pytest.mark.parametrize("command", [("child", "add"), ("child", "import")])
def test_missing_file_or_directory_in_chinese(arc: tuple[Path, str], tmp_path: Path, command: tuple[str, ...]) -> None:
    r = run(*command, str(tmp_path / "没有这个文件.xlsx"))
    assert r.exit_code == 2 and "文件不存在" in r.output and "Error" not in r.output
    r = run(*command, str(tmp_path))
    assert r.exit_code == 2 and "这是文件夹，不是文件" in r.output and "Error" not in r.output


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("x.xlsx", b"garbage", "不是有效的 Excel"),
    ("x.xls", b"\xd0\xcf\x11\xe0", "旧版 .xls"),
    ("x.csv", "姓名,学籍号\n".encode(), "表头缺少必备列：年级"),
])
def test_import_malformed(arc: tuple[Path, str], tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    (tmp_path / name).write_bytes(content)
    r = run("child", "import", str(tmp_path / name))
    assert r.exit_code == 2
    assert expected in r.output and "Traceback" not in r.output
    assert children(arc) == []


def test_template_outputs(tmp_path: Path) -> None:
    r = run("child", "template", "--json")
    assert r.exit_code == 0
    assert json.loads(r.output) == example_record().to_json_dict()
    r = run("child", "template", "--yaml", "-o", str(tmp_path / "t.yaml"))
    assert r.exit_code == 0 and "已写入模板" in r.output
    text = (tmp_path / "t.yaml").read_text(encoding="utf-8")
    assert "# 困境情形可多项：孤儿、事实无人抚养" in text
    assert yaml.safe_load(text) == example_record().to_json_dict()
    r = run("child", "template", "--xlsx", "-o", str(tmp_path / "t.xlsx"))
    assert r.exit_code == 0
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert [c.value for c in wb["花名册"][1]] == HEADERS
    assert run("child", "template", "--xlsx").exit_code == 2
    r = run("child", "template")
    assert r.exit_code == 2 and "请选择模板格式" in r.output


def _add(arc: tuple[Path, str], n: int = 1, seed: int = 50) -> list[str]:
    with Archive.open(arc[0], user="admin", passphrase=arc[1], write=True) as a:
        return [a.add_child(rec) for rec in synth_children(n, seed=seed)]


def test_reminders_shown(arc: tuple[Path, str], tmp_path: Path) -> None:
    data = {k: v for k, v in EX.items() if k not in ("帮扶教师", "帮扶教师电话", "委托照护人")}
    run("child", "add", str(write_json(tmp_path / "a.json", data)))
    r = run("child", "show", SID)
    assert "提醒：未指定帮扶教师" in r.output and "提醒：父母外出务工，未登记委托照护人" in r.output
    out = json.loads(run("child", "classify", SID, "--json").output)
    assert len(out["reminders"]) == 2


def test_list_and_filters(arc: tuple[Path, str]) -> None:
    ids = _add(arc, 16, seed=1)
    r = run("child", "list")
    assert r.exit_code == 0
    assert "共 16 名。" in r.output and "编号" in r.output and ids[0][:8] in r.output
    rows = json.loads(run("child", "list", "--json").output)
    assert len(rows) == 16 and {"id", "name", "student_id", "status", "categories"} <= set(rows[0])
    from guanai.archive.resolve import grade_rank

    ranks = [grade_rank(r["grade"]) for r in rows]
    assert ranks == sorted(ranks)  # by grade (then class and name) unless --sort says otherwise
    names = [r["name"] for r in json.loads(run("child", "list", "--sort", "name", "--json").output)]
    assert names == sorted(names)
    left = json.loads(run("child", "list", "--category", "留守儿童", "--json").output)
    assert left and all("留守儿童" in x["categories"] for x in left)
    assert len(left) < 16
    assert "没有符合条件的儿童" in run("child", "list", "--status", "毕业").output


def test_classify_on_date(arc: tuple[Path, str], tmp_path: Path) -> None:
    run("child", "add", str(write_json(tmp_path / "a.json", EX)))
    r = run("child", "classify", SID, "--on", "2024-09-01")
    assert r.exit_code == 0, r.output
    assert "留守儿童" in r.output and "- 父母均外出务工（上海、杭州）" in r.output
    assert "- 未满16周岁（2024-09-01 时 10 周岁）" in r.output
    assert "提醒" not in r.output  # the example has mentor, entrusted carer and village committee
    # the child (born 2014-03-05) is 16 from 2030-03-06 on: no longer 留守, still 困境 (低保家庭)
    out = json.loads(run("child", "classify", SID, "--on", "2030-03-06", "--json").output)
    assert [c["category"] for c in out["categories"]] == ["困境儿童"]
    r = run("child", "classify", SID, "--on", "2024-02-30")
    assert r.exit_code == 2 and "日期“2024-02-30”无效" in r.output
    r = run("child", "classify", "G999")
    assert r.exit_code == 3 and "找不到儿童" in r.output


def test_update_partial_and_rederive(arc: tuple[Path, str], tmp_path: Path) -> None:
    run("child", "add", str(write_json(tmp_path / "a.json", EX)))
    (tmp_path / "p.yaml").write_text("父亲:\n  状况: 在家\n  务工地: null\n母亲:\n  状况: 在家\n  务工地: null\n"
                                     "委托照护人: null\n学籍留守登记: 非留守儿童\n", encoding="utf-8")
    r = run("child", "update", SID, str(tmp_path / "p.yaml"))
    assert r.exit_code == 0, r.output
    shown = json.loads(run("child", "show", SID, "--json").output)
    assert shown["record"]["父亲"]["状况"] == "在家" and "务工地" not in shown["record"]["父亲"]
    assert "委托照护人" not in shown["record"]
    assert shown["reminders"] == []  # no longer 留守: no entrusted carer needed
    assert shown["record"]["父亲"]["姓名"] == "张建国"  # untouched fields kept
    assert [c["category"] for c in shown["categories"]] == ["困境儿童"]
    # a bad update changes nothing
    (tmp_path / "bad.yaml").write_text("母亲:\n  电话: '12'\n", encoding="utf-8")
    r = run("child", "update", SID, str(tmp_path / "bad.yaml"))
    assert r.exit_code == 2 and "母亲.电话" in r.output
    assert json.loads(run("child", "show", SID, "--json").output)["record"] == shown["record"]
    (tmp_path / "st.yaml").write_text("状态: 毕业\n", encoding="utf-8")
    r = run("child", "update", SID, str(tmp_path / "st.yaml"))
    assert r.exit_code == 2 and "状态不能用 update 修改" in r.output
    # English field names, as child add accepts them, change the field (not "unknown field")
    (tmp_path / "en.json").write_text('{"class_name": "5班", "mother": {"state": "外出务工"}}', encoding="utf-8")
    r = run("child", "update", SID, str(tmp_path / "en.json"), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["student_id"] == SID and out["record"]["班级"] == "5班"
    record = json.loads(run("child", "show", SID, "--json").output)["record"]
    assert record["班级"] == "5班" and record["母亲"]["状况"] == "外出务工" and record["母亲"]["姓名"]
    (tmp_path / "st2.json").write_text('{"status": "毕业"}', encoding="utf-8")
    assert "状态不能用 update 修改" in run("child", "update", SID, str(tmp_path / "st2.json")).output


def test_close_refuses_edits_reopen_allows(arc: tuple[Path, str], tmp_path: Path) -> None:
    run("child", "add", str(write_json(tmp_path / "a.json", EX)))
    r = run("child", "close", SID, "--reason", "父母返乡")
    assert r.exit_code == 0, r.output
    assert "状态 存档备查" in r.output
    assert json.loads(run("child", "show", SID, "--json").output)["status"] == "存档备查"
    (tmp_path / "p.yaml").write_text("班级: 3班\n", encoding="utf-8")
    r = run("child", "update", SID, str(tmp_path / "p.yaml"))
    assert r.exit_code == 11
    assert "档案状态为“存档备查”，只读，不能修改" in r.output and "child reopen" in r.output
    r = run("child", "close", SID, "--reason", "再次")
    assert r.exit_code == 11 and "只有“在册”的档案可以结案" in r.output
    assert "存档备查" in run("child", "list", "--status", "存档备查").output  # kept and listed
    r = run("child", "reopen", SID, "--reason", "父母再次外出务工", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"id": children(arc)[0].id, "name": "张小明", "student_id": SID,
                                    "previous_status": "存档备查", "status": "在册", "reason": "父母再次外出务工"}
    assert run("child", "update", SID, str(tmp_path / "p.yaml")).exit_code == 0
    assert json.loads(run("child", "show", SID, "--json").output)["record"]["班级"] == "3班"
    r = run("child", "reopen", SID, "--reason", "x")
    assert r.exit_code == 11 and "已是“在册”" in r.output
    # the status changes are audited with their reasons
    r = run("audit", "show", "--json")
    assert r.exit_code == 0, r.output
    changes = [(e["detail"]["from"], e["detail"]["to"], e["detail"]["reason"])
               for e in json.loads(r.stdout) if e["action"] == "child.status"]
    assert changes == [("在册", "存档备查", "父母返乡"), ("存档备查", "在册", "父母再次外出务工")]


@pytest.mark.parametrize("reason", ["", "   ", "a\x00b", "长" * 501, "父母\u202e返乡", "父母\n返乡"])
def test_bad_reasons(arc: tuple[Path, str], reason: str) -> None:
    ids = _add(arc)
    r = run("child", "close", ids[0], "--reason", reason)
    assert r.exit_code == 2, r.output
    assert children(arc)[0].status == "在册"


def test_graduate_many_all_or_nothing(arc: tuple[Path, str]) -> None:
    ids = _add(arc, 4, seed=60)
    r = run("child", "graduate", ids[0], "no-such-child", ids[1])
    assert r.exit_code == 3
    assert [e.status for e in children(arc)] == ["在册"] * 4
    r = run("child", "graduate", ids[0], ids[1], "--json")
    assert r.exit_code == 0, r.output
    assert [(x["id"], x["status"]) for x in json.loads(r.stdout)] == [(ids[0], "毕业"), (ids[1], "毕业")]
    status = {e.id: e.status for e in children(arc)}
    assert status[ids[0]] == status[ids[1]] == "毕业" and status[ids[2]] == "在册"
    r = run("child", "graduate", ids[0])
    assert r.exit_code == 11 and "不能办理毕业" in r.output
    r = run("child", "reopen", ids[0], "--reason", "复读")
    assert r.exit_code == 0


def test_graduate_by_grade(arc: tuple[Path, str]) -> None:
    _add(arc, 12, seed=61)
    recs = children(arc)
    grade = recs[0].record.grade
    expected = sum(1 for e in recs if e.record.grade == grade)
    r = run("child", "graduate", "--grade", grade, input="n\n")  # answered no: nothing changes
    assert r.exit_code == 2 and "已取消，没有修改任何档案" in r.output and "Aborted" not in r.output
    assert all(e.status == "在册" for e in children(arc))
    r = run("child", "graduate", "--grade", grade, "--yes")
    assert r.exit_code == 0, r.output
    assert f"共 {expected} 名" in r.output
    assert sum(1 for e in children(arc) if e.status == "毕业") == expected
    r = run("child", "graduate", "--grade", "十二年级", "--yes")
    assert r.exit_code == 2 and "没有“十二年级”的在册儿童" in r.output
    assert run("child", "graduate").exit_code == 2


def test_inspector_cannot_add(arc: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Archive.open(arc[0], user="admin", passphrase=arc[1], write=True) as a:
        a.add_user("督查员", "inspector", arc[1])
    monkeypatch.setenv("GUANAI_USER", "督查员")
    r = run("child", "add", str(write_json(tmp_path / "a.json", EX)))
    assert r.exit_code == 5, r.output
    assert children(arc) == []


def test_help_in_chinese_with_examples() -> None:
    from guanai.cli.child import child

    for name in child.commands:
        r = run("child", name, "--help")
        assert r.exit_code == 0
        assert "示例：" in r.output and "guanai child" in r.output, name
        for sid in re.findall(r"[GJ]\d{17}[\dX]", r.output):
            assert parse_student_id(sid).number == sid, (name, sid)  # examples are copied: keep them valid
    assert "儿童档案" in run("child", "--help").output


def test_roster_row_helper_matches_headers() -> None:
    assert len(record_to_row(example_record())) == len(HEADERS)
