"""A deterministic generator of valid synthetic mapping datasets (docs/data-format.md), at any size.

The structure mirrors the seed region: regions of 3-12 local authorities; region-wide and local
services in every sector, drawn from archetypes (midwifery, health visiting, social care, family
support, parent-infant teams, ...) whose levels, focus, threshold and stages follow the seed's
mix (most offers non-specialised, a few specialised, some statutory-threshold services, some
services offering two levels with a different focus); a few inactive or defunct services;
blank counts and populations; and referral links whose targets are heavy-tailed (a Zipf-like
choice within the source's region, so a few hubs take most links) with some cross-region links.

It streams: every row is written as it is generated. Only per-service facts needed to draw
links (a region index and a hub ranking per region) are kept, never the links themselves:
uniqueness of (from, to, reason) is checked per source service, whose links are drawn together.
The same arguments give byte-identical files (Python's ``random.Random``, seeded).
"""

from __future__ import annotations

import bisect
import csv
import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path

from nestmap.loaders.validate import SCHEMAS
from nestmap.vocabulary import MAX_AGE_MONTHS, REASONS

# Referral reasons in the seed region's proportions (35 / 17 / 11 / 9 / 6 of 78).
_REASON_WEIGHTS = {
    "parent_infant_relationship": 35,
    "other": 17,
    "safeguarding": 11,
    "parenting": 9,
    "perinatal_mental_health": 6,
}
_ZIPF_EXPONENT = 1.1  # target rank r is chosen with weight 1 / r**1.1 within a region
# Where a link's target is drawn from: another region (5%), the source's region (35%), else
# the services covering one of the source's own LAs (most referrals stay local).
_CROSS_REGION = 0.05
_REGION_WIDE_CHOICE = 0.40
_BLANK_COUNT = 0.5  # the seed region leaves most counts blank
_BLANK_POPULATION = 0.03
_STATUS = (("active", 0.84), ("", 0.08), ("inactive", 0.04), ("defunct", 0.02))
_STATUS_REST = "temporarily_closed"
_LINK_SOURCE = "illustrative: synthetic referral link"
_AREA_SOURCE = "illustrative: synthetic under-2 population and births"
# The unit of a link's count (docs/data-format.md): like the seed region, a share of the
# parent-infant relationship links count staff-survey mentions; the rest are referrals a year,
# written as "per_year" or left blank (which means the same). Drawn from a generator of their
# own, so the links themselves are the same as without them.
_SURVEY_SHARE = 0.3  # of parent_infant_relationship links
_BLANK_BASIS = 0.5  # of the links counted per year
_SOURCE = "illustrative: synthetic dataset (nestmap synth, seed {seed})"
_ROLES = (
    "Health visitor",
    "Midwife",
    "Family support worker",
    "Clinical psychologist",
    "Parent-infant therapist",
    "Social worker",
    "Nursery nurse",
)
_INTERVENTIONS = (
    "Video Interaction Guidance",
    "Watch Wait Wonder",
    "Solihull Approach",
    "Five to Thrive",
    "Baby massage",
    "Listening visits",
    "Incredible Years",
    "Mellow Babies",
    "Circle of Security",
    "Neonatal Behavioural Observation (NBO)",
)

HEADERS = {table: tuple(schema) for table, schema in SCHEMAS.items()}

S, N = "specialised", "non_specialised"


@dataclass(frozen=True)
class _Archetype:
    """A kind of service as the seed region has them; ``offers`` lists alternative offer sets."""

    name: str
    sectors: tuple[str, ...]
    weight: int
    region_wide: float  # chance of covering the whole region rather than one or two LAs
    offers: tuple[tuple[tuple[str, str], ...], ...]
    stages: tuple[str, ...]  # "both", "postnatal" or "antenatal" choices
    ages: tuple[int, int] | None
    thresholds: tuple[str, ...]
    self_referral: float
    capacity: float  # chance that capacity_per_year is recorded


