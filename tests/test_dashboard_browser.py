"""The dashboard in a real browser: Debian's chromium driven by Playwright, against a real
``streamlit run`` of the installed package on the seed region.

Every page is visited, its visible text checked, its load time measured and a screenshot saved
under ``tests/artifacts/``. The XSS test uploads a dataset whose names and sources carry script
payloads and checks that they show as text and never run; the broken-upload test checks that a
bad dataset is reported and the graph stays as it was.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import load_into

import nestmap.dashboard
from nestmap.api import seed_path
from nestmap.dashboard.layout import PAGE_SPECS

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
XSS_DATA = Path(__file__).parent / "data" / "xss"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

# Page (url path) -> texts that must be visible once it has loaded (seed region).
PAGES: dict[str, list[str]] = {
    "overview": ["Headline findings", "Gap cells", "18 of 24", "Dead-end entry points"],
    "coverage": ["Coverage", "Matrix", "Bridgend", "Rhondda Cynon Taf", "Merthyr Tydfil"],
    "map": ["Colour by", "Office for National Statistics", "Bridgend"],  # a one-line label
    "network": ["Network", "services ·", "misdirected"],
    "referrals": ["Where parent-infant relationship referrals go", "Misdirected referrals"],
    "boundaries": ["Threshold cliffs per local authority and stage", "Interfaces on referral"],
    "pathways": ["Pathways", "Dead ends"],
    "need": ["Targeted share", "Shortfall"],
    "workforce": ["Practitioners at AiMH levels 2-3", "Assessment of the parent-infant"],
    "thrive": ["Getting Advice and Signposting", "Getting Risk Support"],
    "data": ["Load a dataset", "Loaded dataset", "cwm_taf_morgannwg"],
    "query": ["Row limit", "Timeout (seconds)"],
}
TITLES = {stem: title for stem, title, _icon in PAGE_SPECS}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The editor secret the test servers are started with (issue 12: read-only without a grant).
EDITOR_SECRET = "browser-test-editor-secret"
GRANT_ENV = (
    "NESTMAP_EDITOR_SECRET_FILE",
    "NESTMAP_EDITOR_SECRET",
    "NESTMAP_EDITOR_EMAILS",
    "NESTMAP_OPEN_EDITING",
)


class Dashboard:
    """A ``streamlit run`` of the installed app on its own port and database; ``grant`` is the
    editing grant's environment (none: read-only, as ``nestmap dashboard`` serves it); ``app``
    the script served (``served_app.py``: behind the Host check, as ``nestmap dashboard``)."""

    def __init__(
        self,
        db: Path,
        workdir: Path,
        grant: dict[str, str] | None = None,
        app: Path = nestmap.dashboard.APP_PATH,
    ):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = db
        env = {key: value for key, value in os.environ.items() if key not in GRANT_ENV}
        env.update({"NESTMAP_DB": str(db), **(grant or {})})
        env.pop("NESTMAP_NEO4J_URI", None)
        self.log = (workdir / "streamlit.log").open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(app),
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=workdir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 60) -> None:
        from streamlit_visitor import wait_until_healthy

        wait_until_healthy(self.url, self.process, timeout)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _start(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    grant: dict[str, str] | None = None,
) -> Dashboard:
    workdir = tmp_path_factory.mktemp(name)
    load_into(workdir / "graph.lbug", seed_path()).close()
    if grant is None:
        grant = {"NESTMAP_EDITOR_SECRET": EDITOR_SECRET}
    return Dashboard(workdir / "graph.lbug", workdir, grant)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    server = _start(tmp_path_factory, "dashboard")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


def _settled(tab) -> None:
    """Wait until the script run has finished and the page stopped changing."""
    tab.wait_for_selector('[data-testid="stApp"]', state="attached")
    tab.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
    )
    # Attached, not visible: presentation mode hides the sidebar (workshop mode, issue 17).
    tab.locator('[data-testid="stSidebar"] a', has_text="Overview").wait_for(state="attached")


def _open(tab, base: str, stem: str, expected: list[str]) -> float:
    """Visit a page, wait for its texts; the seconds it took."""
    started = time.monotonic()
    path, _, query = stem.partition("?")
    # The default page lives at the root (/overview leads there too).
    path = "" if path == "overview" else path
    tab.goto(f"{base}/{path}" + (f"?{query}" if query else ""))
    _settled(tab)
    for text in expected:
        # The first visible one: a name may also sit in a table's hidden cells (drawn on canvas).
        tab.get_by_text(text, exact=False).filter(visible=True).first.wait_for(state="visible")
    return time.monotonic() - started


def _xss_flags(tab) -> list[object]:
    """``window.__xss`` in the page and in every frame (the network is an iframe)."""
    return [frame.evaluate("() => window.__xss") for frame in tab.frames]


def test_every_page_loads_and_shows_its_content(dashboard, page):
    ARTIFACTS.mkdir(exist_ok=True)
    times: dict[str, float] = {}
    for stem, expected in PAGES.items():
        times[stem] = round(_open(page, dashboard.url, stem, expected), 2)
        if stem == "network":
            frame = page.frame_locator("iframe").first
            frame.locator("#mynetwork canvas").wait_for(state="visible")
            page.locator("iframe").first.scroll_into_view_if_needed()
            page.wait_for_timeout(2500)  # let the layout settle before the picture
        if stem in ("coverage", "map", "referrals", "need", "boundaries"):
            page.locator(".js-plotly-plot").first.wait_for(state="visible")
        page.screenshot(path=str(ARTIFACTS / f"{stem}.png"))
    # Then as a user moves around: a click in the sidebar (same session, warm caches).
    clicks: dict[str, float] = {}
    for stem, expected in PAGES.items():
        link = page.locator('[data-testid="stSidebar"]').get_by_role(
            "link", name=TITLES[stem], exact=True
        )
        started = time.monotonic()
        link.click()
        _settled(page)
        for text in expected:
            page.get_by_text(text, exact=False).first.wait_for(state="visible")
        clicks[stem] = round(time.monotonic() - started, 2)
    report = {"open_in_new_tab_s": times, "sidebar_click_s": clicks}
    (ARTIFACTS / "load_times.json").write_text(json.dumps(report, indent=2))
    print("page load times:", json.dumps(report))


def test_coverage_shows_gap_for_targeted_postnatal_in_every_la(dashboard, page):
    _open(page, dashboard.url, "coverage?level=targeted&stage=postnatal", ["Matrix"])
    page.locator(".js-plotly-plot").first.wait_for(state="visible")
    cells = page.locator(".js-plotly-plot text").all_text_contents()
    assert cells.count("gap") >= 3, cells  # one specialised cell per LA, each a gap
    for name in ("Bridgend", "Rhondda Cynon Taf", "Merthyr Tydfil"):
        page.locator(".js-plotly-plot").get_by_text(name).first.wait_for(state="visible")


def test_filters_live_in_the_url_and_survive_navigation(dashboard, page):
    _open(page, dashboard.url, "pathways?la=W06000024&stage=postnatal", ["Dead ends"])
    page.get_by_text("Showing local authority Merthyr Tydfil").wait_for(state="visible")
    page.locator('[data-testid="stSidebar"]').get_by_text("Boundaries").click()
    _settled(page)
    page.get_by_text("Threshold cliffs per local authority").wait_for(state="visible")
    assert "la=W06000024" in page.url and "stage=postnatal" in page.url
    page.get_by_text("Showing local authority Merthyr Tydfil, postnatal").wait_for(state="visible")


def test_presentation_mode_enlarges_text_and_hides_downloads(dashboard, page):
    _open(page, dashboard.url, "need", ["Targeted share"])
    page.get_by_role("button", name="CSV", exact=True).first.wait_for(state="visible")
    normal = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
    _open(page, dashboard.url, "need?present=1", ["Targeted share"])
    page.locator('[data-testid="stDataFrame"]').first.wait_for(state="visible")
    page.wait_for_timeout(500)  # anything after the table would have been drawn by now
    large = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
    assert float(large.removesuffix("px")) > float(normal.removesuffix("px"))
    assert page.get_by_role("button", name="CSV", exact=True).count() == 0
    page.screenshot(path=str(ARTIFACTS / "need-presentation.png"))


def test_query_console_refuses_writes_and_runs_reads(dashboard, page):
    _open(page, dashboard.url, "query", ["Row limit"])
    editor = page.get_by_label("Cypher")
    editor.fill("CREATE (n:Service {id: 'x'})")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("Refused: the console is read-only").wait_for(state="visible")
    editor.fill("MATCH (s:Service) RETURN s.id AS id ORDER BY id")
    page.get_by_label("Row limit").fill("5")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("Truncated: showing the first 5 rows").wait_for(state="visible")
    result = page.locator('[data-testid="stDataFrame"]').first
    result.wait_for(state="visible")
    result.locator("td", has_text="bridgend_baby_in_mind").first.wait_for(state="attached")
    page.screenshot(path=str(ARTIFACTS / "query.png"))


def _zip(folder: Path, broken: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for csv_file in sorted(folder.glob("*.csv")):
            text = csv_file.read_text(encoding="utf-8")
            for old, new in (broken or {}).items():
                text = text.replace(old, new)
            archive.writestr(csv_file.name, text)
    return buffer.getvalue()


def _unlock_editing(tab, name: str = "Browser Test") -> None:
    """Type the editor secret on the Data page (the test servers are started with it)."""
    tab.get_by_label("Your name (recorded with each change you make)").fill(name)
    tab.get_by_label("Editor secret").fill(EDITOR_SECRET)
    tab.get_by_role("button", name="Unlock editing").click()
    _settled(tab)
    tab.get_by_text("You can change the map").wait_for(state="visible")


def _upload(tab, base: str, path: Path) -> None:
    _open(tab, base, "data", ["Load a dataset"])
    _unlock_editing(tab)
    tab.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    tab.get_by_role("button", name="Replace the graph with this dataset").click()
    _settled(tab)


def test_broken_upload_shows_problems_and_keeps_the_graph(dashboard, page, tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(
        _zip(seed_path(), {",universal,non_specialised,": ",tier_nine,non_specialised,"})
    )
    _upload(page, dashboard.url, broken)
    page.get_by_text("Nothing was replaced").wait_for(state="visible")
    problems = page.locator('[data-testid="stDataFrame"]').first
    problems.wait_for(state="visible")
    # The grid draws on a canvas; its cells are also in the DOM for assistive technology.
    problems.locator("td", has_text="tier_nine").first.wait_for(state="attached")
    page.screenshot(path=str(ARTIFACTS / "data-broken-upload.png"))
    page.get_by_text("cwm_taf_morgannwg").first.wait_for(state="visible")
    _open(page, dashboard.url, "overview", ["18 of 24"])


def _hover_node(tab, service_id: str) -> str:
    """Hover a node of the pyvis drawing; the tooltip's text as the user sees it."""
    iframe = tab.locator("iframe").first
    iframe.scroll_into_view_if_needed()
    tab.wait_for_timeout(2000)  # physics settles
    frame = next(f for f in tab.frames if f != tab.main_frame)
    point = frame.evaluate("id => network.canvasToDOM(network.getPositions([id])[id])", service_id)
    canvas = frame.locator("#mynetwork canvas").bounding_box()  # in page coordinates
    tab.mouse.move(canvas["x"] + point["x"], canvas["y"] + point["y"])
    tooltip = frame.locator(".vis-tooltip")
    tooltip.wait_for(state="visible")
    return tooltip.inner_text()


