"""Answers as Arrow tables: what is kept, sliced and handed to the writers (``nestmap.output``).

An analysis gives an Arrow table (the national-scale ones, ``nestmap.analysis.core``), a dict of
them by part, or rows as dicts (the smaller ones); ``parts_of`` makes any of these the answer's
parts, ``[(part name or None, table)]``, with rows converted column by column (``as_arrow``) and
every table in the one shape the writers print the same bytes from (``as_written``). Rows that
do not fit a table (mixed types) stay rows: they are written row by row and not kept.

Kept answers are Arrow IPC files, compressed (zstd: a national dataset's answers are 110 MB
plain and 29 MB compressed, read back in 0.03 s for the largest).
"""

from __future__ import annotations

import itertools
import json
import operator
import sys
from pathlib import Path
from typing import Any

Parts = list[tuple[str | None, Any]]  # (part name or None for a plain list, table or rows)
PARTS_FILE = "parts.json"


def as_arrow(rows: list[dict[str, Any]]) -> Any:
    """Row dicts as a ``pyarrow.Table`` whose ``to_pylist()`` gives the same rows back, or
    ``None`` when they do not fit one (mixed types, nested objects): then they are written row
    by row. Columns with no value are strings (lists of strings): nothing else is known.

    The columns are built from their buffers (numpy), not with ``pa.Table.from_pylist``:
    pyarrow's conversion of Python values imports pandas (0.3 s, a third of a small analysis's
    first run) and is no faster."""
    import pyarrow as pa

    if rows and type(rows[0]) is not dict:
        return None
    keys = tuple(rows[0]) if rows else ()
    if any(map(keys.__ne__, map(tuple, rows))):  # (C-level loops: 400,000 rows)
        return None  # rows with other keys, or in another order: JSON keeps each row's own
    columns = {}
    for name in keys:
        column = _arrow_column(list(map(operator.itemgetter(name), rows)))
        if column is None:
            return None
        columns[name] = column
    return pa.Table.from_arrays(list(columns.values()), names=list(columns))


def _arrow_column(values: list[Any]) -> Any:
    """One column's values as an Arrow array, or ``None`` if they are not all of one plain
    type (text, whole number, number, true/false, or a list of one of these), null allowed."""
    import numpy as np
    import pyarrow as pa

    kinds = set(map(type, values))
    nulls = type(None) in kinds
    kinds.discard(type(None))
    count = len(values)
    validity = None
    present = values
    if nulls:
        missing = np.fromiter(map(_is_none, values), dtype=bool, count=count)
        validity = pa.py_buffer(np.packbits(~missing, bitorder="little"))
    if not kinds:
        return pa.nulls(count, pa.string())
    if len(kinds) != 1:
        return None  # 1 and 1.0 print differently; text and numbers do not mix
    kind = kinds.pop()
    if _pyarrow_converts(count):
        arrow_type = _arrow_type(kind, values)
        if arrow_type is None:
            return None
        try:
            return pa.array(values, arrow_type)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            return None
    try:
        if kind is str:
            encoded = [b"" if value is None else value.encode() for value in values]
            offsets = np.zeros(count + 1, dtype=np.int64)
            np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=count), out=offsets[1:])
            buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
            return pa.Array.from_buffers(pa.large_string(), count, buffers).cast(pa.string())
        if kind in (int, float, bool):
            if nulls:
                present = [kind() if value is None else value for value in values]
            dtype = {int: np.int64, float: np.float64, bool: np.bool_}[kind]
            numbers: Any = np.fromiter(present, dtype=dtype, count=count)
            if kind is bool:
                data = pa.py_buffer(np.packbits(numbers, bitorder="little"))
                return pa.Array.from_buffers(pa.bool_(), count, [validity, data])
            arrow_type = pa.int64() if kind is int else pa.float64()
            return pa.Array.from_buffers(arrow_type, count, [validity, pa.py_buffer(numbers)])
        if kind is list:
            lists = [() if value is None else value for value in values]
            items = _arrow_column(list(itertools.chain.from_iterable(lists)))
            if items is None or pa.types.is_list(items.type):
                return None
            if not len(items):
                items = pa.nulls(0, pa.string())
            offsets = np.zeros(count + 1, dtype=np.int32)
            np.cumsum(np.fromiter(map(len, lists), dtype=np.int32, count=count), out=offsets[1:])
            buffers = [validity, pa.py_buffer(offsets)]
            return pa.Array.from_buffers(pa.list_(items.type), count, buffers, children=[items])
    except (OverflowError, UnicodeEncodeError, ValueError):
        return None  # a number beyond 64 bits, text that is not UTF-8
    return None


