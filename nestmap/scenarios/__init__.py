"""Scenarios ("what if we added a team here") and comparisons between graphs."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nestmap.scenarios.apply import apply_scenario, evaluate, scenario_dataset
from nestmap.scenarios.compare import change_rows, compare
from nestmap.scenarios.model import (
    Scenario,
    check_scenario,
    checked_document,
    cost_lines,
    parse_document,
    read_scenario,
    read_untrusted,
)
from nestmap.scenarios.report import report_html, report_xlsx

__all__ = [
    "Scenario",
    "apply_scenario",
    "bundled_scenarios",
    "change_rows",
    "check_scenario",
    "checked_document",
    "compare",
    "cost_lines",
    "evaluate",
    "parse_document",
    "read_scenario",
    "read_untrusted",
    "report_html",
    "report_xlsx",
    "scenario_dataset",
]


def bundled_scenarios(region: str = "cwm_taf_morgannwg") -> list[Path]:
    """The scenario files shipped with a seed region, in name order."""
    folder = resources.files("nestmap.seed_data") / region / "scenarios"
    if not folder.is_dir():
        return []
    return sorted(
        Path(str(item)) for item in folder.iterdir() if item.name.endswith((".yaml", ".json"))
    )
