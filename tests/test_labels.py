from __future__ import annotations

from generators.kinds import KINDS
from generators.labels import OTHER_KINDS, kind_label


def test_every_kind_has_a_chinese_label() -> None:
    for kind in [*KINDS, *OTHER_KINDS]:
        label = kind_label(kind)
        assert label != kind and any("\u4e00" <= c <= "\u9fff" for c in label), kind
    assert kind_label("home-visit") == "家访记录表"
    assert kind_label("transfer-slip") == "档案转接单"
    assert kind_label("future-kind") == "future-kind"
