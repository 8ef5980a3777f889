"""Figures built on the analyses' kept answers, for pages and reports that summarise.

The dashboard shows these as they are: it counts nothing itself, so a figure on a page is the
same as the one a notebook gets from ``nestmap.Graph``. The analyses come through the kept
answers (``nestmap.answers``): computed once per dataset version, by whoever asks first.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from nestmap.analysis._shape import Row, area_param, round_half_away
from nestmap.analysis.core import _local_authorities, need_exact
from nestmap.analysis.extra import services
from nestmap.analysis.summaries import need_totals
from nestmap.answers.analyses import (
    concentration_table,
    gaps,
    misdirected,
    misdirected_table,
    pathways,
    threshold_cliffs,
)
from nestmap.answers.analyses import rows as answer_rows
from nestmap.errors import UsageError
from nestmap.graph import GraphStore
from nestmap.vocabulary import COUNT_BASES, DEFAULT_COUNT_BASIS

AREA_METRICS = ("gap_cells", "demand_shortfall", "misdirected_referrals")


def misdirected_summary(store: GraphStore, area: str | None = None) -> dict[str, Any]:
    """The misdirected headline, per count basis (counts of different units are never added):
    ``links`` (misdirected links, any basis) and ``by_basis``: for each basis present, in
    ``COUNT_BASES`` order, ``links`` of that basis, ``counted_links`` (those with a count),
    ``referrals`` (their counts summed; blank adds nothing), and of the parent-infant
    relationship counts of that basis (as in ``concentration``) how many are on misdirected
    links, ``relationship_total`` and their ``relationship_share`` (4 places; None when none
    recorded). The same figures for the links with an ``onward`` route and for the dead ends
    (under the keys ``onward`` and ``dead_end``). Counted over the kept Arrow answers, not row
    by row (a national dataset has hundreds of thousands of misdirected links)."""

    links = misdirected_table(store, area)
    totals = _totals_by_basis(concentration_table(store, area))
    onward = _column(links, "onward")
    return {
        **_misdirected_figures(links, totals),
        "onward": _misdirected_figures(links, totals, onward),
        "dead_end": _misdirected_figures(links, totals, None if onward is None else _not(onward)),
    }


def _column(table: Any, name: str) -> Any:
    """A column of a kept answer, or None when it has no rows (kept without columns)."""
    return table.column(name) if table.num_rows and name in table.column_names else None


def _not(mask: Any) -> Any:
    import pyarrow.compute as pc

    return pc.invert(mask)


def _and(mask: Any, other: Any) -> Any:
    import pyarrow.compute as pc

    return other if mask is None else pc.and_(mask, other)


def _rows_in(mask: Any, table: Any) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    if mask is None:
        return int(table.num_rows)
    return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)


def _total(table: Any, name: str, mask: Any = None) -> int:
    """The sum of a count column over the rows ``mask`` keeps (blank counts as 0)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = _column(table, name)
    if column is None or pa.types.is_null(column.type):
        return 0
    if mask is not None:
        column = pc.filter(column, mask)
    return int(pc.sum(column).as_py() or 0)


def _bases(table: Any) -> list[str]:
    """The count bases in a table's ``count_basis`` column, in ``COUNT_BASES`` order."""
    import pyarrow.compute as pc

    column = _column(table, "count_basis")
    if column is None:
        return []
    found = {basis or DEFAULT_COUNT_BASIS for basis in pc.unique(column).to_pylist()}
    return [b for b in COUNT_BASES if b in found] + sorted(found - set(COUNT_BASES))


def _basis_mask(table: Any, basis: str) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    column = pc.fill_null(_column(table, "count_basis"), DEFAULT_COUNT_BASIS)
    return pc.equal(column, pa.scalar(basis, pa.string()))


def _totals_by_basis(concentration: Any) -> dict[str, int]:
    """concentration's total count per basis."""
    return {
        basis: _total(concentration, "count", _basis_mask(concentration, basis))
        for basis in _bases(concentration)
    }


