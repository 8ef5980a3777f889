"""The Scenarios page and the Data page's ORUK import and graph exports, run by AppTest on the
seed region (a real graph, no mocks)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import nestmap.dashboard
from nestmap.scenarios import bundled_scenarios

APP = str(nestmap.dashboard.APP_PATH)
# Vendored Open Referral UK examples (CC BY-SA 4.0; see tests/data/oruk/uk-profile/SOURCE.md).
ORUK = Path(__file__).resolve().parent / "data" / "oruk" / "uk-profile" / "examples"


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
    # The report's basis beside the total: £329,500 / 382 = £863 (the report prints £862), and
    # with the Head of Service £404,500 / 382 = £1,059.
    assert metrics["Cost per family"] == "£863"
    assert metrics["Total per family"] == "£1,059"
    captions = " ".join(str(c.value) for c in app.caption)
    assert "Neither includes on" in captions and "£1,000 per head" in captions
    assert len(app.get("plotly_chart")) == 4  # coverage before, after, map, shortfall
    changes = app.dataframe[0].value
    assert ((changes["analysis"] == "gaps") & (changes["change"] == "closed")).sum() == 9
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


def test_an_uploaded_scenario_file_is_evaluated(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "scenarios")
    app.radio(key="scenario_source").set_value("Upload a file").run()
    path = bundled_scenarios()[0]
    app.file_uploader(key="scenario_upload").set_value(
        (path.name, path.read_bytes(), "application/yaml")
    ).run()
    assert not app.exception, [e.value for e in app.exception]
    assert _metrics(app)["Families a year"] == "382"
    app.file_uploader(key="scenario_upload").set_value(
        ("broken.json", b'{"name": "x", "add_services": [{"id": 1}]}', "application/json")
    ).run()
    assert len(app.error) == 1 and len(app.metric) == 0
    assert set(app.dataframe[0].value["file"]) == {"broken.json"}


def _oruk_app(monkeypatch, db: str, name: str, data: bytes, companion: bytes | None = None):
    app = _app(monkeypatch, db, "data")
    app.toggle(key="oruk_open").set_value(True).run()
    app.file_uploader(key="oruk_upload").set_value((name, data, "application/octet-stream"))
    if companion is not None:
        app.file_uploader(key="oruk_companion").set_value(("extra.csv", companion, "text/csv"))
    app.run()
    app.button(key="oruk_run").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_oruk_json_is_mapped_with_what_to_fill_in(seed_store, monkeypatch):
    companion = (
        b"oruk_service_id,sector,areas,stages\n"
        b"ac148810-d857-441c-9679-408f346de14b,voluntary,W06000013,postnatal\n"
    )
    data = (ORUK / "service_full.json").read_bytes()
    app = _oruk_app(monkeypatch, seed_store.location, "service_full.json", data, companion)
    assert not app.error, [e.value for e in app.error]
    assert any("Mapped 1 services" in s.value for s in app.success)
    frames = {tuple(frame.value.columns)[:2]: frame.value for frame in app.dataframe}
    services = next(f for f in frames.values() if "provider" in f.columns)
    assert len(services) == 1
    assert services.iloc[0]["sector"] == "voluntary" and services.iloc[0]["areas"] == "W06000013"
    to_fill = next(f for f in frames.values() if list(f.columns)[:3] == ["file", "row", "column"])
    assert "threshold" in set(to_fill["column"]) and "sector" not in set(to_fill["column"])
    download = next(
        b for b in app.get("download_button") if b.proto.label == "Mapped dataset (.zip of CSVs)"
    )
    assert download is not None


def test_oruk_csv_zip_is_mapped_and_warns(seed_store, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((ORUK / "csv").glob("*.csv")):
            archive.writestr(f"export/{path.name}", path.read_bytes())
        archive.writestr("../evil.csv", "id\n")
    app = _oruk_app(monkeypatch, seed_store.location, "oruk.zip", buffer.getvalue())
    assert not app.error, [e.value for e in app.error]
    warnings = next(f.value for f in app.dataframe if list(f.value.columns) == ["warning"])
    assert any("both" in w for w in warnings["warning"])


def test_a_malformed_oruk_file_shows_the_problem(seed_store, monkeypatch):
    app = _oruk_app(monkeypatch, seed_store.location, "bad.json", b"{not json")
    assert len(app.error) == 1 and "Nothing was mapped" in app.error[0].value
    # (the Data page's referrals table has a reason column too: the problems are the table
    # with a file column)
    problems = next(f.value for f in app.dataframe if {"file", "reason"} <= set(f.value.columns))
    assert set(problems["file"]) == {"bad.json"}


def test_a_large_dataset_applies_a_scenario_when_asked(seed_store, monkeypatch):
    # Above the threshold (a national dataset) the page waits for the click instead of copying
    # the whole graph on a first look; the seed region, lowered threshold, stands in for it.
    from nestmap.dashboard import state

    monkeypatch.setattr(state, "SCENARIO_ASK_ABOVE_SERVICES", 1)
    app = _app(monkeypatch, seed_store.location, "scenarios")
    assert "applying a scenario copies the whole graph" in app.info[0].value
    assert "Families a year" not in _metrics(app)
    app.button(key="scenario_apply").click().run()
    assert _metrics(app)["Families a year"] == "382"
    app.run()  # asked once for this scenario: the result stays
    assert _metrics(app)["Gap cells closed"] == "9"
