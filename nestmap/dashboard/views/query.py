"""Query: a read-only Cypher console for analysts (row limit, timeout, memory cap).

Every statement goes through the console's guard (nestmap.graph.readonly: reading clauses and
catalogue procedures only) and, on the embedded engine, runs in a worker process with no file
access and its own limits (nestmap.graph.console): a refused, stopped or crashing query is a
message here, never a stuck or dead server.
"""

from typing import Any

import pandas as pd
import streamlit as st

from nestmap.dashboard import layout, state, tables
from nestmap.dashboard.text import md
from nestmap.errors import (
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

if submitted:
    try:
        result = state.read_only(cypher, int(limit), float(timeout))
    except ReadOnlyError as exc:
        outcome: dict[str, Any] | None = {"state": "refused", "message": str(exc)}
    except QueryTimeoutError as exc:
        outcome = {"state": "timed out", "message": str(exc)}
    except QueryStoppedError as exc:
        outcome = {"state": "stopped", "message": str(exc)}
    except QueryCrashedError as exc:
        outcome = {"state": "crashed", "message": str(exc)}
    except NestmapError as exc:
        outcome = {"state": "error", "message": str(exc)}
    else:
        outcome = {
            "state": "truncated" if result.truncated else ("no data" if not result.rows else "ok"),
            "columns": result.columns,
            "rows": result.rows,
            "cells_cut": result.cells_cut,
            "limit": int(limit),
        }
    st.session_state["query_outcome"] = outcome

outcome = st.session_state.get("query_outcome")
if outcome is not None:
    kind = outcome["state"]
    if kind == "refused":
        st.error(f"Refused: the console is read-only. {md(outcome['message'])}")
    elif kind == "timed out":
        st.warning(f"Timed out: {md(outcome['message'])}. Raise the timeout or narrow the query.")
    elif kind == "stopped":
        st.warning(
            f"Stopped for memory: {md(outcome['message'])}. Narrow the query (fewer rows or "
            "smaller values)."
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
                f"Truncated: showing the first {len(outcome['rows']):,} rows; the query "
                "returned more (the row limit, or the result's size limit)."
            )
        else:
            count = len(outcome["rows"])
            st.success(f"{count:,} row{'' if count == 1 else 's'}.")
        if outcome.get("cells_cut"):
            st.caption(f"{outcome['cells_cut']:,} long cells were cut.")
        table = pd.DataFrame(outcome["rows"], columns=outcome["columns"])
        tables.show(tables.display_safe(table), "query_result")
