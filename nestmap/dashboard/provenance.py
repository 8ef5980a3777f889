"""Where a figure's numbers come from, said beside the figure.

A mapping dataset names the source of every service and referral link (SPEC.md section 1), and
a value the source does not give is marked ``illustrative:`` there. A figure that rests on such
values says so — how much of it — so that no one presents a placeholder as a finding. Areas
and workforce rows have no source column: the seed region names its workforce placeholders in
the staffed service's source (``illustrative: workforce row``), and the bundled seed region's
births and under-2 population are illustrative (its README), which the pages say when that
dataset is the one loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import streamlit as st

from nestmap.dashboard import state

ILLUSTRATIVE = "illustrative"
WORKFORCE_MARK = "illustrative: workforce row"
BADGE = ":orange-badge[:material/info: Illustrative]"


def link_is_illustrative(link: Mapping[str, Any]) -> bool:
    """The link itself (and so its count) is a modelling assumption: its source says so first.

    A source that quotes the report first and marks only a field illustrative later (a report
    total split across referrers) keeps the report's total, so it is not counted here."""
    return str(link.get("source") or "").strip().lower().startswith(ILLUSTRATIVE)


def illustrative_volume(rows: Iterable[Mapping[str, Any]]) -> int:
    """Of these misdirected or referral rows, the referrals counted on illustrative links."""
    marked = {
        (link["from_service"], link["to_service"], link["reason"])
        for link in state.referral_links()
        if link_is_illustrative(link)
    }
    return sum(
        row["count"] or 0
        for row in rows
        if (row["from_service"], row["to_service"], row["reason"]) in marked
    )


def illustrative_workforce(service_ids: Iterable[str]) -> list[str]:
    """The services among these whose workforce rows their source marks as illustrative."""
    sources = {row["id"]: str(row.get("source") or "") for row in state.services()}
    return sorted(s for s in service_ids if WORKFORCE_MARK in sources.get(s, "").lower())


@st.cache_data(show_spinner=False, max_entries=4)
def _is_bundled_seed(key: str) -> bool:
    from nestmap.cli import SEED_REGION, seed_path
    from nestmap.loaders.read import read_raw

    loaded = state.info()
    if loaded.get("dataset") != SEED_REGION:
        return False
    return loaded.get("file_hashes") == read_raw(seed_path()).file_hashes


def bundled_seed() -> bool:
    """The bundled seed region, unchanged, is what is loaded."""
    return _is_bundled_seed(state.dataset_key())


def note(text: str) -> None:
    """An 'illustrative' badge and what rests on illustrative values, under a figure."""
    st.caption(f"{BADGE} {text}")


def population_note() -> None:
    """Demand rests on each LA's under-2 population, which areas.csv gives without a source."""
    if bundled_seed():
        note(
            "Demand rests on the seed region's under-2 population, which is illustrative: about "
            "4,000 births a year implied by the Parent-Infant Foundation's article (\"around "
            "2000 local babies each year\" ÷ the report's 50% insecure or disorganised), split "
            "by Census 2021 population — not an ONS births figure."
        )
    else:
        st.caption(
            "Demand rests on each local authority's under-2 population as loaded (areas.csv "
            "records no source for it): say where it comes from when you present it."
        )
