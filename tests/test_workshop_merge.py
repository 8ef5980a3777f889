"""The workshop keeps the editor's edit: a refused save merged onto the current map (three-way,
per row and cell, in ``nestmap.editing`` for the Python API and the Data page alike), undo that
names what it undoes, problems located by the row's id and name, a share link equal to the page
and the report's options offered only on the map they were written for.

Real graphs, real queries and Streamlit's AppTest (no mocks); the browser tests are in
test_workshop_browser.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from test_workshop import (  # noqa: F401 - fixtures used by name
    SERVICE,
    _app,
    _click,
    _edit,
    _fill_builder,
    _forget_stores,
    _metric,
    _why,
    seed_copy,
)

from nestmap import Graph
from nestmap.editing import REMOVED, MapChanged, merge_edit
from nestmap.errors import InputError
from nestmap.scenarios.builder import from_link


def _set(tables: dict, table: str, key: str, column: str, value: str) -> None:
    header = tables[table][0]
    for row in tables[table][1:]:
        if row[0] == key:
            row[header.index(column)] = value
            return
    raise AssertionError(f"no {table} row {key}")


def _cell(tables: dict, table: str, key: str, column: str) -> str:
    header = tables[table][0]
    return next(row[header.index(column)] for row in tables[table][1:] if row[0] == key)


# ---- the three-way merge -------------------------------------------------------------------------
def test_two_editors_changing_different_cells_both_get_their_change(seed_copy):  # noqa: F811 (the fixture)
    with Graph(seed_copy) as graph:
        started, tables = graph.version, graph.tables()
        ann, bob = copy.deepcopy(tables), copy.deepcopy(tables)
        _set(ann, "services", SERVICE, "capacity_per_year", "111")
        _set(bob, "services", SERVICE, "provider", "Bridgend CBC family services")
        _set(bob, "areas", "W06000024", "births_per_year", "640")
        graph.save_edit(ann, started_from=started, why="Ann's count", by="Ann")
        with pytest.raises(MapChanged) as refused:
            graph.save_edit(bob, started_from=started, why="Bob's", by="Bob", started_tables=tables)
        merge = refused.value.merge
        assert merge is not None and merge.clean
        assert {(d["table"], d["key"]) for d in merge.applied} == {
            ("services", SERVICE),
            ("areas", "W06000024"),
        }
        assert "can be applied onto the current map" in str(refused.value)
        assert graph.changes()[-1]["by"] == "Ann", "a refusal saves nothing"
        saved = graph.save_edit(
            bob, started_from=started, why="Bob's", by="Bob", started_tables=tables, merge=True
        )
        assert saved["merged"] and saved["kept_version"] == 2
        now = graph.tables()
        assert _cell(now, "services", SERVICE, "capacity_per_year") == "111"
        assert _cell(now, "services", SERVICE, "provider") == "Bridgend CBC family services"
        assert _cell(now, "areas", "W06000024", "births_per_year") == "640"
        # The note says what Bob changed, not Ann's change again.
        note = graph.changes()[-1]["note"]
        assert "provider" in note and "capacity_per_year" not in note


def test_a_cell_both_changed_is_a_conflict_and_nothing_is_saved(seed_copy):  # noqa: F811 (the fixture)
    with Graph(seed_copy) as graph:
        started, tables = graph.version, graph.tables()
        was = _cell(tables, "services", SERVICE, "capacity_per_year")
        ann, bob = copy.deepcopy(tables), copy.deepcopy(tables)
        _set(ann, "services", SERVICE, "capacity_per_year", "111")
        _set(bob, "services", SERVICE, "capacity_per_year", "222")
        _set(bob, "services", SERVICE, "provider", "Someone else")
        graph.save_edit(ann, started_from=started, why="Ann's", by="Ann")
        with pytest.raises(MapChanged) as refused:
            graph.save_edit(
                bob, started_from=started, why="Bob's", by="Bob", started_tables=tables, merge=True
            )
        merge = refused.value.merge
        assert merge is not None and not merge.clean
        assert merge.conflicts == [
            {
                "table": "services",
                "key": SERVICE,
                "name": "Baby in Mind",
                "column": "capacity_per_year",
                "started": was,
                "yours": "222",
                "theirs": "111",
            }
        ]
        assert _cell(graph.tables(), "services", SERVICE, "capacity_per_year") == "111"
        assert [c["by"] for c in graph.changes() if c["action"] == "edit"] == ["Ann"]


def test_rows_added_removed_and_changed_merge_by_their_key():
    header = ["id", "name", "capacity_per_year"]
    started = {"services": [header, ["a", "A", "1"], ["b", "B", "2"], ["c", "C", "3"]]}
    mine = {"services": [header, ["a", "A", "10"], ["c", "C", "3"], ["m", "Mine", ""]]}
    theirs = {"services": [header, ["a", "A2", "1"], ["b", "B", "2"], ["t", "Theirs", "5"]]}
    merge = merge_edit(started, mine, theirs)
    assert merge.clean
    rows = merge.tables["services"]
    by_id = {row[0]: row for row in rows[1:]}
    # a: both changed different cells; b: removed by me, untouched by them; c: removed by them,
    # untouched by me; m and t: added on either side.
    assert by_id["a"][1:3] == ["A2", "10"]
    assert set(by_id) == {"a", "m", "t"}


def test_a_row_one_side_removed_while_the_other_changed_it_is_a_conflict():
    header = ["id", "name", "capacity_per_year"]
    started = {"services": [header, ["a", "A", "1"], ["b", "B", "2"]]}
    mine = {"services": [header, ["b", "B", "20"]]}  # I removed a, changed b
    theirs = {"services": [header, ["a", "A", "9"]]}  # they changed a, removed b
    merge = merge_edit(started, mine, theirs)
    found = {(c["key"], c["yours"], c["theirs"]) for c in merge.conflicts}
    assert found == {("a", REMOVED, "changed"), ("b", "changed", REMOVED)}
    # The current map's rows stay as they are where there is a conflict.
    assert [row[0] for row in merge.tables["services"][1:]] == ["a"]


def test_a_merge_that_breaks_a_rule_is_refused_with_its_problem(seed_copy):  # noqa: F811 (the fixture)
    with Graph(seed_copy) as graph:
        started, tables = graph.version, graph.tables()
        ann, bob = copy.deepcopy(tables), copy.deepcopy(tables)
        # Ann retires nothing but removes the Baby in Mind offers and service...
        for table, column in (("offers", "service_id"), ("workforce", "service_id")):
            index = ann[table][0].index(column)
            ann[table] = [ann[table][0], *[r for r in ann[table][1:] if r[index] != SERVICE]]
        for table in ("referrals",):
            header = ann[table][0]
            ann[table] = [
                header,
                *[
                    r
                    for r in ann[table][1:]
                    if SERVICE
                    not in (r[header.index("from_service")], r[header.index("to_service")])
                ],
            ]
        ann["services"] = [ann["services"][0], *[r for r in ann["services"][1:] if r[0] != SERVICE]]
        graph.save_edit(ann, started_from=started, why="Baby in Mind closed", by="Ann")
        # ...while Bob adds a referral to it: no cell conflicts, but the merged map breaks a rule.
        header = bob["referrals"][0]
        row = dict.fromkeys(header, "")
        row.update(
            from_service="ctm_health_visiting",
            to_service=SERVICE,
            reason="parenting",
            source="Bob",
        )
        bob["referrals"].append([row[c] for c in header])
        before = graph.version
        with pytest.raises(InputError) as problems:
            graph.save_edit(
                bob,
                started_from=started,
                why="new route",
                by="Bob",
                started_tables=tables,
                merge=True,
            )
        assert any(p.column == "to_service" for p in problems.value.problems)
        assert graph.version == before


# ---- the Data page -------------------------------------------------------------------------------
def test_two_editors_on_the_page_the_second_applies_onto_the_current_map(seed_copy, monkeypatch):  # noqa: F811 (the fixture)
    first = _app(monkeypatch, seed_copy)
    second = _app(monkeypatch, seed_copy)
    _edit(first, "services", SERVICE, "capacity_per_year", "111")
    _edit(second, "services", "ctm_camhs", "capacity_per_year", "75")
    _why(first, "first editor")
    _why(second, "second editor")
    _click(first, "edit_save")
    _click(second, "edit_save")
    said = "\n".join(i.value for i in second.info)
    assert "None of the cells you changed was changed by that save" in said
    assert "Apply my change onto the current map" in {b.label for b in second.button}
    _click(second, "edit_apply_onto")
    assert "onto the map as the other save left it" in "\n".join(s.value for s in second.success)
    with Graph(seed_copy) as graph:
        services = {row["id"]: row for row in graph.services()}
        assert services[SERVICE]["capacity_per_year"] == 111
        assert services["ctm_camhs"]["capacity_per_year"] == 75
        edits = [c for c in graph.changes() if c["action"] == "edit"]
        assert [e["note"].split(" — ")[0] for e in edits] == ["first editor", "second editor"]


def test_a_conflict_on_the_page_lists_the_cell(seed_copy, monkeypatch):  # noqa: F811 (the fixture)
    first = _app(monkeypatch, seed_copy)
    second = _app(monkeypatch, seed_copy)
    _edit(first, "services", SERVICE, "capacity_per_year", "111")
    _edit(second, "services", SERVICE, "capacity_per_year", "222")
    _why(first, "first editor")
    _why(second, "second editor")
    _click(first, "edit_save")
    _click(second, "edit_save")
    assert "Apply my change onto the current map" not in {b.label for b in second.button}
    conflicts = [t.value for t in second.dataframe if "theirs" in t.value.columns]
    assert conflicts
    row = conflicts[0].iloc[0]
    assert (row["key"], row["name"], row["column"], row["yours"], row["theirs"]) == (
        SERVICE,
        "Baby in Mind",
        "capacity_per_year",
        "222",
        "111",
    )


def test_save_waits_for_a_reason(seed_copy, monkeypatch):  # noqa: F811 (the fixture)
    app = _app(monkeypatch, seed_copy)
    _edit(app, "services", SERVICE, "capacity_per_year", "39")
    assert app.button(key="edit_save").disabled
    _why(app, "the team grew")
    assert not app.button(key="edit_save").disabled


def test_a_problem_names_the_row_and_the_grid_marks_it(seed_copy, monkeypatch):  # noqa: F811 (the fixture)
    app = _app(monkeypatch, seed_copy)
    generation = app.session_state["edit_draft"]["generation"]
    _edit(app, "services", SERVICE, "capacity_per_year", "lots")
    _why(app, "kept across the check")
    _click(app, "edit_check")
    problems = [t.value for t in app.dataframe if "reason" in t.value.columns]
    assert list(problems[0].columns) == ["table", "row", "column", "value", "reason"]
    assert problems[0].iloc[0]["row"] == f"{SERVICE} (Baby in Mind)"
    # The grids were rebuilt from the edit (nothing lost), with the row marked.
    draft = app.session_state["edit_draft"]
    assert draft["generation"] == generation + 1
    assert _cell(draft["grid"], "services", SERVICE, "capacity_per_year") == "lots"
    assert app.text_input(key=f"edit_why_{generation + 1}").value == "kept across the check"
    result = app.session_state["edit_result"]
    assert result["problems"][0]["index"] == [r[0] for r in draft["grid"]["services"][1:]].index(
        SERVICE
    )
    assert "marked in the grid" in "\n".join(e.value for e in app.error)
    # Fixed and checked again: the grids start from the fix, with no marks left.
    _edit(app, "services", SERVICE, "capacity_per_year", "40")
    _click(app, "edit_check")
    assert "Every rule passes" in "\n".join(s.value for s in app.success)
    draft = app.session_state["edit_draft"]
    assert draft["generation"] == generation + 2
    assert _cell(draft["grid"], "services", SERVICE, "capacity_per_year") == "40"
    assert not app.session_state["edit_result"].get("problems")


def test_undo_can_be_called_off(seed_copy, monkeypatch):  # noqa: F811 (the fixture)
    app = _app(monkeypatch, seed_copy)
    _edit(app, "services", SERVICE, "capacity_per_year", "39")
    _why(app, "the team grew")
    _click(app, "edit_save")
    with Graph(seed_copy) as graph:
        saved = graph.version
    _click(app, "edit_undo")
    label = app.button(key="edit_undo_confirm").label
    assert label.startswith("Yes, undo ") and "'s edit of " in label
    _click(app, "edit_undo_cancel")
    assert "edit_undo_confirm" not in {b.key for b in app.button}
    with Graph(seed_copy) as graph:
        assert graph.version == saved


# ---- the Scenarios page --------------------------------------------------------------------------
def test_the_share_link_is_the_page_as_shown_right_after_an_edit(seed_copy, monkeypatch):  # noqa: F811 (the fixture)
    app = _app(monkeypatch, seed_copy, "scenarios", editing=False)
    _fill_builder(app)
    app.number_input(key="builder_cost").set_value(1_500 * 120).run()
    shown = _metric(app, "Cost per family")
    links = [c.value for c in app.sidebar.code]
    assert len(links) == 1
    code = parse_qs(urlsplit(links[0]).query)["scenario"][0]
    assert from_link(code)["add_services"][0]["annual_cost"] == 180_000
    assert shown == "£1,500"


def test_the_report_options_are_offered_only_on_their_map(tmp_path, monkeypatch):
    from conftest import load_into

    load_into(tmp_path / "hand.lbug", Path(__file__).parent / "data" / "hand").close()
    app = _app(monkeypatch, tmp_path / "hand.lbug", "scenarios", editing=False)
    assert not app.error, [e.value for e in app.error]
    source = app.radio(key="scenario_source")
    assert source.value == "Build one" and "Bundled option" not in source.options
    assert "Not offered on this map" in "\n".join(c.value for c in app.caption)


def test_the_report_options_are_offered_on_the_seed_region(seed_copy, monkeypatch):  # noqa: F811 (the fixture)
    app = _app(monkeypatch, seed_copy, "scenarios", editing=False)
    assert app.radio(key="scenario_source").value == "Bundled option"
    assert not app.error
    assert "Not offered on this map" not in "\n".join(c.value for c in app.caption)


def _fresh(monkeypatch, db: Path, stem: str, params: dict[str, str]):
    """Another browser opening an address: a new session with these parameters."""
    from streamlit.testing.v1 import AppTest
    from test_workshop import APP, GRANTS

    monkeypatch.setenv("NESTMAP_DB", str(db))
    for name in GRANTS:
        monkeypatch.delenv(name, raising=False)
    app = AppTest.from_file(APP, default_timeout=90)
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    app.switch_page(f"views/{stem}.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _shared(app) -> dict[str, str]:
    """The parameters of the page's "Share this view" address."""
    (link,) = [c.value for c in app.sidebar.code]
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def test_a_bundled_option_and_its_edits_travel_in_the_link(seed_copy, monkeypatch):  # noqa: F811 (the fixture)
    app = _app(monkeypatch, seed_copy, "scenarios", editing=False)
    next(box for box in app.selectbox if box.label == "Option").set_value(1).run()
    app.number_input(key="scenario_capacity_1").set_value(700).run()
    shown = {m.label: m.value for m in app.metric}
    params = _shared(app)
    assert params["option"] == "option2_strengthened" and params["option_families"] == "700"
    assert "option_cost" not in params, "an unedited figure stays out of the link"
    other = _fresh(monkeypatch, seed_copy, "scenarios", params)
    assert {m.label: m.value for m in other.metric} == shown
    assert other.number_input(key="scenario_capacity_1").value == 700
    # A pasted scenario cannot travel: the share popover says so.
    app.radio(key="scenario_source").set_value("Paste YAML or JSON").run()
    assert "option" not in _shared(app)
    assert "not in this address" in "\n".join(w.value for w in app.sidebar.warning)


