"""The workshop (issue 17): edit the map on the Data page, the scenario builder, workshop mode.

Real graphs and Streamlit's AppTest (no mocks). AppTest cannot type into a data grid, so an
edit is given as the tables the grids start from (the session's draft), exactly what the
grids hand to Check and Save; the browser tests (test_workshop_browser.py) type into the grids.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
from conftest import load_into
from streamlit.testing.v1 import AppTest

import nestmap.dashboard
from nestmap import Graph, analysis
from nestmap.dashboard import access
from nestmap.editing import MapChanged, table_differences
from nestmap.errors import InputError
from nestmap.scenarios import checked_document
from nestmap.scenarios.builder import (
    LINK_FILE,
    answers_from_document,
    build_document,
    from_link,
    to_link,
    to_yaml,
)

APP = str(nestmap.dashboard.APP_PATH)
GRANTS = (access.SECRET_FILE_ENV, access.SECRET_ENV, access.EMAILS_ENV, access.OPEN_ENV)
SERVICE = "bridgend_baby_in_mind"


@pytest.fixture(autouse=True)
def _forget_stores():
    yield
    import gc

    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    gc.collect()


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    from nestmap.cli import seed_path

    load_into(tmp_path / "graph.lbug", seed_path()).close()
    return tmp_path / "graph.lbug"


def _app(monkeypatch, db: Path, stem: str = "data", editing: bool = True) -> AppTest:
    monkeypatch.setenv("NESTMAP_DB", str(db))
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    for name in GRANTS:
        monkeypatch.delenv(name, raising=False)
    if editing:
        # "open" editing records the server's user; the page says who.
        monkeypatch.setenv(access.OPEN_ENV, "1")
    app = AppTest.from_file(APP, default_timeout=90)
    app.run()
    if stem != "overview":
        app.switch_page(f"views/{stem}.py")
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _edit(app: AppTest, table: str, row_id: str, column: str, value: str) -> None:
    """Change one cell of the session's draft (what the grids start from and hand on)."""
    draft = copy.deepcopy(app.session_state["edit_draft"])
    rows = draft["grid"][table]
    header = rows[0]
    for row in rows[1:]:
        if row[0] == row_id:
            row[header.index(column)] = value
            break
    else:
        raise AssertionError(f"no {table} row {row_id}")
    app.session_state["edit_draft"] = draft
    app.run()


def _click(app: AppTest, key: str) -> None:
    app.button(key=key).click().run()
    assert not app.exception, [e.value for e in app.exception]


def _why(app: AppTest, text: str) -> None:
    generation = app.session_state["edit_draft"]["generation"]
    app.text_input(key=f"edit_why_{generation}").input(text).run()


def _hashes(db: Path) -> dict:
    with Graph(db) as graph:
        return _hashes_of(graph)


def _analyses(graph: Graph) -> dict:
    """Every analysis of the whole region, for "exactly the previous graph"."""
    return {
        "gaps": graph.gaps(),
        "misdirected": graph.misdirected(),
        "pathways": graph.pathways(),
        "need": graph.need(),
        "concentration": graph.concentration(),
        "boundaries": graph.boundaries(),
        "workforce": graph.workforce(),
        "services": graph.services(),
        "referral_links": graph.referral_links(),
    }


def _hashes_of(graph: Graph) -> dict:
    hashes = graph.info()["file_hashes"]
    return json.loads(hashes) if isinstance(hashes, str) else hashes


