"""The dashboard's kept page results (nestmap/dashboard/state.py, kept.py): only a page's
default view is written beside the graph, as Arrow and JSON; moving sliders and filters writes
nothing new; the folder stays under its size cap; nothing read back is a pickle (one planted
there is never loaded); and what is read back is the value that was kept."""

from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from conftest import load_into
from streamlit.testing.v1 import AppTest

import nestmap.dashboard
from nestmap.answers.keep import LOCAL, Shelf, code_fingerprint, shelf_root
from nestmap.api import seed_path
from nestmap.dashboard import kept, network
from nestmap.loaders import read_dataset
from nestmap.vocabulary import REASONS

APP = str(nestmap.dashboard.APP_PATH)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A seed graph of its own, served (the process's cached results forgotten)."""
    db = tmp_path / "graph.lbug"
    load_into(db, seed_path()).close()
    monkeypatch.setenv("NESTMAP_DB", str(db))
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield db
    st.cache_resource.clear()
    st.cache_data.clear()


def _entries(db: Path) -> set[str]:
    folder = shelf_root(db, kept.SUFFIX)
    return {entry.name for entry in folder.glob("*/[!.]*") if (entry / "done").is_file()}


def _page(stem: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    if stem != "overview":
        app.switch_page(f"views/{stem}.py")
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_results_are_kept_per_dataset_version_on_disk(served: Path) -> None:
    # A new server (here: the in-process cache cleared) reads a kept default view back instead
    # of computing it; a load changes the version, so it is computed again and the previous
    # version's files go. A view that is not a default one stays in memory.
    from nestmap.dashboard import state

    computed: list[int] = []

    def compute() -> dict[str, int]:
        computed.append(1)
        return {"rows": len(computed)}

    assert state.kept("test.figure", ("a",), compute, disk=True) == {"rows": 1}
    folder = shelf_root(served, kept.SUFFIX)
    versions = [entry for entry in folder.iterdir() if entry.is_dir()]
    assert len(versions) == 1
    # Kept per dataset version and per version of nestmap's code, the dashboard's included.
    code = code_fingerprint(dashboard=True)
    assert code != code_fingerprint()
    assert versions[0].name == f"{state.store().version()}-{code}"
    assert len(_entries(served)) == 1
    st.cache_resource.clear()
    assert state.kept("test.figure", ("a",), compute, disk=True) == {"rows": 1}  # read back
    assert state.kept("test.figure", ("b",), compute, disk=True) == {"rows": 2}  # other args
    assert len(computed) == 2
    assert state.kept("test.figure", ("c",), compute) == {"rows": 3}  # memory only
    assert len(_entries(served)) == 2
    state.store().replace(read_dataset(seed_path()))  # a new dataset version
    assert state.kept("test.figure", ("a",), compute, disk=True) == {"rows": 4}
    assert not versions[0].exists()
    assert len(_entries(served)) == 1


def test_the_pages_keep_their_default_view_as_arrow_and_json(served: Path) -> None:
    for stem in ("overview", "referrals", "network", "boundaries", "coverage", "pathways"):
        _page(stem)
    folder = shelf_root(served, kept.SUFFIX)
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert {path.suffix for path in files if not path.name.startswith(".")} == {
        ".json",
        ".arrow",
        "",  # each entry's "done" marker
    }
    assert len(_entries(served)) >= 10
    for path in files:
        with path.open("rb") as handle:
            assert handle.read(2) != b"\x80\x05", f"{path} is a pickle"


def test_moving_sliders_and_filters_writes_nothing_new(served: Path) -> None:
    need = _page("need")
    network_page = _page("network")
    coverage = _page("coverage")
    default = _entries(served)
    assert default
    for value in (0.01, 0.05, 0.1, 0.16, 0.2, 0.33, 0.5, 0.75, 0.9, 1.0):
        need.number_input(key="need_share_targeted").set_value(value).run()
        assert not need.exception
    for count in (1, 2, 3):
        for reasons in itertools.combinations(REASONS, count):
            network_page.multiselect(key="network_reasons").set_value(list(reasons)).run()
            assert not network_page.exception
    network_page.checkbox(key="network_inactive").check().run()
    network_page.checkbox(key="network_linked").uncheck().run()
    for level in ("universal", "targeted", "specialist"):
        coverage.query_params["level"] = level
        coverage.run()
        assert not coverage.exception
    # The Overview and the Map with the moved shares (kept for them by the Need page).
    need.switch_page("views/overview.py").run()
    need.switch_page("views/map.py").run()
    assert not need.exception
    assert _entries(served) == default


def test_the_folder_stays_under_its_cap(tmp_path: Path) -> None:
    graph = tmp_path / "graph.lbug"
    graph.write_bytes(b"g" * 100_000)  # the cap: the graph's own size
    shelf = Shelf(graph, kept.SUFFIX, "v1", dashboard=True)

    def fill(size: int):
        return lambda folder: (folder / "0.arrow").write_bytes(b"x" * size)

    assert shelf.keep("whole-first", fill(30_000), lambda: True)
    assert shelf.keep(f"{LOCAL}one", fill(30_000), lambda: True)
    assert shelf.keep("whole-second", fill(30_000), lambda: True)
    assert shelf.total() <= shelf.cap()
    # Room for another: the answer about one local authority goes first, then the least
    # recently used (reading an entry marks it used).
    assert shelf.read("whole-first", lambda folder: True)
    assert shelf.keep("whole-third", fill(30_000), lambda: True)
    assert not shelf.has(f"{LOCAL}one") and shelf.has("whole-first")
    assert shelf.keep("whole-fourth", fill(30_000), lambda: True)
    assert not shelf.has("whole-second") and shelf.has("whole-first")
    assert shelf.total() <= shelf.cap()
    # Larger than the cap alone: not kept, and nothing else removed for it.
    assert not shelf.keep("huge", fill(150_000), lambda: True)
    assert shelf.has("whole-first") and shelf.total() <= shelf.cap()
    assert not [path for path in shelf.folder.iterdir() if "building" in path.name]


def test_the_dashboard_stays_under_its_cap_at_any_number_of_views(served: Path) -> None:
    from nestmap.dashboard import state

    cap = served.stat().st_size
    big = pd.DataFrame({"text": [f"row {n} " * 40 for n in range(4_000)]})
    for index in range(12):
        state.kept("test.big", (index,), lambda n=index: big.assign(n=n), disk=True)
        shelf = Shelf.of(state.store(), kept.SUFFIX, dashboard=True)
        assert shelf is not None and shelf.total() <= cap


class Planted:
    """What unpickling would run (a pickle's reduce): it must never run."""

    marker: Path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.write_text, (self.marker, "a pickle was loaded"))


def test_a_planted_pickle_is_never_loaded(served: Path, tmp_path: Path) -> None:
    from nestmap.dashboard import state

    marker = tmp_path / "ran"
    payload = Planted()
    payload.marker = marker
    planted = pickle.dumps(payload)
    assert state.kept("test.figure", ("a",), lambda: {"rows": 1}, disk=True) == {"rows": 1}
    shelf = Shelf.of(state.store(), kept.SUFFIX, dashboard=True)
    assert shelf is not None
    (entry,) = [path for path in shelf.folder.iterdir() if not path.name.startswith(".")]
    # The kept value replaced by a pickle, and pickles beside it as an older nestmap named them.
    (entry / "value.json").write_bytes(planted)
    (entry / "0.arrow").write_bytes(planted)
    (shelf.root / f"{state.store().version()}-{'0' * 24}.pickle").write_bytes(planted)
    (shelf.folder / "value.json").write_bytes(planted)
    st.cache_resource.clear()
    assert state.kept("test.figure", ("a",), lambda: {"rows": 2}, disk=True) == {"rows": 2}
    assert not marker.exists()


@pytest.mark.parametrize(
    "value",
    [
        None,
        {"text": "a", "count": 3, "share": 0.25, "none": None, "flag": True},
        ("a", 1, 2.5, float("nan"), float("inf")),
        frozenset({"x", "y"}),
        {("a", "b", "c"): ["not_offered"], ("d", "e", "f"): []},
        pd.DataFrame(
            {
                "id": ["a", "b", "c"],
                "count": pd.array([1, None, 3], dtype="Int64"),
                "share": [0.5, None, 0.25],
                "problems": [["not_offered", "out_of_area"], [], ["wrong_stage"]],
                "onward": [True, False, True],
            }
        ),
        pd.Series([True, False, True], index=[4, 7, 9], name="marked"),
        pd.Series([False, True]),  # unnamed, as the Referrals page's illustrative mask
        network.Shown(network.Selection([{"id": "a"}], [{"from": "a", "to": "b"}]), 3, 4),
    ],
)
def test_what_is_read_back_is_the_value_kept(tmp_path: Path, value: object) -> None:
    kept.write(tmp_path, value)
    assert kept.same(kept.read(tmp_path), value)
    json.loads((tmp_path / "value.json").read_text(encoding="ascii"))  # plain JSON text


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("a", "b"),
        (1, True),  # equal in Python, not the same value
        (1, 1.0),
        (None, ""),
        (b"a", "a"),
        (["a", 1], ["a", True]),
        (("a",), ["a"]),
        ({"a": [1, 2]}, {"a": [1, 3]}),
        ([["s1", "s2"]] * 3, [["s1", "s2"]] * 2 + [["s1", "s3"]]),
    ],
)
def test_values_that_differ_in_a_cell_or_a_type_are_not_the_same(one: object, other: object):
    assert not kept.same(one, other) and not kept.same(other, one)
    assert kept.same(one, one) and kept.same(other, other)


