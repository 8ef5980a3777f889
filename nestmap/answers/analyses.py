"""Every analysis as every door asks it: once per dataset version, whoever asks first.

``answer`` gives the answer to a question of ``nestmap.answers.questions`` (``nestmap COMMAND``'s,
as Arrow tables by part): read back when kept, one LA cut out of the kept whole-country answer
when there is one (``nestmap.answers.slices``), else computed and kept. The text formats are
written from these tables on request (``nestmap.output``), never kept.

The row functions below give the rows the row functions of ``nestmap.analysis.core`` give (the
Arrow tables they are read from are tested equal to them: tests/test_arrow_analyses.py).
"""

from __future__ import annotations

from typing import Any

from nestmap.answers.arrow import Parts, parts_of
from nestmap.answers.questions import (
    ANALYSES,
    RESULTS,
    Row,
    forget_other_versions,
    kept,
    question,
    results_dir,
)
from nestmap.graph import GraphStore

__all__ = ["ANALYSES", "RESULTS", "answer", "forget_other_versions", "question", "results_dir"]


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
    is kept only with ``keep_any`` (the command line's: whoever runs it can load the graph
    anyway): a visitor trying share after share on the dashboard gets each computed,
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
