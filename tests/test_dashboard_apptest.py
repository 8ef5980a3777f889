"""Every dashboard page run by Streamlit's AppTest on the seed region (a real graph, no mocks):
no exceptions, and the figures on screen are the analyses' own."""

from __future__ import annotations

import html
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import load_into
from streamlit.testing.v1 import AppTest

import nestmap.dashboard
from nestmap import analysis, colours, vocabulary
from nestmap.analysis import extra, summaries
from nestmap.api import seed_path
from nestmap.dashboard import figures, network, tables
from nestmap.dashboard.layout import PAGE_SPECS
from nestmap.dashboard.text import esc, md
from nestmap.interop import dataset_tables

APP = str(nestmap.dashboard.APP_PATH)
STEMS = [stem for stem, _title, _icon in PAGE_SPECS]
LAS = ("W06000013", "W06000016", "W06000024")


def _app(monkeypatch: pytest.MonkeyPatch, db: str, stem: str = "overview", **params) -> AppTest:
    monkeypatch.setenv("NESTMAP_DB", db)
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    if stem != "overview":
        app.switch_page(f"views/{stem}.py")
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def _markdown(app: AppTest) -> str:
    return "\n".join(
        str(element.value) for element in [*app.markdown, *app.caption, *app.info, *app.warning]
    )


@pytest.mark.parametrize("stem", STEMS)
def test_every_page_runs_on_the_seed_region(stem, seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, stem)
    assert not app.error, [e.value for e in app.error]
    assert app.title[0].value == dict((s, t) for s, t, _ in PAGE_SPECS)[stem]


def test_overview_figures_are_the_analyses(seed_store, monkeypatch):
    metrics = _metrics(_app(monkeypatch, seed_store.location))
    gaps = analysis.gaps(seed_store)
    assert metrics["Gap cells"] == f"{sum(r['gap'] for r in gaps)} of {len(gaps)}"
    misdirected = analysis.misdirected(seed_store)
    # Named with their unit (the seed's are staff-survey mentions, never "a year"), split into
    # families who can be passed on from where they were sent and those sent to a dead end.
    onward = sum(r["count"] or 0 for r in misdirected if r["onward"])
    dead_end = sum(r["count"] or 0 for r in misdirected if not r["onward"])
    assert (onward, dead_end) == (0, 64)
    assert metrics["Misdirected, with an onward route"] == "none"
    assert metrics["Misdirected, to a dead end"] == "64 survey mentions"
    assert "Misdirected referrals a year" not in metrics
    cliffs = analysis.boundaries(seed_store)["threshold_cliffs"]
    assert metrics["Threshold cliffs"] == str(sum(r["status"] == "cliff" for r in cliffs))
    pathways = analysis.pathways(seed_store)
    dead = sum(r["destination"] is None for r in pathways)
    assert metrics["Dead-end entry points"] == f"{dead} of {len(pathways)}"
    # The report's finding 5: seven or eight practitioners at AiMH levels 2-3.
    assert metrics["Practitioners at AiMH levels 2-3"] == "7"
    # Targeted + specialist only, an upper bound (two services record no capacity); the
    # statutory row is named and shown apart, never added.
    totals = analysis.need_totals(seed_store)
    assert totals["intervention"]["shortfall"] == 1139.0
    # Short enough for its card; what "at most" means beside it.
    assert metrics["Targeted + specialist shortfall (families a year)"] == "at most 1,139"
    assert "Capacity not recorded for 2 services: the shortfall is at most the figure shown" in (
        _markdown(_app(monkeypatch, seed_store.location))
    )
    statutory = "statutory, families unlikely to access help (risk support via social care): "
    assert statutory + "at most 833; capacity not recorded for 2 services" in (
        _markdown(_app(monkeypatch, seed_store.location))
    )
    assert metrics["Services"] == "32" and metrics["Local authorities"] == "3"


def test_overview_says_which_figures_rest_on_illustrative_values(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location)
    badges = [str(c.value) for c in app.caption if "Illustrative]" in str(c.value)]
    # The 59 + 5 misdirected survey mentions are the survey's own totals: no badge on them.
    assert not any("of the 64 survey mentions" in b for b in badges)
    assert any("1,139 / 0.17 = 6,700" in b for b in badges)  # the inferred population
    assert any("How these posts are split" in b for b in badges)
    # One local authority's part of the 64 rests on the assumed split between referrers.
    bridgend = _app(monkeypatch, seed_store.location, la="W06000013")
    notes = [str(c.value) for c in bridgend.caption if "Illustrative]" in str(c.value)]
    assert any("40 of the 40 survey mentions rest on values marked illustrative" in b
               for b in notes)  # fmt: skip


def test_coverage_shows_gap_for_targeted_postnatal_in_every_la(seed_store, monkeypatch):
    # The report's finding 1: no targeted, specialised, postnatal work anywhere in the region.
    app = _app(monkeypatch, seed_store.location, "coverage")
    matrix = app.dataframe[0].value
    targeted = matrix[matrix["level"] == "targeted"].set_index("area_code")
    assert sorted(targeted.index) == list(LAS)
    assert (targeted["postnatal specialised"] == "gap").all()
    assert len(app.get("plotly_chart")) == 2  # the matrix, and the same by the child's age


def test_coverage_shows_age_bands(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "coverage", la="W06000024")
    (shown,) = [d.value for d in app.dataframe if "band" in d.value.columns]
    expected = analysis.age_bands(seed_store, "W06000024")
    assert list(shown["band"]) == [r["band"] for r in expected]
    assert list(shown["gap"]) == [r["gap"] for r in expected]
    assert "By the child's age" in [h.value for h in app.subheader]


def test_filters_come_from_the_url(seed_store, monkeypatch):
    app = _app(
        monkeypatch,
        seed_store.location,
        "coverage",
        la="W06000024",
        level="targeted",
        stage="postnatal",
        focus="specialised",
    )
    assert app.selectbox(key="filter_la").value == "W06000024"
    assert app.selectbox(key="filter_level").value == "targeted"
    matrix = app.dataframe[0].value
    assert list(matrix.columns) == ["area_code", "area_name", "level", "postnatal specialised"]
    assert matrix.to_dict("records") == [
        {
            "area_code": "W06000024",
            "area_name": "Merthyr Tydfil",
            "level": "targeted",
            "postnatal specialised": "gap",
        }
    ]
    assert dict(app.query_params) == {
        "la": "W06000024",
        "level": "targeted",
        "stage": "postnatal",
        "focus": "specialised",
    }


