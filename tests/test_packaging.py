"""What `pip install .` ships: one `guanai` package; the command and the demo work from a
non-editable install (not from this checkout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_SKIP = {".venv", "build", ".git", "demo-archive", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from a clean copy of the tree (a build must not write into the checkout)."""
    src = tmp_path_factory.mktemp("src") / "guanai"
    shutil.copytree(ROOT, src, ignore=lambda d, names: [n for n in names if n in _SKIP or n.endswith(".egg-info")
                                                         or n == "__pycache__"])
    out = tmp_path_factory.mktemp("wheel")
    # the dev extras pin setuptools>=77 in this venv: no download, no build isolation needed
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out)], check=True, capture_output=True, timeout=300)
    (whl,) = out.glob("guanai-*.whl")
    return whl


def test_wheel_holds_only_the_guanai_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"guanai", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    # the folders arrive under the one root, with the files code needs at run time
    for must in ("guanai/archive/store.py", "guanai/archive/transfer/envelope.py", "guanai/archive/FORMAT.md",
                 "guanai/cli/main.py", "guanai/cli/demos/transfer.py", "guanai/templates/child-card.docx",
                 "guanai/templates/transfer-slip.docx", "guanai/templates/samples/child-card.yaml",
                 "guanai/generators/fonts.conf", "guanai/base/errors.py", "guanai/py.typed"):
        assert must in names, must
    # dev-only code is not shipped: template builder, benchmarks, tests
    assert not [n for n in names if n.startswith(("guanai/tools", "guanai/bench", "guanai/tests"))
                or "build_templates" in n or "corpus" in n or "/test_" in n]
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "guanai = guanai.cli.main:main" in entry


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (not editable); dependencies seen from this venv."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # dependencies only: this venv's site-packages is added as a plain path, so its .pth files
    # (the editable finder of this checkout among them) are not run
    (site / "_deps.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                    "--no-index", "-q", str(wheel)], check=True, capture_output=True, timeout=300)
    return venv


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUANAI_", "PYTHON"))}
    return {**env, "GUANAI_PASSPHRASE": "安装测试口令-2026"}


def test_installed_command_runs_from_the_install_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    py, exe = installed / "bin" / "python", installed / "bin" / "guanai"
    where = subprocess.run([str(py), "-c", "import guanai, guanai.archive; print(guanai.__file__); "
                            "print(guanai.archive.__file__)"], capture_output=True, text=True, check=True,
                           cwd=tmp_path, env=_env(), timeout=60).stdout.split()
    assert all(str(installed) in w and str(ROOT) not in w for w in where), where
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=60)
    assert r.returncode == 0 and "关爱档案" in r.stdout and "transfer" in r.stdout, r.stderr


@pytest.mark.slow
def test_demo_runs_from_the_install(installed: Path, tmp_path: Path) -> None:
    r = subprocess.run([str(installed / "bin" / "guanai"), "demo", str(tmp_path / "演示")], capture_output=True,
                       text=True, cwd=tmp_path, env=_env(), timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    for step in ("儿童档案", "规范文书", "全文检索", "档案转接"):
        assert f"== {step}" in r.stdout, step
    assert "—— 通过" in r.stdout and "Traceback" not in r.stderr
