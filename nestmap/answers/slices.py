"""One local authority's answer cut out of the kept whole-country answer.

Computing one LA (``--area``) runs the same queries and searches as the whole country (0.3 to
1.2 s at national scale, most of it importing and opening the engine); once the whole-country
answer of the current dataset is kept as Arrow (nestmap.answers.analyses: after a load the
warm-up keeps them all), the LA's rows are a filter of it: pyarrow only, no engine, no pandas.
A slice is cut each time it is asked (a filter costs less than keeping it would on disk).
The contract (docs/analyses.md, "--area") makes these answers slices, and tests/test_slices.py
checks every LA of two datasets, in every output format, against the computed answer:

- gaps, age-bands, need, pathways and boundaries' threshold cliffs keep the LA's rows. Their
  rows are per LA and computed from facts that do not depend on which LA was asked (need shares
  a service's capacity by the population of *all* the LAs it covers; pathways searches from
  each entry point independently). Their order starts with the area code, so the filter keeps
  the contract's order.
- misdirected and boundaries' links keep the links whose referring service covers the LA. Each
  link's problems, kinds and ``onward`` (which looks at every LA of the referring service) do
  not depend on the LA asked either, and a filter keeps the sort (count, from, to, reason).

concentration is not a slice (its shares are of the LA's own total per count basis): it is
summed again from the parent-infant relationship referral links kept beside the results
(``relationship_referrals``: one row per link, with its count basis and the receiving service's
``specialised``), keeping the links whose referring service covers the LA, with the rounding
and order of nestmap.analysis.core; it is answered so only once the whole-country
concentration is kept, like the slices. The analyses beyond the contract do not promise a
slice: they are computed as before.

Which services cover each LA (and which LA codes exist, to check ``--area``) is one small table
per dataset version, kept beside the results as the answer to the question
``{"analysis": "area-coverage"}``; the relationship referral links likewise. Each is read from
the graph once (``keep_slice_facts``, which the warm-up after a load can call; else by the
first answer that needs it), then read back with the results (a few milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nestmap.answers.arrow import Parts, read_parts
from nestmap.answers.keep import Shelf, entry_name
from nestmap.answers.questions import RESULTS, kept, question
from nestmap.graph import GraphStore

# How each part of an analysis is cut: rows of the LA, or links from a service covering it.
BY_AREA = "area"
BY_SOURCE = "source"
SLICEABLE: dict[str, dict[str | None, str]] = {
    "gaps": {None: BY_AREA},
    "age-bands": {None: BY_AREA},
    "need": {None: BY_AREA},
    "pathways": {None: BY_AREA},
    "misdirected": {None: BY_SOURCE},
    "boundaries": {"links": BY_SOURCE, "threshold_cliffs": BY_AREA},
}
COVERAGE_QUESTION = {"analysis": "area-coverage"}
REFERRALS_QUESTION = {"analysis": "relationship-referrals"}


def slice_of_kept(
    store: GraphStore, analysis: str, area: str, options: dict[str, Any]
) -> Callable[[], Any] | None:
    """When the whole-country answer to the same question (``analysis`` with ``options``) is
    kept for the current dataset: a function giving ``area``'s answer cut out of it (an Arrow
    table, or a dict of them by part), which raises nestmap's usage error for an area code
    that is not a loaded LA's. ``None`` when that answer is not kept, or is not a slice."""
    whole_country = question(analysis, None, **options)
    if analysis == "concentration":
        if not _is_kept(store, whole_country):
            return None
        return lambda: _concentration(store, area)
    ways = SLICEABLE.get(analysis)
    whole = None if ways is None else _kept_parts(store, whole_country)
    if ways is None or whole is None:
        return None
    names = [name for name, _rows in whole]
    if names != list(ways):
        return None  # not a shape this module knows how to cut: compute

    def answer() -> Any:
        services = services_covering(store, area)
        cut = {name: _conform(_cut(rows, ways[name], area, services)) for name, rows in whole}
        return cut[None] if None in cut else cut

    return answer


def keep_area_coverage(store: GraphStore) -> Any:
    """Per LA of the current dataset, the services covering it (``area_code``, ``services``):
    read back if kept, else read from the graph (one query) and kept beside the results."""
    return _fact(store, COVERAGE_QUESTION, "area_coverage")


def keep_relationship_referrals(store: GraphStore) -> Any:
    """Every parent-infant relationship referral link from an active service of the current
    dataset (``from_service``, ``to_service``, ``count`` (null when blank), ``count_basis``,
    ``specialised``: the receiving service has a specialised offer): read back if kept, else
    read from the graph (one query: 0.7 s for the 380,000 such links of a national dataset)
    and kept."""
    return _fact(store, REFERRALS_QUESTION, "relationship_referrals")


def _fact(store: GraphStore, question: dict[str, str], query: str) -> Any:
    """The table of ``query`` (no parameters), kept as the answer to ``question``."""
    return kept(store, question, lambda: store.run_table(query, {}))[0][1]


