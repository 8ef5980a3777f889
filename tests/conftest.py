"""Shared fixtures: real embedded graphs in tmp folders, the seed region loaded once."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from nestmap.api import seed_path
from nestmap.graph import open_store
from nestmap.loaders import read_dataset

# No background warm-up after the tests' loads (nestmap.answers.warm): thousands of loads
# would each start one, competing for the CPU and writing into folders being deleted.
# tests/test_warm.py turns it on where it is the subject.
os.environ["NESTMAP_WARM"] = "0"
# What is kept for the tests' graphs (nestmap.answers.keep) goes to a cache of this run's own,
# not the user's: removed at the end.
os.environ["NESTMAP_CACHE"] = tempfile.mkdtemp(prefix="nestmap-tests-cache-")
atexit.register(shutil.rmtree, os.environ["NESTMAP_CACHE"], True)

DATA = Path(__file__).parent / "data"
HAND = DATA / "hand"


def load_into(db: Path, dataset_path: Path):
    store = open_store(db)
    store.replace(read_dataset(dataset_path))
    return store


@pytest.fixture
def hand_copy(tmp_path: Path) -> Path:
    """A writable copy of the hand-built dataset, for tests that break a file."""
    target = tmp_path / "hand"
    shutil.copytree(HAND, target)
    return target


@pytest.fixture(scope="session")
def hand_store(tmp_path_factory: pytest.TempPathFactory):
    store = load_into(tmp_path_factory.mktemp("hand") / "graph.lbug", HAND)
    yield store
    store.close()


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory: pytest.TempPathFactory):
    store = load_into(tmp_path_factory.mktemp("seed") / "graph.lbug", seed_path())
    yield store
    store.close()


# The editing grants and the extra names a dashboard server reads from its environment.
SERVER_ENV = (
    "NESTMAP_EDITOR_SECRET_FILE",
    "NESTMAP_EDITOR_SECRET",
    "NESTMAP_EDITOR_EMAILS",
    "NESTMAP_OPEN_EDITING",
    "NESTMAP_ALLOWED_HOSTS",
)


@pytest.fixture
def started(monkeypatch):
    """What `streamlit run` would be started with by `nestmap dashboard` / `demo`: its command
    and environment (no server is started; the tests that need one start it for real)."""
    from nestmap import serve

    seen: dict = {}

    def run_child(command, env):
        seen["command"], seen["env"] = command, env
        return 0

    monkeypatch.setattr(serve, "run_child", run_child)
    monkeypatch.setattr(serve, "check_port", lambda address, port: None)
    for name in SERVER_ENV:
        monkeypatch.delenv(name, raising=False)
    return seen


def dashboard_page(monkeypatch, db: Path, stem: str = "overview", **query: str):
    """A dashboard page in Streamlit's AppTest on the graph at ``db``, opened at an address
    with ``query`` (a shared link's parameters), as a fresh browser session would."""
    from streamlit.testing.v1 import AppTest

    import nestmap.dashboard

    monkeypatch.setenv("NESTMAP_DB", str(db))
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    app = AppTest.from_file(str(nestmap.dashboard.APP_PATH), default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    if stem != "overview":
        app.switch_page(f"views/{stem}.py")
        app.run()
    return app


def oruk_data_page(monkeypatch: pytest.MonkeyPatch, db: str):
    """The Data page (AppTest) on the graph at ``db``, its "Map an ORUK directory" switch on."""
    app = dashboard_page(monkeypatch, Path(db), "data")
    app.toggle(key="oruk_open").set_value(True).run()
    return app
