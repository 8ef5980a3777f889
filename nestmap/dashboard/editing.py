"""The Data page's editable tables: change the map in the room, check it, save it as a version.

The rules and the save are ``nestmap.editing``'s (the loader's own checks, the store's atomic
swap, the check that nobody saved meanwhile); this module draws the grids and the buttons.

Session state: ``edit_draft`` holds what this editor started from (the store version, the
tables as read, the tables the grids start from, a generation number in the grids' keys); the
grids' own edits live in Streamlit's widget state until a save or "start again" begins a new
generation. A check, or a save that does not save, also begins one, from the edited tables: the
grids then mark the rows with problems, or drop the marks of an earlier check, and a grid whose
rows or marks change is a new widget, which would lose what was typed into the old one.

A save refused because someone else saved meanwhile carries the editor's change merged onto the
current map (``nestmap.editing.merge_edit``): when no cell the editor changed was changed by
the other save, one button applies it there; otherwise each conflicting cell is listed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from nestmap import vocabulary as v
from nestmap.dashboard import access, budget, state, tables
from nestmap.dashboard.text import md
from nestmap.editing import (
    MAX_WHY_CHARS,
    ROW_KEYS,
    MapChanged,
    TextTables,
    dataset_from_tables,
    difference_summary,
    read_tables,
    save_edit,
    table_differences,
    undo_last,
)
from nestmap.errors import BusyError, InputError, NestmapError, Problem

DRAFT = "edit_draft"
_RESULT = "edit_result"
_NOTICE = "edit_notice"
_UNDO_ASKED = "edit_undo_asked"
_APPLY_ONTO = "edit_apply_onto_asked"
# The grids' first column when a check found problems: what is wrong with the row.
PROBLEM_COLUMN = "problem"
PROBLEM_COLOUR = "background-color: #fde2e1; color: #7f1d1d"
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


def _frame(
    table: str, rows: list[list[str]], grid: TextTables, marks: dict[int, str] | None = None
) -> pd.DataFrame:
    """One table for its grid: text cells, booleans as yes/no, names beside ids; with
    ``marks`` (row index -> what is wrong), a first column saying what is wrong with a row."""
    header = rows[0]
    areas, services = _names(grid)
    records = []
    for index, row in enumerate(rows[1:]):
        record: dict[str, Any] = {}
        if marks:
            record[PROBLEM_COLUMN] = marks.get(index)
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
    columns: list[str] = [PROBLEM_COLUMN] if marks else []
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
        elif column == PROBLEM_COLUMN:
            config[column] = st.column_config.TextColumn(
                "⚠ problem", disabled=True, help="What the last check found wrong in this row"
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
        # The changes recorded after this are the ones a refused save names.
        "changes_seen": len(store.changes()),
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
    st.session_state.pop(_UNDO_ASKED, None)


def _from_edit(draft: dict[str, Any], edited: TextTables, why: str) -> dict[str, Any]:
    """A new generation of the grids holding the edit as it is (nothing typed is lost), marked
    as the last check found it; the same start and the same note of why."""
    generation = int(draft["generation"]) + 1
    st.session_state[f"edit_why_{generation}"] = why
    new = {**draft, "grid": edited, "generation": generation}
    st.session_state[DRAFT] = new
    return new


def when(at: Any) -> str:
    """A change's time as people read it: ``8 Dec 2026, 10:03 UTC``."""
    from datetime import datetime, timedelta

    try:
        moment = datetime.fromisoformat(str(at))
    except ValueError:
        return str(at or "an unknown time")
    offset = moment.utcoffset()
    zone = "UTC" if offset == timedelta(0) else (moment.tzname() or "")
    return f"{moment.day} {moment:%b %Y, %H:%M} {zone}".strip()


ACTIONS = {
    "load": "load",
    "edit": "edit",
    "scenario": "applied scenario",
    "rollback": "rollback",
}


def describe_change(change: dict[str, Any]) -> tuple[str, str]:
    """(a short name of the change — ``Ann's edit of 8 Dec 2026, 10:03 UTC`` — and why, as
    the change log recorded it)."""
    who = str(change.get("by") or "someone unknown")
    what = ACTIONS.get(str(change.get("action")), str(change.get("action") or "change"))
    why = str(change.get("note") or change.get("detail") or "").strip()
    return f"{who}'s {what} of {when(change.get('at'))}", why


def _ask_undo(seen_version: str) -> None:
    st.session_state[_UNDO_ASKED] = seen_version


def _cancel_undo() -> None:
    st.session_state.pop(_UNDO_ASKED, None)


def _undo(seen_version: str) -> None:
    """The confirmation's callback: back to the graph before the change this editor saw."""
    st.session_state.pop(_UNDO_ASKED, None)
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


