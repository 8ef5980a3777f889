"""One store per process, and every ``nestmap.Graph`` call cached per loaded dataset version.

The cache key is the store's location plus ``store.version()``, which changes whenever a dataset
is loaded: a load from any session (or from the command line) is picked up on the next rerun.
Pages get every figure from ``nestmap.Graph`` (that is, from ``nestmap.analysis``); nothing
here or in the pages computes an analysis.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import streamlit as st

from nestmap.analysis.materialised import code_fingerprint, computing
from nestmap.api import Graph, Pathways, Table, Tables
from nestmap.graph import GraphStore, open_store
from nestmap.vocabulary import DEFAULT_SHARES

Row = dict[str, Any]
# Above this many services the Scenarios page applies a scenario when the user asks: it copies
# the whole graph (tens of seconds at national scale), which a first look should not cost.
SCENARIO_ASK_ABOVE_SERVICES = 5_000
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


def graph() -> Graph:
    """The process's graph (its store stays open between reruns)."""
    return Graph.over(store())


def dataset_key() -> str:
    current = store()
    return f"{current.location}@{current.version()}"


def has_graph() -> bool:
    return store().has_graph()


def prepare() -> None:
    """Start preparing every page's results in the background for the loaded dataset version
    (nestmap.analysis.warm), once per version in this process: after a server starts, and
    after a load, rollback or edit from any page or the command line."""
    if store().engine == "embedded":
        _prepared(dataset_key())


@st.cache_resource(show_spinner=False, max_entries=4)
def _prepared(key: str) -> bool:
    from nestmap.analysis import warm

    return warm.start(store(), dashboard=True) is not None


@st.cache_data(show_spinner=False, max_entries=512)
def _call(name: str, key: str, args: tuple[Any, ...]) -> Any:
    return getattr(graph(), name)(*args)


# Results too large to copy on every rerun (st.cache_data unpickles a fresh copy each time) and
# too slow to recompute in every new server at national scale (a million referral links): kept
# once per process as shared objects, and on disk beside the graph per dataset version.
HEAVY = frozenset(
    {
        "misdirected",
        "referral_links",
        "services",
        "service_names",
        "pathways",
        "boundaries",
        "gaps",
        "age_bands",
        "concentration",
        "assessment",
        "workforce",
        "thrive",
        "groups_left_out",
        # Small, but each a whole-country analysis: a new server reads them back.
        "headline",
        "dead_ends",
        "misdirected_summary",
        "per_area",
        "need",
        "need_totals",
        "count_bases",
        "concentration_unrecorded",
    }
)
# Heavy results read back from disk no faster than the engine gives them (a million links is a
# 95 MB pickle): shared in the process only; what the pages derive from them is kept on disk.
IN_PROCESS_ONLY = frozenset({"referral_links", "services"})


def call(name: str, *args: Any) -> Any:
    """``Graph.NAME(*args)`` on the loaded dataset, cached until another dataset is loaded.
    A heavy result (``HEAVY``) is shared between sessions: callers only read it."""
    if name in HEAVY:
        return kept(
            f"graph.{name}",
            args,
            lambda: getattr(graph(), name)(*args),
            on_disk=name not in IN_PROCESS_ONLY,
        )
    return _call(name, dataset_key(), args)


def kept_dir() -> Path | None:
    """Where the dashboard keeps results beside an embedded graph (none for Neo4j)."""
    current = store()
    if current.engine != "embedded":
        return None
    location = Path(current.location)
    return location.with_name(location.name + ".dashboard")


def kept(what: str, args: tuple[Any, ...], compute: Callable[[], Any], on_disk: bool = True) -> Any:
    """``compute()`` for the loaded dataset version, once per server process and, when the
    graph's folder is writable, once per dataset version across servers: a new server (a
    restart, a second worker) reads the result back instead of recomputing it. Shared: callers
    must not change what they get. Only nestmap writes these files, beside the graph it
    serves; whoever can write there can already replace the graph itself. ``on_disk``: off,
    kept in this process only."""
    return _kept(what, repr(args), dataset_key(), on_disk, compute)


@st.cache_resource(show_spinner=False, max_entries=32)
def _kept(what: str, args: str, key: str, on_disk: bool, _compute: Callable[[], Any]) -> Any:
    folder = kept_dir() if on_disk else None
    # Per dataset version and per version of nestmap's code (the dashboard's included): an
    # upgraded nestmap computes its pages afresh instead of showing what the old one kept.
    version = f"{key.rsplit('@', 1)[-1]}-{code_fingerprint(dashboard=True)}"
    digest = hashlib.sha256(f"{what}\0{args}".encode()).hexdigest()[:24]
    file = folder / f"{version}-{digest}.pickle" if folder else None
    if file is None:
        return _compute()
    found = _read_kept(file)
    if found is not None:
        return found[0]
    # Another process computing the same result (another server, or the warm-up after a
    # load: nestmap.analysis.warm) is waited for rather than done twice on the same cores.
    with computing(file.with_name(f".{file.name}.lock")):
        found = _read_kept(file)
        if found is not None:
            return found[0]
        result = _compute()
        _keep(file, version, result)
    return result