_ARCHETYPES: tuple[_Archetype, ...] = (
    _Archetype(
        "Midwifery", ("nhs",), 6, 0.9, (((("universal", N),)),), ("both", "both", "antenatal"),
        (0, 1), ("open",), 0.9, 0.0,
    ),
    _Archetype(
        "Health visiting", ("nhs",), 6, 0.9, ((("universal", N), ("targeted", N)),),
        ("both",), (0, 84), ("open",), 0.8, 0.0,
    ),
    _Archetype(
        "GP practices", ("nhs",), 10, 0.2, ((("universal", N),),), ("both",), None,
        ("open",), 1.0, 0.0,
    ),
    _Archetype(
        "Perinatal mental health", ("nhs",), 4, 0.9, ((("specialist", N),),),
        ("both",), (0, 12), ("open",), 0.0, 0.3,
    ),
    _Archetype(
        "CAMHS", ("nhs",), 3, 0.8, ((("specialist", N),),), ("postnatal",), (0, MAX_AGE_MONTHS),
        ("open", "pre_statutory"), 0.0, 0.2,
    ),
    _Archetype(
        "Parent-infant team", ("nhs", "voluntary"), 3, 0.7,
        (
            (("targeted", S), ("specialist", S)),
            (("targeted", N), ("specialist", S)),
            (("specialist", S),),
        ),
        ("postnatal", "both"), (0, 24), ("open", "open", "pre_statutory"), 0.5, 0.8,
    ),
    _Archetype(
        "Specialist health visiting", ("nhs",), 2, 0.6, ((("specialist", S),), (("targeted", S),)),
        ("postnatal",), None, ("open", "pre_statutory"), 0.0, 0.5,
    ),
    _Archetype(
        "Children's social care", ("local_authority",), 12, 0.05, ((("statutory", N),),),
        ("both",), None, ("statutory",), 0.1, 0.0,
    ),
    _Archetype(
        "Therapeutic family service", ("local_authority",), 3, 0.1,
        ((("statutory", S),), (("targeted", N), ("statutory", S))),
        ("postnatal",), (0, MAX_AGE_MONTHS), ("statutory",), 0.0, 0.7,
    ),
    _Archetype(
        "Intensive family support", ("local_authority",), 2, 0.1,
        ((("targeted", N), ("statutory", N)),), ("both",), None,
        ("statutory", "pre_statutory"), 0.0, 0.3,
    ),
    _Archetype(
        "Family support", ("local_authority", "voluntary"), 14, 0.1, ((("targeted", N),),),
        ("postnatal", "both"), (0, 48), ("pre_statutory", "open"), 0.4, 0.2,
    ),
    _Archetype(
        "Early years centre", ("local_authority",), 10, 0.05, ((("universal", N),),),
        ("postnatal",), (0, 48), ("open",), 1.0, 0.0,
    ),
    _Archetype(
        "Parenting programme", ("voluntary", "local_authority"), 10, 0.2,
        ((("targeted", N),), (("targeted", N),), (("targeted", N),), (("targeted", S),)),
        ("postnatal",), (0, 60), ("open", "pre_statutory"), 0.6, 0.3,
    ),
    _Archetype(
        "Day nursery", ("private",), 7, 0.0, ((("universal", N),),), ("postnatal",), (6, 60),
        ("open",), 1.0, 0.4,
    ),
    _Archetype(
        "Community group", ("other", "voluntary"), 6, 0.1, ((("universal", N),),),
        ("both", "postnatal"), None, ("open",), 1.0, 0.0,
    ),
    _Archetype(
        "Private infant therapy", ("private",), 2, 0.3, ((("specialist", S),),), ("postnatal",),
        (0, 36), ("open",), 1.0, 0.6,
    ),
)  # fmt: skip
_ARCHETYPE_CUM = list(itertools.accumulate(a.weight for a in _ARCHETYPES))
_REASON_LIST = tuple(_REASON_WEIGHTS)
_REASON_CUM = list(itertools.accumulate(_REASON_WEIGHTS.values()))
assert set(_REASON_LIST) == set(REASONS)


