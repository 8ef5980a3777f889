"""The contract as changed on 2026-12-06, on the hand-built dataset tests/data/bases, every
expected row worked out by hand from docs/analyses.md on the real embedded engine:

- a referral count has a unit (``count_basis``): counts of different units are never added;
- ``not_offered`` only where the target does no parent-infant relationship work at all;
- a blank ``capacity_per_year`` is not recorded (``unrecorded``), never 0;
- the statutory row of need is never added to the targeted and specialist shortfall.

The dataset: region R = A1 (under-2 population 1,000), A2 (blank), A3 (3,000).
- gp, mw, hv cover R; hv offers universal and targeted support (non-specialised).
- fs (targeted, non-specialised) and cs (statutory, non-specialised) cover A1.
- pmh: specialist, non-specialised (the perinatal team: no relationship work at all).
- psy: specialist, specialised, capacity blank (not recorded), covers R.
- pit: targeted + specialist, specialised, 100 a year, covers A1.
- reg: targeted, specialised, 80 a year, covers R (so A1, A2, A3; A2 has no population).
- bim: statutory, specialised, capacity blank, covers A1.
- referrals: staff-survey mentions (gp -> hv 40, gp -> pmh 20, hv -> psy blank) beside referrals
  a year (mw -> fs 12, mw -> pmh 6 with a blank basis, fs -> cs 3, hv -> pit 30); cs -> pit is
  the route on from cs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import DATA, load_into

from nestmap import analysis, units
from nestmap.analysis import core
from nestmap.answers import analyses as answers
from nestmap.answers import summaries
from nestmap.errors import InputError, UsageError
from nestmap.loaders import read_dataset

BASES = DATA / "bases"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    opened = load_into(tmp_path_factory.mktemp("bases") / "graph.lbug", BASES)
    yield opened
    opened.close()


MISDIRECTED = [
    # pmh does no parent-infant relationship work (specialist, not specialised) and refers no
    # one on: a dead end. 20 survey mentions, not referrals a year.
    {"from_service": "gp", "to_service": "pmh", "reason": "parent_infant_relationship",
     "count": 20, "count_basis": "survey_mentions", "problems": ["not_offered"],
     "onward": False},
    # A blank count_basis is per_year.
    {"from_service": "mw", "to_service": "pmh", "reason": "parent_infant_relationship",
     "count": 6, "count_basis": "per_year", "problems": ["not_offered"], "onward": False},
    # cs (statutory, not specialised) does no relationship work; cs -> pit (a destination of A1,
    # which fs covers) is the route on.
    {"from_service": "fs", "to_service": "cs", "reason": "parent_infant_relationship",
     "count": 3, "count_basis": "per_year", "problems": ["not_offered"], "onward": True},
]  # fmt: skip


def test_not_offered_spares_universal_and_targeted_targets(store):
    """gp -> hv (universal and targeted, non-specialised) and mw -> fs (targeted,
    non-specialised) support the relationship within wider work: not misdirected."""
    rows = analysis.misdirected(store)
    assert rows == MISDIRECTED
    assert [r for r in rows if r["to_service"] in ("hv", "fs")] == []
    # mw -> pmh for perinatal mental health is what pmh is for: no problem either.
    assert [r["reason"] for r in rows if r["to_service"] == "pmh"] == [
        "parent_infant_relationship"
    ] * 2


def test_misdirected_arrow_table_and_kept_answer_are_the_rows(store):
    table = core.misdirected_table(store)
    assert table.column_names == list(MISDIRECTED[0])
    assert table.to_pylist() == MISDIRECTED
    assert answers.misdirected(store) == MISDIRECTED


CONCENTRATION = [
    # per_year first: 30 + 12 + 6 + 3 = 51 referrals a year.
    ("pit", "per_year", 30, 0.5882, True),  # 30 / 51 = 0.58824
    ("fs", "per_year", 12, 0.2353, False),  # 0.23529
    ("pmh", "per_year", 6, 0.1176, False),  # 0.11765
    ("cs", "per_year", 3, 0.0588, False),  # 0.05882
    # then survey mentions, shares of their own total 40 + 20 + 0 (psy's blank) = 60.
    ("hv", "survey_mentions", 40, 0.6667, False),
    ("pmh", "survey_mentions", 20, 0.3333, False),
    ("psy", "survey_mentions", 0, 0.0, True),
]
KEYS = ("to_service", "count_basis", "count", "share", "specialised")


def test_concentration_per_target_and_basis(store):
    want = [dict(zip(KEYS, row, strict=True)) for row in CONCENTRATION]
    assert analysis.concentration(store) == want
    assert core.concentration_table(store).to_pylist() == want
    # pmh appears once per unit: its 6 referrals a year and 20 survey mentions are not added.
    assert [r["count"] for r in want if r["to_service"] == "pmh"] == [6, 20]


def test_concentration_of_one_la_is_per_basis_too(store):
    # A3 is covered by gp, mw and hv (not fs): fs -> cs drops out, per_year total 48.
    want = [
        dict(zip(KEYS, row, strict=True))
        for row in [
            ("pit", "per_year", 30, 0.625, True),
            ("fs", "per_year", 12, 0.25, False),
            ("pmh", "per_year", 6, 0.125, False),
            ("hv", "survey_mentions", 40, 0.6667, False),
            ("pmh", "survey_mentions", 20, 0.3333, False),
            ("psy", "survey_mentions", 0, 0.0, True),
        ]
    ]
    assert analysis.concentration(store, "A3") == want
    assert core.concentration_table(store, "A3").to_pylist() == want


NEED = [
    # A1: pit's 100 split over targeted and specialist (50 each); reg's 80 shared by the LAs
    # with a population (A1 1,000 + A3 3,000): 20 here.
    ("A1", "targeted", 80.0, 70.0, 0, 10.0),
    # bim works here but records no capacity: 0 recorded, 1 unrecorded, shortfall at most 130.
    ("A1", "statutory", 130.0, 0.0, 1, 130.0),
    # pit's 50; psy (region-wide) records none.
    ("A1", "specialist", 90.0, 50.0, 1, 40.0),
    # A2 has no population: no demand, capacity or shortfall; psy still counts as unrecorded.
    ("A2", "targeted", None, None, 0, None),
    ("A2", "statutory", None, None, 0, None),
    ("A2", "specialist", None, None, 1, None),
    ("A3", "targeted", 240.0, 60.0, 0, 180.0),  # reg's 80 x 3,000 / 4,000
    ("A3", "statutory", 390.0, 0.0, 0, 390.0),  # nothing at all here: a real 0
    ("A3", "specialist", 270.0, 0.0, 1, 270.0),  # psy's capacity not recorded
]
NEED_KEYS = ("area_code", "level", "demand", "capacity", "unrecorded", "shortfall")


def test_need_counts_unrecorded_capacity_and_blank_population(store):
    want = [dict(zip(NEED_KEYS, row, strict=True)) for row in NEED]
    assert analysis.need(store) == want
    assert list(analysis.need(store)[0]) == list(NEED_KEYS)


def test_need_totals_keep_the_statutory_row_apart(store):
    totals = analysis.need_totals(store)
    assert totals["targeted"] == {
        "demand": 320.0, "capacity": 130.0, "shortfall": 190.0, "unrecorded": 0,
        "las_without_population": 1,
    }  # fmt: skip
    assert totals["specialist"] == {
        "demand": 360.0, "capacity": 50.0, "shortfall": 310.0, "unrecorded": 1,
        "las_without_population": 1,
    }  # fmt: skip
    assert totals["statutory"] == {
        "demand": 520.0, "capacity": 0.0, "shortfall": 520.0, "unrecorded": 1,
        "las_without_population": 1,
    }  # fmt: skip
    # targeted + specialist only: 190 + 310, never + 520.
    assert totals["intervention"] == {
        "demand": 680.0, "capacity": 180.0, "shortfall": 500.0, "unrecorded": 1,
        "las_without_population": 1,
    }  # fmt: skip
    assert summaries.headline(store, "shortfall") == {
        "total": 500.0, "unrecorded": 1, "statutory": 520.0, "statutory_unrecorded": 1,
    }  # fmt: skip
    per_la = summaries.per_area(store, "demand_shortfall")
    assert per_la == {"A1": 50.0, "A2": None, "A3": 450.0}  # statutory never added
    assert summaries.per_area(store, "demand_shortfall", level="statutory") == {
        "A1": 130.0, "A2": None, "A3": 390.0,
    }  # fmt: skip


def test_misdirected_summary_is_per_basis(store):
    found = summaries.misdirected_summary(store)
    per_year = {
        "links": 2, "counted_links": 2, "referrals": 9, "relationship_referrals": 9,
        "relationship_total": 51, "relationship_share": 0.1765,  # 9 / 51 = 0.17647
    }  # fmt: skip
    survey = {
        "links": 1, "counted_links": 1, "referrals": 20, "relationship_referrals": 20,
        "relationship_total": 60, "relationship_share": 0.3333,
    }  # fmt: skip
    assert found["links"] == 3
    assert found["by_basis"] == {"per_year": per_year, "survey_mentions": survey}
    assert list(found["by_basis"]) == ["per_year", "survey_mentions"]
    # fs -> cs has a route on; the two links into pmh are dead ends.
    assert found["onward"]["links"] == 1
    assert found["onward"]["by_basis"]["per_year"]["referrals"] == 3
    assert "survey_mentions" not in found["onward"]["by_basis"]
    assert found["dead_end"]["by_basis"]["per_year"]["referrals"] == 6
    assert found["dead_end"]["by_basis"]["survey_mentions"]["referrals"] == 20
    assert summaries.count_bases(store) == ["per_year", "survey_mentions"]


def test_misdirected_per_area_maps_one_unit_only(store):
    with pytest.raises(UsageError, match="more than one unit"):
        summaries.per_area(store, "misdirected_referrals")
    # gp and mw cover every LA; fs only A1.
    assert summaries.per_area(store, "misdirected_referrals", count_basis="per_year") == {
        "A1": 9, "A2": 6, "A3": 6,
    }  # fmt: skip
    assert summaries.per_area(store, "misdirected_referrals", count_basis="survey_mentions") == {
        "A1": 20, "A2": 20, "A3": 20,
    }  # fmt: skip


def test_referral_links_and_exports_carry_the_basis_and_area_source(store, tmp_path: Path):
    from nestmap.interop import write_csv_folder

    links = {
        (r["from_service"], r["to_service"], r["reason"]): r["count_basis"]
        for r in analysis.referral_links(store)
    }
    assert links[("mw", "pmh", "parent_infant_relationship")] == "per_year"  # blank read so
    assert links[("gp", "hv", "parent_infant_relationship")] == "survey_mentions"
    out = write_csv_folder(store, tmp_path / "out")
    header = (out / "referrals.csv").read_text().splitlines()[0]
    assert header == "from_service,to_service,reason,count,count_basis,source"
    areas = (out / "areas.csv").read_text().splitlines()
    assert areas[0].endswith(",source")
    assert "A3,Cliffby,local_authority,R,3000,1500,inferred: test figure" in areas
    # What was written loads back to the same analyses.
    again = load_into(tmp_path / "again.lbug", out)
    assert analysis.concentration(again) == analysis.concentration(store)
    assert analysis.need(again) == analysis.need(store)
    again.close()


def test_a_dataset_without_the_new_columns_still_loads(tmp_path: Path):
    """areas.csv without source and referrals.csv without count_basis: as before, per_year."""
    import shutil

    folder = tmp_path / "old"
    shutil.copytree(BASES, folder)
    for name in ("areas.csv", "referrals.csv"):
        path = folder / name
        lines = path.read_text().splitlines()
        drop = lines[0].split(",").index("source" if name == "areas.csv" else "count_basis")
        path.write_text(
            "".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop) + "\n"
                    for line in lines)
        )  # fmt: skip
    dataset = read_dataset(folder)
    assert {r.count_basis for r in dataset.referrals} == {"per_year"}
    assert {a.source for a in dataset.areas} == {None}


def test_bad_count_basis_is_located_and_nothing_changes(store, tmp_path: Path):
    import shutil

    folder = tmp_path / "bad"
    shutil.copytree(BASES, folder)
    path = folder / "referrals.csv"
    path.write_text(path.read_text().replace("20,survey_mentions", "20,mentions"))
    before = analysis.concentration(store)
    with pytest.raises(InputError) as caught:
        store.replace(read_dataset(folder))
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "referrals.csv", 4, "count_basis", "mentions",
    )  # fmt: skip
    assert problem.reason == "must be one of per_year, survey_mentions"
    assert analysis.concentration(store) == before


def test_cli_json_has_the_contract_columns(tmp_path: Path):
    db = tmp_path / "g.lbug"
    load_into(db, BASES).close()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "nestmap.cli", *args, "--db", str(db)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    concentration = run("concentration", "--format", "json")
    assert concentration.returncode == 0, concentration.stderr
    assert json.loads(concentration.stdout) == [
        dict(zip(KEYS, row, strict=True)) for row in CONCENTRATION
    ]
    need = run("need", "--format", "json")
    assert json.loads(need.stdout) == [dict(zip(NEED_KEYS, row, strict=True)) for row in NEED]
    table = run("need")
    # The terminal table says what the figures are: an upper bound where capacity is not
    # recorded, and the statutory row apart.
    assert "at most" in table.stderr and "unlikely to access help" in table.stderr
    misdirected = run("misdirected", "--format", "csv")
    assert misdirected.stdout.splitlines()[0] == (
        "from_service,to_service,reason,count,count_basis,problems,onward"
    )
    assert "survey mentions" in run("concentration").stderr


def test_units_say_what_a_figure_is():
    assert units.counted(64, "survey_mentions") == "64 survey mentions"
    assert units.counted(1, "per_year") == "1 referral a year"
    assert units.counted(1200, None) == "1,200 referrals a year"
    assert units.counted(None, "per_year") == "not recorded"
    assert (
        units.per_basis({"survey_mentions": 64, "per_year": 120})
        == "120 referrals a year; 64 survey mentions"
    )
    assert units.shortfall_text(1002.4, 2) == "at most 1,002; capacity not recorded for 2 services"
    assert units.shortfall_text(10.0, 0) == "10"
    assert units.shortfall_text(None, 1).startswith("not recorded")
    assert units.capacity_text(0.0, 2) == "not recorded (2 services)"
    assert units.capacity_text(0.0, 0) == "0"
    assert units.capacity_text(38.0, 1) == "at least 38; not recorded for 1 service"
    assert "unlikely to access help" in units.level_label("statutory")
    assert units.level_label("targeted") == "targeted"


def test_shares_change_demand_not_unrecorded(store):
    shares = analysis.parse_shares(targeted=Decimal("0.1"))
    rows = {(r["area_code"], r["level"]): r for r in analysis.need(store, shares=shares)}
    assert rows[("A1", "targeted")]["demand"] == 100.0
    assert rows[("A1", "specialist")]["unrecorded"] == 1


@pytest.mark.parametrize("name", ["misdirected", "concentration", "need"])
def test_the_pandas_reference_implements_the_same_rules(store, name):
    """benchmarks/pandas_reference.py (the yardstick the benchmarks time nestmap against) reads
    the contract the same way: the same rows on this dataset, whole and per LA."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    import pandas_reference as reference

    tables = reference.read_tables(BASES)
    for area in (None, "A1", "A2", "A3"):
        assert getattr(reference, name)(tables, area) == getattr(analysis, name)(store, area)


