"""nestmap.Graph, the Python front door: the same rows as the command line, for pandas too."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import HAND

import nestmap
from nestmap import analysis, cli
from nestmap.errors import InputError, NoGraphError, UsageError
from nestmap.graph import GraphStore

ANALYSES = ("gaps", "misdirected", "boundaries", "pathways", "concentration", "need")


@pytest.fixture(scope="module")
def seed_graph(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("api") / "graph.lbug"
    with nestmap.Graph(path) as graph:
        graph.load(nestmap.seed())
        yield graph


def _cli_json(db: Path, *command: str) -> object:
    result = CliRunner().invoke(cli.app, [*command, "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _plain(value: object) -> object:
    """A DataFrame cell as the JSON rows have it (pandas' missing values as None)."""
    if value is None or value is getattr(__import__("pandas"), "NA", object()):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


@pytest.mark.parametrize("name", ANALYSES)
def test_each_analysis_equals_the_cli_json_row_for_row(seed_graph, name):
    db = Path(seed_graph.location)
    result = getattr(seed_graph, name)()
    assert result == _cli_json(db, name)
    parts = result.items() if isinstance(result, dict) else [(name, result)]
    for part, rows in parts:
        frame = rows.to_pandas() if not isinstance(result, dict) else result.to_pandas()[part]
        assert list(frame.columns) == list(rows[0])
        from_pandas = [
            {column: _plain(value) for column, value in record.items()}
            for record in frame.to_dict("records")
        ]
        assert from_pandas == list(rows), part
        assert rows.to_arrow().to_pylist() == list(rows), part


@pytest.mark.parametrize("name", ANALYSES)
def test_each_analysis_with_an_area_equals_the_cli(seed_graph, name):
    db = Path(seed_graph.location)
    code = seed_graph.local_authorities()[0]["code"]
    assert getattr(seed_graph, name)(area=code) == _cli_json(db, name, "--area", code)


def test_need_shares_and_boundaries_part_pass_through(seed_graph):
    db = Path(seed_graph.location)
    assert seed_graph.need(targeted="0.1", specialist=0.05) == _cli_json(
        db, "need", "--targeted-share", "0.1", "--specialist-share", "0.05"
    )
    assert seed_graph.boundaries(part="threshold_cliffs") == _cli_json(
        db, "boundaries", "--part", "threshold_cliffs"
    )
    with pytest.raises(UsageError):
        seed_graph.boundaries(part="cliffs")


def test_pathways_chains_are_referral_chains_from_entry_to_destination(seed_graph):
    result = seed_graph.pathways()
    links = {(r["from_service"], r["to_service"]) for r in seed_graph.referral_links()}
    active = {s["id"] for s in seed_graph.services() if s["status"] == "active"}
    assert len(result.chains) == len(result)
    assert any(chain and len(chain) > 2 for chain in result.chains)
    for row, chain in zip(result, result.chains, strict=True):
        if row["destination"] is None:
            assert chain is None
            continue
        assert chain[0] == row["entry_service"] and chain[-1] == row["destination"]
        assert len(chain) == row["hops"] + 1
        assert all(step in active for step in chain)
        assert all(pair in links for pair in zip(chain, chain[1:], strict=False))
    with_chains = result.with_chains()
    assert [row["chain"] for row in with_chains] == result.chains


def test_pathways_chain_by_hand(hand_store):
    rows = analysis.pathways(hand_store, "E1", chains=True)
    chains = {row["entry_service"]: row["chain"] for row in rows}
    # gp -> hv -> bim and gp -> hv -> pim tie at 2: the smaller destination, through hv.
    assert chains == {
        "bim": ["bim"],
        "gp": ["gp", "hv", "bim"],
        "hv": ["hv", "bim"],
        "mw": ["mw", "pim"],
    }


def test_tables_offer_pandas_and_arrow(seed_graph):
    gaps = seed_graph.gaps(area="W06000024")
    frame = gaps.to_pandas()
    assert len(frame) == len(gaps) and set(frame["area_code"]) == {"W06000024"}
    assert gaps.to_arrow().num_rows == len(gaps)
    assert gaps[0] == dict(gaps[0]) and isinstance(gaps, list)
    hops = seed_graph.pathways().to_pandas()["hops"]
    assert str(hops.dtype) == "Int64"  # whole numbers, nulls as <NA>


def test_empty_results_keep_their_columns(tmp_path):
    with nestmap.Graph(tmp_path / "g.lbug") as graph:
        graph.load(HAND)
        rows = graph.concentration(area="F1")
        columns = ["to_service", "count_basis", "count", "share", "specialised"]
        assert rows == [] and list(rows.to_pandas().columns) == columns
        assert rows.to_arrow().column_names == columns


def test_load_keep_versions_rollback_and_info(tmp_path):
    with nestmap.Graph(tmp_path / "g.lbug", keep=2) as graph:
        assert not graph.has_dataset()
        with pytest.raises(NoGraphError):
            graph.gaps()
        first = graph.load(HAND)
        assert first["dataset"] == "hand" and first["nodes"]["Service"] > 0
        graph.load(nestmap.seed())
        assert [v["name"] for v in graph.versions()] == ["hand"]
        graph.rollback(graph.versions()[0]["version"])
        assert graph.info()["dataset"] == "hand"


def test_a_bad_load_raises_every_problem_and_keeps_the_graph(tmp_path, hand_copy):
    (hand_copy / "offers.csv").write_text("service_id,level,focus,interventions\n")
    with nestmap.Graph(tmp_path / "g.lbug") as graph:
        graph.load(HAND)
        with pytest.raises(InputError) as raised:
            graph.load(hand_copy)
        assert raised.value.problems
        assert graph.info()["dataset"] == "hand"


def test_load_bytes_of_an_upload(tmp_path):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(HAND.glob("*.csv")):
            archive.write(path, path.name)
    with nestmap.Graph(tmp_path / "g.lbug") as graph:
        assert graph.load(buffer.getvalue(), name="upload.zip")["dataset"] == "upload"
        with pytest.raises(UsageError):
            graph.load(buffer.getvalue())


def test_scenario_compare_and_export(seed_graph, tmp_path):
    from nestmap.scenarios import bundled_scenarios

    before = seed_graph.gaps()
    result = seed_graph.scenario(bundled_scenarios()[0])
    assert {"summary", "comparison", "gaps_before", "gaps_after"} <= set(result)
    assert result["gaps_before"] == before and seed_graph.gaps() == before  # not changed
    out = seed_graph.export(tmp_path / "copy")
    assert {"areas.csv", "offers.csv", "dataset.csv"} <= {p.name for p in out.glob("*.csv")}
    same = seed_graph.compare(out)
    assert same["changes"] == []
    assert seed_graph.export(tmp_path / "g.graphml").read_bytes().startswith(b"<?xml")
    with pytest.raises(UsageError):
        seed_graph.export(tmp_path / "x", "pdf")


def test_scenario_file_problems_say_scenario_file(seed_graph, tmp_path):
    with pytest.raises(InputError) as raised:
        seed_graph.scenario(tmp_path / "missing.yaml")
    assert str(raised.value) == "1 problem in the scenario file"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nretire_services: [no_such_service]\n")
    with pytest.raises(InputError) as raised:
        seed_graph.scenario(bad)
    assert "in the scenario" in str(raised.value)


def test_compare_removes_its_scratch_graphs_when_a_dataset_is_bad(tmp_path, hand_copy, monkeypatch):
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    (hand_copy / "services.csv").write_text("id\n")
    with pytest.raises(InputError):
        nestmap.api.compare_datasets(HAND, hand_copy)
    assert list(scratch.iterdir()) == []


def test_query_wraps_the_read_only_console(seed_graph):
    rows = seed_graph.query("MATCH (s:Service) RETURN s.id AS id ORDER BY id", limit=2)
    assert [row["id"] for row in rows] == sorted(s["id"] for s in seed_graph.services())[:2]
    assert rows.truncated and rows.columns == ["id"]


def test_a_uri_that_is_not_neo4j_is_refused():
    with pytest.raises(UsageError):
        nestmap.Graph("http://example.org/graph")


def test_seed_and_lazy_import():
    assert (nestmap.seed() / "services.csv").is_file()
    assert {"Graph", "seed"} <= set(dir(nestmap))
    code = "import sys, nestmap; print('pandas' in sys.modules, 'nestmap.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_run_table_default_builds_arrow_from_rows(seed_store):
    class RowsOnly(GraphStore):
        """The seed graph seen through ``run`` only, as an engine without Arrow would give it."""

        engine = "rows-only"
        location = "memory"

        def run(self, name, params=None):
            return seed_store.run(name, params)

        def run_read_only(self, cypher, params, limit, timeout_s):
            raise NotImplementedError

        def replace(self, dataset, progress=None):
            raise NotImplementedError

        def has_graph(self):
            return True

        def version(self):
            return "1"

    rows_only = RowsOnly()
    for name in ("misdirected", "boundary_links", "pathways"):
        assert getattr(analysis, name)(rows_only) == getattr(analysis, name)(seed_store), name
    assert analysis.misdirected(rows_only, "W06000024") == analysis.misdirected(
        seed_store, "W06000024"
    )


def test_summaries_are_the_analyses_own_figures(hand_store):
    graph = nestmap.Graph.over(hand_store)
    assert graph.region_name() is None  # two regions: no single name
    misdirected = graph.misdirected()
    found = graph.misdirected_summary()
    assert found["links"] == len(misdirected)
    # The hand dataset counts only referrals a year (no count_basis column).
    (per_year,) = found["by_basis"].values()
    assert list(found["by_basis"]) == ["per_year"] == graph.count_bases()
    assert per_year["referrals"] == sum(row["count"] or 0 for row in misdirected)
    total = sum(row["count"] for row in graph.concentration())
    relationship = sum(
        row["count"] or 0 for row in misdirected if row["reason"] == "parent_infant_relationship"
    )
    assert per_year["relationship_total"] == total
    assert per_year["relationship_share"] == round(relationship / total, 4)
    # By hand (see test_pathways_by_hand): 6 of 10 LA x entry rows are dead ends; services
    # gp, hv, mw, tod are each a dead end somewhere, of bim, gp, hv, mw, tod.
    assert graph.dead_ends() == {"pairs": 6, "of_pairs": 11, "services": 4, "of_services": 6}
    gap_cells = graph.per_area("gap_cells", level="specialist")
    assert gap_cells == {
        code: sum(r["gap"] for r in graph.gaps(code) if r["level"] == "specialist")
        for code in ("E1", "E2", "E3", "F1")
    }
    shortfall = graph.per_area("demand_shortfall")
    assert shortfall["E3"] is None  # no population: no demand
    # targeted + specialist: the statutory row (families unlikely to access help) is never added.
    assert shortfall["E1"] == round(
        sum(r["shortfall"] for r in graph.need("E1") if r["level"] != "statutory"), 1
    )
    with pytest.raises(ValueError):
        graph.per_area("colour")


def test_region_name_and_names(seed_graph):
    assert seed_graph.region_name() == "Cwm Taf Morgannwg University Health Board"
    assert seed_graph.area_names()["W06000024"] == "Merthyr Tydfil"
    names = seed_graph.service_names()
    assert set(names) == {row["id"] for row in seed_graph.services()}


def test_headlines_are_the_analyses_figures(seed_graph):
    gaps = seed_graph.gaps()
    assert seed_graph.headline("gap_cells") == {
        "gaps": sum(r["gap"] for r in gaps),
        "cells": len(gaps),
    }
    cliffs = seed_graph.boundaries(part="threshold_cliffs")
    assert seed_graph.headline("threshold_cliffs")["cliff"] == sum(
        r["status"] == "cliff" for r in cliffs
    )
    active = [s for s in seed_graph.services() if s["status"] == "active"]
    assert seed_graph.headline("services") == {
        "active": len(active),
        "universal": sum("universal" in s["offers"] for s in active),
    }
    # The report's finding 5: seven practitioners at AiMH levels 2-3.
    assert seed_graph.headline("practitioners") == {"level_2_3": 7}
    rows = seed_graph.need(area="W06000013")
    total = sum(r["shortfall"] for r in rows if r["level"] != "statutory")
    statutory = sum(r["shortfall"] for r in rows if r["level"] == "statutory")
    found = seed_graph.headline("shortfall", "W06000013")
    assert found["total"] == round(total, 1)  # the statutory row is never added
    assert found["statutory"] == round(statutory, 1)
    totals = seed_graph.need_totals("W06000013")
    assert found["unrecorded"] == totals["intervention"]["unrecorded"]
    with pytest.raises(ValueError):
        seed_graph.headline("everything")


def test_misdirected_per_area_counts_each_la_the_source_covers(hand_store):
    graph = nestmap.Graph.over(hand_store)
    covers = {row["id"]: row["covers"] for row in graph.services()}
    expected = dict.fromkeys(("E1", "E2", "E3", "F1"), 0)
    for row in graph.misdirected():
        for code in covers[row["from_service"]]:
            expected[code] += row["count"] or 0
    assert graph.per_area("misdirected_referrals") == expected
    assert any(expected.values())


def test_a_store_is_a_context_manager(tmp_path):
    from nestmap.graph import open_store

    with open_store(tmp_path / "g.lbug") as store:
        store.replace(__import__("nestmap.loaders", fromlist=["x"]).read_dataset(HAND))
        assert store.has_graph()
