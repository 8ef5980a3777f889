"""Where a figure's numbers come from, said beside the figure on the page.

The conventions (what counts as illustrative) are in ``nestmap.provenance``; this module caches
them per loaded dataset version and draws the badge. A figure that rests on illustrative values
says so — and how much — so that no one presents a placeholder as a finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import streamlit as st

from nestmap import provenance as rules
from nestmap.dashboard import state

BADGE = ":orange-badge[:material/info: Illustrative]"


def _illustrative_table() -> Any:
    # The links whose source marks them illustrative (in a synthetic dataset, all of its
    # million), as Arrow: shared in the process only, what is derived from them is kept on disk.
    return state.kept(
        "provenance.illustrative_link_table",
        (),
        lambda: rules.illustrative_link_table(state.store()),
    )


def _marked() -> Any:
    """The illustrative links' keys (``nestmap.provenance.link_keys``), one Arrow array."""
    return _illustrative_table().column("key").combine_chunks()


def any_illustrative_links() -> bool:
    """Some referral link's source marks it illustrative (kept per dataset version)."""
    return state.kept(
        "provenance.any_illustrative_links",
        (),
        lambda: _illustrative_table().num_rows > 0,
        disk=True,
    )


def illustrative_misdirected(area: str | None) -> dict[str, int]:
    """Referrals on misdirected links counted on illustrative links: ``onward`` and
    ``dead_end`` (as the misdirected headline splits them); kept per dataset version."""
    return state.kept(
        "provenance.illustrative_misdirected",
        (area,),
        lambda: rules.illustrative_misdirected(state.store(), area, _marked()),
        disk=True,
    )


def illustrative_relationship_volume() -> int:
    """Parent-infant relationship referrals recorded on links marked illustrative."""

    def volume() -> int:
        import pyarrow as pa
        import pyarrow.compute as pc

        links = _illustrative_table()
        if links.num_rows == 0:
            return 0
        reason = pa.scalar("parent_infant_relationship", pa.string())
        counts = pc.filter(links.column("count"), pc.equal(links.column("reason"), reason))
        return int(pc.sum(counts).as_py() or 0)

    return state.kept("provenance.illustrative_relationship_volume", (), volume, disk=True)


def illustrative_mask(table: pd.DataFrame) -> pd.Series:
    """Which rows of a table with from_service, to_service and reason columns are on links
    whose source marks them illustrative (a page keeps it beside the table it marks)."""
    if table.empty or not any_illustrative_links():
        return pd.Series(False, index=table.index)
    import pyarrow as pa
    import pyarrow.compute as pc

    links = pa.table(
        {name: pa.array(table[name].tolist(), pa.string()) for name in rules.LINK_COLUMNS}
    )
    found = pc.is_in(rules.link_keys(links), value_set=_marked())
    return pd.Series(found.to_numpy(zero_copy_only=False), index=table.index)


def illustrative_volume_of_table(table: pd.DataFrame, mask: pd.Series | None = None) -> int:
    """The same for a table with from_service, to_service, reason and count columns;
    ``mask``: its ``illustrative_mask`` (or that of a table it was filtered from)."""
    mask = illustrative_mask(table) if mask is None else mask.reindex(table.index)
    return int(table.loc[mask.to_numpy(dtype=bool), "count"].fillna(0).sum())


def illustrative_workforce(service_ids: Iterable[str]) -> list[str]:
    """The services among these whose workforce rows their source marks as illustrative."""
    marked: frozenset[str] = state.kept(
        "provenance.illustrative_workforce",
        (),
        lambda: rules.illustrative_workforce_services(state.store()),
        disk=True,
    )
    return sorted(set(service_ids) & marked)


@st.cache_data(show_spinner=False, max_entries=4)
def _is_bundled_seed(key: str) -> bool:
    return rules.is_bundled_seed(state.info())


def bundled_seed() -> bool:
    """The bundled seed region, unchanged, is what is loaded."""
    return _is_bundled_seed(state.dataset_key())


def note(text: str) -> None:
    """An 'illustrative' badge and what rests on illustrative values, under a figure."""
    st.caption(f"{BADGE} {text}")


def population_note() -> None:
    """Demand rests on each LA's under-2 population, which areas.csv gives without a source."""
    if bundled_seed():
        note(rules.SEED_POPULATION_NOTE)
    else:
        st.caption(
            "Demand rests on each local authority's under-2 population as loaded (areas.csv "
            "records no source for it): say where it comes from when you present it."
        )
