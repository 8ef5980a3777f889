"""Scenario files: a name, a description and changes to a loaded dataset (YAML or JSON).

Schema (every list optional; see docs/command-line.md, "nestmap scenario"):

    name: text                      # required
    description: text
    source: text                    # where the option comes from
    add_services:                   # new services, each a services.csv row plus:
      - id, name, provider, sector, status, areas, stages, min_age_months, max_age_months,
        threshold, self_referral, capacity_per_year, assesses_relationship, supports_fathers,
        source
        annual_cost: number >= 0    # pounds a year
        offers: [{level, focus, interventions}]        # at least one
        workforce: [{role, fte, aimh_level}]
    retire_services: [service id]   # status becomes defunct; links to it stay
    change_services: [{id, set: {column: value}}]     # any services.csv column but id
    add_referrals: [{from_service, to_service, reason, count, source}]
    remove_referrals: [{from_service, to_service, reason}]
    costs: [{item, amount, source}] # other costs of the option (e.g. a Head of Service)

Lists may be YAML lists or ``|``-separated text. Every problem is reported with the file, the
path inside it (``add_services[0].offers[1].level``) and the reason.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nestmap.errors import InputError, Problem
from nestmap.interop.dataset_files import cell_text
from nestmap.loaders.limits import MAX_COUNT, MAX_NESTING, MAX_SCENARIO_BYTES, nesting_depth
from nestmap.loaders.validate import OFFERS, REFERRALS, SERVICES, WORKFORCE, Column, Invalid

SERVICE_FIELDS = tuple(SERVICES)
TOP_LEVEL = {
    "name",
    "description",
    "source",
    "add_services",
    "retire_services",
    "change_services",
    "add_referrals",
    "remove_referrals",
    "costs",
}


@dataclass
class Scenario:
    name: str
    description: str
    source: str
    add_services: list[dict[str, Any]] = field(default_factory=list)
    retire_services: list[str] = field(default_factory=list)
    change_services: list[dict[str, Any]] = field(default_factory=list)
    add_referrals: list[dict[str, Any]] = field(default_factory=list)
    remove_referrals: list[dict[str, Any]] = field(default_factory=list)
    costs: list[dict[str, Any]] = field(default_factory=list)
    file: str = "scenario"

    @property
    def services_cost(self) -> float:
        """The added services' annual cost (the report's team salary cost)."""
        return sum(float(s.get("annual_cost") or 0) for s in self.add_services)

    @property
    def other_costs(self) -> float:
        return sum(float(c["amount"]) for c in self.costs)

    @property
    def total_cost(self) -> float:
        return self.services_cost + self.other_costs

    @property
    def families_a_year(self) -> int:
        return sum(int(s.get("capacity_per_year") or 0) for s in self.add_services)

    def summary(self) -> dict[str, Any]:
        """The option's figures. ``cost_per_family`` is on the report's basis: the added
        services' annual cost / families a year, in whole pounds (table 2: "This equates to
        £926 + on-costs per family"); ``total_cost_per_family`` adds the other cost items (a
        Head of Service) beside it. Neither includes what ``not_included`` names."""
        families = self.families_a_year
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "services_added": [s["id"] for s in self.add_services],
            "services_retired": list(self.retire_services),
            "services_cost": round(self.services_cost, 2),
            "other_costs": [{"item": c["item"], "amount": c["amount"]} for c in self.costs],
            "total_cost": round(self.total_cost, 2),
            "families_a_year": families,
            "cost_per_family": _per_family(self.services_cost, families),
            "total_cost_per_family": _per_family(self.total_cost, families),
            "not_included": NOT_INCLUDED,
        }


NOT_INCLUDED = (
    'on-costs and overheads (the report\'s costs are salaries "plus on-costs"), and training '
    "for new clinical staff (the report estimates about £1,000 per head in their first year)"
)


def _per_family(cost: float, families: int) -> int | None:
    """Pounds per family a year, rounded half away from zero to whole pounds."""
    if not families:
        return None
    from decimal import ROUND_HALF_UP, Decimal

    exact = Decimal(repr(cost)) / families
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cost_lines(summary: dict[str, Any]) -> list[str]:
    """The option's cost in words, the same on every screen and report: the cost per family on
    the report's basis, the total with other costs beside it, and what neither includes."""
    families = summary.get("families_a_year") or 0
    not_included = f"Neither includes {summary.get('not_included') or NOT_INCLUDED}."
    if not families:
        total = summary.get("total_cost") or 0
        return [f"No families a year added; total cost £{total:,.0f} a year.", not_included]
    lines = [
        f"Cost per family: £{summary['cost_per_family']:,} a year — the added services' annual "
        f"cost £{summary['services_cost']:,.0f} ÷ {families:,} families a year (the report's "
        "basis: team salaries ÷ families)."
    ]
    others = summary.get("other_costs") or []
    if others:
        items = "; ".join(f"{c['item']} £{c['amount']:,.0f}" for c in others)
        lines.append(
            f"With the other costs ({items}): £{summary['total_cost']:,.0f} a year in all, "
            f"£{summary['total_cost_per_family']:,} per family."
        )
    lines.append(not_included)
    return lines


