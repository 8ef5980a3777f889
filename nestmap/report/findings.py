"""What the report states: the analyses' rows for the report's scope (the loaded region, or one
local authority), and the findings as sentences built from their numbers.

Nothing here knows the seed region: every sentence has a form for "none" as well as for
"some", and every name comes from the dataset. Figures are carried as ``Figure`` segments with
a key, so the HTML can mark them and a test can check each against the analyses.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from nestmap import analysis
from nestmap.analysis._shape import area_param, round_half_away
from nestmap.graph import GraphStore
from nestmap.vocabulary import LEVELS, NEED_LEVELS, STAGES

Row = dict[str, Any]

# A destination taking at least this share of parent-infant relationship referrals is called a
# single point of failure: if it is full, absent or not the right help, a third of families
# are stuck (the report's health-visiting finding, in a form any region can be measured by).
SINGLE_POINT_SHARE = Fraction(1, 3)
TOP_DESTINATIONS = 3
FLOW_LINKS = 20
MAX_HOPS = 6


# -- the pieces a sentence is made of ------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """A number the report states: ``key`` names what it is, ``text`` is how it is shown."""

    key: str
    text: str


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


# -- the data ------------------------------------------------------------------------------
@dataclass
class Option:
    """One scenario's effect on the report's scope."""

    summary: Row
    gaps_closed: int
    gaps_opened: int
    shortfall: dict[str, tuple[Decimal, Decimal]]  # level -> (before, after), summed over LAs
    closed_cells: list[tuple[str, str, str]]
    services_cost: Decimal  # the added services' annual cost (the other cost items aside)


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
    flows: list[Row]
    need: list[Row]
    shares: dict[str, Decimal]
    assessment: dict[str, list[Row]]
    workforce: dict[str, Any]
    groups: list[Row]
    age_bands: list[Row] | None
    quality: Row  # referral links: how many, blank counts, illustrative sources
    options: list[Option] = field(default_factory=list)

    @property
    def names(self) -> dict[str, str]:
        return {row["id"]: row["name"] for row in self.services}

    @property
    def la_names(self) -> dict[str, str]:
        return {row["code"]: row["name"] for row in self.las}

    @property
    def scope_name(self) -> str:
        """What the report is about, in the dataset's own names."""
        if self.area is not None:
            la = self.las[0] if self.las else {"name": self.area, "code": self.area}
            return f"{la['name']} ({la['code']})"
        if len(self.regions) == 1:
            return str(self.regions[0]["name"])
        name = str(self.dataset.get("dataset") or "the loaded dataset")
        return f"{name}: {len(self.las):,} local authorities in {len(self.regions):,} regions"


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
    data = ReportData(
        dataset=analysis.info(store),
        area=area,
        areas=areas,
        las=las,
        regions=regions,
        services=analysis.services(store, area),
        gaps=analysis.gaps(store, area),
        misdirected=analysis.misdirected(store, area),
        links=bounds["links"],
        cliffs=bounds["threshold_cliffs"],
        pathways=analysis.pathways(store, area),
        concentration=analysis.concentration(store, area),
        flows=store.run("referral_flows", {"area": code, "limit": FLOW_LINKS}),
        need=analysis.need(store, area, shares),
        shares=shares,
        assessment=analysis.assessment(store, area),
        workforce=analysis.workforce(store, area),
        groups=analysis.groups_left_out(store, area),
        age_bands=_age_bands(store, area),
        quality={
            key: int(value or 0)
            for key, value in store.run("referral_provenance", {"area": code})[0].items()
        },
    )
    data.options = [option(store, document, area, shares) for document in scenarios]
    return data


def _age_bands(store: GraphStore, area: str | None) -> list[Row] | None:
    compute = getattr(analysis, "age_bands", None)
    return None if compute is None else compute(store, area)


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
    shortfall = {
        level: (
            total_one_place(
                r["shortfall"] for r in result["need_before"] if keep(r) and r["level"] == level
            ),
            total_one_place(
                r["shortfall"] for r in result["need_after"] if keep(r) and r["level"] == level
            ),
        )
        for level in _need_levels()
    }
    services_cost = sum(
        (Decimal(str(s.get("annual_cost") or 0)) for s in document.get("add_services") or []),
        Decimal(0),
    )
    return Option(result["summary"], len(closed), len(opened), shortfall, closed, services_cost)


