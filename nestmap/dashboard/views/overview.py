"""Overview: the region at a glance, and the headline findings as figures."""

from collections.abc import Callable

import streamlit as st

from nestmap import units
from nestmap.dashboard import layout, provenance, report_download, state
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
catalogue = state.headline("services", area)
names = state.area_names()

region = state.region_name() or info.get("dataset") or "the loaded dataset"
where = md(names.get(area, area)) if area else md(region)
st.subheader(f"At a glance: {where}")
counts = st.columns(4)
counts[0].metric(
    "Services",
    f"{catalogue['active']:,}",
    help="Active services (all statuses are on the Data page).",
)
counts[1].metric("Local authorities", f"{len(la_codes) if not area else 1:,}")
counts[2].metric(
    "Referral links", f"{info['links'].get('REFERS_TO', 0):,}", help="Across the whole dataset."
)
counts[3].metric(
    "Universal services",
    f"{catalogue['universal']:,}",
    help="Active services with a universal offer: where families first meet the system.",
)


def gap_cells(key: str, area: str | None) -> tuple[str, str]:
    found = state.headline("gap_cells", area)
    return (
        f"{found['gaps']:,} of {found['cells']:,}",
        "LA x level x stage cells with no specialised parent-infant relationship support.",
    )


def _relationship_share(by_basis: dict) -> str:
    shares = [
        f"{found['relationship_share']:.0%} of the parent-infant relationship "
        f"{units.unit(basis)} recorded"
        for basis, found in by_basis.items()
        if found["relationship_share"] is not None
    ]
    return f" They are {' and '.join(shares)}." if shares else ""


def misdirected_onward(key: str, area: str | None) -> tuple[str, str, str]:
    """Counts recorded to where the support is not, but whence the family can go on."""
    return _misdirected_card(
        area,
        "onward",
        "sent where the support asked for is not, to a service that can pass the family on to "
        "specialised help (a chain of up to 6 referrals).",
    )


def misdirected_dead_end(key: str, area: str | None) -> tuple[str, str, str]:
    """Counts recorded to where the support is not, with no route on from there."""
    return _misdirected_card(
        area,
        "dead_end",
        "sent where the support asked for is not, to a service with no route on to "
        "specialised help: a dead end.",
    )


def _misdirected_card(area: str | None, part: str, what: str) -> tuple[str, str, str]:
    found = state.headline("misdirected", area)[part]
    by_basis = found["by_basis"]
    # Each unit apart, named: survey mentions are not referrals a year, never added to them.
    value = units.per_basis(by_basis, "referrals", " · ") if by_basis else "none"
    unrecorded = sum(f["links"] - f["counted_links"] for f in by_basis.values())
    links = found["links"]
    explanation = (
        f"Counts recorded on misdirected links {what} ({links:,} link"
        + ("" if links == 1 else "s")
        + ")."
        + _relationship_share(by_basis)
    )
    if unrecorded:
        explanation += f" {unrecorded:,} of the links have no count recorded."
    marked: dict[str, int] = {}
    if provenance.any_illustrative_links():  # else nothing to count
        marked = provenance.illustrative_misdirected(area)[part]
    totals = {basis: f["referrals"] for basis, f in by_basis.items()}
    return value, explanation, provenance.volume_caveat(marked, totals)


def threshold_cliffs(key: str, area: str | None) -> tuple[str, str]:
    found = state.headline("threshold_cliffs", area)
    return (
        f"{found['cliff']:,}",
        "LA x stage where specialised help stops at the child-protection threshold "
        f"({found['none']:,} more with none on either side).",
    )


def dead_ends(key: str, area: str | None) -> tuple[str, str]:
    found = state.dead_ends(area)
    return (
        f"{found['pairs']:,} of {found['of_pairs']:,}",
        "Universal entry points with no referral chain to specialised help within 6 links, "
        "counted once per local authority they serve "
        f"({found['services']:,} of {found['of_services']:,} services).",
    )


def practitioners(key: str, area: str | None) -> tuple[str, str, str]:
    posts = [row for row in state.workforce(area)["services"] if row["practitioners_level_2_3"]]
    scope = (
        f"Posts serving this local authority (region-wide teams included); the whole dataset "
        f"has {state.headline('practitioners', None)['level_2_3']:,}. Never add up local "
        "authorities' figures."
        if area
        else "Infant mental health competency (AiMH UK framework) across the workforce recorded."
    )
    marked = provenance.illustrative_workforce(row["service_id"] for row in posts)
    caveat = (
        f"How these posts are split between services, their roles and levels are illustrative "
        f"in {len(marked)} of the {len(posts)} services' records."
        if marked
        else ""
    )
    return f"{state.headline('practitioners', area)['level_2_3']:,}", scope, caveat


