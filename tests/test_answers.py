"""The analyses every door asks once per dataset version (nestmap/answers/analyses.py): the
Python API, the dashboard's summaries and the command line keep and read one answer per
question, and what is read back is what the row functions compute."""

from __future__ import annotations

import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import load_into

import nestmap
from nestmap import analysis
from nestmap.answers import analyses as answers
from nestmap.answers import summaries
from nestmap.answers.analyses import results_dir
from nestmap.answers.keep import shelf_root
from nestmap.api import seed_path
from nestmap.cli import app
from nestmap.synth import generate
from nestmap.vocabulary import COUNT_BASES

# The analyses answered through the kept answers, with the row function each must equal.
SHARED = {
    "gaps": (answers.gaps, analysis.gaps),
    "age-bands": (answers.age_bands, analysis.age_bands),
    "misdirected": (answers.misdirected, analysis.misdirected),
    "boundaries": (answers.boundaries, analysis.boundaries),
    "pathways": (answers.pathways, lambda store, area=None: analysis.pathways(store, area)),
    "concentration": (answers.concentration, analysis.concentration),
}


@pytest.fixture(scope="module", params=["seed", "synthetic"])
def graph_file(request, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"answers-{request.param}")
    source = seed_path()
    if request.param == "synthetic":
        source = folder / "dataset"
        generate(source, areas=9, services=250, links=2_500, seed=5)
    db = folder / "graph.lbug"
    load_into(db, source).close()
    return db


def _entries(db: Path) -> list[str]:
    root = shelf_root(db, ".results")
    return sorted(entry.name for entry in root.glob("*/*") if (entry / "parts.json").is_file())


def _forget(db: Path) -> None:
    shutil.rmtree(shelf_root(db, ".results"), ignore_errors=True)


@pytest.mark.parametrize("name", SHARED)
def test_kept_answers_equal_the_row_functions_whole_country_and_per_area(graph_file, name):
    shared, row_function = SHARED[name]
    with nestmap.Graph(graph_file) as graph:
        store = graph.store
        areas = [None, *sorted(la["code"] for la in analysis.local_authorities(store))[:3]]
        for area in areas:
            _forget(graph_file)
            expected = row_function(store, area)
            computed = shared(store, area)  # computed and kept
            read_back = shared(store, area)  # read back from the kept Arrow
            assert computed == expected, (name, area)
            assert read_back == expected, (name, area)
            # Same types too (an int count is not a float, a missing count is None).
            flat = expected.values() if isinstance(expected, dict) else [expected]
            flat_back = read_back.values() if isinstance(read_back, dict) else [read_back]
            for rows, back in zip(flat, flat_back, strict=True):
                for row, row_back in zip(rows, back, strict=True):
                    assert [type(v) for v in row.values()] == [type(v) for v in row_back.values()]


def test_the_command_line_and_the_api_keep_one_answer_per_question(graph_file):
    runner = CliRunner()
    for command, api_call in (
        ("misdirected", lambda g: g.misdirected()),
        ("boundaries", lambda g: g.boundaries()),
        ("gaps", lambda g: g.gaps()),
        ("pathways", lambda g: g.pathways(chains=False)),
        ("concentration", lambda g: g.concentration()),
        ("age-bands", lambda g: g.age_bands()),
    ):
        _forget(graph_file)
        printed = runner.invoke(app, [command, "--db", str(graph_file), "--format", "json"])
        assert printed.exit_code == 0, printed.output
        kept = _entries(graph_file)
        assert len(kept) == 1, kept
        with nestmap.Graph(graph_file) as graph:
            api_call(graph)  # reads the command's answer: nothing new is kept
        assert _entries(graph_file) == kept, command
        # And the other way round: the API's answer is what the command prints next.
        _forget(graph_file)
        with nestmap.Graph(graph_file) as graph:
            api_call(graph)
        assert len(_entries(graph_file)) == 1
        again = runner.invoke(app, [command, "--db", str(graph_file), "--format", "json"])
        assert again.stdout_bytes == printed.stdout_bytes, command
        assert len(_entries(graph_file)) == 1, command


def test_summaries_read_the_kept_answers(graph_file):
    with nestmap.Graph(graph_file) as graph:
        _forget(graph_file)
        figures = summaries.misdirected_summary(graph.store)
        # The summary asked misdirected and concentration: both are kept now.
        assert {name.split("-")[0] for name in _entries(graph_file)} == {
            "misdirected",
            "concentration",
        }
        assert summaries.misdirected_summary(graph.store) == figures
        rows = analysis.misdirected(graph.store)
        assert figures["links"] == len(rows)
        for basis, found in figures["by_basis"].items():
            assert found["referrals"] == sum(
                row["count"] or 0 for row in rows if row["count_basis"] == basis
            )


