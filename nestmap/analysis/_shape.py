"""Row shaping shared by the analyses: code-point sorting and the contract's rounding."""

from __future__ import annotations

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
        listing = ", ".join(known) if known else "(none loaded)"
        raise UsageError(f"unknown local authority code {area!r}; known codes: {listing}")
    return area


def local_authority_codes(store: GraphStore) -> list[str]:
    return sorted(row["code"] for row in store.run("local_authorities"))
