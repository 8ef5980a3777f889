"""Row shaping shared by the analyses: code-point sorting and the contract's rounding."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
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
    known = local_authority_names(store)
    if area not in known:
        raise unknown_area(area, known)
    return area


def _plain(text: str) -> str:
    """Text compared without letter case or runs of spaces."""
    return " ".join(text.split()).casefold()


def match_area(text: str, known: Mapping[str, str]) -> str:
    """The code of the local authority ``text`` names among ``known`` (code -> name): its code
    or its name, in any letter case and spacing. A usage error listing the known ones (the
    closest first at national scale) when it names none, or several (two LAs of one name)."""
    if text in known:
        return text
    wanted = _plain(text)
    codes = [code for code in known if _plain(code) == wanted]
    if len(codes) != 1:
        codes = [code for code, name in known.items() if name and _plain(name) == wanted]
    if len(codes) == 1:
        return codes[0]
    if codes:
        listing = ", ".join(f"{code} ({known[code]})" for code in sorted(codes))
        raise UsageError(
            f"{len(codes)} local authorities are named {text!r}: give the code, one of {listing}"
        )
    raise unknown_area(text, known)


# More than this and the error lists the closest ones only (a country has hundreds).
LISTED_CODES = 20
_LIST_THEM = (
    "list them all with: nestmap query \"MATCH (a:Area {kind: 'local_authority'}) "
    'RETURN a.code, a.name ORDER BY a.code"'
)


def unknown_area(area: str, known: Mapping[str, str]) -> UsageError:
    """The error for ``area`` when it is neither the code nor the name of a loaded LA
    (``known``: code -> name). A region's few are all listed, name beside code; at national
    scale (400) a wall of them hides the one meant, so the error lists the closest first (a
    typo in a code or a name), then says how to list them all."""
    start = f"unknown local authority code {area!r} (nor the name of one)"
    codes = sorted(known)

    def named(code: str) -> str:
        return f"{code} ({known[code]})" if known[code] else code

    asked = _plain(area)
    matcher = difflib.SequenceMatcher(b=asked, autojunk=False)
    scores = []
    for code in codes:
        best = 0.0
        name = _plain(known[code] or "")
        # The name whole, and its start (a first word typed: "merthir" for Merthyr Tydfil).
        for said in (_plain(code), name, name[: len(asked)]):
            matcher.set_seq1(said)
            if matcher.real_quick_ratio() >= 0.6 and matcher.ratio() >= 0.6:
                best = max(best, matcher.ratio())
        if best:
            scores.append((-best, code))  # closest first; equally close by code
    close = [code for _score, code in sorted(scores)[:LISTED_CODES]]
    if len(codes) <= LISTED_CODES:
        listing = ", ".join(named(code) for code in codes) if codes else "(none loaded)"
        nearest = f"; the closest: {', '.join(named(code) for code in close[:3])}" if close else ""
        return UsageError(f"{start}; known codes: {listing}{nearest}")
    if close:
        shown = close
        words = "the closest known codes"
    else:
        shown = codes[:LISTED_CODES]
        words = "known codes include"
    rest = len(codes) - len(shown)
    listing = ", ".join(named(code) for code in shown)
    return UsageError(f"{start}; {words}: {listing} (and {rest} more; {_LIST_THEM})")


def local_authority_names(store: GraphStore) -> dict[str, str]:
    """Each loaded local authority's name by its code."""
    return {row["code"]: row["name"] or "" for row in store.run("local_authorities")}


def local_authority_codes(store: GraphStore) -> list[str]:
    return sorted(row["code"] for row in store.run("local_authorities"))
