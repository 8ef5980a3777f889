"""The dashboard's maps: local authorities shaded by a figure, drawn as filled polygons on plain
axes (lon/lat, the aspect corrected for latitude) by plotly's own bundle - no map tiles, no
topojson download, so they render offline.

Every area is drawn: smaller areas on top of larger ones (a city inside its district), labels
inside their own area with a halo in the contrasting colour, never on top of each other
(``nestmap.geography.drawing``); an area too small for any label is named by the caller.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import plotly.graph_objects as go

from nestmap import colours
from nestmap.dashboard.text import esc
from nestmap.geography.boundaries import Boundary, boundaries
from nestmap.geography.drawing import (
    Label,
    Lettering,
    drawing_order,
    enclosed,
    place_labels,
    wordings,
)

Scale = Literal["worse", "change"]
# More than this many areas and labels would be specks: the map is read by hovering and the
# table below it.
MAX_LABELS = 40
# The width a map is sized for: the page's main column at 1,440 px less the colour bar. A wider
# window only makes the labels' room larger.
PLOT_WIDTH_PX = 760
MAX_HEIGHT_PX = 720


def _halo(colour: str) -> str:
    """A CSS text-shadow ringing the letters in ``colour``."""
    return ", ".join(f"0 0 {blur}px {colour}" for blur in (2, 2, 3, 4))


HALO = {colours.INK: _halo(colours.PAPER), colours.PAPER: _halo(colours.INK)}


@dataclass
class AreaMap:
    """The figure, and the areas drawn without their name (too small at this size: their value
    alone, or no label)."""

    figure: go.Figure
    unlabelled: list[str] = field(default_factory=list)


def number(value: float | None, whole: bool) -> str:
    """A figure as the map writes it; blank is "not recorded", never 0."""
    if value is None:
        return "not recorded"
    return f"{value:,.0f}" if whole else f"{value:,.1f}".removesuffix(".0")


def fill(value: float | None, most: float, scale: Scale) -> str:
    if value is None:
        return colours.NOT_RECORDED
    if scale == "change":
        return colours.diverging(value, most)
    return colours.sequential(value, most)


def whole_ticks(low: float, high: float) -> list[int]:
    """Whole-number ticks from ``low`` to ``high``: steps of 1, 2 or 5 × 10^n, at most 8."""
    span, step, rank = max(high - low, 1), 1, 0
    while span / step > 7:
        rank += 1
        step = (1, 2, 5)[rank % 3] * 10 ** (rank // 3)
    first = math.ceil(low / step) * step
    return list(range(int(first), int(math.floor(high)) + 1, step))


def area_map(
    values: Mapping[str, float | None],
    names: Mapping[str, str],
    metric: str,
    *,
    scale: Scale = "worse",
    whole: bool = True,
    present: bool = False,
    outlines: Sequence[Boundary] = (),
    selected: str | None = None,
    details: Mapping[str, str] | None = None,
) -> AreaMap:
    """The LAs of ``values`` that have a bundled boundary, shaded by their value - "worse": more is
    worse (Reds, from 0); "change": negative worse, positive better (red-white-blue, centred on
    0) - with the neighbouring boundaries grey for context, the regions' ``outlines`` (health
    boards, ICBs) as dark lines and the ``selected`` LA outlined. ``details``: more hover text
    per LA (escaped here)."""
    shapes = boundaries()
    drawn = drawing_order(shapes, [code for code in values if code in shapes])
    numbers = [v for code in drawn if (v := values[code]) is not None]
    if scale == "change":
        most = max([abs(v) for v in numbers] + [1])
        low, high = -most, most
    else:
        most = max(numbers + [0]) or 1
        low, high = 0, most
    fig = go.Figure()
    view = _view([shapes[code] for code in drawn])
    # All of England and Wales is bundled: only the neighbours in view are drawn. One lying
    # inside a drawn area (a city whose district is mapped but not the city) goes on top of it:
    # the district is drawn whole, its hole filled.
    nearby = [c for c, b in shapes.items() if c not in values and _overlaps(b.bbox, view)]
    inner = {c for code in drawn for c in enclosed(shapes, code, nearby, holes_too=True)}
    below = [shapes[c] for c in nearby if c not in inner]
    if below:
        fig.add_trace(_filled(below, "#f2f2f2", "#c8c8c8"))
    for code in drawn:
        value = values[code]
        label = esc(names.get(code, shapes[code].name))
        hover = f"<b>{label}</b><br>{esc(metric)}: {number(value, whole)}"
        if details and details.get(code):
            hover += f"<br>{esc(details[code])}"
        fig.add_trace(_filled([shapes[code]], fill(value, most, scale), "#333333", hover))
    if inner:
        fig.add_trace(_filled([shapes[c] for c in sorted(inner)], "#f2f2f2", "#c8c8c8"))
    for outline in outlines:
        fig.add_trace(_lines([outline], "#222222", 2.6))
    if selected in drawn:
        # Cased, so it shows on light and dark shades alike and is not taken for a region's line.
        fig.add_trace(_lines([shapes[selected]], colours.INK, 6.0))
        fig.add_trace(_lines([shapes[selected]], colours.PAPER, 2.2))
    lons = [x for code in drawn for x in shapes[code].bbox[0::2]]
    lats = [y for code in drawn for y in shapes[code].bbox[1::2]]
    middle = (min(lats) + max(lats)) / 2 if lats else 52.0
    k = math.cos(math.radians(middle))
    height = 620 if present else 540
    unlabelled: list[str] = []
    if lons:
        pad_x, pad_y = (max(lons) - min(lons)) * 0.08, (max(lats) - min(lats)) * 0.08
        x_range = [min(lons) - pad_x, max(lons) + pad_x]
        y_range = [min(lats) - pad_y, max(lats) + pad_y]
        fig.update_xaxes(range=x_range)
        fig.update_yaxes(range=y_range)
        # As tall as the region's shape asks at the width it gets (a tall region drawn 540 px
        # high used half the column and left a city too small for its name).
        aspect = (y_range[1] - y_range[0]) / ((x_range[1] - x_range[0]) * k)
        height = round(min(MAX_HEIGHT_PX, max(height, PLOT_WIDTH_PX * aspect + 10)))
        per_degree = min(
            (height - 10) / (y_range[1] - y_range[0]),
            PLOT_WIDTH_PX / ((x_range[1] - x_range[0]) * k),
        )
        font = 17 if present else 13
        if len(drawn) <= MAX_LABELS:
            texts = tuple(
                (
                    code,
                    tuple(
                        wordings(names.get(code, shapes[code].name), number(values[code], whole))
                    ),
                )
                for code in drawn
            )
            labels = _placed(texts, font, round(per_degree, 3), middle, tuple(nearby))
            fig.add_trace(_label_trace(labels, values, most, scale, font))
            unlabelled = [code for code in drawn if code not in labels or not labels[code].named]
    fig.add_trace(_colour_bar(metric, scale, low, high, whole))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1 / k)
    fig.update_layout(
        height=height,
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        plot_bgcolor="#ffffff",
        hoverlabel={"font": {"size": 16 if present else 13}},
    )
    return AreaMap(fig, unlabelled)


@functools.lru_cache(maxsize=64)
def _placed(
    texts: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...],
    font: int,
    per_degree: float,
    middle: float,
    nearby: tuple[str, ...],
) -> dict[str, Label]:
    """The labels of a map, kept per process: a page's every rerun draws the same map (placing
    a region's labels takes a second or two)."""
    return place_labels(boundaries(), dict(texts), Lettering(font, per_degree), middle, nearby)


