"""The Data page's editable tables: change the map in the room, check it, save it as a version.

The rules and the save are ``nestmap.editing``'s (the loader's own checks, the store's atomic
swap, the check that nobody saved meanwhile); this module draws the grids and the buttons.

Session state: ``edit_draft`` holds what this editor started from (the store version, the
tables as read, the tables the grids start from, a generation number in the grids' keys); the
grids' own edits live in Streamlit's widget state until a save or "start again" begins a new
generation.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from nestmap import vocabulary as v
from nestmap.dashboard import access, state, tables
from nestmap.dashboard.text import md
from nestmap.editing import (
    MAX_WHY_CHARS,
    MapChanged,
    TextTables,
    dataset_from_tables,
    difference_summary,
    read_tables,
    save_edit,
    table_differences,
    undo_last,
)
from nestmap.errors import InputError, NestmapError, Problem

DRAFT = "edit_draft"
_RESULT = "edit_result"
_NOTICE = "edit_notice"
# A grid in the browser holds every cell; a larger table is edited as a file (download, load).
MAX_GRID_ROWS = 5_000

TITLES = {
    "areas": "Areas",
    "services": "Services",
    "offers": "Offers",
    "referrals": "Referrals",
    "workforce": "Workforce",
}
YES, NO = "yes", "no"
BOOLEANS = {("services", c) for c in ("self_referral", "assesses_relationship", "supports_fathers")}
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("areas", "kind"): v.AREA_KINDS,
    ("services", "sector"): v.SECTORS,
    ("services", "status"): v.STATUSES,
    ("services", "stages"): ("antenatal", "postnatal", "antenatal|postnatal"),
    ("services", "threshold"): v.THRESHOLDS,
    ("offers", "level"): v.LEVELS,
    ("offers", "focus"): v.FOCUSES,
    ("referrals", "reason"): v.REASONS,
    ("referrals", "count_basis"): v.COUNT_BASES,
    ("workforce", "aimh_level"): tuple(str(level) for level in v.AIMH_LEVELS),
    **{key: (YES, NO) for key in BOOLEANS},
}
# Read-only name columns shown right after the id columns they explain.
NAME_COLUMNS: dict[tuple[str, str], str] = {
    ("areas", "parent_code"): "parent_name",
    ("services", "areas"): "area_names",
    ("offers", "service_id"): "service_name",
    ("referrals", "from_service"): "from_name",
    ("referrals", "to_service"): "to_name",
    ("workforce", "service_id"): "service_name",
}


def _names(grid: TextTables) -> tuple[dict[str, str], dict[str, str]]:
    """Area and service names by code / id, from the tables the grids start from."""
    areas = {row[0]: row[1] for row in grid["areas"][1:] if len(row) > 1}
    services = {row[0]: row[1] for row in grid["services"][1:] if len(row) > 1}
    return areas, services


def _frame(table: str, rows: list[list[str]], grid: TextTables) -> pd.DataFrame:
    """One table for its grid: text cells, booleans as yes/no, names beside ids."""
    header = rows[0]
    areas, services = _names(grid)
    records = []
    for row in rows[1:]:
        record: dict[str, Any] = {}
        for column, cell in zip(header, row, strict=False):
            if (table, column) in BOOLEANS:
                cell = {"true": YES, "false": NO}.get(cell.lower(), cell)
            record[column] = cell or None
            name_column = NAME_COLUMNS.get((table, column))
            if name_column:
                lookup = areas if table in ("areas", "services") else services
                record[name_column] = ", ".join(
                    lookup.get(code.strip(), "?") for code in cell.split("|") if code.strip()
                )
        records.append(record)
    columns: list[str] = []
    for column in header:
        columns.append(column)
        if (table, column) in NAME_COLUMNS:
            columns.append(NAME_COLUMNS[(table, column)])
    return pd.DataFrame.from_records(records, columns=columns).astype(object)


def _rows(table: str, frame: pd.DataFrame, header: list[str]) -> list[list[str]]:
    """A grid's content back as text rows in the input format (name columns dropped)."""
    rows = [list(header)]
    for record in frame.to_dict("records"):
        row = []
        for column in header:
            value = record.get(column)
            text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else value
            text = str(text).strip()
            if (table, column) in BOOLEANS:
                text = {YES: "true", NO: "false"}.get(text.lower(), text)
            row.append(text)
        rows.append(row)
    return rows


def _column_config(table: str, frame: pd.DataFrame) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for column in frame.columns:
        if (table, column) in CHOICES:
            config[column] = st.column_config.SelectboxColumn(
                column, options=list(CHOICES[(table, column)])
            )
        elif column in NAME_COLUMNS.values():
            config[column] = st.column_config.TextColumn(
                column.replace("_", " "), disabled=True, help="Shown from the map, not edited"
            )
        else:
            config[column] = st.column_config.TextColumn(column)
    return config


