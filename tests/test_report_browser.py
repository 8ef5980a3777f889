"""The HTML report in a real browser (Debian's chromium through Playwright): a dataset whose
names and sources carry ``<script>`` and ``<img onerror>`` shows them as text and runs
nothing; the page fetches nothing."""

from __future__ import annotations

import pytest
from conftest import DATA, load_into
from test_dashboard_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS

from nestmap.report import build_report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def test_report_of_hostile_names_runs_no_script(tmp_path):
    from playwright.sync_api import sync_playwright

    store = load_into(tmp_path / "graph.lbug", DATA / "xss")
    report = build_report(store, tmp_path / "report.html", area="W06000013", max_rows=0)
    whole = build_report(store, tmp_path / "whole.html", max_rows=0)
    store.close()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            for file in (whole, report):
                requests.clear()
                page.goto(file.as_uri())
                page.wait_for_load_state("load")
                page.wait_for_timeout(300)  # an onerror would have fired by now
                assert page.evaluate("() => window.__xss") is None
                assert page.evaluate("() => document.querySelectorAll('script, img').length") == 0
                assert requests == [file.as_uri()], requests  # nothing else fetched
                page.get_by_text("Health visiting <script>window.__xss=1</script>").first.wait_for(
                    state="attached"
                )
                page.get_by_text('Bridgend <img src=x onerror="window.__xss=1">').first.wait_for(
                    state="attached"
                )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report-xss.png"), full_page=False)
        finally:
            browser.close()
