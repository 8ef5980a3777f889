"""Run a console query (user-written Cypher) on the embedded graph, in a worker process.

The guard (nestmap.graph.readonly) decides first; then a fresh ``python -m
nestmap.graph.console_worker`` (see nestmap.workers) runs the query with:

- its own read-only ``Database`` and connection (no setting is shared with the dashboard's);
- an address-space cap (``RLIMIT_AS``: ``memory_mb`` plus the engine's file mapping) and a
  small buffer pool, so ``repeat('x', 2e9)`` or ``UNWIND range(1, 3e8)`` fails in the engine
  within milliseconds instead of taking the machine's memory;
- no file or network access once started (Landlock, see nestmap.graph.sandbox);
- the engine's timeout, a kill ``GRACE_S`` after it for work that does not stop, and a CPU-time
  limit the kernel enforces (a function the engine cannot interrupt, such as ``levenshtein`` of
  two long strings, is ended even if nothing else is left to end it);
- the worker dies with the process that started it (``kill`` of ``nestmap query`` or of a
  dashboard leaves no worker behind), and ``heartbeat`` lets a dashboard stop it once the
  visitor's browser session has gone;
- a bounded answer: ``limit`` rows, cells cut at ``CELL_CHARS``, ``RESULT_BYTES`` in all.

At most ``NESTMAP_QUERY_WORKERS`` (default 2) run at once in one process, and one per
``owner`` (a dashboard session): a query beyond that is refused with BusyError, saying it is
capacity. A segfault or a kill ends only the worker: the caller gets QueryCrashedError,
QueryStoppedError (memory or CPU time) or QueryTimeoutError with a plain message. Nothing here
holds the store's lock, so other pages keep answering while a console query runs.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nestmap.budget import Pool
from nestmap.errors import (
    NestmapError,
    NoGraphError,
    QueryCrashedError,
    QueryStoppedError,
    QueryTimeoutError,
    ReadOnlyError,
)
from nestmap.graph.readonly import check_read_only
from nestmap.workers import Finished, Limits, run_worker

MAX_ROWS = 100_000
CELL_CHARS = 10_000
RESULT_BYTES = 16 * 2**20
DEFAULT_MEMORY_MB = 1024
THREADS = 2  # the engine's threads in a worker
# CPU time for starting Python, importing the engine and opening the graph, beyond the query's.
STARTUP_CPU_S = 20.0


def _workers() -> int:
    value = os.environ.get("NESTMAP_QUERY_WORKERS", "")
    return int(value) if value.isdigit() and value != "0" else 2


# At most this many workers at once per process (each may take its memory budget), and one
# per owner (a dashboard session). No queue: a console query is refused when they are taken.
WORKERS = Pool(("query", "queries"), _workers(), queue=0, per_owner=1)
_calls = itertools.count()


def memory_limit_mb() -> int:
    """The worker's memory budget: ``NESTMAP_QUERY_MEMORY_MB``, else 1024."""
    value = os.environ.get("NESTMAP_QUERY_MEMORY_MB", "")
    return int(value) if value.isdigit() and int(value) >= 64 else DEFAULT_MEMORY_MB


@dataclass(frozen=True)
class ConsoleResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool  # more rows than the limit, or over RESULT_BYTES
    cells_cut: int  # cells shortened to CELL_CHARS
    sandbox: str  # what the worker could do about files (see nestmap.graph.sandbox)


def describe_limits(limit: int, timeout_s: float, memory_mb: int | None = None) -> str:
    """The limits a console query runs under, in words (for the page and ``--help``)."""
    memory = memory_mb or memory_limit_mb()
    return (
        f"at most {limit:,} rows, {timeout_s:g} s, {memory:,} MB of memory, "
        f"{CELL_CHARS:,} characters per cell and {RESULT_BYTES // 2**20} MB in all; "
        "reading queries only, no files"
    )


def _next_power_of_two(value: int) -> int:
    return 1 << max(0, value - 1).bit_length()


