"""One store per process, and every ``nestmap.Graph`` call cached per loaded dataset version.

The cache key is the store's location plus ``store.version()``, which changes whenever a dataset
is loaded: a load from any session (or from the command line) is picked up on the next rerun.
Pages get every figure from ``nestmap.Graph`` (that is, from ``nestmap.answers`` and
``nestmap.analysis``); nothing here or in the pages computes an analysis.

What is kept where:

- the analyses themselves are kept by the answers layer, as Arrow for the graph
  (``nestmap.answers``): here their rows are only shared between the sessions of this process;
- what a page derives from them (``kept``) and the small whole-country figures (``call``) are
  shared in this process too, at most ``MEMORY_ENTRIES`` of them (the least recently used
  leave first), and **only a page's default view** is also written to disk
  (``nestmap.dashboard.kept``: Arrow and JSON, under a size cap), for the next server to read
  back: a slider moved or a filter beyond the local authority is kept in memory only, so no
  visitor can fill the disk by trying combinations.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import streamlit as st

from nestmap.answers.keep import Shelf, graph_path
from nestmap.api import Graph, Pathways, Table, Tables
from nestmap.dashboard import kept as on_disk
from nestmap.dashboard.filters import current
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
# Results shared in this process (st.cache_resource: least recently used out first). Each is
# at most a national table or a drawing (tens of MB): this bounds the memory they hold.
MEMORY_ENTRIES = 32


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
    current_store = store()
    return f"{current_store.location}@{current_store.version()}"


def has_graph() -> bool:
    return store().has_graph()


def prepare() -> None:
    """Start preparing every page's results in the background for the loaded dataset version
    (nestmap.answers.warm, then nestmap.dashboard.prepare), once per version in this
    process: after a server starts, and after a load, rollback or edit from any page or the
    command line."""
    if store().engine == "embedded":
        _prepared(dataset_key())


@st.cache_resource(show_spinner=False, max_entries=4)
def _prepared(key: str) -> bool:
    from nestmap.answers import warm
    from nestmap.dashboard import prepare as pages

    return warm.start(store(), pages.MODULE) is not None


def warming(analyses: Iterable[str]) -> list[str]:
    """Of these analyses (commands of ``nestmap.answers.ANALYSES``), those whose whole-country
    answer the background warm-up after a load is still to keep: a page shows them as being
    worked out instead of computing them a second time beside it on the same cores. Empty when
    no warm-up of the loaded dataset runs, or when it started longer ago than anyone waits for
    another process's answer (``WAIT_FOR_OTHERS_S``): then a page computes what it needs."""
    from nestmap.answers import warm
    from nestmap.answers.keep import WAIT_FOR_OTHERS_S
    from nestmap.answers.questions import is_kept

    current = store()
    graph = graph_path(current)
    if graph is None or not current.has_graph():
        return []
    if not warm.running(graph, current.version(), started_within_s=WAIT_FOR_OTHERS_S):
        return []
    return [name for name in analyses if not is_kept(current, name)]


@st.cache_data(show_spinner=False, max_entries=512)
def _call(name: str, key: str, args: tuple[Any, ...]) -> Any:
    return getattr(graph(), name)(*args)


# The analyses the answers layer keeps on disk (as Arrow, read back in milliseconds):
# their rows are shared in this process, not written again.
ANSWERED = frozenset(
    {
        "gaps",
        "age_bands",
        "misdirected",
        "boundaries",
        "concentration",
        "assessment",
        "workforce",
        "thrive",
        "groups_left_out",
        "need",
        "need_totals",
        "count_bases",
        "concentration_unrecorded",
    }
)
# Large, and read back from disk no faster than the engine gives them (a million links), or not
# kept by the answers layer (pathways with its chains): shared in this process only; what the
# pages derive from them is kept on disk, for their default view.
SHARED = frozenset({"referral_links", "services", "pathways"})
# Small whole-country figures and lookups each page starts from: kept on disk too, for their
# default view (``_default_call``).
FIGURES = frozenset({"headline", "dead_ends", "misdirected_summary", "per_area", "service_names"})


