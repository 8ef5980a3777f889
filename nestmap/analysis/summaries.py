"""Lookups over the loaded dataset (local authorities, names, referral links) for pages and
reports; the figures built on the analyses' kept answers are in ``nestmap.answers.summaries``.
"""

from __future__ import annotations

from typing import Any

from nestmap.analysis._shape import Row
from nestmap.analysis.core import _local_authorities
from nestmap.graph import GraphStore


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
            "source": row["source"],
        }
        for row in store.run("export_referrals")
    ]
    rows.sort(key=lambda r: (r["from_service"], r["to_service"], r["reason"]))
    return rows


def referral_links_table(store: GraphStore) -> Any:
    """``referral_links`` as a ``pyarrow.Table`` (from_service, to_service, reason, count as
    int64 with nulls, source), in the same order, with no Python row per link."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = ("from_service", "to_service", "reason", "count", "source")
    types = (pa.string(), pa.string(), pa.string(), pa.int64(), pa.string())
    found = store.run_table("export_referrals")
    if found.num_rows == 0:  # engines building Arrow from rows give no columns then
        return pa.table({c: pa.array([], t) for c, t in zip(columns, types, strict=True)})
    found = pa.table({c: pc.cast(found.column(c), t) for c, t in zip(columns, types, strict=True)})
    order = [(c, "ascending") for c in columns[:3]]
    return found.take(pc.sort_indices(found, sort_keys=order)).combine_chunks()
