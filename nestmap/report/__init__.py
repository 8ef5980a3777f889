"""The mapping report: findings, sections, options and appendices for the loaded region (or one
local authority), as one self-contained HTML file or an A4 PDF.

``build_report(store, "report.pdf", area=..., scenarios=[...])`` is the one entry point (the
CLI's ``nestmap report`` and the dashboard's download use it); ``report_html`` gives the HTML
as a string.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from nestmap.errors import NoGraphError, UsageError
from nestmap.graph import GraphStore
from nestmap.report.findings import ReportData, collect
from nestmap.report.html import DEFAULT_MAX_ROWS, headings, render
from nestmap.report.pdf import INSTALL_HINT, RendererMissing, find_chromium, write_pdf

__all__ = [
    "DEFAULT_MAX_ROWS",
    "INSTALL_HINT",
    "SUFFIXES",
    "RendererMissing",
    "build_report",
    "find_chromium",
    "pdf_available",
    "report_data",
    "report_html",
    "report_pdf",
]

SUFFIXES = (".html", ".htm", ".pdf")


def pdf_available() -> bool:
    """Whether a PDF can be printed here (a Chromium is installed)."""
    return find_chromium() is not None


def report_data(
    store: GraphStore,
    area: str | None = None,
    scenarios: Sequence[dict[str, Any]] = (),
    shares: dict[str, Decimal] | None = None,
) -> ReportData:
    """Every analysis the report states, for ``area`` (one LA's code) or the whole dataset.
    ``scenarios`` are scenario documents (``nestmap.scenarios.read_scenario``)."""
    if not store.has_graph():
        raise NoGraphError(
            f"no dataset is loaded at {store.location}; load one with `nestmap load PATH`"
        )
    return collect(store, area, scenarios, shares)


def report_html(
    store: GraphStore,
    area: str | None = None,
    scenarios: Sequence[dict[str, Any]] = (),
    shares: dict[str, Decimal] | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> str:
    """The report as one HTML document (a string)."""
    return render(report_data(store, area, scenarios, shares), max_rows)


def report_pdf(
    store: GraphStore,
    out: str | Path,
    area: str | None = None,
    scenarios: Sequence[dict[str, Any]] = (),
    shares: dict[str, Decimal] | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    timeout_s: float | None = None,
) -> None:
    """Print the report to ``out`` (A4, page numbers, a contents page with page numbers)."""
    if not pdf_available():
        raise RendererMissing(INSTALL_HINT)
    data = report_data(store, area, scenarios, shares)
    from datetime import UTC, datetime

    generated = datetime.now(UTC)

    def page(pages: Mapping[str, int] | None) -> str:
        return render(data, max_rows, pages, generated)

    # Printing time grows with the tables: a national report's 650 pages took 50-110 s a pass
    # on a 2-core machine shared with other work. Three minutes, plus 90 s per 1,000 rows a
    # table may hold.
    budget = timeout_s or 180.0 + (max_rows or 30_000) / 1_000 * 90.0
    write_pdf(page, headings(), Path(out), budget)


def build_report(
    store: GraphStore,
    out_path: str | Path,
    area: str | None = None,
    scenarios: Sequence[dict[str, Any] | str | Path] = (),
    shares: dict[str, Decimal] | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> Path:
    """Write the report to ``out_path``: HTML or PDF by its suffix. ``scenarios``: scenario
    documents or the paths of scenario files (YAML or JSON). Returns the path."""
    from nestmap.scenarios import read_scenario

    documents: list[dict[str, Any]] = [
        read_scenario(item) if isinstance(item, str | Path) else item for item in scenarios
    ]
    out = Path(out_path)
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"the report is written as .html or .pdf, not {out.name!r}")
    if suffix == ".pdf":
        report_pdf(store, out, area, documents, shares, max_rows)
        return out
    page = report_html(store, area, documents, shares, max_rows)
    temporary = out.with_name(f".{out.name}.partial")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, out)  # never a half-written report
    return out
