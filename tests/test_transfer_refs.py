"""Transfer export takes the references people type (name, short id), and leaves voided documents home."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from transfer_helpers import CODE_B, PASS_A, PASS_B, Scenario, _scenario_template, scenario  # noqa: F401

from guanai.archive.documents import void_document
from guanai.archive.store import Archive
from guanai.cli.main import cli


def run(path: Path, passphrase: str, *args: str) -> Result:
    env = {"GUANAI_ARCHIVE": str(path), "GUANAI_PASSPHRASE": passphrase, "GUANAI_USER": "admin"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_export_by_name_and_short_id_without_voided_documents(scenario: Scenario, tmp_path: Path) -> None:  # noqa: F811
    s = scenario
    with Archive.open(s.a, user="admin", passphrase=PASS_A, write=True) as a:
        entry = a.get_child(s.child_ids[0])
        docs = a.list_documents(child_id=entry.id)
        void_document(a, docs[0].id[:8], "误归档")
        same_name = [c for c in a.list_children() if c.record.name == entry.record.name]
    ref = entry.record.name if len(same_name) == 1 else entry.id[:8]
    gtp = tmp_path / "按姓名.gtp"
    r = run(s.a, PASS_A, "transfer", "export", ref, "--to", CODE_B, "-o", str(gtp))
    assert r.exit_code == 0, r.output
    info = json.loads(run(s.b, PASS_B, "transfer", "inspect", str(gtp), "--json").output)
    assert info["counts"] == {"children": 1, "documents": len(docs) - 1}  # the voided one stayed home
    gtp2 = tmp_path / "连同作废.gtp"
    r = run(s.a, PASS_A, "transfer", "export", entry.id[:8], "--to", CODE_B, "-o", str(gtp2), "--resend",
            "--include-void")
    assert r.exit_code == 0, r.output
    info = json.loads(run(s.b, PASS_B, "transfer", "inspect", str(gtp2), "--json").output)
    assert info["counts"] == {"children": 1, "documents": len(docs)}  # asked for: the voided one too
    r = run(s.a, PASS_A, "transfer", "export", entry.id[:5], "--to", CODE_B, "-o", str(tmp_path / "短.gtp"))
    assert r.exit_code == 3 and "找不到儿童" in r.output  # five characters are no reference (six at least)
    assert not (tmp_path / "短.gtp").exists()
