"""The analysis commands and the answers kept for them: what a question is, and how its answer
is kept and read back.

``ANALYSES`` is the one list of the analysis commands: the command line builds a command for
each, the background warm-up after a load (``nestmap.answers.warm``) asks each, and the Python
API (``nestmap.Graph``, so the dashboard) and the summaries ask the same questions. A question
is ``{"analysis": COMMAND, "area": AREA, **the command's options with their defaults}``; its
answer (Arrow tables by part, ``nestmap.answers.arrow``) is kept for the graph per dataset
version (``nestmap.answers.keep``): an answer any door computed is read back by the others (a
national misdirected: 2-3 s computed, 0.03 s read back), and one being computed by another
process is waited for rather than computed twice. ``nestmap.answers.analyses`` answers them
(and cuts one LA out of a kept whole-country answer, ``nestmap.answers.slices``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nestmap.answers.arrow import Parts, keepable, parts_of, read_parts, write_parts
from nestmap.answers.keep import Shelf, entry_name, graph_path, shelf_root
from nestmap.graph import GraphStore

RESULTS = ".results"  # the answers' shelf (nestmap.answers.keep.shelf_root)
# A row as the analyses give it. (nestmap.analysis is imported only when something is computed:
# importing it costs a command that reads a kept answer a fifth of its time.)
Row = dict[str, Any]


@dataclass(frozen=True)
class Analysis:
    """An analysis command: ``compute(store, area, **options)`` gives its answer (an Arrow
    table, a dict of them by part, or rows), ``options`` are its other options and their
    defaults (part of every question's key)."""

    compute: Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)


def _core(function: str) -> Callable[..., Any]:
    def compute(store: GraphStore, area: str | None, **options: Any) -> Any:
        from nestmap.analysis import core

        return getattr(core, function)(store, area, **options)

    return compute


def _need(
    store: GraphStore,
    area: str | None,
    targeted_share: str | None,
    specialist_share: str | None,
    statutory_share: str | None,
    preset: str,
) -> Any:
    from nestmap.analysis.core import need, parse_shares
    from nestmap.vocabulary import SHARE_PRESETS

    start = SHARE_PRESETS[preset]
    shares = parse_shares(
        targeted_share or start["targeted"],
        specialist_share or start["specialist"],
        statutory_share or start["statutory"],
    )
    return need(store, area, shares)


def _extra(function: str, parts: tuple[str, ...] = ()) -> Callable[..., Any]:
    """An analysis of ``nestmap.analysis.extra``; with ``parts``, those parts of its result
    (or the one asked for with ``part``)."""

    def compute(store: GraphStore, area: str | None, part: str | None = None) -> Any:
        from nestmap.analysis import extra

        found = getattr(extra, function)(store, area)
        if not parts:
            return found
        return found[part] if part else {name: found[name] for name in parts}

    return compute


PART = {"part": None}
# The most asked first (the order the warm-up after a load computes them in).
ANALYSES: dict[str, Analysis] = {
    "gaps": Analysis(_core("gaps_table")),
    "misdirected": Analysis(_core("misdirected_table")),
    "boundaries": Analysis(_core("boundaries_tables"), PART),
    "pathways": Analysis(_core("pathways_table")),
    "concentration": Analysis(_core("concentration_table")),
    "need": Analysis(
        _need,
        {
            "targeted_share": None,
            "specialist_share": None,
            "statutory_share": None,
            "preset": "high_adversity",
        },
    ),
    "age-bands": Analysis(_core("age_bands_table")),
    "assessment": Analysis(_extra("assessment", ("entry_points", "coverage")), PART),
    "workforce": Analysis(_extra("workforce", ("services", "areas")), PART),
    "thrive": Analysis(_extra("thrive")),
    "groups-left-out": Analysis(_extra("groups_left_out")),
}


def question(name: str, area: str | None = None, **options: Any) -> dict[str, Any]:
    """The key analysis ``name``'s answer is kept under (options not given: their defaults)."""
    known = ANALYSES[name].options
    unknown = set(options) - set(known)
    if unknown:
        raise TypeError(f"{name} has no option {', '.join(sorted(unknown))}")
    return {"analysis": name, "area": area, **known, **options}


def kept(
    store: GraphStore,
    asked: dict[str, Any],
    compute: Callable[[], Any],
    wait_s: float | None = None,
) -> Parts:
    """The answer to ``asked`` as parts: read back if kept for the current dataset, else
    computed with ``compute`` (one process at a time per question) and kept. ``wait_s``: how
    long to wait for another process computing it (``nestmap.answers.keep``'s default when
    None); ``[]`` when that ran out (0: do not wait; the warm-up's processes share the work)."""
    shelf = Shelf.of(store, RESULTS)
    if shelf is None:
        return parts_of(compute())
    name = entry_name(asked)
    found = shelf.read(name, read_parts)
    if found is not None:
        return found
    with shelf.lock(name, wait_s) as held:
        found = shelf.read(name, read_parts)  # kept by another process while this one waited
        if found is not None:
            return found
        if not held and wait_s is not None:
            return []  # another process is computing it: leave it to that one
        parts = parts_of(compute())
        if keepable(parts):
            shelf.keep(
                name,
                lambda folder: write_parts(folder, parts),
                lambda: store.version() == shelf.version,  # no load swapped the graph meanwhile
            )
        return parts


def is_kept(store: GraphStore, name: str) -> bool:
    """Analysis ``name``'s whole-country answer (its default options) is kept for the current
    dataset: reading it back, or cutting one LA out of it, computes nothing."""
    shelf = Shelf.of(store, RESULTS)
    return shelf is not None and shelf.has(entry_name(question(name)))


def results_dir(store: GraphStore) -> Path | None:
    """Where ``store``'s answers are kept (``None`` for engines that keep none)."""
    graph = graph_path(store)
    return None if graph is None else shelf_root(graph, RESULTS)


def forget_other_versions(store: GraphStore) -> None:
    """Delete the answers of datasets other than the current one (after a load or rollback)."""
    shelf = Shelf.of(store, RESULTS)
    if shelf is not None:
        shelf.forget_other_versions()
