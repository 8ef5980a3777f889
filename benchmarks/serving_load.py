"""The dashboard under load: eight visitors at once, each repeating one expensive action, and a
ninth reading pages in Debian's chromium.

Usage:
    python benchmarks/serving_load.py [--seconds 60] [--nestmap PATH/TO/nestmap]
    python benchmarks/serving_load.py --pdfs 4 [--nestmap PATH]
    python benchmarks/serving_load.py --kept 4 [--nestmap PATH]
    python benchmarks/serving_load.py --console | --oruk [--nestmap PATH]

The default run serves the seed region with ``nestmap dashboard`` (the one beside this Python,
or ``--nestmap``: another installation's, to compare before and after) and prints the ninth
visitor's page views quiet and loaded (medians per page, and loaded / quiet for all pages), the
server's resident memory before and at its peak, that of its workers and prints together, and
how many rounds of each action were done, told "busy" or failed.

``--pdfs N``: N visitors press "Prepare the PDF" at the same moment; prints the peak memory of
the server and its children (the chromium prints) and how many chromium printed at once.
``--kept N``: N visitors each keep a 100,000-row console result; prints the server's memory
before, with the results kept, and after the visitors have gone.
``--console``: two visitors run runaway console queries at the page's maximum time, a third asks
``RETURN 1`` (what it is told, and when), then the first closes their browser (whether and when
their worker stops).
``--oruk``: a visitor maps a 20 KB zip of five million rows on the Data page (what the page
says, when, and the memory of the server and of its workers).

Nothing is asserted (tests/test_serving_load.py checks what holds on any machine): the machine
this runs on may be shared, so give its load average beside the figures (printed at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from conftest import load_into  # noqa: E402 - the tests' own helpers
from serving_load import (  # noqa: E402
    ACTIONS,
    MANY_ROWS,
    MemoryWatch,
    _rss_mb,
    prints_under_way,
    run_load,
)
from streamlit_visitor import Served, Visitor  # noqa: E402

from nestmap.api import seed_path  # noqa: E402


def pdfs_at_once(served: Served, visitors: int) -> None:
    server = served.server_pid()
    watch = MemoryWatch(server)
    most = [0]

    async def everyone() -> None:
        people = [Visitor(served.base) for _ in range(visitors)]
        for person in people:
            await person.open("")
        watch.start()

        async def count() -> None:
            while True:
                most[0] = max(most[0], prints_under_way(server))
                await asyncio.sleep(0.1)

        counting = asyncio.create_task(count())
        started = time.monotonic()
        runs = await asyncio.gather(*(person.click("Prepare the PDF") for person in people))
        took = time.monotonic() - started
        counting.cancel()
        watch.stopped.set()
        printed = sum(
            any(e.download_button.label == "Report (PDF)" for e in run.of_kind("download_button"))
            for run in runs
        )
        print(
            f"{visitors} visitors pressed 'Prepare the PDF' at once: {printed} printed in "
            f"{took:.1f} s"
        )
        print(f"chromium printing at once, at most: {most[0]}")
        print(
            f"peak memory: server {watch.peak_server:,.0f} MB, its children (prints) together "
            f"{watch.peak_children:,.0f} MB"
        )
        for person in people:
            await person.close()

    asyncio.run(everyone())


def results_kept(served: Served, visitors: int) -> None:
    server = served.server_pid()

    async def everyone() -> None:
        people = [Visitor(served.base) for _ in range(visitors)]
        for person in people:  # every page open, and a small query run: what is imported is
            await person.open("query")
            await person.type_text("Cypher", "RETURN 1 AS one")
            await person.click("Run")
        before = _rss_mb(server)
        for person in people:
            await person.type_text("Cypher", MANY_ROWS)
            await person.set_number("Row limit", 100_000)
            await person.set_number("Timeout (seconds)", 60)
            run = await person.click("Run")
            said = [e.alert.body for e in run.of_kind("alert")]
            print(f"  a visitor ran the query: {said}")
        kept = _rss_mb(server)
        for person in people:  # each visitor comes back to their page
            await person.rerun()
        again = _rss_mb(server)
        for person in people:
            await person.close()
        time.sleep(5)
        after = _rss_mb(server)
        print(
            f"{visitors} visitors keeping 100,000-row results: server {before:,.0f} MB before "
            f"(the Query page open and a small query run in each session), {kept:,.0f} MB with "
            f"them kept, {again:,.0f} MB after each came back, {after:,.0f} MB 5 s after they "
            "left"
        )

    asyncio.run(everyone())


def console_capacity(served: Served) -> None:
    """Two visitors run runaway queries at the page's maximum time; a third asks RETURN 1; the
    first closes their browser."""
    from serving_load import UNSTOPPABLE, _descendants

    assert "300000)" in UNSTOPPABLE

    server = served.server_pid()

    def workers() -> list[int]:
        return [
            pid
            for pid in _descendants(server)
            if b"console_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]

    async def everyone() -> None:
        first, second, third = (Visitor(served.base) for _ in range(3))
        running = []
        for number, person in enumerate((first, second)):
            await person.open("query")
            # Two different queries (one the same as another could be answered once for both).
            await person.type_text("Cypher", UNSTOPPABLE.replace("300000)", f"30000{number})", 1))
            await person.set_number("Timeout (seconds)", 300)
            running.append(asyncio.create_task(person.click("Run")))
        while len(workers()) < 2:
            await asyncio.sleep(0.2)
        await third.open("query")
        await third.type_text("Cypher", "RETURN 1 AS one")
        started = time.monotonic()
        run = await third.click("Run")
        took = time.monotonic() - started
        said = [e.alert.body for e in run.of_kind("alert")]
        print(f"a third visitor's RETURN 1 answered in {took:.1f} s: {said}")
        before = set(workers())
        running[0].cancel()
        await first.close()
        closed = time.monotonic()
        while len(set(workers()) & before) == 2 and time.monotonic() - closed < 60:
            await asyncio.sleep(0.2)
        left = len(set(workers()) & before)
        waited = time.monotonic() - closed
        print(
            "the first visitor closed their browser: "
            + (
                f"their worker stopped {waited:.1f} s later"
                if left < 2
                else "both workers still running 60 s later"
            )
        )
        running[1].cancel()
        for person in (second, third):
            await person.close()

    asyncio.run(everyone())


def oruk_rows(served: Served) -> None:
    """A visitor maps a 20 KB zip whose services.csv holds five million two-field rows."""
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as written:
        written.writestr("services.csv", "id,name\n" + "a,b\n" * 5_000_000)
    server = served.server_pid()
    watch = MemoryWatch(server)

    async def visit() -> None:
        visitor = Visitor(served.base, timeout_s=900)
        await visitor.open("data")
        await visitor.set_toggle("Map an ORUK directory", True)
        await visitor.upload(
            "ORUK directory (.json or .zip of CSVs)", "rows.zip", archive.getvalue()
        )
        before = _rss_mb(server)
        watch.start()
        started = time.monotonic()
        run = await visitor.click("Map to nestmap's format")
        took = time.monotonic() - started
        watch.stopped.set()
        said = [e.alert.body[:160] for e in run.of_kind("alert")]
        print(f"a {len(archive.getvalue()):,}-byte zip of 5,000,000 rows: answered in {took:.1f} s")
        print(f"  the page said: {said}")
        print(
            f"  server {before:,.0f} MB before, peak {watch.peak_server:,.0f} MB; its workers "
            f"together peak {watch.peak_children:,.0f} MB"
        )
        await visitor.close()

    asyncio.run(visit())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--nestmap", type=Path, default=Path(sys.executable).with_name("nestmap"))
    parser.add_argument("--pdfs", type=int, default=0)
    parser.add_argument("--kept", type=int, default=0)
    parser.add_argument("--console", action="store_true")
    parser.add_argument("--oruk", action="store_true")
    parser.add_argument(
        "--actions",
        help='the load\'s actions, separated by ";" (default: all eight): ' + "; ".join(ACTIONS),
    )
    options = parser.parse_args()
    os.environ["NESTMAP_WARM"] = "0"
    with tempfile.TemporaryDirectory(prefix="nestmap-load-") as folder:
        work = Path(folder)
        load_into(work / "graph.lbug", seed_path()).close()
        served = Served(work / "graph.lbug", work, command=options.nestmap)
        try:
            if options.pdfs:
                pdfs_at_once(served, options.pdfs)
            elif options.kept:
                results_kept(served, options.kept)
            elif options.console:
                console_capacity(served)
            elif options.oruk:
                oruk_rows(served)
            else:
                chosen = (
                    [a.strip() for a in options.actions.split(";")] if options.actions else None
                )
                if chosen and set(chosen) - set(ACTIONS):
                    parser.error(f"unknown actions: {sorted(set(chosen) - set(ACTIONS))}")
                figures = run_load(
                    served.base, served.server_pid(), options.seconds, actions=chosen
                )
                print("\n".join(figures.lines()))
                for tally in figures.tallies:
                    for failure in tally.failures[:3]:
                        print(f"  {tally.action} failed: {failure}")
        finally:
            served.stop()
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