@pytest.mark.parametrize(
    "value",
    [
        object(),
        {"cells": pd.DataFrame({"mixed": [1, "a", 2.5]})},
        [lambda: None],
    ],
)
def test_a_value_that_cannot_be_read_back_exactly_stays_in_memory(
    tmp_path: Path, value: object
) -> None:
    with pytest.raises(kept.Unkeepable):
        kept.write(tmp_path, value)


def test_right_after_a_load_the_overview_draws_at_once_and_fills_in_what_is_kept(
    served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the background warm-up after a load runs, a headline figure whose analysis it has
    not kept yet says it is being worked out (it is not computed a second time beside the
    warm-up), one whose analysis is kept is drawn; with no warm-up running, every figure is."""
    from nestmap.answers import warm
    from nestmap.answers.analyses import answer
    from nestmap.dashboard import state

    monkeypatch.setattr(warm, "running", lambda *_args, **_options: True)
    answer(state.store(), "gaps")  # the warm-up's first answer, kept
    app = _page("overview")
    working = [c.value for c in app.caption if "Being worked out" in c.value]
    assert len(working) == 6  # every figure but the gap cells
    labels = [metric.label for metric in app.metric]
    assert "Gap cells" in labels and "Threshold cliffs" not in labels
    answers = {
        entry.name.split("-")[0]
        for entry in shelf_root(served, ".results").glob("*/*")
        if (entry / "done").is_file()
    }
    assert answers == {"gaps"}  # the page computed none of the answers the warm-up has in hand
    monkeypatch.setattr(warm, "running", lambda *_args, **_options: False)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not [c.value for c in app.caption if "Being worked out" in c.value]
    labels = [metric.label for metric in app.metric]
    assert {"Threshold cliffs", "Misdirected, to a dead end", "Dead-end entry points"} <= set(
        labels
    )


def test_right_after_a_load_coverage_leaves_what_the_warm_up_computes_to_it(
    served: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Coverage page's age bands and dads-and-partners table wait for the warm-up's answers
    (said in their place) while its matrix, whose answer is kept, is drawn."""
    from nestmap.answers import warm
    from nestmap.answers.analyses import answer
    from nestmap.dashboard import layout, state

    monkeypatch.setattr(warm, "running", lambda *_args, **_options: True)
    answer(state.store(), "gaps")
    app = _page("coverage")
    assert [c.value for c in app.caption].count(layout.WORKING) == 2
    before = len(app.dataframe)  # the matrix
    monkeypatch.setattr(warm, "running", lambda *_args, **_options: False)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert layout.WORKING not in [c.value for c in app.caption]
    assert before >= 1 and len(app.dataframe) == before + 2  # the age bands', the groups' tables


@pytest.mark.parametrize(
    "stem", ["workforce", "thrive", "pathways", "boundaries", "referrals", "network", "need"]
)
def test_right_after_a_load_a_page_waits_for_the_analyses_it_rests_on(
    served: Path, monkeypatch: pytest.MonkeyPatch, stem: str
) -> None:
    """A page whose analyses the warm-up has not kept yet says so under its title (and computes
    nothing: no answer kept); once they are, it is drawn whole."""
    from nestmap.answers import warm
    from nestmap.dashboard import layout

    monkeypatch.setattr(warm, "running", lambda *_args, **_options: True)
    app = _page(stem)
    assert [c.value for c in app.caption].count(layout.WORKING) == 1
    assert not list(shelf_root(served, ".results").glob("*/*-*/done"))
    monkeypatch.setattr(warm, "running", lambda *_args, **_options: False)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert layout.WORKING not in [c.value for c in app.caption]
    assert app.dataframe or app.metric
    assert list(shelf_root(served, ".results").glob("*/*-*/done"))  # computed and kept now
