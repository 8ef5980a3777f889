"""Check every rule of docs/data-format.md and build the validated Dataset.

All violations are collected (never the first only) and raised together as one InputError,
each located by file, row, column and value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from nestmap import vocabulary as v
from nestmap.errors import InputError, Problem, ProblemList, TooManyProblems
from nestmap.loaders import columnar
from nestmap.loaders.dataset import Area, Dataset, Offer, Referral, Service, StaffPost
from nestmap.loaders.limits import MAX_COUNT, MAX_PROBLEMS_COUNTED
from nestmap.loaders.read import METADATA, RawDataset, RawTable
from nestmap.memory import gc_paused

_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


class Invalid(ValueError):
    """A cell's value breaks its column's rule; the message is the reason."""


Parser = Callable[[str], object]


@dataclass(frozen=True)
class Column:
    parse: Parser
    required: bool  # a blank cell is a violation
    # The header may leave the column out (every cell is then blank): columns added to the
    # format later, so that a dataset written before them still loads as it did.
    optional_column: bool = False


def _text(value: str) -> str:
    return value


def _enum(values: tuple[str, ...]) -> Parser:
    def parse(value: str) -> str:
        if value not in values:
            raise Invalid(f"must be one of {', '.join(values)}")
        return value

    parse.arrow = ("enum", values)  # type: ignore[attr-defined] # (nestmap.loaders.columnar)
    return parse


def _integer(low: int, high: int = MAX_COUNT) -> Parser:
    """A whole number in [low, high]. Columns without a bound of their own are held to
    MAX_COUNT, far inside the engine's 64-bit integers, so sums over every row stay exact."""

    def parse(value: str) -> int:
        # Digits only (after a sign): int() would also take "1_000" and, past 4,300 digits,
        # spend its time refusing; a number longer than the bound's digits is out of range.
        digits = value[1:] if value[:1] in ("-", "+") else value
        if not digits.isascii() or not digits.isdigit():
            raise Invalid("must be a whole number")
        number = int(value) if len(digits) <= len(str(high)) else high + 1
        if low <= number <= high:
            return number
        if high != MAX_COUNT:
            raise Invalid(f"must be between {low} and {high}")
        if number < low:
            raise Invalid(f"must be at least {low}")
        raise Invalid(f"must be at most {MAX_COUNT:,} (a larger number cannot be counted exactly)")

    parse.arrow = ("integer", low, high)  # type: ignore[attr-defined]
    return parse


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise Invalid("must be true or false (also yes/no, 1/0)")


# An FTE is one post's share of a full-time week: bounded so that sums stay finite numbers.
MAX_FTE = 1_000


def _positive_number(value: str) -> float:
    if len(value) > 40:
        raise Invalid("must be a number")
    try:
        number = float(value)
    except ValueError:
        raise Invalid("must be a number") from None
    if not math.isfinite(number) or number <= 0 or number > MAX_FTE:
        raise Invalid(f"must be a number greater than 0 and at most {MAX_FTE:,}")
    return number


def _list_of(item: Parser) -> Parser:
    """A |-separated list of ``item``s. Never empty: a blank cell is null before any parser
    runs (a required list column reports "a value is required")."""

    def parse(value: str) -> tuple:
        items = [part.strip() for part in value.split("|")]
        if any(part == "" for part in items):
            raise Invalid("has an empty item in its |-separated list")
        if len(set(items)) != len(items):
            raise Invalid("lists the same item twice")
        return tuple(item(part) for part in items)

    return parse


def _enum_list(values: tuple[str, ...]) -> Parser:
    def parse_item(value: str) -> str:
        if value not in values:
            raise Invalid(f"has {value!r}; items must be {', '.join(values)}")
        return value

    return _list_of(parse_item)


