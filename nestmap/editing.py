"""Edit the loaded map as tables: the dashboard's grids, usable from ``nestmap.Graph`` too.

An edit is the whole dataset as text tables (the input format's columns, header first, the
cells as a CSV would hold them). It goes through the loader's own rules (``validate``: the
same code as a file load, so a problem names file, row, column, value and reason) and then
through the store's atomic swap, which keeps the previous graph as a version. The change log
records who saved it and a note of what changed and why.

Two people editing at once: a save carries the store version the editor started from
(``store.version()`` when the tables were read); if the graph has changed since, the save is
refused with ``MapChanged``, which carries the difference between the two graphs, and nothing
is overwritten. Given the tables the editor started from, it also carries a three-way merge
(``merge_edit``: per row, by the row's key, and per cell): when no cell the editor changed was
changed by the other save, ``save_edit(..., merge=True)`` applies the editor's change onto the
current map; otherwise the merge lists each conflicting cell. The check and the swap happen
under one lock (a thread lock per graph, and an advisory file lock beside an embedded graph for
other processes).
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nestmap.errors import NestmapError, UsageError
from nestmap.graph.store import GraphStore
from nestmap.interop.dataset_files import COLUMNS, METADATA_COLUMNS, dataset_tables, metadata_rows
from nestmap.loaders.dataset import Dataset
from nestmap.loaders.read import METADATA, TABLES, RawDataset, RawTable
from nestmap.loaders.validate import validate

# Table name -> rows of text cells, the header first (nestmap.interop.dataset_tables' shape).
TextTables = dict[str, list[list[str]]]

# What identifies a row of each table, for saying what an edit added, removed or changed.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "areas": ("code",),
    "services": ("id",),
    "offers": ("service_id", "level"),
    "referrals": ("from_service", "to_service", "reason"),
    "workforce": ("service_id", "role"),
    METADATA: ("field",),
}
# A note is a sentence or two; it is kept in the change log and shown on pages.
MAX_WHY_CHARS = 500
MAX_NOTE_CHARS = 2_000


@dataclass
class Merge:
    """An editor's change carried onto a map someone else changed meanwhile.

    ``tables``: the current map with the editor's change applied (where there is no conflict);
    ``applied``: the editor's own changes (``table_differences`` rows: what applying adds);
    ``conflicts``: one row per cell both changed differently — ``table``, ``key`` (the row's
    key, `` / ``-joined), ``name`` (the row's name, where it has one), ``column``, ``started``
    (the value the editor started from), ``yours`` and ``theirs``; a row one side removed
    while the other changed it is one conflict with ``column`` blank."""

    tables: TextTables
    applied: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when the editor's change applies onto the current map as it is."""
        return not self.conflicts


class MapChanged(NestmapError):
    """The graph changed after the editor started: nothing was saved. ``differences`` is what
    changed meanwhile; ``merge`` (when the tables the editor started from are known) is the
    editor's change carried onto the current map, with any conflicting cells."""

    exit_code = 2

    def __init__(self, message: str, differences: list[dict[str, Any]], merge: Merge | None = None):
        super().__init__(message)
        self.differences = differences
        self.merge = merge


def read_tables(store: GraphStore) -> TextTables:
    """The loaded dataset as text tables, in the input format and a stable row order."""
    return dataset_tables(store)


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _normalised(tables: TextTables) -> TextTables:
    """Every table present with its own header; cells as stripped text (None -> "")."""
    found: TextTables = {}
    # The dataset's description (dataset.csv) is not edited in the grids: it goes through as
    # it came, when the tables have one.
    for table in (*TABLES, METADATA) if tables.get(METADATA) else TABLES:
        rows = tables.get(table) or [COLUMNS[table]]
        header = [str(name).strip() for name in rows[0]]
        body = [
            ["" if cell is None else str(cell).strip() for cell in row]
            for row in rows[1:]
            if any("" if cell is None else str(cell).strip() for cell in row)
        ]
        found[table] = [header, *body]
    return found


def dataset_from_tables(tables: TextTables, name: str, origin: str) -> Dataset:
    """Check edited tables with the loader's rules and build the Dataset; ``InputError`` lists
    every problem as ``TABLE.csv``, row (the header is row 1, as in the exported CSV), column,
    value and reason. Each table's hash is that of its CSV text, as an export would write it."""
    tables = _normalised(tables)
    raw = RawDataset(
        name=name,
        origin=origin,
        tables={
            table: RawTable(
                f"{table}.csv",
                rows[0],
                [(number, row) for number, row in enumerate(rows[1:], start=2)],
            )
            for table, rows in tables.items()
        },
        file_hashes={
            f"{table}.csv": hashlib.sha256(_csv_bytes(rows)).hexdigest()
            for table, rows in tables.items()
        },
    )
    return validate(raw)


def _keyed(table: str, rows: list[list[str]]) -> dict[tuple[str, ...], list[str]]:
    """Rows by their key; a repeated key gets a running number, so none is lost."""
    header = rows[0]
    positions = [header.index(c) if c in header else None for c in ROW_KEYS[table]]
    found: dict[tuple[str, ...], list[str]] = {}
    for row in rows[1:]:
        key = tuple(row[p] if p is not None and p < len(row) else "" for p in positions)
        candidate, repeat = key, 1
        while candidate in found:
            repeat += 1
            candidate = (*key, f"#{repeat}")
        found[candidate] = row
    return found


def table_differences(before: TextTables, after: TextTables) -> list[dict[str, Any]]:
    """What ``after`` adds, removes and changes against ``before``, row by row: ``table``,
    ``change`` (added / removed / changed), ``key`` (the row's key, `` / ``-joined) and
    ``columns`` (for a change: ``column: old → new`` for each changed cell)."""
    before, after = _normalised(before), _normalised(after)
    found: list[dict[str, Any]] = []
    for table in TABLES:
        header = after[table][0]
        old, new = _keyed(table, before[table]), _keyed(table, after[table])
        old_header = before[table][0]
        for key, row in new.items():
            shown = " / ".join(key)
            if key not in old:
                found.append({"table": table, "change": "added", "key": shown, "columns": ""})
                continue
            was = dict(zip(old_header, old[key], strict=False))
            cells = [
                f"{column}: {was.get(column, '') or '(blank)'} → {value or '(blank)'}"
                for column, value in zip(header, row, strict=False)
                if was.get(column, "") != value
            ]
            if cells:
                found.append(
                    {"table": table, "change": "changed", "key": shown, "columns": "; ".join(cells)}
                )
        for key in old:
            if key not in new:
                found.append(
                    {"table": table, "change": "removed", "key": " / ".join(key), "columns": ""}
                )
    return found


REMOVED = "(row removed)"


def _row_name(table: str, row: dict[str, str]) -> str:
    """What people call a row: an area's or service's name (other tables name their ids)."""
    return row.get("name", "") if table in ("areas", "services") else ""


def _merged_row(
    table: str,
    key: str,
    columns: list[str],
    rows: tuple[dict[str, str], dict[str, str], dict[str, str]],
    conflicts: list[dict[str, Any]],
) -> list[str]:
    """One row present on both sides: per cell, whichever side changed it (both alike: fine;
    both differently: a conflict, and the current map's value stays)."""
    base, mine, theirs = rows
    merged = []
    for column in columns:
        was, yours, current = (row.get(column, "") for row in (base, mine, theirs))
        if yours == was or yours == current:
            merged.append(current)
        elif current == was:
            merged.append(yours)
        else:
            merged.append(current)
            conflicts.append(
                {
                    "table": table,
                    "key": key,
                    "name": _row_name(table, theirs) or _row_name(table, mine),
                    "column": column,
                    "started": was,
                    "yours": yours,
                    "theirs": current,
                }
            )
    return merged


def _merge_table(
    table: str, started: list[list[str]], mine: list[list[str]], current: list[list[str]]
) -> tuple[list[list[str]], list[dict[str, Any]]]:
    columns = list(current[0]) + [c for c in mine[0] if c not in current[0]]

    def by_key(rows: list[list[str]]) -> dict[tuple[str, ...], dict[str, str]]:
        return {
            key: dict(zip(rows[0], row, strict=False)) for key, row in _keyed(table, rows).items()
        }

    base, yours, theirs = by_key(started), by_key(mine), by_key(current)
    empty: dict[str, str] = {}
    conflicts: list[dict[str, Any]] = []

    def same(a: dict[str, str], b: dict[str, str]) -> bool:
        return all(a.get(c, "") == b.get(c, "") for c in columns)

    def removed(key: tuple[str, ...], kept: dict[str, str], by_you: bool) -> None:
        conflicts.append(
            {
                "table": table,
                "key": " / ".join(key),
                "name": _row_name(table, kept),
                "column": "",
                "started": "",
                "yours": REMOVED if by_you else "changed",
                "theirs": "changed" if by_you else REMOVED,
            }
        )

    rows: list[list[str]] = [columns]
    for key, current_row in theirs.items():
        if key in yours:
            triple = (base.get(key, empty), yours[key], current_row)
            rows.append(_merged_row(table, " / ".join(key), columns, triple, conflicts))
            continue
        if key in base:  # the editor removed this row
            if same(base[key], current_row):
                continue  # nobody else changed it: it goes
            removed(key, current_row, by_you=True)
        rows.append([current_row.get(c, "") for c in columns])
    for key, your_row in yours.items():
        if key in theirs:
            continue
        if key not in base:  # the editor added it
            rows.append([your_row.get(c, "") for c in columns])
        elif not same(base[key], your_row):  # they removed a row the editor changed
            removed(key, your_row, by_you=False)
    return rows, conflicts


def merge_edit(started: TextTables, mine: TextTables, current: TextTables) -> Merge:
    """A three-way merge of an edit: ``started`` (what the editor read), ``mine`` (the edited
    tables) and ``current`` (the map as someone else's save left it). Rows are matched by their
    key (``ROW_KEYS``) and merged cell by cell: a cell only the editor changed takes the
    editor's value, a cell only the other save changed keeps theirs, a row only one side added
    or removed is added or removed. A cell both changed to different values, or a row one side
    removed while the other changed it, is a conflict, and the current map's value stays."""
    started, mine, current = _normalised(started), _normalised(mine), _normalised(current)
    tables: TextTables = {}
    conflicts: list[dict[str, Any]] = []
    for table in TABLES:
        tables[table], found = _merge_table(table, started[table], mine[table], current[table])
        conflicts += found
    return Merge(tables, table_differences(started, mine), conflicts)


def difference_summary(differences: list[dict[str, Any]]) -> str:
    """``services: 1 changed; referrals: 1 added`` (or ``no change``)."""
    counts: dict[str, dict[str, int]] = {}
    for item in differences:
        per_table = counts.setdefault(item["table"], {})
        per_table[item["change"]] = per_table.get(item["change"], 0) + 1
    parts = [
        f"{table}: " + ", ".join(f"{n} {change}" for change, n in changes.items())
        for table, changes in counts.items()
    ]
    return "; ".join(parts) or "no change"


def edit_note(why: str, differences: list[dict[str, Any]]) -> str:
    """The note kept with a saved edit: why (the editor's words), then what changed."""
    what = difference_summary(differences)
    detail = [
        f"{d['table']} {d['key']}" + (f" ({d['columns']})" if d["columns"] else "")
        for d in differences[:5]
    ]
    more = f" and {len(differences) - 5} more" if len(differences) > 5 else ""
    note = f"{why} — {what}: " + "; ".join(detail) + more
    return note if len(note) <= MAX_NOTE_CHARS else note[: MAX_NOTE_CHARS - 1] + "…"


def _checked_why(why: str) -> str:
    why = " ".join((why or "").split())
    if not why:
        raise UsageError("say why the map is changed: the note is kept with the new version")
    if len(why) > MAX_WHY_CHARS:
        raise UsageError(f"the note of why is at most {MAX_WHY_CHARS} characters")
    return why


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextmanager
def edit_lock(store: GraphStore) -> Iterator[None]:
    """Held while a save compares versions and swaps the graph: one save at a time per graph
    (a thread lock for the sessions of one dashboard, a file lock for other processes)."""
    with _THREAD_LOCKS_GUARD:
        lock = _THREAD_LOCKS.setdefault(store.location, threading.Lock())
    with lock:
        if store.engine != "embedded":
            yield
            return
        # Beside the kept versions and the change log (nothing new beside the graph file).
        folder = getattr(store, "versions_dir", None) or Path(store.location).parent
        lock_file = Path(folder) / "edit.lock"
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        with lock_file.open("a") as handle:
            try:
                import fcntl
            except ImportError:  # Windows: the thread lock alone (one dashboard process)
                yield
                return
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _map_changed(
    store: GraphStore,
    started_from: str,
    started_tables: TextTables | None,
    mine: TextTables | None = None,
) -> MapChanged | None:
    """None while the graph is still ``started_from``; else the refusal to raise, with what
    changed since and (given the tables) the editor's change merged onto the current map."""
    if store.version() == started_from:
        return None
    differences: list[dict[str, Any]] = []
    merge = None
    if started_tables is not None and store.has_graph():
        current = read_tables(store)
        differences = table_differences(started_tables, current)
        if mine is not None:
            merge = merge_edit(started_tables, mine, current)
    if merge is None:
        advice = "start again from the current map and redo your edit"
    elif merge.clean:
        advice = (
            "none of the cells you changed was changed by that save: your change can be "
            "applied onto the current map"
        )
    else:
        count = len(merge.conflicts)
        advice = f"{count} of your changes conflict with that save (listed cell by cell)"
    return MapChanged(
        "the map changed since you started (someone else saved or loaded a dataset); nothing "
        f"was saved. The changes since you started are listed; {advice}",
        differences,
        merge,
    )


def _check_started_from(
    store: GraphStore, started_from: str, started_tables: TextTables | None
) -> None:
    refusal = _map_changed(store, started_from, started_tables)
    if refusal is not None:
        raise refusal


def save_edit(
    store: GraphStore,
    tables: TextTables,
    *,
    started_from: str,
    by: str,
    why: str,
    started_tables: TextTables | None = None,
    merge: bool = False,
) -> dict[str, Any]:
    """Save edited tables as the new graph (the current one is kept as a version).

    ``started_from`` is ``store.version()`` when the editor read the tables (``started_tables``,
    to describe what changed meanwhile and to merge). With ``merge`` and ``started_tables``, an
    edit of a map that changed meanwhile is applied onto the current map when none of its cells
    was changed by the other save (``merge_edit``); otherwise it is refused. Raises
    ``UsageError`` without a reason or a change, ``InputError`` with every problem (the graph
    unchanged), or ``MapChanged`` (with ``.merge`` when ``started_tables`` is given). Returns
    the ``differences`` saved, the ``note`` recorded, the store ``version`` and
    ``kept_version`` (the number the map before the edit is kept under, if any)."""
    why = _checked_why(why)
    if not by.strip():
        raise UsageError("an edit needs the name of who made it")
    with edit_lock(store):
        refusal = _map_changed(store, started_from, started_tables, tables)
        carried = refusal.merge if refusal is not None and merge else None
        if refusal is not None and (carried is None or not carried.clean):
            raise refusal
        if carried is not None:
            tables = carried.tables
        current = read_tables(store)
        differences = table_differences(current, tables)
        if not differences:
            raise UsageError("nothing was changed: the tables are the same as the map")
        name = str(store.run("dataset_info")[0].get("name") or "dataset")
        dataset = dataset_from_tables(tables, name, f"edited on the dashboard by {by.strip()}")
        dataset.loaded_by = by.strip()
        dataset.change = "edit"
        dataset.note = edit_note(why, differences)
        store.replace(dataset)
    return {
        "differences": differences,
        "note": dataset.note,
        "version": store.version(),
        "kept_version": _last_kept(store),
        "merged": carried is not None,
    }


def _last_kept(store: GraphStore) -> int | None:
    """The number under which the last change kept the map it replaced (None: not kept)."""
    kept = (store.changes() or [{}])[-1].get("kept_version")
    return int(kept) if kept is not None else None


def undo_last(store: GraphStore, *, by: str, started_from: str | None = None) -> int:
    """Make the graph before the last change current again (the newest kept version; the
    current graph is kept in turn, so undoing again redoes). Returns the version restored.
    With ``started_from``, refused with ``MapChanged`` if the graph changed since."""
    if not by.strip():
        raise UsageError("an undo needs the name of who made it")
    with edit_lock(store):
        if started_from is not None:
            _check_started_from(store, started_from, None)
        kept = store.versions()
        if not kept:
            raise UsageError("there is no earlier version to go back to")
        version = int(kept[-1]["version"])
        last = (store.changes() or [{}])[-1]
        undone = last.get("note") or last.get("detail") or "the last change"
        note = f"undo: back to version {version} (undoing: {undone})"
        store.rollback(version, by.strip(), note[:MAX_NOTE_CHARS])
    return version


def apply_scenario_as_version(
    store: GraphStore,
    document: dict[str, Any],
    *,
    started_from: str,
    by: str,
    why: str,
) -> dict[str, Any]:
    """Make a scenario real: the scenario's dataset replaces the graph (the current one is kept
    as a version), recorded with ``by`` and a note of the scenario and ``why``. Refused with
    ``MapChanged`` when the graph is no longer ``started_from``; ``InputError`` as for any
    scenario."""
    from nestmap.scenarios import scenario_dataset

    why = _checked_why(why)
    if not by.strip():
        raise UsageError("applying a scenario needs the name of who did it")
    with edit_lock(store):
        _check_started_from(store, started_from, None)
        before = read_tables(store)
        scenario, dataset = scenario_dataset(store, document)
        name = str(store.run("dataset_info")[0].get("name") or "dataset")
        dataset.name = name
        dataset.origin = f"scenario {scenario.name!r} applied on the dashboard by {by.strip()}"
        dataset.loaded_by = by.strip()
        dataset.change = "scenario"
        after_tables = _tables_of(dataset)
        differences = table_differences(before, after_tables)
        dataset.note = edit_note(f"scenario {scenario.name!r}: {why}", differences)
        store.replace(dataset)
    return {
        "differences": differences,
        "note": dataset.note,
        "version": store.version(),
        "kept_version": _last_kept(store),
    }


def _tables_of(dataset: Dataset) -> TextTables:
    """A validated dataset back as text tables (to describe what applying it changes)."""
    from nestmap.interop.dataset_files import cell_text

    found: TextTables = {}
    for table, records in (
        ("areas", dataset.areas),
        ("services", dataset.services),
        ("offers", dataset.offers),
        ("referrals", dataset.referrals),
        ("workforce", dataset.workforce),
    ):
        columns = COLUMNS[table]
        found[table] = [columns] + [
            [cell_text(getattr(record, column, None)) for column in columns] for record in records
        ]
    if dataset.about:
        found[METADATA] = [METADATA_COLUMNS, *metadata_rows(dataset.about)]
    return found
