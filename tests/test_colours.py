"""The charts' and maps' colours stay apart for people with red-green colour blindness, and text
drawn on them is legible.

Deuteranopia is simulated with Machado, Oliveira and Fernandes (2009), "A physiologically-based
model for simulation of color vision deficiency" (IEEE TVCG 15(6)), severity 1.0: their matrix
applied to linear RGB. Differences are CIEDE2000 (Sharma, Wu and Dalal 2005) in CIELAB (D65).
Two classes are told apart when they differ by at least ``APART`` after the simulation - red
#d7301f and green #1a9850, the coverage matrix's old gap/covered pair, differ by 10.6 and fail.
"""

from __future__ import annotations

import itertools
import math

import pytest

from nestmap import colours

# Machado et al. 2009, Table 1, deuteranomaly at severity 1.0 (= deuteranopia).
DEUTERANOPIA = (
    (0.367322, 0.860646, -0.227968),
    (0.280085, 0.672501, 0.047413),
    (-0.011820, 0.042940, 0.968881),
)
APART = 15.0


def _linear(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return r, g, b


def deuteranope(colour: str) -> tuple[float, float, float]:
    """Linear RGB as a deuteranope sees ``colour`` (clipped to the gamut)."""
    rgb = _linear(colour)
    r, g, b = (
        min(1.0, max(0.0, sum(m * c for m, c in zip(row, rgb, strict=True))))
        for row in DEUTERANOPIA
    )
    return r, g, b


def lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b = rgb
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def ciede2000(one: tuple[float, float, float], two: tuple[float, float, float]) -> float:
    (l1, a1, b1), (l2, a2, b2) = one, two
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1, a2 = a1 * (1 + g), a2 * (1 + g)
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    h1 = math.degrees(math.atan2(b1, a1)) % 360
    h2 = math.degrees(math.atan2(b2, a2)) % 360
    dl, dc = l2 - l1, c2 - c1
    dh = 0.0
    if c1 * c2:
        dh = h2 - h1
        dh -= 360 if dh > 180 else 0
        dh += 360 if dh < -180 else 0
    d_hue = 2 * math.sqrt(c1 * c2) * math.sin(math.radians(dh) / 2)
    l_mean, c_mean = (l1 + l2) / 2, (c1 + c2) / 2
    if not c1 * c2:
        h_mean = h1 + h2
    elif abs(h1 - h2) <= 180:
        h_mean = (h1 + h2) / 2
    else:
        h_mean = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_mean - 30))
        + 0.24 * math.cos(math.radians(2 * h_mean))
        + 0.32 * math.cos(math.radians(3 * h_mean + 6))
        - 0.20 * math.cos(math.radians(4 * h_mean - 63))
    )
    rotation = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    rc = 2 * math.sqrt(c_mean**7 / (c_mean**7 + 25**7))
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    sc = 1 + 0.045 * c_mean
    sh = 1 + 0.015 * c_mean * t
    rt = -math.sin(math.radians(2 * rotation)) * rc
    return math.sqrt(
        (dl / sl) ** 2 + (dc / sc) ** 2 + (d_hue / sh) ** 2 + rt * (dc / sc) * (d_hue / sh)
    )


def apart(a: str, b: str) -> float:
    """How far apart a deuteranope sees two colours (CIEDE2000)."""
    return ciede2000(lab(deuteranope(a)), lab(deuteranope(b)))


def test_the_simulation_folds_red_and_green_together():
    """The check can fail: the old gap red and covered green look alike to a deuteranope,
    while a normal eye tells them far apart; blue and orange stay apart."""
    assert ciede2000(lab(_linear("#d7301f")), lab(_linear("#1a9850"))) > 60
    assert apart("#d7301f", "#1a9850") < APART
    assert apart("#0072b2", "#e69f00") > 50
    # Grey is grey to everyone.
    assert apart("#808080", "#808080") == pytest.approx(0, abs=1e-6)
    assert ciede2000(lab(deuteranope("#808080")), lab(_linear("#808080"))) < 1


@pytest.mark.parametrize("name", sorted(colours.PALETTES))
def test_every_palette_keeps_its_classes_apart_for_deuteranopes(name):
    palette = colours.PALETTES[name]
    too_close = [
        (a, b, round(apart(a, b), 1))
        for a, b in itertools.combinations(palette, 2)
        if apart(a, b) < APART
    ]
    assert not too_close, f"{name}: {too_close}"


def _lightness(colour: str) -> float:
    return lab(deuteranope(colour))[0]


def test_the_map_ramps_read_by_lightness_alone():
    """More is darker on the "more is worse" ramp, and each side of the diverging ramp darkens
    away from its white middle, as a deuteranope sees them; the two ends of the diverging ramp
    (worse, better) stay apart."""
    steps = [colours.sequential(value, 8) for value in range(9)]
    shades = [_lightness(c) for c in steps]
    assert shades == sorted(shades, reverse=True)
    assert shades[0] - shades[-1] > 60
    for a, b in itertools.pairwise(steps):
        assert apart(a, b) > 3  # one more gap cell is a visibly darker shade
    better = [_lightness(colours.diverging(v, 5)) for v in range(6)]
    worse = [_lightness(colours.diverging(-v, 5)) for v in range(6)]
    assert better == sorted(better, reverse=True) and worse == sorted(worse, reverse=True)
    assert apart(colours.diverging(-3, 3), colours.diverging(3, 3)) > APART
    assert apart(colours.diverging(-1, 3), colours.diverging(1, 3)) > APART / 2


def test_good_news_is_never_red():
    """On the diverging ramp a positive change (gaps closed) is blue, a negative one red."""
    for value in (1, 2, 3):
        r, _g, b = (int(colours.diverging(value, 3)[i : i + 2], 16) for i in (1, 3, 5))
        assert b > r
        r, _g, b = (int(colours.diverging(-value, 3)[i : i + 2], 16) for i in (1, 3, 5))
        assert r > b
    assert colours.diverging(0, 3) == "#f7f7f7"


def test_labels_contrast_with_the_shade_they_sit_on():
    """Black on light shades, white on dark (the map's dark maroon), 4.5:1 at least either way
    across both ramps; the halo is the other colour."""
    assert colours.contrast("#000000", "#ffffff") == pytest.approx(21)
    assert colours.text_on(colours.sequential(8, 8)) == (colours.PAPER, colours.INK)
    assert colours.text_on(colours.sequential(0, 8)) == (colours.INK, colours.PAPER)
    shades = [colours.sequential(v, 20) for v in range(21)]
    shades += [colours.diverging(v, 10) for v in range(-10, 11)]
    for shade in shades:
        ink, _halo = colours.text_on(shade)
        assert colours.contrast(ink, shade) >= 4.5, shade
