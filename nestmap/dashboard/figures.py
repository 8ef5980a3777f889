"""Plotly figures built from analysis rows (no queries here), and the coverage overview of many
local authorities as an HTML table (``Grid``). Rendered by plotly's own bundle: no tiles, no
CDN. Every label from the dataset is escaped (see ``text``)."""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nestmap import colours, units
from nestmap.dashboard.text import esc, html_list, name_of, share_text
from nestmap.vocabulary import DEFAULT_COUNT_BASIS, STAGES

Row = dict[str, Any]

# Cell states of the coverage matrix, in colour-scale order.
GAP, SPECIALISED, NON_SPECIALISED, NONE = 0, 1, 2, 3
CELL_COLOURS = colours.PALETTES["coverage cells"]
LEVEL_COLOURS = colours.LEVEL_COLOURS
MAX_COVERAGE_PANELS = 24
# Above this many local authorities the Coverage page draws one row per LA in one heatmap, not a
# panel each: 48 panels (two figures of 24) took chromium 6-8 s to draw at national scale.
PANELS_AT_MOST = 12
# The rows of that one heatmap: the local authorities with the most gaps, at most this many.
OVERVIEW_ROWS = 40


def discrete_scale(colours: tuple[str, ...]) -> list[list[Any]]:
    step = 1 / len(colours)
    scale: list[list[Any]] = []
    for i, colour in enumerate(colours):
        scale += [[i * step, colour], [(i + 1) * step, colour]]
    return scale


def coverage_cells(row: Row, focus: str) -> tuple[int, str, list[str]]:
    """State, short text and the services of one (LA, level, stage) row for a focus."""
    specialised = row["specialised_services"]
    if focus == "specialised":
        return (
            (GAP, "gap", [])
            if not specialised
            else (SPECIALISED, str(len(specialised)), specialised)
        )
    left = set(specialised)  # (a national cell lists hundreds of services of each focus)
    others = [s for s in row["any_services"] if s not in left]
    return (NONE, "none", []) if not others else (NON_SPECIALISED, str(len(others)), others)


def _by_area(rows: list[Row]) -> dict[str, list[Row]]:
    areas: dict[str, list[Row]] = {}
    for row in rows:
        areas.setdefault(row["area_code"], []).append(row)
    return areas


_PER_ROW = 4


def _grid(panels: int) -> tuple[int, int]:
    """(panels to a row, rows of panels) for ``panels`` local authorities."""
    per_row = min(_PER_ROW, max(1, panels))
    return per_row, math.ceil(panels / per_row) or 1


def _panels(titles: list[str]) -> go.Figure:
    """One panel per local authority, four to a row, sharing the level axis."""
    per_row, grid_rows = _grid(len(titles))
    return make_subplots(
        rows=grid_rows,
        cols=per_row,
        subplot_titles=titles,
        shared_yaxes=True,
        horizontal_spacing=0.03,
        vertical_spacing=0.12 if grid_rows > 1 else 0.0,
    )


def _cell_trace(
    z: list[list[int]],
    x: list[str],
    levels: list[str],
    text: list[list[str]],
    hover: list[list[str]],
    present: bool,
) -> go.Heatmap:
    """A panel's cells coloured by state (gap, specialised, ...), labelled, with hover text."""
    return go.Heatmap(
        z=z,
        x=x,
        y=levels,
        text=text,
        customdata=hover,
        texttemplate="%{text}",
        textfont={"size": 18 if present else 13},
        hovertemplate="%{customdata}<extra></extra>",
        colorscale=discrete_scale(CELL_COLOURS),
        zmin=-0.5,
        zmax=3.5,
        showscale=False,
        xgap=2,
        ygap=2,
    )


def _add_panel(fig: go.Figure, index: int, panels: int, trace: go.Heatmap) -> None:
    per_row, _ = _grid(panels)
    fig.add_trace(trace, row=index // per_row + 1, col=index % per_row + 1)


def _finished(fig: go.Figure, levels: int, panels: int, present: bool) -> go.Figure:
    _, grid_rows = _grid(panels)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        height=max(260, 70 * levels + 90) * grid_rows,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        font={"size": 16 if present else 12},
    )
    return fig


