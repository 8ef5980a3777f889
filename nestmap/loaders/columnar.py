"""A large clean table checked column by column (Arrow) instead of row by row.

A national dataset's ``referrals.csv`` has a million rows; reading, checking and turning each
into Python objects one at a time was three quarters of ``nestmap load``. Here a table that is
plainly clean is read by Arrow's CSV reader and checked with Arrow's kernels, one column at a
time, by the same rules (the column's parser says which: ``Column.parse.arrow``), and reaches
the graph as an Arrow table (``ReferralTable``). Whatever this path cannot be sure of gives it
up for the row-by-row one, which reports every problem with its row and column as always:

- the file must be one the two readers cannot read differently: no quote character, no carriage
  return, no blank line, the header exactly the schema's columns; and hold no character a cell
  may not (a control character: the row-by-row reading says where);
- any cell breaking a bound or a rule (a control character, a blank required cell, a value not
  of its column's kind, a row of the wrong width) gives the table up;
- so do the rules across rows (``referrals``): an unknown service, a service referring to
  itself, the same link and reason twice.

So the answer is the same either way: every valid dataset loads to the same graph, every
invalid one is reported by the row-by-row checks (tests/test_loader.py checks both paths).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nestmap.loaders import limits
from nestmap.loaders.dataset import Referral
from nestmap.vocabulary import DEFAULT_COUNT_BASIS

# What ``str.strip()`` removes: every character ``str.isspace()`` is true of.
_WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())


class ColumnarRows:
    """A table's cells, each already checked against its column's own rule: Arrow columns of
    the parsed values (text stripped, whole numbers as int64, blanks as null); row ``i`` is
    the file's row ``i + 2`` (the header is row 1)."""

    def __init__(self, label: str, table: Any):
        self.label = label
        self.table = table

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def as_rows(self) -> list[Any]:
        """The rows as the row-by-row checks take them (``validate.Row``)."""
        from nestmap.loaders.validate import Row

        return [
            Row(self.label, number, values)
            for number, values in enumerate(self.table.to_pylist(), start=2)
        ]


def parse_table(table: Any, schema: dict[str, Any]) -> ColumnarRows | None:
    """``table`` (a ``RawTable`` read from a CSV file) checked column by column, when every
    cell passes its column's rule and nothing about the file could be read two ways; None
    otherwise (the row-by-row checks then read it)."""
    file: Path | None = getattr(table, "file", None)
    # Every required column once; an optional column left out reads as blank in every row.
    needed = {name for name, column in schema.items() if not column.optional_column}
    if (
        file is None
        or not needed <= set(table.header) <= set(schema)
        or len(set(table.header)) != len(table.header)
    ):
        return None
    try:
        data = file.read_bytes()
    except OSError:
        return None
    data = data.removeprefix(b"\xef\xbb\xbf")
    if not _plain(data, table.header):
        return None
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        found = pcsv.read_csv(
            pa.py_buffer(data),
            read_options=pcsv.ReadOptions(block_size=1 << 24),
            parse_options=pcsv.ParseOptions(quote_char=False, newlines_in_values=False),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in table.header},
                strings_can_be_null=False,
                check_utf8=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None  # a row of the wrong width, text that is not UTF-8: the rows will say
    if found.num_rows > limits.MAX_ROWS or found.column_names != table.header:
        return None
    columns = {}
    for name, column in schema.items():
        if name not in found.column_names:  # an optional column the file leaves out
            columns[name] = pa.nulls(found.num_rows, _arrow_type(column))
            continue
        parsed = _column(found.column(name).combine_chunks(), column)
        if parsed is None:
            return None
        columns[name] = parsed
    parsed_table = pa.table(columns)
    if found.num_rows and _blank_rows(parsed_table):
        return None
    return ColumnarRows(table.label, parsed_table)


def _plain(data: bytes, header: list[str]) -> bool:
    """The bytes hold nothing two CSV readers could read differently (a quote, a carriage
    return, a blank line) nor a character a cell may not hold (a control character other
    than tab, U+FFFE, U+FFFF), and no line is longer than the loader's bound; the first line
    is the header as it was read. One pass of numpy over the bytes."""
    if b'"' in data or b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data:
        return False
    import numpy as np

    octets = np.frombuffer(data, dtype=np.uint8)
    controls = np.flatnonzero(octets < 0x20)
    kinds = octets[controls]
    line_end = kinds == 10
    if not np.all(line_end | (kinds == 9)):
        return False  # a carriage return, or a control character a cell may not hold
    bounds = np.concatenate(([-1], controls[line_end], [len(data)]))
    lengths = np.diff(bounds)[:-1] if data.endswith(b"\n") else np.diff(bounds)
    if len(lengths) and (lengths.min() <= 1 or lengths.max() > limits.MAX_LINE_BYTES):
        return False  # a blank line, or one longer than the bound
    first = int(bounds[1]) if len(bounds) > 2 else len(data)
    return data[:first].decode("utf-8", "replace").split(",") == header


