"""What the card states must come from the data: a roster without a 身体状况 column gives 未登记 on
the card, never 健康 (absence of data is not a claim)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import docx
import pytest
from cli_helpers import open_archive, run

from guanai.care.model import parse_child
from guanai.care.synth import example_record
from guanai.generators.generate import generate_batch

DAY = dt.date(2026, 10, 8)


def health_cell(data: bytes) -> str:
    """The text of the cell right of the card's 身体状况 label."""
    d = docx.Document(io.BytesIO(data))
    for t in d.tables:
        for row in t.rows:
            cells = row.cells
            for i, c in enumerate(cells[:-1]):
                if c.text.strip() == "身体状况":
                    return str(cells[i + 1].text).strip()
    raise AssertionError("no 身体状况 cell on the card")


def roster_csv(path: Path, health: str | None) -> Path:
    rec = example_record()
    headers = ["姓名", "性别", "身份证号", "学籍号", "学校", "年级", "班级", "父亲状况", "母亲状况"]
    row = [rec.name, "男", rec.id_number or "", rec.student_id, rec.school, rec.grade, "2班", "外出务工", "外出务工"]
    if health is not None:
        headers.append("身体状况")
        row.append(health)
    path.write_text(",".join(headers) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("health", "expected"), [(None, "未登记"), ("", "未登记"), ("不详", "未登记"),
                                                  ("健康", "健康"), ("良好", "健康")])
def test_roster_health_column_reaches_the_card_as_stated(tmp_path: Path, arc_env: tuple[Path, str],
                                                         health: str | None, expected: str) -> None:
    code, out = run("child", "import", str(roster_csv(tmp_path / "花名册.csv", health)))
    assert code == 0, out
    with open_archive(*arc_env, write=True) as arc:
        entry = arc.list_children()[0]
        assert entry.record.health.state == expected
        res = generate_batch(arc, "child-card", [{"帮扶教师": "王丽"}], child_ref=entry.id, today=DAY)
        assert not res.failed, [f.message for f in res.failed]
        doc_id = res.ok[-1].doc_id
        assert doc_id is not None
        assert health_cell(arc.read_document(doc_id, audit=False)) == expected
        assert arc.document_form(doc_id)["身体状况"] == expected


def test_unknown_health_with_details_is_refused() -> None:
    from guanai.care.model import RecordError

    data: dict[str, Any] = example_record().to_json_dict()
    data["身体状况"] = {"残疾类别": "肢体"}
    with pytest.raises(RecordError) as exc:
        parse_child(data, "测试.json")
    assert "须填写身体状况" in str(exc.value.messages)