def test_changing_a_filter_writes_the_url(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "pathways")
    app.selectbox(key="filter_la").set_value("W06000013").run()
    assert app.query_params["la"] == "W06000013"
    table = app.dataframe[0].value
    assert set(table["area_code"]) == {"W06000013"}
    app.selectbox(key="filter_la").set_value("").run()
    assert "la" not in app.query_params


def test_unknown_codes_in_the_url_are_ignored(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "need", la="W06999999", level="tier9")
    assert app.selectbox(key="filter_la").value == ""
    assert len(app.dataframe[0].value) == 9


def test_presentation_mode_hides_downloads(seed_store, monkeypatch):
    normal = _app(monkeypatch, seed_store.location, "referrals")
    assert len(normal.get("download_button")) >= 4
    shown = _app(monkeypatch, seed_store.location, "referrals", present="1")
    assert shown.toggle(key="filter_present").value is True
    assert len(shown.get("download_button")) == 0


def test_referrals_and_boundaries_pages(seed_store, monkeypatch):
    # The report's finding 3 and 4: perinatal MH and CAMHS receive misdirected referrals; health
    # visiting is the most common destination.
    referrals = _app(monkeypatch, seed_store.location, "referrals")
    concentration, misdirected = (frame.value for frame in referrals.dataframe)
    survey = concentration[concentration["count_basis"] == vocabulary.label("survey_mentions")]
    assert survey.iloc[0]["to_service"] == "ctm_health_visiting"
    assert survey.iloc[0]["as_recorded"] == "89 survey mentions"
    assert survey.iloc[0]["illustrative"] == 89  # the placeholder
    assert survey.set_index("to_service").loc["ctm_perinatal_mental_health", "illustrative"] == 0
    # The uncounted links' destinations: not recorded, never 0.
    per_year = concentration[concentration["count_basis"] == vocabulary.label("per_year")]
    assert per_year["count"].isna().all() and set(per_year["as_recorded"]) == {"not recorded"}
    assert set(misdirected["to_service"]) == {"ctm_perinatal_mental_health", "ctm_camhs"}
    assert misdirected["as_recorded"].str.contains("survey mention").all()
    assert not misdirected["onward"].any()  # neither team refers anyone on: dead ends
    metrics = _metrics(referrals)
    assert metrics["Sent where the support is not, with an onward route"] == "none"
    assert metrics["Sent to a dead end"] == "64 survey mentions"
    assert metrics["Largest share of survey mentions"] == "58%"
    assert "Misdirected referrals a year" not in metrics
    notes = _markdown(referrals)
    assert "89 of the 153 survey mentions rest on values marked illustrative" in notes
    assert "referrals a year" not in " ".join(metrics.values())
    boundaries = _app(monkeypatch, seed_store.location, "boundaries", stage="antenatal")
    cliffs = boundaries.dataframe[0].value
    assert set(cliffs["stage"]) == {"antenatal"}
    assert cliffs.set_index("area_code").loc["W06000013", "status"] == "cliff"


def test_the_reasons_filter_keeps_the_misdirected_links_of_the_reasons_picked(
    seed_store, monkeypatch
):
    rows = analysis.misdirected(seed_store)
    present = sorted({r["reason"] for r in rows})
    app = _app(monkeypatch, seed_store.location, "referrals")
    assert len(app.dataframe[1].value) == len(rows)
    absent = [reason for reason in vocabulary.REASONS if reason not in present][:1]
    app.multiselect(key="referrals_reasons").set_value(absent).run()
    assert app.dataframe[1].value.empty
    metrics = _metrics(app)
    assert metrics["Sent to a dead end"] == "none"
    assert metrics["Sent where the support is not, with an onward route"] == "none"
    app.multiselect(key="referrals_reasons").set_value(present[:1]).run()
    shown = app.dataframe[1].value
    assert len(shown) == sum(r["reason"] == present[0] for r in rows) > 0
    wanted = sum(r["count"] or 0 for r in rows if r["reason"] == present[0] and not r["onward"])
    assert _metrics(app)["Sent to a dead end"].startswith(f"{wanted:,} ")


def test_the_interface_kinds_filter_keeps_the_links_with_a_kind_picked(seed_store, monkeypatch):
    links = analysis.boundaries(seed_store)["links"]
    app = _app(monkeypatch, seed_store.location, "boundaries")
    every = app.dataframe[1].value
    assert len(every) == len(links)
    labelled = [[vocabulary.label(kind) for kind in r["kinds"]] for r in links]
    assert [list(cell) for cell in every["kinds"]] == labelled
    kinds = sorted({kind for r in links for kind in r["kinds"]})
    assert app.multiselect(key="boundaries_kinds").value == kinds and len(kinds) > 1
    picked = kinds[-1]
    app.multiselect(key="boundaries_kinds").set_value([picked]).run()
    shown = app.dataframe[1].value
    wanted = [r for r in links if picked in r["kinds"]]
    assert 0 < len(shown) == len(wanted) < len(links)
    assert list(shown["from_service"]) == [r["from_service"] for r in wanted]
    assert all(vocabulary.label(picked) in cell for cell in shown["kinds"])


def test_pathways_show_the_chain_and_dead_ends(seed_store, monkeypatch):
    table = _app(monkeypatch, seed_store.location, "pathways").dataframe[0].value
    rows = analysis.pathways(seed_store)
    assert len(table) == len(rows)
    assert (table["outcome"] == "dead end").sum() == sum(r["destination"] is None for r in rows)
    reached = table[table["outcome"] != "dead end"]
    assert (reached["path"].str.count("→") == reached["hops"]).all()


def test_need_shares_are_editable(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "need")
    app.number_input(key="need_share_targeted").set_value(0.16).run()
    shown = app.dataframe[0].value
    expected = analysis.need(seed_store, shares=analysis.parse_shares("0.16", "0.09", "0.13"))
    assert shown["demand"].tolist() == [r["demand"] for r in expected]
    assert shown["shortfall"].tolist() == [r["shortfall"] for r in expected]
    assert expected[0]["demand"] == pytest.approx(
        2 * analysis.need(seed_store)[0]["demand"], abs=0.1
    )


def test_need_presets_and_what_each_share_means(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "need")
    notes = _markdown(app)
    assert "will access targeted services for help with attachment insecurity" in notes
    assert "unlikely to access help" in notes  # the statutory share, where it is edited
    assert "illustrative" in notes.lower()  # the seed's under-2 population
    app.button(key="need_preset_general_population").click().run()
    assert not app.exception
    assert app.number_input(key="need_share_targeted").value == pytest.approx(0.0733)
    expected = analysis.need(seed_store, shares=analysis.parse_shares("0.0733", "0.0708", "0.0975"))
    assert app.dataframe[0].value["demand"].tolist() == [r["demand"] for r in expected]
    app.button(key="need_preset_high_adversity").click().run()
    assert app.dataframe[0].value["demand"].tolist() == [
        r["demand"] for r in analysis.need(seed_store)
    ]


