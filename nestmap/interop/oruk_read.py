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
import itertools
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
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
_KEPT_CSV_KEYS = (
    frozenset(MAPPED_KEYS) | frozenset(MEANINGFUL_UNMAPPED) | {"eligibility", "location_id"}
)
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
    location_ids: list[str] = field(default_factory=list)
    # A wrong type where text was expected ("id is a list, not text"), by field.
    wrong_types: dict[str, str] = field(default_factory=dict)


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


# Table names as HSDS versions and data packages write them -> the name used here.
_TABLE_NAMES = {
    "services": "services",
    "service": "services",
    "organizations": "organizations",
    "organization": "organizations",
    "organisations": "organizations",
    "locations": "locations",
    "location": "locations",
    "service_areas": "service_areas",
    "service_area": "service_areas",
    "service_at_locations": "service_at_locations",
    "service_at_location": "service_at_locations",
    "services_at_location": "service_at_locations",
    "services_at_locations": "service_at_locations",
    "eligibility": "eligibility",
    "eligibilities": "eligibility",
    "eligibilitys": "eligibility",
}


class _Tables:
    """A directory's CSV tables by name (``services``, ``organizations``, ...), each readable
    once as a bounded stream of bytes. Found, in this order: at the paths a datapackage.json
    names; by file name beside it (or at the top); by file name in a subfolder (the
    shallowest), which is warned of."""

    label: str
    kind: str  # "folder" or "zip"
    files: list[str]  # every file, as a relative POSIX path
    found: dict[str, str]  # table name -> relative path of its file
    package_missing: list[str]  # paths a datapackage.json names that are not there
    in_subfolder: dict[str, str]  # table name -> relative path, found by name in a subfolder

    def open(self, path: str) -> Iterator[bytes]:
        raise NotImplementedError

    def read_small(self, path: str) -> bytes:
        """A small file (datapackage.json), at most MAX_SCENARIO_BYTES."""
        raise NotImplementedError

    def locate(self) -> None:
        csvs = sorted(
            (f for f in self.files if f.lower().endswith(".csv")),
            key=lambda f: (f.count("/"), f),
        )
        packages = sorted(
            (f for f in self.files if PurePosixPath(f).name == "datapackage.json"),
            key=lambda f: (f.count("/"), f),
        )
        base = PurePosixPath(packages[0]).parent if packages else PurePosixPath(".")
        self.found, self.package_missing, self.in_subfolder = {}, [], {}
        present = set(self.files)
        if packages:
            for name, path in _package(self.read_small(packages[0])):
                table = _TABLE_NAMES.get(name.lower()) or _TABLE_NAMES.get(
                    PurePosixPath(path).stem.lower()
                )
                where = str(PurePosixPath(base, path))
                if where in present and where.lower().endswith(".csv"):
                    if table:
                        self.found.setdefault(table, where)
                elif table:
                    self.package_missing.append(path)
        for path in csvs:
            table = _TABLE_NAMES.get(PurePosixPath(path).stem.lower())
            if table and PurePosixPath(path).parent == base:
                self.found.setdefault(table, path)
        for path in csvs:
            table = _TABLE_NAMES.get(PurePosixPath(path).stem.lower())
            if table and table not in self.found:
                self.found[table] = path
                self.in_subfolder[table] = path

    def name(self, table: str) -> str:
        """The file's name as messages give it (``services.csv``)."""
        return PurePosixPath(self.found[table]).name

    def chunks(self, table: str) -> Iterator[bytes]:
        return self.open(self.found[table])


class _FolderTables(_Tables):
    def __init__(self, folder: Path):
        self.label, self.kind, self.folder = folder.name, "folder", folder
        self.files = []
        # A folder of a directory is a few dozen files: its walk is bounded like a zip's.
        for path in folder.rglob("*"):
            if path.is_file():
                self.files.append(path.relative_to(folder).as_posix())
                if len(self.files) > limits.MAX_ZIP_MEMBERS:
                    raise fail(folder.name, f"holds more than {limits.MAX_ZIP_MEMBERS:,} files")
        self.files.sort()
        self.locate()

    def open(self, path: str) -> Iterator[bytes]:
        return file_chunks(self.folder / path, PurePosixPath(path).name)

    def read_small(self, path: str) -> bytes:
        with (self.folder / path).open("rb") as handle:
            return handle.read(limits.MAX_SCENARIO_BYTES + 1)


