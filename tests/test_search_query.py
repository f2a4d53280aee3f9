"""Query parsing and recall/ranking on a synthetic corpus (truth: exact substring)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus import Corpus, make_corpus
from guanai.base.errors import InputError
from guanai.search import query as Q
from guanai.search.analysis import bigram_spans, jieba_words, normalize, query_bigrams
from guanai.search.index import SearchIndex

KEY = bytes(range(32))


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Corpus, SearchIndex]:
    corpus = make_corpus(1500, seed=7)
    six = SearchIndex(Path(tmp_path_factory.mktemp("ix")) / "index", KEY, "arc")
    six.build_from(corpus.docs)
    return corpus, six


def truth(corpus: Corpus, needle: str) -> set[str]:
    n = normalize(needle)
    return {d.id for d in corpus.docs if n in normalize(d.text)}


def check_recall(corpus: Corpus, six: SearchIndex, queries: list[str]) -> None:
    assert queries
    for q in queries:
        expected = truth(corpus, q)
        assert expected, q
        got = Q.matching_ids(six, q)
        assert expected <= got, f"{q}: missed {len(expected - got)} of {len(expected)}"
        assert got <= expected, f"{q}: {len(got - expected)} false hits"


def test_recall_names_two_and_three_chars(corpus_index: tuple[Corpus, SearchIndex]) -> None:
    corpus, six = corpus_index
    two = [c.name for c in corpus.children if len(c.name) == 2][:15]
    three = [c.name for c in corpus.children if len(c.name) == 3][:15]
    assert len(two) >= 5 and len(three) >= 5
    check_recall(corpus, six, two + three)


def test_recall_id_numbers_ending_in_x_and_student_ids(corpus_index: tuple[Corpus, SearchIndex]) -> None:
    corpus, six = corpus_index
    xs = [c.id_number for c in corpus.children if c.id_number.endswith("X")][:10]
    assert "34052419800101001X" in xs and len(xs) >= 3
    check_recall(corpus, six, xs + [x.lower() for x in xs[:2]])
    check_recall(corpus, six, [c.student_id for c in corpus.children[:10]])
    # field syntax hits the exact field
    hits = Q.search(six, "身份证号:34052419800101001x", limit=50)
    assert {h.id for h in hits.hits} == truth(corpus, "34052419800101001X")


def test_recall_villages_phrases_and_mixed(corpus_index: tuple[Corpus, SearchIndex]) -> None:
    corpus, six = corpus_index
    villages = sorted({c.village for c in corpus.children[:40]}) + ["上河家村"]
    check_recall(corpus, six, villages)
    phrases = ['"与父母每周视频通话一次"', '"经劝返后已正常上学"', '"班主任已安排心理疏导"', "监护能力一般"]
    for p in phrases:
        expected = truth(corpus, p.strip('"'))
        assert expected and Q.matching_ids(six, p) == expected, p
    check_recall(corpus, six, ["2021年3月", "3年级2班", "村委会已登记危房改造需求"])


def test_exact_name_outranks_longer_name(corpus_index: tuple[Corpus, SearchIndex]) -> None:
    corpus, six = corpus_index
    short = next(c for c in corpus.children if c.name == "韩思")
    longer = next(c for c in corpus.children if c.name == "韩思雨")
    res = Q.search(six, "韩思", limit=50)
    own = [h for h in res.hits if h.child == short.id]
    assert own and any(h.child == longer.id for h in res.hits)  # the longer name is found too ...
    first_other = min(i for i, h in enumerate(res.hits) if h.child != short.id)
    assert first_other == len(own)  # ... but every exact-name hit comes first
    assert Q.search(six, "韩思雨", limit=50).hits[0].child == longer.id


def test_boolean_operators_and_filters(corpus_index: tuple[Corpus, SearchIndex]) -> None:
    corpus, six = corpus_index
    a, b = "数学成绩有所提高", "本学期无缺课情况"
    ta, tb = truth(corpus, a), truth(corpus, b)
    assert Q.matching_ids(six, f"{a} AND {b}") == ta & tb
    assert Q.matching_ids(six, f"{a} OR {b}") == ta | tb
    assert Q.matching_ids(six, f"{a} NOT {b}") == ta - tb
    assert Q.matching_ids(six, f"{a} -{b}") == ta - tb
    assert Q.matching_ids(six, f"({a} 或 {b}) 与 非 上海") == (ta | tb) - truth(corpus, "上海")
    kind = Q.Filters(kind="visit", date_from="2022-01-01", date_to="2022-12-31")
    got = Q.matching_ids(six, a, kind)
    want = {d.id for d in corpus.docs if d.id in ta and d.kind == "visit" and "2022-01-01" <= d.date <= "2022-12-31"}
    assert got == want and want
    cat = Q.Filters(category="留守儿童", status="在册")
    want = {d.id for d in corpus.docs if d.id in ta and "留守儿童" in d.categories and d.status == "在册"}
    assert Q.matching_ids(six, a, cat) == want and want
    res = Q.search(six, a, kind, limit=5)
    assert len(res.hits) == 5 and all(h.kind == "visit" for h in res.hits)


def test_bounded_path_returns_true_hits(corpus_index: tuple[Corpus, SearchIndex],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, six = corpus_index
    monkeypatch.setattr(Q, "SCORE_BUDGET", 0)
    Q._RESULT_CACHE.clear()
    res = Q.search(six, "与父母每周视频通话一次", limit=7)
    expected = truth(corpus, "与父母每周视频通话一次")
    assert len(res.hits) == 7 and {h.id for h in res.hits} <= expected
    assert not res.exact and res.total >= len(expected)


@pytest.mark.parametrize("bad, fragment", [
    ('"上河家村', "引号"),
    ("(韩思 OR 韩梅", "括号"),
    ("韩思)", "右括号"),
    ("AND 家访", "缺少检索词"),
    ("家访 OR", "缺少检索词"),
    ("foo:bar", "字段"),
    ("姓名:", "缺少值"),
    ("日期:2024/03/01", "日期"),
    ("，，。", "没有可检索"),
    ("", "为空"),
    ("家" * 600, "过长"),
])
def test_unreadable_queries_get_message_and_hint(corpus_index: tuple[Corpus, SearchIndex], bad: str,
                                                  fragment: str) -> None:
    _corpus, six = corpus_index
    with pytest.raises(InputError) as ei:
        Q.search(six, bad)
    assert fragment in ei.value.message
    assert ei.value.hint


def test_limit_is_bounded(corpus_index: tuple[Corpus, SearchIndex]) -> None:
    with pytest.raises(InputError, match="limit"):
        Q.search(corpus_index[1], "家访", limit=0)


def test_snippet_marks_terms() -> None:
    text = "2024年3月5日，帮扶教师到上河家村韩思雨家中家访。" * 3
    s = Q.snippet(text, ["韩思雨", "家访"], width=40)
    assert "【韩思雨】" in s and "【家访】" in s and len(s) <= 40 + 20


def test_jieba_positions_are_sequential() -> None:
    from guanai.search.analysis import JiebaTokenizer

    toks = [(t.text, t.pos) for t in JiebaTokenizer()("萧县上河家村韩思雨的家访记录", positions=True)]
    assert [p for _t, p in toks] == list(range(len(toks)))
    assert "家访" in [t for t, _p in toks]


def test_rjieba_tokens_equal_jieba() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
    import rjieba

    jieba.setLogLevel(60)
    for text in ["萧县上河家村韩思雨的家访记录2016年9月", "孩子学习认真，与父母每周视频通话一次。",
                 "父母在上海务工，由祖母照看；经劝返后已正常上学。"]:
        assert rjieba.cut(text) == jieba.lcut(text)
    assert jieba_words("韩思雨，家访") == ["韩思雨", "家访"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="上河家村韩思雨访记录年月0123456789Xx ，", min_size=1, max_size=30), st.data())
def test_bigram_query_is_substring_match(text: str, data: st.DataObject) -> None:
    """Property: query bigrams of any substring occur at consecutive positions in the text's spans."""
    norm = normalize(text)
    i = data.draw(st.integers(0, len(norm) - 1))
    j = data.draw(st.integers(i + 1, len(norm)))
    sub = norm[i:j]
    q = list(query_bigrams(sub))
    if not q or not sub.strip() or (sub[0].isascii() and sub[0].isalnum() and i > 0 and norm[i - 1].isascii()
                                    and norm[i - 1].isalnum()) or (sub[-1].isascii() and sub[-1].isalnum()
                                                                   and j < len(norm) and norm[j].isascii()
                                                                   and norm[j].isalnum()):
        return  # numbers/latin words match whole, not in part (documented)
    by_pos: dict[int, set[str]] = {}
    for tok, pos, _s, _e in bigram_spans(norm):
        by_pos.setdefault(pos, set()).add(tok)
    if len(q) == 1 and len(q[0]) == 1 and not q[0].isascii():
        assert any(any(t.startswith(q[0]) for t in toks) for toks in by_pos.values())
        return
    assert any(all(q[k] in by_pos.get(p + k, set()) for k in range(len(q))) for p in by_pos), (text, sub, q)


