"""The Map page draws English regions from the bundled ONS boundaries: synthetic datasets on the
real codes of one Integrated Care Board's local authorities (tests/data/england_bsw), and of
three Cambridgeshire councils, one lying inside another (tests/data/england_cambs)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import load_into
from test_dashboard_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, Dashboard, _open

from nestmap.geography.boundaries import boundaries, region_boundaries

ENGLAND = Path(__file__).parent / "data" / "england_bsw"
LAS = {
    "E06000022": "Bath and North East Somerset",
    "E06000030": "Swindon",
    "E06000054": "Wiltshire",
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def test_every_la_of_the_english_region_has_a_bundled_boundary():
    shapes = boundaries()
    for code, name in LAS.items():
        assert shapes[code].name == name
        x0, y0, x1, y1 = shapes[code].bbox
        assert -2.8 < x0 < x1 < -1.4 and 50.9 < y0 < y1 < 51.8  # the West of England
    assert "E54000040" in region_boundaries()


def test_the_map_draws_an_english_region(tmp_path_factory):
    with _map_page(tmp_path_factory, ENGLAND, "map") as tab:
        chart = tab.locator('[data-testid="stPlotlyChart"]').first
        # Every LA is drawn with its label; none is reported as missing a boundary.
        shown = " | ".join(label[0] for label in _labels(chart))
        for name in LAS.values():
            assert name in shown, shown
        assert tab.get_by_text("No bundled boundary").count() == 0
        tab.get_by_text("Dark outline: NHS Bath and North East Somerset").first.wait_for()
        tab.screenshot(path=str(ARTIFACTS / "map-england.png"), full_page=True)


@contextmanager
def _map_page(tmp_path_factory, dataset: Path, address: str) -> Iterator[Any]:
    """A browser tab on the Map page (``address``) of a dashboard serving ``dataset``, its
    map drawn with its labels."""
    from playwright.sync_api import sync_playwright

    workdir = tmp_path_factory.mktemp(dataset.name)
    load_into(workdir / "graph.lbug", dataset).close()
    server = Dashboard(workdir / "graph.lbug", workdir)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            tab = chromium.new_page(viewport={"width": 1440, "height": 1000})
            tab.set_default_timeout(90_000)  # a busy machine: a first draw can take a while
            _open(tab, server.url, address, ["Colour by", "Office for National Statistics"])
            chart = tab.locator('[data-testid="stPlotlyChart"]').first
            chart.wait_for(state="visible")
            chart.locator(".textpoint text").first.wait_for(state="visible")
            chart.scroll_into_view_if_needed()
            tab.wait_for_timeout(1000)
            yield tab
            chromium.close()
    finally:
        server.stop()


CAMBS = Path(__file__).parent / "data" / "england_cambs"
COUNCILS = {
    "E07000008": "Cambridge",
    "E07000009": "East Cambridgeshire",
    "E07000012": "South Cambridgeshire",
}
# Gap cells per council in tests/data/england_cambs (the map's shade of each).
GAP_CELLS = {"E07000008": 3, "E07000009": 8, "E07000012": 7}
TO_PIXELS = """([lon, lat]) => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')].find(
    p => p._fullLayout && p._fullLayout.xaxis && p._fullLayout.xaxis.visible === false);
  const box = plot.getBoundingClientRect();
  const x = plot._fullLayout.xaxis, y = plot._fullLayout.yaxis;
  return [box.left + x._offset + x.l2p(lon), box.top + y._offset + y.l2p(lat)];
}"""


def _labels(chart) -> list[list]:
    """The map's labels as drawn: [text with its lines joined by spaces, left, top, right,
    bottom] on the page."""
    return chart.locator(".textpoint text").evaluate_all(
        """nodes => nodes.map(n => {
             const lines = [...n.querySelectorAll('tspan.line')].map(t => t.textContent);
             const b = n.getBoundingClientRect();
             return [lines.length ? lines.join(' ') : n.textContent,
                     b.left, b.top, b.right, b.bottom];
           })"""
    )


def _inside_points(code: str, steps: int = 9) -> list[tuple[float, float]]:
    """Points of a grid over the council well inside it (away from its outline, drawn thick
    when it is the chosen one), in no hole of it."""
    from nestmap.geography.drawing import inside

    shape = boundaries()[code]
    x0, y0, x1, y1 = shape.bbox
    grid = [
        (x0 + (x1 - x0) * (i + 0.5) / steps, y0 + (y1 - y0) * (j + 0.5) / steps)
        for i in range(steps)
        for j in range(steps)
    ]
    rings = [*shape.rings, *shape.holes]
    dx, dy = (x1 - x0) / 8, (y1 - y0) / 8
    return [
        (x, y)
        for x, y in grid
        if all(inside((x + a, y + b), rings) for a in (-dx, 0, dx) for b in (-dy, 0, dy))
    ]


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def test_a_council_inside_another_is_drawn_and_named(tmp_path_factory):
    """Cambridge lies wholly inside South Cambridgeshire: on the Map page (Cambridge chosen in
    the sidebar) Cambridge's interior shows Cambridge's own shade (or its label), none of it
    South Cambridgeshire's; the three labels are on screen and no two overlap; the report's map has
    Cambridge on top (what the browser finds at points inside Cambridge is Cambridge)."""
    from PIL import Image

    from nestmap import colours
    from nestmap.report import build_report

    store = load_into(tmp_path_factory.mktemp("report") / "graph.lbug", CAMBS)
    report = build_report(store, Path(store.location).with_name("report.html"))
    store.close()
    with _map_page(tmp_path_factory, CAMBS, "map?la=E07000008") as tab:
        tab.get_by_text("chosen in the sidebar").first.wait_for()
        chart = tab.locator('[data-testid="stPlotlyChart"]').first
        picture = ARTIFACTS / "map-cambridge.png"
        tab.screenshot(path=str(picture))
        labels = _labels(chart)
        assert sorted(label[0] for label in labels) == [
            "Cambridge 3",
            "East Cambridgeshire 8",
            "South Cambridgeshire 7",
        ]
        for a, b in itertools.combinations(labels, 2):
            apart = a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2]
            assert apart, (a, b)
        image = Image.open(picture).convert("RGB")
        most = max(GAP_CELLS.values())
        own = _rgb(colours.sequential(GAP_CELLS["E07000008"], most))
        south = _rgb(colours.sequential(GAP_CELLS["E07000012"], most))
        seen = [
            image.getpixel(tuple(round(v) for v in tab.evaluate(TO_PIXELS, list(point))))
            for point in _inside_points("E07000008")
        ]
        near = [max(abs(a - b) for a, b in zip(pixel, own, strict=True)) <= 8 for pixel in seen]
        # The rest are Cambridge's label and its halo.
        assert sum(near) >= 4, (own, seen)
        assert not any(
            max(abs(a - b) for a, b in zip(pixel, south, strict=True)) <= 8 for pixel in seen
        ), seen
        # The report's map, in the same browser.
        tab.goto(report.as_uri())
        drawing = tab.locator('svg[aria-label^="Map"]').first
        drawing.scroll_into_view_if_needed()
        drawing.screenshot(path=str(ARTIFACTS / "report-map-cambridge.png"))
        for name in COUNCILS.values():
            drawing.locator("tspan", has_text=name).first.wait_for(state="visible")
        found = drawing.evaluate(
            """(svg, points) => points.map(([fx, fy]) => {
                 const b = svg.getBoundingClientRect();
                 const hit = document.elementFromPoint(
                   b.left + fx * b.width, b.top + fy * b.height);
                 return hit.tagName === 'path' ? hit.querySelector('title').textContent
                                               : hit.tagName;
               })""",
            _report_points(drawing),
        )
        # Where a point is not on the label's text, the area found there is Cambridge.
        areas = [title for title in found if title not in ("text", "tspan")]
        assert len(areas) >= 3 and all(t.startswith("Cambridge:") for t in areas), found


def _report_points(drawing) -> list[tuple[float, float]]:
    """Cambridge's interior points as shares of the report map's drawn box: the SVG's own
    coordinates, read from Cambridge's path."""
    return drawing.evaluate(
        """svg => {
             const path = [...svg.querySelectorAll('path')].find(
               p => p.querySelector('title')?.textContent.startsWith('Cambridge:'));
             const view = svg.viewBox.baseVal, b = path.getBBox(), out = [];
             for (let i = 1; i < 6; i++) for (let j = 1; j < 6; j++) {
               const pt = svg.createSVGPoint();
               pt.x = b.x + b.width * i / 6; pt.y = b.y + b.height * j / 6;
               if (path.isPointInFill(pt)) out.push([pt.x / view.width, pt.y / view.height]);
             }
             return out;
           }"""
    )
