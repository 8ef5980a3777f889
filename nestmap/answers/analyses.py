"""Every analysis as every door asks it: once per dataset version, whoever asks first.

``ANALYSES`` is the one list of the analysis commands: the command line builds a command for
each, the background warm-up after a load (``nestmap.answers.warm``) asks each, and the Python
API (``nestmap.Graph``, so the dashboard) and the summaries ask the same questions. A question
is ``{"analysis": COMMAND, "area": AREA, **the command's options with their defaults}``; its
answer (Arrow tables by part, ``nestmap.answers.arrow``) is kept beside the graph per dataset
version (``nestmap.answers.keep``): an answer any door computed is read back by the others (a
national misdirected: 2-3 s computed, 0.03 s read back), and one being computed by another
process is waited for rather than computed twice. One LA's answer is cut out of the kept
whole-country answer when there is one (``nestmap.answers.slices``). The text formats are
written from these tables on request (``nestmap.output``), never kept.

The row functions below give the rows the row functions of ``nestmap.analysis.core`` give (the
Arrow tables they are read from are tested equal to them: tests/test_arrow_analyses.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nestmap.answers.arrow import Parts, keepable, parts_of, read_parts, write_parts
from nestmap.answers.keep import Shelf, entry_name, graph_path
from nestmap.graph import GraphStore

RESULTS = ".results"  # the answers' folder beside the graph: <graph>.results/
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


def answer(
    store: GraphStore,
    name: str,
    area: str | None = None,
    keep_any: bool = False,
    wait_s: float | None = None,
    **options: Any,
) -> Parts:
    """Analysis ``name``'s answer (``nestmap COMMAND``'s) as parts: read back when kept for
    the loaded dataset, else computed and kept; one LA's cut out of the kept whole-country
    answer when there is one. ``part`` (an option of analyses with several parts) takes one
    from the answer with all of them. An answer to a question with other options of its own
    is kept only with ``keep_any`` (the command line's: whoever runs it can write beside the
    graph anyway): a visitor trying share after share on the dashboard gets each computed,
    and cannot push the answers everyone asks for out of the folder's size cap. ``wait_s``:
    see ``kept``."""
    asked = question(name, area, **options)
    part = asked.get("part")
    if part is not None:  # one part of the answer (kept with all of them)
        whole = answer(store, name, area, keep_any, wait_s, **{**options, "part": None})
        return [(None, table) for found, table in whole if found == part]
    chosen = {key: asked[key] for key in ANALYSES[name].options if key != "part"}

    def compute() -> Any:
        return ANALYSES[name].compute(store, area, **chosen)

    own = asked != question(name, area)
    if own and not keep_any:
        return parts_of(compute())  # options of one's own: not kept
    if area is not None:
        from nestmap.answers.slices import slice_of_kept

        cut = slice_of_kept(store, name, area, chosen)
        if cut is not None:  # no engine, no lock: a filter of what is kept
            return parts_of(cut())
    return kept(store, asked, compute, wait_s)


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


def results_dir(store: GraphStore) -> Path | None:
    """Where ``store``'s answers are kept (``None`` for engines that keep none)."""
    graph = graph_path(store)
    return None if graph is None else graph.with_name(graph.name + RESULTS)


def forget_other_versions(store: GraphStore) -> None:
    """Delete the answers of datasets other than the current one (after a load or rollback)."""
    shelf = Shelf.of(store, RESULTS)
    if shelf is not None:
        shelf.forget_other_versions()


# -- the analyses as the Python API gives them ------------------------------------------------
# The analyses ``arrow`` gives (the API's names), with their command and the Arrow function of
# ``nestmap.analysis.core`` that types an empty answer.
ARROW = {
    "gaps": ("gaps", "gaps_table"),
    "age_bands": ("age-bands", "age_bands_table"),
    "misdirected": ("misdirected", "misdirected_table"),
    "boundaries": ("boundaries", "boundaries_tables"),
    "pathways": ("pathways", "pathways_table"),
    "concentration": ("concentration", "concentration_table"),
}


def tables(store: GraphStore, name: str, area: str | None = None) -> dict[str | None, Any]:
    """Analysis ``name`` (a key of ``ARROW``) as its parts by name (``None``: its only one)."""
    return dict(answer(store, ARROW[name][0], area))


def _rows(table: Any) -> list[Row]:
    return table.to_pylist() if hasattr(table, "to_pylist") else list(table)


def rows(
    store: GraphStore, name: str, area: str | None = None, **options: Any
) -> dict[str | None, list[Row]]:
    """Analysis ``name``'s answer as rows by part (``None``: its only one)."""
    return {part: _rows(table) for part, table in answer(store, name, area, **options)}


def gaps(store: GraphStore, area: str | None = None) -> list[Row]:
    return _rows(tables(store, "gaps", area)[None])


def age_bands(store: GraphStore, area: str | None = None) -> list[Row]:
    return _rows(tables(store, "age_bands", area)[None])


def misdirected(store: GraphStore, area: str | None = None) -> list[Row]:
    return _rows(misdirected_table(store, area))


def misdirected_table(store: GraphStore, area: str | None = None) -> Any:
    """``misdirected`` as the kept ``pyarrow.Table`` (no columns at all when it has no rows,
    as every kept answer: see ``nestmap.answers.arrow.as_written``)."""
    return tables(store, "misdirected", area)[None]


BOUNDARY_PARTS = ("links", "threshold_cliffs")


def boundaries(
    store: GraphStore, area: str | None = None, parts: tuple[str, ...] = BOUNDARY_PARTS
) -> dict[str, list[Row]]:
    """The parts asked for (only those are turned into rows: the links part of a national
    dataset is half a million rows)."""
    found = tables(store, "boundaries", area)
    return {part: _rows(found[part]) for part in parts}


def threshold_cliffs(store: GraphStore, area: str | None = None) -> list[Row]:
    return boundaries(store, area, ("threshold_cliffs",))["threshold_cliffs"]


def pathways(store: GraphStore, area: str | None = None) -> list[Row]:
    """Without chains (``nestmap pathways``'s answer)."""
    return _rows(tables(store, "pathways", area)[None])


def concentration(store: GraphStore, area: str | None = None) -> list[Row]:
    return _rows(concentration_table(store, area))


def concentration_table(store: GraphStore, area: str | None = None) -> Any:
    """``concentration`` as the kept ``pyarrow.Table`` (see ``misdirected_table``)."""
    return tables(store, "concentration", area)[None]


def arrow(store: GraphStore, name: str, area: str | None = None) -> Any:
    """Analysis ``name`` (a key of ``ARROW``) as ``pyarrow.Table``s, typed as the contract
    says even when empty (a dict of them for boundaries); kept answers are read back."""
    found = tables(store, name, area)
    if any(table.num_rows == 0 for table in found.values()):
        # A kept empty answer has no columns (as the writers want it): the typed empty one.
        from nestmap.analysis import core

        typed = getattr(core, ARROW[name][1])(store, area)
        found = typed if isinstance(typed, dict) else {None: typed}
    return found[None] if None in found else dict(found)