def test_network_exports_carry_each_links_unit(store):
    """GraphML, GEXF and Kumu carry count_basis on every referral link."""
    import io

    import openpyxl

    from nestmap.interop.graph_export import graph_elements, to_graphml, to_kumu

    _elements, links = graph_elements(store)
    bases = {
        (link.source, link.target, link.attributes["reason"]): link.attributes["count_basis"]
        for link in links
        if link.kind == "REFERS_TO"
    }
    assert bases[("service:gp", "service:hv", "parent_infant_relationship")] == "survey_mentions"
    assert bases[("service:mw", "service:pmh", "parent_infant_relationship")] == "per_year"
    assert b'attr.name="count_basis"' in to_graphml(store)
    sheet = openpyxl.load_workbook(io.BytesIO(to_kumu(store)))["Connections"]
    header = [cell.value for cell in sheet[1]]
    assert header[header.index("Count") + 1] == "Count basis"
    assert "survey_mentions" in [row[header.index("Count basis")] for row in sheet.iter_rows(
        min_row=2, values_only=True)]  # fmt: skip


def test_the_template_offers_the_units(tmp_path: Path):
    import io

    import openpyxl

    from nestmap.interop.dataset_files import template_workbook

    book = openpyxl.load_workbook(io.BytesIO(template_workbook()))
    sheet = book["referrals"]
    header = [cell.value for cell in sheet[1]]
    assert header == ["from_service", "to_service", "reason", "count", "count_basis", "source"]
    rules = [rule.formula1 for rule in sheet.data_validations.dataValidation]
    assert '"per_year,survey_mentions"' in rules
    assert [cell.value for cell in book["areas"][1]][-1] == "source"


