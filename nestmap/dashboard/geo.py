"""The bundled ONS local-authority boundaries (Wales), read once per process.

Source and licence: ``assets/ATTRIBUTION``. Only polygons' outer rings are drawn (the
super-generalised Welsh boundaries have no holes that matter at this scale).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

BOUNDARIES_FILE = "wales_lad_bsc2016_onsvisual.geojson"
ATTRIBUTION = (
    "Boundaries: Source: Office for National Statistics licensed under the Open Government "
    "Licence v.3.0. Contains OS data © Crown copyright and database right."
)

Point = tuple[float, float]


@dataclass(frozen=True)
class Boundary:
    code: str
    name: str
    rings: tuple[tuple[Point, ...], ...]

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat)."""
        lons = [p[0] for ring in self.rings for p in ring]
        lats = [p[1] for ring in self.rings for p in ring]
        return (min(lons), min(lats), max(lons), max(lats))

    @property
    def centre(self) -> Point:
        """The middle of the largest ring's bounding box (where the label goes)."""
        ring = max(self.rings, key=len)
        lons = [p[0] for p in ring]
        lats = [p[1] for p in ring]
        return ((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)


@lru_cache(maxsize=1)
def boundaries() -> dict[str, Boundary]:
    """Every bundled boundary by ONS code."""
    source = resources.files("nestmap.dashboard") / "assets" / BOUNDARIES_FILE
    data = json.loads(source.read_text(encoding="utf-8"))
    found: dict[str, Boundary] = {}
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        rings = tuple(tuple((x, y) for x, y in polygon[0]) for polygon in polygons)
        code = feature["properties"]["areacd"]
        found[code] = Boundary(code, feature["properties"]["areanm"], rings)
    return found
