"""Render analysis rows as a terminal table, CSV, JSON, JSON Lines or Parquet (see
docs/analyses.md, "Output").

Two ways in. ``render`` turns a small document (rows as dicts) into one string, for commands
whose output is small (``info``, ``versions``, scenario comparisons). ``write`` streams an
analysis's result to a binary stream, whatever its size: at national scale a result has
hundreds of thousands of rows, and one string of the whole JSON document (plus Python's
pure-Python encoder, which ``indent`` forces) cost three quarters of the time and most of the
memory of ``nestmap misdirected --format json``.

``write`` takes an answer's parts as Arrow tables (``nestmap.answers.arrow`` makes them) and
encodes them a batch at a time with Arrow's string kernels: each cell becomes its JSON or CSV
text in a column of strings, the columns are joined into one line per row, and the line
column's data buffer (the lines back to back) is written as it is. Cells Arrow cannot encode
exactly like Python (floats, strings that need escaping, unusual types) go through Python's
own encoders, value by value, so the bytes are the same as the row-by-row writers'. Rows that
do not fit an Arrow table (mixed types) are written row by row with the same formats.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from nestmap.errors import NestmapError, UsageError

FORMATS = ("table", "json", "csv")  # every command's (render)
ANALYSIS_FORMATS = ("table", "json", "jsonl", "csv", "parquet")  # the analyses' (write)
# What a terminal shows of a table before the rest is counted in a notice (stderr).
TABLE_ROWS = 50
# Rows encoded at a time: bounds the memory of the encoded text (~16 MB at 250 bytes a row).
BATCH_ROWS = 65_536


def _cell(value: Any, list_sep: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return list_sep.join(_cell(item, list_sep) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def to_json(document: Any) -> str:
    # allow_nan=False: a NaN or infinity would print as `NaN`/`Infinity`, which is not JSON.
    # Inputs are range-checked so none should arrive; if one does, fail loudly instead.
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)


def to_csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """CSV with lists ``|``-joined (the input convention) and null as an empty cell."""
    columns = columns or (list(rows[0]) if rows else [])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column), "|") for column in columns])
    return buffer.getvalue()


def to_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """Aligned columns for a terminal; lists comma-joined, null shown as ``-``."""
    columns = columns or (list(rows[0]) if rows else [])
    if not rows:
        return "(no rows)\n"
    cells = [
        [_cell(row.get(c), ", ") if row.get(c) is not None else "-" for c in columns]
        for row in rows
    ]
    widths = [
        max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)
    ]
    lines = ["  ".join(column.ljust(widths[i]) for i, column in enumerate(columns))]
    lines.append("  ".join("-" * width for width in widths))
    for line in cells:
        lines.append("  ".join(value.ljust(widths[i]) for i, value in enumerate(line)).rstrip())
    return "\n".join(lines) + "\n"


def render(document: Any, fmt: str) -> str:
    """``document`` is a list of rows, or a dict of named row lists (boundaries)."""
    if fmt == "json":
        return to_json(document) + "\n"
    if isinstance(document, dict):
        parts = []
        for name, rows in document.items():
            if fmt == "csv":
                parts.append(f"# {name}\n" + to_csv(rows))
            else:
                parts.append(f"{name}\n" + to_table(rows))
        return "\n".join(parts)
    return to_csv(document) if fmt == "csv" else to_table(document)


# -- streaming writers -------------------------------------------------------------------------
Parts = list[tuple[str | None, Any]]  # (part name or None for a plain list, table or rows)


def _is_arrow(rows: Any) -> bool:
    return hasattr(rows, "to_batches")


def _length(rows: Any) -> int:
    return rows.num_rows if _is_arrow(rows) else len(rows)


def write(parts: Parts, fmt: str, stream: IO[bytes], notices: Callable[[str], None]) -> None:
    """Write ``parts`` to the binary ``stream`` in ``fmt``. ``notices`` receives what is said
    beside the output (the table's truncation)."""
    if fmt in ("json", "jsonl"):
        for _name, rows in parts:
            _check_finite(rows)  # before the first byte: no half-written document
    if fmt == "json":
        _write_json(parts, stream)
    elif fmt == "jsonl":
        for name, rows in parts:
            lead = "" if name is None else f'"part": {_json_text(name)}, '
            for chunk in _json_lines(rows, lead):
                stream.write(chunk)
    elif fmt == "csv":
        _write_csv(parts, stream)
    elif fmt == "parquet":
        _write_parquet(parts, stream)
    else:
        _write_table(parts, stream, notices)


def _write_json(parts: Parts, stream: IO[bytes]) -> None:
    """One JSON document: a list of rows (one compact row per line), or for several parts an
    object of such lists."""
    named = parts[0][0] is not None
    if named:
        stream.write(b"{")
    for index, (name, rows) in enumerate(parts):
        if named:
            stream.write(((",\n" if index else "") + _json_text(name) + ": ").encode())
        if _length(rows) == 0:
            stream.write(b"[]")
            continue
        stream.write(b"[\n")
        # Each line ends ",\n"; the last one's comma is dropped (there is one: rows is not empty).
        pending: bytes | memoryview = b""
        for chunk in _json_lines(rows, "", end=",\n"):
            stream.write(pending)
            pending = chunk
        stream.write(bytes(pending[:-2]) + b"\n]")
    stream.write(b"}\n" if named else b"\n")


def _write_csv(parts: Parts, stream: IO[bytes]) -> None:
    """As ``render(..., "csv")``: several parts each under a ``# name`` line, a blank line
    between them."""
    for index, (name, rows) in enumerate(parts):
        if index:
            stream.write(b"\n")
        if name is not None:
            stream.write(f"# {name}\n".encode())
        for chunk in _csv_lines(rows):
            stream.write(chunk)


def _write_table(parts: Parts, stream: IO[bytes], notices: Callable[[str], None]) -> None:
    texts = []
    for name, rows in parts:
        total = _length(rows)
        shown = rows.slice(0, TABLE_ROWS).to_pylist() if _is_arrow(rows) else rows[:TABLE_ROWS]
        text = to_table(shown)
        if name is not None:
            text = f"{name}\n" + text
        texts.append(text)
        if total > TABLE_ROWS:
            where = f" of {name}" if name else ""
            notices(
                f"… {total - TABLE_ROWS:,} more rows{where} not shown (the table shows the first "
                f"{TABLE_ROWS}); use --format csv, json, jsonl or parquet for all {total:,}"
            )
    stream.write("\n".join(texts).encode())


def _write_parquet(parts: Parts, stream: IO[bytes]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(parts) != 1 or parts[0][0] is not None:
        names = ", ".join(str(name) for name, _rows in parts)
        raise UsageError(
            f"a Parquet file holds one table and this result has {len(parts)} ({names}); "
            "choose one with --part, or use --format json, jsonl or csv"
        )
    rows = parts[0][1]
    if not _is_arrow(rows):
        raise NestmapError("these rows have mixed types and cannot be written as Parquet")
    sink = pa.PythonFile(stream, mode="w")
    with pq.ParquetWriter(sink, rows.schema) as writer:
        for batch in rows.to_batches(max_chunksize=BATCH_ROWS * 4):
            writer.write_batch(batch)


def _check_finite(rows: Any) -> None:
    """JSON has no infinity or NaN (``allow_nan=False``): refuse before writing anything."""
    if _is_arrow(rows):
        import pyarrow as pa
        import pyarrow.compute as pc

        for name, column in zip(rows.column_names, rows.columns, strict=True):
            values = column
            if pa.types.is_list(column.type):
                values = pc.list_flatten(column)
            finite = pc.all(pc.is_finite(values)) if pa.types.is_floating(values.type) else None
            if finite is not None and finite.as_py() is False:
                raise NestmapError(f"column {name} holds a number JSON cannot carry (inf or NaN)")
        return
    for row in rows:
        for name, value in row.items():
            items = value if isinstance(value, list | tuple) else (value,)
            if any(isinstance(item, float) and not math.isfinite(item) for item in items):
                raise NestmapError(f"column {name} holds a number JSON cannot carry (inf or NaN)")


# -- JSON ----------------------------------------------------------------------------------------
def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _json_lines(rows: Any, lead: str, end: str = "\n") -> Iterator[bytes | memoryview]:
    """Each row as one compact JSON object (``json.dumps(row, ensure_ascii=False)``'s bytes),
    ``lead`` inside its opening brace, ``end`` after it; a batch of rows per chunk."""
    if not _is_arrow(rows):
        for start in range(0, len(rows), BATCH_ROWS):
            batch = rows[start : start + BATCH_ROWS]
            text = "".join("{" + lead + _json_text(row)[1:] + end for row in batch)
            if not rows[0]:  # {} has no key to put the lead before
                text = "".join("{" + lead.rstrip(", ") + "}" + end for _row in batch)
            yield text.encode()
        return
    import pyarrow as pa

    names = rows.column_names
    for batch in rows.to_batches(max_chunksize=BATCH_ROWS):
        pieces: list[Any] = []
        for index, name in enumerate(names):
            pieces.append(("{" + lead if index == 0 else ", ") + _json_text(name) + ": ")
            pieces.extend(_json_pieces(batch.column(index)))
        if not names:
            pieces.append("{" + lead.rstrip(", "))
        pieces.append("}" + end)
        yield _joined(pa, _merged(pieces), batch.num_rows)


def _merged(pieces: list[Any]) -> list[Any]:
    """Adjacent constants as one (each piece is a pass over the rows)."""
    merged: list[Any] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def _json_pieces(column: Any) -> list[Any]:
    """A column's JSON text as pieces of the line: a plain string column (no null, nothing to
    escape) as the column between two quote constants, saving a pass; else ``_json_cells``."""
    import pyarrow as pa

    if (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)) and not (
        column.null_count or _holds_any(column, _JSON_ESCAPED)
    ):
        return ['"', column, '"']
    return [_json_cells(column)]


# The bytes that make json escape a string (quote, backslash, U+0000-U+001F; UTF-8 never
# uses them inside a longer character) and that make the csv module quote a field.
_JSON_ESCAPED = b'"\\' + bytes(range(0x20))


def _holds_any(column: Any, characters: bytes) -> bool:
    """Does any string of ``column`` (a string array) hold one of the ASCII ``characters``?
    One pass over the strings' bytes with numpy: a regular expression per cell costs about
    as much as the rest of encoding the column."""
    import numpy as np
    import pyarrow as pa

    if len(column) == 0:
        return False
    wide = pa.types.is_large_string(column.type)
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64 if wide else np.int32)
    start, end = int(offsets[column.offset]), int(offsets[column.offset + len(column)])
    data = column.buffers()[2]
    if data is None or end <= start:
        return False
    text = np.frombuffer(data, dtype=np.uint8)[start:end]
    singles = set(characters)
    if set(range(0x20)) <= singles:  # the control characters: one comparison
        if (text < 0x20).any():
            return True
        singles -= set(range(0x20))
    return any((text == character).any() for character in sorted(singles))


