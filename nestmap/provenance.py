"""Which figures rest on illustrative values: the conventions, free of any page or report.

A mapping dataset names the source of every service and referral link (docs/data-format.md), and
a value the source does not give is marked ``illustrative:`` there. A referral link whose
source *starts* with ``illustrative`` is a modelling assumption, count and all; one that quotes
the report first and marks a field illustrative later keeps the report's figure. Areas and
workforce rows have no source column: a staffed service's source names its placeholder
workforce rows (``illustrative: workforce row``), and the bundled seed region's births and
under-2 population are illustrative (its README), which ``is_bundled_seed`` lets a page or a
report say when that dataset is the one loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nestmap.graph import GraphStore

ILLUSTRATIVE = "illustrative"
WORKFORCE_MARK = "illustrative: workforce row"
SEED_POPULATION_NOTE = (
    "Demand rests on the seed region's under-2 population, which is illustrative: about 4,000 "
    "births a year implied by the Parent-Infant Foundation's article (\"around 2000 local "
    "babies each year\" ÷ the report's 50% insecure or disorganised), split by Census 2021 "
    "population — not an ONS births figure."
)


def link_is_illustrative(link: Mapping[str, Any]) -> bool:
    """The link itself (and so its count) is a modelling assumption: its source says so first."""
    return str(link.get("source") or "").strip().lower().startswith(ILLUSTRATIVE)


def illustrative_link_table(store: GraphStore) -> Any:
    """The referral links whose source marks them illustrative (as ``link_is_illustrative``
    decides), read from the few whose source mentions it rather than from every link, as a
    ``pyarrow.Table`` (from_service, to_service, reason, count, source) with ``key``: each
    link's ``link_keys``. The rule is applied once per
    distinct source text, not per link (a synthetic national dataset has a million links, all
    illustrative, and a handful of source texts)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    candidates = store.run_table("illustrative_link_candidates")
    if candidates.num_rows == 0:  # engines building Arrow from rows give no columns then
        empty = {name: pa.array([], pa.string()) for name in ("from_service", "to_service")}
        empty.update(reason=pa.array([], pa.string()), count=pa.array([], pa.int64()))
        empty.update(source=pa.array([], pa.string()), key=pa.array([], pa.string()))
        return pa.table(empty)
    sources = candidates.column("source")
    marked = [text for text in pc.unique(sources).to_pylist() if text is not None]
    marked = [text for text in marked if link_is_illustrative({"source": text})]
    found = candidates.filter(pc.is_in(sources, value_set=pa.array(marked, pa.string())))
    return found.append_column("key", link_keys(found))


def link_keys(table: Any) -> Any:
    """One text per row of a table with from_service, to_service and reason columns, equal
    for equal (from, to, reason): what a row is matched on against the illustrative links."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return pa.array([], pa.string())
    columns = [pc.cast(table.column(name), pa.string()) for name in LINK_COLUMNS]
    return pc.binary_join_element_wise(*columns, pa.scalar("\x1f", pa.string()))


LINK_COLUMNS = ("from_service", "to_service", "reason")


def illustrative_volume_of(table: Any, marked: Any, mask: Any = None) -> int:
    """Of the rows of ``table`` (an Arrow table with the link columns and ``count``) that
    ``mask`` keeps (all when None), the referrals counted on links whose key is in
    ``marked`` (``illustrative_link_table``'s ``key``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0 or len(marked) == 0:
        return 0
    on_marked = pc.is_in(link_keys(table), value_set=marked)
    if mask is not None:
        on_marked = pc.and_(on_marked, mask)
    counts = table.column("count")
    if pa.types.is_null(counts.type):
        return 0
    return int(pc.sum(pc.filter(counts, on_marked)).as_py() or 0)


def illustrative_misdirected(store: GraphStore, area: str | None, marked: Any) -> dict[str, int]:
    """Referrals on misdirected links (the kept ``misdirected`` answer) that are counted on
    illustrative links, for the links with an ``onward`` route and for the dead ends."""
    import pyarrow.compute as pc

    from nestmap.answers.analyses import misdirected_table

    links = misdirected_table(store, area)
    if links.num_rows == 0:
        return {"onward": 0, "dead_end": 0}
    onward = links.column("onward")
    return {
        "onward": illustrative_volume_of(links, marked, onward),
        "dead_end": illustrative_volume_of(links, marked, pc.invert(onward)),
    }


def workforce_is_illustrative(service: Mapping[str, Any]) -> bool:
    """The service's source marks (some of) its workforce rows as placeholders."""
    return WORKFORCE_MARK in str(service.get("source") or "").lower()


def illustrative_workforce_services(store: GraphStore) -> frozenset[str]:
    """The ids of the services (any status) whose source marks their workforce rows as
    placeholders, the rule applied once per distinct source text (a national catalogue has
    50,000 services and a handful of source texts)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = store.run_table("export_services")
    if found.num_rows == 0:
        return frozenset()
    sources = found.column("source")
    texts = [text for text in pc.unique(sources).to_pylist() if text is not None]
    marked = [text for text in texts if workforce_is_illustrative({"source": text})]
    keep = pc.is_in(sources, value_set=pa.array(marked, pa.string()))
    return frozenset(found.column("id").filter(keep).to_pylist())


def is_bundled_seed(loaded: Mapping[str, Any]) -> bool:
    """``loaded`` (``nestmap.analysis.info``) is the bundled seed region, file for file."""
    from nestmap.cli import SEED_REGION, seed_path
    from nestmap.loaders.read import read_raw

    if loaded.get("dataset") != SEED_REGION:
        return False
    return loaded.get("file_hashes") == read_raw(seed_path()).file_hashes
