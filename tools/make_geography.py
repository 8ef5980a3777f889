"""Rebuild nestmap's bundled ONS geography (lookups and boundaries) from public ONS extracts.

Not run by nestmap or its tests: it documents, and can repeat, how the bundled files were made.
Inputs are files of two public GitHub repositories that republish ONS Open Geography products
(Open Government Licence v3.0), read with ``git show`` from local mirrors:

- ``henryjameslau/geoportal-boundaries-as-topojson`` (TopoJSON of ONS boundary files):
  ``outputs/Local_Authority_Districts_December_2024_Boundaries_UK_BUC.json``,
  ``outputs/Integrated_Care_Boards_April_2023_EN_BSC.json``,
  ``outputs/Local_Health_Boards_December_2023_WA_BUC.json``;
- ``ONSvisual/geo-scripts``: ``output/lists/ltla25.csv`` (LAD April 2025 codes and names);
- ``ONSvisual/uk-topojson``: ``input/changes.csv`` (LA mergers and recodings 2018-2025).

Usage: ``python tools/make_geography.py BOUNDARIES_GIT GEO_SCRIPTS_GIT UK_TOPOJSON_GIT``.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "nestmap" / "geography" / "data"
ASSETS = ROOT / "nestmap" / "geography" / "data"
# LAD April 2025 recoded two Dec 2024 districts after a small boundary change between them; the
# Dec 2024 outlines are the latest published at ultra-generalised resolution, so they are used.
RECODED_2025 = {"E08000016": "E08000038", "E08000019": "E08000039"}
TOLERANCE = 0.0015  # degrees (~100-170 m): invisible at a region's scale
DECIMALS = 4


def git_show(repo: str, path: str) -> str:
    out = subprocess.run(["git", "-C", repo, "show", f"HEAD:{path}"], capture_output=True)
    out.check_returncode()
    return out.stdout.decode("utf-8-sig")


def topo_features(topology: dict) -> list[dict]:
    """GeoJSON-like features (rings as lists of (lon, lat)) from a quantised TopoJSON."""
    scale, translate = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * scale[0] + translate[0], y * scale[1] + translate[1]))
        arcs.append(points)

    def ring(indexes: list[int]) -> list[tuple[float, float]]:
        points: list[tuple[float, float]] = []
        for index in indexes:
            arc = arcs[index] if index >= 0 else arcs[~index][::-1]
            points.extend(arc if not points else arc[1:])
        return points

    (layer,) = topology["objects"].values()
    features = []
    for geometry in layer["geometries"]:
        if geometry["type"] == "Polygon":
            polygons = [[ring(r) for r in geometry["arcs"]]]
        elif geometry["type"] == "MultiPolygon":
            polygons = [[ring(r) for r in polygon] for polygon in geometry["arcs"]]
        else:
            continue
        features.append({"properties": geometry["properties"], "polygons": polygons})
    return features


def simplify(points: list, tolerance: float) -> list:
    """Douglas-Peucker, iterative; keeps the first and last point."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = (dx * dx + dy * dy) ** 0.5
        best, index = 0.0, None
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                distance = ((px - x1) ** 2 + (py - y1) ** 2) ** 0.5
            else:
                distance = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            if distance > best:
                best, index = distance, i
        if index is not None and best > tolerance:
            keep[index] = True
            stack.extend([(first, index), (index, last)])
    return [p for p, k in zip(points, keep, strict=True) if k]


def clean_ring(points: list) -> list | None:
    kept = simplify(points, TOLERANCE)
    rounded = []
    for x, y in kept:
        point = [round(x, DECIMALS), round(y, DECIMALS)]
        if not rounded or rounded[-1] != point:
            rounded.append(point)
    if rounded[0] != rounded[-1]:
        rounded.append(rounded[0])
    return rounded if len(rounded) >= 4 else None


def geometry(polygons: list) -> dict:
    out = []
    for polygon in polygons:
        outer = clean_ring(polygon[0])
        if outer is None:
            continue
        holes = [r for r in (clean_ring(h) for h in polygon[1:]) if r]
        out.append([outer, *holes])
    return {"type": "MultiPolygon", "coordinates": out}


def inside(point: tuple[float, float], polygons: list) -> bool:
    x, y = point
    hit = False
    for polygon in polygons:
        for ring in polygon:
            for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
                if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
                    hit = not hit
    return hit


def bbox(polygons: list) -> tuple[float, float, float, float]:
    xs = [p[0] for polygon in polygons for p in polygon[0]]
    ys = [p[1] for polygon in polygons for p in polygon[0]]
    return min(xs), min(ys), max(xs), max(ys)


