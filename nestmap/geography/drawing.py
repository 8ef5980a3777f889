"""How a map of local authorities is drawn so that no area hides another and every label sits
inside its own area: shared by the dashboard's maps (plotly) and the report's (SVG).

- **Order.** Larger areas first, smaller on top: a council lying wholly inside another
  (Cambridge inside South Cambridgeshire) is drawn over it, never under it.
- **Labels.** Each at a point inside its area - the pole of inaccessibility (Mapbox's
  *polylabel*: the interior point farthest from the edge), away from the holes and from the
  other areas drawn on top of it - never at the bounding box's centre, which for a ring-shaped
  district is its neighbour. A label is placed only where its whole box fits inside the area
  and overlaps no other label; failing that it tries two lines, then the value alone, then
  none (the caller lists those areas).

Coordinates are WGS84 lon/lat; distances are measured on a plane where a degree of longitude
is ``cos(latitude)`` of a degree of latitude (what both maps draw).
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

Point = tuple[float, float]
Ring = Sequence[Point]


class Shape(Protocol):
    @property
    def rings(self) -> Sequence[Ring]: ...  # outer rings

    @property
    def holes(self) -> Sequence[Ring]: ...


def ring_area(ring: Ring) -> float:
    """The area a ring encloses (square degrees, unsigned)."""
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring))) / 2


def area(shape: Shape) -> float:
    return sum(ring_area(r) for r in shape.rings) - sum(ring_area(h) for h in shape.holes)


def _in_ring(x: float, y: float, ring: Ring) -> bool:
    inside = False
    x0, y0 = ring[-1]
    for x1, y1 in ring:
        if (y1 > y) != (y0 > y) and x < (x0 - x1) * (y - y1) / (y0 - y1) + x1:
            inside = not inside
        x0, y0 = x1, y1
    return inside


def inside(point: Point, rings: Sequence[Ring]) -> bool:
    """Inside by the even-odd rule over all ``rings`` (outer rings and holes alike)."""
    return sum(_in_ring(point[0], point[1], ring) for ring in rings) % 2 == 1


def drawing_order(shapes: Mapping[str, Shape], codes: Sequence[str]) -> list[str]:
    """``codes`` largest area first, so that smaller areas are drawn on top."""
    return sorted(codes, key=lambda code: (-area(shapes[code]), code))


# -- a plane in which distances are true (near ``middle`` latitude) ---------------------------
@dataclass(frozen=True)
class Plane:
    """lon/lat to a plane: x = lon·cos(middle), y = lat (degrees of latitude)."""

    middle: float

    @property
    def k(self) -> float:
        return math.cos(math.radians(self.middle))

    def ring(self, ring: Ring) -> list[Point]:
        return [(x * self.k, y) for x, y in ring]

    def back(self, point: Point) -> Point:
        return (point[0] / self.k, point[1])


def _segment_distance_sq(px: float, py: float, a: Point, b: Point) -> float:
    x, y = a
    dx, dy = b[0] - x, b[1] - y
    if dx or dy:
        t = ((px - x) * dx + (py - y) * dy) / (dx * dx + dy * dy)
        if t > 1:
            x, y = b
        elif t > 0:
            x, y = x + dx * t, y + dy * t
    return (px - x) ** 2 + (py - y) ** 2


def _signed_distance(x: float, y: float, rings: Sequence[Sequence[Point]]) -> float:
    """Distance to the nearest edge, negative outside (even-odd over ``rings``)."""
    inner = False
    best = math.inf
    for ring in rings:
        if _in_ring(x, y, ring):
            inner = not inner
        for a, b in pairwise(ring):
            best = min(best, _segment_distance_sq(x, y, a, b))
    return (1 if inner else -1) * math.sqrt(best)


def pole_of_inaccessibility(rings: Sequence[Sequence[Point]], precision: float) -> Point:
    """The point inside ``rings`` (even-odd) farthest from every edge, to ``precision``
    (polylabel, Agafonkin 2016: a quadtree search bounded by each cell's best possible
    distance)."""
    xs = [p[0] for ring in rings for p in ring]
    ys = [p[1] for ring in rings for p in ring]
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    size = min(x1 - x0, y1 - y0)
    if size <= 0:
        return (x0, y0)
    half = size / 2

    def cell(x: float, y: float, h: float) -> tuple[float, float, float, float, float]:
        d = _signed_distance(x, y, rings)
        best_possible = d + h * math.sqrt(2)
        return (-best_possible, d, x, y, h)

    queue: list[tuple[float, float, float, float, float]] = []
    x = x0
    while x < x1:
        y = y0
        while y < y1:
            heapq.heappush(queue, cell(x + half, y + half, half))
            y += size
        x += size
    # The centroid of the largest ring is a good first guess.
    biggest = max(rings, key=lambda ring: ring_area(ring))
    cx = sum(p[0] for p in biggest) / len(biggest)
    cy = sum(p[1] for p in biggest) / len(biggest)
    best = (_signed_distance(cx, cy, rings), cx, cy)
    while queue:
        _, d, x, y, h = heapq.heappop(queue)
        if d > best[0]:
            best = (d, x, y)
        if d + h * math.sqrt(2) - best[0] <= precision:
            continue
        h /= 2
        for dx in (-h, h):
            for dy in (-h, h):
                heapq.heappush(queue, cell(x + dx, y + dy, h))
    return (best[1], best[2])


# -- labels ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Label:
    """A label placed at ``point`` (lon, lat): its lines, as drawn."""

    code: str
    point: Point
    lines: tuple[str, ...]
    named: bool  # False: the value alone (the area is too small for its name)


@dataclass(frozen=True)
class Lettering:
    """How big text is on the drawn map: font size and the map's scale, both in pixels."""

    font_px: float
    px_per_degree: float  # pixels per degree of latitude (and per cos-scaled degree of lon)
    char_width: float = 0.58  # of the font size: a bold sans-serif's average, a little over
    line_height: float = 1.25
    margin_px: float = 3.0

    def box(self, lines: Sequence[str]) -> tuple[float, float]:
        """Half-width and half-height of ``lines`` on the plane (degrees)."""
        width = max(len(line) for line in lines) * self.char_width * self.font_px
        height = len(lines) * self.line_height * self.font_px
        return (
            (width / 2 + self.margin_px) / self.px_per_degree,
            (height / 2 + self.margin_px) / self.px_per_degree,
        )


