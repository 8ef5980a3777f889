"""Interoperability: GraphML/GEXF/Kumu exports and the Open Referral UK import."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from conftest import load_into

from nestmap import analysis
from nestmap.errors import InputError
from nestmap.interop import to_gexf, to_graphml
from nestmap.interop.oruk import import_oruk
from nestmap.loaders import read_dataset

# Vendored Open Referral UK examples (CC BY-SA 4.0; see tests/data/oruk/uk-profile/SOURCE.md).
ORUK = Path(__file__).resolve().parent / "data" / "oruk" / "uk-profile" / "examples"
SERVICE_ID = "ac148810-d857-441c-9679-408f346de14b"


def _counts(store):
    summary = analysis.info(store)
    return sum(summary["nodes"].values()), sum(summary["links"].values())


def test_graphml_parses_with_networkx_and_matches_info(seed_store, tmp_path):
    path = tmp_path / "seed.graphml"
    path.write_bytes(to_graphml(seed_store))
    graph = nx.read_graphml(path)
    assert (graph.number_of_nodes(), graph.number_of_edges()) == _counts(seed_store)
    hv = graph.nodes["service:ctm_health_visiting"]
    assert hv["kind"] == "Service" and hv["specialised"] is False
    misdirected = [d for _, _, d in graph.edges(data=True) if d.get("misdirected")]
    assert len(misdirected) == len(analysis.misdirected(seed_store))
    area = graph.nodes["area:W06000013"]
    assert area["gap_cells"] == sum(
        r["gap"] for r in analysis.gaps(seed_store) if r["area_code"] == "W06000013"
    )


def test_gexf_parses_with_networkx(seed_store, tmp_path):
    path = tmp_path / "seed.gexf"
    path.write_bytes(to_gexf(seed_store))
    graph = nx.read_gexf(path)
    assert (graph.number_of_nodes(), graph.number_of_edges()) == _counts(seed_store)


def test_oruk_service_full_json_field_by_field(tmp_path):
    result = import_oruk(ORUK / "service_full.json", tmp_path / "out")
    with (tmp_path / "out" / "services.csv").open(encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["id"] == SERVICE_ID
    assert row["name"] == "Community Counselling"
    assert row["provider"] == "Example Organization Inc."
    assert row["status"] == "active"
    assert row["min_age_months"] == "144"  # 12 years
    assert row["max_age_months"] == "216"  # 100 years, capped at 18
    assert row["source"] == f"Open Referral service {SERVICE_ID}"
    for unknown in ("sector", "stages", "threshold", "self_referral", "assesses_relationship"):
        assert row[unknown] == ""
    missing = {(item["file"], item["column"]) for item in result.to_fill_in}
    assert ("services.csv", "sector") in missing and ("offers.csv", "level, focus") in missing
    assert any("latitude 100" in warning for warning in result.warnings)
    assert any("216 months" in warning for warning in result.warnings)


def test_oruk_csv_examples_import_and_warn_about_duplicates(tmp_path):
    result = import_oruk(ORUK / "csv", tmp_path / "out")
    assert result.services == 1
    assert any("schedule.csv and schedules.csv" in warning for warning in result.warnings)
    assert (tmp_path / "out" / "TO_FILL_IN.csv").is_file()


def test_oruk_with_companion_loads(tmp_path, hand_copy):
    companion = tmp_path / "companion.csv"
    companion.write_text(
        "oruk_service_id,sector,areas,stages,threshold,self_referral,assesses_relationship,offers\n"
        f"{SERVICE_ID},voluntary,W06000016,postnatal,open,true,false,"
        "targeted:non_specialised|specialist:specialised\n"
    )
    result = import_oruk(ORUK / "service_full.json", tmp_path / "out", companion)
    assert [item["column"] for item in result.to_fill_in] == ["under2_population"]
    dataset = read_dataset(tmp_path / "out")
    (service,) = dataset.services
    assert service.covers == ("W06000016",)
    assert {a.code: a.kind for a in dataset.areas} == {
        "W06000016": "local_authority",
        "W11000030": "region",
    }
    store = load_into(tmp_path / "g.lbug", tmp_path / "out")
    assert analysis.gaps(store, "W06000016")[-1]["specialised_services"] == [SERVICE_ID]
    store.close()


def test_malformed_oruk_is_exit_2_with_file_and_reason(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(InputError) as caught:
        import_oruk(bad, tmp_path / "out")
    assert caught.value.problems[0].file == "broken.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "nestmap.cli",
            "import",
            "oruk",
            str(bad),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "broken.json: not valid JSON" in run.stderr
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "services.csv").write_text("identifier,title\n1,x\n")
    with pytest.raises(InputError) as caught:
        import_oruk(folder, tmp_path / "out2")
    assert {(p.file, p.column) for p in caught.value.problems} == {
        ("services.csv", "id"),
        ("services.csv", "name"),
    }
