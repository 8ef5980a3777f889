"""Network: services and the referral links between them (pyvis, drawn offline)."""

from typing import Any

import streamlit as st
import streamlit.components.v1 as components

from nestmap import units
from nestmap.dashboard import budget, layout, network, state, tables
from nestmap.dashboard.figures import LEVEL_COLOURS
from nestmap.vocabulary import REASONS

chosen = layout.start(
    "Network",
    "Who refers families to whom. Node colour: the service's highest level of need; diamonds "
    "offer specialised parent-infant relationship work, circles do not; a thick dashed border "
    "marks a dead-end entry point. Edge colour: the referral's reason; red, ending in a bar: "
    "misdirected to a dead end; purple: misdirected, but the target can pass the family on. Hover "
    "for details, drag to rearrange, scroll to zoom.",
    "network",
)
layout.filter_note(chosen, ("la", "level", "focus", "stage"))
layout.wait_for(("misdirected", "pathways"))

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


def _between(links: Any, ids: set[str]) -> list[dict[str, Any]]:
    """The rows of an Arrow table of links whose two services are both among ``ids`` (the
    few drawn of a national dataset's 4 x 10^5 misdirected links, found without a row each)."""
    if links.num_rows == 0 or not ids:
        return []
    import pyarrow as pa
    import pyarrow.compute as pc

    drawn = pa.array(sorted(ids), pa.string())
    both = pc.and_(
        pc.is_in(links.column("from_service"), value_set=drawn),
        pc.is_in(links.column("to_service"), value_set=drawn),
    )
    return links.filter(both).to_pylist()


def _view(filters: tuple[Any, ...]) -> dict[str, Any]:
    """What the page draws for these filters: the services most referred to (within the
    network's limits), the misdirected links and dead ends among them, and the totals."""
    la, level, focus, stage, reasons, include_inactive, linked_only = filters
    shown = network.shown_of(
        # As Arrow, what services are selected by: a national catalogue is 50,000 services (one
        # LA's, from the engine alone, a few hundred); only those drawn are read whole.
        state.network_services(la),
        state.links(),
        la=la,
        level=level,
        focus=focus,
        stage=stage,
        reasons=list(reasons),
        include_inactive=include_inactive,
        linked_only=linked_only,
        rows=state.services_by_id,
    )
    ids = {n["id"] for n in shown.selection.nodes}
    drawn = {(e["from_service"], e["to_service"], e["reason"]) for e in shown.selection.edges}
    rows = _between(state.arrow("misdirected", la), ids)
    misdirected = {(r["from_service"], r["to_service"], r["reason"]): r["problems"] for r in rows}
    onward = {(r["from_service"], r["to_service"], r["reason"]) for r in rows if r["onward"]}
    import pyarrow.compute as pc

    # The kept pathways answer (no chains: the engine's search for them took a second).
    pathways = state.arrow("pathways", la)  # (no columns at all when it has no rows)
    dead: list[str] = []
    if pathways.num_rows:
        ends = pathways.filter(pc.is_null(pathways.column("destination")))
        dead = ends.column("entry_service").to_pylist()
    return {
        "shown": shown,
        "misdirected": {key: problems for key, problems in misdirected.items() if key in drawn},
        "onward": onward & drawn,
        "dead_ends": set(dead) & ids,
        "dead_pairs": sum(entry in ids for entry in dead),
        "names": {node["id"]: node["name"] or "" for node in shown.selection.nodes},
    }


filters = (
    chosen.la,
    chosen.level,
    chosen.focus,
    chosen.stage,
    tuple(reasons),
    include_inactive,
    linked_only,
)
# Kept per dataset version and filters: a national dataset's million links are read once.
# Selecting and ranking the links is one of the server's expensive actions (as is the layout).
# Written to disk for the page as it starts (every reason, active services, linked).
as_it_starts = state.default_view(set(reasons) == set(REASONS), not include_inactive, linked_only)
view = state.kept(
    "network.view",
    filters,
    lambda: budget.run("Selecting the network", lambda: _view(filters)),
    disk=as_it_starts,
)
shown: network.Shown = view["shown"]
selection = shown.selection
names: dict[str, str] = view["names"]
misdirected: dict[tuple[str, str, str], list[str]] = view["misdirected"]
dead_ends: set[str] = view["dead_ends"]
if not selection.nodes:
    st.info("No services match these filters.")
else:
    if not shown.complete:
        st.warning(
            f"Showing {len(selection.nodes):,} of {shown.services:,} services and "
            f"{len(selection.edges):,} of {shown.links:,} referral links: the services "
            "receiving the most referrals a year (then survey mentions), and the busiest links "
            "between them (the "
            f"network draws at most {network.MAX_NODES:,} services and {network.MAX_EDGES:,} "
            "links). Narrow it with the sidebar filters (local authority, level, focus, stage) "
            "or the referral reasons above to see the others."
        )
    dead_pairs = view["dead_pairs"]
    dead_services = len(dead_ends)
    shown_misdirected = len(misdirected)
    shown_onward = len(view["onward"])
    st.caption(
        f"{len(selection.nodes):,} services · {len(selection.edges):,} referral links · "
        f"{shown_misdirected:,} misdirected ({shown_misdirected - shown_onward:,} to a dead end, "
        f"{shown_onward:,} onward) · dead ends: {dead_services:,} entry-point "
        f"service{'' if dead_services == 1 else 's'}, {dead_pairs:,} local authority × entry "
        "point pairs (as on Overview)"
    )
    height = 760 if chosen.present else 680
    # The drawing (about 2 MB of our own HTML at the limits) is kept beside the view.
    drawing = state.kept(
        "network.drawing",
        (filters, chosen.present),
        lambda: budget.run(
            "Laying out the network",
            lambda: network.network_html(
                selection,
                names,
                misdirected,
                dead_ends,
                height=height,
                font_size=28 if chosen.present else 22,
                onward=view["onward"],
            ),
        ),
        disk=as_it_starts,
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

if not chosen.present and selection.nodes:
    with st.expander("Links shown", expanded=False):
        rows = [
            {
                "from_service": e["from_service"],
                "from_name": names.get(e["from_service"], ""),
                "to_service": e["to_service"],
                "to_name": names.get(e["to_service"], ""),
                "reason": e["reason"],
                "count": e["count"],
                "count_basis": e.get("count_basis"),
                "as_recorded": units.counted(e["count"], e.get("count_basis")),
                "misdirected": misdirected.get(
                    (e["from_service"], e["to_service"], e["reason"]), []
                ),
                "onward": (
                    (e["from_service"], e["to_service"], e["reason"]) in view["onward"]
                    if (e["from_service"], e["to_service"], e["reason"]) in misdirected
                    else None
                ),
                "source": e["source"],
            }
            for e in selection.edges
        ]
        tables.show(tables.frame(rows), "network_links")
