"""The workshop in a real browser: Debian's chromium, a real ``streamlit run`` with an editor
secret (test_dashboard_browser.py's server), typing into the Data page's grids.

The whole flow (edit → check → save → coverage changed → undo), two browser contexts saving at
once (the same cell: a conflict; different cells: both changes kept), the scenario builder and
its shared link in a fresh context, presentation mode on a large screen. Screenshots go to
tests/artifacts/; ``NESTMAP_UPDATE_SCREENSHOTS=1`` also rewrites those docs/workshop.md shows.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from test_dashboard_browser import (  # noqa: F401 - the browser fixture is used by name
    ARTIFACTS,
    CHROMIUM,
    EDITOR_SECRET,
    Dashboard,
    _start,
    browser,
)

from nestmap import Graph

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

DOCS = Path(__file__).parent.parent / "docs"
# The pictures docs/workshop.md (and the README) show.
IN_DOCS = {"workshop-edit-problem", "workshop-builder", "workshop-presentation"}


def _picture(tab, stem: str) -> None:
    """A screenshot under tests/artifacts/ (and in docs/ when asked to update them)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{stem}.png"
    tab.screenshot(path=str(path))
    if stem in IN_DOCS and os.environ.get("NESTMAP_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(path, DOCS / path.name)


# The services grid's columns (nestmap/dashboard/editing.py: names beside ids).
SERVICE_COLUMNS = [
    "id",
    "name",
    "provider",
    "sector",
    "status",
    "areas",
    "area_names",
    "stages",
    "min_age_months",
    "max_age_months",
    "threshold",
    "self_referral",
    "capacity_per_year",
]


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    # Each test changes the map: a server and graph of its own.
    dashboard = _start(tmp_path_factory, "workshop")
    yield dashboard
    dashboard.stop()


def _context(launched, width: int = 1440, height: int = 1000):
    context = launched.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.set_default_timeout(45_000)
    return context, tab


def _settled(tab) -> None:
    tab.wait_for_selector('[data-testid="stApp"]', state="attached")
    tab.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
    )
    tab.wait_for_timeout(300)


def _goto(tab, url: str) -> None:
    tab.goto(url)
    _settled(tab)


def _unlock(tab, name: str) -> None:
    tab.get_by_label("Your name (recorded with each change you make)").fill(name)
    tab.get_by_label("Editor secret").fill(EDITOR_SECRET)
    tab.get_by_role("button", name="Unlock editing").click()
    _settled(tab)
    tab.get_by_text("You can change the map").wait_for(state="visible")


def _services_grid(tab):
    tab.get_by_role("tab", name="Services").click()
    # The grid's container is keyed edit_services_<generation> (nestmap/dashboard/editing.py).
    grid = tab.locator('[class*="st-key-edit_services_"] [data-testid="stDataFrame"]').first
    grid.wait_for(state="visible")
    return grid


def _type_into(tab, grid, row: int, column: str, text: str, marked: bool = False) -> None:
    """Select the first id cell, move to (row, column) with the arrow keys, open the cell's
    editor and type over its text; Enter keeps it. ``marked``: the grid starts with the column
    saying what a check found wrong."""
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    # Header and rows are 35 px; the first 30 px or so are the row-selection checkboxes. A
    # grid just drawn (a new generation after a check) takes a click only once hovered.
    tab.mouse.move(box["x"] + 100, box["y"] + 35 + 17)
    tab.wait_for_timeout(400)
    tab.mouse.click(box["x"] + 100, box["y"] + 35 + 17)
    tab.wait_for_timeout(200)
    # Back to the first cell whatever an earlier edit scrolled to.
    for key, times in (("ArrowLeft", 20), ("ArrowUp", 40)):
        for _ in range(times):
            tab.keyboard.press(key)
    for _ in range(row):
        tab.keyboard.press("ArrowDown")
    for _ in range(SERVICE_COLUMNS.index(column) + (1 if marked else 0)):
        tab.keyboard.press("ArrowRight")
    # Enter opens the cell's editor (typing straight away can lose the first key on a busy
    # machine); select what is there and type over it.
    tab.keyboard.press("Enter")
    tab.wait_for_timeout(400)
    tab.keyboard.press("Control+A")
    tab.keyboard.type(text, delay=30)
    tab.keyboard.press("Enter")
    tab.wait_for_timeout(300)
    _settled(tab)