def _summary_by_rows(rows: list[dict], relationship_totals: dict[str, int]) -> dict:
    """The misdirected headline as the contract words it, one row at a time: per count basis,
    never adding counts of different units."""
    by_basis = {}
    for basis in COUNT_BASES:
        mine = [row for row in rows if row["count_basis"] == basis]
        if not mine:
            continue
        relationship = sum(
            row["count"] or 0 for row in mine if row["reason"] == "parent_infant_relationship"
        )
        total = relationship_totals.get(basis, 0)
        share = None
        if total:
            share = float(
                (Decimal(relationship) / Decimal(total)).quantize(
                    Decimal("0.0001"), rounding=ROUND_HALF_UP
                )
            )
        by_basis[basis] = {
            "links": len(mine),
            "counted_links": sum(row["count"] is not None for row in mine),
            "referrals": sum(row["count"] or 0 for row in mine),
            "relationship_referrals": relationship,
            "relationship_total": total,
            "relationship_share": share,
        }
    return {"links": len(rows), "by_basis": by_basis}


@pytest.mark.parametrize("blank_counts", [False, True])
def test_the_misdirected_headline_counts_as_the_rows_do(tmp_path, blank_counts):
    folder = tmp_path / "dataset"
    generate(folder, areas=6, services=150, links=1_500, seed=8)
    if blank_counts:  # every other link with no count recorded
        lines = (folder / "referrals.csv").read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        at = header.index("count")
        for number in range(1, len(lines), 2):
            cells = lines[number].split(",")
            cells[at] = ""
            lines[number] = ",".join(cells)
        (folder / "referrals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "graph.lbug"
    store = load_into(db, folder)
    las = [la["code"] for la in analysis.local_authorities(store)]
    for area in [None, *las[:2]]:
        rows = analysis.misdirected(store, area)
        totals: dict[str, int] = {}
        for row in analysis.concentration(store, area):
            totals[row["count_basis"]] = totals.get(row["count_basis"], 0) + row["count"]
        found = summaries.misdirected_summary(store, area)
        assert {k: found[k] for k in ("links", "by_basis")} == _summary_by_rows(rows, totals)
        assert found["onward"] == _summary_by_rows([r for r in rows if r["onward"]], totals)
        assert found["dead_end"] == _summary_by_rows([r for r in rows if not r["onward"]], totals)
        # The synthetic dataset counts in both units: neither is ever added to the other.
        assert set(found["by_basis"]) == {"per_year", "survey_mentions"}
        # The service counts, by the engine, as the catalogue's rows count them.
        active = [r for r in analysis.services(store, area) if r["status"] == "active"]
        assert summaries.headline(store, "services", area) == {
            "active": len(active),
            "universal": sum("universal" in r["offers"] for r in active),
        }
    assert len(active) < len(analysis.services(store, area))  # some services are not active
    store.close()


def test_the_misdirected_headline_of_a_dataset_without_referrals(tmp_path, hand_copy):
    (hand_copy / "referrals.csv").write_text(
        (hand_copy / "referrals.csv").read_text(encoding="utf-8").splitlines()[0] + "\n",
        encoding="utf-8",
    )
    store = load_into(tmp_path / "graph.lbug", hand_copy)
    empty = {"links": 0, "by_basis": {}}
    found = summaries.misdirected_summary(store)
    assert found == {**empty, "onward": empty, "dead_end": empty}
    store.close()


def test_nothing_is_kept_where_the_folder_cannot_be_written(tmp_path):
    db = tmp_path / "graph.lbug"
    load_into(db, seed_path()).close()
    with nestmap.Graph(db) as graph:
        root = results_dir(graph.store)
        assert root is not None
        root.parent.mkdir(parents=True, exist_ok=True)
        root.write_text("a file where the results folder would be")
        assert graph.misdirected() == analysis.misdirected(graph.store)
        assert graph.gaps() == analysis.gaps(graph.store)


@pytest.mark.parametrize("name", SHARED)
def test_one_la_cut_from_the_kept_whole_country_answer_equals_computing_it(graph_file, name):
    shared, row_function = SHARED[name]
    with nestmap.Graph(graph_file) as graph:
        store = graph.store
        _forget(graph_file)
        shared(store)  # the whole country, kept
        for la in analysis.local_authorities(store):
            assert shared(store, la["code"]) == row_function(store, la["code"]), la["code"]
        with pytest.raises(nestmap.errors.UsageError):
            shared(store, "NOT-AN-LA")
