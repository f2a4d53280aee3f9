"""The fast indexing path: same postings as whoosh's own writer, same tokens, parallel = serial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import SegmentWriter

from bench.corpus import make_corpus
from guanai.search import index as sindex
from guanai.search import query as Q
from guanai.search.analysis import (
    _add,
    _jieba_spans,
    bigram_positions,
    bigram_spans,
    jieba_positions,
    normalize,
)
from guanai.search.index import SearchIndex
from guanai.search.storage import SealedStorage

KEY = bytes(range(32))


class _Plain(FileStorage):
    """Unsealed twin (so two builds can be compared posting by posting)."""

    def __init__(self, path: Any, key: bytes, index_id: str, readonly: bool = False) -> None:
        super().__init__(str(path), readonly=readonly)

    def read_plain(self, name: str) -> bytes:
        with open(self._fpath(name), "rb") as f:
            return f.read()

    def write_plain(self, name: str, data: bytes) -> None:
        with open(self._fpath(name), "wb") as f:
            f.write(data)

    def sweep(self) -> list[str]:
        return []


def _dump(six: SearchIndex) -> dict[Any, Any]:
    s = six.searcher()
    r = s.reader()
    out: dict[Any, Any] = {}
    for fn in sorted(r.indexed_field_names()):
        for t in r.lexicon(fn):
            ti = r.term_info(fn, t)
            m = r.postings(fn, t)
            posts = []
            while m.is_active():
                posts.append((m.id(), m.weight(), m.value()))
                m.next()
            out[(fn, t)] = (ti.weight(), ti.doc_frequency(), ti.min_length(), ti.max_length(),
                            ti.max_weight(), ti.min_id(), ti.max_id(), posts)
        out[("len", fn)] = [r.doc_field_length(d, fn) for d in range(r.doc_count_all())]
    out["stored"] = list(s.all_stored_fields())
    return out


def test_fast_writer_writes_whooshs_postings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Terms with more than one block (> 128 postings), every field, lengths and statistics."""
    docs = make_corpus(400, seed=3).docs
    monkeypatch.setattr(sindex, "PROCS", 1)
    fast = SearchIndex(tmp_path / "fast", KEY, "a", storage_cls=_Plain)
    fast.build_from(docs)
    monkeypatch.setattr(sindex, "FastSegmentWriter", SegmentWriter)
    ref = SearchIndex(tmp_path / "ref", KEY, "a", storage_cls=_Plain)
    ref.build_from(docs)
    a, b = _dump(ref), _dump(fast)
    assert any(len(v[-1]) > 128 for k, v in a.items() if isinstance(k, tuple) and k[0] == "bigram")
    assert a == b


_ALPHABET = "上河家村韩思雨与父母每周视频通话一次0123456789abcXYZ ，。、_-\u3007\U00020001\uf900ｶＡ１é\n"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_fast_positions_equal_span_tokenizers(text: str) -> None:
    t = normalize(text)
    bigrams: dict[str, list[int]] = {}
    for w, pos, _s, _e in bigram_spans(t):
        _add(bigrams, w, pos)
    words: dict[str, list[int]] = {}
    for pos, (w, _s, _e) in enumerate(_jieba_spans(t)):
        _add(words, w, pos)
    assert bigram_positions(t) == bigrams
    assert jieba_positions(t) == words


def test_parallel_build_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes write sealed segments; the index answers exactly like a serial build."""
    corpus = make_corpus(600, seed=5)
    monkeypatch.setattr(sindex, "BATCH", 150)
    monkeypatch.setattr(sindex, "PROCS", 2)
    par = SearchIndex(tmp_path / "par", KEY, "a")
    assert par.build_from(corpus.docs) == 600
    assert len(par.searcher().ixreader.leaf_readers()) == 4  # one sealed segment per batch
    assert par.verify() == []
    # no temp file left (ours end in .gtmp; whoosh's are *.tmp dirs and _MAIN_n.toc.<n>); segment
    # names are random and may well hold "tmp"
    from guanai.search.storage import _WHOOSH_TOC_TMP, TMP_SUFFIX

    assert not [p.name for p in (tmp_path / "par").iterdir()
                if p.name.endswith((TMP_SUFFIX, ".tmp")) or _WHOOSH_TOC_TMP.match(p.name)]
    monkeypatch.setattr(sindex, "PROCS", 1)
    ser = SearchIndex(tmp_path / "ser", KEY, "a")
    ser.build_from(corpus.docs)
    for q in ["韩思", "韩思雨", "上河家村", '"与父母每周视频通话一次"', "34052419800101001X", "正文:韩思雨", "学习 AND 安全"]:
        assert Q.matching_ids(par, q) == Q.matching_ids(ser, q), q
    assert par.doc_count() == ser.doc_count() == 600
    # an incremental update on top of worker segments
    d = corpus.docs[0]
    d.text += " 新增内容甲乙丙"
    par.update_docs([d], generation=1)
    assert Q.matching_ids(par, "甲乙丙") == {d.id}
    assert par.doc_count() == 600
    assert isinstance(par.storage(), SealedStorage)


def test_parallel_build_with_shared_disk_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain FileStorage (the benchmark's twin) gives every writer the same MAIN.tmp directory."""
    corpus = make_corpus(300, seed=9)
    monkeypatch.setattr(sindex, "BATCH", 60)
    monkeypatch.setattr(sindex, "PROCS", 2)
    six = SearchIndex(tmp_path / "plain", KEY, "a", storage_cls=_Plain)
    assert six.build_from(corpus.docs) == 300
    assert six.doc_count() == 300
    assert Q.matching_ids(six, "韩思雨") == {d.id for d in corpus.docs if "韩思雨" in d.text}