def _writer(folder: Path, table: str):
    handle = open(folder / f"{table}.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(HEADERS[table])
    return handle, writer


def _region_sizes(rng: random.Random, local_authorities: int) -> list[int]:
    """Split the LAs into regions of 3-12 (fewer only when there are fewer than 3 in all)."""
    sizes, remaining = [], local_authorities
    while remaining > 0:
        # Any size 3-12 that leaves nothing or at least 3 for the next region.
        fits = [s for s in range(3, 13) if s == remaining or remaining - s >= 3]
        size = rng.choice(fits) if fits else remaining
        sizes.append(size)
        remaining -= size
    return sizes


def _split(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` by cumulative rounding (sums exactly)."""
    whole = sum(weights)
    shares, running, before = [], 0.0, 0
    for weight in weights:
        running += weight
        after = round(running * total / whole)
        shares.append(after - before)
        before = after
    return shares


def generate(
    out_dir: str | Path,
    areas: int = 400,
    services: int = 50_000,
    links: int = 1_000_000,
    seed: int = 0,
    workforce: bool = True,
) -> dict[str, int]:
    """Write ``areas.csv``, ``services.csv``, ``offers.csv``, ``referrals.csv`` (and
    ``workforce.csv``) into ``out_dir``, with a ``dataset.csv`` saying they are synthetic;
    return the number of rows written per kind.

    ``areas`` is the number of local authorities (regions are added on top, 3-12 LAs each);
    ``services`` and ``links`` are exact. Raises ValueError when the sizes cannot make a valid
    dataset (no LA, no service, or more links than distinct (from, to, reason) triples).
    """
    if areas < 1 or services < 1 or links < 0:
        raise ValueError("need at least 1 local authority and 1 service, and links >= 0")
    most = services * (services - 1) * len(REASONS)
    if links > most:
        raise ValueError(
            f"{links} links cannot be distinct: {services} services allow at most {most} "
            "(from, to, reason) triples"
        )
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    layout = _write_areas(folder, rng, areas)
    counts = {
        "regions": len(layout.region_las),
        "local_authorities": areas,
        "areas": len(layout.region_las) + areas,
    }
    counts.update(_write_services(folder, rng, layout, services, seed, workforce))
    bases = random.Random(f"count_basis {seed}")
    counts["referrals"] = _write_links(folder, rng, layout, links, services, bases)
    _write_description(folder, seed)
    return counts


def _write_description(folder: Path, seed: int) -> None:
    """dataset.csv: where the data comes from (it is made up, and says so)."""
    with open(folder / "dataset.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(
            [
                ["field", "value"],
                ["source", f"illustrative: synthetic dataset (nestmap synth, seed {seed})"],
            ]
        )


@dataclass
class _Layout:
    """What link drawing needs to know: where each service is, and each place's hub order."""

    la_codes: list[str]
    la_names: list[str]
    region_las: list[list[int]]  # region -> its LAs (indexes into la_codes)
    region_of_la: list[int]
    width: int = 6  # digits in a service id
    region_of: list[int] = field(default_factory=list)  # service -> region
    home: list[tuple[int, ...]] = field(default_factory=list)  # service -> LAs it covers
    # Hub order: the first few of each list take most links (Zipf-like rank weights).
    region_pool: list[list[int]] = field(default_factory=list)
    la_pool: list[list[int]] = field(default_factory=list)


def _write_areas(folder: Path, rng: random.Random, local_authorities: int) -> _Layout:
    sizes = _region_sizes(rng, local_authorities)
    layout = _Layout([], [], [], [])
    handle, writer = _writer(folder, "areas")
    with handle:
        for region, size in enumerate(sizes):
            region_code = f"X12{region + 1:06d}"
            rows, total, known = [], 0, True
            layout.region_las.append([])
            for _ in range(size):
                number = len(layout.la_codes) + 1
                code, name = f"X06{number:06d}", f"Synthetic LA {number}"
                population: int | str = rng.randint(600, 12_000)
                births: int | str = round(int(population) * rng.uniform(0.46, 0.54))
                if rng.random() < _BLANK_POPULATION:
                    population, births, known = "", "", False
                else:
                    total += int(population)
                rows.append(
                    (code, name, "local_authority", region_code, population, births, _AREA_SOURCE)
                )
                layout.region_las[region].append(len(layout.la_codes))
                layout.region_of_la.append(region)
                layout.la_codes.append(code)
                layout.la_names.append(name)
            writer.writerow(
                (region_code, f"Synthetic Region {region + 1}", "region", "",
                 total if known else "", round(total / 2) if known else "", _AREA_SOURCE)
            )  # fmt: skip
            writer.writerows(rows)
    return layout


def _write_services(
    folder: Path, rng: random.Random, layout: _Layout, services: int, seed: int, workforce: bool
) -> dict[str, int]:
    """Services (spread over regions in proportion to their LAs), offers and workforce."""
    per_region = _split(services, [float(len(las)) for las in layout.region_las])
    layout.width = max(6, len(str(services)))  # zero-padded: string order is numeric order
    region_wide: list[list[int]] = [[] for _ in layout.region_las]
    local: list[list[int]] = [[] for _ in layout.la_codes]
    source = _SOURCE.format(seed=seed)
    counts = {"services": services, "offers": 0}
    service_handle, service_writer = _writer(folder, "services")
    offer_handle, offer_writer = _writer(folder, "offers")
    staff_handle, staff_writer = _writer(folder, "workforce") if workforce else (None, None)
    if staff_writer is not None:
        counts["workforce"] = 0
    with service_handle, offer_handle:
        number = 0
        for region, count in enumerate(per_region):
            for _ in range(count):
                service_id = f"s{number:0{layout.width}d}"
                archetype = _ARCHETYPES[
                    bisect.bisect(_ARCHETYPE_CUM, rng.random() * _ARCHETYPE_CUM[-1])
                ]
                row, offer_rows, home = _service(rng, service_id, archetype, region, layout)
                service_writer.writerow((*row, source))
                offer_writer.writerows(offer_rows)
                counts["offers"] += len(offer_rows)
                if staff_writer is not None and rng.random() < 0.2:
                    for _ in range(rng.randint(1, 4)):
                        staff_writer.writerow(
                            (service_id, rng.choice(_ROLES),
                             rng.choice(("0.2", "0.5", "0.6", "0.8", "1.0")), rng.randint(0, 3))
                        )  # fmt: skip
                        counts["workforce"] += 1
                layout.region_of.append(region)
                if home is None:
                    region_wide[region].append(number)
                    layout.home.append(tuple(layout.region_las[region]))
                else:
                    for la in home:
                        local[la].append(number)
                    layout.home.append(home)
                number += 1
    if staff_handle is not None:
        staff_handle.close()
    # Region-wide services (midwifery, health visiting, perinatal mental health...) are the
    # hubs, ahead of local ones; within each group the order is random.
    for pool in (*region_wide, *local):
        rng.shuffle(pool)
    for region, las in enumerate(layout.region_las):
        locals_ = sorted({number for la in las for number in local[la]})
        rng.shuffle(locals_)
        layout.region_pool.append(region_wide[region] + locals_)
    layout.la_pool = [region_wide[layout.region_of_la[la]] + local[la] for la in range(len(local))]
    return counts


def _service(
    rng: random.Random, service_id: str, archetype: _Archetype, region: int, layout: _Layout
) -> tuple[tuple, list[tuple], tuple[int, ...] | None]:
    """One service row (without its source), its offer rows, and the LAs of a local service
    (None for a region-wide one)."""
    las = layout.region_las[region]
    home: tuple[int, ...] | None
    if rng.random() < archetype.region_wide and len(las) > 1:
        home, covered, place = None, f"X12{region + 1:06d}", f"Synthetic Region {region + 1}"
    elif rng.random() < 0.15 and len(las) > 1:
        home = tuple(sorted(rng.sample(las, 2)))
        covered = "|".join(layout.la_codes[la] for la in home)
        place = " and ".join(layout.la_names[la] for la in home)
    else:
        home = (rng.choice(las),)
        covered, place = layout.la_codes[home[0]], layout.la_names[home[0]]
    sector = rng.choice(archetype.sectors)
    draw = rng.random()
    status = next((name for name, share in _STATUS_CUM if draw < share), _STATUS_REST)
    stage_choice = rng.choice(archetype.stages)
    stages = "antenatal|postnatal" if stage_choice == "both" else stage_choice
    low: int | str = ""
    high: int | str = ""
    if archetype.ages is not None and "postnatal" in stages and rng.random() < 0.6:
        low, high = archetype.ages
        if rng.random() < 0.1:
            low = ""
        elif rng.random() < 0.1:
            high = ""
    threshold = rng.choice(archetype.thresholds)
    capacity: int | str = ""
    if rng.random() < archetype.capacity:
        capacity = rng.choice((12, 20, 24, 30, 38, 40, 60, 80, 120, 200))
    fathers = rng.choice(("", "", "", "true", "false"))
    provider = {
        "nhs": f"NHS board {region + 1}",
        "local_authority": f"Council of {place}",
        "voluntary": f"Charity {rng.randint(1, 400)}",
        "private": f"Company {rng.randint(1, 900)}",
        "other": "",
    }[sector]
    row = (
        service_id,
        f"{archetype.name}, {place}",
        provider,
        sector,
        status,
        covered,
        stages,
        low,
        high,
        threshold,
        "true" if rng.random() < archetype.self_referral else "false",
        capacity,
        "true" if rng.random() < 0.12 else "false",
        fathers,
    )
    offer_rows = [
        (service_id, level, focus, "|".join(rng.sample(_INTERVENTIONS, rng.randint(0, 2))))
        for level, focus in rng.choice(archetype.offers)
    ]
    return row, offer_rows, home


_STATUS_CUM = list(
    zip((n for n, _ in _STATUS), itertools.accumulate(s for _, s in _STATUS), strict=True)
)


def _write_links(
    folder: Path,
    rng: random.Random,
    layout: _Layout,
    links: int,
    services: int,
    bases: random.Random,
) -> int:
    """Every source's links drawn and written together (duplicates redrawn), so that only one
    source's links are ever held; ``bases`` draws each count's unit."""
    # Out-degrees: log-normal weights (some services refer a lot), split to sum to ``links``,
    # each capped at the number of distinct (to, reason) pairs a source can have.
    degrees = _split(links, [rng.lognormvariate(0.0, 1.0) for _ in range(services)])
    _cap(degrees, (services - 1) * len(REASONS))
    longest = max(len(pool) for pool in (*layout.region_pool, *layout.la_pool))
    # Zipf-like rank weights; a pool of n services draws from the first n.
    ranks = list(itertools.accumulate(1.0 / (r + 1) ** _ZIPF_EXPONENT for r in range(longest)))
    regions = len(layout.region_pool)
    width = layout.width
    written = 0
    handle, writer = _writer(folder, "referrals")
    with handle:
        for origin, degree in enumerate(degrees):
            if degree == 0:
                continue
            region, home = layout.region_of[origin], layout.home[origin]
            chosen: set[tuple[int, int]] = set()
            rows: list[tuple[int, int]] = []
            attempts = 0
            while len(chosen) < degree and attempts < 20 * degree + 100:
                attempts += 1
                draw = rng.random()
                if regions > 1 and draw < _CROSS_REGION:
                    other = rng.randrange(regions - 1)
                    pool = layout.region_pool[other if other < region else other + 1]
                elif draw < _REGION_WIDE_CHOICE:
                    pool = layout.region_pool[region]
                else:
                    pool = layout.la_pool[rng.choice(home)]
                if not pool:
                    continue
                rank = bisect.bisect(ranks, rng.random() * ranks[len(pool) - 1], 0, len(pool))
                target = pool[min(rank, len(pool) - 1)]
                reason = bisect.bisect(_REASON_CUM, rng.random() * _REASON_CUM[-1])
                if target != origin and (target, reason) not in chosen:
                    chosen.add((target, reason))
                    rows.append((target, reason))
            if len(chosen) < degree:  # a small dataset whose hubs are exhausted: take the rest
                start = rng.randrange(services)
                for step in range(services):
                    target = (start + step) % services
                    for reason in range(len(REASONS)):
                        if len(chosen) < degree and target != origin:
                            if (target, reason) not in chosen:
                                chosen.add((target, reason))
                                rows.append((target, reason))
            from_id = f"s{origin:0{width}d}"
            for target, reason in rows:
                count: int | str = ""
                if rng.random() >= _BLANK_COUNT:
                    count = int(1 + 40 * rng.random() ** 3)
                writer.writerow(
                    (from_id, f"s{target:0{width}d}", _REASON_LIST[reason], count,
                     _count_basis(bases, _REASON_LIST[reason]), _LINK_SOURCE)
                )  # fmt: skip
            written += len(rows)
    return written


def _count_basis(bases: random.Random, reason: str) -> str:
    draw = bases.random()
    if reason == "parent_infant_relationship" and draw < _SURVEY_SHARE:
        return "survey_mentions"
    return "" if bases.random() < _BLANK_BASIS else "per_year"


def _cap(degrees: list[int], capacity: int) -> None:
    """Move any degree above ``capacity`` to sources with room (the total is kept)."""
    excess = sum(max(0, d - capacity) for d in degrees)
    if not excess:
        return
    for index, degree in enumerate(degrees):
        degrees[index] = min(degree, capacity)
    for index, degree in enumerate(degrees):
        room = min(capacity - degree, excess)
        degrees[index] += room
        excess -= room
        if not excess:
            break
