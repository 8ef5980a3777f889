"""The contract's analyses (docs/analyses.md): run the named query, shape rows to the contract.

At national scale (a million referral links) two things dominate once the queries are planned
well: sorting and building hundreds of thousands of rows in Python. So large results come as
Arrow tables (``GraphStore.run_table``: the embedded engine hands them over directly), are
sorted there (Arrow compares strings by code point, as the contract does) and are turned into
rows in one pass with the garbage collector paused. Queries
return only the cells something serves; the analyses add the empty cells of their matrix.

The command line does not need rows at all: ``gaps_table``, ``misdirected_table``,
``boundaries_tables``, ``pathways_table``, ``age_bands_table`` and ``concentration_table`` give
the same rows as ``pyarrow.Table``s (the contract's columns and order; ids as lists of strings,
counts as int64 with nulls), built with Arrow and numpy kernels from the engine's Arrow result,
and the output writers encode them as they are: at national scale a Python dict per row, and
Arrow rebuilt from the dicts, cost as much as the engine's own work. These paths never let
pyarrow convert Python or numpy values itself (nestmap.analysis._arrow): that imports pandas.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from nestmap.analysis._arrow import (
    bools,
    combined,
    float64s,
    int64s,
    integers,
    position,
    string_lists,
    strings,
    take,
    text,
    truths,
    valid,
)
from nestmap.analysis._shape import (
    Row,
    area_param,
    ids,
    level_rank,
    round_half_away,
)
from nestmap.errors import UsageError
from nestmap.graph import GraphStore
from nestmap.memory import gc_paused
from nestmap.vocabulary import (
    AGE_BANDS,
    DEFAULT_COUNT_BASIS,
    DEFAULT_SHARES,
    LEVELS,
    MAX_AGE_MONTHS,
    NEED_LEVELS,
    STAGES,
)

MISDIRECTED_PROBLEMS = ("inactive_target", "not_offered", "out_of_area", "wrong_stage")
INTERFACE_KINDS = (
    "age_mismatch",
    "geography_none",
    "geography_partial",
    "stage_handover",
    "threshold_change",
)
MAX_HOPS = 6


# -- the Arrow tables' columns (docs/analyses.md): text, lists of ids, true/false, counts ---
def _schema(*columns: tuple[str, str]) -> Any:
    import pyarrow as pa

    kinds = {
        "text": pa.string(),
        "ids": pa.list_(pa.string()),
        "flag": pa.bool_(),
        "count": pa.int64(),
        "number": pa.float64(),
    }
    return pa.schema([(name, kinds[kind]) for name, kind in columns])


def GAPS_SCHEMA() -> Any:  # noqa: N802 (a constant, built when pyarrow is wanted)
    return _schema(
        ("area_code", "text"),
        ("area_name", "text"),
        ("level", "text"),
        ("stage", "text"),
        ("specialised_services", "ids"),
        ("any_services", "ids"),
        ("gap", "flag"),
    )


def MISDIRECTED_SCHEMA() -> Any:  # noqa: N802
    return _schema(
        ("from_service", "text"),
        ("to_service", "text"),
        ("reason", "text"),
        ("count", "count"),
        ("count_basis", "text"),
        ("problems", "ids"),
        ("onward", "flag"),
    )


def BOUNDARY_LINKS_SCHEMA() -> Any:  # noqa: N802
    return _schema(
        ("from_service", "text"),
        ("to_service", "text"),
        ("reason", "text"),
        ("kinds", "ids"),
        ("from_threshold", "text"),
        ("to_threshold", "text"),
    )


def THRESHOLD_CLIFFS_SCHEMA() -> Any:  # noqa: N802
    return _schema(
        ("area_code", "text"),
        ("stage", "text"),
        ("below", "ids"),
        ("above", "ids"),
        ("status", "text"),
    )


def AGE_BANDS_SCHEMA() -> Any:  # noqa: N802
    return _schema(
        ("area_code", "text"),
        ("level", "text"),
        ("band", "text"),
        ("specialised_services", "ids"),
        ("gap", "flag"),
    )


def CONCENTRATION_SCHEMA() -> Any:  # noqa: N802
    return _schema(
        ("to_service", "text"),
        ("count_basis", "text"),
        ("count", "count"),
        ("share", "number"),
        ("specialised", "flag"),
    )


def PATHWAYS_SCHEMA() -> Any:  # noqa: N802
    return _schema(
        ("area_code", "text"),
        ("entry_service", "text"),
        ("destination", "text"),
        ("hops", "count"),
    )


# -- fetching ------------------------------------------------------------------------------
def _sorted_result(
    store: GraphStore, name: str, params: dict[str, Any], order: Sequence[tuple[str, bool]]
) -> Any:
    """Run query ``name``; its rows sorted by ``order`` ((column, descending) pairs, nulls
    last) as one Arrow table (one chunk), or ``None`` when there are none."""
    return _sorted(store.run_table(name, params), order)


def _sorted(table: Any, order: Sequence[tuple[str, bool]]) -> Any:
    """``_sorted_result`` of a query's result."""
    import pyarrow.compute as pc

    if table.num_rows == 0:  # engines building Arrow from rows give no columns for no rows
        return None
    # Arrow puts nulls last in either direction (its default null placement).
    keys = [(column, "descending" if down else "ascending") for column, down in order]
    return table.take(pc.sort_indices(table, sort_keys=keys)).combine_chunks()


def _flag_codes(table: Any, flags: tuple[str, ...]) -> Any:
    """Per row, the true ``flags`` as the bits of one number (numpy int64; null is false)."""
    import numpy as np

    code = np.zeros(table.num_rows, dtype=np.int64)
    for bit, flag in enumerate(flags):
        code |= truths(table.column(flag)).astype(np.int64) << bit
    return code


