"""Area names as directories write them, matched to the bundled ONS codes.

A directory may name its service areas instead of coding them ("Bristol", "South
Gloucestershire", "Caerdydd", "Cwm Taf Morgannwg UHB"). A name is matched, whatever its letter
case, accents or punctuation, to a local authority district (April 2025 names, in English or
Welsh), a Welsh local health board or an English Integrated Care Board:

1. exactly, once normalised ("&" is "and", "St." is "St", "Ynys Môn" is "ynys mon");
2. else without the words around a name that say what kind of body it is — "City of",
   "County of", "London Borough of", "Royal Borough of", "NHS", "Cyngor", a trailing
   "Council" (county, city, borough, district, metropolitan borough, county borough),
   "Integrated Care Board"/"ICB", "(University/Teaching) Health Board"/"UHB" — where such a
   word also says the kind (a council is a local authority, a health board or ICB a region);

a name matching two different areas (or none) is not matched: it is reported with the nearest
names nestmap knows, for a person to choose.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

_PREFIXES = (
    "city and county of ",
    "city of ",
    "county of ",
    "royal borough of ",
    "london borough of ",
    "metropolitan borough of ",
    "county borough of ",
    "borough of ",
    "the ",
    "nhs ",
    "cyngor bwrdeistref sirol ",
    "cyngor dinas a sir ",
    "cyngor ",
)
# Trailing words that say a name is a council (a local authority).
_COUNCIL_SUFFIXES = (
    " metropolitan borough council",
    " county borough council",
    " borough council",
    " county council",
    " district council",
    " city council",
    " unitary authority",
    " local authority",
    " council",
)
# Trailing words that say a name is a health board or an ICB (a region).
_REGION_SUFFIXES = (
    " integrated care board",
    " icb",
    " university health board",
    " teaching health board",
    " local health board",
    " health board",
    " uhb",
)
# Leading words of the same meaning (Welsh health boards: "Bwrdd Iechyd Prifysgol ...").
_REGION_PREFIXES = (
    "bwrdd iechyd prifysgol ",
    "bwrdd iechyd addysgu ",
    "bwrdd iechyd ",
)


def normal(text: str) -> str:
    """A name as compared: case-folded, accents dropped, "&" as "and", punctuation as spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("&", " and ").replace("'", "").replace("’", "")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def _bare(name: str, known: bool = False) -> tuple[str, str]:
    """(the name without the words that say its kind, the kind they say: "la", "region" or "").

    For a ``known`` (bundled) name a leading "City of" stays (the City of London is not
    London) and a leading "County " goes (County Durham is Durham)."""
    kind = ""
    if known and name.startswith("county ") and not name.startswith("county of "):
        name = name[len("county ") :]
    changed = True
    while changed:
        changed = False
        for prefix in _REGION_PREFIXES:
            if name.startswith(prefix):
                name, kind, changed = name[len(prefix) :], "region", True
        for suffix in _REGION_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name, kind, changed = name[: -len(suffix)], "region", True
        for suffix in _COUNCIL_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name, kind, changed = name[: -len(suffix)], kind or "la", True
        for prefix in _PREFIXES:
            if known and prefix in ("city of ", "county of ", "the "):
                continue
            if name.startswith(prefix) and len(name) > len(prefix):
                name, changed = name[len(prefix) :], True
        # "Bristol, City of" reads "bristol city of" once normalised.
        for tail in (" city of", " county of"):
            if name.endswith(tail):
                name, changed = name[: -len(tail)], True
    return name.strip(), kind


@dataclass(frozen=True)
class AreaMatch:
    """What a name matched: its code (None when unmatched), and the nearest known names (code,
    name) when it matched none or more than one."""

    name: str
    code: str | None
    candidates: list[tuple[str, str]] = field(default_factory=list)
    ambiguous: bool = False


@dataclass
class _Index:
    exact: dict[str, set[str]]  # normalised full name -> codes
    bare: dict[str, set[str]]  # name without its kind words -> codes
    kinds: dict[str, str]  # code -> "la" or "region"
    names: dict[str, str]  # code -> its English name
    variants: list[tuple[str, str]]  # (normalised variant, code), for nearest names


@lru_cache(maxsize=1)
def _index() -> _Index:
    from nestmap import geography

    index = _Index({}, {}, {}, {}, [])
    welsh = geography.welsh_names()
    entries = [(la.code, la.name, "la") for la in geography.local_authorities().values()]
    entries += [(r.code, r.name, "region") for r in geography.regions().values()]
    for code, name, kind in entries:
        index.kinds[code] = kind
        index.names[code] = name
        for written in (name, welsh.get(code, "")):
            if not written:
                continue
            full = normal(written)
            bare = _bare(full, known=True)[0]
            index.exact.setdefault(full, set()).add(code)
            index.bare.setdefault(bare, set()).add(code)
            index.variants += [(full, code), (bare, code)]
    return index


def match_area(name: str) -> AreaMatch:
    """The local authority, health board or ICB that ``name`` names (see the module's rules)."""
    index = _index()
    full = normal(name)
    found = index.exact.get(full, set())
    if len(found) != 1:
        bare, kind = _bare(full)
        found = {
            code for code in index.bare.get(bare, set()) if not kind or index.kinds[code] == kind
        } or found
    if len(found) == 1:
        return AreaMatch(name, next(iter(found)))
    if found:
        return AreaMatch(name, None, sorted((c, index.names[c]) for c in found), ambiguous=True)
    return AreaMatch(name, None, nearest(name))


def nearest(name: str, limit: int = 3) -> list[tuple[str, str]]:
    """The known areas whose names are closest to ``name``: those containing all its words first,
    then by similarity."""
    index = _index()
    bare = _bare(normal(name))[0]
    if not bare:
        return []
    words = set(bare.split())
    scored: dict[str, float] = {}
    for variant, code in index.variants:
        score = difflib.SequenceMatcher(None, bare, variant).ratio()
        if words and words <= set(variant.split()):
            score += 1.0
        scored[code] = max(scored.get(code, 0.0), score)
    best = sorted(scored.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [(code, index.names[code]) for code, score in best if score >= 0.6]
