"""The domain's closed vocabularies (DOMAIN.md, SPEC.md section 1), in their contract order."""

from __future__ import annotations

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
AIMH_LEVELS: tuple[int, ...] = (0, 1, 2, 3)
MAX_AGE_MONTHS = 216
# The postnatal age bands of the age_bands analysis (SPEC.md section 3): months after birth,
# inclusive, youngest first.
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0-5", 0, 5),
    ("6-11", 6, 11),
    ("12-17", 12, 17),
    ("18-23", 18, 23),
)

# THRIVE grouping of each level (DOMAIN.md; the report recommends THRIVE over tiers).
# "Thriving" is the state families are in without a service, so no level maps to it.
THRIVE_GROUP: dict[str, str] = {
    "universal": "Getting Advice and Signposting",
    "targeted": "Getting Help",
    "specialist": "Getting More Help",
    "statutory": "Getting Risk Support",
}

# The report's high-adversity shares (DOMAIN.md, "Need"): 8% targeted, 2% + 7% specialist,
# 13% statutory risk support.
DEFAULT_SHARES: dict[str, str] = {"targeted": "0.08", "specialist": "0.09", "statutory": "0.13"}
NEED_LEVELS: tuple[str, ...] = ("targeted", "specialist", "statutory")
