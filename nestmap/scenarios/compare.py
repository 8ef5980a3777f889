"""Compare two graphs (base vs scenario, or two dataset versions) analysis by analysis."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from nestmap import analysis
from nestmap.graph import GraphStore
from nestmap.vocabulary import AGE_BANDS, COUNT_BASES, LEVEL_RANK, NEED_LEVELS, STAGE_ORDER

BAND_ORDER = {band: i for i, (band, _, _) in enumerate(AGE_BANDS)}

Row = dict[str, Any]
Key = tuple


def _diff(
    name: str,
    before: list[Row],
    after: list[Row],
    key: Callable[[Row], Key],
    value: Callable[[Row], dict[str, Any]],
    classify: Callable[[dict[str, Any], dict[str, Any]], str] = lambda _b, _a: "changed",
) -> list[Row]:
    old = {key(row): value(row) for row in before}
    new = {key(row): value(row) for row in after}
    changes = []
    for item in sorted(set(old) | set(new), key=_sort_key):
        was, now = old.get(item), new.get(item)
        if was == now:
            continue
        if was is None:
            change = "appeared"
        elif now is None:
            change = "disappeared"
        else:
            change = classify(was, now)
        changes.append(
            {"analysis": name, "change": change, "key": list(item), "before": was, "after": now}
        )
    return changes


def _sort_key(item: Key) -> tuple:
    """Keys sort in the analyses' own order: levels by rank, stages antenatal first, age bands
    youngest first."""
    return tuple(
        (LEVEL_RANK.get(part, 0), STAGE_ORDER.get(part, 0), BAND_ORDER.get(part, 0), str(part))
        for part in item
    )


def _gap_change(was: dict, now: dict) -> str:
    if was["gap"] and not now["gap"]:
        return "closed"
    if now["gap"] and not was["gap"]:
        return "opened"
    return "changed"


def _misdirected_change(was: dict, now: dict) -> str:
    """A link still misdirected: did the family gain or lose a route on to specialised help?"""
    if now["onward"] and not was["onward"]:
        return "onward_route_found"
    if was["onward"] and not now["onward"]:
        return "onward_route_lost"
    return "changed"


def _pathway_change(was: dict, now: dict) -> str:
    if was["destination"] is None:
        return "dead_end_resolved"
    if now["destination"] is None:
        return "dead_end_appeared"
    return "changed"


def compare(
    before: GraphStore, after: GraphStore, shares: dict[str, Decimal] | None = None
) -> dict[str, Any]:
    """Every analysis on both graphs: what appeared, disappeared or changed, and a summary."""
    link = lambda r: (r["from_service"], r["to_service"], r["reason"])  # noqa: E731
    changes: list[Row] = []
    changes += _diff(
        "gaps",
        analysis.gaps(before),
        analysis.gaps(after),
        lambda r: (r["area_code"], r["level"], r["stage"]),
        lambda r: {"gap": r["gap"], "specialised_services": r["specialised_services"]},
        _gap_change,
    )
    misdirected_before, misdirected_after = (
        analysis.misdirected(before),
        analysis.misdirected(after),
    )
    changes += _diff(
        "misdirected",
        misdirected_before,
        misdirected_after,
        link,
        lambda r: {
            "count": r["count"],
            "count_basis": r["count_basis"],
            "problems": r["problems"],
            "onward": r["onward"],
        },
        _misdirected_change,
    )
    changes += _diff(
        "age_bands",
        analysis.age_bands(before),
        analysis.age_bands(after),
        lambda r: (r["area_code"], r["level"], r["band"]),
        lambda r: {"gap": r["gap"], "specialised_services": r["specialised_services"]},
        _gap_change,
    )
    old_bounds, new_bounds = analysis.boundaries(before), analysis.boundaries(after)
    changes += _diff(
        "boundary_links",
        old_bounds["links"],
        new_bounds["links"],
        link,
        lambda r: {"kinds": r["kinds"]},
    )
    changes += _diff(
        "threshold_cliffs",
        old_bounds["threshold_cliffs"],
        new_bounds["threshold_cliffs"],
        lambda r: (r["area_code"], r["stage"]),
        lambda r: {"status": r["status"], "below": r["below"], "above": r["above"]},
    )
    changes += _diff(
        "pathways",
        analysis.pathways(before),
        analysis.pathways(after),
        lambda r: (r["area_code"], r["entry_service"]),
        lambda r: {"destination": r["destination"], "hops": r["hops"]},
        _pathway_change,
    )
    changes += _diff(
        "concentration",
        analysis.concentration(before),
        analysis.concentration(after),
        lambda r: (r["to_service"], r["count_basis"]),
        lambda r: {"count": r["count"], "share": r["share"]},
    )
    need_before, need_after = (
        analysis.need(before, shares=shares),
        analysis.need(after, shares=shares),
    )
    changes += _diff(
        "need",
        need_before,
        need_after,
        lambda r: (r["area_code"], r["level"]),
        lambda r: {
            "demand": r["demand"],
            "capacity": r["capacity"],
            "unrecorded": r["unrecorded"],
            "shortfall": r["shortfall"],
        },
    )
    summary = _summary(
        changes,
        analysis.need_totals(before, shares=shares),
        analysis.need_totals(after, shares=shares),
    )
    summary["dead_end_referrals"] = {
        "before": _dead_ends(misdirected_before),
        "after": _dead_ends(misdirected_after),
    }
    return {"summary": summary, "changes": changes}


def _dead_ends(rows: list[Row]) -> dict[str, Any]:
    """Misdirected links with no onward route, and their counts per count basis (blank counts
    add nothing; counts of different units are never added together)."""
    ends = [row for row in rows if not row["onward"]]
    count: dict[str, int] = {}
    for basis in COUNT_BASES:
        mine = [row for row in ends if row["count_basis"] == basis]
        if mine:
            count[basis] = sum(row["count"] or 0 for row in mine)
    return {"links": len(ends), "count": count}


def _summary(
    changes: list[Row], totals_before: dict[str, Any], totals_after: dict[str, Any]
) -> dict[str, Any]:
    counts = Counter((row["analysis"], row["change"]) for row in changes)
    # Per level (the statutory row among them: families unlikely to access help, never added
    # to the others), and ``intervention``: targeted + specialist. ``unrecorded_*``: services
    # whose capacity is not recorded (the shortfall is then at most the figure).
    shortfall = {
        name: {
            "before": totals_before[name]["shortfall"],
            "after": totals_after[name]["shortfall"],
            "unrecorded_before": totals_before[name]["unrecorded"],
            "unrecorded_after": totals_after[name]["unrecorded"],
        }
        for name in (*NEED_LEVELS, "intervention")
    }
    return {
        "changes": {f"{name} {change}": count for (name, change), count in sorted(counts.items())},
        "gap_cells_closed": counts[("gaps", "closed")],
        "gap_cells_opened": counts[("gaps", "opened")],
        "age_band_cells_closed": counts[("age_bands", "closed")],
        "age_band_cells_opened": counts[("age_bands", "opened")],
        "dead_ends_resolved": counts[("pathways", "dead_end_resolved")],
        "dead_ends_appeared": counts[("pathways", "dead_end_appeared")],
        "shortfall_by_level": shortfall,
    }


def change_rows(result: dict[str, Any]) -> list[Row]:
    """The changes flattened for a table or CSV: key and values as text."""
    return [
        {
            "analysis": row["analysis"],
            "change": row["change"],
            "key": " ".join(str(part) for part in row["key"]),
            "before": _describe(row["before"]),
            "after": _describe(row["after"]),
        }
        for row in result["changes"]
    ]


def _describe(value: dict[str, Any] | None) -> str:
    if value is None:
        return ""
    parts = []
    for name, item in value.items():
        if isinstance(item, list):
            item = "|".join(str(x) for x in item) or "-"
        elif item is None:
            item = "-"
        parts.append(f"{name}={item}")
    return "; ".join(parts)
