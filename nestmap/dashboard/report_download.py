"""The Overview's "Download the report" (HTML and PDF): the mapping report of the current
local authority filter, with the scenarios this session has run on the Scenarios page.

The report itself is ``nestmap.report``; this module only keeps the scenarios run, and builds
the files on demand (the PDF behind a button: printing takes seconds), each as one of the
server's expensive actions (nestmap.dashboard.budget).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from nestmap import analysis
from nestmap.dashboard import budget, state, tables
from nestmap.dashboard.text import md
from nestmap.errors import BusyError, NestmapError

_SCENARIOS = "report_scenarios"
_PDF = "report_pdf"
MAX_SCENARIOS = 6


def remember_scenario(document: dict[str, Any]) -> None:
    """Keep a scenario this session has run (the latest run of each name) for the report."""
    kept: dict[str, str] = st.session_state.setdefault(_SCENARIOS, {})
    name = str(document.get("name") or "scenario")
    kept.pop(name, None)
    kept[name] = json.dumps(document, default=str, sort_keys=True)
    while len(kept) > MAX_SCENARIOS:
        kept.pop(next(iter(kept)))


def scenarios_run() -> list[str]:
    """The scenarios kept for the report, as JSON documents, oldest first."""
    return list(st.session_state.get(_SCENARIOS, {}).values())


def _shares() -> Any:
    shares = st.session_state.get("need_shares")
    return analysis.parse_shares(*shares) if shares else None


@st.cache_data(show_spinner=False, max_entries=16)
def _html(key: str, area: str | None, documents: tuple[str, ...], shares: Any) -> bytes:
    from nestmap.report import report_html

    parsed = analysis.parse_shares(*shares) if shares else None
    scenarios = [json.loads(text) for text in documents]
    return report_html(state.store(), area, scenarios, parsed).encode("utf-8")


def _pdf(area: str | None, documents: tuple[str, ...]) -> bytes:
    from nestmap.report import report_pdf

    scenarios = [json.loads(text) for text in documents]
    with tempfile.TemporaryDirectory(prefix="nestmap-report-") as folder:
        out = Path(folder) / "report.pdf"
        report_pdf(state.store(), out, area, scenarios, _shares())
        return out.read_bytes()


def _file_stem(area: str | None) -> str:
    return f"nestmap-report-{area}" if area else "nestmap-report"


def download_block(area: str | None) -> None:
    """The Overview's "Download the report" block."""
    from nestmap.report import INSTALL_HINT, pdf_available

    st.subheader("Download the report", anchor=False)
    documents = tuple(scenarios_run())
    names = [str(json.loads(text).get("name") or "scenario") for text in documents]
    name = state.area_names().get(area, area) if area else None
    scope = f"{md(name)} ({md(area)})" if area else "the whole dataset"
    options = (
        "with the options run on the Scenarios page: " + ", ".join(md(name) for name in names)
        if names
        else "with no options (run a scenario on the Scenarios page to include it)"
    )
    st.caption(
        f"The mapping report of {scope}, {options}: findings, coverage, referral flows, need "
        "against capacity, and every service mapped, in one file to circulate."
    )
    shares = st.session_state.get("need_shares")
    key = state.dataset_key()
    stem = _file_stem(area)
    row = st.container(horizontal=True)
    tables.download(
        row,
        "Report (HTML)",
        lambda: _html(key, area, documents, tuple(shares) if shares else None),
        f"{stem}.html",
        key="report_html",
    )
    if not pdf_available():
        st.info(f"The PDF needs Chromium on the server: {INSTALL_HINT.split(': ', 1)[1]}.")
        return
    wanted = (key, area, documents, tuple(shares) if shares else None)
    ready = st.session_state.get(_PDF)
    if ready is not None and ready[0] == wanted:
        row.download_button(
            "Report (PDF)",
            data=ready[1],
            file_name=f"{stem}.pdf",
            mime="application/pdf",
            key="report_pdf_download",
            on_click="ignore",
            icon=":material/download:",
        )
        return
    if row.button("Prepare the PDF", key="report_pdf_prepare", icon=":material/picture_as_pdf:"):
        try:
            # One of the server's expensive actions: a print is a chromium of ~150 MB.
            with budget.action("Printing the report"), st.spinner("Printing the report to PDF..."):
                st.session_state[_PDF] = (wanted, _pdf(area, documents))
        except BusyError as exc:
            st.warning(f"Busy: {md(exc)}.")
            return
        except NestmapError as exc:
            st.error(f"The PDF could not be made: {md(exc)}")
            return
        st.rerun()
