"""Scenarios a visitor hands the dashboard: a shared link's, a pasted one, an uploaded one
(issue 22). Every value is checked by type with the scenario schema's own checker before the
page reads it, NaN and infinity are refused at parse, and a wrong type is a plain message:
never "This page failed unexpectedly", never a traceback in the server's log. What the
dashboard parses is bounded below a file's bound (a pasted 1 MiB YAML list cost seconds of the
server's CPU on every rerun)."""

from __future__ import annotations

import base64
import json
import logging
import zlib
from pathlib import Path

import pytest
from conftest import SERVER_ENV, dashboard_page, load_into
from streamlit.testing.v1 import AppTest

from nestmap.api import seed_path
from nestmap.errors import InputError
from nestmap.loaders.limits import MAX_DASHBOARD_SCENARIO_BYTES
from nestmap.scenarios import read_untrusted
from nestmap.scenarios.builder import from_link

SERVICE = {
    "id": "new_team",
    "name": "New team",
    "sector": "nhs",
    "areas": ["W06000024"],
    "stages": ["postnatal"],
    "threshold": "open",
    "self_referral": False,
    "assesses_relationship": True,
    "source": "illustrative",
    "offers": [{"level": "targeted", "focus": "specialised"}],
}
# Wrong types where the page once used the values as they came (each "failed unexpectedly").
WRONG = {
    "NaN age": (
        '{"name": "x", "add_services": [{"id": "t", "name": "T", "min_age_months": NaN}]}',
        "NaN and infinite numbers are not allowed",
    ),
    "a number for a list": ('{"name": "x", "retire_services": 5}', "must be a list"),
    "a list as an id": (
        '{"name": "x", "retire_services": [["ctm_camhs"]]}',
        "a service id is required",
    ),
    "a list as a referral's end": (
        json.dumps(
            {
                "name": "x",
                "add_referrals": [
                    {
                        "from_service": ["ctm_midwifery"],
                        "to_service": "ctm_camhs",
                        "reason": "other",
                        "source": "s",
                    }
                ],
            }
        ),
        "a service id is required",
    ),
    "a mapping as an age": (
        json.dumps({"name": "x", "add_services": [{**SERVICE, "min_age_months": {"a": 1}}]}),
        "must be a whole number",
    ),
    "text as an amount": (
        json.dumps({"name": "x", "costs": [{"item": "head", "amount": "lots"}]}),
        "must be a number of pounds",
    ),
    "keys that are not text": ('{"name": "x", "costs": [{"1": 2}]}', "unknown field"),
}


def _link(text: str) -> str:
    return base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")


@pytest.fixture(scope="module")
def seed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("visitor") / "graph.lbug"
    load_into(db, seed_path()).close()
    return db


@pytest.fixture
def page(seed_db, monkeypatch, caplog):
    """The Scenarios page as a visitor opens it (read-only), with the log it writes."""
    monkeypatch.delenv("NESTMAP_DEBUG", raising=False)
    for name in SERVER_ENV:
        monkeypatch.delenv(name, raising=False)
    caplog.set_level(logging.ERROR, logger="nestmap.dashboard")

    def open_page(**query: str) -> AppTest:
        return dashboard_page(monkeypatch, seed_db, "scenarios", **query)

    yield open_page
    import gc

    import streamlit as st

    st.cache_resource.clear()
    gc.collect()


def _shown(app: AppTest) -> str:
    texts = [e.value for e in app.error]
    for frame in app.dataframe:
        if "reason" in frame.value.columns:
            texts.extend(frame.value["reason"])
    return "\n".join(texts)


def _plain(app: AppTest, caplog) -> None:
    """Nothing failed: no exception, no "failed unexpectedly", no traceback logged."""
    assert not app.exception, [e.value for e in app.exception]
    assert "failed unexpectedly" not in _shown(app)
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("case", list(WRONG))
def test_a_link_with_a_wrong_type_is_a_plain_message(page, caplog, case):
    text, reason = WRONG[case]
    app = page(scenario=_link(text))
    _plain(app, caplog)
    assert "The scenario in this link cannot be used" in _shown(app)
    assert reason in _shown(app)