def _flag_combinations(flags: tuple[str, ...]) -> list[list[str]]:
    """For each code of ``_flag_codes``, the sorted names of its flags."""
    return [
        sorted(flag for bit, flag in enumerate(flags) if code >> bit & 1)
        for code in range(1 << len(flags))
    ]


def _flag_lists(codes: Any, flags: tuple[str, ...]) -> Any:
    """Per code, the sorted names of its flags as an Arrow ``list<string>`` array: the
    combinations once, then taken by code (no Python list per row)."""
    import numpy as np

    combos = _flag_combinations(flags)
    lengths = np.array([len(names) for names in combos], dtype=np.int64)
    every = string_lists(lengths, strings([name for names in combos for name in names]))
    return take(every, codes)


def _columns(
    store: GraphStore,
    name: str,
    params: dict[str, Any],
    order: Sequence[tuple[str, bool]],
    flags: tuple[str, ...],
) -> dict[str, list[Any]]:
    """Run query ``name``; its rows sorted by ``order`` ((column, descending) pairs, nulls
    last), as one list per column, the boolean columns ``flags`` replaced by ``names``: per
    row, the sorted list of the flags that are true (its own list). Call it with the
    collector paused."""
    table = _sorted_result(store, name, params, order)
    if table is None:
        return defaultdict(list, {"names": []})
    combos = _flag_combinations(flags)
    codes = _flag_codes(table, flags).tolist()
    wanted = [c for c in table.column_names if c not in flags]
    columns: dict[str, list[Any]] = {c: table.column(c).to_pylist() for c in wanted}
    columns["names"] = [combos[code].copy() for code in codes]
    return columns


def _local_authorities(store: GraphStore, area: str | None) -> list[Row]:
    """The LAs (all, or the one asked for), by code: the rows of the analyses' matrices."""
    code = area_param(store, area)
    rows = sorted(store.run("local_authorities"), key=lambda row: row["code"])
    return [row for row in rows if not code or row["code"] == code]


# -- gaps ----------------------------------------------------------------------------------
def gaps(store: GraphStore, area: str | None = None) -> list[Row]:
    """The coverage matrix: every LA x level x stage, ``gap`` when nothing specialised serves it."""
    las = _local_authorities(store, area)
    code = area if area is not None else ""
    served = {
        (row["area_code"], row["level"], row["stage"]): row
        for row in store.run("gaps", {"area": code})
    }
    rows = []
    for la in las:
        for level in LEVELS:
            for stage in STAGES:
                cell = served.get((la["code"], level, stage))
                specialised = ids(cell["specialised_services"]) if cell else []
                rows.append(
                    {
                        "area_code": la["code"],
                        "area_name": la["name"],
                        "level": level,
                        "stage": stage,
                        "specialised_services": specialised,
                        "any_services": ids(cell["any_services"]) if cell else [],
                        "gap": not specialised,
                    }
                )
    return rows


def gaps_table(store: GraphStore, area: str | None = None) -> Any:
    """``gaps`` as a ``pyarrow.Table``, built from the query's Arrow result."""
    import pyarrow as pa

    matrix = _Matrix(store, area, LEVELS, STAGES)
    served = store.run_table("gaps", {"area": matrix.code})
    at = matrix.positions(served, "level", "stage")
    specialised = _id_lists(*_list_items(served, "specialised_services", at), matrix.size)
    any_services = _id_lists(*_list_items(served, "any_services", at), matrix.size)
    columns = [matrix.codes(), matrix.names(), matrix.values(0), matrix.values(1)]
    columns += [specialised, any_services, bools(_lengths(specialised) == 0)]
    return pa.Table.from_arrays(columns, schema=GAPS_SCHEMA())