def _new_draft(generation: int) -> dict[str, Any]:
    store = state.store()
    with_version = store.version()
    started = read_tables(store)
    return {
        "started_from": with_version,
        "started": started,
        "grid": {table: [list(row) for row in rows] for table, rows in started.items()},
        "generation": generation,
    }


def _draft() -> dict[str, Any]:
    draft = st.session_state.get(DRAFT)
    if draft is None:
        draft = _new_draft(0)
        st.session_state[DRAFT] = draft
    return draft


def _start_again() -> None:
    old = st.session_state.get(DRAFT) or {"generation": 0}
    st.session_state[DRAFT] = _new_draft(int(old["generation"]) + 1)
    st.session_state.pop(_RESULT, None)


def _undo(seen_version: str) -> None:
    """The Undo button's callback: back to the graph before the change this editor saw."""
    try:
        who = access.require_editor()
        version = undo_last(state.store(), by=who, started_from=seen_version)
    except MapChanged:
        st.session_state[_NOTICE] = (
            "error",
            "The map changed since this page was drawn (someone else saved); nothing was "
            "undone. Look at the latest change below before undoing it.",
        )
        return
    except NestmapError as exc:
        st.session_state[_NOTICE] = ("error", f"Nothing was undone: {md(exc)}.")
        return
    st.cache_data.clear()
    _start_again()
    st.session_state[_NOTICE] = (
        "success",
        f"Undone: version {version} is the current map again (recorded as undone by {md(who)}).",
    )


def _problem_rows(problems: list[Problem], grid: dict[str, list[list[str]]]) -> list[dict]:
    """Problems with the grid row (1 = the first row under the header) and that row's id."""
    found = []
    for problem in problems:
        table = problem.file.removesuffix(".csv")
        rows = grid.get(table) or []
        grid_row = problem.row - 1 if problem.row and problem.row > 1 else None
        row_id = ""
        if grid_row is not None and grid_row < len(rows):
            row_id = " / ".join(rows[grid_row][:2]) if rows[grid_row] else ""
        found.append(
            {
                "table": table,
                "grid_row": grid_row,
                "row": row_id,
                "column": problem.column,
                "value": problem.value,
                "reason": problem.reason,
            }
        )
    return found


def _show_problems(problems: list[dict], key: str) -> None:
    tables.show(
        tables.frame(problems, ["table", "grid_row", "row", "column", "value", "reason"]), key
    )


def _differences(differences: list[dict], key: str) -> None:
    tables.show(tables.frame(differences, ["table", "change", "key", "columns"]), key)


def section() -> None:
    """The editing section of the Data page (read-only tables without the editor grant)."""
    store = state.store()
    st.subheader("Edit the map", anchor=False)
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        getattr(st, notice[0])(notice[1])
    editable = access.can_edit()
    # Counted before anything is read: a national dataset is not pulled into every session.
    info = state.info()
    sizes = {
        "areas": info["nodes"].get("Area", 0),
        "services": info["nodes"].get("Service", 0),
        "offers": info["links"].get("OFFERS", 0),
        "referrals": info["links"].get("REFERS_TO", 0),
        "workforce": info["nodes"].get("StaffPost", 0),
    }
    largest = max(sizes.values())
    if largest > MAX_GRID_ROWS:
        table = max(sizes, key=lambda name: sizes[name])
        st.info(
            f"The {table} table has {largest:,} rows, too many to edit in the browser (at most "
            f"{MAX_GRID_ROWS:,} a table): download the dataset above, edit it, and load it again."
        )
        return
    draft = _draft()
    if draft["started_from"] != store.version() and not st.session_state.get(_RESULT):
        # Nothing typed is lost: only a session whose grids are untouched follows the map.
        if not any(_touched(table, draft) for table in draft["grid"]):
            _start_again()
            draft = st.session_state[DRAFT]
    grid: TextTables = draft["grid"]
    if editable:
        st.caption(
            "Change any cell, add rows at the bottom of a table or delete them (select rows, "
            "then the bin). Choices come from lists; names beside ids are shown from the map. "
            '"Check" applies every rule of a file load; "Save as a new version" keeps the '
            "current map as a version you can go back to."
        )
    else:
        st.caption("The tables of the loaded map (editing needs the editor grant above).")
    generation = draft["generation"]
    edited: TextTables = {}
    result = st.session_state.get(_RESULT)
    problems_by_table: dict[str, list[dict]] = {}
    if result and result.get("generation") == generation:
        for problem in result.get("problems") or []:
            problems_by_table.setdefault(problem["table"], []).append(problem)
    # Tab labels stay the same from run to run, so the table being edited stays open.
    for tab, table in zip(st.tabs(list(TITLES.values())), TITLES, strict=True):
        with tab:
            frame = _frame(table, grid[table], grid)
            if not editable:
                st.dataframe(frame, hide_index=True, key=f"edit_view_{table}")
                edited[table] = grid[table]
                continue
            changed = st.data_editor(
                frame,
                key=f"edit_{table}_{generation}",
                num_rows="dynamic",
                hide_index=True,
                column_config=_column_config(table, frame),
                width="stretch",
            )
            edited[table] = _rows(table, changed, grid[table][0])
            if table in problems_by_table:
                st.error(f"{TITLES[table]}: fix these before saving.")
                _show_problems(problems_by_table[table], f"edit_problems_{table}")
    if not editable:
        _last_change(store, editable)
        return
    _actions(store, draft, edited)
    _last_change(store, editable)


