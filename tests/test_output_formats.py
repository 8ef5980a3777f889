"""The analyses' output formats (nestmap/output.py): JSON, JSON Lines, CSV and Parquet of one
analysis hold the same rows; JSON parses to what the previous writer printed and CSV is its exact
bytes; ``--output`` writes whole files or nothing; the table says what it left out; results kept
beside the graph are the same bytes as computed ones and are not reused for another dataset."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import HAND, load_into
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nestmap import analysis
from nestmap.answers import arrow
from nestmap.answers.arrow import as_arrow, parts_of
from nestmap.answers.keep import shelf_root
from nestmap.cli import app, seed_path
from nestmap.errors import NestmapError
from nestmap.output import TABLE_ROWS, render, to_csv, write
from nestmap.synth import generate

# Each command and the analysis it prints (rows, or a dict of named row lists).
COMMANDS = {
    "gaps": lambda store: analysis.gaps(store),
    "misdirected": lambda store: analysis.misdirected(store),
    "boundaries": lambda store: analysis.boundaries(store),
    "pathways": lambda store: analysis.pathways(store),
    "concentration": lambda store: analysis.concentration(store),
    "need": lambda store: analysis.need(store),
    "assessment": lambda store: analysis.assessment(store),
    "workforce": lambda store: {
        key: analysis.workforce(store)[key] for key in ("services", "areas")
    },
    "thrive": lambda store: analysis.thrive(store),
    "groups-left-out": lambda store: analysis.groups_left_out(store),
}


@pytest.fixture(scope="module", params=["hand", "synthetic"])
def loaded(request, tmp_path_factory: pytest.TempPathFactory):
    """The hand-built dataset, and a small synthetic one (12 LAs, 300 services, 3,000 links)."""
    folder = tmp_path_factory.mktemp(f"formats-{request.param}")
    source = HAND
    if request.param == "synthetic":
        source = folder / "dataset"
        generate(source, areas=12, services=300, links=3_000, seed=11)
    db = folder / "graph.lbug"
    store = load_into(db, source)
    yield db, store
    store.close()


def run(*args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_format_holds_the_same_rows(loaded, command):
    db, store = loaded
    expected = COMMANDS[command](store)
    outputs = {}
    for fmt in ("json", "jsonl", "csv"):
        code, out, err = run(command, "--db", str(db), "--format", fmt)
        assert code == 0, err
        outputs[fmt] = out
    # JSON: one document, the rows exactly (the previous writer's parsed content).
    assert json.loads(outputs["json"]) == json.loads(render(expected, "json")) == expected
    # CSV: the previous writer's bytes.
    assert outputs["csv"] == render(expected, "csv").encode()
    # JSON Lines: a row per line; with several parts, each row says its part first.
    lines = [json.loads(line) for line in outputs["jsonl"].decode().splitlines()]
    if isinstance(expected, dict):
        assert all(next(iter(line)) == "part" for line in lines)
        regrouped = {name: [] for name in expected}
        for line in lines:
            regrouped[line.pop("part")].append(line)
        assert regrouped == expected
        parts = list(expected.items())
    else:
        assert lines == expected
        parts = [(None, expected)]
    # Parquet: one table per file, so one part at a time; lists as lists, nulls as nulls.
    for name, rows in parts:
        chosen = ["--part", name] if name else []
        code, out, err = run(command, "--db", str(db), "--format", "parquet", *chosen)
        assert code == 0, err
        table = pq.read_table(io.BytesIO(out))
        if rows:
            assert table.to_pylist() == rows
            assert table.column_names == list(rows[0])
        else:
            assert table.num_rows == 0


@pytest.mark.parametrize("command", ["gaps", "misdirected", "boundaries", "need"])
def test_a_kept_result_is_the_same_bytes_as_a_computed_one(loaded, command):
    db, _store = loaded
    for fmt in ("json", "csv", "jsonl"):
        first = run(command, "--db", str(db), "--format", fmt)
        again = run(command, "--db", str(db), "--format", fmt)
        assert first == again
    assert any(shelf_root(db, ".results").iterdir())


def test_a_real_process_prints_a_kept_answer_through_a_pipe(loaded, tmp_path: Path):
    """Outside CliRunner, standard output is a real pipe: the kept answer is written to it."""
    db, store = loaded
    command = [sys.executable, "-m", "nestmap.cli", "misdirected", "--db", str(db)]
    expected = render(analysis.misdirected(store), "csv").encode()
    for _ in range(2):  # computed and kept, then read back
        done = subprocess.run([*command, "--format", "csv"], capture_output=True, timeout=120)
        assert done.returncode == 0 and done.stdout == expected
    target = tmp_path / "m.csv"
    done = subprocess.run([*command, "--format", "csv", "-o", str(target)], timeout=120)
    assert done.returncode == 0 and target.read_bytes() == expected


def test_a_result_kept_for_one_dataset_is_not_used_for_the_next(tmp_path: Path):
    db = tmp_path / "graph.lbug"
    assert run("load", str(HAND), "--db", str(db))[0] == 0
    hand = run("gaps", "--db", str(db), "--format", "json")[1]
    assert run("load", str(seed_path()), "--db", str(db))[0] == 0
    seed = run("gaps", "--db", str(db), "--format", "json")[1]
    store = load_into(tmp_path / "fresh.lbug", seed_path())
    try:
        assert json.loads(seed) == analysis.gaps(store) != json.loads(hand)
    finally:
        store.close()
    kept = list(shelf_root(tmp_path / "graph.lbug", ".results").iterdir())
    assert len(kept) == 1  # the hand dataset's results went with it
    assert run("rollback", "1", "--db", str(db))[0] == 0
    assert run("gaps", "--db", str(db), "--format", "json")[1] == hand


def test_json_is_one_compact_row_per_line(loaded):
    db, store = loaded
    out = run("gaps", "--db", str(db), "--format", "json")[1].decode()
    lines = out.splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and out.endswith("]\n")
    assert len(lines) == len(analysis.gaps(store)) + 2
    assert json.loads(lines[1].rstrip(",")) == analysis.gaps(store)[0]
    boundaries = json.loads(run("boundaries", "--db", str(db), "--format", "json")[1])
    assert list(boundaries) == ["links", "threshold_cliffs"]


def test_output_writes_the_file_whole_or_not_at_all(loaded, tmp_path: Path):
    db, _store = loaded
    target = tmp_path / "gaps.csv"
    code, out, _err = run("gaps", "--db", str(db), "--format", "csv", "--output", str(target))
    assert code == 0 and out == b""
    assert target.read_bytes() == run("gaps", "--db", str(db), "--format", "csv")[1]
    parquet = tmp_path / "gaps.parquet"
    assert run("gaps", "--db", str(db), "--format", "parquet", "-o", str(parquet))[0] == 0
    assert pq.read_table(parquet).num_rows == target.read_text().count("\n") - 1
    # A failure leaves an earlier file as it was and no partial file behind.
    target.write_text("before")
    code, _out, err = run("gaps", "--db", str(db), "--area", "nowhere", "-o", str(target))
    assert code == 2 and "unknown local authority" in err
    code, _out, err = run("boundaries", "--db", str(db), "--format", "parquet", "-o", str(target))
    assert code == 2 and "--part" in err
    assert target.read_text() == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gaps.csv", "gaps.parquet"]
    code, _out, err = run("gaps", "--db", str(db), "-o", str(tmp_path))
    assert code == 2 and "directory" in err


def test_the_table_shows_a_screenful_and_says_how_many_more(loaded):
    db, store = loaded
    rows = analysis.gaps(store)
    code, out, err = run("gaps", "--db", str(db))
    assert code == 0
    shown = out.decode().splitlines()
    if len(rows) > TABLE_ROWS:
        assert len(shown) == TABLE_ROWS + 2  # header, rule, rows
        assert f"{len(rows) - TABLE_ROWS:,} more rows" in err and "--format csv" in err
    else:
        assert len(shown) == len(rows) + 2 and err == ""


# -- the writers on their own: awkward values --------------------------------------------------
AWKWARD = [
    {
        "text": 'quote " backslash \\ tab \t newline \n cr \r nul \x00 unit \x1f',
        "names": ["a,b", 'c"d', "", "é ü 文字 \u2028 \x7f"],
        "count": None,
        "share": 0.1,
        "flag": True,
        "empty": [],
    },
    {
        "text": "plain, with a comma",
        "names": None,
        "count": -(2**40),
        "share": 1e-05,
        "flag": None,
        "empty": [],
    },
    {"text": None, "names": ["x"], "count": 7, "share": 1e16, "flag": False, "empty": []},
    {"text": "", "names": [], "count": 0, "share": None, "flag": False, "empty": []},
]


def written(rows, fmt: str) -> bytes:
    stream = io.BytesIO()
    write(parts_of(rows), fmt, stream, lambda _notice: None)
    return stream.getvalue()


def expected_json_lines(rows) -> list[str]:
    return [json.dumps(row, ensure_ascii=False) for row in rows]


def test_awkward_values_encode_as_pythons_own_encoders_would():
    assert as_arrow(AWKWARD) is not None  # the Arrow path, not the row-by-row one
    assert (
        written(AWKWARD, "json").decode()
        == "[\n" + ",\n".join(expected_json_lines(AWKWARD)) + "\n]\n"
    )
    # split at \n only: U+2028 inside a string is a line break to str.splitlines, not to JSON
    assert written(AWKWARD, "jsonl").decode().split("\n")[:-1] == expected_json_lines(AWKWARD)
    assert written(AWKWARD, "csv") == to_csv(AWKWARD).encode()
    table = pq.read_table(io.BytesIO(written(AWKWARD, "parquet")))
    assert table.to_pylist() == AWKWARD


def test_a_single_column_of_empty_text_is_quoted_as_the_csv_module_does():
    rows = [{"only": ""}, {"only": None}, {"only": "x"}]
    assert written(rows, "csv") == to_csv(rows).encode()


def test_rows_that_do_not_fit_a_table_are_written_row_by_row():
    mixed = [{"value": 1, "list": ["a"]}, {"value": 2.5, "list": ["b"]}]  # 1 is not 1.0
    assert as_arrow(mixed) is None
    assert written(mixed, "csv") == to_csv(mixed).encode()
    assert json.loads(written(mixed, "json")) == mixed
    assert written(mixed, "json").decode().splitlines()[1] == '{"value": 1, "list": ["a"]},'


def test_empty_results():
    assert written([], "json") == b"[]\n"
    assert written([], "csv") == to_csv([]).encode()
    assert written({"links": [], "threshold_cliffs": []}, "json") == (
        b'{"links": [],\n"threshold_cliffs": []}\n'
    )


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_json_never_prints_infinity_and_writes_nothing_first(bad):
    for rows in ([{"a": 1.0}, {"a": bad}], [{"a": [1.0, bad]}]):
        for fmt in ("json", "jsonl"):
            stream = io.BytesIO()
            with pytest.raises(NestmapError, match="inf or NaN"):
                write(parts_of(rows), fmt, stream, lambda _notice: None)
            assert stream.getvalue() == b""


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
cells = st.one_of(st.none(), text)


@pytest.fixture(params=["buffers", "pyarrow"])
def conversion(request, monkeypatch):
    """Rows become Arrow columns either from numpy buffers or by pyarrow's own conversion
    (for long columns, or once pandas is loaded): both must give the same bytes."""
    monkeypatch.setattr(arrow, "_pyarrow_converts", lambda _count: request.param == "pyarrow")


def test_awkward_values_by_either_conversion(conversion):
    test_awkward_values_encode_as_pythons_own_encoders_would()
    test_rows_that_do_not_fit_a_table_are_written_row_by_row()
    assert as_arrow([{"big": 2**70}]) is None and as_arrow([{"nested": [[1]]}]) is None
    assert as_arrow([{"l": [1, 2]}, {"l": None}]).to_pylist() == [{"l": [1, 2]}, {"l": None}]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "id": text,
                "maybe": cells,
                "items": st.one_of(st.none(), st.lists(text, max_size=4)),
                "n": st.one_of(st.none(), st.integers(-(2**62), 2**62)),
                "x": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
                "ok": st.one_of(st.none(), st.booleans()),
            }
        ).map(lambda row: {key: row[key] for key in ("id", "maybe", "items", "n", "x", "ok")}),
        max_size=8,
    )
)
def test_any_text_encodes_as_pythons_own_encoders_would(rows):
    for use_pyarrow in (False, True):
        original = arrow._pyarrow_converts
        arrow._pyarrow_converts = lambda _count, use=use_pyarrow: use
        try:
            _same_as_python(rows)
        finally:
            arrow._pyarrow_converts = original


def _same_as_python(rows) -> None:
    if rows:
        assert as_arrow(rows) is not None
    lines = expected_json_lines(rows)
    document = "[\n" + ",\n".join(lines) + "\n]\n" if rows else "[]\n"
    assert written(rows, "json").decode() == document
    assert written(rows, "csv") == to_csv(rows).encode()
    assert written(rows, "jsonl").decode() == "".join(line + "\n" for line in lines)
