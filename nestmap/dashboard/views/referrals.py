"""Referrals: misdirected links, and where parent-infant relationship referrals go."""

import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from nestmap import units
from nestmap.dashboard import figures, layout, provenance, state, tables
from nestmap.dashboard.text import share_text
from nestmap.vocabulary import COUNT_BASES, REASONS
from nestmap.vocabulary import label as vocabulary_label

chosen = layout.start(
    "Referrals",
    "A misdirected referral is sent to a service that does not offer the support asked for "
    "(support not offered there), cannot take the family (out of area, wrong stage) or is not "
    "running (destination not active). No wrong door: a family sent where the support is not "
    "can still be passed on when a chain of up to 6 referrals leads from there to specialised "
    "help for their local authority (onward); otherwise it is a dead end. Each count has a "
    "unit: referrals a year, or survey mentions (staff who said they would refer there). Units "
    "are never added together.",
    "referrals",
)
layout.filter_note(chosen, ("la",))
layout.wait_for(("concentration", "misdirected"))
names = state.service_names()
# A bar per destination: a national dataset has tens of thousands of them.
TOP_DESTINATIONS = 30

st.subheader("Where parent-infant relationship referrals go")
concentration = state.concentration(chosen.la)
if concentration:
    if not chosen.present:
        st.caption(
            "Teal bars: the destination offers specialised parent-infant relationship support; "
            "red: it does not. One destination taking most referrals is a single point of "
            "failure. Each unit is shown apart: survey mentions (staff who said they would "
            "refer there) are not referrals a year, and are never added to them."
        )
    unrecorded = state.concentration_unrecorded(chosen.la)
    resting = provenance.illustrative_concentration(chosen.la)
    for basis in [b for b in COUNT_BASES if any(r["count_basis"] == b for r in concentration)]:
        rows = [r for r in concentration if r["count_basis"] == basis]
        blank = frozenset(t for t, b in unrecorded if b == basis)
        st.markdown(f"**In {units.unit(basis)}**")
        if len(rows) > TOP_DESTINATIONS:
            st.caption(
                f"The chart shows the {TOP_DESTINATIONS} destinations receiving the most of "
                f"{len(rows):,}; the table below has them all."
            )
        st.plotly_chart(
            figures.concentration_bar(rows[:TOP_DESTINATIONS], names, chosen.present, basis, blank),
            width="stretch",
            config={"displaylogo": False},
            key=f"concentration_{basis}",
        )
        top = rows[0]
        total = sum(r["count"] for r in rows)
        st.metric(
            f"Largest share of {units.unit(basis)}",
            share_text(top["share"]) or units.NOT_RECORDED,
            help=f"Share of the {units.counted(total, basis)} recorded for parent-infant "
            "relationship support going to the top destination.",
        )
        marked = {b: n for (_t, b), n in resting.items() if b == basis}
        if marked:
            caveat = provenance.volume_caveat({basis: sum(marked.values())}, {basis: total})
            provenance.note(caveat + " The shares of this unit rest on them too.")
    tables.show(
        state.kept(
            "referrals.concentration_table",
            (chosen.la,),
            lambda: tables.frame(
                [
                    {
                        **r,
                        "to_name": names.get(r["to_service"], ""),
                        "count": None
                        if (r["to_service"], r["count_basis"]) in unrecorded
                        else r["count"],
                        "as_recorded": units.NOT_RECORDED
                        if (r["to_service"], r["count_basis"]) in unrecorded
                        else units.counted(r["count"], r["count_basis"]),
                        "illustrative": resting.get((r["to_service"], r["count_basis"]), 0),
                    }
                    for r in concentration
                ],
                [
                    "to_service",
                    "to_name",
                    "count_basis",
                    "count",
                    "as_recorded",
                    "share",
                    "specialised",
                    "illustrative",
                ],
            ),
            disk=state.default_view(),
        ),
        "concentration",
    )
    st.caption(
        "A blank count is not recorded (the source gives no number), not 0. `illustrative`: "
        "how much of the count rests on values marked illustrative in their source."
    )
else:
    st.info("No parent-infant relationship referrals recorded.")

st.subheader("Misdirected referrals")


def misdirected_table(area: str | None) -> pa.Table:
    # Kept as Arrow per dataset version (a national dataset has ~4 x 10^5 rows), read back in
    # place: only read below, every filter makes a new table.
    found = tables.arrow_named(
        state.arrow("misdirected", area),
        [
            "from_service",
            "from_name",
            "to_service",
            "to_name",
            "reason",
            "count",
            "count_basis",
            "problems",
            "onward",
        ],
        {"from_name": names, "to_name": names},
    )
    # The count as people read it, beside it: with its unit, or "not recorded".
    at = found.column_names.index("count_basis") + 1
    as_recorded = tables.counted_column(found.column("count"), found.column("count_basis"))
    return found.add_column(at, "as_recorded", as_recorded)


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
        format_func=vocabulary_label,
        key="referrals_reasons",
    )
    if set(reasons) != set(REASONS):  # every reason: the kept table as it is
        table = table.filter(pc.is_in(table.column("reason"), pa.array(reasons, pa.string())))
reaches_help = pc.fill_null(table.column("onward"), False)


def _sums(rows: pa.Table) -> dict[str, int]:
    """The rows' recorded counts summed per unit (a blank count adds nothing)."""
    sums = rows.group_by("count_basis").aggregate([("count", "sum")])
    bases, totals = sums.column("count_basis").to_pylist(), sums.column("count_sum").to_pylist()
    return {str(basis): int(total or 0) for basis, total in zip(bases, totals, strict=True)}


def _per_unit(rows: pa.Table) -> str:
    """The rows' counts per unit, each named, never added across units."""
    if rows.num_rows == 0:
        return "none"
    return units.per_basis(_sums(rows), joiner=" · ")


split = st.columns(2)
split[0].metric(
    "Sent where the support is not, with an onward route",
    _per_unit(table.filter(reaches_help)),
    help="Counts recorded on misdirected links whose target can pass the family on to "
    "specialised help within 6 referrals, per unit (referrals a year, survey mentions).",
)
split[1].metric(
    "Sent to a dead end",
    _per_unit(table.filter(pc.invert(reaches_help))),
    help="Counts recorded on misdirected links whose target has no route on to specialised "
    "help for the family's local authority, per unit.",
)
uncounted = table.column("count").null_count
if uncounted:
    st.caption(f"{uncounted:,} of these {table.num_rows:,} links have no count recorded (not 0).")
# Which rows rest on illustrative values, judged within the rows shown (an assumed split of a
# source's total is exact only when every link sharing it is shown).
marked = state.kept(
    "referrals.illustrative_volume",
    (chosen.la, tuple(sorted(pc.unique(table.column("reason")).to_pylist()))),
    lambda: provenance.illustrative_volume(table),
    disk=state.default_view(table is whole),  # every reason: the page as it starts
)
if marked:
    provenance.note(provenance.volume_caveat(marked, _sums(table)))
tables.show(table, "misdirected")