def _count(number: int, word: str) -> str:
    return f"{number:,} {word}" + ("" if number == 1 else "s")


def _touched(table: str, draft: dict[str, Any]) -> bool:
    edits = st.session_state.get(f"edit_{table}_{draft['generation']}")
    if not isinstance(edits, dict):
        return draft["grid"][table] != draft["started"][table]
    return bool(
        edits.get("edited_rows") or edits.get("added_rows") or edits.get("deleted_rows")
    ) or (draft["grid"][table] != draft["started"][table])


def _actions(store: Any, draft: dict[str, Any], edited: TextTables) -> None:
    generation = draft["generation"]
    differences = table_differences(draft["started"], edited)
    st.caption(f"Your edit so far: {md(difference_summary(differences))}.")
    why = st.text_input(
        "Why (kept with the new version, e.g. “Flying Start stopped in Merthyr last year”)",
        max_chars=MAX_WHY_CHARS,
        key=f"edit_why_{generation}",
    )
    buttons = st.container(horizontal=True)
    check = buttons.button("Check", key="edit_check", icon=":material/rule:")
    save = buttons.button(
        "Save as a new version", key="edit_save", type="primary", icon=":material/save:"
    )
    buttons.button(
        "Start again from the current map",
        key="edit_reset",
        on_click=_start_again,
        icon=":material/restart_alt:",
    )
    if check or save:
        st.session_state[_RESULT] = _run(store, draft, edited, why, save)
        if st.session_state[_RESULT].get("saved"):
            st.cache_data.clear()
            summary = st.session_state[_RESULT]["note"]
            _start_again()
            st.session_state[_NOTICE] = (
                "success",
                f"Saved as a new version (recorded as saved by {md(access.editor())}): "
                f"{md(summary)}. Every page now shows it; the previous map is kept.",
            )
            st.rerun()
        st.rerun()  # the tabs above show the problems at their rows
    result = st.session_state.get(_RESULT)
    if not result or result.get("generation") != generation:
        return
    if result.get("ok"):
        st.success(
            "Every rule passes: this edit can be saved "
            f"({md(difference_summary(result['differences']))})."
        )
    elif result.get("changed_since"):
        message = str(result["message"])
        st.error(md(message[:1].upper() + message[1:]) + ".")
        st.markdown("**What changed since you started** (your edit is still in the tables)")
        _differences(result["changed_since"], "edit_changed_since")
    elif result.get("problems"):
        st.error(
            f"{_count(len(result['problems']), 'problem')}: nothing was saved and the map is "
            "unchanged. Each is listed under its table, at its row and column."
        )
        elsewhere = [p for p in result["problems"] if p["table"] not in TITLES]
        if elsewhere:  # (every rule names a table; this is for whatever does not)
            _show_problems(elsewhere, "edit_problems")
    elif result.get("message"):
        st.error(f"Nothing was saved: {md(result['message'])}.")


def _run(
    store: Any, draft: dict[str, Any], edited: TextTables, why: str, save: bool
) -> dict[str, Any]:
    """Check (and with ``save``, save) the edit; what to show, for the next run."""
    found: dict[str, Any] = {"generation": draft["generation"]}
    try:
        if not save:
            dataset_from_tables(edited, "edit", "check")
            found["ok"] = True
            found["differences"] = table_differences(draft["started"], edited)
            return found
        who = access.require_editor()
        saved = save_edit(
            store,
            edited,
            started_from=draft["started_from"],
            by=who,
            why=why,
            started_tables=draft["started"],
        )
    except InputError as exc:
        found["problems"] = _problem_rows(list(exc.problems), edited)
        return found
    except MapChanged as exc:
        found["message"] = str(exc)
        found["changed_since"] = exc.differences
        return found
    except NestmapError as exc:
        found["message"] = str(exc)
        return found
    found.update(saved=True, note=saved["note"])
    return found


def _last_change(store: Any, editable: bool) -> None:
    changes = store.changes()
    if not changes:
        return
    last = changes[-1]
    what = last.get("note") or f"{last.get('action')} {last.get('detail') or ''}".strip()
    st.caption(
        f"Last change: {md(what)} — by {md(last.get('by') or 'unknown')} at {md(last.get('at'))}."
    )
    if editable and last.get("kept_version") is not None:
        st.button(
            "Undo the last change",
            key="edit_undo",
            on_click=_undo,
            args=(store.version(),),
            icon=":material/undo:",
        )