def best_fit(lad: dict, regions: list[dict]) -> tuple[str, float]:
    """The region holding most of a grid of points inside the LAD, and that share."""
    x0, y0, x1, y1 = bbox(lad["polygons"])
    counts: dict[str, int] = {}
    total = 0
    steps = 40
    for i in range(steps):
        for j in range(steps):
            point = (x0 + (i + 0.5) * (x1 - x0) / steps, y0 + (j + 0.5) * (y1 - y0) / steps)
            if not inside(point, lad["polygons"]):
                continue
            total += 1
            for region in regions:
                rx0, ry0, rx1, ry1 = region["bbox"]
                if rx0 <= point[0] <= rx1 and ry0 <= point[1] <= ry1:
                    if inside(point, region["polygons"]):
                        code = region["properties"]["AREACD"]
                        counts[code] = counts.get(code, 0) + 1
                        break
    code = max(counts, key=counts.__getitem__)
    return code, counts[code] / max(total, 1)


def main(boundaries_git: str, geo_scripts_git: str, uk_topojson_git: str) -> None:
    names25 = {
        row["areacd"]: row["areanm"]
        for row in csv.DictReader(io.StringIO(git_show(geo_scripts_git, "output/lists/ltla25.csv")))
        if row["areacd"][0] in "EW"
    }
    lads = [
        f
        for f in topo_features(
            json.loads(
                git_show(
                    boundaries_git,
                    "outputs/Local_Authority_Districts_December_2024_Boundaries_UK_BUC.json",
                )
            )
        )  # noqa: E501
        if f["properties"]["AREACD"][0] in "EW"
    ]
    for lad in lads:
        lad["code"] = RECODED_2025.get(lad["properties"]["AREACD"], lad["properties"]["AREACD"])
    assert {lad["code"] for lad in lads} == set(names25), "LAD 2024 outlines != LAD 2025 codes"
    icbs = topo_features(
        json.loads(
            git_show(boundaries_git, "outputs/Integrated_Care_Boards_April_2023_EN_BSC.json")
        )
    )  # noqa: E501
    lhbs = topo_features(
        json.loads(
            git_show(boundaries_git, "outputs/Local_Health_Boards_December_2023_WA_BUC.json")
        )
    )  # noqa: E501
    for region in icbs + lhbs:
        region["bbox"] = bbox(region["polygons"])
    region_names = {r["properties"]["AREACD"]: r["properties"]["AREANM"] for r in icbs + lhbs}

    rows = []
    for lad in sorted(lads, key=lambda f: f["code"]):
        pool = icbs if lad["code"].startswith("E") else lhbs
        parent, share = best_fit(lad, pool)
        rows.append(
            {"code": lad["code"], "name": names25[lad["code"]], "region_code": parent,
             "region_name": region_names[parent], "share": f"{share:.2f}"}
        )  # fmt: skip
    DATA.mkdir(parents=True, exist_ok=True)
    with (DATA / "local_authorities.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with (DATA / "regions.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["code", "name", "kind"])
        for code in sorted(region_names):
            kind = "integrated_care_board" if code.startswith("E54") else "local_health_board"
            writer.writerow([code, region_names[code], kind])

    changes = list(csv.DictReader(io.StringIO(git_show(uk_topojson_git, "input/changes.csv"))))
    successors = {}
    for row in changes:
        if row["type"] in ("merger", "new_code") and row["oldcd"][:3] in (
            "E06",
            "E07",
            "E08",
            "E09",
            "W06",
        ):  # noqa: E501
            successors[row["oldcd"]] = (row["oldnm"], row["newcd"], row["start"])
    with (DATA / "successors.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["old_code", "old_name", "new_code", "year"])
        for old in sorted(successors):
            name, new, year = successors[old]
            while new in successors:  # follow a chain to the current code
                new, year = successors[new][1], successors[new][2]
            assert new in names25, (old, new)
            writer.writerow([old, name, new, year])

    features = []
    for lad in sorted(lads, key=lambda f: f["code"]):
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": lad["code"],
                    "name": names25[lad["code"]],
                    "kind": "local_authority",
                },
                "geometry": geometry(lad["polygons"]),
            }
        )  # noqa: E501
    for region in sorted(icbs + lhbs, key=lambda f: f["properties"]["AREACD"]):
        code = region["properties"]["AREACD"]
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": region_names[code], "kind": "region"},
                "geometry": geometry(region["polygons"]),
            }
        )  # noqa: E501
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    (ASSETS / "boundaries_ew.geojson").write_text(text, encoding="utf-8")
    print(f"{len(rows)} LAs, {len(region_names)} regions, {len(successors)} old codes, "
          f"boundaries {len(text) / 1e6:.2f} MB")  # fmt: skip


if __name__ == "__main__":
    main(*sys.argv[1:4])
