"""Shared fixtures: every test gets its own TSMAKER_HOME, so no user folder is touched."""

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
DP1_COLLECTION = SHARED_DATA / "dp1_object_collection"
SAMPLES = SHARED_DATA / "samples"


@pytest.fixture(autouse=True)
def tsmaker_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh TSMAKER_HOME per test (registry, products, demo, dust maps)."""
    home = tmp_path / "tsmaker_home"
    monkeypatch.setenv("TSMAKER_HOME", str(home))
    monkeypatch.delenv("TSMAKER_DUSTMAPS_DIR", raising=False)
    monkeypatch.delenv("TSMAKER_SCHEDULER", raising=False)
    monkeypatch.delenv("TSMAKER_DEBUG", raising=False)
    return home


@pytest.fixture
def registry(tsmaker_home: Path):
    """A real SQLite registry in the test's TSMAKER_HOME."""
    from tsmaker.registry.database import Registry

    with Registry.open_default() as opened:
        yield opened


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Doctests that run the whole pipeline count as slow, like the tests that do."""
    for item in items:
        if item.name.endswith(("make_training_set", "ensure_demo_data")):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo catalogs, generated once per session (the web tests copy them into homes)."""
    from tsmaker.demo.builtin import ensure_demo_data

    folder = tmp_path_factory.getbasetemp() / "session_demo"
    ensure_demo_data(folder)
    return folder


@pytest.fixture(scope="session")
def big_specz(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Millions of spec-z around the demo's: runs slow enough to be stopped while they run."""
    from web_helpers import write_big_specz

    return write_big_specz(demo_dir, tmp_path_factory.getbasetemp() / "big_specz.parquet")