def _why(tab, text: str) -> None:
    why = tab.get_by_label("Why (kept with the new version", exact=False)
    # While a rerun ends, the box from the run before can still be in the page beside the
    # new one (Streamlit removes stale elements when the run finishes): wait for one.
    for _ in range(100):
        if why.count() == 1:
            break
        tab.wait_for_timeout(100)
    why.fill(text)
    tab.keyboard.press("Tab")
    _settled(tab)


def _coverage_cells(tab, base: str) -> list[str]:
    _goto(tab, f"{base}/coverage")
    tab.locator(".js-plotly-plot").first.wait_for(state="visible")
    tab.wait_for_timeout(500)
    return tab.locator(".js-plotly-plot text").all_text_contents()


def test_edit_check_save_coverage_undo(server, browser):  # noqa: F811 (the fixture)
    context, tab = _context(browser, 1440, 1250)
    try:
        before = _coverage_cells(tab, server.url)
        _goto(tab, f"{server.url}/data")
        _unlock(tab, "Ann Facilitator")
        grid = _services_grid(tab)
        # Row 0 is bridgend_baby_in_mind (rows are sorted by id).
        _type_into(tab, grid, 0, "capacity_per_year", "lots")
        tab.get_by_role("button", name="Check").click()
        _settled(tab)
        tab.get_by_text("must be a whole number").first.wait_for(state="attached")
        # The problem names the value exactly as typed (the grids' cells are also in the DOM).
        tab.locator("td").filter(has_text=re.compile(r"^lots$")).first.wait_for(state="attached")
        tab.get_by_text("1 problem: nothing was saved").wait_for(state="visible")
        _services_grid(tab)
        tab.get_by_role("heading", name="Edit the map").evaluate("e => e.scrollIntoView()")
        tab.wait_for_timeout(300)
        _picture(tab, "workshop-edit-problem")
        with Graph(server.db) as graph:
            assert graph.changes()[-1]["action"] == "load"  # nothing saved
        # The grid now marks the row, by the check's own words, in its first column.
        grid = _services_grid(tab)
        tab.locator("td").filter(
            has_text="capacity_per_year: must be a whole number"
        ).first.wait_for(state="attached")
        # A blank cell is blank, not "None".
        assert not tab.locator("td").filter(has_text=re.compile(r"^None$")).count()
        _type_into(tab, grid, 0, "capacity_per_year", "40", marked=True)
        _type_into(tab, grid, 0, "areas", "W06000024", marked=True)
        # A check that passes drops the marks, and keeps what was typed.
        tab.get_by_role("button", name="Check").click()
        _settled(tab)
        tab.get_by_text("Every rule passes").wait_for(state="visible")
        _why(tab, "Baby in Mind moved to Merthyr")
        tab.get_by_role("button", name="Save as a new version").click()
        _settled(tab)
        tab.get_by_text("Saved as a new version").wait_for(state="visible")
        with Graph(server.db) as graph:
            last = graph.changes()[-1]
            assert (last["action"], last["by"]) == ("edit", "Ann Facilitator")
            assert last["note"].startswith("Baby in Mind moved to Merthyr")
            assert "areas: W06000013 → W06000024" in last["note"]
            assert "capacity_per_year: 38 → 40" in last["note"]
        after = _coverage_cells(tab, server.url)
        assert after != before, "coverage follows the edit"
        _goto(tab, f"{server.url}/data")  # a new session: unlock again
        _unlock(tab, "Ann Facilitator")
        tab.get_by_text("Last change: Baby in Mind moved to Merthyr", exact=False).wait_for()
        tab.get_by_role("button", name="Undo the last change").click()
        _settled(tab)
        # It says whose change it undoes, and asks.
        tab.get_by_text("Undo Ann Facilitator's edit of", exact=False).first.wait_for()
        tab.get_by_role("button", name="Yes, undo Ann Facilitator's edit", exact=False).click()
        _settled(tab)
        tab.get_by_text("Undone: version", exact=False).wait_for(state="visible")
        assert _coverage_cells(tab, server.url) == before
    finally:
        context.close()


