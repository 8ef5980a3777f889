"""The budget as visitors meet it on the pages: waiting in turn, told how many are ahead, free
to stop waiting; refused plainly when the server may not start more; an Open Referral mapping
that would take the machine's memory stopped in its worker while the server answers on;
four prints asked for at once printed one at a time; a session's console result kept within
the server's bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import load_into
from serving_load import prints_under_way
from streamlit.testing.v1 import AppTest
from streamlit_visitor import Served, Visitor, page_json
from test_dashboard_browser import CHROMIUM

import nestmap.dashboard
from nestmap.api import seed_path
from nestmap.budget import Kept
from nestmap.dashboard import budget

linux = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="no chromium to print with")


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("serving_pages")
    load_into(folder / "graph.lbug", seed_path()).close()
    return folder / "graph.lbug"


@pytest.fixture(scope="module")
def served(graph: Path, tmp_path_factory: pytest.TempPathFactory):
    """``nestmap dashboard`` on the seed region with one slot for expensive actions (the
    default on two cores, here on any machine)."""
    server = Served(graph, tmp_path_factory.mktemp("served"), env={"NESTMAP_ACTIONS": "1"})
    yield server
    server.stop()


async def _until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:g} s: {what}")
        await asyncio.sleep(0.1)


def _plain(markdown: str) -> str:
    """The text a reader sees (the page escapes markdown's special characters)."""
    return markdown.replace("\\", "")


def _printed(run) -> bool:
    return any(e.download_button.label == "Report (PDF)" for e in run.of_kind("download_button"))


@linux
@needs_chromium
@pytest.mark.slow
def test_visitors_wait_their_turn_told_how_many_are_ahead_and_may_stop_waiting(served):
    server = served.server_pid()
    most_at_once = [0]

    async def visit() -> None:
        first, second, third, fourth = (Visitor(served.base) for _ in range(4))
        for visitor in (first, second, third, fourth):
            await visitor.open("")

        async def count() -> None:
            while True:
                most_at_once[0] = max(most_at_once[0], prints_under_way(server))
                await asyncio.sleep(0.1)

        counting = asyncio.create_task(count())
        printing = asyncio.create_task(first.click("Prepare the PDF"))
        await _until(lambda: prints_under_way(server), 120, "the first print under way")
        waiting = asyncio.create_task(second.click("Prepare the PDF"))
        next_words = "Busy: 1 running and you are next. Printing the report starts as soon as"
        await _until(
            lambda: any(s.startswith(next_words) for s in second.run.seen), 60, "second told"
        )
        giving_up = asyncio.create_task(third.click("Prepare the PDF"))
        behind = "Busy: 1 running and 1 waiting ahead of you. Printing the report starts"
        await _until(lambda: any(s.startswith(behind) for s in third.run.seen), 60, "third told")
        # The third visitor stops waiting: their place is given up, nothing is printed for them.
        await third.press_while_running("Stop waiting")
        gave_up = await giving_up
        assert not _printed(gave_up) and not gave_up.of_kind("alert"), page_json(gave_up)
        gave_up.widget("button", "Prepare the PDF")  # they may ask again later
        # A fourth visitor now finds only the second ahead of them.
        later = asyncio.create_task(fourth.click("Prepare the PDF"))
        await _until(lambda: any(s.startswith(behind) for s in fourth.run.seen), 60, "fourth")
        for task in (printing, waiting, later):
            assert _printed(await task)
        counting.cancel()
        for visitor in (first, second, third, fourth):
            await visitor.close()

    asyncio.run(visit())
    assert most_at_once[0] == 1  # four asked for prints; one chromium printed at a time


def _page(monkeypatch: pytest.MonkeyPatch, graph: Path, view: str) -> AppTest:
    monkeypatch.setenv("NESTMAP_DB", str(graph))
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    page = AppTest.from_file(str(nestmap.dashboard.APP_PATH), default_timeout=120)
    page.run()
    page.switch_page(f"views/{view}.py")
    page.run()
    assert not page.exception
    return page


@needs_chromium
def test_nothing_starts_while_the_server_holds_more_than_its_memory_bound(graph, monkeypatch):
    page = _page(monkeypatch, graph, "overview")
    monkeypatch.setattr(budget, "MEMORY_MB", 256)  # this test process holds more than that
    page.button(key="report_pdf_prepare").click().run()
    warnings = [w.value for w in page.warning]
    assert len(warnings) == 1 and warnings[0].startswith("Busy: the server is holding ")
    assert "more than the 256 MB it may use before starting more work" in warnings[0]
    assert not page.exception and not page.error


def test_a_wait_that_runs_out_is_refused_plainly(graph, monkeypatch):
    page = _page(monkeypatch, graph, "scenarios")
    page.radio(key="scenario_source").set_value("Paste YAML or JSON").run()
    monkeypatch.setattr(budget, "WAIT_S", 1)
    with contextlib.ExitStack() as taken:  # every slot of the server's, taken by others
        for number in range(budget.ACTIONS.slots):
            taken.enter_context(budget.ACTIONS.slot(f"another-visitor-{number}", 1))
        page.text_area(key="scenario_text").set_value("name: Held\nretire_services: []\n").run()
    running = budget.ACTIONS.slots
    # (The share popover's note that a pasted scenario is not in the link is no refusal.)
    refusals = [w for w in page.warning if "not in this address" not in w.value]
    assert [_plain(w.value) for w in refusals] == [
        f"Busy: the server stayed busy for 1 s: {running} running, 0 waiting ahead of you; try "
        "again shortly."
    ]
    page.run()  # the slot is free again: the scenario is read and applied
    warnings = [w.value for w in page.warning if "not in this address" not in w.value]
    assert not warnings and not page.exception
    assert any("Held" in str(h.value) for h in page.subheader)


def test_console_results_are_kept_within_the_servers_bound(graph, monkeypatch):
    """Four sessions keep 100,000-row results; the server keeps them within its bound, the
    oldest let go first (its page says so), each kept as one compact block."""
    monkeypatch.setattr(budget, "RESULTS", Kept(5 * 2**20))
    many = "UNWIND range(1, 100000) AS i RETURN i, 'row ' + CAST(i AS STRING) AS label"
    pages = []
    for _visitor in range(4):
        page = _page(monkeypatch, graph, "query")
        page.text_area(key="query_text").set_value(many)
        page.number_input[0].set_value(100_000)
        page.number_input[1].set_value(120)  # seconds: a busy machine is slow, not wrong
        page.button[0].click().run()
        said = [a.value for a in (*page.success, *page.warning, *page.error)]
        assert said == ["100,000 rows."], said
        pages.append(page)
    kept = budget.RESULTS.size()
    assert 0 < kept <= 5 * 2**20  # each result is about 2.4 MB as Arrow: two fit
    first, last = pages[0].run(), pages[-1].run()
    assert any("This result is no longer kept" in i.value for i in first.info)
    assert last.dataframe[0].value["label"].tolist()[:2] == ["row 1", "row 2"]


@linux
def test_an_oruk_mapping_runs_in_a_worker_the_server_stops_when_the_browser_goes(served):
    """A 20 KB zip of five million two-field rows. The mapping runs in a worker process (with
    its own time, CPU-time and memory limits), so the server's memory hardly moves; when the
    visitor's browser goes, the worker is stopped at once. (A reader that refuses such a file
    quickly may finish before the browser goes: then its refusal is what is checked.)"""
    from serving_load import _descendants, _rss_mb

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as written:
        written.writestr("services.csv", "id,name\n" + "a,b\n" * 5_000_000)
    server = served.server_pid()

    def mapping_workers() -> list[int]:
        found = []
        for pid in _descendants(server):
            try:
                if b"nestmap.workers" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
            except OSError:
                continue
        return found

    async def visit() -> str:
        visitor = Visitor(served.base)
        await visitor.open("data")
        await visitor.set_toggle("Map an ORUK directory", True)
        await visitor.upload(
            "ORUK directory (.json or .zip of CSVs)", "rows.zip", archive.getvalue()
        )
        before = _rss_mb(server)
        mapping = asyncio.create_task(visitor.click("Map to nestmap's format"))
        while not mapping.done() and not mapping_workers():
            await asyncio.sleep(0.05)
        if mapping.done():
            said = "\n".join(e.alert.body for e in mapping.result().of_kind("alert"))
            assert "rows\\.zip:" in said and "Nothing was mapped." in said, said
            outcome = "refused before the browser went"
        else:
            await asyncio.sleep(1)
            mapping.cancel()
            await visitor.close()  # the browser goes
            await _until(lambda: not mapping_workers(), 10, "the worker stopped")
            outcome = "stopped when the browser went"
        assert _rss_mb(server) - before < 200  # MB: the work was the worker's, not ours
        again = await Visitor(served.base).open("")  # another visitor's page still answers
        assert "Headline findings" in again.text()
        await visitor.close()
        return outcome

    print(asyncio.run(visit()))
