"""Thin functions over the named queries, returning rows shaped as docs/analyses.md defines."""

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
from nestmap.analysis.summaries import (
    local_authorities,
    need_totals,
    referral_links,
    region_name,
    service_names,
)

__all__ = [
    "age_bands",
    "assessment",
    "boundaries",
    "boundary_links",
    "concentration",
    "gaps",
    "groups_left_out",
    "info",
    "local_authorities",
    "local_authority_codes",
    "misdirected",
    "need",
    "need_totals",
    "parse_shares",
    "pathways",
    "referral_links",
    "region_name",
    "service_names",
    "services",
    "thrive",
    "threshold_cliffs",
    "workforce",
]