def test_workforce_and_thrive_pages(seed_store, monkeypatch):
    workforce = _app(monkeypatch, seed_store.location, "workforce")
    # The report's finding 6: no relationship assessment anywhere.
    coverage = next(f.value for f in workforce.dataframe if "assessing_services" in f.value)
    assert len(coverage) == 6 and coverage["gap"].all()
    # Per LA: the posts serving it (region-wide ones in every LA) beside the region's total,
    # whose LA figures are never added up (3 + 3 + 7 would be 13; the region has 7).
    merthyr = _metrics(_app(monkeypatch, seed_store.location, "workforce", la="W06000024"))
    assert merthyr["Posts at AiMH levels 2-3 serving this local authority"] == "3"
    assert merthyr["Across the whole dataset"] == "7"
    areas = next(f.value for f in workforce.dataframe if "area_code" in f.value)
    assert "posts at AiMH levels 2-3 serving this LA" in areas.columns
    assert "Never add the local authorities' figures up" in _markdown(workforce)
    thrive = _app(monkeypatch, seed_store.location, "thrive", level="targeted")
    assert set(thrive.dataframe[-1].value["thrive_group"]) == {"Getting Help"}
    assert "i-THRIVE groups support by what a family needs" in _markdown(thrive)


def test_map_notes_codes_without_boundary(tmp_path, monkeypatch):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    for csv_file in seed_path().glob("*.csv"):
        # England and Wales are bundled; a Scottish council is not.
        text = csv_file.read_text(encoding="utf-8").replace("W06000024", "S12000036")
        (folder / csv_file.name).write_text(text, encoding="utf-8")
    store = load_into(tmp_path / "graph.lbug", folder)
    app = _app(monkeypatch, store.location, "map")
    notes = " ".join(str(info.value) for info in app.info)
    assert "No bundled boundary for 1 of 3" in notes and "S12000036" in notes
    assert len(app.get("plotly_chart")) == 1
    store.close()


@pytest.mark.parametrize(
    "cypher",
    [
        "CREATE (n:X)",
        "MERGE (s:Service {id: 'x'})",
        "MATCH (s:Service) SET s.name = 'x'",
        "MATCH (s:Service) DELETE s",
        "MATCH (s:Service) DETACH DELETE s",
        "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
        "CALL db.createLabel('X')",
    ],
)
def test_query_console_refuses_writes(cypher, seed_store, monkeypatch):
    before = analysis.info(seed_store)
    app = _app(monkeypatch, seed_store.location, "query")
    app.text_area(key="query_text").set_value(cypher)
    app.button[0].click().run()
    assert any("Refused" in e.value for e in app.error), [e.value for e in app.error]
    assert analysis.info(seed_store) == before


def test_query_console_states(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "query")
    app.text_area(key="query_text").set_value("MATCH (s:Service) RETURN s.id AS id ORDER BY id")
    app.number_input[0].set_value(3)
    app.button[0].click().run()
    assert any("Truncated" in w.value for w in app.warning)
    assert app.dataframe[0].value["id"].tolist() == [
        "bridgend_baby_in_mind",
        "bridgend_childrens_social_care",
        "bridgend_families_first",
    ]
    app.text_area(key="query_text").set_value("MATCH (s:Service {id: 'nope'}) RETURN s")
    app.button[0].click().run()
    assert any("No data" in i.value for i in app.info)
    app.text_area(key="query_text").set_value("MATCH (s RETURN s")
    app.button[0].click().run()
    assert any(e.value.startswith("Error") for e in app.error)


def test_data_page_shows_the_loaded_dataset(seed_store, monkeypatch):
    # Uploads need a browser (AppTest has no file uploader): see test_dashboard_browser.py.
    app = _app(monkeypatch, seed_store.location, "data")
    assert "cwm\\_taf\\_morgannwg" in _markdown(app)
    assert _metrics(app)["Services"] == "32"
    assert len(app.dataframe[0].value) == 32


def test_download_helpers_write_csv_and_typed_xlsx():
    frame = tables.frame(
        [
            {"id": "a", "items": ["x", "y"], "offers": {"targeted": "specialised"}, "n": 3},
            {"id": "=1+1", "items": [], "offers": {}, "n": None},
        ]
    )
    assert tables.csv_bytes(frame).decode().splitlines() == [
        "id,items,offers,n",
        "a,x|y,targeted:specialised,3",
        "'=1+1,,,",  # neutralised for spreadsheets (OWASP): see test_hostile_files.py
    ]
    sheet = openpyxl.load_workbook(io.BytesIO(tables.xlsx_bytes(frame, "t"))).active
    assert [cell.value for cell in sheet[3]][0] == "=1+1"
    assert sheet["A3"].data_type == "s"  # a name starting with "=" is text, not a formula
    assert sheet["D2"].value == 3


def test_network_is_offline_and_escapes_user_data(seed_store):
    services = analysis.services(seed_store)
    header, *rows = dataset_tables(seed_store)["referrals"]
    links = [dict(zip(header, row, strict=True)) for row in rows]
    for link in links:
        link["count"] = int(link["count"]) if link["count"] else None
    services[0] = {**services[0], "name": "<script>window.__xss=1</script>", "source": "<img>"}
    selection = _everything(services, links)
    page = network.network_html(selection, {}, {}, {services[0]["id"]})
    assert "cdn.jsdelivr" not in page and "cdnjs" not in page
    assert "<script>window.__xss" not in page
    assert "this.frame.innerHTML=t" in page  # tooltips: our escaped HTML
    big = _everything(services * 20, links)
    assert not big.too_large or len(big.nodes) > network.MAX_NODES


