"""Import an Open Referral directory (HSDS / Open Referral UK) as a nestmap dataset.

Open Referral carries services, their organisations, status, ages and service areas. It does
not carry nestmap's level of need, focus, stages, threshold or referral links: those come from
an optional companion CSV keyed by the Open Referral service id, and whatever is still unknown
is listed for the user to fill in (``TO_FILL_IN.csv``) — never guessed.

What it recognises (anything else is refused, saying what the file appears to be and what to
do), the mapping and its rules (ages: ``oruk_ages``; area names: ``nestmap.geography.names``)
are in docs/open-referral.md. Reading, within bounds, is ``oruk_read``.
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
from nestmap.interop import oruk_ages
from nestmap.interop.dataset_files import COLUMNS
from nestmap.interop.oruk_read import (
    AREA_KEYS,
    Service,
    csv_rows,
    fail,
    listed,
    read_directory,
    text,
)
from nestmap.loaders import limits
from nestmap.loaders.read import file_chunks

ONS_CODE = re.compile(r"\b[EWSNK]\d{8}\b")
COMPANION_COLUMNS = (
    "oruk_service_id",
    "sector",
    "areas",
    "min_age_months",
    "max_age_months",
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
    # How many of each kind of counted warning (a rule applied, a value left blank).
    warning_counts: dict[str, int] = field(default_factory=dict)
    # Service areas given by name and matched to an ONS code.
    areas_by_name: int = 0

    def fill_in_summary(self) -> list[tuple[str, str, int]]:
        """(file, column, how many) for the things left to fill in, in file order."""
        counts = Counter((item["file"], item["column"]) for item in self.to_fill_in)
        return [(file, column, n) for (file, column), n in counts.items()]


class _Counted:
    """Warnings that count: one line per kind, how many it applied to and the first few."""

    def __init__(self) -> None:
        self.kinds: dict[str, tuple[str, list[str]]] = {}

    def add(self, kind: str, message: str, item: str) -> None:
        self.kinds.setdefault(kind, (message, []))[1].append(item)

    def lines(self) -> list[str]:
        return [
            f"{message} ({len(items):,}): {listed(items)}" for message, items in self.kinds.values()
        ]

    def counts(self) -> dict[str, int]:
        return {kind: len(items) for kind, (_, items) in self.kinds.items()}


# ---------------------------------------------------------------------------------------------
# Checks: ids and names


def _check_ids(services: list[Service], keep_first: bool, warnings: list[str]) -> list[Service]:
    """Refuse blank and duplicate ids, blank names and ids or names of the wrong type, every
    record listed; or, when asked, keep the first of each id and report every record left out."""
    problems: list[Problem] = []
    kept: list[Service] = []
    first: dict[str, Service] = {}
    for service in services:
        file, column = _where(service)
        reasons = [
            (key, f"{reason}: give the {key} as text")
            for key, reason in service.wrong_types.items()
        ]
        if not service.id and "id" not in service.wrong_types:
            reasons.append(("id", "a service needs an id (blank)"))
        if not service.name and "name" not in service.wrong_types:
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
            value = _shown(service.raw.get(name)) if name in service.wrong_types else None
            if name == "id" and value is None:
                value = service.id
            problems.append(Problem(file, service.row, where, value, reason))
            if keep_first:
                warnings.append(f"{service.where}: left out, {reason}")
    if problems and not keep_first:
        raise InputError(problems)
    return kept


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:120]


def _where(service: Service) -> tuple[str, str]:
    file = service.where.split(", ")[0]
    return file, service.path


# ---------------------------------------------------------------------------------------------
# Geography


@dataclass
class _Areas:
    """Areas met in the directory (ONS codes, or names matched to them), resolved against the
    bundled lookup."""

    local_authorities: set[str] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    renamed: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)  # name as written -> code
    matched_by_name: int = 0
    names: dict[str, Any] = field(default_factory=dict)  # name as written -> its match

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

    def named(self, written: str) -> tuple[list[str], list[str]]:
        """(codes, names not matched) for one service area given by name: the whole text, or
        each of its parts where it lists several (``;``, ``|``, ``/``, ``,`` or new lines)."""
        whole = self._match(written)
        if whole.code:
            return [whole.code], []
        parts = [p.strip() for p in re.split(r"[;|/,\n]+", written) if p.strip()]
        if len(parts) < 2:
            return [], [written]
        codes, unmatched = [], []
        for part in parts:
            match = self._match(part)
            if match.code:
                codes.append(match.code)
            else:
                unmatched.append(part)
        return (codes, unmatched) if codes else ([], [written])

    def _match(self, written: str) -> Any:
        from nestmap import geography

        if written not in self.names:
            self.names[written] = geography.match_area(written[:200])
        return self.names[written]


def _area_texts(value: Any) -> list[str]:
    """The service areas as written: a string, a list of strings, or objects whose
    ``service_area``, ``name``, ``uri``, ``extent``, ``code`` or ``gss_code`` name them."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    texts: list[str] = []
    for area in value if isinstance(value, list) else []:
        if isinstance(area, str) and area.strip():
            texts.append(area)
        elif isinstance(area, dict):
            coded = " ".join(text(area.get(k)) for k in AREA_KEYS)
            if ONS_CODE.search(coded):
                texts.append(coded)
            else:
                named = text(area.get("service_area")) or text(area.get("name"))
                if named:
                    texts.append(named)
    return texts


