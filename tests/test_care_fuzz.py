"""Fuzzed input: whatever arrives, the only failure is a clear Chinese InputError (never a crash)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guanai.base.errors import InputError
from guanai.care.model import ChildRecord, RecordError, parse_child
from guanai.care.roster import (
    Roster,
    parse_record_bytes,
    parse_roster,
    records_from_data,
    roster_csv_bytes,
    roster_xlsx_bytes,
)
from guanai.care.synth import example_dict, synth_children


def read_roster(path: Path) -> Roster:
    """The CLI's way: the file's bytes and its name."""
    return parse_roster(Path(path).read_bytes(), Path(path).name)


_FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FIELD_KEYS = list(example_dict())


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


@_FUZZ
@given(patch=st.dictionaries(st.sampled_from(FIELD_KEYS + ["父亲", "母亲", "x"]), json_values, max_size=6))
def test_parse_child_with_wrong_types_never_crashes(patch: dict[str, Any]) -> None:
    data = {**example_dict(), **patch}
    try:
        rec = parse_child(data, "fuzz.json")
    except RecordError as err:
        # the explanation after the field name is Chinese too (no raw pydantic English)
        assert err.messages and all(_has_chinese(p.split("：", 1)[-1]) for p in err.messages), err.messages
        assert "fuzz.json" in err.message
    else:
        assert isinstance(rec, ChildRecord)
        assert ChildRecord.model_validate(rec.to_json_dict()) == rec


@_FUZZ
@given(data=json_values)
def test_records_from_arbitrary_data(data: Any) -> None:
    try:
        records_from_data(data, "x.json")
    except InputError as err:
        assert _has_chinese(err.message)


@_FUZZ
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".json", ".yaml"]))
def test_record_bytes_never_crash(raw: bytes, suffix: str) -> None:
    try:
        parse_record_bytes(raw, "f" + suffix)
    except InputError as err:
        assert _has_chinese(err.message)


_XLSX = roster_xlsx_bytes(synth_children(4, seed=3))
_CSV = roster_csv_bytes(synth_children(4, seed=3))


def _mutate(base: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(base)
    for pos, val in edits:
        buf[pos % len(buf)] = val
    if cut is not None:
        buf = buf[: cut % len(buf)]
    return bytes(buf)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
       cut=st.none() | st.integers(0, 10**6), kind=st.sampled_from(["xlsx", "csv"]))
def test_corrupted_rosters_fail_cleanly(edits: list[tuple[int, int]], cut: int | None, kind: str) -> None:
    data = _mutate(_XLSX if kind == "xlsx" else _CSV, edits, cut)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"r.{kind}"
        path.write_bytes(data)
        try:
            roster = read_roster(path)
        except InputError as err:
            assert _has_chinese(err.message)
        else:
            for e in roster.errors:
                assert e.row >= 2 and _has_chinese(e.message)
            assert len(roster.records) + len(roster.errors) == roster.total_rows