def coverage_heatmap(
    rows: list[Row],
    names: dict[str, str],
    levels: list[str],
    stages: list[str],
    focuses: list[str],
    present: bool = False,
) -> go.Figure:
    """One level x (stage, focus) panel per LA, side by side, four to a row."""
    areas = _by_area(rows)
    codes = list(areas)[:MAX_COVERAGE_PANELS]
    fig = _panels([esc(areas[code][0]["area_name"]) for code in codes])
    columns = [(stage, focus) for stage in stages for focus in focuses]
    short = {"specialised": "spec.", "non_specialised": "non-spec."}
    x_labels = [f"{stage}<br>{short[focus]}" for stage, focus in columns]
    for index, code in enumerate(codes):
        by_cell = {(r["level"], r["stage"]): r for r in areas[code]}
        z, text, hover = [], [], []
        for level in levels:
            z_row, text_row, hover_row = [], [], []
            for stage, focus in columns:
                state, label, services = coverage_cells(by_cell[(level, stage)], focus)
                z_row.append(state)
                text_row.append(label)
                service_names = [name_of(s, names) for s in services]
                hover_row.append(
                    f"<b>{esc(areas[code][0]['area_name'])}</b><br>{level} · {stage} · "
                    f"{focus.replace('_', '-')}: <b>{label}</b><br>"
                    + html_list(service_names, empty="no services")
                )
            z.append(z_row)
            text.append(text_row)
            hover.append(hover_row)
        _add_panel(fig, index, len(codes), _cell_trace(z, x_labels, levels, text, hover, present))
    return _finished(fig, len(levels), len(codes), present)


def _worst_first(areas: dict[str, list[Row]]) -> list[str]:
    """The codes of ``areas`` (rows by LA) with the most gap rows first (ties by code), at most
    ``OVERVIEW_ROWS``."""
    gaps = {code: sum(row["gap"] for row in rows) for code, rows in areas.items()}
    return sorted(gaps, key=lambda code: (-gaps[code], code))[:OVERVIEW_ROWS]


def rows_shown(count: int) -> str:
    """What an overview of ``count`` local authorities shows, in words."""
    if count <= OVERVIEW_ROWS:
        return "one row each"
    return f"a row each for {OVERVIEW_ROWS} of them"


def _row_labels(codes: list[str], names: dict[str, str]) -> list[str]:
    """LA names for the rows (as they are: ``Grid.html`` escapes them); a name two LAs share
    gets their codes."""
    shown = [names.get(code) or code for code in codes]
    repeated = {name for name, times in Counter(shown).items() if times > 1}
    return [
        f"{name} ({code})" if name in repeated else name
        for name, code in zip(shown, codes, strict=True)
    ]


@dataclass(frozen=True)
class Grid:
    """Many local authorities at a glance: a row each, a column per level x stage x focus (or
    level x age band), each cell coloured by its state (``GAP``, ``SPECIALISED``, ...) and
    labelled. Drawn as an HTML table (``html``), not a chart: a chart's 1,280 labelled cells
    took chromium one to two seconds to draw, and loading the charting library as much again.
    Every text is as it is; ``html`` escapes it."""

    columns: list[tuple[str, ...]]  # each column's heading, one line per part
    rows: list[str]  # the local authorities' names
    states: list[list[int]]
    text: list[list[str]]
    hover: list[list[str]]  # each cell's tooltip

    def html(self, present: bool = False) -> str:
        """A table with a heading per column and per row (for screen readers as for the eye):
        the columns grouped under their first part (the level of need), each column headed by
        the rest; the colours are the coverage cells' (``CELL_COLOURS``), each label black or
        white on its colour, whichever contrasts more (``colours.text_on``)."""
        groups: list[tuple[str, int]] = []
        for parts in self.columns:
            if groups and groups[-1][0] == parts[0]:
                groups[-1] = (parts[0], groups[-1][1] + 1)
            else:
                groups.append((parts[0], 1))
        top = "".join(
            f'<th scope="colgroup" colspan="{span}" class="nm-group">{_attr(group)}</th>'
            for group, span in groups
        )
        under = "".join(
            '<th scope="col">' + "<br>".join(_breakable(part) for part in parts[1:]) + "</th>"
            for parts in self.columns
        )
        body = "".join(
            f'<tr><th scope="row" class="nm-la">{_attr(name)}</th>'
            + "".join(
                f'<td class="nm-c{state}" title="{_attr(tip)}">{_attr(label)}</td>'
                for state, label, tip in zip(states, labels, hovers, strict=True)
            )
            + "</tr>"
            for name, states, labels, hovers in zip(
                self.rows, self.states, self.text, self.hover, strict=True
            )
        )
        size = "1rem" if present else "0.75rem"
        return (
            f"<style>{_GRID_CSS}.nm-grid{{font-size:{size}}}</style>"
            '<div style="overflow-x:auto"><table class="nm-grid"><thead>'
            f'<tr><th scope="col" rowspan="2" class="nm-la">Local authority</th>{top}</tr>'
            f"<tr>{under}</tr></thead><tbody>{body}</tbody></table></div>"
        )


