"""Chinese text analysis for the index: jieba words and CJK character bigrams.

* :class:`JiebaTokenizer` — jieba accurate-mode words numbered *sequentially* (position 0, 1,
  2, ...), so whoosh phrase queries work. ``jieba.analyse.ChineseAnalyzer`` uses character
  offsets as positions and emits overlapping search-mode words, which breaks phrases (docs/NOTES.md).
  ``rjieba`` (jieba-rs) gives the same words ~9x faster and needs no cache file; plain jieba is
  the fallback, with a private cache directory and quiet logging.
* :class:`BigramTokenizer` — runs of CJK characters become overlapping bigrams (plus the
  run's last character as a unigram at the last bigram's position), runs of ASCII letters and
  digits become one token. A phrase of query bigrams then matches exactly where the query is a
  substring of the text, whatever jieba thinks of unknown names and villages.

No dictionary of names is ever loaded from or written to disk.
"""

from __future__ import annotations

import os
import re
import struct
import unicodedata
from array import array
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import accumulate
from typing import Any

from whoosh.analysis import Token, Tokenizer
from whoosh.fields import TEXT
from whoosh.formats import Positions

_segmenter: Callable[[str], list[tuple[str, int, int]]] | None = None


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x20000 <= o <= 0x2FA1F
        or 0xF900 <= o <= 0xFAFF
        or o == 0x3007  # 〇
    )


