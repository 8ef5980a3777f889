"""The sidebar filters (LA, level, focus, stage) and presentation mode, kept in the URL.

A link with ``?la=W06000013&level=targeted&stage=postnatal&focus=specialised&present=1``
reproduces the view: the workshop's "save and share". ``la`` also takes a local authority's
name (``?la=Merthyr%20Tydfil``, any letter case); the sidebar then writes its code back. The
URL wins when it carries a value this session did not write (a shared link, an edited address);
otherwise the widgets win.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from nestmap.vocabulary import FOCUSES, LEVELS, STAGES
from nestmap.vocabulary import label as vocabulary_label

ALL = ""
_WRITTEN = "_filters_written_to_url"
_CURRENT = "_filters_current"
KEYS = ("la", "level", "focus", "stage")


@dataclass(frozen=True)
class Filters:
    la: str | None = None
    level: str | None = None
    focus: str | None = None
    stage: str | None = None
    present: bool = False

    def params(self) -> dict[str, str]:
        """The query parameters that reproduce this view."""
        found = {key: getattr(self, key) for key in KEYS if getattr(self, key)}
        if self.present:
            found["present"] = "1"
        return found

    def describe(self) -> str:
        """The active filters in words (for captions)."""
        parts = [f"{key} = {getattr(self, key)}" for key in KEYS if getattr(self, key)]
        return ", ".join(parts) if parts else "no filters"


# Not filters, but part of a shared view: the need shares, the Scenarios page's bundled option
# and its edits, the scenario builder's scenario (see workshop.py and builder.py).
KEPT = ("shares", "option", "option_families", "option_cost", "scenario")


def kept_params() -> dict[str, str]:
    """The page parameters of the address that the filters keep (``KEPT``)."""
    return {key: st.query_params[key] for key in KEPT if key in st.query_params}


def view_params(chosen: Filters | None = None) -> dict[str, str]:
    """Everything that reproduces this view: the filters, presentation mode, the scenario."""
    return {**(chosen or current()).params(), **kept_params()}


def current() -> Filters:
    """The filters of this run (set by the sidebar in app.py)."""
    return st.session_state.get(_CURRENT, Filters())


def _adopt_url(choices: dict[str, list[str]], la_names: dict[str, str]) -> None:
    """Copy values from the URL into the widgets' state when the URL is news to this session."""
    written = st.session_state.get(_WRITTEN)
    for key in (*KEYS, "present"):
        value = st.query_params.get(key)
        if key == "la" and value is not None and value not in choices["la"]:
            value = _la_code(value, la_names)
        state_key = f"filter_{key}"
        if value is not None and (written is None or written.get(key) != value):
            if key == "present":
                st.session_state[state_key] = value.lower() in ("1", "true", "yes")
            elif value in choices[key]:
                st.session_state[state_key] = value
        if key != "present" and st.session_state.get(state_key, ALL) not in choices[key]:
            st.session_state[state_key] = ALL  # e.g. a code the loaded dataset does not have


def _la_code(value: str, la_names: dict[str, str]) -> str:
    """A local authority named in the address by code or name, any case: its code (else the
    value as it is, which no choice matches)."""
    from nestmap.analysis._shape import match_area
    from nestmap.errors import UsageError

    try:
        return match_area(value, la_names)
    except UsageError:
        return value


def sidebar(la_names: dict[str, str]) -> Filters:
    """Draw the filters in the sidebar, sync them with the URL, and return them."""
    choices = {
        "la": [ALL, *la_names],
        "level": [ALL, *LEVELS],
        "focus": [ALL, *FOCUSES],
        "stage": [ALL, *STAGES],
    }
    _adopt_url(choices, la_names)
    sidebar = st.sidebar
    sidebar.selectbox(
        "Local authority",
        choices["la"],
        key="filter_la",
        format_func=lambda code: f"{la_names[code]} ({code})" if code else "All",
    )
    for key, label in (("level", "Level of need"), ("focus", "Focus"), ("stage", "Stage")):
        sidebar.selectbox(
            label,
            choices[key],
            key=f"filter_{key}",
            format_func=lambda value: vocabulary_label(value) if value else "All",
        )
    sidebar.toggle(
        "Presentation mode",
        key="filter_present",
        help="Larger text and fewer controls, for a shared screen in a workshop.",
    )
    chosen = Filters(
        **{key: st.session_state[f"filter_{key}"] or None for key in KEYS},
        present=bool(st.session_state["filter_present"]),
    )
    params = chosen.params()
    # Parameters of a page's own (the scenario builder's scenario) stay in the address.
    wanted = {**params, **kept_params()}
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)
    st.session_state[_WRITTEN] = params
    st.session_state[_CURRENT] = chosen
    return chosen