def read_scenario(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(str(path), None, None, None, f"cannot read: {exc}")]) from None
    return parse_document(path.name, data)


def parse_document(filename: str, data: bytes) -> dict[str, Any]:
    """The raw document (YAML or JSON by suffix; YAML also reads JSON).

    Bounded before and while parsing: at most MAX_SCENARIO_BYTES, lists and mappings nested
    at most MAX_NESTING deep, and no YAML anchors or aliases (expanding aliases is how a
    445-byte "billion laughs" file becomes gigabytes)."""

    def refuse(reason: str) -> InputError:
        return InputError([Problem(filename, None, None, None, reason)])

    if len(data) > MAX_SCENARIO_BYTES:
        raise refuse(f"larger than {MAX_SCENARIO_BYTES // 1024:,} KiB; a scenario is a few KiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse("not UTF-8 text") from None
    kind = "JSON" if filename.lower().endswith(".json") else "YAML"
    try:
        document = json.loads(text) if kind == "JSON" else _load_yaml(text)
    except RecursionError:
        raise refuse(f"nested more than {MAX_NESTING} levels deep") from None
    except _Refused as exc:
        raise refuse(str(exc)) from None
    except Exception as exc:  # both parsers raise their own error types
        raise refuse(f"not valid {kind}: {exc}") from None
    if nesting_depth(document) > MAX_NESTING:
        raise refuse(f"nested more than {MAX_NESTING} levels deep")
    if not isinstance(document, dict):
        raise refuse("must be a mapping with a name")
    document["__file__"] = filename
    return document


class _Refused(Exception):
    """The YAML uses a feature scenario files do not allow (the message says which)."""


def _load_yaml(text: str) -> Any:
    import yaml

    class ScenarioLoader(yaml.SafeLoader):
        """SafeLoader without anchors and aliases, and with a bound on nesting."""

        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                line = event.start_mark.line + 1
                raise _Refused(
                    f"line {line}: YAML anchors and aliases (&name, *name) are not allowed in "
                    "scenario files; write the value out"
                )
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise _Refused(f"nested more than {MAX_NESTING} levels deep")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    loader = ScenarioLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


class _Checker:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def fail(self, path: str, value: Any, reason: str) -> None:
        shown = None if value is None else cell_text(value)
        self.problems.append(Problem(self.file, None, path, shown, reason))

    def mapping(self, value: Any, path: str, allowed: set[str], required: tuple[str, ...]) -> bool:
        if not isinstance(value, dict):
            self.fail(path, None, "must be a mapping")
            return False
        for key in sorted(set(value) - allowed):
            self.fail(f"{path}.{key}", None, "unknown field")
        for key in required:
            if value.get(key) in (None, "", []):
                self.fail(f"{path}.{key}", None, "a value is required")
        return True

    def column(self, column: Column, value: Any, path: str) -> Any:
        text = cell_text(value)
        if text == "":
            if column.required:
                self.fail(path, None, "a value is required")
            return None
        try:
            return column.parse(text)
        except Invalid as exc:
            self.fail(path, value, str(exc))
            return None

    def items(self, document: dict, key: str) -> list:
        value = document.get(key) or []
        if not isinstance(value, list):
            self.fail(key, None, "must be a list")
            return []
        return value


def check_scenario(
    document: dict[str, Any], service_ids: set[str], area_codes: set[str]
) -> Scenario:
    """Validate a raw scenario against the base dataset's ids; raise InputError on problems."""
    file = str(document.get("__file__", "scenario"))
    check = _Checker(file)
    body = {k: v for k, v in document.items() if k != "__file__"}
    for key in sorted(set(body) - TOP_LEVEL):
        check.fail(key, None, "unknown field")
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        check.fail("name", body.get("name"), "a scenario needs a name")
    known = set(service_ids)
    added = _check_added_services(check, body, known, area_codes)
    retire = _check_retire(check, body, known)
    change = _check_changes(check, body, known, area_codes)
    add_links = _check_add_referrals(check, body, known)
    remove_links = _check_remove_referrals(check, body, known)
    costs = _check_costs(check, body)
    if check.problems:
        raise InputError(check.problems)
    return Scenario(
        name=body["name"].strip(),
        description=str(body.get("description") or "").strip(),
        source=str(body.get("source") or "").strip(),
        add_services=added,
        retire_services=retire,
        change_services=change,
        add_referrals=add_links,
        remove_referrals=remove_links,
        costs=costs,
        file=file,
    )


def _check_areas(check: _Checker, codes: Any, path: str, area_codes: set[str]) -> None:
    for code in codes or ():
        if code not in area_codes:
            check.fail(path, code, "no area has this code in the loaded dataset")


def _check_added_services(
    check: _Checker, body: dict, known: set[str], area_codes: set[str]
) -> list[dict[str, Any]]:
    added = []
    allowed = set(SERVICE_FIELDS) | {"annual_cost", "offers", "workforce"}
    for index, service in enumerate(check.items(body, "add_services")):
        path = f"add_services[{index}]"
        if not check.mapping(service, path, allowed, ("offers",)):
            continue
        values = {
            name: check.column(SERVICES[name], service.get(name), f"{path}.{name}")
            for name in SERVICE_FIELDS
        }
        service_id = values["id"]
        if service_id in known:
            check.fail(f"{path}.id", service_id, "a service with this id already exists")
        elif service_id:
            known.add(service_id)
        _check_areas(check, values["areas"], f"{path}.areas", area_codes)
        low, high = values["min_age_months"], values["max_age_months"]
        if low is not None and high is not None and low > high:
            check.fail(f"{path}.min_age_months", low, f"greater than max_age_months ({high})")
        cost = service.get("annual_cost")
        if cost is not None and not _is_amount(cost):
            check.fail(
                f"{path}.annual_cost", cost, f"must be a number of pounds, 0 to {MAX_COUNT:,}"
            )
        offers = _check_rows(
            check, service.get("offers"), f"{path}.offers", OFFERS, ("service_id",)
        )
        levels = [offer["level"] for offer in offers]
        if len(set(levels)) != len(levels):
            check.fail(f"{path}.offers", None, "at most one offer per level")
        workforce = _check_rows(
            check, service.get("workforce"), f"{path}.workforce", WORKFORCE, ("service_id",)
        )
        added.append({**values, "annual_cost": cost, "offers": offers, "workforce": workforce})
    return added


def _is_amount(value: Any) -> bool:
    """Pounds, 0 to MAX_COUNT: a 400-digit whole number must not reach float() (it overflows)
    and two 1e308 costs must not add up to infinity."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):
        return 0 <= value <= MAX_COUNT
    return math.isfinite(value) and 0 <= value <= MAX_COUNT


def _check_rows(
    check: _Checker,
    rows: Any,
    path: str,
    schema: dict[str, Column],
    implied: tuple[str, ...],
) -> list[dict[str, Any]]:
    if rows is None:
        return []
    if not isinstance(rows, list):
        check.fail(path, None, "must be a list")
        return []
    columns = {name: column for name, column in schema.items() if name not in implied}
    parsed = []
    for index, row in enumerate(rows):
        here = f"{path}[{index}]"
        if check.mapping(row, here, set(columns), ()):
            parsed.append(
                {
                    name: check.column(col, row.get(name), f"{here}.{name}")
                    for name, col in columns.items()
                }
            )
    return parsed


def _check_service_ref(check: _Checker, value: Any, path: str, known: set[str]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        check.fail(path, value, "a service id is required")
        return None
    if value.strip() not in known:
        check.fail(path, value, "no service has this id (in the dataset or added here)")
        return None
    return value.strip()


def _check_retire(check: _Checker, body: dict, known: set[str]) -> list[str]:
    return [
        service_id
        for index, value in enumerate(check.items(body, "retire_services"))
        if (service_id := _check_service_ref(check, value, f"retire_services[{index}]", known))
    ]


def _check_changes(
    check: _Checker, body: dict, known: set[str], area_codes: set[str]
) -> list[dict[str, Any]]:
    changes = []
    for index, change in enumerate(check.items(body, "change_services")):
        path = f"change_services[{index}]"
        if not check.mapping(change, path, {"id", "set"}, ("id", "set")):
            continue
        service_id = _check_service_ref(check, change.get("id"), f"{path}.id", known)
        updates = change.get("set") or {}
        if not isinstance(updates, dict):
            check.fail(f"{path}.set", None, "must be a mapping of column: value")
            continue
        parsed = {}
        for name, value in updates.items():
            if name not in SERVICE_FIELDS or name == "id":
                check.fail(f"{path}.set.{name}", None, "not a service column that can change")
                continue
            parsed[name] = check.column(SERVICES[name], value, f"{path}.set.{name}")
        _check_areas(check, parsed.get("areas"), f"{path}.set.areas", area_codes)
        if service_id:
            changes.append({"id": service_id, "set": parsed})
    return changes


def _check_add_referrals(check: _Checker, body: dict, known: set[str]) -> list[dict[str, Any]]:
    links = []
    for index, link in enumerate(check.items(body, "add_referrals")):
        path = f"add_referrals[{index}]"
        if not check.mapping(link, path, set(REFERRALS), ()):
            continue
        values = {
            name: check.column(column, link.get(name), f"{path}.{name}")
            for name, column in REFERRALS.items()
        }
        for end in ("from_service", "to_service"):
            _check_service_ref(check, link.get(end), f"{path}.{end}", known)
        links.append(values)
    return links


def _check_remove_referrals(check: _Checker, body: dict, known: set[str]) -> list[dict[str, Any]]:
    links = []
    keys = ("from_service", "to_service", "reason")
    for index, link in enumerate(check.items(body, "remove_referrals")):
        path = f"remove_referrals[{index}]"
        if not check.mapping(link, path, set(keys), ()):
            continue
        for end in ("from_service", "to_service"):
            _check_service_ref(check, link.get(end), f"{path}.{end}", known)
        reason = check.column(REFERRALS["reason"], link.get("reason"), f"{path}.reason")
        links.append(
            {
                "from_service": link.get("from_service"),
                "to_service": link.get("to_service"),
                "reason": reason,
            }
        )
    return links


def _check_costs(check: _Checker, body: dict) -> list[dict[str, Any]]:
    costs = []
    for index, cost in enumerate(check.items(body, "costs")):
        path = f"costs[{index}]"
        if not check.mapping(cost, path, {"item", "amount", "source"}, ("item", "amount")):
            continue
        if not _is_amount(cost.get("amount")):
            check.fail(
                f"{path}.amount",
                cost.get("amount"),
                f"must be a number of pounds, 0 to {MAX_COUNT:,}",
            )
            continue
        costs.append(
            {
                "item": str(cost["item"]),
                "amount": float(cost["amount"]),
                "source": str(cost.get("source") or ""),
            }
        )
    return costs
