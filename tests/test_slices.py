"""One local authority (``--area``) cut out of the kept whole-country answer
(nestmap/answers/slices.py) is the answer computing that LA gives: for every sliceable
analysis, every LA of the seed region and of a synthetic region, in every output format, the
same bytes. The cut answers come from a separate process that never imports the graph engine
(nor pandas): they can only have been sliced. A slice never outlives its dataset (load and
rollback), and an unknown code is still the usage error, whatever is kept."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import load_into

from nestmap import analysis
from nestmap.analysis._shape import LISTED_CODES, match_area, unknown_area
from nestmap.answers.keep import shelf_root
from nestmap.answers.slices import SLICEABLE, keep_area_coverage, keep_slice_facts
from nestmap.api import seed_path
from nestmap.cli import app
from nestmap.errors import UsageError
from nestmap.synth import generate

FORMATS = ("json", "jsonl", "csv", "table", "parquet")
# Each sliceable command with the options it is asked with. The --part questions are answered
# from the whole-country answer holding both parts (only the options without --part are asked
# for the whole country below).
QUESTIONS = [
    ("gaps",),
    ("age-bands",),
    ("need",),
    ("need", "--preset", "general_population", "--specialist-share", "0.2"),
    ("pathways",),
    ("misdirected",),
    ("boundaries",),
    ("boundaries", "--part", "links"),
    ("boundaries", "--part", "threshold_cliffs"),
    ("concentration",),  # summed again from the kept relationship referral links
]
WHOLE_COUNTRY = [question for question in QUESTIONS if "--part" not in question]


def run(*args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout_bytes, result.stderr


def synthetic_region(folder: Path) -> Path:
    """A small synthetic region (15 LAs in 3 regions; services covering one LA, two, or a whole
    region) with the awkward cases: LAs without a population (need's blanks) and an LA that no
    service covers (no links, no entry point: empty answers)."""
    generate(folder, areas=14, services=250, links=2_500, seed=5)
    with open(folder / "areas.csv", "a", encoding="utf-8") as areas:
        areas.write("X12000099,Lonely Region,region,,,\n")
        areas.write("X06000099,Uncovered LA,local_authority,X12000099,1200,600\n")
    return folder


@pytest.fixture(scope="module", params=["seed", "synthetic"])
def dataset(request, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if request.param == "seed":
        return seed_path()
    return synthetic_region(tmp_path_factory.mktemp("slices-data") / "synthetic")


# Runs CLI commands (a JSON list of argument lists on stdin) in a fresh process and prints each
# one's exit code, output (base64) and error text, and which of the heavy modules were imported.
SLICER = """
import base64, json, sys
from click.testing import CliRunner
from nestmap.cli import app
answers = []
for args in json.load(sys.stdin):
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    answers.append(
        [result.exit_code, base64.b64encode(result.stdout_bytes).decode(), result.stderr]
    )
print(json.dumps({"answers": answers, "imported": [m for m in ("ladybug", "pandas") if m in sys.modules]}))
"""


def in_fresh_process(commands: list[list[str]]) -> tuple[list[tuple[int, bytes, str]], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", SLICER],
        input=json.dumps(commands),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    answers = [(code, base64.b64decode(out), err) for code, out, err in found["answers"]]
    return answers, found["imported"]


def test_every_slice_is_the_computed_answer_in_every_format(dataset: Path, tmp_path: Path):
    computed_db = tmp_path / "computed.lbug"  # never asked for the whole country
    sliced_db = tmp_path / "sliced.lbug"
    codes = []
    for db in (computed_db, sliced_db):
        store = load_into(db, dataset)
        codes = analysis.local_authority_codes(store)
        if db == sliced_db:
            keep_slice_facts(store)  # as the warm-up after a load does
        store.close()
    assert len(codes) >= 3
    for question in WHOLE_COUNTRY:
        assert run(*question, "--db", str(sliced_db), "--format", "json")[0] == 0
    commands = [
        [*question, "--db", str(sliced_db), "--area", code, "--format", fmt]
        for question in QUESTIONS
        for code in codes
        for fmt in FORMATS
    ]
    # An unknown code is the same usage error with the answers kept.
    commands += [
        [question[0], "--db", str(sliced_db), "--area", "W06000999"] for question in QUESTIONS
    ]
    sliced, imported = in_fresh_process(commands)
    assert imported == []  # neither the engine nor pandas: every answer was cut, none computed
    checked = 0
    for command, answer in zip(commands, sliced, strict=True):
        computed = run(*[str(computed_db) if arg == str(sliced_db) else arg for arg in command])
        assert answer == computed, command
        checked += computed[0] == 0 and bool(computed[1])
    assert checked >= len(QUESTIONS) * len(codes) * (len(FORMATS) - 1)
    for code, _out, err in sliced[-len(QUESTIONS) :]:
        assert code == 2 and err.startswith("error: unknown local authority code 'W06000999'")
    # A slice is cut each time it is asked, never kept: beside the whole-country answers are
    # only what cutting needs.
    kept = {entry.name.split("-")[0] for entry in shelf_root(sliced_db, ".results").glob("*/[!.]*")}
    assert kept == {name.split("-")[0] for name in [*SLICEABLE, "concentration"]} | {
        "area",
        "relationship",
    }


def test_a_slice_equals_the_analysis_for_each_local_authority(tmp_path: Path):
    """The contract's per-LA rows, in Python: for each LA, the LA's rows of the whole-country
    answer (or its links whose referring service covers it) in the whole-country order are the
    rows computing that LA gives, including for an LA nothing covers."""
    db = tmp_path / "graph.lbug"
    store = load_into(db, synthetic_region(tmp_path / "synthetic"))
    try:
        covering = {
            row["area_code"]: set(row["services"]) for row in keep_area_coverage(store).to_pylist()
        }
        whole = {
            "gaps": analysis.gaps(store),
            "need": analysis.need(store),
            "pathways": analysis.pathways(store),
            "misdirected": analysis.misdirected(store),
            "links": analysis.boundary_links(store),
            "threshold_cliffs": analysis.threshold_cliffs(store),
            "age_bands": analysis.age_bands(store),
        }
        assert covering["X06000099"] == set()
        for code in analysis.local_authority_codes(store):
            per_la = {
                "gaps": analysis.gaps(store, code),
                "need": analysis.need(store, code),
                "pathways": analysis.pathways(store, code),
                "misdirected": analysis.misdirected(store, code),
                "links": analysis.boundary_links(store, code),
                "threshold_cliffs": analysis.threshold_cliffs(store, code),
                "age_bands": analysis.age_bands(store, code),
            }
            for name, rows in whole.items():
                if name in ("misdirected", "links"):
                    cut = [row for row in rows if row["from_service"] in covering[code]]
                else:
                    cut = [row for row in rows if row["area_code"] == code]
                assert cut == per_la[name], (name, code)
    finally:
        store.close()


def test_a_slice_never_outlives_its_dataset(tmp_path: Path):
    """Load and rollback make a new dataset version: its LA answers are its own."""
    first = synthetic_region(tmp_path / "first")
    second = tmp_path / "second"
    generate(second, areas=14, services=250, links=2_500, seed=6)  # the same LA codes
    db = tmp_path / "graph.lbug"

    def expected(source: Path, code: str) -> bytes:
        store = load_into(tmp_path / f"fresh-{source.name}.lbug", source)
        try:
            rows = {"misdirected": analysis.misdirected(store, code)}
        finally:
            store.close()
        return json.dumps(rows["misdirected"]).encode()

    def asked(code: str) -> bytes:
        code_, out, err = run("misdirected", "--db", str(db), "--area", code, "--format", "json")
        assert code_ == 0, err
        return json.dumps(json.loads(out)).encode()

    assert run("load", str(first), "--db", str(db))[0] == 0
    assert run("misdirected", "--db", str(db), "--format", "json")[0] == 0  # kept: slices next
    assert asked("X06000003") == expected(first, "X06000003")
    assert run("load", str(second), "--db", str(db))[0] == 0
    assert asked("X06000003") == expected(second, "X06000003") != expected(first, "X06000003")
    # The uncovered LA came with the first dataset only: the second's kept codes do not have it.
    assert run("misdirected", "--db", str(db), "--format", "json")[0] == 0
    code, _out, err = run("misdirected", "--db", str(db), "--area", "X06000099")
    assert code == 2 and "unknown local authority code 'X06000099'" in err
    assert run("rollback", "1", "--db", str(db))[0] == 0
    assert asked("X06000004") == expected(first, "X06000004")
    assert run("misdirected", "--db", str(db), "--format", "json")[0] == 0
    assert asked("X06000099") == expected(first, "X06000099") == b"[]"


def test_without_the_kept_coverage_a_slice_reads_it_from_the_graph_once(tmp_path: Path):
    """No warm-up: the first slice reads which services cover each LA from the graph and keeps
    it beside the results; the answers are the same."""
    db = tmp_path / "graph.lbug"
    load_into(db, seed_path()).close()
    assert run("misdirected", "--db", str(db), "--format", "csv")[0] == 0
    folder = next(shelf_root(db, ".results").iterdir())
    assert not list(folder.glob("area-coverage-*"))
    sliced = run("misdirected", "--db", str(db), "--area", "W06000016", "--format", "csv")
    assert list(folder.glob("area-coverage-*"))
    store = load_into(tmp_path / "fresh.lbug", seed_path())
    try:
        rows = analysis.misdirected(store, "W06000016")
    finally:
        store.close()
    assert sliced[0] == 0 and sliced[1].decode().count("\n") == len(rows) + 1


def test_concentration_of_one_local_authority_is_summed_from_the_kept_links(tmp_path: Path):
    """Its shares are of the LA's own total: not a slice of the whole country's, but the same
    rows as the analysis, summed from the kept relationship referral links; without them kept,
    the first such answer reads them from the graph."""
    db = tmp_path / "graph.lbug"
    store = load_into(db, synthetic_region(tmp_path / "synthetic"))
    try:
        assert run("concentration", "--db", str(db), "--format", "json")[0] == 0
        folder = next(shelf_root(db, ".results").iterdir())
        assert not list(folder.glob("relationship-referrals-*"))
        for code in analysis.local_authority_codes(store):
            out = run("concentration", "--db", str(db), "--area", code, "--format", "json")[1]
            assert json.loads(out) == analysis.concentration(store, code), code
        assert list(folder.glob("relationship-referrals-*"))
        whole = analysis.concentration(store)
        some = analysis.concentration(store, "X06000003")
        assert sum(row["count"] for row in some) < sum(row["count"] for row in whole)
        assert some[0]["share"] != next(
            row["share"] for row in whole if row["to_service"] == some[0]["to_service"]
        )
    finally:
        store.close()


def test_an_unknown_code_lists_the_closest_codes_at_national_scale():
    few = {"W06000013": "Bridgend", "W06000016": "Rhondda Cynon Taf", "W06000024": "Merthyr Tydfil"}
    assert str(unknown_area("nowhere", few)) == (
        "unknown local authority code 'nowhere' (nor the name of one); known codes: "
        "W06000013 (Bridgend), W06000016 (Rhondda Cynon Taf), W06000024 (Merthyr Tydfil)"
    )
    # A name's first word mistyped: the closest named after the list.
    assert str(unknown_area("Merthir", few)).endswith("; the closest: W06000024 (Merthyr Tydfil)")
    assert str(unknown_area("x", {})).endswith("known codes: (none loaded)")
    many = {f"X06{index:06d}": f"Place {index}" for index in range(1, 401)}
    typo = str(unknown_area("x06000200", many))
    assert typo.startswith(
        "unknown local authority code 'x06000200' (nor the name of one); the closest known codes: "
    )
    listed = typo.split("codes: ", 1)[1].split(" (and ", 1)[0].split(", ")
    assert listed[0] == "X06000200 (Place 200)" and len(listed) == LISTED_CODES
    assert f"and {400 - LISTED_CODES} more" in typo and "nestmap query" in typo
    by_name = str(unknown_area("place 3999", many))
    assert "the closest known codes: X06000399 (Place 399)" in by_name
    nothing_like = str(unknown_area("nowhere", many))
    assert "known codes include: X06000001 (Place 1), X06000002 (Place 2)" in nothing_like
    assert len(nothing_like) < 800


def test_an_area_is_found_by_code_or_name_in_any_case():
    few = {"W06000013": "Bridgend", "W06000016": "Rhondda Cynon Taf", "W06000024": "Merthyr Tydfil"}
    for asked in ("W06000024", "w06000024", " Merthyr Tydfil ", "MERTHYR  tydfil"):
        assert match_area(asked, few) == "W06000024", asked
    with pytest.raises(UsageError, match="nor the name of one"):
        match_area("Merthyr", few)
    twins = {"E1": "Newport", "W1": "Newport"}
    with pytest.raises(
        UsageError, match=r"2 local authorities are named 'newport'.*E1 \(Newport\)"
    ):
        match_area("newport", twins)
