"""WCAG 2.2 AA in a real browser: axe-core (tests/axe_check.py) finds no violation on any of
the dashboard's thirteen pages - as opened, with a local authority chosen, in presentation
mode, with editing unlocked - nor in the mapping report's HTML.

Each page's screenshot as checked is saved under tests/artifacts/axe-*.png.
"""

from __future__ import annotations

import pytest
from axe_check import described, violations
from conftest import load_into
from test_dashboard_browser import (  # noqa: F401 - fixtures used by name
    ARTIFACTS,
    CHROMIUM,
    _open,
    _settled,
    _unlock_editing,
    browser,
    dashboard,
    page,
)

from nestmap.api import seed_path
from nestmap.dashboard.layout import PAGE_SPECS
from nestmap.report import build_report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
STEMS = [stem for stem, _title, _icon in PAGE_SPECS]


def _checked(tab, name: str) -> list[str]:
    """The page's violations, described (empty when it passes); its screenshot saved."""
    tab.wait_for_timeout(1500)  # charts, the network's iframe and tables drawn
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"axe-{name}.png"), full_page=True)
    found = violations(tab)
    return [f"{name}:\n{described(found)}"] if found else []


def test_axe_can_fail(page):  # noqa: F811
    """The check is real: grey caption text as Streamlit draws it (60% of the text colour on
    white, 4.0:1) is a colour-contrast violation."""
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main>'
        '<p style="color:#1f2933;opacity:0.6">A caption</p></main></body></html>'
    )
    assert [v["id"] for v in violations(page)] == ["color-contrast"]


def test_the_coverage_overview_table_passes_axe(page):  # noqa: F811
    """Above PANELS_AT_MOST local authorities Coverage draws its matrix and age bands as HTML
    tables (figures.Grid): headed rows and columns, labels legible on every cell colour, as
    the page draws them and in presentation mode."""
    from nestmap.dashboard import figures

    rows = [
        {"area_code": f"X{i:02}", "area_name": f"<i>LA</i> {i}", "level": level, "stage": stage,
         "gap": (i + n) % 3 == 0, "specialised_services": [] if (i + n) % 3 == 0 else ["a"],
         "any_services": ["a", "b"] if n % 2 else ["a"] if (i + n) % 3 else []}
        for i in range(figures.PANELS_AT_MOST + 3)
        for n, (level, stage) in enumerate(
            (lv, st) for lv in ("universal", "targeted") for st in ("antenatal", "postnatal")
        )
    ]  # fmt: skip
    grid, _count = figures.coverage_overview(
        rows,
        ["universal", "targeted"],
        ["antenatal", "postnatal"],
        ["specialised", "non_specialised"],
    )
    assert {state for states in grid.states for state in states} == {
        figures.GAP, figures.SPECIALISED, figures.NON_SPECIALISED, figures.NONE
    }  # fmt: skip
    failures: list[str] = []
    for present in (False, True):
        page.set_content(
            '<html lang="en"><head><title>Coverage</title></head><body><main>'
            f"{grid.html(present)}</main></body></html>"
        )
        assert page.locator("td").count() == len(grid.rows) * len(grid.columns)
        failures += _checked(page, f"coverage-grid{'-present' if present else ''}")
    assert not failures, "\n".join(failures)


# A page visit waits this long (ms) for the page to settle: these tests visit many pages, on a
# machine that may be running other tests beside them.
PATIENCE_MS = 120_000


def test_every_dashboard_page_passes_axe(dashboard, page):  # noqa: F811
    page.set_default_timeout(PATIENCE_MS)
    assert len(STEMS) == 13
    failures: list[str] = []
    for stem in STEMS:
        _open(page, dashboard.url, stem, [])
        failures += _checked(page, stem)
    assert not failures, "\n".join(failures)


def test_chosen_area_presentation_mode_and_editing_pass_axe(dashboard, page):  # noqa: F811
    page.set_default_timeout(PATIENCE_MS)
    failures: list[str] = []
    for stem in ("overview", "coverage", "map", "need", "scenarios"):
        _open(page, dashboard.url, f"{stem}?la=W06000024&level=targeted", [])
        failures += _checked(page, f"{stem}-la")
        _open(page, dashboard.url, f"{stem}?present=1", [])
        failures += _checked(page, f"{stem}-present")
    _open(page, dashboard.url, "scenarios", ["Build one"])
    page.get_by_text("Build one").click()
    _settled(page)
    failures += _checked(page, "scenarios-build")
    _open(page, dashboard.url, "data", ["Load a dataset"])
    _unlock_editing(page)
    failures += _checked(page, "data-editor")
    assert not failures, "\n".join(failures)


def test_the_report_passes_axe(browser, tmp_path):  # noqa: F811
    store = load_into(tmp_path / "graph.lbug", seed_path())
    whole = build_report(store, tmp_path / "report.html")
    one = build_report(store, tmp_path / "merthyr.html", area="W06000024")
    store.close()
    tab = browser.new_page(viewport={"width": 1440, "height": 1000})
    try:
        failures: list[str] = []
        for file in (whole, one):
            tab.goto(file.as_uri())
            tab.wait_for_load_state("load")
            failures += _checked(tab, f"report-{file.stem}")
        assert not failures, "\n".join(failures)
    finally:
        tab.close()
