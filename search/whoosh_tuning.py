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
from whoosh.writing import PostingPool, SegmentWriter

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


# ---- a leaner segment writer for whole batches ---------------------------------------------------
#
# whoosh's SegmentWriter makes a 5-tuple per posting, sizes it, sorts all of them, then feeds
# them one by one through FieldWriter.add_postings -> add_posting (about 13 us of Python per
# posting). Here postings go straight into one flat list per (field, term) as they are
# analysed; at flush the terms are sorted (tens of thousands of keys, not a million tuples)
# and each posting list is written as whole blocks. The bytes written are whoosh's own W3
# format: readers, merges and the sealed storage see no difference.


SMALL_BLOCK = 256  # pickled bytes below which a postings block is not compressed


class FastPool:
    """Postings grouped by field and term in memory: {field: {tbytes: [doc, weight, vbytes, ...]}}."""

    def __init__(self) -> None:
        self.fields: dict[str, dict[bytes, list[Any]]] = {}
        # postings of our analysed text fields, keyed by the word itself (encoded once, at flush)
        self.words: dict[str, dict[str, list[Any]]] = {}
        self.fieldnames: set[str] = set()

    def add(self, item: tuple[Any, ...]) -> None:
        # generic path (merges of older segments): item = (fieldname, tbytes, docnum, weight, vbytes)
        fieldname, tbytes, docnum, weight, vbytes = item
        if docnum < 0:  # whoosh's spelling hack: not a posting
            return
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
            self.fieldnames.add(fieldname)
        lst = terms.get(tbytes)
        if lst is None:
            terms[tbytes] = [docnum, weight, vbytes]
        else:
            lst += (docnum, weight, vbytes)

    def cleanup(self) -> None:
        self.fields = {}
        self.words = {}

    def merged_fields(self) -> dict[str, dict[bytes, list[Any]]]:
        """Byte-keyed postings of every field (word-keyed ones encoded; lists in doc order)."""
        out = self.fields
        for fieldname, words in self.words.items():
            terms = out.setdefault(fieldname, {})
            for w, flat in words.items():
                tb = w.encode("utf-8")
                old = terms.get(tb)
                if old is None:
                    terms[tb] = flat
                else:  # both paths wrote this term (a merge and new documents): sort by doc
                    triples = sorted(zip(old[0::3] + flat[0::3], old[1::3] + flat[1::3], old[2::3] + flat[2::3],
                                         strict=True), key=lambda t: t[0])
                    terms[tb] = [x for t in triples for x in t]
        self.words = {}
        return out