def _read_kept(file: Path) -> tuple[Any] | None:
    """The result kept in ``file`` (in a tuple: a result may be None), if it can be read."""
    if not file.is_file():
        return None
    try:
        with file.open("rb") as handle:
            return (pickle.load(handle),)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None  # written by another nestmap version, or cut short: compute it again


def _keep(file: Path, version: str, result: Any) -> None:
    """Write ``result`` atomically; results of other dataset (or code) versions are removed."""
    try:
        file.parent.mkdir(exist_ok=True)
        for old in [*file.parent.glob("*.pickle"), *file.parent.glob(".*.pickle.lock")]:
            if not old.name.lstrip(".").startswith(f"{version}-"):
                old.unlink(missing_ok=True)
        partial = file.with_name(f".{file.name}.{os.getpid()}")
        with partial.open("wb") as handle:
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(file)
    except OSError as exc:  # a read-only folder: the result stays in this process only
        logging.getLogger("nestmap.dashboard").info("results not kept on disk: %s", exc)


Result = TypeVar("Result", covariant=True)


class ByArea(Protocol[Result]):
    """A cached analysis of the whole dataset, or of one local authority."""

    def __call__(self, area: str | None = None) -> Result: ...


def _per_area(name: str) -> ByArea[Any]:
    def analysis(area: str | None = None) -> Any:
        return call(name, area)

    analysis.__name__ = analysis.__qualname__ = name
    analysis.__doc__ = f"``Graph.{name}(area)``, cached."
    return analysis


gaps: ByArea[list[Row]] = _per_area("gaps")
age_bands: ByArea[list[Row]] = _per_area("age_bands")
pathways: ByArea[Pathways] = _per_area("pathways")
concentration: ByArea[list[Row]] = _per_area("concentration")
assessment: ByArea[dict[str, list[Row]]] = _per_area("assessment")
workforce: ByArea[Tables] = _per_area("workforce")
thrive: ByArea[list[Row]] = _per_area("thrive")
groups_left_out: ByArea[list[Row]] = _per_area("groups_left_out")
services: ByArea[list[Row]] = _per_area("services")
misdirected_summary: ByArea[dict[str, Any]] = _per_area("misdirected_summary")
dead_ends: ByArea[dict[str, int]] = _per_area("dead_ends")


def arrow(name: str, area: str | None = None) -> Any:
    """``Graph.arrow(name, area)``: the analysis as Arrow (read back from the kept answer),
    shared in this process; callers only read it."""
    return kept(f"graph.arrow.{name}", (area,), lambda: graph().arrow(name, area), on_disk=False)


def threshold_cliffs(area: str | None = None) -> list[Row]:
    return call("boundaries", area, "threshold_cliffs")


def need(area: str | None = None, shares: Shares | None = None) -> list[Row]:
    return call("need", area, *(shares or DEFAULT_SHARE_TEXT))


def need_totals(area: str | None = None, shares: Shares | None = None) -> dict[str, Any]:
    """need summed per level and for targeted + specialist (see ``Graph.need_totals``)."""
    return call("need_totals", area, shares or DEFAULT_SHARE_TEXT)


def concentration_unrecorded(area: str | None = None) -> set[tuple[str, str]]:
    """(to_service, count_basis) of the concentration rows whose counts are all blank."""
    return {(r["to_service"], r["count_basis"]) for r in call("concentration_unrecorded", area)}


def count_bases(area: str | None = None) -> list[str]:
    """The units the parent-infant relationship referral counts are in."""
    return call("count_bases", area)


def per_area(
    metric: str,
    level: str | None = None,
    stage: str | None = None,
    shares: Shares | None = None,
    count_basis: str | None = None,
) -> dict[str, float | None]:
    """One figure per local authority (see ``Graph.per_area``)."""
    return call("per_area", metric, level, stage, shares or DEFAULT_SHARE_TEXT, count_basis)


def headline(name: str, area: str | None = None, shares: Shares | None = None) -> dict[str, Any]:
    """One of the Overview's figures (see ``Graph.headline``)."""
    return call("headline", name, area, shares or DEFAULT_SHARE_TEXT)


def info() -> dict[str, Any]:
    return call("info")


def local_authority_codes() -> list[str]:
    return [row["code"] for row in call("local_authorities")]


def area_names() -> dict[str, str]:
    """Local authority names by code."""
    return call("area_names")


def service_names() -> dict[str, str]:
    """Service names by id."""
    return call("service_names")


def region_name() -> str | None:
    return call("region_name")


def referral_links() -> Table:
    """Every referral link of the loaded dataset (any status), counts as ints or None.
    Shared (a national dataset has a million links): callers only read it."""
    return call("referral_links")


# Few entries: a console result may be up to nestmap.graph.console.RESULT_BYTES.
@st.cache_data(show_spinner=False, max_entries=8)
def _read_only(key: str, cypher: str, limit: int, timeout_s: float) -> Any:
    return store().console(cypher, limit, timeout_s)


def read_only(cypher: str, limit: int, timeout_s: float) -> Any:
    """User-written Cypher through the console's guard and worker (a ConsoleResult); errors
    (refused, stopped, crashed) are not cached."""
    return _read_only(dataset_key(), cypher, limit, timeout_s)
