"""Apply a scenario to a loaded graph: the base graph is read, never written; the result is a
new graph (a copy with the changes) on which every analysis runs unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nestmap.errors import InputError, Problem
from nestmap.graph import GraphStore, open_store
from nestmap.interop import COLUMNS, dataset_tables
from nestmap.interop.dataset_files import cell_text
from nestmap.loaders.dataset import Dataset
from nestmap.loaders.read import RawDataset, RawTable
from nestmap.loaders.validate import validate
from nestmap.scenarios.model import Scenario, check_scenario


def scenario_dataset(base: GraphStore, document: dict[str, Any]) -> tuple[Scenario, Dataset]:
    """Check ``document`` against the base graph and return it with the changed dataset."""
    tables = dataset_tables(base)
    service_ids = {row[0] for row in tables["services"][1:]}
    area_codes = {row[0] for row in tables["areas"][1:]}
    scenario = check_scenario(document, service_ids, area_codes)
    problems: list[Problem] = []
    _apply(scenario, tables, problems)
    if problems:
        raise InputError(problems)
    base_name = base.run("dataset_info")[0]["name"]
    raw = RawDataset(
        name=f"{base_name} + {scenario.name}",
        origin=f"scenario {scenario.file}",
        tables={
            table: RawTable(
                f"{table}.csv (after scenario {scenario.file})",
                rows[0],
                [(number, row) for number, row in enumerate(rows[1:], start=2)],
            )
            for table, rows in tables.items()
        },
        file_hashes={},
    )
    return scenario, validate(raw)


def apply_scenario(
    base: GraphStore, document: dict[str, Any], db: str | Path
) -> tuple[Scenario, GraphStore]:
    """Build the scenario graph at ``db`` (a scratch path) and return it with the scenario."""
    scenario, dataset = scenario_dataset(base, document)
    store = open_store(db)
    store.replace(dataset)
    return scenario, store


def _row(table: str, values: dict[str, Any]) -> list[str]:
    return [cell_text(values.get(column)) for column in COLUMNS[table]]


def _apply(scenario: Scenario, tables: dict[str, list[list[str]]], problems: list[Problem]) -> None:
    services = {row[0]: row for row in tables["services"][1:]}
    header = COLUMNS["services"]
    for service_id in scenario.retire_services:
        services[service_id][header.index("status")] = "defunct"
    for change in scenario.change_services:
        row = services.get(change["id"])
        if row is None:  # a service added by this scenario: change its new row instead
            continue
        for column, value in change["set"].items():
            row[header.index(column)] = cell_text(value)
    for service in scenario.add_services:
        values = dict(service)
        for change in scenario.change_services:
            if change["id"] == service["id"]:
                values.update(change["set"])
        tables["services"].append(_row("services", values))
        for offer in service["offers"]:
            tables["offers"].append(_row("offers", {**offer, "service_id": service["id"]}))
        for post in service["workforce"]:
            tables["workforce"].append(_row("workforce", {**post, "service_id": service["id"]}))
    links = tables["referrals"]
    existing = {tuple(row[:3]): index for index, row in enumerate(links) if index}
    removed: set[int] = set()
    for index, link in enumerate(scenario.remove_referrals):
        key = (link["from_service"], link["to_service"], link["reason"])
        if key not in existing:
            problems.append(
                Problem(scenario.file, None, f"remove_referrals[{index}]", "|".join(map(str, key)),
                        "no such referral link in the dataset")
            )  # fmt: skip
        removed.add(existing.get(key, -1))
    tables["referrals"] = [row for index, row in enumerate(links) if index not in removed]
    for index, link in enumerate(scenario.add_referrals):
        key = (link["from_service"], link["to_service"], link["reason"])
        if key in existing and existing[key] not in removed:
            problems.append(
                Problem(scenario.file, None, f"add_referrals[{index}]", "|".join(map(str, key)),
                        "this referral link and reason already exist")
            )  # fmt: skip
            continue
        if link["from_service"] == link["to_service"]:
            problems.append(
                Problem(scenario.file, None, f"add_referrals[{index}].to_service",
                        link["to_service"], "a service cannot refer to itself")
            )  # fmt: skip
            continue
        tables["referrals"].append(_row("referrals", link))


def evaluate(
    base: GraphStore, document: dict[str, Any], shares: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Apply ``document`` on a scratch copy and return everything a before/after view needs:
    ``summary`` (the scenario's figures), ``comparison``, and gaps and need before and after."""
    import tempfile

    from nestmap import analysis
    from nestmap.scenarios.compare import compare

    with tempfile.TemporaryDirectory(prefix="nestmap-scenario-") as folder:
        scenario, after = apply_scenario(base, document, Path(folder) / "scenario.lbug")
        try:
            result = {
                "summary": scenario.summary(),
                "comparison": compare(base, after, shares),
                "gaps_before": analysis.gaps(base),
                "gaps_after": analysis.gaps(after),
                "need_before": analysis.need(base, shares=shares),
                "need_after": analysis.need(after, shares=shares),
            }
        finally:
            after.close()
    return result