def _breakable(text: str) -> str:
    """Escaped, with a soft hyphen where a narrow column may break "antenatal" and
    "postnatal" (the heading then takes two lines, not the width of the word)."""
    return _attr(text).replace("natal", "\u00adnatal")


_GRID_CSS = (
    ".nm-grid{border-collapse:separate;border-spacing:2px;line-height:1.25;width:100%}"
    ".nm-grid th{font-weight:600;padding:2px 3px;vertical-align:bottom;text-align:center}"
    ".nm-grid th.nm-la{text-align:left;white-space:nowrap}"
    ".nm-grid th.nm-group{border-bottom:2px solid #4a5562}"
    ".nm-grid td{text-align:center;padding:3px 2px}"
    + "".join(
        f".nm-c{state}{{background:{fill};color:{colours.text_on(fill)[0]}}}"
        for state, fill in enumerate(CELL_COLOURS)
    )
)


def _attr(value: object) -> str:
    """Escaped for an element's text or an attribute's value (quotes too)."""
    return html.escape("" if value is None else str(value), quote=True)


def _worst_grid(
    areas: dict[str, list[Row]],
    names: dict[str, str],
    columns: list[tuple[str, ...]],
    cells: Callable[[str, str], list[tuple[int, str, str]]],
) -> Grid:
    """The ``OVERVIEW_ROWS`` local authorities of ``areas`` with the most gap rows: each row's
    cells (state, label, tooltip after the LA's name) from ``cells(code, name)``."""
    codes = _worst_first(areas)
    rows = _row_labels(codes, names)
    states, text, hover = [], [], []
    for code, name in zip(codes, rows, strict=True):
        found = cells(code, name)
        states.append([state for state, _, _ in found])
        text.append([label for _, label, _ in found])
        hover.append([f"{name}: {tip}" for _, _, tip in found])
    return Grid(columns, rows, states, text, hover)


def coverage_overview(
    rows: list[Row], levels: list[str], stages: list[str], focuses: list[str]
) -> tuple[Grid, int]:
    """Many local authorities at a glance: a row per LA (the ``OVERVIEW_ROWS`` with the most
    gaps), a column per level x stage x focus, the counts of services in the cells (their names
    are on the LA's own panel and in the table). Also the number of LAs."""
    areas = _by_area(rows)
    short = {"specialised": "spec.", "non_specialised": "non-spec."}
    wanted = [(lv, st, fo) for lv in levels for st in stages for fo in focuses]

    def cells(code: str, name: str) -> list[tuple[int, str, str]]:
        by_cell = {(r["level"], r["stage"]): r for r in areas[code]}
        found = []
        for level, stage, focus in wanted:
            state, label, _ = coverage_cells(by_cell[(level, stage)], focus)
            tip = f"{level} · {stage} · {focus.replace('_', '-')}: {_cell_words(state, label)}"
            found.append((state, label, tip))
        return found

    columns: list[tuple[str, ...]] = [(lv, st, short[fo]) for lv, st, fo in wanted]
    names = {code: areas[code][0]["area_name"] for code in areas}
    return _worst_grid(areas, names, columns, cells), len(areas)


def _cell_words(state: int, label: str) -> str:
    """A cell of the overview in words, with its unit: "gap: no specialised service",
    "3 specialised services", "1 non-specialised service", "no service"."""
    if state == GAP:
        return "gap: no specialised service"
    if state == NONE:
        return "no service"
    kind = "specialised" if state == SPECIALISED else "non-specialised"
    return f"{label} {kind} service{'' if label == '1' else 's'}"


