"""The domain's closed vocabularies (docs/vocabulary.md, docs/data-format.md), in order."""

from __future__ import annotations

import re

LEVELS: tuple[str, ...] = ("universal", "targeted", "statutory", "specialist")
LEVEL_RANK: dict[str, int] = {name: rank for rank, name in enumerate(LEVELS, start=1)}
FOCUSES: tuple[str, ...] = ("specialised", "non_specialised")
STAGES: tuple[str, ...] = ("antenatal", "postnatal")
STAGE_ORDER: dict[str, int] = {name: i for i, name in enumerate(STAGES)}
AREA_KINDS: tuple[str, ...] = ("region", "local_authority")
SECTORS: tuple[str, ...] = ("nhs", "local_authority", "voluntary", "private", "other")
STATUSES: tuple[str, ...] = ("active", "inactive", "defunct", "temporarily_closed")
THRESHOLDS: tuple[str, ...] = ("open", "pre_statutory", "statutory")
REASONS: tuple[str, ...] = (
    "parent_infant_relationship",
    "perinatal_mental_health",
    "parenting",
    "safeguarding",
    "other",
)
# The unit of a referral link's count (docs/data-format.md): referrals a year from records, or
# how many survey respondents said they would refer there. Counts of different units are never
# added together. A blank cell (or no such column) is ``per_year``.
COUNT_BASES: tuple[str, ...] = ("per_year", "survey_mentions")
DEFAULT_COUNT_BASIS = "per_year"
# The analyses sort by the basis's text to put per_year first: keep the names in that order.
assert list(COUNT_BASES) == sorted(COUNT_BASES)
# How a count of each unit is named where people read it (singular, plural).
COUNT_UNITS: dict[str, tuple[str, str]] = {
    "per_year": ("referral a year", "referrals a year"),
    "survey_mentions": ("survey mention", "survey mentions"),
}
AIMH_LEVELS: tuple[int, ...] = (0, 1, 2, 3)
# The fields of the optional dataset.csv (docs/data-format.md): what the dataset as a whole is,
# where and when it was collected, and the method it follows.
DATASET_FIELDS: tuple[str, ...] = ("title", "source", "collected", "method")
MAX_AGE_MONTHS = 216
# The postnatal age bands of the age_bands analysis (docs/analyses.md): months after birth,
# inclusive, youngest first.
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0-5", 0, 5),
    ("6-11", 6, 11),
    ("12-17", 12, 17),
    ("18-23", 18, 23),
)

# THRIVE grouping of each level (docs/vocabulary.md; the report recommends THRIVE over tiers).
# "Thriving" is the state families are in without a service, so no level maps to it.
THRIVE_GROUP: dict[str, str] = {
    "universal": "Getting Advice and Signposting",
    "targeted": "Getting Help",
    "specialist": "Getting More Help",
    "statutory": "Getting Risk Support",
}

# The report's high-adversity shares (docs/vocabulary.md, "Need"): 8% targeted, 2% + 7% specialist,
# 13% statutory risk support.
DEFAULT_SHARES: dict[str, str] = {"targeted": "0.08", "specialist": "0.09", "statutory": "0.13"}
# The report's general-population (low-adversity) distribution - secure 55-60%, insecure 25-30%,
# disorganised 15% - taken at its midpoints (57.5 / 27.5 / 15, which add to 100) and mapped to
# the levels as the report maps its high-adversity 50 / 30 / 20: of the insecure, 8/30 access
# targeted help and 2/30 shorter-term specialist work (the other 20/30 are unlikely to access
# services before two); of the disorganised, 7/20 access longer-term specialist work and 13/20
# need risk support via social care. So targeted 27.5 x 8/30 = 7.33%, specialist
# 27.5 x 2/30 + 15 x 7/20 = 7.08%, statutory 15 x 13/20 = 9.75%.
GENERAL_POPULATION_SHARES: dict[str, str] = {
    "targeted": "0.0733",
    "specialist": "0.0708",
    "statutory": "0.0975",
}
SHARE_PRESETS: dict[str, dict[str, str]] = {
    "high_adversity": DEFAULT_SHARES,
    "general_population": GENERAL_POPULATION_SHARES,
}
# What each share is, in the report's words ("Estimating current and future need", figure 6).
SHARE_MEANINGS: dict[str, str] = {
    "targeted": '8% "will access targeted services for help with attachment insecurity"',
    "specialist": '2% "will access shorter-term specialist therapeutic work for substantially '
    'insecure attachment" + 7% "longer-term specialist therapeutic [work] for disorganised '
    'attachment"',
    "statutory": '13% "might need support for a disorganised attachment but are unlikely to '
    'access help. They are likely to need risk support via social care": set here against '
    "specialised statutory capacity, though the report expects these families not to seek it",
}
NEED_LEVELS: tuple[str, ...] = ("targeted", "specialist", "statutory")

# The words people read for the keys above (pages, chart axes, tooltips, the report): a key
# not listed reads as itself with spaces. Downloads and the command line keep the keys.
LABELS: dict[str, str] = {
    "non_specialised": "non-specialised",
    "pre_statutory": "pre-statutory",
    "local_authority": "local authority",
    "nhs": "NHS",
    "temporarily_closed": "temporarily closed",
    "parent_infant_relationship": "parent-infant relationship",
    "perinatal_mental_health": "perinatal mental health",
    # misdirected referrals' problems
    "not_offered": "support not offered there",
    "out_of_area": "out of area",
    "wrong_stage": "wrong stage",
    "inactive_target": "destination not active",
    # boundaries' interface kinds
    "threshold_change": "threshold change",
    "age_mismatch": "age mismatch",
    "geography_partial": "areas partly shared",
    "geography_none": "no area shared",
    "stage_handover": "stage handover",
    # a referral count's unit
    "per_year": "referrals a year",
    "survey_mentions": "survey mentions",
}


def label(key: str) -> str:
    """A vocabulary key in the words people read ("parent_infant_relationship" ->
    "parent-infant relationship")."""
    return LABELS.get(key) or key.replace("_", " ")


def in_words(text: str) -> str:
    """``text`` with every vocabulary key in it put in words ("problems=not_offered" ->
    "problems=support not offered there")."""
    return _KEY_PATTERN.sub(lambda found: LABELS[found.group(0)], text)


_KEY_PATTERN = re.compile(r"\b(" + "|".join(sorted(LABELS, key=len, reverse=True)) + r")\b")
