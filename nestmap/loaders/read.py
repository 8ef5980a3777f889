"""Read a dataset's tables from a folder of CSVs, an .xlsx workbook or a .zip of CSVs.

Every cell comes back as text (or ``""``), with its 1-based row number (header = row 1), so
that validation is the same whatever the container.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nestmap.errors import InputError, Problem
from nestmap.loaders import limits
from nestmap.loaders.limits import InflateBudget, check_workbook, member_chunks, open_zip
from nestmap.memory import gc_paused

TABLES: tuple[str, ...] = ("areas", "services", "offers", "referrals", "workforce")
OPTIONAL_TABLES: frozenset[str] = frozenset({"workforce", "dataset"})
# The optional dataset.csv describes the dataset as a whole (a field per row), not the map: it
# is read and validated like the tables, and kept with the loaded graph.
METADATA = "dataset"
READ: tuple[str, ...] = (*TABLES, METADATA)


@dataclass
class RawTable:
    """One table as read; ``label`` names it in messages (``services.csv``, ``x.xlsx[offers]``).

    ``rows`` is read lazily, once, by validation (a file is never held whole as rows: a
    hostile one stops at the first bound it breaks); what reading them found wrong (bad UTF-8,
    a broken quote, a bound) is in ``errors`` once they have been read."""

    label: str
    header: list[str]
    rows: Iterable[tuple[int, list[str]]]
    errors: list[Problem] = field(default_factory=list)
    # The CSV file it was read from, when it is one on disk (nestmap.loaders.columnar may
    # read it whole instead of row by row).
    file: Path | None = None


@dataclass
class RawDataset:
    name: str
    origin: str
    tables: dict[str, RawTable]
    # File name -> sha256; for a zip, filled in as each member is read through.
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
    if suffix in (".xlsx", ".zip"):
        data = _bounded_file_bytes(path, path.name)
        read = _read_workbook if suffix == ".xlsx" else _read_zip
        return read(path.name, data, path.stem, str(path))
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


def _bounded_file_bytes(path: Path, label: str) -> bytes:
    """A file's bytes, refused past limits.MAX_FILE_BYTES (read no further than the bound)."""
    with path.open("rb") as handle:
        data = handle.read(limits.MAX_FILE_BYTES + 1)
    if len(data) > limits.MAX_FILE_BYTES:
        raise InputError(
            [Problem(label, None, None, None, f"larger than {_mib(limits.MAX_FILE_BYTES)}")]
        )
    return data


def _mib(limit: int) -> str:
    return limits.size_text(limit)


def file_chunks(path: Path, label: str) -> Iterator[bytes]:
    """A file's bytes in chunks, stopping with InputError past limits.MAX_FILE_BYTES."""
    seen = 0
    with path.open("rb") as handle:
        while chunk := handle.read(64 * 1024):
            seen += len(chunk)
            if seen > limits.MAX_FILE_BYTES:
                raise InputError(
                    [Problem(label, None, None, None, f"larger than {_mib(limits.MAX_FILE_BYTES)}")]
                )
            yield chunk


def _read_folder(folder: Path) -> RawDataset:
    tables: dict[str, RawTable] = {}
    hashes: dict[str, str] = {}
    problems: list[Problem] = []
    for table in READ:
        file = folder / f"{table}.csv"
        if not file.is_file():
            if table not in OPTIONAL_TABLES:
                problems.append(Problem(file.name, None, None, None, "required file is missing"))
            continue
        # Hashed first, in one bounded pass: `nestmap demo` compares hashes without loading.
        try:
            digest = hashlib.sha256()
            for chunk in file_chunks(file, file.name):
                digest.update(chunk)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        hashes[file.name] = digest.hexdigest()
        _add_csv(tables, problems, table, file.name, file_chunks(file, file.name))
        if table in tables:
            tables[table].file = file
    # `nestmap load .` names the dataset after the folder, not "" (the name of ".").
    resolved = folder.resolve()
    return RawDataset(resolved.name or str(resolved), str(folder), tables, hashes, problems)


