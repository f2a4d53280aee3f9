"""Query syntax, query building and searching.

Syntax (Chinese users type it; operators in upper case, or their Chinese forms)::

    张小明                      a word: found wherever it occurs as a substring (CJK bigrams)
    "上河家村 委会"              a phrase: the words in this order
    韩思 AND 家访 / 韩思 家访      both (AND is the default between terms)
    韩思 OR 韩梅                 either
    家访 NOT 电话 / 家访 -电话     exclusion
    (韩思 OR 韩梅) AND 劝返
    姓名:韩思  学籍号:G3413...  身份证号:3413...  类型:visit  状态:在册  类别:留守儿童  日期:2024-03-01..2024-03-31

How a word becomes a whoosh query (``_text_query``): the *bigram* field gives recall (a phrase
of query bigrams matches exactly where the text contains the query); the exact ``name`` field
(boosted) ranks the child named exactly so above a longer name containing it; ID-like words
also hit the exact ``ids`` field.

Performance: p95 is made by the few queries with very many hits (a common word matched in
most documents, a phrase of common bigrams). Scoring is bounded: hits are collected with a
whoosh limit and block-max optimisation, phrases are verified on the bigram field only, filter
doc-sets are cached per searcher generation, and whole results are cached by (query,
filters, index generation).
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from whoosh import query as wq
from whoosh.collectors import TimeLimitCollector
from whoosh.searching import TimeLimit

from guanai.base.errors import InputError
from guanai.search.analysis import normalize, query_bigrams

if TYPE_CHECKING:
    from guanai.search.index import SearchIndex

MAX_QUERY_LEN = 500
MAX_TERMS = 32
MAX_LIMIT = 1000

SYNTAX_HINT = ('查询写法：词语直接输入；短语加英文双引号，如 "上河家村"；'
               "组合用 AND / OR / NOT（或 与 / 或 / 非），可加括号；字段用 字段:值，如 姓名:张小明。")

# user-facing field names -> index field
FIELD_ALIASES: dict[str, str] = {
    "姓名": "name", "name": "name",
    "学籍号": "ids", "xjh": "ids", "身份证号": "ids", "身份证": "ids", "sfz": "ids", "id": "ids", "ids": "ids",
    "类型": "kind", "种类": "kind", "kind": "kind",
    "学校": "school", "school": "school",
    "儿童": "child", "child": "child",
    "状态": "status", "status": "status",
    "类别": "category", "category": "category",
    "日期": "date", "date": "date",
    "正文": "text", "全文": "text", "text": "text",
    "标题": "title", "title": "title",
    "人员": "people", "people": "people",
}
_OPS = {"AND": "AND", "与": "AND", "OR": "OR", "或": "OR", "NOT": "NOT", "非": "NOT"}
_ID_RE = re.compile(r"^[gjl]?\d{6,17}[\dx]$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ---- parsing ----------------------------------------------------------------------------------

@dataclass
class Tok:
    kind: str  # WORD PHRASE LP RP AND OR NOT FIELD
    value: str
    pos: int


def _lex(q: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n = 0, len(q)
    while i < n:
        ch = q[i]
        if ch.isspace():
            i += 1
        elif ch in "(（":
            toks.append(Tok("LP", ch, i))
            i += 1
        elif ch in ")）":
            toks.append(Tok("RP", ch, i))
            i += 1
        elif ch in "\"“”":
            j = i + 1
            while j < n and q[j] not in "\"“”":
                j += 1
            if j >= n:
                raise InputError(f"查询语法错误：第 {i + 1} 个字符处的引号没有配对。", SYNTAX_HINT)
            toks.append(Tok("PHRASE", q[i + 1 : j], i))
            i = j + 1
        elif ch == "-" and (i + 1 < n and not q[i + 1].isspace()) and (not toks or q[i - 1].isspace() or q[i - 1] in "(（"):
            toks.append(Tok("NOT", "-", i))
            i += 1
        else:
            j = i
            while j < n and not q[j].isspace() and q[j] not in "()（）\"“”":
                j += 1
            word = q[i:j]
            m = re.match(r"^([^:：]+)[:：](.*)$", word)
            if word in _OPS:
                toks.append(Tok(_OPS[word], word, i))
            elif m and m.group(1) in FIELD_ALIASES:
                toks.append(Tok("FIELD", FIELD_ALIASES[m.group(1)], i))
                rest = m.group(2)
                if rest:
                    toks.append(Tok("WORD", rest, i + len(m.group(1)) + 1))
            elif m and m.group(1).isascii() and m.group(1).isalpha() and not m.group(2).startswith("//"):
                raise InputError(f"查询中的字段“{m.group(1)}”不认识。",
                                 "可用字段：姓名、学籍号、身份证号、类型、学校、儿童、状态、类别、日期、正文、标题、人员。")
            else:
                toks.append(Tok("WORD", word, i))
            i = j
    return toks


@dataclass
class Node:
    op: str  # TERM AND OR NOT
    children: list[Node] = field(default_factory=list)
    field: str | None = None
    text: str = ""
    phrase: bool = False


class _Parser:
    def __init__(self, toks: list[Tok]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def parse(self) -> Node:
        node = self.or_expr()
        t = self.peek()
        if t is not None and t.kind == "RP":
            raise InputError(f"查询语法错误：第 {t.pos + 1} 个字符处的右括号没有配对。", SYNTAX_HINT)
        if t is not None:
            raise InputError(f"查询语法错误：第 {t.pos + 1} 个字符处多了“{t.value}”。", SYNTAX_HINT)
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while (t := self.peek()) is not None and t.kind == "OR":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Node("OR", parts)

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while (t := self.peek()) is not None and t.kind not in ("OR", "RP"):
            if t.kind == "AND":
                self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else Node("AND", parts)

    def unary(self) -> Node:
        t = self.peek()
        if t is None:
            raise InputError("查询语法错误：运算符后面缺少检索词。", SYNTAX_HINT)
        if t.kind == "NOT":
            self.take()
            return Node("NOT", [self.unary()])
        return self.primary()

    def primary(self) -> Node:
        t = self.take()
        if t.kind == "LP":
            node = self.or_expr()
            end = self.peek()
            if end is None or end.kind != "RP":
                raise InputError(f"查询语法错误：第 {t.pos + 1} 个字符处的括号没有配对。", SYNTAX_HINT)
            self.take()
            return node
        if t.kind == "FIELD":
            v = self.peek()
            if v is None or v.kind not in ("WORD", "PHRASE"):
                raise InputError(f"查询语法错误：字段“{t.value}”后面缺少值。", "写成 字段:值，如 姓名:张小明（冒号后不要空格）。")
            self.take()
            return Node("TERM", field=t.value, text=v.value, phrase=v.kind == "PHRASE")
        if t.kind in ("WORD", "PHRASE"):
            return Node("TERM", text=t.value, phrase=t.kind == "PHRASE")
        if t.kind == "RP":
            raise InputError(f"查询语法错误：第 {t.pos + 1} 个字符处的右括号没有配对。", SYNTAX_HINT)
        raise InputError(f"查询语法错误：第 {t.pos + 1} 个字符处的“{t.value}”前面缺少检索词。", SYNTAX_HINT)


def parse(q: str) -> Node:
    """Parse a user query; InputError (with the syntax hint) when it cannot be read."""
    q = unicodedata.normalize("NFC", q or "").strip()
    if not q:
        raise InputError("查询为空。", "输入要找的姓名、学籍号、身份证号、村名或正文中的词语。")
    if len(q) > MAX_QUERY_LEN:
        raise InputError(f"查询过长（{len(q)} 个字符，上限 {MAX_QUERY_LEN}）。", "缩短查询，只保留关键词。")
    node = _Parser(_lex(q)).parse()
    if _count_terms(node) > MAX_TERMS:
        raise InputError(f"查询中的检索词过多（上限 {MAX_TERMS} 个）。", "减少检索词。")
    return node


def _count_terms(node: Node) -> int:
    return 1 if node.op == "TERM" else sum(_count_terms(c) for c in node.children)


def terms_of(node: Node) -> list[str]:
    """Positive words of the query (for highlighting)."""
    if node.op == "TERM":
        return [node.text] if node.field in (None, "name", "ids", "text", "people", "title") else []
    if node.op == "NOT":
        return []
    return [t for c in node.children for t in terms_of(c)]


# ---- building whoosh queries ------------------------------------------------------------------

def _bigram_query(text: str) -> wq.Query | None:
    toks = query_bigrams(text)
    if not toks:
        return None
    if len(toks) == 1:
        t = toks[0]
        if len(t) == 1 and not t.isascii():
            # one CJK character: the unigram ending a run or any bigram starting with it
            return wq.Prefix("bigram", t)
        return wq.Term("bigram", t)
    return wq.Phrase("bigram", list(toks))


def _text_query(text: str) -> wq.Query:
    norm = normalize(text).strip()
    bq = _bigram_query(text)
    if bq is None:
        raise InputError(f"检索词“{text}”中没有可检索的文字或数字。", SYNTAX_HINT)
    parts: list[wq.Query] = [bq]
    compact = re.sub(r"\s+", "", norm)
    if _ID_RE.match(compact):
        parts.append(wq.Term("ids", compact.upper()))
    elif " " not in text.strip() and len(text.strip()) <= 20:
        parts.append(wq.Term("name", text.strip()))
    return parts[0] if len(parts) == 1 else wq.Or(parts)


def _field_query(fld: str, text: str, phrase: bool) -> wq.Query:
    value = text.strip()
    if not value:
        raise InputError(f"字段“{fld}”的值为空。", "写成 字段:值，如 姓名:张小明。")
    if fld == "ids":
        return wq.Term("ids", re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper())
    if fld == "name":
        return wq.Term("name", value)
    if fld == "people":
        return wq.Term("people", value)
    if fld == "date":
        if ".." in value:
            lo, hi = value.split("..", 1)
            for v in (lo, hi):
                if v and not _DATE_RE.match(v):
                    raise InputError(f"日期“{v}”格式不对。", "日期写成 2024-03-01，范围写成 2024-03-01..2024-03-31。")
            return wq.TermRange("date", lo or None, hi or None)
        if _DATE_RE.match(value):
            return wq.Term("date", value)
        if re.match(r"^\d{4}(-\d{2})?$", value):
            return wq.Prefix("date", value)
        raise InputError(f"日期“{value}”格式不对。", "日期写成 2024-03-01，或 2024-03 表示整月，范围写成 a..b。")
    if fld in ("text", "title"):
        # jieba words field: word-level match (a name inside a longer name does not match)
        from guanai.search.analysis import query_words

        words = list(query_words(value))
        if not words:
            raise InputError(f"检索词“{value}”中没有可检索的文字或数字。", SYNTAX_HINT)
        return wq.Term("text", words[0]) if len(words) == 1 else wq.Phrase("text", words)
    return wq.Term(fld, value)


def build(node: Node) -> wq.Query:
    """The whoosh query for a parsed node."""
    if node.op == "TERM":
        if node.field is None:
            return _text_query(node.text)
        return _field_query(node.field, node.text, node.phrase)
    if node.op == "NOT":
        return wq.And([wq.Every(), wq.Not(build(node.children[0]))])
    subs = [build(c) for c in node.children]
    if node.op == "OR":
        return wq.Or(subs)
    pos = [s for s, c in zip(subs, node.children, strict=True) if c.op != "NOT"]
    neg = [build(c.children[0]) for c in node.children if c.op == "NOT"]
    if not pos:
        pos = [wq.Every()]
    q: wq.Query = wq.And(pos) if len(pos) > 1 else pos[0]
    if neg:
        q = wq.AndNot(q, wq.Or(neg) if len(neg) > 1 else neg[0])
    return q


# ---- searching ------------------------------------------------------------------------------

@dataclass
class Filters:
    kind: str | None = None
    school: str | None = None
    child: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    status: str | None = None
    category: str | None = None
    exclude: tuple[str, ...] = ()  # ids left out (voided documents)

    def key(self) -> tuple[Any, ...]:
        return (self.kind, self.school, self.child, self.date_from, self.date_to, self.status, self.category,
                self.exclude)

    def query(self) -> wq.Query | None:
        parts: list[wq.Query] = []
        for fld, value in (("kind", self.kind), ("school", self.school), ("child", self.child),
                           ("status", self.status), ("category", self.category)):
            if value:
                parts.append(wq.Term(fld, value))
        for v in (self.date_from, self.date_to):
            if v and not _DATE_RE.match(v):
                raise InputError(f"日期“{v}”格式不对。", "日期写成 2024-03-01。")
        if self.date_from or self.date_to:
            parts.append(wq.TermRange("date", self.date_from or None, self.date_to or None))
        if not parts and not self.exclude:
            return None
        base: wq.Query = wq.Every() if not parts else parts[0] if len(parts) == 1 else wq.And(parts)
        if self.exclude:
            base = wq.AndNot(base, wq.Or([wq.Term("id", i) for i in self.exclude]))
        return base


@dataclass
class Hit:
    id: str
    entity: str
    kind: str
    title: str
    child: str
    date: str
    school: str
    status: str
    score: float


@dataclass
class Result:
    query: str
    total: int
    hits: list[Hit]
    terms: list[str]
    exact: bool = True  # False: ``total`` is an upper bound (the query matched too much to count)


_RESULT_CACHE: OrderedDict[tuple[Any, ...], Result] = OrderedDict()
_RESULT_CACHE_SIZE = 256
# postings a scored search may decode before we switch to the bounded path (~15 us each)
SCORE_BUDGET = 6_000
# a phrase posting also decodes positions: ~4x the work of a plain one
PHRASE_WEIGHT = 4
# hard stop for one search's matching/scoring work (the p95 target is 100 ms)
SCORE_SECONDS = 0.06


def cost(searcher: Any, q: wq.Query) -> int:
    """Postings a full evaluation of ``q`` decodes (document frequencies, read from the lexicon)."""
    if isinstance(q, wq.Term):
        return int(searcher.doc_frequency(q.fieldname, q.text))
    if isinstance(q, wq.Phrase):
        return PHRASE_WEIGHT * sum(int(searcher.doc_frequency(q.fieldname, w)) for w in q.words)
    if isinstance(q, wq.Every):
        return int(searcher.doc_count_all())
    if isinstance(q, (wq.Prefix, wq.TermRange)):
        total = 0
        for i, (fname, text) in enumerate(q.expanded_terms(searcher.reader())):
            total += int(searcher.doc_frequency(fname, text))
            if i > 200 or total > 10 * SCORE_BUDGET:
                break
        return total
    if isinstance(q, wq.AndNot):
        return cost(searcher, q.a) + cost(searcher, q.b)
    if isinstance(q, wq.Not):
        return cost(searcher, q.query)
    if isinstance(q, wq.CompoundQuery):
        return sum(cost(searcher, c) for c in q.subqueries)
    return SCORE_BUDGET + 1  # unknown kind: be careful


def _scored(searcher: Any, q: wq.Query, fset: Any, limit: int) -> tuple[Any, bool]:
    """whoosh's ranked search, stopped after SCORE_SECONDS (a loaded machine can be 2x slower
    than the cost estimate assumes): then the best hits among the documents seen so far.

    The filter is applied here, inside the timed loop: whoosh's own TimeLimitCollector feeds
    its child directly, so a FilterCollector beneath it never filtered anything.
    """
    top = searcher.collector(limit=limit, terms=False)
    timed = _FilteredTimeLimit(top, fset, SCORE_SECONDS)
    try:
        searcher.search_with_collector(q, timed)
        return timed.results(), True
    except TimeLimit:
        return top.results(), False
    finally:
        if timed.timer is not None:
            timed.timer.cancel()


class _FilteredTimeLimit(TimeLimitCollector):
    """A time limit that also keeps only the documents of an allowed set (global numbers)."""

    def __init__(self, child: Any, allow: Any, timelimit: float) -> None:
        super().__init__(child, timelimit, use_alarm=False)
        self.allow = allow

    def collect_matches(self) -> None:
        child, allow = self.child, self.allow
        for sub_docnum in child.matches():
            if self.timedout:
                raise TimeLimit
            if allow is not None and child.offset + sub_docnum not in allow:
                continue
            child.collect(sub_docnum)


def _count(searcher: Any, q: wq.Query, fset: Any) -> int:
    """Exact number of documents matching ``q`` (within ``fset``); only for cheap queries."""
    n = 0
    for d in searcher.docs_for_query(q):
        if fset is None or d in fset:
            n += 1
    return n


def _first_matches(searcher: Any, q: wq.Query, fset: Any, limit: int,
                   seconds: float | None = None) -> tuple[list[int], bool]:
    """Up to ``limit`` matching doc numbers without scoring, newest segments first.

    Returns (docnums, exhausted). Used when a query matches so much that scoring every hit
    would make the latency tail: the user gets hits at once and a hint to narrow the query.
    """
    out: list[int] = []
    deadline = None if seconds is None else time.perf_counter() + seconds
    steps = 0
    for sub, offset in reversed(searcher.leaf_searchers()):
        m = q.matcher(sub, searcher.boolean_context())
        while m.is_active():
            d = offset + m.id()
            if fset is None or d in fset:
                out.append(d)
                if len(out) >= limit:
                    return out, False
            m.next()
            steps += 1
            if deadline is not None and steps % 256 == 0 and time.perf_counter() > deadline:
                return out, False  # few matches among very many candidates: stop, say so
    return out, True


def search(six: SearchIndex, q: str, filters: Filters | None = None, limit: int = 20) -> Result:
    """Ranked hits of ``q`` (at most ``limit``), with the number of matches (exact or estimated)."""
    if limit < 1 or limit > MAX_LIMIT:
        raise InputError(f"--limit 应在 1 到 {MAX_LIMIT} 之间。", "如 --limit 50。")
    filters = filters or Filters()
    node = parse(q)
    wquery = build(node)
    fquery = filters.query()
    searcher = six.searcher()
    gen = searcher.ixreader.generation()
    ckey = (id(six), gen, q, filters.key(), limit)
    cached = _RESULT_CACHE.get(ckey)
    if cached is not None:
        _RESULT_CACHE.move_to_end(ckey)
        return cached
    fset = None
    if fquery is not None:
        fkey = ("filter", filters.key())
        fset = six.filter_cache.get(fkey)
        if fset is None:
            fset = set(searcher.docs_for_query(fquery))
            six.filter_cache[fkey] = fset
    hits: list[Hit] = []
    bound = len(fset) if fset is not None else None
    if fset is not None and not fset:
        total, exact = 0, True  # the filters alone match nothing
    elif cost(searcher, wquery) <= SCORE_BUDGET:
        results, exact = _scored(searcher, wquery, fset, limit)
        for h in results:
            hits.append(_hit(h.fields(), float(h.score or 0.0)))
        # counted apart: a top-N collector's own count re-runs the query without the filter
        total = _count(searcher, wquery, fset) if exact else max(len(hits), _upper_bound(searcher, wquery, bound))
    else:
        docnums, exact = _first_matches(searcher, wquery, fset, limit, seconds=SCORE_SECONDS)
        hits = [_hit(searcher.stored_fields(d), 0.0) for d in docnums]
        total = len(docnums) if exact else max(len(docnums), _upper_bound(searcher, wquery, bound))
    res = Result(query=q, total=int(total), hits=hits, terms=terms_of(node), exact=exact)
    _RESULT_CACHE[ckey] = res
    if len(_RESULT_CACHE) > _RESULT_CACHE_SIZE:
        _RESULT_CACHE.popitem(last=False)
    return res


def matching_ids(six: SearchIndex, q: str, filters: Filters | None = None) -> set[str]:
    """Every matching id, unscored (recall checks, exports)."""
    filters = filters or Filters()
    wquery = build(parse(q))
    searcher = six.searcher()
    fquery = filters.query()
    fset = set(searcher.docs_for_query(fquery)) if fquery is not None else None
    docnums, _ = _first_matches(searcher, wquery, fset, 10**9)
    return {searcher.stored_fields(d)["id"] for d in docnums}


def _upper_bound(searcher: Any, q: wq.Query, within: int | None = None) -> int:
    n = _upper_bound_q(searcher, q)
    return n if within is None else min(n, within)


def _upper_bound_q(searcher: Any, q: wq.Query) -> int:
    if isinstance(q, wq.Term):
        return int(searcher.doc_frequency(q.fieldname, q.text))
    if isinstance(q, wq.Phrase | wq.And):
        subs = [wq.Term(q.fieldname, w) for w in q.words] if isinstance(q, wq.Phrase) else q.subqueries
        return min((_upper_bound_q(searcher, s) for s in subs), default=0)
    if isinstance(q, wq.AndNot):
        return _upper_bound_q(searcher, q.a)
    if isinstance(q, wq.Or):
        return min(int(searcher.doc_count()), sum(_upper_bound_q(searcher, s) for s in q.subqueries))
    return int(searcher.doc_count())


def _hit(f: dict[str, Any], score: float) -> Hit:
    return Hit(id=f["id"], entity=f.get("entity", ""), kind=f.get("kind", ""), title=f.get("title", ""),
               child=f.get("child", ""), date=f.get("date", ""), school=f.get("school", ""),
               status=f.get("status", ""), score=score)


# ---- snippets ---------------------------------------------------------------------------------

def snippet(text: str, terms: list[str], width: int = 80, mark: tuple[str, str] = ("【", "】")) -> str:
    """A window of ``text`` around the first query term, terms marked (match is case-insensitive)."""
    if not text:
        return ""
    flat = re.sub(r"\s+", " ", text).strip()
    needles = sorted({t.strip() for t in terms if t and t.strip()}, key=len, reverse=True)
    low = flat.lower()
    first = min((p for p in (low.find(n.lower()) for n in needles) if p >= 0), default=-1)
    if first < 0:
        return flat[:width] + ("…" if len(flat) > width else "")
    start = max(0, first - width // 3)
    end = min(len(flat), start + width)
    window = flat[start:end]
    if needles:
        pattern = re.compile("|".join(re.escape(n) for n in needles), re.IGNORECASE)
        window = pattern.sub(lambda m: f"{mark[0]}{m.group(0)}{mark[1]}", window)
    return ("…" if start > 0 else "") + window + ("…" if end < len(flat) else "")
