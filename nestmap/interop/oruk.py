"""Import an Open Referral UK (HSDS 3.0 UK profile) service directory as a nestmap dataset.

ORUK carries services, their organisations, status, ages and service areas. It does not carry
nestmap's level of need, focus, stages, threshold or referral links: those come from an
optional companion CSV keyed by ORUK service id, and whatever is still unknown is listed for the
user to fill in (``TO_FILL_IN.csv``) — never guessed. Mapping (also in the README):

| nestmap | ORUK |
|---|---|
| services.id | service.id |
| services.name | service.name |
| services.provider | organization.name (via service.organization_id) |
| services.status | service.status (``temporarily closed`` -> ``temporarily_closed``) |
| services.min/max_age_months | service.minimum_age / maximum_age (years x 12, capped at 216) |
| services.areas | ONS codes found in service_area.service_area / name / uri / extent |
| services.source | ``Open Referral UK service <id>`` |
| areas | each ONS code found, named from the ONS lookups; Welsh LAs get their health board |
| everything else | the companion CSV, else listed in TO_FILL_IN.csv |
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from nestmap.errors import InputError, Problem
from nestmap.interop.dataset_files import COLUMNS
from nestmap.vocabulary import MAX_AGE_MONTHS

ONS_CODE = re.compile(r"\b[EWSN]\d{8}\b")
COMPANION_COLUMNS = (
    "oruk_service_id",
    "sector",
    "areas",
    "stages",
    "threshold",
    "self_referral",
    "capacity_per_year",
    "assesses_relationship",
    "supports_fathers",
    "offers",
    "refers_to",
)
_STATUS = {
    "active": "active",
    "inactive": "inactive",
    "defunct": "defunct",
    "temporarily closed": "temporarily_closed",
    "temporarily_closed": "temporarily_closed",
}
_REQUIRED_SERVICE = ("sector", "stages", "threshold", "self_referral", "assesses_relationship")
_FROM_COMPANION = (*_REQUIRED_SERVICE, "capacity_per_year", "supports_fathers")


@dataclass
class ImportResult:
    services: int
    to_fill_in: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _ons_names() -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    folder = resources.files(__package__) / "reference"
    names: dict[str, str] = {}
    with (folder / "ons_lad20_names_codes_uk.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names[row["LAD20CD"]] = row["LAD20NM"]
    boards: dict[str, tuple[str, str]] = {}
    with (folder / "ons_ua19_to_lhb19_wales.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            boards[row["UA19CD"]] = (row["LHB19CD"], row["LHB19NM"])
            names.setdefault(row["UA19CD"], row["UA19NM"])
    return names, boards


def _read_source(source: Path, warnings: list[str]) -> tuple[list[dict], dict[str, str]]:
    """ORUK services (with their service areas) and organisation names by id."""
    if source.is_dir():
        return _read_csv_folder(source, warnings)
    if source.suffix.lower() == ".json":
        return _read_json(source, warnings)
    raise InputError(
        [Problem(source.name, None, None, None, "expected a folder of ORUK CSVs or a .json file")]
    )


def _csv_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(path.name, None, None, None, f"cannot read: {exc}")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(
            [Problem(path.name, 1, c, None, "required ORUK column is missing") for c in missing]
        )
    return list(reader)


def _read_csv_folder(folder: Path, warnings: list[str]) -> tuple[list[dict], dict[str, str]]:
    if not (folder / "services.csv").is_file():
        raise InputError([Problem("services.csv", None, None, None, "required file is missing")])
    services = _csv_rows(folder / "services.csv", ("id", "name"))
    organisations = {}
    if (folder / "organizations.csv").is_file():
        for row in _csv_rows(folder / "organizations.csv", ("id", "name")):
            organisations[row["id"]] = row["name"]
    areas: dict[str, list[dict]] = {}
    if (folder / "service_areas.csv").is_file():
        for row in _csv_rows(folder / "service_areas.csv", ("service_id",)):
            areas.setdefault(row["service_id"], []).append(row)
    pairs = (("schedule", "schedules"), ("address", "addresses"), ("taxonomy", "taxonomies"))
    for single, plural in pairs:
        if (folder / f"{single}.csv").is_file() and (folder / f"{plural}.csv").is_file():
            warnings.append(f"both {single}.csv and {plural}.csv are present; neither is used")
    if (folder / "locations.csv").is_file():
        _check_locations(_csv_rows(folder / "locations.csv", ("id",)), "locations.csv", warnings)
    for service in services:
        service["service_areas"] = areas.get(service["id"], [])  # type: ignore[assignment]
    return services, organisations


def _read_json(path: Path, warnings: list[str]) -> tuple[list[dict], dict[str, str]]:
    try:
        document = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError([Problem(path.name, None, None, None, f"not valid JSON: {exc}")]) from None
    items = document if isinstance(document, list) else [document]
    if isinstance(document, dict) and isinstance(document.get("contents"), list):
        items = document["contents"]  # an ORUK API page
    services, organisations = [], {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
            raise InputError(
                [Problem(path.name, None, f"[{index}]", None, "a service needs an id and a name")]
            )
        organisation = item.get("organization") or {}
        if isinstance(organisation, dict) and organisation.get("id"):
            organisations[organisation["id"]] = organisation.get("name", "")
            item["organization_id"] = organisation["id"]
        locations = [
            link.get("location") or {}
            for link in item.get("service_at_locations") or []
            if isinstance(link, dict)
        ]
        _check_locations(locations, path.name, warnings)
        services.append(item)
    return services, organisations


def _check_locations(locations: list[dict], label: str, warnings: list[str]) -> None:
    for location in locations:
        for key, bound in (("latitude", 90), ("longitude", 180)):
            value = location.get(key)
            try:
                number = float(value) if value not in (None, "") else None
            except (TypeError, ValueError):
                number = None
            if number is not None and abs(number) > bound:
                warnings.append(
                    f"{label}: location {location.get('id', '?')} has {key} {value}, out of "
                    f"range (a placeholder?); locations are not used"
                )


def _months(service: dict[str, Any], column: str, warnings: list[str]) -> str:
    """An ORUK age in years as months, capped at nestmap's MAX_AGE_MONTHS (18 years)."""
    years, service_id = service.get(column), service["id"]
    if years in (None, ""):
        return ""
    try:
        months = round(float(years) * 12)
    except (TypeError, ValueError):
        warnings.append(f"service {service_id}: {column} {years!r} is not a number; left blank")
        return ""
    if months > MAX_AGE_MONTHS:
        warnings.append(
            f"service {service_id}: {column} {years} years is past 18; "
            f"recorded as {MAX_AGE_MONTHS} months"
        )
        months = MAX_AGE_MONTHS
    return str(max(0, months))


