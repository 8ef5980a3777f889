"""A straightforward pandas implementation of ``gaps`` and ``misdirected``, read from the CSV
files and following docs/analyses.md literally: the yardstick nestmap's graph queries are timed
against (benchmarks/national.py) and checked against (tests/test_synth.py).

It assumes a valid dataset (as ``nestmap load`` would accept) and returns rows exactly as
``nestmap.analysis.gaps`` / ``misdirected`` do: the same keys, lists sorted, the same order.
Misdirected's ``onward`` is computed by hops in plain Python (``_onward``) and, for small
datasets, by a breadth-first search from each target (``onward_by_search``); the other analyses,
age_bands included, have plain-Python references below.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

LEVELS = ("universal", "targeted", "statutory", "specialist")
STAGES = ("antenatal", "postnatal")
TABLES = ("areas", "services", "offers", "referrals")


def read_tables(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Every cell as stripped text ("" for blank), as docs/data-format.md reads them."""
    tables = {}
    for name in TABLES:
        frame = pd.read_csv(
            Path(folder) / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
        frame.columns = [column.strip() for column in frame.columns]
        tables[name] = frame.apply(lambda column: column.str.strip())
    return tables


def _status(services: pd.DataFrame) -> pd.Series:
    return services["status"].where(services["status"] != "", "active")


def _basis(links: pd.DataFrame) -> pd.Series:
    """Each link's count basis: blank, or no such column, is per_year."""
    if "count_basis" not in links.columns:
        return pd.Series("per_year", index=links.index)
    return links["count_basis"].where(links["count_basis"] != "", "per_year")


def _explode_list(frame: pd.DataFrame, column: str, into: str) -> pd.DataFrame:
    """One row per item of a ``|``-list cell."""
    items = frame.assign(**{into: frame[column].str.split("|")}).explode(into)
    items[into] = items[into].str.strip()
    return items[items[into] != ""]


def local_authorities_of(areas: pd.DataFrame) -> pd.DataFrame:
    """``code`` -> ``la``: every area code and the local authorities it stands for."""
    las = areas.loc[areas["kind"] == "local_authority", ["code"]]
    expansion = las.assign(la=las["code"])
    parents = areas.loc[areas["parent_code"] != "", ["code", "parent_code"]]
    frontier = expansion
    while not frontier.empty:  # climb the parent chain: a region stands for all LAs below it
        frontier = frontier.merge(parents, on="code")[["parent_code", "la"]]
        frontier = frontier.rename(columns={"parent_code": "code"})
        expansion = pd.concat([expansion, frontier], ignore_index=True)
    return expansion.drop_duplicates()


def covers(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``id`` -> ``la``: the local authorities each service covers (any status)."""
    listed = _explode_list(tables["services"][["id", "areas"]], "areas", "code")
    expanded = listed.merge(local_authorities_of(tables["areas"]), on="code")
    return expanded[["id", "la"]].drop_duplicates()


def gaps(tables: dict[str, pd.DataFrame], area: str | None = None) -> list[dict]:
    areas, services, offers = tables["areas"], tables["services"], tables["offers"]
    active = services[_status(services) == "active"]
    serving = covers({**tables, "services": active}).merge(
        _explode_list(active[["id", "stages"]], "stages", "stage")[["id", "stage"]], on="id"
    )
    cells = serving.merge(offers, left_on="id", right_on="service_id")
    keys = ["la", "level", "stage"]
    any_services = cells.groupby(keys)["id"].agg(lambda ids: sorted(set(ids)))
    specialised = (
        cells[cells["focus"] == "specialised"].groupby(keys)["id"].agg(lambda ids: sorted(set(ids)))
    )
    las = areas[areas["kind"] == "local_authority"].sort_values("code")
    if area is not None:
        las = las[las["code"] == area]
    rows = []
    for code, name in zip(las["code"], las["name"], strict=True):
        for level in LEVELS:
            for stage in STAGES:
                key = (code, level, stage)
                found = specialised.get(key, [])
                rows.append(
                    {
                        "area_code": code,
                        "area_name": name,
                        "level": level,
                        "stage": stage,
                        "specialised_services": found,
                        "any_services": any_services.get(key, []),
                        "gap": not found,
                    }
                )
    return rows


def misdirected(tables: dict[str, pd.DataFrame], area: str | None = None) -> list[dict]:
    services, offers = tables["services"], tables["offers"]
    status = pd.Series(_status(services).to_numpy(), index=services["id"])
    links = tables["referrals"][["from_service", "to_service", "reason", "count"]]
    links = links.assign(count_basis=_basis(tables["referrals"]))
    links = links[links["from_service"].map(status) == "active"].reset_index(drop=True)
    covered = covers(tables)
    if area is not None:
        in_area = set(covered.loc[covered["la"] == area, "id"])
        links = links[links["from_service"].isin(in_area)].reset_index(drop=True)
    link_ids = links.reset_index()[["index", "from_service", "to_service"]]

    # No parent-infant relationship work at all: no specialised offer at any level and no
    # offer at universal or targeted level.
    specialised = set(offers.loc[offers["focus"] == "specialised", "service_id"])
    first_line = set(offers.loc[offers["level"].isin(["universal", "targeted"]), "service_id"])
    not_offered = (links["reason"] == "parent_infant_relationship") & ~links["to_service"].isin(
        specialised | first_line
    )
    source_las = link_ids.merge(covered, left_on="from_service", right_on="id")
    shared = source_las.merge(covered, left_on=["to_service", "la"], right_on=["id", "la"])
    out_of_area = ~links.index.isin(shared["index"])
    stages = _explode_list(services[["id", "stages"]], "stages", "stage")[["id", "stage"]]
    source_stages = link_ids.merge(stages, left_on="from_service", right_on="id")
    common = source_stages.merge(stages, left_on=["to_service", "stage"], right_on=["id", "stage"])
    wrong_stage = ~links.index.isin(common["index"])
    inactive_target = links["to_service"].map(status) != "active"

    problems = pd.DataFrame(
        {
            "inactive_target": inactive_target,
            "not_offered": not_offered,
            "out_of_area": out_of_area,
            "wrong_stage": wrong_stage,
        }
    )
    flagged = problems.any(axis=1)
    found = links[flagged].assign(
        count=pd.to_numeric(links.loc[flagged, "count"].replace("", None)).astype("Int64")
    )
    found["blank"] = found["count"].isna()
    found["descending"] = -found["count"].fillna(0)
    found = found.sort_values(
        ["blank", "descending", "from_service", "to_service", "reason"], kind="stable"
    )
    # Each combination of flags as its sorted list of names (columns are in sorted order).
    names = list(problems.columns)
    codes = problems.loc[found.index].to_numpy() @ [1 << bit for bit in range(len(names))]
    combos = [[n for bit, n in enumerate(names) if code >> bit & 1] for code in range(16)]
    counts = found["count"].astype(object).where(~found["blank"], None)
    onward = _onward(tables, found["from_service"].tolist(), found["to_service"].tolist())
    return [
        {
            "from_service": source,
            "to_service": target,
            "reason": reason,
            "count": count,
            "count_basis": basis,
            "problems": list(combos[code]),
            "onward": further,
        }
        for source, target, reason, count, basis, code, further in zip(
            found["from_service"].tolist(),
            found["to_service"].tolist(),
            found["reason"].tolist(),
            counts.tolist(),
            found["count_basis"].tolist(),
            codes.tolist(),
            onward,
            strict=True,
        )
    ]


def _onward(tables: dict[str, pd.DataFrame], sources: list[str], targets: list[str]) -> list:
    """Per link, SPEC's ``onward``: the target is active and, for some LA the source covers, a
    chain of 0-6 links through active services leads from it to a destination of that LA.

    By hops, in plain Python: ``within[s]`` = the LAs (as the bits of one int) one of whose
    destinations s reaches in at most h links, from h = 0 (the LAs s is itself a destination
    of) to h = 6, each step the or of the services s refers to. Fast enough for the national
    yardstick; ``onward_by_search`` below reads the definition even more literally."""
    facts = _facts(tables)
    status, covered = facts["status"], facts["covers"]
    active = {s for s, v in status.items() if v == "active"}
    destinations = _specialised(tables, ("targeted", "specialist")) & active
    bit = {la: 1 << i for i, la in enumerate(sorted({la for s in covered for la in covered[s]}))}
    following = _following(tables, active)
    own = {s: sum(bit[la] for la in covered.get(s, ())) for s in destinations}
    within = dict(own)
    for _ in range(6):
        step = dict(own)
        for source, targets_of in following.items():
            mask = step.get(source, 0)
            for target in targets_of:
                mask |= within.get(target, 0)
            if mask:
                step[source] = mask
        within = step
    answers = []
    for source, target in zip(sources, targets, strict=True):
        wanted = sum(bit[la] for la in covered.get(source, ()))
        answers.append(target in active and bool(within.get(target, 0) & wanted))
    return answers


def _following(tables: dict[str, pd.DataFrame], active: set[str]) -> dict[str, set[str]]:
    """The services each active service refers families to, active ones only (any reason)."""
    following: dict[str, set[str]] = {}
    links = tables["referrals"]
    for source, target in zip(
        links["from_service"].tolist(), links["to_service"].tolist(), strict=True
    ):
        if source in active and target in active:
            following.setdefault(source, set()).add(target)
    return following


def onward_by_search(tables: dict[str, pd.DataFrame]) -> Callable[[str, str], bool]:
    """A function giving one link's ``onward`` (source, target) by a breadth-first search of
    at most 6 links from its target: SPEC read literally, for small datasets."""
    facts = _facts(tables)
    active = {s for s, v in facts["status"].items() if v == "active"}
    destinations = _specialised(tables, ("targeted", "specialist")) & active
    following = _following(tables, active)

    def onward(source: str, target: str) -> bool:
        if target not in active:
            return False
        wanted = facts["covers"].get(source, set())
        seen, frontier = {target}, {target}
        for _ in range(6):
            frontier = {t for s in frontier for t in following.get(s, ())} - seen
            seen |= frontier
        return any(facts["covers"].get(s, set()) & wanted for s in seen & destinations)

    return onward


# -- the other analyses: reference implementations to check nestmap's rows at any scale ---------
# (not timed against: the yardstick is gaps and misdirected; these catch wrong rows.)

THRESHOLDS_BELOW = ("open", "pre_statutory")
THRESHOLDS_ABOVE = ("open", "statutory")
NEED_SHARES = {"targeted": "0.08", "specialist": "0.09", "statutory": "0.13"}


def _facts(tables: dict[str, pd.DataFrame]) -> dict:
    """Plain Python views of the dataset: status, LAs, stages, thresholds, ages per service."""
    services = tables["services"]
    covered: dict[str, set[str]] = {}
    for service, la in zip(*(covers(tables)[c].tolist() for c in ("id", "la")), strict=True):
        covered.setdefault(service, set()).add(la)

    def number(text: str) -> int | None:
        return int(text) if text != "" else None

    return {
        "status": dict(zip(services["id"], _status(services), strict=True)),
        "covers": covered,
        "stages": {
            s: {p.strip() for p in v.split("|")}
            for s, v in zip(services["id"], services["stages"], strict=True)
        },
        "threshold": dict(zip(services["id"], services["threshold"], strict=True)),
        "ages": {
            s: (number(lo), number(hi))
            for s, lo, hi in zip(
                services["id"],
                services["min_age_months"],
                services["max_age_months"],
                strict=True,
            )
        },
        "capacity": {
            s: number(v) for s, v in zip(services["id"], services["capacity_per_year"], strict=True)
        },
    }


def boundary_links(tables: dict[str, pd.DataFrame], area: str | None = None) -> list[dict]:
    facts = _facts(tables)
    status, las, stages = facts["status"], facts["covers"], facts["stages"]
    rows = []
    for source, target, reason in zip(
        *(tables["referrals"][c].tolist() for c in ("from_service", "to_service", "reason")),
        strict=True,
    ):
        if status[source] != "active" or status[target] != "active":
            continue
        if area is not None and area not in las[source]:
            continue
        kinds = []
        (slo, shi), (tlo, thi) = facts["ages"][source], facts["ages"][target]
        if (
            "postnatal" in stages[source]
            and "postnatal" in stages[target]
            and (slo, shi) != (None, None)
            and (tlo, thi) != (None, None)
            and (
                (shi if shi is not None else 216) < (tlo or 0)
                or (thi if thi is not None else 216) < (slo or 0)
            )
        ):
            kinds.append("age_mismatch")
        shared = las[source] & las[target]
        if not shared:
            kinds.append("geography_none")
        elif shared != las[source]:
            kinds.append("geography_partial")
        if not stages[source] & stages[target]:
            kinds.append("stage_handover")
        if facts["threshold"][source] != facts["threshold"][target]:
            kinds.append("threshold_change")
        if kinds:
            rows.append(
                {
                    "from_service": source,
                    "to_service": target,
                    "reason": reason,
                    "kinds": kinds,
                    "from_threshold": facts["threshold"][source],
                    "to_threshold": facts["threshold"][target],
                }
            )
    rows.sort(key=lambda r: (r["from_service"], r["to_service"], r["reason"]))
    return rows


def _specialised(tables: dict[str, pd.DataFrame], levels: tuple[str, ...] = LEVELS) -> set[str]:
    offers = tables["offers"]
    chosen = offers[(offers["focus"] == "specialised") & offers["level"].isin(levels)]
    return set(chosen["service_id"])


def threshold_cliffs(tables: dict[str, pd.DataFrame], area: str | None = None) -> list[dict]:
    facts = _facts(tables)
    specialised = _specialised(tables)
    areas = tables["areas"]
    codes = sorted(areas.loc[areas["kind"] == "local_authority", "code"])
    rows = []
    for code in codes if area is None else [area]:
        for stage in STAGES:
            serving = [
                s
                for s in specialised
                if facts["status"][s] == "active"
                and code in facts["covers"].get(s, ())
                and stage in facts["stages"][s]
            ]
            below = sorted(s for s in serving if facts["threshold"][s] in THRESHOLDS_BELOW)
            above = sorted(s for s in serving if facts["threshold"][s] in THRESHOLDS_ABOVE)
            status = "ok" if below and above else "none" if not (below or above) else "cliff"
            rows.append(
                {
                    "area_code": code,
                    "stage": stage,
                    "below": below,
                    "above": above,
                    "status": status,
                }
            )
    return rows


def concentration(tables: dict[str, pd.DataFrame], area: str | None = None) -> list[dict]:
    from fractions import Fraction

    facts = _facts(tables)
    specialised = _specialised(tables)
    # Per target and count basis: counts of different units are never added.
    totals: dict[tuple[str, str], int] = {}
    links = tables["referrals"]
    for source, target, reason, count, basis in zip(
        *(links[c].tolist() for c in ("from_service", "to_service", "reason", "count")),
        _basis(links).tolist(),
        strict=True,
    ):
        if reason != "parent_infant_relationship" or facts["status"][source] != "active":
            continue
        if area is not None and area not in facts["covers"][source]:
            continue
        key = (target, basis)
        totals[key] = totals.get(key, 0) + (int(count) if count != "" else 0)
    per_basis: dict[str, int] = {}
    for (_target, basis), count in totals.items():
        per_basis[basis] = per_basis.get(basis, 0) + count
    rows = [
        {
            "to_service": target,
            "count_basis": basis,
            "count": count,
            "share": _round(Fraction(count, per_basis[basis]), 4) if per_basis[basis] else None,
            "specialised": target in specialised,
        }
        for (target, basis), count in totals.items()
    ]
    order = {"per_year": 0, "survey_mentions": 1}
    rows.sort(key=lambda r: (order[r["count_basis"]], -r["count"], r["to_service"]))
    return rows


def _round(value, places: int) -> float:
    from decimal import ROUND_HALF_UP, Decimal, localcontext

    with localcontext() as context:
        context.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def need(tables: dict[str, pd.DataFrame], area: str | None = None) -> list[dict]:
    from fractions import Fraction

    facts = _facts(tables)
    areas = tables["areas"]
    las = areas[areas["kind"] == "local_authority"].sort_values("code")
    population = {
        c: int(p) for c, p in zip(las["code"], las["under2_population"], strict=True) if p != ""
    }
    offers = tables["offers"]
    need_levels: dict[str, set[str]] = {}
    for service, level, focus in zip(
        offers["service_id"], offers["level"], offers["focus"], strict=True
    ):
        if focus == "specialised" and level in NEED_SHARES:
            need_levels.setdefault(service, set()).add(level)
    rows = []
    for code in las["code"] if area is None else [area]:
        for level in ("targeted", "statutory", "specialist"):  # level rank order
            working = [
                service
                for service in sorted(_specialised(tables, (level,)))
                if facts["status"][service] == "active" and code in facts["covers"][service]
            ]
            # A blank capacity is not recorded (not zero): counted, adding nothing.
            unrecorded = sum(facts["capacity"][service] is None for service in working)
            if code not in population:
                rows.append(
                    {"area_code": code, "level": level, "demand": None, "capacity": None,
                     "unrecorded": unrecorded, "shortfall": None}
                )  # fmt: skip
                continue
            demand = Fraction(NEED_SHARES[level]) * population[code]
            capacity = Fraction(0)
            for service in working:
                if facts["capacity"][service] is None:
                    continue
                served = sum(population.get(la, 0) for la in facts["covers"][service])
                # Counted once: split evenly across the need levels it works at.
                k = len(need_levels[service])
                capacity += Fraction(facts["capacity"][service] * population[code], served * k)
            rows.append(
                {
                    "area_code": code,
                    "level": level,
                    "demand": _round(demand, 1),
                    "capacity": _round(capacity, 1),
                    "unrecorded": unrecorded,
                    "shortfall": _round(max(Fraction(0), demand - capacity), 1),
                }
            )
    return rows


def pathways(tables: dict[str, pd.DataFrame], area: str | None = None) -> list[dict]:
    """Breadth-first search from each entry point, stopping at the first level that reaches a
    destination for each of its LAs (ties: the smallest destination id)."""
    facts = _facts(tables)
    status, covered = facts["status"], facts["covers"]
    active = {s for s, v in status.items() if v == "active"}
    offers = tables["offers"]
    entries = set(offers.loc[offers["level"] == "universal", "service_id"]) & active
    destinations = _specialised(tables, ("targeted", "specialist")) & active
    following: dict[str, set[str]] = {}
    links = tables["referrals"]
    for source, target in zip(
        links["from_service"].tolist(), links["to_service"].tolist(), strict=True
    ):
        if source in active and target in active:
            following.setdefault(source, set()).add(target)
    rows = []
    for entry in sorted(entries):
        wanted = covered[entry] if area is None else covered[entry] & {area}
        found = {la: (entry, 0) for la in wanted} if entry in destinations else {}
        seen, frontier, hops = {entry}, [entry], 0
        while len(found) < len(wanted) and frontier and hops < 6:
            hops += 1
            reached = {t for s in frontier for t in following.get(s, ()) if t not in seen}
            seen |= reached
            for target in sorted(reached & destinations, reverse=True):  # smallest id wins
                for la in covered[target] & wanted:
                    if la not in found or found[la][1] == hops:
                        found[la] = (target, hops)
            frontier = list(reached)
        for la in wanted:
            destination, length = found.get(la, (None, None))
            rows.append(
                {"area_code": la, "entry_service": entry, "destination": destination,
                 "hops": length}
            )  # fmt: skip
    rows.sort(key=lambda r: (r["area_code"], r["entry_service"]))
    return rows


AGE_BANDS = (("0-5", 0, 5), ("6-11", 6, 11), ("12-17", 12, 17), ("18-23", 18, 23))


def age_bands(tables: dict[str, pd.DataFrame], area: str | None = None) -> list[dict]:
    """Per LA x level x band: the active postnatal services covering the LA with a specialised
    offer at the level whose age range (blank bound: 0 or 216) overlaps the band, inclusive."""
    facts = _facts(tables)
    areas, offers = tables["areas"], tables["offers"]
    codes = sorted(areas.loc[areas["kind"] == "local_authority", "code"])
    specialised = offers[offers["focus"] == "specialised"]
    rows = []
    for code in codes if area is None else [area]:
        for level in LEVELS:
            at_level = set(specialised.loc[specialised["level"] == level, "service_id"])
            for band, start, end in AGE_BANDS:
                found = []
                for service in at_level:
                    low, high = facts["ages"][service]
                    low = 0 if low is None else low
                    high = 216 if high is None else high
                    if (
                        facts["status"][service] == "active"
                        and code in facts["covers"].get(service, ())
                        and "postnatal" in facts["stages"][service]
                        and low <= end
                        and high >= start
                    ):
                        found.append(service)
                rows.append(
                    {
                        "area_code": code,
                        "level": level,
                        "band": band,
                        "specialised_services": sorted(found),
                        "gap": not found,
                    }
                )
    return rows