def _read_zip(filename: str, data: bytes, name: str, origin: str) -> RawDataset:
    archive = open_zip(data, filename)
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
    budget = InflateBudget()
    for table in READ:
        member = members.get(f"{table}.csv")
        if member is None:
            if table not in OPTIONAL_TABLES:
                problems.append(
                    Problem(f"{filename}:{table}.csv", None, None, None, "required file is missing")
                )
            continue
        label = f"{table}.csv"
        _add_csv(
            tables,
            problems,
            table,
            label,
            member_chunks(archive, member, label, budget),
            on_read=functools.partial(hashes.__setitem__, label),
        )
    return RawDataset(name, origin, tables, hashes, problems)


class _ReadStop(Exception):
    """Reading a file stopped at a problem (already recorded)."""


def _text_lines(
    label: str,
    chunks: Iterator[bytes],
    errors: list[Problem],
    on_read: Callable[[str], None] | None,
) -> Iterator[str]:
    """The file's lines as text, decoded batch by batch, never longer than limits.MAX_LINE_BYTES; a
    problem (bad UTF-8, a bound) is recorded in ``errors`` and ends the lines."""
    digest = hashlib.sha256()
    pending = b""
    line = 1
    first = True
    try:
        for chunk in chunks:
            digest.update(chunk)
            if first and chunk:
                chunk = chunk.removeprefix(b"\xef\xbb\xbf")
                first = False
            pending += chunk
            cut = pending.rfind(b"\n") + 1
            batch, pending = pending[:cut], pending[cut:]
            if len(pending) > limits.MAX_LINE_BYTES:
                reason = f"a line longer than {_mib(limits.MAX_LINE_BYTES)}; reading stopped here"
                errors.append(Problem(label, line + batch.count(b"\n"), None, None, reason))
                return
            if batch:
                # Lines end at \n, \r\n or \r only, as csv expects (not str.splitlines'
                # Unicode breaks, which may sit inside a name).
                yield from io.StringIO(_decode(label, batch, line, errors), newline="")
                line += batch.count(b"\n")
        if pending:
            yield from io.StringIO(_decode(label, pending, line, errors), newline="")
    except InputError as exc:  # a bound of the zip (inflated size)
        errors.extend(exc.problems)
        return
    except _ReadStop:
        return
    if on_read is not None:
        on_read(digest.hexdigest())


def _decode(label: str, batch: bytes, line: int, errors: list[Problem]) -> str:
    try:
        return batch.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = line + batch[: exc.start].count(b"\n")
        errors.append(Problem(label, where, None, None, f"not UTF-8 text (byte {exc.start})"))
        raise _ReadStop from None


def _add_csv(
    tables: dict[str, RawTable],
    problems: list[Problem],
    table: str,
    label: str,
    chunks: Iterator[bytes],
    on_read: Callable[[str], None] | None = None,
) -> None:
    try:
        tables[table] = csv_table(label, chunks, on_read=on_read)
    except InputError as exc:
        problems.extend(exc.problems)


def csv_table(
    label: str,
    chunks: Iterator[bytes],
    on_read: Callable[[str], None] | None = None,
    max_rows: int | None = None,
) -> RawTable:
    """A CSV file's header now and its rows as they are read, within every bound (line length,
    cells per row, characters per cell, ``max_rows`` data rows, by default limits.MAX_ROWS); a
    header that cannot be read is an InputError, and what reading the rows finds wrong ends in
    the table's ``errors``."""
    errors: list[Problem] = []
    records = csv.reader(_text_lines(label, chunks, errors, on_read), strict=True)
    try:
        header_cells = next(records, None)
    except csv.Error as exc:
        raise InputError([Problem(label, 1, None, None, f"not a valid CSV file: {exc}")]) from None
    if errors:
        raise InputError(errors)
    if header_cells is None or not any(cell.strip() for cell in header_cells):
        raise InputError([Problem(label, 1, None, None, "the header row is missing")])
    if len(header_cells) > limits.MAX_CELLS_PER_ROW:
        raise InputError(
            [
                Problem(
                    label,
                    1,
                    None,
                    None,
                    f"more than {limits.MAX_CELLS_PER_ROW} columns in the header",
                )
            ]
        )
    header = [cell.strip() for cell in header_cells]
    raw = RawTable(label, header, [], errors)
    raw.rows = _bounded_rows(raw, _csv_records(label, records, errors), max_rows)
    return raw


