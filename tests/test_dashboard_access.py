"""Who may change the map (issue 12, item 11), and no stack traces for users (item 9), through
Streamlit's AppTest on real graphs: a served dashboard is read-only unless the server was
started with a grant; with the editor secret a change records who made it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from conftest import HAND, load_into
from streamlit.testing.v1 import AppTest

import nestmap.dashboard
from nestmap import analysis
from nestmap.dashboard import access

APP = str(nestmap.dashboard.APP_PATH)
SECRET = "correct horse battery staple"
GRANTS = (access.SECRET_FILE_ENV, access.SECRET_ENV, access.EMAILS_ENV, access.OPEN_ENV)


@pytest.fixture(autouse=True)
def _forget_stores():
    """Each test here opens its own graph, which the dashboard keeps open in its resource
    cache; the engine reserves a large address range per open database, so release them.
    The server's failed-guess budget is per process: each test starts with a fresh one."""
    access.GUESSES.clear()
    yield
    access.GUESSES.clear()
    import gc

    import streamlit as st

    st.cache_resource.clear()
    gc.collect()


def _app(monkeypatch: pytest.MonkeyPatch, db: str, stem: str = "data", **grant: str) -> AppTest:
    monkeypatch.setenv("NESTMAP_DB", db)
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    for name in GRANTS:
        monkeypatch.delenv(name, raising=False)
    for name, value in grant.items():
        monkeypatch.setenv(name, value)
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    if stem != "overview":
        app.switch_page(f"views/{stem}.py")
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _hand_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(HAND.glob("*.csv")):
            archive.writestr(file.name, file.read_bytes())
    return buffer.getvalue()


def _labels(app: AppTest) -> set[str]:
    return {button.label for button in app.button}


def _texts(app: AppTest) -> str:
    return "\n".join(
        str(element.value)
        for element in [*app.markdown, *app.caption, *app.info, *app.warning, *app.success]
    )


@pytest.fixture
def seed_copy(tmp_path: Path):
    from nestmap.cli import seed_path

    store = load_into(tmp_path / "graph.lbug", seed_path())
    store.close()
    return tmp_path / "graph.lbug"


def test_without_a_grant_the_dashboard_offers_no_way_to_change_the_map(seed_copy, monkeypatch):
    app = _app(monkeypatch, str(seed_copy))
    assert len(app.get("file_uploader")) == 0
    assert "Replace the graph with this dataset" not in _labels(app)
    assert "Make this version the current graph" not in _labels(app)
    assert "Unlock editing" not in _labels(app)
    assert "This dashboard is read-only" in _texts(app)
    # Downloads stay.
    labels = {button.proto.label for button in app.get("download_button")}
    assert {"Dataset as XLSX", "Dataset as ZIP of CSVs"} <= labels


def test_a_wrong_secret_unlocks_nothing(seed_copy, monkeypatch):
    app = _app(monkeypatch, str(seed_copy), NESTMAP_EDITOR_SECRET=SECRET)
    assert "Replace the graph with this dataset" not in _labels(app)
    app.text_input(key="access_name").input("Mallory")
    app.text_input(key="access_secret").input("guess")
    app.button(key="access_unlock_button").click().run()
    assert [e.value for e in app.error][0].startswith("That is not the editor secret.")
    assert len(app.get("file_uploader")) == 0
    assert SECRET not in str(app.query_params) and SECRET not in _texts(app)


def test_with_the_secret_a_replace_records_who_made_it(seed_copy, monkeypatch):
    secret_file = seed_copy.parent / "editor-secret"
    secret_file.write_text(SECRET + "\n")
    app = _app(monkeypatch, str(seed_copy), NESTMAP_EDITOR_SECRET_FILE=str(secret_file))
    app.text_input(key="access_name").input("Ann Editor")
    app.text_input(key="access_secret").input(SECRET)
    app.button(key="access_unlock_button").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert "changes are recorded as **Ann Editor**" in "\n".join(s.value for s in app.success)
    app.file_uploader(key="upload_0").set_value(("hand.zip", _hand_zip(), "application/zip"))
    app.run()
    app.button[[b.label for b in app.button].index("Replace the graph with this dataset")].click()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    from nestmap.graph import open_store

    store = open_store(seed_copy)
    assert analysis.info(store)["loaded_by"] == "Ann Editor"
    assert store.changes()[-1]["by"] == "Ann Editor"
    versions = store.versions()
    assert versions[-1]["replaced_by"] == "Ann Editor" and versions[-1]["replaced_how"] == "load"
    store.close()
    assert "Ann Editor" in _texts(app)
    # A rollback from the page records who asked, too.
    assert "Make this version the current graph" in _labels(app)
    app.button(key="rollback_run").click().run()
    assert not app.exception, [e.value for e in app.exception]
    store = open_store(seed_copy)
    assert store.changes()[-1]["action"] == "rollback"
    assert store.changes()[-1]["by"] == "Ann Editor"
    assert analysis.info(store)["dataset"] == "cwm_taf_morgannwg"
    store.close()
    # Stop editing: the session is read-only again.
    app.button(key="access_lock").click().run()
    assert "Replace the graph with this dataset" not in _labels(app)


