"""Which figures rest on illustrative or inferred values: the conventions, free of any page or
report (the dashboard's pages and the mapping report both ask these rules, so one figure is
marked the same wherever people read it).

A mapping dataset names the source of every service, referral link and (optionally) area
(docs/data-format.md); a value the source does not give is marked there:

- a referral link whose source *starts* with ``illustrative`` is a modelling assumption, count
  and all;
- a link whose source quotes its source first and says ``illustrative split`` later keeps its
  source's *total* (for instance a survey's 59 mentions of one team) but its own count is an
  assumed share of it: the links to the same service for the same reason, in the same unit,
  share that total. A figure adding up every one of those links rests on the source's number;
  a figure adding up only some (one referrer, one local authority) rests on the assumed split;
- an area whose source starts with ``inferred`` or ``illustrative`` has an under-2 population
  (and births) worked out or assumed rather than published: every demand figure rests on it;
- a staffed service's source names its placeholder workforce rows
  (``illustrative: workforce row``), since workforce.csv has no source column.

Counts are per unit (``count_basis``): the volumes here are too, never added across units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nestmap.vocabulary import DEFAULT_COUNT_BASIS

if TYPE_CHECKING:
    from nestmap.graph import GraphStore

ILLUSTRATIVE = "illustrative"
INFERRED = "inferred"
SPLIT_MARK = "illustrative split"
WORKFORCE_MARK = "illustrative: workforce row"
LINK_COLUMNS = ("from_service", "to_service", "reason")
# The kinds of marked link in ``illustrative_link_table``.
WHOLE, SPLIT = "link", "split"


class _EveryLink:
    """What the functions taking ``illustrative_link_table`` may be given instead when every
    referral link of the dataset is illustrative (``every_link_illustrative``): every count of
    every link rests on an illustrative value, with no link read or matched (a synthetic
    national dataset: a million links, matched by key in 2-3 s)."""

    num_rows = 1  # (non-empty: there are marked links)

    def __repr__(self) -> str:
        return "EVERY_LINK"


EVERY_LINK: Any = _EveryLink()


def link_is_illustrative(link: Mapping[str, Any]) -> bool:
    """The link itself (and so its count) is a modelling assumption: its source says so first."""
    return record_is_illustrative(link)


def record_is_illustrative(record: Mapping[str, Any]) -> bool:
    """A service or referral link that is itself a modelling assumption (its source starts
    with ``illustrative``), not a record of what exists."""
    return str(record.get("source") or "").strip().lower().startswith(ILLUSTRATIVE)


def illustrative_services(store: GraphStore) -> frozenset[str]:
    """The ids of the services (any status) whose record is a modelling assumption
    (``record_is_illustrative``), the rule applied once per distinct source text."""
    return _services_whose_source(store, lambda text: record_is_illustrative({"source": text}))


def count_is_split(link: Mapping[str, Any]) -> bool:
    """The link's count is an assumed share of a total its source gives (the total is the
    source's; the share is not): ``illustrative split`` in a source that does not start with
    ``illustrative``."""
    source = str(link.get("source") or "").lower()
    return SPLIT_MARK in source and not link_is_illustrative(link)


def value_is_marked(source: str | None) -> bool:
    """A record's source says its figures are inferred or illustrative (an area's population)."""
    text = str(source or "").strip().lower()
    return text.startswith(ILLUSTRATIVE) or text.startswith(INFERRED)


def illustrative_link_counts(store: GraphStore) -> dict[str, int]:
    """How many referral links are illustrative (``WHOLE``), how many have a count that is an
    illustrative split of their source's total (``SPLIT``), and how many links there are
    (``"all"``): counted by the engine per distinct source text, no link read."""
    whole = split = 0
    for row in store.run("illustrative_link_sources"):
        link = {"source": row["source"]}
        whole += int(row["links"]) if link_is_illustrative(link) else 0
        split += int(row["links"]) if count_is_split(link) else 0
    every = sum(int(row["count"]) for row in store.run("count_links") if row["type"] == "REFERS_TO")
    return {WHOLE: whole, SPLIT: split, "all": every}


def every_link_illustrative(counts: Mapping[str, int]) -> bool:
    """Every referral link is illustrative (``illustrative_link_counts``): a figure on links
    then rests on illustrative values wherever it has a count."""
    return counts["all"] > 0 and counts[WHOLE] == counts["all"]


def illustrative_link_table(store: GraphStore) -> Any:
    """The referral links whose count rests on an illustrative value, read from the few whose
    source mentions "illustrative" rather than from every link, as a ``pyarrow.Table``
    (from_service, to_service, reason, count, count_basis, source) with ``key`` (each link's
    ``link_keys``), ``kind`` (``WHOLE``: the link is illustrative; ``SPLIT``: its count is an
    assumed share of its source's total) and ``group`` (for a split: the links sharing that
    total, ``group_keys``). The rules are applied once per distinct source text, not per link
    (a synthetic national dataset has a million links, all illustrative, and a handful of
    source texts)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    candidates = store.run_table("illustrative_link_candidates")
    if candidates.num_rows == 0:  # engines building Arrow from rows give no columns then
        text = ("from_service", "to_service", "reason")
        empty = {name: pa.array([], pa.string()) for name in text}
        empty.update(count=pa.array([], pa.int64()))
        for name in ("count_basis", "source", "key", "kind", "group"):
            empty[name] = pa.array([], pa.string())
        return pa.table(empty)
    sources = candidates.column("source")
    texts = [text for text in pc.unique(sources).to_pylist() if text is not None]
    whole = [text for text in texts if link_is_illustrative({"source": text})]
    split = [text for text in texts if count_is_split({"source": text})]
    is_whole = pc.is_in(sources, value_set=pa.array(whole, pa.string()))
    is_split = pc.is_in(sources, value_set=pa.array(split, pa.string()))
    found = candidates.filter(pc.or_(is_whole, is_split))
    basis = pc.fill_null(pc.cast(found.column("count_basis"), pa.string()), DEFAULT_COUNT_BASIS)
    found = found.set_column(found.column_names.index("count_basis"), "count_basis", basis)
    kind = pc.if_else(
        pc.is_in(found.column("source"), value_set=pa.array(whole, pa.string())), WHOLE, SPLIT
    )
    found = found.append_column("key", link_keys(found))
    found = found.append_column("kind", kind)
    return found.append_column("group", group_keys(found))


