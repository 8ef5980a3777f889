"""Row shaping shared by the analyses: code-point sorting and the contract's rounding."""

from __future__ import annotations

import difflib
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any

from nestmap.errors import UsageError
from nestmap.graph import GraphStore
from nestmap.vocabulary import LEVEL_RANK, STAGE_ORDER

Row = dict[str, Any]


def round_half_away(value: Fraction | Decimal | int, places: int) -> float:
    """Round once, half away from zero (Decimal's ROUND_HALF_UP is away from zero)."""
    with localcontext() as context:
        # 60 significant digits: only a true tie of the exact value rounds as a tie.
        context.prec = 60
        if isinstance(value, Fraction):
            exact = Decimal(value.numerator) / Decimal(value.denominator)
        else:
            exact = Decimal(value)
        quantum = Decimal(1).scaleb(-places)
        return float(exact.quantize(quantum, rounding=ROUND_HALF_UP))


def ids(values: list[Any] | None) -> list[str]:
    """A collected list of ids without its nulls, sorted by code point."""
    found = [value for value in values or () if value is not None]
    found.sort()
    return found


def level_rank(level: str) -> int:
    return LEVEL_RANK[level]


def stage_order(stage: str) -> int:
    return STAGE_ORDER[stage]


def area_param(store: GraphStore, area: str | None) -> str:
    """The ``$area`` parameter: ``''`` for all, else a known local authority's code."""
    if area is None:
        return ""
    known = local_authority_codes(store)
    if area not in known:
        raise unknown_area(area, known)
    return area


# More codes than this and the error lists the closest ones only (a country has hundreds).
LISTED_CODES = 20
_LIST_THEM = (
    "list them all with: nestmap query \"MATCH (a:Area {kind: 'local_authority'}) "
    'RETURN a.code, a.name ORDER BY a.code"'
)


def unknown_area(area: str, known: list[str]) -> UsageError:
    """The error for an area code that is not a loaded LA's. A region's few codes are all
    listed; at national scale (400) a wall of codes hides the one meant, so the error lists
    the closest codes first (a typo, a lower-case code), then says how to list them all."""
    start = f"unknown local authority code {area!r}"
    if len(known) <= LISTED_CODES:
        listing = ", ".join(known) if known else "(none loaded)"
        return UsageError(f"{start}; known codes: {listing}")
    asked = area.strip().upper()
    matcher = difflib.SequenceMatcher(b=asked, autojunk=False)
    scores = []
    for code in known:
        matcher.set_seq1(code.upper())
        if matcher.real_quick_ratio() >= 0.6 and matcher.ratio() >= 0.6:
            scores.append((-matcher.ratio(), code))  # closest first; equally close by code
    close = [code for _score, code in sorted(scores)[:LISTED_CODES]]
    if close:
        shown = close
        words = "the closest known codes"
    else:
        shown = known[:LISTED_CODES]
        words = "known codes include"
    rest = len(known) - len(shown)
    return UsageError(f"{start}; {words}: {', '.join(shown)} (and {rest} more; {_LIST_THEM})")


def local_authority_codes(store: GraphStore) -> list[str]:
    return sorted(row["code"] for row in store.run("local_authorities"))