def test_jieba_field_phrase_and_word(corpus_index: tuple[Corpus, SearchIndex]) -> None:
    """正文: queries use the jieba field: phrases by word positions, words as whole words."""
    corpus, six = corpus_index
    expected = truth(corpus, "与父母每周视频通话一次")
    assert Q.matching_ids(six, '正文:"与父母每周视频通话一次"') == expected
    # a whole jieba word matches; a name inside a longer name does not (word, not substring)
    longer = next(c for c in corpus.children if c.name == "韩思雨")
    got = Q.matching_ids(six, "正文:韩思雨")
    assert got == {d.id for d in corpus.docs if d.child == longer.id}
    assert Q.matching_ids(six, "正文:韩思") & got == set()


def test_time_limit_bounds_the_tail(corpus_index: tuple[Corpus, SearchIndex],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With no time left, both paths stop early, say so, and return only true hits."""
    from whoosh.collectors import TimeLimitCollector

    corpus, six = corpus_index
    monkeypatch.setattr(Q, "SCORE_SECONDS", 0.0)
    orig_prepare = TimeLimitCollector.prepare

    def expired(self: TimeLimitCollector, *args: object) -> None:
        orig_prepare(self, *args)
        self.timedout = True  # deterministic: the timer has already fired

    monkeypatch.setattr(TimeLimitCollector, "prepare", expired)
    for budget in (10**9, 0):  # scored path, then the unscored one
        monkeypatch.setattr(Q, "SCORE_BUDGET", budget)
        Q._RESULT_CACHE.clear()
        res = Q.search(six, "学习认真", limit=10)
        want = truth(corpus, "学习认真")
        assert {h.id for h in res.hits} <= want
        assert not res.exact and res.total >= len(want) > 10
