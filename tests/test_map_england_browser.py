"""The Map page draws an English region from the bundled ONS boundaries: a synthetic dataset on
the real codes of one Integrated Care Board's local authorities (tests/data/england_bsw)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_into
from test_dashboard_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, Dashboard, _open

from nestmap.dashboard.geo import boundaries, region_boundaries

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
    from playwright.sync_api import sync_playwright

    workdir = tmp_path_factory.mktemp("england")
    load_into(workdir / "graph.lbug", ENGLAND).close()
    server = Dashboard(workdir / "graph.lbug", workdir)
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            tab = chromium.new_page(viewport={"width": 1440, "height": 1000})
            tab.set_default_timeout(30_000)
            _open(tab, server.url, "map", ["Colour by", "Office for National Statistics"])
            chart = tab.locator('[data-testid="stPlotlyChart"]').first
            chart.wait_for(state="visible")
            # Every LA is drawn with its label; none is reported as missing a boundary.
            for name in LAS.values():
                chart.get_by_text(name, exact=False).first.wait_for(state="visible")
            assert tab.get_by_text("No bundled boundary").count() == 0
            tab.get_by_text("Dark outline: NHS Bath and North East Somerset").first.wait_for()
            ARTIFACTS.mkdir(exist_ok=True)
            chart.scroll_into_view_if_needed()
            tab.screenshot(path=str(ARTIFACTS / "map-england.png"), full_page=True)
            chromium.close()
    finally:
        server.stop()