def _pyarrow_converts(count: int) -> bool:
    """pyarrow's own conversion is faster for long columns, and costs nothing more once pandas
    is loaded (the larger analyses load it); the type is still the one ``_arrow_column`` found."""
    return "pandas" in sys.modules or count > 100_000


def _arrow_type(kind: type, values: list[Any]) -> Any:
    """The Arrow type of a column whose values (nulls aside) are all of ``kind``."""
    import pyarrow as pa

    plain = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
    if kind in plain:
        return plain[kind]
    if kind is not list:
        return None
    items = set(map(type, itertools.chain.from_iterable(v for v in values if v is not None)))
    items.discard(type(None))
    if len(items) > 1 or items - set(plain):
        return None
    return pa.list_(plain[items.pop()] if items else pa.string())


def _is_none(value: Any) -> bool:
    return value is None


def parts_of(document: Any) -> Parts:
    """A result as its parts: ``[(None, rows)]`` for a list, ``[(name, rows), ...]`` for a dict
    of named row lists (boundaries); rows as Arrow tables where they fit."""
    if isinstance(document, dict):
        return [(name, _arrow_or_rows(rows)) for name, rows in document.items()]
    return [(None, _arrow_or_rows(document))]


def _arrow_or_rows(rows: Any) -> Any:
    if isinstance(rows, list):
        table = as_arrow(rows)
        return rows if table is None else table
    if _is_arrow(rows):
        return as_written(rows)
    return rows


def as_written(table: Any) -> Any:
    """An analysis's Arrow table as ``as_arrow`` gives the same rows, so that every format's
    bytes are the same whichever way the rows came: one chunk (Parquet's row groups follow
    the batches), a column with no value as text, and no rows as no columns (CSV then prints
    an empty header line, as it always has for an empty result)."""
    import pyarrow as pa

    if table.num_rows == 0:
        return pa.Table.from_arrays([], names=[])
    table = table.combine_chunks()
    for index, column in enumerate(table.columns):
        if column.null_count == len(column) and column.type != pa.string():
            field = pa.field(table.field(index).name, pa.string())
            table = table.set_column(index, field, pa.nulls(len(column), pa.string()))
    return table


def _is_arrow(rows: Any) -> bool:
    return hasattr(rows, "to_batches")


def keepable(parts: Parts) -> bool:
    """Every part is an Arrow table (rows of mixed types are not kept)."""
    return all(_is_arrow(rows) for _name, rows in parts)


def write_parts(folder: Path, parts: Parts) -> None:
    """``parts`` (Arrow tables) as ``N.arrow`` files and their names in ``parts.json``."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    codec = "zstd" if pa.Codec.is_available("zstd") else None
    options = ipc.IpcWriteOptions(compression=codec)
    try:
        for index, (_name, table) in enumerate(parts):
            with ipc.new_file(str(folder / f"{index}.arrow"), table.schema, options=options) as out:
                out.write_table(table)
    except pa.ArrowException as exc:
        raise ValueError(str(exc)) from None
    names = [name for name, _rows in parts]
    (folder / PARTS_FILE).write_text(json.dumps(names), encoding="utf-8")


def read_parts(folder: Path) -> Parts:
    """The parts ``write_parts`` wrote (ValueError when they cannot be read)."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    names = json.loads((folder / PARTS_FILE).read_text(encoding="utf-8"))
    parts = []
    try:
        for index, name in enumerate(names):
            with pa.memory_map(str(folder / f"{index}.arrow")) as source:
                parts.append((name, ipc.open_file(source).read_all()))
    except pa.ArrowException as exc:
        raise ValueError(str(exc)) from None
    return parts
