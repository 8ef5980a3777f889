"""Workforce & assessment: AiMH UK competency levels, and who assesses the relationship."""

import streamlit as st

from nestmap.dashboard import figures, layout, state, tables

chosen = layout.start(
    "Workforce & assessment",
    "Practitioners' infant mental health competency (AiMH UK framework, levels 0-3), and "
    "whether any service's assessment directly asks about or assesses the parent-infant "
    "relationship at the points where families enter the system.",
    "workforce",
)
layout.filter_note(chosen, ("la", "stage"))
found = state.workforce(chosen.la)

st.subheader("Workforce")
st.metric("Practitioners at AiMH levels 2-3", f"{found.figures['practitioners_level_2_3']:,}")
if found["areas"]:
    st.plotly_chart(
        figures.workforce_bars(found["areas"], chosen.present),
        width="stretch",
        config={"displaylogo": False},
    )
else:
    st.info("No workforce recorded (workforce.csv is optional).")
tables.show(tables.frame(found["areas"]), "workforce_areas")
with st.expander("Per service", expanded=False):
    tables.show(tables.frame(found["services"]), "workforce_services")

st.subheader("Assessment of the parent-infant relationship")
assessed = state.assessment(chosen.la)
coverage = assessed["coverage"]
if chosen.stage:
    coverage = [r for r in coverage if r["stage"] == chosen.stage]
gaps = sum(r["gap"] for r in coverage)
st.metric(
    "Local authority x stage with no relationship assessment", f"{gaps:,} of {len(coverage):,}"
)
tables.show(tables.frame(coverage), "assessment_coverage")
st.markdown("**Entry points** (services with a universal or statutory offer)")
entry_points = assessed["entry_points"]
if chosen.stage:
    entry_points = [r for r in entry_points if chosen.stage in r["stages"]]
tables.show(tables.frame(entry_points), "assessment_entry_points")
