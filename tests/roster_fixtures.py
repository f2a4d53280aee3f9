"""Hand-made 台账 as schools keep them, built here (the 学籍系统 export is care.synth.xueji_export).

Each builder returns the file's bytes, its name and what every child should become:
{学籍号: {"姓名", "类别", ...}}.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import Workbook

from guanai.care.ids import XIAO_COUNTY, make_id_number

SCHOOL = "萧县龙城镇中心小学"
FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

# (姓名, 性别, birth, 年级, 班级, 父亲 (姓名, 状况, 务工地), 母亲 (…), 监护人及关系, 困境情况, expected categories)
PUPILS: list[tuple[Any, ...]] = [
    ("赵小雨", "女", date(2016, 4, 12), "四年级", "2班", ("赵建国", "外出务工", "上海"), ("钱秀英", "外出务工", "杭州"),
     "赵守义（祖父）", "", ["留守儿童"]),
    ("孙浩然", "男", date(2015, 7, 3), "五年级", "1班", ("孙立新", "外出务工", "苏州"), ("李红梅", "重病", ""),
     "孙德明(祖父)", "", ["留守儿童"]),
    ("周欣怡", "女", date(2017, 1, 25), "三年级", "3班", ("周海军", "去世", ""), ("吴凤霞", "去世", ""),
     "周长青（伯父）", "孤儿", ["困境儿童"]),
    ("吴子轩", "男", date(2014, 11, 8), "六年级", "1班", ("吴永军", "在家", ""), ("郑玉梅", "在家", ""),
     "吴永军（父亲）", "低保", ["困境儿童"]),
    ("郑梓涵", "女", date(2018, 3, 30), "二年级", "2班", ("郑卫东", "外出务工", "深圳"), ("王丽娟", "外出务工", "深圳"),
     "王桂兰 外祖母", "建档立卡贫困户", ["留守儿童", "困境儿童"]),
    ("王俊杰", "男", date(2016, 9, 14), "四年级", "1班", ("王富贵", "服刑", ""), ("冯春花", "失踪", ""),
     "王宝山（祖父）", "", ["困境儿童"]),
    ("冯雨婷", "女", date(2015, 5, 5), "五年级", "2班", ("冯广明", "在家", ""), ("陈翠萍", "外出务工", "南京"),
     "冯广明（父亲）", "", []),
    ("陈博文", "男", date(2017, 12, 1), "三年级", "1班", ("陈继平", "外出务工", "宁波"), ("褚美玲", "外出务工", "宁波"),
     "陈庆丰（祖父）", "", ["留守儿童"]),
    ("褚思琪", "女", date(2019, 2, 17), "一年级", "1班", ("褚振华", "外出务工", "北京"), ("卫彩云", "强制隔离戒毒", ""),
     "褚志刚（伯父）", "", ["留守儿童"]),
    ("卫嘉乐", "男", date(2014, 6, 21), "六年级", "2班", ("卫国强", "在家", ""), ("蒋淑芬", "在家", ""),
     "卫国强（父亲）", "", []),
]


def _ids(i: int, pupil: tuple[Any, ...]) -> tuple[str, str]:
    number = make_id_number(XIAO_COUNTY, pupil[2], 100 + 2 * i + (1 if pupil[1] == "男" else 0))
    return number, "G" + number


def expected() -> dict[str, dict[str, Any]]:
    return {_ids(i, p)[1]: {"姓名": p[0], "类别": p[9]} for i, p in enumerate(PUPILS)}


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def grouped_merged_xlsx() -> tuple[bytes, str]:
    """Title and 填报单位 rows, a two-row header with merged cells (父亲情况 / 母亲情况 over
    姓名·状况·务工地点), a 序号 column, 监护人及关系 and a bare 联系电话, an extra 爱好 column,
    a 合计 row and a signature row."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "台账"
    ws.append([f"{SCHOOL}2026年秋季学期留守儿童困境儿童台账"])
    ws.merge_cells("A1:R1")
    ws.append([f"填报单位：{SCHOOL}（盖章）        填报日期：2026年9月5日"])
    ws.merge_cells("A2:R2")
    top = ["序号", "姓名", "性别", "身份证号码", "学籍号", "年级", "班级", "家庭住址", "父亲情况", None, None,
           "母亲情况", None, None, "监护人及关系", "联系电话", "帮扶教师", "困境情况", "爱好"]
    sub = [None] * 8 + ["姓名", "状况", "务工地点", "姓名", "状况", "务工地点"] + [None] * 5
    ws.append(top)
    ws.append(sub)
    for col in "ABCDEFGHOPQRS":
        ws.merge_cells(f"{col}3:{col}4")
    ws.merge_cells("I3:K3")
    ws.merge_cells("L3:N3")
    for i, p in enumerate(PUPILS):
        number, sid = _ids(i, p)
        f, m = p[5], p[6]
        ws.append([i + 1, p[0], p[1], number.translate(FULL) if i == 3 else number, sid, p[3], p[4],
                   f"萧县龙城镇东王庄村{i + 1}号", f[0], f[1], f[2] or None, m[0], m[1], m[2] or None, p[7],
                   13905570000 + i, "李红梅", p[8] or None, "画画" if i % 2 else "跑步"])
    ws.append(["合计", f"{len(PUPILS)}人"])
    ws.append(["填表人：李红梅", None, None, "审核人：王强", None, None, "校长签字："])
    return _save(wb), "留守儿童台账.xlsx"


