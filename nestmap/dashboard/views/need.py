"""Need & capacity: the report's estimating method, with shares the user can change."""

import streamlit as st

from nestmap.dashboard import figures, layout, state, tables
from nestmap.vocabulary import DEFAULT_SHARES, NEED_LEVELS

chosen = layout.start(
    "Need & capacity",
    "Demand for a level in an area = children under two x the share expected to need it "
    "(the report's high-adversity defaults: 8% targeted, 9% specialist = 2% short-term + 7% "
    "longer-term, 13% statutory risk support). Capacity = families a year that services with "
    "specialised work at that level can take (a regional service shared by population).",
    "need",
)
layout.filter_note(chosen, ("la", "level"))

LABELS = {
    "targeted": "Targeted share",
    "specialist": "Specialist share",
    "statutory": "Statutory share",
}
inputs = st.columns(4)
for column, level in zip(inputs, NEED_LEVELS, strict=False):
    column.number_input(
        LABELS[level],
        min_value=0.0,
        max_value=1.0,
        value=float(DEFAULT_SHARES[level]),
        step=0.01,
        format="%.3f",
        key=f"need_share_{level}",
    )
shares = tuple(f"{st.session_state[f'need_share_{level}']:.4f}" for level in NEED_LEVELS)
# Kept for the Overview and Map pages, which show the same shortfall.
st.session_state["need_shares"] = (shares[0], shares[1], shares[2])
inputs[3].caption(
    "Shares are assumptions: the general-population alternative is lower (secure "
    "55-60%, insecure 25-30%, disorganised 15%; see the project's docs/vocabulary.md)."
)

rows = state.need(chosen.la, st.session_state["need_shares"])
if chosen.level:
    rows = [r for r in rows if r["level"] == chosen.level]
area_names = state.area_names()
if not rows:
    st.info("No need rows for this selection (need covers targeted, specialist and statutory).")
else:
    total = st.columns(3)
    total[0].metric("Demand (families a year)", f"{sum(r['demand'] or 0 for r in rows):,.0f}")
    total[1].metric("Capacity", f"{sum(r['capacity'] or 0 for r in rows):,.0f}")
    total[2].metric("Shortfall", f"{sum(r['shortfall'] or 0 for r in rows):,.0f}")
    missing = sorted({r["area_code"] for r in rows if r["demand"] is None})
    if missing:
        st.info(
            f"{len(missing):,} local authorities have no under-2 population recorded, so no "
            "demand can be estimated there."
        )
    st.plotly_chart(
        figures.need_bars(rows, area_names, chosen.present),
        width="stretch",
        config={"displaylogo": False},
    )
tables.show(
    tables.frame(
        [{**r, "area_name": area_names.get(r["area_code"], "")} for r in rows],
        ["area_code", "area_name", "level", "demand", "capacity", "shortfall"],
    ),
    "need",
)