def test_changed_need_shares_travel_in_the_link(seed_copy, monkeypatch):  # noqa: F811 (the fixture)
    app = _app(monkeypatch, seed_copy, "need", editing=False)
    assert "shares" not in _shared(app), "the defaults need no parameter"
    app.number_input(key="need_share_targeted").set_value(0.2).run()
    params = _shared(app)
    assert params["shares"] == "0.2000,0.0900,0.1300"
    shortfall = [t.value for t in app.dataframe if "shortfall" in t.value.columns][0]
    # The Map page of another browser colours by the same shortfall; its Need page shows it.
    other = _fresh(monkeypatch, seed_copy, "need", params)
    assert other.number_input(key="need_share_targeted").value == 0.2
    again = [t.value for t in other.dataframe if "shortfall" in t.value.columns][0]
    assert again.equals(shortfall)
    assert other.session_state["need_shares"] == ("0.2000", "0.0900", "0.1300")
    # A damaged value is dropped, and the report's shares stand.
    broken = _fresh(monkeypatch, seed_copy, "map", {"shares": "2,x"})
    assert "shares" not in broken.query_params


def test_pages_end_with_layout_end_so_the_share_link_is_drawn():
    """``st.stop()`` in a page would stop the whole run before app.py draws the share link
    (after the page, so that it carries what the page wrote): pages end with ``layout.end()``."""
    import re

    import nestmap.dashboard

    folder = Path(nestmap.dashboard.__file__).parent
    found = [
        f"{path.name}:{number}"
        for path in sorted(folder.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bst\.stop\(\)", line.split("#")[0])
        and "``st.stop()``" not in line
        # A run whose browser has gone stops whole: there is no page, nor link, to draw.
        and "(no page left to end)" not in line
    ]
    assert not found, f"use layout.end() instead of st.stop() in: {', '.join(found)}"
