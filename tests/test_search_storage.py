"""Sealed whoosh storage: round trips, tampering, truncation, swaps, temp files, TOC pickle."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from search_helpers import scan_plaintext

from bench.corpus import make_corpus
from guanai.base.errors import IntegrityError
from guanai.search.index import SearchIndex
from guanai.search.query import matching_ids
from guanai.search.storage import MemoryTempStorage, SealedStorage, open_bytes, seal_bytes

KEY = bytes(range(32))


def test_seal_round_trip_and_binding() -> None:
    blob = seal_bytes(KEY, "ix1", "a.seg", b"hello")
    assert open_bytes(KEY, "ix1", "a.seg", blob, "/x") == b"hello"
    with pytest.raises(IntegrityError, match="b.seg"):
        open_bytes(KEY, "ix1", "b.seg", blob, "/x")  # renamed
    with pytest.raises(IntegrityError, match="a.seg"):
        open_bytes(KEY, "ix2", "a.seg", blob, "/x")  # other index
    with pytest.raises(IntegrityError):
        open_bytes(bytes(32), "ix1", "a.seg", blob, "/x")  # wrong key
    with pytest.raises(IntegrityError, match="截断"):
        open_bytes(KEY, "ix1", "a.seg", blob[:20], "/x")


def test_storage_files_are_sealed_and_named_in_errors(tmp_path: Path) -> None:
    st = SealedStorage(tmp_path, KEY, "ix")
    f = st.create_file("x.bin")
    f.write(b"secret-\xe5\xbc\xa0")
    f.close()
    raw = (tmp_path / "x.bin").read_bytes()
    assert b"secret" not in raw and raw.startswith(b"GIX1")
    assert bytes(st.open_file("x.bin").read()) == b"secret-\xe5\xbc\xa0"
    # posting runs are closed through raw_file(): the content must still be sealed and kept
    g = st.create_file("run.bin")
    g.raw_file().write(b"run-data")
    g.raw_file().close()
    assert bytes(st.open_file("run.bin").read()) == b"run-data"
    st.rename_file("run.bin", "renamed.bin")
    assert bytes(st.open_file("renamed.bin").read()) == b"run-data"
    assert not (tmp_path / "run.bin").exists()
    # flip one byte
    data = bytearray((tmp_path / "x.bin").read_bytes())
    data[-5] ^= 1
    (tmp_path / "x.bin").write_bytes(bytes(data))
    with pytest.raises(IntegrityError) as ei:
        st.open_file("x.bin")
    assert str(tmp_path) in ei.value.message and "x.bin" in ei.value.message
    assert "guanai reindex" in (ei.value.hint or "")


def test_temp_storage_stays_in_memory(tmp_path: Path) -> None:
    st = SealedStorage(tmp_path, KEY, "ix")
    tmp = st.temp_storage("MAIN.tmp")
    assert isinstance(tmp, MemoryTempStorage)
    f = tmp.create_file("a.run")
    f.raw_file().write(b"plain posting run")
    f.raw_file().close()
    assert bytes(tmp.open_file("a.run").read()) == b"plain posting run"
    assert isinstance(tmp.temp_storage(), MemoryTempStorage)
    assert list(tmp_path.iterdir()) == []


def test_sweep_removes_crash_leftovers(tmp_path: Path) -> None:
    st = SealedStorage(tmp_path, KEY, "ix")
    (tmp_path / "_MAIN_3.toc.1732838400.25").write_bytes(b"x")
    (tmp_path / "MAIN_abc.seg.1a2b3c4d.gtmp").write_bytes(b"x")
    (tmp_path / "MAIN.tmp").mkdir()
    (tmp_path / "MAIN.tmp" / "abc.run").write_bytes(b"plain")
    (tmp_path / "keep.seg").write_bytes(b"x")
    removed = st.sweep()
    assert sorted(removed) == sorted(["_MAIN_3.toc.1732838400.25", "MAIN_abc.seg.1a2b3c4d.gtmp", "MAIN.tmp"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.seg"]


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch /tmp/guanai-pwned-by-toc",))


def test_toc_authenticated_before_unpickling(tmp_path: Path) -> None:
    six = SearchIndex(tmp_path / "index", KEY, "arc")
    six.build_from(make_corpus(20).docs)
    toc = next(p for p in (tmp_path / "index").iterdir() if p.name.endswith(".toc"))
    # an attacker without the key writes a TOC carrying a malicious pickle
    evil = SealedStorage(tmp_path / "index", bytes(32), "whatever")
    evil.write_plain(toc.name, b"\x04" + pickle.dumps(_Boom()))
    six2 = SearchIndex(tmp_path / "index", KEY, "arc")
    with pytest.raises(IntegrityError, match=toc.name):
        matching_ids(six2, "家访")
    assert not Path("/tmp/guanai-pwned-by-toc").exists()


def test_index_dir_holds_no_plaintext_and_no_temp_files(tmp_path: Path) -> None:
    corpus = make_corpus(300)
    six = SearchIndex(tmp_path / "index", KEY, "arc")
    six.build_from(corpus.docs)
    values: list[str] = []
    for c in corpus.children[:60]:
        values += [c.name, c.id_number, c.student_id, c.village, c.guardian]
    values += ["留守儿童", "困境儿童", "心理疏导", "与父母每周视频通话一次"]
    assert scan_plaintext(tmp_path / "index", values) == []
    names = sorted(p.name for p in (tmp_path / "index").iterdir())
    assert not any(n.endswith((".tmp", ".gtmp")) for n in names), names
    assert all((tmp_path / "index" / n).is_file() for n in names)
    # and the index works
    assert len(matching_ids(six, corpus.children[5].name)) >= 1


def test_one_writer_at_a_time_and_searcher_refresh(tmp_path: Path) -> None:
    from guanai.base.errors import BusyError
    from guanai.search.index import IndexDoc

    corpus = make_corpus(30)
    six = SearchIndex(tmp_path / "index", KEY, "arc")
    six.build_from(corpus.docs, generation=1)
    other = SearchIndex(tmp_path / "index", KEY, "arc")
    with six.writer_lock():
        with pytest.raises(BusyError) as ei:
            with other.writer_lock(timeout=0.2):
                pass
        assert "索引" in ei.value.message and ei.value.hint
    s1 = six.searcher()
    assert six.searcher() is s1  # long-lived: no reopen while nothing changed
    doc = IndexDoc(id="f" * 32, entity="document", kind="visit", text="新增的紫色气球记录", title="新记录")
    other.update_docs([doc], generation=2)
    assert matching_ids(six, "紫色气球") == {"f" * 32}  # refreshed, not reopened by hand
    state = six.read_state()
    assert state is not None and state.generation == 2 and state.count == 31
    other.update_docs(["f" * 32], generation=3)  # a bare id deletes
    assert matching_ids(six, "紫色气球") == set()


def test_large_files_tamper_and_truncation(tmp_path: Path) -> None:
    """Files from 1 MiB up are decrypted from a map of the ciphertext: same checks apply."""
    st = SealedStorage(tmp_path, KEY, "ix")
    payload = os.urandom(3 << 20)
    st.write_plain("big.seg", payload)
    assert st.read_plain("big.seg") == payload
    raw = bytearray((tmp_path / "big.seg").read_bytes())
    raw[len(raw) // 2] ^= 1
    (tmp_path / "big.seg").write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="big.seg"):
        st.read_plain("big.seg")
    st.write_plain("big.seg", payload)
    (tmp_path / "big.seg").write_bytes((tmp_path / "big.seg").read_bytes()[: 2 << 20])
    with pytest.raises(IntegrityError, match="big.seg"):
        st.read_plain("big.seg")