def console_job(
    db: str | Path,
    cypher: str,
    limit: int,
    timeout_s: float,
    memory_mb: int | None = None,
    params: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Limits]:
    """The worker's request and limits for one console query (its guard not yet applied)."""
    path = Path(db).expanduser().resolve()
    if not path.exists():
        raise NoGraphError(f"no dataset is loaded at {path}; load one with `nestmap load PATH`")
    memory = memory_mb or memory_limit_mb()
    # The engine maps the whole file into a reserved address range of max_db_size bytes: that
    # range counts against RLIMIT_AS but is not memory in use, so it is added to the budget.
    max_db = _next_power_of_two(max(256 * 2**20, 2 * path.stat().st_size))
    request = {
        "db": str(path),
        "cypher": cypher,
        "params": params or {},
        "limit": max(1, min(int(limit), MAX_ROWS)),
        "timeout_s": timeout_s,
        "cell_chars": CELL_CHARS,
        "result_bytes": RESULT_BYTES,
        "buffer_pool_bytes": max(64, memory // 4) * 2**20,
        "max_db_bytes": max_db,
        "threads": THREADS,
        "sandbox": os.environ.get("NESTMAP_QUERY_SANDBOX", "1") != "0",
    }
    limits = Limits(
        timeout_s=timeout_s,
        # Every engine thread busy for the whole timeout, and the start.
        cpu_s=THREADS * (timeout_s + 1) + STARTUP_CPU_S,
        memory_bytes=memory * 2**20 + max_db,
    )
    return request, limits


def run_console_query(
    db: str | Path,
    cypher: str,
    limit: int,
    timeout_s: float,
    memory_mb: int | None = None,
    params: dict[str, Any] | None = None,
    owner: str | None = None,
    heartbeat: Callable[[], None] | None = None,
    wait_s: float | None = None,
) -> ConsoleResult:
    """Check ``cypher`` with the guard, run it in a worker, return its bounded result.

    ``owner``: who asks (a dashboard session; one query each at a time), ``wait_s``: how long
    to wait for a free worker (default: the timeout; a dashboard passes 0 and refuses at once),
    ``heartbeat``: called while the query runs, may raise to stop it (see nestmap.workers).

    Raises ReadOnlyError (refused), BusyError (every worker taken), QueryTimeoutError,
    QueryStoppedError (memory or CPU time), QueryCrashedError (the engine died) or
    NestmapError (the query failed: its message)."""
    check_read_only(cypher)
    request, limits = console_job(db, cypher, limit, timeout_s, memory_mb, params)
    who = owner if owner is not None else f"call-{next(_calls)}"
    with WORKERS.slot(who, timeout_s if wait_s is None else wait_s):
        finished = run_worker(
            "nestmap.graph.console_worker", request, limits, RESULT_BYTES * 4, heartbeat
        )
    if finished.timed_out:
        raise QueryTimeoutError(f"the query was stopped: over its time limit ({timeout_s:g} s)")
    answer = read_answer(finished, limits)
    status = answer.get("status")
    if status == "ok":
        return ConsoleResult(
            answer["columns"],
            answer["rows"],
            bool(answer["truncated"]),
            int(answer.get("cells_cut", 0)),
            str(answer.get("sandbox", "")),
        )
    message = str(answer.get("message", ""))
    if status == "refused":
        raise ReadOnlyError(message)
    if status == "timeout":
        raise QueryTimeoutError(f"the query was stopped: over its time limit ({timeout_s:g} s)")
    if status == "memory":
        memory = memory_mb or memory_limit_mb()
        raise QueryStoppedError(
            f"the query was stopped: over its memory limit ({memory:,} MB; {message})"
        )
    raise NestmapError(f"the query failed: {message}")


def read_answer(finished: Finished, limits: Limits) -> dict[str, Any]:
    import json

    lines = finished.answer_lines()
    if finished.code == 0 and lines:
        try:
            return json.loads(lines[-1])
        except json.JSONDecodeError:
            pass
    problem = finished.err.decode("utf-8", "replace")
    if finished.over_cpu:
        raise QueryStoppedError(
            f"the query was stopped: over its CPU-time limit ({limits.cpu_s:g} s of processor time)"
        )
    if "MemoryError" in problem or "bad_alloc" in problem:
        raise QueryStoppedError("the query was stopped: over its memory limit")
    if finished.code < 0:
        raise QueryCrashedError(
            f"the engine crashed on this query ({finished.signal_name()}); only the query's "
            "worker process ended: the graph is unchanged and everything else keeps working"
        )
    last = problem.strip().splitlines()[-1:] or ["no answer"]
    raise QueryCrashedError(
        f"the query's worker process failed (exit {finished.code}): {last[0][:300]}"
    )
