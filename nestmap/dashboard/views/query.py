"""Query: a read-only Cypher console for analysts (row limit, timeout, writes refused)."""

from typing import Any

import pandas as pd
import streamlit as st

from nestmap.dashboard import layout, state, tables
from nestmap.dashboard.text import md
from nestmap.errors import NestmapError, QueryTimeoutError, ReadOnlyError

EXAMPLE = (
    "MATCH (s:Service)-[r:REFERS_TO]->(t:Service)\n"
    "WHERE r.reason = 'parent_infant_relationship'\n"
    "RETURN s.name AS from_service, t.name AS to_service, r.count AS referrals\n"
    "ORDER BY referrals DESC"
)

chosen = layout.start(
    "Query",
    "Read-only Cypher against the loaded graph (nodes Area, Service, Level, StaffPost, Dataset; "
    "links PART_OF, COVERS, OFFERS, REFERS_TO, STAFFED_BY; every property is described in the "
    "project's docs/analyses.md). Writes are refused. Results can be downloaded as CSV.",
    "query",
)
if not state.has_graph():
    st.info("No data: no dataset is loaded, so there is nothing to query.")
    st.stop()

with st.form("query_form"):
    cypher = st.text_area("Cypher", value=EXAMPLE, height=150, key="query_text")
    left, right, _ = st.columns([1, 1, 2])
    limit = left.number_input("Row limit", min_value=1, max_value=100_000, value=1000, step=100)
    timeout = right.number_input("Timeout (seconds)", min_value=1, max_value=300, value=10)
    submitted = st.form_submit_button("Run", type="primary")

if submitted:
    try:
        columns, rows, truncated = state.read_only(cypher, int(limit), float(timeout))
    except ReadOnlyError as exc:
        outcome: dict[str, Any] | None = {"state": "refused", "message": str(exc)}
    except QueryTimeoutError as exc:
        outcome = {"state": "timed out", "message": str(exc)}
    except NestmapError as exc:
        outcome = {"state": "error", "message": str(exc)}
    else:
        outcome = {
            "state": "truncated" if truncated else ("no data" if not rows else "ok"),
            "columns": columns,
            "rows": rows,
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
    elif kind == "error":
        st.error(f"Error: {md(outcome['message'])}")
    elif kind == "no data":
        st.info("No data: the query returned no rows.")
    else:
        if kind == "truncated":
            st.warning(
                f"Truncated: showing the first {outcome['limit']:,} rows; the query returned more."
            )
        else:
            st.success(f"{len(outcome['rows']):,} rows.")
        table = pd.DataFrame(outcome["rows"], columns=outcome["columns"])
        tables.show(tables.display_safe(table), "query_result")
