"""Validated dataset records: what the loader hands to the graph store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    kind: str
    parent_code: str | None
    under2_population: int | None
    births_per_year: int | None
    # Where the figures come from; None when areas.csv has no source column or leaves it blank.
    source: str | None = None


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    provider: str | None
    sector: str
    status: str
    areas: tuple[str, ...]
    stages: tuple[str, ...]
    min_age_months: int | None
    max_age_months: int | None
    threshold: str
    self_referral: bool
    capacity_per_year: int | None
    assesses_relationship: bool
    supports_fathers: bool | None
    source: str
    # The local authorities the service covers, region codes expanded (sorted).
    covers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Offer:
    service_id: str
    level: str
    focus: str
    interventions: tuple[str, ...]


@dataclass(frozen=True)
class Referral:
    from_service: str
    to_service: str
    reason: str
    count: int | None
    # The count's unit (nestmap.vocabulary.COUNT_BASES); a blank cell is read as per_year.
    count_basis: str
    source: str


@dataclass(frozen=True)
class StaffPost:
    service_id: str
    role: str
    fte: float
    aimh_level: int


@dataclass
class Dataset:
    """A whole mapping dataset, every rule of docs/data-format.md already checked."""

    name: str
    areas: list[Area]
    services: list[Service]
    offers: list[Offer]
    # A list, or (checked column by column) a nestmap.loaders.columnar.ReferralTable.
    referrals: Sequence[Referral]
    workforce: list[StaffPost] = field(default_factory=list)
    # file name -> sha256 of its bytes, for provenance and snapshots.
    file_hashes: dict[str, str] = field(default_factory=dict)
    origin: str = ""
    # Who is loading it (a person's name or e-mail, or the OS user on the command line): kept
    # with the graph, shown by `nestmap versions` and on the Data page.
    loaded_by: str = ""
    # How it came to be loaded ("load" from files, "edit" from the dashboard's grids) and the
    # editor's note of what changed and why: kept in the change log beside the graph.
    change: str = "load"
    note: str = ""
    # dataset.csv's description of the dataset (title, source, collected, method),
    # field -> text; empty when the dataset has none.
    about: dict[str, str] = field(default_factory=dict)
