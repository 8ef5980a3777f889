"""Time every dashboard page in Debian's chromium (issue 7, item 4; issue 13's dashboard half).

Usage:
    python benchmarks/dashboard_pages.py [--areas 40 --services 5000 --links 100000]
    python benchmarks/dashboard_pages.py --db benchmarks/data/nat.lbug [--pages referrals,network]
        [--screenshots benchmarks/output]

With ``--db`` the graph already loaded there is served as it is (``nestmap load FOLDER --db
PATH`` first); otherwise a synthetic dataset is generated (reused under benchmarks/data/) and
loaded into a temporary graph. Each page gets a FRESH server (a new ``streamlit run`` of
``served_app.py``, as ``nestmap dashboard`` serves it; timed from the moment it answers its
health check): the first view is a user opening that page first
on a new server, the repeat view is a second browser (new session, same server), the revisit a
page reached again from the sidebar in one session (after another page). A view ends
when Streamlit reports the script finished and the sidebar is drawn. The dashboard keeps heavy
results in this user's cache per dataset version (``dashboard/`` in the graph's cache folder),
so a first view reads what an earlier server kept; ``--forget`` removes them before each page
(the first view after a load). Also printed: the bytes the server sent the browser over its
websocket for the view. Nothing is asserted: the machine this runs on may be shared, so say so
beside the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
_CACHE = os.environ.get("NESTMAP_CACHE")
_WARM = os.environ.get("NESTMAP_WARM")

from test_dashboard_browser import (  # noqa: E402 - the browser tests' own server and waits
    CHROMIUM,
    LAUNCH_ARGS,
    PAGE_SPECS,
    Dashboard,
    _settled,
)

# The tests' conftest (imported with their server) points NESTMAP_CACHE at a throwaway folder
# of their own and turns the background warm-up off; the pages timed here use the cache a
# user's would (where `--db`'s graph has its answers and page views kept), and the warm-up as
# the user has it (on unless NESTMAP_WARM says otherwise): a load, and a server, start one.
for _name, _value in (("NESTMAP_CACHE", _CACHE), ("NESTMAP_WARM", _WARM)):
    if _value is None:
        os.environ.pop(_name, None)
    else:
        os.environ[_name] = _value

import nestmap.dashboard  # noqa: E402
from nestmap.answers import warm  # noqa: E402
from nestmap.answers.keep import shelf_root  # noqa: E402
from nestmap.graph import open_store  # noqa: E402
from nestmap.loaders import read_dataset  # noqa: E402
from nestmap.synth import generate  # noqa: E402

SERVED_APP = nestmap.dashboard.APP_PATH.with_name("served_app.py")


def serve(db: Path, workdir: Path) -> Dashboard:
    """A new server of the dashboard as ``nestmap dashboard`` serves it (``served_app.py``:
    behind its Host check, the modules every page imports loaded while it waits)."""
    return Dashboard(db, workdir, app=SERVED_APP)


# What a figure says while the background warm-up after a load is still computing it (the
# Overview draws at once and fills such figures in as they are kept).
WORKING = "Being worked out"


def _view(
    browser, url: str, shot: Path | None = None, complete: list[float] | None = None
) -> tuple[float, int]:
    """Open ``url`` in a new browser context: (seconds until the script finished, bytes sent).
    ``complete``: appended, the seconds until no figure said it was still being worked out."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(300_000)
    received = [0]

    def count(socket) -> None:
        socket.on(
            "framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload))
        )

    tab.on("websocket", count)
    begin = time.perf_counter()
    tab.goto(url)
    _settled(tab)
    seconds = time.perf_counter() - begin
    if complete is not None:
        tab.wait_for_function(
            "(t) => !document.body.innerText.includes(t)", arg=WORKING, polling=100
        )
        _settled(tab)
        complete.append(time.perf_counter() - begin)
    if shot is not None:
        # Streamlit scrolls inside its own container: a tall window shows more of the page.
        tab.set_viewport_size({"width": 1440, "height": 2400})
        tab.wait_for_timeout(4000)  # let a drawing (the network's layout) settle first
        tab.screenshot(path=str(shot), full_page=True)
    context.close()
    return seconds, received[0]


