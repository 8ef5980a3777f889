"""Every table on every page: shown, and exported to CSV and XLSX.

Lists inside a cell are joined with ``|`` (the input format's list separator), so an exported
table reads the same way as the dataset it came from.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from nestmap.dashboard.filters import current
from nestmap.spreadsheet import spreadsheet_csv_cell, text_not_formulas

# A national dataset has hundreds of thousands of misdirected links: the browser gets a page's
# worth, the CSV/XLSX downloads get everything.
MAX_SHOWN_ROWS = 20_000


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return "|".join("" if item is None else str(item) for item in value)
    if isinstance(value, Mapping):
        return "|".join(f"{key}:{item}" for key, item in value.items())
    return value


def frame(rows: Iterable[Mapping[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    """Rows of an analysis as a DataFrame with list cells joined by ``|``."""
    records = [{key: _cell(value) for key, value in row.items()} for row in rows]
    table = pd.DataFrame.from_records(records, columns=columns)
    if columns is not None:
        table = table[columns]
    for column in table.columns:
        values = [row[column] for row in records if row.get(column) is not None]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            table[column] = table[column].astype("Int64")  # counts with blanks stay counts
    return table


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
    safe = table.copy()
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
    for record in table.itertuples(index=False):
        worksheet.append([_excel_value(value) for value in record])
    buffer = io.BytesIO()
    text_not_formulas(workbook).save(buffer)
    return buffer.getvalue()


def _excel_value(value: Any) -> Any:
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def show(
    table: pd.DataFrame,
    name: str,
    *,
    styled: Any = None,
    height: int | str = "auto",
    column_config: dict[str, Any] | None = None,
) -> None:
    """The table, then its CSV and XLSX downloads (hidden in presentation mode).

    ``name`` is the file name stem and the widget key; ``styled`` an optional pandas Styler of
    the same table.
    """
    if len(table) > MAX_SHOWN_ROWS:
        st.caption(
            f"Showing the first {MAX_SHOWN_ROWS:,} of {len(table):,} rows; the downloads have "
            "them all."
        )
        table_shown: Any = table.head(MAX_SHOWN_ROWS)
    else:
        table_shown = styled if styled is not None else table
    st.dataframe(
        table_shown,
        hide_index=True,
        height=height,
        column_config=column_config,
        width="stretch",
    )
    if current().present:
        return
    row = st.container(horizontal=True)
    download(row, "CSV", lambda: csv_bytes(table), f"{name}.csv", key=f"csv_{name}")
    download(row, "XLSX", lambda: xlsx_bytes(table, name), f"{name}.xlsx", key=f"xlsx_{name}")


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
    leaves the page as it is; the file's type follows its name."""
    place.download_button(
        label,
        data=data,
        file_name=file_name,
        mime=_MIMES[file_name.rsplit(".", 1)[-1]],
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )
