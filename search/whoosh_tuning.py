"""Hot-path replacements for whoosh's indexing loop (whoosh-reloaded 2.7.5 is pinned: we own it).

Measured with cProfile on the synthetic corpus (~190 postings per document), these three spots
took about a quarter of indexing time: a column lookup for the field length of *every* posting,
type assertions per posting, and a size estimate per pooled posting. The replacements compute
the same values; the recall and round-trip tests run through them.
"""

from __future__ import annotations

from typing import Any

from whoosh.codec import base as _base
from whoosh.codec import whoosh3 as _w3
from whoosh.writing import PostingPool

_applied = False


class _LengthCache:
    """Field lengths per document, read once per field instead of once per posting."""

    def __init__(self, pdr: Any) -> None:
        self._pdr = pdr
        self._cache: dict[str, list[int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        arr = self._cache.get(fieldname)
        if arr is None:
            n = self._pdr.doc_count_all()
            arr = [self._pdr.doc_field_length(d, fieldname, default) for d in range(n)]
            self._cache[fieldname] = arr
        return arr[docnum] if docnum < len(arr) else self._pdr.doc_field_length(docnum, fieldname, default)


def _pool_add(self: Any, item: tuple[Any, ...]) -> None:
    # item = (fieldname, tbytes, docnum, weight, vbytes); same budget formula, fewer steps
    self.fieldnames.add(item[0])
    self.currentsize += 172 + len(item[0]) + 2 * len(item[1]) + len(item[4] or b"")
    if self.currentsize > self.limit:
        self.save()
    self.current.append(item)


def _add_posting(self: Any, id_: Any, weight: float, vbytes: bytes, length: int | None = None) -> None:
    if len(self._ids) >= self._blocklimit:
        self._write_block()
    self._ids.append(id_)
    self._weights.append(weight)
    if weight > self._maxweight:
        self._maxweight = weight
    if vbytes:
        self._values.append(vbytes)
    if length:
        minlength = self._minlength
        if minlength is None or length < minlength:
            self._minlength = length
        if length > self._maxlength:
            self._maxlength = length


def apply() -> None:
    global _applied
    if _applied:
        return
    orig_add_postings = _base.FieldWriter.add_postings

    def add_postings(self: Any, schema: Any, lengths: Any, items: Any) -> Any:
        return orig_add_postings(self, schema, _LengthCache(lengths) if lengths else lengths, items)

    _base.FieldWriter.add_postings = add_postings
    PostingPool.add = _pool_add
    _w3.W3PostingsWriter.add_posting = _add_posting
    _applied = True
