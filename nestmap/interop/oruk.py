"""Import an Open Referral directory (HSDS / Open Referral UK) as a nestmap dataset.

Open Referral carries services, their organisations, status, ages and service areas. It does
not carry nestmap's level of need, focus, stages, threshold or referral links: those come from
an optional companion CSV keyed by the Open Referral service id, and whatever is still unknown
is listed for the user to fill in (``TO_FILL_IN.csv``) — never guessed.

What it recognises (anything else is refused, saying what the file appears to be) and the
mapping are tabled in docs/command-line.md ("nestmap import"). In short: HSDS 3.x / ORUK service
documents, paged lists (``contents``) and JSON lists; ORUK v1 / Outpost API pages
(``content``, ``organisation``, ``min_age``/``max_age``); organization documents with nested
services; HSDS 3.x / ORUK and HSDS 1.x CSV folders (``datapackage.json`` paths honoured).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nestmap.errors import InputError, Problem
from nestmap.interop.dataset_files import COLUMNS
from nestmap.loaders import limits
from nestmap.vocabulary import MAX_AGE_MONTHS

ONS_CODE = re.compile(r"\b[EWSNK]\d{8}\b")
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
MARKER = ".nestmap-import"
FILL_FILE = "TO_FILL_IN.csv"
WARNINGS_FILE = "IMPORT_WARNINGS.txt"

# Keys the import reads from a service record; a key close to one of these is a near miss.
_MAPPED_KEYS = (
    "id",
    "name",
    "status",
    "organization",
    "organization_id",
    "organisation",
    "minimum_age",
    "maximum_age",
    "min_age",
    "max_age",
    "service_areas",
    "needs_referral",
)
# Fields that say something nestmap needs but cannot be mapped without a person's judgement.
_MEANINGFUL_UNMAPPED = {
    "eligibility_description": "who is eligible (stages, threshold)",
    "application_process": "how to get in (self_referral)",
    "capacities": "capacity (capacity_per_year)",
    "wait_time": "waiting time",
    "program": "the programme it belongs to",
    "taxonomies": "its categories (level of need, focus)",
    "attributes": "its categories (level of need, focus)",
    "age_band_under_2": "whether it works with under-2s (stages)",
    "send_needs": "special needs it supports",
    "eligibilities": "who is eligible (stages, threshold)",
}
# What makes a JSON object a service, an organization, a taxonomy or a location.
_SERVICE_KEYS = {
    "organization",
    "organization_id",
    "organisation",
    "service_areas",
    "service_at_locations",
    "minimum_age",
    "maximum_age",
    "min_age",
    "max_age",
    "status",
    "eligibility_description",
    "application_process",
    "program",
    "fees_description",
    "interpretation_services",
}
_ORGANIZATION_KEYS = {
    "legal_status",
    "year_incorporated",
    "tax_status",
    "tax_id",
    "website",
    "organization_identifiers",
    "parent_organization_id",
    "logo",
}
_TAXONOMY_KEYS = {"taxonomy", "taxonomy_detail", "term_uri", "vocabulary", "code", "version"}
_LOCATION_KEYS = {
    "latitude",
    "longitude",
    "location_type",
    "addresses",
    "external_identifier",
    "transportation",
}


@dataclass
class ImportResult:
    services: int
    shape: str = ""
    to_fill_in: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def fill_in_summary(self) -> list[tuple[str, str, int]]:
        """(file, column, how many) for the things left to fill in, in file order."""
        counts = Counter((item["file"], item["column"]) for item in self.to_fill_in)
        return [(file, column, n) for (file, column), n in counts.items()]


@dataclass
class _Service:
    """One Open Referral service, whatever shape it came in."""

    where: str  # "services.csv, row 4" or "contents[3]"
    row: int | None
    path: str
    raw: dict[str, Any]
    id: str
    name: str
    organization_id: str = ""
    provider: str = ""
    areas: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Reading


def _fail(file: str, reason: str, row: int | None = None, column: str | None = None) -> InputError:
    return InputError([Problem(file, row, column, None, reason)])


def _read_source(source: Path, warnings: list[str]) -> tuple[str, str, list[_Service]]:
    """(shape, file label, services) from a folder of CSVs or a JSON file."""
    if source.is_dir():
        return _read_csv_folder(source, warnings)
    if source.suffix.lower() == ".json":
        return _read_json(source, warnings)
    raise _fail(source.name, "expected a folder of Open Referral CSVs or a .json file")


def _bounded_bytes(path: Path) -> bytes:
    """A directory file's bytes, refused past the loader's file-size bound before reading."""
    size = path.stat().st_size
    if size > limits.MAX_FILE_BYTES:
        raise _fail(path.name, f"larger than {limits.size_text(limits.MAX_FILE_BYTES)}")
    return path.read_bytes()


def _csv_rows(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[dict[str, str]]]:
    try:
        text = _bounded_bytes(path).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path.name, f"cannot read: {exc}") from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = list(reader)
    except csv.Error as exc:
        raise _fail(path.name, f"not a valid CSV file: {exc}") from None
    header = list(reader.fieldnames or [])
    missing = [c for c in required if c not in header]
    if missing:
        near = {c: difflib.get_close_matches(c, header, n=1, cutoff=0.6) for c in missing}
        raise InputError(
            [
                Problem(
                    path.name,
                    1,
                    c,
                    None,
                    "required Open Referral column is missing"
                    + (f" (is {near[c][0]!r} meant to be {c!r}?)" if near[c] else ""),
                )
                for c in missing
            ]
        )
    return header, rows


def _resources(folder: Path) -> dict[str, Path]:
    """Table name -> CSV path, from datapackage.json when it names them, else by file name."""
    found = {p.stem: p for p in folder.glob("*.csv")}
    package = folder / "datapackage.json"
    if package.is_file():
        try:
            data = json.loads(package.read_bytes().decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            data = {}
        for resource in data.get("resources") or [] if isinstance(data, dict) else []:
            if not isinstance(resource, dict):
                continue
            name, path = resource.get("name"), resource.get("path")
            if isinstance(name, str) and isinstance(path, str):
                candidate = (folder / path).resolve()
                if candidate.is_file() and folder.resolve() in candidate.parents:
                    found.setdefault(name, candidate)
    return found


def _read_csv_folder(folder: Path, warnings: list[str]) -> tuple[str, str, list[_Service]]:
    tables = _resources(folder)
    if "services" not in tables:
        what = _folder_looks_like(folder, tables)
        raise _fail("services.csv", f"required file is missing{what}")
    header, rows = _csv_rows(tables["services"], ("id", "name"))
    label = tables["services"].name
    hsds3 = {"minimum_age", "maximum_age", "assured_date", "eligibility_description"} & set(header)
    shape = (
        "HSDS 3.x / Open Referral UK CSV folder"
        if hsds3
        else "HSDS 1.x tabular data package (CSV folder)"
    )
    organisations: dict[str, str] = {}
    if "organizations" in tables:
        for row in _csv_rows(tables["organizations"], ("id", "name"))[1]:
            organisations[(row["id"] or "").strip()] = (row["name"] or "").strip()
    services: list[_Service] = []
    for number, row in enumerate(rows, start=2):
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            warnings.append(f"{label}, row {number}: an empty row; skipped")
            continue
        services.append(
            _Service(
                where=f"{label}, row {number}",
                row=number,
                path="",
                raw=row,
                id=(row.get("id") or "").strip(),
                name=(row.get("name") or "").strip(),
                organization_id=(row.get("organization_id") or "").strip(),
            )
        )
    ids = {s.id for s in services}
    if "service_areas" in tables:
        area_header, area_rows = _csv_rows(tables["service_areas"], ("service_id",))
        by_service: dict[str, list[dict]] = {}
        unmatched: list[str] = []
        for number, row in enumerate(area_rows, start=2):
            service_id = (row.get("service_id") or "").strip()
            if service_id not in ids:
                unmatched.append(f"row {number} ({service_id or 'blank'})")
                continue
            by_service.setdefault(service_id, []).append(row)
        if unmatched:
            warnings.append(
                f"{tables['service_areas'].name}: {len(unmatched)} rows name no service in "
                f"{label}; ignored: " + _listed(unmatched)
            )
        for service in services:
            service.raw = {**service.raw, "service_areas": by_service.get(service.id, [])}
    pairs = (("schedule", "schedules"), ("address", "addresses"), ("taxonomy", "taxonomies"))
    for single, plural in pairs:
        if single in tables and plural in tables:
            warnings.append(f"both {single}.csv and {plural}.csv are present; neither is used")
    if "locations" in tables:
        _check_locations(_csv_rows(tables["locations"], ("id",))[1], "locations.csv", warnings)
    if "organizations" not in tables and any(s.organization_id for s in services):
        count = sum(1 for s in services if s.organization_id)
        warnings.append(
            f"{label}: {count} services name an organization_id but there is no "
            "organizations.csv; their provider is left blank"
        )
    else:
        _organisation_names(services, organisations, label, warnings)
    _unmapped_fields(services, set(header), label, warnings)
    return shape, label, services


def _folder_looks_like(folder: Path, tables: dict[str, Path]) -> str:
    if not tables:
        return " (the folder holds no CSV files)"
    if "areas" in tables and "offers" in tables:
        return " (this looks like a nestmap dataset: load it with `nestmap load`)"
    return " (CSV files found: " + ", ".join(sorted(p.name for p in tables.values())[:8]) + ")"


def _read_json(path: Path, warnings: list[str]) -> tuple[str, str, list[_Service]]:
    label = path.name
    try:
        data = _bounded_bytes(path)
    except OSError as exc:
        raise _fail(label, f"cannot read: {exc}") from None
    # Size, encoding and nesting depth bounded (100,000 nested brackets, numbers past
    # Python's digit limit): each an InputError naming the file.
    document = limits.read_json(data, label)
    items: list[tuple[str, Any]]
    if isinstance(document, dict) and isinstance(document.get("contents"), list):
        shape, items = "HSDS 3.x paged list", _indexed("contents", document["contents"])
    elif isinstance(document, dict) and isinstance(document.get("content"), list):
        shape, items = "ORUK v1 / Outpost API page", _indexed("content", document["content"])
    elif isinstance(document, list):
        shape, items = "JSON list", _indexed("", document)
    elif isinstance(document, dict):
        shape, items = "", [("", document)]
    else:
        raise _fail(label, f"a JSON {type(document).__name__}, not an Open Referral document")
    services: list[_Service] = []
    kinds: Counter[str] = Counter()
    for where, item in items:
        kind = _kind(item)
        kinds[kind] += 1
        if kind == "service":
            services.append(_json_service(label, where, item, None))
        elif kind == "organization":
            nested = item.get("services")
            if isinstance(nested, list):
                for inner, service in _indexed(
                    f"{where}.services" if where else "services", nested
                ):
                    if _kind(service) in ("service", "unknown") and isinstance(service, dict):
                        services.append(_json_service(label, inner, service, item))
    if not services:
        raise _fail(label, f"not a service directory: {_describe(kinds, items)}")
    if not shape:
        outpost = {"organisation", "min_age", "max_age"} & set(document)
        shape = (
            "ORUK v1 / Outpost service record"
            if outpost
            else "HSDS 3.x service document"
            if kinds["service"]
            else "organization document"
        )
    if kinds["organization"]:
        shape = f"{shape} (HSDS 3.x organizations with nested services)"
    elif shape == "JSON list":
        shape = "JSON list of services"
    others = {k: n for k, n in kinds.items() if k not in ("service", "organization")}
    if others:
        warnings.append(
            f"{label}: {sum(others.values())} items are not services ("
            + ", ".join(f"{n} {k}" for k, n in sorted(others.items()))
            + "); ignored"
        )
    for service in services:
        _check_locations(
            [
                link.get("location") or {}
                for link in service.raw.get("service_at_locations") or []
                if isinstance(link, dict)
            ]
            + [loc for loc in service.raw.get("locations") or [] if isinstance(loc, dict)],
            label,
            warnings,
        )
    _organisation_names(services, {}, label, warnings)
    keys = {key for service in services for key in service.raw}
    _unmapped_fields(services, keys, label, warnings)
    return shape, label, services


def _indexed(name: str, items: list) -> list[tuple[str, Any]]:
    return [(f"{name}[{index}]", item) for index, item in enumerate(items)]


def _kind(item: Any) -> str:
    """What a JSON object appears to be: service, organization, taxonomy, location, ..."""
    if not isinstance(item, dict):
        return f"{type(item).__name__} value"
    keys = set(item)
    if "service" in keys and "location" in keys:
        return "service-at-location record"
    if isinstance(item.get("services"), list) or (
        keys & _ORGANIZATION_KEYS and not keys & _SERVICE_KEYS
    ):
        return "organization"
    # A location names its organization too: that alone does not make it a service.
    if keys & _LOCATION_KEYS and not keys & (_SERVICE_KEYS - {"organization_id"}):
        return "location"
    if keys & _SERVICE_KEYS:
        return "service"
    if keys & _TAXONOMY_KEYS:
        return "taxonomy term" if keys & {"taxonomy", "term_uri", "code"} else "taxonomy"
    if keys & _LOCATION_KEYS:
        return "location"
    return "unknown"


def _describe(kinds: Counter[str], items: list[tuple[str, Any]]) -> str:
    if len(items) == 1:
        kind = next(iter(kinds))
        item = items[0][1]
        if kind == "organization":
            return (
                f"an organization ({_name_of(item)}) without services; export its services, "
                "or a service list, instead"
            )
        if kind == "unknown" and isinstance(item, dict):
            return "a JSON object with keys " + ", ".join(sorted(item)[:12])
        return f"it appears to be a {kind} ({_name_of(item)})"
    listed = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    if not items:
        return "the list is empty"
    return f"a list of {listed}, and no services"


def _name_of(item: Any) -> str:
    if isinstance(item, dict):
        return f"id {item.get('id')!r}, name {item.get('name')!r}"
    return repr(item)[:40]


def _text(value: Any) -> str:
    """A JSON scalar as text; missing and null are blank (never the word "None")."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _json_service(label: str, where: str, item: dict, parent: dict | None) -> _Service:
    organisation = item.get("organization") or item.get("organisation") or parent or {}
    if not isinstance(organisation, dict):
        organisation = {}
    return _Service(
        where=f"{label}, {where}" if where else label,
        row=None,
        path=where,
        raw=item,
        id=_text(item.get("id")),
        name=_text(item.get("name")),
        organization_id=_text(item.get("organization_id")) or _text(organisation.get("id")),
        provider=_text(organisation.get("name")),
    )


