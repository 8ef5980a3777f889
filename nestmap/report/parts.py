"""The report's small builders: a figure (marked when it rests on illustrative values), a
sentence of segments, a paragraph, a table. Shared by the cover, the summary and the sections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nestmap.report.findings import Figure, Name, Segment, Term
from nestmap.report.markup import Markup, el, join

# The one mark for a figure resting on an illustrative or inferred value ("About this data"
# says what it means).
MARK = "†"


def fig(key: str, text: str, marked: bool = False) -> Markup:
    """A stated number: ``data-figure`` names it; a marked one carries the mark after it."""
    number = el("span", {"class": "fig", "data-figure": key, "data-marked": marked or None}, text)
    return join([number, el("sup", {"class": "mark"}, MARK)]) if marked else number


def shown(item: Figure) -> Markup:
    return fig(item.key, item.text, item.marked)


def sentence(segments: Sequence[Segment]) -> Markup:
    parts: list[Any] = []
    for segment in segments:
        if isinstance(segment, Figure):
            parts.append(shown(segment))
        elif isinstance(segment, Name):
            parts.append(el("span", {"class": "name"}, segment.text))
        elif isinstance(segment, Term):
            parts.append(el("span", {"class": "term"}, segment.text))
        else:
            parts.append(segment)
    return join(parts)


def para(*children: Any, css: str | None = None) -> Markup:
    return el("p", {"class": css}, *children)


Cell = Any  # text, Markup, or (text, css class)


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    numeric: Sequence[int] = (),
    total: int | None = None,
    css: str | None = None,
    row_css: Mapping[int, str] | None = None,
) -> Markup:
    """A table; ``numeric`` column indexes align right; ``row_css``: a class for some rows (by
    index). ``total`` > len(rows) adds a note that only the first rows are shown."""
    head = el(
        "thead",
        None,
        el(
            "tr",
            None,
            [el("th", {"class": "num" if i in numeric else None}, h) for i, h in enumerate(header)],
        ),
    )
    body_rows = []
    for index, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            kind = "num" if i in numeric else None
            if isinstance(cell, tuple):
                cell, kind = cell
            cells.append(el("td", {"class": kind}, cell))
        body_rows.append(el("tr", {"class": (row_css or {}).get(index)}, cells))
    note = None
    if total is not None and total > len(rows):
        note = para(f"The first {len(rows):,} of {total:,} rows are shown.", css="note")
    return join([el("table", {"class": css}, head, el("tbody", None, body_rows)), note])


def names_list(ids: Sequence[str], names: Mapping[str, str], limit: int = 8) -> str:
    shown_names = [names.get(i, i) for i in ids[:limit]]
    rest = len(ids) - limit
    return "; ".join(shown_names) + (f"; and {rest:,} more" if rest > 0 else "") if ids else "none"