def _need_levels() -> list[str]:
    return [level for level in LEVELS if level in NEED_LEVELS]


# -- derived figures -----------------------------------------------------------------------
def relationship_total(data: ReportData) -> int:
    return sum(row["count"] for row in data.concentration)


def misdirected_relationship(data: ReportData) -> list[Row]:
    return [row for row in data.misdirected if row["reason"] == "parent_infant_relationship"]


def single_points(data: ReportData) -> list[Row]:
    total = relationship_total(data)
    if not total:
        return []
    return [r for r in data.concentration if Fraction(r["count"], total) >= SINGLE_POINT_SHARE]


def gap_cells_by_la(data: ReportData) -> dict[str, tuple[int, int]]:
    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in data.gaps:
        cells[row["area_code"]][0] += row["gap"]
        cells[row["area_code"]][1] += 1
    return {code: (gap, total) for code, (gap, total) in cells.items()}


def gap_cells_by_level_stage(data: ReportData) -> Counter:
    return Counter((row["level"], row["stage"]) for row in data.gaps if row["gap"])


def workforce_posts(data: ReportData) -> tuple[int, int, Decimal]:
    """(posts at AiMH levels 2-3, all posts, FTE at levels 2-3): each post once, whichever LAs
    its service covers."""
    services = data.workforce["services"]
    high = sum(row["practitioners_level_2_3"] for row in services)
    every = sum(row["practitioners"] for row in services)
    fte = sum(
        (Decimal(str(row["fte_level_2"])) + Decimal(str(row["fte_level_3"])) for row in services),
        Decimal(0),
    )
    return high, every, fte


def need_totals(data: ReportData) -> dict[str, dict[str, Decimal] | None]:
    """Demand, capacity and shortfall per need level, summed over the LAs with a population."""
    totals: dict[str, dict[str, Decimal] | None] = {}
    for level in _need_levels():
        rows = [r for r in data.need if r["level"] == level and r["demand"] is not None]
        totals[level] = (
            {
                key: total_one_place(r[key] for r in rows)
                for key in ("demand", "capacity", "shortfall")
            }
            if rows
            else None
        )
    return totals


# -- the findings --------------------------------------------------------------------------
def findings(data: ReportData) -> list[Finding]:
    """The summary of findings, in the report's order; each links to its section."""
    found = [
        _gaps(data),
        _misdirected(data),
        _concentration(data),
        _cliffs(data),
        _dead_ends(data),
        _assessment(data),
        _workforce(data),
        _groups(data),
        _need(data),
    ]
    if data.age_bands is not None:
        found.insert(1, _age_bands_finding(data))
    return found


def _list_names(items: list[Segment | list[Segment]]) -> list[Segment]:
    """``a``, ``a and b``, ``a, b and c`` from segments (each item one or more segments)."""
    parts: list[Segment] = []
    for index, item in enumerate(items):
        if index:
            parts.append(" and " if index == len(items) - 1 else ", ")
        parts.extend(item if isinstance(item, list) else [item])
    return parts