def _organisation_names(
    services: list[_Service], organisations: dict[str, str], label: str, warnings: list[str]
) -> None:
    missing: list[str] = []
    unnamed: list[str] = []
    for service in services:
        if service.provider:
            continue
        if service.organization_id in organisations:
            service.provider = organisations[service.organization_id]
            if not service.provider:
                unnamed.append(service.organization_id)
        elif service.organization_id and organisations:
            missing.append(service.organization_id)
        elif service.organization_id:
            unnamed.append(service.organization_id)
    if missing:
        ids = sorted(set(missing))
        warnings.append(
            f"{label}: {len(missing)} services name an organization_id with no organization "
            f"row ({len(ids)} ids); their provider is left blank: " + _listed(ids)
        )
    if unnamed:
        warnings.append(
            f"{label}: {len(unnamed)} services' organisation has no name in the file; their "
            "provider is left blank"
        )


def _unmapped_fields(
    services: list[_Service], keys: set[str], label: str, warnings: list[str]
) -> None:
    for key in sorted(keys):
        if key in _MEANINGFUL_UNMAPPED:
            used = sum(1 for s in services if _present(s.raw.get(key)))
            if used:
                warnings.append(
                    f"{label}: {key!r} ({_MEANINGFUL_UNMAPPED[key]}) is given for {used} "
                    "services but is not mapped; use it to fill in the companion CSV"
                )
        elif key not in _MAPPED_KEYS:
            near = _near_miss(key)
            if near:
                warnings.append(
                    f"{label}: key {key!r} looks like {near!r} but is not {near!r}; not used"
                )


