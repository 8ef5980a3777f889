"""Query: a read-only Cypher console for analysts (row limit, timeout, memory cap).

Every statement goes through the console's guard (nestmap.graph.readonly: reading clauses and
catalogue procedures only) and, on the embedded engine, runs in a worker process with no file
access and its own limits (nestmap.graph.console): a refused, stopped or crashing query is a
message here, never a stuck or dead server. The server runs at most two console queries at
once, one per session (a query beyond is refused as busy, at once); a query whose browser
session has gone is stopped; a session's result is kept within the server's bound for console
results (nestmap.dashboard.budget).
"""

import uuid
from typing import Any

import pandas as pd
import streamlit as st

from nestmap.dashboard import budget, layout, state, tables
from nestmap.dashboard.text import md
from nestmap.errors import (
    BusyError,
    NestmapError,
    QueryCrashedError,
    QueryStoppedError,
    QueryTimeoutError,
    ReadOnlyError,
)
from nestmap.graph.console import describe_limits
from nestmap.graph.readonly import MAX_QUERY_CHARS

EXAMPLE = (
    "MATCH (s:Service)-[r:REFERS_TO]->(t:Service)\n"
    "WHERE r.reason = 'parent_infant_relationship'\n"
    "RETURN s.name AS from_service, t.name AS to_service, r.count AS referrals\n"
    "ORDER BY referrals DESC"
)
MAX_ROWS = 100_000
MAX_TIMEOUT_S = 300

chosen = layout.start(
    "Query",
    "Read-only Cypher against the loaded graph (nodes Area, Service, Level, StaffPost, Dataset; "
    "links PART_OF, COVERS, OFFERS, REFERS_TO, STAFFED_BY; every property is described in the "
    "project's docs/analyses.md). Writes are refused. Results can be downloaded as CSV.",
    "query",
)
if not state.has_graph():
    st.info("No data: no dataset is loaded, so there is nothing to query.")
    layout.end()


def _kept_outcome(columns: list[str], rows: list[list[Any]], truncated: bool) -> dict[str, Any]:
    """The result kept for this session, within the server's bound for console results (the
    page keeps only its size and a tag; the rows stay in one compact block)."""
    outcome: dict[str, Any] = {
        "state": "truncated" if truncated else ("no data" if not rows else "ok"),
        "rows": len(rows),
        "tag": uuid.uuid4().hex,
    }
    if rows:
        table = tables.to_ipc(tables.display_safe(pd.DataFrame(rows, columns=columns)))
        budget.RESULTS.keep_only(budget.session_alive)  # results of sessions that have ended
        budget.RESULTS.put(budget.session_id(), outcome["tag"], table)
    return outcome


def _kept_table(session: str, tag: str) -> pd.DataFrame:
    """The whole kept result, for a download (gone: BusyError, the download fails plainly)."""
    data = budget.RESULTS.get(session, tag)
    if data is None:
        raise BusyError("this console result is no longer kept; run the query again")
    return tables.from_ipc(data).to_pandas()


def _show_kept(outcome: dict[str, Any]) -> None:
    session, tag = budget.session_id(), outcome["tag"]
    data = budget.RESULTS.get(session, tag)
    if data is None:
        st.info(
            "This result is no longer kept: the server keeps at most "
            f"{budget.RESULTS.total_bytes // 2**20:,} MB of console results for all its "
            "visitors together, letting the oldest go first. Run the query again to see it."
        )
        return
    tables.show(tables.from_ipc(data), "query_result", whole=lambda: _kept_table(session, tag))


with st.form("query_form"):
    cypher = st.text_area(
        "Cypher", value=EXAMPLE, height=150, key="query_text", max_chars=MAX_QUERY_CHARS
    )
    left, right, _ = st.columns([1, 1, 2])
    limit = left.number_input("Row limit", min_value=1, max_value=MAX_ROWS, value=1000, step=100)
    timeout = right.number_input(
        "Timeout (seconds)", min_value=1, max_value=MAX_TIMEOUT_S, value=10
    )
    submitted = st.form_submit_button("Run", type="primary")
limits = (
    describe_limits(int(limit), float(timeout))
    if state.store().engine == "embedded"
    else f"at most {int(limit):,} rows and {float(timeout):g} s, in a Neo4j read transaction"
)
st.caption(
    f"Limits: {limits}; one statement of at most "
    f"{MAX_QUERY_CHARS:,} characters. Allowed: MATCH, OPTIONAL MATCH, WITH, UNWIND, WHERE, "
    "RETURN, ORDER BY, SKIP, LIMIT, UNION, functions of their arguments and CALL show\\_tables() "
    "or table\\_info('Service')."
)


def _run(cypher: str, limit: int, timeout_s: float) -> dict[str, Any]:
    """Run the query for this session; what to show. The rows live only in here (a page's
    globals stay until the session's next run) and in the session's kept result."""
    running = st.empty()
    try:
        result = state.store().console(
            cypher,
            limit,
            timeout_s,
            owner=budget.session_id(),
            heartbeat=budget.heartbeat(running, timeout_s),
            wait_s=0,  # refused at once when the server's console workers are taken
        )
    except ReadOnlyError as exc:
        return {"state": "refused", "message": str(exc)}
    except BusyError as exc:
        return {"state": "busy", "message": str(exc)}
    except QueryTimeoutError as exc:
        return {"state": "timed out", "message": str(exc)}
    except QueryStoppedError as exc:
        return {"state": "stopped", "message": str(exc)}
    except QueryCrashedError as exc:
        return {"state": "crashed", "message": str(exc)}
    except NestmapError as exc:
        return {"state": "error", "message": str(exc)}
    finally:
        running.empty()
    outcome = _kept_outcome(result.columns, result.rows, result.truncated)
    outcome.update(cells_cut=result.cells_cut, limit=limit)
    return outcome


if submitted:
    st.session_state["query_outcome"] = _run(cypher, int(limit), float(timeout))

outcome = st.session_state.get("query_outcome")
if outcome is not None:
    kind = outcome["state"]
    if kind == "refused":
        st.error(f"Refused: the console is read-only. {md(outcome['message'])}")
    elif kind == "busy":
        st.warning(f"Busy: {md(outcome['message'])}.")
    elif kind == "timed out":
        st.warning(f"Timed out: {md(outcome['message'])}. Raise the timeout or narrow the query.")
    elif kind == "stopped":
        st.warning(
            f"Stopped: {md(outcome['message'])}. Narrow the query (fewer rows or smaller values)."
        )
    elif kind == "crashed":
        st.error(f"Crashed: {md(outcome['message'])}")
    elif kind == "error":
        st.error(f"Error: {md(outcome['message'])}")
    elif kind == "no data":
        st.info("No data: the query returned no rows.")
    else:
        if kind == "truncated":
            st.warning(
                f"Truncated: showing the first {outcome['rows']:,} rows; the query "
                "returned more (the row limit, or the result's size limit)."
            )
        else:
            count = outcome["rows"]
            st.success(f"{count:,} row{'' if count == 1 else 's'}.")
        if outcome.get("cells_cut"):
            st.caption(f"{outcome['cells_cut']:,} long cells were cut.")
        _show_kept(outcome)