def link_keys(table: Any) -> Any:
    """One text per row of a table with from_service, to_service and reason columns, equal
    for equal (from, to, reason): what a row is matched on against the illustrative links."""
    return _joined(table, LINK_COLUMNS)


def group_keys(table: Any) -> Any:
    """Per row (to_service, reason, count_basis): the links an ``illustrative split`` shares
    one total between."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return pa.array([], pa.string())
    basis = pc.fill_null(pc.cast(table.column("count_basis"), pa.string()), DEFAULT_COUNT_BASIS)
    columns = [pc.cast(table.column(name), pa.string()) for name in ("to_service", "reason")]
    return pc.binary_join_element_wise(*columns, basis, pa.scalar("\x1f", pa.string()))


def _joined(table: Any, names: tuple[str, ...]) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return pa.array([], pa.string())
    columns = [pc.cast(table.column(name), pa.string()) for name in names]
    return pc.binary_join_element_wise(*columns, pa.scalar("\x1f", pa.string()))


def illustrative_volume(table: Any, marked: Any, mask: Any = None) -> dict[str, int]:
    """Of the rows of ``table`` (an Arrow table with the link columns, ``count`` and
    ``count_basis``) that ``mask`` keeps (all when None), per count basis the count that rests
    on an illustrative value (``resting``); only bases with such a count are listed.
    ``marked``: ``illustrative_link_table``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rests = resting(table, marked, mask)
    if rests is None:
        return {}
    bases = pc.fill_null(pc.cast(table.column("count_basis"), pa.string()), DEFAULT_COUNT_BASIS)
    found = pa.table({"basis": bases, "count": pc.cast(table.column("count"), pa.int64())})
    sums = found.filter(rests).group_by("basis").aggregate([("count", "sum")])
    return {
        basis: int(total)
        for basis, total in zip(
            sums.column("basis").to_pylist(), sums.column("count_sum").to_pylist(), strict=True
        )
        if total
    }


