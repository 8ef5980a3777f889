"""The Scenarios page and the Data page's ORUK import and graph exports, run by AppTest on the
seed region (a real graph, no mocks)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import nestmap.dashboard

APP = str(nestmap.dashboard.APP_PATH)


def _app(monkeypatch: pytest.MonkeyPatch, db: str, stem: str) -> AppTest:
    monkeypatch.setenv("NESTMAP_DB", db)
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page(f"views/{stem}.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_scenarios_page_shows_option_1(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "scenarios")
    assert not app.error, [e.value for e in app.error]
    assert app.title[0].value == "Scenarios"
    metrics = _metrics(app)
    # The report's option 1: 382 families a year, closing 9 gap cells in the region.
    assert metrics["Families a year"] == "382"
    assert metrics["Gap cells closed"] == "9"
    assert metrics["Gap cells opened"] == "0"
    assert metrics["Total cost a year"] == "£404,500"
    assert len(app.get("plotly_chart")) == 4  # coverage before, after, map, shortfall
    changes = app.dataframe[0].value
    assert (changes["change"] == "closed").sum() == 9
    labels = {button.proto.label for button in app.get("download_button")}
    assert {"Report (HTML)", "Report (XLSX)", "CSV", "XLSX"} <= labels


def test_editing_capacity_changes_the_figures(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "scenarios")
    before = _metrics(app)
    app.number_input(key="scenario_capacity_0").set_value(500).run()
    assert not app.exception, [e.value for e in app.exception]
    after = _metrics(app)
    assert after["Families a year"] == "500"
    assert after["Cost per family"] != before["Cost per family"]
    assert (
        after["Targeted shortfall (families a year)"]
        != (before["Targeted shortfall (families a year)"])
    )
    app.number_input(key="scenario_cost_0").set_value(500_000).run()
    assert _metrics(app)["Total cost a year"] == "£575,000"


def test_another_bundled_option(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "scenarios")
    option = next(box for box in app.selectbox if box.label == "Option")
    option.set_value(2).run()
    assert not app.exception, [e.value for e in app.exception]
    assert _metrics(app)["Families a year"] != "382"


INVALID = """
name: "<b>Broken</b> scenario"
add_services:
  - id: new_team
    name: New team
    sector: spaceship
    capacity_per_year: lots
"""


def test_an_invalid_typed_scenario_shows_its_problems(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "scenarios")
    app.radio(key="scenario_source").set_value("Paste YAML or JSON").run()
    app.text_area(key="scenario_text").set_value(INVALID).run()
    assert not app.exception, [e.value for e in app.exception]
    assert len(app.error) == 1 and "cannot be applied" in app.error[0].value
    problems = app.dataframe[0].value
    assert list(problems.columns) == ["file", "row", "column", "value", "reason"]
    assert len(problems) >= 2
    assert len(app.metric) == 0 and len(app.get("plotly_chart")) == 0


def test_unparsable_text_shows_a_problem(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "scenarios")
    app.radio(key="scenario_source").set_value("Paste YAML or JSON").run()
    app.text_area(key="scenario_text").set_value("name: [unclosed").run()
    assert not app.exception, [e.value for e in app.exception]
    assert len(app.error) == 1
    assert "not valid YAML" in app.dataframe[0].value.iloc[0]["reason"]


def test_data_page_offers_the_graph_exports(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "data")
    assert not app.error, [e.value for e in app.error]
    labels = {button.proto.label for button in app.get("download_button")}
    assert {"GraphML", "GEXF", "Kumu workbook (.xlsx)"} <= labels
    text = "\n".join(str(h.value) for h in app.subheader)
    assert "Import from Open Referral UK" in text and "Export the graph" in text
