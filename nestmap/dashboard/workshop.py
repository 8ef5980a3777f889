"""Workshop mode: one shared screen, a walk through the pages, and a link to this exact view.

Presentation mode (``?present=1``, the sidebar's switch) hides the sidebar and enlarges type; a
bar at the top of each page walks Overview → Coverage → Map → Referrals → Pathways → Need &
capacity → Scenarios, and leaves presentation mode. "Share this view" gives the address of the
page with its filters, presentation mode and the scenario builder's scenario (see
``nestmap.dashboard.builder``): opened in another browser it shows the same view.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from nestmap.dashboard.filters import Filters, view_params

WALK: tuple[str, ...] = (
    "overview",
    "coverage",
    "map",
    "referrals",
    "pathways",
    "need",
    "scenarios",
)


def stem_of(page: st.Page) -> str:
    """The page's name in links (the default page is served at "/" but is "overview")."""
    return "overview" if page.url_path in ("", "home", "overview") else page.url_path


def share_url(stem: str, chosen: Filters) -> str:
    """The address of page ``stem`` with this view's filters and scenario, on this server
    (``st.context.url`` is the browser's address without its query; a server under a path
    prefix keeps the prefix)."""
    from nestmap.dashboard.layout import PAGE_SPECS

    try:
        base = urlsplit(st.context.url or "")
    except Exception:  # no browser connection (a script run): a relative address
        base = urlsplit("")
    segments = base.path.rstrip("/").split("/")
    if segments[-1] in {"home", *(spec[0] for spec in PAGE_SPECS)}:
        segments = segments[:-1]
    path = "/".join([*segments, stem])
    if not path.startswith("/"):
        path = "/" + path
    return urlunsplit((base.scheme, base.netloc, path, urlencode(view_params(chosen)), ""))


def share(stem: str, chosen: Filters, place: object = None) -> None:
    """A "Share this view" popover with the address to copy."""
    where = place or st
    with where.popover("Share this view", icon=":material/share:"):  # type: ignore[attr-defined]
        st.caption(
            "This address opens this page with the same filters and scenario in any browser "
            "that can reach this dashboard:"
        )
        st.code(share_url(stem, chosen), language=None, wrap_lines=True)


def _leave() -> None:
    st.session_state["filter_present"] = False


def bar(all_pages: dict[str, st.Page], current: st.Page, chosen: Filters) -> None:
    """The presentation bar: previous / next in the walk, share, leave presentation mode."""
    stem = stem_of(current)
    params = view_params(chosen)
    line = st.container(horizontal=True, vertical_alignment="center", key="workshop_bar")
    if stem in WALK:
        index = WALK.index(stem)
        if index > 0:
            before = WALK[index - 1]
            line.page_link(
                all_pages[before],
                label=f"Back: {all_pages[before].title}",
                icon=":material/arrow_back:",
                query_params=params,
            )
        line.markdown(f"**{index + 1} / {len(WALK)}**")
        if index + 1 < len(WALK):
            after = WALK[index + 1]
            line.page_link(
                all_pages[after],
                label=f"Next: {all_pages[after].title}",
                icon=":material/arrow_forward:",
                query_params=params,
            )
    else:
        line.page_link(
            all_pages["overview"],
            label="Start the walk: Overview",
            icon=":material/arrow_forward:",
            query_params=params,
        )
    share(stem, chosen, line)
    line.button(
        "Leave presentation mode", key="workshop_leave", on_click=_leave, icon=":material/close:"
    )