def resting(table: Any, marked: Any, mask: Any = None) -> Any:
    """Per row of ``table`` (link columns, ``count``, ``count_basis``): does its count rest on
    an illustrative value within the rows ``mask`` keeps (an Arrow boolean array, false outside
    them; None when nothing can): the link is illustrative, or its count is an illustrative
    split of a total and the kept rows hold only some of the links sharing that total (all of
    them add up to the source's own number)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0 or marked.num_rows == 0:
        return None
    if pa.types.is_null(table.column("count").type):
        return None
    kept = pa.repeat(pa.scalar(True), table.num_rows) if mask is None else pc.fill_null(mask, False)
    if marked is EVERY_LINK:
        return kept  # every link is illustrative, and so every kept row's count
    keys = link_keys(table)
    kinds = marked.column("kind")
    whole_keys = marked.filter(pc.equal(kinds, WHOLE)).column("key").combine_chunks()
    splits = marked.filter(pc.equal(kinds, SPLIT))
    on_whole = pc.and_(kept, pc.is_in(keys, value_set=whole_keys))
    on_split = pc.and_(kept, pc.is_in(keys, value_set=splits.column("key").combine_chunks()))
    if not pc.any(on_split).as_py():
        return on_whole
    groups = group_keys(table)
    in_rows = (
        pa.table({"group": pc.filter(groups, on_split)})
        .group_by("group")
        .aggregate([("group", "count")])
    )
    every = (
        pa.table({"group": splits.column("group")})
        .group_by("group")
        .aggregate([("group", "count")])
    )
    of_all = dict(zip(every.column("group").to_pylist(), every.column("group_count").to_pylist(),
                      strict=True))  # fmt: skip
    partial = [
        group
        for group, number in zip(
            in_rows.column("group").to_pylist(), in_rows.column("group_count").to_pylist(),
            strict=True,
        )
        if number < of_all.get(group, 0)
    ]  # fmt: skip
    on_partial = pc.and_(on_split, pc.is_in(groups, value_set=pa.array(partial, pa.string())))
    return pc.or_(on_whole, on_partial)


def illustrative_misdirected(
    store: GraphStore, area: str | None, marked: Any
) -> dict[str, dict[str, int]]:
    """Of the counts on misdirected links (the kept ``misdirected`` answer), per count basis
    those resting on illustrative values, for the links with an ``onward`` route and for the
    dead ends (the headline's two figures); ``marked``: ``illustrative_link_table`` (or
    ``EVERY_LINK``)."""
    import pyarrow.compute as pc

    from nestmap.answers.analyses import misdirected_table

    links = misdirected_table(store, area)
    if links.num_rows == 0:
        return {"onward": {}, "dead_end": {}}
    onward = links.column("onward")
    return {
        "onward": illustrative_volume(links, marked, onward),
        "dead_end": illustrative_volume(links, marked, pc.invert(onward)),
    }


def illustrative_concentration(
    store: GraphStore, area: str | None, marked: Any
) -> dict[tuple[str, str], int]:
    """Per row of ``concentration`` (to_service, count_basis), the part of its count resting on
    illustrative values (rows with none are left out). A row's links are exactly the links an
    illustrative split shares a total between, so a row summing all of them (the whole
    country) rests on the source's total; a share rests on illustrative values when any row of
    its basis does (its total does)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from nestmap.answers.slices import keep_relationship_referrals, services_covering

    links = keep_relationship_referrals(store)
    if links.num_rows == 0 or marked.num_rows == 0:
        return {}
    if area is not None:
        links = links.filter(
            pc.is_in(links.column("from_service"), value_set=services_covering(store, area))
        )
    reason = pa.repeat(pa.scalar("parent_infant_relationship", pa.string()), links.num_rows)
    links = links.append_column("reason", reason)
    rests = resting(links, marked)
    if rests is None:
        return {}
    found = pa.table(
        {
            "to": links.column("to_service"),
            "basis": links.column("count_basis"),
            "count": pc.cast(links.column("count"), pa.int64()),
        }
    ).filter(rests)
    sums = found.group_by(["to", "basis"]).aggregate([("count", "sum")])
    return {
        (target, basis): int(total)
        for target, basis, total in zip(
            sums.column("to").to_pylist(),
            sums.column("basis").to_pylist(),
            sums.column("count_sum").to_pylist(),
            strict=True,
        )
        if total
    }