AREAS = {
    "code": Column(_text, True),
    "name": Column(_text, True),
    "kind": Column(_enum(v.AREA_KINDS), True),
    "parent_code": Column(_text, False),
    "under2_population": Column(_integer(0), False),
    "births_per_year": Column(_integer(0), False),
    # Where the area's figures come from (a census table, "inferred: ...", "illustrative: ...").
    "source": Column(_text, False, optional_column=True),
}
SERVICES = {
    "id": Column(_text, True),
    "name": Column(_text, True),
    "provider": Column(_text, False),
    "sector": Column(_enum(v.SECTORS), True),
    "status": Column(_enum(v.STATUSES), False),
    "areas": Column(_list_of(_text), True),
    "stages": Column(_enum_list(v.STAGES), True),
    "min_age_months": Column(_integer(0, v.MAX_AGE_MONTHS), False),
    "max_age_months": Column(_integer(0, v.MAX_AGE_MONTHS), False),
    "threshold": Column(_enum(v.THRESHOLDS), True),
    "self_referral": Column(_boolean, True),
    "capacity_per_year": Column(_integer(0), False),
    "assesses_relationship": Column(_boolean, True),
    "supports_fathers": Column(_boolean, False),
    "source": Column(_text, True),
}
OFFERS = {
    "service_id": Column(_text, True),
    "level": Column(_enum(v.LEVELS), True),
    "focus": Column(_enum(v.FOCUSES), True),
    "interventions": Column(_list_of(_text), False),
}
REFERRALS = {
    "from_service": Column(_text, True),
    "to_service": Column(_text, True),
    "reason": Column(_enum(v.REASONS), True),
    "count": Column(_integer(0), False),
    "count_basis": Column(_enum(v.COUNT_BASES), False, optional_column=True),
    "source": Column(_text, True),
}
WORKFORCE = {
    "service_id": Column(_text, True),
    "role": Column(_text, True),
    "fte": Column(_positive_number, True),
    "aimh_level": Column(_integer(0, 3), True),
}
# The tables checked column by column when they can be (nestmap.loaders.columnar): the large one.
COLUMNAR = frozenset({"referrals"})
SCHEMAS: dict[str, dict[str, Column]] = {
    "areas": AREAS,
    "services": SERVICES,
    "offers": OFFERS,
    "referrals": REFERRALS,
    "workforce": WORKFORCE,
}
# The optional dataset.csv: one row per field of the dataset's description.
DATASET = {
    "field": Column(_enum(v.DATASET_FIELDS), True),
    "value": Column(_text, True),
}


@dataclass(slots=True)
class Row:
    """A parsed row: its values by column, and where it came from."""

    label: str
    number: int
    values: dict[str, object]

    def problem(self, column: str | None, reason: str) -> Problem:
        value = self.values.get(column) if column else None
        shown = _show(value)
        return Problem(self.label, self.number, column, shown, reason)


def _show(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return "|".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_table(
    table: RawTable,
    schema: dict[str, Column],
    problems: list[Problem],
    declared: set[str] | None = None,
    declared_column: str = "id",
) -> list[Row] | None:
    """Check the header and every cell's own rule; return rows whose cells all parsed, or None
    when the header is unusable (a required column is missing).

    ``declared`` (when given) collects ``declared_column`` of every row, valid or not (rows are
    read once), so that a problem following from another row's own problem is not reported
    again: a link to a service whose row is broken is not also a link to an unknown service,
    and a service whose offers rows are all broken does not also lack offers."""
    header = table.header
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(table.label, 1, name, name, "column appears twice"))
        seen.add(name)
        if name not in schema:
            problems.append(
                Problem(
                    table.label,
                    1,
                    name,
                    name,
                    "unknown column (expected only " + ", ".join(schema) + ")",
                )
            )
    missing = [name for name, c in schema.items() if name not in seen and not c.optional_column]
    for name in missing:
        problems.append(Problem(table.label, 1, name, None, "required column is missing"))
    if missing:
        return None
    # The loop below runs once per row (a million for a national dataset): each column's rule
    # is looked up once here, and plain-text columns skip the call to their parser. A column
    # the header leaves out reads past the row's end: blank in every row.
    width, label = len(header), table.label
    columns = [
        (
            name,
            header.index(name) if name in seen else width,
            None if column.parse is _text else column.parse,
            column.required,
        )
        for name, column in schema.items()
    ]
    id_position = header.index(declared_column) if declared_column in header else width
    rows: list[Row] = []
    for number, cells in table.rows:
        count = len(cells)
        if count > width:
            extra = [cell for cell in cells[width:] if cell.strip()]
            if extra:  # (a row with any non-blank cell is not a blank row)
                problems.append(
                    Problem(
                        label,
                        number,
                        None,
                        extra[0],
                        f"row has {count} cells but the header has {width} columns",
                    )
                )
                continue
        if not "".join(cells).strip():
            continue  # blank lines and empty spreadsheet rows carry nothing
        if declared is not None and id_position < count:
            declared.add(cells[id_position].strip())
        values: dict[str, object] = {}
        ok = True
        for name, position, parse, required in columns:
            raw = cells[position].strip() if position < count else ""
            if not raw.isprintable() and (bad := _CONTROL.search(raw)):
                # Refused, not stripped: XML exports and XLSX cells cannot hold them, and a
                # silent change to a name or id would hide where the data came from.
                problems.append(
                    Problem(label, number, name, raw.encode("unicode_escape").decode("ascii"),
                            f"contains a control character (U+{ord(bad.group()):04X}); "
                            "remove it")
                )  # fmt: skip
                ok = False
                continue
            if not raw:
                values[name] = None
                if required:
                    problems.append(Problem(label, number, name, None, "a value is required"))
                    ok = False
            elif parse is None:
                values[name] = raw
            else:
                try:
                    values[name] = parse(raw)
                except Invalid as exc:
                    problems.append(Problem(label, number, name, raw, str(exc)))
                    ok = False
        if ok:
            rows.append(Row(label, number, values))
    problems.extend(table.errors)  # what reading the rows found (known once they are read)
    return rows


