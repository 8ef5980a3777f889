"""Shared fixtures: real embedded graphs in tmp folders, the seed region loaded once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from nestmap.api import seed_path
from nestmap.graph import open_store
from nestmap.loaders import read_dataset

# No background warm-up after the tests' loads (nestmap.answers.warm): thousands of loads
# would each start one, competing for the CPU and writing into folders being deleted.
# tests/test_warm.py turns it on where it is the subject.
os.environ["NESTMAP_WARM"] = "0"

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
