"""Coverage: level x stage x focus per local authority, gaps where nothing specialised serves."""

from typing import Any

import pandas as pd
import streamlit as st

from nestmap.dashboard import figures, layout, state, tables
from nestmap.dashboard.figures import coverage_cells
from nestmap.vocabulary import FOCUSES, LEVELS, STAGES

chosen = layout.start(
    "Coverage",
    "For each local authority: which levels of need and stages have services whose work "
    "directly addresses the parent-infant relationship (specialised), and which have only "
    "wider work (non-specialised). A **gap** is a cell with no specialised service. Hover a "
    "cell for its services.",
    "coverage",
)
layout.filter_note(chosen, ("la", "level", "stage", "focus"))
rows = state.gaps(chosen.la)
names = state.service_names()
levels = [chosen.level] if chosen.level else list(LEVELS)
stages = [chosen.stage] if chosen.stage else list(STAGES)
focuses = [chosen.focus] if chosen.focus else list(FOCUSES)
shown = [r for r in rows if r["level"] in levels and r["stage"] in stages]

areas = sorted({r["area_code"] for r in shown})
many = len(areas) > figures.PANELS_AT_MOST
if shown and many:
    grid, count = figures.coverage_overview(shown, levels, stages, focuses)
    st.info(
        f"{count:,} local authorities: {figures.rows_shown(count)}, the most gaps first. "
        "Pick one in the sidebar to see its services, or use the matrix below: it has them all."
    )
    st.html(grid.html(chosen.present))
elif shown:
    figure = figures.coverage_heatmap(shown, names, levels, stages, focuses, chosen.present)
    st.plotly_chart(figure, width="stretch", config={"displaylogo": False})
if shown:
    st.caption(
        (
            "Rows: local authorities; columns: level x stage x focus"
            if many
            else "Columns: stage x focus"
        )
        + " (spec. = specialised, non-spec. = non-specialised). "
        "Red: gap (no specialised service) · teal: specialised services (count) · "
        "light blue: non-specialised services (count) · grey: none."
    )

st.subheader("Matrix")


def coverage_tables(filters: tuple[Any, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The matrix, and every cell with its services, for the filters (the key they are kept
    under per dataset version: a national dataset has 3,200 cells of hundreds of services)."""
    matrix: dict[tuple[str, str], dict[str, str]] = {}
    for row in shown:
        entry = matrix.setdefault(
            (row["area_code"], row["level"]),
            {"area_code": row["area_code"], "area_name": row["area_name"], "level": row["level"]},
        )
        for focus in focuses:
            entry[f"{row['stage']} {focus}"] = coverage_cells(row, focus)[1]
    detail = [
        {
            **{k: r[k] for k in ("area_code", "area_name", "level", "stage", "gap")},
            "specialised_services": r["specialised_services"],
            "non_specialised_services": coverage_cells(r, "non_specialised")[2],
        }
        for r in shown
    ]
    return tables.frame(matrix.values()), tables.frame(detail)


filters = (chosen.la, tuple(levels), tuple(stages), tuple(focuses))
matrix, detail = state.kept(
    "coverage.tables", filters, lambda: coverage_tables(filters), disk=state.default_view()
)
tables.show(matrix, "coverage_matrix")
# Drawn when asked for: a page of a thousand cells, each listing services, was the largest part
# of what this page sent the browser at national scale (and an expander sends it closed too).
if st.toggle(f"Every cell with its services ({len(detail):,} cells)", key="coverage_cells_on"):
    tables.show(detail, "coverage_cells")

st.subheader("By the child's age")
if not chosen.present:
    st.caption(
        "Specialised help after birth by the child's age in months (0-5, 6-11, 12-17, 18-23): a "
        "service counts for an age band when its age range overlaps it (no age limit recorded: "
        "any age). The matrix above counts a service for babies up to one month as covering "
        "the whole postnatal stage; this shows where help stops at six months, one year or "
        "eighteen months. Red: no specialised service for children of that age."
    )
if chosen.stage == "antenatal":
    st.info("Age bands are after birth: choose the postnatal stage (or none) to see them.")
elif not layout.warming(("age-bands",)):
    by_age = [r for r in state.age_bands(chosen.la) if r["level"] in levels]
    if by_age and len({r["area_code"] for r in by_age}) > figures.PANELS_AT_MOST:
        grid, count = figures.age_band_overview(by_age, state.area_names(), levels)
        st.info(
            f"{count:,} local authorities: {figures.rows_shown(count)}, the most age bands "
            "without a specialised service first. The table below has them all."
        )
        st.html(grid.html(chosen.present))
    elif by_age:
        figure = figures.age_band_heatmap(by_age, state.area_names(), names, levels, chosen.present)
        st.plotly_chart(figure, width="stretch", config={"displaylogo": False})
    tables.show(tables.frame(by_age), "age_bands")

st.subheader("Dads and partners")
if not chosen.present:
    st.caption(
        "Services recorded as supporting fathers and partners, per local authority (the report "
        "found little or none); most services have not recorded it."
    )
if not layout.warming(("groups-left-out",)):
    tables.show(tables.frame(state.groups_left_out(chosen.la)), "groups_left_out")
