"""Directories as councils and others really publish them (tests/data/oruk/, each folder with
its source and licence): nothing imported silently wrong — every rule that changes a value is
counted in the warnings, every value left blank is listed to fill in with what the directory
said — the standard's joins followed, refusals that say what to do, and area names matched to
ONS codes. Each directory is taken end to end: import, load, the analyses, and the exports read
by networkx, igraph and the GEXF 1.3 schema."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import igraph
import networkx as nx
import pytest
from conftest import load_into, oruk_data_page
from lxml import etree

from nestmap import analysis
from nestmap.errors import InputError
from nestmap.interop import to_gexf, to_graphml
from nestmap.interop.oruk import import_oruk
from nestmap.interop.oruk_ages import from_text
from nestmap.loaders import read_dataset

DATA = Path(__file__).resolve().parent / "data" / "oruk"
GEXF_SCHEMA = Path(__file__).resolve().parent / "data" / "gexf-1.3" / "gexf.xsd"
BRISTOL = DATA / "bristol" / "service-1625ip.json"
SERVICE_FULL = DATA / "uk-profile" / "examples" / "service_full.json"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _companion(folder: Path, path: Path) -> Path:
    """Everything Open Referral does not carry, for every service imported: it then loads."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["oruk_service_id", "sector", "stages", "threshold", "self_referral",
                         "assesses_relationship", "offers", "areas"])  # fmt: skip
        for row in _rows(folder / "services.csv"):
            writer.writerow([row["id"], "voluntary", "postnatal", "open", "true", "false",
                             "targeted:specialised", "" if row["areas"] else "E54000039"])  # fmt: skip
    return path


def _edited(tmp_path: Path, source: Path, edit) -> Path:
    document = json.loads(source.read_text(encoding="utf-8"))
    edit(document)
    path = tmp_path / source.name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# --- Row 1: Bristol's "-1" ages -------------------------------------------------------------


def test_bristol_minus_one_ages_are_no_bound_counted_and_age_bands_see_every_band(tmp_path):
    result = import_oruk(BRISTOL, tmp_path / "bare")
    (row,) = _rows(tmp_path / "bare" / "services.csv")
    assert (row["min_age_months"], row["max_age_months"]) == ("", "")
    assert result.warning_counts["ages: negative"] == 2
    assert any(
        w.startswith("ages below 0 (a directory's 'no age limit') read as no bound, left blank (2)")
        for w in result.warnings
    )
    companion = _companion(tmp_path / "bare", tmp_path / "companion.csv")
    import_oruk(BRISTOL, tmp_path / "out", companion)
    store = load_into(tmp_path / "g.lbug", tmp_path / "out")
    bands = [r for r in analysis.age_bands(store) if r["level"] == "targeted"]
    # Before: min = max = 0, the service counted in band 0-5 only (three false gap cells).
    assert {r["band"] for r in bands if r["specialised_services"]} == {
        "0-5", "6-11", "12-17", "18-23"
    }  # fmt: skip
    store.close()


# --- Row 2: an Ohana / early HSDS 1.x CSV folder ---------------------------------------------


def test_ohana_providers_come_through_location_to_organization(tmp_path):
    result = import_oruk(DATA / "ohana-csv", tmp_path / "out")
    rows = {r["id"]: r for r in _rows(tmp_path / "out" / "services.csv")}
    assert len(rows) == 23 and all(r["provider"] for r in rows.values())
    assert rows["1"]["provider"] == "Peninsula Family Service"  # location 1 -> organization 1
    assert any(
        "23 services have no organization_id; each takes its location's organization" in w
        for w in result.warnings
    )


def test_ohana_eligibility_ages_by_rule_and_the_rest_listed_with_the_text(tmp_path):
    result = import_oruk(DATA / "ohana-csv", tmp_path / "out")
    rows = {r["id"]: r for r in _rows(tmp_path / "out" / "services.csv")}
    # "Age 18 or over": an adult service, recorded from 216 months (18 years).
    assert (rows["7"]["min_age_months"], rows["7"]["max_age_months"]) == ("216", "")
    assert result.warning_counts["ages: from eligibility text"] == 5
    # Service 5 speaks of children but gives no age: blank, listed with its text.
    assert (rows["5"]["min_age_months"], rows["5"]["max_age_months"]) == ("", "")
    fill = _rows(tmp_path / "out" / "TO_FILL_IN.csv")
    ages = {f["id"]: f for f in fill if f["column"] == "min_age_months, max_age_months"}
    assert set(ages) == {"5", "12"}
    assert ages["5"]["original"].startswith("Eligibility: Low-income family")
    # The eligibility text is kept beside what it may decide (stages, threshold).
    stages = next(f for f in fill if f["column"] == "stages" and f["id"] == "1")
    assert (
        stages["original"] == "Age 55 or over for most programs, age 60 or over for lunch program"
    )