# Characters XML 1.0 and spreadsheet cells cannot hold: C0 controls other than tab, line feed
# and carriage return, and the non-characters U+FFFE/U+FFFF.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@gc_paused()
def validate(raw: RawDataset) -> Dataset:
    """Apply every rule; return the Dataset or raise InputError listing every violation.

    A table that is missing or has an unusable header is reported once; checks that refer to
    it (e.g. offers naming services) are skipped rather than repeated for every row.
    """
    checker = _Checker()
    try:
        return _validate(raw, checker)
    except TooManyProblems:
        raise InputError(checker.problems, counting_stopped=True) from None


def _validate(raw: RawDataset, checker: _Checker) -> Dataset:
    checker.problems.extend(raw.problems)
    # Keys of every row, parsed or not: services' ids, and the services offers rows name.
    declared = {"services": ("id", checker.declared_ids), "offers": ("service_id", set())}
    parsed: dict[str, Any] = {
        table: (table in COLUMNAR and columnar.parse_table(raw.tables[table], SCHEMAS[table]))
        or parse_table(
            raw.tables[table],
            SCHEMAS[table],
            checker.problems,
            declared[table][1] if table in declared else None,
            declared[table][0] if table in declared else "id",
        )
        if table in raw.tables
        else None
        for table in SCHEMAS
    }
    if "workforce" not in raw.tables:
        parsed["workforce"] = []  # optional: absent is fine
    described = (
        parse_table(raw.tables[METADATA], DATASET, checker.problems)
        if METADATA in raw.tables
        else []
    )
    services_table = raw.tables.get("services")
    if services_table is not None and parsed["services"] == []:
        if not any(p.file == services_table.label for p in checker.problems):
            # The blank template (or an emptied sheet) would replace the graph with nothing.
            checker.problems.append(
                Problem(services_table.label, None, None, None, "no services: the dataset is empty")
            )
    areas = checker.areas(parsed["areas"] or [])
    checker.areas_known = parsed["areas"] is not None
    services = checker.services(parsed["services"] or [], areas)
    checker.services_known = parsed["services"] is not None
    offers = checker.offers(parsed["offers"] or [], services)
    referrals = checker.referrals(parsed["referrals"] or [], services)
    workforce = checker.workforce(parsed["workforce"] or [], services)
    about = checker.about(described or [])
    if parsed["offers"] is not None:
        # A service whose offers rows all failed their own checks has rows in offers: those
        # problems are reported, "no row in offers" would only repeat them.
        with_rows = declared["offers"][1]
        checker.every_service_offers(parsed["services"] or [], services, offers, with_rows)
    if checker.problems:
        raise InputError(checker.problems)
    return Dataset(
        name=raw.name,
        areas=list(areas.values()),
        services=list(services.values()),
        offers=offers,
        referrals=referrals,
        workforce=workforce,
        file_hashes=raw.file_hashes,
        origin=raw.origin,
        about=about,
    )