def row_label(table: str, header: list[str], row: list[str], grid: TextTables) -> str:
    """A row as people find it in its grid: its id (the key columns) and its name —
    ``bridgend_baby_in_mind (Baby in Mind)``, ``ctm_gp_practices → ctm_camhs (…)``."""
    cells = dict(zip(header, row, strict=False))
    areas, services = _names(grid)
    key = [cells.get(column, "") for column in ROW_KEYS[table]]
    if not any(key):
        return "a new row (no id yet)"
    if table in ("areas", "services"):
        name = cells.get("name", "")
    elif table == "referrals":
        name = " → ".join(services.get(key[i], "?") for i in (0, 1))
        return f"{key[0]} → {key[1]} ({name}; {key[2].replace('_', ' ')})"
    else:
        name = services.get(key[0], "")
    shown = " / ".join(part for part in key if part)
    return f"{shown} ({name})" if name else shown


def _problem_rows(problems: list[Problem], edited: TextTables) -> list[dict]:
    """Problems located by the row's id and name (``row``), with ``index``, the row's place in
    the edited table (0 = the first row under the header; None for a problem of the table)."""
    found = []
    for problem in problems:
        table = problem.file.removesuffix(".csv")
        rows = edited.get(table) or []
        index = problem.row - 2 if problem.row and problem.row > 1 else None
        label = ""
        if table in ROW_KEYS and index is not None and index + 1 < len(rows):
            label = row_label(table, rows[0], rows[index + 1], edited)
        found.append(
            {
                "table": table,
                "row": label,
                "column": problem.column,
                "value": problem.value,
                "reason": problem.reason,
                "index": index,
            }
        )
    return found


def _marks(problems: list[dict]) -> dict[int, str]:
    """Row index -> what is wrong with it, for the grid's problem column."""
    marks: dict[int, list[str]] = {}
    for problem in problems:
        if problem.get("index") is not None:
            what = f"{problem['column']}: {problem['reason']}" if problem["column"] else ""
            marks.setdefault(int(problem["index"]), []).append(what or str(problem["reason"]))
    return {index: "; ".join(found) for index, found in marks.items()}


def _show_problems(problems: list[dict], key: str) -> None:
    tables.show(tables.frame(problems, ["table", "row", "column", "value", "reason"]), key)


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
            marks = _marks(problems_by_table.get(table, []))
            frame = _frame(table, grid[table], grid, marks)
            if not editable:
                st.dataframe(frame, hide_index=True, key=f"edit_view_{table}", placeholder="")
                edited[table] = grid[table]
                continue
            if table in problems_by_table:
                st.error(
                    f"{TITLES[table]}: fix these before saving (the rows are marked in the "
                    "grid's first column)."
                )
                _show_problems(problems_by_table[table], f"edit_problems_{table}")
            # Marked rows are tinted; a Styler styles only the columns nobody edits.
            shown = (
                frame.style.map(
                    lambda cell: PROBLEM_COLOUR if isinstance(cell, str) and cell else "",
                    subset=[PROBLEM_COLUMN],
                )
                if marks
                else frame
            )
            changed = st.data_editor(
                shown,
                key=f"edit_{table}_{generation}",
                num_rows="dynamic",
                hide_index=True,
                column_config=_column_config(table, frame),
                width="stretch",
                placeholder="",
            )
            edited[table] = _rows(table, changed, grid[table][0])
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
        "Save as a new version",
        key="edit_save",
        type="primary",
        icon=":material/save:",
        disabled=not why.strip(),
        help=None if why.strip() else "Say why first: the note is kept with the new version.",
    )
    buttons.button(
        "Start again from the current map",
        key="edit_reset",
        on_click=_start_again,
        icon=":material/restart_alt:",
    )
    result = st.session_state.get(_RESULT)
    mergeable = bool(result and result.get("generation") == generation and result.get("mergeable"))
    # The button is drawn with the refusal below; its callback leaves this for the next run.
    onto = bool(st.session_state.pop(_APPLY_ONTO, False)) and mergeable and bool(why.strip())
    if check or save or onto:
        try:
            with budget.action("Saving the edit" if save or onto else "Checking the edit"):
                found = _run(store, draft, edited, why, save or onto, merge=onto)
        except BusyError as exc:
            st.session_state[_RESULT] = {"generation": generation, "message": str(exc)}
            st.rerun()
        if found.get("saved"):
            st.cache_data.clear()
            _start_again()
            onto_words = " onto the map as the other save left it" if found["merged"] else ""
            st.session_state[_NOTICE] = (
                "success",
                f"Saved as a new version{onto_words} (recorded as saved by "
                f"{md(access.editor())}): {md(found['note'])}. Every page now shows it; the "
                "previous map is kept.",
            )
            st.rerun()
        # The grids start again from the edit as it is: a grid whose rows or marks change is
        # a new widget, which would otherwise drop what was typed into the old one.
        found["generation"] = _from_edit(draft, found.pop("edited"), why)["generation"]
        st.session_state[_RESULT] = found
        st.rerun()  # the tabs above show the problems at their rows
    if not result or result.get("generation") != generation:
        return
    if result.get("ok"):
        st.success(
            "Every rule passes: this edit can be saved "
            f"({md(difference_summary(result['differences']))})."
        )
    elif result.get("changed_since") is not None:
        _refused(store, draft, result, bool(why.strip()))
    elif result.get("problems"):
        _problems_found(result)
    elif result.get("message"):
        st.error(f"Nothing was saved: {md(result['message'])}.")