def _escaped(column: Any) -> Any:
    """Where json escapes: quotes, backslashes and control characters (U+0000-U+001F); the
    rest, non-ASCII included (ensure_ascii=False), passes through as it is."""
    import pyarrow.compute as pc

    return pc.match_substring_regex(column, r'["\\\x00-\x1f]')


def _json_cells(column: Any) -> Any:
    """Each cell of ``column`` as its JSON text (a string array without nulls)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = _concat('"', column, '"')
        if _holds_any(column, _JSON_ESCAPED):
            text = _python_where(_escaped(column), column, text)
    elif pa.types.is_integer(kind):
        text = pc.cast(column, pa.string())
    elif pa.types.is_boolean(kind):
        text = pc.if_else(column, _text("true"), _text("false"))
    elif pa.types.is_list(kind):
        items = _json_cells(pc.list_flatten(column))
        joined = pc.binary_join(_relisted(pa, pc, column, items), _text(", "))
        text = _concat("[", joined, "]")
    else:  # floats (repr, as json does) and anything else: Python's encoder, value by value
        text = _strings([_json_text(value) for value in column.to_pylist()])
    return _filled(text, "null")


# -- CSV -----------------------------------------------------------------------------------------
def _csv_probe() -> tuple[str, bool]:
    """The characters that make Python's csv module quote a field (with ``\\n`` line ends; it
    differs between Python versions for ``\\r``), and whether a lone empty field is quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["\r", "x"])
    writer.writerow([""])
    quoted_cr, lone_empty = buffer.getvalue().split("\n")[:2]
    return ('[,"\\n\\r]' if quoted_cr.startswith('"') else '[,"\\n]'), lone_empty == '""'