def group_row_above_xlsx() -> tuple[bytes, str]:
    """A group row above the header without merge information (labels followed by blank cells):
    学生基本信息 / 家庭情况 / 监护人 (姓名, 与儿童关系, 联系电话) / 帮扶措施（一策）; 需求评估, 建档日期;
    an extra 身高 column; 审核人 below."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["龙城镇中心小学 一人一卡一策 台账（2026年秋）"])
    groups = ["学生基本信息", None, None, None, None, "家庭情况", None, "监护人", None, None,
              "帮扶措施（一策）", None, None, None, None, None, None, None]
    heads = ["姓名", "学籍号", "年级", "班级", "身高(cm)", "父亲状况", "母亲状况", "姓名", "与儿童关系", "联系电话",
             "心理疏导", "学业辅导", "生活资助", "安全监管", "行为养成", "需求评估", "建档日期", "帮扶教师"]
    ws.append(groups)
    ws.append(heads)
    for i, p in enumerate(PUPILS[:6]):
        _, sid = _ids(i, p)
        name, rel = p[7].replace("(", "（").replace(")", "）").rstrip("）").replace(" ", "（").split("（")
        f_state = p[5][1] + (f"（{p[5][2]}）" if p[5][2] else "")
        m_state = p[6][1] + (f"（{p[6][2]}）" if p[6][2] else "")
        ws.append([p[0], sid, p[3], p[4], 130 + i, f_state, m_state, name, rel, str(13905570000 + i),
                   "每两周谈心一次", "课后辅导数学", "落实生活补助", "放学电话确认到家", "建立作业记录本",
                   "想念父母，数学较弱", date(2026, 9, 8), "李红梅"])
    ws.append(["审核人：王强", None, "填报日期：2026.9.8"])
    return _save(wb), "一人一卡一策台账.xlsx"


def title_csv() -> tuple[bytes, str]:
    """A GB18030 CSV with a title row, header synonyms (公民身份号码, 全国学籍号, 户口所在地, 结对帮扶教师,
    困境类型, 父亲情况 as "外出务工（上海）"), an extra 家长微信 column, 合计 and 校长签字 rows."""
    lines = [f"{SCHOOL}留守儿童花名册,,,,,,,,,,,,,",
             "序号,学生姓名,性别,公民身份号码,全国学籍号,所在年级,班别,户口所在地,现住址,父亲情况,母亲情况,监护人,"
             "监护人联系电话,结对帮扶教师,困境类型,家长微信"]
    for i, p in enumerate(PUPILS[6:], start=6):
        number, sid = _ids(i, p)
        f = p[5][1] + (f"（{p[5][2]}）" if p[5][2] else "")
        m = p[6][1] + (f"（{p[6][2]}）" if p[6][2] else "")
        guardian = p[7].split("（")[0].split("(")[0].split(" ")[0]
        lines.append(f"{i - 5},{p[0]},{p[1]},{number},{sid},{p[3]},{p[4]},萧县龙城镇,东王庄村,{f},{m},{guardian},"
                     f"1390557{i:04d},李红梅,{p[8]},wx{i}")
    lines += [f"合计：{len(PUPILS) - 6}人,,,,,,,,,,,,,,,", "校长签字：,,,,,,,,,,,,,,,"]
    return ("\r\n".join(lines) + "\r\n").encode("gb18030"), "花名册.csv"
