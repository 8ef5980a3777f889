"""nestmap's dashboard: ``streamlit run nestmap/dashboard/app.py`` with ``NESTMAP_DB`` set.

Navigation is ours (``st.navigation`` hidden, sidebar links that carry the filters), so that the
URL keeps the filters from page to page. Whatever a page raises ends here as a plain message:
the dashboard is served to teams, and a stack trace is for the server's log, not for them.
"""

import logging
import os

import streamlit as st

from nestmap.dashboard import budget, filters, layout, state, tables, workshop
from nestmap.dashboard.text import md
from nestmap.errors import BusyError, InputError, NestmapError

st.set_page_config(page_title="nestmap", page_icon=":material/hub:", layout="wide")

all_pages = layout.pages()


def _overview_by_name() -> None:
    # The default page lives at "/"; /overview (the name every link and page uses) is this
    # hidden page, which goes there with the filters of the URL.
    st.switch_page(all_pages["overview"], query_params=filters.current().params())


page = st.navigation(
    [
        *all_pages.values(),
        st.Page(_overview_by_name, title="Overview", url_path="overview", visibility="hidden"),
    ],
    position="hidden",
)

la_names: dict[str, str] = {}
try:
    if state.has_graph():
        state.prepare()
        la_names = state.area_names()
except NestmapError as exc:
    st.error(f"The graph cannot be read: {md(exc)}")

st.sidebar.markdown("### nestmap")
nav = st.sidebar.container()
st.sidebar.divider()
st.sidebar.markdown("**Filters**")
chosen = filters.sidebar(la_names)
workshop.adopt_shares()  # a shared link's need shares, for whichever page it opens
with nav:
    layout.nav_links(all_pages, chosen)
# Our own static style sheets (no dataset text in them).
st.html(layout.BASE_CSS)
if chosen.present:
    st.html(layout.PRESENTATION_CSS)
# The workshop's bar (presentation mode: the walk through the pages, share, the way out) or the
# sidebar's share link: drawn after the page, in a place kept for it here, because a page may
# change the address as it runs (the scenario builder writes its scenario there) and the link
# must be the page as it is shown.
frame = st.container() if chosen.present else st.sidebar.container()

# Streamlit's st.stop and st.rerun are BaseExceptions: they pass through these handlers.
try:
    page.run()
except layout.PageEnd:
    pass  # the page said all it had to (layout.end)
except InputError as exc:
    st.error(f"{md(exc)}. Nothing was changed.")
    if exc.more_note():
        st.caption(md(exc.more_note()))
    tables.show(
        tables.frame(
            [p.as_dict() for p in exc.problems], ["file", "row", "column", "value", "reason"]
        ),
        "problems",
    )
except BusyError as exc:
    st.warning(f"Busy: {md(exc)}. Open the page again in a moment.")
except NestmapError as exc:
    st.error(f"This page cannot be shown: {md(exc)}")
except Exception:
    if os.environ.get("NESTMAP_DEBUG"):  # for developers, as on the command line
        raise
    logging.getLogger("nestmap.dashboard").exception("a dashboard page failed")
    st.error(
        "This page failed unexpectedly; nothing was changed. The details are in the dashboard "
        "server's log."
    )
finally:
    budget.end_of_run()

with frame:
    if chosen.present:
        workshop.bar(all_pages, page, chosen)
    else:
        workshop.share(workshop.stem_of(page), chosen)
