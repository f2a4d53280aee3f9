"""Synthetic but realistic children of 萧县 (demo, tests, benchmarks). Deterministic by seed.

Every generated record passes validation: valid GB 11643 check digits with the 341322 area
code, 学籍号 in G/J/L form, 萧县 townships and plausible villages. The first records cycle
through fixed scenarios so that every category and every 困境 condition appears in any sample
of at least ``len(SCENARIOS)`` children.
"""

from __future__ import annotations

import bisect
import functools
import gc
import io
import itertools
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from guanai.care.ids import XIAO_COUNTY, XIAO_TOWNSHIPS, make_id_number
from guanai.care.model import Carer, ChildRecord, Health, Parent

M = TypeVar("M", bound=BaseModel)

# A fixed reference date keeps the output independent of the day it runs.
REFERENCE = date(2025, 9, 1)

SURNAMES = (
    "张王李刘陈杨赵黄周吴徐孙朱马胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶贺顾毛郝龚邵"
    "万钱严武戴孔汤"
)
_SURNAME_CUM = list(itertools.accumulate(max(1, 40 - i // 2) for i in range(len(SURNAMES))))
GIVEN_BOY = "子浩宇轩俊杰涛明强磊伟鹏辉博文翔鑫凯晨阳旭东浩然泽睿志远航天佳豪嘉乐成斌"
GIVEN_GIRL = "梓涵欣怡雨婷思琪佳慧静雪梦瑶晓雯诗悦可馨一诺紫萱欣妍若曦丽娜晶莹露月彤丹"
GIVEN_ADULT_M = "建国振华志刚德明国强永军卫东红兵立新海军富贵长青宝山庆丰广明继平"
GIVEN_ADULT_F = "秀英桂兰玉梅凤霞丽娟红梅春花翠萍美玲秀珍彩云淑芬小燕金凤"
VILLAGE_SUFFIX = "庄楼集圩营寨湖套庙桥店场园口岗窑湾屯"
VILLAGE_PREFIX = ("", "前", "后", "东", "西", "大", "小", "南", "北")
CITIES = ("上海", "杭州", "苏州", "南京", "宁波", "深圳", "广州", "东莞", "北京", "合肥", "徐州", "无锡",
          "常州", "温州", "昆山", "天津")
ASSISTANCE = ("营养改善计划", "寄宿生生活费补助", "免费教科书", "临时救助", "助学金", "结对帮扶")
INCOME = ("务工收入", "务农收入", "低保金", "个体经营", "亲属资助", "养殖收入")
GRADES = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级")
ILLNESSES = ("白血病", "先天性心脏病", "肾病综合征", "再生障碍性贫血", "癫痫")

# Scenarios: (father state, mother state, hardship list, health, age override)
SCENARIOS: tuple[tuple[str, str, tuple[str, ...], str, int | None], ...] = (
    ("外出务工", "外出务工", (), "健康", None),            # 留守
    ("外出务工", "重病", (), "健康", None),                # 留守: other parent no capacity
    ("重残", "外出务工", (), "健康", None),                # 留守: other parent no capacity
    ("去世", "去世", ("孤儿",), "健康", None),             # 困境: 孤儿
    ("服刑", "失踪", ("事实无人抚养",), "健康", None),     # 困境: 事实无人抚养
    ("在家", "在家", ("艾滋病病毒感染",), "健康", None),
    ("在家", "在家", ("重残",), "残疾", None),
    ("在家", "在家", ("重病",), "患病", None),
    ("在家", "外出务工", ("低保家庭",), "健康", None),
    ("外出务工", "外出务工", ("建档立卡贫困户",), "健康", None),  # 留守 + 困境
    ("在家", "在家", ("受监护人侵害",), "健康", None),
    ("外出务工", "在家", ("流浪",), "健康", None),
    ("在家", "在家", ("遭遇突发事件",), "健康", None),
    ("在家", "在家", ("意外伤害",), "健康", None),
    ("在家", "在家", (), "健康", None),                    # neither (e.g. parents returned)
    ("外出务工", "外出务工", (), "健康", 17),              # parents away but 16+: not 留守
)


_SURNAME_TOTAL = _SURNAME_CUM[-1]
# GB 11643 weights and check characters (see care.ids; the sequence digits weigh 8, 4, 2).
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class _Gen:
    def __init__(self, seed: int) -> None:
        # Plain random.Random: other tests depend on the exact records a seed gives; keep the stream.
        self.rng = random.Random(seed)
        self.used_ids: set[str] = set()
        self.used_sids: set[str] = set()
        self.prefixes: dict[date, tuple[str, int]] = {}
        self.villages = {t: self._villages_for(i) for i, t in enumerate(XIAO_TOWNSHIPS)}

    def _villages_for(self, index: int) -> list[str]:
        rng = random.Random(10_000 + index)  # stable per township, independent of the seed
        out: list[str] = []
        while len(out) < 12:
            v = rng.choice(VILLAGE_PREFIX) + rng.choice(SURNAMES[:60]) + rng.choice(VILLAGE_SUFFIX) + "村"
            if v not in out:
                out.append(v)
        return out

    def surname(self) -> str:
        return SURNAMES[bisect.bisect(_SURNAME_CUM, self.rng.random() * _SURNAME_TOTAL)]

    def given(self, pool: str) -> str:
        rng = self.rng
        n = 1 if rng.random() < 0.25 else 2
        return rng.choice(pool) if n == 1 else rng.choice(pool) + rng.choice(pool)

    def id_number(self, birth: date, male: bool) -> str:
        prefix = self.prefixes.get(birth)
        if prefix is None:
            # area + birth date and their weighted sum, computed once per date (hot path)
            text = f"{XIAO_COUNTY}{birth.year:04d}{birth.month:02d}{birth.day:02d}"
            prefix = self.prefixes[birth] = (text, sum(int(c) * w for c, w in zip(text, _WEIGHTS, strict=False)))
        text, partial = prefix
        while True:
            seq = self.rng.randrange(0, 1000)
            if (seq % 2 == 1) != male:
                seq = (seq + 1) % 1000
            total = partial + (seq // 100) * 8 + (seq // 10 % 10) * 4 + (seq % 10) * 2
            number = f"{text}{seq:03d}{_CHECK[total % 11]}"
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def phone(self) -> str:
        return self.rng.choice(("13", "15", "18", "17", "19")) + f"{self.rng.randrange(0, 10**9):09d}"

    def adult_birth(self, child_birth: date) -> date:
        return child_birth - timedelta(days=self.rng.randrange(20 * 365, 38 * 365))

    def parent(self, surname: str, male: bool, state: str, child_birth: date) -> dict[str, Any]:
        pool = GIVEN_ADULT_M if male else GIVEN_ADULT_F
        name = (surname if male else self.surname()) + self.given(pool)
        p: dict[str, Any] = {"姓名": name, "状况": state}
        if self.rng.random() < 0.85:
            p["身份证号"] = self.id_number(self.adult_birth(child_birth), male)
        if state in ("在家", "外出务工", "重病", "重残") and self.rng.random() < 0.9:
            p["电话"] = self.phone()
        if state == "外出务工":
            p["务工地"] = self.rng.choice(CITIES)
        return p

    def child(self, index: int) -> dict[str, Any]:
        rng = self.rng
        if index < len(SCENARIOS):
            f_state, m_state, hardship, health, age = SCENARIOS[index]
        else:
            roll = rng.random()
            age = None
            hardship = ()
            health = "健康"
            if roll < 0.45:
                f_state, m_state = "外出务工", "外出务工"
            elif roll < 0.52:
                f_state, m_state = ("外出务工", rng.choice(("重病", "重残", "去世")))
            elif roll < 0.62:
                f_state, m_state = rng.choice((("外出务工", "在家"), ("在家", "外出务工")))
            else:
                f_state, m_state = "在家", "在家"
            if rng.random() < 0.2:
                sc = SCENARIOS[rng.randrange(3, 14)]
                f_state, m_state, hardship, health = sc[0], sc[1], sc[2], sc[3]
        if age is None:
            age = rng.randrange(6, 16)
        birth = REFERENCE - timedelta(days=age * 365 + rng.randrange(30, 360))
        male = rng.random() < 0.52
        surname = self.surname()
        name = surname + self.given(GIVEN_BOY if male else GIVEN_GIRL)
        township = rng.choice(XIAO_TOWNSHIPS)
        village = rng.choice(self.villages[township])
        grade_index = min(max(age - 6, 0), 8)
        grade = GRADES[grade_index]
        school = f"萧县{township}{'中心小学' if grade_index < 6 else '中心学校'}"
        rec: dict[str, Any] = {"_birth": birth, "姓名": name, "性别": "男" if male else "女",
                               "民族": "汉族" if rng.random() < 0.97 else "回族"}
        form = rng.random()
        if form < 0.92:
            number = self.id_number(birth, male)
            rec["身份证号"] = number
            sid = "G" + number
        elif form < 0.96:
            sid = "J" + self.id_number(birth, male)
        else:
            while True:
                sid = f"L{XIAO_COUNTY}{birth:%Y%m%d}{rng.randrange(0, 10_000):04d}"
                if sid not in self.used_sids:
                    break
            rec["出生日期"] = birth.isoformat()
        self.used_sids.add(sid)
        rec.update({
            "学籍号": sid, "学校": school, "年级": grade, "班级": f"{rng.randrange(1, 5)}班",
            "户籍地": f"安徽省萧县{township}{village}",
            "现居住地": f"安徽省萧县{township}{village}{rng.randrange(1, 120)}号",
            "村(居)委会": f"{village}村民委员会",
            "是否寄宿": grade_index >= 6 and rng.random() < 0.6,
            "父亲": self.parent(surname, True, f_state, birth),
            "母亲": self.parent(surname, False, m_state, birth),
        })
        if health == "残疾":
            rec["身体状况"] = {"状况": "残疾", "残疾类别": rng.choice(("肢体", "视力", "听力", "智力")),
                           "残疾等级": rng.choice(("一级", "二级"))}
        elif health == "患病":
            rec["身体状况"] = {"状况": "患病", "疾病名称": rng.choice(ILLNESSES), "是否重病": True}
        else:  # stated: a record without it is 未登记
            rec["身体状况"] = {"状况": "健康"}
        if hardship:
            rec["困境情形"] = list(hardship)
        away = f_state != "在家" and m_state != "在家"
        if away:
            rel, male_g = rng.choice((("祖父", True), ("祖母", False), ("外祖父", True), ("外祖母", False)))
            g_surname = surname if rel in ("祖父", "祖母") and male_g else self.surname()
            carer = {
                "姓名": g_surname + self.given(GIVEN_ADULT_M if male_g else GIVEN_ADULT_F),
                "关系": rel, "电话": self.phone(), "住址": rec["现居住地"],
                "照护能力": rng.choice(("良好", "良好", "一般", "较差")),
            }
            rec["监护人"] = carer
            if f_state == "外出务工" or m_state == "外出务工":
                rec["委托照护人"] = dict(carer)
        rec["帮扶教师"] = self.surname() + self.given(GIVEN_ADULT_M + GIVEN_ADULT_F)
        if rng.random() < 0.5:
            rec["帮扶教师电话"] = self.phone()
        if rng.random() < 0.6:
            rec["救助帮扶"] = rng.sample(ASSISTANCE, rng.randrange(1, 3))
        rec["家庭经济来源"] = "务工收入" if "外出务工" in (f_state, m_state) else rng.choice(INCOME)
        return rec


_NESTED: dict[str, type[BaseModel]] = {"父亲": Parent, "母亲": Parent, "监护人": Carer, "委托照护人": Carer,
                                       "身体状况": Health}


def _construct(model: type[M], data: dict[str, Any]) -> M:
    """Build a model from data that is valid by construction, skipping validation (speed)."""
    names, consts, factories = _fields_of(model)
    kwargs: dict[str, Any] = dict(consts)
    fields_set: set[str] = set()
    for key, value in data.items():
        if key in _NESTED and isinstance(value, dict):
            value = _construct(_NESTED[key], value)
        name = names[key]
        kwargs[name] = value
        fields_set.add(name)
    for name, make in factories.items():
        if name not in fields_set:
            kwargs[name] = make()
    # What BaseModel.model_construct does, without its per-call introspection (10x faster here).
    obj = model.__new__(model)
    object.__setattr__(obj, "__dict__", kwargs)
    object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


@functools.cache
def _fields_of(model: type[BaseModel]) -> tuple[dict[str, str], dict[str, Any], dict[str, Callable[[], Any]]]:
    names = {f.alias or n: n for n, f in model.model_fields.items()}
    consts: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for n, f in model.model_fields.items():
        if f.default_factory is not None:
            factories[n] = f.default_factory  # type: ignore[assignment]
        elif not f.is_required():
            assert f.default is None or isinstance(f.default, str | bool | int), n  # immutable: shared safely
            consts[n] = f.default
    return names, consts, factories


def synth_child_dicts(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` synthetic records as JSON dicts with Chinese keys (as a form or file would hold)."""
    gen = _Gen(seed)
    out = []
    for i in range(n):
        d = gen.child(i)
        del d["_birth"]
        out.append(d)
    return out


def synth_children(n: int, seed: int = 0, validate: bool = False) -> list[ChildRecord]:
    """``n`` synthetic children (deterministic by ``seed``).

    The records are valid by construction; by default they are built without running the
    validators (100,000 in a few seconds). ``validate=True`` runs full validation (tests check
    both give equal records).
    """
    gen = _Gen(seed)
    out: list[ChildRecord] = []
    # Millions of small objects, none cyclic: the cyclic GC would rescan them again and again.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(n):
            d = gen.child(i)
            birth = d.pop("_birth")
            if validate:
                out.append(ChildRecord.model_validate(d))
            else:
                d["出生日期"] = birth
                out.append(_construct(ChildRecord, d))
    finally:
        if was_enabled:
            gc.enable()
    return out


def example_dict() -> dict[str, Any]:
    """A synthetic record with every field filled (for templates and documentation)."""
    birth = date(2014, 3, 5)
    number = make_id_number(XIAO_COUNTY, birth, 21)
    return {
        "姓名": "张小明", "性别": "男", "民族": "汉族", "身份证号": number, "学籍号": "G" + number,
        "出生日期": birth.isoformat(), "学校": "萧县龙城镇中心小学", "年级": "五年级", "班级": "2班",
        "户籍地": "安徽省萧县龙城镇东王庄村", "现居住地": "安徽省萧县龙城镇东王庄村18号",
        "村(居)委会": "东王庄村民委员会", "村(居)委会告知日期": "2026-09-08",
        "身体状况": {"状况": "患病", "疾病名称": "哮喘", "是否重病": False},
        "是否寄宿": False,
        "父亲": {"姓名": "张建国", "身份证号": make_id_number(XIAO_COUNTY, date(1985, 6, 12), 31),
               "电话": "13805571234", "状况": "外出务工", "务工地": "上海"},
        "母亲": {"姓名": "李秀英", "身份证号": make_id_number(XIAO_COUNTY, date(1987, 9, 2), 42),
               "电话": "13905575678", "状况": "外出务工", "务工地": "杭州"},
        "监护人": {"姓名": "张德明", "关系": "祖父", "电话": "15955701234",
                "身份证号": make_id_number(XIAO_COUNTY, date(1958, 1, 20), 53),
                "住址": "安徽省萧县龙城镇东王庄村18号", "照护能力": "一般"},
        "委托照护人": {"姓名": "张德明", "关系": "祖父", "电话": "15955701234",
                  "身份证号": make_id_number(XIAO_COUNTY, date(1958, 1, 20), 53),
                  "住址": "安徽省萧县龙城镇东王庄村18号", "照护能力": "一般"},
        "其他家庭成员": [{"姓名": "王桂兰", "关系": "祖母", "电话": "15955705678", "是否监护人": False}],
        "学籍留守登记": "双亲留守儿童", "学籍孤儿登记": False,
        "困境情形": ["低保家庭"],
        "帮扶教师": "王丽娟", "帮扶教师电话": "13705570001",
        "救助帮扶": ["营养改善计划", "免费教科书"],
        "家庭经济来源": "务工收入",
        "需求评估": "性格内向，想念父母；数学基础较弱；祖父年迈，辅导作业有困难。",
        "一策": {"心理疏导": "每两周谈心一次，每月安排与父母视频通话。", "学业辅导": "每周二、四课后辅导数学30分钟。",
               "生活资助": "落实低保家庭学生生活补助。", "安全监管": "放学后与祖父电话确认到家；假期前开展防溺水教育。",
               "行为养成": "建立作业记录本，每周检查。"},
        "建档日期": "2026-09-08",
        "状态": "在册",
        "备注": "2026年9月排查认定；已家访并通报村委会。\n每月与父母视频通话一次。",
    }


def example_record() -> ChildRecord:
    return ChildRecord.model_validate(example_dict())


# --- a 全国中小学生学籍信息管理系统-style export (tests, demo, benchmark) ------------------------

XUEJI_COLUMNS: tuple[str, ...] = (
    "学校名称", "姓名", "性别", "出生日期", "出生地", "籍贯", "民族", "国籍/地区", "身份证件类型", "身份证件号",
    "港澳台侨外", "政治面貌", "健康状况", "姓名拼音", "曾用名", "身份证件有效期", "全国学籍号", "学籍辅号",
    "班内学号", "年级", "班级", "入学年月", "入学方式", "就读方式", "学生来源", "现住址", "通信地址", "家庭地址",
    "联系电话", "邮政编码", "电子信箱", "户口所在地", "户口性质", "是否独生子女", "是否受过学前教育",
    "是否进城务工人员随迁子女", "是否留守儿童", "是否孤儿", "是否烈士或优抚子女", "是否需要申请资助",
    "是否享受一补", "上下学距离", "上下学方式", "是否需要乘坐校车", "残疾人类型", "是否由政府购买学位", "特长",
) + tuple(f"家庭成员{n}{f}" for n in (1, 2, 3) for f in (
    "姓名", "关系", "关系说明", "现住址", "户口所在地", "联系电话", "是否监护人", "身份证件类型", "身份证件号",
    "民族", "工作单位", "职务"))
# (是否留守儿童, 是否孤儿, 健康状况, 残疾人类型, 就读方式, members as (关系, 是否监护人, 外出务工))
_XUEJI_CASES: tuple[tuple[str, str, str, str, str, tuple[tuple[str, bool, bool], ...]], ...] = (
    ("双亲留守儿童", "否", "健康或良好", "", "走读", (("父亲", False, True), ("母亲", False, True), ("祖父", True, False))),
    ("单亲留守儿童", "否", "健康或良好", "", "走读", (("父亲", False, True), ("母亲", True, False))),
    ("非留守儿童", "否", "有慢性病", "", "走读", (("父亲", True, False), ("母亲", False, False))),
    ("非留守儿童", "是", "健康或良好", "", "住校", (("祖父", True, False), ("祖母", False, False))),
    ("非留守儿童", "否", "残疾", "肢体残疾", "走读", (("母亲", True, False), ("父亲", False, False))),
    ("双亲留守儿童", "否", "一般或较弱", "", "住校", (("母亲", False, True), ("父亲", False, True), ("外祖母", True, False))),
    ("非留守儿童", "否", "健康或良好", "", "走读", (("父亲", True, False),)),
)
_FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def xueji_export(n: int = 36, seed: int = 7, school: str = "萧县龙城镇中心小学") -> tuple[bytes, list[dict[str, Any]]]:
    """An .xlsx shaped like the national 学籍 system's student export (every standard column,
    numbers stored as numbers, dates in the ways people leave them, some ID numbers typed with
    full-width digits), and per child what it should become: {姓名, 学籍号, 类别, 学籍留守登记}."""
    from openpyxl import Workbook

    g = _Gen(seed)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "学生信息"
    ws.append(list(XUEJI_COLUMNS))
    expected: list[dict[str, Any]] = []
    for i in range(n):
        left, orphan, health, disability, mode, members = _XUEJI_CASES[i % len(_XUEJI_CASES)]
        grade = 1 + i % 6
        birth = date(2026 - 6 - grade, 1 + (i * 5) % 12, 1 + (i * 7) % 28)
        male = i % 2 == 0
        surname = g.surname()
        name = surname + g.given(GIVEN_BOY if male else GIVEN_GIRL)
        number = g.id_number(birth, male)
        town = XIAO_TOWNSHIPS[i % len(XIAO_TOWNSHIPS)]
        village = g.villages[town][i % 12]
        address = f"安徽省宿州市萧县{town}{village}{1 + i % 30}号"
        births: list[Any] = [datetime(birth.year, birth.month, birth.day), birth.isoformat(),
                             f"{birth.year}.{birth.month}.{birth.day}", f"{birth.year}年{birth.month}月{birth.day}日",
                             (birth - date(1899, 12, 30)).days]
        row: dict[str, Any] = {
            "学校名称": school, "姓名": name, "性别": "男" if male else "女", "出生日期": births[i % len(births)],
            "出生地": "安徽省宿州市萧县", "籍贯": "安徽省萧县", "民族": "汉族" if i % 9 else "回族", "国籍/地区": "中国",
            "身份证件类型": "居民身份证", "身份证件号": number.translate(_FULL) if i % 5 == 2 else number,
            "港澳台侨外": "否", "政治面貌": "少先队员" if grade >= 2 else "群众", "健康状况": health,
            "姓名拼音": "", "全国学籍号": "G" + number, "学籍辅号": f"{2026000000 + i}", "班内学号": 1 + i,
            "年级": GRADES[grade - 1], "班级": 1 + i % 3, "入学年月": f"{2026 - grade + 1}-09",
            "入学方式": "就近入学", "就读方式": mode, "学生来源": "正常入学", "现住址": address,
            "通信地址": address, "家庭地址": address, "联系电话": int(g.phone()), "邮政编码": 235200,
            "户口所在地": f"安徽省宿州市萧县{town}{village}", "户口性质": "农业户口", "是否独生子女": "否",
            "是否受过学前教育": "是", "是否进城务工人员随迁子女": "否", "是否留守儿童": left, "是否孤儿": orphan,
            "是否烈士或优抚子女": "否", "是否需要申请资助": "是" if orphan == "是" else "否", "是否享受一补": "否",
            "上下学距离": round(0.5 + (i % 7) * 0.8, 1), "上下学方式": "步行", "是否需要乘坐校车": "否",
            "残疾人类型": disability, "是否由政府购买学位": "否", "特长": "",
        }
        for k, (relation, guardian, away) in enumerate(members, start=1):
            adult_male = relation in ("父亲", "祖父", "外祖父")
            adult = (surname if relation in ("父亲", "祖父") else g.surname()) + g.given(
                GIVEN_ADULT_M if adult_male else GIVEN_ADULT_F)
            adult_birth = g.adult_birth(birth) - timedelta(days=(25 * 365 if relation[0] in "祖外" else 0))
            row.update({
                f"家庭成员{k}姓名": adult, f"家庭成员{k}关系": relation, f"家庭成员{k}联系电话": int(g.phone()),
                f"家庭成员{k}是否监护人": "是" if guardian else "否", f"家庭成员{k}身份证件类型": "居民身份证",
                f"家庭成员{k}身份证件号": g.id_number(adult_birth, adult_male), f"家庭成员{k}民族": "汉族",
                f"家庭成员{k}现住址": address, f"家庭成员{k}户口所在地": row["户口所在地"],
                f"家庭成员{k}工作单位": g.rng.choice(CITIES) + "某电子厂" if away else "务农",
            })
        ws.append([row.get(h) if row.get(h) != "" else None for h in XUEJI_COLUMNS])
        cats = (["留守儿童"] if left == "双亲留守儿童" else []) + (["困境儿童"] if orphan == "是" else [])
        expected.append({"姓名": name, "学籍号": "G" + number, "类别": cats, "学籍留守登记": left,
                         "行": i + 2})
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), expected
