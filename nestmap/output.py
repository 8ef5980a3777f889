"""Render analysis rows as a terminal table, CSV or JSON (docs/analyses.md, "Output")."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

FORMATS = ("table", "json", "csv")


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