def keep_slice_facts(store: GraphStore) -> None:
    """Keep what slicing needs beside the results of the current dataset (for the warm-up
    after a load: then no ``--area`` answer that can be cut opens the graph)."""
    keep_area_coverage(store)
    keep_relationship_referrals(store)


def _concentration(store: GraphStore, area: str) -> list[dict[str, Any]]:
    """concentration for one LA from the kept relationship referral links: the links whose
    referring service covers the LA, summed per receiving service and count basis, with shares
    of each basis's total; the rows nestmap.analysis.core.concentration gives (the same sums
    over the same links, and the same rounding and order)."""
    import pyarrow.compute as pc

    from nestmap.analysis.core import concentration_rows

    services = services_covering(store, area)
    links = keep_relationship_referrals(store)
    if links.num_rows == 0:
        return []
    links = links.filter(pc.is_in(links.column("from_service"), value_set=services))
    counts: dict[tuple[str, str], int] = {}
    specialised: dict[str, bool] = {}
    for target, count, basis, offers in zip(
        links.column("to_service").to_pylist(),
        links.column("count").to_pylist(),
        links.column("count_basis").to_pylist(),
        links.column("specialised").to_pylist(),
        strict=True,
    ):
        key = (target, basis)
        counts[key] = counts.get(key, 0) + int(count or 0)  # a blank count adds nothing
        specialised[target] = bool(offers)
    return concentration_rows(
        (target, basis, count, specialised[target]) for (target, basis), count in counts.items()
    )


def services_covering(store: GraphStore, area: str) -> Any:
    """The ids of the services covering ``area`` (an Arrow array); the usage error of an
    unknown code (the same as computing gives) when no LA has it."""
    import pyarrow as pa

    from nestmap.analysis._shape import unknown_area

    coverage = keep_area_coverage(store)
    if coverage.num_rows == 0:  # no LA at all (and an engine giving no columns for no rows)
        raise unknown_area(area, {})
    codes = coverage.column("area_code").to_pylist()  # hundreds: a Python list is quick
    if area not in codes:  # (compared in Python: any text, even what UTF-8 cannot encode)
        raise unknown_area(area, _names(coverage))
    services = coverage.column("services")[codes.index(area)].values
    return services if services is not None else pa.nulls(0, pa.string())


def _names(coverage: Any) -> dict[str, str]:
    codes = coverage.column("area_code").to_pylist()
    names = coverage.column("area_name").to_pylist()
    return {code: name or "" for code, name in zip(codes, names, strict=True)}


def area_code(store: GraphStore, text: str) -> str:
    """The code of the local authority ``text`` names - its code or its name, in any letter
    case (``--area merthyr tydfil``) - read from the kept coverage (no engine once it is kept);
    the usage error listing the known ones, name beside code, when it names none."""
    from nestmap.analysis._shape import match_area

    coverage = keep_area_coverage(store)
    return match_area(text, _names(coverage) if coverage.num_rows else {})


def _cut(rows: Any, way: str, area: str, services: Any) -> Any:
    import pyarrow.compute as pc

    if rows.num_rows == 0:
        return rows
    if way == BY_AREA:
        keep = pc.equal(rows.column("area_code"), _text(area))
    else:
        keep = pc.is_in(rows.column("from_service"), value_set=services)
    return rows.filter(keep)


def _conform(table: Any) -> Any:
    """``table`` as computing the LA's answer would have typed it: rows become Arrow tables
    column by column from their values (nestmap.answers.arrow.as_arrow), so a column with no
    value in this LA is text and a list column with no item a list of text, and no rows are a
    table with no columns; one chunk (Parquet writes a row group per chunk)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return pa.Table.from_arrays([], names=[])
    table = table.combine_chunks()
    columns = []
    for column in table.columns:
        kind = column.type
        if column.null_count == len(column):
            column = pa.chunked_array([pa.nulls(len(column), pa.string())])
        elif pa.types.is_list(kind) and len(pc.list_flatten(column)) == 0:
            column = column.cast(pa.list_(pa.string()))
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _is_kept(store: GraphStore, question: dict[str, Any]) -> bool:
    shelf = Shelf.of(store, RESULTS)
    return shelf is not None and shelf.has(entry_name(question))


def _kept_parts(store: GraphStore, question: dict[str, Any]) -> Parts | None:
    """The kept answer to ``question`` for the current dataset as (part name, Arrow table)
    pairs, without computing anything; ``None`` when it is not kept (or cannot be read)."""
    shelf = Shelf.of(store, RESULTS)
    return None if shelf is None else shelf.read(entry_name(question), read_parts)


def _text(value: str) -> Any:
    """``value`` as an Arrow string scalar, built from its bytes: pyarrow's conversion of a
    Python ``str`` (``pa.scalar``, a ``str`` argument to a compute function) imports pandas,
    0.3 s of a command that otherwise answers in 0.2 (see nestmap.output)."""
    import numpy as np
    import pyarrow as pa

    data = value.encode()
    offsets = np.array([0, len(data)], dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), 1, buffers)[0]
