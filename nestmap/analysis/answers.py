"""The analyses as every door asks them: once per dataset version, whoever asks first.

The command line keeps each whole-country answer beside the graph as Arrow
(``nestmap.analysis.materialised``); the background warm-up after a load
(``nestmap.analysis.warm``) asks for all of them. Here the Python API (``nestmap.Graph``), and so
the dashboard, and the summaries built on the analyses (the Overview's figures, the report) ask
the same questions, under the same keys: an answer any of them computed is read back by the
others (a national misdirected: 2-3 s computed, well under one read back), and one being
computed by another process is waited for rather than computed twice.

Each function gives the rows the row functions of ``nestmap.analysis.core`` give (the Arrow
tables they are read from are tested equal to them: tests/test_arrow_analyses.py). A question is
``{"analysis": COMMAND, "area": AREA, **the command's other options}``, exactly the key
``nestmap COMMAND`` keeps its answer under (tests/test_answers.py checks the two share it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nestmap.analysis._shape import Row
from nestmap.analysis.materialised import materialised
from nestmap.graph import GraphStore


def tables(store: GraphStore, question: dict[str, Any], compute: Callable[[], Any]) -> dict:
    """The answer's parts (name -> ``pyarrow.Table``; a single table under ``None``): read
    back when kept for the loaded dataset, else computed with ``compute`` and kept; one LA's
    answer is cut out of the kept whole-country one when there is one
    (``nestmap.analysis.slices``, as the command line does)."""
    area = question.get("area")
    if area is None:
        return dict(materialised(store, question, compute))

    def cut_or_compute() -> Any:
        from nestmap.analysis.slices import slice_of_kept

        options = {k: v for k, v in question.items() if k not in ("analysis", "area")}
        cut = slice_of_kept(store, str(question["analysis"]), area, options)
        return cut() if cut is not None else compute()

    return dict(materialised(store, question, cut_or_compute))


def _rows(table: Any) -> list[Row]:
    return table.to_pylist() if hasattr(table, "to_pylist") else list(table)


# Each analysis answered here: its command (and the command's other options, with their
# defaults: the key ``nestmap COMMAND`` keeps its answer under) and its Arrow function in
# ``nestmap.analysis.core``. Also the analyses ``arrow`` gives.
ARROW = {
    "gaps": ("gaps", {}, "gaps_table"),
    "age_bands": ("age-bands", {}, "age_bands_table"),
    "misdirected": ("misdirected", {}, "misdirected_table"),
    "boundaries": ("boundaries", {"part": None}, "boundaries_tables"),
    "pathways": ("pathways", {}, "pathways_table"),
    "concentration": ("concentration", {}, "concentration_table"),
}


def _kept(store: GraphStore, name: str, area: str | None) -> tuple[dict, Any]:
    """Analysis ``name``'s parts (kept, read back or computed), and the function computing it."""
    from nestmap.analysis import core

    command, options, function = ARROW[name]
    compute = getattr(core, function)
    question = {"analysis": command, "area": area, **options}
    return tables(store, question, lambda: compute(store, area)), compute


def gaps(store: GraphStore, area: str | None = None) -> list[Row]:
    return _rows(_kept(store, "gaps", area)[0][None])


def age_bands(store: GraphStore, area: str | None = None) -> list[Row]:
    return _rows(_kept(store, "age_bands", area)[0][None])


def misdirected(store: GraphStore, area: str | None = None) -> list[Row]:
    return _rows(misdirected_table(store, area))


def misdirected_table(store: GraphStore, area: str | None = None) -> Any:
    """``misdirected`` as the kept ``pyarrow.Table`` (no columns at all when it has no rows,
    as every kept answer: see ``nestmap.output.parts_of``)."""
    return _kept(store, "misdirected", area)[0][None]


BOUNDARY_PARTS = ("links", "threshold_cliffs")


def boundaries(
    store: GraphStore, area: str | None = None, parts: tuple[str, ...] = BOUNDARY_PARTS
) -> dict[str, list[Row]]:
    """The parts asked for (only those are turned into rows: the links part of a national
    dataset is half a million rows)."""
    found = _kept(store, "boundaries", area)[0]
    return {part: _rows(found[part]) for part in parts}


def threshold_cliffs(store: GraphStore, area: str | None = None) -> list[Row]:
    return boundaries(store, area, ("threshold_cliffs",))["threshold_cliffs"]


def pathways(store: GraphStore, area: str | None = None) -> list[Row]:
    """Without chains (``nestmap pathways``'s answer)."""
    return _rows(_kept(store, "pathways", area)[0][None])


def concentration(store: GraphStore, area: str | None = None) -> list[Row]:
    return _rows(concentration_table(store, area))


def concentration_table(store: GraphStore, area: str | None = None) -> Any:
    """``concentration`` as the kept ``pyarrow.Table`` (see ``misdirected_table``)."""
    return _kept(store, "concentration", area)[0][None]


def arrow(store: GraphStore, name: str, area: str | None = None) -> Any:
    """Analysis ``name`` (a key of ``ARROW``) as ``pyarrow.Table``s, typed as the contract
    says even when empty (a dict of them for boundaries); kept answers are read back."""
    found, compute = _kept(store, name, area)
    if any(table.num_rows == 0 for table in found.values()):
        # A kept empty answer has no columns (as the writers want it): the typed empty one.
        typed = compute(store, area)
        found = typed if isinstance(typed, dict) else {None: typed}
    return found[None] if None in found else dict(found)