def test_ohana_area_names_are_listed_with_nearest_names_not_guessed(tmp_path):
    result = import_oruk(DATA / "ohana-csv", tmp_path / "out")
    assert result.areas_by_name == 0  # Californian places: no English or Welsh area
    fill = [f for f in _rows(tmp_path / "out" / "TO_FILL_IN.csv") if f["column"] == "areas"]
    colma = next(f for f in fill if f["id"] == "1")
    assert colma["original"] == "Colma" and "matches no local authority" in colma["what"]
    assert result.warning_counts["areas: names not matched"] == 21


# --- Row 3: an id of the wrong type ----------------------------------------------------------


def test_a_nested_service_id_that_is_a_list_is_named_as_the_wrong_type(tmp_path):
    def edit(document):
        document["services"][0]["id"] = [{"id": "3648"}]

    source = _edited(tmp_path, DATA / "hsds3" / "organization_full.json", edit)
    with pytest.raises(InputError) as caught:
        import_oruk(source, tmp_path / "out")
    (problem,) = caught.value.problems
    assert (problem.column, problem.value) == ("services[0].id", '[{"id": "3648"}]')
    assert problem.reason == "id is a list, not text: give the id as text"


# --- Row 4: a data package whose paths are not there -----------------------------------------


def test_a_data_package_with_missing_paths_is_read_by_file_name_and_says_so(tmp_path):
    result = import_oruk(DATA / "hsds1-transformer", tmp_path / "out")
    assert result.services == 19
    assert any(
        "datapackage.json names 5 files that are not at its paths "
        "(tmp/datapackage/data/eligibility.csv" in w
        for w in result.warnings
    )
    assert "services: read data/services.csv (found by its name in a subfolder)" in (
        result.warnings
    )
    rows = {r["id"]: r for r in _rows(tmp_path / "out" / "services.csv")}
    assert all(r["provider"] for r in rows.values())


def test_a_data_package_without_services_names_its_paths_and_the_files_there(tmp_path):
    folder = tmp_path / "package"
    shutil.copytree(DATA / "hsds1-transformer", folder)
    (folder / "data" / "services.csv").unlink()
    with pytest.raises(InputError) as caught:
        import_oruk(folder, tmp_path / "out")
    reason = caught.value.problems[0].reason
    assert reason.startswith("required file is missing (the folder holds LICENSE, data/")
    assert "datapackage.json names tmp/datapackage/data/eligibility.csv" in reason
    assert "put the CSVs at those paths" in reason


# --- Row 5: JSON that is not a service directory ---------------------------------------------


