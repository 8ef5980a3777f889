"""Workshop mode: one shared screen, a walk through the pages, and a link to this exact view.

Presentation mode (``?present=1``, the sidebar's switch) hides the sidebar and enlarges type; a
bar at the top of each page walks Overview → Coverage → Map → Referrals → Pathways → Need &
capacity → Scenarios, and leaves presentation mode. "Share this view" gives the address of the
page with its filters, presentation mode, the need shares when changed (``?shares=``), the
Scenarios page's bundled option with its edits (``?option=``) or the scenario builder's
scenario (``?scenario=``, see ``nestmap.dashboard.builder``): opened in another browser it shows
the same view. It is drawn after the page has run (app.py), so it carries what the page wrote.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from nestmap.dashboard.filters import Filters, view_params
from nestmap.errors import UsageError
from nestmap.vocabulary import DEFAULT_SHARES, NEED_LEVELS

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


# What a page shows that its address cannot carry (a page sets it on every run; None: nothing).
NOT_IN_LINK = "share_not_in_link"


def share(stem: str, chosen: Filters, place: object = None) -> None:
    """A "Share this view" popover with the address to copy."""
    where = place or st
    with where.popover("Share this view", icon=":material/share:"):  # type: ignore[attr-defined]
        st.caption(
            "This address opens this page with the same filters, shares and scenario in any "
            "browser that can reach this dashboard:"
        )
        st.code(share_url(stem, chosen), language=None, wrap_lines=True)
        missing = st.session_state.get(NOT_IN_LINK) if stem == "scenarios" else None
        if missing:
            st.warning(missing)


SHARES = "shares"
_SHARES_WRITTEN = "_shares_written_to_url"
DEFAULT_SHARE_TEXTS = tuple(f"{float(DEFAULT_SHARES[level]):.4f}" for level in NEED_LEVELS)


def write_shares(shares: tuple[str, str, str]) -> None:
    """The Need page's shares in the address, when they are not the report's defaults."""
    value = None if tuple(shares) == DEFAULT_SHARE_TEXTS else ",".join(shares)
    st.session_state[_SHARES_WRITTEN] = value
    if value is None:
        if SHARES in st.query_params:
            del st.query_params[SHARES]
    elif st.query_params.get(SHARES) != value:
        st.query_params[SHARES] = value


def adopt_shares() -> None:
    """Before a page runs: shares in an address this session did not write (a shared link)
    become this session's need shares, on every page that uses them. Anything but three
    shares between 0 and 1 is dropped from the address."""
    from nestmap.analysis import parse_shares

    value = st.query_params.get(SHARES)
    if value is None or value == st.session_state.get(_SHARES_WRITTEN):
        return
    parts = value.split(",")
    try:
        if len(parts) != len(NEED_LEVELS):
            raise UsageError("three shares are needed")
        parsed = parse_shares(*parts)
    except UsageError:
        del st.query_params[SHARES]
        return
    texts = tuple(f"{parsed[level]:.4f}" for level in NEED_LEVELS)
    for level, text in zip(NEED_LEVELS, texts, strict=True):
        st.session_state[f"need_share_{level}"] = float(text)
    st.session_state["need_shares"] = texts
    st.session_state[_SHARES_WRITTEN] = value


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
