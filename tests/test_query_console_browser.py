"""The Query console in a real browser against a real ``streamlit run`` (issue 12): the
file-read attack and the table function that used to segfault the server are refused; a query
that does segfault the engine, and a runaway one, end only their worker, and the server keeps
answering other pages afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_dashboard_browser import CHROMIUM, LAUNCH_ARGS, PAGES, Dashboard, _open, _settled
from test_query_console import CANARY_TEXT, RUNAWAY_MEMORY, SEGFAULT

from nestmap import analysis
from nestmap.graph import open_store

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, object]]:
    from conftest import load_into

    from nestmap.cli import seed_path

    workdir = tmp_path_factory.mktemp("query_console")
    load_into(workdir / "graph.lbug", seed_path()).close()
    (workdir / "canary.csv").write_text(CANARY_TEXT + "\n")
    dashboard = Dashboard(workdir / "graph.lbug", workdir)
    yield dashboard, workdir
    dashboard.stop()


@pytest.fixture(scope="module")
def tab() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = chromium.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        context.close()
        chromium.close()


def _run_query(tab, base: str, cypher: str, expect: str) -> str:
    """Type ``cypher`` into the console, run it, wait for ``expect``; the page's text."""
    _open(tab, base, "query", PAGES["query"])
    area = tab.locator("textarea").first
    area.fill(cypher)
    tab.get_by_role("button", name="Run").click()
    tab.get_by_text(expect, exact=False).first.wait_for(state="visible")
    _settled(tab)
    return tab.locator('[data-testid="stMain"]').inner_text()


def test_the_file_read_attack_is_refused_and_reads_nothing(server, tab):
    dashboard, workdir = server
    canary = workdir / "canary.csv"
    target = workdir / "written.csv"
    store = open_store(workdir / "graph.lbug")
    before = analysis.info(store)
    attacks = [
        # Issue 12, item 1: the comment trick, reading a file and writing one.
        f'/* **/ \'x /* */ LOAD FROM "{canary}" (file_format="csv", header=false, '
        f'delim=":") RETURN * // \'',
        f"/* **/ 'x /* */ COPY (MATCH (s:Service) RETURN s.name) TO \"{target}\" // '",
        # Item 2: the backtick-quoted table function that segfaulted the server.
        f"CALL `read_csv_serial`('{canary}') RETURN *",
        f"CALL read_csv_serial('{canary}') RETURN *",
    ]
    for cypher in attacks:
        text = _run_query(tab, dashboard.url, cypher, "Refused")
        assert CANARY_TEXT not in tab.content() and CANARY_TEXT not in text
    assert not target.exists()
    assert dashboard.process.poll() is None
    assert analysis.info(store) == before
    store.close()


def test_a_crashing_and_a_runaway_query_leave_the_server_answering(server, tab):
    dashboard, _workdir = server
    text = _run_query(tab, dashboard.url, SEGFAULT, "Crashed")
    assert "the engine crashed on this query" in text
    assert dashboard.process.poll() is None  # the server process is alive...
    _open(tab, dashboard.url, "overview", PAGES["overview"])  # ...and serves another page
    text = _run_query(tab, dashboard.url, RUNAWAY_MEMORY, "Stopped: the query was stopped")
    assert "over its memory limit" in text
    _open(tab, dashboard.url, "coverage", PAGES["coverage"])
    _run_query(tab, dashboard.url, "MATCH (s:Service) RETURN count(*) AS n", "1 row.")
    assert dashboard.process.poll() is None