def _gaps(data: ReportData) -> Finding:
    gaps = sum(row["gap"] for row in data.gaps)
    cells = len(data.gaps)
    title = "Provision gaps"
    if not cells:
        return Finding("coverage", title, [["No local authority is loaded."]])
    if gaps == 0:
        return Finding(
            "coverage",
            title,
            [
                [
                    "Every one of the ",
                    Figure("gaps.cells", count(cells)),
                    " local authority × level × stage cells has at least one specialised "
                    "parent-infant relationship service: there are no provision gaps.",
                ]
            ],
        )
    sentences: list[list[Segment]] = [
        [
            Figure("gaps.gap_cells", count(gaps)),
            " of ",
            Figure("gaps.cells", count(cells)),
            " local authority × level × stage cells (",
            Figure("gaps.gap_share", percent(gaps, cells)),
            ") have no specialised parent-infant relationship support.",
        ]
    ]
    by_la = gap_cells_by_la(data)
    if len(by_la) > 1:
        worst = sorted(by_la.items(), key=lambda item: (-item[1][0], item[0]))
        shown = worst if len(worst) <= 6 else worst[:5]
        items: list[Segment | list[Segment]] = [
            [
                Name(data.la_names.get(code, code)),
                " ",
                Figure(f"gaps.la.{code}.gap_cells", count(gap)),
                " of ",
                Figure(f"gaps.la.{code}.cells", count(total)),
            ]
            for code, (gap, total) in shown
        ]
        lead = "By local authority: " if shown is worst else "Most gaps: "
        sentence: list[Segment] = [lead, *_list_names(items), "."]
        full = sum(gap == total for gap, total in by_la.values())
        if len(shown) < len(worst):
            sentence += [
                " ",
                Figure("gaps.las_all_gaps", count(full)),
                " of ",
                Figure("gaps.las", count(len(by_la))),
                " local authorities have no specialised support in any cell.",
            ]
        sentences.append(sentence)
    common = gap_cells_by_level_stage(data)
    most = max(common.values())
    widest = sorted((cell for cell, n in common.items() if n == most), key=_cell_order)
    cells_named: list[Segment | list[Segment]] = [
        Term(f"{level} {stage}") for level, stage in widest
    ]
    if len(by_la) == 1:
        sentences.append(["No specialised service for ", *_list_names(cells_named), " work."])
    else:
        sentences.append(
            [
                "No specialised service for ",
                *_list_names(cells_named),
                " work in ",
                Figure("gaps.widest", count(most)),
                " of ",
                Figure("gaps.las", count(len(by_la))),
                " local authorities (the most widespread gap).",
            ]
        )
    return Finding("coverage", title, sentences)


def _cell_order(cell: tuple[str, str]) -> int:
    return LEVELS.index(cell[0]) * len(STAGES) + STAGES.index(cell[1])


def _age_bands_finding(data: ReportData) -> Finding:
    rows = data.age_bands or []
    gaps = sum(row["gap"] for row in rows)
    title = "Gaps by the child's age"
    if not rows:
        return Finding("age-bands", title, [["No local authority is loaded."]])
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
        )
    by_band = Counter(row["band"] for row in rows if row["gap"])
    per_band = Counter(row["band"] for row in rows)
    band = max(by_band, key=lambda b: (Fraction(by_band[b], per_band[b]), b))
    return Finding(
        "age-bands",
        title,
        [
            [
                Figure("age_bands.gap_cells", count(gaps)),
                " of ",
                Figure("age_bands.cells", count(len(rows))),
                " local authority × level × age band cells have no specialised postnatal "
                "service for that age.",
            ],
            [
                "The age band with most gaps is ",
                Term(f"{band} months"),
                ": ",
                Figure(f"age_bands.band.{band}.gap_cells", count(by_band[band])),
                " of ",
                Figure(f"age_bands.band.{band}.cells", count(per_band[band])),
                " cells.",
            ],
        ],
    )