def _saved_one_after_the_other(url: str, tab_a, tab_b, column: str, value: str, what: str) -> None:
    """Ann (``tab_a``) and Bob (``tab_b``) unlock editing on the Data page and each change the
    first service: Ann its capacity to 111, Bob its ``column`` to ``value`` (his reason: "Bob's
    ``what``"). Ann saves first, then Bob, who is told the map changed since he started."""
    for tab, name in ((tab_a, "Ann"), (tab_b, "Bob")):
        _goto(tab, f"{url}/data")
        _unlock(tab, name)
    _type_into(tab_a, _services_grid(tab_a), 0, "capacity_per_year", "111")
    _type_into(tab_b, _services_grid(tab_b), 0, column, value)
    _why(tab_a, "Ann's count")
    _why(tab_b, f"Bob's {what}")
    tab_a.get_by_role("button", name="Save as a new version").click()
    _settled(tab_a)
    tab_a.get_by_text("Saved as a new version").wait_for(state="visible")
    tab_b.get_by_role("button", name="Save as a new version").click()
    _settled(tab_b)
    tab_b.get_by_text("The map changed since you started", exact=False).first.wait_for()


def test_two_browsers_saving_at_once_the_second_is_told(server, browser):  # noqa: F811 (the fixture)
    first, tab_a = _context(browser)
    second, tab_b = _context(browser)
    try:
        _saved_one_after_the_other(server.url, tab_a, tab_b, "capacity_per_year", "222", "count")
        tab_b.get_by_text("What changed since you started").wait_for(state="visible")
        # The same cell, changed differently: the conflict is shown cell by cell, no merge.
        tab_b.get_by_text("These cells were changed by you and by that save").wait_for()
        assert not tab_b.get_by_role("button", name="Apply my change onto the current map").count()
        tab_b.get_by_text("The map changed since you started", exact=False).first.evaluate(
            "e => e.scrollIntoView()"
        )
        tab_b.wait_for_timeout(500)
        _picture(tab_b, "workshop-concurrent-save")
        with Graph(server.db) as graph:
            services = {row["id"]: row for row in graph.services()}
            assert services["bridgend_baby_in_mind"]["capacity_per_year"] == 111
            assert [c["by"] for c in graph.changes() if c["action"] == "edit"] == ["Ann"]
    finally:
        first.close()
        second.close()


def test_two_editors_editing_different_cells_both_get_their_change(server, browser):  # noqa: F811 (the fixture)
    first, tab_a = _context(browser)
    second, tab_b = _context(browser, 1440, 1400)
    try:
        _saved_one_after_the_other(
            server.url, tab_a, tab_b, "provider", "Bridgend family services", "provider"
        )
        onto = tab_b.get_by_role("button", name="Apply my change onto the current map")
        onto.wait_for(state="visible")
        # Who changed the map meanwhile is named.
        tab_b.get_by_text("Ann's edit of", exact=False).first.wait_for()
        tab_b.get_by_text("The map changed since you started", exact=False).first.evaluate(
            "e => e.scrollIntoView()"
        )
        tab_b.wait_for_timeout(500)
        _picture(tab_b, "workshop-refused-save-after")
        onto.click()
        _settled(tab_b)
        tab_b.get_by_text(
            "Saved as a new version onto the map as the other save left it"
        ).wait_for()
        with Graph(server.db) as graph:
            service = next(r for r in graph.services() if r["id"] == "bridgend_baby_in_mind")
            assert service["capacity_per_year"] == 111
            assert service["provider"] == "Bridgend family services"
            edits = [c for c in graph.changes() if c["action"] == "edit"]
            assert [c["by"] for c in edits] == ["Ann", "Bob"]
    finally:
        first.close()
        second.close()


