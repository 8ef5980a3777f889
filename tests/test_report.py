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
def _one_place(values) -> Decimal:
    return sum((Decimal(str(v)) for v in values if v is not None), Decimal(0))


def expected_figures(store, area, documents=(), dataset: Path | None = None) -> dict[str, object]:
    """Every figure the report may state, from the analyses' rows (exact values)."""
    want: dict[str, object] = {}
    services = analysis.services(store, area)
    las = sorted(analysis.local_authority_codes(store)) if area is None else [area]
    want["about.las"] = len(las)
    want["about.services"] = len(services)
    want["about.services_active"] = sum(s["status"] == "active" for s in services)

    gaps = analysis.gaps(store, area)
    want["gaps.cells"] = len(gaps)
    want["gaps.gap_cells"] = sum(r["gap"] for r in gaps)
    if gaps:
        want["gaps.gap_share"] = Fraction(want["gaps.gap_cells"] * 100, len(gaps))
    want["gaps.las"] = len(las)
    for code in las:
        rows = [r for r in gaps if r["area_code"] == code]
        want[f"gaps.la.{code}.gap_cells"] = sum(r["gap"] for r in rows)
        want[f"gaps.la.{code}.cells"] = len(rows)
        for r in rows:
            want[f"gaps.specialised.{code}.{r['level']}.{r['stage']}"] = len(
                r["specialised_services"]
            )
    want["gaps.las_all_gaps"] = sum(
        all(r["gap"] for r in gaps if r["area_code"] == code) for code in las
    )
    per_cell = Counter((r["level"], r["stage"]) for r in gaps if r["gap"])
    if per_cell:
        want["gaps.widest"] = max(per_cell.values())

    concentration = analysis.concentration(store, area)
    total = sum(r["count"] for r in concentration)
    misdirected = analysis.misdirected(store, area)
    relationship = [r for r in misdirected if r["reason"] == "parent_infant_relationship"]
    volume = sum(r["count"] or 0 for r in relationship)
    want["misdirected.links"] = len(misdirected)
    want["misdirected.relationship_total"] = total
    want["misdirected.relationship_volume"] = volume
    if total:
        want["misdirected.relationship_share"] = Fraction(volume * 100, total)
    if all("onward" in r for r in relationship):
        onward = sum(r["count"] or 0 for r in relationship if r["onward"])
        want["misdirected.onward_volume"] = onward
        want["misdirected.dead_end_volume"] = volume - onward
    for i, r in enumerate(misdirected):
        want[f"misdirected.{i}.count"] = r["count"]
    for i, r in enumerate(concentration):
        want[f"concentration.{i}.count"] = r["count"]
        if total:
            want[f"concentration.{i}.share"] = Fraction(r["count"] * 100, total)
    if total:
        top = concentration[:3]
        want["concentration.top.1.share"] = Fraction(top[0]["count"] * 100, total)
        want["concentration.top_n"] = len(top)
        want["concentration.top_share"] = Fraction(sum(r["count"] for r in top) * 100, total)
        points = [r for r in concentration if 3 * r["count"] >= total]
        want["concentration.single_points"] = len(points)
        want["concentration.single_points_unspecialised"] = sum(
            not r["specialised"] for r in points
        )

    bounds = analysis.boundaries(store, area)
    cliffs = bounds["threshold_cliffs"]
    want["cliffs.cells"] = len(cliffs)
    want["cliffs.cliff"] = sum(r["status"] == "cliff" for r in cliffs)
    want["cliffs.none"] = sum(r["status"] == "none" for r in cliffs)
    for kind, n in Counter(k for link in bounds["links"] for k in link["kinds"]).items():
        want[f"boundaries.kind.{kind}"] = n

    pathways = analysis.pathways(store, area)
    want["pathways.entries"] = len(pathways)
    want["pathways.dead_ends"] = sum(r["destination"] is None for r in pathways)
    for i, r in enumerate(pathways):
        want[f"pathways.{i}.hops"] = r["hops"]

    assessment = analysis.assessment(store, area)
    entry, coverage = assessment["entry_points"], assessment["coverage"]
    want["assessment.entry_points"] = len(entry)
    want["assessment.assessing"] = sum(r["assesses_relationship"] for r in entry)
    want["assessment.cells"] = len(coverage)
    want["assessment.gap_cells"] = sum(r["gap"] for r in coverage)
    for i, r in enumerate(coverage):
        want[f"assessment.{i}.services"] = r["services"]

    workforce = analysis.workforce(store, area)["services"]
    want["workforce.posts_2_3"] = sum(r["practitioners_level_2_3"] for r in workforce)
    want["workforce.posts"] = sum(r["practitioners"] for r in workforce)
    want["workforce.fte_2_3"] = _one_place(
        [r["fte_level_2"] for r in workforce] + [r["fte_level_3"] for r in workforce]
    )
    for level in AIMH_LEVELS:
        want[f"workforce.level.{level}.fte"] = _one_place(
            r[f"fte_level_{level}"] for r in workforce
        )
    for r in workforce:
        want[f"workforce.service.{r['service_id']}.posts_2_3"] = r["practitioners_level_2_3"]

    groups = analysis.groups_left_out(store, area)
    want["groups.las"] = len(groups)
    want["groups.las_without"] = sum(not r["supporting_fathers"] for r in groups)
    want["groups.services_supporting"] = len({s for r in groups for s in r["supporting_fathers"]})
    want["groups.services_not_recorded"] = len({s for r in groups for s in r["not_recorded"]})
    for r in groups:
        want[f"groups.{r['area_code']}.not_recorded"] = len(r["not_recorded"])
        want[f"groups.{r['area_code']}.services"] = r["services"]

    need = analysis.need(store, area)
    shares = analysis.parse_shares()
    for level in NEED_LEVELS:
        want[f"need.share.{level}"] = Fraction(shares[level]) * 100
        rows = [r for r in need if r["level"] == level and r["demand"] is not None]
        for what in ("demand", "capacity", "shortfall"):
            want[f"need.{level}.{what}"] = _one_place(r[what] for r in rows)
    for r in need:
        for what in ("demand", "capacity", "shortfall"):
            want[f"need.{r['area_code']}.{r['level']}.{what}"] = r[what]
    want["need.las_without_population"] = sum(r["demand"] is None for r in need) // 3

    age_bands = getattr(analysis, "age_bands", None)
    if age_bands is not None:
        bands = age_bands(store, area)
        want["age_bands.cells"] = len(bands)
        want["age_bands.gap_cells"] = sum(r["gap"] for r in bands)
        for band in {r["band"] for r in bands}:
            want[f"age_bands.band.{band}.gap_cells"] = sum(
                r["gap"] for r in bands if r["band"] == band
            )
            want[f"age_bands.band.{band}.cells"] = sum(r["band"] == band for r in bands)
        for r in bands:
            want[f"age_bands.{r['area_code']}.{r['level']}.{r['band']}"] = len(
                r["specialised_services"]
            )

    active = [s for s in services if s["status"] == "active"]
    want["provenance.services_illustrative"] = sum(
        s["source"].strip().lower().startswith("illustrative") for s in services
    )
    want["provenance.capacity_blank"] = sum(
        s["specialised"] and s["capacity_per_year"] is None for s in active
    )
    want["provenance.fathers_blank"] = sum(s["supports_fathers"] is None for s in active)
    want["provenance.not_active"] = len(services) - len(active)
    areas = {row["code"]: row for row in _csv(dataset / "areas.csv")} if dataset else {}
    if dataset:
        want["provenance.las_blank_population"] = sum(
            areas[code]["under2_population"] == "" for code in las
        )
        in_scope = {s["id"] for s in services}
        links = [r for r in _csv(dataset / "referrals.csv") if r["from_service"] in in_scope]
        want["provenance.links_illustrative"] = sum(
            r["source"].strip().lower().startswith("illustrative") for r in links
        )
        want["provenance.links_blank_count"] = sum(r["count"] == "" for r in links)

    for i, document in enumerate(documents, start=1):
        _option_figures(want, store, area, i, document)
    return want


