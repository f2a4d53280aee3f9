from __future__ import annotations

from guanai.generators.kinds import KINDS
from guanai.generators.labels import OTHER_KINDS, kind_label


def test_every_kind_has_a_chinese_label() -> None:
    for kind in [*KINDS, *OTHER_KINDS]:
        label = kind_label(kind)
        assert label != kind and any("\u4e00" <= c <= "\u9fff" for c in label), kind
    assert kind_label("home-visit") == "家访记录表"
    assert kind_label("transfer-slip") == "档案转接单"
    assert kind_label("future-kind") == "future-kind"


def test_every_audit_action_in_the_code_has_a_chinese_name() -> None:
    import re
    from pathlib import Path

    from guanai.archive.audit import ACTION_NAMES

    root = Path(__file__).resolve().parents[1]
    used = set()
    for pkg in ("archive", "cli", "search", "generators", "care", "web"):
        for f in (root / pkg).rglob("*.py"):
            used |= set(re.findall(r"(?:audit|_append_audit)\(\s*\"([a-z._-]+)\"", f.read_text(encoding="utf-8")))
    assert used, "no audit calls found"
    assert used <= set(ACTION_NAMES), used - set(ACTION_NAMES)
