"""Thin functions over the named queries, returning rows shaped to SPEC.md section 3."""

from nestmap.analysis._shape import local_authority_codes
from nestmap.analysis.core import (
    age_bands,
    boundaries,
    boundary_links,
    concentration,
    gaps,
    misdirected,
    need,
    parse_shares,
    pathways,
    threshold_cliffs,
)
from nestmap.analysis.extra import assessment, groups_left_out, services, thrive, workforce
from nestmap.analysis.info import info

__all__ = [
    "age_bands",
    "assessment",
    "boundaries",
    "boundary_links",
    "concentration",
    "gaps",
    "groups_left_out",
    "info",
    "local_authority_codes",
    "misdirected",
    "need",
    "parse_shares",
    "pathways",
    "services",
    "thrive",
    "threshold_cliffs",
    "workforce",
]