_CSV_QUOTED, _CSV_LONE_EMPTY_QUOTED = _csv_probe()
_CSV_QUOTED_BYTES = b',"\n\r' if "\\r" in _CSV_QUOTED else b',"\n'


def _csv_lines(rows: Any) -> Iterator[bytes | memoryview]:
    """The header and the rows as ``to_csv`` writes them, a batch of rows per chunk."""
    if not _is_arrow(rows):
        columns = list(rows[0]) if rows else []
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow(columns)
        yield header.getvalue().encode()
        for start in range(0, len(rows), BATCH_ROWS):
            yield to_csv(rows[start : start + BATCH_ROWS], columns).split("\n", 1)[1].encode()
        return
    import pyarrow as pa

    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(rows.column_names)
    yield header.getvalue().encode()
    single = rows.num_columns == 1
    for batch in rows.to_batches(max_chunksize=BATCH_ROWS):
        pieces: list[Any] = []
        for index in range(batch.num_columns):
            if index:
                pieces.append(",")
            pieces.append(_csv_quoted(_csv_cells(batch.column(index), "|"), single))
        pieces.append("\n")
        if batch.num_columns:
            yield _joined(pa, _merged(pieces), batch.num_rows)


def _csv_cells(column: Any, list_sep: str) -> Any:
    """Each cell as ``_cell`` gives it, unquoted (a string array without nulls)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = column
    elif pa.types.is_integer(kind):
        text = pc.cast(column, pa.string())
    elif pa.types.is_boolean(kind):
        text = pc.if_else(column, _text("true"), _text("false"))
    elif pa.types.is_list(kind):
        items = _csv_cells(pc.list_flatten(column), list_sep)
        text = pc.binary_join(_relisted(pa, pc, column, items), _text(list_sep))
    else:
        text = _strings([_cell(value, list_sep) for value in column.to_pylist()])
    return _filled(text, "")


def _csv_quoted(text: Any, single: bool) -> Any:
    """QUOTE_MINIMAL as the csv module does it: quotes doubled, the field quoted."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _holds_any(text, _CSV_QUOTED_BYTES) and not (single and _CSV_LONE_EMPTY_QUOTED):
        return text
    needs = pc.match_substring_regex(text, _CSV_QUOTED)
    if single and _CSV_LONE_EMPTY_QUOTED:
        needs = pc.or_(needs, pc.invert(pc.cast(pc.binary_length(text), pa.bool_())))
    if not pc.any(needs).as_py():
        return text
    quoted = _concat('"', pc.replace_substring(text, pattern='"', replacement='""'), '"')
    return pc.if_else(needs, quoted, text)


