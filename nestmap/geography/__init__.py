"""ONS geography for England and Wales: local authorities, the NHS regions above them, and the
codes they replaced.

Bundled lookups (``data/``; how they were made: ``tools/make_geography.py``; sources and
licence: ``data/SOURCE.md``):

- ``local_authorities.csv`` — every local authority district in England and Wales as of the
  ONS LAD April 2025 codes and names (318), each with the region above it: its Welsh local
  health board (W11, exact) or its English Integrated Care Board (E54, April 2023 ICBs; a
  best fit by area where a district straddles two ICBs, with the share in ``share``);
- ``regions.csv`` — the 7 local health boards and 42 ICBs;
- ``successors.csv`` — district codes retired since 2019 (mergers, recodings) and the current
  code that replaced each;
- ``welsh_names.csv`` — the Welsh names of the Welsh districts and health boards.

``match_area`` (``names.py``) matches an area given by name, as directories write them, to
these codes.

This is reference data for *importing* (``nestmap import``) and drawing maps; a dataset's own
``areas.csv`` still defines its areas (SPEC §1).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

RELEASE = (
    "ONS Local Authority Districts (April 2025) names and codes; Integrated Care Boards "
    "(April 2023); Local Health Boards (December 2023)"
)
ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right 2025."
)


@dataclass(frozen=True)
class LocalAuthority:
    code: str
    name: str
    region_code: str
    region_name: str
    share: float  # of the district's area inside its region (1.0 when it nests exactly)


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    kind: str  # local_health_board or integrated_care_board


def _rows(name: str) -> list[dict[str, str]]:
    path = resources.files(__package__) / "data" / name
    # Traversable.open takes no newline argument: read the text, then let csv split the lines.
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


@lru_cache(maxsize=1)
def local_authorities() -> dict[str, LocalAuthority]:
    """Every current local authority district in England and Wales, by ONS code."""
    return {
        row["code"]: LocalAuthority(
            row["code"], row["name"], row["region_code"], row["region_name"], float(row["share"])
        )
        for row in _rows("local_authorities.csv")
    }


@lru_cache(maxsize=1)
def regions() -> dict[str, Region]:
    """Welsh local health boards and English Integrated Care Boards, by ONS code."""
    return {
        row["code"]: Region(row["code"], row["name"], row["kind"]) for row in _rows("regions.csv")
    }


@lru_cache(maxsize=1)
def successors() -> dict[str, tuple[str, str]]:
    """Retired district code -> (its name then, the current code that replaced it)."""
    return {row["old_code"]: (row["old_name"], row["new_code"]) for row in _rows("successors.csv")}


def current_code(code: str) -> str | None:
    """The current district code for ``code`` (itself when current), else None."""
    if code in local_authorities():
        return code
    found = successors().get(code)
    return found[1] if found else None


def members(region_code: str) -> list[str]:
    """The local authorities placed under a health board or ICB, sorted by code."""
    return sorted(c for c, la in local_authorities().items() if la.region_code == region_code)


@lru_cache(maxsize=1)
def welsh_names() -> dict[str, str]:
    """ONS code -> Welsh name, for the Welsh districts and local health boards."""
    return {row["code"]: row["name_cy"] for row in _rows("welsh_names.csv")}


from nestmap.geography.names import AreaMatch, match_area  # noqa: E402

__all__ = [
    "AreaMatch",
    "LocalAuthority",
    "Region",
    "current_code",
    "local_authorities",
    "match_area",
    "members",
    "regions",
    "successors",
    "welsh_names",
]
