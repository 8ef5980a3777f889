"""The mapping report (``nestmap report``): every figure it states is the analyses' own, on the
seed region and on a synthetic region; a one-LA report holds only that LA; names are escaped;
the PDF is A4 with page numbers and a contents page.

The expected figures are worked out here from the analyses' rows, independently of
``nestmap.report``; the report marks each figure it states with ``data-figure``.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA, load_into

from nestmap import analysis
from nestmap.cli import app, seed_path
from nestmap.report import build_report, report_html
from nestmap.report.parts import MARK
from nestmap.scenarios import bundled_scenarios, read_scenario
from nestmap.synth import generate
from nestmap.vocabulary import AIMH_LEVELS, NEED_LEVELS

SEED_LAS = {
    "W06000013": "Bridgend",
    "W06000016": "Rhondda Cynon Taf",
    "W06000024": "Merthyr Tydfil",
}


# -- a small DOM ---------------------------------------------------------------------------
class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self, skip=lambda node: False) -> str:
        return "".join(
            child if isinstance(child, str) else ("" if skip(child) else child.text(skip))
            for child in self.children
        )

    def walk(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class _Builder(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in self.VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None, f"unmatched </{tag}>"
        self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(page: str) -> Node:
    builder = _Builder()
    builder.feed(page)
    builder.close()
    assert builder.current is builder.root, "unclosed elements"
    return builder.root


def figures(root: Node) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for node in root.walk():
        key = node.attrs.get("data-figure")
        if key:
            found.setdefault(key, []).append(node.text().strip())
    return found


# -- what the figures must be ----------------------------------------------------------------
# Worked out here from the analyses' rows and the dataset's own files, independently of
# nestmap.report: each figure's value, and whether it rests on a value the data marks
# illustrative or inferred (the report's mark). The rules, as docs/report.md states them: a
# service or referral link whose source starts "illustrative" (a link from or to such a service
# too), staff rows in a service whose source says "illustrative: workforce row" (or an
# illustrative service), under-2 populations dataset.csv marks illustrative or inferred.
ILLUSTRATIVE = "illustrative"


def _one_place(values) -> Decimal:
    return sum((Decimal(str(v)) for v in values if v is not None), Decimal(0))


class Sources:
    """What the dataset's files mark illustrative or inferred."""

    def __init__(self, folder: Path):
        starts = lambda text: text.strip().lower().startswith(ILLUSTRATIVE)  # noqa: E731
        services = _csv(folder / "services.csv")
        self.services = {s["id"] for s in services if starts(s["source"])}
        self.staff = self.services | {
            s["id"] for s in services if "illustrative: workforce row" in s["source"].lower()
        }
        links = _csv(folder / "referrals.csv")
        key = lambda r: (r["from_service"], r["to_service"], r["reason"])  # noqa: E731
        self.whole = {key(r) for r in links if starts(r["source"])}
        # A count that is an assumed share of its source's total: the links to the same
        # service, for the same reason, in the same unit share that total.
        self.split = {
            key(r): (r["to_service"], r["reason"], r.get("count_basis") or "per_year")
            for r in links
            if "illustrative split" in r["source"].lower() and not starts(r["source"])
        }
        self.shares = Counter(self.split.values())
        self.pair_sources: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for r in links:
            self.pair_sources.setdefault(key(r)[:2], []).append(key(r))
        self.population = {
            a["code"]
            for a in _csv(folder / "areas.csv")
            if a.get("source", "").strip().lower().startswith(("illustrative", "inferred"))
        }
        self.staff_rows = (
            _csv(folder / "workforce.csv") if (folder / "workforce.csv").exists() else []
        )

    def link(self, row) -> bool:
        return (row["from_service"], row["to_service"], row["reason"]) in self.whole

    def counted(self, rows) -> bool:
        """A sum of counts rests on an illustrative value: an illustrative link, or some but
        not all of the links sharing a split total (blank counts add nothing)."""
        held: Counter = Counter()
        for r in rows:
            if r["count"] is None:
                continue
            key = (r["from_service"], r["to_service"], r["reason"])
            if key in self.whole:
                return True
            if key in self.split:
                held[self.split[key]] += 1
        return any(n < self.shares[group] for group, n in held.items())

    def any(self, ids) -> bool:
        return any(i in self.services for i in ids)

    def people(self, codes) -> bool:
        return any(code in self.population for code in codes)

    def chain(self, row) -> bool:
        chain = row.get("chain") or []
        if self.any(chain):
            return True
        for a, b in zip(chain, chain[1:], strict=False):
            keys = self.pair_sources.get((a, b), [])
            if keys and all(
                self.link({"from_service": f, "to_service": t, "reason": r}) for f, t, r in keys
            ):
                return True
        return False


