"""Search filters narrow the hits *and* the total, alone and combined; unknown values are refused.

The corpus has several kinds, children (grades, statuses, categories, two schools) and dates;
every expectation is computed from the corpus itself, not from the index.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from search_helpers import DOCX

from guanai.archive.store import Archive
from guanai.base.errors import InputError
from guanai.cli.main import cli
from guanai.search import index as sindex
from guanai.search.api import make_filters, run_search

WORD = "关爱随访"  # in every document's text, in no child record
KINDS = ("home-visit", "care-record", "persuasion-notice", "attachment")
OTHER_SCHOOL = "3413220099"


@pytest.fixture(autouse=True)
def _fresh_index_cache() -> Iterator[None]:
    sindex.reset_cache()
    yield
    sindex.reset_cache()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from guanai.archive.store import init_archive
    from guanai.care.rules import classify
    from guanai.care.synth import synth_children

    path = tmp_path_factory.mktemp("filters") / "a"
    pw = "筛选测试-口令-2026"
    init_archive(path, school_code="3413220001", school_name="萧县龙城镇中心小学", passphrase=pw, admin="admin")
    kids = synth_children(6, seed=21)
    docs: list[dict[str, Any]] = []
    children: dict[str, dict[str, Any]] = {}
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        for i, k in enumerate(kids):
            cid = arc.add_child(k)
            for j in range(4):
                kind = KINDS[(i + j) % len(KINDS)]
                date = dt.date(2024, 1 + (i + 2 * j) % 6, 1 + (3 * i + j) % 27).isoformat()
                did = arc.put_document(kind=kind, title=f"{k.name}{kind}{j}", content=DOCX, filename=f"d{j}.docx",
                                       mime="application/octet-stream", child_id=cid,
                                       text=f"{date} {WORD} {k.name} 第{j}份", doc_date=date)
                docs.append({"id": did, "kind": kind, "child": cid, "date": date})
        # no child: a school-wide document
        did = arc.put_document(kind="attachment", title="全校安全通知", content=DOCX, filename="n.docx",
                               mime="application/octet-stream", text=f"{WORD} 全校", doc_date="2024-03-15")
        docs.append({"id": did, "kind": "attachment", "child": "", "date": "2024-03-15"})
        entries = arc.list_children()
        arc.set_child_status(entries[1].id, "转出", "转学")
        arc.set_child_status(entries[2].id, "存档备查", "父母返乡")
        # a child counted under another school (as in a county archive after a transfer)
        with arc.transaction():  # row MACs and set digests follow the change (as a transfer import's would)
            arc.conn.execute("UPDATE children SET school_code=? WHERE id=?", (OTHER_SCHOOL, entries[3].id))
        for e in arc.list_children():
            cats = [c.name for c in classify(e.record, dt.date.today())] + list(e.record.hardship or [])
            children[e.id] = {"status": e.status, "school": e.school_code, "categories": cats, "name": e.record.name}
    for d in docs:
        c = children.get(d["child"])
        d["status"] = c["status"] if c else ""
        d["school"] = c["school"] if c else "3413220001"
        d["categories"] = c["categories"] if c else []
    return {"path": path, "pw": pw, "docs": docs, "children": children}


def _expected(corpus: dict[str, Any], f: dict[str, str]) -> set[str]:
    out = set()
    for d in corpus["docs"]:
        if "kind" in f and d["kind"] != f["kind"]:
            continue
        if "child" in f and d["child"] != f["child"]:
            continue
        if "school" in f and d["school"] != f["school"]:
            continue
        if "status" in f and d["status"] != f["status"]:
            continue
        if "category" in f and f["category"] not in d["categories"]:
            continue
        if "date_from" in f and d["date"] < f["date_from"]:
            continue
        if "date_to" in f and d["date"] > f["date_to"]:
            continue
        out.add(d["id"])
    return out


def _filters(corpus: dict[str, Any]) -> dict[str, str]:
    """One value per filter that selects some but not all documents."""
    kids = corpus["children"]
    some_child = next(iter(kids))
    category = next(c for k in kids.values() for c in k["categories"])
    return {"kind": "home-visit", "child": some_child, "school": OTHER_SCHOOL, "status": "在册",
            "category": category, "date_from": "2024-03-01", "date_to": "2024-04-30"}


def _search(corpus: dict[str, Any], f: dict[str, str]) -> tuple[set[str], int]:
    with Archive.open(corpus["path"], user="admin", passphrase=corpus["pw"]) as arc:
        filters = make_filters(arc, **f)
        view = run_search(arc, WORD, filters, limit=1000)
    assert view.exact
    return {h.id for h in view.hits}, view.total


COMBOS = [(n,) for n in ("kind", "child", "school", "status", "category", "date_from", "date_to")] + [
    ("kind", "status"), ("kind", "date_from", "date_to"), ("child", "kind"), ("category", "date_to"),
    ("school", "status"), ("status", "category", "date_from"), ("kind", "category", "date_from", "date_to"),
]


@pytest.mark.parametrize("names", COMBOS, ids=["+".join(c) for c in COMBOS])
def test_filter_narrows_hits_and_total(corpus: dict[str, Any], names: tuple[str, ...]) -> None:
    values = _filters(corpus)
    f = {n: values[n] for n in names}
    expected = _expected(corpus, f)
    assert expected != _expected(corpus, {})  # the filter means something on this corpus
    hits, total = _search(corpus, f)
    assert hits == expected
    assert total == len(expected)


def test_no_filter_finds_every_document(corpus: dict[str, Any]) -> None:
    hits, total = _search(corpus, {})
    assert hits == {d["id"] for d in corpus["docs"]} and total == len(corpus["docs"])


def test_filters_matching_nothing_give_nothing(corpus: dict[str, Any]) -> None:
    hits, total = _search(corpus, {"date_from": "2030-01-01"})
    assert hits == set() and total == 0
    hits, total = _search(corpus, {"kind": "circular"})
    assert hits == set() and total == 0


def test_every_pair_of_filters(corpus: dict[str, Any]) -> None:
    values = _filters(corpus)
    for a, b in itertools.combinations(sorted(values), 2):
        f = {a: values[a], b: values[b]}
        hits, total = _search(corpus, f)
        assert hits == _expected(corpus, f) and total == len(hits), f


@pytest.mark.parametrize(("kw", "words"), [
    ({"status": "已毕业"}, ["在册", "转出", "存档备查", "毕业"]),
    ({"category": "贫困生"}, ["留守儿童", "困境儿童", "孤儿"]),
    ({"school": "3413229999"}, ["3413220001", OTHER_SCHOOL]),
    ({"date_from": "2024-02-30"}, ["2024-03-01"]),
    ({"date_from": "2024-05-01", "date_to": "2024-04-01"}, ["晚于"]),
    ({"child": "不存在的孩子"}, ["找不到儿童"]),
])
def test_unknown_values_are_refused_with_the_valid_ones(corpus: dict[str, Any], kw: dict[str, str],
                                                        words: list[str]) -> None:
    with Archive.open(corpus["path"], user="admin", passphrase=corpus["pw"]) as arc:
        with pytest.raises(Exception) as info:
            make_filters(arc, **kw)
    text = getattr(info.value, "message", "") + (getattr(info.value, "hint", "") or "")
    assert all(w in text for w in words), text


def _cli(corpus: dict[str, Any], *args: str) -> Any:
    sindex.reset_cache()
    env = {"GUANAI_ARCHIVE": str(corpus["path"]), "GUANAI_PASSPHRASE": corpus["pw"], "GUANAI_USER": "admin"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_cli_kind_by_chinese_name_and_school_by_name(corpus: dict[str, Any]) -> None:
    import json

    r = _cli(corpus, "search", WORD, "--kind", "家访记录表", "--school", "萧县龙城镇中心小学", "--json", "--limit", "1000")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    expected = _expected(corpus, {"kind": "home-visit", "school": "3413220001"})
    assert {h["id"] for h in out["hits"]} == expected and out["total"] == len(expected)
    assert {h["kind_name"] for h in out["hits"]} == {"家访记录表"}
    r = _cli(corpus, "search", WORD, "--kind", "家访记录")
    assert r.exit_code == 2 and "未知的文书种类" in r.output and "家访记录表" in r.output and "home-visit" in r.output
    r = _cli(corpus, "search", WORD, "--status", "休学")
    assert r.exit_code == 2 and "可选：在册、转出、存档备查、毕业" in r.output


def test_cli_child_filter_by_name_and_short_id(corpus: dict[str, Any]) -> None:
    cid, info = next(iter(corpus["children"].items()))
    expected = _expected(corpus, {"child": cid})
    for ref in (info["name"], cid[:6], cid[:10].upper()):
        r = _cli(corpus, "search", WORD, "--child", ref, "--limit", "1000")
        assert r.exit_code == 0, r.output
        assert f"共 {len(expected)} 条" in r.output


def test_empty_filter_set_is_not_no_filter(corpus: dict[str, Any]) -> None:
    # whoosh drops a falsy (empty) filter set: it must mean "nothing", not "everything"
    with Archive.open(corpus["path"], user="admin", passphrase=corpus["pw"]) as arc:
        view = run_search(arc, WORD, make_filters(arc, kind="leading-group-notice"), limit=50)
    assert view.total == 0 and view.hits == []


def test_make_filters_rejects_what_it_does_not_know(corpus: dict[str, Any]) -> None:
    with Archive.open(corpus["path"], user="admin", passphrase=corpus["pw"]) as arc:
        with pytest.raises(InputError):
            make_filters(arc, category="留守")
        f = make_filters(arc, date_from="2024年3月1日", date_to="2024/4/30")
    assert (f.date_from, f.date_to) == ("2024-03-01", "2024-04-30")



def test_voided_documents_leave_hits_and_total(make_archive: Any) -> None:
    from search_helpers import fill_archive

    from guanai.archive.documents import void_document

    path, pw = make_archive()
    info = fill_archive(path, pw, n_children=3, docs_per_child=2)
    did, _cid, _text = info["docs"][0]
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        before = run_search(arc, "家访", limit=100)
    with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
        void_document(arc, did, "重复归档")
    sindex.reset_cache()
    with Archive.open(path, user="admin", passphrase=pw) as arc:
        after = run_search(arc, "家访", limit=100)
        shown = run_search(arc, "家访", limit=100, include_void=True)
    assert did in {h.id for h in before.hits} and did not in {h.id for h in after.hits}
    assert after.total == before.total - 1
    assert shown.total == before.total and next(h for h in shown.hits if h.id == did).void
