"""Write the loaded dataset in exactly the input format (docs/data-format.md)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

from nestmap import vocabulary as v
from nestmap.analysis.info import info
from nestmap.graph import GraphStore
from nestmap.loaders.read import METADATA
from nestmap.loaders.validate import DATASET, SCHEMAS
from nestmap.spreadsheet import text_not_formulas

# The input format's columns, in order: the loader's schemas are the one definition.
COLUMNS: dict[str, list[str]] = {table: list(schema) for table, schema in SCHEMAS.items()}
# dataset.csv (optional): the dataset's description, a field per row.
METADATA_COLUMNS: list[str] = list(DATASET)

_ORDER = {
    "areas": lambda r: (r["kind"] != "region", r["code"]),
    "services": lambda r: r["id"],
    "offers": lambda r: (r["service_id"], v.LEVEL_RANK[r["level"]]),
    "referrals": lambda r: (r["from_service"], r["to_service"], r["reason"]),
    "workforce": lambda r: r["post"],
}


def cell_text(value: Any) -> str:
    """A value in the form of a dataset cell: ``|``-joined lists, true/false, no ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "|".join(cell_text(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def dataset_tables(store: GraphStore) -> dict[str, list[list[str]]]:
    """Each table as rows of text cells, header first, in a stable order; ``dataset`` too
    when the loaded dataset has a description (dataset.csv)."""
    tables: dict[str, list[list[str]]] = {}
    for table, columns in COLUMNS.items():
        rows = sorted(store.run(f"export_{table}"), key=_ORDER[table])
        tables[table] = [columns] + [[cell_text(row[c]) for c in columns] for row in rows]
    described = info(store).get("about")
    about = metadata_rows(dict(described) if isinstance(described, dict) else {})
    if about:
        tables[METADATA] = [METADATA_COLUMNS, *about]
    return tables


def metadata_rows(about: dict[str, str]) -> list[list[str]]:
    """dataset.csv's rows for a dataset's description (field -> text)."""
    return [[name, text] for name, text in about.items()]


def write_csv_folder(store: GraphStore, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in dataset_tables(store).items():
        with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return folder


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def export_dataset(store: GraphStore, fmt: str) -> bytes:
    """The loaded dataset as an ``xlsx`` workbook or a ``zip`` of CSVs."""
    tables = dataset_tables(store)
    if fmt == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for table, rows in tables.items():
                archive.writestr(f"{table}.csv", _csv_bytes(rows))
        return buffer.getvalue()
    if fmt == "xlsx":
        return _workbook(tables, with_guide=False)
    raise ValueError(f"unknown export format {fmt!r}")


# Enumerated columns and their allowed values, for the template's dropdowns.
_BOOLEAN = ("true", "false")
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("areas", "kind"): v.AREA_KINDS,
    ("services", "sector"): v.SECTORS,
    ("services", "status"): v.STATUSES,
    ("services", "stages"): ("antenatal", "postnatal", "antenatal|postnatal"),
    ("services", "threshold"): v.THRESHOLDS,
    ("services", "self_referral"): _BOOLEAN,
    ("services", "assesses_relationship"): _BOOLEAN,
    ("services", "supports_fathers"): _BOOLEAN,
    ("offers", "level"): v.LEVELS,
    ("offers", "focus"): v.FOCUSES,
    ("referrals", "reason"): v.REASONS,
    ("referrals", "count_basis"): v.COUNT_BASES,
    ("workforce", "aimh_level"): tuple(str(level) for level in v.AIMH_LEVELS),
    (METADATA, "field"): v.DATASET_FIELDS,
}

GUIDE = [
    ["How to fill in a nestmap dataset"],
    [""],
    ["One row per record; the first row of each sheet is the header — keep it as it is."],
    ["Lists inside a cell are separated by | (e.g. antenatal|postnatal)."],
    ["Booleans: true/false (also yes/no, 1/0). Blank optional cells mean 'not known'."],
    ["Dropdowns offer the allowed values of every enumerated column."],
    [""],
    ["areas", "one row per region or local authority (ONS codes, e.g. W06000016)"],
    ["services", "one row per service; areas may name a region (= all its local authorities)"],
    ["offers", "what each service offers at each level of need, and its focus (at most one row "
     "per service and level; every service needs one)"],
    ["referrals", "who refers families to whom, why, and how many (blank if unknown); "
     "count_basis says in what unit: per_year (referrals a year, from records; a blank cell "
     "means this) or survey_mentions (how many staff in a survey said they would refer there)"],
    ["workforce", "optional: posts per service with FTE and AiMH UK competency level 0-3"],
    ["dataset", "optional: the dataset as a whole, a field per row: title, source, collected "
     "(when), method"],
    ["source", "every service and referral names where it comes from (a report section, a "
     "survey, or 'illustrative: ...'); areas may too (optional: where the population figures "
     "come from, e.g. a census table or 'inferred: ...')"],
]  # fmt: skip


def _workbook(tables: dict[str, list[list[str]]], with_guide: bool) -> bytes:
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = openpyxl.Workbook()
    book.remove(book.active)
    if with_guide:
        guide = book.create_sheet("how to fill this in")
        for line in GUIDE:
            guide.append(line)
        guide["A1"].font = Font(bold=True, size=14)
        guide.column_dimensions["A"].width = 14
        guide.column_dimensions["B"].width = 100
    for table, rows in tables.items():
        sheet = book.create_sheet(table)
        for row in rows:
            sheet.append([_typed(table, rows[0][i], cell) for i, cell in enumerate(row)])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        if with_guide:
            _add_dropdowns(sheet, table, rows[0], DataValidation)
    buffer = io.BytesIO()
    text_not_formulas(book).save(buffer)
    return buffer.getvalue()


_NUMERIC = {
    "under2_population",
    "births_per_year",
    "min_age_months",
    "max_age_months",
    "capacity_per_year",
    "count",
    "fte",
    "aimh_level",
}


def _typed(table: str, column: str, cell: str) -> Any:
    """Numbers as numbers in a workbook, as a spreadsheet user would type them."""
    if column in _NUMERIC and cell not in ("", column):
        number = float(cell)
        return int(number) if number.is_integer() else number
    return cell


# A spreadsheet's last row: the dropdowns cover every row a user can fill in (a range is one
# string in the file, whatever its length).
LAST_SHEET_ROW = 1_048_576


def _add_dropdowns(sheet: Any, table: str, header: list[str], validation_type: Any) -> None:
    from openpyxl.utils import get_column_letter

    for index, column in enumerate(header, start=1):
        choices = CHOICES.get((table, column))
        if not choices:
            continue
        letter = get_column_letter(index)
        rule = validation_type(
            type="list",
            formula1='"' + ",".join(choices) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=f"{column}",
            error=f"{column} must be one of: {', '.join(choices)}",
        )
        rule.add(f"{letter}2:{letter}{LAST_SHEET_ROW}")
        sheet.add_data_validation(rule)


def template_workbook() -> bytes:
    """A blank dataset workbook: a sheet per table with its header (the optional dataset
    description too), a guide and dropdowns."""
    tables = {table: [columns] for table, columns in COLUMNS.items()}
    tables[METADATA] = [METADATA_COLUMNS]
    return _workbook(tables, with_guide=True)