def _column(raw: Any, column: Any) -> Any:
    """One column's cells parsed by its rule, or None when any cell breaks it (or a bound)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(raw) and pc.max(pc.utf8_length(raw)).as_py() > limits.MAX_CELL_CHARS:
        return None
    text = pc.utf8_trim(raw, characters=_WHITESPACE)
    blank = pc.equal(pc.utf8_length(text), 0)
    if pc.any(blank).as_py():
        if column.required:
            return None
        text = pc.if_else(blank, pa.scalar(None, pa.string()), text)
    rule: tuple[Any, ...] = getattr(column.parse, "arrow", ("text",))
    present = pc.drop_null(text)
    if rule[0] == "text":
        return text
    if rule[0] == "enum":
        known = pa.array(rule[1], pa.string())
        return text if pc.all(pc.is_in(present, value_set=known)).as_py() is not False else None
    if rule[0] == "integer":
        low, high = rule[1], rule[2]
        digits = pc.match_substring_regex(present, f"^[0-9]{{1,{len(str(high))}}}$")
        if pc.all(digits).as_py() is False:
            return None
        numbers = pc.cast(text, pa.int64())
        inside = pc.and_(pc.greater_equal(numbers, low), pc.less_equal(numbers, high))
        return numbers if pc.all(pc.drop_null(inside)).as_py() is not False else None
    return None  # a rule with no column-wise form (lists, booleans, numbers): row by row


def _arrow_type(column: Any) -> Any:
    """The Arrow type of a column's parsed cells (whole numbers, else text)."""
    import pyarrow as pa

    rule: tuple[Any, ...] = getattr(column.parse, "arrow", ("text",))
    return pa.int64() if rule[0] == "integer" else pa.string()


def _blank_rows(table: Any) -> bool:
    """Some row has every cell blank (the row-by-row reading skips such a row)."""
    import pyarrow.compute as pc

    empty = None
    for column in table.columns:
        missing = pc.is_null(column)
        empty = missing if empty is None else pc.and_(empty, missing)
    return bool(pc.any(empty).as_py())


def referrals(rows: ColumnarRows, services: Any) -> ReferralTable | None:
    """The referral links, when no link breaks a rule across rows (its two services known,
    not the same, no second row for the same link and reason); None otherwise (the row-by-row
    checks then report them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = rows.table
    if table.num_rows == 0:
        return ReferralTable(table)
    known = pa.array(list(services), pa.string())
    # Each link as numbers: its services' places among the known ones (null: unknown), its
    # reason's place among the reasons; one whole number per link and reason.
    ends = [
        pc.index_in(table.column(end), value_set=known) for end in ("from_service", "to_service")
    ]
    if any(end.null_count for end in ends) or pc.any(pc.equal(*ends)).as_py():
        return None
    reasons = pc.unique(table.column("reason"))
    reason = pc.index_in(table.column("reason"), value_set=reasons)
    key = pc.add(
        pc.multiply(
            pc.add(pc.multiply(pc.cast(ends[0], pa.int64()), len(known)), ends[1]), len(reasons)
        ),
        reason,
    )
    if pc.count_distinct(key).as_py() != table.num_rows:
        return None
    if "count_basis" in table.column_names:  # a blank unit (or no column) is per_year
        basis = pc.fill_null(table.column("count_basis"), DEFAULT_COUNT_BASIS)
        table = table.set_column(table.column_names.index("count_basis"), "count_basis", basis)
    return ReferralTable(table)


class ReferralTable(Sequence[Referral]):
    """Validated referral links as one Arrow table (a column per field of ``Referral``): the
    graph is written from the table as it is, and a ``Referral`` is built only for a caller
    that reads the links one by one."""

    def __init__(self, table: Any):
        self.table = table

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same links in the same order."""
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment] # (a sequence of links, like a list)

    def __iter__(self) -> Iterator[Referral]:
        for row in self.table.to_pylist():
            yield Referral(**row)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return Referral(**self.table.slice(index, 1).to_pylist()[0])