def two_lines(name: str) -> tuple[str, str] | None:
    """``name`` broken at the space nearest its middle (None for one word)."""
    spaces = [i for i, ch in enumerate(name) if ch == " "]
    if not spaces:
        return None
    cut = min(spaces, key=lambda i: abs(i - len(name) / 2))
    return name[:cut], name[cut + 1 :]


def wordings(name: str, value: str) -> list[tuple[str, ...]]:
    """The ways to write an area's label, best first: name over value, the name on two lines
    over the value, the value alone."""
    found: list[tuple[str, ...]] = [(name, value)]
    split = two_lines(name)
    if split:
        found.append((*split, value))
    found.append((value,))
    return found


def _box_clear(
    cx: float,
    cy: float,
    hw: float,
    hh: float,
    rings: Sequence[Sequence[Point]],
) -> bool:
    """The box lies inside ``rings`` (even-odd): its centre inside and no edge crossing it."""
    if not _even_odd(cx, cy, rings):
        return False
    left, right, bottom, top = cx - hw, cx + hw, cy - hh, cy + hh
    for ring in rings:
        for (ax, ay), (bx, by) in pairwise(ring):
            if max(ax, bx) < left or min(ax, bx) > right:
                continue
            if max(ay, by) < bottom or min(ay, by) > top:
                continue
            if _segment_meets_box(ax, ay, bx, by, left, right, bottom, top):
                return False
    return True


def _even_odd(x: float, y: float, rings: Sequence[Sequence[Point]]) -> bool:
    return sum(_in_ring(x, y, ring) for ring in rings) % 2 == 1


