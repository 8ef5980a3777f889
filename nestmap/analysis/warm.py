"""After a load, compute the new dataset's answers in the background, so nobody waits for them.

At national scale (a million referral links) a whole-country analysis takes one to three
seconds the first time and a dashboard page up to twenty; asked again, each is read back in a
fraction of a second (``nestmap.analysis.materialised`` for the command line and the Python
API, the dashboard's own kept results for its pages). So ``nestmap load``, ``rollback``, an
upload or edit on the dashboard and a dashboard server starting all call ``start``: a separate,
low-priority process (``python -m nestmap.analysis.warm GRAPH``) asks every analysis command
for the whole country, in JSON and CSV, exactly as a user would, then (``--dashboard``) opens
every dashboard page once, headless, with no filters.

- A user asking meanwhile never waits longer than computing the answer would take: an answer
  being computed by the warm-up is waited for (its lock), one not reached yet is computed by the
  user's own process (and the warm-up then finds it kept).
- One warm-up per graph at a time (a lock beside the graph). A warm-up stops as soon as the
  graph is replaced (it checks between answers, and ``start`` stops an older one): the new
  dataset's warm-up takes over.
- ``NESTMAP_WARM=0`` turns it off (the test suite does; so may a machine short of CPU). It
  needs the embedded engine and a folder it can write beside the graph; otherwise it does
  nothing. It never prints, and its failures cost only the time saved.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from nestmap.analysis.materialised import code_fingerprint, computing
from nestmap.graph import GraphStore

# The analysis commands as a user runs them, the most asked first (``nestmap X --format F``).
COMMANDS = (
    "gaps",
    "misdirected",
    "boundaries",
    "pathways",
    "concentration",
    "need",
    "age-bands",
    "assessment",
    "workforce",
    "thrive",
    "groups-left-out",
)
FORMATS = ("json", "csv")
# The dashboard's pages, the heaviest first (the Overview is what a new visitor sees).
PAGES = (
    "overview",
    "referrals",
    "network",
    "boundaries",
    "coverage",
    "pathways",
    "workforce",
    "data",
    "thrive",
    "need",
    "map",
    "scenarios",
    "query",
)
ENV = "NESTMAP_WARM"
# Below this many referral links every page computes what it needs in about a second: opening
# them all in the background would only compete with the first visitor for the CPU.
PAGES_ABOVE_LINKS = 20_000


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def lock_path(graph: Path) -> Path:
    """Held by the warm-up running; says ``pid version what``."""
    return graph.with_name(graph.name + ".warm.lock")


def done_path(graph: Path) -> Path:
    """Says ``version what`` of the last warm-up that finished (what: answers or pages)."""
    return graph.with_name(graph.name + ".warm.done")


def _done(graph: Path) -> tuple[str, str] | None:
    try:
        version, what = done_path(graph).read_text(encoding="utf-8").split()
    except (OSError, ValueError):
        return None
    return version, what


def start(store: GraphStore, dashboard: bool | None = None) -> subprocess.Popen[bytes] | None:
    """Start warming ``store``'s current dataset in the background (stopping an older warm-up
    of the same graph); None when there is nothing to do. ``dashboard``: also open every
    dashboard page (default: when the dashboard has kept results beside this graph, i.e. it
    has been used on it)."""
    path = getattr(store, "path", None)
    if not enabled() or store.engine != "embedded" or not isinstance(path, Path):
        return None
    if not store.has_graph() or not os.access(path.parent, os.W_OK):
        return None
    if dashboard is None:
        dashboard = path.with_name(path.name + ".dashboard").is_dir()
    version = f"{store.version()}-{code_fingerprint(dashboard=True)}"
    finished = _done(path)
    if (
        finished is not None
        and finished[0] == version
        and (finished[1] == "pages" or not dashboard)
    ):
        return None  # this dataset has been warmed already (pages imply answers)
    if not _stop_older(path, version, dashboard):
        return None  # this dataset is being warmed already
    command = [sys.executable, "-m", "nestmap.analysis.warm", str(path)]
    if dashboard:
        command.append("--dashboard")
    try:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # never hold a caller's pipe open
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,  # not stopped by the terminal's Ctrl-C of the load
            cwd=path.parent,
        )
    except OSError:
        return None


def _stop_older(graph: Path, version: str, dashboard: bool) -> bool:
    """Stop a warm-up of ``graph`` still running on an earlier dataset (it would stop by itself
    at its next answer; this frees the CPU at once). False when the one running already does
    what is asked (this dataset, and the dashboard's pages if ``dashboard``): no new one."""
    try:
        pid_text, running, pages = lock_path(graph).read_text(encoding="utf-8").split()
        pid = int(pid_text)
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return True  # none running (or no trace of one)
    if pid <= 0 or pid == os.getpid() or b"nestmap.analysis.warm" not in command:
        return True
    if running == version:
        # Doing what is asked, or part of it: a new one (for the pages) waits for it to end.
        return not (pages == "pages" or not dashboard)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    return True


def warm(graph: Path, dashboard: bool, pages_above_links: int = PAGES_ABOVE_LINKS) -> int:
    """Compute and keep every answer of ``graph``'s current dataset, and (``dashboard``, for a
    dataset of more than ``pages_above_links`` referral links) open every page; the number of
    answers and pages done. Stops (returning what it did) when the graph is replaced."""
    from nestmap.graph import open_store

    store = open_store(graph)
    if not store.has_graph():
        return 0
    version = store.version()
    token = f"{version}-{code_fingerprint(dashboard=True)}"
    done = 0
    # One warm-up per graph at a time: a newer one waits here until this one has stopped.
    with computing(lock_path(graph), wait_s=600.0) as held:
        if not held:
            return 0
        with contextlib.suppress(OSError):
            what = f"{os.getpid()} {token} {'pages' if dashboard else 'answers'}"
            lock_path(graph).write_text(what, encoding="utf-8")
        # Every analysis once (its first format) before any second format: a format written
        # from a kept answer takes a fraction of the time of computing it.
        for fmt in FORMATS:
            for command in COMMANDS:
                if store.version() != version:
                    return done
                done += _ask(graph, command, fmt)
        if store.version() != version:
            return done
        # What cutting one LA out of a kept answer needs (nestmap.analysis.slices): the next
        # `--area` question is then a slice from the start.
        with contextlib.suppress(Exception):
            from nestmap.analysis.slices import keep_slice_facts

            keep_slice_facts(store)
        if dashboard and _links(store) > pages_above_links:
            done += _open_pages(store, graph, version)
        if store.version() == version:
            with contextlib.suppress(OSError):
                what = "pages" if dashboard else "answers"
                done_path(graph).write_text(f"{token} {what}", encoding="utf-8")
    return done


def _links(store: GraphStore) -> int:
    from nestmap.analysis.info import info

    try:
        return int(info(store)["links"].get("REFERS_TO", 0))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an unreadable graph: nothing to open pages on
        return 0


def _ask(graph: Path, command: str, fmt: str) -> int:
    """``nestmap COMMAND --db GRAPH --format FMT``, in this process, its output discarded."""
    from nestmap.cli import app

    with _quiet():
        try:
            app.main(
                [command, "--db", str(graph), "--format", fmt],
                prog_name="nestmap",
                standalone_mode=False,
            )
        except (Exception, SystemExit):  # noqa: BLE001 - a failed answer is simply not kept
            return 0
    return 1


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """stdout and stderr to nowhere: Python's streams, and descriptors 1 and 2 (answers kept
    as files are sent with sendfile to standard output's descriptor)."""
    with open(os.devnull, "w") as null:
        saved = os.dup(1), os.dup(2)
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            with contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
                yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _open_pages(store: GraphStore, graph: Path, version: str) -> int:
    """Open every dashboard page once, headless and unfiltered: each keeps its results beside
    the graph as it would for a first visitor, and a server reads them back."""
    os.environ["NESTMAP_DB"] = str(graph)
    os.environ[ENV] = "0"  # the pages would start a warm-up of their own
    os.environ.pop("NESTMAP_NEO4J_URI", None)
    try:
        from streamlit.testing.v1 import AppTest

        from nestmap.dashboard import APP_PATH
    except ImportError:
        return 0
    app = AppTest.from_file(str(APP_PATH), default_timeout=600)
    opened = 0
    for page in PAGES:
        if store.version() != version:
            break
        try:
            with _quiet():
                if page != PAGES[0]:
                    app.switch_page(f"views/{page}.py")
                app.run()
        except Exception:  # noqa: BLE001 - a page that fails is not kept; the next may be
            continue
        opened += 1
    return opened


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nestmap.analysis.warm", description=__doc__)
    parser.add_argument("graph", type=Path)
    parser.add_argument("--dashboard", action="store_true", help="also open every page")
    args = parser.parse_args(argv)
    # Stopped by a newer load: unwind (so half-written results are removed), quietly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(OSError):
        os.nice(10)  # users' own commands and pages come first
    warm(args.graph.resolve(), args.dashboard)
    return 0


if __name__ == "__main__":
    sys.exit(main())
