"""The graph exports opened by readers nestmap itself does not use: python-igraph (GraphML),
graphology-gexf (npm; the GEXF reader behind sigma.js and Gephi Lite), the GEXF 1.3 XML
schema (vendored in tests/data/gexf-1.3, CC BY 4.0), and Kumu's documented import rules.
Also: control characters are refused at load, so no export can be broken by them; the blank
template is not a dataset."""

from __future__ import annotations

import collections
import io
import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import networkx as nx
import openpyxl
import pytest

from nestmap import analysis
from nestmap.errors import InputError
from nestmap.interop import to_gexf, to_graphml, to_kumu
from nestmap.interop.graph_export import kumu_ids
from nestmap.loaders import read_dataset

TESTS = Path(__file__).resolve().parent
GEXF_SCHEMA = TESTS / "data" / "gexf-1.3" / "gexf.xsd"
READER = TESTS / "gexf_reader"


def _misdirected_links(store) -> int:
    """Referral links (from, to, reason) flagged by the analysis: the count a reader must see."""
    return len(
        {(r["from_service"], r["to_service"], r["reason"]) for r in analysis.misdirected(store)}
    )


def test_igraph_reads_the_graphml_with_every_vertex_id(seed_store, tmp_path):
    igraph = pytest.importorskip("igraph")
    path = tmp_path / "seed.graphml"
    path.write_bytes(to_graphml(seed_store))
    with warnings.catch_warnings():
        # igraph warns (and drops the ids) when an attribute is named "id".
        warnings.simplefilter("error")
        graph = igraph.Graph.Read_GraphML(str(path))
    expected = set(nx.read_graphml(path).nodes)
    assert graph.vcount() == len(expected)
    assert {v["id"] for v in graph.vs} == expected
    health_visiting = graph.vs.find(id="service:ctm_health_visiting")
    assert health_visiting["service_id"] == "ctm_health_visiting"
    assert sum(bool(e["misdirected"]) for e in graph.es) == _misdirected_links(seed_store)


def test_gexf_validates_against_the_gexf_1_3_schema(seed_store):
    etree = pytest.importorskip("lxml.etree")
    schema = etree.XMLSchema(etree.parse(str(GEXF_SCHEMA)))
    document = etree.parse(io.BytesIO(to_gexf(seed_store)))
    assert schema.validate(document), schema.error_log
    # The schema can fail: an edge without a target is refused.
    broken = etree.parse(io.BytesIO(to_gexf(seed_store)))
    edge = broken.find(".//{http://gexf.net/1.3}edge")
    del edge.attrib["target"]
    assert not schema.validate(broken)


def _npm_install() -> None:
    wanted = json.loads((READER / "package.json").read_text())["dependencies"]
    installed = {}
    for name in wanted:
        manifest = READER / "node_modules" / name / "package.json"
        if manifest.is_file():
            installed[name] = json.loads(manifest.read_text())["version"]
    if installed == wanted:
        return
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=READER,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci in {READER} failed:\n{result.stderr[-3000:]}", pytrace=False)