def _problems_found(result: dict[str, Any]) -> None:
    count = _count(len(result["problems"]), "problem")
    if result.get("grid_rows"):
        st.error(
            f"{count}: nothing was saved and the map is unchanged. Each is listed under its "
            "table by the row's id and name, and its row is marked in the grid."
        )
        elsewhere = [p for p in result["problems"] if p["table"] not in TITLES]
    else:
        st.error(
            f"{count} with your change applied onto the current map: nothing was saved. Start "
            "again from the current map and redo the change."
        )
        elsewhere = result["problems"]
    if elsewhere:
        _show_problems(elsewhere, "edit_problems")


def _ask_apply_onto() -> None:
    st.session_state[_APPLY_ONTO] = True


def _refused(store: Any, draft: dict[str, Any], result: dict[str, Any], why_given: bool) -> None:
    """A save refused because the map changed: who changed it, what changed, and either the
    way to apply the change onto the current map or the cells in conflict."""
    message = str(result["message"])
    st.error(md(message[:1].upper() + message[1:]) + ".")
    since = store.changes()[int(draft.get("changes_seen", 0)) :]
    if since:
        named = []
        for change in since:
            name, why = describe_change(change)
            named.append(f"{md(name)}" + (f" (“{md(why)}”)" if why else ""))
        st.markdown("**Changed since you started by** " + "; ".join(named))
    st.markdown("**What changed since you started** (your edit is still in the tables)")
    _differences(result["changed_since"], "edit_changed_since")
    if result.get("mergeable"):
        st.info(
            "None of the cells you changed was changed by that save: **Apply my change onto "
            "the current map** saves your change on top of theirs, and both are kept."
        )
        st.button(
            "Apply my change onto the current map",
            key="edit_apply_onto",
            type="primary",
            icon=":material/merge:",
            on_click=_ask_apply_onto,
            disabled=not why_given,
        )
        st.markdown("**Your change, to apply**")
        _differences(result["yours"], "edit_yours")
    elif result.get("conflicts"):
        st.warning(
            "These cells were changed by you and by that save, differently. Start again from "
            "the current map and redo the cells you still want to change."
        )
        tables.show(
            tables.frame(
                result["conflicts"],
                ["table", "key", "name", "column", "started", "yours", "theirs"],
            ),
            "edit_conflicts",
        )


def _run(
    store: Any,
    draft: dict[str, Any],
    edited: TextTables,
    why: str,
    save: bool,
    merge: bool = False,
) -> dict[str, Any]:
    """Check (and with ``save``, save; with ``merge``, onto the current map) the edit; what to
    show, for the next run."""
    found: dict[str, Any] = {"generation": draft["generation"]}
    # The loader skips blank rows, so problems' row numbers count only the others.
    edited = {
        table: [rows[0], *[row for row in rows[1:] if any(cell.strip() for cell in row)]]
        for table, rows in edited.items()
    }
    found["edited"] = edited
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
            merge=merge,
        )
    except InputError as exc:
        # Merged onto the current map, the rows with problems are not the grids' rows.
        found["grid_rows"] = not merge
        where = edited if not merge else read_tables(store)
        found["problems"] = _problem_rows(list(exc.problems), where)
        return found
    except MapChanged as exc:
        found["message"] = str(exc)
        found["changed_since"] = exc.differences
        if exc.merge is not None:
            found["mergeable"] = exc.merge.clean
            found["yours"] = exc.merge.applied
            found["conflicts"] = exc.merge.conflicts
        return found
    except NestmapError as exc:
        found["message"] = str(exc)
        return found
    found.update(saved=True, note=saved["note"], merged=saved["merged"])
    return found


def _last_change(store: Any, editable: bool) -> None:
    changes = store.changes()
    if not changes:
        return
    last = changes[-1]
    name, why = describe_change(last)
    st.caption(
        f"Last change: {md(why or name)} — by {md(last.get('by') or 'unknown')}, "
        f"{md(when(last.get('at')))}."
    )
    if not editable or last.get("kept_version") is None:
        return
    seen = store.version()
    if st.session_state.get(_UNDO_ASKED) != seen:
        st.button(
            "Undo the last change…",
            key="edit_undo",
            on_click=_ask_undo,
            args=(seen,),
            icon=":material/undo:",
            help=f"Undo {name}; asks first.",
        )
        return
    with st.container(border=True):
        st.warning(
            f"Undo **{md(name)}**? Its note: “{md(why or 'none')}”. The map goes back to "
            f"version {int(last['kept_version'])} for everyone; this change is kept as a "
            "version, so the undo can be undone too."
        )
        line = st.container(horizontal=True)
        line.button(
            f"Yes, undo {name}",
            key="edit_undo_confirm",
            type="primary",
            on_click=_undo,
            args=(seen,),
        )
        line.button("Keep it", key="edit_undo_cancel", on_click=_cancel_undo)