def _is_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def normalize(text: str) -> str:
    """NFKC (full-width digits/letters to ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def _private_jieba_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "guanai", "jieba")
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _load_segmenter() -> Callable[[str], list[tuple[str, int, int]]]:
    global _segmenter
    if _segmenter is not None:
        return _segmenter
    try:
        import rjieba

        def seg_rust(text: str) -> list[tuple[str, int, int]]:
            return [(w, s, e) for w, s, e in rjieba.tokenize(text)]

        _segmenter = seg_rust
    except ImportError:  # pragma: no cover - rjieba is a declared dependency
        _segmenter = _jieba_python()
    return _segmenter


def _jieba_python() -> Callable[[str], list[tuple[str, int, int]]]:
    import logging
    import warnings

    with warnings.catch_warnings():
        # jieba imports pkg_resources, which warns with some setuptools versions
        warnings.simplefilter("ignore")
        import jieba

    jieba.setLogLevel(logging.WARNING)
    # jieba's default cache is a world-readable marshal file in the shared temp dir
    jieba.dt.tmp_dir = _private_jieba_dir()

    def seg_py(text: str) -> list[tuple[str, int, int]]:
        return [(w, s, e) for w, s, e in jieba.tokenize(text)]

    return seg_py


def jieba_words(text: str) -> list[str]:
    """Accurate-mode words of ``text`` (normalised), without spaces and punctuation."""
    return [w for w, _s, _e in _jieba_spans(normalize(text))]


def _jieba_spans(text: str) -> Iterator[tuple[str, int, int]]:
    for w, s, e in _load_segmenter()(text):
        if any(ch.isalnum() for ch in w):
            yield w, s, e


def bigram_spans(text: str, query: bool = False) -> list[tuple[str, int, int, int]]:
    """(token, position, start, end) of CJK bigrams and alphanumeric runs of normalised text.

    At index time a CJK run of n >= 2 characters gives n-1 bigrams plus its first character as a
    unigram at the first bigram's position and its last character as a unigram at the last
    bigram's position; a run of one character gives that unigram. At query time
    (``query=True``) runs of two or more give their bigrams only.
    """
    out: list[tuple[str, int, int, int]] = []
    pos = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if _is_cjk(ch):
            j = i
            while j < n and _is_cjk(text[j]):
                j += 1
            if j - i == 1:
                out.append((ch, pos, i, j))
                pos += 1
            else:
                if not query:
                    # the run's first character alone, so that a query ending in it right after
                    # a number or latin word ("0上" in "0上家") still matches
                    out.append((ch, pos, i, i + 1))
                for k in range(i, j - 1):
                    out.append((text[k : k + 2], pos, k, k + 2))
                    pos += 1
                if not query:
                    out.append((text[j - 1], pos - 1, j - 1, j))
            i = j
        elif _is_alnum(ch):
            j = i
            while j < n and _is_alnum(text[j]):
                j += 1
            out.append((text[i:j], pos, i, j))
            pos += 1
            i = j
        else:
            i += 1
    return out


# index-time fast paths: the same tokens and positions as the span functions above, computed
# with one regex pass and no per-character Python calls (analysis was half of indexing time)
_CJK_CLASS = "\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0002fa1f\uf900-\ufaff\u3007"
_RUN_RE = re.compile(f"([{_CJK_CLASS}]+)|[A-Za-z0-9]+")
_ALNUM_RE = re.compile(r"[^\W_]")  # str.isalnum() for one character
_HAS_ALNUM: dict[str, bool] = {}


def _add(poses: dict[str, list[int]], word: str, pos: int) -> None:
    lst = poses.get(word)
    if lst is None:
        poses[word] = [pos]
    elif lst[-1] != pos:
        lst.append(pos)


def bigram_positions(text: str) -> dict[str, list[int]]:
    """{token: positions} of normalised text at index time (as :func:`bigram_spans`)."""
    poses: dict[str, list[int]] = {}
    get = poses.get
    pos = 0
    for m in _RUN_RE.finditer(text):
        run = m.group(1)
        if run is None:
            _add(poses, m.group(0), pos)
            pos += 1
            continue
        n = len(run)
        if n == 1:
            _add(poses, run, pos)
            pos += 1
            continue
        _add(poses, run[0], pos)
        for k in range(n - 1):
            w = run[k : k + 2]
            lst = get(w)
            if lst is None:
                poses[w] = [pos + k]
            elif lst[-1] != pos + k:
                lst.append(pos + k)
        pos += n - 1
        _add(poses, run[-1], pos - 1)
    return poses


def jieba_positions(text: str) -> dict[str, list[int]]:
    """{word: positions} of normalised text (as :class:`JiebaTokenizer`)."""
    poses: dict[str, list[int]] = {}
    pos = 0
    keep = _HAS_ALNUM
    for w, _s, _e in _load_segmenter()(text):
        k = keep.get(w)
        if k is None:
            k = _ALNUM_RE.search(w) is not None
            if len(keep) < 200_000:
                keep[w] = k
        if k:
            lst = poses.get(w)
            if lst is None:
                poses[w] = [pos]
            elif lst[-1] != pos:
                lst.append(pos)
            pos += 1
    return poses


class _BaseTokenizer(Tokenizer):
    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def _spans(self, text: str, mode: str) -> list[tuple[str, int, int, int]]:
        raise NotImplementedError

    def positions(self, text: str) -> dict[str, list[int]]:
        """{token: positions} of normalised text at index time."""
        poses: dict[str, list[int]] = {}
        for word, pos, _s, _e in self._spans(text, ""):
            _add(poses, word, pos)
        return poses

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        text = normalize(value)
        for word, pos, s, e in self._spans(text, mode):
            t.text = word
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = word
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + s
                t.endchar = start_char + e
            yield t


class JiebaTokenizer(_BaseTokenizer):
    """jieba accurate-mode words with sequential positions."""

    def _spans(self, text: str, mode: str) -> list[tuple[str, int, int, int]]:
        return [(w, p, s, e) for p, (w, s, e) in enumerate(_jieba_spans(text))]

    def positions(self, text: str) -> dict[str, list[int]]:
        return jieba_positions(text)


class BigramTokenizer(_BaseTokenizer):
    """CJK character bigrams and alphanumeric runs (see :func:`bigram_spans`)."""

    def _spans(self, text: str, mode: str) -> list[tuple[str, int, int, int]]:
        return bigram_spans(text, query=(mode == "query"))

    def positions(self, text: str) -> dict[str, list[int]]:
        return bigram_positions(text)


def jieba_analyzer() -> JiebaTokenizer:
    return JiebaTokenizer()


def bigram_analyzer() -> BigramTokenizer:
    return BigramTokenizer()


@lru_cache(maxsize=4096)
def query_bigrams(text: str) -> tuple[str, ...]:
    """Query-side bigram tokens of a phrase (cached: the same words come back often)."""
    return tuple(t for t, _p, _s, _e in bigram_spans(normalize(text), query=True))


@lru_cache(maxsize=4096)
def query_words(text: str) -> tuple[str, ...]:
    return tuple(jieba_words(text))


_PACK_I = struct.Struct("=I").pack


class CompactPositions(Positions):
    """Positions stored as an array of 32-bit deltas.

    whoosh's ``Positions`` pickles a Python list per posting (~14 bytes for one position, and a
    ``pickle.loads`` per posting when a phrase is checked); here one position takes 4 bytes and
    decoding is one ``array.frombytes``. Analysis for our tokenizers skips Token objects.
    """

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Iterator[tuple[str, int, float, bytes]]:
        if not isinstance(analyzer, _BaseTokenizer):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        fb = self.field_boost
        for word, plist in analyzer.positions(normalize(value)).items():
            yield word, len(plist), len(plist) * fb, self.encode(plist)

    def encode(self, poslist: list[int]) -> bytes:
        if len(poslist) == 1:  # most postings: one occurrence
            return _PACK_I(poslist[0])
        deltas = [poslist[0]] + [b - a for a, b in zip(poslist, poslist[1:], strict=False)]
        return array("I", deltas).tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        a = array("I")
        a.frombytes(valuestring)
        return list(accumulate(a))

    def decode_frequency(self, valuestring: bytes) -> int:
        return len(valuestring) // 4

    def decode_weight(self, valuestring: bytes) -> float:
        return (len(valuestring) // 4) * self.field_boost


class PositionalText(TEXT):
    """TEXT field whose ``index()`` goes straight from our analysers to whoosh's posting tuples."""

    def index(self, value: Any, **kwargs: Any) -> Any:
        fmt = self.format
        ana = self.analyzer
        if not (isinstance(fmt, CompactPositions) and isinstance(ana, _BaseTokenizer) and isinstance(value, str)):
            return super().index(value, **kwargs)
        fb = fmt.field_boost
        enc = fmt.encode
        out = []
        for word, plist in ana.positions(normalize(value)).items():
            n = len(plist)
            out.append((word.encode("utf-8"), n, n * fb, _PACK_I(plist[0]) if n == 1 else enc(plist)))
        return out

    def index_into(self, value: str, terms: dict[str, list[Any]], docnum: int) -> int | None:
        """Add this document's postings to a writer's pool ({word: [doc, weight, vbytes, ...]}).

        Returns the field length, or None when the fast path does not apply (use ``index``).
        """
        fmt = self.format
        ana = self.analyzer
        if not (isinstance(fmt, CompactPositions) and isinstance(ana, _BaseTokenizer) and isinstance(value, str)):
            return None
        fb = fmt.field_boost
        enc = fmt.encode
        pack = _PACK_I
        get = terms.get
        length = 0
        for word, plist in ana.positions(normalize(value)).items():
            n = len(plist)
            length += n
            lst = get(word)
            if n == 1:
                if lst is None:
                    terms[word] = [docnum, fb, pack(plist[0])]
                else:
                    lst += (docnum, fb, pack(plist[0]))
            elif lst is None:
                terms[word] = [docnum, n * fb, enc(plist)]
            else:
                lst += (docnum, n * fb, enc(plist))
        return length