def _misdirected(data: ReportData) -> Finding:
    title = "Misdirected referrals"
    total = relationship_total(data)
    rows = misdirected_relationship(data)
    volume = sum(row["count"] or 0 for row in rows)
    links = len(data.misdirected)
    sentences: list[list[Segment]] = []
    if total == 0:
        sentences.append(
            [
                "No parent-infant relationship referral volumes are recorded, so no share of them "
                "can be given."
            ]
        )
    elif volume == 0:
        sentences.append(
            [
                "None of the ",
                Figure("misdirected.relationship_total", count(total)),
                " parent-infant relationship referrals a year recorded go to a service without "
                "specialised support.",
            ]
        )
    else:
        sentences.append(
            [
                Figure("misdirected.relationship_volume", count(volume)),
                " of the ",
                Figure("misdirected.relationship_total", count(total)),
                " parent-infant relationship referrals a year recorded (",
                Figure("misdirected.relationship_share", percent(volume, total)),
                ") go where that support is not.",
            ]
        )
        if all("onward" in row for row in rows):
            onward = sum(row["count"] or 0 for row in rows if row["onward"])
            sentences.append(
                [
                    Figure("misdirected.onward_volume", count(onward)),
                    " of them reach a service that can pass the family on to specialised help "
                    "(an onward route); ",
                    Figure("misdirected.dead_end_volume", count(volume - onward)),
                    " reach a dead end.",
                ]
            )
    sentences.append(
        [
            Figure("misdirected.links", count(links)),
            " referral links in all have at least one problem (support not offered, out of "
            "area, wrong stage or an inactive service)."
            if links
            else " referral links have a problem: every link goes to an active service in the "
            "family's area and stage that offers what is asked.",
        ]
    )
    return Finding("referrals", title, sentences)


def _concentration(data: ReportData) -> Finding:
    title = "Concentration"
    total = relationship_total(data)
    if total == 0:
        return Finding(
            "referrals",
            title,
            [
                [
                    "No parent-infant relationship referral volumes are recorded, so where they "
                    "concentrate cannot be said."
                ]
            ],
        )
    names = data.names
    top = data.concentration[:TOP_DESTINATIONS]
    first = top[0]
    sentences: list[list[Segment]] = [
        [
            "The most common destination of parent-infant relationship referrals, ",
            Name(names.get(first["to_service"]) or first["to_service"]),
            ", receives ",
            Figure("concentration.top.1.share", percent(first["count"], total)),
            " of them",
            "." if first["specialised"] else " and offers no specialised support.",
        ]
    ]
    if len(top) > 1:
        top_count = sum(row["count"] for row in top)
        sentences.append(
            [
                "The top ",
                Figure("concentration.top_n", count(len(top))),
                " destinations take ",
                Figure("concentration.top_share", percent(top_count, total)),
                ".",
            ]
        )
    points = single_points(data)
    if points:
        items: list[Segment | list[Segment]] = [
            Name(names.get(r["to_service"]) or r["to_service"]) for r in points
        ]
        unspecialised = sum(not r["specialised"] for r in points)
        sentences.append(
            [
                Figure("concentration.single_points", count(len(points))),
                " single point" + (" " if len(points) == 1 else "s ") + "of failure (at least a "
                "third of all such referrals each): ",
                *_list_names(items),
                "; ",
                Figure("concentration.single_points_unspecialised", count(unspecialised)),
                " of them offer" + ("s" if len(points) == 1 else "") + " no specialised support.",
            ]
        )
    else:
        sentences.append(["No destination takes a third of these referrals or more."])
    return Finding("referrals", title, sentences)


def _cliffs(data: ReportData) -> Finding:
    title = "Threshold cliffs"
    cells = len(data.cliffs)
    cliff = sum(row["status"] == "cliff" for row in data.cliffs)
    none = sum(row["status"] == "none" for row in data.cliffs)
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
        )
    return Finding(
        "boundaries",
        title,
        [
            [
                Figure("cliffs.cliff", count(cliff)),
                " of ",
                Figure("cliffs.cells", count(cells)),
                " local authority × stage combinations have specialised help on one side of the "
                "child-protection threshold only (a cliff: families stepping up or down lose it), "
                "and ",
                Figure("cliffs.none", count(none)),
                " have none on either side.",
            ]
        ],
    )


