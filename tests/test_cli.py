"""The command line behaves: quiet on a closed pipe, stops its whole dashboard when stopped,
names --port when the port is taken, and says what failed. CliRunner where a process adds
nothing; a real process where the behaviour is the process's own (pipes, signals)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import HAND

import nestmap
from nestmap import cli
from nestmap.scenarios import bundled_scenarios


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli.app, list(args), env=env)


@pytest.fixture(scope="module")
def seed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "graph.lbug"
    with nestmap.Graph(db) as graph:
        graph.load(nestmap.seed())
    return db


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _nestmap(*args: str) -> list[str]:
    return [sys.executable, "-m", "nestmap.cli", *args]


def test_a_closed_pipe_is_quiet(seed_db):
    """The reader is gone before the first write (as `| head` can be): no BrokenPipeError."""
    for command in (
        ("scenario", "compare", str(bundled_scenarios()[0]), "--db", str(seed_db)),
        ("gaps", "--db", str(seed_db)),
    ):
        process = subprocess.Popen(
            _nestmap(*command), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        process.stdout.close()  # the reader stops reading at once
        _, errors = process.communicate(timeout=120)
        assert b"BrokenPipe" not in errors and b"error" not in errors, errors.decode()


def test_a_taken_port_names_the_port_option(seed_db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for command in ("dashboard", "demo"):
            result = invoke(
                command, "--db", str(seed_db), "--port", str(port), "--address", "127.0.0.1"
            )
            assert result.exit_code == 2
            assert f"port {port}" in result.output and "--port" in result.output


def _wait_for(url: str, deadline_s: float = 90) -> None:
    ends = time.monotonic() + deadline_s
    while time.monotonic() < ends:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"nothing answered at {url}")


def _port_is_closed(port: int, deadline_s: float = 30) -> bool:
    ends = time.monotonic() + deadline_s
    while time.monotonic() < ends:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.5)
    return False


def _as_a_terminal_starts_it() -> None:
    # Whatever the tests inherited (run from a script in the background, SIGINT is ignored).
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _as_a_background_job_starts_it() -> None:
    # A shell starts a background job (`nestmap demo &`, or one in a script) so.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stop", "start"),
    [
        (signal.SIGTERM, _as_a_terminal_starts_it),
        (signal.SIGINT, _as_a_terminal_starts_it),
        (signal.SIGINT, _as_a_background_job_starts_it),
    ],
)
def test_stopping_the_demo_stops_its_server(tmp_path, stop, start):
    port = _free_port()
    db = tmp_path / "demo.lbug"
    process = subprocess.Popen(
        _nestmap("demo", "--db", str(db), "--port", str(port), "--address", "127.0.0.1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # Its own session: the signal reaches nestmap only, as `kill PID` does (a terminal's
        # Ctrl+C would reach the whole group).
        start_new_session=True,
        preexec_fn=start,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/_stcore/health")
        process.send_signal(stop)
        _, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert f"the demo graph is at {db}" in errors
    assert f"--db {db}" in errors
    assert _port_is_closed(port), "the Streamlit child is still serving"


def test_demo_help_says_where_its_graph_is_by_default(tmp_path, monkeypatch):
    text = " ".join(invoke("demo", "--help").output.split())
    assert "default: demo.lbug beside the default graph - in the folder of $NESTMAP_DB" in text
    assert "never $NESTMAP_DB itself" in text
    # What the help says is what the demo does.
    monkeypatch.setenv("NESTMAP_DB", str(tmp_path / "mine.lbug"))
    assert cli.demo_db_path() == tmp_path / "demo.lbug"
    monkeypatch.delenv("NESTMAP_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert cli.demo_db_path() == tmp_path / "data" / "nestmap" / "demo.lbug"


def test_a_file_that_is_not_a_graph_is_refused_with_a_hint(tmp_path, hand_copy):
    workbook = tmp_path / "dataset.xlsx"
    assert invoke("template", str(workbook)).exit_code == 0
    before = workbook.read_bytes()
    result = invoke("gaps", "--db", str(workbook))
    assert result.exit_code == 2
    assert "is a workbook, not a nestmap graph" in result.output
    assert f"nestmap load {workbook} --db graph.lbug" in result.output
    # A load into it is refused too: the workbook is not replaced by a graph.
    assert invoke("load", str(hand_copy), "--db", str(workbook)).exit_code == 2
    assert workbook.read_bytes() == before
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = invoke("info", "--db", str(text))
    assert result.exit_code == 2 and "--db names the graph file" in result.output


def test_load_dot_names_the_dataset_after_the_folder(hand_copy, tmp_path, monkeypatch):
    monkeypatch.chdir(hand_copy)
    db = tmp_path / "graph.lbug"
    result = invoke("load", ".", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "Loaded 'hand' into" in result.output
    info = json.loads(invoke("info", "--db", str(db), "--format", "json").output)
    assert info["dataset"] == "hand"


def test_area_by_name_or_code_in_any_case(seed_db):
    by_code = invoke("gaps", "--db", str(seed_db), "--area", "W06000024", "--format", "json")
    assert by_code.exit_code == 0
    for asked in ("w06000024", "Merthyr Tydfil", "merthyr tydfil", " MERTHYR  TYDFIL "):
        result = invoke("gaps", "--db", str(seed_db), "--area", asked, "--format", "json")
        assert result.exit_code == 0 and result.output == by_code.output, asked
    result = invoke("need", "--db", str(seed_db), "--area", "Merthir")
    assert result.exit_code == 2
    assert "unknown local authority code 'Merthir' (nor the name of one)" in result.output
    assert "W06000013 (Bridgend)" in result.output
    assert "the closest: W06000024 (Merthyr Tydfil)" in result.output


def test_a_missing_scenario_file_is_a_scenario_problem(seed_db, tmp_path):
    result = invoke("scenario", "compare", str(tmp_path / "nope.yaml"), "--db", str(seed_db))
    assert result.exit_code == 2
    assert "1 problem in the scenario file" in result.output
    assert "in the dataset" not in result.output


def test_a_scenario_that_does_not_fit_the_dataset_says_scenario(seed_db, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nretire_services: [ghost]\n")
    result = invoke("scenario", "validate", str(bad), "--db", str(seed_db))
    assert result.exit_code == 2 and "1 problem in the scenario;" in result.output


def test_one_typo_in_offers_is_one_problem(hand_copy, tmp_path):
    offers = hand_copy / "offers.csv"
    lines = offers.read_text().splitlines()
    # Find a service with a single offer row, and break that row's level.
    ids = [line.split(",")[0] for line in lines[1:]]
    single = next(i for i, service in enumerate(ids, start=1) if ids.count(service) == 1)
    cells = lines[single].split(",")
    cells[1] = "tier3"
    lines[single] = ",".join(cells)
    offers.write_text("\n".join(lines) + "\n")
    result = invoke("load", str(hand_copy), "--db", str(tmp_path / "g.lbug"))
    assert result.exit_code == 2
    assert "1 problem in the dataset" in result.output
    assert "tier3" in result.output and "no row in offers" not in result.output


def test_a_service_with_no_offer_rows_at_all_is_still_reported(hand_copy, tmp_path):
    offers = hand_copy / "offers.csv"
    lines = offers.read_text().splitlines()
    gone = lines[1].split(",")[0]
    offers.write_text("\n".join(ln for ln in lines if not ln.startswith(gone + ",")) + "\n")
    result = invoke("load", str(hand_copy), "--db", str(tmp_path / "g.lbug"))
    assert result.exit_code == 2 and "the service has no row in offers" in result.output


def test_no_dataset_points_at_the_demo_graph(tmp_path):
    env = {"NESTMAP_DB": str(tmp_path / "graph.lbug"), "NESTMAP_NEO4J_URI": ""}
    plain = invoke("gaps", env=env)
    assert plain.exit_code == 2 and "demo" not in plain.output
    with nestmap.Graph(tmp_path / "demo.lbug") as demo:
        demo.load(HAND)
    hinted = invoke("gaps", env=env)
    assert hinted.exit_code == 2
    assert f"the demo's graph is at {tmp_path / 'demo.lbug'}" in hinted.output


def test_analysis_commands_print_the_graph_rows(seed_db):
    result = invoke("pathways", "--db", str(seed_db), "--format", "json")
    with nestmap.Graph(seed_db) as graph:
        assert json.loads(result.output) == graph.pathways()
    assert "chain" not in result.output  # the contract's rows, no chain column


def test_export_zip_and_compare_with_itself(seed_db, tmp_path):
    out = tmp_path / "seed.zip"
    assert invoke("export", str(out), "--db", str(seed_db)).exit_code == 0
    compared = invoke("compare", str(out), str(nestmap.seed()), "--format", "json")
    assert compared.exit_code == 0, compared.output
    assert json.loads(compared.output)["changes"] == []