def _service_areas(
    raw: dict, areas: _Areas, counted: _Counted, service_id: str
) -> tuple[list[str], list[str]]:
    """(codes, names not matched) of a service's areas: ONS codes where given, else names."""
    codes: list[str] = []
    unmatched: list[str] = []
    for written in _area_texts(raw.get("service_areas")):
        found = ONS_CODE.findall(written)
        if found:
            codes += found
            continue
        named, missed = areas.named(written.strip())
        for code in named:
            areas.matched_by_name += 1
            counted.add(
                "areas matched by name",
                "service areas given by name, matched to ONS codes",
                f"{written.strip()[:60]!r} -> {code}",
            )
        codes += named
        unmatched += missed
    return codes, unmatched


# ---------------------------------------------------------------------------------------------
# The import


_AGE_RULES = {
    "years": "ages in years recorded in months (minimum × 12; maximum × 12 + 11, to the day "
    "before the next birthday)",
    "negative": "ages below 0 (a directory's 'no age limit') read as no bound, left blank",
    "past 18": "ages past 18 years recorded as 216 months, the oldest nestmap records",
    "unread": "ages that are not a number and a unit, left blank (listed in TO_FILL_IN.csv)",
}


def _ages(
    raw: dict,
    service_id: str,
    number: int,
    counted: _Counted,
    to_fill: list[dict[str, str]],
) -> tuple[str, str]:
    """(min_age_months, max_age_months) of a service, by the rules of ``oruk_ages``."""
    low_value = _first(raw, "minimum_age", "min_age")
    high_value = _first(raw, "maximum_age", "max_age")
    if low_value is None and high_value is None:
        low_value, high_value = _eligibility_ages(raw)
    low = oruk_ages.from_value(low_value, "min")
    high = oruk_ages.from_value(high_value, "max")
    for bound, age in (("minimum_age", low), ("maximum_age", high)):
        if age.rule:
            rule = _AGE_RULES[age.rule]
            counted.add(f"ages: {age.rule}", rule, f"{service_id} {bound} {age.original}")
        if age.rule == "unread":
            to_fill.append(
                _fill("services.csv", str(number), bound.replace("imum_age", "_age_months"),
                      service_id, _HINTS["age"], age.original)
            )  # fmt: skip
    if low.months and high.months and int(low.months) > int(high.months):
        counted.add(
            "ages: minimum above maximum",
            "minimum age above the maximum, both left blank (listed in TO_FILL_IN.csv)",
            f"{service_id} ({low.original} > {high.original})",
        )
        to_fill.append(
            _fill("services.csv", str(number), "min_age_months, max_age_months", service_id,
                  _HINTS["age"], f"minimum {low.original}, maximum {high.original}")
        )  # fmt: skip
        return "", ""
    if low.months or high.months or low_value is not None or high_value is not None:
        return low.months, high.months
    return _text_ages(raw, service_id, number, counted, to_fill)