def test_xss_payloads_show_as_text_and_never_run(tmp_path_factory, browser, tmp_path):
    server = _start(tmp_path_factory, "xss")
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    try:
        upload = tmp_path / "xss.zip"
        upload.write_bytes(_zip(XSS_DATA))
        _upload(tab, server.url, upload)
        tab.get_by_text("Loaded xss.zip").wait_for(state="visible")
        assert _xss_flags(tab) == [None] * len(tab.frames)
        for stem in PAGES:
            _open(tab, server.url, stem, [])
            if stem == "network":
                tab.frame_locator("iframe").first.locator("#mynetwork canvas").wait_for()
                tab.wait_for_timeout(1000)
                tooltip = _hover_node(tab, "xss_health_visiting")
                assert "Health visiting <script>window.__xss=1</script>" in tooltip
                assert 'source: survey <img src=x onerror="window.__xss=1">' in tooltip
            tab.wait_for_timeout(300)
            assert all(flag is None for flag in _xss_flags(tab)), stem
            tab.screenshot(path=str(ARTIFACTS / f"xss-{stem}.png"))
        # The payloads are shown as text: the LA name in the coverage heatmap's titles, and a
        # service name on the concentration chart.
        _open(tab, server.url, "coverage", [])
        tab.get_by_text('Bridgend <img src=x onerror="window.__xss=1">').first.wait_for(
            state="visible"
        )
        _open(tab, server.url, "referrals", [])
        tab.get_by_text("Health visiting <script>window.__xss=1</script>").first.wait_for(
            state="visible"
        )
        assert all(flag is None for flag in _xss_flags(tab))
    finally:
        context.close()
        server.stop()