def shortfall(
    key: str, area: str | None, shares: tuple[str, str, str] | None
) -> tuple[str, str, str]:
    found = state.headline("shortfall", area, shares)
    if found["total"] is None:
        return units.NOT_RECORDED, "No local authority here has an under-2 population.", ""
    value = units.shortfall_figure(found["total"], found["unrecorded"])
    statutory = units.shortfall_text(found["statutory"], found["statutory_unrecorded"])
    note = units.unrecorded_note(found["unrecorded"])
    explanation = (note + " " if note else "") + (
        "Families a year whose estimated need for targeted or specialist help is not met by "
        "the capacity recorded, summed over local authorities. Shown apart, never added — "
        f"statutory, {units.STATUTORY_LABEL}: {statutory}."
    )
    marked = provenance.population_marked()  # an unsourced population is not illustrative
    return value, explanation, (provenance.population_caveat() or "") if marked else ""


def _kept(figure: Callable[..., tuple[str, ...]], arguments: tuple) -> tuple[str, ...]:
    # Kept per dataset version (and on disk, with the need shares as they
    # start): a new server shows the figures without recomputing the analyses behind them.
    shares = arguments[2] if len(arguments) > 2 else None
    return state.kept(
        f"overview.{figure.__name__}",
        arguments,
        lambda: figure(*arguments),
        disk=state.default_view(state.default_shares(shares)),
    )


st.subheader("Headline findings")
# Cached per dataset version: the figures are small even when the rows behind them are not.
key = state.dataset_key()
shares = st.session_state.get("need_shares")
# Each figure, the page it links to, and the analyses (nestmap.answers.ANALYSES) it rests on.
findings: list[tuple[str, Callable[..., tuple[str, ...]], str, str, tuple[str, ...]]] = [
    ("Gap cells", gap_cells, "coverage", "Coverage matrix", ("gaps",)),
    (
        "Misdirected, with an onward route",
        misdirected_onward,
        "referrals",
        "Referrals",
        ("misdirected",),
    ),
    (
        "Misdirected, to a dead end",
        misdirected_dead_end,
        "referrals",
        "Referrals",
        ("misdirected",),
    ),
    ("Threshold cliffs", threshold_cliffs, "boundaries", "Boundaries", ("boundaries",)),
    ("Dead-end entry points", dead_ends, "pathways", "Pathways", ("pathways",)),
    (
        "Practitioners at AiMH levels 2-3",
        practitioners,
        "workforce",
        "Workforce & assessment",
        ("workforce",),
    ),
    (
        "Targeted + specialist shortfall (families a year)",
        shortfall,
        "need",
        "Need & capacity",
        # Shares of the user's own are computed for this view whatever the warm-up keeps.
        ("need",) if state.default_shares(shares) else (),
    ),
]
PER_ROW = 4
# Right after a load, a figure whose analyses the warm-up has not kept yet says it is being
# worked out (layout.WORKING), and the cards are looked at again until every figure is in.
needed = sorted({name for *_, needs in findings for name in needs})


def headline_findings(waiting: set[str]) -> None:
    for start in range(0, len(findings), PER_ROW):
        # Borders on the cards only: a short last row leaves no empty frame.
        columns = st.columns(PER_ROW)
        for column, (label, figure, stem, page_title, needs) in zip(
            columns, findings[start : start + PER_ROW], strict=False
        ):
            with column.container(border=True, height="stretch"):
                if waiting.intersection(needs):
                    st.markdown(f"**{md(label)}**")
                    st.caption(layout.WORKING)
                else:
                    arguments: tuple = (key, area)
                    if figure is shortfall:
                        arguments = (key, area, shares)
                    # Each card is computed as it is drawn: a large dataset fills the page
                    # progressively.
                    with st.spinner(f"{label}..."):
                        value, explanation, *caveat = _kept(figure, arguments)
                    st.metric(label, value)
                    st.caption(explanation)
                    if caveat and caveat[0]:
                        provenance.note(caveat[0])  # the figure rests on illustrative values
                layout.link(stem, f"{page_title} →")


if state.warming(needed):
    layout.look_again(needed, headline_findings)
else:
    headline_findings(set())

if not chosen.present:
    report_download.download_block(area)
    st.caption(
        f"Dataset: {md(info.get('dataset'))} · loaded {md(info.get('loaded_at'))} · "
        f"{md(info.get('engine'))} graph at {md(info.get('location'))}"
    )
