"""Shared set-up for the transfer tests: a county, two schools (AES / SM4), a published directory.

The scenario is built once per session (each archive open costs ~0.1 s of Argon2) and copied
into every test's tmp_path, so tests can mutate their own copy freely.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from guanai.archive.store import Archive, init_archive

PASS_A = "甲校口令-alpha 2026"
PASS_B = "乙校口令-bravo 2026"
PASS_C = "县局口令-county 2026"
CODE_A, NAME_A = "3413220001", "萧县龙城镇中心小学"
CODE_B, NAME_B = "3413220002", "萧县圣泉镇中心小学"
CODE_X, NAME_X = "3413220009", "萧县外来学校"


@dataclass
class Scenario:
    root: Path
    county: Path
    a: Path  # sender, AES-256-GCM
    b: Path  # receiver, SM4-GCM
    x: Path  # a school the county never listed (unknown sender)
    child_ids: list[str]  # children in A (with documents)
    county_fp: str

    def open_a(self, write: bool = True) -> Archive:
        return Archive.open(self.a, user="admin", passphrase=PASS_A, write=write)

    def open_b(self, write: bool = True) -> Archive:
        return Archive.open(self.b, user="admin", passphrase=PASS_B, write=write)

    def open_county(self, write: bool = True) -> Archive:
        return Archive.open(self.county, user="admin", passphrase=PASS_C, write=write)

    def open_x(self, write: bool = True) -> Archive:
        return Archive.open(self.x, user="admin", passphrase=PASS_A, write=write)


def doc_bytes(i: int, size: int = 3000) -> bytes:
    """Deterministic, incompressible-ish document bytes that look like a PDF."""
    out = bytearray(b"%PDF-1.7\n")
    seed = hashlib.sha256(str(i).encode()).digest()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[:size])


def add_children(arc: Archive, n: int, docs_per_child: int, seed: int = 7, size: int = 3000,
                 grade: str | None = None) -> list[str]:
    from guanai.care.synth import synth_children

    ids = []
    for k, rec in enumerate(synth_children(n, seed=seed)):
        if grade is not None:
            rec = rec.model_copy(update={"grade": grade})
        rec = rec.model_copy(update={"school": arc.info.school_name})
        cid = arc.add_child(rec)
        ids.append(cid)
        for j in range(docs_per_child):
            arc.put_document(kind="visit" if j % 2 else "card", title=f"家访记录 第{j + 1}次 {rec.name}",
                             content=doc_bytes(k * 1000 + j, size), filename=f"家访记录-{j + 1}.pdf",
                             mime="application/pdf", child_id=cid, form={"次数": j + 1, "备注": "A&B<C>"},
                             text=f"{rec.name} 家访 上河家村 第{j + 1}次", doc_date="2026-09-0" + str(1 + j % 9),
                             meta={"origin": "test"})
    return ids


def build_scenario(root: Path) -> Scenario:
    from guanai.archive.transfer.directory import add_card, import_directory, publish
    from guanai.archive.transfer.identity import get_identity

    root.mkdir(parents=True, exist_ok=True)
    county, a, b, x = root / "county", root / "a", root / "b", root / "x"
    init_archive(county, school_code="341322", school_name="萧县教育体育局", passphrase=PASS_C, kind="county")
    init_archive(a, school_code=CODE_A, school_name=NAME_A, passphrase=PASS_A)
    init_archive(b, school_code=CODE_B, school_name=NAME_B, passphrase=PASS_B, suite="sm4-gcm")
    init_archive(x, school_code=CODE_X, school_name=NAME_X, passphrase=PASS_A)
    cards = {}
    for path, pw in ((a, PASS_A), (b, PASS_B), (x, PASS_A)):
        with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
            cards[path] = get_identity(arc).card.to_json()
    with Archive.open(county, user="admin", passphrase=PASS_C, write=True) as arc:
        add_card(arc, cards[a])
        add_card(arc, cards[b])
        directory, _ = publish(arc)
        county_fp = get_identity(arc).card.fingerprint
    (root / "directory.json").write_bytes(directory)
    (root / "x.card").write_bytes(cards[x])
    for path, pw in ((a, PASS_A), (b, PASS_B), (x, PASS_A)):
        with Archive.open(path, user="admin", passphrase=pw, write=True) as arc:
            import_directory(arc, directory, county_fingerprint=county_fp)
    with Archive.open(a, user="admin", passphrase=PASS_A, write=True) as arc:
        child_ids = add_children(arc, 3, 3)
    return Scenario(root, county, a, b, x, child_ids, county_fp)


@pytest.fixture(scope="session")
def _scenario_template(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("transfer-template"))


@pytest.fixture
def scenario(_scenario_template: Scenario, tmp_path: Path) -> Scenario:
    t = _scenario_template
    root = tmp_path / "s"
    shutil.copytree(t.root, root)
    return Scenario(root, root / "county", root / "a", root / "b", root / "x", list(t.child_ids), t.county_fp)
