"""Pathways: from each universal entry point, the nearest specialised help, or a dead end."""

import pandas as pd
import streamlit as st

from nestmap.dashboard import layout, state, tables

chosen = layout.start(
    "Pathways",
    "For each local authority and each universal service where families first arrive (GPs, "
    "midwives, health visitors...): the shortest chain of referrals (at most 6) to a service "
    "in that area offering specialised targeted or specialist parent-infant relationship work. "
    "A dead end is an entry point from which no chain reaches one.",
    "pathways",
)
layout.filter_note(chosen, ("la",))
layout.wait_for(("pathways",))
names = state.service_names()
area_names = state.area_names()
dead = state.dead_ends(chosen.la)
columns = st.columns(2)
columns[0].metric("Entry points (local authority × service)", f"{dead['of_pairs']:,}")
columns[1].metric(
    "Dead ends (local authority × service)",
    f"{dead['pairs']:,}",
    help=f"{dead['services']:,} of {dead['of_services']:,} entry-point services are a dead end "
    "in at least one local authority.",
)


def pathways_table(area: str | None) -> pd.DataFrame:
    """The pathways in plain words (kept per dataset version: ~10^5 rows nationally)."""
    rows = state.pathways(area)
    table = []
    # Each chain is the one the pathways analysis found (nestmap.analysis.pathways).
    for r, chain in zip(rows, rows.chains, strict=True):
        path = " → ".join(names.get(s, s) for s in chain) if chain else ""
        table.append(
            {
                "area_code": r["area_code"],
                "area_name": area_names.get(r["area_code"], ""),
                "entry_service": r["entry_service"],
                "entry_name": names.get(r["entry_service"], ""),
                "destination": r["destination"],
                "destination_name": names.get(r["destination"], "") if r["destination"] else "",
                "hops": r["hops"],
                "outcome": "dead end" if r["destination"] is None else "reaches specialised help",
                "path": path,
            }
        )
    frame = tables.frame(
        table,
        [
            "area_name",
            "entry_name",
            "outcome",
            "hops",
            "path",
            "destination_name",
            "area_code",
            "entry_service",
            "destination",
        ],
    )
    return frame


frame = state.kept(
    "pathways.table", (chosen.la,), lambda: pathways_table(chosen.la), disk=state.default_view()
)


def _dead_end(row: pd.Series) -> list[str]:
    colour = "background-color: #fde0dd" if row["outcome"] == "dead end" else ""
    return [colour] * len(row)


tables.show(
    frame,
    "pathways",
    style=lambda part: part.style.apply(_dead_end, axis=1),
    height=min(38 + 35 * max(1, len(frame)), 640),
)
if not chosen.present:
    st.caption(
        "Dead ends are highlighted. The path is one shortest chain of referral links "
        "through active services (several may tie: of those, the one through the smallest ids)."
    )
