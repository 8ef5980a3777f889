"""Workforce & assessment: AiMH UK competency levels, and who assesses the relationship."""

import streamlit as st

from nestmap.dashboard import figures, layout, provenance, state, tables

chosen = layout.start(
    "Workforce & assessment",
    "Practitioners' infant mental health competency (AiMH UK framework, levels 0-3), and "
    "whether any service's assessment directly asks about or assesses the parent-infant "
    "relationship at the points where families enter the system.",
    "workforce",
)
layout.filter_note(chosen, ("la", "stage"))
layout.wait_for(("workforce", "assessment"))
found = state.workforce(chosen.la)

st.subheader("Workforce")
region_total = state.workforce(None).figures["practitioners_level_2_3"]
if chosen.la:
    figures_row = st.columns(2)
    figures_row[0].metric(
        "Posts at AiMH levels 2-3 serving this local authority",
        f"{found.figures['practitioners_level_2_3']:,}",
        help="Posts in the services covering it, region-wide teams included.",
    )
    figures_row[1].metric("Across the whole dataset", f"{region_total:,}")
else:
    st.metric("Practitioners at AiMH levels 2-3", f"{region_total:,}")
posts = [row["service_id"] for row in found["services"] if row["practitioners_level_2_3"]]
marked = provenance.illustrative_workforce(posts)
if marked:
    provenance.note(
        f"The records of {len(marked)} of the {len(posts)} services with these posts mark their "
        "workforce rows illustrative (how the posts are split, roles, levels or FTE)."
    )
if not chosen.present:
    st.caption(
        "Per local authority: the posts serving it, region-wide teams included, so a "
        "region-wide post appears under every local authority it serves. Never add the local "
        f"authorities' figures up: the whole dataset has {region_total:,} posts at AiMH levels "
        "2-3."
    )
if found["areas"]:
    st.plotly_chart(
        figures.workforce_bars(found["areas"], chosen.present),
        width="stretch",
        config={"displaylogo": False},
    )
else:
    st.info("No workforce recorded (workforce.csv is optional).")
serving = {
    "practitioners": "posts serving this LA",
    "practitioners_level_2_3": "posts at AiMH levels 2-3 serving this LA",
}
tables.show(
    tables.frame(found["areas"]).rename(
        columns={
            **serving,
            **{f"fte_level_{n}": f"FTE at AiMH level {n} serving this LA" for n in range(4)},
        }
    ),
    "workforce_areas",
)
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
