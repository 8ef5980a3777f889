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
    if name == "dataset_tables":
        from nestmap.interop import dataset_tables

        return dataset_tables(current)
    return getattr(analysis, name)(current, area)


def has_graph() -> bool:
    return store().has_graph()


def gaps(area: str | None = None) -> list[Row]:
    return _run("gaps", dataset_key(), area, None)


def misdirected(area: str | None = None) -> list[Row]:
    return _run("misdirected", dataset_key(), area, None)


def boundaries(area: str | None = None) -> dict[str, list[Row]]:
    return _run("boundaries", dataset_key(), area, None)


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


def _table(name: str) -> list[Row]:
    """A table of the loaded dataset in its input form (text cells), as dicts."""
    header, *rows = _run("dataset_tables", dataset_key(), None, None)[name]
    return [dict(zip(header, row, strict=True)) for row in rows]


def areas() -> list[Row]:
    return _table("areas")


def area_names() -> dict[str, str]:
    return {row["code"]: row["name"] for row in areas()}


def referral_links() -> list[Row]:
    """Every referral link of the loaded dataset (any status), counts as ints or None."""
    return [
        {**row, "count": int(row["count"]) if row["count"] else None} for row in _table("referrals")
    ]


def service_names() -> dict[str, str]:
    return {row["id"]: row["name"] for row in services()}


@st.cache_data(show_spinner=False, max_entries=64)
def _read_only(key: str, cypher: str, limit: int, timeout_s: float) -> Any:
    return store().run_read_only(cypher, None, limit, timeout_s)


def read_only(cypher: str, limit: int, timeout_s: float) -> tuple[list[str], list[list[Any]], bool]:
    """User-written Cypher through the store's read-only guard; errors are not cached."""
    return _read_only(dataset_key(), cypher, limit, timeout_s)


def clear() -> None:
    """Forget every cached result (after this process loaded a new dataset)."""
    _run.clear()