def _eligibility_ages(raw: dict) -> tuple[Any, Any]:
    """ORUK v1's ``eligibilitys`` (and the like): the loosest of their ages, or nothing."""
    lows: list[float] = []
    highs: list[float] = []
    for key in ("eligibilitys", "eligibilities"):
        for item in raw.get(key) or [] if isinstance(raw.get(key), list) else []:
            if isinstance(item, dict):
                for into, name in ((lows, "minimum_age"), (highs, "maximum_age")):
                    value = item.get(name)
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        into.append(value)
    return (min(lows) if lows else None), (max(highs) if highs else None)


def eligibility_text(raw: dict) -> str:
    """A service's eligibility as text: HSDS 3's ``eligibility_description``, HSDS 1.x's
    ``eligibility`` (column or eligibility.csv), ORUK v1's ``eligibilitys``."""
    parts: list[str] = []
    for key in ("eligibility_description", "eligibility"):
        if isinstance(raw.get(key), str) and raw[key].strip():
            parts.append(raw[key].strip())
    for key in ("eligibilitys", "eligibilities", "eligibility"):
        items = raw.get(key)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                for field_name in ("eligibility", "description", "eligibility_description"):
                    if isinstance(item.get(field_name), str) and item[field_name].strip():
                        parts.append(item[field_name].strip())
    return "; ".join(dict.fromkeys(parts))[:2000]


def _text_ages(
    raw: dict,
    service_id: str,
    number: int,
    counted: _Counted,
    to_fill: list[dict[str, str]],
) -> tuple[str, str]:
    said = eligibility_text(raw)
    if not said:
        return "", ""
    found = oruk_ages.from_text(said)
    if found.minimum is None and found.maximum is None:
        if found.speaks_of_ages:
            counted.add(
                "ages: text not read",
                "eligibility text that speaks of ages but gives none nestmap can read, ages "
                "left blank (listed in TO_FILL_IN.csv)",
                service_id,
            )
            to_fill.append(
                _fill("services.csv", str(number), "min_age_months, max_age_months", service_id,
                      _HINTS["age_text"], said[:500])
            )  # fmt: skip
        return "", ""
    low = "" if found.minimum is None else str(oruk_ages.clamp(found.minimum))
    high = "" if found.maximum is None else str(oruk_ages.clamp(found.maximum))
    counted.add(
        "ages: from eligibility text",
        "ages read from the eligibility text (ranges, 'under N', 'N and under', 'N or over'; "
        "check them)",
        f"{service_id} {'; '.join(found.found)[:60]!r} -> {low or 'open'}-{high or 'open'} months",
    )
    return low, high


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
    counted = _Counted()
    for number, service in enumerate(services, start=2):
        raw, service_id = service.raw, service.id
        more = extra.get(service_id, {})
        companion_areas = (more.get("areas") or "").strip()
        if companion_areas:
            codes = [c.strip() for c in companion_areas.split("|") if c.strip()]
            unmatched: list[str] = []
        else:
            codes, unmatched = _service_areas(raw, areas, counted, service_id)
        status = text(raw.get("status")).lower()
        if status and status not in _STATUS:
            counted.add(
                "status not HSDS",
                "statuses that are not HSDS statuses, left blank (active)",
                f"{service_id} {status!r}",
            )
        needs_referral = raw.get("needs_referral")
        self_referral = (
            ("false" if needs_referral else "true") if isinstance(needs_referral, bool) else ""
        )
        given = [(more.get(k) or "").strip() for k in ("min_age_months", "max_age_months")]
        low, high = given if any(given) else _ages(raw, service_id, number, counted, to_fill)
        row = {
            "id": service_id,
            "name": service.name,
            "provider": service.provider,
            "status": _STATUS.get(status, ""),
            "areas": "|".join(areas.resolve(codes)),
            "min_age_months": low,
            "max_age_months": high,
            "source": f"Open Referral service {service_id}",
            **{k: (more.get(k) or "").strip() for k in _FROM_COMPANION},
        }
        if not row["self_referral"]:
            row["self_referral"] = self_referral
        tables["services"].append(row)
        eligibility = eligibility_text(raw)[:500]
        said = {
            "areas": "; ".join(unmatched)[:500],
            "stages": eligibility,
            "threshold": eligibility,
            "self_referral": text(raw.get("application_process"))[:500],
        }
        for column in ("areas", *_REQUIRED_SERVICE):
            if not row[column] or (column == "areas" and unmatched):
                hint = _area_hint(unmatched, areas) if column == "areas" else _HINTS[column]
                to_fill.append(
                    _fill("services.csv", str(number), column, service_id, hint,
                          said.get(column, ""))
                )  # fmt: skip
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
        if unmatched:
            counted.add(
                "areas: names not matched",
                "service areas whose names match no local authority, health board or ICB "
                "(listed in TO_FILL_IN.csv with the nearest names)",
                f"{service_id} {'; '.join(unmatched)[:60]!r}",
            )
    _area_rows(areas, tables, to_fill, warnings)
    warnings += counted.lines()
    _write(out, tables, to_fill, warnings, previous)
    return ImportResult(
        len(services), shape, to_fill, warnings, counted.counts(), areas.matched_by_name
    )


