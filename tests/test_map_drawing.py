"""Maps that hide nothing: a council lying wholly inside another (Cambridge inside South
Cambridgeshire) is drawn on top of it, every label sits inside its own area and clear of the
others, in the dashboard's plotly maps and the report's SVG alike (tests/data/england_cambs)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from conftest import load_into

from nestmap import colours
from nestmap.dashboard.maps import area_map, number, whole_ticks
from nestmap.geography.boundaries import Boundary, boundaries
from nestmap.geography.drawing import (
    Lettering,
    drawing_order,
    enclosed,
    inside,
    place_labels,
    pole_of_inaccessibility,
    wordings,
)
from nestmap.report import build_report
from nestmap.report.svg import region_map

CAMBS = Path(__file__).parent / "data" / "england_cambs"
CAMBRIDGE, EAST, SOUTH = "E07000008", "E07000009", "E07000012"
SEED = {"W06000013": "Bridgend", "W06000016": "Rhondda Cynon Taf", "W06000024": "Merthyr Tydfil"}
NAMES = {CAMBRIDGE: "Cambridge", EAST: "East Cambridgeshire", SOUTH: "South Cambridgeshire"}


def square(code: str, x0: float, y0: float, size: float, holes=()) -> Boundary:
    ring = ((x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0))
    return Boundary(code, code, (ring,), tuple(holes))


def test_the_bundled_boundaries_keep_south_cambridgeshires_hole():
    shapes = boundaries()
    assert shapes[SOUTH].holes and not shapes[CAMBRIDGE].holes
    # Cambridge fills the hole: its interior point lies in it.
    assert inside(shapes[CAMBRIDGE].rings[0][3], shapes[SOUTH].rings)


def test_smaller_areas_are_drawn_last():
    shapes = boundaries()
    assert drawing_order(shapes, [CAMBRIDGE, SOUTH, EAST]) == [SOUTH, EAST, CAMBRIDGE]
    big, small = square("big", 0, 0, 10), square("small", 4, 4, 2)
    assert drawing_order({"big": big, "small": small}, ["small", "big"]) == ["big", "small"]


def test_an_enclave_without_a_hole_is_found_inside_its_district():
    big, small, beside = square("big", 0, 0, 10), square("small", 4, 4, 2), square("x", 20, 0, 2)
    shapes = {"big": big, "small": small, "x": beside}
    assert enclosed(shapes, "big", ["small", "x"]) == ["small"]
    assert enclosed(shapes, "small", ["big"]) == []
    # Cambridge sits in South Cambridgeshire's hole: already cut out, unless asked for.
    assert enclosed(boundaries(), SOUTH, [CAMBRIDGE]) == []
    assert enclosed(boundaries(), SOUTH, [CAMBRIDGE], holes_too=True) == [CAMBRIDGE]


def test_the_pole_is_inside_a_ring_shaped_area():
    """A square with a hole in its middle: the bounding box's centre is in the hole; the pole
    of inaccessibility is in the ring."""
    hole = ((4, 4), (4, 6), (6, 6), (6, 4), (4, 4))
    donut = square("donut", 0, 0, 10, [hole])
    x, y = pole_of_inaccessibility([*donut.rings, *donut.holes], 0.01)
    assert inside((x, y), [*donut.rings, *donut.holes])
    assert not (4 <= x <= 6 and 4 <= y <= 6)


def _boxes(labels, lettering: Lettering, middle: float):
    import math

    k = math.cos(math.radians(middle))
    found = {}
    for code, label in labels.items():
        hw, hh = lettering.box(label.lines)
        x, y = label.point[0] * k, label.point[1]
        found[code] = (x - hw, y - hh, x + hw, y + hh)
    return found


@pytest.mark.parametrize("per_degree", [300, 700, 1400, 2500])
@pytest.mark.parametrize("region", ["cambs", "seed"])
def test_labels_sit_inside_their_own_area_and_never_overlap(region, per_degree):
    shapes = boundaries()
    codes = list(NAMES) if region == "cambs" else list(SEED)
    names = NAMES if region == "cambs" else SEED
    middle = 52.3 if region == "cambs" else 51.65
    lettering = Lettering(13, per_degree)
    texts = {code: wordings(names[code], "12") for code in codes}
    labels = place_labels(shapes, texts, lettering, middle)
    for code, label in labels.items():
        shape = shapes[code]
        assert inside(label.point, [*shape.rings, *shape.holes]), code
        for other in codes:  # not on an area drawn over this one
            if other != code and drawing_order(shapes, [code, other])[-1] == other:
                assert not inside(label.point, shapes[other].rings), (code, other)
    for (a, box_a), (b, box_b) in itertools.combinations(
        _boxes(labels, lettering, middle).items(), 2
    ):
        assert (
            box_a[2] < box_b[0] or box_b[2] < box_a[0] or box_a[3] < box_b[1] or box_b[3] < box_a[1]
        ), (a, b)
    if per_degree >= 1400:  # at the dashboard's scale every area has its label, name and all
        assert set(labels) == set(codes) and all(label.named for label in labels.values())


def test_south_cambridgeshires_label_is_not_on_cambridge():
    """At its bounding box's centre the label would sit on Cambridge (within Cambridge's own
    bounding box: the two labels stacked 15 px apart)."""
    shapes = boundaries()
    x0, y0, x1, y1 = shapes[SOUTH].bbox
    c0, d0, c1, d1 = shapes[CAMBRIDGE].bbox
    assert c0 < (x0 + x1) / 2 < c1 and d0 < (y0 + y1) / 2 < d1
    labels = place_labels(
        shapes, {c: wordings(n, "7") for c, n in NAMES.items()}, Lettering(13, 1000), 52.3
    )
    assert not inside(labels[SOUTH].point, shapes[CAMBRIDGE].rings)
    assert inside(labels[CAMBRIDGE].point, shapes[CAMBRIDGE].rings)


def test_a_label_too_big_for_its_area_falls_back_and_then_goes():
    shapes = {"big": square("big", 0, 0, 1), "tiny": square("tiny", 0.45, 0.45, 0.02)}
    texts = {"big": wordings("A long district name", "9"), "tiny": wordings("Townsville", "3")}
    labels = place_labels(shapes, texts, Lettering(13, 600), 0.0)
    assert labels["big"].lines == ("A long district name", "9") and labels["big"].named
    assert "tiny" not in labels or not labels["tiny"].named
    assert not inside(labels["big"].point, shapes["tiny"].rings)


def _trace_names(figure) -> list[str]:
    return [trace.text.split("<br>")[0] for trace in figure.data if trace.fill and trace.text]


def test_the_dashboard_map_draws_cambridge_over_south_cambridgeshire():
    values = {CAMBRIDGE: 3, EAST: 8, SOUTH: 7}
    drawing = area_map(values, NAMES, "gap cells", selected=CAMBRIDGE)
    drawn = _trace_names(drawing.figure)
    assert drawn == [
        "<b>South Cambridgeshire</b>",
        "<b>East Cambridgeshire</b>",
        "<b>Cambridge</b>",
    ]
    labels = next(t for t in drawing.figure.data if t.mode == "text")
    assert sorted(labels.text) == [
        "Cambridge<br>3",
        "East Cambridgeshire<br>8",
        "South Cambridgeshire<br>7",
    ]
    assert drawing.unlabelled == []
    # Black on Cambridge's light shade, white on East Cambridgeshire's dark one, each haloed.
    inks = dict(zip((t.split("<br>")[0] for t in labels.text), labels.textfont.color, strict=True))
    assert inks["Cambridge"] == colours.INK and inks["East Cambridgeshire"] == colours.PAPER
    assert all(shadow for shadow in labels.textfont.shadow)
    # The chosen LA is outlined (cased: a wide dark line under a narrow light one).
    lines = [t for t in drawing.figure.data if t.mode == "lines" and not t.fill]
    assert [(t.line.color, t.line.width) for t in lines[-2:]] == [
        (colours.INK, 6.0),
        (colours.PAPER, 2.2),
    ]
    # Whole-number ticks for a count.
    bar = drawing.figure.data[-1].marker.colorbar
    assert list(bar.tickvals) == [0, 2, 4, 6, 8] and all(
        float(t).is_integer() for t in bar.tickvals
    )


def test_a_city_outside_the_dataset_is_still_drawn_over_its_district():
    """Only South Cambridgeshire in the dataset: Cambridge is grey context, drawn after it."""
    drawing = area_map({SOUTH: 4}, NAMES, "gap cells")
    fills = [t for t in drawing.figure.data if t.fill]
    south = next(i for i, t in enumerate(fills) if t.text and "South" in t.text)
    assert south < len(fills) - 1  # a context trace (holding Cambridge) comes after it
    last = fills[-1]
    xs = [x for x in last.x if x is not None]
    ring = boundaries()[CAMBRIDGE].rings[0]
    assert [p[0] for p in ring] == xs[: len(ring)]


def test_the_scenario_map_shows_good_news_blue_and_whole_ticks():
    values = {CAMBRIDGE: 3, EAST: 0, SOUTH: -1}
    drawing = area_map(values, NAMES, "gap cells closed", scale="change")
    fills = {t.text.split("<br>")[0]: t.fillcolor for t in drawing.figure.data if t.fill and t.text}
    blue = fills["<b>Cambridge</b>"]
    assert int(blue[5:7], 16) > int(blue[1:3], 16)  # more blue than red
    assert fills["<b>East Cambridgeshire</b>"] == "#f7f7f7"
    red = fills["<b>South Cambridgeshire</b>"]
    assert int(red[1:3], 16) > int(red[5:7], 16)
    bar = drawing.figure.data[-1].marker
    assert (bar.cmin, bar.cmax) == (-3, 3)
    assert list(bar.colorbar.tickvals) == [-3, -2, -1, 0, 1, 2, 3]


def test_whole_ticks_and_numbers():
    assert whole_ticks(0, 1) == [0, 1]
    assert whole_ticks(0, 0.5) == [0]
    assert whole_ticks(0, 15) == [0, 5, 10, 15]
    assert whole_ticks(-12, 12) == [-10, -5, 0, 5, 10]
    assert whole_ticks(0, 2962)[-1] == 2500
    assert number(None, True) == "not recorded"
    assert number(1234.0, True) == "1,234" and number(12.25, False) == "12.2"


def test_the_report_map_draws_cambridge_on_top_with_its_name(tmp_path):
    svg = str(region_map(boundaries(), {CAMBRIDGE: 3, EAST: 8, SOUTH: 7}, NAMES, 8, "gap cells"))
    titles = re.findall(r"<title>([^<:]+):", svg)
    assert titles[1:] == ["South Cambridgeshire", "East Cambridgeshire", "Cambridge"]
    assert 'fill-rule="evenodd"' in svg
    texts = re.findall(r"<tspan[^>]*>([^<]+)</tspan>", svg)
    assert {"Cambridge", "South Cambridgeshire", "East Cambridgeshire"} <= set(texts)
    assert "Too small" not in svg
    # Built from a loaded dataset, the report's map is the same.
    store = load_into(tmp_path / "graph.lbug", CAMBS)
    report = build_report(store, tmp_path / "report.html").read_text(encoding="utf-8")
    store.close()
    drawn = report[report.index('aria-label="Map: gap cells') :]
    assert re.findall(r"<title>([^<:]+):", drawn)[1:4] == [
        "South Cambridgeshire",
        "East Cambridgeshire",
        "Cambridge",
    ]


def test_the_report_map_names_areas_too_small_for_a_label():
    shapes = {"big": square("big", 0, 0, 1), "tiny": square("tiny", 0.45, 0.45, 0.004)}
    svg = str(region_map(shapes, {"big": 2, "tiny": None}, {"tiny": "Townsville"}, 4, "gap cells"))
    assert "Too small to name on the map: Townsville not recorded" in svg
