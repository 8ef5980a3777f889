"""Map: the region's local authorities coloured by a metric (offline, no map tiles)."""

import streamlit as st

from nestmap.dashboard import figures, layout, state, tables
from nestmap.dashboard.geo import ATTRIBUTION, boundaries
from nestmap.dashboard.text import md

chosen = layout.start(
    "Map",
    "The region's local authorities, coloured by the metric you pick. Hover an area for its value.",
    "map",
)
METRICS = {
    "gap cells": "Gap cells: level x stage cells with no specialised service "
    "(sidebar level and stage filters apply).",
    "demand shortfall": "Demand shortfall: families a year whose estimated need for "
    "specialised help exceeds capacity (sidebar level filter applies; shares from Need & "
    "capacity).",
    "misdirected referrals": "Misdirected referrals recorded (referrals a year or survey "
    "mentions, as each link's source says), counted in every local authority the referring "
    "service covers: do not add the local authorities up.",
}
metric = st.radio("Colour by", list(METRICS), horizontal=True, key="map_metric")
if not chosen.present:
    st.caption(METRICS[metric])

codes = state.local_authority_codes()
names = state.area_names()
values: dict[str, float | None] = dict.fromkeys(codes, 0)
if metric == "gap cells":
    for row in state.gaps():
        if (chosen.level in (None, row["level"])) and (chosen.stage in (None, row["stage"])):
            values[row["area_code"]] = (values[row["area_code"]] or 0) + int(row["gap"])
elif metric == "demand shortfall":
    for row in state.need(None, st.session_state.get("need_shares")):
        if chosen.level in (None, row["level"]):
            if row["shortfall"] is None:
                values[row["area_code"]] = None
            elif values[row["area_code"]] is not None:
                values[row["area_code"]] = (values[row["area_code"]] or 0) + row["shortfall"]
else:
    covers = {s["id"]: s["covers"] for s in state.services()}
    for row in state.misdirected():
        for code in covers.get(row["from_service"], []):
            if code in values:
                values[code] = (values[code] or 0) + (row["count"] or 0)

shapes = boundaries()
missing = [code for code in codes if code not in shapes]
if missing:
    listed = ", ".join(f"{md(names.get(code, code))} ({md(code)})" for code in missing[:20])
    more = f" and {len(missing) - 20:,} more" if len(missing) > 20 else ""
    st.info(
        f"No bundled boundary for {len(missing):,} of {len(codes):,} local authorities "
        f"(the map ships the 22 Welsh unitary authorities): {listed}{more}. "
        "Their values are in the table below."
    )
if len(missing) < len(codes):
    st.plotly_chart(
        figures.boundary_map(shapes, values, names, metric, chosen.present),
        width="stretch",
        config={"displaylogo": False, "scrollZoom": False},
    )
    if chosen.la and chosen.la in values:
        st.caption(f"Selected in the sidebar: {md(names.get(chosen.la, chosen.la))}.")
st.caption(ATTRIBUTION)

table = [
    {
        "area_code": code,
        "area_name": names.get(code, code),
        metric.replace(" ", "_"): values[code],
        "boundary": code in shapes,
    }
    for code in codes
]
tables.show(tables.frame(table), f"map_{metric.replace(' ', '_')}")
