"""Overview: the region at a glance, and the headline findings as figures."""

import streamlit as st

from nestmap.dashboard import layout, state
from nestmap.dashboard.text import md

chosen = layout.start(
    "Overview",
    "The mapped system of support from conception to a child's second birthday, and where it "
    "falls short. Each figure links to the page that explains it.",
    "overview",
)
area = chosen.la
info = state.info()
la_codes = state.local_authority_codes()
catalogue = state.services(area)
names = state.area_names()

where = md(names.get(area, area)) if area else md(info.get("dataset") or "the loaded dataset")
st.subheader(f"At a glance: {where}")
counts = st.columns(4)
counts[0].metric(
    "Services",
    f"{sum(s['status'] == 'active' for s in catalogue):,}",
    help="Active services (all statuses are on the Data page).",
)
counts[1].metric("Local authorities", f"{len(la_codes) if not area else 1:,}")
counts[2].metric(
    "Referral links", f"{info['links'].get('REFERS_TO', 0):,}", help="Across the whole dataset."
)
counts[3].metric(
    "Entry points",
    f"{len({r['entry_service'] for r in state.pathways(area)}):,}",
    help="Services with a universal offer: where families first meet the system.",
)

gaps = state.gaps(area)
misdirected = state.misdirected(area)
concentration = state.concentration(area)
cliffs = state.boundaries(area)["threshold_cliffs"]
pathways = state.pathways(area)
workforce = state.workforce(area)
need = state.need(area, st.session_state.get("need_shares"))

gap_cells = sum(row["gap"] for row in gaps)
misdirected_volume = sum(row["count"] or 0 for row in misdirected)
relationship_total = sum(row["count"] for row in concentration)
relationship_misdirected = sum(
    row["count"] or 0 for row in misdirected if row["reason"] == "parent_infant_relationship"
)
share = relationship_misdirected / relationship_total if relationship_total else None
cliff_count = sum(row["status"] == "cliff" for row in cliffs)
no_help = sum(row["status"] == "none" for row in cliffs)
dead_ends = sum(row["destination"] is None for row in pathways)
shortfall = sum(row["shortfall"] or 0 for row in need)

st.subheader("Headline findings")
findings = [
    (
        "Gap cells",
        f"{gap_cells:,} of {len(gaps):,}",
        "LA x level x stage cells with no specialised parent-infant relationship support.",
        "coverage",
        "Coverage matrix",
    ),
    (
        "Misdirected referrals a year",
        f"{misdirected_volume:,}",
        (
            f"{share:.0%} of parent-infant relationship referrals go where that support is not."
            if share is not None
            else "No parent-infant relationship referral volumes recorded."
        ),
        "referrals",
        "Referrals",
    ),
    (
        "Threshold cliffs",
        f"{cliff_count:,}",
        f"LA x stage where specialised help stops at the child-protection threshold "
        f"({no_help:,} more with none on either side).",
        "boundaries",
        "Boundaries",
    ),
    (
        "Dead-end entry points",
        f"{dead_ends:,} of {len(pathways):,}",
        "Universal entry points with no referral chain to specialised help within 6 links.",
        "pathways",
        "Pathways",
    ),
    (
        "Practitioners at AiMH levels 2-3",
        f"{workforce['practitioners_level_2_3']:,}",
        "Infant mental health competency (AiMH UK framework) across the workforce recorded.",
        "workforce",
        "Workforce & assessment",
    ),
    (
        "Demand shortfall (families a year)",
        f"{shortfall:,.0f}",
        "Estimated demand for specialised help not met by capacity, summed over LAs and levels.",
        "need",
        "Need & capacity",
    ),
]
for start in range(0, len(findings), 3):
    columns = st.columns(3, border=True)
    for column, (label, value, explanation, stem, page_title) in zip(
        columns, findings[start : start + 3], strict=False
    ):
        with column:
            st.metric(label, value)
            st.caption(explanation)
            layout.link(stem, f"{page_title} →")

if not chosen.present:
    st.caption(
        f"Dataset: {md(info.get('dataset'))} · loaded {md(info.get('loaded_at'))} · "
        f"{md(info.get('engine'))} graph at {md(info.get('location'))}"
    )