def _on_page(tab, title: str) -> None:
    """Wait until the page titled ``title`` is drawn and its script run has finished."""
    tab.wait_for_function(
        "(t) => [...document.querySelectorAll('h1')].some(h => h.textContent.trim() === t)",
        arg=title,
    )
    _settled(tab)


def _revisit(browser, url: str, title: str) -> float:
    """Seconds to come back to a page from another one in the same session (the sidebar)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(300_000)
    tab.goto(url)
    _on_page(tab, title)
    other = "Overview" if title == "Query" else "Query"
    tab.locator('[data-testid="stSidebar"] a', has_text=other).first.click()
    _on_page(tab, other)
    begin = time.perf_counter()
    tab.locator('[data-testid="stSidebar"] a', has_text=title).first.click()
    _on_page(tab, title)
    seconds = time.perf_counter() - begin
    context.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--db", type=Path, help="serve this loaded graph instead of a synthetic one"
    )
    parser.add_argument("--areas", type=int, default=40)
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--pages", help="comma-separated page names (default: every page)")
    parser.add_argument("--screenshots", type=Path, help="save each page's repeat view here")
    parser.add_argument(
        "--forget",
        action="store_true",
        help="remove the results the dashboard keeps for the graph before each page's server "
        "(the first view then computes everything, as after a new load)",
    )
    parser.add_argument(
        "--open-browser",
        action="store_true",
        help="with --db: one fresh server, every page's first view in a browser that has the "
        "dashboard open already, and what a new browser adds (the Query page both ways)",
    )
    parser.add_argument(
        "--after-load",
        type=Path,
        metavar="FOLDER",
        help="load FOLDER with `nestmap load` into a new graph, start one server at once and "
        "open every page in turn, each in a new browser: the first views a user gets right "
        "after a load, while the background warm-up (nestmap.answers.warm) is running",
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    if args.after_load:
        _after_load(args.after_load, args.pages)
        return

    wanted = set(args.pages.split(",")) if args.pages else None
    specs = [spec for spec in PAGE_SPECS if wanted is None or spec[0] in wanted]
    if args.open_browser and args.db:
        with tempfile.TemporaryDirectory() as work:
            server = serve(args.db.resolve(), Path(work))
            try:
                found, new, again = open_browser_views(server.url, specs)
            finally:
                server.stop()
        print(f"{'page':<24} {'first view, open browser (s)':>30}")
        for title, seconds in found.items():
            print(f"{title:<24} {seconds:>30.1f}")
        print(
            f"a new browser adds {new - again:.1f} s (Streamlit's frontend loaded from nothing): "
            f"the Query page {new:.1f} s in a new browser, {again:.1f} s in the open one"
        )
        return
    # Each page's first view on a server of its own, computing what it needs with nothing in
    # the background (no warm-up started by these servers).
    os.environ["NESTMAP_WARM"] = "0"
    with tempfile.TemporaryDirectory() as work:
        if args.db:
            db = args.db.resolve()
            print(f"graph {db}")
        else:
            folder = HERE / "data" / f"synth-{args.areas}-{args.services}-{args.links}"
            if not (folder / "referrals.csv").is_file():
                generate(folder, args.areas, args.services, args.links, seed=0)
            db = Path(work) / "graph.lbug"
            started = time.perf_counter()
            store = open_store(db)
            store.replace(read_dataset(folder))
            store.close()
            print(f"dataset {folder.name}: loaded in {time.perf_counter() - started:.1f} s")
        if args.screenshots:
            args.screenshots.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            print(
                f"{'page':<24} {'first (s)':>9} {'repeat (s)':>10} {'revisit (s)':>11} "
                f"{'first kB':>9} {'repeat kB':>9}"
            )
            for stem, title, _icon in specs:
                if args.forget:
                    shutil.rmtree(shelf_root(db, ".dashboard"), ignore_errors=True)
                server = serve(db, Path(work))  # a fresh server for every page's first view
                try:
                    url = f"{server.url}/{'' if stem == 'overview' else stem}"
                    first, first_bytes = _view(browser, url)
                    shot = args.screenshots / f"{stem}.png" if args.screenshots else None
                    repeat, repeat_bytes = _view(browser, url, shot)
                    revisit = _revisit(browser, url, title)
                finally:
                    server.stop()
                print(
                    f"{title:<24} {first:>9.1f} {repeat:>10.1f} {revisit:>11.1f} "
                    f"{first_bytes / 1000:>9,.0f} {repeat_bytes / 1000:>9,.0f}",
                    flush=True,
                )
            browser.close()


def browser_views(url: str, specs, complete: dict[str, float] | None = None) -> dict[str, float]:
    """Each page's first view on the server at ``url``, in turn, each in a new browser:
    seconds by page title. ``complete``: filled with the seconds by page title until every
    figure was in (a figure the warm-up after a load was still computing filled in)."""
    from playwright.sync_api import sync_playwright

    seconds: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        for stem, title, _icon in specs:
            whole: list[float] | None = [] if complete is not None else None
            page_url = f"{url}/{'' if stem == 'overview' else stem}"
            seconds[title], _sent = _view(browser, page_url, complete=whole)
            said = f"  {title}: {seconds[title]:.1f} s"
            if complete is not None and whole:
                complete[title] = whole[0]
                said += f", every figure in at {whole[0]:.1f} s"
            print(said, file=sys.stderr, flush=True)
        browser.close()
    return seconds


def open_browser_views(url: str, specs) -> tuple[dict[str, float], float, float]:
    """Each page's first view on the server at ``url`` in a browser that has the dashboard
    open already (on the Query page: Streamlit's frontend loaded and cached), each page opened
    by its address in that tab (a new session; the server's first view of the page); and the
    Query page in a new browser and in that tab, which is what a browser opening the dashboard
    from nothing adds. (seconds by page title, new browser s, open browser s)"""
    from playwright.sync_api import sync_playwright

    seconds: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(300_000)

        def view(stem: str) -> float:
            begin = time.perf_counter()
            tab.goto(f"{url}/{'' if stem == 'overview' else stem}")
            _settled(tab)
            return time.perf_counter() - begin

        view("query")
        for stem, title, _icon in specs:
            seconds[title] = view(stem)
            print(f"  {title}: {seconds[title]:.1f} s (open browser)", file=sys.stderr, flush=True)
        new, _sent = _view(browser, f"{url}/query")
        again = view("query")
        context.close()
        browser.close()
    return seconds, new, again


def _after_load(folder: Path, pages: str | None) -> None:
    import subprocess

    wanted = set(pages.split(",")) if pages else None
    specs = [spec for spec in PAGE_SPECS if wanted is None or spec[0] in wanted]
    with tempfile.TemporaryDirectory() as work:
        db = Path(work) / "graph.lbug"
        started = time.perf_counter()
        command = [sys.executable, "-m", "nestmap.cli", "load", str(folder), "--db", str(db)]
        subprocess.run(command, check=True, capture_output=True)
        loaded = time.perf_counter()
        print(f"nestmap load {folder.name}: {loaded - started:.1f} s; warm-up started")
        server = serve(db, Path(work))  # started at once, as a user would after a load
        print(f"server answering {time.perf_counter() - loaded:.1f} s after the load")
        try:
            complete: dict[str, float] = {}
            print(f"{'page':<24} {'first view (s)':>14} {'every figure in (s)':>20}")
            for title, seconds in browser_views(server.url, specs, complete).items():
                print(f"{title:<24} {seconds:>14.1f} {complete[title]:>20.1f}")
        finally:
            server.stop()
            done = warm.done_path(db)
            state = done.read_text().split()[-1] if done.is_file() else "still running"
            print(f"warm-up: {state} at {time.perf_counter() - loaded:.1f} s after the load")


if __name__ == "__main__":
    main()