def _segment_meets_box(
    ax: float, ay: float, bx: float, by: float, left: float, right: float, bottom: float, top: float
) -> bool:
    """Liang-Barsky: does the segment a-b pass through the box?"""
    t0, t1 = 0.0, 1.0
    dx, dy = bx - ax, by - ay
    for p, q in ((-dx, ax - left), (dx, right - ax), (-dy, ay - bottom), (dy, top - ay)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            if t > t1:
                return False
            t0 = max(t0, t)
        else:
            if t < t0:
                return False
            t1 = min(t1, t)
    return t0 <= t1


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def _candidates(rings: Sequence[Sequence[Point]], pole: Point, steps: int = 16) -> list[Point]:
    """The pole first, then the interior points of a grid over the area, nearest the pole
    first."""
    xs = [p[0] for ring in rings for p in ring]
    ys = [p[1] for ring in rings for p in ring]
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    grid = [
        (x0 + (x1 - x0) * (i + 0.5) / steps, y0 + (y1 - y0) * (j + 0.5) / steps)
        for i in range(steps)
        for j in range(steps)
    ]
    inner = [p for p in grid if _even_odd(p[0], p[1], rings)]
    inner.sort(key=lambda p: (p[0] - pole[0]) ** 2 + (p[1] - pole[1]) ** 2)
    return [pole, *inner]


def label_regions(
    shapes: Mapping[str, Shape], codes: Sequence[str], drawn: Sequence[str], plane: Plane
) -> dict[str, list[list[Point]]]:
    """Per area of ``codes``, the rings (on the plane) bounding where its label may go: its
    outer rings, its holes, and the outline of every other ``drawn`` area lying inside it
    (drawn on top of it) that is not already one of its holes."""
    regions: dict[str, list[list[Point]]] = {}
    for code in codes:
        shape = shapes[code]
        rings = [plane.ring(r) for r in shape.rings] + [plane.ring(h) for h in shape.holes]
        for other in enclosed(shapes, code, drawn):
            rings += [plane.ring(r) for r in shapes[other].rings]
        regions[code] = rings
    return regions


def enclosed(
    shapes: Mapping[str, Shape], code: str, others: Sequence[str], holes_too: bool = False
) -> list[str]:
    """The ``others`` lying inside area ``code`` (smaller, their interior point inside its
    outer rings) and, unless ``holes_too``, not already cut out of it as a hole."""
    shape = shapes[code]
    box, own = _bbox(shape.rings), area(shape)
    found = []
    for other in others:
        if other == code or not _within(_bbox(shapes[other].rings), box):
            continue
        if area(shapes[other]) >= own:
            continue
        point = _inner_point(shapes[other])
        if inside(point, shape.rings) and (holes_too or not inside(point, shape.holes)):
            found.append(other)
    return found


def _inner_point(shape: Shape) -> Point:
    """A point inside the shape's largest ring (its pole, coarsely)."""
    biggest = max(shape.rings, key=ring_area)
    x0, y0, x1, y1 = _bbox([biggest])
    return pole_of_inaccessibility([biggest], max(x1 - x0, y1 - y0) / 20)


def _bbox(rings: Sequence[Ring]) -> tuple[float, float, float, float]:
    xs = [p[0] for ring in rings for p in ring]
    ys = [p[1] for ring in rings for p in ring]
    return (min(xs), min(ys), max(xs), max(ys))


def _within(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[2] <= outer[2]
        and inner[3] <= outer[3]
    )


# A label of a small area (a city inside its district) may overhang the area's edge a little -
# the halo keeps it readable - when nothing fits wholly inside: its box at this share must.
OVERHANG_FIT = 0.75


def _attempts(wordings: Sequence[tuple[str, ...]]) -> list[tuple[tuple[str, ...], float]]:
    """(wording, share of its box that must lie inside the area), in the order tried: every
    wording but the last wholly inside, then overhanging a little, then the last (the value
    alone) likewise."""
    *names, last = wordings
    return (
        [(w, 1.0) for w in names]
        + [(w, OVERHANG_FIT) for w in names]
        + [(last, 1.0), (last, OVERHANG_FIT)]
    )


def place_labels(
    shapes: Mapping[str, Shape],
    texts: Mapping[str, Sequence[tuple[str, ...]]],
    lettering: Lettering,
    middle: float,
    context: Sequence[str] = (),
) -> dict[str, Label]:
    """Labels for the areas in ``texts`` (each a list of wordings, best first; see
    ``wordings``), inside their areas - clear of any area, ``context`` ones included, drawn on
    top of them - and apart from each other. Smaller areas are placed first
    (they have the fewest places to go). An area whose every wording fails has no label; one
    labelled with its last wording (the value alone) is not ``named``."""
    plane = Plane(middle)
    codes = list(texts)
    regions = label_regions(shapes, codes, [*codes, *context], plane)
    placed: dict[str, Label] = {}
    taken: list[tuple[float, float, float, float]] = []
    for code in reversed(drawing_order(shapes, codes)):
        rings = regions[code]
        x0, y0, x1, y1 = _bbox(rings)
        pole = pole_of_inaccessibility(rings, max(x1 - x0, y1 - y0) / 100)
        spots = _candidates(rings, pole)
        edge = functools.lru_cache(maxsize=None)(
            lambda x, y, rings=rings: _signed_distance(x, y, rings)
        )
        last = texts[code][-1]
        for lines, fit in _attempts(texts[code]):
            hw, hh = lettering.box(lines)
            # A box lies inside only where the edge is at least its half-height away (cheap,
            # so the full check runs on few points).
            room = min(hw, hh) * fit
            spot = next(
                (
                    (x, y)
                    for x, y in spots
                    if not any(_overlaps((x - hw, y - hh, x + hw, y + hh), box) for box in taken)
                    and edge(x, y) >= room
                    and _box_clear(x, y, hw * fit, hh * fit, rings)
                ),
                None,
            )
            if spot is not None:
                taken.append((spot[0] - hw, spot[1] - hh, spot[0] + hw, spot[1] + hh))
                placed[code] = Label(code, plane.back(spot), tuple(lines), lines != last)
                break
    return placed
