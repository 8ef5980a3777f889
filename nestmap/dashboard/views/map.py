"""Map: the region's local authorities coloured by a metric (offline, no map tiles)."""

import streamlit as st

from nestmap import geography, units
from nestmap.dashboard import layout, maps, provenance, state, tables
from nestmap.dashboard.text import md
from nestmap.geography.boundaries import ATTRIBUTION, boundaries, region_boundaries
from nestmap.vocabulary import DEFAULT_COUNT_BASIS

chosen = layout.start(
    "Map",
    "The region's local authorities, coloured by the metric you pick. Hover an area for its value.",
    "map",
)
METRICS = {
    "gap cells": "Gap cells: level x stage cells with no specialised service "
    "(sidebar level and stage filters apply).",
    "demand shortfall": "Demand shortfall: families a year whose estimated need for "
    "targeted or specialist help exceeds the capacity recorded (shares from Need & capacity). "
    "The statutory row — families unlikely to access help, held by social care through risk "
    "support — is never added in; pick the statutory level in the sidebar to map it alone. "
    "Where some capacity is not recorded the shortfall is at most the figure shown.",
    "misdirected referrals": "Misdirected counts recorded, in one unit at a time (referrals a "
    "year or survey mentions: never added together), counted in every local authority the "
    "referring service covers: do not add the local authorities up.",
}
metric = st.radio("Colour by", list(METRICS), horizontal=True, key="map_metric")
if not chosen.present:
    st.caption(METRICS[metric])
basis = None
if metric == "misdirected referrals":
    links = state.arrow("misdirected")
    bases = [DEFAULT_COUNT_BASIS]
    if links.num_rows:
        import pyarrow.compute as pc

        bases = sorted(pc.unique(links.column("count_basis")).to_pylist())
    basis = bases[0]
    if len(bases) > 1:
        basis = st.radio(
            "Unit", bases, format_func=units.unit, horizontal=True, key="map_count_basis"
        )
    if not chosen.present:
        st.caption(f"Coloured by {units.unit(basis)}.")
    if provenance.misdirected_marked(basis):
        provenance.note(
            f"The {units.unit(basis)} per local authority rest on counts marked illustrative in "
            "their source: placeholders, or an assumed split of a source's total between "
            "referring services (the total is the source's; one area's part of it is not)."
        )
elif metric == "demand shortfall":
    provenance.population_note()

codes = state.local_authority_codes()
names = state.area_names()
# The figures per LA come from nestmap.analysis.per_area (the filters apply as the captions say).
values = state.per_area(
    metric.replace(" ", "_"),
    chosen.level,
    chosen.stage if metric == "gap cells" else None,
    st.session_state.get("need_shares"),
    basis,
)

shapes = boundaries()
missing = [code for code in codes if code not in shapes]
if missing:
    listed = ", ".join(f"{md(names.get(code, code))} ({md(code)})" for code in missing[:20])
    more = f" and {len(missing) - 20:,} more" if len(missing) > 20 else ""
    st.info(
        f"No bundled boundary for {len(missing):,} of {len(codes):,} local authorities "
        f"(the map ships every local authority in England and Wales, ONS April 2025 codes; "
        f"older codes are mapped by `nestmap import`): {listed}{more}. "
        "Their values are in the table below."
    )
# The health boards / ICBs holding the drawn authorities, outlined for orientation.
known = geography.local_authorities()
outlines = tuple(
    region_boundaries()[code]
    for code in sorted({known[c].region_code for c in codes if c in known and c in shapes})
    if code in region_boundaries()
)
whole = metric != "demand shortfall"  # counts; the shortfall is families a year, to 1 place
if len(missing) < len(codes):
    drawing = maps.area_map(
        values,
        names,
        metric,
        whole=whole,
        present=chosen.present,
        outlines=outlines,
        selected=chosen.la,
    )
    st.plotly_chart(
        drawing.figure,
        width="stretch",
        config={"displaylogo": False, "scrollZoom": False},
    )
    notes = []
    if chosen.la and chosen.la in values and chosen.la in shapes:
        notes.append(
            f"Outlined black and white: {md(names.get(chosen.la, chosen.la))} (chosen in the "
            "sidebar)."
        )
    if drawing.unlabelled:
        notes.append(
            "Too small to name at this size (hover them, or see the table): "
            + ", ".join(
                f"{md(names.get(code, code))} {maps.number(values[code], whole)}"
                for code in drawing.unlabelled
            )
            + "."
        )
    if notes and not chosen.present:
        st.caption(" ".join(notes))
if outlines:
    st.caption(
        "Dark outline: " + ", ".join(md(outline.name) for outline in outlines) + " (ONS "
        "health board / Integrated Care Board boundaries)."
    )
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
