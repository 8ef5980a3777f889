"""Arrow arrays to and from numpy without pyarrow's conversions of Python or numpy values.

pyarrow's conversions (``pa.array`` of a list or of a numpy array, ``np.asarray`` or
``to_numpy`` of an Arrow array, a Python scalar passed to a compute function) import pandas to
check for its types: 0.2-0.4 s of a command line analysis that answers in about a second.
These helpers build arrays from their buffers and read buffers as numpy views instead.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any


def combined(array: Any) -> Any:
    """One Arrow array (a chunked array's chunks concatenated; one chunk as it is)."""
    if not hasattr(array, "combine_chunks"):
        return array
    return array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()


def valid(array: Any) -> Any:
    """Per element of an Arrow array, is it not null (numpy bool)."""
    import numpy as np

    array = combined(array)
    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    if array.null_count == len(array):  # also a column typed null (built from rows: Neo4j)
        return np.zeros(len(array), dtype=bool)
    return _bits(array.buffers()[0], array.offset, len(array))


def truths(array: Any) -> Any:
    """A boolean Arrow array as numpy bools, null as false."""
    import numpy as np

    array = combined(array)
    if array.null_count == len(array):
        return np.zeros(len(array), dtype=bool)
    values = _bits(array.buffers()[1], array.offset, len(array))
    return values & valid(array) if array.null_count else values


def integers(array: Any, null: int = -1) -> Any:
    """An integer Arrow array as numpy int64, null as ``null``."""
    import numpy as np
    import pyarrow as pa

    array = combined(array)
    if array.null_count == len(array):  # none, or only nulls (perhaps typed null)
        return np.full(len(array), null, dtype=np.int64)
    if not pa.types.is_int64(array.type):
        array = array.cast(pa.int64())
    values = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + len(array)
    ]
    if array.null_count:
        values = np.where(valid(array), values, np.int64(null))
    return values


def int64s(values: Any, present: Any = None) -> Any:
    """numpy integers as an Arrow int64 array; ``present`` (numpy bools): null where false."""
    import numpy as np
    import pyarrow as pa

    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(
        pa.int64(), len(values), [_validity(present), pa.py_buffer(values)]
    )


def float64s(values: Any, present: Any = None) -> Any:
    """numpy numbers as an Arrow float64 array; ``present`` (numpy bools): null where false."""
    import numpy as np
    import pyarrow as pa

    values = np.ascontiguousarray(values, dtype=np.float64)
    return pa.Array.from_buffers(
        pa.float64(), len(values), [_validity(present), pa.py_buffer(values)]
    )


def bools(values: Any) -> Any:
    """numpy bools as an Arrow boolean array (no nulls)."""
    import numpy as np
    import pyarrow as pa

    values = np.asarray(values, dtype=bool)
    data = pa.py_buffer(np.packbits(values, bitorder="little"))
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, data])


def strings(values: Sequence[str | None]) -> Any:
    """Python strings (None: null) as an Arrow string array."""
    import numpy as np
    import pyarrow as pa

    encoded = [b"" if value is None else value.encode() for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(item) for item in encoded], out=offsets[1:])
    present = np.fromiter((value is not None for value in values), bool, len(values))
    buffers = [_validity(present), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.large_string(), len(encoded), buffers).cast(pa.string())


@functools.lru_cache(maxsize=64)
def text(value: str) -> Any:
    """A string constant as an Arrow scalar."""
    return strings([value])[0]


def string_lists(lengths: Any, items: Any, present: Any = None) -> Any:
    """An Arrow ``list<string>`` array: row i holds the next ``lengths[i]`` of ``items``;
    ``present`` (numpy bools): a null list where false."""
    import numpy as np
    import pyarrow as pa

    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    items = combined(items)
    if not pa.types.is_string(items.type):
        items = items.cast(pa.string())
    buffers = [_validity(present), pa.py_buffer(offsets)]
    return pa.Array.from_buffers(pa.list_(pa.string()), len(lengths), buffers, children=[items])


def position(values: Any, of: Any) -> Any:
    """Each value's position in the Arrow array ``of`` (numpy int64); -1 where absent."""
    import pyarrow.compute as pc

    return integers(pc.index_in(values, value_set=combined(of)))


def take(array: Any, indices: Any) -> Any:
    """``array`` (Arrow) at the numpy ``indices``."""
    return array.take(int64s(indices))


def _bits(buffer: Any, offset: int, count: int) -> Any:
    import numpy as np

    bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little")
    return bits[offset : offset + count].astype(bool)


def _validity(present: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    if present is None:
        return None
    present = np.asarray(present, dtype=bool)
    if present.all():
        return None
    return pa.py_buffer(np.packbits(present, bitorder="little"))
