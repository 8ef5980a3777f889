"""One store per process, and every analysis cached per loaded dataset version.

The cache key is the store's location plus ``store.version()``, which changes whenever a dataset
is loaded: a load from any session (or from the command line) is picked up on the next rerun.
"""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from nestmap import analysis
from nestmap.graph import GraphStore, open_store
from nestmap.vocabulary import DEFAULT_SHARES

Row = dict[str, Any]
Shares = tuple[str, str, str]
DEFAULT_SHARE_TEXT: Shares = (
    DEFAULT_SHARES["targeted"],
    DEFAULT_SHARES["specialist"],
    DEFAULT_SHARES["statutory"],
)


@st.cache_resource(show_spinner=False)
def _open(db: str, neo4j_uri: str) -> GraphStore:
    # Keyed by the settings, so a process serving another database gets its own handle.
    return open_store(db or None)


def store() -> GraphStore:
    return _open(os.environ.get("NESTMAP_DB", ""), os.environ.get("NESTMAP_NEO4J_URI", ""))


def dataset_key() -> str:
    current = store()
    return f"{current.location}@{current.version()}"


@st.cache_data(show_spinner=False, max_entries=512)
def _run(name: str, key: str, area: str | None, shares: Shares | None) -> Any:
    current = store()
    if name == "need":
        return analysis.need(current, area, analysis.parse_shares(*(shares or DEFAULT_SHARE_TEXT)))
    if name in ("info", "local_authority_codes"):
        return getattr(analysis, name)(current)
    return getattr(analysis, name)(current, area)


def has_graph() -> bool:
    return store().has_graph()


def gaps(area: str | None = None) -> list[Row]:
    return _run("gaps", dataset_key(), area, None)


def age_bands(area: str | None = None) -> list[Row]:
    return _run("age_bands", dataset_key(), area, None)


def misdirected(area: str | None = None) -> list[Row]:
    return _run("misdirected", dataset_key(), area, None)


def boundaries(area: str | None = None) -> dict[str, list[Row]]:
    return _run("boundaries", dataset_key(), area, None)


def threshold_cliffs(area: str | None = None) -> list[Row]:
    return _run("threshold_cliffs", dataset_key(), area, None)


def pathways(area: str | None = None) -> list[Row]:
    return _run("pathways", dataset_key(), area, None)


def concentration(area: str | None = None) -> list[Row]:
    return _run("concentration", dataset_key(), area, None)


def need(area: str | None = None, shares: Shares | None = None) -> list[Row]:
    return _run("need", dataset_key(), area, shares or DEFAULT_SHARE_TEXT)


def assessment(area: str | None = None) -> dict[str, list[Row]]:
    return _run("assessment", dataset_key(), area, None)


def workforce(area: str | None = None) -> dict[str, Any]:
    return _run("workforce", dataset_key(), area, None)


def thrive(area: str | None = None) -> list[Row]:
    return _run("thrive", dataset_key(), area, None)


def groups_left_out(area: str | None = None) -> list[Row]:
    return _run("groups_left_out", dataset_key(), area, None)


def services(area: str | None = None) -> list[Row]:
    return _run("services", dataset_key(), area, None)


def info() -> dict[str, Any]:
    return _run("info", dataset_key(), None, None)


def local_authority_codes() -> list[str]:
    return _run("local_authority_codes", dataset_key(), None, None)


@st.cache_data(show_spinner=False, max_entries=8)
def _area_names(key: str) -> dict[str, str]:
    return {row["area_code"]: row["area_name"] for row in analysis.gaps(store())}


def area_names() -> dict[str, str]:
    """Local authority names by code."""
    return _area_names(dataset_key())


@st.cache_resource(show_spinner=False, max_entries=1)
def _referral_links(key: str) -> tuple[Row, ...]:
    # A resource, not data: a national dataset has a million links, and st.cache_data would
    # unpickle a fresh copy on every rerun. Callers only read it.
    from nestmap.interop import dataset_tables

    header, *rows = dataset_tables(store())["referrals"]
    links = (dict(zip(header, row, strict=True)) for row in rows)
    return tuple({**link, "count": int(link["count"]) if link["count"] else None} for link in links)


def referral_links() -> tuple[Row, ...]:
    """Every referral link of the loaded dataset (any status), counts as ints or None."""
    return _referral_links(dataset_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _service_names(key: str) -> dict[str, str]:
    return {row["id"]: row["name"] for row in services()}


def service_names() -> dict[str, str]:
    return _service_names(dataset_key())


@st.cache_resource(show_spinner=False, max_entries=1)
def _active_successors(key: str) -> dict[str, list[str]]:
    from nestmap.dashboard.network import successors

    active = {row["id"] for row in services() if row["status"] == "active"}
    return successors(referral_links(), active)


def active_successors() -> dict[str, list[str]]:
    """Who each active service refers to among active services (for showing pathway chains)."""
    return _active_successors(dataset_key())


@st.cache_data(show_spinner=False, max_entries=64)
def _read_only(key: str, cypher: str, limit: int, timeout_s: float) -> Any:
    return store().run_read_only(cypher, None, limit, timeout_s)


def read_only(cypher: str, limit: int, timeout_s: float) -> tuple[list[str], list[list[Any]], bool]:
    """User-written Cypher through the store's read-only guard; errors are not cached."""
    return _read_only(dataset_key(), cypher, limit, timeout_s)


def clear() -> None:
    """Forget every cached result (after this process loaded a new dataset)."""
    _run.clear()
