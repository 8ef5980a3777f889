"""The report's figures as inline SVG (no scripts, nothing fetched; names escaped by ``el``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set
from typing import Any

from nestmap import colours
from nestmap.geography.drawing import Lettering, drawing_order, place_labels, wordings
from nestmap.report.markup import Markup, el, join
from nestmap.vocabulary import LEVELS, STAGES

GAP = colours.GAP
COVERED = colours.SPECIALISED
MISDIRECTED = colours.GAP
ONWARD = colours.ONWARD
ROUTED = colours.ROUTED
INK = "#1d2733"
MUTED = "#5a6775"
FONT = "font-family:system-ui,sans-serif"
MARK = "†"  # as the text's figures (nestmap.report.parts.MARK)
MARK_COLOUR = "#b35806"


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


def _figure(key: str | None, text: str, marked: bool = False) -> Markup:
    """A number drawn in a figure, marked like the text's figures (``data-figure``, and the
    mark after it when it rests on an illustrative value)."""
    number = el("tspan", {"data-figure": key, "data-marked": marked or None}, text)
    if not marked:
        return number
    return join([number, el("tspan", {"class": "mark", "fill": MARK_COLOUR}, MARK)])


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- coverage matrix -----------------------------------------------------------------------
def coverage_matrix(
    rows: Sequence[Mapping[str, Any]],
    name: str,
    gaps: tuple[int, int],
    illustrative: Set[str] = frozenset(),
) -> Markup:
    """One LA's level x stage grid: red "gap", green with the number of specialised services
    (marked when one of them is illustrative); the title says how many cells are gaps."""
    cell_w, cell_h, left, top = 66, 20, 62, 30
    cells = {(r["level"], r["stage"]): r for r in rows}
    code = rows[0]["area_code"] if rows else ""
    la_marked = any(s in illustrative for r in rows for s in r["specialised_services"])
    parts: list[Markup] = [
        _text(
            0,
            12,
            [
                shorten(name, 26),
                ": ",
                _figure(f"gaps.la.{code}.gap_cells", str(gaps[0]), la_marked),
                " of ",
                _figure(f"gaps.la.{code}.cells", str(gaps[1])),
                " gaps",
            ],
            11,
            font_weight="600",
        )
    ]
    for j, stage in enumerate(STAGES):
        parts.append(
            _text(
                left + j * cell_w + cell_w / 2, top - 5, stage, 9, text_anchor="middle", fill=MUTED
            )
        )
    for i, level in enumerate(LEVELS):
        y = top + i * cell_h
        parts.append(_text(0, y + 14, level, 9, fill=MUTED))
        for j, stage in enumerate(STAGES):
            row = cells.get((level, stage))
            x = left + j * cell_w
            ids = list(row["specialised_services"]) if row else []
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
            marked = any(s in illustrative for s in ids)
            label = "gap" if gap else _figure(key, str(len(ids)), marked)
            parts.append(_text(x + cell_w / 2, y + 14, label, 9, text_anchor="middle", fill="#fff"))
    height = top + len(LEVELS) * cell_h + 4
    return _svg(left + len(STAGES) * cell_w + 2, height, f"Coverage: {name} ({code})", *parts)


# -- map -----------------------------------------------------------------------------------
MAP_FONT = 10


def region_map(
    shapes: Mapping[str, Any],
    values: Mapping[str, int | None],
    names: Mapping[str, str],
    most: int,
    legend: str,
    max_labels: int = 40,
    figures: Mapping[str, tuple[str, bool]] | None = None,
) -> Markup | None:
    """The LAs with a bundled boundary, shaded by ``values`` (0..most, more is worse); None when
    none has one. Smaller areas are drawn over larger ones, holes cut out; each label sits inside
    its own area in black or white (whichever contrasts more with the shade) with a halo of the
    other, and no label covers another (``nestmap.geography.drawing``); areas too small for one
    are named under the map. ``figures``: per LA, the key its labelled value is stated under and
    whether it is marked."""
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
        key, marked = (figures or {}).get(code, (None, False))
        value_text = None if values[code] is None else str(values[code])
        parts.append(
            _text(
                x,
                first,
                [
                    el(
                        "tspan",
                        {"x": f"{x:.1f}", "dy": "0" if i == 0 else "1.25em"},
                        # The value (the last line) is a figure of the report, marked like one.
                        _figure(key, line, marked)
                        if i == len(lines) - 1 and line == value_text
                        else line,
                    )
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
def need_bars(totals: Mapping[str, Any]) -> Markup:
    """Per need level (``findings.Need``), need and recorded capacity (families a year) as
    paired horizontal bars; the statutory level drawn apart, below a rule."""
    levels = [(level, t) for level, t in totals.items() if t is not None]
    most = max(
        [float(t.demand) for _l, t in levels] + [float(t.capacity) for _l, t in levels] + [1.0]
    )
    left, bar_w, row_h = 96, 330, 40
    parts: list[Markup] = []
    y = 4
    for level, t in levels:
        if level == "statutory":
            parts.append(el("line", {"x1": 0, "x2": left + bar_w + 170, "y1": y + 2, "y2": y + 2,
                                     "stroke": "#b8c2cc", "stroke-dasharray": "3 3"}))  # fmt: skip
            parts.append(_text(0, y + 15, "apart:", 9, fill=MUTED))
            y += 12
        parts.append(_text(0, y + 14, level, 10, font_weight="600"))
        bars = (
            ("demand", "demand", colours.DEMAND, t.demand, t.demand_marked),
            ("capacity", "capacity", colours.CAPACITY, t.capacity, t.capacity_marked),
        )
        for k, (what, key, colour, value, marked) in enumerate(bars):
            width = bar_w * float(value) / most
            parts.append(
                el(
                    "rect",
                    {
                        "x": left,
                        "y": y + k * 16,
                        "width": f"{width:.1f}",
                        "height": 12,
                        "fill": colour,
                    },
                )  # fmt: skip
            )
            label: list[Any] = [f"{what} ", _figure(f"need.{level}.{key}", f"{value:,.1f}", marked)]
            if key == "capacity" and t.unrecorded:
                services = [
                    _figure(f"need.{level}.unrecorded", f"{t.unrecorded:,}", t.unrecorded_marked),
                    " service" + ("" if t.unrecorded == 1 else "s"),
                ]
                label = (
                    ["capacity not recorded (", *services, ")"]
                    if t.capacity == 0
                    else [*label, " + not recorded for ", *services]
                )
            parts.append(_text(left + width + 4, y + k * 16 + 10, label, 9, fill=MUTED))
        y += row_h
    return _svg(left + bar_w + 170, y, "Need and capacity per level of need", *parts)


# -- referral flows ------------------------------------------------------------------------
FLOW_COLOURS = (
    (MISDIRECTED, "red: misdirected to a dead end"),
    (ONWARD, "orange: misdirected, but the destination can pass the family on to specialised "
     "help (an onward route)"),
    (ROUTED, "grey: not misdirected"),
)  # fmt: skip


def _flow_colour(
    link: Mapping[str, Any], misdirected: Mapping[tuple[str, str], bool | None]
) -> str:
    pair = (link["from_service"], link["to_service"])
    if pair not in misdirected:
        return ROUTED
    return ONWARD if misdirected[pair] else MISDIRECTED


def flow_legend(
    links: Sequence[Mapping[str, Any]], misdirected: Mapping[tuple[str, str], bool | None]
) -> str:
    """What the flow diagram's colours mean, naming only the colours it draws."""
    drawn = {_flow_colour(link, misdirected) for link in links}
    words = [text for colour, text in FLOW_COLOURS if colour in drawn]
    return ("; ".join(words) + ".").capitalize() if words else ""


