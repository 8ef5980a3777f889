"""Analyses the dashboard needs beyond docs/analyses.md's contract: assessment, workforce,
THRIVE and groups left out (dads and partners)."""

from __future__ import annotations

from typing import Any

from nestmap.analysis._shape import Row, area_param, ids, level_rank, stage_order
from nestmap.graph import GraphStore
from nestmap.vocabulary import AIMH_LEVELS, STAGES, THRIVE_GROUP

# The groupings in the order of their levels (as vocabulary.THRIVE_GROUP lists them).
_THRIVE_RANK = {group: rank for rank, group in enumerate(THRIVE_GROUP.values())}


def assessment(store: GraphStore, area: str | None = None) -> dict[str, list[Row]]:
    """``entry_points``: does each entry point assess the relationship; ``coverage``: per LA x
    stage, which serving services do (``gap`` when none)."""
    code = area_param(store, area)
    entry_points = [
        {
            "service_id": row["service_id"],
            "name": row["name"],
            "sector": row["sector"],
            "levels": sorted(set(row["levels"]), key=level_rank),
            "stages": sorted(row["stages"], key=stage_order),
            "assesses_relationship": bool(row["assesses_relationship"]),
        }
        for row in store.run("assessment_entry_points", {"area": code})
    ]
    entry_points.sort(key=lambda r: r["service_id"])
    coverage = [
        {
            "area_code": row["area_code"],
            "area_name": row["area_name"],
            "stage": row["stage"],
            "assessing_services": ids(row["assessing_services"]),
            "services": int(row["services"]),
            "gap": not row["assessing_services"],
        }
        for row in store.run("assessment_coverage", {"area": code, "stages": list(STAGES)})
    ]
    coverage.sort(key=lambda r: (r["area_code"], stage_order(r["stage"])))
    return {"entry_points": entry_points, "coverage": coverage}


def _pivot(rows: list[Row], keys: tuple[str, ...]) -> list[Row]:
    """One row per key with FTE per AiMH level and the practitioners at levels 2-3."""
    table: dict[tuple, Row] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        entry = table.setdefault(
            key,
            {
                **{k: row[k] for k in keys},
                **{f"fte_level_{level}": 0.0 for level in AIMH_LEVELS},
                "practitioners": 0,
                "practitioners_level_2_3": 0,
            },
        )
        if row["aimh_level"] is None:
            continue
        level = int(row["aimh_level"])
        entry[f"fte_level_{level}"] = round(entry[f"fte_level_{level}"] + float(row["fte"]), 2)
        entry["practitioners"] += int(row["practitioners"])
        if level >= 2:
            entry["practitioners_level_2_3"] += int(row["practitioners"])
    return [table[key] for key in sorted(table)]


def workforce(store: GraphStore, area: str | None = None) -> dict[str, object]:
    """FTE by AiMH level per service and per LA, and the practitioners at levels 2-3."""
    code = area_param(store, area)
    services = _pivot(store.run("workforce_services", {"area": code}), ("service_id", "name"))
    areas = _pivot(store.run("workforce_areas", {"area": code}), ("area_code", "area_name"))
    return {
        "services": services,
        "areas": areas,
        "practitioners_level_2_3": sum(row["practitioners_level_2_3"] for row in services),
    }


def thrive(store: GraphStore, area: str | None = None) -> list[Row]:
    """Every active service's offers under the THRIVE grouping of their level."""
    rows = [
        {
            "thrive_group": THRIVE_GROUP[row["level"]],
            "level": row["level"],
            "service_id": row["service_id"],
            "name": row["name"],
            "focus": row["focus"],
        }
        for row in store.run("thrive", {"area": area_param(store, area)})
    ]
    rows.sort(key=lambda r: (_THRIVE_RANK[r["thrive_group"]], r["service_id"]))
    return rows


def groups_left_out(store: GraphStore, area: str | None = None) -> list[Row]:
    """Per LA, the services that support fathers and partners."""
    rows = [
        {
            "area_code": row["area_code"],
            "area_name": row["area_name"],
            "supporting_fathers": ids(row["supporting_fathers"]),
            "not_recorded": ids(row["not_recorded"]),
            "services": int(row["services"]),
        }
        for row in store.run("groups_left_out", {"area": area_param(store, area)})
    ]
    rows.sort(key=lambda r: r["area_code"])
    return rows


def services(store: GraphStore, area: str | None = None) -> list[Row]:
    """The service catalogue (every status), with ``offers`` as ``{level: focus}`` in level order
    and ``specialised`` when any offer is."""
    rows = [service_row(row) for row in store.run("services", {"area": area_param(store, area)})]
    rows.sort(key=lambda r: r["id"])
    return rows


def service_row(row: Row) -> Row:
    """One row of the ``services`` query (or of ``services_table``) as ``services`` gives it."""
    offers = {level: focus for level, focus in row["offers"] if level is not None}
    shaped = {key: value for key, value in row.items() if key != "offers"}
    return {
        **shaped,
        "areas": list(row["areas"]),
        "covers": ids(row["covers"]),
        "stages": sorted(row["stages"], key=stage_order),
        "offers": dict(sorted(offers.items(), key=lambda item: level_rank(item[0]))),
        "specialised": "specialised" in offers.values(),
    }


def services_table(store: GraphStore, area: str | None = None) -> Any:
    """The ``services`` query's rows as one ``pyarrow.Table`` by id, unshaped: ``offers`` a list
    of [level, focus] (``service_row`` shapes a row as ``services`` does). For selecting among a
    national catalogue (50,000 services) with no Python row per service."""
    return _by_id(store, "services", area)


def network_services_table(store: GraphStore, area: str | None = None) -> Any:
    """What the network selects services by, as one ``pyarrow.Table`` by id: id, status,
    covers, stages and offers (a list of [level, focus]) of every service (of the LA's, with
    ``area``); ``services_by_id`` gives the whole rows of those drawn."""
    return _by_id(store, "network_services", area)


def _by_id(store: GraphStore, query: str, area: str | None) -> Any:
    """The rows of a query over services (of the LA's, with ``area``) as one ``pyarrow.Table``
    sorted by id."""
    import pyarrow.compute as pc

    table = store.run_table(query, {"area": area_param(store, area)})
    if table.num_rows == 0:  # (engines building Arrow from rows give no columns then)
        return table
    return table.take(pc.sort_indices(table, sort_keys=[("id", "ascending")])).combine_chunks()


def services_by_id(store: GraphStore, wanted: list[str]) -> list[Row]:
    """The rows ``services`` gives for the services ``wanted`` (ids), in that order; an id no
    service has is left out."""
    found = {
        row["id"]: service_row(row) for row in store.run("services_by_id", {"ids": list(wanted)})
    }
    return [found[service] for service in wanted if service in found]
