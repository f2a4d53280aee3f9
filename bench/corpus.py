"""A synthetic corpus of visit records for tests, the benchmark and the demo (no real person).

Deterministic for a seed. Names are drawn so that some 2-character names are the start of
3-character names (韩思 / 韩思雨), ID numbers carry a valid GB 11643 check character (about one
in eleven ends in X), 学籍号 are ``G`` + ID number, village names are unusual enough that jieba
splits them differently in different contexts.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from guanai.search.index import IndexDoc

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹熊白孟秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
GIVEN = "思雨欣怡子涵梓轩浩宇一诺佳琪俊杰梦瑶紫萱雨桐晨曦博文家豪嘉怡宇航明轩若汐诗涵天佑可馨文博雅静志强海燕春花秋菊建国建华丽娟秀英玉兰桂芳振华德明"
VILLAGE_HEADS = "上下东西南北前后大小新老"
VILLAGE_MID = "河桥庄营寨集楼岗湖洼坡塘沟店圩"
VILLAGE_TAIL = ["家村", "村", "庄村", "集村", "社区"]
TOWNS = ["龙城镇", "黄口镇", "杨楼镇", "圣泉镇", "白土镇", "官桥镇", "丁里镇", "刘套镇", "马井镇", "永堌镇"]
CITIES = ["上海", "杭州", "苏州", "南京", "广州", "深圳", "宁波", "合肥", "北京", "温州"]
KINDS = ["visit", "card", "persuasion", "report", "notice"]
KIND_TITLES = {"visit": "家访记录", "card": "关爱卡", "persuasion": "劝返记录", "report": "情况报告", "notice": "通知"}
CATEGORIES = ["留守儿童", "困境儿童"]
STATUSES = ["在册", "在册", "在册", "转出", "存档备查"]
AREAS = ["341322", "341321", "341323", "340524", "110105", "440524"]
SENTENCES = [
    "孩子学习认真，课堂表现积极，与同学相处融洽。",
    "近期情绪较为低落，班主任已安排心理疏导。",
    "祖父母年事已高，监护能力一般，需加强安全监管。",
    "家中经济困难，已申请生活补助并落实营养餐。",
    "放学后独自在家时间较长，提醒注意用电用火安全。",
    "数学成绩有所提高，语文阅读需要继续辅导。",
    "与父母每周视频通话一次，亲子沟通有待加强。",
    "本学期无缺课情况，按时完成家庭作业。",
    "曾连续三天未到校，经劝返后已正常上学。",
    "帮扶教师每两周谈心一次，建立成长记录。",
    "家庭住房条件较差，村委会已登记危房改造需求。",
    "孩子喜欢画画，已推荐参加学校美术兴趣小组。",
]


def id_check(body17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(d) * w for d, w in zip(body17, weights, strict=True))
    return "10X98765432"[s % 11]


def make_id(rng: random.Random) -> str:
    area = rng.choice(AREAS)
    y, m, d = rng.randint(2008, 2019), rng.randint(1, 12), rng.randint(1, 28)
    body = f"{area}{y:04d}{m:02d}{d:02d}{rng.randint(0, 999):03d}"
    return body + id_check(body)


@dataclass
class Child:
    id: str
    name: str
    id_number: str
    student_id: str
    village: str
    town: str
    guardian: str
    mentor: str
    category: str
    status: str
    school: str


@dataclass
class Corpus:
    children: list[Child]
    docs: list[IndexDoc]


def _name(rng: random.Random, used: set[str]) -> str:
    for _ in range(100):
        n = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        if n not in used:
            used.add(n)
            return n
    n = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN) + rng.choice(GIVEN)
    used.add(n)
    return n


def make_children(n: int, seed: int = 0) -> list[Child]:
    rng = random.Random(seed)
    used: set[str] = set()
    out: list[Child] = []
    for _ in range(n):
        name = _name(rng, used)
        idn = make_id(rng)
        village = rng.choice(VILLAGE_HEADS) + rng.choice(VILLAGE_MID) + rng.choice(VILLAGE_TAIL)
        out.append(Child(
            id=uuid.UUID(int=rng.getrandbits(128)).hex, name=name, id_number=idn, student_id="G" + idn,
            village=village, town=rng.choice(TOWNS), guardian=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            mentor=rng.choice(SURNAMES) + "老师", category=rng.choice(CATEGORIES), status=rng.choice(STATUSES),
            school=f"341322{rng.randint(1, 9):04d}",
        ))
    # guarantee the "name inside a longer name" case: a 2-char child whose name starts a 3-char one
    if n >= 4:
        out[0].name, out[1].name = "韩思", "韩思雨"
        out[2].id_number = "34052419800101001X"
        out[2].student_id = "G34052419800101001X"
        out[3].village = "上河家村"
    return out


def visit_text(c: Child, rng: random.Random, kind: str) -> tuple[str, str, str]:
    """(title, body, date) of one document about child ``c``."""
    y, m, d = rng.randint(2020, 2025), rng.randint(1, 12), rng.randint(1, 28)
    date = f"{y:04d}-{m:02d}-{d:02d}"
    city = rng.choice(CITIES)
    body = (
        f"{y}年{m}月{d}日，帮扶教师{c.mentor}到{c.town}{c.village}{c.name}家中{KIND_TITLES[kind]}。"
        f"{c.name}，学籍号{c.student_id}，身份证号{c.id_number}，{rng.randint(1, 6)}年级{rng.randint(1, 4)}班。"
        f"父母在{city}务工，由{c.guardian}照看。"
        + "".join(rng.sample(SENTENCES, 3))
    )
    return f"{c.name}{KIND_TITLES[kind]}（{date}）", body, date


def make_corpus(n_docs: int, seed: int = 0, docs_per_child: int = 5) -> Corpus:
    rng = random.Random(seed + 1)
    children = make_children(max(4, n_docs // docs_per_child), seed)
    docs: list[IndexDoc] = []
    for i in range(n_docs):
        c = children[i % len(children)]
        kind = rng.choice(KINDS)
        title, body, date = visit_text(c, rng, kind)
        docs.append(IndexDoc(
            id=uuid.UUID(int=rng.getrandbits(128)).hex, entity="document", kind=kind, title=title,
            text=f"{title}\n{body}", school=c.school, child=c.id, date=date, status=c.status,
            categories=[c.category], names=[c.name], people=[c.guardian, c.mentor],
            ids=[c.student_id, c.id_number],
        ))
    return Corpus(children, docs)