def test_a_large_network_is_laid_out_here_and_a_small_one_by_the_browser(tmp_path):
    """Above LAYOUT_HERE_ABOVE services every node comes with its place and the browser's
    physics is off (it kept a national page busy for seconds); below, vis-network lays out."""
    import json as json_module
    import re

    from nestmap.synth import generate

    folder = tmp_path / "dataset"
    generate(folder, areas=8, services=400, links=3_000, seed=3)
    store = load_into(tmp_path / "graph.lbug", folder)
    services = analysis.services(store)
    links = [dict(link) for link in analysis.referral_links(store)]
    large = _everything(services, links)
    small = network.Selection(large.nodes[:20], [])
    assert len(large.nodes) > network.LAYOUT_HERE_ABOVE >= len(small.nodes)

    def nodes_and_options(page: str) -> tuple[list[dict], dict]:
        nodes = json_module.loads(re.search(r"nodes = new vis\.DataSet\((\[.*?\])\);", page)[1])
        options = json_module.loads(re.search(r"var options = (\{.*?\});\n", page, re.S)[1])
        return nodes, options

    nodes, options = nodes_and_options(network.network_html(large, {}, {}, set()))
    assert options["physics"] == {"enabled": False}
    assert all(isinstance(node["x"], float) and isinstance(node["y"], float) for node in nodes)
    places = {(node["x"], node["y"]) for node in nodes}
    assert len(places) == len(nodes)  # no two services on one spot
    again, _ = nodes_and_options(network.network_html(large, {}, {}, set()))
    assert [(n["x"], n["y"]) for n in again] == [(n["x"], n["y"]) for n in nodes]  # seeded
    nodes, options = nodes_and_options(network.network_html(small, {}, {}, set()))
    assert options["physics"]["solver"] == "forceAtlas2Based"
    assert not any("x" in node for node in nodes)
    store.close()


@pytest.mark.parametrize("size, links", [(2, 1), (40, 60), (401, 2000)])
def test_the_network_layout_takes_the_steps_networkx_takes(size, links):
    """network.spring_layout is networkx's Fruchterman-Reingold (below 500 nodes) written over
    the coordinates apart: from the same seeded start, the same positions step for step. (Over
    many steps the two drift apart by rounding alone: the layout is chaotic.)"""
    import math

    import networkx as nx
    import numpy

    rng = numpy.random.default_rng(size)
    graph = nx.Graph()
    graph.add_nodes_from(range(size))
    for one, other in rng.integers(0, size, (links, 2)).tolist():
        if one != other:
            graph.add_edge(one, other, weight=1.0 if other else 0.02)
    weights = nx.to_numpy_array(graph, weight="weight")
    k = 1.5 / math.sqrt(size)
    for steps in (1, 5, 10):
        expected = nx.spring_layout(graph, k=k, seed=0, iterations=steps)
        found = network.spring_layout(weights, k=k, seed=0, iterations=steps)
        assert numpy.abs(found - numpy.array([expected[n] for n in graph.nodes])).max() < 1e-9
    assert numpy.abs(found).max() == pytest.approx(1.0)


def test_text_escaping():
    assert esc('<img src=x onerror="y">') == '&lt;img src=x onerror="y"&gt;'
    assert md("[x](javascript:y)") == "\\[x\\]\\(javascript\\:y\\)"


