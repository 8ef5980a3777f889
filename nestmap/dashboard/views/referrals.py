"""Referrals: misdirected links, and where parent-infant relationship referrals go."""

import pandas as pd
import streamlit as st

from nestmap.dashboard import figures, layout, provenance, state, tables
from nestmap.dashboard.text import share_text
from nestmap.vocabulary import REASONS

chosen = layout.start(
    "Referrals",
    "A misdirected referral is sent to a service that does not offer the support asked for "
    "(not_offered), cannot take the family (out_of_area, wrong_stage) or is not running "
    "(inactive_target). No wrong door: a family sent where the support is not can still be "
    "passed on when a chain of up to 6 referrals leads from there to specialised help for "
    "their local authority (onward); otherwise it is a dead end. Counts are as recorded: "
    "referrals a year or survey mentions, as each link's source says.",
    "referrals",
)
layout.filter_note(chosen, ("la",))
names = state.service_names()
# A bar per destination: a national dataset has tens of thousands of them.
TOP_DESTINATIONS = 30

st.subheader("Where parent-infant relationship referrals go")
concentration = state.concentration(chosen.la)
if concentration:
    top = concentration[0]
    if not chosen.present:
        st.caption(
            "Green bars: the destination offers specialised parent-infant relationship support; "
            "red: it does not. One destination taking most referrals is a single point of "
            "failure."
        )
    if len(concentration) > TOP_DESTINATIONS:
        st.caption(
            f"The chart shows the {TOP_DESTINATIONS} destinations receiving the most of "
            f"{len(concentration):,}; the table below has them all."
        )
    st.plotly_chart(
        figures.concentration_bar(concentration[:TOP_DESTINATIONS], names, chosen.present),
        width="stretch",
        config={"displaylogo": False},
    )
    st.metric(
        "Largest share",
        share_text(top["share"]) or "n/a",
        help="Share of parent-infant relationship referrals going to the top destination.",
    )
    marked = provenance.illustrative_relationship_volume()
    if marked:
        provenance.note(
            f"{marked:,} of the parent-infant relationship referrals recorded are counted on "
            "links whose source marks them illustrative: the shares rest on them."
        )
    tables.show(
        state.kept(
            "referrals.concentration_table",
            (chosen.la,),
            lambda: tables.frame(
                [{**r, "to_name": names.get(r["to_service"], "")} for r in concentration],
                ["to_service", "to_name", "count", "share", "specialised"],
            ),
            disk=state.default_view(),
        ),
        "concentration",
    )
else:
    st.info("No parent-infant relationship referrals recorded.")

st.subheader("Misdirected referrals")


def misdirected_table(area: str | None) -> pd.DataFrame:
    # Kept as a DataFrame per dataset version (a national dataset has ~4 x 10^5 rows): only
    # read below, every filter makes a new frame.
    return tables.arrow_frame(
        state.arrow("misdirected", area),
        [
            "from_service",
            "from_name",
            "to_service",
            "to_name",
            "reason",
            "count",
            "problems",
            "onward",
        ],
        {"from_name": names, "to_name": names},
    )


whole = state.kept(
    "referrals.misdirected_table",
    (chosen.la,),
    lambda: misdirected_table(chosen.la),
    disk=state.default_view(),
)
table = whole
if not chosen.present:
    reasons = st.multiselect(
        "Reasons",
        list(REASONS),
        default=list(REASONS),
        format_func=lambda r: r.replace("_", " "),
        key="referrals_reasons",
    )
    if set(reasons) != set(REASONS):  # every reason: the kept frame as it is
        table = table[table["reason"].isin(reasons)]
reaches_help = table["onward"].astype(bool)
counts = table["count"].fillna(0)
split = st.columns(2)
split[0].metric(
    "Sent where the support is not, with an onward route",
    f"{int(counts[reaches_help].sum()):,}",
    help="Referrals recorded on misdirected links whose target can pass the family on to "
    "specialised help within 6 referrals.",
)
split[1].metric(
    "Sent to a dead end",
    f"{int(counts[~reaches_help].sum()):,}",
    help="Referrals recorded on misdirected links whose target has no route on to specialised "
    "help for the family's local authority.",
)
# Which rows are on illustrative links: kept beside the table (a national dataset's links are
# all synthetic, so all illustrative), then summed over the rows the reasons leave.
mask = state.kept(
    "referrals.illustrative_mask",
    (chosen.la,),
    lambda: provenance.illustrative_mask(whole),
    disk=state.default_view(),
)
marked = provenance.illustrative_volume_of_table(table, mask)
if marked:
    provenance.note(
        f"{marked:,} of the {int(counts.sum()):,} referrals recorded here are "
        "counted on links whose source marks them illustrative (placeholders, not findings)."
    )
tables.show(table, "misdirected")
