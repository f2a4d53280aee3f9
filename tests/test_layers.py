"""The import-linter contracts cover the code as it is (a new module cannot slip past them)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_transfer_seam_contract_lists_every_archive_core_module() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (seam,) = [c for c in contracts if c["type"] == "forbidden" and c["forbidden_modules"] == ["guanai.archive.transfer"]]
    core = {f"guanai.archive.{p.stem}" for p in (ROOT / "archive").glob("*.py") if p.stem != "__init__"}
    assert set(seam["source_modules"]) == core
    (inner,) = [c for c in contracts if c.get("layers") and "guanai.archive.transfer.bag" in c["layers"]]
    listed = {m.strip() for layer in inner["layers"] for m in layer.split("|")}
    modules = {f"guanai.archive.transfer.{p.stem}" for p in (ROOT / "archive" / "transfer").glob("*.py")
               if p.stem != "__init__"}
    assert listed == modules