@pytest.mark.parametrize("case", list(WRONG))
def test_a_pasted_scenario_with_a_wrong_type_is_a_plain_message(page, caplog, case):
    text, reason = WRONG[case]
    app = page()
    app.radio(key="scenario_source").set_value("Paste YAML or JSON").run()
    app.text_area(key="scenario_text").set_value(text).run()
    _plain(app, caplog)
    assert "This scenario cannot be applied" in _shown(app)
    assert reason in _shown(app)


@pytest.mark.parametrize("name", ["s.yaml", "s.json"])
def test_an_uploaded_scenario_with_a_wrong_type_is_a_plain_message(page, caplog, name):
    app = page()
    app.radio(key="scenario_source").set_value("Upload a file").run()
    text = '{"name": "x", "retire_services": 5}'
    app.file_uploader(key="scenario_upload").set_value((name, text.encode(), "text/plain"))
    app.run()
    _plain(app, caplog)
    assert "must be a list" in _shown(app)


def test_a_link_beyond_what_the_builder_holds_is_a_plain_message(page, caplog):
    """Numbers the schema allows but the form's fields do not (a cost of £500 billion)."""
    document = {"name": "x", "add_services": [{**SERVICE, "annual_cost": 5 * 10**11}]}
    app = page(scenario=_link(json.dumps(document)))
    _plain(app, caplog)
    assert "more than the builder holds" in _shown(app)


def test_a_good_link_still_fills_the_builder(page, caplog):
    document = {
        "name": "Merthyr team",
        "add_services": [{**SERVICE, "min_age_months": 3, "capacity_per_year": 90}],
        "retire_services": ["ctm_camhs"],
        "costs": [{"item": "Head of Service", "amount": 75000}],
    }
    app = page(scenario=_link(json.dumps(document)))
    _plain(app, caplog)
    assert app.radio(key="scenario_source").value == "Build one"
    assert app.text_input(key="builder_service_name").value == "New team"
    assert app.number_input(key="builder_min_age").value == 3
    assert app.number_input(key="builder_capacity").value == 90
    assert app.multiselect(key="builder_retire").value == ["ctm_camhs"]


def test_a_scenario_beyond_the_dashboards_bound_is_refused_before_parsing(page, caplog):
    """The paste box takes at most 65,536 characters; in bytes (here two a character) the
    bound is checked before parsing, as for an upload."""
    line = "- \u00e9quipe\n"
    text = "name: x\nretire_services:\n" + line * (MAX_DASHBOARD_SCENARIO_BYTES // len(line) - 2)
    assert len(text) <= MAX_DASHBOARD_SCENARIO_BYTES < len(text.encode())
    app = page()
    app.radio(key="scenario_source").set_value("Paste YAML or JSON").run()
    app.text_area(key="scenario_text").set_value(text).run()
    _plain(app, caplog)
    assert "larger than 64 KiB" in _shown(app)
    app.radio(key="scenario_source").set_value("Upload a file").run()
    app.file_uploader(key="scenario_upload").set_value(("big.yaml", text.encode(), "text/yaml"))
    app.run()
    _plain(app, caplog)
    assert "larger than 64 KiB" in _shown(app)


def test_read_untrusted_rebuilds_the_document_from_checked_values():
    text = "name: ' x '\nretire_services: [' a ', b]\ncosts: [{item: head, amount: 75000}]\n"
    document = read_untrusted("s.yaml", text.encode())
    assert document["name"] == "x"
    assert document["retire_services"] == ["a", "b"]
    assert document["costs"] == [{"item": "head", "amount": 75000.0, "source": ""}]
    with pytest.raises(InputError) as refused:
        from_link(_link('{"name": "x", "costs": [{"item": "a", "amount": Infinity}]}'))
    assert "NaN and infinite numbers are not allowed" in refused.value.problems[0].reason
