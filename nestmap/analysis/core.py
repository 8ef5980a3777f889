"""The six analyses of SPEC.md section 3: run the named query, shape rows to the contract."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from nestmap.analysis._shape import (
    Row,
    area_param,
    as_int,
    flags,
    level_rank,
    round_half_away,
    sorted_ids,
    stage_order,
)
from nestmap.errors import UsageError
from nestmap.graph import GraphStore
from nestmap.vocabulary import DEFAULT_SHARES, NEED_LEVELS, STAGES

MISDIRECTED_PROBLEMS = ("inactive_target", "not_offered", "out_of_area", "wrong_stage")
INTERFACE_KINDS = (
    "age_mismatch",
    "geography_none",
    "geography_partial",
    "stage_handover",
    "threshold_change",
)


def gaps(store: GraphStore, area: str | None = None) -> list[Row]:
    """The coverage matrix: every LA x level x stage, ``gap`` when nothing specialised serves it."""
    found = store.run("gaps", {"area": area_param(store, area), "stages": list(STAGES)})
    rows = [
        {
            "area_code": row["area_code"],
            "area_name": row["area_name"],
            "level": row["level"],
            "stage": row["stage"],
            "specialised_services": sorted_ids(row["specialised_services"]),
            "any_services": sorted_ids(row["any_services"]),
            "gap": not row["specialised_services"],
        }
        for row in found
    ]
    rows.sort(key=lambda r: (r["area_code"], level_rank(r["level"]), stage_order(r["stage"])))
    return rows


def _count_key(row: Row) -> tuple:
    count = row["count"]
    return (count is None, -(count or 0))


def misdirected(store: GraphStore, area: str | None = None) -> list[Row]:
    """Referral links whose target does not offer what is asked, or cannot take the family."""
    found = store.run("misdirected", {"area": area_param(store, area)})
    rows = [
        {
            "from_service": row["from_service"],
            "to_service": row["to_service"],
            "reason": row["reason"],
            "count": as_int(row["count"]),
            "problems": flags(row, MISDIRECTED_PROBLEMS),
        }
        for row in found
    ]
    rows.sort(key=lambda r: (*_count_key(r), r["from_service"], r["to_service"], r["reason"]))
    return rows


def boundary_links(store: GraphStore, area: str | None = None) -> list[Row]:
    found = store.run("boundary_links", {"area": area_param(store, area)})
    rows = [
        {
            "from_service": row["from_service"],
            "to_service": row["to_service"],
            "reason": row["reason"],
            "kinds": flags(row, INTERFACE_KINDS),
            "from_threshold": row["from_threshold"],
            "to_threshold": row["to_threshold"],
        }
        for row in found
    ]
    rows.sort(key=lambda r: (r["from_service"], r["to_service"], r["reason"]))
    return rows


def threshold_cliffs(store: GraphStore, area: str | None = None) -> list[Row]:
    found = store.run("threshold_cliffs", {"area": area_param(store, area), "stages": list(STAGES)})
    rows = [
        {
            "area_code": row["area_code"],
            "stage": row["stage"],
            "below": sorted_ids(row["below"]),
            "above": sorted_ids(row["above"]),
            "status": row["status"],
        }
        for row in found
    ]
    rows.sort(key=lambda r: (r["area_code"], stage_order(r["stage"])))
    return rows


def boundaries(store: GraphStore, area: str | None = None) -> dict[str, list[Row]]:
    """Both parts: the interfaces on referral links, and threshold cliffs per LA x stage."""
    return {
        "links": boundary_links(store, area),
        "threshold_cliffs": threshold_cliffs(store, area),
    }


def pathways(store: GraphStore, area: str | None = None) -> list[Row]:
    """Per LA and universal entry point: the nearest specialised destination, or a dead end."""
    found = store.run("pathways", {"area": area_param(store, area)})
    rows = [
        {
            "area_code": row["area_code"],
            "entry_service": row["entry_service"],
            "destination": row["destination"],
            "hops": as_int(row["hops"]),
        }
        for row in found
    ]
    rows.sort(key=lambda r: (r["area_code"], r["entry_service"]))
    return rows


def concentration(store: GraphStore, area: str | None = None) -> list[Row]:
    """Where parent-infant relationship referrals go, with each target's share of the total."""
    found = store.run("concentration", {"area": area_param(store, area)})
    total = sum(int(row["count"]) for row in found)
    rows = [
        {
            "to_service": row["to_service"],
            "count": int(row["count"]),
            "share": round_half_away(Fraction(int(row["count"]), total), 4) if total else None,
            "specialised": bool(row["specialised"]),
        }
        for row in found
    ]
    rows.sort(key=lambda r: (-r["count"], r["to_service"]))
    return rows


def parse_shares(
    targeted: str | float | None = None,
    specialist: str | float | None = None,
    statutory: str | float | None = None,
) -> dict[str, Decimal]:
    """The need shares as exact decimals (defaults: the report's high-adversity values)."""
    given = {"targeted": targeted, "specialist": specialist, "statutory": statutory}
    shares: dict[str, Decimal] = {}
    for level, value in given.items():
        text = DEFAULT_SHARES[level] if value is None else str(value)
        try:
            share = Decimal(text)
        except ArithmeticError:
            raise UsageError(f"the {level} share must be a number, got {text!r}") from None
        if not share.is_finite() or share < 0 or share > 1:
            raise UsageError(f"the {level} share must be between 0 and 1, got {text}")
        shares[level] = share
    return shares


def need(
    store: GraphStore,
    area: str | None = None,
    shares: dict[str, Decimal] | None = None,
) -> list[Row]:
    """Demand (under-2 population x share) against specialised capacity, per LA x level."""
    shares = shares or parse_shares()
    found = store.run("need", {"area": area_param(store, area), "levels": list(NEED_LEVELS)})
    rows = []
    for row in found:
        population = row["under2_population"]
        result: Row = {"area_code": row["area_code"], "level": row["level"]}
        if population is None:
            result.update(demand=None, capacity=None, shortfall=None)
        else:
            demand = Fraction(shares[row["level"]]) * int(population)
            capacity = sum(
                (
                    Fraction(int(cap) * int(population), int(served))
                    for cap, served in row["capacity_shares"]
                    if served
                ),
                Fraction(0),
            )
            result.update(
                demand=round_half_away(demand, 1),
                capacity=round_half_away(capacity, 1),
                shortfall=round_half_away(max(Fraction(0), demand - capacity), 1),
            )
        rows.append(result)
    rows.sort(key=lambda r: (r["area_code"], level_rank(r["level"])))
    return rows