# -- shared pieces ---------------------------------------------------------------------------
def _python_where(mask: Any, column: Any, text: Any) -> Any:
    """``text`` with the cells under ``mask`` replaced by Python's JSON encoding of them."""
    import pyarrow.compute as pc

    if not pc.any(mask).as_py():
        return text
    mask = pc.and_kleene(mask, pc.is_valid(mask))  # null (a null cell): false
    encoded = [_json_text(value) for value in column.filter(mask).to_pylist()]
    return pc.replace_with_mask(text, mask, _strings(encoded).cast(text.type))


def _filled(text: Any, value: str) -> Any:
    import pyarrow.compute as pc

    return pc.fill_null(text, _text(value)) if text.null_count else text


def _concat(*pieces: Any) -> Any:
    """Per row, the concatenation of ``pieces`` (constants and string arrays)."""
    import pyarrow.compute as pc

    # Constants as Arrow scalars: a Python string is first made an array as long as the rows.
    arrays = [_text(p) if isinstance(p, str) else p for p in pieces]
    return pc.binary_join_element_wise(*arrays, _text(""))


def _strings(values: list[str]) -> Any:
    """A string array built from its buffers. pyarrow's own conversions of Python values
    (``pa.array``, ``pa.scalar``, a ``str`` argument to a compute function) import pandas to
    check for its types: 0.3-0.5 s of a command that otherwise answers in 0.2."""
    import numpy as np
    import pyarrow as pa

    encoded = [value.encode() for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(item) for item in encoded], out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.large_string(), len(encoded), buffers).cast(pa.string())


