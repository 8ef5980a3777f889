"""The Scenarios page in a real browser (Debian's chromium through Playwright) on the seed region:
option 1's figures, the coverage before and after, and a screenshot in tests/artifacts."""

from __future__ import annotations

import pytest
from test_dashboard_browser import (  # noqa: F401 (fixtures used by name)
    ARTIFACTS,
    CHROMIUM,
    _open,
    browser,
    dashboard,
    page,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def test_scenarios_page_shows_option_1_before_and_after(dashboard, page):  # noqa: F811
    _open(
        page,
        dashboard.url,
        "scenarios",
        ["Option 1: minimum recommended", "Coverage before and after", "Before", "After"],
    )
    metrics = page.locator('[data-testid="stMetric"]')
    families = metrics.filter(has_text="Families a year")
    families.first.wait_for(state="visible")
    assert "382" in families.first.inner_text()
    assert "9" in metrics.filter(has_text="Gap cells closed").first.inner_text()
    # Two coverage matrices (before, after), the map and the shortfall chart.
    charts = page.locator('[data-testid="stPlotlyChart"]')
    charts.nth(3).wait_for(state="visible")
    assert charts.count() == 4
    assert page.get_by_text("closed ✓", exact=False).count() >= 1
    page.get_by_text("Report (HTML)").first.wait_for(state="visible")
    # Streamlit scrolls inside its own container: a tall viewport gets the whole page.
    page.set_viewport_size({"width": 1440, "height": 3000})
    charts.nth(3).scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "scenarios.png"), full_page=True)
