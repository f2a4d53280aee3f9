"""Shared fixtures: initialised archives, CLI environment, PDF-test gating."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PASSPHRASE = "测试口令-correct horse 2026"


def pytest_configure(config: pytest.Config) -> None:
    # session-scoped fixtures run before the per-test heads dir below: never the real config dir
    import tempfile

    os.environ["GUANAI_HEADS_DIR"] = tempfile.mkdtemp(prefix="guanai-heads-")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # PDF tests need LibreOffice; CI sets GUANAI_REQUIRE_PDF=1 so a missing soffice fails instead of skipping.
    if shutil.which("soffice"):
        return
    if os.environ.get("GUANAI_REQUIRE_PDF") == "1":
        for item in items:
            if "pdf" in item.keywords:
                item.add_marker(pytest.mark.usefixtures("_require_soffice"))
        return
    skip = pytest.mark.skip(reason="LibreOffice (soffice) 未安装；PDF 测试跳过")
    for item in items:
        if "pdf" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _min_kdf_cost() -> Iterator[None]:
    """New key files use the format's minimum Argon2id cost (Argon2 at production cost was most of
    the suite's time). Session-wide, so session fixtures (prepared archives) get it too; tests of the
    KDF itself are marked ``production_kdf``. Processes a test starts (the ``guanai`` command) always
    use the production cost."""
    from guanai.archive import crypto

    crypto.KDF_COST = crypto.MIN_KDF_COST
    yield
    crypto.KDF_COST = crypto.PRODUCTION_KDF_COST


@pytest.fixture(autouse=True)
def _production_kdf_when_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    from guanai.archive import crypto

    if request.node.get_closest_marker("production_kdf") is not None:
        monkeypatch.setattr(crypto, "KDF_COST", crypto.PRODUCTION_KDF_COST)


@pytest.fixture
def _require_soffice() -> None:
    pytest.fail("GUANAI_REQUIRE_PDF=1 but LibreOffice (soffice) is not installed")


@pytest.fixture(autouse=True)
def _private_heads(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # the last state seen of each archive lives in the user's config dir: one per test
    monkeypatch.setenv("GUANAI_HEADS_DIR", str(tmp_path_factory.mktemp("heads")))


@pytest.fixture
def passphrase() -> str:
    return PASSPHRASE


@pytest.fixture
def make_archive(tmp_path: Path) -> Callable[..., tuple[Path, str]]:
    """Create an initialised archive in tmp_path; returns (path, passphrase)."""
    from guanai.archive.store import init_archive

    counter = {"n": 0}

    def make(name: str | None = None, *, suite: str = "aes-256-gcm", kind: str = "school",
             school_code: str = "3413220001", school_name: str = "萧县龙城镇中心小学",
             passphrase: str = PASSPHRASE, admin: str = "admin") -> tuple[Path, str]:
        counter["n"] += 1
        path = tmp_path / (name or f"archive{counter['n']}")
        init_archive(path, school_code=school_code, school_name=school_name, passphrase=passphrase,
                     admin=admin, suite=suite, kind=kind)
        return path, passphrase

    return make


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, str], None]:
    """Point the CLI at an archive via environment (GUANAI_ARCHIVE, GUANAI_PASSPHRASE, GUANAI_USER)."""

    def set_env(path: Path, passphrase: str = PASSPHRASE, user: str = "admin") -> None:
        monkeypatch.setenv("GUANAI_ARCHIVE", str(path))
        monkeypatch.setenv("GUANAI_PASSPHRASE", passphrase)
        monkeypatch.setenv("GUANAI_USER", user)

    return set_env


@pytest.fixture
def arc_env(make_archive: Callable[..., tuple[Path, str]], cli_env: Callable[..., None]) -> tuple[Path, str]:
    """An archive the CLI points at (GUANAI_ARCHIVE, GUANAI_PASSPHRASE): (path, passphrase)."""
    path, pw = make_archive()
    cli_env(path, pw)
    return path, pw