def _relationship_links(folder: Path, services: list[dict], area) -> list[dict]:
    """Parent-infant relationship links from active services (covering ``area``), as in the
    files (blank count: None)."""
    active = {s["id"]: s for s in services if s["status"] == "active"}
    every = {row["id"]: row for row in _csv(folder / "services.csv")}
    found = []
    for r in _csv(folder / "referrals.csv"):
        source = active.get(r["from_service"])
        if r["reason"] != "parent_infant_relationship" or source is None:
            continue
        if area is not None and area not in source["covers"]:
            continue
        assert r["to_service"] in every
        found.append(
            {**r, "count": int(r["count"]) if r["count"] else None,
             "count_basis": r.get("count_basis") or "per_year"}
        )  # fmt: skip
    return found


def expected_figures(store, area, documents=(), dataset: Path | None = None) -> dict[str, tuple]:
    """Every figure the report may state: key -> (exact value, marked)."""
    assert dataset is not None
    marks = Sources(dataset)
    want: dict[str, tuple] = {}
    services = analysis.services(store, area)
    active = [s for s in services if s["status"] == "active"]
    las = sorted(analysis.local_authority_codes(store)) if area is None else [area]
    areas = {row["code"]: row for row in _csv(dataset / "areas.csv")}

    # The cover and "About this data": counts of the data's own records, never marked.
    in_scope = {s["id"] for s in services}
    links = [r for r in _csv(dataset / "referrals.csv") if r["from_service"] in in_scope]
    staffed = {s["id"] for s in active}  # the workforce analysis counts active services' staff
    staff = [r for r in marks.staff_rows if r["service_id"] in staffed]
    want.update(
        {
            "about.las": (len(las), False),
            "about.services": (len(services), False),
            "about.services_active": (len(active), False),
            "about.services_illustrative": (len(in_scope & marks.services), False),
            "about.links": (len(links), False),
            "about.links_illustrative": (
                sum(r["source"].strip().lower().startswith(ILLUSTRATIVE) for r in links),
                False,
            ),
            "about.staff_rows": (len(staff), False),
            "about.staff_rows_illustrative": (
                sum(r["service_id"] in marks.staff for r in staff),
                False,
            ),
            "about.fte": (_one_place(r["fte"] for r in staff), False),
            "about.fte_illustrative": (
                _one_place(r["fte"] for r in staff if r["service_id"] in marks.staff),
                False,
            ),
            "about.las_with_population": (
                sum(areas[code]["under2_population"] != "" for code in las),
                False,
            ),
            "about.las_population_inferred": (
                sum(
                    areas[code]["under2_population"] != ""
                    for code in las
                    if code in marks.population
                ),
                False,
            ),
            "about.links_split": (
                sum(
                    (r["from_service"], r["to_service"], r["reason"]) in marks.split for r in links
                ),
                False,
            ),
        }
    )

    gaps = analysis.gaps(store, area)
    cells = lambda rows: any(marks.any(r["specialised_services"]) for r in rows)  # noqa: E731
    gap_cells = sum(r["gap"] for r in gaps)
    want["gaps.cells"] = (len(gaps), False)
    want["gaps.gap_cells"] = (gap_cells, cells(gaps))
    if gaps:
        want["gaps.gap_share"] = (Fraction(gap_cells * 100, len(gaps)), cells(gaps))
    want["gaps.las"] = (len(las), False)
    for code in las:
        rows = [r for r in gaps if r["area_code"] == code]
        want[f"gaps.la.{code}.gap_cells"] = (sum(r["gap"] for r in rows), cells(rows))
        want[f"gaps.la.{code}.cells"] = (len(rows), False)
        for r in rows:
            want[f"gaps.specialised.{code}.{r['level']}.{r['stage']}"] = (
                len(r["specialised_services"]),
                cells([r]),
            )
    want["gaps.las_all_gaps"] = (
        sum(all(r["gap"] for r in gaps if r["area_code"] == code) for code in las),
        cells(gaps),
    )
    per_cell = Counter((r["level"], r["stage"]) for r in gaps if r["gap"])
    if per_cell:
        want["gaps.widest"] = (max(per_cell.values()), cells(gaps))
    for level in NEED_LEVELS:
        covered = [r for r in gaps if r["level"] == level and not r["gap"]]
        las_covered = len({r["area_code"] for r in covered})
        want[f"gaps.covered.{level}.las"] = (las_covered, cells(covered))
        want[f"sufficiency.{level}.las"] = (las_covered, cells(covered))
        specialised = [s["id"] for s in active if s["offers"].get(level) == "specialised"]
        want[f"sufficiency.{level}.services"] = (len(specialised), marks.any(specialised))

    _referral_figures(want, store, area, dataset, marks, services)

    bounds = analysis.boundaries(store, area)
    cliffs = bounds["threshold_cliffs"]
    cliffs_marked = any(marks.any([*r["below"], *r["above"]]) for r in cliffs)
    want["cliffs.cells"] = (len(cliffs), False)
    want["cliffs.cliff"] = (sum(r["status"] == "cliff" for r in cliffs), cliffs_marked)
    want["cliffs.none"] = (sum(r["status"] == "none" for r in cliffs), cliffs_marked)
    for kind in {k for link in bounds["links"] for k in link["kinds"]}:
        with_kind = [link for link in bounds["links"] if kind in link["kinds"]]
        want[f"boundaries.kind.{kind}"] = (len(with_kind), any(marks.link(r) for r in with_kind))

    pathways = analysis.pathways(store, area, chains=True)
    entries_marked = marks.any(r["entry_service"] for r in pathways)
    want["pathways.entries"] = (len(pathways), entries_marked)
    want["pathways.dead_ends"] = (
        sum(r["destination"] is None for r in pathways),
        entries_marked or any(marks.chain(r) for r in pathways),
    )
    for i, r in enumerate(pathways):
        if r["hops"] is not None:
            want[f"pathways.{i}.hops"] = (r["hops"], marks.chain(r))

    assessment = analysis.assessment(store, area)
    entry, coverage = assessment["entry_points"], assessment["coverage"]
    entry_marked = marks.any(r["service_id"] for r in entry)
    want["assessment.entry_points"] = (len(entry), entry_marked)
    want["assessment.assessing"] = (sum(r["assesses_relationship"] for r in entry), entry_marked)
    want["assessment.cells"] = (len(coverage), False)
    want["assessment.gap_cells"] = (
        sum(r["gap"] for r in coverage),
        marks.any(s for r in coverage for s in r["assessing_services"]),
    )
    for i, r in enumerate(coverage):
        serving = [
            s["id"] for s in active if r["area_code"] in s["covers"] and r["stage"] in s["stages"]
        ]
        assert len(serving) == r["services"]
        want[f"assessment.{i}.services"] = (r["services"], marks.any(serving))

    workforce = analysis.workforce(store, area)["services"]

    def staffed(levels):
        rows = [r for r in workforce if any(r[f"fte_level_{n}"] for n in levels)]
        fte = _one_place(r[f"fte_level_{n}"] for r in rows for n in levels)
        return fte, len(rows), any(r["service_id"] in marks.staff for r in rows)

    fte, held, marked = staffed((2, 3))
    want["workforce.fte_2_3"] = (fte, marked)
    want["workforce.services_2_3"] = (held, marked)
    fte, held, marked = staffed(AIMH_LEVELS)
    want["workforce.fte"] = (fte, marked)
    for level in AIMH_LEVELS:
        fte, held, marked = staffed((level,))
        want[f"workforce.level.{level}.fte"] = (fte, marked)
        want[f"workforce.level.{level}.services"] = (held, marked)
    for r in workforce:
        marked = r["service_id"] in marks.staff
        want[f"workforce.service.{r['service_id']}.fte_2_3"] = (
            _one_place([r["fte_level_2"], r["fte_level_3"]]),
            marked,
        )
        want[f"workforce.service.{r['service_id']}.fte"] = (
            _one_place(r[f"fte_level_{n}"] for n in AIMH_LEVELS),
            marked,
        )

    groups = analysis.groups_left_out(store, area)
    supporting = {s for r in groups for s in r["supporting_fathers"]}
    unknown = {s for r in groups for s in r["not_recorded"]}
    want["groups.las"] = (len(groups), False)
    want["groups.las_without"] = (
        sum(not r["supporting_fathers"] for r in groups),
        marks.any(supporting),
    )
    want["groups.services_supporting"] = (len(supporting), marks.any(supporting))
    want["groups.services_not_recorded"] = (len(unknown), marks.any(unknown))
    for r in groups:
        serving = [s["id"] for s in active if r["area_code"] in s["covers"]]
        want[f"groups.{r['area_code']}.not_recorded"] = (
            len(r["not_recorded"]),
            marks.any(r["not_recorded"]),
        )
        want[f"groups.{r['area_code']}.services"] = (r["services"], marks.any(serving))

    need_marks = NeedMarks(marks, services, dataset)
    _need_figures(want, store, area, need_marks)

    bands = analysis.age_bands(store, area)
    want["age_bands.cells"] = (len(bands), False)
    want["age_bands.gap_cells"] = (sum(r["gap"] for r in bands), cells(bands))
    for band in {r["band"] for r in bands}:
        rows = [r for r in bands if r["band"] == band]
        want[f"age_bands.band.{band}.gap_cells"] = (sum(r["gap"] for r in rows), cells(rows))
        want[f"age_bands.band.{band}.cells"] = (len(rows), False)
    for r in bands:
        want[f"age_bands.{r['area_code']}.{r['level']}.{r['band']}"] = (
            len(r["specialised_services"]),
            cells([r]),
        )

    want["provenance.services_illustrative"] = (len(in_scope & marks.services), False)
    want["provenance.capacity_blank"] = (
        sum(s["specialised"] and s["capacity_per_year"] is None for s in active),
        False,
    )
    want["provenance.fathers_blank"] = (sum(s["supports_fathers"] is None for s in active), False)
    want["provenance.not_active"] = (len(services) - len(active), False)
    want["provenance.las_blank_population"] = (
        sum(areas[code]["under2_population"] == "" for code in las),
        False,
    )
    want["provenance.links_illustrative"] = want["about.links_illustrative"]
    want["provenance.links_blank_count"] = (sum(r["count"] == "" for r in links), False)

    for i, document in enumerate(documents, start=1):
        _option_figures(want, store, area, i, document, need_marks)
    return want