def _read_companion(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None:
        return {}
    rows = _csv_rows(path, ("oruk_service_id",))
    unknown = [c for c in rows[0] if c not in COMPANION_COLUMNS] if rows else []
    if unknown:
        raise InputError([Problem(path.name, 1, c, c, "unknown companion column") for c in unknown])
    return {row["oruk_service_id"].strip(): row for row in rows}


def import_oruk(source: Path, out: Path, companion: Path | None = None) -> ImportResult:
    """Write a nestmap dataset folder at ``out`` from the ORUK directory at ``source``."""
    warnings: list[str] = []
    services, organisations = _read_source(Path(source), warnings)
    extra = _read_companion(companion)
    names, boards = _ons_names()
    tables: dict[str, list[dict[str, str]]] = {name: [] for name in COLUMNS}
    to_fill: list[dict[str, str]] = []
    codes: set[str] = set()
    for number, service in enumerate(services, start=2):
        service_id = str(service["id"]).strip()
        more = extra.get(service_id, {})
        found = sorted(
            {
                code
                for area in service.get("service_areas") or []
                for key in ("service_area", "name", "uri", "extent")
                for code in ONS_CODE.findall(str(area.get(key) or ""))
            }
        )
        area_list = more.get("areas", "").strip() or "|".join(found)
        codes.update(code for code in area_list.split("|") if code)
        status = str(service.get("status") or "").strip().lower()
        row = {
            "id": service_id,
            "name": str(service["name"]).strip(),
            "provider": organisations.get(str(service.get("organization_id") or ""), ""),
            "status": _STATUS.get(status, ""),
            "areas": area_list,
            "min_age_months": _months(service, "minimum_age", warnings),
            "max_age_months": _months(service, "maximum_age", warnings),
            "source": f"Open Referral UK service {service_id}",
            **{k: more.get(k, "").strip() for k in _FROM_COMPANION},
        }
        if status and status not in _STATUS:
            warnings.append(f"service {service_id}: status {status!r} is not an ORUK status")
        tables["services"].append(row)
        for column in ("areas", *_REQUIRED_SERVICE):
            if not row[column]:
                to_fill.append(
                    _fill("services.csv", str(number), column, service_id, _HINTS[column])
                )
        offers = [part.strip() for part in more.get("offers", "").split("|") if part.strip()]
        for offer in offers:
            level, _, focus = offer.partition(":")
            tables["offers"].append({"service_id": service_id, "level": level, "focus": focus})
        if not offers:
            to_fill.append(_fill("offers.csv", "", "level, focus", service_id, _HINTS["offers"]))
        for link in [p.strip() for p in more.get("refers_to", "").split("|") if p.strip()]:
            target, _, rest = link.partition(":")
            reason, _, count = rest.partition(":")
            tables["referrals"].append(
                {"from_service": service_id, "to_service": target, "reason": reason,
                 "count": count, "source": "companion CSV for Open Referral UK import"}
            )  # fmt: skip
    for code in sorted(codes):
        board = boards.get(code)
        tables["areas"].append(
            {"code": code, "name": names.get(code, ""), "kind": "local_authority",
             "parent_code": board[0] if board else ""}
        )  # fmt: skip
        if code not in names:
            to_fill.append(_fill("areas.csv", "", "name", code, "not an ONS code nestmap knows"))
    for board_code, board_name in sorted({boards[c] for c in codes if c in boards}):
        tables["areas"].append({"code": board_code, "name": board_name, "kind": "region"})
    if codes:
        to_fill.append(
            _fill("areas.csv", "", "under2_population", "every local authority", _HINTS["under2"])
        )
    _write(out, tables, to_fill)
    return ImportResult(services=len(services), to_fill_in=to_fill, warnings=warnings)


_HINTS = {
    "areas": "no ONS code in the ORUK service areas: list the area codes it covers",
    "sector": "nhs, local_authority, voluntary, private or other",
    "stages": "antenatal, postnatal or antenatal|postnatal",
    "threshold": "open, pre_statutory or statutory",
    "self_referral": "true or false: can families refer themselves?",
    "assesses_relationship": "true or false: does its assessment ask about the relationship?",
    "offers": "at least one offer: level (universal/targeted/statutory/specialist) and focus",
    "under2": "children aged 0-1 (ONS mid-year estimates), for the need analysis",
}
FILL_COLUMNS = ["file", "row", "column", "id", "what"]


def _fill(file: str, row: str, column: str, item: str, what: str) -> dict[str, str]:
    return dict(zip(FILL_COLUMNS, (file, row, column, item, what), strict=True))


def _write(out: Path, tables: dict[str, list[dict[str, str]]], to_fill: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for table, columns in COLUMNS.items():
        if table == "workforce":
            continue
        with (out / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns, lineterminator="\n", restval="")
            writer.writeheader()
            writer.writerows(tables[table])
    with (out / "TO_FILL_IN.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, FILL_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(to_fill)