def test_open_editing_says_so(seed_copy, monkeypatch):
    app = _app(monkeypatch, str(seed_copy), NESTMAP_OPEN_EDITING="1")
    assert "Anyone who can open this dashboard may change the map" in _texts(app)
    assert app.get("file_uploader")


def test_sign_in_without_auth_configured_stays_read_only(seed_copy, monkeypatch):
    app = _app(monkeypatch, str(seed_copy), NESTMAP_EDITOR_EMAILS="ann@example.org")
    assert "sign-in is not configured on this server" in _texts(app)
    assert "Replace the graph with this dataset" not in _labels(app)


@pytest.mark.parametrize("content", [b"", b"\x00garbage" * 1000], ids=["empty", "corrupt"])
@pytest.mark.parametrize("stem", ["overview", "data", "coverage", "scenarios", "query"])
def test_an_empty_or_corrupt_graph_shows_a_plain_message(tmp_path, monkeypatch, content, stem):
    db = tmp_path / "broken.lbug"
    db.write_bytes(content)
    app = _app(monkeypatch, str(db), stem)
    assert app.error, "a plain message"
    shown = "\n".join(e.value for e in app.error)
    assert "Traceback" not in shown and 'File "' not in shown
    assert "cannot" in shown


def test_billion_laughs_in_the_paste_box_is_refused(seed_copy, monkeypatch):
    from test_hostile_files import LAUGHS

    app = _app(monkeypatch, str(seed_copy), "scenarios")
    app.radio(key="scenario_source").set_value("Paste YAML or JSON").run()
    app.text_area(key="scenario_text").set_value(LAUGHS).run()
    assert not app.exception
    assert "YAML anchors and aliases" in app.dataframe[0].value.iloc[0]["reason"]


def test_deep_json_in_the_paste_box_is_a_problem(seed_copy, monkeypatch):
    app = _app(monkeypatch, str(seed_copy), "scenarios")
    app.radio(key="scenario_source").set_value("Paste YAML or JSON").run()
    app.text_area(key="scenario_text").set_value("x: " + "[" * 100_000 + "]" * 100_000).run()
    assert not app.exception
    assert "nested more than 50" in app.dataframe[0].value.iloc[0]["reason"]


def test_urls_in_a_scenario_are_not_links(seed_copy, monkeypatch):
    text = (
        "name: See http://evil.example/x\n"
        "description: Visit www.evil.example or mail boss@evil.example\n"
        "source: https://evil.example/src\n"
        "costs: [{item: x, amount: 1}]\n"
    )
    app = _app(monkeypatch, str(seed_copy), "scenarios")
    app.radio(key="scenario_source").set_value("Paste YAML or JSON").run()
    app.text_area(key="scenario_text").set_value(text).run()
    assert not app.exception, [e.value for e in app.exception]
    shown = "\n".join(str(h.value) for h in app.subheader) + _texts(app)
    for raw in ("http://", "https://", "www.", "boss@evil"):
        assert raw not in shown.replace("\\", ""), raw
    assert "\u2060" in shown


# ---- the grant as `nestmap dashboard` / `nestmap demo` start the server ------------------------


def test_dashboard_is_read_only_by_default_and_hides_error_details(seed_copy, started, monkeypatch):
    from click.testing import CliRunner

    from nestmap.cli import app

    monkeypatch.setenv(access.OPEN_ENV, "1")  # inherited from a shell: not a grant
    result = CliRunner().invoke(app, ["dashboard", "--db", str(seed_copy)])
    assert result.exit_code == 0, result.output
    assert not set(GRANTS) & set(started["env"])
    assert "read-only: nobody can change the map" in result.output
    command = started["command"]
    assert command[command.index("--client.showErrorDetails") + 1] == "none"


