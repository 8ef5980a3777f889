"""The background warm-up after a load (nestmap/analysis/warm.py) and the locks that make a
question computed once at a time (nestmap/analysis/materialised.py ``computing``): what the
warm-up keeps is exactly what a user's command prints; a command asked while the same answer is
being computed waits for it; ``nestmap load`` starts a warm-up and returns at once; the
warm-up is off under ``NESTMAP_WARM=0`` and stops for a newer dataset."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import HAND, load_into

from nestmap.analysis import warm
from nestmap.analysis.materialised import KeptResult, computing, results_dir
from nestmap.cli import app, seed_path
from nestmap.graph import open_store

NESTMAP = [sys.executable, "-m", "nestmap.cli"]


def _env(on: bool) -> dict[str, str]:
    return {**os.environ, warm.ENV: "1" if on else "0"}


def _printed(db: Path, command: str, fmt: str) -> bytes:
    result = CliRunner().invoke(
        app, [command, "--db", str(db), "--format", fmt], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


@pytest.fixture
def seed_db(tmp_path: Path) -> Path:
    db = tmp_path / "graph.lbug"
    load_into(db, seed_path()).close()
    return db


def test_the_warm_up_keeps_every_answer_as_a_command_prints_it(seed_db: Path) -> None:
    computed = {
        (command, fmt): _printed(seed_db, command, fmt)
        for command in warm.COMMANDS
        for fmt in warm.FORMATS
    }
    shutil.rmtree(results_dir(open_store(seed_db)))  # type: ignore[arg-type]

    assert warm.warm(seed_db, dashboard=False) == len(computed)

    root = results_dir(open_store(seed_db))
    assert root is not None
    for fmt in warm.FORMATS:
        written = sorted(p.read_bytes() for p in root.glob(f"*/*/written.{fmt}"))
        assert written == sorted(v for (_c, f), v in computed.items() if f == fmt)
    for (command, fmt), printed in computed.items():
        assert _printed(seed_db, command, fmt) == printed  # and is what is printed next
    assert len(list(root.glob("*/*/written.json"))) == len(warm.COMMANDS)  # nothing new
    assert warm.done_path(seed_db).read_text().split()[1] == "answers"


def test_a_command_waits_for_an_answer_being_computed_then_prints_it(seed_db: Path) -> None:
    store = open_store(seed_db)
    kept = KeptResult(store, {"analysis": "gaps", "area": None})
    assert kept.entry is not None
    lock = kept.entry.parent / f".{kept.entry.name}.lock"
    with computing(lock) as held:
        assert held
        asking = subprocess.Popen(
            [*NESTMAP, "gaps", "--db", str(seed_db), "--format", "json"],
            stdout=subprocess.PIPE,
            env=_env(False),
        )
        # While the lock is held the command neither computes nor prints: it waits.
        with pytest.raises(subprocess.TimeoutExpired):
            asking.wait(timeout=5)
        from nestmap.output import write

        # What a warm-up holding the lock does: compute, keep, write the format asked.
        parts = kept._parts(lambda: _gaps(seed_db))
        found = kept.keep_written("json", lambda stream, say: write(parts, "json", stream, say))
        assert found is not None
    printed, _ = asking.communicate(timeout=60)  # well within the 120 s it would wait
    assert asking.returncode == 0
    assert printed == found[0].read_bytes()


def _gaps(db: Path) -> object:
    from nestmap import analysis

    return analysis.gaps(open_store(db))


def test_a_lock_held_too_long_is_not_waited_for(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with computing(lock) as first:
        with computing(lock, wait_s=0.2) as second:
            assert first and not second  # the caller computes anyway
    with computing(tmp_path / "no" / "such" / "folder" / "x.lock") as held:
        assert held  # the folder is made


def test_no_lock_where_nothing_can_be_written(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with computing(blocked / "x.lock") as held:
        assert not held


def test_load_returns_at_once_and_the_warm_up_follows(tmp_path: Path) -> None:
    db = tmp_path / "graph.lbug"
    loaded = subprocess.run(
        [*NESTMAP, "load", str(HAND), "--db", str(db)],
        capture_output=True,  # a warm-up holding these pipes would keep run() waiting
        env=_env(True),
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    deadline = time.monotonic() + 180
    while not warm.done_path(db).is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert warm.done_path(db).read_text().split()[1] == "answers"
    store = open_store(db)
    root = results_dir(store)
    assert root is not None
    assert len(list(root.glob("*/*/written.csv"))) == len(warm.COMMANDS)
    # Done for this dataset: starting again does nothing.
    os.environ[warm.ENV] = "1"
    try:
        assert warm.start(store) is None
    finally:
        os.environ[warm.ENV] = "0"


def test_off_under_the_environment_switch(seed_db: Path) -> None:
    assert os.environ[warm.ENV] == "0"  # tests/conftest.py
    assert warm.start(open_store(seed_db)) is None
    assert not warm.lock_path(seed_db).exists()


def test_a_warm_up_stops_when_the_graph_is_replaced(seed_db: Path) -> None:
    store = open_store(seed_db)
    old = store.version()
    os.environ[warm.ENV] = "1"
    try:
        # Held here, the graph's warm-up lock makes the warm-up wait before its first answer.
        with computing(warm.lock_path(seed_db)):
            started = warm.start(store)
            assert started is not None
            time.sleep(1)  # it has read the dataset version it warms (or is about to)
            load_into(seed_db, HAND).close()  # a newer dataset
        assert started.wait(timeout=120) == 0
    finally:
        os.environ[warm.ENV] = "0"
    assert store.version() != old
    assert not warm.done_path(seed_db).exists()
    root = results_dir(store)
    assert root is not None
    assert not list(root.glob("*/*/parts.json")), "an answer was kept for a replaced dataset"


def test_the_dashboard_pages_are_prepared(seed_db: Path) -> None:
    answers = len(warm.COMMANDS) * len(warm.FORMATS)
    assert warm.warm(seed_db, dashboard=True, pages_above_links=0) == answers + len(warm.PAGES)
    kept = list(seed_db.with_name(seed_db.name + ".dashboard").glob("*.pickle"))
    assert kept, "the pages kept nothing"
    assert warm.done_path(seed_db).read_text().split()[1] == "pages"


def test_a_small_dataset_is_not_opened_page_by_page(seed_db: Path) -> None:
    # The seed region's 78 links: every page is quick anyway, so only the answers are kept.
    assert warm.warm(seed_db, dashboard=True) == len(warm.COMMANDS) * len(warm.FORMATS)
    assert not seed_db.with_name(seed_db.name + ".dashboard").exists()
    assert warm.done_path(seed_db).read_text().split()[1] == "pages"


def test_the_warm_up_asks_every_analysis_command() -> None:
    from nestmap.cli import ANALYSIS_COMMANDS

    assert sorted(warm.COMMANDS) == sorted(ANALYSIS_COMMANDS)