def test_the_ohana_pre_hsds_json_is_refused_saying_what_to_do(tmp_path):
    source = DATA / "ohana-json" / "sample_data.json"
    with pytest.raises(InputError) as caught:
        import_oruk(source, tmp_path / "out")
    reason = caught.value.problems[0].reason
    assert "the Ohana API's import format from before HSDS" in reason
    assert "Export the directory as HSDS CSVs instead" in reason
    run = subprocess.run(
        [sys.executable, "-m", "nestmap.cli", "import", "oruk", str(source), "--out",
         str(tmp_path / "cli")], capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2 and "Ohana API" in run.stderr


def test_an_unknown_json_list_is_described_by_its_keys(tmp_path):
    source = tmp_path / "export.json"
    source.write_text(
        json.dumps({"data": [{"uuid": "a1", "title": "Play group"}], "count": 1}), "utf-8"
    )
    with pytest.raises(InputError) as caught:
        import_oruk(source, tmp_path / "out")
    assert caught.value.problems[0].reason == (
        "not a service directory: a JSON object with keys data, count; a service is an object "
        "with an id and a name and service fields such as organization_id, service_areas, "
        "minimum_age or status"
    )
    source.write_text(json.dumps([{"uuid": "a1", "title": "Play group"}] * 3), "utf-8")
    with pytest.raises(InputError) as caught:
        import_oruk(source, tmp_path / "out")
    assert "a list of 3 unknown, and no services; the first item ([0]) has keys uuid, title" in (
        caught.value.problems[0].reason
    )


def test_json_lines_of_services_are_read(tmp_path):
    items = json.loads((DATA / "outpost" / "services.json").read_text("utf-8"))["content"]
    source = tmp_path / "services.jsonl.json"
    source.write_text("\n".join(json.dumps(item) for item in items), encoding="utf-8")
    result = import_oruk(source, tmp_path / "out")
    assert result.services == 20 and result.shape.startswith("JSON Lines file of services")


def test_a_column_under_another_name_is_hinted(tmp_path):
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "services.csv").write_text("service_uuid,name\na,One\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_oruk(folder, tmp_path / "out")
    assert [(p.column, p.reason) for p in caught.value.problems] == [
        ("id", "required Open Referral column is missing; is 'service_uuid' meant to be 'id'? "
               "Rename that column 'id'")
    ]  # fmt: skip
    (folder / "services.csv").write_text("ref_no,label\na,One\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_oruk(folder, tmp_path / "out")
    assert "the header has ref_no, label; add a column named 'name'" in (
        caught.value.problems[1].reason
    )


# --- Row 6: service areas given by name ------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "codes"),
    [
        (["Bristol", "South Gloucestershire"], "E06000023|E06000025"),
        (["BRISTOL CITY COUNCIL", "south gloucestershire council"], "E06000023|E06000025"),
        (["City of Bristol", "Bath & North East Somerset"], "E06000022|E06000023"),
        (["Pen-y-bont ar Ogwr", "Merthyr Tudful"], "W06000013|W06000024"),
        (["Cwm Taf Morgannwg University Health Board"], "W11000030"),
        (["NHS Bristol, North Somerset and South Gloucestershire ICB"], "E54000039"),
        (["Bristol; South Gloucestershire"], "E06000023|E06000025"),
    ],
)
def test_area_names_are_matched_to_ons_codes(tmp_path, names, codes):
    def edit(document):
        document["service_areas"] = [{"name": name} for name in names]

    result = import_oruk(_edited(tmp_path, BRISTOL, edit), tmp_path / "out")
    (row,) = _rows(tmp_path / "out" / "services.csv")
    assert row["areas"] == codes
    assert result.areas_by_name == len(codes.split("|"))
    assert not [f for f in result.to_fill_in if f["column"] == "areas"]


def test_unknown_and_ambiguous_area_names_are_listed_with_the_nearest(tmp_path):
    def edit(document):
        document["service_areas"] = [{"name": "Hull"}, {"name": "Bristol"}]

    result = import_oruk(_edited(tmp_path, BRISTOL, edit), tmp_path / "out")
    (row,) = _rows(tmp_path / "out" / "services.csv")
    assert row["areas"] == "E06000023"
    (fill,) = [f for f in result.to_fill_in if f["column"] == "areas"]
    assert fill["original"] == "Hull"
    assert "nearest: Kingston upon Hull, City of (E06000010)" in fill["what"]
    run = subprocess.run(
        [sys.executable, "-m", "nestmap.cli", "import", "oruk", str(BRISTOL), "--out",
         str(tmp_path / "cli")], capture_output=True, text=True,
    )  # fmt: skip
    assert "matched 2 service areas given by name to ONS codes" in run.stdout


# --- Each age rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minimum", "maximum", "months", "rule"),
    [
        (-1, -1, ("", ""), "ages: negative"),
        (0, 5, ("0", "71"), "ages: years"),
        (12, 100, ("144", "216"), "ages: past 18"),
        (0.5, 1.5, ("6", "18"), "ages: years"),
        ("6 months", "2 years", ("6", "35"), "ages: years"),
        ("six", None, ("", ""), "ages: unread"),
        (5, 2, ("", ""), "ages: minimum above maximum"),
    ],
)
def test_each_age_rule_is_applied_and_counted(tmp_path, minimum, maximum, months, rule):
    def edit(document):
        document["minimum_age"], document["maximum_age"] = minimum, maximum

    result = import_oruk(_edited(tmp_path, SERVICE_FULL, edit), tmp_path / "out")
    (row,) = _rows(tmp_path / "out" / "services.csv")
    assert (row["min_age_months"], row["max_age_months"]) == months
    assert result.warning_counts[rule] >= 1
    if rule in ("ages: unread", "ages: minimum above maximum"):
        (fill,) = [f for f in result.to_fill_in if "age_months" in f["column"]]
        assert str(minimum) in fill["original"]


@pytest.mark.parametrize(
    ("said", "minimum", "maximum"),
    [
        ("kids and teens 18 and under", None, 227),
        ("All girls, 5-17 years old, or K-12", 60, 215),
        ("children under 5", None, 59),
        ("Parents of babies up to 12 months", None, 12),
        ("12 months to 5 years", 12, 71),
        ("Age 55 or over for most programs, age 60 or over for lunch", 660, None),
        ("reading at or below 7th grade level", None, None),
        ("Call 650-347-3648 for an appointment", None, None),
    ],
)
def test_age_text_rules(said, minimum, maximum):
    found = from_text(said)
    assert (found.minimum, found.maximum) == (minimum, maximum)


