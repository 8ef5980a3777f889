"""The dashboard's page results kept on disk for the graph: Arrow and JSON, never pickles.

A national dataset's pages derive large tables and drawings from the kept answers (the
Referrals page's 4 x 10^5 misdirected links with names, the Network's drawing); a new server
(a restart, a second worker, the first visitor after the warm-up) reads them back instead of
recomputing them. Only a page's **default view** (no slider moved, no filter beyond the local
authority) is written here (``nestmap.dashboard.state`` decides, and keeps every other view in
memory only); the folder, ``dashboard/`` in the graph's folder of this user's cache, is a
``nestmap.answers.keep.Shelf``: per dataset and code version, under a size cap (the graph's own
size), least recently used first out.

A result is written as ``value.json`` (the structure: numbers, text, lists, and tagged
tuples, sets, mappings and the dataclasses registered with ``keepable``) beside one Arrow IPC
file per table (``pyarrow.Table``, pandas ``DataFrame`` and ``Series``). Reading parses JSON
and Arrow, nothing else: a file planted in the folder (a pickle, anything) can at worst fail
to parse, never run. A value is written only when reading it back gives the same value (same
types, same cells); any other value stays in memory.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, TypeVar

SUFFIX = ".dashboard"
VALUE = "value.json"
# The dataclasses a kept value may hold, by name (registered where they are defined).
KEEPABLE: dict[str, type] = {}
_Class = TypeVar("_Class", bound=type)


def keepable(cls: _Class) -> _Class:
    """Register a dataclass (fields of keepable values) so that kept results may hold it."""
    KEEPABLE[cls.__qualname__] = cls
    return cls


class Unkeepable(ValueError):
    """A value this module cannot write exactly: it stays in memory."""


def write(folder: Path, value: Any) -> None:
    """Write ``value`` into ``folder`` (Unkeepable when it cannot be written exactly)."""
    tables: list[Any] = []
    document = _encode(value, tables)
    for index, table in enumerate(tables):
        _write_table(folder / f"{index}.arrow", table)
    try:
        text = json.dumps(document, ensure_ascii=True)
    except (TypeError, ValueError) as exc:
        raise Unkeepable(str(exc)) from None
    (folder / VALUE).write_text(text, encoding="ascii")
    if not same(read(folder), value):
        raise Unkeepable("the value read back differs")


def read(folder: Path) -> Any:
    """The value ``write`` wrote into ``folder`` (ValueError when it cannot be read)."""
    document = json.loads((folder / VALUE).read_text(encoding="ascii"))
    return _decode(document, folder)


# -- the structure ---------------------------------------------------------------------------
def _encode(value: Any, tables: list[Any]) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return {"float": repr(value)}  # inf and NaN too, exactly
    if type(value) is list:
        return [_encode(item, tables) for item in value]
    if type(value) in (tuple, set, frozenset):
        kind = type(value).__name__
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return {kind: [_encode(item, tables) for item in items]}
    if type(value) is dict:
        return {"dict": [[_encode(k, tables), _encode(v, tables)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__qualname__
        if KEEPABLE.get(name) is not type(value):
            raise Unkeepable(f"{name} is not registered as keepable")
        fields = dataclasses.fields(value)
        encoded = {field.name: _encode(getattr(value, field.name), tables) for field in fields}
        return {"object": [name, encoded]}
    table = _table_kind(value)
    if table is None:
        raise Unkeepable(f"cannot keep a {type(value).__name__}")
    tables.append(_as_table(value, table))
    if table == "series":  # its name beside it (a table's columns are named by text)
        return {table: [len(tables) - 1, _encode(value.name, tables)]}
    return {table: len(tables) - 1}


def _decode(document: Any, folder: Path) -> Any:
    if isinstance(document, list):
        return [_decode(item, folder) for item in document]
    if not isinstance(document, dict):
        return document
    if len(document) != 1:
        raise ValueError("not a kept value")
    ((kind, body),) = document.items()
    if kind == "float":
        return float(body)
    if kind in ("tuple", "set", "frozenset"):
        items = [_decode(item, folder) for item in body]
        return {"tuple": tuple, "set": set, "frozenset": frozenset}[kind](items)
    if kind == "dict":
        return {_decode(k, folder): _decode(v, folder) for k, v in body}
    if kind == "object":
        name, fields = body
        cls = KEEPABLE.get(name)
        if cls is None:
            raise ValueError(f"{name} is not keepable")
        return cls(**{key: _decode(value, folder) for key, value in fields.items()})
    if kind == "series":
        series = _from_table(_read_table(folder / f"{int(body[0])}.arrow"), kind)
        series.name = _decode(body[1], folder)
        return series
    if kind in ("arrow", "frame"):
        return _from_table(_read_table(folder / f"{int(body)}.arrow"), kind)
    raise ValueError(f"not a kept value: {kind}")


# -- tables ----------------------------------------------------------------------------------
def _table_kind(value: Any) -> str | None:
    module = type(value).__module__
    if module.startswith("pyarrow") and type(value).__name__ == "Table":
        return "arrow"
    if module.startswith("pandas"):
        return {"DataFrame": "frame", "Series": "series"}.get(type(value).__name__)
    return None


def _as_table(value: Any, kind: str) -> Any:
    if kind == "arrow":
        return value
    import pyarrow as pa

    frame = value.to_frame(name="values") if kind == "series" else value
    try:
        return pa.Table.from_pandas(frame)  # a RangeIndex as metadata, others as columns
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise Unkeepable(str(exc)) from None


def _from_table(table: Any, kind: str) -> Any:
    if kind == "arrow":
        return table
    import pyarrow as pa

    lists = [
        field.name
        for field in table.schema
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type)
    ]
    frame = table.to_pandas()
    for name in lists:  # lists as Python lists (pandas would make numpy arrays of them)
        frame[name] = table.column(name).to_pylist()
    return frame.iloc[:, 0] if kind == "series" else frame


def _write_table(file: Path, table: Any) -> None:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    codec = "zstd" if pa.Codec.is_available("zstd") else None
    try:
        options = ipc.IpcWriteOptions(compression=codec)
        with ipc.new_file(str(file), table.schema, options=options) as out:
            out.write_table(table)
    except pa.ArrowException as exc:
        raise Unkeepable(str(exc)) from None


def _read_table(file: Path) -> Any:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        with pa.memory_map(str(file)) as source:
            return ipc.open_file(source).read_all()
    except pa.ArrowException as exc:
        raise ValueError(str(exc)) from None


# -- the same value --------------------------------------------------------------------------
# Leaves compared as they are (``same`` checked their types are the same).
_PLAIN = frozenset({str, int, bool, type(None), bytes})


def same(one: Any, other: Any) -> bool:
    """``one`` and ``other`` are the same value: the same types all the way down, the same
    cells (NaN the same as NaN), the same order."""
    if type(one) is not type(other):
        return False
    if type(one) in _PLAIN:  # most cells: no need to ask what else they might be
        return bool(one == other)
    if isinstance(one, float):
        return one == other or (math.isnan(one) and math.isnan(other))
    if isinstance(one, list | tuple):
        return len(one) == len(other) and all(map(same, one, other))
    if isinstance(one, dict):
        return list(one) == list(other) and all(same(one[key], other[key]) for key in one)
    if dataclasses.is_dataclass(one):
        return all(
            same(getattr(one, f.name), getattr(other, f.name)) for f in dataclasses.fields(one)
        )
    kind = _table_kind(one)
    if kind == "arrow":
        return bool(one.equals(other, check_metadata=True))
    if kind in ("frame", "series"):
        return _same_frame(one, other)
    return bool(one == other)


def _same_frame(one: Any, other: Any) -> bool:
    if hasattr(one, "columns"):
        if list(one.columns) != list(other.columns) or list(one.dtypes) != list(other.dtypes):
            return False
    elif one.name != other.name or one.dtype != other.dtype:
        return False
    if type(one.index) is not type(other.index) or not one.index.equals(other.index):
        return False
    return bool(one.equals(other)) and _same_cells(one, other)


def _same_cells(one: Any, other: Any) -> bool:
    """Object cells hold the same Python types (``equals`` takes 1 for 1.0 and a tuple for a
    list); a column of text alone needs no second look (one pass of pandas' type check)."""
    from pandas.api.types import infer_dtype

    frames = (one, other) if hasattr(one, "columns") else (one.to_frame(), other.to_frame())
    for index in range(frames[0].shape[1]):
        left, right = frames[0].iloc[:, index], frames[1].iloc[:, index]
        if left.dtype != object:
            continue
        kind = infer_dtype(left, skipna=True)
        if kind != infer_dtype(right, skipna=True):
            return False
        if kind not in ("string", "empty") and not all(map(same, left.tolist(), right.tolist())):
            return False
    return True
