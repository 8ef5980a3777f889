"""Overview: the region at a glance, and the headline findings as figures."""

import streamlit as st

from nestmap.dashboard import layout, report_download, state
from nestmap.dashboard.text import md

chosen = layout.start(
    "Overview",
    "The mapped system of support from conception to a child's second birthday, and where it "
    "falls short. Each figure links to the page that explains it.",
    "overview",
)
layout.filter_note(chosen, ("la",))
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
    "Universal services",
    f"{sum('universal' in s['offers'] and s['status'] == 'active' for s in catalogue):,}",
    help="Active services with a universal offer: where families first meet the system.",
)


@st.cache_data(show_spinner=False, max_entries=64)
def gap_cells(key: str, area: str | None) -> tuple[str, str]:
    gaps = state.gaps(area)
    return (
        f"{sum(row['gap'] for row in gaps):,} of {len(gaps):,}",
        "LA x level x stage cells with no specialised parent-infant relationship support.",
    )


@st.cache_data(show_spinner=False, max_entries=64)
def misdirected_referrals(key: str, area: str | None) -> tuple[str, str]:
    misdirected = state.misdirected(area)
    total = sum(row["count"] for row in state.concentration(area))
    relationship = sum(
        row["count"] or 0 for row in misdirected if row["reason"] == "parent_infant_relationship"
    )
    share = (
        f"{relationship / total:.0%} of parent-infant relationship referrals go where that "
        "support is not."
        if total
        else "No parent-infant relationship referral volumes recorded."
    )
    return f"{sum(row['count'] or 0 for row in misdirected):,}", share


@st.cache_data(show_spinner=False, max_entries=64)
def threshold_cliffs(key: str, area: str | None) -> tuple[str, str]:
    cliffs = state.threshold_cliffs(area)
    none = sum(row["status"] == "none" for row in cliffs)
    return (
        f"{sum(row['status'] == 'cliff' for row in cliffs):,}",
        "LA x stage where specialised help stops at the child-protection threshold "
        f"({none:,} more with none on either side).",
    )


@st.cache_data(show_spinner=False, max_entries=64)
def dead_ends(key: str, area: str | None) -> tuple[str, str]:
    pathways = state.pathways(area)
    dead = sum(row["destination"] is None for row in pathways)
    return (
        f"{dead:,} of {len(pathways):,}",
        "Universal entry points with no referral chain to specialised help within 6 links.",
    )


@st.cache_data(show_spinner=False, max_entries=64)
def practitioners(key: str, area: str | None) -> tuple[str, str]:
    return (
        f"{state.workforce(area)['practitioners_level_2_3']:,}",
        "Infant mental health competency (AiMH UK framework) across the workforce recorded.",
    )


@st.cache_data(show_spinner=False, max_entries=64)
def shortfall(key: str, area: str | None, shares: tuple[str, str, str] | None) -> tuple[str, str]:
    need = state.need(area, shares)
    return (
        f"{sum(row['shortfall'] or 0 for row in need):,.0f}",
        "Estimated demand for specialised help not met by capacity, summed over LAs and levels.",
    )


st.subheader("Headline findings")
# Cached per dataset version: the figures are small even when the rows behind them are not.
key = state.dataset_key()
findings = [
    ("Gap cells", gap_cells, "coverage", "Coverage matrix"),
    ("Misdirected referrals a year", misdirected_referrals, "referrals", "Referrals"),
    ("Threshold cliffs", threshold_cliffs, "boundaries", "Boundaries"),
    ("Dead-end entry points", dead_ends, "pathways", "Pathways"),
    ("Practitioners at AiMH levels 2-3", practitioners, "workforce", "Workforce & assessment"),
    ("Demand shortfall (families a year)", shortfall, "need", "Need & capacity"),
]
# Each card is computed as it is drawn, so a large dataset fills the page progressively.
for start in range(0, len(findings), 3):
    columns = st.columns(3, border=True)
    for column, (label, figure, stem, page_title) in zip(
        columns, findings[start : start + 3], strict=False
    ):
        arguments: tuple = (key, area)
        if figure is shortfall:
            arguments = (key, area, st.session_state.get("need_shares"))
        with column:
            with st.spinner(f"{label}..."):
                value, explanation = figure(*arguments)
            st.metric(label, value)
            st.caption(explanation)
            layout.link(stem, f"{page_title} →")

if not chosen.present:
    report_download.download_block(area)
    st.caption(
        f"Dataset: {md(info.get('dataset'))} · loaded {md(info.get('loaded_at'))} · "
        f"{md(info.get('engine'))} graph at {md(info.get('location'))}"
    )
