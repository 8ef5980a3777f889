"""The report's figures as inline SVG (no scripts, nothing fetched; names escaped by ``el``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from nestmap import colours
from nestmap.geography.drawing import Lettering, drawing_order, place_labels, wordings
from nestmap.report.markup import Markup, el
from nestmap.vocabulary import LEVELS, STAGES

GAP = colours.GAP
COVERED = colours.SPECIALISED
MISDIRECTED = colours.GAP
ONWARD = colours.ONWARD
ROUTED = colours.ROUTED
INK = "#1d2733"
MUTED = "#5a6775"
FONT = "font-family:system-ui,sans-serif"


def _svg(width: float, height: float, label: str, *children: Any) -> Markup:
    return el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {width:.0f} {height:.0f}",
            "width": f"{width:.0f}",
            "height": f"{height:.0f}",
            "role": "img",
            "aria-label": label,
            "style": FONT,
        },
        el("title", None, label),
        *children,
    )


def _text(x: float, y: float, text: Any, size: int = 11, **style: Any) -> Markup:
    attrs = {"x": f"{x:.1f}", "y": f"{y:.1f}", "font-size": size, "fill": style.pop("fill", INK)}
    attrs.update({key.replace("_", "-"): value for key, value in style.items()})
    return el("text", attrs, text)


def _figure(key: str | None, text: str) -> Markup:
    """A number drawn in a figure, marked like the text's figures (``data-figure``)."""
    return el("tspan", {"data-figure": key}, text)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- coverage matrix -----------------------------------------------------------------------
def coverage_matrix(rows: Sequence[Mapping[str, Any]], title: str) -> Markup:
    """One LA's level x stage grid: red "gap", teal with the number of specialised services."""
    cell_w, cell_h, left, top = 84, 24, 84, 34
    cells = {(r["level"], r["stage"]): r for r in rows}
    parts: list[Markup] = [_text(0, 13, shorten(title, 40), 12, font_weight="600")]
    for j, stage in enumerate(STAGES):
        parts.append(
            _text(
                left + j * cell_w + cell_w / 2, top - 6, stage, 10, text_anchor="middle", fill=MUTED
            )
        )
    for i, level in enumerate(LEVELS):
        y = top + i * cell_h
        parts.append(_text(0, y + 16, level, 10, fill=MUTED))
        for j, stage in enumerate(STAGES):
            row = cells.get((level, stage))
            x = left + j * cell_w
            specialised = len(row["specialised_services"]) if row else 0
            gap = row is None or row["gap"]
            parts.append(
                el(
                    "rect",
                    {
                        "x": x + 1,
                        "y": y + 1,
                        "width": cell_w - 2,
                        "height": cell_h - 2,
                        "rx": 3,
                        "fill": GAP if gap else COVERED,
                    },
                )
            )
            key = f"gaps.specialised.{row['area_code']}.{level}.{stage}" if row else None
            label = "gap" if gap else [_figure(key, str(specialised)), " specialised"]
            parts.append(
                _text(x + cell_w / 2, y + 16, label, 10, text_anchor="middle", fill="#fff")
            )
    height = top + len(LEVELS) * cell_h + 4
    return _svg(left + len(STAGES) * cell_w + 2, height, f"Coverage: {title}", *parts)


# -- map -----------------------------------------------------------------------------------
MAP_FONT = 10


def region_map(
    shapes: Mapping[str, Any],
    values: Mapping[str, int | None],
    names: Mapping[str, str],
    most: int,
    legend: str,
    max_labels: int = 40,
) -> Markup | None:
    """The LAs with a bundled boundary, shaded by ``values`` (0..most, more is worse); None when
    none has one. Smaller areas are drawn over larger ones, holes cut out; each label sits inside
    its own area in black or white (whichever contrasts more with the shade) with a halo of the
    other, and no label covers another (``nestmap.geography.drawing``); areas too small for one
    are named under the map."""
    drawn = drawing_order(shapes, [code for code in values if code in shapes])
    if not drawn:
        return None
    rings = [ring for code in drawn for ring in shapes[code].rings]
    lons = [p[0] for ring in rings for p in ring]
    lats = [p[1] for ring in rings for p in ring]
    middle_lat = (min(lats) + max(lats)) / 2
    middle = math.radians(middle_lat)
    span_x = (max(lons) - min(lons)) * math.cos(middle) or 1e-9
    span_y = (max(lats) - min(lats)) or 1e-9
    width = 600.0
    scale = width / span_x
    height = min(span_y * scale, 520.0)
    scale = min(scale, height / span_y)

    west, north, k = min(lons), max(lats), math.cos(middle)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - west) * k * scale, (north - lat) * scale

    def point(lon: float, lat: float) -> str:
        x, y = xy(lon, lat)
        return f"{x:.1f},{y:.1f}"

    def fill(code: str) -> str:
        value = values[code]
        return colours.NOT_RECORDED if value is None else colours.sequential(value, most)

    parts: list[Markup] = []
    for code in drawn:
        value = values[code]
        outline = [*shapes[code].rings, *shapes[code].holes]
        path = " ".join("M" + " L".join(point(*p) for p in ring) + " Z" for ring in outline)
        parts.append(
            el(
                "path",
                {
                    "d": path,
                    "fill": fill(code),
                    "fill-rule": "evenodd",
                    "stroke": "#ffffff" if value is not None else MUTED,
                    "stroke-width": 1.2,
                },
                el(
                    "title",
                    None,
                    f"{names.get(code, code)}: "
                    f"{value if value is not None else 'not recorded'} {legend}",
                ),
            )
        )
    labels = {}
    if len(drawn) <= max_labels:
        texts = {
            code: wordings(
                shorten(names.get(code, code), 26),
                "not recorded" if values[code] is None else str(values[code]),
            )
            for code in drawn
        }
        labels = place_labels(shapes, texts, Lettering(MAP_FONT, scale), middle_lat)
    for code, label in labels.items():
        ink, halo = colours.text_on(fill(code))
        x, y = xy(*label.point)
        lines = label.lines
        first = y - (len(lines) - 1) * MAP_FONT * 1.25 / 2 + MAP_FONT * 0.35
        parts.append(
            _text(
                x,
                first,
                [
                    el("tspan", {"x": f"{x:.1f}", "dy": "0" if i == 0 else "1.25em"}, line)
                    for i, line in enumerate(lines)
                ],
                MAP_FONT,
                fill=ink,
                text_anchor="middle",
                font_weight="600",
                stroke=halo,
                stroke_width="3",
                stroke_linejoin="round",
                paint_order="stroke",
            )
        )
    legend_y = height + 18
    parts.append(_text(0, legend_y, f"Shade: {legend} (darker = more, of {most})", 10, fill=MUTED))
    small = [
        code
        for code in drawn
        if len(drawn) <= max_labels and (code not in labels or not labels[code].named)
    ]
    if small:
        legend_y += 14
        listed = ", ".join(
            f"{names.get(code, code)} {'not recorded' if values[code] is None else values[code]}"
            for code in small
        )
        parts.append(_text(0, legend_y, f"Too small to name on the map: {listed}", 10, fill=MUTED))
    return _svg(width, legend_y + 6, f"Map: {legend} per local authority", *parts)


