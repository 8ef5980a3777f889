"""The pages, the sidebar navigation (links carry the filters), and what every page starts with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import streamlit as st

from nestmap.dashboard import state
from nestmap.dashboard.filters import Filters, current, view_params
from nestmap.vocabulary import label as vocabulary_label

# Not "pages/": beside the main script that name switches Streamlit to its old multipage
# mode, which runs page files without app.py (no sidebar, no st.navigation).
PAGES_DIR = Path(__file__).parent / "views"

# (file stem = url path, title, icon); the first is the default page.
PAGE_SPECS: tuple[tuple[str, str, str], ...] = (
    ("overview", "Overview", ":material/dashboard:"),
    ("coverage", "Coverage", ":material/grid_on:"),
    ("map", "Map", ":material/map:"),
    ("network", "Network", ":material/hub:"),
    ("referrals", "Referrals", ":material/call_split:"),
    ("boundaries", "Boundaries", ":material/fence:"),
    ("pathways", "Pathways", ":material/route:"),
    ("need", "Need & capacity", ":material/balance:"),
    ("scenarios", "Scenarios", ":material/science:"),
    ("workforce", "Workforce & assessment", ":material/groups:"),
    ("thrive", "THRIVE", ":material/diversity_3:"),
    ("data", "Data", ":material/upload_file:"),
    ("query", "Query", ":material/terminal:"),
)
NEEDS_NO_GRAPH = {"data", "query"}
# Right after a load the background warm-up computes the new data's analyses (about 7 s at
# national scale). A part of a page resting on one it has not kept yet says so (WORKING) rather
# than compute it a second time beside the warm-up on the same cores, and is looked at again
# every POLL_S seconds; when every such part is in, the page is drawn once more, whole.
POLL_S = 1.0
WORKING = (
    ":material/hourglass_top: Being worked out: the new data's analyses are computed in the "
    "background after a load. It appears here by itself when ready."
)


def pages() -> dict[str, st.Page]:
    return {
        stem: st.Page(
            str(PAGES_DIR / f"{stem}.py"),
            title=title,
            icon=icon,
            # The default page is served at "/" but still reserves a name; "/overview" is a
            # hidden page of app.py that leads here (Streamlit would call it "not found").
            url_path="home" if index == 0 else stem,
            default=index == 0,
        )
        for index, (stem, title, icon) in enumerate(PAGE_SPECS)
    }


def warming(analyses: tuple[str, ...]) -> bool:
    """Whether the part of the page resting on ``analyses`` (commands of
    ``nestmap.answers.ANALYSES``) must wait for the warm-up after a load: if so, ``WORKING`` is
    shown in its place (the caller draws nothing of it) and looked at again every ``POLL_S``
    seconds until the warm-up has kept them, then the page runs again, whole."""
    if not state.warming(analyses):
        return False
    look_again(analyses, _say_working)
    return True


def _say_working(_waiting: set[str]) -> None:
    st.caption(WORKING)


def look_again(analyses: Sequence[str], draw: Callable[[set[str]], None]) -> None:
    """``draw(waiting)`` in a fragment run again every ``POLL_S`` seconds, ``waiting`` the
    analyses the warm-up after a load has still to keep; once it has kept them all, the page
    runs again, whole (which ends the looking: the browser drops a fragment's timer then)."""

    def look() -> None:
        waiting = set(state.warming(analyses))
        if not waiting:
            st.rerun(scope="app")
        draw(waiting)

    st.fragment(run_every=POLL_S)(look)()


def wait_for(analyses: tuple[str, ...]) -> None:
    """End the page here, saying it is being worked out (``warming``), while the warm-up after
    a load computes the analyses the rest of the page rests on."""
    if warming(analyses):
        end()


def nav_links(all_pages: dict[str, st.Page], chosen: Filters) -> None:
    for page in all_pages.values():
        st.page_link(page, query_params=view_params(chosen))


def link(stem: str, label: str) -> None:
    """A link to another page that keeps the current filters."""
    st.page_link(pages()[stem], label=label, query_params=view_params(current()))


class PageEnd(BaseException):  # noqa: N818 - not an error: the page has said all it has to
    """Raised by ``end()``: the page stops here and app.py draws what follows every page (the
    share link, the presentation bar). ``st.stop()`` would stop the whole run, and the link,
    drawn after the page so that it carries what the page wrote into the address, with it.
    A BaseException, like Streamlit's own stop, so that a page's ``except Exception`` lets it
    pass."""


def end() -> NoReturn:
    """Stop this page here (instead of ``st.stop()``; see ``PageEnd``)."""
    raise PageEnd


def start(title: str, intro: str, stem: str) -> Filters:
    """Title and introduction; stops the page with a pointer to Data when nothing is loaded."""
    chosen = current()
    st.title(title)
    if not chosen.present:
        st.caption(intro)
    if stem not in NEEDS_NO_GRAPH and not state.has_graph():
        st.info("No dataset is loaded yet. Load one on the Data page (or `nestmap load PATH`).")
        link("data", "Go to Data")
        end()
    return chosen


def filter_note(chosen: Filters, applied: tuple[str, ...]) -> None:
    """Say which sidebar filters this page applies."""
    if chosen.present:
        return
    used = [_in_words(key, getattr(chosen, key)) for key in applied if getattr(chosen, key)]
    if used:
        st.caption("Showing " + ", ".join(used) + " (filters in the sidebar).")


FILTER_WORDS = {"la": "local authority", "level": "level of need", "focus": "focus", "stage": ""}


def _in_words(key: str, value: str) -> str:
    """One filter as a reader says it: "local authority Merthyr Tydfil", "postnatal"."""
    from nestmap.dashboard.text import md

    shown = state.area_names().get(value, value) if key == "la" else vocabulary_label(value)
    words = FILTER_WORDS[key]
    return f"{words} {md(shown)}" if words else md(shown)


BASE_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
/* Captions: Streamlit fades them to 60% opacity, 4.0:1 against white; WCAG 2.2 AA asks 4.5:1
   for body text. A solid grey reads as quieter text at 7.5:1 (6.9:1 on the sidebar). */
[data-testid="stCaptionContainer"] { opacity: 1; color: #4a5562; }
/* A figure too wide for its card wraps rather than being cut ("1,218 of 3,…" at national
   scale, four headline cards a row). */
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: break-word;
}
</style>
"""

PRESENTATION_CSS = """
<style>
html { font-size: 20px; }
[data-testid="stHeader"], [data-testid="stToolbar"] { display: none; }
[data-testid="stMainBlockContainer"] { padding-top: 1.5rem; max-width: 100%; }
[data-testid="stMetricValue"] { font-size: 2.8rem; }
/* One shared screen: no sidebar (the workshop bar walks the pages and leaves this mode). */
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none; }
h1 { font-size: 2.6rem; }
</style>
"""