class _ZipTables(_Tables):
    """The files of a zip, read as they inflate within the archive's bounds (never unpacked)."""

    def __init__(self, path: Path):
        self.label, self.kind = path.name, "zip"
        with path.open("rb") as handle:
            data = handle.read(limits.MAX_FILE_BYTES + 1)
        if len(data) > limits.MAX_FILE_BYTES:
            raise fail(path.name, f"larger than {limits.size_text(limits.MAX_FILE_BYTES)}")
        self.archive = limits.open_zip(data, path.name)
        self.budget = limits.InflateBudget()
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in self.archive.infolist():
            member = limits.safe_member_path(info.filename)
            if not info.is_dir() and member is not None:
                self.members.setdefault(str(member), info)
        self.files = sorted(self.members)
        self.locate()

    def open(self, path: str) -> Iterator[bytes]:
        return limits.member_chunks(
            self.archive,
            self.members[path],
            PurePosixPath(path).name,
            self.budget,
            max_ratio=limits.MAX_INFLATE_RATIO,
        )

    def read_small(self, path: str) -> bytes:
        return b"".join(
            limits.member_chunks(
                self.archive, self.members[path], path, self.budget, limits.MAX_SCENARIO_BYTES
            )
        )

    def __enter__(self) -> _ZipTables:
        return self

    def __exit__(self, *exc: object) -> None:
        self.archive.close()


def _package(data: bytes) -> list[tuple[str, str]]:
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
    label = tables.name(name)
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
        raise InputError(
            [
                Problem(
                    label,
                    1,
                    column,
                    None,
                    "required Open Referral column is missing; " + _column_hint(column, header),
                )
                for column in missing
            ]
        )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for number, cells in table.rows:
            if cells:  # a blank line is no record (as csv.DictReader reads it); still counted
                yield number, dict(zip(header, cells, strict=False))
        if table.errors:
            raise InputError(table.errors)

    return header, rows()


# Names other exports give a required column.
_COLUMN_NAMES = {
    "id": ("service_id", "service_uuid", "uuid", "guid", "serviceid", "identifier", "ref"),
    "name": ("service_name", "servicename", "title", "service_title", "name_of_service"),
    "service_id": ("service", "serviceid", "service_uuid", "service_ref"),
    "oruk_service_id": ("service_id", "id", "serviceid"),
}


def _column_hint(column: str, header: list[str]) -> str:
    """What to do about a missing column: rename the one that looks like it, if any."""
    folded = {name.casefold(): name for name in header}
    known = [folded[n] for n in _COLUMN_NAMES.get(column, ()) if n in folded]
    near = known or difflib.get_close_matches(column, header, n=1, cutoff=0.6)
    if near:
        return f"is {near[0]!r} meant to be {column!r}? Rename that column {column!r}"
    shown = ", ".join(name[:40] for name in header[:12]) + (" …" if len(header) > 12 else "")
    return f"the header has {shown or 'no names'}; add a column named {column!r}"


