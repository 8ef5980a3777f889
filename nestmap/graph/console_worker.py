"""The worker process that runs one console query (``python -m nestmap.graph.console_worker``).

It reads one JSON request on stdin, takes on its limits and dies with its parent
(nestmap.workers), takes away its file and network access (nestmap.graph.sandbox), opens the
graph read-only with a connection of its own, runs the query under the engine's timeout and
writes one JSON answer on stdout: a line ``ready`` first (the database is open: the parent
starts the query's clock), then the answer. A crash or a kill
ends only this process; nestmap.graph.console turns that into a clean message.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import sys
import uuid
from typing import Any

from nestmap.workers import answer, say_ready, start_worker

# Engine messages that mean "out of memory" (the address-space cap or the buffer pool).
_MEMORY_MARKERS = ("bad_alloc", "buffer pool is full", "unable to allocate", "mmap for size")
_TIME_MARKERS = ("interrupt", "timeout")


def _cell(value: Any, budget: dict[str, Any]) -> Any:
    """``value`` as JSON, strings cut to the cell limit (and counted as cut)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        limit = budget["cell_chars"]
        if len(value) > limit:
            budget["cells_cut"] += 1
            return value[:limit] + "…"
        return value
    if isinstance(value, list | tuple):
        return [_cell(item, budget) for item in value]
    if isinstance(value, dict):
        return {str(key): _cell(item, budget) for key, item in value.items()}
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta):
        return str(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return _cell(str(value), budget)


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Open, sandbox, run, collect (bounded); the answer document. The caller has applied the
    request's limits (nestmap.workers.start_worker)."""
    # The guard again, in case the worker is started by anything but nestmap.graph.console.
    from nestmap.errors import ReadOnlyError
    from nestmap.graph.readonly import check_read_only

    try:
        check_read_only(request["cypher"])
    except ReadOnlyError as exc:
        return {"status": "refused", "message": str(exc)}

    import ladybug
    from ladybug import _backend

    from nestmap.graph.sandbox import forbid_file_access

    _backend.get_pybind_module()  # load the engine's modules while files can still be read
    try:
        _backend.get_capi_module()
    except Exception:  # noqa: BLE001 - the C-API fallback is optional; pybind is used
        pass
    sandbox = forbid_file_access([request["db"]]) if request.get("sandbox", True) else "off"
    try:
        database = ladybug.Database(
            request["db"],
            read_only=True,
            buffer_pool_size=int(request["buffer_pool_bytes"]),
            max_num_threads=int(request["threads"]),
            max_db_size=int(request["max_db_bytes"]),
        )
        connection = ladybug.Connection(database)
    except RuntimeError as exc:
        return {"status": "error", "message": f"cannot open the graph: {exc}"}
    say_ready()
    connection.set_query_timeout(max(1, int(float(request["timeout_s"]) * 1000)))
    limit = int(request["limit"])
    budget = {"cell_chars": int(request["cell_chars"]), "cells_cut": 0}
    total_bytes = int(request["result_bytes"])
    try:
        result = connection.execute(request["cypher"], request.get("params") or {})
        if isinstance(result, list):  # several statements: the guard lets only one through
            return {"status": "refused", "message": "one statement at a time"}
        columns = result.get_column_names()
        rows: list[list[Any]] = []
        size = 0
        truncated = False
        while result.has_next():
            if len(rows) == limit:
                truncated = True
                break
            row = [_cell(value, budget) for value in result.get_next()]
            size += len(json.dumps(row, ensure_ascii=False))
            if size > total_bytes:
                truncated = True
                break
            rows.append(row)
        result.close()
    except MemoryError:
        return {"status": "memory", "message": "out of memory"}
    except RuntimeError as exc:
        message = str(exc)
        lowered = message.lower()
        if any(marker in lowered for marker in _MEMORY_MARKERS):
            return {"status": "memory", "message": message}
        if any(marker in lowered for marker in _TIME_MARKERS):
            return {"status": "timeout", "message": message}
        return {"status": "error", "message": message}
    return {
        "status": "ok",
        "columns": columns,
        "rows": rows,
        "truncated": truncated,
        "cells_cut": budget["cells_cut"],
        "sandbox": sandbox,
    }


def main() -> None:
    request = json.loads(sys.stdin.read())
    start_worker(request)
    try:
        document = run(request)
    except MemoryError:
        document = {"status": "memory", "message": "out of memory"}
    answer(document)


if __name__ == "__main__":
    main()