def _dead_ends(data: ReportData) -> Finding:
    title = "Dead-end entry points"
    entries = len(data.pathways)
    dead = sum(row["destination"] is None for row in data.pathways)
    if entries == 0:
        return Finding("pathways", title, [["No service with a universal offer is mapped."]])
    if dead == 0:
        return Finding(
            "pathways",
            title,
            [
                [
                    "From every one of the ",
                    Figure("pathways.entries", count(entries)),
                    " universal entry points (per local authority) a referral chain of at most ",
                    Term(f"{MAX_HOPS} links"),
                    " reaches specialised targeted or specialist help.",
                ]
            ],
        )
    return Finding(
        "pathways",
        title,
        [
            [
                Figure("pathways.dead_ends", count(dead)),
                " of ",
                Figure("pathways.entries", count(entries)),
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
    if not entry_points:
        first: list[Segment] = [
            "No entry point (a service with a universal or statutory offer) is mapped."
        ]
    elif assessing == 0:
        first = [
            "None of the ",
            Figure("assessment.entry_points", count(len(entry_points))),
            " entry points (services with a universal or statutory offer) directly asks about "
            "or assesses the parent-infant relationship.",
        ]
    else:
        first = [
            Figure("assessment.assessing", count(assessing)),
            " of ",
            Figure("assessment.entry_points", count(len(entry_points))),
            " entry points (services with a universal or statutory offer) directly ask about or "
            "assess the parent-infant relationship.",
        ]
    second: list[Segment] = (
        [
            Figure("assessment.gap_cells", count(uncovered)),
            " of ",
            Figure("assessment.cells", count(len(coverage))),
            " local authority × stage combinations have no service that assesses it.",
        ]
        if uncovered
        else [
            "In every one of the ",
            Figure("assessment.cells", count(len(coverage))),
            " local authority × stage combinations some service assesses it.",
        ]
    )
    return Finding("assessment", title, [first, second])


def _workforce(data: ReportData) -> Finding:
    title = "Workforce competency"
    high, every, fte = workforce_posts(data)
    if every == 0:
        return Finding("workforce", title, [["No workforce is recorded."]])
    return Finding(
        "workforce",
        title,
        [
            [
                Figure("workforce.posts_2_3", count(high)),
                " of the ",
                Figure("workforce.posts", count(every)),
                " posts recorded (",
                Figure("workforce.fte_2_3", one_place(fte)),
                " FTE) are at ",
                Term("AiMH UK levels 2–3"),
                " of infant mental health competency; a post in a service covering several local "
                "authorities is counted once.",
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
        return Finding("groups", title, [["No local authority is loaded."]])
    sentences: list[list[Segment]] = [
        [
            Figure("groups.las_without", count(without)),
            " of ",
            Figure("groups.las", count(las)),
            " local authorities have no active service recorded as supporting fathers and "
            "partners" + (";" if supporting else "."),
        ]
    ]
    if supporting:
        sentences[0] += [
            " ",
            Figure("groups.services_supporting", count(len(supporting))),
            " services in all are recorded as doing so.",
        ]
    if unknown:
        sentences.append(
            [
                "For ",
                Figure("groups.services_not_recorded", count(len(unknown))),
                " active services it is not recorded either way.",
            ]
        )
    return Finding("groups", title, sentences)


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
        )
    short = {level: t for level, t in totals.items() if t is not None and t["shortfall"] > 0}
    if not short:
        return Finding(
            "need",
            title,
            [
                [
                    "Recorded specialised capacity meets the estimated demand at every level of "
                    "need in every local authority."
                ]
            ],
        )
    items: list[Segment | list[Segment]] = [
        [
            Figure(f"need.{level}.shortfall", one_place(t["shortfall"])),
            " at ",
            Term(level),
            " level (demand ",
            Figure(f"need.{level}.demand", one_place(t["demand"])),
            ", capacity ",
            Figure(f"need.{level}.capacity", one_place(t["capacity"])),
            ")",
        ]
        for level, t in short.items()
    ]
    sentences: list[list[Segment]] = [
        [
            "Estimated demand for specialised help exceeds recorded capacity by ",
            *_list_names(items),
            " families a year.",
        ]
    ]
    blank = sum(la["under2_population"] is None for la in data.las)
    if blank:
        sentences.append(
            [
                Figure("need.las_without_population", count(blank)),
                " local authorities have no ",
                Term("under-2"),
                " population recorded: they have no demand and take no share of capacity.",
            ]
        )
    return Finding("need", title, sentences)
