"""The bundled ONS boundaries of every local authority in England and Wales and of the regions
above them (Welsh local health boards, English Integrated Care Boards), read once per process.

Source and licence: ``data/boundaries_ew.ATTRIBUTION``. A polygon's holes are kept apart from
its outer rings: South Cambridgeshire's is Cambridge, which a label must not be placed in
(``nestmap.geography.drawing``). The report's maps and the dashboard's read them alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

BOUNDARIES_FILE = "boundaries_ew.geojson"
ATTRIBUTION = (
    "Boundaries: Source: Office for National Statistics licensed under the Open Government "
    "Licence v.3.0. Contains OS data © Crown copyright and database right 2025."
)

Point = tuple[float, float]


@dataclass(frozen=True)
class Boundary:
    code: str
    name: str
    rings: tuple[tuple[Point, ...], ...]  # outer rings
    holes: tuple[tuple[Point, ...], ...] = ()

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat)."""
        lons = [p[0] for ring in self.rings for p in ring]
        lats = [p[1] for ring in self.rings for p in ring]
        return (min(lons), min(lats), max(lons), max(lats))


@lru_cache(maxsize=1)
def _features() -> tuple[dict[str, Boundary], dict[str, Boundary]]:
    source = resources.files("nestmap.geography") / "data" / BOUNDARIES_FILE
    data = json.loads(source.read_text(encoding="utf-8"))
    found: tuple[dict[str, Boundary], dict[str, Boundary]] = ({}, {})
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        rings = tuple(tuple((x, y) for x, y in polygon[0]) for polygon in polygons)
        holes = tuple(
            tuple((x, y) for x, y in hole) for polygon in polygons for hole in polygon[1:]
        )
        props = feature["properties"]
        kind = 0 if props["kind"] == "local_authority" else 1
        found[kind][props["code"]] = Boundary(props["code"], props["name"], rings, holes)
    return found


def boundaries() -> dict[str, Boundary]:
    """Every bundled local authority boundary (England and Wales) by ONS code."""
    return _features()[0]


def region_boundaries() -> dict[str, Boundary]:
    """Outlines of the Welsh local health boards and English ICBs, by ONS code."""
    return _features()[1]