def age_band_overview(
    rows: list[Row], area_names: dict[str, str], levels: list[str]
) -> tuple[Grid, int]:
    """``age_band_heatmap`` for many local authorities: a row per LA (the ``OVERVIEW_ROWS``
    with the most bands without a specialised service), a column per level x age band."""
    areas = _by_area(rows)
    bands = list(dict.fromkeys(r["band"] for r in rows))
    wanted = [(level, band) for level in levels for band in bands]

    def cells(code: str, name: str) -> list[tuple[int, str, str]]:
        by_cell = {(r["level"], r["band"]): r for r in areas[code]}
        found = []
        for level, band in wanted:
            cell = by_cell.get((level, band))
            state = NONE if cell is None else GAP if cell["gap"] else SPECIALISED
            label = (
                ""
                if cell is None
                else "gap"
                if cell["gap"]
                else str(len(cell["specialised_services"]))
            )
            words = "not asked" if cell is None else _cell_words(state, label)
            found.append((state, label, f"{level} · {band} months: {words}"))
        return found

    columns: list[tuple[str, ...]] = [(level, f"{band} m") for level, band in wanted]
    return _worst_grid(areas, area_names, columns, cells), len(areas)


def age_band_heatmap(
    rows: list[Row],
    area_names: dict[str, str],
    names: dict[str, str],
    levels: list[str],
    present: bool = False,
) -> go.Figure:
    """One level x age band panel per LA (age_bands rows): red where nothing specialised helps
    a child of that age, teal with the number of services where something does."""
    areas = _by_area(rows)
    codes = list(areas)[:MAX_COVERAGE_PANELS]
    fig = _panels([esc(area_names.get(code, code)) for code in codes])
    for index, code in enumerate(codes):
        bands = list(dict.fromkeys(r["band"] for r in areas[code]))
        by_cell = {(r["level"], r["band"]): r for r in areas[code]}
        z, text, hover = [], [], []
        for level in levels:
            cells = [by_cell[(level, band)] for band in bands]
            z.append([GAP if c["gap"] else SPECIALISED for c in cells])
            text.append(["gap" if c["gap"] else str(len(c["specialised_services"])) for c in cells])
            hover.append(
                [
                    f"<b>{esc(area_names.get(code, code))}</b><br>{level} · {c['band']} months<br>"
                    + html_list(
                        [name_of(s, names) for s in c["specialised_services"]],
                        empty="no specialised service",
                    )
                    for c in cells
                ]
            )
        x = [f"{band} m" for band in bands]
        _add_panel(fig, index, len(codes), _cell_trace(z, x, levels, text, hover, present))
    return _finished(fig, len(levels), len(codes), present)


