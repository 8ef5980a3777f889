"""Every table on every page: shown in plain words, and exported to CSV and XLSX.

On the page a table reads without a glossary: human column headers, service and local
authority names instead of their ids (the ids stay in hidden columns an analyst can show from
the table's toolbar), lists as lists. The frame itself keeps the analysis's keys, and the
downloads keep them too, with lists joined by ``|`` (the input format's list separator), so an
exported table reads like the CLI's CSV and the dataset it came from.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import streamlit as st

if TYPE_CHECKING:
    import pyarrow as pa

from nestmap import units
from nestmap.dashboard.filters import current
from nestmap.spreadsheet import spreadsheet_csv_cell, text_not_formulas
from nestmap.vocabulary import in_words
from nestmap.vocabulary import label as vocabulary_label

# A national dataset has hundreds of thousands of misdirected links: the browser gets one page
# of rows at a time (with the total and a page number), the CSV/XLSX downloads get everything.
# NESTMAP_DASHBOARD_PAGE_ROWS changes the page's size (the tests lower it).
PAGE_ROWS = 1_000


def page_rows() -> int:
    """Rows a table shows at once."""
    try:
        return max(1, int(os.environ.get("NESTMAP_DASHBOARD_PAGE_ROWS") or PAGE_ROWS))
    except ValueError:
        return PAGE_ROWS


# Column headers on the page (other columns: their key with spaces, capitalised).
LABELS: dict[str, str] = {
    "area_code": "Local authority code",
    "area_name": "Local authority",
    "level": "Level of need",
    "specialised_services": "Specialised services",
    "any_services": "Services (any focus)",
    "from_service": "From",
    "from_name": "From",
    "to_service": "To",
    "to_name": "To",
    # A count is in the unit beside it (count_basis): referrals a year or survey mentions.
    "count": "Count",
    "count_basis": "Unit",
    "as_recorded": "As recorded",
    "unrecorded": "Services with no capacity recorded",
    "read_as": "Shortfall, as read",
    "share": "Share",
    "kinds": "Interfaces",
    "below": "Below the child-protection threshold",
    "above": "Within child protection",
    "entry_service": "Entry point",
    "entry_name": "Entry point",
    "destination": "Destination",
    "destination_name": "Destination",
    "hops": "Referral links",
    "service_id": "Service",
    "id": "Service",
    "name": "Name",
    "onward": "Can pass on",
    "assessing_services": "Services assessing the relationship",
    "supporting_fathers": "Supporting fathers and partners",
    "not_recorded": "Nothing recorded",
    "thrive_group": "THRIVE grouping",
    "practitioners_level_2_3": "Practitioners at AiMH levels 2-3",
}
# An id column and the column that already holds its name (the id is then only hidden).
NAME_BESIDE: dict[str, str] = {
    "area_code": "area_name",
    "id": "name",
    "service_id": "name",
    "entry_service": "entry_name",
    "destination": "destination_name",
    "from_service": "from_name",
    "to_service": "to_name",
}
# Columns of service ids (one or a list) shown by name when no name column is beside them.
SERVICE_COLUMNS = frozenset(
    {
        "specialised_services",
        "any_services",
        "from_service",
        "to_service",
        "entry_service",
        "destination",
        "service_id",
        "below",
        "above",
        "assessing_services",
        "supporting_fathers",
        "not_recorded",
        "services_added",
        "services_retired",
    }
)


# Columns whose values are vocabulary keys (one or a list): the page shows their words
# ("parent-infant relationship"), the downloads the keys.
WORDED_COLUMNS = frozenset(
    {
        "reason",
        "problems",
        "kinds",
        "count_basis",
        "focus",
        "threshold",
        "from_threshold",
        "to_threshold",
        "sector",
        "status",
        "kind",
        "level",
        "stage",
    }
)
# Columns of text that may hold vocabulary keys among other words (a scenario's changes).
TEXT_WORDED_COLUMNS = frozenset({"key", "before", "after"})
# Columns of shares (0..1): shown as percentages to one decimal place (0.5817 -> 58.2%).
SHARE_COLUMNS = frozenset({"share"})


def label(column: str) -> str:
    """A column's header on the page ("postnatal non_specialised" -> "Postnatal
    non-specialised")."""
    found = LABELS.get(column)
    if found:
        return found
    return " ".join(vocabulary_label(word) for word in column.split(" ")).capitalize()