def _referral_figures(want, store, area, dataset, marks, services) -> None:
    relationship = _relationship_links(dataset, services, area)
    concentration = analysis.concentration(store, area)
    misdirected = analysis.misdirected(store, area)
    basis = lambda row: row.get("count_basis") or "per_year"  # noqa: E731
    for unit in {basis(r) for r in concentration}:
        rows = [r for r in concentration if basis(r) == unit]
        total = sum(r["count"] for r in rows)
        recorded = [r for r in relationship if basis(r) == unit]
        total_marked = marks.counted(recorded)
        wrong = [
            r
            for r in misdirected
            if r["reason"] == "parent_infant_relationship" and basis(r) == unit
        ]
        volume = sum(r["count"] or 0 for r in wrong)
        key = f"misdirected.{unit}"
        want[f"{key}.relationship_total"] = (total, total_marked)
        want[f"{key}.relationship_volume"] = (volume, marks.counted(wrong))
        if total:
            want[f"{key}.relationship_share"] = (
                Fraction(volume * 100, total),
                marks.counted(wrong) or total_marked,
            )
        onward = [r for r in wrong if r["onward"]]
        dead = [r for r in wrong if not r["onward"]]
        want[f"{key}.onward_volume"] = (sum(r["count"] or 0 for r in onward), marks.counted(onward))
        want[f"{key}.dead_end_volume"] = (sum(r["count"] or 0 for r in dead), marks.counted(dead))
        if total:
            top = rows[:3]
            key = f"concentration.{unit}"
            want[f"{key}.top.1.share"] = (Fraction(top[0]["count"] * 100, total), total_marked)
            want[f"{key}.top_n"] = (len(top), False)
            want[f"{key}.top_share"] = (
                Fraction(sum(r["count"] for r in top) * 100, total),
                total_marked,
            )
            points = [r for r in rows if 3 * r["count"] >= total]
            want[f"{key}.single_points"] = (len(points), total_marked)
            want[f"{key}.single_points_unspecialised"] = (
                sum(not r["specialised"] for r in points),
                total_marked,
            )
    for i, r in enumerate(concentration):
        unit = basis(r)
        total = sum(x["count"] for x in concentration if basis(x) == unit)
        to_target = [
            x for x in relationship if x["to_service"] == r["to_service"] and basis(x) == unit
        ]
        marked = marks.counted(to_target)
        if any(x["count"] is not None for x in to_target):
            want[f"concentration.{i}.count"] = (r["count"], marked)
            if total:
                want[f"concentration.{i}.share"] = (
                    Fraction(r["count"] * 100, total),
                    marked or marks.counted([x for x in relationship if basis(x) == unit]),
                )
    want["misdirected.links"] = (len(misdirected), any(marks.link(r) for r in misdirected))
    blank = [r for r in misdirected if r["count"] is None]
    want["misdirected.links_not_recorded"] = (len(blank), any(marks.link(r) for r in blank))
    groups: dict[tuple, list] = {}
    for r in misdirected:
        groups.setdefault((r["to_service"], basis(r), tuple(r["problems"])), []).append(r)
    ordered = sorted(
        groups.items(),
        key=lambda item: (
            all(r["count"] is None for r in item[1]),
            -sum(r["count"] or 0 for r in item[1]),
            ("per_year", "survey_mentions").index(item[0][1]),
            item[0][0],
        ),
    )
    for i, (_key, rows) in enumerate(ordered):
        want[f"misdirected.group.{i}.links"] = (len(rows), any(marks.link(r) for r in rows))
        if any(r["count"] is not None for r in rows):
            want[f"misdirected.group.{i}.count"] = (
                sum(r["count"] or 0 for r in rows),
                marks.counted(rows),
            )
        onward = [r for r in rows if r["onward"]]
        want[f"misdirected.group.{i}.onward"] = (len(onward), any(marks.link(r) for r in onward))


