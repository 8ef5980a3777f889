"""What the report states: the analyses' rows for the report's scope (the loaded region, or one
local authority), and the findings as sentences built from their numbers.

Nothing here knows the seed region: every sentence has a form for "none" as well as for
"some", and every name comes from the dataset. Figures are carried as ``Figure`` segments with
a key, so the HTML can mark them and a test can check each against the analyses. A figure is
``marked`` when it rests on a value the data marks illustrative or inferred (``Marks``; the
rules are ``nestmap.provenance``'s, the same as the dashboard's).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any

from nestmap import analysis
from nestmap import provenance as rules
from nestmap.analysis._shape import area_param, round_half_away
from nestmap.graph import GraphStore
from nestmap.units import INTERVENTION_LEVELS, unit
from nestmap.vocabulary import (
    COUNT_BASES,
    DEFAULT_COUNT_BASIS,
    LEVELS,
    NEED_LEVELS,
    SHARE_PRESETS,
    STAGES,
)

Row = dict[str, Any]

# A destination taking at least this share of parent-infant relationship referrals is called a
# single point of failure: if it is full, absent or not the right help, a third of families
# are stuck (the report's health-visiting finding, in a form any region can be measured by).
SINGLE_POINT_SHARE = Fraction(1, 3)
TOP_DESTINATIONS = 3
FLOW_LINKS = 20
MAX_HOPS = 6
RELATIONSHIP = "parent_infant_relationship"
SURVEY = "survey_mentions"
# The levels whose demand is families expected to take up an intervention; the statutory row
# (families unlikely to access help) is apart and never added to them.
UPTAKE_LEVELS = INTERVENTION_LEVELS
STATUTORY = "statutory"


# -- the pieces a sentence is made of ------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """A number the report states: ``key`` names what it is, ``text`` is how it is shown;
    ``marked``: it rests on a value the data marks illustrative or inferred."""

    key: str
    text: str
    marked: bool = False


@dataclass(frozen=True)
class Name:
    """Text from the dataset (an area's or a service's name): shown as given, escaped."""

    text: str


@dataclass(frozen=True)
class Term:
    """A fixed part of the vocabulary that holds digits ("AiMH levels 2-3", "6 links")."""

    text: str


Segment = str | Figure | Name | Term


@dataclass
class Finding:
    section: str  # the id of the section behind it
    title: str
    sentences: list[list[Segment]]
    concern: bool = True  # it shows something families lack (else it is listed after those)


# -- number formatting (one place, so the test and the page agree on what is shown) --------
def count(value: int) -> str:
    return f"{value:,}"


def one_place(value: float | Fraction | Decimal | int) -> str:
    exact = value if isinstance(value, Fraction | Decimal | int) else Decimal(str(value))
    return f"{round_half_away(exact, 1):,.1f}"


def percent(part: int | Fraction | Decimal, whole: int | Fraction | Decimal) -> str:
    return f"{round_half_away(Fraction(part) * 100 / Fraction(whole), 1):,.1f}%"


def money(amount: float | Decimal | None) -> str:
    if amount is None:
        return "-"
    return f"£{round_half_away(Decimal(str(amount)), 0):,.0f}"


def total_one_place(values: Iterable[float | None]) -> Decimal:
    """A sum of values already rounded to one place, exact (as ``Decimal``)."""
    return sum((Decimal(str(v)) for v in values if v is not None), Decimal(0))


def plural(n: int | Decimal, one: str, many: str) -> str:
    return one if n == 1 else many


def basis_of(row: Mapping[str, Any]) -> str:
    return str(row.get("count_basis") or DEFAULT_COUNT_BASIS)


# -- what rests on illustrative values -----------------------------------------------------
@dataclass(frozen=True)
class Marks:
    """What the data marks illustrative or inferred, by ``nestmap.provenance``'s rules (the
    dashboard's too), to mark each figure that rests on it: services whose record is a
    modelling assumption; referral links that are (``whole``), or whose count is an assumed
    share of a total their source gives (``split``: a figure adding every link sharing that
    total rests on the source's own number, one adding only some rests on the split); staff
    rows a service's source marks as placeholders; under-2 populations an area's source says
    are inferred or illustrative (``population``: LA codes)."""

    services: frozenset[str] = frozenset()
    whole: frozenset[tuple[str, str, str]] = frozenset()
    split: Mapping[tuple[str, str, str], str] = field(default_factory=dict)  # link -> its total
    shares: Mapping[str, int] = field(default_factory=dict)  # total -> links sharing it
    workforce: frozenset[str] = frozenset()
    population: frozenset[str] = frozenset()

    def any_service(self, ids: Iterable[str]) -> bool:
        return any(i in self.services for i in ids)

    def link(self, row: Mapping[str, Any]) -> bool:
        """The link itself is a modelling assumption."""
        return (row["from_service"], row["to_service"], row["reason"]) in self.whole

    def any_link(self, rows: Iterable[Mapping[str, Any]]) -> bool:
        return any(self.link(row) for row in rows)

    def counts(self, rows: Iterable[Mapping[str, Any]]) -> bool:
        """A sum of these links' counts rests on an illustrative value: a link is illustrative,
        or it holds some but not all of the links an illustrative split shares a total
        between (a blank count adds nothing, so it does not count)."""
        held: Counter = Counter()
        for row in rows:
            if row["count"] is None:
                continue
            key = (row["from_service"], row["to_service"], row["reason"])
            if key in self.whole:
                return True
            if key in self.split:
                held[self.split[key]] += 1
        return any(n < self.shares[group] for group, n in held.items())

    def any_population(self, codes: Iterable[str]) -> bool:
        return any(code in self.population for code in codes)


def collect_marks(store: GraphStore, population: Mapping[str, Any]) -> Marks:
    table = rules.illustrative_link_table(store)
    keys = list(
        zip(
            table.column("from_service").to_pylist(),
            table.column("to_service").to_pylist(),
            table.column("reason").to_pylist(),
            strict=True,
        )
    )
    kinds = table.column("kind").to_pylist()
    groups = table.column("group").to_pylist()
    split = {key: group for key, kind, group in zip(keys, kinds, groups, strict=True)
             if kind == rules.SPLIT}  # fmt: skip
    services = rules.illustrative_services(store)
    return Marks(
        services=services,
        whole=frozenset(key for key, kind in zip(keys, kinds, strict=True) if kind == rules.WHOLE),
        split=split,
        shares=Counter(split.values()),
        workforce=rules.illustrative_workforce_services(store) | services,
        population=frozenset(population["marked"]),
    )


# -- the data ------------------------------------------------------------------------------
@dataclass
class Option:
    """One scenario's effect on the report's scope."""

    summary: Row
    gaps_closed: int
    gaps_opened: int
    # level -> "before"/"after" -> the analyses' shortfall, unrecorded and the LAs behind it
    raw_shortfall: dict[str, dict[str, dict[str, Any]]]
    closed_cells: list[tuple[str, str, str]]
    opened_cells: list[tuple[str, str, str]]
    services_cost: Decimal  # the added services' annual cost (the other cost items aside)
    staffing: dict[str, Decimal]  # role -> FTE of the added services
    marked: bool  # the option's own figures (families, cost) rest on illustrative values
    shortfall: dict[str, dict[str, Shortfall]] = field(default_factory=dict)  # as raw, marked


@dataclass
class ReportData:
    dataset: Row
    area: str | None
    areas: list[Row]  # every area of the dataset (regions and LAs)
    las: list[Row]  # the LAs in scope, by code
    regions: list[Row]  # the regions those LAs are part of
    services: list[Row]  # every service covering the scope (any status)
    gaps: list[Row]
    misdirected: list[Row]
    links: list[Row]
    cliffs: list[Row]
    pathways: list[Row]
    concentration: list[Row]
    relationship_links: list[Row]  # parent-infant relationship links from active services
    need: list[Row]
    need_totals: dict[str, dict[str, Any]]  # analysis.need_totals: per level, summed exactly
    shares: dict[str, Decimal]
    assessment: dict[str, list[Row]]
    workforce: dict[str, Any]
    groups: list[Row]
    age_bands: list[Row] | None
    quality: Row  # referral links: how many, blank counts, illustrative sources
    population: dict[str, Any]  # nestmap.provenance.population_provenance
    marks: Marks = field(default_factory=Marks)
    chain_links: list[Row] = field(default_factory=list)  # the links along pathway chains
    options: list[Option] = field(default_factory=list)

    @property
    def about(self) -> dict[str, str]:
        """dataset.csv's description (title, source, collected, method, population_source)."""
        return dict(self.dataset.get("about") or {})

    @cached_property
    def names(self) -> dict[str, str]:
        return {row["id"]: row["name"] for row in self.services}

    @cached_property
    def status(self) -> dict[str, str]:
        return {row["id"]: row["status"] for row in self.services}

    @cached_property
    def active_serving(self) -> dict[str, list[Row]]:
        """LA code -> the active services covering it."""
        found: dict[str, list[Row]] = defaultdict(list)
        for s in self.services:
            if s["status"] == "active":
                for code in s["covers"]:
                    found[code].append(s)
        return found

    @cached_property
    def specialised_at(self) -> dict[str, list[Row]]:
        """Need level -> the active services with a specialised offer there."""
        return {
            level: [
                s
                for s in self.services
                if s["status"] == "active" and s["offers"].get(level) == "specialised"
            ]
            for level in NEED_LEVELS
        }

    @cached_property
    def links_to(self) -> dict[tuple[str, str], list[Row]]:
        """(destination, count basis) -> its parent-infant relationship links."""
        found: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for r in self.relationship_links:
            found[(r["to_service"], basis_of(r))].append(r)
        return found

    @cached_property
    def links_of(self) -> dict[str, list[Row]]:
        """Count basis -> its parent-infant relationship links."""
        found: dict[str, list[Row]] = defaultdict(list)
        for r in self.relationship_links:
            found[basis_of(r)].append(r)
        return found

    @cached_property
    def totals(self) -> dict[str, int]:
        """Count basis -> the parent-infant relationship referrals recorded in it."""
        found: dict[str, int] = defaultdict(int)
        for row in self.concentration:
            found[basis_of(row)] += row["count"]
        return found

    @property
    def la_names(self) -> dict[str, str]:
        return {row["code"]: row["name"] for row in self.las}

    @property
    def scope_name(self) -> str:
        """What the report is about, in the dataset's own names (never a folder's name)."""
        if self.area is not None:
            la = self.las[0] if self.las else {"name": self.area, "code": self.area}
            return f"{la['name']} ({la['code']})"
        title = self.about.get("title")
        if title:
            return title
        las = len(self.las)
        counted = f"{las:,} local {plural(las, 'authority', 'authorities')}"
        if len(self.regions) == 1:
            return str(self.regions[0]["name"])
        if not self.regions:
            return counted
        names = [str(r["name"]) for r in self.regions[:3]]
        more = len(self.regions) - len(names)
        listed = ", ".join(names) + (f" and {more:,} more" if more else "")
        return f"{counted} in {len(self.regions):,} regions: {listed}"

    @property
    def preset(self) -> str | None:
        """The named preset the need shares are, if any (``high_adversity`` ...)."""
        for name, shares in SHARE_PRESETS.items():
            if all(Decimal(shares[level]) == self.shares[level] for level in NEED_LEVELS):
                return name
        return None


def collect(
    store: GraphStore,
    area: str | None = None,
    scenarios: Sequence[dict[str, Any]] = (),
    shares: dict[str, Decimal] | None = None,
) -> ReportData:
    """Run every analysis the report needs for its scope (``area``: one LA, else all)."""
    shares = shares or analysis.parse_shares()
    area_param(store, area)  # an unknown code: a UsageError listing the known ones (exit 2)
    areas = store.run("export_areas")
    las = sorted(
        (a for a in areas if a["kind"] == "local_authority" and area in (None, a["code"])),
        key=lambda a: a["code"],
    )
    parents = {la["parent_code"] for la in las}
    regions = sorted(
        (a for a in areas if a["kind"] == "region" and a["code"] in parents),
        key=lambda a: a["code"],
    )
    code = area if area is not None else ""
    bounds = analysis.boundaries(store, area)
    loaded = analysis.info(store)
    data = ReportData(
        dataset=loaded,
        area=area,
        areas=areas,
        las=las,
        regions=regions,
        services=analysis.services(store, area),
        gaps=analysis.gaps(store, area),
        misdirected=analysis.misdirected(store, area),
        links=bounds["links"],
        cliffs=bounds["threshold_cliffs"],
        pathways=analysis.pathways(store, area, chains=True),
        concentration=analysis.concentration(store, area),
        relationship_links=store.run("relationship_links", {"area": code}),
        need=analysis.need(store, area, shares),
        need_totals=analysis.need_totals(store, area, shares),
        shares=shares,
        assessment=analysis.assessment(store, area),
        workforce=analysis.workforce(store, area),
        groups=analysis.groups_left_out(store, area),
        age_bands=analysis.age_bands(store, area),
        quality={
            key: int(value or 0)
            for key, value in store.run("referral_provenance", {"area": code})[0].items()
        },
        population=rules.population_provenance(store),
    )
    data.marks = collect_marks(store, data.population)
    steps = sorted({pair for row in data.pathways for pair in chain_steps(row)})
    if steps:
        pairs = [{"from_service": a, "to_service": b} for a, b in steps]
        data.chain_links = store.run("referral_links_between", {"pairs": pairs})
    data.options = [option(store, document, area, shares) for document in scenarios]
    for item in data.options:
        item.shortfall = {
            level: {
                side: shortfall_from(data, values, values["codes"], level)
                for side, values in sides.items()
            }
            for level, sides in item.raw_shortfall.items()
        }
    return data


def _option_shortfall(result: dict[str, Any], area: str | None) -> dict[str, dict[str, Any]]:
    """Per need level, the shortfall before and after an option as the analyses give it: the
    comparison's totals (summed exactly) for the whole dataset, the LA's row for one LA."""
    found: dict[str, dict[str, Any]] = {}
    if area is None:
        codes = {r["area_code"] for r in result["need_before"] if r["demand"] is not None}
        if not codes:
            return found
        totals = result["comparison"]["summary"]["shortfall_by_level"]
        for level in NEED_LEVELS:
            found[level] = {
                side: {
                    "shortfall": totals[level][side],
                    "unrecorded": totals[level][f"unrecorded_{side}"],
                    "codes": codes,
                }
                for side in ("before", "after")
            }
        return found
    for level in NEED_LEVELS:
        rows = {
            side: next(
                (r for r in result[f"need_{side}"]
                 if r["area_code"] == area and r["level"] == level and r["demand"] is not None),
                None,
            )
            for side in ("before", "after")
        }  # fmt: skip
        if all(rows.values()):
            found[level] = {
                side: {**row, "codes": {area}} for side, row in rows.items() if row is not None
            }
    return found


def chain_steps(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    chain = row.get("chain") or []
    return list(zip(chain, chain[1:], strict=False))


def option(
    store: GraphStore, document: dict[str, Any], area: str | None, shares: dict[str, Decimal]
) -> Option:
    """A scenario applied to a scratch copy (nestmap.scenarios), seen from the report's scope."""
    from nestmap.scenarios import evaluate

    result = evaluate(store, document, shares)
    keep = (lambda row: row["area_code"] == area) if area else (lambda row: True)
    before = {
        (r["area_code"], r["level"], r["stage"]): r["gap"] for r in result["gaps_before"] if keep(r)
    }
    after = {
        (r["area_code"], r["level"], r["stage"]): r["gap"] for r in result["gaps_after"] if keep(r)
    }
    closed = [key for key, gap in before.items() if gap and not after.get(key, True)]
    opened = [key for key, gap in after.items() if gap and not before.get(key, True)]
    added = document.get("add_services") or []
    services_cost = sum((Decimal(str(s.get("annual_cost") or 0)) for s in added), Decimal(0))
    staffing: dict[str, Decimal] = {}
    for service in added:
        for post in service.get("workforce") or []:
            role = str(post["role"])
            staffing[role] = staffing.get(role, Decimal(0)) + Decimal(str(post["fte"]))
    sources = [document.get("source"), *(s.get("source") for s in added)]
    return Option(
        summary=result["summary"],
        gaps_closed=len(closed),
        gaps_opened=len(opened),
        raw_shortfall=_option_shortfall(result, area),
        closed_cells=closed,
        opened_cells=opened,
        services_cost=services_cost,
        staffing=staffing,
        marked=any(rules.record_is_illustrative({"source": s}) for s in sources if s),
    )


# -- derived figures -----------------------------------------------------------------------
def bases(data: ReportData) -> list[str]:
    """The count bases of the parent-infant relationship referrals, per_year first."""
    found = {basis_of(row) for row in data.concentration}
    return [basis for basis in COUNT_BASES if basis in found]


def relationship_total(data: ReportData, basis: str) -> int:
    return data.totals.get(basis, 0)


def recorded_links(data: ReportData, basis: str) -> list[Row]:
    """The relationship links of ``basis`` with a count recorded."""
    return [r for r in data.links_of.get(basis, []) if r["count"] is not None]


def misdirected_relationship(data: ReportData, basis: str | None = None) -> list[Row]:
    return [
        row
        for row in data.misdirected
        if row["reason"] == RELATIONSHIP and basis in (None, basis_of(row))
    ]


@dataclass(frozen=True)
class Misdirection:
    """The misdirected links to one destination, of one unit, with the same problems."""

    to_service: str
    basis: str
    problems: tuple[str, ...]
    links: list[Row]

    @property
    def recorded(self) -> list[Row]:
        return [r for r in self.links if r["count"] is not None]

    @property
    def count(self) -> int | None:
        recorded = self.recorded
        return sum(r["count"] for r in recorded) if recorded else None

    @property
    def onward(self) -> int:
        return sum(bool(r["onward"]) for r in self.links)


def misdirections(data: ReportData) -> list[Misdirection]:
    """The misdirected links grouped by destination, unit and problems; most referrals first
    (a group with no count recorded last), then by destination."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[Row]] = defaultdict(list)
    for row in data.misdirected:
        groups[(row["to_service"], basis_of(row), tuple(row["problems"]))].append(row)
    found = [Misdirection(t, b, p, rows) for (t, b, p), rows in groups.items()]
    return sorted(
        found,
        key=lambda m: (m.count is None, -(m.count or 0), COUNT_BASES.index(m.basis), m.to_service),
    )


def single_points(data: ReportData, basis: str) -> list[Row]:
    total = relationship_total(data, basis)
    if not total:
        return []
    return [
        r
        for r in data.concentration
        if basis_of(r) == basis and Fraction(r["count"], total) >= SINGLE_POINT_SHARE
    ]


def destination_links(data: ReportData, target: str, basis: str) -> list[Row]:
    return data.links_to.get((target, basis), [])


def destination_recorded(data: ReportData, target: str, basis: str) -> bool:
    """Some link to ``target`` of ``basis`` has a count (else its sum is not recorded)."""
    return any(r["count"] is not None for r in destination_links(data, target, basis))


def marked_counts(data: ReportData, rows: Iterable[Row]) -> bool:
    """A sum of these links' counts rests on an illustrative value (``Marks.counts``)."""
    return data.marks.counts(rows)


def serving(data: ReportData, code: str, stage: str | None = None) -> list[str]:
    """The active services covering ``code`` (and listing ``stage``), as the assessment and
    groups analyses count them."""
    return [s["id"] for s in data.active_serving.get(code, []) if stage in (None, *s["stages"])]


def gap_cells_by_la(data: ReportData) -> dict[str, tuple[int, int]]:
    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in data.gaps:
        cells[row["area_code"]][0] += row["gap"]
        cells[row["area_code"]][1] += 1
    return {code: (gap, total) for code, (gap, total) in cells.items()}


def gap_cells_by_level_stage(data: ReportData) -> Counter:
    return Counter((row["level"], row["stage"]) for row in data.gaps if row["gap"])


def cells_marked(data: ReportData, rows: Iterable[Row]) -> bool:
    """A count of cells rests on the specialised services that fill them."""
    return any(data.marks.any_service(r["specialised_services"]) for r in rows)


def chain_marked(data: ReportData, row: Mapping[str, Any]) -> bool:
    """A pathway rests on illustrative records when a service on its chain is one, or a step
    of it has only links the data marks illustrative."""
    chain = row.get("chain") or []
    if data.marks.any_service(chain):
        return True
    for a, b in chain_steps(row):
        links = [r for r in data.chain_links if (r["from_service"], r["to_service"]) == (a, b)]
        if links and all(data.marks.link(r) for r in links):
            return True
    return False


# -- workforce -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Staff:
    """FTE recorded at some AiMH levels, how many services hold it, and whether any of it is in
    rows the data marks as placeholders."""

    fte: Decimal
    services: int
    marked: bool


def staff(data: ReportData, levels: Iterable[int]) -> Staff:
    wanted = list(levels)
    services = [r for r in data.workforce["services"] if any(r[f"fte_level_{n}"] for n in wanted)]
    return Staff(
        fte=sum((Decimal(str(r[f"fte_level_{n}"])) for r in services for n in wanted), Decimal(0)),
        services=len(services),
        marked=any(r["service_id"] in data.marks.workforce for r in services),
    )


# -- need ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shortfall:
    """A shortfall (families a year) as an option's comparison gives it: "at most" when some
    capacity behind it is not recorded; marked when it rests on illustrative values."""

    shortfall: Decimal
    unrecorded: int
    shortfall_marked: bool


@dataclass(frozen=True)
class Need:
    """Demand, capacity and shortfall (families a year) of some LAs at one level, as the
    analyses give them (a total summed exactly, rounded once), with how many specialised
    services' capacity is not recorded, and what rests on illustrative or inferred values."""

    demand: Decimal
    capacity: Decimal
    shortfall: Decimal
    unrecorded: int  # specialised services whose capacity is blank
    demand_marked: bool
    capacity_marked: bool
    unrecorded_marked: bool  # one of those services is illustrative

    @property
    def shortfall_marked(self) -> bool:
        return self.demand_marked or self.capacity_marked


def unrecorded(data: ReportData, codes: Iterable[str], level: str) -> list[str]:
    """Active services specialised at ``level`` covering any of ``codes`` whose capacity is
    blank (each once)."""
    wanted = set(codes)
    return [
        s["id"]
        for s in data.specialised_at[level]
        if s["capacity_per_year"] is None and wanted & set(s["covers"])
    ]


def _capacity_marked(data: ReportData, codes: set[str], level: str) -> bool:
    """Capacity rests on an illustrative service, or on inferred or illustrative populations
    where a service's families are shared between areas the figure does not all hold."""
    populated = {a["code"] for a in data.areas if a["under2_population"] is not None}
    for s in data.specialised_at[level]:
        if s["capacity_per_year"] is None or not codes & set(s["covers"]):
            continue
        if s["id"] in data.marks.services:
            return True
        shared = set(s["covers"]) & populated
        if not shared <= codes and data.marks.any_population(shared):
            return True
    return False


def need_from(data: ReportData, values: Mapping[str, Any], codes: set[str], level: str) -> Need:
    """A ``Need`` from an analysis's figures (``demand``, ``capacity``, ``shortfall``, and
    ``unrecorded`` when it gives it) for the LAs ``codes`` (those with a population)."""
    blank = unrecorded(data, codes, level)
    return Need(
        demand=Decimal(str(values["demand"])),
        capacity=Decimal(str(values["capacity"])),
        shortfall=Decimal(str(values["shortfall"])),
        unrecorded=int(values.get("unrecorded", len(blank))),
        demand_marked=data.marks.any_population(codes),
        capacity_marked=_capacity_marked(data, codes, level),
        unrecorded_marked=data.marks.any_service(blank),
    )


def shortfall_from(
    data: ReportData, values: Mapping[str, Any], codes: set[str], level: str
) -> Shortfall:
    """An option's shortfall (``shortfall``, ``unrecorded``) for the LAs ``codes``: it rests on
    what the base's demand and capacity there rest on."""
    return Shortfall(
        shortfall=Decimal(str(values["shortfall"])),
        unrecorded=int(values["unrecorded"]),
        shortfall_marked=data.marks.any_population(codes) or _capacity_marked(data, codes, level),
    )


def populated(data: ReportData) -> set[str]:
    return {la["code"] for la in data.las if la["under2_population"] is not None}


def need_totals(data: ReportData) -> dict[str, Need | None]:
    """Per need level, the analyses' totals over the LAs with a population (None when none
    has one)."""
    codes = populated(data)
    return {
        level: need_from(data, data.need_totals[level], codes, level)
        if data.need_totals[level]["shortfall"] is not None
        else None
        for level in need_levels()
    }


def need_row(data: ReportData, row: Row) -> Need | None:
    """One LA's need at one level (None without a population)."""
    if row["demand"] is None:
        return None
    return need_from(data, row, {row["area_code"]}, row["level"])


def need_levels() -> list[str]:
    """Targeted and specialist first (families expected to take up help), statutory apart."""
    return [*UPTAKE_LEVELS, STATUTORY]


def specialised_capacity(data: ReportData, level: str) -> tuple[int, int, int]:
    """(active specialised services at ``level`` in scope, those with a capacity recorded,
    their recorded families a year)."""
    found = data.specialised_at[level]
    recorded = [s for s in found if s["capacity_per_year"] is not None]
    return len(found), len(recorded), sum(int(s["capacity_per_year"]) for s in recorded)


# -- the findings --------------------------------------------------------------------------
def findings(data: ReportData) -> list[Finding]:
    """The key messages, those about what families lack first, in the order of how much they
    matter to families: unmet need, missing provision, families sent where help is not, dead
    ends, concentration, cliffs, assessment, workforce, groups left out."""
    found = [
        _need(data),
        _gaps(data),
        _age_bands_finding(data),
        _misdirected(data),
        _dead_ends(data),
        _concentration(data),
        _cliffs(data),
        _assessment(data),
        _workforce(data),
        _groups(data),
    ]
    return [f for f in found if f.concern] + [f for f in found if not f.concern]


def _list_names(items: Sequence[Segment | list[Segment]]) -> list[Segment]:
    """``a``, ``a and b``, ``a, b and c`` from segments (each item one or more segments)."""
    parts: list[Segment] = []
    for index, item in enumerate(items):
        if index:
            parts.append(" and " if index == len(items) - 1 else ", ")
        parts.extend(item if isinstance(item, list) else [item])
    return parts


def families(value: Decimal, key: str, marked: bool, unrecorded_services: int = 0) -> list[Segment]:
    """A shortfall in families a year, "at most" when some capacity is not recorded."""
    figure = Figure(key, one_place(value), marked)
    return ["at most ", figure] if unrecorded_services else [figure]


def capacity_words(need: Need, prefix: str) -> list[Segment]:
    """Recorded capacity (``PREFIX.capacity``), saying for how many services it is not
    recorded (``PREFIX.unrecorded``): never a blank shown as 0."""
    services = need.unrecorded
    missing: list[Segment] = [
        "not recorded for ",
        Figure(f"{prefix}.unrecorded", count(services), need.unrecorded_marked),
        f" {plural(services, 'service', 'services')}",
    ]
    if services and need.capacity == 0:
        return ["capacity ", *missing]
    if need.capacity == 0:
        return ["no specialised service's capacity"]
    shown: list[Segment] = [
        "capacity ",
        Figure(f"{prefix}.capacity", one_place(need.capacity), need.capacity_marked),
    ]
    return shown + ([", ", *missing] if services else [])


def _need(data: ReportData) -> Finding:
    title = "Need against capacity"
    totals = need_totals(data)
    if all(value is None for value in totals.values()):
        return Finding(
            "need",
            title,
            [
                [
                    "No local authority has an ",
                    Term("under-2"),
                    " population recorded, so demand cannot be estimated.",
                ]
            ],
            concern=False,
        )
    sentences: list[list[Segment]] = []
    short = {
        level: t for level in UPTAKE_LEVELS if (t := totals[level]) is not None and t.shortfall > 0
    }
    if short:
        largest = max(short, key=lambda level: (short[level].shortfall, level))
        items: list[Segment | list[Segment]] = [
            [
                *families(t.shortfall, f"need.{level}.shortfall", t.shortfall_marked, t.unrecorded),
                " at ",
                Term(level),
                " level (demand ",
                Figure(f"need.{level}.demand", one_place(t.demand), t.demand_marked),
                ", ",
                *capacity_words(t, f"need.{level}"),
                ")",
            ]
            for level, t in sorted(short.items(), key=lambda item: item[0] != largest)
        ]
        sentences.append(
            [
                "Estimated demand for specialised help exceeds recorded capacity by ",
                *_list_names(items),
                " families a year.",
            ]
        )
    else:
        sentences.append(
            [
                "Recorded specialised capacity meets the estimated demand at targeted and "
                "specialist level in every local authority with a population recorded."
            ]
        )
    statutory = totals[STATUTORY]
    if statutory is not None:
        sentences.append(
            [
                "Apart from these, ",
                Figure(
                    "need.statutory.demand", one_place(statutory.demand), statutory.demand_marked
                ),
                " families a year may need help with a disorganised attachment but are unlikely "
                "to access it: social care holds them through risk support (the statutory "
                "level; ",
                *capacity_words(statutory, "need.statutory"),
                ").",
            ]
        )
    blank = sum(la["under2_population"] is None for la in data.las)
    if blank:
        sentences.append(
            [
                Figure("need.las_without_population", count(blank)),
                f" local {plural(blank, 'authority has', 'authorities have')} no ",
                Term("under-2"),
                " population recorded: no demand is estimated there, and no capacity is shared "
                "with them.",
            ]
        )
    return Finding("need", title, sentences, concern=bool(short))


def _gaps(data: ReportData) -> Finding:
    gaps = sum(row["gap"] for row in data.gaps)
    cells = len(data.gaps)
    title = "Provision gaps"
    if not cells:
        return Finding("coverage", title, [["No local authority is loaded."]], concern=False)
    marked = cells_marked(data, data.gaps)
    sentences: list[list[Segment]] = []
    if gaps == 0:
        sentences.append(
            [
                "Every one of the ",
                Figure("gaps.cells", count(cells)),
                " local authority × level × stage cells has at least one specialised "
                "parent-infant relationship service: there are no provision gaps.",
            ]
        )
    else:
        sentences.append(
            [
                Figure("gaps.gap_cells", count(gaps), marked),
                " of ",
                Figure("gaps.cells", count(cells)),
                " local authority × level × stage cells (",
                Figure("gaps.gap_share", percent(gaps, cells), marked),
                ") have no specialised parent-infant relationship support.",
            ]
        )
        sentences += _gaps_where(data)
    sentences += _thin_cover(data)
    return Finding("coverage", title, sentences, concern=gaps > 0 or len(sentences) > 1)


def _gaps_where(data: ReportData) -> list[list[Segment]]:
    sentences: list[list[Segment]] = []
    by_la = gap_cells_by_la(data)
    la_rows: dict[str, list[Row]] = defaultdict(list)
    for row in data.gaps:
        la_rows[row["area_code"]].append(row)
    las = len(by_la)
    if las > 1:
        worst = sorted(by_la.items(), key=lambda item: (-item[1][0], item[0]))
        shown = worst if len(worst) <= 6 else worst[:5]
        items: list[Segment | list[Segment]] = [
            [
                Name(data.la_names.get(code, code)),
                ": ",
                Figure(f"gaps.la.{code}.gap_cells", count(gap), cells_marked(data, la_rows[code])),
                " of ",
                Figure(f"gaps.la.{code}.cells", count(total)),
            ]
            for code, (gap, total) in shown
        ]
        lead = "By local authority: " if shown is worst else "Most gaps: "
        sentence: list[Segment] = [lead, *_list_names(items), "."]
        full = sum(gap == total for gap, total in by_la.values())
        if len(shown) < len(worst) and full:
            sentence += [
                " ",
                Figure("gaps.las_all_gaps", count(full), cells_marked(data, data.gaps)),
                " of ",
                Figure("gaps.las", count(las)),
                f" local {plural(las, 'authority has', 'authorities have')} no specialised "
                "support in any cell.",
            ]
        sentences.append(sentence)
    common = gap_cells_by_level_stage(data)
    most = max(common.values())
    widest = sorted((cell for cell, n in common.items() if n == most), key=_cell_order)
    named: list[Segment | list[Segment]] = [Term(f"{level} {stage}") for level, stage in widest]
    if las == 1:
        sentences.append(["No specialised service for ", *_list_names(named), " work."])
    else:
        sentences.append(
            [
                "No specialised service for ",
                *_list_names(named),
                " work in ",
                Figure("gaps.widest", count(most), cells_marked(data, data.gaps)),
                " of ",
                Figure("gaps.las", count(las)),
                " local authorities (the most widespread gap).",
            ]
        )
    return sentences


def _thin_cover(data: ReportData) -> list[list[Segment]]:
    """Sufficiency next to coverage: a cell with specialised services is "covered", but their
    recorded capacity may be far below the need at that level."""
    totals = need_totals(data)
    sentences: list[list[Segment]] = []
    for level in UPTAKE_LEVELS:
        need = totals.get(level)
        covered = [r for r in data.gaps if r["level"] == level and not r["gap"]]
        if need is None or not covered or need.shortfall <= 0:
            continue
        las = len({r["area_code"] for r in covered})
        where: list[Segment] = [
            "Where specialised ",
            Term(level),
            " services exist (",
            Figure(f"gaps.covered.{level}.las", count(las), cells_marked(data, covered)),
            f" local {plural(las, 'authority', 'authorities')}), ",
        ]
        demand: list[Segment] = [
            Figure(f"need.{level}.demand", one_place(need.demand), need.demand_marked),
            " families a year",
        ]
        unrecorded_services: list[Segment] = [
            Figure(f"need.{level}.unrecorded", count(need.unrecorded), need.unrecorded_marked),
            f" {plural(need.unrecorded, 'service', 'services')}",
        ]
        if need.capacity == 0 and need.unrecorded:
            # Nothing recorded: the data cannot say whether they are enough, only that a
            # covered cell is not the same as enough help.
            sentences.append(
                [*where, "their capacity is not recorded (", *unrecorded_services, "), so the "
                 "data cannot say whether they meet the need of ", *demand, ": a covered cell "
                 "is not sufficiency."]
            )  # fmt: skip
        else:
            capacity = Figure(
                f"need.{level}.capacity", one_place(need.capacity), need.capacity_marked
            )
            sentences.append(
                [*where, "their recorded capacity, ", capacity, " families a year",
                 *([" (not recorded for ", *unrecorded_services, ")"] if need.unrecorded else []),
                 ", falls short of the need of ", *demand, "."]
            )  # fmt: skip
    return sentences


def _cell_order(cell: tuple[str, str]) -> int:
    return LEVELS.index(cell[0]) * len(STAGES) + STAGES.index(cell[1])


def _age_bands_finding(data: ReportData) -> Finding:
    rows = data.age_bands or []
    gaps = sum(row["gap"] for row in rows)
    title = "Gaps by the child's age"
    if not rows:
        return Finding("age-bands", title, [["No local authority is loaded."]], concern=False)
    marked = cells_marked(data, rows)
    if gaps == 0:
        return Finding(
            "age-bands",
            title,
            [
                [
                    "Specialised postnatal help reaches every age band to the second birthday at "
                    "every level in every local authority (",
                    Figure("age_bands.cells", count(len(rows))),
                    " cells).",
                ]
            ],
            concern=False,
        )
    by_band = Counter(row["band"] for row in rows if row["gap"])
    per_band = Counter(row["band"] for row in rows)
    band = max(by_band, key=lambda b: (Fraction(by_band[b], per_band[b]), b))
    band_rows = [row for row in rows if row["band"] == band]
    return Finding(
        "age-bands",
        title,
        [
            [
                Figure("age_bands.gap_cells", count(gaps), marked),
                " of ",
                Figure("age_bands.cells", count(len(rows))),
                " local authority × level × age band cells have no specialised postnatal "
                "service for that age.",
            ],
            [
                "The age band with most gaps is ",
                Term(f"{band} months"),
                ": ",
                Figure(
                    f"age_bands.band.{band}.gap_cells",
                    count(by_band[band]),
                    cells_marked(data, band_rows),
                ),
                " of ",
                Figure(f"age_bands.band.{band}.cells", count(per_band[band])),
                " cells.",
            ],
        ],
    )


def _misdirected(data: ReportData) -> Finding:
    title = "Misdirected referrals"
    sentences: list[list[Segment]] = []
    concern = False
    for basis in bases(data):
        total = relationship_total(data, basis)
        rows = misdirected_relationship(data, basis)
        volume = sum(row["count"] or 0 for row in rows)
        key = f"misdirected.{basis}"
        if total == 0:
            continue
        total_figure = Figure(
            f"{key}.relationship_total",
            count(total),
            marked_counts(data, recorded_links(data, basis)),
        )
        if volume == 0:
            sentences.append(
                [
                    "None of the ",
                    total_figure,
                    f" parent-infant relationship {unit(basis, total)} recorded names a service "
                    "that does no parent-infant relationship work, or one out of the family's "
                    "area, stage or service.",
                ]
            )
            continue
        concern = True
        marked = marked_counts(data, rows)
        sentences.append(
            [
                Figure(f"{key}.relationship_volume", count(volume), marked),
                " of the ",
                total_figure,
                f" parent-infant relationship {unit(basis, total)} recorded (",
                Figure(
                    f"{key}.relationship_share",
                    percent(volume, total),
                    marked or total_figure.marked,
                ),
                ") "
                + (
                    "name a destination where that support is not (problems below)."
                    if basis == SURVEY
                    else "go where that support is not (problems below)."
                ),
            ]
        )
        onward_rows = [row for row in rows if row["onward"]]
        onward = sum(row["count"] or 0 for row in onward_rows)
        dead_rows = [row for row in rows if not row["onward"]]
        dead = Figure(
            f"{key}.dead_end_volume", count(volume - onward), marked_counts(data, dead_rows)
        )
        if onward == 0:
            sentences.append(
                ["None of them reach a service that can pass the family on to specialised "
                 "help: all ", dead, " reach a dead end."]
            )  # fmt: skip
        else:
            sentences.append(
                [
                    "Of these, ",
                    Figure(f"{key}.onward_volume", count(onward), marked_counts(data, onward_rows)),
                    " reach a service that can pass the family on to specialised help (an "
                    "onward route); ",
                    dead,
                    " reach a dead end.",
                ]
            )
    links = len(data.misdirected)
    if not sentences and not data.concentration:
        sentences.append(
            ["No parent-infant relationship referrals are recorded, so no share of them is given."]
        )
    if links:
        concern = True
        blank = sum(row["count"] is None for row in data.misdirected)
        sentences.append(
            [
                Figure("misdirected.links", count(links), data.marks.any_link(data.misdirected)),
                f" referral {plural(links, 'link has', 'links have')} at least one problem "
                "(support not offered, out of area, wrong stage or an inactive service)",
                *(
                    [
                        "; for ",
                        Figure(
                            "misdirected.links_not_recorded",
                            count(blank),
                            data.marks.any_link(r for r in data.misdirected if r["count"] is None),
                        ),
                        " of them how many families is not recorded.",
                    ]
                    if blank
                    else ["."]
                ),
            ]
        )
    else:
        sentences.append(
            [
                "No referral link has a problem: every link goes to an active service in the "
                "family's area and stage that offers what is asked."
            ]
        )
    return Finding("referrals", title, sentences, concern=concern)


def _concentration(data: ReportData) -> Finding:
    title = "Concentration"
    names = data.names
    sentences: list[list[Segment]] = []
    concern = False
    for basis in bases(data):
        total = relationship_total(data, basis)
        if total == 0:
            continue
        rows = [r for r in data.concentration if basis_of(r) == basis]
        every = recorded_links(data, basis)
        marked = marked_counts(data, every)
        top = rows[:TOP_DESTINATIONS]
        first = top[0]
        sentence: list[Segment] = [
            "The most common destination of parent-infant relationship referrals",
            f" ({unit(basis)}), " if len(bases(data)) > 1 or basis == SURVEY else ", ",
            Name(names.get(first["to_service"]) or first["to_service"]),
            ", receives ",
            Figure(f"concentration.{basis}.top.1.share", percent(first["count"], total), marked),
            " of them",
            "." if first["specialised"] else " and offers no specialised support.",
        ]
        if len(top) > 1:
            sentence += [
                " The top ",
                Figure(f"concentration.{basis}.top_n", count(len(top))),
                " destinations take ",
                Figure(
                    f"concentration.{basis}.top_share",
                    percent(sum(row["count"] for row in top), total),
                    marked,
                ),
                ".",
            ]
        sentences.append(sentence)
        points = single_points(data, basis)
        if points:
            concern = True
            items: list[Segment | list[Segment]] = [
                Name(names.get(r["to_service"]) or r["to_service"]) for r in points
            ]
            unspecialised = sum(not r["specialised"] for r in points)
            sentences.append(
                [
                    Figure(f"concentration.{basis}.single_points", count(len(points)), marked),
                    f" single {plural(len(points), 'point', 'points')} of failure (at least a "
                    "third of these each): ",
                    *_list_names(items),
                    "; ",
                    Figure(
                        f"concentration.{basis}.single_points_unspecialised",
                        count(unspecialised),
                        marked,
                    ),
                    " of them "
                    + plural(len(points), "offers", "offer")
                    + " no specialised support.",
                ]
            )
    if not sentences:
        sentences.append(
            [
                "No parent-infant relationship referral counts are recorded, so where they "
                "concentrate cannot be said."
            ]
        )
    return Finding("referrals", title, sentences, concern=concern)


def _cliffs(data: ReportData) -> Finding:
    title = "Threshold cliffs"
    cells = len(data.cliffs)
    cliff = sum(row["status"] == "cliff" for row in data.cliffs)
    none = sum(row["status"] == "none" for row in data.cliffs)
    marked = any(data.marks.any_service([*r["below"], *r["above"]]) for r in data.cliffs)
    if cells and cliff == 0 and none == 0:
        return Finding(
            "boundaries",
            title,
            [
                [
                    "Specialised help exists on both sides of the child-protection threshold in "
                    "every one of the ",
                    Figure("cliffs.cells", count(cells)),
                    " local authority × stage combinations.",
                ]
            ],
            concern=False,
        )
    return Finding(
        "boundaries",
        title,
        [
            [
                Figure("cliffs.cliff", count(cliff), marked),
                " of ",
                Figure("cliffs.cells", count(cells)),
                " local authority × stage combinations "
                + plural(cliff, "has", "have")
                + " specialised help on one side of the child-protection threshold only (a "
                "cliff: families stepping up or down lose it), and ",
                Figure("cliffs.none", count(none), marked),
                " " + plural(none, "has", "have") + " none on either side.",
            ]
        ],
    )


def _dead_ends(data: ReportData) -> Finding:
    title = "Dead-end entry points"
    entries = len(data.pathways)
    dead = sum(row["destination"] is None for row in data.pathways)
    entries_marked = data.marks.any_service(row["entry_service"] for row in data.pathways)
    dead_marked = entries_marked or any(chain_marked(data, row) for row in data.pathways)
    if entries == 0:
        return Finding(
            "pathways", title, [["No service with a universal offer is mapped."]], concern=False
        )
    if dead == 0:
        return Finding(
            "pathways",
            title,
            [
                [
                    "From every one of the ",
                    Figure("pathways.entries", count(entries), entries_marked),
                    " universal entry points (per local authority) a referral chain of at most ",
                    Term(f"{MAX_HOPS} links"),
                    " reaches specialised targeted or specialist help.",
                ]
            ],
            concern=False,
        )
    return Finding(
        "pathways",
        title,
        [
            [
                Figure("pathways.dead_ends", count(dead), dead_marked),
                " of ",
                Figure("pathways.entries", count(entries), entries_marked),
                " universal entry points (per local authority) have no referral chain of at most ",
                Term(f"{MAX_HOPS} links"),
                " to specialised targeted or specialist help.",
            ]
        ],
    )


def _assessment(data: ReportData) -> Finding:
    title = "The assessment gap"
    entry_points = data.assessment["entry_points"]
    assessing = sum(row["assesses_relationship"] for row in entry_points)
    coverage = data.assessment["coverage"]
    uncovered = sum(row["gap"] for row in coverage)
    marked = data.marks.any_service(row["service_id"] for row in entry_points)
    if not entry_points:
        first: list[Segment] = [
            "No entry point (a service with a universal or statutory offer) is mapped."
        ]
    elif assessing == 0:
        first = [
            "None of the ",
            Figure("assessment.entry_points", count(len(entry_points)), marked),
            " entry points (services with a universal or statutory offer) directly asks about "
            "or assesses the parent-infant relationship.",
        ]
    else:
        first = [
            Figure("assessment.assessing", count(assessing), marked),
            " of ",
            Figure("assessment.entry_points", count(len(entry_points)), marked),
            " entry points (services with a universal or statutory offer) directly ask about or "
            "assess the parent-infant relationship.",
        ]
    coverage_marked = data.marks.any_service(
        s for row in coverage for s in row["assessing_services"]
    )
    second: list[Segment] = (
        [
            Figure("assessment.gap_cells", count(uncovered), coverage_marked),
            " of ",
            Figure("assessment.cells", count(len(coverage))),
            " local authority × stage combinations "
            + plural(uncovered, "has", "have")
            + " no service that assesses it.",
        ]
        if uncovered
        else [
            "In every one of the ",
            Figure("assessment.cells", count(len(coverage))),
            " local authority × stage combinations some service assesses it.",
        ]
    )
    return Finding("assessment", title, [first, second], concern=bool(uncovered))


def _workforce(data: ReportData) -> Finding:
    title = "Workforce competency"
    every = staff(data, (0, 1, 2, 3))
    if every.fte == 0:
        return Finding("workforce", title, [["No workforce is recorded."]], concern=False)
    high = staff(data, (2, 3))
    return Finding(
        "workforce",
        title,
        [
            [
                Figure("workforce.fte_2_3", one_place(high.fte), high.marked),
                " FTE in ",
                Figure("workforce.services_2_3", count(high.services), high.marked),
                f" {plural(high.services, 'service', 'services')} work at ",
                Term("AiMH UK levels 2–3"),
                " of infant mental health competency, of ",
                Figure("workforce.fte", one_place(every.fte), every.marked),
                " FTE recorded; a post in a service covering several local authorities is "
                "counted once.",
            ]
        ],
    )


def _groups(data: ReportData) -> Finding:
    title = "Groups left out: fathers and partners"
    las = len(data.groups)
    without = sum(not row["supporting_fathers"] for row in data.groups)
    supporting = {s for row in data.groups for s in row["supporting_fathers"]}
    unknown = {s for row in data.groups for s in row["not_recorded"]}
    if las == 0:
        return Finding("groups", title, [["No local authority is loaded."]], concern=False)
    sentences: list[list[Segment]] = [
        [
            Figure("groups.las_without", count(without), data.marks.any_service(supporting)),
            " of ",
            Figure("groups.las", count(las)),
            f" local {plural(las, 'authority', 'authorities')} "
            + plural(without, "has", "have")
            + " no active service recorded as supporting fathers and partners"
            + (";" if supporting else "."),
        ]
    ]
    if supporting:
        sentences[0] += [
            " ",
            Figure(
                "groups.services_supporting",
                count(len(supporting)),
                data.marks.any_service(supporting),
            ),
            f" {plural(len(supporting), 'service', 'services')} in all "
            + plural(len(supporting), "is", "are")
            + " recorded as doing so.",
        ]
    if unknown:
        sentences.append(
            [
                "For ",
                Figure(
                    "groups.services_not_recorded",
                    count(len(unknown)),
                    data.marks.any_service(unknown),
                ),
                f" active {plural(len(unknown), 'service', 'services')} it is not recorded "
                "either way.",
            ]
        )
    return Finding("groups", title, sentences, concern=without > 0)
