"""The dashboard's part of the warm-up after a load: open every page once, headless.

``nestmap.answers.warm`` keeps every answer first; the caller that starts it (``nestmap load``
when the dashboard is in use on the graph, a dashboard server) names this module, and the
warm-up then calls ``open_pages``: each page runs once with no filters (Streamlit's AppTest),
so its default view is kept on disk (``nestmap.dashboard.kept``) as a first visitor
would keep it, and a server reads it back. Nothing here imports Streamlit until it is called.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from nestmap.graph import GraphStore

MODULE = __name__
# The dashboard's pages: the Overview first (what a new visitor sees), then the heaviest first,
# so that the one a visitor would wait longest for is kept soonest. Each page's default view
# computed afresh in a process of its own, answers kept (national 400 / 50,000 / 1,000,000,
# 2026-12-07): Network 6.6 s, Referrals 4.8, Data 4.5, Pathways 4.3, Coverage 2.8, Boundaries
# 2.6, Workforce 2.2, Scenarios 1.5, Need 1.1, THRIVE 0.9, Map 0.8, Query 0.5.
PAGES = (
    "overview",
    "network",
    "referrals",
    "data",
    "pathways",
    "coverage",
    "boundaries",
    "workforce",
    "scenarios",
    "need",
    "thrive",
    "map",
    "query",
)
# Below this many referral links every page computes what it needs in about a second: opening
# them all in the background would only compete with the first visitor for the CPU.
PAGES_ABOVE_LINKS = 20_000


def used(graph: Path) -> bool:
    """The dashboard has kept page results for ``graph`` (it is in use on it)."""
    from nestmap.answers.keep import shelf_root
    from nestmap.dashboard.kept import SUFFIX

    return shelf_root(graph, SUFFIX).is_dir()


def open_pages(
    store: GraphStore,
    graph: Path,
    still_current: Callable[[], bool],
    above_links: int | None = None,
) -> int:
    """Open every page once, headless and unfiltered, while ``still_current()``, for a
    dataset of more than ``above_links`` (default ``PAGES_ABOVE_LINKS``) referral links; the
    number of pages opened."""
    limit = PAGES_ABOVE_LINKS if above_links is None else above_links
    if _links(store) <= limit:
        return 0
    os.environ["NESTMAP_DB"] = str(graph)
    os.environ["NESTMAP_WARM"] = "0"  # the pages would start a warm-up of their own
    os.environ.pop("NESTMAP_NEO4J_URI", None)
    try:
        from streamlit.testing.v1 import AppTest

        from nestmap.dashboard import APP_PATH
    except ImportError:
        return 0
    app = AppTest.from_file(str(APP_PATH), default_timeout=600)
    opened = 0
    for page in PAGES:
        if not still_current():
            break
        try:
            with _quiet():
                if page != PAGES[0]:
                    app.switch_page(f"views/{page}.py")
                app.run()
        except Exception:  # noqa: BLE001 - a page that fails is not kept; the next may be
            continue
        opened += 1
    return opened


def _links(store: GraphStore) -> int:
    from nestmap.analysis.info import info

    try:
        return int(info(store)["links"].get("REFERS_TO", 0))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an unreadable graph: nothing to open pages on
        return 0


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Python's stdout and stderr to nowhere while a page runs (it may print warnings)."""
    with open(os.devnull, "w") as null:
        with contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
            yield
