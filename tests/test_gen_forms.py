"""Forms in: JSON/YAML/CSV/Excel/prompt; templates out; Chinese validation errors with locations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from gen_helpers import docx_text, sample
from openpyxl import Workbook, load_workbook

from guanai.base.errors import InputError
from guanai.generators.forms import FormError
from guanai.generators.formsio import form_template_bytes, prompt_form, read_forms, write_form_template
from guanai.generators.generate import generate_batch
from guanai.generators.kinds import KINDS
from guanai.generators.render import validate


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("fmt", ["xlsx", "json", "yaml"])
def test_form_templates_are_accepted_as_they_are(tmp_path: Path, kind: str, fmt: str) -> None:
    path = tmp_path / f"form.{fmt}"
    write_form_template(kind, fmt, path)  # type: ignore[arg-type]
    res = generate_batch(None, kind, [path], store=False, out_dir=tmp_path / "out")
    assert res.failed == [] and len(res.ok) == 1
    text = docx_text(res.ok[0].out_path.read_bytes())  # type: ignore[union-attr]
    first_values = [v for v in sample(kind).values() if isinstance(v, str)][:3]
    for v in first_values:
        assert v in text.replace("\u3000", "") or v in text.replace("\n", "")  # 陈　光; a title in lines


def test_excel_template_has_chinese_headers_dropdowns_and_example(tmp_path: Path) -> None:
    path = tmp_path / "家访.xlsx"
    write_form_template("home-visit", "xlsx", path)
    wb = load_workbook(path)
    ws = wb["表单"]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["学校", "儿童姓名", "学籍号"]
    assert ws.cell(row=2, column=2).value == "张小明"
    lists = {dv.formula1 for dv in ws.data_validations.dataValidation}
    assert '"上门,电话,视频"' in lists and '"是,否"' in lists
    assert "说明" in wb.sheetnames


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_enumeration_has_a_dropdown_holding_the_example(tmp_path: Path, kind: str) -> None:
    # each field with fixed values (one, or several like 督查方式) gets a list; the example row obeys it
    from guanai.generators.formsio import field_specs

    path = tmp_path / "台账.xlsx"
    write_form_template(kind, "xlsx", path)
    ws = load_workbook(path)["表单"]
    headers = [c.value for c in ws[1]]
    lists = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    for spec in field_specs(KINDS[kind].model):
        if not (spec.choices or spec.kind == "bool"):
            continue
        col = headers.index(spec.alias) + 1
        letter = ws.cell(row=1, column=col).column_letter
        dv = lists.get(f"{letter}2")
        assert dv is not None and dv.type == "list" and dv.showErrorMessage, (kind, spec.alias)
        allowed = dv.formula1.strip('"').split(",")
        assert len(dv.formula1) <= 255
        example = ws.cell(row=2, column=col).value
        assert example is None or str(example) in allowed, (kind, spec.alias, example, allowed)


def _excel(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "表单"
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_excel_errors_name_file_row_column_field_reason(tmp_path: Path) -> None:
    head = ["学校", "儿童姓名", "帮扶方面", "日期", "帮扶人", "帮扶内容"]
    path = _excel(tmp_path / "台账.xlsx", [
        head,
        ["萧县实验小学", "甲", "学业辅导", "2020-10-01", "李老师", "辅导数学"],
        ["萧县实验小学", "乙", "学习辅导", "2020-13-01", "李老师", "辅导语文"],
        ["萧县实验小学", "丙", "心理疏导", "2020-10-03", "", "谈心"],
    ])
    res = generate_batch(None, "care-record", [path], store=False, out_dir=tmp_path / "out")
    assert [g.label for g in res.ok] == ["台账.xlsx 第2行"]
    bad = {f.label: f.message for f in res.failed}
    assert set(bad) == {"台账.xlsx 第3行", "台账.xlsx 第4行"}
    assert "第C列“帮扶方面”" in bad["台账.xlsx 第3行"] and "心理疏导、学业辅导" in bad["台账.xlsx 第3行"]
    assert "第D列“日期”" in bad["台账.xlsx 第3行"] and "不存在" in bad["台账.xlsx 第3行"]
    assert "第E列“帮扶人”" in bad["台账.xlsx 第4行"] and "必须填写" in bad["台账.xlsx 第4行"]


def test_csv_in_gbk_and_subtable_cells(tmp_path: Path) -> None:
    path = tmp_path / "卡.csv"
    text = ("学校,姓名,性别,帮扶教师,建档日期,跟踪记录\n"
            '萧县实验小学,李四,男,王老师,2020-09-01,"2020-09-24|心理疏导|谈心一次|王老师\n2020-10-01|学业辅导|补课"\n')
    path.write_bytes(text.encode("gb18030"))
    rows = read_forms(path)
    model = validate("child-card", rows[0].data, source=rows[0].source, row=rows[0].row)
    assert [f.area for f in model.followups] == ["心理疏导", "学业辅导"]  # type: ignore[attr-defined]
    assert model.followups[1].recorder == ""  # type: ignore[attr-defined]


def test_json_list_reports_the_bad_form_by_number(tmp_path: Path) -> None:
    good = sample("care-record")
    bad = good | {"帮扶方面": "其他"}
    path = tmp_path / "f.json"
    path.write_text(json.dumps([good, bad], ensure_ascii=False, default=str), encoding="utf-8")
    res = generate_batch(None, "care-record", [path], store=False, out_dir=tmp_path / "o")
    assert len(res.ok) == 1 and res.failed[0].label == "f.json 第2行" and "帮扶方面" in res.failed[0].message


@pytest.mark.parametrize("content,needle", [
    ("{not json", "JSON 格式错误"),
    ("[1, 2]", "不是“字段: 值”"),
])
def test_broken_json(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=needle):
        read_forms(path)


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("a.json", '{"学校": "x"\n"儿童姓名": "y"}', "缺少逗号"),
    ("b.json", '{"学校": "x",}', "双引号"),
    ("c.json", '{"学校": "x', "引号没有闭合"),
    ("d.yaml", "学校: 萧县: 实验小学\n", "冒号"),
    ("e.yaml", "学校:\n\t- x\n", "制表符"),
    ("f.yaml", "学校: [1,\n b", "格式"),
])
def test_syntax_errors_are_explained_in_chinese(tmp_path: Path, name: str, content: str, reason: str) -> None:
    import re

    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_forms(path)
    message = info.value.message.removeprefix(name)
    assert reason in message and re.search(r"第\d+行第\d+列", message), message
    assert not re.search(r"[A-Za-z]{3,}", message.replace("JSON", "").replace("YAML", "")), message


def test_missing_or_unreadable_form_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="文件不存在") as info:
        read_forms(tmp_path / "没有.yaml")
    assert "No such" not in info.value.message
    (tmp_path / "目录.json").mkdir()
    with pytest.raises(InputError, match="目录"):
        read_forms(tmp_path / "目录.json")
    res = generate_batch(None, "care-record", [tmp_path / "没有.yaml"], store=False)
    assert res.failed[0].label == "没有.yaml" and not res.failed[0].message.startswith("没有.yaml")


def test_broken_yaml_and_unknown_extension(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text("a: [1,\n b", encoding="utf-8")
    with pytest.raises(InputError, match="YAML 格式错误"):
        read_forms(p)
    q = tmp_path / "x.xls"
    q.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match="另存为 .xlsx"):
        read_forms(q)
    r = tmp_path / "x.xlsx"
    r.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="不是有效的 Excel"):
        read_forms(r)


def test_unknown_field_is_named() -> None:
    with pytest.raises(FormError, match="“帮扶内荣”：不是此种文书的字段"):
        validate("care-record", sample("care-record") | {"帮扶内荣": "x"})


@pytest.mark.parametrize("number,needle", [
    ("教体基〔2020〕09号", "格式不正确"),
    ("教体基[2020]9号", "格式不正确"),
    ("教体基〔2020〕第9号", "不应含“第”"),
])
def test_doc_number_rules(number: str, needle: str) -> None:
    with pytest.raises(FormError, match=needle):
        validate("circular", sample("circular") | {"发文字号": number})


def test_dropout_report_follows_the_policy() -> None:
    form = sample("dropout-report")
    # the first persuasion on the 15th, so that it follows every 未到校起始日期 tried below
    form["劝返记录"] = [dict(form["劝返记录"][0], 日期="2020-10-15"), *form["劝返记录"][1:]]
    with pytest.raises(FormError, match="须满一周"):
        validate("dropout-report", form | {"未到校起始日期": "2020-10-15"})
    # the 7th day counts (as in care.rules.dropout_actions): 14th..20th October is 7 days
    validate("dropout-report", form | {"未到校起始日期": "2020-10-14"})
    with pytest.raises(FormError, match="两次劝返"):
        validate("dropout-report", form | {"劝返记录": form["劝返记录"][:1]})


def test_home_visit_village_informed_needs_who_and_when() -> None:
    form = sample("home-visit")
    del form["告知对象"]
    with pytest.raises(FormError, match="告知对象"):
        validate("home-visit", form)


def test_persuasion_deadline_after_issue() -> None:
    with pytest.raises(FormError, match="返校期限"):
        validate("persuasion-notice", sample("persuasion-notice") | {"返校期限": "2020-10-01"})


def test_prompt_form_collects_a_valid_form() -> None:
    answers = iter(["萧县实验小学", "张三", "", "三年级", "1班", "行为养成", "2020年11月2日", "王老师",
                    "制定作息表", "按时起床", ""])
    data = prompt_form("care-record", lambda label, required: next(answers), lambda s: None)
    model = validate("care-record", data)
    assert model.title() == "帮扶记录（张三，行为养成，2020年11月2日）"


def test_prompt_form_asks_again_after_a_bad_answer() -> None:
    # a wrong choice or an impossible date is asked again at once, not reported after the last field
    answers = iter(["萧县实验小学", "张三", "", "三年级", "1班", "数学", "行为养成", "2020-02-30", "2020-11-02",
                    "王老师", "制定作息表", "", ""])
    said: list[str] = []
    data = prompt_form("care-record", lambda label, required: next(answers), said.append)
    assert data["帮扶方面"] == "行为养成" and data["日期"] == "2020-11-02"
    assert any("“数学”无效" in s and "行为养成" in s for s in said)
    assert any("“2020-02-30”无效" in s for s in said)
    validate("care-record", data)


def test_yaml_template_is_the_sample() -> None:
    data = yaml.safe_load(form_template_bytes("leading-group-notice", "yaml"))
    assert data["发文字号"] == "教体基〔2020〕9号"
