"""Network: services and the referral links between them (pyvis, drawn offline)."""

import streamlit as st
import streamlit.components.v1 as components

from nestmap.dashboard import layout, network, state, tables
from nestmap.dashboard.figures import LEVEL_COLOURS
from nestmap.vocabulary import REASONS

chosen = layout.start(
    "Network",
    "Who refers families to whom. Node colour: the service's highest level of need; diamonds "
    "offer specialised parent-infant relationship work, circles do not; a thick dashed border "
    "marks a dead-end entry point. Edge colour: the referral's reason; red: misdirected. Hover "
    "for details, drag to rearrange, scroll to zoom.",
    "network",
)
layout.filter_note(chosen, ("la", "level", "focus", "stage"))

if chosen.present:
    reasons, include_inactive, linked_only = list(REASONS), False, True
else:
    reasons = st.multiselect(
        "Referral reasons",
        list(REASONS),
        default=list(REASONS),
        format_func=lambda r: r.replace("_", " "),
        key="network_reasons",
    )
    options = st.container(horizontal=True)
    include_inactive = options.checkbox("Include inactive services", key="network_inactive")
    linked_only = options.checkbox("Only services with links", value=True, key="network_linked")

selection = network.select(
    state.services(),
    state.referral_links(),
    la=chosen.la,
    level=chosen.level,
    focus=chosen.focus,
    stage=chosen.stage,
    reasons=reasons,
    include_inactive=include_inactive,
    linked_only=linked_only,
)
if selection.too_large:
    st.warning(
        f"This selection has {len(selection.nodes):,} services and {len(selection.edges):,} "
        f"referral links; the network draws at most {network.MAX_NODES:,} services and "
        f"{network.MAX_EDGES:,} links. Narrow it with the sidebar filters (local authority, "
        "level, focus, stage) or the referral reasons above."
    )
elif not selection.nodes:
    st.info("No services match these filters.")
else:
    names = state.service_names()
    misdirected = {
        (r["from_service"], r["to_service"], r["reason"]): r["problems"]
        for r in state.misdirected(chosen.la)
    }
    pathways = state.pathways(chosen.la)
    dead_ends = {r["entry_service"] for r in pathways if r["destination"] is None}
    shown = {n["id"] for n in selection.nodes}
    dead_pairs = sum(r["destination"] is None and r["entry_service"] in shown for r in pathways)
    dead_services = len(dead_ends & shown)
    shown_misdirected = sum(
        (e["from_service"], e["to_service"], e["reason"]) in misdirected for e in selection.edges
    )
    st.caption(
        f"{len(selection.nodes):,} services · {len(selection.edges):,} referral links · "
        f"{shown_misdirected:,} misdirected · dead ends: {dead_services:,} entry-point "
        f"service{'' if dead_services == 1 else 's'}, {dead_pairs:,} local authority × entry "
        "point pairs (as on Overview)"
    )
    height = 760 if chosen.present else 680
    drawing = network.network_html(
        selection,
        names,
        misdirected,
        dead_ends,
        height=height,
        font_size=28 if chosen.present else 22,
    )
    # Our own page, every dataset value escaped (see nestmap.dashboard.network).
    if hasattr(st, "iframe"):
        st.iframe(drawing, height=height + 20)
    else:  # Streamlit before st.iframe
        components.html(drawing, height=height + 20)
    legend = " · ".join(
        f":{colour_name}[●] {level}"
        for level, colour_name in zip(
            LEVEL_COLOURS, ("blue", "green", "orange", "violet"), strict=True
        )
    )
    st.caption(f"Node colour, the highest level of need offered: {legend}")
    st.html(network.legend_html())

if not chosen.present and selection.nodes and not selection.too_large:
    with st.expander("Links shown", expanded=False):
        rows = [
            {
                "from_service": e["from_service"],
                "from_name": names.get(e["from_service"], ""),
                "to_service": e["to_service"],
                "to_name": names.get(e["to_service"], ""),
                "reason": e["reason"],
                "count": e["count"],
                "misdirected": misdirected.get(
                    (e["from_service"], e["to_service"], e["reason"]), []
                ),
                "source": e["source"],
            }
            for e in selection.edges
        ]
        tables.show(tables.frame(rows), "network_links")