def _option_figures(want, store, area, i, document) -> None:
    from nestmap.scenarios import evaluate

    result = evaluate(store, document)
    keep = (lambda r: r["area_code"] == area) if area else (lambda r: True)
    before = {(r["area_code"], r["level"], r["stage"]): r["gap"] for r in result["gaps_before"]}
    after = {(r["area_code"], r["level"], r["stage"]): r["gap"] for r in result["gaps_after"]}
    cells = [key for key in before if area in (None, key[0])]
    added = document.get("add_services") or []
    families = sum(int(s.get("capacity_per_year") or 0) for s in added)
    services_cost = sum(Decimal(str(s.get("annual_cost") or 0)) for s in added)
    other = sum(Decimal(str(c["amount"])) for c in document.get("costs") or [])
    want[f"option.{i}.families"] = families
    want[f"option.{i}.services_cost"] = services_cost
    want[f"option.{i}.total_cost"] = services_cost + other
    # The report's basis: the added services' cost per family; the total beside it.
    want[f"option.{i}.cost_per_family"] = Fraction(services_cost) / families
    want[f"option.{i}.total_cost_per_family"] = Fraction(services_cost + other) / families
    for n, item in enumerate(document.get("costs") or []):
        want[f"option.{i}.cost.{n}"] = Decimal(str(item["amount"]))
    want[f"option.{i}.gaps_closed"] = sum(before[c] and not after[c] for c in cells)
    want[f"option.{i}.gaps_opened"] = sum(after[c] and not before[c] for c in cells)
    for level in NEED_LEVELS:
        for side in ("before", "after"):
            rows = [r for r in result[f"need_{side}"] if keep(r) and r["level"] == level]
            want[f"option.{i}.shortfall.{level}.{side}"] = _one_place(r["shortfall"] for r in rows)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _shown(text: str) -> tuple[Decimal, Decimal]:
    """The number shown and half a unit of its last place (the rounding it may carry)."""
    match = re.fullmatch(r"£?(-?[\d,]+(?:\.(\d+))?)%?", text)
    assert match, f"not a number as shown: {text!r}"
    places = len(match.group(2) or "")
    return Decimal(match.group(1).replace(",", "")), Decimal(5) / Decimal(10) ** (places + 1)


