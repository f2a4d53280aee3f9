"""CLI of identity / directory / transfer through CliRunner: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from transfer_helpers import (
    CODE_A,
    CODE_B,
    CODE_X,
    PASS_A,
    PASS_B,
    PASS_C,
    Scenario,
    _scenario_template,
    scenario,
)

from guanai.archive.store import Archive, init_archive
from guanai.cli.main import cli

__all__ = ["scenario", "_scenario_template"]


def run(path: Path, passphrase: str, *args: str, input: str | None = None) -> Result:
    env = {"GUANAI_ARCHIVE": str(path), "GUANAI_PASSPHRASE": passphrase, "GUANAI_USER": "admin"}
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize("cmd", [
    ["identity", "show"], ["identity", "export"], ["directory", "add"], ["directory", "publish"],
    ["directory", "revoke"], ["directory", "import"], ["directory", "list"], ["transfer", "export"],
    ["transfer", "inspect"], ["transfer", "import"], ["transfer", "confirm"], ["transfer", "list"],
    ["transfer", "expire"],
])
def test_every_command_has_chinese_help_with_example(cmd: list[str]) -> None:
    out = ok(CliRunner().invoke(cli, [*cmd, "--help"]))
    assert "示例：" in out and "guanai" in out
    assert "--json" in out  # every command can answer another program


def test_identity_show_and_export(scenario: Scenario, tmp_path: Path) -> None:
    out = ok(run(scenario.a, PASS_A, "identity", "show"))
    assert CODE_A in out and "萧县龙城镇中心小学" in out
    data = json.loads(ok(run(scenario.a, PASS_A, "identity", "show", "--json")))
    grouped = " ".join(data["fingerprint"].upper()[i:i + 4] for i in range(0, 64, 4))
    assert grouped in out
    card = tmp_path / "card.json"
    out = ok(run(scenario.a, PASS_A, "identity", "export", "-o", str(card)))
    assert json.loads(card.read_text())["fingerprint"] == data["fingerprint"]
    assert "电话核对" in out
    # the private keys never appear in the card
    assert set(json.loads(card.read_text())) >= {"code", "name", "county", "kind", "sign_key", "hpke_key"}
    assert not any("priv" in k for k in json.loads(card.read_text()))


def test_identity_created_lazily_on_fresh_archive(tmp_path: Path) -> None:
    path = tmp_path / "fresh"
    init_archive(path, school_code="3413220007", school_name="萧县第七小学", passphrase=PASS_A)
    first = json.loads(ok(run(path, PASS_A, "identity", "show", "--json")))
    again = json.loads(ok(run(path, PASS_A, "identity", "show", "--json")))
    assert first["fingerprint"] == again["fingerprint"]  # created once, then stable
    with Archive.open(path, user="admin", passphrase=PASS_A) as arc:
        raw = arc.get_setting("identity") or b""
    assert bytes.fromhex(first["sign_key"]) not in raw  # only sealed private halves are stored


def test_county_directory_commands(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    out = ok(run(s.county, PASS_C, "directory", "add", str(s.root / "x.card")))
    assert CODE_X in out and "萧县外来学校" in out
    listing = json.loads(ok(run(s.county, PASS_C, "directory", "list", "--json")))
    assert [x["code"] for x in listing["schools"]] == [CODE_A, CODE_B, CODE_X]
    out = ok(run(s.county, PASS_C, "directory", "revoke", CODE_X, "--reason", "测试吊销"))
    assert "已吊销" in out
    d = tmp_path / "dir.json"
    out = ok(run(s.county, PASS_C, "directory", "publish", "-o", str(d)))
    assert "第 2 版" in out
    pub = json.loads(ok(run(s.county, PASS_C, "directory", "publish", "-o", str(d), "--json")))
    assert pub["serial"] == 3 and json.loads(d.read_text())["body"]["serial"] == 3
    r = run(s.county, PASS_C, "directory", "add", str(s.root / "directory.json"))  # not a card
    assert r.exit_code == 8 and "不是身份卡" in r.output and "identity export" in r.output
    r = run(s.county, PASS_C, "transfer", "export", "G1", "--to", CODE_A, "-o", str(tmp_path / "c.gtp"))
    assert r.exit_code == 11 and "县级档案库不转出" in r.output
    # a school cannot edit the county directory
    r = run(s.a, PASS_A, "directory", "add", str(s.root / "x.card"))
    assert r.exit_code == 11 and "学校档案库，不能编辑县级学校目录" in r.output
    # the school imports v2 (already trusting the county key)
    imp = json.loads(ok(run(s.a, PASS_A, "directory", "import", str(d), "--json")))
    assert imp["serial"] == 3 and imp["previous_serial"] == 1 and imp["revoked"] == [CODE_X]
    assert not imp["first_trust"]
    listing = json.loads(ok(run(s.a, PASS_A, "directory", "list", "--json")))
    assert listing["serial"] == 3 and CODE_X in [r["code"] for r in listing["revoked"]]
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (17 << 20))
    r = run(s.a, PASS_A, "directory", "import", str(big))
    assert r.exit_code == 2 and "过大" in r.output


def test_directory_import_first_trust(scenario: Scenario, tmp_path: Path) -> None:
    path = tmp_path / "new"
    init_archive(path, school_code="3413220008", school_name="萧县第八小学", passphrase=PASS_B)
    d = str(scenario.root / "directory.json")
    r = run(path, PASS_B, "directory", "import", d, input="n\n")
    assert r.exit_code == 11 and "未确认县教体局的密钥指纹" in r.output
    fp = scenario.county_fp.upper()
    assert " ".join(fp[i:i + 4] for i in range(0, 64, 4)) in r.output  # shown for comparison
    r = run(path, PASS_B, "directory", "import", d)  # no terminal: not trusted, and no "Aborted!"
    assert r.exit_code == 11 and "未确认" in r.output and "Aborted" not in r.output
    r = run(path, PASS_B, "directory", "import", d, "--yes")  # --yes is no fingerprint check
    assert r.exit_code == 2 and "--county-fingerprint" in r.output
    with Archive.open(path, user="admin", passphrase=PASS_B) as arc:
        assert arc.get_setting("county_trust") is None
    r = run(path, PASS_B, "directory", "import", d, "--county-fingerprint", "ab" * 32)
    assert r.exit_code == 6 and "不符" in r.output
    r = run(path, PASS_B, "directory", "import", d, "--county-fingerprint", "xyz")
    assert r.exit_code == 2 and "指纹格式不正确" in r.output
    spaced = " ".join(scenario.county_fp[i:i + 4] for i in range(0, 64, 4))
    out = ok(run(path, PASS_B, "directory", "import", d, "--county-fingerprint", spaced))
    assert "首次导入，已信任县教体局密钥" in out


def test_transfer_end_to_end_cli(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with Archive.open(s.a, user="admin", passphrase=PASS_A) as a:
        kid = a.get_child(s.child_ids[0]).record
    gtp = tmp_path / "张.gtp"
    out = ok(run(s.a, PASS_A, "transfer", "export", kid.student_id, "--to", CODE_B, "-o", str(gtp)))
    assert "已导出转接包" in out and "萧县圣泉镇中心小学" in out and "文书 3 件" in out
    # inspect by a school that is not the recipient: envelope only
    info = json.loads(ok(run(s.x, PASS_A, "transfer", "inspect", str(gtp), "--json")))
    assert info["sender"]["code"] == CODE_A and info["recipient"]["code"] == CODE_B
    assert info["counts"] == {"children": 1, "documents": 3} and info["contents"] is None
    assert info["signature_ok"] is True
    out = ok(run(s.x, PASS_A, "transfer", "inspect", str(gtp)))
    assert "仅接收学校可查看" in out and kid.name not in out
    # inspect by the recipient: contents with SHA-512
    out = ok(run(s.b, PASS_B, "transfer", "inspect", str(gtp)))
    assert kid.name in out and "SHA-512" in out and "签名：有效" in out
    # import: declining the prompt imports nothing
    r = run(s.b, PASS_B, "transfer", "import", str(gtp), input="n\n")
    assert r.exit_code == 1 and "已取消" in r.output
    assert json.loads(ok(run(s.b, PASS_B, "transfer", "list", "--json")))["incoming"] == []
    out = ok(run(s.b, PASS_B, "transfer", "import", str(gtp), "--accept", "--yes"))
    assert "已接收：儿童 1 名，文书 3 件" in out and ".receipt" in out
    receipt = Path(str(gtp) + ".receipt")
    assert json.loads(receipt.read_text())["body"]["decision"] == "accepted"
    r = run(s.b, PASS_B, "transfer", "import", str(gtp), "--accept", "--yes")
    assert r.exit_code == 11 and "拒绝重复导入" in r.output
    out = ok(run(s.a, PASS_A, "transfer", "confirm", str(receipt)))
    assert "已标记“转出”" in out and "保留加密副本至" in out
    lst = json.loads(ok(run(s.a, PASS_A, "transfer", "list", "--json")))
    assert lst["outgoing"][0]["state"] == "accepted"
    out = ok(run(s.a, PASS_A, "transfer", "list"))
    assert "对方已接收" in out and "accepted" not in out
    out = ok(run(s.b, PASS_B, "transfer", "list"))
    assert "已接收" in out and "萧县龙城镇中心小学（3413220001）" in out and "accepted" not in out
    r = run(s.a, PASS_A, "transfer", "confirm", str(receipt))
    assert r.exit_code == 11 and "确认过" in r.output
    assert "没有保留期已满" in ok(run(s.a, PASS_A, "transfer", "expire", "--check"))
    assert json.loads(ok(run(s.a, PASS_A, "transfer", "expire", "--json")))["packages"] == []


def test_transfer_import_refusals_cli(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    gtp = tmp_path / "p.gtp"
    ok(run(s.a, PASS_A, "transfer", "export", s.child_ids[0], "--to", CODE_B, "-o", str(gtp)))
    data = bytearray(gtp.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.gtp"
    bad.write_bytes(bytes(data))
    r = run(s.b, PASS_B, "transfer", "import", str(bad), "--accept", "--yes")
    assert r.exit_code == 6 and "错误：" in r.output and "提示：" in r.output and "Traceback" not in r.output
    r = run(s.b, PASS_B, "transfer", "inspect", str(bad))
    assert r.exit_code == 6 and "签名：无效" in r.output
    r = run(s.a, PASS_A, "transfer", "import", str(gtp), "--accept", "--yes")
    assert r.exit_code == 2 and "不是本校" in r.output
    junk = tmp_path / "junk.gtp"
    junk.write_bytes(b"PK\x03\x04 not a package" * 10)
    r = run(s.b, PASS_B, "transfer", "import", str(junk))
    assert r.exit_code == 8 and "不是转接包" in r.output
    assert not Path(str(bad) + ".receipt").exists() and not Path(str(junk) + ".receipt").exists()
    # bad usage
    r = run(s.a, PASS_A, "transfer", "export", s.child_ids[0], "-o", str(tmp_path / "q.gtp"))
    assert r.exit_code == 2 and "--to" in r.output
    r = run(s.a, PASS_A, "transfer", "export", s.child_ids[0], "--to", "3413229999", "-o", str(tmp_path / "q.gtp"))
    assert r.exit_code == 3 and "不在县级学校目录中" in r.output
    r = run(s.b, PASS_B, "transfer", "import", str(gtp), "--accept", "--reject", "x")
    assert r.exit_code == 2


def test_transfer_reject_cli(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    gtp = tmp_path / "p.gtp"
    ok(run(s.a, PASS_A, "transfer", "export", *s.child_ids[:2], "--to", CODE_B, "-o", str(gtp)))
    rp = tmp_path / "回执" / "r.receipt"
    rp.parent.mkdir()
    out = ok(run(s.b, PASS_B, "transfer", "import", str(gtp), "--reject", "学生未报到", "--receipt", str(rp)))
    assert "已拒收：学生未报到" in out
    out = ok(run(s.a, PASS_A, "transfer", "confirm", str(rp), "--json"))
    res = json.loads(out)
    assert res["decision"] == "rejected" and res["reason"] == "学生未报到" and len(res["children"]) == 2


def test_export_by_destination_cli(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with Archive.open(s.a, user="admin", passphrase=PASS_A, write=True) as a:
        grade = a.get_child(s.child_ids[0]).record.grade
        cohort = [c.record.student_id for c in a.list_children() if c.record.grade == grade]
    mapping = tmp_path / "去向.json"
    mapping.write_text(json.dumps({k: CODE_B for k in cohort}), encoding="utf-8")
    out = ok(run(s.a, PASS_A, "transfer", "export", "--grade", grade, "--by-destination", str(tmp_path / "升学"),
                 "--mapping", str(mapping), "--json"))
    (res,) = json.loads(out)
    assert res["recipient"] == CODE_B and res["children"] == len(cohort)
    assert Path(res["path"]).parent == tmp_path / "升学"
    r = run(s.a, PASS_A, "transfer", "export", "--grade", grade, "--mapping", str(mapping))
    assert r.exit_code == 2 and "--by-destination" in r.output


def test_mapping_problems_all_reported_with_codes_under_json(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    with Archive.open(s.a, user="admin", passphrase=PASS_A, write=True) as a:
        grade = a.get_child(s.child_ids[0]).record.grade
        cohort = [c.record.student_id for c in a.list_children() if c.record.grade == grade]
    # nine unknown children (more than any shortened list used to show) and an unknown school
    bad = {f"G34132220120305{i:03d}X": CODE_B for i in range(9)} | {cohort[0]: "3413229999"}
    mapping = tmp_path / "去向.json"
    mapping.write_text(json.dumps(bad), encoding="utf-8")
    r = run(s.a, PASS_A, "transfer", "export", "--grade", grade, "--by-destination", str(tmp_path / "升学"),
            "--mapping", str(mapping), "--json")
    assert r.exit_code == 2 and not (tmp_path / "升学").exists()
    err = json.loads(r.stdout)
    assert err["error"] == "InputError" and err["exit_code"] == 2 and "未导出任何转接包" in err["message"]
    codes = [p["code"] for p in err["problems"]]
    assert codes.count("mapping.unknown_child") == 9 and codes.count("mapping.school") == 1
    assert codes.count("mapping.missing_child") == len(cohort)  # the one with a bad school is unplaced too
    assert all(set(p) == {"where", "what", "hint", "code"} for p in err["problems"])
    # people read every problem on stderr, one a line
    assert r.stderr.count("\n  - ") >= len(err["problems"]) - 1 and "G34132220120305008X" in r.stderr


def test_import_without_an_answer_is_a_clear_cancel(scenario: Scenario, tmp_path: Path) -> None:
    s = scenario
    gtp = tmp_path / "p.gtp"
    ok(run(s.a, PASS_A, "transfer", "export", s.child_ids[0], "--to", CODE_B, "-o", str(gtp)))
    # no terminal to answer the question (EOF): a Chinese cancel with the way forward, not "Aborted!"
    r = run(s.b, PASS_B, "transfer", "import", str(gtp))
    assert r.exit_code == 1 and "已取消" in r.output and "--accept --yes" in r.output
    assert "Aborted" not in r.output and not Path(str(gtp) + ".receipt").exists()
    # --json keeps stdout one JSON document even when the question is asked and answered
    r = CliRunner().invoke(cli, ["transfer", "import", str(gtp), "--json"], input="y\n",
                           env={"GUANAI_ARCHIVE": str(s.b), "GUANAI_PASSPHRASE": PASS_B, "GUANAI_USER": "admin"})
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["decision"] == "accepted" and len(res["child_ids"]) == 1
    assert "接收以上儿童档案" in r.stderr
