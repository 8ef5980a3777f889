"""After a load, compute the new dataset's answers in the background, so nobody waits for them.

At national scale (a million referral links) a whole-country analysis takes one to three
seconds the first time and a dashboard page several; asked again, each is read back in a
fraction of a second (``nestmap.answers.analyses``; the dashboard's kept default views). So
``nestmap load``, ``rollback``, an upload or edit on the dashboard and a dashboard server
starting all call ``start``: a separate, low-priority process (``python -m nestmap.answers.warm
GRAPH``) asks every analysis of ``ANALYSES`` for the whole country, in the order people ask
them, then keeps what cutting one LA out needs, then (``--pages MODULE``, named by the caller:
the dashboard's ``nestmap.dashboard.prepare``) lets that module open every page once.

- A user asking meanwhile never waits longer than computing the answer would take: an answer
  being computed by the warm-up is waited for (its lock), one not reached yet is computed by the
  user's own process (and the warm-up then finds it kept).
- One warm-up per graph at a time (a lock in the graph's folder of the cache). A warm-up stops
  as soon as the graph is replaced (it checks between answers, and ``start`` stops an older
  one): the new dataset's warm-up takes over.
- **It never outlives its graph.** The process is two: a watcher, which only looks at the graph
  file every ``WATCH_S`` seconds, and the worker it forked. When the graph file is gone (its
  folder deleted while the warm-up runs), the watcher kills the worker at once (whatever it is
  doing, even inside the engine), removes what was kept for the graph and ends: nothing is
  left and no process runs a fraction of a second later. Nothing it keeps is written into the
  graph's own folder (``nestmap.answers.keep``: this user's cache), so deleting that folder
  never races with it.
- ``NESTMAP_WARM=0`` turns it off (the test suite does; so may a machine short of CPU). It
  needs the embedded engine and a cache folder it can write; otherwise it does nothing. It
  never prints, and its failures cost only the time saved.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from nestmap.answers.keep import (
    code_fingerprint,
    computing,
    forget_graph,
    kept_folder,
    make_kept_folder,
)
from nestmap.graph import GraphStore

ENV = "NESTMAP_WARM"
# How often the watcher looks at the graph file (a deleted graph's warm-up ends within this).
WATCH_S = 0.05


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def lock_path(graph: Path) -> Path:
    """Held by the warm-up running; says ``pid version what``."""
    return _warm_file(graph, "warm.lock")


def done_path(graph: Path) -> Path:
    """Says ``version what`` of the last warm-up that finished (what: answers or pages)."""
    return _warm_file(graph, "warm.done")


def _warm_file(graph: Path, name: str) -> Path:
    """``name`` in the graph's folder of the cache (beside the graph where there is none)."""
    folder = make_kept_folder(graph)
    return graph.with_name(f"{graph.name}.{name}") if folder is None else folder / name


def _done(graph: Path) -> tuple[str, str] | None:
    try:
        version, what = done_path(graph).read_text(encoding="utf-8").split()
    except (OSError, ValueError):
        return None
    return version, what


def start(store: GraphStore, pages: str | None = None) -> subprocess.Popen[bytes] | None:
    """Start warming ``store``'s current dataset in the background (stopping an older warm-up
    of the same graph); None when there is nothing to do. ``pages``: a module of nestmap's
    whose ``open_pages(store, graph, still_current)`` is called once the answers are kept
    (the dashboard's, when it is in use on this graph)."""
    path = getattr(store, "path", None)
    if not enabled() or store.engine != "embedded" or not isinstance(path, Path):
        return None
    if not store.has_graph() or kept_folder(path) is None:
        return None
    version = f"{store.version()}-{code_fingerprint(dashboard=True)}"
    finished = _done(path)
    if (
        finished is not None
        and finished[0] == version
        and (finished[1] == "pages" or pages is None)
    ):
        return None  # this dataset has been warmed already (pages imply answers)
    if not _stop_older(path, version, pages is not None):
        return None  # this dataset is being warmed already
    command = [sys.executable, "-m", "nestmap.answers.warm", str(path)]
    if pages is not None:
        command += ["--pages", pages]
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