@functools.lru_cache(maxsize=64)
def _text(value: str) -> Any:
    """A constant as an Arrow scalar (see ``_strings``)."""
    return _strings([value])[0]


def _relisted(pa: Any, pc: Any, column: Any, items: Any) -> Any:
    """``items`` (one per element of ``column``'s lists) back in ``column``'s lists; a null
    list stays null."""
    import numpy as np

    lengths = np.diff(_numbers(np, column.offsets, np.int32))
    mask = None
    if column.null_count:  # a null list's items are not flattened: it counts none
        mask = column.is_null()
        bits = np.unpackbits(np.frombuffer(mask.buffers()[1], np.uint8), bitorder="little")
        lengths[bits[mask.offset : mask.offset + len(mask)].astype(bool)] = 0
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    offsets_array = pa.Array.from_buffers(pa.int32(), len(offsets), [None, pa.py_buffer(offsets)])
    return pa.ListArray.from_arrays(offsets_array, items, mask=mask)


def _numbers(np: Any, array: Any, dtype: Any) -> Any:
    """A fixed-width array without nulls as numpy's view of its buffer (``to_numpy`` imports
    pandas, see ``_strings``)."""
    values = np.frombuffer(array.buffers()[1], dtype=dtype)
    return values[array.offset : array.offset + len(array)]


def _joined(pa: Any, pieces: list[Any], rows: int) -> memoryview:
    """The rows' lines, each the concatenation of ``pieces`` (constants and string arrays),
    back to back: the joined array's data buffer, without a copy."""
    import numpy as np

    if all(isinstance(p, str) for p in pieces):  # no column: the same line on every row
        return memoryview("".join(pieces).encode() * rows)
    lines = _concat(*pieces)
    _validity, offsets, data = lines.buffers()
    width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
    bounds = np.frombuffer(offsets, dtype=width)[lines.offset : lines.offset + len(lines) + 1]
    return memoryview(data)[int(bounds[0]) : int(bounds[-1])]


# -- destinations ----------------------------------------------------------------------------
def check_destination(path: Path | None, fmt: str) -> None:
    """Refuse, before any work, what cannot be written: Parquet to a terminal, a folder."""
    if path is None and fmt == "parquet" and sys.stdout.isatty():
        raise UsageError("Parquet is binary: give --output FILE, or redirect to a file")
    if path is not None and path.is_dir():
        raise UsageError(f"--output {path} is a folder; give a file name")


def write_to(path: Path | None, fmt: str, parts: Parts, notices: Callable[[str], None]) -> None:
    """Write to ``path`` (complete or not at all: a temporary file renamed into place) or to
    standard output (Parquet only when it is not a terminal)."""
    check_destination(path, fmt)
    _deliver(path, lambda stream: write(parts, fmt, stream, notices))


def _deliver(path: Path | None, fill: Callable[[IO[bytes]], None]) -> None:
    if path is None:
        stream = sys.stdout.buffer
        fill(stream)
        stream.flush()
        return
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with open(partial, "wb") as stream:
            fill(stream)
        os.replace(partial, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