def concentration_bar(
    rows: list[Row],
    names: dict[str, str],
    present: bool = False,
    basis: str = DEFAULT_COUNT_BASIS,
    unrecorded: frozenset[str] = frozenset(),
) -> go.Figure:
    """Parent-infant relationship counts of one unit (``basis``) per destination; specialised
    targets green; a destination whose counts are all blank (``unrecorded``) says so."""
    labels = [esc(name_of(r["to_service"], names)) for r in rows]
    # One bar per destination: services sharing a name (one per region, say) get their id too,
    # or plotly would stack them on one bar.
    repeated = {label for label, times in Counter(labels).items() if times > 1}
    labels = [
        f"{label} ({esc(r['to_service'])})" if label in repeated else label
        for label, r in zip(labels, rows, strict=True)
    ]
    what = units.unit(basis)
    texts = [
        units.NOT_RECORDED if r["to_service"] in unrecorded else share_text(r["share"])
        for r in rows
    ]
    fig = go.Figure(
        go.Bar(
            x=[r["count"] for r in rows],
            y=labels,
            orientation="h",
            marker_color=[colours.SPECIALISED if r["specialised"] else colours.GAP for r in rows],
            text=texts,
            # A destination whose counts are all blank has no bar: its "not recorded" is
            # written beside the axis, where a bar would start (inside one it would not show).
            textposition=["outside" if r["to_service"] in unrecorded else "auto" for r in rows],
            customdata=["specialised" if r["specialised"] else "not specialised" for r in rows],
            hovertemplate=f"%{{y}}<br>%{{x}} {what} (%{{text}})<br>%{{customdata}}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(rangemode="nonnegative")  # no count below 0, even when none is recorded
    fig.update_layout(
        height=max(260, 42 * len(rows) + 80),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        xaxis_title=f"parent-infant relationship {what}",
        font={"size": 16 if present else 12},
    )
    return fig


def need_bars(rows: list[Row], area_names: dict[str, str], present: bool = False) -> go.Figure:
    """Demand against capacity per LA x level (grouped bars on a two-level axis); the statutory
    row last in each LA, named for what it is; a capacity not recorded says so on hover."""
    usable = sorted(
        (r for r in rows if r["demand"] is not None),
        key=lambda r: (r["area_code"], r["level"] == "statutory"),
    )
    x = [
        [esc(area_names.get(r["area_code"], r["area_code"])) for r in usable],
        ["statutory (risk support)" if r["level"] == "statutory" else r["level"] for r in usable],
    ]
    fig = go.Figure()
    for key, colour in (("demand", colours.DEMAND), ("capacity", colours.CAPACITY)):
        hover = [
            esc(units.capacity_text(r["capacity"], r["unrecorded"], 1))
            if key == "capacity"
            else f"{r['demand']:,.1f}"
            for r in usable
        ]
        fig.add_trace(
            go.Bar(
                x=x,
                y=[r[key] for r in usable],
                name=key,
                marker_color=colour,
                customdata=hover,
                hovertemplate=f"%{{x}}<br>{key}: %{{customdata}} families a year<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        height=460,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis_title="families a year",
        legend={"orientation": "h", "y": 1.08},
        font={"size": 16 if present else 12},
    )
    return fig


_CLIFF_STATES = {"ok": 0, "cliff": 1, "none": 2}


def cliffs_heatmap(
    rows: list[Row], area_names: dict[str, str], names: dict[str, str], present: bool = False
) -> go.Figure:
    """Threshold cliffs per LA x stage: specialised help on both sides, one side, or none."""
    codes = sorted({r["area_code"] for r in rows})
    stages = [s for s in STAGES if any(r["stage"] == s for r in rows)]
    cells = {(r["area_code"], r["stage"]): r for r in rows}
    z, text, hover = [], [], []
    for code in codes:
        z_row, text_row, hover_row = [], [], []
        for stage in stages:
            row = cells[(code, stage)]
            z_row.append(_CLIFF_STATES[row["status"]])
            text_row.append(row["status"])
            hover_row.append(
                f"<b>{esc(area_names.get(code, code))}</b> · {stage}: <b>{row['status']}</b><br>"
                "<i>below the child-protection threshold</i><br>"
                + html_list([name_of(s, names) for s in row["below"]])
                + "<br><i>at or above it</i><br>"
                + html_list([name_of(s, names) for s in row["above"]])
            )
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=stages,
            y=[esc(area_names.get(code, code)) for code in codes],
            text=text,
            customdata=hover,
            texttemplate="%{text}",
            textfont={"size": 18 if present else 14},
            hovertemplate="%{customdata}<extra></extra>",
            colorscale=discrete_scale(colours.PALETTES["threshold cliffs"]),
            zmin=-0.5,
            zmax=2.5,
            showscale=False,
            xgap=2,
            ygap=2,
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        height=max(220, 60 * len(codes) + 80),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        font={"size": 16 if present else 12},
    )
    return fig


def workforce_bars(rows: list[Row], present: bool = False) -> go.Figure:
    """FTE per LA stacked by AiMH UK competency level."""
    fig = go.Figure()
    for level, colour in zip(range(4), colours.AIMH_COLOURS, strict=True):
        fig.add_trace(
            go.Bar(
                x=[esc(r["area_name"]) for r in rows],
                y=[r[f"fte_level_{level}"] for r in rows],
                name=f"AiMH level {level}",
                marker_color=colour,
                hovertemplate=f"%{{x}}<br>AiMH level {level}: %{{y:,.1f}} FTE<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        height=380,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis_title="FTE",
        legend={"orientation": "h", "y": 1.1},
        font={"size": 16 if present else 12},
    )
    return fig