def test_oruk_v1_eligibilitys_give_ages_when_the_service_has_none(tmp_path):
    def edit(document):
        document.pop("minimum_age"), document.pop("maximum_age")
        document["eligibilitys"] = [
            {"eligibility": "Families", "minimum_age": 0, "maximum_age": 4},
            {"eligibility": "Young carers", "minimum_age": 5, "maximum_age": 18},
        ]

    import_oruk(_edited(tmp_path, SERVICE_FULL, edit), tmp_path / "out")
    (row,) = _rows(tmp_path / "out" / "services.csv")
    assert (row["min_age_months"], row["max_age_months"]) == ("0", "216")


# --- End to end: three directories no test used before -------------------------------------


@pytest.mark.parametrize(
    "source", ["ohana-csv", "hsds1-transformer", "bristol/service-1625ip.json"]
)
def test_a_directory_end_to_end_to_the_graph_readers(tmp_path, source):
    bare = tmp_path / "bare"
    first = import_oruk(DATA / source, bare, keep_first=True)
    companion = _companion(bare, tmp_path / "companion.csv")
    result = import_oruk(DATA / source, tmp_path / "out", companion, keep_first=True)
    # Left: the populations, and the ages some eligibility texts speak of without giving.
    assert {f["column"] for f in result.to_fill_in} <= {
        "under2_population", "min_age_months, max_age_months"
    }  # fmt: skip
    dataset = read_dataset(tmp_path / "out")
    assert len(dataset.services) == first.services
    store = load_into(tmp_path / "g.lbug", tmp_path / "out")
    assert analysis.gaps(store) and analysis.age_bands(store) and analysis.need(store)
    graphml = tmp_path / "g.graphml"
    graphml.write_bytes(to_graphml(store))
    graph = nx.read_graphml(graphml)
    services = [n for n, d in graph.nodes(data=True) if d["kind"] == "Service"]
    assert len(services) == first.services
    assert igraph.Graph.Read_GraphML(str(graphml)).vcount() == graph.number_of_nodes()
    schema = etree.XMLSchema(etree.parse(str(GEXF_SCHEMA)))
    assert schema.validate(etree.fromstring(to_gexf(store))), schema.error_log
    store.close()


# --- The Data page says what the command line says --------------------------------------------


def test_the_data_page_shows_shape_warnings_and_fill_in_with_originals(seed_store, monkeypatch):
    app = oruk_data_page(monkeypatch, seed_store.location)
    name = "**Bristol** <b>1625</b>.json"
    app.file_uploader(key="oruk_upload").set_value((name, BRISTOL.read_bytes(), "application/json"))
    app.run()
    app.button(key="oruk_run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    (success,) = app.success
    assert "read as: HSDS 3.x service document" in success.value
    assert r"\*\*Bristol\*\* &lt;b&gt;1625&lt;/b&gt;" in success.value  # the name escaped
    captions = " ".join(c.value for c in app.caption)
    assert "2 service areas given by name were matched to ONS codes" in captions
    warnings = next(f.value for f in app.dataframe if list(f.value.columns) == ["warning"])
    assert any("ages below 0" in w and "(2)" in w for w in warnings["warning"])
    summary = next(f.value for f in app.dataframe if "how many" in f.value.columns)
    assert dict(zip(summary["column"], summary["how many"], strict=True))["sector"] == 1
    fill = next(f.value for f in app.dataframe if "original" in f.value.columns)
    assert list(fill.columns) == ["file", "row", "column", "id", "what", "original"]


def test_the_data_page_offers_keep_first(seed_store, monkeypatch):
    app = oruk_data_page(monkeypatch, seed_store.location)
    data = (DATA / "oruk-validator" / "service_list.json").read_bytes()
    app.file_uploader(key="oruk_upload").set_value(("service_list.json", data, "application/json"))
    app.run()
    app.button(key="oruk_run").click().run()
    assert "127 problems" in app.error[0].value
    assert any("Keep the first record of each id" in c.value for c in app.caption)
    app.checkbox(key="oruk_keep_first").check().run()
    app.button(key="oruk_run").click().run()
    assert not app.error and "Mapped 1 services" in app.success[0].value
    warnings = next(f.value for f in app.dataframe if list(f.value.columns) == ["warning"])
    assert sum("left out, duplicate id" in w for w in warnings["warning"]) == 127


def test_the_companion_may_give_the_ages_the_directory_left_out(tmp_path):
    companion = tmp_path / "companion.csv"
    companion.write_text(
        "oruk_service_id,min_age_months,max_age_months\n5,0,59\n", encoding="utf-8"
    )
    result = import_oruk(DATA / "ohana-csv", tmp_path / "out", companion)
    rows = {r["id"]: r for r in _rows(tmp_path / "out" / "services.csv")}
    assert (rows["5"]["min_age_months"], rows["5"]["max_age_months"]) == ("0", "59")
    ages = [f["id"] for f in result.to_fill_in if f["column"] == "min_age_months, max_age_months"]
    assert ages == ["12"]  # 5's ages now come from the companion
