"""References people type: documents and children by a short id, children also by name.

A reference is resolved in this order, and ambiguity is always an error, never a guess:

- documents: the full 32-character id, or any prefix of it of at least ``MIN_PREFIX``
  hexadecimal characters that matches exactly one document;
- children: the full id, the 学籍号 or ID number (exact, through the blind index), a unique id
  prefix of at least ``MIN_PREFIX`` characters, or the child's name.

Several children of one name: a chooser (set by a terminal front end with :func:`choosing`)
picks one by number; without it :class:`AmbiguousError` lists the candidates.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guanai.base.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from guanai.archive.store import Archive, ChildEntry, DocumentEntry

MIN_PREFIX = 6
SHORT_ID = 8  # what listings and messages print; grows when two ids share those characters
_HEX_PREFIX = re.compile(r"^[0-9a-f]{6,32}$")
_FULL = re.compile(r"^[0-9a-f]{32}$")
MAX_LISTED = 10


@dataclass(frozen=True)
class Candidate:
    """One of several things a reference could mean (for the message and a chooser)."""

    id: str
    label: str


class AmbiguousError(InputError):
    """A reference matching more than one document or child; ``candidates`` lists them."""

    def __init__(self, ref: str, what: str, candidates: Sequence[Candidate], hint: str) -> None:
        self.candidates = list(candidates)
        shown = "；".join(f"{c.id[:SHORT_ID]} {c.label}" for c in self.candidates[:MAX_LISTED])
        more = f"；……共 {len(self.candidates)} 个" if len(self.candidates) > MAX_LISTED else ""
        super().__init__(f"“{ref}”对应 {len(self.candidates)} 个{what}，无法确定是哪一个：{shown}{more}。", hint)


Chooser = Callable[[str, Sequence[Candidate]], "int | None"]
_CHOOSER: contextvars.ContextVar[Chooser | None] = contextvars.ContextVar("guanai_chooser", default=None)


@contextlib.contextmanager
def choosing(chooser: Chooser | None) -> Iterator[None]:
    """Within the block, several children of one name are offered to ``chooser`` (index or None)."""
    token = _CHOOSER.set(chooser)
    try:
        yield
    finally:
        _CHOOSER.reset(token)


def _norm(ref: str) -> str:
    return unicodedata.normalize("NFKC", ref or "").strip()


def short_id(full: str) -> str:
    """The first SHORT_ID characters (use :func:`short_ids` where uniqueness must be certain)."""
    return full[:SHORT_ID]


def _lcp(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def short_ids(arc: Archive, table: str = "documents") -> dict[str, str]:
    """Every id of ``table`` (documents or children) -> its shortest unique prefix of ≥ SHORT_ID characters."""
    if table not in ("documents", "children"):
        raise ValueError(table)
    ids = [r[0] for r in arc.conn.execute(f"SELECT id FROM {table} ORDER BY id").fetchall()]
    out: dict[str, str] = {}
    for i, full in enumerate(ids):
        n = SHORT_ID
        if i > 0:
            n = max(n, _lcp(full, ids[i - 1]) + 1)
        if i + 1 < len(ids):
            n = max(n, _lcp(full, ids[i + 1]) + 1)
        out[full] = full[:n]
    return out


def unique_short_id(arc: Archive, full: str, table: str = "documents") -> str:
    """The shortest prefix (≥ SHORT_ID) of ``full`` that no other id of ``table`` shares."""
    if table not in ("documents", "children"):
        raise ValueError(table)
    n = SHORT_ID
    while n < len(full):
        rows = arc.conn.execute(f"SELECT id FROM {table} WHERE id >= ? AND id < ? LIMIT 2",
                                (full[:n], full[:n] + "g")).fetchall()
        if len(rows) <= 1:
            break
        n += 2
    return full[:n]


# --------------------------------------------------------------------------- documents


def _doc_label(e: DocumentEntry) -> str:
    from guanai.archive.labels import format_label

    date = e.doc_date or e.created_at[:10]
    return f"{e.title}（{date}，{format_label(e.mime, e.filename)}）"


def resolve_document(arc: Archive, ref: str) -> DocumentEntry:
    """The one document ``ref`` (a full id or a unique prefix of ≥ 6 characters) names."""
    key = _norm(ref).lower()
    if _FULL.match(key):
        return arc.get_document(key)
    if not _HEX_PREFIX.match(key):
        if re.match(r"^[0-9a-f]{1,5}$", key):
            raise InputError(f"文档编号“{ref}”太短：至少写前 {MIN_PREFIX} 位。",
                             "用 guanai doc list 或 guanai search 查看文档编号。")
        raise NotFoundError(f"找不到文档：{ref}", "文档编号由数字和 a–f 组成；用 guanai doc list 或 guanai search 查找。")
    rows = arc.conn.execute("SELECT id FROM documents WHERE id >= ? AND id < ? ORDER BY id LIMIT 50",
                            (key, key + "g")).fetchall()
    if not rows:
        raise NotFoundError(f"找不到文档：{ref}", "用 guanai doc list 或 guanai search 查找文档编号。")
    if len(rows) > 1:
        cands = [Candidate(r[0], _doc_label(arc.get_document(r[0]))) for r in rows]
        raise AmbiguousError(ref, "文档", cands, "多写几位编号（guanai doc list 显示的编号即可）。")
    return arc.get_document(rows[0][0])


def resolve_documents(arc: Archive, refs: Sequence[str]) -> list[DocumentEntry]:
    """Several references at once; every unknown or ambiguous one is reported together."""
    out: list[DocumentEntry] = []
    problems: list[str] = []
    missing = 0
    for ref in refs:
        try:
            out.append(resolve_document(arc, ref))
        except (InputError, NotFoundError) as err:
            problems.append(err.message)
            missing += isinstance(err, NotFoundError)
    if problems:
        # only unknown ids: "not found" (exit 3) as for one id; a malformed or ambiguous one: input error
        cls = NotFoundError if missing == len(problems) else InputError
        raise cls("；".join(problems), "改正上面的文档编号后重试（什么也没有导出）。")
    return out


# --------------------------------------------------------------------------- children


def child_label(e: ChildEntry) -> str:
    rec = e.record
    place = "".join(str(x) for x in (getattr(rec, "grade", "") or "", getattr(rec, "class_name", "") or ""))
    sid = getattr(rec, "student_id", "") or ""
    parts = [p for p in (place, sid and f"学籍号 {sid}", e.status) if p]
    return f"{rec.name}（{'，'.join(parts)}）"


def _children_by_prefix(arc: Archive, key: str) -> list[str]:
    rows = arc.conn.execute("SELECT id FROM children WHERE id >= ? AND id < ? ORDER BY id LIMIT 50",
                            (key, key + "g")).fetchall()
    return [r[0] for r in rows]


def resolve_child(arc: Archive, ref: str) -> ChildEntry:
    """The one child ``ref`` names (id, 学籍号, ID number, unique id prefix, or name)."""
    key = _norm(ref)
    if not key:
        raise InputError("没有给出儿童。", "写儿童的姓名、学籍号、身份证号或编号（至少前 6 位）。")
    entry = arc.find_child(key)
    if entry is not None:
        return entry
    low = key.lower()
    if _HEX_PREFIX.match(low):
        ids = _children_by_prefix(arc, low)
        if len(ids) == 1:
            found = arc.find_child(ids[0])
            if found is not None:
                return found
        elif len(ids) > 1:
            cands = [Candidate(c.id, child_label(c)) for c in (arc.find_child(i) for i in ids) if c is not None]
            raise AmbiguousError(ref, "儿童", cands, "多写几位编号，或用学籍号。")
    named = [e for e in arc.list_children() if _norm(e.record.name) == key]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        named.sort(key=sort_key)
        cands = [Candidate(e.id, child_label(e)) for e in named]
        chooser = _CHOOSER.get()
        if chooser is not None:
            pick = chooser(key, cands)
            if pick is not None and 0 <= pick < len(named):
                return named[pick]
        raise AmbiguousError(ref, "同名儿童", cands, "用学籍号或编号（前 6 位以上）指明是哪一个。")
    similar = sorted((e for e in arc.list_children() if key and key in _norm(e.record.name)), key=sort_key)
    if similar:  # part of a name: say whose names contain it
        shown = "、".join(child_label(e) for e in similar[:8]) + ("等" if len(similar) > 8 else "")
        raise NotFoundError(f"找不到儿童：{ref}", f"姓名含“{key}”的有：{shown}；请写全名、学籍号或编号。")
    raise NotFoundError(f"找不到儿童：{ref}",
                        "可用姓名、学籍号、身份证号或编号（至少前 6 位）；用 guanai child list 查看全部。")


# --------------------------------------------------------------------------- ordering


_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
              "十": 10}


def _cn_number(text: str) -> int | None:
    m = re.search(r"\d+", text)
    if m:
        return int(m.group(0))
    m = re.search(r"[一二两三四五六七八九十]+", text)
    if not m:
        return None
    s = m.group(0)
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + _CN_DIGITS.get(s[1:], 0)
    if "十" in s:
        hi, _, lo = s.partition("十")
        return _CN_DIGITS.get(hi, 0) * 10 + (_CN_DIGITS.get(lo, 0) if lo else 0)
    return _CN_DIGITS.get(s[0])


def grade_rank(grade: str | None) -> int:
    """一年级 … 六年级, 初一/七年级 … 高三 as 1 … 12; unknown grades after the known ones."""
    g = unicodedata.normalize("NFKC", grade or "").strip()
    if not g:
        return 99
    offset = 0
    if g.startswith("初"):
        offset = 6
    elif g.startswith("高"):
        offset = 9
    elif "学前" in g or "幼" in g:
        return 0
    n = _cn_number(g)
    return 98 if n is None else n + offset


def class_rank(name: str | None) -> int:
    n = _cn_number(unicodedata.normalize("NFKC", name or ""))
    return 999 if n is None else n


def sort_key(e: ChildEntry) -> tuple[Any, ...]:
    rec = e.record
    return (grade_rank(getattr(rec, "grade", None)), class_rank(getattr(rec, "class_name", None)),
            getattr(rec, "class_name", "") or "", rec.name, e.id)


def select_children(arc: Archive, refs: Sequence[str] = (), *, every: bool = False, grade: str | None = None,
                    class_name: str | None = None) -> list[ChildEntry]:
    """Children for a batch: named ones, and/or all open (在册) ones, narrowed by grade and class.

    Sorted by grade, class and name; duplicates once. A grade or class matching nobody is an
    error listing the grades (classes) there are.
    """
    chosen: dict[str, ChildEntry] = {}
    for ref in refs:
        e = resolve_child(arc, ref)
        chosen.setdefault(e.id, e)
    if every or grade or class_name:
        pool = [e for e in arc.list_children(status="在册")]
        g = _norm(grade or "")
        c = _norm(class_name or "")
        if g:
            grades = {_norm(str(getattr(e.record, "grade", "") or "")) for e in pool}
            pool = [e for e in pool if _norm(str(getattr(e.record, "grade", "") or "")) == g]
            if not pool:
                raise InputError(f"没有在册儿童在“{grade}”。", "在册儿童的年级有：" + "、".join(sorted(grades, key=grade_rank)) + "。")
        if c:
            classes = {_norm(str(getattr(e.record, "class_name", "") or "")) for e in pool}
            pool = [e for e in pool if _same_class(_norm(str(getattr(e.record, "class_name", "") or "")), c)]
            if not pool:
                raise InputError(f"没有在册儿童在“{class_name}”。",
                                 "这些儿童的班级有：" + "、".join(sorted((x for x in classes if x), key=class_rank)) + "。")
        for e in pool:
            chosen.setdefault(e.id, e)
    return sorted(chosen.values(), key=sort_key)


def _same_class(recorded: str, asked: str) -> bool:
    """“2班”, “（2）班”, “2” and “二班” name the same class."""
    if recorded == asked:
        return True
    a, b = class_rank(recorded), class_rank(asked)
    return a != 999 and a == b