def _near_miss(key: str) -> str | None:
    if key.startswith("_"):
        return None  # a store's own key (e.g. MongoDB's "_id"), not a misspelling
    squashed = re.sub(r"[^a-z0-9]", "", key.lower())
    for known in _MAPPED_KEYS:
        if squashed == known.replace("_", "") and key != known:
            return known
    close = difflib.get_close_matches(key.lower(), _MAPPED_KEYS, n=1, cutoff=0.85)
    return close[0] if close and close[0] != key else None


def _present(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return value is not None


def _listed(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


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


# ---------------------------------------------------------------------------------------------
# Checks: ids and names


def _check_ids(services: list[_Service], keep_first: bool, warnings: list[str]) -> list[_Service]:
    """Refuse blank and duplicate ids and blank names, every record listed; or, when asked,
    keep the first of each id and report every record left out."""
    problems: list[Problem] = []
    kept: list[_Service] = []
    first: dict[str, _Service] = {}
    for service in services:
        file, column = _where(service)
        reasons = []
        if not service.id:
            reasons.append(("id", "a service needs an id (blank)"))
        if not service.name:
            reasons.append(("name", "a service needs a name (blank)"))
        if service.id and service.id in first:
            earlier = first[service.id]
            reasons.append(("id", f"duplicate id (first at {earlier.where})"))
        if not reasons:
            first[service.id] = service
            kept.append(service)
            continue
        for name, reason in reasons:
            where = f"{column}.{name}" if column else name
            value = service.id if name == "id" else None
            problems.append(Problem(file, service.row, where, value, reason))
            if keep_first:
                warnings.append(f"{service.where}: left out, {reason}")
    if problems and not keep_first:
        raise InputError(problems)
    return kept


def _where(service: _Service) -> tuple[str, str]:
    file = service.where.split(", ")[0]
    return file, service.path


# ---------------------------------------------------------------------------------------------
# Geography


@dataclass
class _Areas:
    """ONS codes met in the directory, resolved against the bundled lookup."""

    local_authorities: set[str] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    renamed: dict[str, str] = field(default_factory=dict)

    def resolve(self, codes: list[str]) -> list[str]:
        from nestmap import geography

        out: list[str] = []
        for code in codes:
            if code in geography.regions():
                self.regions.add(code)
                out.append(code)
                continue
            current = geography.current_code(code)
            if current is None:
                self.unknown.add(code)
                continue
            if current != code:
                self.renamed[code] = current
            self.local_authorities.add(current)
            out.append(current)
        return sorted(set(out))


def _codes_in(value: Any) -> list[str]:
    """ONS codes in service_areas given as a string, a list of strings or a list of objects."""
    if isinstance(value, str):
        return ONS_CODE.findall(value)
    found: list[str] = []
    if isinstance(value, list):
        for area in value:
            if isinstance(area, str):
                found += ONS_CODE.findall(area)
            elif isinstance(area, dict):
                for key in ("service_area", "name", "uri", "extent", "code", "gss_code"):
                    found += ONS_CODE.findall(_text(area.get(key)))
    return found


# ---------------------------------------------------------------------------------------------
# The import


def _months(value: Any, column: str, service_id: str, warnings: list[str]) -> str:
    """An age in years as months, capped at nestmap's MAX_AGE_MONTHS (18 years)."""
    if value in (None, ""):
        return ""
    try:
        months = round(float(value) * 12)
    except (TypeError, ValueError, OverflowError):  # not a number, NaN, or infinite (1e400)
        warnings.append(f"service {service_id}: {column} {value!r} is not a number; left blank")
        return ""
    if months > MAX_AGE_MONTHS:
        warnings.append(
            f"service {service_id}: {column} {value} years is past 18; "
            f"recorded as {MAX_AGE_MONTHS} months"
        )
        months = MAX_AGE_MONTHS
    return str(max(0, months))


def _read_companion(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None:
        return {}
    header, rows = _csv_rows(path, ("oruk_service_id",))
    unknown = [c for c in header if c not in COMPANION_COLUMNS]
    if unknown:
        raise InputError([Problem(path.name, 1, c, c, "unknown companion column") for c in unknown])
    return {(row["oruk_service_id"] or "").strip(): row for row in rows}


def import_oruk(
    source: Path, out: Path, companion: Path | None = None, keep_first: bool = False
) -> ImportResult:
    """Write a nestmap dataset folder at ``out`` from the Open Referral directory at ``source``.

    ``out`` must be empty, absent, or hold only what an earlier import wrote (its files are
    then replaced, and any it wrote that this import does not are removed).
    """
    source, out = Path(source), Path(out)
    previous = _check_out(out)
    warnings: list[str] = []
    shape, label, services = _read_source(source, warnings)
    services = _check_ids(services, keep_first, warnings)
    extra = _read_companion(companion)
    if companion is not None:
        ids = {s.id for s in services}
        stray = [key for key in extra if key not in ids]
        if stray:
            warnings.append(
                f"{companion.name}: {len(stray)} rows name no imported service; ignored: "
                + _listed(stray)
            )
    tables: dict[str, list[dict[str, str]]] = {name: [] for name in COLUMNS}
    to_fill: list[dict[str, str]] = []
    areas = _Areas()
    for number, service in enumerate(services, start=2):
        raw, service_id = service.raw, service.id
        more = extra.get(service_id, {})
        companion_areas = (more.get("areas") or "").strip()
        codes = (
            [c.strip() for c in companion_areas.split("|") if c.strip()]
            if companion_areas
            else _codes_in(raw.get("service_areas"))
        )
        status = _text(raw.get("status")).lower()
        if status and status not in _STATUS:
            warnings.append(f"service {service_id}: status {status!r} is not an HSDS status")
        needs_referral = raw.get("needs_referral")
        self_referral = (
            ("false" if needs_referral else "true") if isinstance(needs_referral, bool) else ""
        )
        row = {
            "id": service_id,
            "name": service.name,
            "provider": service.provider,
            "status": _STATUS.get(status, ""),
            "areas": "|".join(areas.resolve(codes)),
            "min_age_months": _months(
                _first(raw, "minimum_age", "min_age"), "minimum_age", service_id, warnings
            ),
            "max_age_months": _months(
                _first(raw, "maximum_age", "max_age"), "maximum_age", service_id, warnings
            ),
            "source": f"Open Referral service {service_id}",
            **{k: (more.get(k) or "").strip() for k in _FROM_COMPANION},
        }
        if not row["self_referral"]:
            row["self_referral"] = self_referral
        tables["services"].append(row)
        for column in ("areas", *_REQUIRED_SERVICE):
            if not row[column]:
                to_fill.append(
                    _fill("services.csv", str(number), column, service_id, _HINTS[column])
                )
        offers = [part.strip() for part in (more.get("offers") or "").split("|") if part.strip()]
        for offer in offers:
            level, _, focus = offer.partition(":")
            tables["offers"].append({"service_id": service_id, "level": level, "focus": focus})
        if not offers:
            to_fill.append(_fill("offers.csv", "", "level, focus", service_id, _HINTS["offers"]))
        for link in [p.strip() for p in (more.get("refers_to") or "").split("|") if p.strip()]:
            target, _, rest = link.partition(":")
            reason, _, count = rest.partition(":")
            tables["referrals"].append(
                {"from_service": service_id, "to_service": target, "reason": reason,
                 "count": count, "source": "companion CSV for Open Referral import"}
            )  # fmt: skip
    _area_rows(areas, tables, to_fill, warnings)
    _write(out, tables, to_fill, warnings, previous)
    return ImportResult(len(services), shape, to_fill, warnings)


def _first(raw: dict, *keys: str) -> Any:
    for key in keys:
        if raw.get(key) not in (None, ""):
            return raw[key]
    return None


def _area_rows(
    areas: _Areas,
    tables: dict[str, list[dict[str, str]]],
    to_fill: list[dict[str, str]],
    warnings: list[str],
) -> None:
    from nestmap import geography

    las, regions = geography.local_authorities(), geography.regions()
    for old, new in sorted(areas.renamed.items()):
        name = geography.successors().get(old, ("", ""))[0]
        warnings.append(
            f"area {old} ({name}) is a retired ONS code; recorded as {new} ({las[new].name})"
        )
    for code in sorted(areas.unknown):
        warnings.append(
            f"area {code} is not an English or Welsh local authority, health board or ICB code "
            "nestmap knows; left out"
        )
        to_fill.append(_fill("areas.csv", "", "code", code, _HINTS["unknown"]))
    # A health board or ICB stands for every LA in it; each LA sits under its region.
    members = {la for region in areas.regions for la in geography.members(region)}
    all_las = sorted(areas.local_authorities | members)
    used_regions = sorted(areas.regions | {las[c].region_code for c in all_las})
    for code in all_las:
        tables["areas"].append(
            {"code": code, "name": las[code].name, "kind": "local_authority",
             "parent_code": las[code].region_code}
        )  # fmt: skip
    for code in used_regions:
        tables["areas"].append({"code": code, "name": regions[code].name, "kind": "region"})
    if all_las:
        to_fill.append(
            _fill("areas.csv", "", "under2_population", "every local authority", _HINTS["under2"])
        )


_HINTS = {
    "areas": "no ONS code in the service areas: list the area codes it covers",
    "sector": "nhs, local_authority, voluntary, private or other",
    "stages": "antenatal, postnatal or antenatal|postnatal",
    "threshold": "open, pre_statutory or statutory",
    "self_referral": "true or false: can families refer themselves?",
    "assesses_relationship": "true or false: does its assessment ask about the relationship?",
    "offers": "at least one offer: level (universal/targeted/statutory/specialist) and focus",
    "under2": "children aged 0-1 (ONS mid-year estimates), for the need analysis",
    "unknown": "not a current English or Welsh LA, health board or ICB code: use one that is",
}
FILL_COLUMNS = ["file", "row", "column", "id", "what"]


def _fill(file: str, row: str, column: str, item: str, what: str) -> dict[str, str]:
    return dict(zip(FILL_COLUMNS, (file, row, column, item, what), strict=True))


# ---------------------------------------------------------------------------------------------
# Writing


def _check_out(out: Path) -> list[str]:
    """The files an earlier import wrote in ``out``; refuse a folder holding anything else."""
    if not out.exists():
        return []
    if not out.is_dir():
        raise _fail(str(out), "the output must be a folder (a file has that name)")
    present = sorted(p.name for p in out.iterdir())
    if not present:
        return []
    marker = out / MARKER
    written: list[str] = []
    if marker.is_file():
        try:
            listed = json.loads(marker.read_text(encoding="utf-8"))["files"]
        except (OSError, ValueError, KeyError, TypeError):
            listed = []
        # Plain names in this folder only: a manifest is never a way to reach other files.
        written = [
            name
            for name in listed
            if isinstance(name, str) and name == Path(name).name and name not in ("", ".", "..")
        ]
    others = [name for name in present if name not in {*written, MARKER}]
    if not marker.is_file() or others:
        raise _fail(
            str(out),
            "the output folder must be empty or hold only what an earlier `nestmap import` "
            "wrote; it also holds " + _listed(others or present) + " (choose another folder)",
        )
    return written


def _csv_text(columns: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _write(
    out: Path,
    tables: dict[str, list[dict[str, str]]],
    to_fill: list[dict],
    warnings: list[str],
    previous: list[str],
) -> None:
    files = {
        f"{table}.csv": _csv_text(columns, tables[table])
        for table, columns in COLUMNS.items()
        if table != "workforce"  # nothing in Open Referral says who the staff are
    }
    files[FILL_FILE] = _csv_text(FILL_COLUMNS, to_fill)
    files[WARNINGS_FILE] = "".join(f"{warning}\n" for warning in warnings)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        # Each file replaced whole (written beside, then renamed over): a reader never sees half.
        partial = out / f".{name}.partial"
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out / name)
    for stale in set(previous) - set(files):
        if (out / stale).is_file():
            (out / stale).unlink()  # e.g. a workforce.csv of an older import
    (out / MARKER).write_text(
        json.dumps({"written_by": "nestmap import oruk", "files": sorted(files)}, indent=1),
        encoding="utf-8",
    )
