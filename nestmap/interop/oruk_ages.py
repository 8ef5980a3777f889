"""A directory's ages as nestmap's child's ages in months, by stated rules, never guessed.

Open Referral gives a service's ages in years (``minimum_age``, ``maximum_age``; Outpost's
``min_age``, ``max_age``; ORUK v1's ``eligibilitys``), and often only in its eligibility text
("kids and teens 18 and under"). nestmap records the child's age in months, 0 to 216. The rules:

- a whole number of years is a birthday: a minimum of N years is N × 12 months, a maximum of N
  years lasts until the next birthday, N × 12 + 11 months (a service "up to 5" sees a child of
  5 years and 11 months); a fraction of a year, or a number given in months or weeks, is
  converted as it stands;
- a negative age (Bristol's directory writes -1 for "no age limit") is no bound: left blank;
- an age past 18 years is recorded as 216 months (18 years), the oldest nestmap records;
- text ("6 months", "2 years") is read when it is a number and a unit; otherwise the age is
  left blank and listed to fill in, with the original value;
- where a service has no numeric ages, its eligibility text is read for ranges ("5-17 years",
  "ages 0 to 19", "12 months to 5 years"), upper bounds ("under 5" = up to 59 months, "18 and
  under", "up to 11") and lower bounds ("55 or over", "over 18", "16+"), in years unless the
  text says months or weeks; a bare number counts only when the text speaks of ages (age,
  years, old, children, teens, adults, ...). Of several bounds the loosest is kept (the
  smallest minimum, the largest maximum). Text that speaks of ages but matches no rule is left
  blank and listed to fill in, with the text;
- a minimum above the maximum is left blank and listed to fill in, with both values.

Every rule applied is counted in the import's warnings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from nestmap.vocabulary import MAX_AGE_MONTHS

_UNIT = r"(years?|yrs?|y/?o|months?|mths?|mos?|weeks?|wks?)"
# A number that is not part of a longer one, nor an ordinal ("7th grade").
_NUM = r"(?<![\d.])(\d{1,3}(?:\.\d+)?)(?!\d|(?:st|nd|rd|th)\b)"
_AGE_OF = r"(?:the\s+)?(?:age[sd]?\s*(?:of\s*)?)?"
_RANGE = re.compile(rf"{_NUM}\s*{_UNIT}?\s*(?:-|to|through|until)\s*{_NUM}\s*{_UNIT}?")
# One bound each: (pattern with groups number and unit, which bound, months added). "Under N"
# ends the month before the Nth birthday; "N and under" and "up to N" at its end.
_BOUNDS = [
    (re.compile(rf"(?:under|below|less than|younger than)\s*{_AGE_OF}{_NUM}\s*{_UNIT}?"), "under"),
    (re.compile(rf"{_NUM}\s*{_UNIT}?\s*(?:and|or|&)\s*(?:under|younger|below|less)"), "max"),
    (re.compile(rf"up\s*to\s*{_AGE_OF}{_NUM}\s*{_UNIT}?"), "max"),
    (re.compile(rf"{_NUM}\s*{_UNIT}?\s*(?:and|or|&)\s*(?:over|older|above|up)"), "min"),
    (re.compile(rf"{_NUM}\s*(\+)"), "min"),
    (re.compile(rf"(?:over|above|older than)\s*{_AGE_OF}{_NUM}\s*{_UNIT}?"), "min"),
]
_AGE_WORDS = re.compile(
    r"\b(?:age[sd]?|years?|yrs|old|months?|child|children|kids?|teens?|teenagers?|youth|young"
    r"|adults?|seniors?|infants?|bab(?:y|ies)|toddlers?|newborns?|under[\s-]*\d+s|over\s*\d+s)\b"
)
_OTHER_UNITS = re.compile(r"^\s*(?:minutes?|mins?|hours?|hrs?|days?|miles?|km|%|pounds?|am|pm)\b")


@dataclass
class Age:
    """An age bound as nestmap records it, and how it was read."""

    months: str = ""  # blank: no bound, or not read
    rule: str = ""  # "years", "negative", "past 18", "text", "unread" (blank: as given)
    original: str = ""


def from_value(value: Any, bound: str) -> Age:
    """A directory's ``minimum_age`` / ``maximum_age`` (``bound``: "min" or "max")."""
    if value is None or value == "":
        return Age()
    original = str(value)
    if isinstance(value, bool):
        return Age(rule="unread", original=original)
    if isinstance(value, int | float):
        number, unit = float(value), "year"
    else:
        parsed = _number_and_unit(str(value))
        if parsed is None:
            return Age(rule="unread", original=original)
        number, unit = parsed
    if math.isnan(number) or math.isinf(number):
        return Age(rule="unread", original=original)
    if number < 0:
        return Age(rule="negative", original=original)
    return _bounded(_months(number, unit, bound), "years" if unit == "year" else "", original)


