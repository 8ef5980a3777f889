"""Read an Open Referral directory, whatever shape it came in, within bounds.

A directory is a folder of CSVs, a .zip of them, or one JSON file. Anyone who may open the
dashboard may hand one in, so every read is bounded (``nestmap.loaders.limits``): a CSV table is
streamed row by row within the loader's bounds (line length, cells per row, characters per cell)
and the directory's own (MAX_DIRECTORY_SERVICES services, MAX_DIRECTORY_ROWS rows of any other
table), keeping of each row only what the import uses; a zip is read member by member as it
inflates (never unpacked to disk), within the archive's bounds and an inflation-ratio bound; a
JSON file is refused before parsing when its size or its count of objects, lists and values is
past the bound. A directory past a bound stops being read there, with one problem naming the
bound.
"""

from __future__ import annotations

import difflib
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from nestmap.errors import InputError, Problem
from nestmap.loaders import limits
from nestmap.loaders.read import csv_table, file_chunks

# Keys the import reads from a service record; a key close to one of these is a near miss.
MAPPED_KEYS = (
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
MEANINGFUL_UNMAPPED = {
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
# What a CSV row keeps: the keys the import maps, and those it reports on.
_KEPT_CSV_KEYS = frozenset(MAPPED_KEYS) | frozenset(MEANINGFUL_UNMAPPED)
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
# What a service-area row keeps (the fields an area's code or name may be in).
AREA_KEYS = ("service_area", "name", "uri", "extent", "code", "gss_code")


@dataclass(slots=True)
class Service:
    """One Open Referral service, whatever shape it came in."""

    where: str  # "services.csv, row 4" or "service_list.json, contents[3]"
    row: int | None
    path: str
    raw: dict[str, Any]
    id: str
    name: str
    organization_id: str = ""
    provider: str = ""


@dataclass
class Directory:
    """What was read: the shape, the file that held the services, and the services."""

    shape: str
    label: str
    services: list[Service]


def fail(file: str, reason: str, row: int | None = None, column: str | None = None) -> InputError:
    return InputError([Problem(file, row, column, None, reason)])


def listed(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")


def text(value: Any) -> str:
    """A JSON scalar as text; missing and null are blank (never the word "None")."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def read_directory(source: Path, warnings: list[str]) -> Directory:
    """The directory at ``source``: a folder of CSVs, a .zip of them or a .json file."""
    if source.is_dir():
        return _read_tables(_FolderTables(source), warnings)
    suffix = source.suffix.lower()
    if suffix == ".zip":
        with _ZipTables(source) as tables:
            return _read_tables(tables, warnings)
    if suffix == ".json":
        return _read_json(source, warnings)
    raise fail(
        source.name, "expected a folder of Open Referral CSVs, a .zip of them or a .json file"
    )


# ---------------------------------------------------------------------------------------------
# CSV tables, from a folder or a zip


class _Tables:
    """A directory's CSV tables by name (``services``, ``organizations``, ...), each readable
    once as a bounded stream of bytes."""

    label: str
    found: dict[str, str]  # table name -> the file's name as the user sees it

    def chunks(self, table: str) -> Iterator[bytes]:
        raise NotImplementedError

    def file_names(self) -> list[str]:
        raise NotImplementedError


class _FolderTables(_Tables):
    def __init__(self, folder: Path):
        self.label = folder.name
        self.folder = folder
        self.paths = {p.stem: p for p in sorted(folder.glob("*.csv"))}
        package = folder / "datapackage.json"
        if package.is_file():
            document = _package(package.read_bytes()[: limits.MAX_SCENARIO_BYTES + 1], package.name)
            for name, path in document:
                candidate = (folder / path).resolve()
                if candidate.is_file() and folder.resolve() in candidate.parents:
                    self.paths.setdefault(name, candidate)
        self.found = {name: path.name for name, path in self.paths.items()}

    def chunks(self, table: str) -> Iterator[bytes]:
        path = self.paths[table]
        return file_chunks(path, path.name)

    def file_names(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir() if p.is_file())


class _ZipTables(_Tables):
    """The CSVs of a zip, wherever they sit in it (the shallowest of each name), read as they
    inflate within the archive's bounds; datapackage.json paths are honoured."""

    def __init__(self, path: Path):
        self.label = path.name
        with path.open("rb") as handle:
            data = handle.read(limits.MAX_FILE_BYTES + 1)
        if len(data) > limits.MAX_FILE_BYTES:
            raise fail(path.name, f"larger than {limits.size_text(limits.MAX_FILE_BYTES)}")
        self.archive = limits.open_zip(data, path.name)
        self.budget = limits.InflateBudget()
        members: dict[str, zipfile.ZipInfo] = {}
        by_path: dict[str, zipfile.ZipInfo] = {}
        package: zipfile.ZipInfo | None = None
        shallowest_first = sorted(
            self.archive.infolist(), key=lambda i: (i.filename.count("/"), i.filename)
        )
        for info in shallowest_first:
            member = limits.safe_member_path(info.filename)
            if info.is_dir() or member is None:
                continue
            by_path[str(member)] = info
            if member.suffix.lower() == ".csv":
                members.setdefault(member.stem, info)
            elif member.name == "datapackage.json" and package is None:
                package = info
        if package is not None:
            base = PurePosixPath(package.filename).parent
            raw = b"".join(
                limits.member_chunks(
                    self.archive, package, package.filename, self.budget, limits.MAX_SCENARIO_BYTES
                )
            )
            for name, resource in _package(raw, "datapackage.json"):
                named = by_path.get(str(PurePosixPath(base, resource)))
                if named is not None:
                    members.setdefault(name, named)
        self.members = members
        self.names = sorted(by_path)
        self.found = {name: PurePosixPath(info.filename).name for name, info in members.items()}

    def chunks(self, table: str) -> Iterator[bytes]:
        info = self.members[table]
        return limits.member_chunks(
            self.archive,
            info,
            self.found[table],
            self.budget,
            max_ratio=limits.MAX_INFLATE_RATIO,
        )

    def file_names(self) -> list[str]:
        return self.names

    def __enter__(self) -> _ZipTables:
        return self

    def __exit__(self, *exc: object) -> None:
        self.archive.close()


def _package(data: bytes, label: str) -> list[tuple[str, str]]:
    """(resource name, path) pairs that a datapackage.json names; nothing when unreadable."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return []
    resources = document.get("resources") if isinstance(document, dict) else None
    pairs = []
    for resource in resources if isinstance(resources, list) else []:
        if isinstance(resource, dict):
            name, path = resource.get("name"), resource.get("path")
            if isinstance(name, str) and isinstance(path, str):
                pairs.append((name, path))
    return pairs


def _table(
    tables: _Tables, name: str, required: tuple[str, ...], max_rows: int
) -> tuple[str, list[str], Iterator[tuple[int, dict[str, str]]]]:
    """(file name, header, rows) of one table: the rows as dicts, read as they are asked for;
    whatever reading finds wrong (a bound, broken quoting, bad UTF-8) is an InputError once the
    rows run out."""
    label = tables.found[name]
    header, rows = csv_rows(label, tables.chunks(name), required, max_rows)
    return label, header, rows


def csv_rows(
    label: str, chunks: Iterator[bytes], required: tuple[str, ...], max_rows: int
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """(header, rows) of a CSV read from ``chunks`` within bounds; a required column missing is
    an InputError now, anything wrong in the rows once they run out."""
    table = csv_table(label, chunks, max_rows=max_rows)
    header = table.header
    missing = [c for c in required if c not in header]
    if missing:
        near = {c: difflib.get_close_matches(c, header, n=1, cutoff=0.6) for c in missing}
        raise InputError(
            [
                Problem(
                    label,
                    1,
                    c,
                    None,
                    "required Open Referral column is missing"
                    + (f" (is {near[c][0]!r} meant to be {c!r}?)" if near[c] else ""),
                )
                for c in missing
            ]
        )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for number, cells in table.rows:
            if cells:  # a blank line is no record (as csv.DictReader reads it); still counted
                yield number, dict(zip(header, cells, strict=False))
        if table.errors:
            raise InputError(table.errors)

    return header, rows()


def _read_tables(tables: _Tables, warnings: list[str]) -> Directory:
    if "services" not in tables.found:
        raise fail("services.csv", f"required file is missing{_folder_looks_like(tables)}")
    organisations: dict[str, str] = {}
    if "organizations" in tables.found:
        _, _, org_rows = _table(tables, "organizations", ("id", "name"), limits.MAX_DIRECTORY_ROWS)
        for _, row in org_rows:
            organisations[(row.get("id") or "").strip()] = (row.get("name") or "").strip()
    if "locations" in tables.found:
        label, _, location_rows = _table(tables, "locations", ("id",), limits.MAX_DIRECTORY_ROWS)
        check_locations((row for _, row in location_rows), label, warnings)
    areas_by_service: dict[str, list[dict[str, str]]] = {}
    areas_label = ""
    if "service_areas" in tables.found:
        areas_label, _, area_rows = _table(
            tables, "service_areas", ("service_id",), limits.MAX_DIRECTORY_ROWS
        )
        for number, row in area_rows:
            kept = {k: row[k] for k in AREA_KEYS if row.get(k)}
            kept["_row"] = str(number)
            areas_by_service.setdefault((row.get("service_id") or "").strip(), []).append(kept)
    label, header, rows = _table(tables, "services", ("id", "name"), limits.MAX_DIRECTORY_SERVICES)
    hsds3 = {"minimum_age", "maximum_age", "assured_date", "eligibility_description"} & set(header)
    shape = (
        "HSDS 3.x / Open Referral UK CSV folder"
        if hsds3
        else "HSDS 1.x tabular data package (CSV folder)"
    )
    if isinstance(tables, _ZipTables):
        shape = shape.replace("CSV folder", "CSV zip")
    services: list[Service] = []
    empty: list[str] = []
    used: Counter[str] = Counter()
    for number, row in rows:
        if not any((value or "").strip() for value in row.values()):
            empty.append(str(number))
            continue
        kept = {k: v for k, v in row.items() if k in _KEPT_CSV_KEYS and v and v.strip()}
        used.update(kept.keys())
        services.append(
            Service(
                where=f"{label}, row {number}",
                row=number,
                path="",
                raw=kept,
                id=(row.get("id") or "").strip(),
                name=(row.get("name") or "").strip(),
                organization_id=(row.get("organization_id") or "").strip(),
            )
        )
    if empty:
        warnings.append(f"{label}: {len(empty):,} empty rows skipped (rows {listed(empty)})")
    if areas_by_service:
        ids = {s.id for s in services}
        unmatched = [
            f"row {area['_row']} ({service_id or 'blank'})"
            for service_id, rows_of in areas_by_service.items()
            if service_id not in ids
            for area in rows_of
        ]
        if unmatched:
            warnings.append(
                f"{areas_label}: {len(unmatched):,} rows name no service in {label}; ignored: "
                + listed(unmatched)
            )
        for service in services:
            service.raw["service_areas"] = areas_by_service.get(service.id, [])
    pairs = (("schedule", "schedules"), ("address", "addresses"), ("taxonomy", "taxonomies"))
    for single, plural in pairs:
        if single in tables.found and plural in tables.found:
            warnings.append(f"both {single}.csv and {plural}.csv are present; neither is used")
    if "organizations" not in tables.found and any(s.organization_id for s in services):
        count = sum(1 for s in services if s.organization_id)
        warnings.append(
            f"{label}: {count:,} services name an organization_id but there is no "
            "organizations.csv; their provider is left blank"
        )
    else:
        organisation_names(services, organisations, label, warnings)
    unmapped_fields(set(header), used, label, warnings)
    return Directory(shape, label, services)


def _folder_looks_like(tables: _Tables) -> str:
    if not tables.found:
        return f" (the {'zip' if isinstance(tables, _ZipTables) else 'folder'} holds no CSV files)"
    if "areas" in tables.found and "offers" in tables.found:
        return " (this looks like a nestmap dataset: load it with `nestmap load`)"
    return " (CSV files found: " + ", ".join(sorted(tables.found.values())[:8]) + ")"


# ---------------------------------------------------------------------------------------------
# JSON


def _read_json(path: Path, warnings: list[str]) -> Directory:
    label = path.name
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.MAX_DIRECTORY_JSON_BYTES + 1)
    except OSError as exc:
        raise fail(label, f"cannot read: {exc}") from None
    # Size, objects and values counted before parsing, encoding and nesting depth: each an
    # InputError naming the file.
    document = limits.read_json(data, label, max_bytes=limits.MAX_DIRECTORY_JSON_BYTES)
    del data
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
        raise fail(label, f"a JSON {type(document).__name__}, not an Open Referral document")
    services: list[Service] = []
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
        if len(services) > limits.MAX_DIRECTORY_SERVICES:
            raise fail(
                label,
                f"more than {limits.MAX_DIRECTORY_SERVICES:,} services; reading stopped at "
                f"{where or 'the top'}",
            )
    if not services:
        raise fail(label, f"not a service directory: {_describe(kinds, items)}")
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
            f"{label}: {sum(others.values()):,} items are not services ("
            + ", ".join(f"{n:,} {k}" for k, n in sorted(others.items()))
            + "); ignored"
        )
    for service in services:
        check_locations(
            [
                link.get("location") or {}
                for link in service.raw.get("service_at_locations") or []
                if isinstance(link, dict)
            ]
            + [loc for loc in service.raw.get("locations") or [] if isinstance(loc, dict)],
            label,
            warnings,
        )
    organisation_names(services, {}, label, warnings)
    keys = {key for service in services for key in service.raw}
    used = Counter(
        key for service in services for key in service.raw if _present(service.raw.get(key))
    )
    unmapped_fields(keys, used, label, warnings)
    return Directory(shape, label, services)


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
    shown = ", ".join(f"{n:,} {k}" for k, n in sorted(kinds.items()))
    if not items:
        return "the list is empty"
    return f"a list of {shown}, and no services"


def _name_of(item: Any) -> str:
    if isinstance(item, dict):
        return f"id {item.get('id')!r}, name {item.get('name')!r}"
    return repr(item)[:40]


def _json_service(label: str, where: str, item: dict, parent: dict | None) -> Service:
    organisation = item.get("organization") or item.get("organisation") or parent or {}
    if not isinstance(organisation, dict):
        organisation = {}
    return Service(
        where=f"{label}, {where}" if where else label,
        row=None,
        path=where,
        raw=item,
        id=text(item.get("id")),
        name=text(item.get("name")),
        organization_id=text(item.get("organization_id")) or text(organisation.get("id")),
        provider=text(organisation.get("name")),
    )


# ---------------------------------------------------------------------------------------------
# What every shape shares


def organisation_names(
    services: list[Service], organisations: dict[str, str], label: str, warnings: list[str]
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
            f"{label}: {len(missing):,} services name an organization_id with no organization "
            f"row ({len(ids):,} ids); their provider is left blank: " + listed(ids)
        )
    if unnamed:
        warnings.append(
            f"{label}: {len(unnamed):,} services' organisation has no name in the file; their "
            "provider is left blank"
        )


def unmapped_fields(keys: set[str], used: Counter[str], label: str, warnings: list[str]) -> None:
    """Warn of fields that matter but are not mapped (``used``: how many services give each),
    and of keys that look like a mapped one misspelt."""
    for key in sorted(keys):
        if key in MEANINGFUL_UNMAPPED:
            if used[key]:
                warnings.append(
                    f"{label}: {key!r} ({MEANINGFUL_UNMAPPED[key]}) is given for {used[key]:,} "
                    "services but is not mapped; use it to fill in the companion CSV"
                )
        elif key not in MAPPED_KEYS:
            near = _near_miss(key)
            if near:
                warnings.append(
                    f"{label}: key {key!r} looks like {near!r} but is not {near!r}; not used"
                )


def _near_miss(key: str) -> str | None:
    if key.startswith("_"):
        return None  # a store's own key (e.g. MongoDB's "_id"), not a misspelling
    squashed = re.sub(r"[^a-z0-9]", "", key.lower())
    for known in MAPPED_KEYS:
        if squashed == known.replace("_", "") and key != known:
            return known
    close = difflib.get_close_matches(key.lower(), MAPPED_KEYS, n=1, cutoff=0.85)
    return close[0] if close and close[0] != key else None


def _present(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return value is not None


def check_locations(locations: Iterable[dict], label: str, warnings: list[str]) -> None:
    """Warn, once, of the locations whose latitude or longitude is out of range (placeholders)."""
    bad: list[str] = []
    for location in locations:
        for key, bound in (("latitude", 90), ("longitude", 180)):
            value = location.get(key)
            try:
                number = float(value) if value not in (None, "") else None
            except (TypeError, ValueError):
                number = None
            if number is not None and abs(number) > bound:
                bad.append(f"{location.get('id', '?')} ({key} {value})")
    if bad:
        warnings.append(
            f"{label}: {len(bad):,} location coordinates out of range (placeholders?); "
            "locations are not used: " + listed(bad)
        )