def _misdirected_figures(
    links: Any, relationship_totals: dict[str, int], mask: Any = None
) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    from nestmap.analysis.core import _share

    reason = _column(links, "reason")
    if reason is None:
        return {"links": 0, "by_basis": {}}
    is_relationship = pc.equal(reason, pa.scalar("parent_infant_relationship", pa.string()))
    counted = pc.is_valid(links.column("count"))
    by_basis: dict[str, dict[str, Any]] = {}
    for basis in _bases(links):
        rows = _and(mask, _basis_mask(links, basis))
        number = _rows_in(rows, links)
        if not number:
            continue
        relationship = _total(links, "count", pc.and_(rows, is_relationship))
        total = relationship_totals.get(basis, 0)
        by_basis[basis] = {
            "links": number,
            "counted_links": _rows_in(pc.and_(rows, counted), links),
            "referrals": _total(links, "count", rows),
            "relationship_referrals": relationship,
            "relationship_total": total,
            "relationship_share": _share(relationship, total) if total else None,
        }
    return {"links": _rows_in(mask, links), "by_basis": by_basis}


def dead_ends(store: GraphStore, area: str | None = None) -> dict[str, int]:
    """Dead ends of ``pathways``, in both units pages use: ``pairs`` (LA x entry point rows
    with no destination, of ``of_pairs``) and ``services`` (entry points that are a dead end
    in at least one LA, of ``of_services``)."""
    rows = pathways(store, area)
    dead = [row for row in rows if row["destination"] is None]
    return {
        "pairs": len(dead),
        "of_pairs": len(rows),
        "services": len({row["entry_service"] for row in dead}),
        "of_services": len({row["entry_service"] for row in rows}),
    }


def per_area(
    store: GraphStore,
    metric: str,
    level: str | None = None,
    stage: str | None = None,
    shares: dict[str, Decimal] | None = None,
    count_basis: str | None = None,
) -> dict[str, float | None]:
    """One figure per local authority (every LA, by code):

    - ``gap_cells``: gap cells of ``gaps`` (only ``level``/``stage`` when given);
    - ``demand_shortfall``: ``need``'s shortfall at ``level``, or when no level is given the
      targeted + specialist shortfall (the statutory row, families unlikely to access help, is
      never added to them), None for an LA without a population;
    - ``misdirected_referrals``: the counts of ``count_basis`` (default: the one basis the
      misdirected links have; a ``UsageError`` when they have several) on misdirected links,
      counted in every LA the referring service covers (blank counts add nothing).
    """
    from nestmap.units import INTERVENTION_LEVELS

    values: dict[str, float | None] = {la["code"]: 0 for la in _local_authorities(store, None)}
    if metric == "gap_cells":
        for row in gaps(store):
            if level in (None, row["level"]) and stage in (None, row["stage"]):
                values[row["area_code"]] = (values[row["area_code"]] or 0) + int(row["gap"])
    elif metric == "demand_shortfall":
        levels = (level,) if level is not None else INTERVENTION_LEVELS
        exact: dict[str, Fraction | None] = dict.fromkeys(values, Fraction(0))
        for row in need_exact(store, None, shares):
            if row["level"] not in levels:
                continue
            code = row["area_code"]
            if row["shortfall"] is None:
                exact[code] = None
            elif (so_far := exact[code]) is not None:
                exact[code] = so_far + row["shortfall"]
        for code, total in exact.items():  # summed exactly, rounded once
            values[code] = None if total is None else round_half_away(total, 1)
    elif metric == "misdirected_referrals":
        rows = misdirected(store)
        basis = count_basis or _only_basis(rows)
        covers: dict[str, list[str]] = {row["id"]: row["covers"] for row in services(store)}
        for row in rows:
            if row["count_basis"] != basis:
                continue
            for code in covers.get(row["from_service"], ()):
                if code in values:
                    values[code] = (values[code] or 0) + (row["count"] or 0)
    else:
        raise ValueError(f"unknown metric {metric!r}; one of {', '.join(AREA_METRICS)}")
    return values


def _only_basis(rows: list[Row]) -> str:
    found = sorted({row["count_basis"] for row in rows})
    if len(found) > 1:
        raise UsageError(
            "the misdirected links count in more than one unit ("
            + ", ".join(found)
            + "): say which count_basis to map; counts of different units are never added"
        )
    return found[0] if found else DEFAULT_COUNT_BASIS


