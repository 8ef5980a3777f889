"""Boundaries: the interfaces families cross on referral links, and threshold cliffs."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from nestmap.dashboard import figures, layout, state, tables
from nestmap.vocabulary import STAGES
from nestmap.vocabulary import label as vocabulary_label

chosen = layout.start(
    "Boundaries",
    "Where two services' boundaries meet (threshold, age, geography, stage) a family crossing "
    "the interface risks losing support. A threshold cliff is a local authority and stage where "
    "specialised help exists on only one side of the child-protection threshold, so work stops "
    "and starts as families drift between statutory and pre-statutory support.",
    "boundaries",
)
layout.filter_note(chosen, ("la", "stage"))
layout.wait_for(("boundaries",))
names = state.service_names()
area_names = state.area_names()
stages = [chosen.stage] if chosen.stage else list(STAGES)
cliffs = [r for r in state.threshold_cliffs(chosen.la) if r["stage"] in stages]

st.subheader("Threshold cliffs per local authority and stage")
# A row per local authority: a national dataset's 400 would make a chart metres tall.
MAX_CLIFF_AREAS = 40
if cliffs:
    cliff_areas = sorted({r["area_code"] for r in cliffs})
    if len(cliff_areas) > MAX_CLIFF_AREAS:
        st.info(
            f"{len(cliff_areas):,} local authorities: the chart shows the first "
            f"{MAX_CLIFF_AREAS}. Pick one in the sidebar to see it, or use the table."
        )
        drawn = set(cliff_areas[:MAX_CLIFF_AREAS])
        charted = [r for r in cliffs if r["area_code"] in drawn]
    else:
        charted = cliffs
    st.plotly_chart(
        figures.cliffs_heatmap(charted, area_names, names, chosen.present),
        width="stretch",
        config={"displaylogo": False},
    )
    if not chosen.present:
        st.caption(
            "ok: specialised help both below and at/above the threshold · cliff: on one side "
            "only · none: on neither side. Hover for the services."
        )
tables.show(
    tables.frame(
        [{**r, "area_name": area_names.get(r["area_code"], "")} for r in cliffs],
        ["area_code", "area_name", "stage", "status", "below", "above"],
    ),
    "threshold_cliffs",
)

st.subheader("Interfaces on referral links")


def interfaces_table(area: str | None) -> pa.Table:
    # Kept as Arrow per dataset version (a national dataset has ~4 x 10^5 rows): only read
    # below, the filter makes a new table.
    return tables.arrow_named(
        state.arrow("boundaries", area)["links"],
        [
            "from_service",
            "from_name",
            "to_service",
            "to_name",
            "reason",
            "kinds",
            "from_threshold",
            "to_threshold",
        ],
        {"from_name": names, "to_name": names},
    )


links = state.kept(
    "boundaries.interfaces_table",
    (chosen.la,),
    lambda: interfaces_table(chosen.la),
    disk=state.default_view(),
)
link_kinds = links.column("kinds").combine_chunks()
every_kind = pc.list_flatten(link_kinds)
kinds = sorted(kind for kind in pc.unique(every_kind).to_pylist() if kind)
if kinds and not chosen.present:
    picked = st.multiselect(
        "Interface kinds",
        kinds,
        default=kinds,
        format_func=vocabulary_label,
        key="boundaries_kinds",
    )
    if set(picked) != set(kinds):  # everything picked: the kept table as it is
        # The rows with at least one of the kinds picked.
        hit = pc.is_in(every_kind, value_set=pa.array(picked, pa.string()))
        keep = np.zeros(links.num_rows, dtype=bool)
        keep[pc.filter(pc.list_parent_indices(link_kinds), hit).to_numpy()] = True
        links = links.filter(pa.array(keep))
tables.show(links, "interfaces")