def _write_pool(fieldwriter: Any, schema: Any, pdr: Any, pool: FastPool) -> None:
    """Write every posting list of ``pool`` through a W3FieldWriter, block by block."""
    import zlib
    from array import array

    from whoosh.compat import dumps
    from whoosh.system import pack_ushort
    from whoosh.util.numeric import length_to_byte

    fields = pool.merged_fields()
    for fieldname in sorted(fields):
        terms = fields[fieldname]
        fieldobj = schema[fieldname]
        fieldwriter.start_field(fieldname, fieldobj)
        pw = fieldwriter._postwriter
        fmt = fieldobj.format
        fixed = fmt.fixed_value_size()
        blocklimit = pw._blocklimit
        comp = pw._compression
        postfile = pw._postfile
        lengths: list[int] | None = None
        if pdr is not None:
            n = pdr.doc_count_all()
            lengths = [pdr.doc_field_length(d, fieldname, 0) for d in range(n)]
        tindex = fieldwriter._tindex
        fieldid = fieldwriter._fieldid
        prefix = pack_ushort(fieldid)
        for tbytes in sorted(terms):
            flat = terms[tbytes]
            docs = flat[0::3]
            weights = flat[1::3]
            values = flat[2::3]
            ti = _w3.W3TermInfo()
            startoffset = postfile.tell()
            postfile.write(_w3.WHOOSH3_HEADER_MAGIC)
            total = len(docs)
            for start in range(0, total, blocklimit):
                bdocs = docs[start : start + blocklimit]
                bweights = weights[start : start + blocklimit]
                bvalues = [v for v in values[start : start + blocklimit] if v]
                maxweight = max(0, max(bweights))
                if lengths is not None:
                    bl = [lengths[d] for d in bdocs]
                    nz = [x for x in bl if x]
                    minlength = min(nz) if nz else None
                    maxlength = max(bl)
                else:
                    minlength, maxlength = None, 0
                # the same statistics W3TermInfo.add_block collects
                ti._weight += sum(array("f", bweights))
                ti._df += len(bdocs)
                if ti._minlength is None:
                    ti._minlength = minlength
                elif minlength is not None:
                    ti._minlength = min(ti._minlength, minlength)
                ti._maxlength = max(ti._maxlength, maxlength)
                ti._maxweight = max(ti._maxweight, maxweight)
                if ti._minid is None:
                    ti._minid = bdocs[0]
                ti._maxid = bdocs[-1]
                # W3PostingsWriter._mini_ids / _mini_weights / _mini_values
                ids = tuple([bdocs[0]] + [b - a for a, b in zip(bdocs, bdocs[1:], strict=False)])
                if all(w == 1.0 for w in bweights):
                    mw: Any = None
                else:
                    fw = array("f", bweights)  # whoosh stores weights as 32-bit floats
                    mw = fw[0] if all(w == fw[0] for w in fw) else tuple(fw)
                if fixed is None or fixed < 0:
                    vs: Any = tuple(bvalues)
                elif fixed == 0:
                    vs = None
                else:
                    vs = b"".join(bvalues)
                databytes = dumps((ids, mw, vs), 2)
                # zlib costs ~10 us per call whatever the size: small blocks (most terms of a
                # batch have a handful of postings) stay uncompressed; readers honour the
                # per-block flag. Level 1: 25% faster than 3 on a full block, 0.2% larger.
                bcomp = 1 if comp and len(databytes) >= SMALL_BLOCK else 0
                if bcomp:
                    databytes = zlib.compress(databytes, bcomp)
                infobytes = dumps((len(bdocs), bdocs[-1], maxweight, bcomp,
                                   length_to_byte(minlength), length_to_byte(maxlength)), 2)
                blocklength = len(infobytes) + len(databytes)
                if start + blocklimit >= total:
                    blocklength = -blocklength
                postfile.write_int(blocklength)
                postfile.write(infobytes)
                postfile.write(databytes)
            ti.set_extent(startoffset, postfile.tell() - startoffset)
            tindex.add(prefix + tbytes, ti.to_bytes())
        fieldwriter.finish_field()


class FastSegmentWriter(SegmentWriter):
    """SegmentWriter with :class:`FastPool` and block-wise posting output (same file format)."""

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        self.pool = FastPool()

    def add_document(self, **fields: Any) -> None:
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        pool_fields = self.pool.fields
        pool_words = self.pool.words
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                fast = getattr(field, "index_into", None)
                flen = None
                if fast is not None and field.indexed:
                    words = pool_words.get(fieldname)
                    if words is None:
                        words = pool_words[fieldname] = {}
                        self.pool.fieldnames.add(fieldname)
                    flen = fast(value, words, docnum)
                if flen is not None:
                    length = flen if field.scorable else 0
                elif field.indexed:
                    terms = pool_fields.get(fieldname)
                    if terms is None:
                        terms = pool_fields[fieldname] = {}
                        self.pool.fieldnames.add(fieldname)
                    scorable = field.scorable
                    for tbytes, freq, weight, vbytes in field.index(value):
                        if scorable:
                            length += freq
                        lst = terms.get(tbytes)
                        if lst is None:
                            terms[tbytes] = [docnum, weight, vbytes]
                        else:
                            lst += (docnum, weight, vbytes)
                if field.separate_spelling() or field.vector:
                    raise NotImplementedError("spelling/vector fields are not used by this schema")
                sv = value if field.stored else None
                perdocwriter.add_field(fieldname, field, sv, length)
                column = field.column_type
                if column:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(value))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        _write_pool(self.fieldwriter, self.schema, pdr, self.pool)
        self.pool.cleanup()
        self.fieldwriter.close()
        if pdr:
            pdr.close()