def test_graphology_gexf_reads_named_attributes_and_the_misdirected_links(seed_store, tmp_path):
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run graphology-gexf")
    _npm_install()
    path = tmp_path / "seed.gexf"
    path.write_bytes(to_gexf(seed_store))
    run = subprocess.run(
        ["node", str(READER / "read.cjs"), str(path)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    graph = nx.read_gexf(path)
    assert (seen["order"], seen["size"]) == (graph.number_of_nodes(), graph.number_of_edges())
    # Attributes come out under their names, not as numeric ids.
    assert {"service_id", "gap_cells", "specialised", "dead_end_entry"} <= set(
        seen["node_attributes"]
    )
    assert {"misdirected", "problems", "reason", "count"} <= set(seen["edge_attributes"])
    assert not [
        name for name in seen["node_attributes"] + seen["edge_attributes"] if name.isdigit()
    ]
    expected = _misdirected_links(seed_store)
    assert expected > 0 and len(seen["misdirected"]) == expected
    services = [s["id"] for s in analysis.services(seed_store)]
    assert sorted(seen["service_ids"]) == sorted(services)


def test_kumu_ids_are_selectable_and_connections_are_unique(seed_store):
    book = openpyxl.load_workbook(io.BytesIO(to_kumu(seed_store)))
    elements, connections = book["Elements"], book["Connections"]
    assert [c.value for c in elements[1]][:5] == ["ID", "Label", "Type", "Description", "Tags"]
    assert [c.value for c in connections[1]][:6] == [
        "ID",
        "From",
        "To",
        "Type",
        "Direction",
        "Tags",
    ]
    element_rows = list(elements.iter_rows(min_row=2, values_only=True))
    ids = [row[0] for row in element_rows]
    services, areas = analysis.services(seed_store), seed_store.run("export_areas")
    assert len(ids) == len(set(ids)) == len(services) + len(areas)
    # Kumu's docs: an id with "_" cannot be selected from the map's search.
    assert all(re.fullmatch(r"[A-Za-z0-9-]+", element_id) for element_id in ids)
    rows = list(connections.iter_rows(min_row=2, values_only=True))
    connection_ids = [row[0] for row in rows]
    assert len(connection_ids) == len(set(connection_ids))
    assert all(row[1] in ids and row[2] in ids for row in rows)
    # Pairs of services linked for more than one reason stay separate connections.
    nestmap_ids = dict(zip(ids, (row[-1] for row in element_rows), strict=True))
    assert nestmap_ids["service-ctm-health-visiting"] == "service:ctm_health_visiting"
    kumu = {nestmap: kumu_id for kumu_id, nestmap in nestmap_ids.items()}
    referrals = collections.Counter(
        (kumu[f"service:{r['from_service']}"], kumu[f"service:{r['to_service']}"])
        for r in seed_store.run("export_referrals")
    )
    assert any(count > 1 for count in referrals.values())  # the seed has parallel links
    connected = collections.Counter(
        (row[1], row[2]) for row in rows if row[1].startswith("service-") and row[3] != "covers"
    )
    assert connected == referrals


def test_kumu_ids_stay_unique_when_cleaning_makes_them_clash():
    assert kumu_ids(["service:a_b", "service:a-b", "service:A_B"]) == {
        "service:a_b": "service-a-b",
        "service:a-b": "service-a-b-2",
        "service:A_B": "service-A-B-3",
    }


@pytest.mark.parametrize("character", ["\x0b", "\x01", "\x1f"])
def test_a_control_character_is_refused_at_load(hand_copy, character):
    services = hand_copy / "services.csv"
    text = services.read_text(encoding="utf-8")
    services.write_text(
        text.replace("Health visiting", f"Health{character}visiting"), encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        read_dataset(hand_copy)
    (problem,) = [p for p in caught.value.problems if p.file == "services.csv"]
    assert (problem.file, problem.row, problem.column) == ("services.csv", 4, "name")
    assert f"U+{ord(character):04X}" in problem.reason
    assert problem.value == f"Health{character.encode('unicode_escape').decode()}visiting"


def test_tabs_and_line_breaks_inside_a_cell_still_load(hand_copy):
    services = hand_copy / "services.csv"
    text = services.read_text(encoding="utf-8")
    services.write_text(
        text.replace("Health visiting", '"Health\tvisiting\nteam"'), encoding="utf-8"
    )
    names = {s.id: s.name for s in read_dataset(hand_copy).services}
    assert names["hv"] == "Health\tvisiting\nteam"


def test_the_blank_template_is_not_a_dataset(tmp_path):
    template = tmp_path / "template.xlsx"
    cli = [sys.executable, "-m", "nestmap.cli"]
    assert subprocess.run([*cli, "template", str(template)], capture_output=True).returncode == 0
    run = subprocess.run(
        [*cli, "load", str(template), "--db", str(tmp_path / "g.lbug")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "no services" in run.stderr
    assert not (tmp_path / "g.lbug").exists()


def test_xml_exports_stay_well_formed_for_a_graph_with_a_control_character(
    hand_store, monkeypatch, tmp_path
):
    """A graph written around the loader (e.g. straight into Neo4j) could hold a control
    character; the XML exports replace it rather than write an ill-formed file."""
    from xml.etree import ElementTree

    from nestmap.interop import graph_export

    elements, links = graph_export.graph_elements(hand_store)
    elements[0].label = "Bad\x0bname\x01"
    monkeypatch.setattr(graph_export, "graph_elements", lambda _store: (elements, links))
    for writer in (graph_export.to_graphml, graph_export.to_gexf):
        path = tmp_path / "out.xml"
        path.write_bytes(writer(hand_store))
        ElementTree.parse(path)  # raises on ill-formed XML
        assert "Bad\ufffdname\ufffd" in path.read_text(encoding="utf-8")


def _onward_by_link(store) -> dict[tuple[str, str, str], bool]:
    return {
        (r["from_service"], r["to_service"], r["reason"]): r["onward"]
        for r in analysis.misdirected(store)
    }


@pytest.fixture(scope="module")
def mixed_store(tmp_path_factory):
    """A synthetic region whose misdirected links include both kinds: onward and dead ends (the
    seed region's are all dead ends since not_offered means no relationship work at all)."""
    from conftest import load_into

    from nestmap.synth import generate

    folder = tmp_path_factory.mktemp("mixed") / "mixed"
    generate(folder, areas=4, services=120, links=800, seed=1)
    store = load_into(folder.parent / "graph.lbug", folder)
    yield store
    store.close()


def test_misdirected_links_carry_onward_in_graphml_gexf_and_kumu(mixed_store, tmp_path):
    seed_store = mixed_store  # (the checks below read any region)
    expected = _onward_by_link(seed_store)
    assert set(expected.values()) == {True, False}  # both kinds
    path = tmp_path / "seed.graphml"
    path.write_bytes(to_graphml(seed_store))
    graph = nx.read_graphml(path)
    names = {n: d.get("service_id") for n, d in graph.nodes(data=True)}
    seen = {}
    for source, target, data in graph.edges(data=True):
        if data["kind"] != "REFERS_TO":
            continue
        key = (names[source], names[target], data["reason"])
        assert ("onward" in data) == data["misdirected"]
        if data["misdirected"]:
            seen[key] = data["onward"]
    assert seen == expected
    etree = pytest.importorskip("lxml.etree")
    gexf = etree.fromstring(to_gexf(seed_store))
    ns = {"g": "http://gexf.net/1.3"}
    titles = {
        a.get("id"): a.get("title")
        for a in gexf.findall(".//g:attributes[@class='edge']/g:attribute", ns)
    }
    onward_values = [
        v.get("value")
        for v in gexf.findall(".//g:edge/g:attvalues/g:attvalue", ns)
        if titles[v.get("for")] == "onward"
    ]
    assert sorted(onward_values) == sorted(str(v).lower() for v in expected.values())
    book = openpyxl.load_workbook(io.BytesIO(to_kumu(seed_store)))
    rows = list(book["Connections"].iter_rows(values_only=True))
    header, rows = rows[0], rows[1:]
    assert header[-1] == "Onward"
    tagged = [row for row in rows if "misdirected" in (row[5] or "").split("|")]
    assert len(tagged) == len(expected)
    assert sum(row[-1] is True for row in tagged) == sum(expected.values())
    assert all(("onward" if row[-1] else "dead end") in row[5].split("|") for row in tagged)


def test_the_network_draws_dead_end_links_apart_from_onward_ones(mixed_store):
    from nestmap.dashboard import network

    seed_store = mixed_store  # (both kinds of misdirected link)
    misdirected = analysis.misdirected(seed_store)
    dead = next(r for r in misdirected if not r["onward"])
    onward = next(r for r in misdirected if r["onward"])
    keys = [(r["from_service"], r["to_service"], r["reason"]) for r in (dead, onward)]
    services = {s["id"]: s for s in analysis.services(seed_store)}
    nodes = [services[i] for i in sorted({k[0] for k in keys} | {k[1] for k in keys})]
    edges = [
        {"from_service": k[0], "to_service": k[1], "reason": k[2], "count": 3, "source": "s"}
        for k in keys
    ]
    page = network.network_html(
        network.Selection(nodes, edges),
        {},
        {k: ["not_offered"] for k in keys},
        set(),
        onward={keys[1]},
    )
    drawn = json.loads(re.search(r"edges = new vis\.DataSet\((\[.*?\])\);", page).group(1))
    by_target = {(e["from"], e["to"]): e for e in drawn}
    dead_edge, onward_edge = by_target[keys[0][:2]], by_target[keys[1][:2]]
    assert dead_edge["color"] == network.MISDIRECTED_COLOUR
    assert dead_edge["arrows"] == {"to": {"enabled": True, "type": "bar"}}
    assert onward_edge["color"] == network.ONWARD_COLOUR and onward_edge["arrows"] == "to"
    assert "a dead end" in dead_edge["title"] and "(onward)" in onward_edge["title"]
    legend = network.legend_html()
    assert network.ONWARD_COLOUR in legend and "misdirected to a dead end" in legend
