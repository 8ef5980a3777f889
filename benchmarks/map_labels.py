"""How long the maps take to draw with their labels placed (nestmap.geography.drawing): the
dashboard's plotly map (first draw, then the same map again: labels kept per process) and the
report's SVG, for a few real regions of the bundled boundaries.

    python benchmarks/map_labels.py
"""

from __future__ import annotations

import time

from nestmap.dashboard.maps import area_map
from nestmap.geography.boundaries import boundaries
from nestmap.report.svg import region_map

REGIONS = {
    "Cambridge and its neighbours": ["E07000008", "E07000009", "E07000012"],
    "Cwm Taf Morgannwg": ["W06000013", "W06000016", "W06000024"],
    "London boroughs": [code for code in boundaries() if code.startswith("E09")],
    "Wales": [code for code in boundaries() if code.startswith("W06")],
    "England and Wales (no labels above 40)": list(boundaries()),
}


def main() -> None:
    for name, codes in REGIONS.items():
        values = {code: index % 9 for index, code in enumerate(codes)}
        started = time.perf_counter()
        drawing = area_map(values, {}, "gap cells")
        first = time.perf_counter() - started
        started = time.perf_counter()
        area_map(values, {}, "gap cells")
        again = time.perf_counter() - started
        started = time.perf_counter()
        region_map(boundaries(), values, {}, 8, "gap cells")
        report = time.perf_counter() - started
        print(
            f"{name} ({len(codes)} areas): dashboard map {first:.2f} s, again {again:.2f} s, "
            f"{len(drawing.unlabelled)} too small to name; report map {report:.2f} s"
        )


if __name__ == "__main__":
    main()