def _read_tables(tables: _Tables, warnings: list[str]) -> Directory:
    if "services" not in tables.found:
        raise fail("services.csv", f"required file is missing{_what_is_there(tables)}")
    if tables.package_missing:
        warnings.append(
            f"datapackage.json names {len(tables.package_missing):,} files that are not at its "
            "paths (" + listed(tables.package_missing, 5) + "); tables were found by file name"
        )
    for table, path in sorted(tables.in_subfolder.items()):
        warnings.append(f"{table}: read {path} (found by its name in a subfolder)")
    rows_of = limits.MAX_DIRECTORY_ROWS
    organisations: dict[str, str] = {}
    if "organizations" in tables.found:
        _, _, org_rows = _table(tables, "organizations", ("id", "name"), rows_of)
        for _, row in org_rows:
            organisations[(row.get("id") or "").strip()] = (row.get("name") or "").strip()
    # HSDS 1.x joins a service to its organization through its locations.
    location_orgs: dict[str, str] = {}
    if "locations" in tables.found:
        label, _, location_rows = _table(tables, "locations", ("id",), rows_of)
        kept_rows = []
        for _, row in location_rows:
            organisation = (row.get("organization_id") or "").strip()
            if organisation:
                location_orgs[(row.get("id") or "").strip()] = organisation
            kept_rows.append({k: row.get(k) for k in ("id", "latitude", "longitude")})
        check_locations(kept_rows, label, warnings)
    locations_of: dict[str, list[str]] = {}
    if "service_at_locations" in tables.found:
        _, _, link_rows = _table(tables, "service_at_locations", ("service_id",), rows_of)
        for _, row in link_rows:
            location = (row.get("location_id") or "").strip()
            if location:
                locations_of.setdefault((row.get("service_id") or "").strip(), []).append(location)
    eligibility_of: dict[str, list[str]] = {}
    eligibility_rows_of: dict[str, list[str]] = {}
    eligibility_label = ""
    if "eligibility" in tables.found:
        eligibility_label, header, eligibility_rows = _table(
            tables, "eligibility", ("service_id",), rows_of
        )
        column = "eligibility" if "eligibility" in header else "eligibility_description"
        for number, row in eligibility_rows:
            value = (row.get(column) or "").strip()
            service_id = (row.get("service_id") or "").strip()
            if value:
                eligibility_of.setdefault(service_id, []).append(value)
                eligibility_rows_of.setdefault(service_id, []).append(str(number))
    areas_by_service: dict[str, list[dict[str, str]]] = {}
    areas_label = ""
    if "service_areas" in tables.found:
        areas_label, _, area_rows = _table(tables, "service_areas", ("service_id",), rows_of)
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
    if tables.kind == "zip":
        shape = shape.replace("CSV folder", "CSV zip")
    organisation_column = next(
        (c for c in ("organization_id", "organisation_id") if c in header), "organization_id"
    )
    services: list[Service] = []
    empty: list[str] = []
    used: Counter[str] = Counter()
    for number, row in rows:
        if not any((value or "").strip() for value in row.values()):
            empty.append(str(number))
            continue
        kept = {k: v for k, v in row.items() if k in _KEPT_CSV_KEYS and v and v.strip()}
        used.update(kept.keys())
        service_id = (row.get("id") or "").strip()
        locations = [(row.get("location_id") or "").strip()] if row.get("location_id") else []
        texts = [kept["eligibility"]] if "eligibility" in kept else []
        texts += eligibility_of.get(service_id, [])
        if texts:
            kept["eligibility"] = "; ".join(dict.fromkeys(t.strip() for t in texts))
        services.append(
            Service(
                where=f"{label}, row {number}",
                row=number,
                path="",
                raw=kept,
                id=service_id,
                name=(row.get("name") or "").strip(),
                organization_id=(row.get(organisation_column) or "").strip(),
                location_ids=locations + locations_of.get(service_id, []),
            )
        )
    if empty:
        warnings.append(f"{label}: {len(empty):,} empty rows skipped (rows {listed(empty)})")
    ids = {s.id for s in services}
    area_rows_of = {key: [a["_row"] for a in rows] for key, rows in areas_by_service.items()}
    for table_label, rows_by_service in (
        (areas_label, area_rows_of),
        (eligibility_label, eligibility_rows_of),
    ):
        unmatched = [
            f"row {number} ({service_id or 'blank'})"
            for service_id, numbers in rows_by_service.items()
            if service_id not in ids
            for number in numbers
        ]
        if unmatched:
            warnings.append(
                f"{table_label}: {len(unmatched):,} rows name no service in {label}; ignored: "
                + listed(unmatched)
            )
    if areas_by_service:
        for service in services:
            service.raw["service_areas"] = areas_by_service.get(service.id, [])
    stems = {PurePosixPath(f).stem.lower() for f in tables.files if f.lower().endswith(".csv")}
    pairs = (("schedule", "schedules"), ("address", "addresses"), ("taxonomy", "taxonomies"))
    for single, plural in pairs:
        if single in stems and plural in stems:
            warnings.append(f"both {single}.csv and {plural}.csv are present; neither is used")
    _organisations_through_locations(services, location_orgs, label, warnings)
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


def _organisations_through_locations(
    services: list[Service], location_orgs: dict[str, str], label: str, warnings: list[str]
) -> None:
    """A service with no organization_id takes its locations' organization (HSDS 1.x: service
    -> location -> organization, as Ohana and early HSDS folders join them)."""
    joined: list[str] = []
    several: list[str] = []
    for service in services:
        if service.organization_id or not service.location_ids:
            continue
        known = [location_orgs[loc] for loc in service.location_ids if loc in location_orgs]
        organisations = list(dict.fromkeys(known))
        if organisations:
            service.organization_id = organisations[0]
            joined.append(service.id)
            if len(organisations) > 1:
                several.append(service.id)
    if joined:
        warnings.append(
            f"{label}: {len(joined):,} services have no organization_id; each takes its "
            "location's organization as its provider (service -> location -> organization): "
            + listed(joined)
        )
    if several:
        warnings.append(
            f"{label}: {len(several):,} services' locations belong to more than one "
            "organization; the first location's is their provider: " + listed(several)
        )


