"""A synthetic school for the workflow tests: four children with known categories."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from guanai.care.ids import make_id_number
from guanai.care.model import ChildRecord
from guanai.care.synth import example_dict

AREA = "341322"


def child(name: str, birth: date, seq: int, *, father: str = "外出务工", mother: str = "外出务工",
          hardship: list[str] | None = None, carer: bool = True, mentor: str | None = None,
          grade: str = "五年级", class_name: str = "2班") -> ChildRecord:
    d: dict[str, Any] = copy.deepcopy(example_dict())
    number = make_id_number(AREA, birth, seq)
    d.update({"姓名": name, "身份证号": number, "学籍号": "G" + number, "出生日期": birth.isoformat(),
              "年级": grade, "班级": class_name, "困境情形": hardship or [], "帮扶教师": mentor,
              "帮扶教师电话": None, "备注": None,
              # no 学籍 statements, no village date, no filing date: the tests decide these
              "学籍留守登记": None, "学籍孤儿登记": None, "村(居)委会告知日期": None, "建档日期": None})
    d["性别"] = "男" if seq % 2 else "女"
    d["父亲"]["状况"] = father
    d["母亲"]["状况"] = mother
    if father != "外出务工":
        d["父亲"].pop("务工地", None)
    if mother != "外出务工":
        d["母亲"].pop("务工地", None)
    if not carer:
        d["委托照护人"] = None
    # the example record also carries what a 学籍系统 export states (双亲留守) and a village
    # committee already informed: the synthetic school states neither, its categories follow
    # the parents and hardships given here
    for key in ("学籍留守登记", "学籍孤儿登记", "村(居)委会告知日期"):
        d.pop(key, None)
    return ChildRecord.model_validate(d)


def school() -> dict[str, ChildRecord]:
    """A: 留守 + 困境 (低保); B: 留守, no 委托照护人; C: 困境 (孤儿); D: parents back home."""
    return {
        "A": child("张小明", date(2014, 3, 5), 21, hardship=["低保家庭"]),
        "B": child("李小红", date(2012, 5, 10), 32, carer=False, grade="六年级", class_name="1班"),
        "C": child("王小刚", date(2012, 7, 1), 43, father="去世", mother="去世", carer=False),
        "D": child("赵小芳", date(2013, 1, 9), 54, father="在家", mother="在家", carer=False),
    }


def home_visit(on: date, *, village: bool) -> dict[str, Any]:
    form: dict[str, Any] = {"家访日期": on, "家访形式": "上门", "家访教师": ["王丽"],
                            "会见人员": [{"姓名": "张德明", "关系": "祖父"}], "家庭情况": "祖父照料，生活正常。"}
    if village:
        form.update({"已告知村（居）委会": True, "告知对象": "东王庄村委会", "告知日期": on})
    return form