def _label_trace(labels, values, most: float, scale: Scale, font: int) -> go.Scatter:
    """One text trace: each label black or white, whichever contrasts more with its area's
    shade, with a halo of the other."""
    inks = [colours.text_on(fill(values[code], most, scale))[0] for code in labels]
    return go.Scatter(
        x=[label.point[0] for label in labels.values()],
        y=[label.point[1] for label in labels.values()],
        text=["<br>".join(esc(line) for line in label.lines) for label in labels.values()],
        mode="text",
        textfont={
            "size": font,
            "color": inks,
            "shadow": [HALO[ink] for ink in inks],
            "weight": 700,
        },
        hoverinfo="skip",
        showlegend=False,
    )


def _colour_bar(metric: str, scale: Scale, low: float, high: float, whole: bool) -> go.Scatter:
    bar: dict[str, object] = {"title": {"text": esc(metric)}, "thickness": 14}
    if whole:
        ticks = whole_ticks(low, high)
        bar.update(tickvals=ticks, ticktext=[f"{t:,}" for t in ticks])
    return go.Scatter(
        x=[None],
        y=[None],
        mode="markers",
        marker={
            "colorscale": colours.diverging_scale()
            if scale == "change"
            else colours.sequential_scale(),
            "cmin": low,
            "cmax": high,
            "color": [low],
            "showscale": True,
            "colorbar": bar,
        },
        hoverinfo="skip",
        showlegend=False,
    )


def _view(drawn: list[Boundary]) -> tuple[float, float, float, float]:
    """The drawn LAs' bounding box, padded by half its size (the context worth showing)."""
    if not drawn:
        return (0.0, 0.0, 0.0, 0.0)
    boxes = [b.bbox for b in drawn]
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad_x, pad_y = (x1 - x0) * 0.5 + 0.05, (y1 - y0) * 0.5 + 0.05
    return (x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y)


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _ring_lines(shapes: Sequence[Boundary]) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for shape in shapes:
        for ring in shape.rings:
            xs += [point[0] for point in ring] + [None]
            ys += [point[1] for point in ring] + [None]
    return xs, ys


def _filled(
    shapes: Sequence[Boundary], fill_colour: str, line: str, hover: str | None = None
) -> go.Scatter:
    """``shapes`` filled as one trace; with ``hover``, that text on hovering them."""
    xs, ys = _ring_lines(shapes)
    return go.Scatter(
        x=xs,
        y=ys,
        fill="toself",
        fillcolor=fill_colour,
        mode="lines",
        line={"color": line, "width": 1.0 if hover is None else 1.2},
        text=hover,
        hoveron="fills",
        hoverinfo="skip" if hover is None else "text",
        showlegend=False,
    )


def _lines(shapes: Sequence[Boundary], colour: str, width: float) -> go.Scatter:
    xs, ys = _ring_lines(shapes)
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        line={"color": colour, "width": width},
        hoverinfo="skip",
        showlegend=False,
    )