def check_figures(page: str, want: dict[str, object]) -> dict[str, list[str]]:
    found = figures(parse(page))
    assert found, "the report states no figures"
    for key, texts in found.items():
        assert key in want, f"the report states {key!r}, which the test does not know"
        exact = want[key]
        for text in texts:
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
    return found


def summary_has_only_marked_numbers(page: str) -> None:
    """Every digit in a finding's sentences is a marked figure, a name or a fixed term."""
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
        "misdirected.relationship_volume",
        "concentration.top.1.share",
        "cliffs.cliff",
        "pathways.dead_ends",
        "assessment.entry_points",
        "workforce.posts_2_3",
        "groups.las_without",
        "need.targeted.shortfall",
        "option.1.families",
        "option.3.gaps_closed",
        "provenance.links_blank_count",
        "misdirected.onward_volume",
        "misdirected.dead_end_volume",
        "age_bands.gap_cells",
        "option.1.cost_per_family",
        "option.1.total_cost_per_family",
        "option.1.cost.0",
    ):
        assert key in found, key
    summary_has_only_marked_numbers(page)
    # The report's findings, in the seed region's numbers (findings 1, 3, 5, 6 of tests/test_findings.py).
    assert found["gaps.gap_cells"] == ["18"] and found["gaps.cells"][0] == "24"
    assert found["workforce.posts_2_3"][0] == "7"
    assert "None of the" in parse(page).text()
    assert "Cwm Taf Morgannwg University Health Board" in page


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
    store, dataset = synth_region
    page = report_html(store, max_rows=0)
    check_figures(page, expected_figures(store, None, (), dataset))
    summary_has_only_marked_numbers(page)
    for wording in ("Cwm Taf", "Morgannwg", "Bridgend", "Rhondda", "Merthyr", "ctm_"):
        assert wording not in page
    codes = analysis.local_authority_codes(store)
    area = codes[1]
    one = report_html(store, area, max_rows=0)
    check_figures(one, expected_figures(store, area, (), dataset))
    for other in codes:
        if other != area:
            assert other not in one


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