def _metric(tab, label: str) -> str:
    metric = tab.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def test_builder_and_a_shared_link_in_a_fresh_context(server, browser):  # noqa: F811 (the fixture)
    # Tall enough for the form and the figures it gives in one picture.
    context, tab = _context(browser, 1440, 2300)
    fresh, other = _context(browser)
    shared_context, fresh_tab = _context(browser)
    try:
        _goto(tab, f"{server.url}/scenarios?la=W06000024")
        tab.get_by_text("Build one").click()
        _settled(tab)
        tab.get_by_label("Service name").fill("Merthyr family team")
        tab.keyboard.press("Tab")
        _settled(tab)
        for label, choice in (
            ("Areas", "Merthyr Tydfil"),
            ("Levels of need it works at", "targeted"),
        ):
            tab.get_by_label(label).click()
            tab.get_by_role("option", name=choice, exact=True).click()
            tab.keyboard.press("Escape")
            _settled(tab)
        tab.get_by_label("Families a year").fill("120")
        tab.keyboard.press("Tab")
        _settled(tab)
        tab.get_by_label("Annual cost (GBP)").fill("150000")
        tab.keyboard.press("Tab")
        _settled(tab)
        closed = _metric(tab, "Gap cells closed")
        assert _metric(tab, "Families a year") == "120"
        # The form and the figures it gives, as the room sees them.
        tab.locator(".js-plotly-plot").first.wait_for(state="visible")
        tab.wait_for_timeout(800)
        _picture(tab, "workshop-builder")
        query = parse_qs(urlsplit(tab.url).query)
        assert query["la"] == ["W06000024"] and query["scenario"]
        # Right after another edit, "Share this view" gives the page as it now shows.
        tab.get_by_label("Annual cost (GBP)").fill("180000")
        tab.keyboard.press("Tab")
        _settled(tab)
        # (the rerun the edit starts may begin after the page last settled: wait for its figure)
        cost = tab.locator('[data-testid="stMetric"]').filter(has_text="Cost per family").first
        expect(cost.locator('[data-testid="stMetricValue"]')).to_have_text("£1,500")
        tab.get_by_role("button", name="Share this view").click()
        shared = tab.locator('[data-testid="stPopoverBody"] code').first
        shared.wait_for(state="visible")
        link = shared.inner_text().strip()
        tab.keyboard.press("Escape")
        _goto(fresh_tab, link)
        fresh_tab.get_by_label("Service name").wait_for(state="visible")
        assert _metric(fresh_tab, "Cost per family") == "£1,500"
        assert fresh_tab.get_by_label("Annual cost (GBP)").input_value() == "180000"
        tab.get_by_label("Annual cost (GBP)").fill("150000")
        tab.keyboard.press("Tab")
        _settled(tab)
        # Another browser opens the same address: the same page, filter and scenario.
        _goto(other, tab.url)
        other.get_by_label("Service name").wait_for(state="visible")
        assert other.get_by_label("Service name").input_value() == "Merthyr family team"
        assert _metric(other, "Gap cells closed") == closed
        assert _metric(other, "Families a year") == "120"
        assert "la=W06000024" in other.url
    finally:
        context.close()
        fresh.close()
        shared_context.close()


def test_presentation_mode_on_a_large_screen_walks_the_pages(server, browser):  # noqa: F811 (the fixture)
    context, tab = _context(browser, 1920, 1080)
    try:
        _goto(tab, f"{server.url}/coverage?present=1&la=W06000013")
        tab.get_by_role("link", name="Next: Map").wait_for(state="visible")
        tab.locator('[data-testid="stSidebar"]').wait_for(state="hidden")
        size = tab.evaluate("() => getComputedStyle(document.documentElement).fontSize")
        assert float(size.removesuffix("px")) >= 20
        tab.locator(".js-plotly-plot").first.wait_for(state="visible")
        tab.wait_for_timeout(800)
        _picture(tab, "workshop-presentation")
        tab.get_by_role("link", name="Next: Map").click()
        _settled(tab)
        assert "/map" in tab.url and "present=1" in tab.url and "la=W06000013" in tab.url
        tab.get_by_role("link", name="Next: Referrals").wait_for(state="visible")
        tab.get_by_role("button", name="Leave presentation mode").click()
        _settled(tab)
        tab.locator('[data-testid="stSidebar"]').wait_for(state="visible")
        assert "present=1" not in tab.url
    finally:
        context.close()