def _area_hint(unmatched: list[str], areas: _Areas) -> str:
    if not unmatched:
        return _HINTS["areas"]
    parts = []
    for name in unmatched[:5]:
        match = areas.names.get(name)
        candidates = match.candidates if match is not None else []
        nearest = ", ".join(f"{n} ({c})" for c, n in candidates) or "none close"
        kind = (
            "matches more than one area"
            if match is not None and match.ambiguous
            else ("matches no local authority, health board or ICB")
        )
        parts.append(f"{name[:60]!r} {kind}; nearest: {nearest}")
    return "; ".join(parts) + ": list the area codes it covers"


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
        to_fill.append(_fill("areas.csv", "", "code", code, _HINTS["unknown"], code))
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
    "areas": "no ONS code or area name nestmap knows in the service areas: list the area codes "
    "it covers",
    "sector": "nhs, local_authority, voluntary, private or other",
    "stages": "antenatal, postnatal or antenatal|postnatal",
    "threshold": "open, pre_statutory or statutory",
    "self_referral": "true or false: can families refer themselves?",
    "assesses_relationship": "true or false: does its assessment ask about the relationship?",
    "offers": "at least one offer: level (universal/targeted/statutory/specialist) and focus",
    "under2": "children aged 0-1 (ONS mid-year estimates), for the need analysis",
    "unknown": "not a current English or Welsh LA, health board or ICB code: use one that is",
    "age": "the child's age in months (0-216), or blank for no bound",
    "age_text": "the eligibility text may limit ages: the child's ages it covers, in months "
    "(0-216), or blank for no bound",
}
FILL_COLUMNS = ["file", "row", "column", "id", "what", "original"]


def _fill(
    file: str, row: str, column: str, item: str, what: str, original: str = ""
) -> dict[str, str]:
    """One thing to fill in; ``original`` is what the directory said, where it said anything."""
    return dict(zip(FILL_COLUMNS, (file, row, column, item, what, original), strict=True))


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