def concentration_unrecorded(store: GraphStore, area: str | None = None) -> list[Row]:
    """The rows of ``concentration`` (``to_service``, ``count_basis``) whose links all have a
    blank count: their count of 0 is *not recorded*, not none (pages say so)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from nestmap.answers.slices import keep_relationship_referrals, services_covering

    links = keep_relationship_referrals(store)
    if links.num_rows and area is not None:
        links = links.filter(
            pc.is_in(links.column("from_service"), value_set=services_covering(store, area))
        )
    elif area is not None:
        area_param(store, area)  # an unknown code is still a usage error
    if links.num_rows == 0:
        return []
    found = (
        pa.table(
            {
                "to_service": links.column("to_service"),
                "count_basis": links.column("count_basis"),
                "counted": pc.cast(pc.is_valid(links.column("count")), pa.int64()),
            }
        )
        .group_by(["to_service", "count_basis"])
        .aggregate([("counted", "sum")])
    )
    rows = [
        {"to_service": target, "count_basis": basis}
        for target, basis, counted in zip(
            found.column("to_service").to_pylist(),
            found.column("count_basis").to_pylist(),
            found.column("counted_sum").to_pylist(),
            strict=True,
        )
        if not counted
    ]
    return sorted(rows, key=lambda r: (r["count_basis"], r["to_service"]))


def count_bases(store: GraphStore, area: str | None = None) -> list[str]:
    """The count bases of the parent-infant relationship referral links (concentration's),
    in ``COUNT_BASES`` order."""

    return _bases(concentration_table(store, area))


HEADLINES = (
    "services",
    "gap_cells",
    "misdirected",
    "threshold_cliffs",
    "dead_ends",
    "practitioners",
    "shortfall",
)


def headline(
    store: GraphStore,
    name: str,
    area: str | None = None,
    shares: dict[str, Decimal] | None = None,
) -> dict[str, Any]:
    """One of the Overview's headline figures (each alone, so a page can show them as they
    come):

    - ``services``: ``active`` services and ``universal`` (active with a universal offer);
    - ``gap_cells``: ``gaps`` of ``cells`` in the gaps matrix;
    - ``misdirected``: see ``misdirected_summary``;
    - ``threshold_cliffs``: LA x stage rows per status (``cliff``, ``none``, ``ok``);
    - ``dead_ends``: see ``dead_ends``;
    - ``practitioners``: ``level_2_3``, practitioners at AiMH levels 2-3;
    - ``shortfall``: ``total``, need's targeted + specialist shortfall summed over LAs (1
      place; None when no LA has a population) and ``unrecorded`` (services behind it with no
      capacity recorded: the total is then at most that); ``statutory`` and
      ``statutory_unrecorded`` the same for the statutory row, shown apart (families unlikely
      to access help, never added to the others).
    """
    if name == "services":
        # Counted by the engine: building the national catalogue's 50,000 rows took 1.4 s.
        found = store.run("service_counts", {"area": area_param(store, area)})
        counts = found[0] if found else {}
        return {
            "active": int(counts.get("active") or 0),
            "universal": int(counts.get("universal") or 0),
        }
    if name == "gap_cells":
        rows = gaps(store, area)
        return {"gaps": sum(row["gap"] for row in rows), "cells": len(rows)}
    if name == "misdirected":
        return misdirected_summary(store, area)
    if name == "threshold_cliffs":
        statuses = [row["status"] for row in threshold_cliffs(store, area)]
        return {status: statuses.count(status) for status in ("cliff", "none", "ok")}
    if name == "dead_ends":
        return dict(dead_ends(store, area))
    if name == "practitioners":
        services = answer_rows(store, "workforce", area)["services"]
        return {"level_2_3": sum(row["practitioners_level_2_3"] for row in services)}
    if name == "shortfall":
        totals = need_totals(store, area, shares)
        return {
            "total": totals["intervention"]["shortfall"],
            "unrecorded": totals["intervention"]["unrecorded"],
            "statutory": totals["statutory"]["shortfall"],
            "statutory_unrecorded": totals["statutory"]["unrecorded"],
        }
    raise ValueError(f"unknown headline {name!r}; one of {', '.join(HEADLINES)}")
