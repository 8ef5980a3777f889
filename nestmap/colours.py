"""The colours of every chart and map, in the dashboard and the report alike.

Chosen so that people with red-green colour blindness tell the classes apart: a gap is red and
specialised help dark teal (not the red/green pair, which deuteranopia folds into one olive),
tested against a simulation of deuteranopia (tests/test_colours.py). A map shades "more is
worse" counts on one lightness ramp (ColorBrewer's Reds) and a change that can be good or bad
on a diverging ramp (ColorBrewer's RdBu: red worse, blue better, white no change). Text drawn on
a colour is black or white, whichever contrasts more, with a halo of the other.
"""

from __future__ import annotations

# Coverage cells: no specialised service / specialised services / only non-specialised / none.
GAP = "#d7301f"
SPECIALISED = "#01665e"
NON_SPECIALISED = "#92c5de"
NOTHING = "#eeeeee"
# A gap the scenario closes (drawn over the "after" coverage).
CLOSED = "#053061"
# Threshold cliffs: help on both sides / one side / neither.
CLIFF = "#fdae61"
# Referral flows: a misdirected link to a dead end / with an onward route / not misdirected.
ONWARD = "#f39c12"
ROUTED = "#7a8896"
# Demand and capacity; a shortfall before a scenario.
DEMAND = GAP
CAPACITY = SPECIALISED
BEFORE = "#9e9e9e"
# Levels of need (Okabe and Ito's colour-blind-safe set).
LEVEL_COLOURS: dict[str, str] = {
    "universal": "#0072b2",
    "targeted": "#009e73",
    "statutory": "#e69f00",
    "specialist": "#cc79a7",
}
# AiMH UK competency levels 0-3 (a light-to-dark ramp of blues).
AIMH_COLOURS = ("#bdbdbd", "#6baed6", "#2171b5", "#08306b")

# Every set of colours whose members stand for different things side by side: each pair must
# stay apart under deuteranopia (the test walks this table).
PALETTES: dict[str, tuple[str, ...]] = {
    "coverage cells": (GAP, SPECIALISED, NON_SPECIALISED, NOTHING),
    "scenario coverage": (GAP, SPECIALISED, NON_SPECIALISED, NOTHING, CLOSED),
    "threshold cliffs": (SPECIALISED, CLIFF, GAP),
    "referral destinations": (SPECIALISED, GAP),
    "demand and capacity": (DEMAND, CAPACITY),
    "shortfall before and after": (BEFORE, CAPACITY),
    "referral flows": (GAP, ONWARD, ROUTED),
    "levels of need": tuple(LEVEL_COLOURS.values()),
    "AiMH levels": AIMH_COLOURS,
    # The scenario report's table cells (a gap, a gap closed), behind black text.
    "scenario report cells": ("#f9d6d5", "#92c5de"),
}

# ColorBrewer (Cynthia Brewer, Penn State; Apache 2.0 licence) Reds and RdBu, 9 and 11 classes.
REDS = (
    "#fff5f0",
    "#fee0d2",
    "#fcbba1",
    "#fc9272",
    "#fb6a4a",
    "#ef3b2c",
    "#cb181d",
    "#a50f15",
    "#67000d",
)
RED_BLUE = (
    "#67001f",
    "#b2182b",
    "#d6604d",
    "#f4a582",
    "#fddbc7",
    "#f7f7f7",
    "#d1e5f0",
    "#92c5de",
    "#4393c3",
    "#2166ac",
    "#053061",
)
NOT_RECORDED = "#ffffff"


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(round(max(0.0, min(255.0, c))) for c in rgb))


def _along(ramp: tuple[str, ...], position: float) -> str:
    """The colour ``position`` (0..1) along ``ramp``, mixed between its two nearest stops."""
    position = max(0.0, min(1.0, position)) * (len(ramp) - 1)
    low = min(int(position), len(ramp) - 2)
    mix = position - low
    a, b = _rgb(ramp[low]), _rgb(ramp[low + 1])
    return _hex(tuple(x + (y - x) * mix for x, y in zip(a, b, strict=True)))  # type: ignore[arg-type]


# The first stop of Reds is nearly white: a count of 0 starts a little in, so it is not taken
# for "not recorded" (white) or the page.
_SEQUENTIAL_START = 0.08


def sequential(value: float, most: float) -> str:
    """More is worse: ``value`` of 0..``most`` on the Reds ramp."""
    share = value / most if most else 0.0
    return _along(REDS, _SEQUENTIAL_START + (1 - _SEQUENTIAL_START) * share)


def sequential_scale() -> list[list[float | str]]:
    """The same ramp as a plotly colour scale (for the colour bar)."""
    steps = len(REDS) - 1
    return [
        [i / steps, _along(REDS, _SEQUENTIAL_START + (1 - _SEQUENTIAL_START) * i / steps)]
        for i in range(steps + 1)
    ]


def diverging(value: float, most: float) -> str:
    """A change: negative (worse) red, 0 white, positive (better) blue, ±``most`` the ends."""
    share = value / most if most else 0.0
    return _along(RED_BLUE, 0.5 + 0.5 * max(-1.0, min(1.0, share)))


def diverging_scale() -> list[list[float | str]]:
    steps = len(RED_BLUE) - 1
    return [[i / steps, RED_BLUE[i]] for i in range(steps + 1)]


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance."""
    r, g, b = (_linear(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio (1..21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


INK = "#000000"  # pure black and white: one of them contrasts 4.58:1 or more with any colour
PAPER = "#ffffff"


def text_on(fill: str) -> tuple[str, str]:
    """(text colour, halo colour) for a label drawn on ``fill``: black or white, whichever
    contrasts more, haloed with the other."""
    return (INK, PAPER) if contrast(INK, fill) >= contrast(PAPER, fill) else (PAPER, INK)