def _other_warm_up(graph: Path) -> tuple[int, str, str, float] | None:
    """The warm-up of ``graph`` running in another process, as its lock file names it: (pid,
    ``version-fingerprint`` token, what it does, when it started: the file's time); None when
    there is none (no lock file, or its process has ended, is not a warm-up or is this one)."""
    lock = lock_path(graph)
    try:
        pid_text, token, what = lock.read_text(encoding="utf-8").split()
        pid = int(pid_text)
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        started = lock.stat().st_mtime
    except (OSError, ValueError):
        return None
    if pid <= 0 or pid == os.getpid() or b"nestmap.answers.warm" not in command:
        return None  # (this process: the warm-up's own opening of the pages computes for itself)
    return pid, token, what, started


def running(graph: Path, version: str, started_within_s: float | None = None) -> bool:
    """A warm-up of ``graph``'s dataset ``version`` (``store.version()``) is running in another
    process (and started at most ``started_within_s`` seconds ago): the answers it has not kept
    yet will be, without anyone else computing them."""
    found = _other_warm_up(graph)
    if found is None:
        return False
    _pid, token, _what, started = found
    if started_within_s is not None and time.time() - started > started_within_s:
        return False
    return token.startswith(f"{version}-")


def _stop_older(graph: Path, version: str, pages: bool) -> bool:
    """Stop a warm-up of ``graph`` still running on an earlier dataset (it would stop by itself
    at its next answer; this frees the CPU at once). False when the one running already does
    what is asked (this dataset, and the pages if ``pages``): no new one."""
    found = _other_warm_up(graph)
    if found is None:
        return True  # none running (or no trace of one)
    pid, running_now, what, _started = found
    if running_now == version:
        # Doing what is asked, or part of it: a new one (for the pages) waits for it to end.
        return not (what == "pages" or not pages)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    return True


def warm(graph: Path, pages: str | None = None, helper: int | None = None) -> int:
    """Compute and keep every answer of ``graph``'s current dataset, and (``pages``) let that
    module open the dashboard's pages; the number of answers and pages done. Stops (returning
    what it did) when the graph is replaced. ``helper``: a pipe to the helper process
    (``assist``), told to start once this warm-up has the graph's warm-up lock."""
    try:
        return _warm(graph, pages, helper)
    finally:
        if helper is not None:
            with contextlib.suppress(OSError):
                os.close(helper)  # (not told to start: it ends)


def _warm(graph: Path, pages: str | None, helper: int | None) -> int:
    from nestmap.answers.analyses import ANALYSES, answer
    from nestmap.graph import open_store

    if not graph.exists():
        return 0
    store = open_store(graph)
    if not store.has_graph():
        return 0
    version = store.version()
    token = f"{version}-{code_fingerprint(dashboard=True)}"
    done = 0

    def current() -> bool:
        return store.version() == version

    # One warm-up per graph at a time: a newer one waits here until this one has stopped.
    with computing(lock_path(graph), wait_s=600.0) as held:
        if not held or not current():
            return 0
        with contextlib.suppress(OSError):
            what = f"{os.getpid()} {token} {'pages' if pages else 'answers'}"
            lock_path(graph).write_text(what, encoding="utf-8")
        if helper is not None:
            with contextlib.suppress(OSError):
                os.write(helper, b"go")
        # Each analysis not being computed by the helper (``assist``), then whatever is left:
        # the helper's answers, waited for and read back.
        for wait_s in (0.0, None):
            for name in ANALYSES:
                if not current():
                    return done
                with contextlib.suppress(Exception):  # a failed answer is simply not kept
                    if answer(store, name, wait_s=wait_s) and wait_s is None:
                        done += 1
        if not current():
            return done
        # What cutting one LA out of a kept answer needs (nestmap.answers.slices): the next
        # `--area` question is then a slice from the start.
        with contextlib.suppress(Exception):
            from nestmap.answers.slices import keep_slice_facts

            keep_slice_facts(store)
        if pages is not None and pages.startswith("nestmap."):
            with contextlib.suppress(Exception):
                done += importlib.import_module(pages).open_pages(store, graph, current)
        if current():
            with contextlib.suppress(OSError):
                what = "pages" if pages else "answers"
                done_path(graph).write_text(f"{token} {what}", encoding="utf-8")
    return done