def call(name: str, *args: Any) -> Any:
    """``Graph.NAME(*args)`` on the loaded dataset, cached until another dataset is loaded.
    A large result (``ANSWERED``, ``SHARED``, ``FIGURES``) is shared between sessions:
    callers only read it."""
    if name in ANSWERED or name in SHARED or name in FIGURES:
        return kept(
            f"graph.{name}",
            args,
            lambda: getattr(graph(), name)(*args),
            disk=name in FIGURES and _default_call(name, args),
        )
    return _call(name, dataset_key(), args)


def _default_call(name: str, args: tuple[Any, ...]) -> bool:
    """The figure asked with nothing but the local authority chosen: the need shares as they
    start, no level or stage."""
    if name == "headline":
        return default_shares(args[2])
    if name == "per_area":
        return args[1:3] == (None, None) and default_shares(args[3])
    return True


def default_shares(shares: Shares | None) -> bool:
    """The need shares as every page starts with them (``None``: not chosen yet)."""
    if shares is None:
        return True
    from decimal import Decimal, InvalidOperation

    try:
        return [Decimal(share) for share in shares] == [
            Decimal(share) for share in DEFAULT_SHARE_TEXT
        ]
    except (InvalidOperation, TypeError):
        return False


def default_view(*controls_at_start: bool) -> bool:
    """This run shows a page's default view: no sidebar filter but the local authority, and
    each of the page's own controls (``controls_at_start``) as it starts. Only such a view's
    results are written to disk (see ``kept``)."""
    chosen = current()
    return not (chosen.level or chosen.focus or chosen.stage) and all(controls_at_start)


def kept_dir() -> Path | None:
    """Where the dashboard keeps results of an embedded graph (none for Neo4j)."""
    shelf = Shelf.of(store(), on_disk.SUFFIX, dashboard=True)
    return None if shelf is None else shelf.root


def kept(what: str, args: tuple[Any, ...], compute: Callable[[], Any], disk: bool = False) -> Any:
    """``compute()`` for the loaded dataset version, once per server process (shared:
    callers must not change what they get). ``disk``: this is a page's default view
    (``default_view``): also written to disk, when the cache folder is writable, so that a
    new server (a restart, a second worker) reads it back instead of recomputing it."""
    return _kept(what, repr(args), dataset_key(), disk, compute)


@st.cache_resource(show_spinner=False, max_entries=MEMORY_ENTRIES)
def _kept(what: str, args: str, key: str, disk: bool, _compute: Callable[[], Any]) -> Any:
    # Per dataset version and per version of nestmap's code (the dashboard's included): an
    # upgraded nestmap computes its pages afresh instead of showing what the old one kept.
    shelf = Shelf.of(store(), on_disk.SUFFIX, dashboard=True) if disk else None
    if shelf is None or key != f"{store().location}@{shelf.version}":
        return _compute()
    name = hashlib.sha256(f"{what}\0{args}".encode()).hexdigest()[:24]
    found = shelf.read(name, _read_value)
    if found is not None:
        return found[0]
    # Another process computing the same result (another server, or the warm-up after a
    # load: nestmap.dashboard.prepare) is waited for rather than done twice on the same cores.
    with shelf.lock(name):
        found = shelf.read(name, _read_value)
        if found is not None:
            return found[0]
        result = _compute()
        shelf.keep(
            name,
            lambda folder: on_disk.write(folder, result),
            lambda: store().version() == shelf.version,
        )
    return result


def _read_value(folder: Path) -> tuple[Any]:
    """The value kept in ``folder``, in a tuple (a kept value may be None)."""
    return (on_disk.read(folder),)


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
    return kept(f"graph.arrow.{name}", (area,), lambda: graph().arrow(name, area))


def links() -> Any:
    """Every referral link as Arrow in the engine's order (``referral_links_table`` unsorted:
    the network selects, ranks and orders what it draws itself), shared in this process."""
    from nestmap.analysis.summaries import referral_links_table

    return kept("graph.links", (), lambda: referral_links_table(store(), ordered=False))


def network_services(area: str | None = None) -> Any:
    """``extra.network_services_table``: what the network selects services by, as Arrow,
    shared in this process."""
    from nestmap.analysis.extra import network_services_table

    return kept("graph.network_services", (area,), lambda: network_services_table(store(), area))


def services_by_id(wanted: list[str]) -> list[Row]:
    """``extra.services_by_id``: the whole rows of these services (the few drawn)."""
    from nestmap.analysis.extra import services_by_id as rows

    return rows(store(), wanted)


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
