"""The background warm-up after a load (nestmap/answers/warm.py) and the locks that make a
question computed once at a time (nestmap/answers/keep.py ``computing``): what the warm-up
keeps is what a user's command prints; a command asked while the same answer is being
computed waits for it; ``nestmap load`` starts a warm-up and returns at once; the warm-up is
off under ``NESTMAP_WARM=0``, stops for a newer dataset, and never outlives its graph: a
graph folder deleted while it runs leaves nothing behind and no process (real processes)."""

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

from nestmap.answers import ANALYSES, warm
from nestmap.answers.analyses import RESULTS, question, results_dir
from nestmap.answers.keep import Shelf, computing, entry_name, kept_folder, shelf_root
from nestmap.cli import app, seed_path
from nestmap.dashboard import prepare
from nestmap.graph import open_store
from nestmap.synth import generate

NESTMAP = [sys.executable, "-m", "nestmap.cli"]
FORMATS = ("json", "csv")


def _env(on: bool) -> dict[str, str]:
    return {**os.environ, warm.ENV: "1" if on else "0"}


def _printed(db: Path, command: str, fmt: str) -> bytes:
    result = CliRunner().invoke(
        app, [command, "--db", str(db), "--format", fmt], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


def _kept(db: Path) -> list[str]:
    root = shelf_root(db, RESULTS)
    return sorted(entry.name for entry in root.glob("*/[!.]*") if (entry / "done").is_file())


@pytest.fixture
def seed_db(tmp_path: Path) -> Path:
    db = tmp_path / "graph.lbug"
    load_into(db, seed_path()).close()
    return db


def test_the_warm_up_keeps_every_answer_as_a_command_prints_it(seed_db: Path) -> None:
    computed = {
        (command, fmt): _printed(seed_db, command, fmt) for command in ANALYSES for fmt in FORMATS
    }
    shutil.rmtree(results_dir(open_store(seed_db)))  # type: ignore[arg-type]

    assert warm.warm(seed_db) == len(ANALYSES)

    kept = _kept(seed_db)
    assert len(kept) == len(ANALYSES) + 2  # and what cutting one LA needs
    for (command, fmt), printed in computed.items():
        assert _printed(seed_db, command, fmt) == printed  # what is printed next
    assert _kept(seed_db) == kept  # nothing new: every answer was read back
    # Only Arrow and JSON: no text format is kept, it is written from the Arrow on request.
    files = {p.name for p in shelf_root(seed_db, RESULTS).rglob("*") if p.is_file()}
    assert {name.rsplit(".", 1)[-1] for name in files if not name.startswith(".")} == {
        "arrow",
        "json",
        "done",
    }
    assert warm.done_path(seed_db).read_text().split()[1] == "answers"


def test_a_command_waits_for_an_answer_being_computed_then_prints_it(seed_db: Path) -> None:
    store = open_store(seed_db)
    shelf = Shelf.of(store, RESULTS)
    assert shelf is not None
    with shelf.lock(entry_name(question("gaps"))) as held:
        assert held
        asking = subprocess.Popen(
            [*NESTMAP, "gaps", "--db", str(seed_db), "--format", "json"],
            stdout=subprocess.PIPE,
            env=_env(False),
        )
        # While the lock is held the command neither computes nor prints: it waits.
        with pytest.raises(subprocess.TimeoutExpired):
            asking.wait(timeout=5)
        assert _kept(seed_db) == []
    printed, _ = asking.communicate(timeout=60)  # well within the 120 s it would wait
    assert asking.returncode == 0
    assert printed == _printed(seed_db, "gaps", "json")
    assert len(_kept(seed_db)) == 1


def test_a_lock_held_too_long_is_not_waited_for(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with computing(lock) as first:
        with computing(lock, wait_s=0.2) as second:
            assert first and not second  # the caller computes anyway
    with computing(tmp_path / "no" / "such" / "folder" / "x.lock") as held:
        assert not held  # no folder is made for a lock
    assert not (tmp_path / "no").exists()


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
    assert len(_kept(db)) == len(ANALYSES) + 2
    # Done for this dataset: starting again does nothing.
    os.environ[warm.ENV] = "1"
    try:
        assert warm.start(open_store(db)) is None
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
    assert _kept(seed_db) == [], "an answer was kept for a replaced dataset"


def test_the_dashboard_pages_are_prepared(seed_db: Path) -> None:
    store = open_store(seed_db)
    assert warm.warm(seed_db) == len(ANALYSES)
    opened = prepare.open_pages(store, seed_db, lambda: True, above_links=0)
    assert opened == len(prepare.PAGES)
    from nestmap.dashboard.layout import PAGE_SPECS

    assert sorted(prepare.PAGES) == sorted(stem for stem, _title, _icon in PAGE_SPECS)
    assert prepare.PAGES[0] == "overview"  # what a new visitor sees
    folder = shelf_root(seed_db, ".dashboard")
    kept = [entry for entry in folder.glob("*/[!.]*") if (entry / "done").is_file()]
    assert kept, "the pages kept nothing"
    assert all((entry / "value.json").is_file() for entry in kept)
    assert not [p for p in folder.rglob("*") if p.suffix in (".pickle", ".pkl")]


def test_a_small_dataset_is_not_opened_page_by_page(seed_db: Path) -> None:
    # The seed region's 78 links: every page is quick anyway, so only the answers are kept.
    assert warm.warm(seed_db, prepare.MODULE) == len(ANALYSES)
    assert not shelf_root(seed_db, ".dashboard").exists()
    assert warm.done_path(seed_db).read_text().split()[1] == "pages"


def test_the_warm_up_asks_every_analysis_command() -> None:
    from nestmap.cli import ANALYSIS_COMMANDS

    assert list(ANALYSES) == sorted(ANALYSIS_COMMANDS, key=list(ANALYSES).index)
    assert sorted(ANALYSES) == sorted(ANALYSIS_COMMANDS)


# -- a warm-up never outlives its graph --------------------------------------------------------
@pytest.fixture(scope="module")
def busy_graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A graph whose warm-up takes seconds (its answers are computed, not read back)."""
    folder = tmp_path_factory.mktemp("busy")
    generate(folder / "dataset", areas=30, services=3_000, links=60_000, seed=4)
    db = folder / "graph.lbug"
    load_into(db, folder / "dataset").close()
    return db


def _warm_ups_of(graph: Path) -> list[int]:
    """The processes whose command line names ``graph`` (a warm-up's watcher and worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(graph).encode() in command and b"nestmap.answers.warm" in command and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
@pytest.mark.parametrize("after_s", [0.2, 0.8, 1.5, 3.0])
def test_deleting_the_graph_folder_while_it_warms_leaves_nothing(
    busy_graph: Path, tmp_path: Path, after_s: float
) -> None:
    folder = tmp_path / "graphs"
    folder.mkdir()
    db = folder / "graph.lbug"
    shutil.copyfile(busy_graph, db)  # a dataset no warm-up has seen
    os.environ[warm.ENV] = "1"
    try:
        started = warm.start(open_store(db), prepare.MODULE)
    finally:
        os.environ[warm.ENV] = "0"
    assert started is not None
    time.sleep(after_s)
    assert started.poll() is None, "the warm-up ended before the folder was deleted"
    removed = subprocess.run(["rm", "-rf", str(folder)], capture_output=True, text=True)
    assert removed.returncode == 0, removed.stderr
    time.sleep(2)
    assert not folder.exists(), sorted(str(p) for p in folder.rglob("*"))
    assert started.poll() is not None, "the warm-up outlived its graph"
    assert _warm_ups_of(db) == []
    kept = kept_folder(db)
    assert kept is not None and not kept.exists(), sorted(str(p) for p in kept.rglob("*"))


def test_nothing_is_written_into_the_graphs_folder_and_an_entry_lands_whole(
    tmp_path: Path,
) -> None:
    """``rm -rf`` of the graph's folder fails if a name appears in a folder it is emptying:
    what is kept for a graph (entries, locks) is written in this user's cache, never into the
    graph's folder, and an entry appears there whole, readable like the folder."""
    graph = tmp_path / "graphs" / "graph.lbug"
    graph.parent.mkdir()
    graph.write_bytes(b"g" * 100_000)
    shelf = Shelf(graph, ".results", "v1")
    assert not shelf.folder.is_relative_to(graph.parent)
    during: list[list[str]] = []

    def fill(folder: Path) -> None:
        (folder / "0.arrow").write_bytes(b"x" * 10)
        during.append(sorted(p.name for p in shelf.folder.iterdir()))
        assert not folder.is_relative_to(shelf.folder)

    with shelf.lock("entry") as held:
        assert held
        assert shelf.keep("entry", fill, lambda: True)
        locked = sorted(p.name for p in shelf.folder.iterdir())
    assert during == [[]]  # nothing of the entry while it is written, no lock
    assert locked == ["entry"]
    assert [p.name for p in graph.parent.iterdir()] == ["graph.lbug"]
    assert (shelf.folder / "entry" / "0.arrow").read_bytes() == b"x" * 10
    mode = (shelf.folder / "entry").stat().st_mode & 0o777
    assert mode == shelf.folder.stat().st_mode & 0o777


def test_what_is_kept_for_a_deleted_graph_is_swept(tmp_path: Path, monkeypatch) -> None:
    """A graph deleted with no warm-up running: the next process keeping anything removes
    what was kept for it (and only for it)."""
    from nestmap.answers import keep

    gone, stays = tmp_path / "gone.lbug", tmp_path / "stays.lbug"
    for graph in (gone, stays):
        graph.write_bytes(b"g" * 1_000)
        assert Shelf(graph, ".results", "v1").keep("e", lambda f: None, lambda: True)
    gone.unlink()
    monkeypatch.setattr(keep, "_SWEPT", [])
    other = tmp_path / "other.lbug"
    other.write_bytes(b"g" * 1_000)
    assert Shelf(other, ".results", "v1").keep("e", lambda f: None, lambda: True)
    assert not (kept_folder(gone) or tmp_path).exists()
    assert shelf_root(stays, ".results").is_dir()


def test_without_a_cache_folder_results_are_kept_beside_the_graph(
    tmp_path: Path, monkeypatch
) -> None:
    """``$NESTMAP_CACHE`` naming a folder other users may write: not used; the shelves are
    beside the graph instead (still whole entries, under the cap)."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv("NESTMAP_CACHE", str(shared))
    graph = tmp_path / "graph.lbug"
    graph.write_bytes(b"g" * 1_000)
    assert kept_folder(graph) is None
    shelf = Shelf(graph, ".results", "v1")
    assert shelf.root == tmp_path / "graph.lbug.results"
    assert shelf.keep("e", lambda f: (f / "x").write_bytes(b"1"), lambda: True)
    assert (shelf.folder / "e" / "x").read_bytes() == b"1"


def test_running_names_only_a_live_warm_up_of_that_dataset(tmp_path: Path) -> None:
    """Pages ask whether a warm-up of the dataset they show is running (then they leave its
    answers to it): only a live process that is a warm-up counts, never this process, an
    ended one, another program or another dataset's warm-up."""
    db = tmp_path / "graph.lbug"
    load_into(db, HAND).close()
    lock = warm.lock_path(db)
    looks_like = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "nestmap.answers.warm"]
    )
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not warm.running(db, "v1")  # no lock file
        for pid, version, expected in (
            (looks_like.pid, "v1", True),
            (looks_like.pid, "v2", False),
            (other.pid, "v1", False),
            (os.getpid(), "v1", False),
        ):
            lock.write_text(f"{pid} v1-fingerprint answers", encoding="utf-8")
            assert warm.running(db, version) is expected, (pid, version)
        lock.write_text(f"{looks_like.pid} v1-fingerprint answers", encoding="utf-8")
        assert warm.running(db, "v1", started_within_s=60)
        os.utime(lock, (time.time() - 120, time.time() - 120))
        assert not warm.running(db, "v1", started_within_s=60)  # started too long ago
        lock.write_text("garbage", encoding="utf-8")
        assert not warm.running(db, "v1")
    finally:
        looks_like.kill()
        other.kill()
        looks_like.wait()
        other.wait()
    lock.write_text(f"{looks_like.pid} v1-fingerprint answers", encoding="utf-8")
    assert not warm.running(db, "v1")  # ended
