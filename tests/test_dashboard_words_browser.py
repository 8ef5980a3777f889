"""Pages a workshop reads without a glossary, in a real browser: the region's name as the
heading, /overview and local authority names in the address, the Network legend.

``NESTMAP_UPDATE_SCREENSHOTS=1`` also rewrites the README's screenshots in docs/ (presentation
mode, so no temporary path shows in them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_dashboard_browser import (  # noqa: F401 - fixtures used by name
    CHROMIUM,
    _settled,
    browser,
    dashboard,
    page,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
DOCS = Path(__file__).parent.parent / "docs"


def _visible(tab, text: str) -> None:
    tab.get_by_text(text, exact=False).first.wait_for(state="visible")


def test_overview_by_name_and_the_region_as_heading(dashboard, page):  # noqa: F811
    page.goto(f"{dashboard.url}/overview")
    _settled(page)
    _visible(page, "At a glance: Cwm Taf Morgannwg University Health Board")
    _visible(page, "Headline findings")
    assert "not found" not in page.inner_text("body").lower()


def test_a_local_authority_by_name_in_the_address(dashboard, page):  # noqa: F811
    page.goto(f"{dashboard.url}/coverage?la=Merthyr%20Tydfil")
    _settled(page)
    _visible(page, "Showing local authority Merthyr Tydfil")
    page.wait_for_function("() => location.search.includes('la=W06000024')")
    page.goto(f"{dashboard.url}/overview?la=merthyr%20tydfil")
    _settled(page)
    _visible(page, "At a glance: Merthyr Tydfil")


def test_network_has_a_legend_and_states_its_dead_end_unit(dashboard, page):  # noqa: F811
    page.goto(f"{dashboard.url}/network")
    _settled(page)
    _visible(page, "Link colour, the referral's reason")
    _visible(page, "local authority × entry point pairs")


@pytest.mark.skipif(
    os.environ.get("NESTMAP_UPDATE_SCREENSHOTS") != "1", reason="screenshots on demand"
)
def test_regenerate_the_readme_screenshots(dashboard, page):  # noqa: F811
    page.set_default_timeout(180_000)  # a picture is worth waiting for on a busy machine
    for stem in ("overview", "coverage", "map", "network"):
        page.goto(f"{dashboard.url}/{stem}?present=1")
        _settled(page)
        page.wait_for_timeout(3000)  # let charts and the network settle before the picture
        page.screenshot(path=str(DOCS / f"{stem}.png"))