def _worded(value: Any) -> Any:
    if isinstance(value, list):
        return [vocabulary_label(item) if isinstance(item, str) else item for item in value]
    return vocabulary_label(value) if isinstance(value, str) else value


def _cell(value: Any) -> Any:
    """A list stays a list (of text); a mapping becomes a list of ``key:value``."""
    if isinstance(value, list | tuple):
        return ["" if item is None else str(item) for item in value]
    if isinstance(value, Mapping):
        return [f"{key}:{item}" for key, item in value.items()]
    return value


def _joined(table: pd.DataFrame) -> pd.DataFrame:
    """List cells joined by ``|`` (for the downloads)."""
    joined = table.copy()
    for column in joined.columns:
        if any(isinstance(value, list) for value in joined[column]):
            joined[column] = [
                "|".join(value) if isinstance(value, list) else value for value in joined[column]
            ]
    return joined


def frame(rows: Iterable[Mapping[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    """Rows of an analysis as a DataFrame; lists stay lists (of text; a mapping becomes a list
    of ``key:value``; joined only in downloads); a column of whole numbers with blanks stays
    whole numbers (``Int64``).

    Column by column, not cell by cell: a national dataset's misdirected links are 4 x 10^5
    rows, and converting every cell took seconds. Only a column holding lists or mappings is
    converted value by value."""
    records = rows if isinstance(rows, list) else list(rows)
    table = pd.DataFrame.from_records(records, columns=columns)
    if columns is not None:
        table = table[columns]
    for column in table.columns:
        series = table[column]
        if series.dtype == object and any(
            isinstance(value, list | tuple | Mapping) for value in series
        ):
            table[column] = [_cell(value) for value in series]
            continue
        if series.dtype.kind not in "iufO":
            continue  # booleans, and text pandas typed itself
        first = series.first_valid_index()
        if first is None or not isinstance(series[first], int | float | np.number):
            continue  # no value, or text (a column of plain ints is typed int64 by pandas)
        values = [row.get(column) for row in records]
        present = [value for value in values if value is not None]
        if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            table[column] = series.astype("Int64")  # counts with blanks stay counts
    return table


def arrow_frame(
    table: Any, columns: list[str], names: Mapping[str, Mapping[str, str]] | None = None
) -> pd.DataFrame:
    """An analysis's ``pyarrow.Table`` as ``frame`` makes it from the same rows (columns,
    types, list cells), without a Python dict per row; ``names``: columns to add, each a
    lookup of the column it is named after (``{"from_name": service names}`` looks up
    ``from_service``; a missing name is ``""``)."""
    names = dict(names or {})
    if table.num_rows == 0:
        return frame([], columns)
    import pyarrow as pa

    data: dict[str, Any] = {}
    for column in columns:
        if column in names:
            data[column] = _named_after(table, column, names[column]).to_pylist()
            continue
        values = table.column(column)
        kind = values.type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            data[column] = [_cell(value) for value in values.to_pylist()]
        elif pa.types.is_integer(kind):
            data[column] = values.to_pandas().astype("Int64")
        elif pa.types.is_null(kind):
            data[column] = [None] * table.num_rows
        elif pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            data[column] = values.to_pandas()
        else:  # text: as Python strings, for pandas to type as it types the rows' text
            data[column] = values.to_pylist()
    return pd.DataFrame(data, columns=columns)


def counted_column(counts: Any, bases: Any) -> pa.DictionaryArray:
    """Each count as people read it (``units.counted``: "12 referrals a year", "not
    recorded"), for Arrow columns of counts and their bases: each distinct (count, basis)
    worded once, not once per row (a national misdirected table has 4 x 10^5 rows and a few
    thousand distinct counts)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    apart = pa.scalar(_APART, pa.string())
    texts = [
        pc.fill_null(pc.cast(counts, pa.string()), ""),
        pc.fill_null(pc.cast(bases, pa.string()), ""),
    ]
    pairs = pc.binary_join_element_wise(*texts, apart)
    if isinstance(pairs, pa.ChunkedArray):
        pairs = pairs.combine_chunks()
    distinct = pairs.dictionary_encode()
    worded = []
    for pair in distinct.dictionary.to_pylist():
        count, basis = pair.split(_APART)
        worded.append(units.counted(int(count) if count else None, basis or None))
    return pa.DictionaryArray.from_arrays(distinct.indices, pa.array(worded, pa.string()))


# Between a count and its basis in counted_column's keys (in neither).
_APART = "\x1f"


def arrow_named(
    table: Any, columns: list[str], names: Mapping[str, Mapping[str, str]] | None = None
) -> pa.Table:
    """``arrow_frame``'s table kept as Arrow: ``columns`` of ``table`` with the ``names``
    columns added the same way. Read back from disk in place (a national table of 4 x 10^5
    rows as a DataFrame took most of a second to read, its list cells most of that); a page
    filters it with Arrow and converts only the rows it shows (``show``). Text columns are
    dictionary-encoded: each service's id and name once, not once per link (a national
    interfaces table kept on disk: 15.2 MB plain, 5.5 MB so, under the folder's cap)."""
    import pyarrow as pa

    data: dict[str, Any] = {}
    for column in columns:
        if names and column in names:
            data[column] = _named_after(table, column, names[column]).dictionary_encode()
        else:
            values = table.column(column)
            text = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
            data[column] = values.dictionary_encode() if text else values
    return pa.table(data)


def _named_after(table: Any, column: str, lookup: Mapping[str, str]) -> Any:
    """Name column ``column`` (``from_name``) looked up from the id column it is named after
    (``from_service``), as an Arrow array: each id matched in the lookup's keys by ``pyarrow``
    rather than a Python lookup per row (a national misdirected table has 4 x 10^5 rows, two
    named columns); a missing name is ``""``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pc.cast(table.column(column.removesuffix("_name") + "_service"), pa.string())
    keys = pa.array(list(lookup), pa.string())
    names = pa.array(list(lookup.values()), pa.string())
    at = pc.index_in(ids, value_set=keys)
    found = pc.if_else(pc.is_null(at), pa.scalar("", pa.string()), pc.take(names, at))
    return found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found


def display_safe(table: pd.DataFrame) -> pd.DataFrame:
    """Columns of mixed or nested values (nodes, maps from a Cypher result) shown as text."""
    import json

    safe = table.copy()
    for column in safe.columns:
        values = [v for v in safe[column] if v is not None]
        nested = any(isinstance(v, dict | list) for v in values)
        if nested or len({type(v) for v in values}) > 1:
            safe[column] = [
                None
                if v is None
                else json.dumps(v, default=str, ensure_ascii=False)
                if isinstance(v, dict | list)
                else str(v)
                for v in safe[column]
            ]
    return safe


def csv_bytes(table: pd.DataFrame) -> bytes:
    """The table as CSV for a spreadsheet: text that starts like a formula (``=``, ``+``, ``-``,
    ``@``, tab, carriage return) gets a leading ``'`` (OWASP), so opening it runs nothing."""
    safe = _joined(table)
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(spreadsheet_csv_cell)
    safe.columns = [spreadsheet_csv_cell(str(column)) for column in safe.columns]
    # CRLF, as spreadsheets expect (RFC 4180): with it, a cell holding a bare \r is quoted.
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def xlsx_bytes(table: pd.DataFrame, sheet: str = "table") -> bytes:
    """One sheet; text cells stay text (a name starting with ``=`` is not run as a formula)."""
    from openpyxl import Workbook

    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = re.sub(r"[\[\]:*?/\\]", "_", sheet)[:31] or "table"
    worksheet.append([str(column) for column in table.columns])
    for record in _joined(table).itertuples(index=False):
        worksheet.append([_excel_value(value) for value in record])
    buffer = io.BytesIO()
    text_not_formulas(workbook).save(buffer)
    return buffer.getvalue()


def _excel_value(value: Any) -> Any:
    if isinstance(value, list):
        return "|".join(value)
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def show(
    table: pd.DataFrame | pa.Table,
    name: str,
    *,
    styled: Any = None,
    style: Callable[[pd.DataFrame], Any] | None = None,
    height: int | Literal["auto", "stretch", "content"] = "auto",
    column_config: dict[str, Any] | None = None,
    whole: Callable[[], pd.DataFrame] | None = None,
) -> None:
    """The table in plain words, a page of rows at a time, then its CSV and XLSX downloads of
    every row (hidden in presentation mode).

    ``name`` is the file name stem and the widget key; ``style`` makes a pandas Styler of the
    rows shown (with the same headers and hidden id columns); ``styled``, a Styler of the whole
    table, is shown only when the table fits on one page. A ``pyarrow.Table`` becomes a frame
    one page at a time. ``whole`` gives the downloads their table when they are built (by
    default ``table``, which the download buttons then hold until the next rerun).
    """
    if isinstance(table, pd.DataFrame):
        total = len(table)
        source = whole or (lambda: table)
    else:
        total = table.num_rows
        source = whole or (lambda: arrow_frame(table, table.column_names))
    size = page_rows()
    part = table
    if total > size:
        # Only this page goes to the browser (and gets its names looked up); a new total (a
        # filter changed) starts again at page 1.
        pages = -(-total // size)
        number = st.number_input(
            f"Page (of {pages:,})", 1, pages, 1, key=f"page_{name}_{total}", width=200
        )
        first = (int(number) - 1) * size
        st.caption(
            f"Rows {first + 1:,}–{min(first + size, total):,} of {total:,}; the downloads have "
            "every row."
        )
        part, styled = _rows(table, first, size), None
    elif not isinstance(part, pd.DataFrame):
        part = arrow_frame(part, part.column_names)
    if style is not None:
        styled = style(part)
    shown, config, order = for_people(part, names=styled is None)
    table_shown = styled if styled is not None else shown
    narrowed = fit_columns(shown, config, order)
    config.update(column_config or {})
    st.dataframe(
        table_shown,
        hide_index=True,
        height=height,
        column_config=config,
        column_order=order,
        width="stretch",
        placeholder="",  # a blank cell reads blank, not "None"
    )
    if current().present:
        return
    if narrowed:
        st.caption("Columns narrowed to fit: double-click a cell to read it whole.")
    row = st.container(horizontal=True)
    download(row, "CSV", lambda: csv_bytes(source()), f"{name}.csv", key=f"csv_{name}")
    download(row, "XLSX", lambda: xlsx_bytes(source(), name), f"{name}.xlsx", key=f"xlsx_{name}")


def _rows(table: pd.DataFrame | pa.Table, first: int, count: int) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table.iloc[first : first + count]
    part = table.slice(first, count)
    return arrow_frame(part, part.column_names)


def to_ipc(table: pd.DataFrame) -> bytes:
    """A frame as Arrow IPC bytes: one compact block to keep (a frame of Python objects is
    tens of small allocations per row, and the process rarely gives that memory back)."""
    import pyarrow as pa

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, arrow.schema) as writer:
        writer.write_table(arrow)
    return sink.getvalue().to_pybytes()


def from_ipc(data: bytes) -> pa.Table:
    """The table ``to_ipc`` kept (read in place, not copied)."""
    import pyarrow as pa

    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


_MIMES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
    "html": "text/html",
    "graphml": "application/graphml+xml",
    "gexf": "application/gexf+xml",
}


def download(place: Any, label: str, data: Any, file_name: str, key: str | None = None) -> None:
    """A download button whose bytes (or the callable making them) are built only on click, that
    leaves the page as it is; the file's type follows its name. Building on click is one of the
    server's expensive actions (nestmap.dashboard.budget): it waits its turn."""
    from nestmap.dashboard import budget

    if callable(data):
        data = budget.deferred(f"Building {file_name}", data)
    place.download_button(
        label,
        data=data,
        file_name=file_name,
        mime=_MIMES[file_name.rsplit(".", 1)[-1]],
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )


def for_people(
    table: pd.DataFrame, names: bool = True
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """The table as a page shows it: (data, column settings, visible columns in order).

    An id column beside its name column is hidden; a column of service ids (or an area code)
    with no name beside it gets a column of names in its place, the ids hidden after it
    (``names``: add such columns; off for a Styler, which styles the table as it is)."""
    shown = table.copy()
    config: dict[str, Any] = {}
    order: list[str] = []
    # Name columns whose id column is hidden beside them: their header says where the id is.
    beside = {
        NAME_BESIDE[str(c)]: str(c) for c in table.columns if NAME_BESIDE.get(str(c)) in table
    }
    # A count beside its unit is a count of that unit (referrals a year or survey mentions).
    headers = {"count": "Count"} if "count_basis" in table.columns else {}
    for column in table.columns:
        header = headers.get(str(column)) or label(str(column))
        if str(column) in NAME_BESIDE and NAME_BESIDE[str(column)] in table.columns:
            config[column] = st.column_config.Column(f"{header} (id)")
            continue
        lookup = _names_for(str(column)) if names else None
        if lookup is not None:
            named = f"{column} (names)"
            shown[named] = [_named(value, lookup) for value in table[column]]
            # A column of area codes shows the areas' names: headed as names, not codes.
            named_header = label("area_name") if column == "area_code" else header
            config[named] = st.column_config.Column(
                named_header, help=_ID_HELP.format(f"{header} (id)")
            )
            config[column] = st.column_config.Column(f"{header} (id)")
            order.append(named)
            continue
        hidden = beside.get(str(column))
        help_text = _ID_HELP.format(f"{label(hidden)} (id)") if hidden else None
        if str(column) in WORDED_COLUMNS and not pd.api.types.is_numeric_dtype(shown[column]):
            shown[column] = [_worded(value) for value in shown[column]]
        elif str(column) in TEXT_WORDED_COLUMNS:
            shown[column] = [in_words(v) if isinstance(v, str) else v for v in shown[column]]
        if str(column) in SHARE_COLUMNS:
            shown[column] = pd.to_numeric(shown[column], errors="coerce") * 100
            config[column] = st.column_config.NumberColumn(header, help=help_text, format="%.1f%%")
        else:
            config[column] = st.column_config.Column(header, help=help_text)
        order.append(column)
    for column in shown.columns:
        cells = shown[column]
        if cells.dtype == object and any(
            isinstance(v, list) and len(v) > LIST_SHOWN for v in cells
        ):
            shown[column] = [_clipped(value) for value in cells]
    return shown, config, order


# The width a table is fitted into: the page's main column at a 1,440 px window with the sidebar
# open. A table wider than that by its content has its widest columns narrowed until it fits
# (their full text is in the cell's overlay and the downloads), so that no column - the count
# after two long names, the path after four columns - starts off screen.
FIT_WIDTH_PX = 970
# Source Sans at 14 px measures 6.0-6.2 px a character (6.9 a digit) in chromium.
_CHAR_PX, _HEADER_PX, _CELL_PAD_PX, _CHIP_PX, _MIN_COLUMN_PX = 6.4, 6.4, 26, 18, 64


def _natural_width(cells: pd.Series, header: str) -> float:
    """About how wide a column draws at its content's width (px)."""
    widest = len(header) * _HEADER_PX + _CELL_PAD_PX
    for value in cells.head(200):
        if isinstance(value, list):
            width = sum(len(str(item)) * _CHAR_PX + _CHIP_PX for item in value)
        elif value is None or (not isinstance(value, str) and pd.isna(value)):
            continue
        else:
            width = len(str(value)) * _CHAR_PX
        widest = max(widest, width + _CELL_PAD_PX)
    return widest


def fit_columns(shown: pd.DataFrame, config: dict[str, Any], order: list[str]) -> bool:
    """Narrow the widest of the ``order`` columns (setting their width in ``config``) so that
    the table fits ``FIT_WIDTH_PX``; a table that fits is left as it is. Whether any was."""
    natural = {
        column: _natural_width(shown[column], str(config[column].get("label") or column))
        for column in order
    }
    if sum(natural.values()) <= FIT_WIDTH_PX:
        return False
    # The largest cap at which the columns, each at most the cap, add up to the width.
    widths = sorted(natural.values())
    left, cap = float(FIT_WIDTH_PX), float(_MIN_COLUMN_PX)
    for index, width in enumerate(widths):
        share = left / (len(widths) - index)
        if width > share:
            cap = max(share, _MIN_COLUMN_PX)
            break
        left -= width
    for column, width in natural.items():
        if width > cap:
            config[column] = {**config[column], "width": int(cap)}
    return True


# A cell lists at most this many services on the page (a local authority of a national dataset
# has hundreds); the downloads list them all.
LIST_SHOWN = 12


def _clipped(value: Any) -> Any:
    if isinstance(value, list) and len(value) > LIST_SHOWN:
        return [*value[:LIST_SHOWN], f"… {len(value) - LIST_SHOWN:,} more (in the downloads)"]
    return value


_ID_HELP = "Ids: show the hidden column '{}' from the table's toolbar (Show/hide columns)."


def _names_for(column: str) -> dict[str, str] | None:
    from nestmap.dashboard import state

    if column not in SERVICE_COLUMNS and column != "area_code":
        return None
    if not state.has_graph():
        return None
    return state.area_names() if column == "area_code" else state.service_names()


def _named(value: Any, lookup: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [lookup.get(item, item) for item in value]
    if isinstance(value, str):
        return lookup.get(value, value)
    return value
