"""The change log keeps every change whatever its text (issue 22).

Editors' names, the reasons they give and dataset names are user text. U+2028, U+2029 and U+0085
in them made a change vanish: ``changes.jsonl`` was written with those characters raw and read
back with ``str.splitlines()``, which splits on them too. Now every change shows in
``changes()``, on the Data page and in ``nestmap versions``, and a log written the old way
still reads. The Query console's answers are read the same way (one line, split on line feeds).
"""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import HAND, dashboard_page

from nestmap import Graph
from nestmap.api import seed_path
from nestmap.cli import app as cli

LS, PS, NEL = "\u2028", "\u2029", "\u0085"
LOADER = f"Ann{LS}Loader"
DATASET = f"hand{PS}set{NEL}x"
EDITOR = f"Bob{NEL}Editor"
WHY = f"new{LS}figures{PS}from{NEL}the team"
ROLLER = f"Cy{PS}Roll"


@pytest.fixture(autouse=True)
def _forget_stores():
    yield
    import gc

    import streamlit as st

    st.cache_resource.clear()
    gc.collect()


@pytest.fixture
def changed(tmp_path):
    """A graph with four changes whose names, reasons and dataset carry line separators."""
    db = tmp_path / "graph.lbug"
    folder = tmp_path / DATASET
    shutil.copytree(HAND, folder)
    with Graph(db) as graph:
        graph.load(seed_path(), by=LOADER)
        graph.load(folder, by=LOADER)
        tables = graph.tables()
        header = tables["services"][0]
        tables["services"][1][header.index("capacity_per_year")] = "55"
        graph.save_edit(tables, started_from=graph.version, why=WHY, by=EDITOR)
        # A reason kept as written (an edit's reason has its white space folded to spaces).
        graph.store.rollback(1, ROLLER, WHY)
    return db


def test_every_change_is_kept_and_written_as_ascii_lines(changed):
    with Graph(changed) as graph:
        changes = graph.changes()
        log = graph.store.changes_file.read_bytes()
    assert [c["action"] for c in changes] == ["load", "load", "edit", "rollback"]
    assert [c["by"] for c in changes] == [LOADER, LOADER, EDITOR, ROLLER]
    assert changes[1]["detail"] == DATASET
    assert changes[2]["note"].startswith("new figures from the team")
    assert changes[3]["note"] == WHY
    assert log.isascii() and log.count(b"\n") == 4


def test_nestmap_versions_shows_them(changed):
    run = CliRunner().invoke(cli, ["versions", "--db", str(changed), "--format", "json"])
    assert run.exit_code == 0, run.output
    kept = json.loads(run.output)
    by_version = {row["version"]: row for row in kept}
    assert by_version[2]["dataset"] == DATASET
    assert by_version[2]["replaced_by"] == EDITOR
    assert by_version[2]["replaced_because"].startswith("new figures from the team")
    assert by_version[3]["replaced_by"] == ROLLER
    assert by_version[3]["replaced_because"] == WHY


def test_the_data_page_shows_them(changed, monkeypatch):
    app = dashboard_page(monkeypatch, changed, "data")
    assert not app.exception, [e.value for e in app.exception]
    changes = next(frame.value for frame in app.dataframe if "action" in frame.value.columns)
    assert list(changes["action"]) == ["rollback", "edit", "load", "load"]  # newest first
    assert list(changes["by"]) == [ROLLER, EDITOR, LOADER, LOADER]
    assert DATASET in list(changes["detail"])
    assert changes["note"].iloc[0] == WHY


def test_a_log_written_with_raw_separators_still_reads(changed):
    """Logs written before this change hold the characters raw: split on line feeds alone,
    each line is whole."""
    with Graph(changed) as graph:
        path = graph.store.changes_file
        entries = [json.loads(line) for line in path.read_text().split("\n") if line]
        path.write_text(
            "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries),
            encoding="utf-8",
        )
        assert not path.read_bytes().isascii()
        assert graph.changes() == entries
        assert graph.versions()[-1]["replaced_by"] == ROLLER


def test_a_console_answer_with_a_line_separator(seed_store):
    """On main: "the query's worker process failed (exit 0): no answer"."""
    result = seed_store.console(f"RETURN 'a{LS}b{PS}c{NEL}d' AS text", 10, 60)
    assert result.rows == [[f"a{LS}b{PS}c{NEL}d"]]