def assist(graph: Path) -> int:
    """The helper of a warm-up on a machine with more than one core: compute, beside the
    warm-up's own process, each answer that process is not computing already; the number
    computed. It stops at a new dataset, and with its parent."""
    from nestmap.answers.analyses import ANALYSES, answer
    from nestmap.graph import open_store

    parent = os.getppid()
    store = open_store(graph)
    if not store.has_graph():
        return 0
    version = store.version()
    done = 0
    for name in ANALYSES:
        if store.version() != version or os.getppid() != parent:
            break
        with contextlib.suppress(Exception):
            done += bool(answer(store, name, wait_s=0.0))
    return done


def leave_nothing(graph: Path) -> None:
    """Remove what warming ``graph`` kept or left (the graph is gone; twice: the worker's
    helper, killed with it by the kernel, may have written a last file meanwhile)."""
    for _attempt in range(2):
        forget_graph(graph)
        for name in ("warm.lock", "warm.done"):
            with contextlib.suppress(OSError):
                graph.with_name(f"{graph.name}.{name}").unlink()  # beside it, where no cache
        time.sleep(WATCH_S)


def _watch(graph: Path, worker: int) -> int:
    """The watcher: wait for the worker; kill it and leave nothing once the graph is gone."""

    def forward(signum: int, _frame: object) -> None:  # stopped: stop the worker too
        with contextlib.suppress(OSError):
            os.kill(worker, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        try:
            ended, _status = os.waitpid(worker, os.WNOHANG)
        except ChildProcessError:
            ended = worker
        if ended:
            # Ended by itself, perhaps because the graph went meanwhile: what it kept goes too.
            if not os.path.lexists(graph):
                leave_nothing(graph)
            return 0
        if not os.path.lexists(graph):
            with contextlib.suppress(OSError):
                os.kill(worker, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(worker, 0)
            leave_nothing(graph)
            return 0
        time.sleep(WATCH_S)


def _work(graph: Path, pages: str | None) -> int:
    # Stopped by a newer load: unwind (so half-written results are removed), quietly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if (os.cpu_count() or 1) > 1 and hasattr(os, "fork"):
        # A helper computing beside this process (before either opens the engine): the
        # answers come about twice as fast on two idle cores. It ends with this process.
        start, told = os.pipe()
        helper = os.fork()
        if helper == 0:
            code = 1
            try:
                _die_with_parent()
                os.close(told)
                if os.read(start, 2):  # once the warm-up holds the graph's lock
                    assist(graph)
                code = 0
            finally:
                os._exit(code)
        os.close(start)
        warm(graph, pages, told)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(helper, 0)  # done with its answers by now (the last pass waited for them)
        return 0
    warm(graph, pages)
    return 0


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when its parent ends (the watcher kills the
    worker, and with it its helper). Elsewhere the helper looks between answers."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nestmap.answers.warm", description=__doc__)
    parser.add_argument("graph", type=Path)
    parser.add_argument("--pages", help="a module of nestmap's that opens the dashboard's pages")
    args = parser.parse_args(argv)
    graph = args.graph.resolve()
    from nestmap.workers import lower_priority

    # Users' own commands and pages come first: this process (the watcher, whose priority the
    # worker it forks inherits) and the session's scheduling group.
    lower_priority(10)
    if not hasattr(os, "fork"):  # no watcher where processes cannot fork
        return _work(graph, args.pages)
    worker = os.fork()  # before any thread or engine: the watcher stays small
    if worker == 0:
        code = 1
        try:
            code = _work(graph, args.pages)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 0
        finally:
            os._exit(code)
    return _watch(graph, worker)


if __name__ == "__main__":
    sys.exit(main())
