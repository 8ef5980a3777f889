"""Figures built on the analyses' kept answers, for pages and reports that summarise.

The dashboard shows these as they are: it counts nothing itself, so a figure on a page is the
same as the one a notebook gets from ``nestmap.Graph``. The analyses come through the kept
answers (``nestmap.answers``): computed once per dataset version, by whoever asks first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nestmap.analysis._shape import area_param
from nestmap.analysis.core import _local_authorities, need
from nestmap.analysis.extra import services
from nestmap.answers.analyses import (
    concentration_table,
    gaps,
    misdirected,
    misdirected_table,
    pathways,
    threshold_cliffs,
)
from nestmap.answers.analyses import rows as answer_rows
from nestmap.graph import GraphStore

AREA_METRICS = ("gap_cells", "demand_shortfall", "misdirected_referrals")


def misdirected_summary(store: GraphStore, area: str | None = None) -> dict[str, Any]:
    """The misdirected headline: referrals a year on misdirected links (blank counts as 0),
    and of the parent-infant relationship referrals (as in ``concentration``) how many are on
    misdirected links and their ``relationship_share`` (4 places; None when none recorded);
    the same figures for the links with an ``onward`` route and for the dead ends (under the
    keys ``onward`` and ``dead_end``). Counted over the kept Arrow answers, not row by row
    (a national dataset has hundreds of thousands of misdirected links)."""
    links = misdirected_table(store, area)
    relationship_total = _total(concentration_table(store, area), "count")
    found = _misdirected_figures(links, relationship_total)
    found["relationship_total"] = relationship_total
    onward = _column(links, "onward")
    found["onward"] = _misdirected_figures(links, relationship_total, onward)
    found["dead_end"] = _misdirected_figures(
        links, relationship_total, None if onward is None else _not(onward)
    )
    return found


def _column(table: Any, name: str) -> Any:
    """A column of a kept answer, or None when it has no rows (kept without columns)."""
    return table.column(name) if table.num_rows and name in table.column_names else None


def _not(mask: Any) -> Any:
    import pyarrow.compute as pc

    return pc.invert(mask)


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


def _misdirected_figures(links: Any, relationship_total: int, mask: Any = None) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    from nestmap.analysis.core import _share

    reason = _column(links, "reason")
    if reason is None:
        count, relationship = 0, 0
    else:
        count = links.num_rows if mask is None else int(pc.sum(pc.cast(mask, pa.int64())).as_py())
        is_relationship = pc.equal(reason, pa.scalar("parent_infant_relationship", pa.string()))
        both = is_relationship if mask is None else pc.and_(is_relationship, mask)
        relationship = _total(links, "count", both)
    return {
        "links": count,
        "referrals": _total(links, "count", mask),
        "relationship_referrals": relationship,
        "relationship_share": _share(relationship, relationship_total)
        if relationship_total
        else None,
    }


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
) -> dict[str, float | None]:
    """One figure per local authority (every LA, by code):

    - ``gap_cells``: gap cells of ``gaps`` (only ``level``/``stage`` when given);
    - ``demand_shortfall``: the sum of ``need``'s shortfall over its levels (only ``level``),
      None for an LA without a population;
    - ``misdirected_referrals``: referrals a year on misdirected links, counted in every LA the
      referring service covers (blank counts as 0).
    """
    values: dict[str, float | None] = {la["code"]: 0 for la in _local_authorities(store, None)}
    if metric == "gap_cells":
        for row in gaps(store):
            if level in (None, row["level"]) and stage in (None, row["stage"]):
                values[row["area_code"]] = (values[row["area_code"]] or 0) + int(row["gap"])
    elif metric == "demand_shortfall":
        for row in need(store, None, shares):
            if level not in (None, row["level"]):
                continue
            code = row["area_code"]
            if row["shortfall"] is None:
                values[code] = None
            elif values[code] is not None:
                values[code] = round((values[code] or 0) + row["shortfall"], 1)
    elif metric == "misdirected_referrals":
        covers: dict[str, list[str]] = {row["id"]: row["covers"] for row in services(store)}
        for row in misdirected(store):
            for code in covers.get(row["from_service"], ()):
                if code in values:
                    values[code] = (values[code] or 0) + (row["count"] or 0)
    else:
        raise ValueError(f"unknown metric {metric!r}; one of {', '.join(AREA_METRICS)}")
    return values


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
    - ``shortfall``: ``total``, need's shortfall summed over LAs and levels (1 place).
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
        total = sum(row["shortfall"] or 0 for row in need(store, area, shares))
        return {"total": round(total, 1)}
    raise ValueError(f"unknown headline {name!r}; one of {', '.join(HEADLINES)}")
