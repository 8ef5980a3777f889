"""Turn a validated Dataset into the graph's node and link rows (docs/analyses.md, "The graph").

Both engines write exactly these rows, so the graph is the same whichever engine holds it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nestmap import __version__
from nestmap.loaders.dataset import Dataset
from nestmap.vocabulary import LEVEL_RANK

Rows = list[dict[str, object]]
# Rows, or (links checked column by column: nestmap.loaders.columnar) an Arrow table of them.
Links = Any


@dataclass
class GraphRows:
    areas: Rows
    part_of: Rows
    services: Rows
    levels: Rows
    covers: Rows
    offers: Rows
    refers_to: Links
    staff_posts: Rows
    dataset: dict[str, object]


def graph_rows(dataset: Dataset) -> GraphRows:
    loaded_at = datetime.now(UTC).isoformat(timespec="seconds")
    return GraphRows(
        areas=[
            {
                "code": a.code,
                "name": a.name,
                "kind": a.kind,
                "parent_code": a.parent_code,
                "under2_population": a.under2_population,
                "births_per_year": a.births_per_year,
                "source": a.source,
            }
            for a in dataset.areas
        ],
        part_of=[{"from": a.code, "to": a.parent_code} for a in dataset.areas if a.parent_code],
        services=[
            {
                "id": s.id,
                "name": s.name,
                "provider": s.provider,
                "sector": s.sector,
                "status": s.status,
                "areas": list(s.areas),
                "stages": list(s.stages),
                "min_age_months": s.min_age_months,
                "max_age_months": s.max_age_months,
                "threshold": s.threshold,
                "self_referral": s.self_referral,
                "capacity_per_year": s.capacity_per_year,
                "assesses_relationship": s.assesses_relationship,
                "supports_fathers": s.supports_fathers,
                "source": s.source,
            }
            for s in dataset.services
        ],
        levels=[{"name": name, "rank": rank} for name, rank in LEVEL_RANK.items()],
        covers=[{"from": s.id, "to": code} for s in dataset.services for code in s.covers],
        offers=[
            {
                "from": o.service_id,
                "to": o.level,
                "focus": o.focus,
                "interventions": list(o.interventions),
            }
            for o in dataset.offers
        ],
        refers_to=_refers_to(dataset),
        staff_posts=[
            {
                "id": index,
                "service_id": p.service_id,
                "role": p.role,
                "fte": p.fte,
                "aimh_level": p.aimh_level,
            }
            for index, p in enumerate(dataset.workforce, start=1)
        ],
        dataset={
            "id": "current",
            "name": dataset.name,
            "origin": dataset.origin,
            "loaded_at": loaded_at,
            "file_hashes": json.dumps(dataset.file_hashes, sort_keys=True),
            "nestmap_version": __version__,
            "loaded_by": dataset.loaded_by,
            "about": json.dumps(dataset.about),
        },
    )


def _refers_to(dataset: Dataset) -> Links:
    """The REFERS_TO rows: ``from``, ``to`` and the link's properties; an Arrow table when the
    links were checked as one (a million of them: no Python object per link)."""
    table = getattr(dataset.referrals, "table", None)
    if table is not None:
        names = {"from_service": "from", "to_service": "to"}
        return table.rename_columns([names.get(name, name) for name in table.column_names])
    return [
        {
            "from": r.from_service,
            "to": r.to_service,
            "reason": r.reason,
            "count": r.count,
            "count_basis": r.count_basis,
            "source": r.source,
        }
        for r in dataset.referrals
    ]


def batch(rows: Links, start: int, stop: int) -> Rows:
    """Rows ``start`` to ``stop`` as dicts (from a list or an Arrow table)."""
    if hasattr(rows, "to_pylist"):
        return list(rows.slice(start, stop - start).to_pylist())
    return list(rows[start:stop])