def _csv_records(
    label: str, records: Iterator[list[str]], errors: list[Problem]
) -> Iterator[list[str]]:
    line_num = getattr(records, "line_num", 0)
    try:
        yield from records
    except csv.Error as exc:
        line_num = getattr(records, "line_num", line_num)
        errors.append(Problem(label, line_num or None, None, None, f"not a valid CSV file: {exc}"))


def _bounded_rows(
    table: RawTable, records: Iterable[list[str]], max_rows: int | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Number the data rows (header = row 1) and hold each to the bounds: rows (``max_rows``,
    by default limits.MAX_ROWS), cells per row, characters per cell; a row past a bound is a
    problem (and not passed on)."""
    label, header, errors = table.label, table.header, table.errors
    max_rows = limits.MAX_ROWS if max_rows is None else max_rows
    for number, cells in enumerate(records, start=2):
        if number - 1 > max_rows:
            errors.append(
                Problem(
                    label,
                    number,
                    None,
                    None,
                    f"more than {max_rows:,} rows; reading stopped here",
                )
            )
            return
        if len(cells) > limits.MAX_CELLS_PER_ROW:
            errors.append(
                Problem(
                    label,
                    number,
                    None,
                    None,
                    f"a row of {len(cells):,} cells; at most {limits.MAX_CELLS_PER_ROW}",
                )
            )
            continue
        if cells and max(map(len, cells)) > limits.MAX_CELL_CHARS:
            index = next(i for i, cell in enumerate(cells) if len(cell) > limits.MAX_CELL_CHARS)
            column = header[index] if index < len(header) else None
            reason = (
                f"a cell of {len(cells[index]):,} characters; at most {limits.MAX_CELL_CHARS:,}"
            )
            errors.append(Problem(label, number, column, cells[index], reason))
            continue
        yield number, cells


def _read_workbook(filename: str, data: bytes, name: str, origin: str) -> RawDataset:
    import openpyxl

    # An .xlsx is a zip of XML parts: bounded and DTD-free before openpyxl reads any of it.
    check_workbook(data, filename)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputError(
            [Problem(filename, None, None, None, f"not a readable .xlsx workbook ({exc})")]
        ) from None
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    sheets = {sheet.strip().lower(): sheet for sheet in book.sheetnames}
    for table in READ:
        sheet_name = sheets.get(table)
        label = f"{filename}[{table}]"
        if sheet_name is None:
            if table not in OPTIONAL_TABLES:
                problems.append(Problem(label, None, None, None, "required sheet is missing"))
            continue
        sheet = book[sheet_name]
        # The sheet's declared size is not trusted (a hostile one claims a million columns):
        # rows are as long as their cells.
        sheet.reset_dimensions()
        errors: list[Problem] = []
        records = _sheet_records(label, sheet, errors)
        header_cells = next(records, None)
        if errors:
            problems.extend(errors)
            continue
        if header_cells is None or not any(cell.strip() for cell in header_cells):
            problems.append(Problem(label, 1, None, None, "the header row is missing"))
            continue
        header = [cell.strip() for cell in header_cells]
        # Trailing empty header cells are formatting, not columns.
        while header and not header[-1]:
            header.pop()
        raw = RawTable(label, header, [], errors)
        raw.rows = _bounded_rows(raw, records)
        tables[table] = raw
    return RawDataset(name, origin, tables, {filename: hashlib.sha256(data).hexdigest()}, problems)


def _sheet_records(label: str, sheet: object, errors: list[Problem]) -> Iterator[list[str]]:
    """A sheet's rows as text cells; a damaged sheet is a problem that ends them."""
    try:
        for values in sheet.iter_rows(values_only=True):  # type: ignore[attr-defined]
            row = list(values)
            while row and row[-1] is None:  # styled but empty cells at the end
                row.pop()
            if len(row) > limits.MAX_CELLS_PER_ROW:
                # Kept long enough to be reported by the row bound, without its text.
                yield [""] * len(row)
                continue
            yield [_cell_text(value) for value in row]
    except Exception as exc:  # openpyxl's parser raises many kinds for damaged XML
        errors.append(Problem(label, None, None, None, f"not a readable sheet ({exc})"))


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