def _file_digest(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


def test_an_invalid_edit_shows_its_problem_and_changes_nothing(seed_copy, monkeypatch):
    before = _file_digest(seed_copy)
    app = _app(monkeypatch, seed_copy)
    _edit(app, "services", SERVICE, "capacity_per_year", "lots")
    _click(app, "edit_check")
    problems = [t.value for t in app.dataframe if "reason" in t.value.columns]
    assert problems, "the problems are listed"
    first = problems[0].iloc[0]
    assert (first["table"], first["column"], first["value"]) == (
        "services",
        "capacity_per_year",
        "lots",
    )
    assert first["reason"] == "must be a whole number"
    assert first["row"].startswith(SERVICE)
    # A save with the problem saves nothing.
    _why(app, "the team grew")
    _click(app, "edit_save")
    assert "nothing was saved" in "\n".join(e.value for e in app.error)
    assert _file_digest(seed_copy) == before


def test_a_valid_edit_is_a_new_version_and_coverage_follows_undo_restores(seed_copy, monkeypatch):
    with Graph(seed_copy) as graph:
        gaps_before = graph.gaps()
        hashes_before = _hashes_of(graph)
        analyses_before = _analyses(graph)
        specialised = [r for r in graph.gaps() if r["specialised_services"]]
    target = specialised[0]
    app = _app(monkeypatch, seed_copy)
    # Retire every service that offers specialised work at the first covered cell's level:
    # the coverage matrix must change.
    with Graph(seed_copy) as graph:
        retire = set(target["specialised_services"])
    draft = copy.deepcopy(app.session_state["edit_draft"])
    header = draft["grid"]["services"][0]
    for row in draft["grid"]["services"][1:]:
        if row[0] in retire:
            row[header.index("status")] = "defunct"
    app.session_state["edit_draft"] = draft
    app.run()
    _click(app, "edit_check")
    assert "Every rule passes" in "\n".join(s.value for s in app.success)
    _why(app, "these teams closed last year")
    _click(app, "edit_save")
    assert "Saved as a new version" in "\n".join(s.value for s in app.success)
    with Graph(seed_copy) as graph:
        assert graph.gaps() != gaps_before
        last = graph.changes()[-1]
        assert last["action"] == "edit" and last["by"].endswith("(nestmap demo)")
        assert last["note"].startswith("these teams closed last year — services:")
        assert graph.versions()[-1]["replaced_note"] == last["note"]
    # The Coverage page shows the edited map.
    coverage = _app(monkeypatch, seed_copy, "coverage")
    shown = "\n".join(str(m.value) for m in [*coverage.markdown, *coverage.caption])
    assert not coverage.exception
    assert shown  # the page ran on the new version
    # Undo names the change it undoes and asks first; then restores the previous graph exactly.
    app.run()
    _click(app, "edit_undo")
    asked = "\n".join(w.value for w in app.warning)
    assert "'s edit of " in asked and "these teams closed last year" in asked
    assert "version 1" in asked
    with Graph(seed_copy) as graph:
        assert graph.gaps() != gaps_before, "nothing is undone before the confirmation"
    _click(app, "edit_undo_confirm")
    assert "Undone" in "\n".join(s.value for s in app.success)
    with Graph(seed_copy) as graph:
        assert graph.gaps() == gaps_before
        assert _analyses(graph) == analyses_before
        assert _hashes_of(graph) == hashes_before
        assert graph.changes()[-1]["note"].startswith("undo: back to version 1")


def test_coverage_page_changes_with_an_edit(seed_copy, monkeypatch):
    coverage = _app(monkeypatch, seed_copy, "coverage", editing=False)
    before = [json.dumps(c.proto.spec) for c in coverage.get("plotly_chart")]
    with Graph(seed_copy) as graph:
        tables = graph.tables()
        version = graph.version
        header = tables["offers"][0]
        for row in tables["offers"][1:]:
            row[header.index("focus")] = "non_specialised"
        graph.save_edit(tables, started_from=version, why="no specialised work", by="Ann")
    coverage.run()
    after = [json.dumps(c.proto.spec) for c in coverage.get("plotly_chart")]
    assert before and after and before != after


def test_concurrent_saves_the_second_is_told_and_nothing_is_overwritten(seed_copy, monkeypatch):
    first = _app(monkeypatch, seed_copy)
    second = _app(monkeypatch, seed_copy)
    _edit(first, "services", SERVICE, "capacity_per_year", "111")
    _edit(second, "services", SERVICE, "capacity_per_year", "222")
    _why(first, "first editor")
    _why(second, "second editor")
    _click(first, "edit_save")
    _click(second, "edit_save")
    errors = "\n".join(e.value for e in second.error)
    assert "the map changed since you started" in errors.lower()
    changed = [t.value for t in second.dataframe if "change" in t.value.columns]
    assert changed and changed[-1].iloc[0]["key"] == SERVICE
    assert "38 → 111" in changed[-1].iloc[0]["columns"]
    with Graph(seed_copy) as graph:
        services = {row["id"]: row for row in graph.services()}
        assert services[SERVICE]["capacity_per_year"] == 111
        assert [c["action"] for c in graph.changes()].count("edit") == 1


def test_without_the_grant_the_tables_are_read_only(seed_copy, monkeypatch):
    app = _app(monkeypatch, seed_copy, editing=False)
    labels = {b.label for b in app.button}
    assert "Save as a new version" not in labels and "Check" not in labels
    assert "Undo the last change" not in labels
    # The five tables are shown, read-only.
    shown = [t.value for t in app.dataframe]
    assert any("service_name" in t.columns for t in shown)


def test_graph_api_save_refuses_a_stale_start(seed_copy):
    with Graph(seed_copy) as graph:
        started, tables = graph.version, graph.tables()
        edited = copy.deepcopy(tables)
        edited["areas"][2][edited["areas"][0].index("births_per_year")] = "1400"
        graph.save_edit(edited, started_from=started, why="new ONS births", by="Ann")
        with pytest.raises(MapChanged) as caught:
            graph.save_edit(
                edited, started_from=started, why="again", by="Bob", started_tables=tables
            )
        assert caught.value.differences == table_differences(tables, graph.tables())
        bad = copy.deepcopy(graph.tables())
        bad["referrals"][1][bad["referrals"][0].index("to_service")] = "nobody"
        with pytest.raises(InputError) as problems:
            graph.save_edit(bad, started_from=graph.version, why="x", by="Ann")
        found = problems.value.problems[0]
        assert (found.file, found.row, found.column) == ("referrals.csv", 2, "to_service")


# ---- the scenario builder ------------------------------------------------------------------------
ANSWERS = {
    "name": "A family team for Merthyr",
    "service": {
        "name": "Merthyr family team",
        "provider": "Merthyr Tydfil County Borough Council",
        "sector": "local_authority",
        "areas": ["W06000024"],
        "stages": ["antenatal", "postnatal"],
        "min_age_months": 0,
        "max_age_months": 24,
        "threshold": "open",
        "offers": [
            {"level": "targeted", "focus": "specialised"},
            {"level": "specialist", "focus": "specialised"},
        ],
        "capacity_per_year": 120,
        "annual_cost": 150000,
        "self_referral": True,
        "assesses_relationship": True,
        "referred_from": ["ctm_health_visiting", "ctm_midwifery"],
        "reason": "parent_infant_relationship",
    },
    "retire": [SERVICE],
    "costs": [{"item": "Clinical supervision", "amount": 12000}],
}

BY_HAND = """
name: A family team for Merthyr
add_services:
  - id: new_merthyr_family_team
    name: Merthyr family team
    provider: Merthyr Tydfil County Borough Council
    sector: local_authority
    status: active
    areas: W06000024
    stages: antenatal|postnatal
    min_age_months: 0
    max_age_months: 24
    threshold: open
    self_referral: yes
    capacity_per_year: 120
    assesses_relationship: yes
    source: written by hand
    annual_cost: 150000
    offers:
      - {level: targeted, focus: specialised}
      - {level: specialist, focus: specialised}
retire_services: [bridgend_baby_in_mind]
add_referrals:
  - {from_service: ctm_health_visiting, to_service: new_merthyr_family_team,
     reason: parent_infant_relationship, source: written by hand}
  - {from_service: ctm_midwifery, to_service: new_merthyr_family_team,
     reason: parent_infant_relationship, source: written by hand}
costs:
  - {item: Clinical supervision, amount: 12000}
"""


def test_the_builders_yaml_validates_and_compares_like_the_same_scenario_by_hand(
    seed_copy, tmp_path
):
    with Graph(seed_copy) as graph:
        ids = {row["id"] for row in graph.services()}
    document = build_document(ANSWERS, ids)
    built = tmp_path / "built.yaml"
    built.write_text(to_yaml(document), encoding="utf-8")
    by_hand = tmp_path / "by_hand.yaml"
    by_hand.write_text(BY_HAND, encoding="utf-8")
    from click.testing import CliRunner

    from nestmap.cli import app as cli

    run = CliRunner().invoke(cli, ["scenario", "validate", str(built), "--db", str(seed_copy)])
    assert run.exit_code == 0, run.output
    assert "valid" in run.output and "120 families a year" in run.output
    with Graph(seed_copy) as graph:
        from_builder = graph.scenario(built)
        written = graph.scenario(by_hand)
    assert from_builder["comparison"] == written["comparison"]
    assert from_builder["comparison"]["summary"]["gap_cells_closed"] > 0
    assert from_builder["summary"]["total_cost"] == written["summary"]["total_cost"] == 162000


def test_a_link_carries_the_scenario_and_is_checked_on_the_way_in(seed_copy):
    with Graph(seed_copy) as graph:
        ids = {row["id"] for row in graph.services()}
    document = build_document(ANSWERS, ids)
    link = to_link(document)
    assert len(link) < 1_500
    back = from_link(link)
    # What comes back is rebuilt from checked values: the same scenario, every field present.
    assert back == checked_document({**document, "__file__": LINK_FILE})
    assert back["add_services"][0]["areas"] == document["add_services"][0]["areas"]
    assert answers_from_document(back)["service"]["referred_from"] == [
        "ctm_health_visiting",
        "ctm_midwifery",
    ]
    for damaged in ("!!!", "A" * 5_000, "eJwLSS0u0U1OzCspSkxOBQA"):
        with pytest.raises(InputError):
            from_link(damaged)
    # A compressed bomb: small in the link, huge inflated.
    import base64
    import zlib

    bomb = base64.urlsafe_b64encode(zlib.compress(b"a" * 2_000_000, 9)).decode().rstrip("=")
    assert len(bomb) < 4_000
    with pytest.raises(InputError) as refused:
        from_link(bomb)
    assert "inflates past" in refused.value.problems[0].reason


def test_applying_a_scenario_makes_a_version_with_who_and_why(seed_copy):
    from nestmap.editing import apply_scenario_as_version

    with Graph(seed_copy) as graph:
        ids = {row["id"] for row in graph.services()}
        document = build_document(ANSWERS, ids)
        gaps_before = graph.gaps()
        applied = apply_scenario_as_version(
            graph.store, document, started_from=graph.version, by="Ann", why="agreed today"
        )
        assert graph.gaps() != gaps_before
        last = graph.changes()[-1]
        assert (last["action"], last["by"]) == ("scenario", "Ann")
        assert "agreed today" in last["note"] and applied["differences"]
        assert analysis.info(graph.store)["loaded_by"] == "Ann"


# ---- the builder on the page, workshop mode, shared links ----------------------------------------
def _fill_builder(app: AppTest) -> None:
    app.radio(key="scenario_source").set_value("Build one").run()
    app.text_input(key="builder_name").input("A family team for Merthyr").run()
    app.text_input(key="builder_service_name").input("Merthyr family team").run()
    app.multiselect(key="builder_areas").set_value(["W06000024"]).run()
    app.multiselect(key="builder_levels").set_value(["targeted", "specialist"]).run()
    app.number_input(key="builder_capacity").set_value(120).run()
    app.number_input(key="builder_cost").set_value(150000).run()
    assert not app.exception, [e.value for e in app.exception]


def _metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_the_builder_updates_the_figures_and_its_link_restores_the_view(seed_copy, monkeypatch):
    app = _app(monkeypatch, seed_copy, "scenarios", editing=False)
    _fill_builder(app)
    assert _metric(app, "Families a year") == "120"
    closed = _metric(app, "Gap cells closed")
    app.multiselect(key="builder_levels").set_value(["targeted"]).run()
    assert _metric(app, "Gap cells closed") != closed, "the figures follow the form"
    app.multiselect(key="builder_levels").set_value(["targeted", "specialist"]).run()
    app.sidebar.selectbox(key="filter_la").set_value("W06000024").run()
    code = app.query_params["scenario"]
    code = code[0] if isinstance(code, list) else code
    assert from_link(code)["add_services"][0]["name"] == "Merthyr family team"
    # Without the grant there is no apply, but the YAML downloads.
    labels = {b.proto.label for b in app.get("download_button")}
    assert any("YAML" in label for label in labels)
    assert "Apply as a new version" not in {b.label for b in app.button}
    # A fresh session (another browser) with the same address sees the same view.
    fresh = AppTest.from_file(APP, default_timeout=90)
    fresh.query_params["scenario"] = code
    fresh.query_params["la"] = "W06000024"
    fresh.run()
    fresh.switch_page("views/scenarios.py")
    fresh.run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    assert fresh.radio(key="scenario_source").value == "Build one"
    assert fresh.text_input(key="builder_service_name").value == "Merthyr family team"
    assert fresh.multiselect(key="builder_levels").value == ["targeted", "specialist"]
    assert fresh.sidebar.selectbox(key="filter_la").value == "W06000024"
    assert _metric(fresh, "Gap cells closed") == closed


def test_a_damaged_or_hostile_link_is_refused_plainly(seed_copy, monkeypatch):
    monkeypatch.setenv("NESTMAP_DB", str(seed_copy))
    for name in GRANTS:
        monkeypatch.delenv(name, raising=False)
    for code in ("not-a-scenario", to_link({"name": "x", "retire_services": ["nobody"]})):
        app = AppTest.from_file(APP, default_timeout=90)
        app.query_params["scenario"] = code
        app.run()
        app.switch_page("views/scenarios.py")
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        assert "The scenario in this link cannot be used" in "\n".join(e.value for e in app.error)


def test_presentation_mode_walks_the_pages(seed_copy, monkeypatch):
    app = _app(monkeypatch, seed_copy, "coverage", editing=False)
    app.sidebar.toggle(key="filter_present").set_value(True).run()
    links = [link.proto for link in app.get("page_link")]
    labels = [link.label for link in links]
    assert "Next: Map" in labels and "Back: Overview" in labels
    assert "Leave presentation mode" in {b.label for b in app.button}
    app.button(key="workshop_leave").click().run()
    assert app.session_state["filter_present"] is False


def test_a_scenario_applied_from_the_builder_is_a_version(seed_copy, monkeypatch):
    app = _app(monkeypatch, seed_copy, "scenarios")
    _fill_builder(app)
    app.text_input(key="builder_apply_why").input("agreed at the workshop").run()
    app.checkbox(key="builder_apply_sure").check().run()
    app.button(key="builder_apply").click().run()
    assert not app.exception, [e.value for e in app.exception]
    said = "\n".join(s.value for s in app.success)
    assert "Applied as version 2 of the map" in said and "kept as version 1" in said
    # The builder starts afresh from the new map: nothing added, and the address says so.
    assert app.text_input(key="builder_service_name").value == ""
    assert app.multiselect(key="builder_retire").value == []
    code = app.query_params["scenario"]
    code = code[0] if isinstance(code, list) else code
    # (read back as any visitor's scenario is: rebuilt from its checked values, empty lists kept)
    document = from_link(code)
    assert {k: v for k, v in document.items() if k != "__file__" and v} == {"name": "Our proposal"}
    assert _metric(app, "Gap cells closed") == "0"
    with Graph(seed_copy) as graph:
        last = graph.changes()[-1]
        assert last["action"] == "scenario" and "agreed at the workshop" in last["note"]
        assert "new_merthyr_family_team" in {row["id"] for row in graph.services()}
        assert graph.versions()[-1]["version"] == 1


def test_nestmap_versions_says_why_a_version_was_replaced(seed_copy):
    from click.testing import CliRunner

    from nestmap.cli import app as cli

    with Graph(seed_copy) as graph:
        tables = graph.tables()
        header = tables["services"][0]
        tables["services"][1][header.index("capacity_per_year")] = "55"
        graph.save_edit(tables, started_from=graph.version, why="new figures", by="Ann")
    run = CliRunner().invoke(cli, ["versions", "--db", str(seed_copy), "--format", "json"])
    assert run.exit_code == 0, run.output
    kept = json.loads(run.output)
    assert kept[-1]["replaced_by"] == "Ann"
    assert kept[-1]["replaced_because"].startswith("new figures — services: 1 changed")


def test_a_table_too_large_for_the_grid_is_edited_as_a_file(seed_copy, monkeypatch):
    from nestmap.dashboard import editing

    monkeypatch.setattr(editing, "MAX_GRID_ROWS", 40)  # the seed has 78 referral links
    app = _app(monkeypatch, seed_copy)
    assert "The referrals table has 78 rows, too many to edit in the browser" in "\n".join(
        i.value for i in app.info
    )
    assert "edit_draft" not in app.session_state
    assert "Save as a new version" not in {b.label for b in app.button}


def test_a_note_is_shown_as_text_never_as_markup_or_a_link(seed_copy, monkeypatch):
    app = _app(monkeypatch, seed_copy)
    _edit(app, "services", SERVICE, "capacity_per_year", "39")
    _why(app, "**loud** [click](http://evil.example) <b>x</b>")
    _click(app, "edit_save")
    shown = "\n".join(str(c.value) for c in [*app.caption, *app.success])
    assert "Last change: \\*\\*loud\\*\\*" in shown
    assert "http://evil" not in shown and "<b>" not in shown
    with Graph(seed_copy) as graph:
        assert graph.changes()[-1]["note"].startswith("**loud** [click](http://evil.example)")


def test_a_large_dataset_lists_one_services_links_to_remove(seed_copy, monkeypatch):
    """Above MAX_LINK_CHOICES links, "Remove referral links" lists the links of the service
    chosen in "Links made by" (a national dataset's million links as one widget's options took
    14 s a page view); a link chosen stays chosen when another service is picked."""
    from nestmap.dashboard import builder

    monkeypatch.setattr(builder, "MAX_LINK_CHOICES", 5)
    app = _app(monkeypatch, seed_copy, "scenarios", editing=False)
    _fill_builder(app)
    remove = app.multiselect(key="builder_remove")
    assert remove.options == []  # nothing listed before a service is chosen
    app.selectbox(key="builder_remove_from").set_value("ctm_health_visiting").run()
    with Graph(seed_copy) as graph:
        links = graph.referral_links()
    made = sorted(
        "|".join((r["from_service"], r["to_service"], r["reason"]))
        for r in links
        if r["from_service"] == "ctm_health_visiting"
    )
    # (the options as the page shows them: "Health visiting (…) → … (reason)", one per link)
    options = app.multiselect(key="builder_remove").options
    assert made and len(options) == len(made)
    assert all(o.startswith("Health visiting (Healthy Child Wales Programme) →") for o in options)
    app.multiselect(key="builder_remove").set_value(made[:1]).run()
    app.selectbox(key="builder_remove_from").set_value("ctm_midwifery").run()
    midwifery = sum(r["from_service"] == "ctm_midwifery" for r in links)
    assert len(app.multiselect(key="builder_remove").options) == midwifery + 1
    assert app.multiselect(key="builder_remove").value == made[:1]
    assert not app.exception, [e.value for e in app.exception]


def test_a_large_dataset_lists_one_local_authoritys_services_to_choose(seed_copy, monkeypatch):
    """Above MAX_SERVICE_CHOICES services the builder's service pickers list the services of
    the local authority chosen in "Services in" (five pickers of a national dataset's 50,000
    services sent a quarter of a million options to the browser); a service chosen stays
    chosen when another local authority is picked."""
    from nestmap.dashboard import builder

    monkeypatch.setattr(builder, "MAX_SERVICE_CHOICES", 5)
    app = _app(monkeypatch, seed_copy, "scenarios", editing=False)
    _fill_builder(app)
    assert app.multiselect(key="builder_retire").options == []
    with Graph(seed_copy) as graph:
        names = graph.service_names()
        merthyr = {row["id"] for row in graph.services("W06000024")}
        bridgend = {row["id"] for row in graph.services("W06000013")}
    assert 0 < len(merthyr) < len(names) and bridgend - merthyr and merthyr - bridgend
    app.selectbox(key="builder_services_in").set_value("W06000024").run()
    assert sorted(app.multiselect(key="builder_retire").options) == sorted(
        names[service] for service in merthyr
    )
    assert len(app.selectbox(key="builder_link_to").options) == len(merthyr)
    only_merthyr = sorted(merthyr - bridgend)[0]
    app.multiselect(key="builder_retire").set_value([only_merthyr]).run()
    app.selectbox(key="builder_services_in").set_value("W06000013").run()
    assert app.multiselect(key="builder_retire").value == [only_merthyr]
    assert len(app.multiselect(key="builder_retire").options) == len(bridgend) + 1
    assert not app.exception, [e.value for e in app.exception]