def test_a_served_dashboard_without_the_grant_offers_no_way_to_change_the_map(
    tmp_path_factory, browser
):
    """As `nestmap dashboard` serves it by default: every page, no control that changes the
    map (no upload, no replace, no rollback, no unlock), downloads still there."""
    server = _start(tmp_path_factory, "readonly", grant={})
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    try:
        changing = ("Replace the graph", "Make this version", "Unlock editing", "Sign in to edit")
        for stem, expected in PAGES.items():
            _open(tab, server.url, stem, expected)
            buttons = " | ".join(tab.get_by_role("button").all_inner_texts())
            assert not any(label in buttons for label in changing), (stem, buttons)
        _open(tab, server.url, "data", ["This dashboard is read-only"])
        assert tab.locator('[data-testid="stFileUploader"]').count() == 0
        tab.get_by_role("button", name="Dataset as XLSX").wait_for(state="visible")
        tab.screenshot(path=str(ARTIFACTS / "data-read-only.png"))
    finally:
        context.close()
        server.stop()


def test_with_the_secret_a_change_in_the_browser_records_who(tmp_path_factory, browser, tmp_path):
    server = _start(tmp_path_factory, "editor")
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    try:
        upload = tmp_path / "seed.zip"
        upload.write_bytes(_zip(seed_path()))
        _upload(tab, server.url, upload)
        tab.get_by_text("Loaded seed.zip").wait_for(state="visible")
        tab.get_by_text("recorded as loaded by Browser Test").first.wait_for(state="visible")
        tab.screenshot(path=str(ARTIFACTS / "data-editor.png"))
    finally:
        context.close()
        server.stop()
    from nestmap.graph import open_store

    store = open_store(server.db)
    assert store.changes()[-1]["by"] == "Browser Test"
    store.close()


def test_urls_in_a_pasted_scenario_are_text_not_links(dashboard, page):
    """Markdown auto-linking (issue 12, smaller): a scenario's name, description and source
    naming a URL, a www. address or an e-mail address show as text, never as a link."""
    _open(page, dashboard.url, "scenarios", ["Paste YAML or JSON"])
    page.get_by_text("Paste YAML or JSON").click()
    _settled(page)
    box = page.get_by_label("Scenario (YAML or JSON, in the format of the bundled options)")
    box.fill(
        "name: Team at http://evil.example/x\n"
        "description: See www.evil.example or write to boss@evil.example\n"
        "source: https://evil.example/report\n"
        "costs: [{item: x, amount: 1}]\n"
    )
    box.press("Control+Enter")
    _settled(page)
    page.get_by_text("evil.example/x", exact=False).first.wait_for(state="visible")
    page.get_by_text("write to boss@", exact=False).first.wait_for(state="visible")
    links = page.locator('a[href*="evil"]')
    assert links.count() == 0, links.evaluate_all("links => links.map(a => a.outerHTML)")
    page.screenshot(path=str(ARTIFACTS / "scenario-urls.png"))
