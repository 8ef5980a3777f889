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

from collections.abc import Iterable, Mapping
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
LinkKey = tuple[str, str, str]


def link_is_illustrative(link: Mapping[str, Any]) -> bool:
    """The link itself (and so its count) is a modelling assumption: its source says so first."""
    return str(link.get("source") or "").strip().lower().startswith(ILLUSTRATIVE)


def illustrative_links(links: Iterable[Mapping[str, Any]]) -> frozenset[LinkKey]:
    """(from_service, to_service, reason) of every link whose source marks it illustrative."""
    return frozenset(
        (link["from_service"], link["to_service"], link["reason"])
        for link in links
        if link_is_illustrative(link)
    )


def illustrative_link_rows(store: GraphStore) -> list[dict[str, Any]]:
    """The referral links of the loaded graph whose source marks them illustrative (as
    ``link_is_illustrative`` decides), read without reading every link."""
    candidates = store.run("illustrative_link_candidates")
    return [
        {**link, "count": None if link["count"] is None else int(link["count"])}
        for link in candidates
        if link_is_illustrative(link)
    ]


def illustrative_volume(rows: Iterable[Mapping[str, Any]], marked: frozenset[LinkKey]) -> int:
    """Of these rows (misdirected rows, referral links), the referrals counted on marked links."""
    if not marked:
        return 0
    return sum(
        row["count"] or 0
        for row in rows
        if (row["from_service"], row["to_service"], row["reason"]) in marked
    )


def workforce_is_illustrative(service: Mapping[str, Any]) -> bool:
    """The service's source marks (some of) its workforce rows as placeholders."""
    return WORKFORCE_MARK in str(service.get("source") or "").lower()


def is_bundled_seed(loaded: Mapping[str, Any]) -> bool:
    """``loaded`` (``nestmap.analysis.info``) is the bundled seed region, file for file."""
    from nestmap.cli import SEED_REGION, seed_path
    from nestmap.loaders.read import read_raw

    if loaded.get("dataset") != SEED_REGION:
        return False
    return loaded.get("file_hashes") == read_raw(seed_path()).file_hashes
