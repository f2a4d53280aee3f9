"""The county inspector checks a school's signed PDF in the county's own archive (which publishes
the directory and imports none): the county's list is the directory, revocations included."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from test_pdf_sign import plain_pdf, signed_by_a
from transfer_helpers import CODE_A, CODE_X, NAME_A, PASS_C, Scenario, _scenario_template, scenario

from guanai.archive.transfer.directory import checking_directory, revoke
from guanai.cli.main import cli
from guanai.generators.sign import sign_archive_pdf

__all__ = ["scenario", "_scenario_template"]


def run(path: Path, passphrase: str, *args: str) -> Result:
    env = {"GUANAI_ARCHIVE": str(path), "GUANAI_PASSPHRASE": passphrase, "GUANAI_USER": "admin"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_county_archive_verifies_a_school_signature_against_its_own_list(scenario: Scenario, tmp_path: Path) -> None:
    signed = tmp_path / "通报.pdf"
    signed.write_bytes(signed_by_a(scenario))
    res = run(scenario.county, PASS_C, "doc", "verify", str(signed))
    # was: "未核对县级目录（本机档案库没有导入目录）", 不可信, exit 6
    assert res.exit_code == 0 and NAME_A in res.output and "县级目录中有此学校" in res.output, res.output
    data = json.loads(run(scenario.county, PASS_C, "doc", "verify", str(signed), "--json").output)
    assert data["ok"] and data["signatures"][0]["directory"] == "known"


def test_county_sees_its_revocation_before_publishing_it(scenario: Scenario, tmp_path: Path) -> None:
    signed = tmp_path / "通报.pdf"
    signed.write_bytes(signed_by_a(scenario))
    with scenario.open_county() as arc:
        revoke(arc, CODE_A, "密钥泄露")
    res = run(scenario.county, PASS_C, "doc", "verify", str(signed))
    assert res.exit_code == 6 and "吊销" in res.output and "结论：不可信" in res.output, res.output


def test_county_does_not_know_an_unlisted_school(scenario: Scenario, tmp_path: Path) -> None:
    with scenario.open_x() as arc:
        signed = sign_archive_pdf(arc, plain_pdf())
    f = tmp_path / "外来.pdf"
    f.write_bytes(signed)
    res = run(scenario.county, PASS_C, "doc", "verify", str(f))
    assert res.exit_code == 6 and CODE_X in res.output and "不在县级学校目录中" in res.output, res.output


def test_a_school_keeps_its_imported_directory(scenario: Scenario) -> None:
    with scenario.open_b(write=False) as arc:
        d = checking_directory(arc)
    assert d is not None and d.raw and CODE_A in d.schools