def distinct_labels(names: Sequence[str], limit: int) -> list[str]:
    """Names cut to ``limit`` characters, each still telling its service apart: a long name
    keeps its end (often the area in brackets) and loses its middle."""
    found = []
    for name in names:
        if len(name) <= limit:
            found.append(name)
            continue
        tail = name[name.rfind("(") :] if name.endswith(")") and "(" in name else ""
        if tail and len(tail) <= limit // 2:
            head = name[: limit - len(tail) - 2].rstrip()
            found.append(f"{head}… {tail}")
        else:
            found.append(shorten(name, limit))
    return found


def flows(
    links: Sequence[Mapping[str, Any]],
    misdirected: Mapping[tuple[str, str], bool | None],
    names: Mapping[str, str],
) -> Markup:
    """The largest parent-infant relationship referral links, from referrer (left) to
    destination (right); line width by count. ``misdirected`` maps a misdirected link to
    whether it has an onward route: red for a dead end, orange with an onward route, grey when
    the link is not misdirected."""
    sources = list(dict.fromkeys(link["from_service"] for link in links))
    targets = list(
        dict.fromkeys(link["to_service"] for link in sorted(links, key=lambda link: -link["count"]))
    )
    row_h, width, left_x, right_x = 19, 720, 280, 440
    rows = max(len(sources), len(targets), 1)
    height = rows * row_h + 26
    most = max([link["count"] for link in links] + [1])
    y_of_source = {s: 22 + i * row_h for i, s in enumerate(sources)}
    y_of_target = {t: 22 + i * row_h for i, t in enumerate(targets)}
    parts: list[Markup] = [
        _text(left_x, 10, "referred by", 9, text_anchor="end", fill=MUTED),
        _text(right_x, 10, "sent to", 9, fill=MUTED),
    ]
    for link in sorted(links, key=lambda link: link["count"]):
        y1, y2 = y_of_source[link["from_service"]], y_of_target[link["to_service"]]
        middle = (left_x + right_x) / 2
        parts.append(
            el(
                "path",
                {
                    "d": f"M{left_x + 4},{y1 - 4} C{middle},{y1 - 4} {middle},{y2 - 4} "
                    f"{right_x - 4},{y2 - 4}",
                    "fill": "none",
                    "stroke": _flow_colour(link, misdirected),
                    "stroke-opacity": 0.75,
                    "stroke-width": f"{1 + 8 * link['count'] / most:.1f}",
                },
                el(
                    "title",
                    None,
                    f"{names.get(link['from_service'], link['from_service'])} → "
                    f"{names.get(link['to_service'], link['to_service'])}: {link['count']}",
                ),
            )
        )
    left = distinct_labels([names.get(s, s) for s in sources], 46)
    for label, y in zip(left, y_of_source.values(), strict=True):
        parts.append(_text(left_x, y, label, 9, text_anchor="end"))
    right = distinct_labels([names.get(t, t) for t in targets], 46)
    for label, y in zip(right, y_of_target.values(), strict=True):
        parts.append(_text(right_x, y, label, 9))
    return _svg(width, height, "Parent-infant relationship referral flows", *parts)