def _zip_of(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for csv_file in sorted(folder.glob("*.csv")):
            archive.writestr(csv_file.name, csv_file.read_text(encoding="utf-8"))
    return buffer.getvalue()


def test_xss_dataset_is_valid_and_carries_payloads():
    from nestmap.loaders import read_dataset_bytes

    dataset = read_dataset_bytes("xss.zip", _zip_of(Path(__file__).parent / "data" / "xss"))
    names = " ".join(service.name for service in dataset.services)
    assert "<script>window.__xss=1</script>" in names
    assert '<img src=x onerror="window.__xss=1">' in names


def test_many_local_authorities(tmp_path, monkeypatch):
    from nestmap.synth import generate

    generate(tmp_path / "synth", areas=30, services=300, links=1500)
    store = load_into(tmp_path / "graph.lbug", tmp_path / "synth")
    rows = analysis.pathways(store)
    overview = _metrics(_app(monkeypatch, store.location))
    dead = sum(r["destination"] is None for r in rows)
    assert overview["Dead-end entry points"] == f"{dead:,} of {len(rows):,}"
    coverage = _app(monkeypatch, store.location, "coverage")
    assert "30 local authorities: one row each, the most gaps first" in coverage.info[0].value
    # One table with a row per LA, not 30 panels; the LAs with the most gaps on top.
    assert not coverage.get("plotly_chart")
    bodies = [element.proto.body for element in coverage.get("html")]
    matrix, ages = [body for body in bodies if 'class="nm-grid"' in body]
    gaps = analysis.gaps(store)
    per_la = {code: sum(r["gap"] for r in gaps if r["area_code"] == code) for code in
              {r["area_code"] for r in gaps}}  # fmt: skip
    names = {r["area_code"]: r["area_name"] for r in gaps}
    worst = sorted(per_la, key=lambda code: (-per_la[code], code))
    assert re.findall(r'<th scope="row" class="nm-la">(.*?)</th>', matrix) == [
        html.escape(names[code]) for code in worst
    ]
    assert matrix.count('<th scope="colgroup"') == 4  # the levels, each over its columns:
    assert matrix.count('<th scope="col">') == 4 * 2 * 2  # level x stage x focus
    assert "30 local authorities" in coverage.info[1].value  # the age bands, the same way
    assert ages.count('<th scope="row"') == 30
    map_page = _app(monkeypatch, store.location, "map")
    assert "No bundled boundary for 30 of 30" in map_page.info[0].value
    table = _app(monkeypatch, store.location, "pathways").dataframe[0].value
    reached = table[table["outcome"] != "dead end"]
    assert (reached["path"].str.count("→") == reached["hops"]).all()
    store.close()


def test_tables_show_names_and_headers_with_ids_hidden(seed_store, monkeypatch):
    monkeypatch.setenv("NESTMAP_DB", seed_store.location)
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    rows = analysis.misdirected(seed_store)
    shown, config, order = tables.for_people(tables.frame(rows))
    names = {row["id"]: row["name"] for row in analysis.services(seed_store)}
    # Names in place of ids, the ids kept (hidden, showable), lists as lists.
    assert order[:2] == ["from_service (names)", "to_service (names)"]
    assert "from_service" not in order and "from_service" in shown.columns
    assert shown["from_service (names)"].tolist() == [names[r["from_service"]] for r in rows]
    assert config["from_service (names)"]["label"] == "From"
    assert config["count"]["label"] == "Count"  # its unit is in the column beside it
    assert config["count_basis"]["label"] == "Unit"
    # Lists as lists, in words ("not_offered" reads "support not offered there").
    assert shown["problems"].tolist() == [
        [vocabulary.label(p) for p in r["problems"]] for r in rows
    ]
    # A name beside its id: the id is only hidden, and the name's header says where it is.
    gaps = analysis.gaps(seed_store)
    shown, config, order = tables.for_people(tables.frame(gaps))
    assert "area_code" not in order and order[0] == "area_name"
    assert "Local authority code (id)" in config["area_name"]["help"]
    assert shown["specialised_services (names)"].tolist() == [
        [names[s] for s in r["specialised_services"]] for r in gaps
    ]
    # Downloads keep the analysis's keys, lists joined as in the input files.
    assert tables.csv_bytes(tables.frame(gaps)).decode().splitlines()[0].startswith("area_code,")


@pytest.fixture(scope="module")
def busy_store(tmp_path_factory):
    """A synthetic dataset with more misdirected links and services than a lowered page or
    network limit holds."""
    from nestmap.synth import generate

    folder = tmp_path_factory.mktemp("busy")
    generate(folder / "synth", areas=6, services=200, links=3000)
    store = load_into(folder / "graph.lbug", folder / "synth")
    yield store
    store.close()


def test_a_big_table_shows_one_page_with_its_total_and_downloads_keep_every_row(
    busy_store, monkeypatch
):
    import csv

    rows = analysis.misdirected(busy_store)
    assert len(rows) > 12
    monkeypatch.setenv("NESTMAP_DASHBOARD_PAGE_ROWS", "5")
    made: dict[str, object] = {}

    def keep(place, label, data, file_name, key=None):  # the button's bytes, made on click
        made[file_name] = data

    monkeypatch.setattr(tables, "download", keep)
    app = _app(monkeypatch, busy_store.location, "referrals")
    first = app.dataframe[1].value
    assert len(first) == 5
    assert f"Rows 1–5 of {len(rows):,}; the downloads have every row." in _markdown(app)
    pages = -(-len(rows) // 5)
    picker = app.number_input(key=f"page_misdirected_{len(rows)}")
    assert picker.label == f"Page (of {pages:,})"
    picker.set_value(2).run()
    second = app.dataframe[1].value
    assert len(second) == 5
    assert f"Rows 6–10 of {len(rows):,}" in _markdown(app)
    assert second["from_service"].tolist() == [r["from_service"] for r in rows[5:10]]
    # The downloads hold every row, not the page.
    made.clear()
    app.run()
    table = list(csv.DictReader(io.StringIO(made["misdirected.csv"]().decode("utf-8"))))
    assert len(table) == len(rows)
    assert [r["to_service"] for r in table] == [r["to_service"] for r in rows]
    sheet = openpyxl.load_workbook(io.BytesIO(made["misdirected.xlsx"]())).active
    assert sheet.max_row == len(rows) + 1


def test_a_small_table_is_shown_whole(seed_store, monkeypatch):
    rows = analysis.misdirected(seed_store)
    app = _app(monkeypatch, seed_store.location, "referrals")
    assert len(app.dataframe[1].value) == len(rows)
    assert "Rows 1–" not in _markdown(app)
    assert not app.number_input


def test_network_draws_the_most_referred_to_and_says_what_it_left_out(busy_store, monkeypatch):
    services, links = analysis.services(busy_store), analysis.referral_links(busy_store)
    everything = _everything(services, links, reasons=None, linked_only=True)
    table = summaries.referral_links_table(busy_store)
    catalogue = extra.services_table(busy_store)
    shown = network.shown_of(
        catalogue, table, reasons=None, linked_only=True, max_nodes=12, max_edges=20
    )
    assert (shown.services, shown.links) == (len(everything.nodes), len(everything.edges))
    assert len(shown.selection.nodes) == 12 and len(shown.selection.edges) <= 20
    assert not shown.complete
    received: dict[str, tuple[int, int]] = {}
    for link in everything.edges:
        per_year, survey = received.get(link["to_service"], (0, 0))
        if link["count_basis"] == "survey_mentions":
            survey += link["count"] or 0
        else:
            per_year += link["count"] or 0
        received[link["to_service"]] = (per_year, survey)
    drawn = {s["id"] for s in shown.selection.nodes}
    # No service left out receives more (referrals a year, then survey mentions) than one drawn.
    assert min(received.get(s, (0, 0)) for s in drawn) >= max(
        received.get(s["id"], (0, 0)) for s in everything.nodes if s["id"] not in drawn
    )
    assert all(
        e["from_service"] in drawn and e["to_service"] in drawn for e in shown.selection.edges
    )
    whole = network.shown_of(
        catalogue, table, reasons=None, linked_only=True, max_nodes=10_000, max_edges=100_000
    )
    assert whole.complete and whole.selection == everything
    # The page draws at most the limits and says what it left out.
    monkeypatch.setattr(network, "MAX_NODES", 12)
    monkeypatch.setattr(network, "MAX_EDGES", 20)
    app = _app(monkeypatch, busy_store.location, "network")
    services_shown = len(shown.selection.nodes)
    links_shown = len(shown.selection.edges)
    expected = (
        f"Showing {services_shown} of {len(everything.nodes):,} services and {links_shown} of "
        f"{len(everything.edges):,} referral links"
    )
    assert any(expected in w.value for w in app.warning), [w.value for w in app.warning]
    assert f"{services_shown} services · {links_shown} referral links" in _markdown(app)


def test_destinations_sharing_a_name_get_a_bar_each():
    from nestmap.dashboard import figures

    rows = [
        {"to_service": "hv_1", "count": 5, "share": 0.5, "specialised": False},
        {"to_service": "hv_2", "count": 3, "share": 0.3, "specialised": False},
        {"to_service": "camhs", "count": 2, "share": 0.2, "specialised": True},
    ]
    names = {"hv_1": "Health visiting", "hv_2": "Health visiting", "camhs": "CAMHS"}
    labels = list(figures.concentration_bar(rows, names).data[0].y)
    assert labels == ["Health visiting (hv_1)", "Health visiting (hv_2)", "CAMHS"]


def test_small_shares_keep_a_decimal():
    from nestmap.dashboard import figures
    from nestmap.dashboard.text import share_text

    assert [share_text(s) for s in (0.0026, 0.1, 0.47, None)] == ["0.3%", "10%", "47%", ""]
    rows = [{"to_service": "hv", "count": 5, "share": 0.0026, "specialised": False}]
    assert list(figures.concentration_bar(rows, {}).data[0].text) == ["0.3%"]


def test_a_destination_with_no_count_recorded_says_so_beside_the_axis():
    """Counts all blank: no bar to write in, so "not recorded" is written outside it, on an
    axis that starts at 0 (not one running from -1 to 1 around nothing)."""
    from nestmap.dashboard import figures

    rows = [
        {"to_service": "hv", "count": 0, "share": None, "specialised": False},
        {"to_service": "camhs", "count": 0, "share": None, "specialised": True},
    ]
    figure = figures.concentration_bar(rows, {}, unrecorded=frozenset({"hv", "camhs"}))
    bar = figure.data[0]
    assert list(bar.text) == ["not recorded", "not recorded"]
    assert list(bar.textposition) == ["outside", "outside"]
    assert figure.layout.xaxis.rangemode == "nonnegative"
    counted = [{"to_service": "hv", "count": 5, "share": 1.0, "specialised": False}]
    assert list(figures.concentration_bar(counted, {}).data[0].textposition) == ["auto"]


def _frame_cell_by_cell(rows, columns=None):
    """tables.frame as it was written first, cell by cell: the reference for the faster one."""
    import pandas as pd

    from nestmap.dashboard.tables import _cell

    records = [{key: _cell(value) for key, value in row.items()} for row in rows]
    table = pd.DataFrame.from_records(records, columns=columns)
    if columns is not None:
        table = table[columns]
    for column in table.columns:
        values = [row[column] for row in records if row.get(column) is not None]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            table[column] = table[column].astype("Int64")
    return table


@pytest.mark.parametrize(
    "rows,columns",
    [
        ([], None),
        ([], ["a", "b"]),
        (
            [
                {"id": "a", "count": 3, "share": 0.5, "ok": True, "items": ["x", None], "m": {}},
                {"id": "b", "count": None, "share": None, "ok": False, "items": (), "m": {"k": 1}},
                {"id": None, "count": 7, "share": 1.0, "ok": True, "items": [], "m": {"z": None}},
            ],
            None,
        ),
        (
            [{"a": 1, "b": "x", "c": [1, 2]}, {"a": 2, "b": None}, {"b": "y", "c": None}],
            ["c", "a", "b"],
        ),
        ([{"n": 1.5, "whole": 2}, {"n": 2, "whole": None}, {"n": None, "whole": 3}], None),
        ([{"mixed": 1}, {"mixed": "one"}, {"mixed": None}], None),
    ],
)
def test_the_column_wise_frame_equals_the_cell_by_cell_one(rows, columns):
    from pandas.testing import assert_frame_equal

    assert_frame_equal(tables.frame(rows, columns), _frame_cell_by_cell(rows, columns))


def test_frames_of_the_national_analyses_equal_the_cell_by_cell_ones(tmp_path):
    from pandas.testing import assert_frame_equal

    from nestmap.synth import generate

    folder = tmp_path / "dataset"
    generate(folder, areas=6, services=200, links=2_000, seed=4)
    store = load_into(tmp_path / "graph.lbug", folder)
    for rows in (
        analysis.misdirected(store),
        analysis.boundaries(store)["links"],
        analysis.gaps(store),
        analysis.services(store),
        analysis.pathways(store),
        analysis.need(store),
    ):
        assert_frame_equal(tables.frame(rows), _frame_cell_by_cell(rows))
    store.close()


def test_frames_built_from_arrow_equal_those_built_from_rows(tmp_path, hand_copy):
    """The Referrals and Boundaries pages build their big tables from the kept Arrow answer:
    the same frame as from the rows, names looked up included (and an empty answer)."""
    from pandas.testing import assert_frame_equal

    import nestmap
    from nestmap.synth import generate

    folder = tmp_path / "dataset"
    generate(folder, areas=6, services=200, links=2_000, seed=6)
    (hand_copy / "referrals.csv").write_text(
        (hand_copy / "referrals.csv").read_text(encoding="utf-8").splitlines()[0] + "\n",
        encoding="utf-8",
    )
    for source, db in ((folder, "synthetic.lbug"), (hand_copy, "no-links.lbug")):
        load_into(tmp_path / db, source).close()
        with nestmap.Graph(tmp_path / db) as graph:
            names = {row["id"]: row["name"] for row in analysis.services(graph.store)}
            names.pop(next(iter(names)))  # a service without a name: ""
            for rows, table, columns in (
                (
                    graph.misdirected(),
                    graph.arrow("misdirected"),
                    ["from_service", "from_name", "to_service", "to_name", "reason", "count",
                     "count_basis", "problems", "onward"],
                ),
                (
                    graph.boundaries()["links"],
                    graph.arrow("boundaries")["links"],
                    ["from_service", "from_name", "to_service", "to_name", "reason", "kinds",
                     "from_threshold", "to_threshold"],
                ),
            ):  # fmt: skip
                by_rows = tables.frame(
                    [
                        {
                            **r,
                            "from_name": names.get(r["from_service"], ""),
                            "to_name": names.get(r["to_service"], ""),
                        }
                        for r in rows
                    ],
                    columns,
                )
                by_arrow = tables.arrow_frame(
                    table, columns, {"from_name": names, "to_name": names}
                )
                assert_frame_equal(by_arrow, by_rows)
                assert table.column_names == [c for c in columns if not c.endswith("_name")]


@pytest.mark.parametrize("caps", [(None, None), (30, 60), (5, 3), (1000, 10)])
def test_the_network_drawn_from_arrow_links_equals_the_one_from_rows(tmp_path, caps):
    """The Network page selects and ranks over the links as Arrow: the same services and links,
    in the same order, as select + most_referred_to over the rows, whatever the filters; and
    the same from one LA's services alone as from the whole catalogue."""
    import itertools

    import numpy

    import nestmap
    from nestmap.synth import generate

    folder = tmp_path / "dataset"
    generate(folder, areas=4, services=150, links=1_500, seed=9)
    load_into(tmp_path / "graph.lbug", folder).close()
    max_nodes, max_edges = caps
    with nestmap.Graph(tmp_path / "graph.lbug") as graph:
        services = list(graph.services())
        catalogue = graph.arrow("services")
        assert [extra.service_row(row) for row in catalogue.to_pylist()] == services
        rows = list(graph.referral_links())
        table = graph.arrow("referral_links")
        assert table.to_pylist() == rows
        # The page passes the links in the engine's order: any order selects the same.
        shuffled = table.take(numpy.random.default_rng(3).permutation(table.num_rows))
        lean = extra.network_services_table(graph.store)
        assert lean.column_names == ["id", "status", "covers", "stages", "offers"]
        assert lean.column("id").to_pylist() == [s["id"] for s in services]

        def whole(wanted: list[str]) -> list[dict]:
            return extra.services_by_id(graph.store, wanted)

        assert whole([services[2]["id"], "no such id", services[0]["id"]]) == [
            services[2], services[0]
        ]  # fmt: skip
        la = graph.local_authorities()[0]["code"]
        for la_code, level, focus, stage, reasons, inactive, linked in itertools.product(
            (None, la),
            (None, "targeted"),
            (None, "specialised"),
            (None, "antenatal"),
            (None, ["parent_infant_relationship", "parenting"]),
            (False, True),
            (False, True),
        ):
            filters = dict(la=la_code, level=level, focus=focus, stage=stage, reasons=reasons,
                           include_inactive=inactive, linked_only=linked)  # fmt: skip
            expected = _reference_most_referred_to(
                _reference_select(services, rows, **filters), max_nodes, max_edges
            )
            for links in (table, shuffled):
                found = network.shown_of(
                    catalogue, links, **filters, max_nodes=max_nodes, max_edges=max_edges
                )
                assert found == expected, filters
            # As the page selects: over what services are selected by, the drawn read whole.
            found = network.shown_of(
                lean, shuffled, **filters, max_nodes=max_nodes, max_edges=max_edges, rows=whole
            )
            assert found == expected, filters
            if la_code:  # the page passes one LA's services alone (the engine selects them)
                local = graph.arrow("services", la_code)
                assert local.num_rows < catalogue.num_rows
                found = network.shown_of(
                    local, shuffled, **filters, max_nodes=max_nodes, max_edges=max_edges
                )
                assert found == expected, filters
                local = extra.network_services_table(graph.store, la_code)
                assert local.column("id").to_pylist() == [
                    s["id"] for s in services if la_code in s["covers"]
                ]
                found = network.shown_of(
                    local, shuffled, **filters, max_nodes=max_nodes, max_edges=max_edges,
                    rows=whole,
                )  # fmt: skip
                assert found == expected, filters


# The network's selection over rows, as first written: the reference network.shown_of (over
# the links as Arrow) is tested against.
Row = dict


def _reference_select(
    services: list[Row],
    links: list[Row],
    *,
    la: str | None = None,
    level: str | None = None,
    focus: str | None = None,
    stage: str | None = None,
    reasons: list[str] | None = None,
    include_inactive: bool = False,
    linked_only: bool = False,
) -> network.Selection:
    """The services passing the filters and the links between two of them."""
    nodes = [s for s in services if _reference_keeps(s, la, level, focus, stage, include_inactive)]
    kept = {s["id"] for s in nodes}
    edges = [
        link
        for link in links
        if link["from_service"] in kept
        and link["to_service"] in kept
        and (reasons is None or link["reason"] in reasons)
    ]
    if linked_only:
        linked = {link["from_service"] for link in edges} | {link["to_service"] for link in edges}
        nodes = [s for s in nodes if s["id"] in linked]
    return network.Selection(nodes, edges)


def _reference_keeps(
    service: Row,
    la: str | None,
    level: str | None,
    focus: str | None,
    stage: str | None,
    include_inactive: bool,
) -> bool:
    """The network's filters on one service row (the page applies them over Arrow)."""
    offers: dict[str, str] = service["offers"]
    if not include_inactive and service["status"] != "active":
        return False
    if la and la not in service["covers"]:
        return False
    if stage and stage not in service["stages"]:
        return False
    if level and level not in offers:
        return False
    if focus:
        focuses = [offers[level]] if level else list(offers.values())
        if focus not in focuses:
            return False
    return True


def _reference_most_referred_to(
    selection: network.Selection, max_nodes: int | None = None, max_edges: int | None = None
) -> network.Shown:
    """At most ``max_nodes`` services and ``max_edges`` links of ``selection``: the services
    receiving the most referrals a year on its links (then the most survey mentions: units are
    never added; then the most links; then by id, so the same selection always draws the
    same), the links between two of them, the links with the largest counts first. A selection
    within the limits is drawn whole."""
    max_nodes = network.MAX_NODES if max_nodes is None else max_nodes
    max_edges = network.MAX_EDGES if max_edges is None else max_edges
    if len(selection.nodes) <= max_nodes and len(selection.edges) <= max_edges:
        return network.Shown(selection, len(selection.nodes), len(selection.edges))
    received: dict[str, tuple[int, int, int]] = {}
    for link in selection.edges:
        per_year, survey, links = received.get(link["to_service"], (0, 0, 0))
        count = link["count"] or 0
        if link["count_basis"] == "survey_mentions":
            survey += count
        else:
            per_year += count
        received[link["to_service"]] = (per_year, survey, links + 1)
    ranked = sorted(
        selection.nodes,
        key=lambda s: (*(-value for value in received.get(s["id"], (0, 0, 0))), s["id"]),
    )
    nodes = ranked[:max_nodes]
    kept = {s["id"] for s in nodes}
    edges = [e for e in selection.edges if e["from_service"] in kept and e["to_service"] in kept]
    if len(edges) > max_edges:
        edges = sorted(
            edges, key=lambda e: (-(e["count"] or 0), e["from_service"], e["to_service"])
        )[:max_edges]
    return network.Shown(
        network.Selection(nodes, edges), len(selection.nodes), len(selection.edges)
    )


def _everything(services: list, links: list, **filters) -> network.Selection:
    """The whole selection for the filters (no cap), from rows: what network.shown_of selects
    over Arrow (test_the_network_drawn_from_arrow_links_equals_the_one_from_rows)."""
    return _reference_select(services, links, **filters)


def _cell(area: str, name: str, level: str, stage: str, specialised: int, others: int):
    special = [f"{area}-s{i}" for i in range(specialised)]
    return {
        "area_code": area,
        "area_name": name,
        "level": level,
        "stage": stage,
        "specialised_services": special,
        "any_services": special + [f"{area}-o{i}" for i in range(others)],
        "gap": not special,
    }


def test_the_coverage_overview_keeps_the_worst_local_authorities_and_their_names_apart():
    # 45 LAs: LA i has a gap in i % 3 of its 2 x 2 cells (at most 2). Two LAs share a name,
    # one name is markup.
    rows = []
    for i in range(45):
        name = "Same name" if i in (0, 1) else "<b>Bold</b>" if i == 2 else f"LA {i:02}"
        for n, (level, stage) in enumerate(
            (lv, st) for lv in ("universal", "targeted") for st in ("antenatal", "postnatal")
        ):
            rows.append(_cell(f"X{i:02}", name, level, stage, 0 if n < i % 3 else 2, 1))
    grid, count = figures.coverage_overview(
        rows, ["universal", "targeted"], ["antenatal", "postnatal"], ["specialised"]
    )
    assert count == 45
    shown = grid.rows
    assert len(shown) == figures.OVERVIEW_ROWS
    # The 15 LAs with 2 gaps first (by code), then those with 1.
    assert shown[:2] == ["<b>Bold</b>", "LA 05"]
    assert shown[14] == "LA 44" and shown[15] == "Same name (X01)"
    assert grid.states[0] == [figures.GAP, figures.GAP, figures.SPECIALISED, figures.SPECIALISED]
    assert grid.text[0] == ["gap", "gap", "2", "2"]
    assert grid.columns[0] == ("universal", "antenatal", "spec.")
    assert grid.hover[0][0] == (
        "<b>Bold</b>: universal · antenatal · specialised: gap: no specialised service"
    )
    assert (
        grid.hover[0][2]
        == "<b>Bold</b>: targeted · antenatal · specialised: 2 specialised services"
    )
    page = grid.html()
    assert "<b>Bold</b>" not in page and "&lt;b&gt;Bold&lt;/b&gt;" in page  # escaped
    assert page.count("<tr>") == 2 + figures.OVERVIEW_ROWS  # two heading rows
    assert page.count('<th scope="row"') == figures.OVERVIEW_ROWS
    assert '<td class="nm-c0" title="&lt;b&gt;Bold&lt;/b&gt;: universal' in page
    # A gap: white on red, which contrasts 4.5:1 or more (WCAG AA); a count: white on teal.
    assert f".nm-c{figures.GAP}{{background:{colours.GAP};color:#ffffff}}" in page
    assert f".nm-c{figures.SPECIALISED}{{background:{colours.SPECIALISED};color:#ffffff}}" in page
    assert figures.rows_shown(45) == f"a row each for {figures.OVERVIEW_ROWS} of them"
    assert figures.rows_shown(12) == "one row each"


def test_the_age_band_overview_counts_specialised_services_per_band():
    rows = [
        {"area_code": code, "level": "universal", "band": band,
         "specialised_services": ["a", "b"] if (code, band) != ("B", "6-11") else [],
         "gap": (code, band) == ("B", "6-11")}
        for code in ("A", "B") for band in ("0-5", "6-11")
    ]  # fmt: skip
    grid, count = figures.age_band_overview(rows, {"A": "Aye", "B": "Bee"}, ["universal"])
    assert count == 2 and grid.rows == ["Bee", "Aye"]  # the one with a gap first
    assert grid.columns == [("universal", "0-5 m"), ("universal", "6-11 m")]
    assert grid.text == [["2", "gap"], ["2", "2"]]
    assert grid.hover[0][1] == "Bee: universal · 6-11 months: gap: no specialised service"
    assert grid.hover[1][0] == "Aye: universal · 0-5 months: 2 specialised services"
    page = grid.html()
    assert '<th scope="colgroup" colspan="2" class="nm-group">universal</th>' in page
    assert '<th scope="col">0-5 m</th><th scope="col">6-11 m</th>' in page


def test_the_networks_dead_ends_are_the_pathways_answers(tmp_path, monkeypatch):
    """The dead-end entry points the network marks are those of the kept pathways answer (read
    without chains): per LA and in all, the same as the pathways with their chains."""
    from nestmap.synth import generate

    # A graph of its own: another test's network, drawn under lowered limits, is kept for
    # busy_store's (in this process and on disk).
    generate(tmp_path / "synth", areas=5, services=150, links=1500, seed=3)
    busy_store = load_into(tmp_path / "graph.lbug", tmp_path / "synth")
    path = str(busy_store.path)
    for area in (None, analysis.local_authorities(busy_store)[0]["code"]):
        app = _app(monkeypatch, path, "network", **({"la": area} if area else {}))
        pathways = analysis.pathways(busy_store, area)
        dead = {r["entry_service"] for r in pathways if r["destination"] is None}
        shown = network.shown_of(
            extra.services_table(busy_store),
            summaries.referral_links_table(busy_store),
            la=area,
            reasons=list(vocabulary.REASONS),
            linked_only=True,
        )
        drawn = {node["id"] for node in shown.selection.nodes}
        services = len(dead & drawn)
        pairs = sum(r["entry_service"] in drawn for r in pathways if r["destination"] is None)
        caption = next(c.value for c in app.caption if "dead ends:" in c.value)
        assert f"dead ends: {services:,} entry-point" in caption, caption
        assert f"{pairs:,} local authority × entry" in caption, caption
        assert services > 0
    busy_store.close()


@pytest.mark.parametrize("every_link", [True, False], ids=["every link", "half the links"])
def test_the_misdirected_caveat_says_what_rests_on_illustrative_links(
    tmp_path, monkeypatch, every_link
):
    """The Referrals page says how much of the misdirected links' counts rests on illustrative
    values, per unit, judged within the rows shown (read over Arrow, with no DataFrame in
    between): the rule applied row by row, for every reason and for one."""
    import csv

    from test_provenance import illustrative_volume

    from nestmap.dashboard.provenance import volume_caveat
    from nestmap.synth import generate

    folder = tmp_path / "synth"
    generate(folder, areas=4, services=120, links=1_200, seed=4)
    if not every_link:  # every other link given a source that marks nothing illustrative
        path = folder / "referrals.csv"
        with path.open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        for row in rows[1::2]:
            row["source"] = "Referral audit, 2024"
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    store = load_into(tmp_path / "graph.lbug", folder)
    links = store.run("export_referrals")
    misdirected = analysis.misdirected(store)

    def caveat(rows: list[dict]) -> str:
        totals: dict[str, int] = {}
        for row in rows:
            totals[row["count_basis"]] = totals.get(row["count_basis"], 0) + (row["count"] or 0)
        return volume_caveat(illustrative_volume(rows, links), totals)

    app = _app(monkeypatch, str(store.path), "referrals")
    expected = caveat(misdirected)
    assert expected and expected in _markdown(app)
    reason = max(vocabulary.REASONS, key=lambda r: sum(m["reason"] == r for m in misdirected))
    app.multiselect(key="referrals_reasons").set_value([reason]).run()
    expected = caveat([row for row in misdirected if row["reason"] == reason])
    assert expected and expected in _markdown(app)
    store.close()


def test_names_looked_up_over_arrow_are_the_row_by_row_lookup(seed_store):
    """The Referrals table's from_name and to_name, matched over Arrow (``arrow_named``), are
    the names a lookup per row gives: a missing id named "", a blank name kept blank."""
    import pyarrow as pa

    links = summaries.referral_links_table(seed_store)
    names = dict(analysis.service_names(seed_store))
    names.pop(links.column("to_service")[0].as_py())  # one destination left unnamed
    names["nobody"] = None
    extra_row = pa.table({c: [None] for c in links.column_names}, schema=links.schema)
    table = pa.concat_tables([links, extra_row])
    found = tables.arrow_named(
        table, ["from_service", "from_name", "to_name"], {"from_name": names, "to_name": names}
    )
    for column in ("from_name", "to_name"):
        ids = table.column(column.removesuffix("_name") + "_service").to_pylist()
        expected = [names.get(service, "") for service in ids]  # the lookup per row
        assert found.column(column).to_pylist() == expected
    assert "" in found.column("to_name").to_pylist()
    assert pa.types.is_dictionary(found.column("to_name").type)
