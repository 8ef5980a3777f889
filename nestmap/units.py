"""How a figure is said where people read it: its unit, "not recorded", "at most".

One set of rules for the dashboard's pages, the report and the command line's notes, so that a
count of survey mentions is never called "referrals a year", a blank is never printed as 0, a
shortfall resting on capacities that are not recorded is an upper bound, and the statutory row
of ``need`` is named for what it is. (Which figures rest on illustrative values is
``nestmap.provenance``'s part.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nestmap.vocabulary import COUNT_BASES, COUNT_UNITS, DEFAULT_COUNT_BASIS

NOT_RECORDED = "not recorded"
# The statutory row of need, named for what it is (docs/analyses.md, "need"): by the report's
# method these families are unlikely to access help, and are held by social care through risk
# support; they are not expected to take up an intervention, so their shortfall is shown apart
# and never added to the targeted and specialist shortfall.
STATUTORY_LABEL = "families unlikely to access help (risk support via social care)"
STATUTORY_NOTE = (
    "The statutory share is the families who may need help with a disorganised attachment but "
    "are unlikely to access it: social care holds them through risk support. They are not "
    "expected demand for an intervention, so this figure is shown apart and never added to the "
    "targeted and specialist shortfall."
)
# The levels whose shortfall is expected demand for an intervention (added together).
INTERVENTION_LEVELS: tuple[str, ...] = ("targeted", "specialist")


def unit(basis: str | None, count: int | float = 2) -> str:
    """The unit of a count of ``basis`` ("referrals a year", "survey mentions"), singular for
    exactly 1."""
    singular, plural = COUNT_UNITS.get(basis or DEFAULT_COUNT_BASIS, (str(basis), str(basis)))
    return singular if count == 1 else plural


def counted(count: int | None, basis: str | None) -> str:
    """``count`` with its unit ("64 survey mentions", "1 referral a year"); "not recorded"
    for a blank count."""
    if count is None:
        return NOT_RECORDED
    return f"{count:,} {unit(basis, count)}"


def per_basis(figures: Mapping[str, Any], key: str | None = None, joiner: str = "; ") -> str:
    """Counts of several bases, each with its unit, never added together: ``figures`` maps a
    basis to a count (or to a dict holding it under ``key``), in ``COUNT_BASES`` order;
    "not recorded" when there is none."""
    parts = []
    for basis in _ordered(figures):
        value = figures[basis] if key is None else figures[basis].get(key)
        parts.append(counted(value, basis))
    return joiner.join(parts) if parts else NOT_RECORDED


def _ordered(figures: Mapping[str, Any]) -> list[str]:
    known = [basis for basis in COUNT_BASES if basis in figures]
    return known + sorted(basis for basis in figures if basis not in COUNT_BASES)


def services_phrase(number: int) -> str:
    return f"{number:,} service" + ("" if number == 1 else "s")


def shortfall_text(shortfall: float | None, unrecorded: int, places: int = 0) -> str:
    """A shortfall as people read it: "at most 1,002; capacity not recorded for 2 services"
    when some capacity is not recorded (the figure is then an upper bound, never a finding of
    no capacity); "not recorded" when there is no population to estimate demand from."""
    if shortfall is None:
        return NOT_RECORDED + " (no under-2 population)"
    figure = f"{shortfall:,.{places}f}"
    if unrecorded:
        return f"at most {figure}; capacity not recorded for {services_phrase(unrecorded)}"
    return figure


def shortfall_figure(shortfall: float | None, unrecorded: int, places: int = 0) -> str:
    """``shortfall_text`` short enough for a headline figure ("at most 1,139"); say
    ``unrecorded_note`` beside it."""
    if shortfall is None:
        return NOT_RECORDED
    figure = f"{shortfall:,.{places}f}"
    return f"at most {figure}" if unrecorded else figure


def unrecorded_note(unrecorded: int) -> str:
    """What "at most" beside a shortfall means ("" when every capacity is recorded)."""
    if not unrecorded:
        return ""
    return (
        f"Capacity not recorded for {services_phrase(unrecorded)}: the shortfall is at most the "
        "figure shown."
    )


def capacity_text(capacity: float | None, unrecorded: int, places: int = 0) -> str:
    """Recorded capacity as people read it: "not recorded" when none of the services behind it
    has a capacity recorded (never 0), "at least …" when only some have."""
    if capacity is None:
        return NOT_RECORDED
    figure = f"{capacity:,.{places}f}"
    if unrecorded and not capacity:
        return f"{NOT_RECORDED} ({services_phrase(unrecorded)})"
    if unrecorded:
        return f"at least {figure}; not recorded for {services_phrase(unrecorded)}"
    return figure


def level_label(level: str) -> str:
    """A need level's name where people read it: the statutory row says what it is."""
    return f"statutory: {STATUTORY_LABEL}" if level == "statutory" else level


def _values(rows: Any, column: str) -> list[Any]:
    """A column of an answer part (an Arrow table or a list of row dicts)."""
    if hasattr(rows, "column"):
        return rows.column(column).to_pylist() if column in rows.column_names else []
    return [row.get(column) for row in rows]


def table_notes(analysis: str, parts: list[tuple[str | None, Any]]) -> list[str]:
    """What a terminal table of ``analysis`` needs said beside it (the command line prints
    these on stderr under ``--format table``): the unit of each count, where a shortfall is
    only an upper bound, and what the statutory row of need is."""
    notes: list[str] = []
    for _name, rows in parts:
        if analysis in ("misdirected", "concentration"):
            bases = [b for b in COUNT_BASES if b in set(_values(rows, "count_basis"))]
            if bases:
                named = "; ".join(f"{basis}: {unit(basis)}" for basis in bases)
                shares = (
                    ", each share of its own unit's total" if analysis == "concentration" else ""
                )
                notes.append(f"note: count is in its count_basis ({named}); never added{shares}")
        if analysis == "need":
            if any(_values(rows, "unrecorded")):
                notes.append(
                    "note: unrecorded = services whose capacity is not recorded (not zero): "
                    "where above 0, the shortfall is at most the figure shown"
                )
            if "statutory" in _values(rows, "level"):
                notes.append(
                    f"note: statutory = {STATUTORY_LABEL}: shown apart, never added to the "
                    "targeted and specialist shortfall"
                )
    return notes