def _what_is_there(tables: _Tables) -> str:
    """Why services.csv was not found, and what the folder or zip holds instead."""
    where = "zip" if tables.kind == "zip" else "folder"
    stems = {PurePosixPath(f).stem.lower() for f in tables.files}
    if {"areas", "offers"} <= stems:
        return " (this looks like a nestmap dataset: load it with `nestmap load`)"
    shown = listed(sorted(tables.files), 12) if tables.files else "nothing"
    said = ""
    if tables.package_missing:
        said = (
            "; datapackage.json names "
            + listed(tables.package_missing, 6)
            + ", which are not there: put the CSVs at those paths (relative to "
            "datapackage.json) or correct its paths"
        )
    return f" (the {where} holds {shown}{said})"


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
    lines = False
    try:
        document = limits.read_json(data, label, max_bytes=limits.MAX_DIRECTORY_JSON_BYTES)
    except InputError as exc:
        if "Extra data" not in exc.problems[0].reason:
            raise
        document, lines = _json_lines(data, label, exc), True
    del data
    items: list[tuple[str, Any]]
    if _ohana(document):
        raise fail(
            label,
            "not a service directory nestmap can read: organisations with nested locations and "
            "their services_attributes, the Ohana API's import format from before HSDS, whose "
            "services carry no ids. Export the directory as HSDS CSVs instead (Ohana API's "
            "data/sample-csv layout: services.csv, locations.csv, organizations.csv), which "
            "nestmap reads",
        )
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
        raise fail(label, f"not a service directory: {_describe(kinds, items, document)}")
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
    if lines:
        shape = shape.replace("JSON list", "JSON Lines file", 1)
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


def _describe(kinds: Counter[str], items: list[tuple[str, Any]], document: Any) -> str:
    """What a JSON document that holds no services looks like, and what a service needs."""
    needs = (
        "; a service is an object with an id and a name and service fields such as "
        "organization_id, service_areas, minimum_age or status"
    )
    top = (
        f" (its top-level keys: {_keys(document)})"
        if isinstance(document, dict) and items and items[0][0]
        else ""
    )
    if len(items) == 1:
        kind = next(iter(kinds))
        item = items[0][1]
        if kind == "organization":
            return (
                f"an organization ({_name_of(item)}) without services; export its services, "
                "or a service list, instead"
            )
        if kind == "unknown" and isinstance(item, dict):
            return f"a JSON object with keys {_keys(item)}{top}{needs}"
        if kind != "unknown":
            return f"it appears to be a {kind} ({_name_of(item)})"
    if not items:
        return f"the list is empty{top}"
    shown = ", ".join(f"{n:,} {k}" for k, n in sorted(kinds.items()))
    first = items[0][1]
    described = (
        f"; the first item ({items[0][0]}) has keys {_keys(first)}"
        if isinstance(first, dict)
        else ""
    )
    return f"a list of {shown}, and no services{top}{described}{needs}"


def _keys(item: dict, limit: int = 12) -> str:
    keys = [str(key)[:40] for key in itertools.islice(item, limit)]
    more = f" and {len(item) - limit:,} more" if len(item) > limit else ""
    return (", ".join(keys) or "none") + more


def _ohana(document: Any) -> bool:
    """Organisations with locations holding ``services_attributes`` (the Ohana API's import
    format, before HSDS)."""
    first = document[0] if isinstance(document, list) and document else document
    if not isinstance(first, dict) or not isinstance(first.get("locations"), list):
        return False
    return any(
        isinstance(location, dict) and "services_attributes" in location
        for location in first["locations"]
    )


def _json_lines(data: bytes, label: str, error: InputError) -> list[Any]:
    """One JSON document per line (JSON Lines), as a list; the original error, with a hint,
    when a line is not JSON either."""
    documents: list[Any] = []
    text = data.decode("utf-8-sig")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line))
        except (ValueError, RecursionError):
            raise fail(
                label,
                f"{error.problems[0].reason} (more than one JSON document; read as one per "
                f"line, line {number} is not JSON either)",
            ) from None
    if limits.nesting_depth(documents) > limits.MAX_NESTING:
        raise fail(label, f"nested more than {limits.MAX_NESTING} levels deep")
    return documents


def _name_of(item: Any) -> str:
    if isinstance(item, dict):
        return f"id {item.get('id')!r}, name {item.get('name')!r}"
    return repr(item)[:40]


def _json_service(label: str, where: str, item: dict, parent: dict | None) -> Service:
    organisation = item.get("organization") or item.get("organisation") or parent or {}
    if not isinstance(organisation, dict):
        organisation = {}
    wrong = {
        key: f"{key} is {_type_name(item[key])}, not text"
        for key in ("id", "name")
        if isinstance(item.get(key), list | dict | bool)
    }
    return Service(
        where=f"{label}, {where}" if where else label,
        row=None,
        path=where,
        raw=item,
        id=text(item.get("id")),
        name=text(item.get("name")),
        organization_id=text(item.get("organization_id")) or text(organisation.get("id")),
        provider=text(organisation.get("name")),
        wrong_types=wrong,
    )


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    return "a list" if isinstance(value, list) else "an object"


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
