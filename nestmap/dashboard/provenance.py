"""Where a figure's numbers come from, said beside the figure on the page.

The conventions (what counts as illustrative or inferred, and how a figure is worded) are in
``nestmap.provenance`` and ``nestmap.units``, which the report uses too; this module caches
them per loaded dataset version and draws the badge. A figure that rests on illustrative values
says so — and how much — so that no one presents a placeholder as a finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import streamlit as st

from nestmap import provenance as rules
from nestmap import units
from nestmap.dashboard import state

BADGE = ":orange-badge[:material/info: Illustrative]"


def _link_counts() -> dict[str, int]:
    """How many referral links are illustrative, split, and in all (counted by the engine)."""
    return state.kept(
        "provenance.illustrative_link_counts",
        (),
        lambda: rules.illustrative_link_counts(state.store()),
        disk=True,
    )


def _illustrative_table() -> Any:
    # The links whose count rests on an illustrative value, as Arrow: shared in the process
    # only, what is derived from them is kept on disk. When every link is illustrative (a
    # synthetic dataset: a million links), none is read: every count rests on one.
    if rules.every_link_illustrative(_link_counts()):
        return rules.EVERY_LINK
    return state.kept(
        "provenance.illustrative_link_table",
        (),
        lambda: rules.illustrative_link_table(state.store()),
    )


def any_illustrative_links() -> bool:
    """Some referral link's count rests on an illustrative value (kept per dataset version)."""
    counts = _link_counts()
    return counts[rules.WHOLE] + counts[rules.SPLIT] > 0


def illustrative_misdirected(area: str | None) -> dict[str, dict[str, int]]:
    """Counts on misdirected links resting on illustrative values, per count basis, for the
    ``onward`` links and the ``dead_end`` ones (as the misdirected headline splits them)."""
    return state.kept(
        "provenance.illustrative_misdirected",
        (area,),
        lambda: rules.illustrative_misdirected(state.store(), area, _illustrative_table()),
        disk=True,
    )


def illustrative_concentration(area: str | None) -> dict[tuple[str, str], int]:
    """Per concentration row (to_service, count_basis), its count resting on illustrative
    values (kept per dataset version)."""
    if not any_illustrative_links():
        return {}

    def as_table() -> Any:
        import pyarrow as pa

        found = rules.illustrative_concentration(state.store(), area, _illustrative_table())
        return pa.table(
            {
                "to_service": pa.array([target for target, _basis in found], pa.string()),
                "count_basis": pa.array([basis for _target, basis in found], pa.string()),
                "count": pa.array(list(found.values()), pa.int64()),
            }
        )

    def by_row() -> dict[tuple[str, str], int]:
        # Kept on disk as Arrow: a national dataset has 50,000 destinations, and the same as a
        # JSON mapping took a second to write and check.
        table = state.kept("provenance.illustrative_concentration", (area,), as_table, disk=True)
        columns = (table.column(name).to_pylist() for name in table.column_names)
        return {(target, basis): count for target, basis, count in zip(*columns, strict=True)}

    return state.kept("provenance.illustrative_concentration.by_row", (area,), by_row)


def misdirected_marked(basis: str) -> bool:
    """Some misdirected link counted in ``basis`` has a count marked illustrative (a placeholder,
    or an assumed share of its source's total): figures per local authority rest on it."""

    def found() -> bool:
        import pyarrow as pa
        import pyarrow.compute as pc

        links = state.arrow("misdirected")
        marked = _illustrative_table()
        if links.num_rows == 0 or marked.num_rows == 0:
            return False
        ours = pc.equal(links.column("count_basis"), pa.scalar(basis, pa.string()))
        if marked is rules.EVERY_LINK:
            return bool(pc.any(ours).as_py())
        keys = rules.link_keys(links.filter(ours))
        return bool(pc.any(pc.is_in(keys, value_set=marked.column("key"))).as_py())

    return state.kept("provenance.misdirected_marked", (basis,), found, disk=True)


def illustrative_volume(table: Any) -> dict[str, int]:
    """Per count basis, the counts of an Arrow table's rows (link columns, ``count``,
    ``count_basis``) resting on illustrative values, judged within those rows (an illustrative
    split of a total is exact only when all the links sharing it are there). Arrow all the way:
    a national misdirected table (4 x 10^5 rows) as a DataFrame and back took 3 s."""
    if table.num_rows == 0 or not any_illustrative_links():
        return {}
    return rules.illustrative_volume(table, _illustrative_table())


def illustrative_workforce(service_ids: Iterable[str]) -> list[str]:
    """The services among these whose workforce rows their source marks as illustrative."""
    marked: frozenset[str] = state.kept(
        "provenance.illustrative_workforce",
        (),
        lambda: rules.illustrative_workforce_services(state.store()),
        disk=True,
    )
    return sorted(set(service_ids) & marked)


def population_caveat() -> str | None:
    """What a demand figure says about the under-2 population it rests on (None: sourced)."""

    def found() -> str | None:
        return rules.population_note(rules.population_provenance(state.store()), state.area_names())

    return state.kept("provenance.population_caveat", (), found)


def population_marked() -> bool:
    """Some local authority's under-2 population is inferred or illustrative."""
    return state.kept(
        "provenance.population_marked",
        (),
        lambda: bool(rules.population_provenance(state.store())["marked"]),
    )


def note(text: str) -> None:
    """An 'illustrative' badge and what rests on illustrative values, under a figure."""
    st.caption(f"{BADGE} {text}")


def population_note() -> None:
    """Demand rests on each LA's under-2 population: marked when areas.csv says it is
    inferred or illustrative, a plain caption when it gives no source."""
    text = population_caveat()
    if text is None:
        return
    if population_marked():
        note(text)
    else:
        st.caption(text)


def volume_caveat(volume: dict[str, int], of: dict[str, int] | None = None) -> str:
    """ "N of the M survey mentions are counted on links marked illustrative", per unit; ""
    when nothing rests on them."""
    parts = []
    for basis in sorted(volume, key=lambda b: (b not in units.COUNT_BASES, b)):
        total = (of or {}).get(basis)
        whole = f" of the {units.counted(total, basis)}" if total is not None else ""
        parts.append(f"{volume[basis]:,}{whole}" if whole else units.counted(volume[basis], basis))
    if not parts:
        return ""
    return (
        "; ".join(parts) + " rest on values marked illustrative in their source (a placeholder "
        "or an assumed split of the source's total): not findings."
    )
