"""Run a console query (user-written Cypher) on the embedded graph, in a worker process.

The guard (nestmap.graph.readonly) decides first; then a fresh ``python -m
nestmap.graph.console_worker`` runs the query with:

- its own read-only ``Database`` and connection (no setting is shared with the dashboard's);
- an address-space cap (``RLIMIT_AS``: ``memory_mb`` plus the engine's file mapping) and a
  small buffer pool, so ``repeat('x', 2e9)`` or ``UNWIND range(1, 3e8)`` fails in the engine
  within milliseconds instead of taking the machine's memory;
- no file or network access once started (Landlock, see nestmap.graph.sandbox);
- the engine's timeout, and a kill ``GRACE_S`` after it for work that does not stop;
- a bounded answer: ``limit`` rows, cells cut at ``CELL_CHARS``, ``RESULT_BYTES`` in all.

A segfault or a kill ends only the worker: the caller gets QueryCrashedError,
QueryStoppedError (memory) or QueryTimeoutError with a plain message. Nothing here holds the
store's lock, so other pages keep answering while a console query runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nestmap.errors import (
    NestmapError,
    NoGraphError,
    QueryCrashedError,
    QueryStoppedError,
    QueryTimeoutError,
    ReadOnlyError,
)
from nestmap.graph.readonly import check_read_only

MAX_ROWS = 100_000
CELL_CHARS = 10_000
RESULT_BYTES = 16 * 2**20
GRACE_S = 1.0
STARTUP_S = 30.0  # starting Python and opening the graph, on a busy machine
DEFAULT_MEMORY_MB = 1024
# At most this many workers at once per server process (each may take its memory budget):
# ``NESTMAP_QUERY_WORKERS``, default 2. A query waits up to its timeout for a free slot.
_WORKERS = os.environ.get("NESTMAP_QUERY_WORKERS", "")
_SLOTS = threading.BoundedSemaphore(int(_WORKERS) if _WORKERS.isdigit() and _WORKERS != "0" else 2)


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


def run_console_query(
    db: str | Path,
    cypher: str,
    limit: int,
    timeout_s: float,
    memory_mb: int | None = None,
    params: dict[str, Any] | None = None,
) -> ConsoleResult:
    """Check ``cypher`` with the guard, run it in a worker, return its bounded result.

    Raises ReadOnlyError (refused), QueryTimeoutError, QueryStoppedError (memory),
    QueryCrashedError (the engine died) or NestmapError (the query failed: its message)."""
    check_read_only(cypher)
    path = Path(db).expanduser().resolve()
    if not path.exists():
        raise NoGraphError(f"no dataset is loaded at {path}; load one with `nestmap load PATH`")
    limit = max(1, min(int(limit), MAX_ROWS))
    memory = memory_mb or memory_limit_mb()
    # The engine maps the whole file into a reserved address range of max_db_size bytes: that
    # range counts against RLIMIT_AS but is not memory in use, so it is added to the budget.
    max_db = _next_power_of_two(max(256 * 2**20, 2 * path.stat().st_size))
    request = {
        "db": str(path),
        "cypher": cypher,
        "params": params or {},
        "limit": limit,
        "timeout_s": timeout_s,
        "cell_chars": CELL_CHARS,
        "result_bytes": RESULT_BYTES,
        "buffer_pool_bytes": max(64, memory // 4) * 2**20,
        "max_db_bytes": max_db,
        "address_space_bytes": memory * 2**20 + max_db,
        "threads": 2,
        "sandbox": os.environ.get("NESTMAP_QUERY_SANDBOX", "1") != "0",
    }
    if not _SLOTS.acquire(timeout=timeout_s):
        raise QueryStoppedError(
            "the query was not started: other console queries are using every worker; "
            "try again in a moment"
        )
    try:
        answer = _run_worker(request, timeout_s)
    finally:
        _SLOTS.release()
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
        raise QueryStoppedError(
            f"the query was stopped: over its memory limit ({memory:,} MB; {message})"
        )
    raise NestmapError(f"the query failed: {message}")


class _Collector(threading.Thread):
    """Read a pipe to its end in the background (bounded), noting when the first line came."""

    def __init__(self, stream: Any, cap: int):
        super().__init__(daemon=True)
        self.stream = stream
        self.cap = cap
        self.first_line = threading.Event()
        self.data = bytearray()

    def run(self) -> None:
        first = self.stream.readline()
        self.data += first
        self.first_line.set()
        while chunk := self.stream.read(65536):
            if len(self.data) < self.cap:
                self.data += chunk[: self.cap - len(self.data)]
        self.stream.close()


def _run_worker(request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "nestmap.graph.console_worker"]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # Ctrl-C in a terminal reaches nestmap, which ends the worker
    )
    out = _Collector(process.stdout, RESULT_BYTES * 4)
    err = _Collector(process.stderr, 64 * 1024)
    out.start()
    err.start()
    try:
        assert process.stdin is not None
        process.stdin.write(json.dumps(request).encode())
        process.stdin.close()
        started = time.monotonic()
        # The query's clock starts once the worker says the graph is open.
        out.first_line.wait(STARTUP_S)
        ready = time.monotonic()
        if out.data.startswith(b"ready"):
            deadline = ready + timeout_s + GRACE_S
        else:
            deadline = started + STARTUP_S
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(process)
            raise QueryTimeoutError(
                f"the query was stopped: over its time limit ({timeout_s:g} s)"
            ) from None
    finally:
        if process.poll() is None:
            _kill(process)
        out.join(5)
        err.join(5)
    return _read_answer(process.returncode, bytes(out.data), bytes(err.data))


def _kill(process: subprocess.Popen) -> None:
    process.kill()
    process.wait()


def _read_answer(code: int, out: bytes, err: bytes) -> dict[str, Any]:
    # One answer a line, split on "\n" only: text in the answer may hold U+2028 or U+0085,
    # which str.splitlines() would also split on.
    lines = out.decode("utf-8", "replace").rstrip("\n").split("\n")
    if lines and lines[0] == "ready":
        lines = lines[1:]
    if code == 0 and lines:
        try:
            return json.loads(lines[-1])
        except json.JSONDecodeError:
            pass
    problem = err.decode("utf-8", "replace")
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        if "bad_alloc" in problem or "MemoryError" in problem:
            raise QueryStoppedError("the query was stopped: over its memory limit")
        raise QueryCrashedError(
            f"the engine crashed on this query ({name}); only the query's worker process "
            "ended: the graph is unchanged and everything else keeps working"
        )
    if "MemoryError" in problem or "bad_alloc" in problem:
        raise QueryStoppedError("the query was stopped: over its memory limit")
    last = problem.strip().splitlines()[-1:] or ["no answer"]
    raise QueryCrashedError(f"the query's worker process failed (exit {code}): {last[0][:300]}")
