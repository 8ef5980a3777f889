"""The analyses' Arrow path (``*_table`` in nestmap/analysis/core.py), which the command line
writes: the same rows, columns, order and nulls as the row functions the Python API returns,
the contract's column types, and the same bytes in every output format; no pandas on the way."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import DATA, HAND, load_into
from test_synth import RowsOnly  # the store as an engine without Arrow (Neo4j) sees it

from nestmap.analysis import core
from nestmap.answers.arrow import as_arrow, parts_of
from nestmap.api import seed_path
from nestmap.errors import NestmapError
from nestmap.output import write
from nestmap.synth import generate

# (row function, Arrow function, the contract's columns as Arrow types)
TEXT, IDS, FLAG, COUNT = pa.string(), pa.list_(pa.string()), pa.bool_(), pa.int64()
ANALYSES = {
    "gaps": (
        core.gaps,
        core.gaps_table,
        [
            ("area_code", TEXT),
            ("area_name", TEXT),
            ("level", TEXT),
            ("stage", TEXT),
            ("specialised_services", IDS),
            ("any_services", IDS),
            ("gap", FLAG),
        ],
    ),
    "misdirected": (
        core.misdirected,
        core.misdirected_table,
        [
            ("from_service", TEXT),
            ("to_service", TEXT),
            ("reason", TEXT),
            ("count", COUNT),
            ("count_basis", TEXT),
            ("problems", IDS),
            ("onward", FLAG),
        ],
    ),
    "boundary_links": (
        core.boundary_links,
        core.boundary_links_table,
        [
            ("from_service", TEXT),
            ("to_service", TEXT),
            ("reason", TEXT),
            ("kinds", IDS),
            ("from_threshold", TEXT),
            ("to_threshold", TEXT),
        ],
    ),
    "threshold_cliffs": (
        core.threshold_cliffs,
        core.threshold_cliffs_table,
        [("area_code", TEXT), ("stage", TEXT), ("below", IDS), ("above", IDS), ("status", TEXT)],
    ),
    "age_bands": (
        core.age_bands,
        core.age_bands_table,
        [
            ("area_code", TEXT),
            ("level", TEXT),
            ("band", TEXT),
            ("specialised_services", IDS),
            ("gap", FLAG),
        ],
    ),
    "concentration": (
        core.concentration,
        core.concentration_table,
        [
            ("to_service", TEXT),
            ("count_basis", TEXT),
            ("count", COUNT),
            ("share", pa.float64()),
            ("specialised", FLAG),
        ],
    ),
    "pathways": (
        core.pathways,
        core.pathways_table,
        [("area_code", TEXT), ("entry_service", TEXT), ("destination", TEXT), ("hops", COUNT)],
    ),
}


def _no_links(folder: Path) -> Path:
    target = folder / "no-links"
    shutil.copytree(HAND, target)
    referrals = target / "referrals.csv"
    referrals.write_text(referrals.read_text().splitlines()[0] + "\n")
    return target


def _blank_counts(folder: Path, every: bool) -> Path:
    """The hand dataset with referral counts left blank: every one, or every other one."""
    target = folder / ("all-blank" if every else "some-blank")
    shutil.copytree(HAND, target)
    referrals = target / "referrals.csv"
    header, *lines = referrals.read_text().splitlines()
    blanked = []
    for number, line in enumerate(lines):
        cells = line.split(",")
        if every or number % 2:
            cells[3] = ""
        blanked.append(",".join(cells))
    referrals.write_text("\n".join([header, *blanked]) + "\n")
    return target


def _synthetic(folder: Path) -> Path:
    generate(folder / "dataset", areas=9, services=200, links=2_000, seed=5)
    return folder / "dataset"


DATASETS = [
    "hand", "seed", "synthetic", "no-links", "all-blank-counts", "some-blank-counts", "bases",
]  # fmt: skip


@pytest.fixture(scope="module", params=DATASETS)
def store(request, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp(f"arrow-{request.param}")
    source = {
        "hand": lambda: HAND,
        "seed": seed_path,
        "synthetic": lambda: _synthetic(folder),
        "no-links": lambda: _no_links(folder),
        "all-blank-counts": lambda: _blank_counts(folder, every=True),
        "some-blank-counts": lambda: _blank_counts(folder, every=False),
        "bases": lambda: DATA / "bases",  # counts in two units, capacity not recorded
    }[request.param]()
    loaded = load_into(folder / "graph.lbug", source)
    yield loaded
    loaded.close()


def _areas(store) -> list[str | None]:
    codes = sorted(row["code"] for row in store.run("local_authorities"))
    return [None, *codes[:3]]


def _bytes(document, fmt: str) -> bytes:
    stream = io.BytesIO()
    write(parts_of(document), fmt, stream, lambda _notice: None)
    return stream.getvalue()


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_the_arrow_path_gives_the_row_functions_rows_and_the_contract_types(store, name):
    rows_of, table_of, columns = ANALYSES[name]
    for area in _areas(store):
        rows = rows_of(store, area)
        table = table_of(store, area)
        assert isinstance(table, pa.Table)
        assert table.schema == pa.schema(columns)  # also when there are no rows
        assert table.to_pylist() == rows


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_the_arrow_path_writes_the_same_bytes_as_the_rows(store, name):
    rows_of, table_of, _columns = ANALYSES[name]
    for area in _areas(store):
        rows, table = rows_of(store, area), table_of(store, area)
        for fmt in ("json", "jsonl", "csv", "parquet", "table"):
            assert _bytes(table, fmt) == _bytes(rows, fmt), (fmt, area)


def test_boundaries_tables_are_both_parts_or_the_one_asked_for(store):
    both = core.boundaries_tables(store)
    assert {name: table.to_pylist() for name, table in both.items()} == core.boundaries(store)
    for fmt in ("json", "jsonl", "csv", "table"):
        assert _bytes(both, fmt) == _bytes(core.boundaries(store), fmt)
    for part in ("links", "threshold_cliffs"):
        assert core.boundaries_tables(store, None, part).equals(both[part])


def test_counts_left_blank_stay_null_and_whole_numbers(tmp_path: Path):
    store = load_into(tmp_path / "graph.lbug", _blank_counts(tmp_path, every=False))
    try:
        table = core.misdirected_table(store)
        counts = table.column("count").to_pylist()
        assert None in counts and any(isinstance(count, int) for count in counts)
        assert table.schema.field("count").type == pa.int64()
        # Nulls last, whole numbers first from the largest (the contract's order).
        present = [count for count in counts if count is not None]
        assert counts == present + [None] * (len(counts) - len(present))
        assert present == sorted(present, reverse=True)
    finally:
        store.close()


def test_a_region_without_referral_links_has_empty_typed_link_tables(tmp_path: Path):
    store = load_into(tmp_path / "graph.lbug", _no_links(tmp_path))
    try:
        for table, columns in (
            (core.misdirected_table(store), 7),
            (core.boundary_links_table(store), 6),
        ):
            assert table.num_rows == 0 and table.num_columns == columns
        # Written as the rows always were: JSON an empty list, CSV an empty header line.
        assert _bytes(core.misdirected_table(store), "json") == b"[]\n"
        assert _bytes(core.misdirected_table(store), "csv") == b"\n"
        assert core.gaps_table(store).num_rows == len(core.gaps(store)) > 0
    finally:
        store.close()


def test_a_column_with_no_value_is_written_as_the_rows_were():
    """All hops null (every entry point a dead end): as_arrow types such a column as text."""
    table = pa.table(
        {
            "area_code": pa.array(["A", "B"]),
            "hops": pa.array([None, None], pa.int64()),
        }
    )
    rows = table.to_pylist()
    assert as_arrow(rows).schema.field("hops").type == pa.string()
    for fmt in ("json", "jsonl", "csv", "parquet", "table"):
        assert _bytes(table, fmt) == _bytes(rows, fmt)


def test_the_command_line_analyses_do_not_import_pandas(tmp_path: Path):
    """pandas costs 0.2-0.4 s of a command that answers in about a second."""
    generate(tmp_path / "dataset", areas=6, services=120, links=1_500, seed=3)
    load_into(tmp_path / "graph.lbug", tmp_path / "dataset").close()
    script = (
        "import sys\n"
        "from nestmap.cli import app\n"
        "for command in sys.argv[2:]:\n"
        "    try:\n"
        "        app([command, '--db', sys.argv[1], '--format', 'json'])\n"
        "    except SystemExit as done:\n"
        "        assert not done.code, (command, done.code)\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    commands = ["gaps", "misdirected", "boundaries", "pathways", "concentration", "need"]
    commands += ["age-bands"]
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "graph.lbug"), *commands],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_engines_without_arrow_get_the_same_tables(store, name):
    rows_of, table_of, _columns = ANALYSES[name]
    plain = RowsOnly(store)
    for area in _areas(store):
        assert table_of(plain, area).equals(table_of(store, area))


def test_queries_run_side_by_side_give_what_they_give_one_at_a_time(tmp_path: Path):
    store = load_into(tmp_path / "graph.lbug", seed_path())
    try:
        requests = [("misdirected", {"area": ""}), ("onward", {}), ("gaps", {"area": ""})]
        together = store.run_tables(requests)
        assert [table.num_rows for table in together] == [
            store.run_table(name, params).num_rows for name, params in requests
        ]
        for table, (name, params) in zip(together, requests, strict=True):
            # The engine gives grouped rows, and collected lists, in no fixed order.
            assert _as_set(table) == _as_set(store.run_table(name, params))
        # A query that fails in another thread fails the call, as it would alone.
        with pytest.raises(NestmapError):
            store.run_tables([("onward", {}), ("gaps", {"area": 5})])  # not a code
    finally:
        store.close()


def _as_set(table: pa.Table) -> list[tuple]:
    return sorted(
        tuple((key, sorted(v) if isinstance(v, list) else v) for key, v in row.items())
        for row in table.to_pylist()
    )


def test_concentration_shares_of_counts_too_large_for_numpy_integers(tmp_path: Path):
    """Shares are computed in 64-bit integers unless 2 x count x 10,000 could overflow them;
    then in Python's integers: the same shares either way."""
    generate(tmp_path / "dataset", areas=4, services=60, links=1_500, seed=2)
    referrals = tmp_path / "dataset" / "referrals.csv"
    header, *lines = referrals.read_text().splitlines()
    column = header.split(",").index("count")
    huge = []
    for number, line in enumerate(lines):
        cells = line.split(",")
        cells[column] = str(10**12 - number)  # the loader's largest counts
        huge.append(",".join(cells))
    referrals.write_text("\n".join([header, *huge]) + "\n")
    store = load_into(tmp_path / "graph.lbug", tmp_path / "dataset")
    try:
        rows = core.concentration(store)
        assert sum(row["count"] for row in rows) >= (1 << 62) // 20_000  # the Python branch
        table = core.concentration_table(store)
        assert table.to_pylist() == rows
        for fmt in ("json", "csv", "parquet"):
            assert _bytes(table, fmt) == _bytes(rows, fmt)
    finally:
        store.close()