def workforce_is_illustrative(service: Mapping[str, Any]) -> bool:
    """The service's source marks (some of) its workforce rows as placeholders."""
    return WORKFORCE_MARK in str(service.get("source") or "").lower()


def illustrative_workforce_services(store: GraphStore) -> frozenset[str]:
    """The ids of the services (any status) whose source marks their workforce rows as
    placeholders, the rule applied once per distinct source text (a national catalogue has
    50,000 services and a handful of source texts)."""
    return _services_whose_source(store, lambda text: workforce_is_illustrative({"source": text}))


def _services_whose_source(store: GraphStore, rule: Any) -> frozenset[str]:
    """The ids of the services whose source text ``rule`` (text -> bool) holds for."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = store.run_table("export_services")
    if found.num_rows == 0:
        return frozenset()
    sources = found.column("source")
    texts = [text for text in pc.unique(sources).to_pylist() if text is not None]
    marked = [text for text in texts if rule(text)]
    keep = pc.is_in(sources, value_set=pa.array(marked, pa.string()))
    return frozenset(found.column("id").filter(keep).to_pylist())


def population_provenance(store: GraphStore) -> dict[str, Any]:
    """Where the local authorities' under-2 populations come from (what every demand figure
    rests on): ``marked`` (codes whose area source says inferred or illustrative), ``unsourced``
    (codes with a population and no source), ``sources`` (code -> source text of the marked
    ones, and of the region they are part of when it has one)."""
    areas = store.run("export_areas")
    las = [
        a for a in areas if a["kind"] == "local_authority" and a["under2_population"] is not None
    ]
    by_code = {a["code"]: a for a in areas}
    marked = sorted(a["code"] for a in las if value_is_marked(a.get("source")))
    unsourced = sorted(a["code"] for a in las if not str(a.get("source") or "").strip())
    sources = {code: str(by_code[code]["source"]) for code in marked}
    for code in marked:
        parent = by_code.get(by_code[code].get("parent_code") or "")
        if parent is not None and value_is_marked(parent.get("source")):
            sources[parent["code"]] = str(parent["source"])
    return {"marked": marked, "unsourced": unsourced, "sources": sources}


def population_note(found: Mapping[str, Any], names: Mapping[str, str]) -> str | None:
    """What a demand figure says about the population it rests on (``population_provenance``),
    or None when every population is sourced and none is marked."""
    marked, unsourced = list(found["marked"]), list(found["unsourced"])
    parts = []
    if marked:
        listed = ", ".join(names.get(code, code) for code in marked)
        region = [code for code in found["sources"] if code not in marked]
        reason = found["sources"][region[0] if region else marked[0]]
        parts.append(
            f"Demand rests on under-2 populations that are inferred or illustrative, not "
            f"published figures ({listed}): {_shortened(reason)}"
        )
    if unsourced:
        parts.append(
            f"areas.csv gives no source for the under-2 population of {len(unsourced):,} "
            "local authorities: say where it comes from when you present these figures."
        )
    return " ".join(parts) or None


def _shortened(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " …"
