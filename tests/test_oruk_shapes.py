"""The Open Referral import on third-party data nestmap did not write (tests/data/oruk/, each
folder with its licence and source): every shape it recognises, everything it refuses, and the
rules around ids, warnings, geography and the output folder."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_into

from nestmap import analysis, geography
from nestmap.cli import seed_path
from nestmap.errors import InputError
from nestmap.interop.oruk import MARKER, import_oruk
from nestmap.loaders import read_dataset

DATA = Path(__file__).resolve().parent / "data" / "oruk"
COUNSELLING = "ac148810-d857-441c-9679-408f346de14b"


def _services(folder: Path) -> list[dict[str, str]]:
    with (folder / "services.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nestmap.cli", "import", "oruk", *args],
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("source", "shape", "count"),
    [
        ("uk-profile/examples/service_full.json", "HSDS 3.x service document", 1),
        ("uk-profile/examples/csv", "HSDS 3.x / Open Referral UK CSV folder", 1),
        ("hsds3/service_list.json", "HSDS 3.x paged list", 1),
        ("hsds3/organization_full.json", "organizations with nested services", 1),
        ("hsds31/service_full.json", "HSDS 3.x service document", 1),
        ("hsds31/csv", "HSDS 3.x / Open Referral UK CSV folder", 1),
        ("oruk-validator/organization_full.json", "organizations with nested services", 1),
        ("hsds1-sample", "HSDS 1.x tabular data package", 13),
        ("outpost/services.json", "ORUK v1 / Outpost API page", 20),
        ("outpost/service.json", "ORUK v1 / Outpost service record", 1),
    ],
)
def test_each_recognised_shape_imports(tmp_path, source, shape, count):
    result = import_oruk(DATA / source, tmp_path / "out")
    assert shape in result.shape
    assert result.services == count
    rows = _services(tmp_path / "out")
    assert len(rows) == count == len({row["id"] for row in rows})
    assert all(row["id"] and row["name"] and row["name"] != "None" for row in rows)
    assert (tmp_path / "out" / "TO_FILL_IN.csv").is_file()


def test_hsds3_service_fields_and_the_nested_organization(tmp_path):
    import_oruk(DATA / "hsds3" / "organization_full.json", tmp_path / "out")
    (row,) = _services(tmp_path / "out")
    assert row["id"] == COUNSELLING and row["name"] == "Community Counselling"
    # The service inside the organization document takes the organization as its provider.
    assert row["provider"] == "Example Organization Inc."
    assert (row["min_age_months"], row["max_age_months"]) == ("144", "216")


def test_outpost_page_maps_organisation_and_ages_in_years(tmp_path):
    result = import_oruk(DATA / "outpost" / "services.json", tmp_path / "out")
    rows = {row["id"]: row for row in _services(tmp_path / "out")}
    page = json.loads((DATA / "outpost" / "services.json").read_text(encoding="utf-8"))
    for item in page["content"]:
        row = rows[str(item["id"])]
        assert row["provider"] == (item["organisation"]["name"] or "")
        if item.get("min_age") is not None:
            assert row["min_age_months"] == str(item["min_age"] * 12)
    assert rows["2"]["provider"] == "Thomley"
    unnamed = sum(1 for item in page["content"] if not item["organisation"]["name"])
    assert any(
        f"{unnamed} services' organisation has no name in the file" in w for w in result.warnings
    )


def test_outpost_needs_referral_gives_self_referral(tmp_path):
    page = json.loads((DATA / "outpost" / "services.json").read_text(encoding="utf-8"))
    page["content"][0]["needs_referral"] = True
    page["content"][1]["needs_referral"] = False
    source = tmp_path / "page.json"
    source.write_text(json.dumps(page), encoding="utf-8")
    import_oruk(source, tmp_path / "out")
    rows = _services(tmp_path / "out")
    assert [row["self_referral"] for row in rows[:3]] == ["false", "true", ""]


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("hsds3/organization_list.json", "an organization (id 'd9d5e0f5"),
        ("hsds3/taxonomy_term.json", "a taxonomy term"),
        ("hsds3/location.json", "a location"),
        ("hsds3/service_at_location_full.json", "a service-at-location record"),
    ],
)
def test_what_is_not_a_service_directory_is_refused_saying_what_it_is(tmp_path, source, says):
    with pytest.raises(InputError) as caught:
        import_oruk(DATA / source, tmp_path / "out")
    (problem,) = caught.value.problems
    assert problem.file == Path(source).name and says in problem.reason
    assert not (tmp_path / "out").exists()
    run = _cli(str(DATA / source), "--out", str(tmp_path / "cli"))
    assert run.returncode == 2 and says in run.stderr and "Traceback" not in run.stderr


def test_an_organization_without_services_is_refused(tmp_path):
    organization = json.loads((DATA / "hsds3" / "organization_full.json").read_text("utf-8"))
    organization["services"] = []
    source = tmp_path / "org.json"
    source.write_text(json.dumps(organization), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_oruk(source, tmp_path / "out")
    assert "organization" in caught.value.problems[0].reason
    assert "without services" in caught.value.problems[0].reason


def test_duplicate_ids_are_refused_with_every_record_listed(tmp_path):
    source = DATA / "oruk-validator" / "service_list.json"
    items = json.loads(source.read_text(encoding="utf-8"))["contents"]
    with pytest.raises(InputError) as caught:
        import_oruk(source, tmp_path / "out")
    problems = caught.value.problems
    assert len(problems) == len(items) - 1 == 127
    assert {p.column for p in problems} == {f"contents[{i}].id" for i in range(1, len(items))}
    assert all(
        "duplicate id (first at service_list.json, contents[0])" in p.reason for p in problems
    )
    run = _cli(str(source), "--out", str(tmp_path / "cli"))
    assert run.returncode == 2 and "127 problems" in run.stderr
    assert not (tmp_path / "cli").exists()


def test_keep_first_keeps_the_first_and_reports_the_rest(tmp_path):
    source = DATA / "oruk-validator" / "service_list.json"
    result = import_oruk(source, tmp_path / "out", keep_first=True)
    assert result.services == 1
    dropped = [w for w in result.warnings if "left out, duplicate id" in w]
    assert len(dropped) == 127
    written = (tmp_path / "out" / "IMPORT_WARNINGS.txt").read_text(encoding="utf-8")
    assert written.count("left out, duplicate id") == 127
    run = _cli(str(source), "--out", str(tmp_path / "cli"), "--keep-first")
    assert run.returncode == 0
    assert "and 1" in run.stderr and "IMPORT_WARNINGS.txt" in run.stderr  # capped on screen


def test_a_real_directory_with_a_blank_row_is_refused_at_that_row(tmp_path):
    with pytest.raises(InputError) as caught:
        import_oruk(DATA / "hsds1-ilao", tmp_path / "out")
    assert [(p.file, p.row, p.column) for p in caught.value.problems] == [
        ("services.csv", 431, "id"),
        ("services.csv", 431, "name"),
    ]


def test_a_real_directory_imports_and_with_a_companion_loads(tmp_path):
    """The Illinois legal-aid directory (HSDS 1.x, 429 services): --keep-first leaves out the
    blank row; a companion placing every service in one English ICB makes it load."""
    first = import_oruk(DATA / "hsds1-ilao", tmp_path / "bare", keep_first=True)
    assert first.services == 429
    assert any("row 431: left out" in w for w in first.warnings)
    # 341 services name an organization that organizations.csv does not have.
    assert any(
        "341 services name an organization_id with no organization row" in w for w in first.warnings
    )
    ids = [row["id"] for row in _services(tmp_path / "bare")]
    companion = tmp_path / "companion.csv"
    with companion.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["oruk_service_id", "sector", "areas", "stages", "threshold", "self_referral",
             "assesses_relationship", "offers"]
        )  # fmt: skip
        for service_id in ids:
            writer.writerow(
                [service_id, "voluntary", "E54000040", "postnatal", "open", "true", "false",
                 "targeted:non_specialised"]
            )  # fmt: skip
        writer.writerow(["no-such-service", "voluntary", "", "", "", "", "", ""])
    result = import_oruk(DATA / "hsds1-ilao", tmp_path / "out", companion, keep_first=True)
    assert any("1 rows name no imported service" in w for w in result.warnings)
    assert [item["column"] for item in result.to_fill_in] == ["under2_population"]
    dataset = read_dataset(tmp_path / "out")
    assert len(dataset.services) == 429
    # The ICB code stands for its three local authorities, placed under it.
    assert {a.code: (a.kind, a.parent_code) for a in dataset.areas} == {
        "E54000040": ("region", None),
        "E06000022": ("local_authority", "E54000040"),
        "E06000030": ("local_authority", "E54000040"),
        "E06000054": ("local_authority", "E54000040"),
    }
    store = load_into(tmp_path / "g.lbug", tmp_path / "out")
    assert {row["area_code"] for row in analysis.gaps(store)} == {
        "E06000022",
        "E06000030",
        "E06000054",
    }
    store.close()


def _service_with_areas(tmp_path: Path, areas) -> Path:
    document = json.loads(
        (DATA / "uk-profile" / "examples" / "service_full.json").read_text("utf-8")
    )
    document["service_areas"] = areas
    source = tmp_path / "service.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    return source


@pytest.mark.parametrize(
    "areas",
    [
        "Bridgend W06000013 and Merthyr Tydfil W06000024",
        ["W06000013", "Merthyr Tydfil (W06000024)"],
        [{"service_area": "Bridgend", "uri": "https://example.org/W06000013"},
         {"name": "W06000024"}],
    ],
)  # fmt: skip
def test_service_areas_as_text_list_or_objects(tmp_path, areas):
    import_oruk(_service_with_areas(tmp_path, areas), tmp_path / "out")
    (row,) = _services(tmp_path / "out")
    assert row["areas"] == "W06000013|W06000024"


def test_a_health_board_code_means_every_authority_in_it(tmp_path):
    import_oruk(_service_with_areas(tmp_path, [{"service_area": "W11000030"}]), tmp_path / "out")
    (row,) = _services(tmp_path / "out")
    assert row["areas"] == "W11000030"
    with (tmp_path / "out" / "areas.csv").open(encoding="utf-8") as handle:
        areas = {r["code"]: r for r in csv.DictReader(handle)}
    assert areas["W11000030"]["kind"] == "region"
    assert areas["W11000030"]["name"] == "Cwm Taf Morgannwg University Health Board"
    assert {c for c, r in areas.items() if r["parent_code"] == "W11000030"} == {
        "W06000013",
        "W06000016",
        "W06000024",
    }
    assert all(r["name"] for r in areas.values())


def test_retired_and_unknown_codes(tmp_path):
    areas = ["E07000150", "E06000066", "S12000036"]  # Corby (2021), Somerset (2023), Edinburgh
    result = import_oruk(_service_with_areas(tmp_path, areas), tmp_path / "out")
    (row,) = _services(tmp_path / "out")
    assert row["areas"] == "E06000061|E06000066"  # Corby -> North Northamptonshire
    assert any(
        "E07000150 (Corby) is a retired ONS code; recorded as E06000061" in w
        for w in result.warnings
    )
    assert any("S12000036" in w and "left out" in w for w in result.warnings)
    assert ("areas.csv", "code", "S12000036") in {
        (i["file"], i["column"], i["id"]) for i in result.to_fill_in
    }
    with (tmp_path / "out" / "areas.csv").open(encoding="utf-8") as handle:
        parents = {r["code"]: r["parent_code"] for r in csv.DictReader(handle)}
    assert parents["E06000066"] == geography.local_authorities()["E06000066"].region_code
    assert parents[parents["E06000066"]] == ""  # the ICB itself is a region


def test_near_miss_keys_and_a_null_name(tmp_path):
    document = json.loads(
        (DATA / "uk-profile" / "examples" / "service_full.json").read_text("utf-8")
    )
    document["minimumAge"] = document.pop("minimum_age")
    document["Service_Areas"] = []
    result = import_oruk(_service_with_areas(tmp_path, []), tmp_path / "ok")
    source = tmp_path / "near.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    result = import_oruk(source, tmp_path / "out")
    assert any("'minimumAge' looks like 'minimum_age'" in w for w in result.warnings)
    assert any("'Service_Areas' looks like 'service_areas'" in w for w in result.warnings)
    document["name"] = None
    source.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_oruk(source, tmp_path / "out2")
    assert [(p.column, p.reason) for p in caught.value.problems] == [
        ("name", "a service needs a name (blank)")
    ]


def test_csv_blank_name_and_missing_columns_named(tmp_path):
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "services.csv").write_text("id,name\ns1,First\ns2,\n,Third\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_oruk(folder, tmp_path / "out")
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "name"), (4, "id")]
    (folder / "services.csv").write_text("identifier,title\n1,x\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_oruk(folder, tmp_path / "out")
    assert {(p.file, p.column) for p in caught.value.problems} == {
        ("services.csv", "id"),
        ("services.csv", "name"),
    }


def test_companion_and_service_area_rows_matching_no_service_are_warned(tmp_path):
    folder = tmp_path / "dir"
    shutil.copytree(DATA / "uk-profile" / "examples" / "csv", folder)
    with (folder / "service_areas.csv").open("a", encoding="utf-8") as handle:
        handle.write("stray-area,ghost-service,Nowhere,,,,\n")
    result = import_oruk(folder, tmp_path / "out")
    assert any("service_areas.csv: 1 rows name no service" in w for w in result.warnings)


def test_the_output_folder_must_be_empty_or_an_earlier_import(tmp_path):
    source = DATA / "uk-profile" / "examples" / "service_full.json"
    dataset = tmp_path / "seed"
    shutil.copytree(seed_path(), dataset)
    before = sorted((p.name, p.read_bytes()) for p in dataset.iterdir() if p.is_file())
    with pytest.raises(InputError) as caught:
        import_oruk(source, dataset)
    assert "must be empty or hold only what an earlier" in caught.value.problems[0].reason
    assert sorted((p.name, p.read_bytes()) for p in dataset.iterdir() if p.is_file()) == before
    run = _cli(str(source), "--out", str(dataset))
    assert run.returncode == 2 and "workforce.csv" in run.stderr
    # Into its own earlier output it replaces what it wrote, and removes what it no longer
    # writes (a stale file listed in the manifest).
    out = tmp_path / "out"
    import_oruk(source, out)
    manifest = json.loads((out / MARKER).read_text(encoding="utf-8"))
    (out / "workforce.csv").write_text("service_id,role,fte,aimh_level\n", encoding="utf-8")
    (out / MARKER).write_text(
        json.dumps({**manifest, "files": [*manifest["files"], "workforce.csv"]}), encoding="utf-8"
    )
    import_oruk(DATA / "hsds1-sample", out)
    assert not (out / "workforce.csv").exists()
    assert len(_services(out)) == 13
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError):
        import_oruk(source, out)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_the_fill_in_list_is_summarised_on_screen(tmp_path):
    run = _cli(str(DATA / "outpost" / "services.json"), "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    assert "read services.json as: ORUK v1 / Outpost API page" in run.stdout
    assert "  services.csv sector: 20" in run.stdout
    # One line per field, not one per service: the whole list is in the file.
    assert len(run.stdout.splitlines()) < 15
    with (tmp_path / "out" / "TO_FILL_IN.csv").open(encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == 140
