"""THRIVE: the services grouped by needs (the report recommends THRIVE over tiers)."""

import streamlit as st

from nestmap.dashboard import layout, state, tables
from nestmap.vocabulary import THRIVE_GROUP

chosen = layout.start(
    "THRIVE",
    "The THRIVE framework groups support by what families need rather than by tiers: "
    "Thriving (no service needed), Getting Advice and Signposting, Getting Help, Getting More "
    "Help, Getting Risk Support. Each service's offer appears under its level's group.",
    "thrive",
)
layout.filter_note(chosen, ("la", "level", "focus"))
layout.wait_for(("thrive",))
if not chosen.present:
    st.caption(
        "A simplification: i-THRIVE groups support by what a family needs, not by how severe "
        "or specialist the help is, and one service can sit in several groupings. Here each "
        "offer is placed by its level of need alone — universal → Getting Advice and "
        "Signposting, targeted → Getting Help, specialist → Getting More Help, statutory → "
        "Getting Risk Support — so read the columns as a starting point for a THRIVE "
        "conversation, not as the groupings themselves."
    )
rows = state.thrive(chosen.la)
if chosen.level:
    rows = [r for r in rows if r["level"] == chosen.level]
if chosen.focus:
    rows = [r for r in rows if r["focus"] == chosen.focus]

THRIVE_ORDER = tuple(dict.fromkeys(THRIVE_GROUP.values()))  # in the order of their levels
groups = st.columns(len(THRIVE_ORDER))
for column, group in zip(groups, THRIVE_ORDER, strict=True):
    members = [r for r in rows if r["thrive_group"] == group]
    specialised = sum(r["focus"] == "specialised" for r in members)
    with column:
        st.markdown(f"**{group}**")
        st.metric("Services", len(members), help="Offers in this group")
        st.caption(f"{specialised} specialised")
        if len(members) > tables.page_rows():  # the table below has every offer
            st.caption(f"The first {tables.page_rows():,} of {len(members):,}; all are below.")
        st.dataframe(
            tables.frame(
                [
                    {"name": r["name"], "specialised": r["focus"] == "specialised"}
                    for r in members[: tables.page_rows()]
                ],
                ["name", "specialised"],
            ),
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * max(1, len(members)), 460),
            column_config={"specialised": st.column_config.CheckboxColumn(width="small")},
        )
tables.show(tables.frame(rows), "thrive")