def test_dashboard_with_a_secret_file(seed_copy, started, tmp_path):
    from click.testing import CliRunner

    from nestmap.cli import app

    secret = tmp_path / "secret"
    secret.write_text("short\n")
    result = CliRunner().invoke(
        app, ["dashboard", "--db", str(seed_copy), "--editor-secret-file", str(secret)]
    )
    assert result.exit_code == 2 and "too short" in result.output
    secret.write_text(SECRET + "\n")
    result = CliRunner().invoke(
        app, ["dashboard", "--db", str(seed_copy), "--editor-secret-file", str(secret)]
    )
    assert result.exit_code == 0, result.output
    assert started["env"][access.SECRET_FILE_ENV] == str(secret.resolve())
    assert SECRET not in " ".join(started["command"])  # never on a command line
    both = CliRunner().invoke(
        app,
        ["dashboard", "--db", str(seed_copy), "--editor-secret-file", str(secret)]
        + ["--editor-email", "a@example.org"],
    )
    assert both.exit_code == 2


def test_demo_allows_edits_on_this_computer_only(tmp_path, started):
    from click.testing import CliRunner

    from nestmap.cli import app

    db = tmp_path / "demo.lbug"
    local = CliRunner().invoke(app, ["demo", "--db", str(db)])
    assert local.exit_code == 0, local.output
    assert started["env"].get(access.OPEN_ENV) == "1"
    served = CliRunner().invoke(app, ["demo", "--db", str(db), "--address", "0.0.0.0"])
    assert served.exit_code == 0, served.output
    assert access.OPEN_ENV not in started["env"]
    from nestmap.graph import open_store

    store = open_store(db)
    assert analysis.info(store)["loaded_by"] == "nestmap demo"
    store.close()


def _upload(app: AppTest, name: str, data: bytes) -> AppTest:
    app.file_uploader(key="upload_0").set_value((name, data, "application/octet-stream"))
    app.run()
    app.button[[b.label for b in app.button].index("Replace the graph with this dataset")].click()
    return app.run()


def test_hostile_uploads_are_refused_on_the_data_page(seed_copy, monkeypatch, tmp_path):
    """The zip bomb, a workbook with a DTD entity (in UTF-8 and in UTF-16) and a 30-digit
    number, uploaded by an editor: each a plain message and a problem list; the graph
    unchanged."""
    from test_hostile_files import _entity_bomb, _workbook_with, _zip

    header = (HAND / "services.csv").read_text(encoding="utf-8").splitlines()[0]
    bomb = _zip(HAND, {"services.csv": (header + "\n" + "x\n" * (5 << 20)).encode()})
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
    dtd = _workbook_with(
        tmp_path,
        "xl/worksheets/sheet2.xml",
        lambda xml: doctype + xml.replace(b"<t>", b"<t>&a;", 1),
    ).read_bytes()
    # The same DTD in UTF-16 (on main the check looked for ASCII bytes and the entity expanded).
    utf16 = _workbook_with(
        tmp_path, "xl/worksheets/sheet2.xml", lambda xml: _entity_bomb(xml, "utf-16")
    ).read_bytes()
    services = (HAND / "services.csv").read_text(encoding="utf-8")
    big = _zip(
        HAND,
        {
            "services.csv": services.replace(
                ",yes,,false,", ",yes," + "1" * 30 + ",false,", 1
            ).encode()
        },
    )
    cases = [
        ("bomb.zip", bomb, "at least 100,000 problems", "a value is required"),
        ("dtd.xlsx", dtd, "1 problem", "document type declaration"),
        ("utf16.xlsx", utf16, "1 problem", "document type declaration"),
        ("big.zip", big, "1 problem", "must be at most 1,000,000,000,000"),
    ]
    for name, data, message, reason in cases:
        app = _app(monkeypatch, str(seed_copy), NESTMAP_OPEN_EDITING="1")
        _upload(app, name, data)
        assert not app.exception, [e.value for e in app.exception]
        errors = "\n".join(e.value for e in app.error)
        assert message in errors and "Nothing was replaced" in errors, errors
        problems = app.dataframe[0].value
        assert len(problems) <= 1_000 and reason in " ".join(problems["reason"]), name
        from nestmap.graph import open_store

        store = open_store(seed_copy)
        assert analysis.info(store)["dataset"] == "cwm_taf_morgannwg"
        store.close()


def test_an_unexpected_failure_in_a_page_shows_no_traceback(seed_copy, monkeypatch):
    """A bug (here: an analysis that raises) ends as a plain message; details go to the log."""

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("secret internals /etc/nestmap")

    monkeypatch.delenv("NESTMAP_DEBUG", raising=False)
    monkeypatch.setattr(analysis.extra, "thrive", broken)
    app = _app(monkeypatch, str(seed_copy), "thrive")
    shown = "\n".join(e.value for e in app.error) + _texts(app)
    assert "This page failed unexpectedly; nothing was changed" in shown
    assert "ZeroDivisionError" not in shown and "/etc/nestmap" not in shown
