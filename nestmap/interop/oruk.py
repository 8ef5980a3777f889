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
from nestmap.interop.oruk_read import Service, csv_rows, fail, listed, read_directory, text
from nestmap.loaders import limits
from nestmap.loaders.read import file_chunks
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


# ---------------------------------------------------------------------------------------------
# Checks: ids and names


def _check_ids(services: list[Service], keep_first: bool, warnings: list[str]) -> list[Service]:
    """Refuse blank and duplicate ids and blank names, every record listed; or, when asked,
    keep the first of each id and report every record left out."""
    problems: list[Problem] = []
    kept: list[Service] = []
    first: dict[str, Service] = {}
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


def _where(service: Service) -> tuple[str, str]:
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
                    found += ONS_CODE.findall(text(area.get(key)))
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
    header, rows = csv_rows(
        path.name,
        file_chunks(path, path.name),
        ("oruk_service_id",),
        limits.MAX_DIRECTORY_SERVICES,
    )
    unknown = [c for c in header if c not in COMPANION_COLUMNS]
    if unknown:
        raise InputError([Problem(path.name, 1, c, c, "unknown companion column") for c in unknown])
    return {(row.get("oruk_service_id") or "").strip(): row for _, row in rows}


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
    directory = read_directory(source, warnings)
    shape, services = directory.shape, directory.services
    services = _check_ids(services, keep_first, warnings)
    extra = _read_companion(companion)
    if companion is not None:
        ids = {s.id for s in services}
        stray = [key for key in extra if key not in ids]
        if stray:
            warnings.append(
                f"{companion.name}: {len(stray)} rows name no imported service; ignored: "
                + listed(stray)
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
        status = text(raw.get("status")).lower()
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
        raise fail(str(out), "the output must be a folder (a file has that name)")
    present = sorted(p.name for p in out.iterdir())
    if not present:
        return []
    marker = out / MARKER
    written: list[str] = []
    if marker.is_file():
        try:
            manifest = json.loads(marker.read_text(encoding="utf-8"))["files"]
        except (OSError, ValueError, KeyError, TypeError):
            manifest = []
        # Plain names in this folder only: a manifest is never a way to reach other files.
        written = [
            name
            for name in manifest
            if isinstance(name, str) and name == Path(name).name and name not in ("", ".", "..")
        ]
    others = [name for name in present if name not in {*written, MARKER}]
    if not marker.is_file() or others:
        raise fail(
            str(out),
            "the output folder must be empty or hold only what an earlier `nestmap import` "
            "wrote; it also holds " + listed(others or present) + " (choose another folder)",
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
    for name, content in files.items():
        # Each file replaced whole (written beside, then renamed over): a reader never sees half.
        partial = out / f".{name}.partial"
        partial.write_text(content, encoding="utf-8")
        os.replace(partial, out / name)
    for stale in set(previous) - set(files):
        if (out / stale).is_file():
            (out / stale).unlink()  # e.g. a workforce.csv of an older import
    (out / MARKER).write_text(
        json.dumps({"written_by": "nestmap import oruk", "files": sorted(files)}, indent=1),
        encoding="utf-8",
    )