def _number_and_unit(text: str) -> tuple[float, str] | None:
    match = re.fullmatch(rf"\s*(-?\d+(?:\.\d+)?)\s*{_UNIT}?\s*(?:old)?\s*", text.casefold())
    if not match:
        return None
    return float(match.group(1)), _unit(match.group(2)) or "year"


def _unit(word: str | None) -> str:
    if not word or word == "+":
        return "year" if word else ""
    if word.startswith(("m", "mo")):
        return "month"
    if word.startswith("w"):
        return "week"
    return "year"


def _months(number: float, unit: str, bound: str) -> int:
    if unit == "month":
        return round(number)
    if unit == "week":
        return math.floor(number * 12 / 52)
    whole = float(number).is_integer()
    return round(number * 12) + (11 if bound == "max" and whole else 0)


def _bounded(months: int, rule: str, original: str) -> Age:
    if months > MAX_AGE_MONTHS:
        return Age(str(MAX_AGE_MONTHS), "past 18", original)
    return Age(str(months), rule, original)


@dataclass
class TextAges:
    """Ages read from eligibility text: bounds in months (None: not given), and whether the
    text speaks of ages at all."""

    minimum: int | None = None
    maximum: int | None = None
    speaks_of_ages: bool = False
    found: list[str] = field(default_factory=list)  # the phrases read


def from_text(text: str) -> TextAges:
    """The age bounds an eligibility text states, by the rules above."""
    lowered = text.casefold().replace("–", "-").replace("—", "-")
    result = TextAges(speaks_of_ages=bool(_AGE_WORDS.search(lowered)))
    lows: list[int] = []
    highs: list[int] = []
    taken: list[tuple[int, int]] = []
    for match in _RANGE.finditer(lowered):
        first, first_unit, second, second_unit = match.groups()
        if not _is_age(lowered, match, first_unit or second_unit, result.speaks_of_ages):
            continue
        unit_second = _unit(second_unit) or _unit(first_unit) or "year"
        unit_first = _unit(first_unit) or unit_second
        low = _months(float(first), unit_first, "min")
        high = _months(float(second), unit_second, "max")
        if low > high or float(second) > 120:
            continue
        lows.append(low)
        highs.append(high)
        taken.append(match.span())
        result.found.append(match.group(0).strip())
    for pattern, bound in _BOUNDS:
        for match in pattern.finditer(lowered):
            if any(start <= match.start() < end for start, end in taken):
                continue
            number, unit_word = match.group(1), match.group(2)
            if not _is_age(lowered, match, unit_word, result.speaks_of_ages):
                continue
            value = float(number)
            if value > 120:
                continue
            unit = _unit(unit_word) or "year"
            if bound == "min":
                lows.append(_months(value, unit, "min"))
            elif bound == "under":
                highs.append(_months(value, unit, "min") - 1)
            else:
                highs.append(_months(value, unit, "max"))
            result.found.append(match.group(0).strip())
    if lows:
        result.minimum = min(lows)
    if highs:
        result.maximum = max(highs)
    return result


def _is_age(text: str, match: re.Match[str], unit: str | None, speaks_of_ages: bool) -> bool:
    """A number is an age when it has an age unit, or when the text speaks of ages and the
    number is not followed by another unit (minutes, miles, %)."""
    if unit:
        return True
    return speaks_of_ages and not _OTHER_UNITS.match(text[match.end() :])


def clamp(months: int) -> int:
    return max(0, min(MAX_AGE_MONTHS, months))