class _Matrix:
    """The rows of a matrix analysis in Arrow: every LA (by code; the one asked for) x each
    dimension's values in their order (levels, stages, bands), the last varying fastest."""

    def __init__(self, store: GraphStore, area: str | None, *dimensions: Sequence[str]):
        import math

        import pyarrow.compute as pc

        self.code = area_param(store, area)
        las = store.run_table("local_authorities", {})
        if las.num_rows:
            las = las.take(pc.sort_indices(las, sort_keys=[("code", "ascending")]))
            if self.code:
                las = las.filter(pc.equal(las.column("code"), text(self.code)))
        self.las = las.combine_chunks() if las.num_rows else None
        self.dimensions = [tuple(values) for values in dimensions]
        self.inner = math.prod(len(values) for values in self.dimensions)
        self.size = (len(self.las) if self.las is not None else 0) * self.inner

    def codes(self) -> Any:
        return self._la_column("code")

    def names(self) -> Any:
        return self._la_column("name")

    def _la_column(self, name: str) -> Any:
        import numpy as np

        if self.las is None:
            return strings([])
        column = _plain(self.las.column(name))
        return take(column, np.repeat(np.arange(len(column)), self.inner))

    def index(self, dimension: int) -> Any:
        """Per row, the index of its value of ``dimension`` (numpy)."""
        import math

        import numpy as np

        after = math.prod(len(v) for v in self.dimensions[dimension + 1 :])
        values = np.repeat(np.arange(len(self.dimensions[dimension])), after)
        return np.tile(values, self.size // max(len(values), 1))

    def values(self, dimension: int) -> Any:
        return take(strings(self.dimensions[dimension]), self.index(dimension))

    def positions(self, table: Any, *columns: str | None, fixed: int = 0) -> Any:
        """Per row of ``table`` (area_code and one column per dimension): its row in the
        matrix (numpy), -1 when it is not one of them. A dimension whose column is ``None``
        takes its value number ``fixed`` for every row."""
        import numpy as np

        if table.num_rows == 0 or self.las is None:
            return np.zeros(table.num_rows, dtype=np.int64) - 1
        at = position(table.column("area_code"), self.las.column("code"))
        missing = at < 0
        for values, column in zip(self.dimensions, columns, strict=True):
            if column is None:
                index = np.full(len(at), fixed, dtype=np.int64)
            else:
                index = position(table.column(column), strings(values))
            missing |= index < 0
            at = at * len(values) + index
        at[missing] = -1
        return at


def _list_items(table: Any, column: str, at: Any) -> tuple[Any, Any]:
    """The items of ``table``'s list column ``column`` (Arrow) and each one's matrix row (the
    ``at`` of its row; numpy)."""
    import numpy as np
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return strings([]), np.zeros(0, dtype=np.int64)
    lists = table.column(column).combine_chunks()
    return pc.list_flatten(lists), at[integers(pc.list_parent_indices(lists))]


def _id_lists(items: Any, at: Any, size: int, unique: bool = False) -> Any:
    """``size`` lists (Arrow ``list<string>``), row ``r`` holding the ``items`` whose ``at``
    is ``r``, nulls left out, sorted by code point (``ids``); ``unique``: each id once."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    keep = (at >= 0) & valid(items)
    items, at = take(items, np.flatnonzero(keep)), at[keep]
    order = pc.sort_indices(
        pa.Table.from_arrays([int64s(at), items], names=["at", "id"]),
        sort_keys=[("at", "ascending"), ("id", "ascending")],
    )
    items, at = items.take(order), at[integers(order)]
    if unique and len(at) > 1:
        same = (at[1:] == at[:-1]) & truths(pc.equal(items[1:], items[:-1]))
        first = np.concatenate(([True], ~same))
        items, at = take(items, np.flatnonzero(first)), at[first]
    return string_lists(np.bincount(at, minlength=size), items)


def _lengths(lists: Any) -> Any:
    """Each list's length (numpy; a null list counts 0)."""
    import pyarrow.compute as pc

    return integers(pc.list_value_length(lists), 0)


def _plain(column: Any) -> Any:
    """A text column as one Arrow ``string`` array."""
    import pyarrow as pa

    column = combined(column)
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def _int64(column: Any) -> Any:
    """A whole-number column as one Arrow ``int64`` array (nulls kept)."""
    import pyarrow as pa

    column = combined(column)
    return column if pa.types.is_int64(column.type) else column.cast(pa.int64())


# -- age bands -----------------------------------------------------------------------------
def age_bands(store: GraphStore, area: str | None = None) -> list[Row]:
    """Specialised postnatal help by the child's age: every LA x level x band (0-5, 6-11, 12-17,
    18-23 months), ``gap`` when no active service serving it postnatally has a specialised
    offer at that level for any age in the band. The stage-level matrix (gaps) counts a
    service for 0-1 month as covering the whole postnatal stage; this shows cliffs such as
    support that stops at the first birthday."""
    las = _local_authorities(store, area)
    code = area if area is not None else ""
    found: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for row in store.run("age_bands", {"area": code}):
        # A blank bound is open: 0 below, 216 above; ranges and bands are inclusive.
        low = row["min_age_months"] if row["min_age_months"] is not None else 0
        high = row["max_age_months"] if row["max_age_months"] is not None else MAX_AGE_MONTHS
        for band, start, end in AGE_BANDS:
            if low <= end and high >= start:
                found[(row["area_code"], row["level"], band)].append(row["service_id"])
    rows = []
    for la in las:
        for level in LEVELS:
            for band, _, _ in AGE_BANDS:
                services = sorted(set(found.get((la["code"], level, band), ())))
                rows.append(
                    {
                        "area_code": la["code"],
                        "level": level,
                        "band": band,
                        "specialised_services": services,
                        "gap": not services,
                    }
                )
    return rows


def age_bands_table(store: GraphStore, area: str | None = None) -> Any:
    """``age_bands`` as a ``pyarrow.Table``: each offer row lands in every band its age range
    meets, then each cell's ids are sorted and counted once."""
    import numpy as np
    import pyarrow as pa

    bands = [band for band, _, _ in AGE_BANDS]
    matrix = _Matrix(store, area, LEVELS, bands)
    found = store.run_table("age_bands", {"area": matrix.code})
    items, at = [], []
    if found.num_rows:
        # A blank bound is open: 0 below, 216 above; ranges and bands are inclusive.
        low = integers(found.column("min_age_months"), 0)
        high = integers(found.column("max_age_months"), MAX_AGE_MONTHS)
        service = _plain(found.column("service_id"))
        for index, (_band, start, end) in enumerate(AGE_BANDS):
            cell = matrix.positions(found, "level", None, fixed=index)
            meets = np.flatnonzero((low <= end) & (high >= start) & (cell >= 0))
            items.append(take(service, meets))
            at.append(cell[meets])
    services = _id_lists(
        pa.concat_arrays(items) if items else strings([]),
        np.concatenate(at) if at else np.zeros(0, dtype=np.int64),
        matrix.size,
        unique=True,
    )
    columns = [matrix.codes(), matrix.values(0), matrix.values(1), services]
    columns.append(bools(_lengths(services) == 0))
    return pa.Table.from_arrays(columns, schema=AGE_BANDS_SCHEMA())


# -- misdirected ---------------------------------------------------------------------------
_MISDIRECTED_ORDER = (
    ("count", True),
    ("from_service", False),
    ("to_service", False),
    ("reason", False),
)


def _misdirected_found(store: GraphStore, area: str | None) -> tuple[Any, Any, Any] | None:
    """The misdirected links in the contract's order (an Arrow table), each one's problems as
    a code (``_flag_codes``) and whether it has an onward route (numpy); ``None``: none."""
    # The onward facts do not depend on the links found: both queries run at once.
    found, facts = store.run_tables(
        [("misdirected", {"area": area_param(store, area)}), ("onward", {})]
    )
    table = _sorted(found, _MISDIRECTED_ORDER)
    if table is None:
        return None
    codes = _flag_codes(table, MISDIRECTED_PROBLEMS)
    sources, targets = table.column("from_service"), table.column("to_service")
    onward = _onward_mask(store, sources, targets, facts)
    return table, codes, onward


@gc_paused()
def misdirected(store: GraphStore, area: str | None = None) -> list[Row]:
    """Referral links whose target does not offer what is asked, or cannot take the family;
    ``onward`` says whether the family can still reach specialised help from where they were
    sent ("no wrong door")."""
    found = _misdirected_found(store, area)
    if found is None:
        return []
    table, codes, onward = found
    combos = _flag_combinations(MISDIRECTED_PROBLEMS)
    return [
        {
            "from_service": source,
            "to_service": target,
            "reason": reason,
            "count": count,
            "count_basis": basis,
            "problems": combos[code].copy(),
            "onward": further,
        }
        for source, target, reason, count, basis, code, further in zip(
            table.column("from_service").to_pylist(),
            table.column("to_service").to_pylist(),
            table.column("reason").to_pylist(),
            table.column("count").to_pylist(),
            table.column("count_basis").to_pylist(),
            codes.tolist(),
            onward.tolist(),
            strict=True,
        )
    ]


def misdirected_table(store: GraphStore, area: str | None = None) -> Any:
    """``misdirected`` as a ``pyarrow.Table`` (the same rows, columns and order; ``problems``
    a list of strings, ``count`` an int64 with nulls), built without a Python object per row."""
    import pyarrow as pa

    found = _misdirected_found(store, area)
    if found is None:
        return MISDIRECTED_SCHEMA().empty_table()
    table, codes, onward = found
    columns = [_plain(table.column(name)) for name in ("from_service", "to_service", "reason")]
    columns += [_int64(table.column("count")), _plain(table.column("count_basis"))]
    columns += [_flag_lists(codes, MISDIRECTED_PROBLEMS), bools(onward)]
    return pa.Table.from_arrays(columns, schema=MISDIRECTED_SCHEMA())


def _onward(store: GraphStore, sources: list[str], targets: list[str]) -> list[bool]:
    """``_onward_mask`` of Python lists, as a list."""
    if not sources:
        return []
    return _onward_mask(store, strings(sources), strings(targets)).tolist()


def _onward_mask(store: GraphStore, sources: Any, targets: Any, facts: Any = None) -> Any:
    """Per link (source, target; Arrow string arrays): is the target active, with a chain of
    0-6 referral links through active services from it to a destination of one of the LAs the
    source covers? (numpy bools; ``facts``: the ``onward`` query's result, if already run)

    Computed for every service at once as a bit set over the LAs that have a destination:
    ``reach[s]`` = the LAs s is a destination of, or-ed with ``reach`` of the services s refers
    to, six times over (one more link each time). That is 6 x (links x LAs / 64) word
    operations, whatever the number of misdirected links; a search per (LA, target) pair
    explores the same neighbourhoods again for every target. An inactive target refers no one
    in the facts and is no destination, so it never reaches anything."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    nowhere = np.zeros(len(sources), dtype=bool)
    if len(sources) == 0:
        return nowhere
    if facts is None:
        facts = store.run_table("onward", {})
    if facts.num_rows == 0:  # engines building Arrow from rows give no columns for no rows
        return nowhere
    kind = facts.column("kind")
    ends, links, covers = (
        facts.filter(pc.equal(kind, text(k))) for k in ("destination", "link", "covers")
    )
    every_la = _sorted_unique(pa, pc, ends.column("key"))  # the LAs with a destination
    if len(every_la) == 0 or covers.num_rows == 0:
        return nowhere
    # Each link's source LAs as (link, LA) pairs: the covers rows' LAs as numbers once (50,000
    # services), then each link's range of them by its source's row (no list per link).
    cover_lists = covers.column("services").combine_chunks()
    cover_la = position(pc.list_flatten(cover_lists), every_la)
    cover_sizes = _lengths(cover_lists)
    cover_first = np.cumsum(cover_sizes) - cover_sizes
    source = position(sources, covers.column("key"))
    covered = source >= 0
    count = np.where(covered, cover_sizes[source], 0)
    link = np.repeat(np.arange(len(source)), count)
    la = cover_la[_ranges(np.where(covered, cover_first[source], 0), count)]
    # Only the LAs the sources cover matter, which keeps the bit sets one word wide for one
    # LA's links (--area).
    wanted = np.flatnonzero(np.bincount(la[la >= 0], minlength=len(every_la)))
    las = every_la.take(int64s(wanted))
    renumbered = np.full(len(every_la), -1, dtype=np.int64)
    renumbered[wanted] = np.arange(len(wanted))
    la = np.where(la >= 0, renumbered[la], -1)
    ends = ends.filter(pc.is_in(ends.column("key"), value_set=las))
    ids = _sorted_unique(
        pa,
        pc,
        links.column("key"),
        *(pc.list_flatten(t.column("services")) for t in (ends, links)),
    )
    if len(ids) == 0 or len(las) == 0:
        return nowhere

    def pairs(table: Any, key_set: Any) -> tuple[Any, Any]:
        members = table.column("services")
        keys = pc.take(table.column("key"), pc.list_parent_indices(members))
        return position(keys, key_set), position(pc.list_flatten(members), ids)

    # The links as the query gives them, one row per referring service with its list of
    # targets: already an adjacency in rows (no million-link sort to build one).
    targets_of = links.column("services").combine_chunks()
    sizes = integers(pc.list_value_length(targets_of), 0)
    referring = position(links.column("key"), ids)[sizes > 0]
    first = (np.cumsum(sizes) - sizes)[sizes > 0]
    following = position(pc.list_flatten(targets_of), ids)
    reach = _reach(len(ids), len(las), referring, first, following, *pairs(ends, las))
    # The target as an index into ids (-1: absent, i.e. inactive, or active with no links and
    # no specialised offer: it reaches nothing).
    target = position(targets, ids)
    keep = (la >= 0) & (target[link] >= 0)
    link, la = link[keep], la[keep]
    words = reach[target[link], la >> 6]
    hit = (words >> (la & 63).astype(np.uint64)) & np.uint64(1)
    onward = nowhere.copy()
    onward[link[hit.astype(bool)]] = True
    return onward


def _reach(
    n: int,
    n_las: int,
    referring: Any,
    first: Any,
    following: Any,
    end_las: Any,
    end_services: Any,
) -> Any:
    """Per service, the bit set (uint64 words) of the LAs one of whose destinations it reaches
    by a chain of 0 to MAX_HOPS links. ``referring[i]`` refers to the services
    ``following[first[i]:first[i + 1]]`` (the last to the end); each service once."""
    import numpy as np

    width = (n_las + 63) // 64
    own = np.zeros((n, width), dtype=np.uint64)
    bits = np.left_shift(np.uint64(1), (end_las & 63).astype(np.uint64))
    np.bitwise_or.at(own, (end_services, end_las >> 6), bits)
    if len(referring) == 0:
        return own
    reach = own
    for _ in range(MAX_HOPS):
        onward = np.bitwise_or.reduceat(reach[following], first, axis=0)
        further = own.copy()
        further[referring] |= onward
        if np.array_equal(further, reach):
            break  # nothing new within one more link: nothing new within six
        reach = further
    return reach


# -- boundaries ----------------------------------------------------------------------------
_BOUNDARY_ORDER = (("from_service", False), ("to_service", False), ("reason", False))


def _boundary_found(store: GraphStore, area: str | None) -> Any:
    return _sorted_result(
        store,
        "boundary_links",
        {"area": area_param(store, area), "max_age_months": MAX_AGE_MONTHS},
        _BOUNDARY_ORDER,
    )


@gc_paused()
def boundary_links(store: GraphStore, area: str | None = None) -> list[Row]:
    table = _boundary_found(store, area)
    if table is None:
        return []
    combos = _flag_combinations(INTERFACE_KINDS)
    return [
        {
            "from_service": source,
            "to_service": target,
            "reason": reason,
            "kinds": combos[code].copy(),
            "from_threshold": before,
            "to_threshold": after,
        }
        for source, target, reason, code, before, after in zip(
            table.column("from_service").to_pylist(),
            table.column("to_service").to_pylist(),
            table.column("reason").to_pylist(),
            _flag_codes(table, INTERFACE_KINDS).tolist(),
            table.column("from_threshold").to_pylist(),
            table.column("to_threshold").to_pylist(),
            strict=True,
        )
    ]


def boundary_links_table(store: GraphStore, area: str | None = None) -> Any:
    """``boundary_links`` as a ``pyarrow.Table`` (``kinds`` a list of strings)."""
    import pyarrow as pa

    table = _boundary_found(store, area)
    if table is None:
        return BOUNDARY_LINKS_SCHEMA().empty_table()
    kinds = _flag_lists(_flag_codes(table, INTERFACE_KINDS), INTERFACE_KINDS)
    columns = [_plain(table.column(name)) for name in ("from_service", "to_service", "reason")]
    columns.append(kinds)
    columns += [_plain(table.column(name)) for name in ("from_threshold", "to_threshold")]
    return pa.Table.from_arrays(columns, schema=BOUNDARY_LINKS_SCHEMA())


def threshold_cliffs(store: GraphStore, area: str | None = None) -> list[Row]:
    las = _local_authorities(store, area)
    code = area if area is not None else ""
    served = {
        (row["area_code"], row["stage"]): row
        for row in store.run("threshold_cliffs", {"area": code})
    }
    rows = []
    for la in las:
        for stage in STAGES:
            cell = served.get((la["code"], stage))
            below = ids(cell["below"]) if cell else []
            above = ids(cell["above"]) if cell else []
            status = "ok" if below and above else "none" if not below and not above else "cliff"
            rows.append(
                {
                    "area_code": la["code"],
                    "stage": stage,
                    "below": below,
                    "above": above,
                    "status": status,
                }
            )
    return rows


def boundaries(store: GraphStore, area: str | None = None) -> dict[str, list[Row]]:
    """Both parts: the interfaces on referral links, and threshold cliffs per LA x stage."""
    return {
        "links": boundary_links(store, area),
        "threshold_cliffs": threshold_cliffs(store, area),
    }


def threshold_cliffs_table(store: GraphStore, area: str | None = None) -> Any:
    """``threshold_cliffs`` as a ``pyarrow.Table``."""
    import numpy as np
    import pyarrow as pa

    matrix = _Matrix(store, area, STAGES)
    served = store.run_table("threshold_cliffs", {"area": matrix.code})
    at = matrix.positions(served, "stage")
    below = _id_lists(*_list_items(served, "below", at), matrix.size)
    above = _id_lists(*_list_items(served, "above", at), matrix.size)
    some_below = _lengths(below) > 0
    some_above = _lengths(above) > 0
    # 0 ok, 1 none, 2 cliff
    status = np.where(some_below & some_above, 0, np.where(some_below | some_above, 2, 1))
    columns = [matrix.codes(), matrix.values(0), below, above]
    columns.append(take(strings(["ok", "none", "cliff"]), status))
    return pa.Table.from_arrays(columns, schema=THRESHOLD_CLIFFS_SCHEMA())


def boundaries_tables(
    store: GraphStore, area: str | None = None, part: str | None = None
) -> dict[str, Any] | Any:
    """``boundaries`` as ``pyarrow.Table``s; ``part`` ("links" or "threshold_cliffs"): that
    part's table alone."""
    if part == "links":
        return boundary_links_table(store, area)
    if part == "threshold_cliffs":
        return threshold_cliffs_table(store, area)
    if part is not None:
        raise UsageError(f"part must be 'links' or 'threshold_cliffs', not {part!r}")
    return {
        "links": boundary_links_table(store, area),
        "threshold_cliffs": threshold_cliffs_table(store, area),
    }


# -- pathways ------------------------------------------------------------------------------
@gc_paused()
def pathways(store: GraphStore, area: str | None = None, chains: bool = False) -> list[Row]:
    """Per LA and universal entry point: the nearest specialised destination, or a dead end.

    The query gives the facts as lists (per LA its entry points and destinations, per active
    service the active services it refers to); a breadth-first search from all entry points at
    once, one level per step, stops for each (LA, entry point) at the first level that reaches
    a destination of that LA.

    ``chains``: each row also gets ``chain``, the services from the entry point to the
    destination (``hops + 1`` ids; ``None`` for a dead end). Of the equally short chains it is
    the one whose every step comes from the smallest id that reaches the next one, so it is
    the same on every run (the search keeps, per service reached, where it came from).
    """
    found = _pathways_found(store, area, chains)
    if found is None:
        return []
    las, ids, pair_la, pair_entry, destination, hops, search = found
    la_codes, service_ids = las.to_pylist(), ids.to_pylist()
    if chains:
        steps = search.chains(pair_entry, destination, hops)
        return [
            {
                "area_code": la_codes[la],
                "entry_service": service_ids[entry],
                "destination": service_ids[end] if end >= 0 else None,
                "hops": length if length >= 0 else None,
                "chain": [service_ids[step] for step in chain] if chain is not None else None,
            }
            for la, entry, end, length, chain in zip(
                pair_la.tolist(), pair_entry.tolist(), destination.tolist(), hops.tolist(),
                steps, strict=True,
            )
        ]  # fmt: skip
    return [
        {
            "area_code": la_codes[la],
            "entry_service": service_ids[entry],
            "destination": service_ids[end] if end >= 0 else None,
            "hops": length if length >= 0 else None,
        }
        for la, entry, end, length in zip(
            pair_la.tolist(), pair_entry.tolist(), destination.tolist(), hops.tolist(),
            strict=True,
        )
    ]  # fmt: skip


def pathways_table(store: GraphStore, area: str | None = None) -> Any:
    """``pathways`` (without chains) as a ``pyarrow.Table``: ``destination`` and ``hops`` null
    for a dead end."""
    import pyarrow as pa

    found = _pathways_found(store, area, chains=False)
    if found is None:
        return PATHWAYS_SCHEMA().empty_table()
    las, ids, pair_la, pair_entry, destination, hops, _search = found
    reached = destination >= 0
    columns = [take(las, pair_la), take(ids, pair_entry)]
    columns.append(ids.take(int64s(destination, reached)))  # a null index takes a null
    columns.append(int64s(hops, reached))
    return pa.Table.from_arrays(columns, schema=PATHWAYS_SCHEMA())


def _pathways_found(store: GraphStore, area: str | None, chains: bool) -> Any:
    """The search's answer: the LA codes and service ids (Arrow, sorted), per (LA, entry
    point) pair in the contract's order its LA, entry point, destination and hops (numpy
    indices; -1 for a dead end) and the search; ``None`` when there is no entry point."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    facts = store.run_table("pathways", {"area": area_param(store, area)})
    if facts.num_rows == 0:
        return None
    kind = facts.column("kind")
    entries, ends, links = (
        facts.filter(pc.equal(kind, text(k))) for k in ("entry", "destination", "link")
    )
    if entries.num_rows == 0:
        return None
    # Services and LAs as integers in code point order: the smallest index is the smallest id.
    ids = _sorted_unique(
        pa,
        pc,
        links.column("key"),
        *(pc.list_flatten(t.column("services")) for t in (entries, ends, links)),
    )
    las = _sorted_unique(pa, pc, entries.column("key"), ends.column("key"))

    def pairs(table: Any, key_set: Any) -> tuple[Any, Any]:
        """(key index, member index) for every member of every row's list."""
        members = table.column("services")
        keys = pc.take(table.column("key"), pc.list_parent_indices(members))
        return position(keys, key_set), position(pc.list_flatten(members), ids)

    search = _Search(len(ids), *pairs(links, ids), *pairs(ends, las), keep_chains=chains)
    pair_la, pair_entry = pairs(entries, las)
    contract = np.lexsort((pair_entry, pair_la))  # the contract's order: area, entry point
    pair_la, pair_entry = pair_la[contract], pair_entry[contract]
    destination, hops = search.run(pair_la, pair_entry)
    return _plain(las), _plain(ids), pair_la, pair_entry, destination, hops, search


def _sorted_unique(pa: Any, pc: Any, *columns: Any) -> Any:
    chunks = [c.combine_chunks() if hasattr(c, "combine_chunks") else c for c in columns]
    values = pc.unique(pa.concat_arrays(chunks))
    return values.take(pc.sort_indices(values))


def _unique(values: Any) -> Any:
    """Sorted distinct values (numpy's hash-based unique is several times slower here)."""
    import numpy as np

    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


class _Search:
    """Shortest referral chains from many entry points at once (numpy, level by level)."""

    def __init__(
        self,
        n: int,
        sources: Any,
        targets: Any,
        end_las: Any,
        end_services: Any,
        keep_chains: bool = False,
    ):
        import numpy as np

        self.n = n
        # Per level, when chains are wanted: the (origin, service) pairs first reached there
        # (as origin * n + service, sorted) and the service each was reached from.
        self.keep_chains = keep_chains
        self.levels: list[tuple[Any, Any]] = []
        # Links as a CSR adjacency (duplicates of a pair, one per reason, count once).
        keys = _unique(sources * n + targets)
        self.following = keys % n
        self.start = np.searchsorted(keys // n, np.arange(n + 1))
        self.destination_keys = _unique(end_las * n + end_services)
        self.is_destination = np.zeros(n, dtype=bool)
        self.is_destination[end_services] = True

    def run(self, pair_la: Any, pair_entry: Any) -> tuple[Any, Any]:
        """For each (LA, entry point) pair: the destination index and hops, or -1 and -1."""
        import numpy as np

        n = self.n
        destination = np.full(len(pair_la), -1, dtype=np.int64)
        hops = np.full(len(pair_la), -1, dtype=np.int64)
        # Hops 0: an entry point that is itself a destination of its LA.
        itself = np.isin(pair_la * n + pair_entry, self.destination_keys)
        destination[itself], hops[itself] = pair_entry[itself], 0
        pending = np.flatnonzero(~itself)
        origin = _unique(pair_entry[pending])  # the searches: one per entry point
        node = origin
        seen = origin * n + origin
        for level in range(1, MAX_HOPS + 1):
            if len(pending) == 0 or len(node) == 0:
                break
            # One step along every link from the frontier, new (origin, service) pairs only.
            begin, count = self.start[node], self.start[node + 1] - self.start[node]
            reach = np.repeat(origin, count) * n + self.following[_ranges(begin, count)]
            if self.keep_chains:
                via = np.repeat(node, count)
                order = np.lexsort((via, reach))  # per pair reached, the smallest `via` first
                reach, via = reach[order], via[order]
                first = np.ones(len(reach), dtype=bool)
                first[1:] = reach[1:] != reach[:-1]
                step, via = reach[first], via[first]
                fresh = ~np.isin(step, seen, assume_unique=True)
                step = step[fresh]
                self.levels.append((step, via[fresh]))
            else:
                step = _unique(reach)
                step = step[~np.isin(step, seen, assume_unique=True)]
            seen = np.sort(np.concatenate((seen, step)))
            origin, node = step // n, step % n
            # Pending pairs whose entry point reached a destination of their LA at this level.
            hit = self.is_destination[node]
            pending = pending[np.argsort(pair_entry[pending], kind="stable")]
            by_entry = pair_entry[pending]
            low = np.searchsorted(by_entry, origin[hit], "left")
            width = np.searchsorted(by_entry, origin[hit], "right") - low
            pair = pending[_ranges(low, width)]
            reached = np.repeat(node[hit], width)
            fits = np.isin(pair_la[pair] * n + reached, self.destination_keys)
            pair, reached = pair[fits], reached[fits]
            first = np.lexsort((reached, pair))  # per pair, the smallest destination first
            pair, reached = pair[first], reached[first]
            new = np.ones(len(pair), dtype=bool)
            new[1:] = pair[1:] != pair[:-1]
            destination[pair[new]], hops[pair[new]] = reached[new], level
            pending = pending[destination[pending] < 0]
            # Searches whose entry point has nothing pending stop here.
            going = np.isin(origin, pair_entry[pending])
            origin, node = origin[going], node[going]
            seen = seen[np.isin(seen // n, pair_entry[pending])]
        return destination, hops

    def chains(self, pair_entry: Any, destination: Any, hops: Any) -> list[list[int] | None]:
        """Per pair, the service indices from its entry point to its destination (walking the
        levels' back links from the destination), or None for a dead end."""
        import numpy as np

        found = np.flatnonzero(hops >= 0)
        longest = int(hops[found].max()) if len(found) else 0
        steps = np.full((len(found), longest + 1), -1, dtype=np.int64)
        steps[np.arange(len(found)), hops[found]] = destination[found]
        for level in range(longest, 0, -1):
            at = np.flatnonzero(hops[found] >= level)
            reached, via = self.levels[level - 1]
            keys = pair_entry[found[at]] * self.n + steps[at, level]
            steps[at, level - 1] = via[np.searchsorted(reached, keys)]
        result: list[list[int] | None] = [None] * len(hops)
        for row, pair in enumerate(found.tolist()):
            result[pair] = steps[row, : int(hops[pair]) + 1].tolist()
        return result


def _ranges(begin: Any, count: Any) -> Any:
    """The concatenation of ``range(b, b + c)`` for each ``b, c`` (vectorised)."""
    import numpy as np

    ends = np.cumsum(count)
    return np.repeat(begin - (ends - count), count) + np.arange(int(ends[-1]) if len(ends) else 0)


# -- concentration -------------------------------------------------------------------------
def concentration(store: GraphStore, area: str | None = None) -> list[Row]:
    """Where parent-infant relationship referrals go: per receiving service and count basis,
    the count and its share of that basis's total (counts of different units are never
    added)."""
    found = store.run("concentration", {"area": area_param(store, area)})
    return concentration_rows(
        (row["to_service"], row["count_basis"], int(row["count"]), bool(row["specialised"]))
        for row in found
    )


def concentration_rows(found: Iterable[tuple[str, str | None, int, bool]]) -> list[Row]:
    """The contract's rows from (to_service, count_basis, count, specialised) per target and
    basis (a blank basis is per_year): shares of each basis's own total, sorted by basis
    (``COUNT_BASES`` order), count descending, to_service."""
    found = [
        (target, basis or DEFAULT_COUNT_BASIS, count, spec) for target, basis, count, spec in found
    ]
    totals: dict[str, int] = defaultdict(int)
    for _target, basis, count, _specialised in found:
        totals[basis] += count
    rows = [
        {
            "to_service": target,
            "count_basis": basis,
            "count": count,
            "share": _share(count, totals[basis]) if totals[basis] else None,
            "specialised": specialised,
        }
        for target, basis, count, specialised in found
    ]
    # COUNT_BASES is in code point order (per_year first): sorting by the text is the contract's.
    rows.sort(key=lambda r: (r["count_basis"], -r["count"], r["to_service"]))
    return rows


def concentration_table(store: GraphStore, area: str | None = None) -> Any:
    """``concentration`` as a ``pyarrow.Table``: shares in whole numbers (as ``_share``) with
    numpy, each of its own basis's total, the rows sorted in Arrow."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    found = store.run_table("concentration", {"area": area_param(store, area)})
    if found.num_rows == 0:
        return CONCENTRATION_SCHEMA().empty_table()
    bases = pc.fill_null(_plain(found.column("count_basis")), text(DEFAULT_COUNT_BASIS))
    # COUNT_BASES is in code point order (per_year first): sorting by the text is the contract's.
    found = pa.Table.from_arrays(
        [
            _plain(found.column("to_service")),
            bases,
            _int64(found.column("count")),
            bools(truths(found.column("specialised"))),
        ],
        names=["to_service", "count_basis", "count", "specialised"],
    )
    order = [("count_basis", "ascending"), ("count", "descending"), ("to_service", "ascending")]
    found = found.take(pc.sort_indices(found, sort_keys=order))
    values = integers(found.column("count"))
    # Each row's basis as a number: the totals are per basis.
    bases = combined(found.column("count_basis"))
    basis = position(bases, pc.unique(bases))
    totals = np.zeros(int(basis.max()) + 1, dtype=np.int64)
    np.add.at(totals, basis, values)
    total = totals[basis]
    present = total > 0
    if int(totals.max()) < (1 << 62) // 20_000:  # 2 x count x 10,000 fits in 64 bits
        shares = ((2 * values * 10_000 + total) // np.where(present, 2 * total, 1)) / 10_000
    else:  # counts this large: Python's integers
        shares = np.array(
            [
                _share(c, t) if t else 0.0
                for c, t in zip(values.tolist(), total.tolist(), strict=True)
            ]
        )
    share = float64s(shares, present)
    columns = [combined(found.column(name)) for name in ("to_service", "count_basis", "count")]
    columns += [share, combined(found.column("specialised"))]
    return pa.Table.from_arrays(columns, schema=CONCENTRATION_SCHEMA())


def _share(count: int, total: int) -> float:
    """count / total rounded half away from zero to 4 places, in integers (exact, and 30x
    faster than a Decimal per row for the 36,000 targets of a national dataset). Counts are
    never negative, so half away from zero is half up."""
    tenths_of_thousandths = (2 * count * 10_000 + total) // (2 * total)
    return tenths_of_thousandths / 10_000  # int / int: the double nearest the exact decimal


# -- need ----------------------------------------------------------------------------------
def parse_shares(
    targeted: str | float | None = None,
    specialist: str | float | None = None,
    statutory: str | float | None = None,
) -> dict[str, Decimal]:
    """The need shares as exact decimals (defaults: the report's high-adversity values)."""
    given = {"targeted": targeted, "specialist": specialist, "statutory": statutory}
    shares: dict[str, Decimal] = {}
    for level, value in given.items():
        text = DEFAULT_SHARES[level] if value is None else str(value)
        try:
            share = Decimal(text)
        except ArithmeticError:
            raise UsageError(f"the {level} share must be a number, got {text!r}") from None
        if not share.is_finite() or share < 0 or share > 1:
            raise UsageError(f"the {level} share must be between 0 and 1, got {text}")
        shares[level] = share
    return shares


def need(
    store: GraphStore,
    area: str | None = None,
    shares: dict[str, Decimal] | None = None,
) -> list[Row]:
    """Demand (under-2 population x share) against specialised capacity, per LA x level.

    A service's capacity is counted once: split evenly across the need levels at which it has a
    specialised offer, then shared by population across the LAs it covers (docs/analyses.md).
    A service whose capacity is not recorded adds nothing and is counted in ``unrecorded``: the
    shortfall is then at most the figure given, not a finding that there is no capacity.
    """
    rows = []
    for exact in need_exact(store, area, shares):
        row = dict(exact)
        for key in ("demand", "capacity", "shortfall"):
            if row[key] is not None:
                row[key] = round_half_away(row[key], 1)
        rows.append(row)
    return rows


def need_exact(
    store: GraphStore,
    area: str | None = None,
    shares: dict[str, Decimal] | None = None,
) -> list[Row]:
    """``need``'s rows before rounding: demand, capacity and shortfall as exact fractions
    (None for an LA without a population), for totals rounded once (as the contract rounds)."""
    shares = shares or parse_shares()
    las = _local_authorities(store, area)
    params = {"area": area if area is not None else "", "levels": list(NEED_LEVELS)}
    capacity_shares = {
        (row["area_code"], row["level"]): row["capacity_shares"]
        for row in store.run("need", params)
    }
    rows = []
    for la in las:
        population = la["under2_population"]
        for level in sorted(NEED_LEVELS, key=level_rank):
            services = capacity_shares.get((la["code"], level), [])
            result: Row = {"area_code": la["code"], "level": level}
            if population is None:
                result.update(demand=None, capacity=None)
                result.update(unrecorded=_unrecorded(services), shortfall=None)
            else:
                demand = Fraction(shares[level]) * int(population)
                capacity = _capacity(services, population)
                result.update(
                    demand=demand,
                    capacity=capacity,
                    unrecorded=_unrecorded(services),
                    shortfall=max(Fraction(0), demand - capacity),
                )
            rows.append(result)
    return rows


def _unrecorded(shares: Iterable[Sequence[Any]]) -> int:
    """How many of the services behind a need row have no capacity recorded."""
    return sum(1 for capacity, _served, _levels in shares if capacity is None)


def _capacity(shares: Iterable[Sequence[Any]], population: int) -> Fraction:
    """This LA's part of each service's capacity: capacity / k x population / served population,
    k being the number of need levels the service works at (its families are counted once).
    Summed per denominator first: region-wide services share one. A service with no capacity
    recorded adds nothing (it is counted as unrecorded)."""
    by_denominator: dict[int, int] = defaultdict(int)
    for capacity, served, levels in shares:
        if served and capacity is not None:
            by_denominator[int(served) * int(levels)] += int(capacity)
    return sum(
        (Fraction(total * int(population), denominator)
         for denominator, total in by_denominator.items()),
        Fraction(0),
    )  # fmt: skip