class NeedMarks:
    """What a need figure for some LAs at one level rests on: demand on their populations;
    capacity on the services giving it, and on the populations where a service's families
    are shared with areas outside the figure's; shortfall on both."""

    def __init__(self, marks: Sources, services, dataset: Path):
        self.marks = marks
        self.active = [s for s in services if s["status"] == "active"]
        self.populated = {
            r["code"] for r in _csv(dataset / "areas.csv") if r["under2_population"] != ""
        }

    def _specialised(self, level):
        return [s for s in self.active if s["offers"].get(level) == "specialised"]

    def capacity(self, codes, level) -> bool:
        giving = [
            s
            for s in self._specialised(level)
            if s["capacity_per_year"] is not None and set(s["covers"]) & codes
        ]
        return self.marks.any(s["id"] for s in giving) or any(
            not (set(s["covers"]) & self.populated) <= codes
            and self.marks.people(set(s["covers"]) & self.populated)
            for s in giving
        )

    def shortfall(self, codes, level) -> bool:
        return self.marks.people(codes) or self.capacity(codes, level)

    def unrecorded(self, codes, level) -> list[str]:
        return [
            s["id"]
            for s in self._specialised(level)
            if s["capacity_per_year"] is None and set(s["covers"]) & codes
        ]


def _need_figures(want, store, area, marks: NeedMarks) -> None:
    """The need totals (the analysis's, summed exactly) and each LA's row, with their marks.
    A blank input is never a figure."""
    shares = analysis.parse_shares()
    need = analysis.need(store, area)
    totals = analysis.need_totals(store, area)
    codes = {r["area_code"] for r in need if r["demand"] is not None}
    for level in NEED_LEVELS:
        want[f"need.share.{level}"] = (Fraction(shares[level]) * 100, False)
        rows = [r for r in need if r["level"] == level and r["demand"] is not None]
        groups = [(f"need.{level}", totals[level], codes)] + [
            (f"need.{r['area_code']}.{level}", r, {r["area_code"]}) for r in rows
        ]
        for key, figures, held in groups:
            if figures["demand"] is None:
                continue
            blank = marks.unrecorded(held, level)
            assert figures["unrecorded"] == len(blank), (key, blank)
            want[f"{key}.demand"] = (figures["demand"], marks.marks.people(held))
            want[f"{key}.capacity"] = (figures["capacity"], marks.capacity(held, level))
            want[f"{key}.shortfall"] = (figures["shortfall"], marks.shortfall(held, level))
            want[f"{key}.unrecorded"] = (len(blank), marks.marks.any(blank))
    want["need.las_without_population"] = (sum(r["demand"] is None for r in need) // 3, False)


def _option_figures(want, store, area, i, document, marks: NeedMarks) -> None:
    from nestmap.scenarios import evaluate

    result = evaluate(store, document)
    before = {(r["area_code"], r["level"], r["stage"]): r["gap"] for r in result["gaps_before"]}
    after = {(r["area_code"], r["level"], r["stage"]): r["gap"] for r in result["gaps_after"]}
    cells = [key for key in before if area in (None, key[0])]
    added = document.get("add_services") or []
    sources = [document.get("source") or "", *(s.get("source") or "" for s in added)]
    marked = any(text.strip().lower().startswith(ILLUSTRATIVE) for text in sources)
    families = sum(int(s.get("capacity_per_year") or 0) for s in added)
    services_cost = sum(Decimal(str(s.get("annual_cost") or 0)) for s in added)
    other = sum(Decimal(str(c["amount"])) for c in document.get("costs") or [])
    want[f"option.{i}.families"] = (families, marked)
    want[f"option.{i}.services_cost"] = (services_cost, marked)
    want[f"option.{i}.total_cost"] = (services_cost + other, marked)
    # The report's basis: the added services' cost per family.
    want[f"option.{i}.cost_per_family"] = (Fraction(services_cost) / families, marked)
    for n, item in enumerate(document.get("costs") or []):
        want[f"option.{i}.cost.{n}"] = (Decimal(str(item["amount"])), marked)
    want[f"option.{i}.gaps_closed"] = (sum(before[c] and not after[c] for c in cells), marked)
    want[f"option.{i}.gaps_opened"] = (sum(after[c] and not before[c] for c in cells), marked)
    # The shortfall before and after: the comparison's totals for the whole dataset, the LA's
    # row for one LA.
    codes = {
        r["area_code"]
        for r in result["need_before"]
        if r["demand"] is not None and area in (None, r["area_code"])
    }
    for level in NEED_LEVELS:
        for side, key in (("before", "option.now"), ("after", f"option.{i}")):
            if not codes:
                continue
            if area is None:
                value = result["comparison"]["summary"]["shortfall_by_level"][level][side]
            else:
                (row,) = [
                    r
                    for r in result[f"need_{side}"]
                    if r["area_code"] == area and r["level"] == level
                ]
                value = row["shortfall"]
            figure = (value, marks.shortfall(codes, level))
            want[f"{key}.shortfall.{level}"] = figure
            if side == "after":
                want[f"option.{i}.unmet.{level}"] = figure


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _shown(text: str) -> tuple[Decimal, Decimal]:
    """The number shown and half a unit of its last place (the rounding it may carry)."""
    match = re.fullmatch(r"£?(-?[\d,]+(?:\.(\d+))?)%?", text)
    assert match, f"not a number as shown: {text!r}"
    places = len(match.group(2) or "")
    return Decimal(match.group(1).replace(",", "")), Decimal(5) / Decimal(10) ** (places + 1)


def check_figures(page: str, want: dict[str, tuple]) -> dict[str, list[str]]:
    """Every figure the page states is the expected value, carries the mark exactly when it
    rests on an illustrative value (the mark printed right after it), and none is a blank."""
    root = parse(page)
    found: dict[str, list[str]] = {}
    for node in root.walk():
        key = node.attrs.get("data-figure")
        if not key:
            continue
        text = node.text().strip()
        found.setdefault(key, []).append(text)
        assert key in want, f"the report states {key!r}, which the test does not know"
        exact, marked = want[key]
        assert exact is not None, f"{key}: a blank printed as a figure ({text!r})"
        shown, half = _shown(text)
        if isinstance(exact, int):
            assert shown == exact, (key, text, exact)
        else:
            value = (
                Decimal(exact.numerator) / Decimal(exact.denominator)
                if isinstance(exact, Fraction)
                else Decimal(str(exact))
            )
            assert abs(shown - value) <= half, (key, text, exact)
        assert ("data-marked" in node.attrs) == marked, (
            key,
            text,
            "marked" if marked else "unmarked",
        )
        after = _next_sibling(node)
        has_mark = isinstance(after, Node) and "mark" in after.classes() and after.text() == MARK
        assert has_mark == marked, (key, text, "the mark after it")
    assert found, "the report states no figures"
    return found


def _next_sibling(node: Node):
    siblings = node.parent.children
    index = next(i for i, child in enumerate(siblings) if child is node)
    return siblings[index + 1] if index + 1 < len(siblings) else None


def summary_has_only_marked_numbers(page: str) -> None:
    """Every digit in a finding's sentences is a stated figure, a name or a fixed term."""
    root = parse(page)
    marked = lambda node: bool(  # noqa: E731
        node.attrs.get("data-figure") or node.classes() & {"name", "term", "more"}
    )
    findings = [node for node in root.walk() if "finding" in node.classes()]
    assert len(findings) >= 9
    for node in findings:
        text = node.text(skip=marked)
        assert not re.search(r"\d", text), text


# -- fixtures ------------------------------------------------------------------------------
SCENARIOS = [read_scenario(path) for path in bundled_scenarios()]


@pytest.fixture(scope="module")
def synth_region(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    generate(folder / "data", areas=7, services=90, links=500, seed=5)
    store = load_into(folder / "graph.lbug", folder / "data")
    yield store, folder / "data"
    store.close()


# -- the seed region -----------------------------------------------------------------------
def test_seed_report_figures_are_the_analyses(seed_store):
    page = report_html(seed_store, scenarios=SCENARIOS, max_rows=0)
    found = check_figures(page, expected_figures(seed_store, None, SCENARIOS, seed_path()))
    for key in (
        "gaps.gap_cells",
        "misdirected.survey_mentions.relationship_volume",
        "misdirected.survey_mentions.relationship_total",
        "misdirected.survey_mentions.dead_end_volume",
        "concentration.survey_mentions.top.1.share",
        "about.links_split",
        "about.las_population_inferred",
        "misdirected.group.0.count",
        "cliffs.cliff",
        "pathways.dead_ends",
        "assessment.entry_points",
        "workforce.fte_2_3",
        "groups.las_without",
        "need.targeted.shortfall",
        "need.statutory.demand",
        "sufficiency.specialist.services",
        "option.1.families",
        "option.3.gaps_closed",
        "option.1.cost_per_family",
        "option.1.cost.0",
        "option.3.shortfall.specialist",
        "option.now.shortfall.targeted",
        "provenance.links_blank_count",
        "about.services_illustrative",
        "age_bands.gap_cells",
    ):
        assert key in found, key
    summary_has_only_marked_numbers(page)
    # The report's findings, in the seed region's numbers (findings 1, 5, 6 of test_findings.py).
    assert found["gaps.gap_cells"] == ["18"] and found["gaps.cells"][0] == "24"
    assert found["workforce.fte_2_3"][0] == "7.0"
    assert "None of the" in parse(page).text()
    # The cover names the region, never the folder the data was loaded from.
    cover = next(node for node in parse(page).walk() if "cover" in node.classes())
    assert "Cwm Taf Morgannwg University Health Board" in cover.text()
    assert "cwm_taf_morgannwg" not in cover.text()


@pytest.mark.parametrize("area", sorted(SEED_LAS))
def test_one_la_report_holds_only_that_la(seed_store, area):
    page = report_html(seed_store, area, scenarios=SCENARIOS[:1], max_rows=0)
    check_figures(page, expected_figures(seed_store, area, SCENARIOS[:1], seed_path()))
    summary_has_only_marked_numbers(page)
    root = parse(page)
    # Providers' and sources' own words may name a neighbour; nothing else may.
    text = root.text(skip=lambda node: "free" in node.classes())
    assert SEED_LAS[area] in text
    for code, name in SEED_LAS.items():
        if code != area:
            assert code not in page
            assert name not in text, name


def test_synthetic_region_report(synth_region):
    """Any region: its own names, no sentence of the seed region's or its source's, plurals
    right, statuses shown, no path of the machine and no command to run."""
    store, dataset = synth_region
    page = report_html(store, max_rows=0)
    want = expected_figures(store, None, (), dataset)
    found = check_figures(page, want)
    summary_has_only_marked_numbers(page)
    text = parse(page).text()
    for wording in ("Cwm Taf", "Morgannwg", "Bridgend", "Rhondda", "Merthyr", "ctm_",
                    "Securing Healthy Lives", "high-adversity area", "CTM"):  # fmt: skip
        assert wording not in page, wording
    # Everything in a synthetic dataset is illustrative: every figure resting on it is marked.
    marked = {key for key in found if want[key][1]}
    assert {"gaps.gap_cells", "misdirected.links", "need.targeted.demand"} <= marked
    assert re.search(r"\b1 local authorities|\b1 services\b|\b1 referral links\b", text) is None
    assert "(inactive)" in text or "(defunct)" in text or "(temporarily closed)" in text
    cover = next(node for node in parse(page).walk() if "cover" in node.classes())
    assert "Synthetic Region 1" in cover.text()
    assert str(dataset) not in page and "nestmap " + "report" not in text
    assert not re.search(r"`nestmap [a-z-]+", page)
    codes = analysis.local_authority_codes(store)
    area = codes[1]
    one = report_html(store, area, max_rows=0)
    check_figures(one, expected_figures(store, area, (), dataset))
    for other in codes:
        if other != area:
            assert other not in one


def _tagged(node: Node) -> str:
    """A node's text with each figure written as [[key]] (so a sentence knows its figures)."""
    parts = []
    for child in node.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.attrs.get("data-figure"):
            parts.append(f"[[{child.attrs['data-figure']}]]")
        else:
            parts.append(_tagged(child))
    return "".join(parts)


def _passages(root: Node) -> list[str]:
    """Each sentence of a paragraph (a finding's too) and each table row, figures tagged."""
    found = []
    for node in root.walk():
        if node.tag == "tr":
            found.append(re.sub(r"\s+", " ", _tagged(node)))
        elif node.tag == "p" and node.parent.tag != "td":
            text = re.sub(r"\s+", " ", _tagged(node))
            found += re.split(r"(?<=[.;])\s", text)
    return found


@pytest.mark.parametrize("which", ["seed", "synthetic"])
def test_a_year_never_labels_a_survey_count(which, seed_store, synth_region):
    """A count of survey mentions is said as such, never "a year"; each unit has its own
    total. The seed region's relationship counts are all survey mentions; a synthetic
    region has both units."""
    store = seed_store if which == "seed" else synth_region[0]
    root = parse(report_html(store, max_rows=0))
    passages = _passages(root)
    # Passages stating a survey count (a figure in them), not those explaining the units.
    survey = [
        text
        for text in passages
        if "[[" in text and ("survey mention" in text or ".survey_mentions." in text)
    ]
    assert survey, "no survey count is stated"
    for text in survey:
        assert "a year" not in text, text
    if which == "seed":
        # No count a year is recorded there: "referrals a year" only names the unit of links
        # whose count is not recorded.
        referrals = next(node for node in root.walk() if node.attrs.get("id") == "referrals")
        for row in _passages(referrals):
            if "a year" in row:
                assert "not recorded" in row and "[[" not in row, row
    else:
        assert any("referrals a year" in text for text in passages)


def test_no_blank_is_printed_as_zero(seed_store):
    """A blank capacity is "not recorded" (and a shortfall beside it "at most"), a destination
    whose links carry no count says "not recorded", never 0."""
    root = parse(report_html(seed_store, scenarios=SCENARIOS[:1], max_rows=0))
    text = re.sub(r"\s+", " ", root.text())
    assert "capacity not recorded for 2 services" in text
    assert "at most" in text
    rows = [node for node in root.walk() if node.tag == "tr"]
    destinations = [
        re.sub(r"\s+", " ", row.text()) for row in rows if "Health psychology" in row.text()
    ]
    assert any("not recorded" in row for row in destinations), destinations


def test_statutory_row_is_apart_and_never_summed(seed_store, synth_region):
    """Demand, capacity and shortfall of the statutory row are shown apart, named for what it
    is, and no figure adds it to the targeted and specialist rows."""
    for store, documents in ((seed_store, SCENARIOS), (synth_region[0], ())):
        page = report_html(store, scenarios=documents, max_rows=0)
        root = parse(page)
        need = analysis.need(store)
        sums = set()
        for what in ("demand", "capacity", "shortfall"):
            every = _one_place(r[what] for r in need)
            uptake = _one_place(r[what] for r in need if r["level"] != "statutory")
            statutory = _one_place(r[what] for r in need if r["level"] == "statutory")
            if every not in (uptake, statutory):
                sums.add(every)
        for node in root.walk():
            if node.attrs.get("data-figure"):
                shown, _half = _shown(node.text().strip())
                assert shown not in sums, (node.attrs["data-figure"], shown)
        apart = [node for node in root.walk() if "apart" in node.classes()]
        assert apart and all("statutory" in node.text().lower() for node in apart)
        assert "unlikely to access" in root.text() and "risk support" in root.text()


def test_a_region_without_gaps_says_so(tmp_path):
    folder = tmp_path / "covered"
    shutil.copytree(DATA / "hand", folder)
    services = (folder / "services.csv").read_text(encoding="utf-8").splitlines()
    header = services[0].split(",")
    # One specialised service at every level and stage, covering every LA.
    areas = [r["code"] for r in _csv(folder / "areas.csv") if r["kind"] == "local_authority"]
    row = dict.fromkeys(header, "")
    row.update(id="everywhere", name="Everywhere team", provider="Board", sector="nhs",
               status="active", areas="|".join(areas), stages="antenatal|postnatal",
               threshold="open", self_referral="true", capacity_per_year="100000",
               assesses_relationship="true", supports_fathers="true", source="test")  # fmt: skip
    with (folder / "services.csv").open("a", encoding="utf-8", newline="") as handle:
        csv.DictWriter(handle, header).writerow(row)
    with (folder / "offers.csv").open("a", encoding="utf-8", newline="") as handle:
        for level in ("universal", "targeted", "statutory", "specialist"):
            handle.write(f"everywhere,{level},specialised,\n")
    store = load_into(tmp_path / "graph.lbug", folder)
    page = report_html(store, max_rows=0)
    check_figures(page, expected_figures(store, None, (), folder))
    text = parse(page).text()
    assert "there are no provision gaps" in text
    assert "Specialised help exists on both sides of the child-protection threshold" in text
    store.close()


# -- escaping ------------------------------------------------------------------------------
def test_names_are_escaped_and_nothing_runs(tmp_path):
    store = load_into(tmp_path / "graph.lbug", DATA / "xss")
    page = report_html(store, max_rows=0)
    root = parse(page)
    tags = {node.tag for node in root.walk()}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link"}
    for node in root.walk():
        for name, value in node.attrs.items():
            assert not name.startswith("on"), (node.tag, name)
            assert "javascript:" not in (value or ""), (node.tag, name, value)
    text = root.text()
    assert "Health visiting <script>window.__xss=1</script>" in text
    assert 'Bridgend <img src=x onerror="window.__xss=1">' in text
    # And the browser is told to run and fetch nothing anyway.
    policy = next(n for n in root.walk() if n.attrs.get("http-equiv") == "Content-Security-Policy")
    assert policy.attrs["content"].startswith("default-src 'none';")
    store.close()


# -- the command line and the PDF ----------------------------------------------------------
def test_cli_report_validates_area_scenarios_and_suffix(seed_store, tmp_path):
    runner = CliRunner()
    db = seed_store.location
    result = runner.invoke(app, ["report", str(tmp_path / "r.html"), "--db", db, "--area", "X1"])
    assert result.exit_code == 2 and "known codes: W06000013" in result.output
    result = runner.invoke(app, ["report", str(tmp_path / "r.docx"), "--db", db])
    assert result.exit_code == 2 and ".html or .pdf" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: broken\nretire_services: [no_such_service]\n", encoding="utf-8")
    result = runner.invoke(app, ["report", str(tmp_path / "r.html"), "--db", db,
                                 "--scenario", str(bad)])  # fmt: skip
    assert result.exit_code == 2 and "no_such_service" in result.output
    assert not (tmp_path / "r.html").exists()  # nothing written
    result = runner.invoke(app, ["report", str(tmp_path / "r.html"), "--db", db, "--area",
                                 "W06000024", "--scenario", str(bundled_scenarios()[0])])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Merthyr Tydfil" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_pdf_without_chromium_says_how_to_install(seed_store, tmp_path, monkeypatch):
    monkeypatch.setenv("NESTMAP_CHROMIUM", str(tmp_path / "no-such-browser"))
    result = CliRunner().invoke(app, ["report", str(tmp_path / "r.pdf"), "--db",
                                      seed_store.location])  # fmt: skip
    assert result.exit_code == 1
    assert "apt-get install chromium" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.browser
@pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists() or shutil.which("pdftotext") is None,
    reason="needs Debian's chromium and poppler-utils",
)
def test_pdf_is_a4_with_page_numbers_and_contents(seed_store, tmp_path):
    out = build_report(seed_store, tmp_path / "report.pdf", scenarios=SCENARIOS[:1])
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info.stdout)
    assert abs(float(size.group(1)) - 595.3) < 2 and abs(float(size.group(2)) - 841.9) < 2
    texts = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                           text=True, check=True).stdout.split("\f")  # fmt: skip
    for number, text in enumerate(texts[:pages], start=1):
        assert f"{number} / {pages}" in text, number
    contents = texts[0]
    assert "Contents" in contents
    # Each contents entry carries the page its section starts on.
    for title in ("Summary of findings", "Need against capacity", "Every service mapped"):
        line = next(line for line in contents.splitlines() if title in line)
        page = int(line.split()[-1])
        assert title in texts[page - 1], (title, page)
