"""Read a dataset's tables from a folder of CSVs, an .xlsx workbook or a .zip of CSVs.

Every cell comes back as text (or ``""``), with its 1-based row number (header = row 1), so
that validation is the same whatever the container.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from nestmap.errors import InputError, Problem
from nestmap.memory import gc_paused

TABLES: tuple[str, ...] = ("areas", "services", "offers", "referrals", "workforce")
OPTIONAL_TABLES: frozenset[str] = frozenset({"workforce"})


@dataclass
class RawTable:
    """One table as read; ``label`` names it in messages (``services.csv``, ``x.xlsx[offers]``)."""

    label: str
    header: list[str]
    rows: list[tuple[int, list[str]]]


@dataclass
class RawDataset:
    name: str
    origin: str
    tables: dict[str, RawTable]
    file_hashes: dict[str, str]
    # Whole-file problems found while reading (a missing or unreadable file); validation
    # goes on with the other files so that every problem is reported at once.
    problems: list[Problem] = field(default_factory=list)


@gc_paused()
def read_raw(path: str | Path) -> RawDataset:
    """Read the tables at ``path``; raise InputError for anything that cannot be read at all."""
    path = Path(path)
    if not path.exists():
        raise InputError([Problem(str(path), None, None, None, "no such file or folder")])
    if path.is_dir():
        return _read_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_workbook(path.name, path.read_bytes(), path.stem, str(path))
    if suffix == ".zip":
        return _read_zip(path.name, path.read_bytes(), path.stem, str(path))
    raise InputError(
        [Problem(path.name, None, None, None, "expected a folder of CSV files, an .xlsx or a .zip")]
    )


@gc_paused()
def read_raw_bytes(filename: str, data: bytes) -> RawDataset:
    """Read an uploaded ``.xlsx`` or ``.zip`` (the dashboard's Data page)."""
    stem, _, suffix = filename.rpartition(".")
    if suffix.lower() == "xlsx":
        return _read_workbook(filename, data, stem, filename)
    if suffix.lower() == "zip":
        return _read_zip(filename, data, stem, filename)
    raise InputError([Problem(filename, None, None, None, "expected an .xlsx workbook or a .zip")])


def _read_folder(folder: Path) -> RawDataset:
    tables: dict[str, RawTable] = {}
    hashes: dict[str, str] = {}
    problems: list[Problem] = []
    for table in TABLES:
        file = folder / f"{table}.csv"
        if not file.is_file():
            if table not in OPTIONAL_TABLES:
                problems.append(Problem(file.name, None, None, None, "required file is missing"))
            continue
        data = file.read_bytes()
        hashes[file.name] = hashlib.sha256(data).hexdigest()
        _add_csv(tables, problems, table, file.name, data)
    return RawDataset(folder.name, str(folder), tables, hashes, problems)


def _read_zip(filename: str, data: bytes, name: str, origin: str) -> RawDataset:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InputError([Problem(filename, None, None, None, "not a valid zip archive")]) from None
    # CSVs may sit at the top of the archive or inside one folder; macOS adds __MACOSX noise.
    members = {
        Path(info.filename).name: info
        for info in archive.infolist()
        if not info.is_dir()
        and info.filename.lower().endswith(".csv")
        and "__MACOSX" not in info.filename
    }
    tables: dict[str, RawTable] = {}
    hashes: dict[str, str] = {}
    problems: list[Problem] = []
    for table in TABLES:
        member = members.get(f"{table}.csv")
        if member is None:
            if table not in OPTIONAL_TABLES:
                problems.append(
                    Problem(f"{filename}:{table}.csv", None, None, None, "required file is missing")
                )
            continue
        content = archive.read(member)
        hashes[f"{table}.csv"] = hashlib.sha256(content).hexdigest()
        _add_csv(tables, problems, table, f"{table}.csv", content)
    return RawDataset(name, origin, tables, hashes, problems)


def _add_csv(
    tables: dict[str, RawTable], problems: list[Problem], table: str, label: str, data: bytes
) -> None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(Problem(label, line, None, None, f"not UTF-8 text (byte {exc.start})"))
        return
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        problems.append(Problem(label, None, None, None, f"not a valid CSV file: {exc}"))
        return
    if not records or not any(cell.strip() for cell in records[0]):
        problems.append(Problem(label, 1, None, None, "the header row is missing"))
        return
    header = [cell.strip() for cell in records[0]]
    rows = [(index, cells) for index, cells in enumerate(records[1:], start=2)]
    tables[table] = RawTable(label, header, rows)


def _read_workbook(filename: str, data: bytes, name: str, origin: str) -> RawDataset:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputError(
            [Problem(filename, None, None, None, f"not a readable .xlsx workbook ({exc})")]
        ) from None
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    sheets = {sheet.strip().lower(): sheet for sheet in book.sheetnames}
    for table in TABLES:
        sheet_name = sheets.get(table)
        label = f"{filename}[{table}]"
        if sheet_name is None:
            if table not in OPTIONAL_TABLES:
                problems.append(Problem(label, None, None, None, "required sheet is missing"))
            continue
        records = [
            [_cell_text(value) for value in row]
            for row in book[sheet_name].iter_rows(values_only=True)
        ]
        if not records or not any(cell.strip() for cell in records[0]):
            problems.append(Problem(label, 1, None, None, "the header row is missing"))
            continue
        header = [cell.strip() for cell in records[0]]
        # Trailing empty header cells are formatting, not columns.
        while header and not header[-1]:
            header.pop()
        rows = [(index, cells) for index, cells in enumerate(records[1:], start=2)]
        tables[table] = RawTable(label, header, rows)
    book.close()
    return RawDataset(name, origin, tables, {filename: hashlib.sha256(data).hexdigest()}, problems)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