# -- need against capacity -----------------------------------------------------------------
def need_bars(totals: Mapping[str, Mapping[str, Decimal] | None]) -> Markup:
    """Per need level, demand and capacity (families a year) as paired horizontal bars."""
    levels = [(level, t) for level, t in totals.items() if t is not None]
    most = max(
        [float(t["demand"]) for _l, t in levels]
        + [float(t["capacity"]) for _l, t in levels]
        + [1.0]
    )
    left, bar_w, row_h = 90, 360, 46
    parts: list[Markup] = []
    for i, (level, t) in enumerate(levels):
        y = 8 + i * row_h
        parts.append(_text(0, y + 16, level, 11, font_weight="600"))
        for k, (what, colour) in enumerate(
            (("demand", colours.DEMAND), ("capacity", colours.CAPACITY))
        ):
            value = float(t[what])
            width = bar_w * value / most
            parts.append(
                el(
                    "rect",
                    {
                        "x": left,
                        "y": y + k * 18,
                        "width": f"{width:.1f}",
                        "height": 14,
                        "fill": colour,
                    },
                )
            )
            parts.append(
                _text(
                    left + width + 4,
                    y + k * 18 + 11,
                    [f"{what} ", _figure(f"need.{level}.{what}", f"{value:,.1f}")],
                    10,
                    fill=MUTED,
                )
            )
    height = 12 + len(levels) * row_h
    return _svg(left + bar_w + 130, height, "Demand and capacity per level of need", *parts)


# -- referral flows ------------------------------------------------------------------------
def flows(
    links: Sequence[Mapping[str, Any]],
    misdirected: Mapping[tuple[str, str], bool | None],
    names: Mapping[str, str],
) -> Markup:
    """The largest parent-infant relationship referral links, from referrer (left) to
    destination (right); line width by volume. ``misdirected`` maps a misdirected link to
    whether it has an onward route (None: not known): red for a dead end, orange with an
    onward route, grey when the link is not misdirected."""
    sources = list(dict.fromkeys(link["from_service"] for link in links))
    targets = list(
        dict.fromkeys(link["to_service"] for link in sorted(links, key=lambda link: -link["count"]))
    )
    row_h, width, left_x, right_x = 22, 780, 270, 500
    rows = max(len(sources), len(targets), 1)
    height = rows * row_h + 30
    most = max([link["count"] for link in links] + [1])
    y_of_source = {s: 24 + i * row_h for i, s in enumerate(sources)}
    y_of_target = {t: 24 + i * row_h for i, t in enumerate(targets)}
    parts: list[Markup] = [
        _text(left_x, 12, "referred by", 10, text_anchor="end", fill=MUTED),
        _text(right_x, 12, "sent to", 10, fill=MUTED),
    ]
    for link in sorted(links, key=lambda link: link["count"]):
        y1, y2 = y_of_source[link["from_service"]], y_of_target[link["to_service"]]
        pair = (link["from_service"], link["to_service"])
        colour = ROUTED if pair not in misdirected else ONWARD if misdirected[pair] else MISDIRECTED
        middle = (left_x + right_x) / 2
        parts.append(
            el(
                "path",
                {
                    "d": f"M{left_x + 4},{y1 - 4} C{middle},{y1 - 4} {middle},{y2 - 4} "
                    f"{right_x - 4},{y2 - 4}",
                    "fill": "none",
                    "stroke": colour,
                    "stroke-opacity": 0.75,
                    "stroke-width": f"{1 + 9 * link['count'] / most:.1f}",
                },
                el(
                    "title",
                    None,
                    f"{names.get(link['from_service'], link['from_service'])} → "
                    f"{names.get(link['to_service'], link['to_service'])}: {link['count']}",
                ),
            )
        )
    for service, y in y_of_source.items():
        parts.append(
            _text(left_x, y, shorten(names.get(service, service), 44), 10, text_anchor="end")
        )
    for service, y in y_of_target.items():
        parts.append(_text(right_x, y, shorten(names.get(service, service), 44), 10))
    return _svg(width, height, "Parent-infant relationship referral flows", *parts)
