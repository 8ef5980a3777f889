"""Time every dashboard page in Debian's chromium on a synthetic dataset (issue 7, item 4).

Usage: python benchmarks/dashboard_pages.py [--areas 40 --services 5000 --links 100000]
Generates the dataset (reused under benchmarks/data/), loads it, serves the dashboard and opens
each page in a new tab twice (cold, then warm); prints seconds per page. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from test_dashboard_browser import (  # noqa: E402 - the browser tests' own server and waits
    CHROMIUM,
    LAUNCH_ARGS,
    PAGE_SPECS,
    Dashboard,
    _settled,
)

from nestmap.graph import open_store  # noqa: E402
from nestmap.loaders import read_dataset  # noqa: E402
from nestmap.synth import generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--areas", type=int, default=40)
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--links", type=int, default=100_000)
    args = parser.parse_args()
    folder = HERE / "data" / f"synth-{args.areas}-{args.services}-{args.links}"
    if not (folder / "referrals.csv").is_file():
        generate(folder, args.areas, args.services, args.links, seed=0)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as work:
        db = Path(work) / "graph.lbug"
        started = time.perf_counter()
        store = open_store(db)
        store.replace(read_dataset(folder))
        store.close()
        print(f"dataset {folder.name}: loaded in {time.perf_counter() - started:.1f} s")
        server = Dashboard(db, Path(work))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=LAUNCH_ARGS
                )
                print(f"{'page':<24} {'cold (s)':>9} {'warm (s)':>9}")
                for stem, title, _icon in PAGE_SPECS:
                    times = []
                    for _ in range(2):
                        context = browser.new_context(viewport={"width": 1440, "height": 1000})
                        tab = context.new_page()
                        tab.set_default_timeout(180_000)
                        path = "" if stem == "overview" else stem
                        begin = time.perf_counter()
                        tab.goto(f"{server.url}/{path}")
                        _settled(tab)
                        times.append(time.perf_counter() - begin)
                        context.close()
                    print(f"{title:<24} {times[0]:>9.1f} {times[1]:>9.1f}")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