def local_authorities_in(areas: dict[str, Area]) -> dict[str, set[str]]:
    """Map every area code to the local authorities it stands for (a region: all below it)."""
    children: dict[str, list[str]] = {}
    for area in areas.values():
        if area.parent_code:
            children.setdefault(area.parent_code, []).append(area.code)
    expanded: dict[str, set[str]] = {}
    for code, area in areas.items():
        if area.kind == "local_authority":
            expanded[code] = {code}
            continue
        found: set[str] = set()
        stack, seen = [code], {code}
        while stack:
            for child in children.get(stack.pop(), []):
                if child in seen:
                    continue
                seen.add(child)
                if areas[child].kind == "local_authority":
                    found.add(child)
                else:
                    stack.append(child)
        expanded[code] = found
    return expanded


class _Checker:
    """The cross-row rules; collects problems instead of stopping at the first."""

    def __init__(self) -> None:
        # Bounded: checking stops at MAX_PROBLEMS_COUNTED (see validate).
        self.problems: list[Problem] = ProblemList(MAX_PROBLEMS_COUNTED)
        # Every id declared in services, valid or not: a link to a service whose own row is
        # broken is not also reported as a link to an unknown service.
        self.declared_ids: set[str] = set()
        # False when that table could not be read: references into it are not checked.
        self.areas_known = True
        self.services_known = True

    def _duplicate(self, row: Row, column: str, first: int, what: str = "duplicate") -> None:
        self.problems.append(row.problem(column, f"{what} of row {first}"))

    def _known(self, row: Row, column: str, services: dict[str, Service]) -> bool:
        service_id = str(row.values[column])
        if service_id in services:
            return True
        if self.services_known and service_id not in self.declared_ids:
            self.problems.append(row.problem(column, "no service has this id in services"))
        return False

    def areas(self, rows: list[Row]) -> dict[str, Area]:
        areas: dict[str, Area] = {}
        first_row: dict[str, Row] = {}
        for row in rows:
            code = str(row.values["code"])
            if code in first_row:
                self._duplicate(row, "code", first_row[code].number)
                continue
            first_row[code] = row
            areas[code] = Area(
                code=code,
                name=str(row.values["name"]),
                kind=str(row.values["kind"]),
                parent_code=row.values["parent_code"],  # type: ignore[arg-type]
                under2_population=row.values["under2_population"],  # type: ignore[arg-type]
                births_per_year=row.values["births_per_year"],  # type: ignore[arg-type]
                source=row.values["source"],  # type: ignore[arg-type]
            )
        for code, area in areas.items():
            parent, row = area.parent_code, first_row[code]
            if parent is None:
                continue
            if parent == code:
                self.problems.append(row.problem("parent_code", "an area cannot be its own parent"))
            elif parent not in areas:
                self.problems.append(row.problem("parent_code", "no area has this code in areas"))
            elif areas[parent].kind != "region":
                self.problems.append(
                    row.problem("parent_code", "the parent must be an area of kind region")
                )
            elif self._in_cycle(code, areas):
                self.problems.append(row.problem("parent_code", "the parent chain is a cycle"))
        return areas

    @staticmethod
    def _in_cycle(code: str, areas: dict[str, Area]) -> bool:
        seen: set[str] = set()
        current: str | None = code
        while current in areas and current not in seen:
            seen.add(current)
            current = areas[current].parent_code
        return current == code

    def services(self, rows: list[Row], areas: dict[str, Area]) -> dict[str, Service]:
        expanded = local_authorities_in(areas)
        services: dict[str, Service] = {}
        first_row: dict[str, int] = {}
        for row in rows:
            values = row.values
            service_id = str(values["id"])
            if service_id in first_row:
                self._duplicate(row, "id", first_row[service_id])
                continue
            first_row[service_id] = row.number
            covers = self._covers(row, areas, expanded)
            low, high = values["min_age_months"], values["max_age_months"]
            ages_ok = low is None or high is None or low <= high  # type: ignore[operator]
            if not ages_ok:
                self.problems.append(
                    row.problem("min_age_months", f"greater than max_age_months ({high})")
                )
            if covers is None or not ages_ok:
                continue
            services[service_id] = Service(
                id=service_id,
                name=str(values["name"]),
                provider=values["provider"],  # type: ignore[arg-type]
                sector=str(values["sector"]),
                status=str(values["status"] or "active"),
                areas=values["areas"],  # type: ignore[arg-type]
                stages=values["stages"],  # type: ignore[arg-type]
                min_age_months=low,  # type: ignore[arg-type]
                max_age_months=high,  # type: ignore[arg-type]
                threshold=str(values["threshold"]),
                self_referral=bool(values["self_referral"]),
                capacity_per_year=values["capacity_per_year"],  # type: ignore[arg-type]
                assesses_relationship=bool(values["assesses_relationship"]),
                supports_fathers=values["supports_fathers"],  # type: ignore[arg-type]
                source=str(values["source"]),
                covers=tuple(sorted(covers)),
            )
        self.declared_ids |= set(first_row)
        return services

    def _covers(
        self, row: Row, areas: dict[str, Area], expanded: dict[str, set[str]]
    ) -> set[str] | None:
        covers: set[str] = set()
        ok = True
        if not self.areas_known:
            return None
        for code in row.values["areas"]:  # type: ignore[attr-defined]
            if code not in areas:
                reason = "no area has this code in areas"
            elif not expanded[code]:
                reason = "this region has no local authorities in areas"
            else:
                covers |= expanded[code]
                continue
            self.problems.append(Problem(row.label, row.number, "areas", code, reason))
            ok = False
        return covers if ok else None

    def offers(self, rows: list[Row], services: dict[str, Service]) -> list[Offer]:
        offers: list[Offer] = []
        first_row: dict[tuple[str, str], int] = {}
        for row in rows:
            values = row.values
            if not self._known(row, "service_id", services):
                continue
            key = (str(values["service_id"]), str(values["level"]))
            if key in first_row:
                self._duplicate(row, "level", first_row[key], "second offer at this level; see")
                continue
            first_row[key] = row.number
            offers.append(
                Offer(
                    service_id=key[0],
                    level=key[1],
                    focus=str(values["focus"]),
                    interventions=values["interventions"] or (),  # type: ignore[arg-type]
                )
            )
        return offers

    def referrals(
        self, rows: list[Row] | columnar.ColumnarRows, services: dict[str, Service]
    ) -> Sequence[Referral]:
        if isinstance(rows, columnar.ColumnarRows):
            checked = columnar.referrals(rows, services)
            if checked is not None:
                return checked
            rows = rows.as_rows()  # some link breaks a rule: each is reported, row by row
        referrals: list[Referral] = []
        first_row: dict[tuple[str, str, str], int] = {}
        for row in rows:
            values = row.values
            source, target = values["from_service"], values["to_service"]
            # Both ends known is the usual case; _known reports the others.
            if source not in services or target not in services:
                known_from = self._known(row, "from_service", services)
                known_to = self._known(row, "to_service", services)
                if not (known_from and known_to):
                    continue
            if source == target:
                self.problems.append(row.problem("to_service", "a service cannot refer to itself"))
                continue
            key = (str(source), str(target), str(values["reason"]))
            if key in first_row:
                self._duplicate(row, "reason", first_row[key], "same link and reason as")
                continue
            first_row[key] = row.number
            referrals.append(
                Referral(
                    from_service=key[0],
                    to_service=key[1],
                    reason=key[2],
                    count=values["count"],  # type: ignore[arg-type]
                    count_basis=str(values["count_basis"] or v.DEFAULT_COUNT_BASIS),
                    source=str(values["source"]),
                )
            )
        return referrals

    def workforce(self, rows: list[Row], services: dict[str, Service]) -> list[StaffPost]:
        return [
            StaffPost(
                service_id=str(row.values["service_id"]),
                role=str(row.values["role"]),
                fte=float(row.values["fte"]),  # type: ignore[arg-type]
                aimh_level=int(row.values["aimh_level"]),  # type: ignore[call-overload]
            )
            for row in rows
            if self._known(row, "service_id", services)
        ]

    def about(self, rows: list[Row]) -> dict[str, str]:
        """dataset.csv's fields, each at most once, in the order docs/data-format.md lists."""
        found: dict[str, str] = {}
        first_row: dict[str, int] = {}
        for row in rows:
            name = str(row.values["field"])
            if name in first_row:
                self._duplicate(row, "field", first_row[name])
                continue
            first_row[name] = row.number
            found[name] = str(row.values["value"])
        return {name: found[name] for name in v.DATASET_FIELDS if name in found}

    def every_service_offers(
        self,
        rows: list[Row],
        services: dict[str, Service],
        offers: list[Offer],
        with_rows: AbstractSet[str] = frozenset(),
    ) -> None:
        offering = {offer.service_id for offer in offers} | with_rows
        for row in rows:
            service_id = str(row.values["id"])
            if service_id in services and service_id not in offering:
                self.problems.append(row.problem("id", "the service has no row in offers"))
