"""Lookups over the loaded dataset (local authorities, names, referral links) for pages and
reports; the figures built on the analyses' kept answers are in ``nestmap.answers.summaries``.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from nestmap.analysis._shape import Row, area_param, round_half_away
from nestmap.analysis.core import _local_authorities, need_exact
from nestmap.graph import GraphStore
from nestmap.vocabulary import DEFAULT_COUNT_BASIS, NEED_LEVELS


def local_authorities(store: GraphStore, area: str | None = None) -> list[Row]:
    """The local authorities (all, or the one asked for) by code: ``code``, ``name``,
    ``under2_population``."""
    return [
        {"code": la["code"], "name": la["name"], "under2_population": la["under2_population"]}
        for la in _local_authorities(store, area)
    ]


def service_names(store: GraphStore) -> dict[str, str]:
    """Service names by id (every status)."""
    return {row["id"]: row["name"] for row in store.run("export_services")}


def region_name(store: GraphStore) -> str | None:
    """The name of the one region the local authorities are part of, else None."""
    areas = store.run("export_areas")
    parents = {row["parent_code"] for row in areas if row["kind"] == "local_authority"}
    names = {row["code"]: row["name"] for row in areas if row["kind"] == "region"}
    if len(parents) == 1 and (parent := parents.pop()) in names:
        return str(names[parent])
    return None


def referral_links(store: GraphStore) -> list[Row]:
    """Every referral link of the loaded dataset (services of any status), by from_service,
    to_service, reason; ``count`` an int or None."""
    rows = [
        {
            "from_service": row["from_service"],
            "to_service": row["to_service"],
            "reason": row["reason"],
            "count": int(row["count"]) if row["count"] is not None else None,
            "count_basis": row["count_basis"] or DEFAULT_COUNT_BASIS,
            "source": row["source"],
        }
        for row in store.run("export_referrals")
    ]
    rows.sort(key=lambda r: (r["from_service"], r["to_service"], r["reason"]))
    return rows


def referral_links_table(store: GraphStore, ordered: bool = True) -> Any:
    """``referral_links`` as a ``pyarrow.Table`` (from_service, to_service, reason, count as
    int64 with nulls, count_basis, source), in the same order, with no Python row per link.
    ``ordered=False``: in the engine's order (sorting a national dataset's million links by
    three text columns is about half of the time), for callers that do not depend on it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = ("from_service", "to_service", "reason", "count", "count_basis", "source")
    types = (pa.string(), pa.string(), pa.string(), pa.int64(), pa.string(), pa.string())
    found = store.run_table("export_referrals")
    if found.num_rows == 0:  # engines building Arrow from rows give no columns then
        return pa.table({c: pa.array([], t) for c, t in zip(columns, types, strict=True)})
    found = pa.table({c: pc.cast(found.column(c), t) for c, t in zip(columns, types, strict=True)})
    basis = pc.fill_null(found.column("count_basis"), DEFAULT_COUNT_BASIS)
    found = found.set_column(columns.index("count_basis"), "count_basis", basis)
    if not ordered:
        return found
    order = [(c, "ascending") for c in columns[:3]]
    return found.take(pc.sort_indices(found, sort_keys=order)).combine_chunks()


def need_totals(
    store: GraphStore, area: str | None = None, shares: dict[str, Decimal] | None = None
) -> dict[str, dict[str, Any]]:
    """Per need level (targeted, specialist, statutory; and ``intervention``: targeted +
    specialist, the expected demand for an intervention): ``demand``, ``capacity`` and
    ``shortfall`` summed over the LAs with an under-2 population (1 place; None when no LA
    has one), ``unrecorded``: how many distinct services behind them have no capacity
    recorded (the shortfall is then at most the figure), and ``las_without_population``.
    The statutory row (families unlikely to access help) is never part of ``intervention``.
    Sums are of the exact figures, rounded once (half away from zero)."""
    from nestmap.units import INTERVENTION_LEVELS

    rows = need_exact(store, area, shares)
    found = store.run(
        "unrecorded_capacity", {"area": area_param(store, area), "levels": list(NEED_LEVELS)}
    )
    unrecorded: dict[str, set[str]] = {level: set() for level in NEED_LEVELS}
    for row in found:
        unrecorded[row["level"]].add(row["service_id"])
    groups: dict[str, tuple[str, ...]] = {level: (level,) for level in NEED_LEVELS}
    groups["intervention"] = INTERVENTION_LEVELS
    totals: dict[str, dict[str, Any]] = {}
    for name, levels in groups.items():
        chosen = [r for r in rows if r["level"] in levels]
        known = [r for r in chosen if r["demand"] is not None]
        # Summed exactly, rounded once (the rows' rounded figures need not add up to it).
        totals[name] = {
            **{
                key: round_half_away(sum((r[key] for r in known), Fraction(0)), 1)
                if known
                else None
                for key in ("demand", "capacity", "shortfall")
            },
            "unrecorded": len(set().union(*(unrecorded[level] for level in levels))),
            "las_without_population": len(
                {r["area_code"] for r in chosen} - {r["area_code"] for r in known}
            ),
        }
    return totals
