"""The Overview's "Download the report": for the current local authority filter, with the
scenarios this session ran on the Scenarios page (AppTest on the real seed graph)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import nestmap.dashboard

APP = str(nestmap.dashboard.APP_PATH)


def _app(monkeypatch: pytest.MonkeyPatch, db: str, **params) -> AppTest:
    monkeypatch.setenv("NESTMAP_DB", db)
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    app = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _captions(app: AppTest) -> str:
    return "\n".join(str(caption.value) for caption in app.caption)


def _downloads(app: AppTest) -> list[str]:
    return [str(button.proto.label) for button in app.get("download_button")]


def test_overview_offers_the_report_for_the_la_filter(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, la="W06000024")
    assert "Download the report" in [header.value for header in app.subheader]
    assert "Report (HTML)" in _downloads(app)
    assert "The mapping report of Merthyr Tydfil (W06000024)" in _captions(app)
    assert "with no options" in _captions(app)


def test_scenarios_run_are_included(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location)
    app.switch_page("views/scenarios.py")
    app.run()  # the page applies the first bundled option as it opens
    assert not app.exception, [e.value for e in app.exception]
    app.switch_page("views/overview.py")
    app.run()
    assert "with the options run on the Scenarios page: Option 1" in _captions(app)


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")
def test_pdf_is_made_on_demand(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, la="W06000013")
    assert "Report (PDF)" not in _downloads(app)
    app.button(key="report_pdf_prepare").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert "Report (PDF)" in _downloads(app)


def test_pdf_without_chromium_says_how_to_install(seed_store, monkeypatch, tmp_path):
    monkeypatch.setenv("NESTMAP_CHROMIUM", str(tmp_path / "no-such-browser"))
    app = _app(monkeypatch, seed_store.location)
    assert "Report (HTML)" in _downloads(app)
    assert any("apt-get install chromium" in str(info.value) for info in app.info)
    assert not [button for button in app.button if button.key == "report_pdf_prepare"]