def test_an_open_referral_companion_may_give_the_unit(tmp_path: Path):
    """refers_to as service_id:reason[:count[:count_basis]] in the import's companion CSV."""
    import csv

    from nestmap.interop.oruk import import_oruk

    source = DATA / "oruk" / "hsds1-ilao"
    bare = import_oruk(source, tmp_path / "bare", keep_first=True)
    assert bare.services == 429
    with (tmp_path / "bare" / "services.csv").open(encoding="utf-8") as handle:
        ids = [row["id"] for row in csv.DictReader(handle)]
    first, second = ids[:2]
    refers = {
        first: f"{second}:parent_infant_relationship:12:survey_mentions",
        second: f"{first}:parenting:3",
    }
    companion = tmp_path / "companion.csv"
    with companion.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["oruk_service_id", "sector", "areas", "stages", "threshold", "self_referral",
             "assesses_relationship", "offers", "refers_to"]
        )  # fmt: skip
        for service_id in ids:
            writer.writerow(
                [service_id, "voluntary", "E54000040", "postnatal", "open", "true", "false",
                 "targeted:non_specialised", refers.get(service_id, "")]
            )  # fmt: skip
    import_oruk(source, tmp_path / "out", companion, keep_first=True)
    with (tmp_path / "out" / "referrals.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["count"], r["count_basis"]) for r in rows] == [("12", "survey_mentions"), ("3", "")]
    links = {r.reason: r.count_basis for r in read_dataset(tmp_path / "out").referrals}
    assert links == {"parent_infant_relationship": "survey_mentions", "parenting": "per_year"}


def test_synth_counts_some_relationship_links_in_survey_mentions(tmp_path: Path):
    from nestmap.synth import generate

    generate(tmp_path / "synth", areas=5, services=120, links=1_500, seed=3)
    dataset = read_dataset(tmp_path / "synth")
    relationship = [r for r in dataset.referrals if r.reason == "parent_infant_relationship"]
    survey = [r for r in relationship if r.count_basis == "survey_mentions"]
    assert 0.2 < len(survey) / len(relationship) < 0.4
    assert {
        r.count_basis for r in dataset.referrals if r.reason != "parent_infant_relationship"
    } == {"per_year"}
    assert all(area.source and area.source.startswith("illustrative") for area in dataset.areas)


def test_each_count_worded_with_its_unit_over_arrow_columns():
    """The Referrals table's ``as_recorded`` column, worded once per distinct (count, basis) over
    Arrow columns (plain, chunked or dictionary-encoded): what ``units.counted`` says row by
    row, "not recorded" for a blank count."""
    import pyarrow as pa

    from nestmap import units
    from nestmap.dashboard.tables import counted_column

    counts = [1, None, 12_000, 1, 3, 5, None, 0]
    bases = ["per_year", "per_year", "survey_mentions", "survey_mentions", None, "per_year",
             "survey_mentions", "per_year"]  # fmt: skip
    expected = [units.counted(count, basis) for count, basis in zip(counts, bases, strict=True)]
    assert "not recorded" in expected and "1 survey mention" in expected
    chunked = (pa.chunked_array([counts[:3], counts[3:]], pa.int64()),
               pa.chunked_array([bases[:3], bases[3:]], pa.string()))  # fmt: skip
    encoded = (pa.array(counts, pa.int64()), pa.array(bases, pa.string()).dictionary_encode())
    for column in (counted_column(*chunked), counted_column(*encoded)):
        assert column.to_pylist() == expected
        assert len(column.dictionary) == len(set(zip(counts, bases, strict=True)))  # once each
    assert counted_column(pa.array([], pa.int64()), pa.array([], pa.string())).to_pylist() == []
