"""The graph for network tools: GraphML and GEXF (Gephi), and Kumu's import workbook.

Every node and link property is written, with the analyses' flags as attributes (gap cells per
area, misdirected problems, ``onward`` and interface kinds per link, dead-end entry points) so
that they can be coloured in Gephi or Kumu. Written with the standard library: no network
library is needed.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from nestmap import analysis
from nestmap.graph import GraphStore
from nestmap.vocabulary import LEVEL_RANK


@dataclass
class Element:
    id: str
    kind: str
    label: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Link:
    id: str
    source: str
    target: str
    kind: str
    attributes: dict[str, Any] = field(default_factory=dict)


def _joined(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return "|".join(str(item) for item in value)
    return value


def graph_elements(store: GraphStore) -> tuple[list[Element], list[Link]]:
    """Nodes and links of the whole graph, with analysis flags."""
    gaps = analysis.gaps(store)
    misdirected_rows = analysis.misdirected(store)
    misdirected = {
        (r["from_service"], r["to_service"], r["reason"]): r["problems"] for r in misdirected_rows
    }
    # A misdirected link's target can pass the family on to specialised help (onward) or is
    # a dead end; unset on links that are not misdirected.
    onward = {
        (r["from_service"], r["to_service"], r["reason"]): r["onward"] for r in misdirected_rows
    }
    interfaces = {
        (r["from_service"], r["to_service"], r["reason"]): r["kinds"]
        for r in analysis.boundary_links(store)
    }
    dead_ends: dict[str, list[str]] = {}
    for row in analysis.pathways(store):
        if row["destination"] is None:
            dead_ends.setdefault(row["entry_service"], []).append(row["area_code"])
    elements: list[Element] = []
    links: list[Link] = []
    areas = store.run("export_areas")
    for area in sorted(areas, key=lambda a: a["code"]):
        cells = [g for g in gaps if g["area_code"] == area["code"] and g["gap"]]
        elements.append(
            Element(
                f"area:{area['code']}",
                "Area",
                area["name"],
                {
                    **area,
                    "gap_cells": len(cells),
                    "gaps": [f"{g['level']} {g['stage']}" for g in cells],
                },
            )
        )
        if area["parent_code"]:
            links.append(
                Link(
                    f"part_of:{area['code']}",
                    f"area:{area['code']}",
                    f"area:{area['parent_code']}",
                    "PART_OF",
                )
            )
    for level, rank in LEVEL_RANK.items():
        elements.append(Element(f"level:{level}", "Level", level, {"name": level, "rank": rank}))
    for service in analysis.services(store):
        offers = service["offers"]
        elements.append(
            Element(
                f"service:{service['id']}",
                "Service",
                service["name"],
                # The service's own id is ``service_id``: an attribute named ``id`` collides
                # with the node id in GraphML readers (igraph drops the vertex ids).
                {
                    ("service_id" if key == "id" else key): value
                    for key, value in service.items()
                    if key not in ("offers", "covers")
                }
                | {
                    "levels": list(offers),
                    "specialised_levels": [lvl for lvl, f in offers.items() if f == "specialised"],
                    "top_level": max(offers, key=LEVEL_RANK.__getitem__) if offers else None,
                    "dead_end_entry": service["id"] in dead_ends,
                    "dead_end_areas": dead_ends.get(service["id"], []),
                },
            )
        )
        for code in service["covers"]:
            links.append(
                Link(
                    f"covers:{service['id']}:{code}",
                    f"service:{service['id']}",
                    f"area:{code}",
                    "COVERS",
                )
            )
    for offer in store.run("export_offers"):
        links.append(
            Link(
                f"offers:{offer['service_id']}:{offer['level']}",
                f"service:{offer['service_id']}",
                f"level:{offer['level']}",
                "OFFERS",
                {"focus": offer["focus"], "interventions": offer["interventions"]},
            )
        )
    for index, link in enumerate(
        sorted(
            store.run("export_referrals"),
            key=lambda r: (r["from_service"], r["to_service"], r["reason"]),
        )
    ):
        key = (link["from_service"], link["to_service"], link["reason"])
        links.append(
            Link(
                f"refers_to:{index}",
                f"service:{key[0]}",
                f"service:{key[1]}",
                "REFERS_TO",
                {
                    "reason": link["reason"],
                    "count": link["count"],
                    "source": link["source"],
                    "misdirected": key in misdirected,
                    "problems": misdirected.get(key, []),
                    "onward": onward.get(key),
                    "interfaces": interfaces.get(key, []),
                },
            )
        )
    for post in sorted(store.run("export_workforce"), key=lambda p: p["post"]):
        post_id = f"post:{post['post']}"
        elements.append(
            Element(
                post_id,
                "StaffPost",
                post["role"],
                {"role": post["role"], "fte": post["fte"], "aimh_level": post["aimh_level"]},
            )
        )
        links.append(
            Link(
                f"staffed_by:{post['post']}",
                f"service:{post['service_id']}",
                post_id,
                "STAFFED_BY",
            )
        )
    return elements, links


def _attribute_types(items: list[Any]) -> dict[str, str]:
    """Attribute name -> GraphML type, from the values present (text when mixed)."""
    types: dict[str, str] = {}
    for item in items:
        for name, value in item.attributes.items():
            value = _joined(value)
            if value is None:
                continue
            if isinstance(value, bool):
                kind = "boolean"
            elif isinstance(value, int):
                kind = "long"
            elif isinstance(value, float):
                kind = "double"
            else:
                kind = "string"
            previous = types.get(name)
            if previous and previous != kind:
                kind = "double" if {previous, kind} == {"long", "double"} else "string"
            types[name] = kind
    return types


def _value_text(value: Any) -> str:
    value = _joined(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_graphml(store: GraphStore) -> bytes:
    elements, links = graph_elements(store)
    ns = "http://graphml.graphdrawing.org/xmlns"
    root = ET.Element("graphml", {"xmlns": ns})
    node_types = {"kind": "string", "label": "string", **_attribute_types(elements)}
    edge_types = {"kind": "string", **_attribute_types(links)}
    for scope, types in (("node", node_types), ("edge", edge_types)):
        for name, kind in types.items():
            ET.SubElement(
                root,
                "key",
                {"id": f"{scope}_{name}", "for": scope, "attr.name": name, "attr.type": kind},
            )
    graph = ET.SubElement(root, "graph", {"id": "nestmap", "edgedefault": "directed"})
    for element in elements:
        node = ET.SubElement(graph, "node", {"id": element.id})
        values = {"kind": element.kind, "label": element.label, **element.attributes}
        _data(node, "node", values)
    for link in links:
        edge = ET.SubElement(
            graph, "edge", {"id": link.id, "source": link.source, "target": link.target}
        )
        _data(edge, "edge", {"kind": link.kind, **link.attributes})
    return _xml(root)


def _data(parent: ET.Element, scope: str, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if _joined(value) is None:
            continue
        ET.SubElement(parent, "data", {"key": f"{scope}_{name}"}).text = _value_text(value)


# Characters XML 1.0 cannot hold. The loader refuses them, so a loaded graph has none; this is
# the last guard for a graph written some other way (e.g. straight into Neo4j): the file stays
# well-formed, with U+FFFD where such a character was.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    buffer = io.BytesIO()
    ET.ElementTree(root).write(buffer, encoding="utf-8", xml_declaration=True)
    text = buffer.getvalue().decode("utf-8")
    return _NOT_XML.sub("\ufffd", text).encode("utf-8")


_GEXF_TYPES = {"boolean": "boolean", "long": "long", "double": "double", "string": "string"}


def to_gexf(store: GraphStore) -> bytes:
    """GEXF 1.3 for Gephi, with typed attributes."""
    elements, links = graph_elements(store)
    ns = "http://gexf.net/1.3"
    root = ET.Element("gexf", {"xmlns": ns, "version": "1.3"})
    meta = ET.SubElement(root, "meta")
    ET.SubElement(meta, "creator").text = "nestmap"
    graph = ET.SubElement(root, "graph", {"defaultedgetype": "directed", "mode": "static"})
    node_types = {"kind": "string", **_attribute_types(elements)}
    edge_types = {"kind": "string", **_attribute_types(links)}
    # Numeric attribute ids with the names as titles: readers that key attributes by a numeric
    # id (graphology-gexf, behind sigma.js and Gephi Lite) then show the titles.
    for scope, types in (("node", node_types), ("edge", edge_types)):
        block = ET.SubElement(graph, "attributes", {"class": scope})
        for index, (name, kind) in enumerate(types.items()):
            ET.SubElement(block, "attribute", {"id": str(index), "title": name, "type": kind})
    node_ids = {name: str(index) for index, name in enumerate(node_types)}
    edge_ids = {name: str(index) for index, name in enumerate(edge_types)}
    nodes = ET.SubElement(graph, "nodes")
    for element in elements:
        node = ET.SubElement(nodes, "node", {"id": element.id, "label": element.label})
        _gexf_values(node, node_ids, {"kind": element.kind, **element.attributes})
    edges = ET.SubElement(graph, "edges")
    for link in links:
        edge = ET.SubElement(
            edges,
            "edge",
            {"id": link.id, "source": link.source, "target": link.target, "label": link.kind},
        )
        _gexf_values(edge, edge_ids, {"kind": link.kind, **link.attributes})
    return _xml(root)


def _gexf_values(parent: ET.Element, ids: dict[str, str], values: dict[str, Any]) -> None:
    block = ET.SubElement(parent, "attvalues")
    for name, value in values.items():
        if _joined(value) is None:
            continue
        ET.SubElement(block, "attvalue", {"for": ids[name], "value": _value_text(value)})


def kumu_ids(ids: list[str]) -> dict[str, str]:
    """Kumu element ids for nestmap ids: letters, digits and ``-`` only (Kumu's docs: an id
    with ``_`` cannot be selected from the map's search), unique (``-2``, ``-3`` on a clash)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for original in ids:
        base = re.sub(r"[^A-Za-z0-9]+", "-", original).strip("-") or "element"
        candidate, n = base, 1
        while candidate.lower() in used:
            n += 1
            candidate = f"{base}-{n}"
        used.add(candidate.lower())
        out[original] = candidate
    return out


def to_kumu(store: GraphStore) -> bytes:
    """Kumu's spreadsheet import: an Elements sheet and a Connections sheet.

    Elements carry ``ID`` (stable, selector-friendly, referenced by connections), ``Label``,
    ``Type``, ``Description`` and ``Tags``, and the nestmap id; connections carry their own
    unique ``ID`` (Kumu merges parallel connections otherwise: a pair of services can have
    links for several reasons), ``From``, ``To``, ``Type``, ``Direction`` and ``Tags``. Services
    and areas become elements; referral links and coverage connections.
    """
    import openpyxl

    from nestmap.spreadsheet import text_not_formulas

    elements, links = graph_elements(store)
    kept_elements = [e for e in elements if e.kind in ("Service", "Area")]
    ids = kumu_ids([e.id for e in kept_elements])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Elements"
    sheet.append(["ID", "Label", "Type", "Description", "Tags", "Sector", "Status", "Levels",
                  "Specialised levels", "Threshold", "Stages", "Gap cells", "Source",
                  "nestmap id"])  # fmt: skip
    for element in kept_elements:
        a = element.attributes
        tags = []
        if a.get("specialised"):
            tags.append("specialised")
        if a.get("dead_end_entry"):
            tags.append("dead end entry point")
        if a.get("gap_cells"):
            tags.append("has gaps")
        sheet.append(
            [ids[element.id], element.label, element.kind,
             a.get("provider") or a.get("kind") or "", "|".join(tags), a.get("sector"),
             a.get("status"), _joined(a.get("levels")), _joined(a.get("specialised_levels")),
             a.get("threshold"), _joined(a.get("stages")), a.get("gap_cells"), a.get("source"),
             element.id]
        )  # fmt: skip
    connections = book.create_sheet("Connections")
    connections.append(
        ["ID", "From", "To", "Type", "Direction", "Tags", "Count", "Source", "Onward"]
    )
    number = 0
    for link in links:
        if link.source not in ids or link.target not in ids:
            continue
        a = link.attributes
        kind = a.get("reason") or link.kind.lower()
        tags = list(a.get("problems") or []) + list(a.get("interfaces") or [])
        if a.get("misdirected"):
            tags.append("misdirected")
            tags.append("onward" if a.get("onward") else "dead end")
        number += 1
        connections.append(
            [f"connection-{number}", ids[link.source], ids[link.target], kind, "directed",
             "|".join(tags), a.get("count"), a.get("source"), a.get("onward")]
        )  # fmt: skip
    buffer = io.BytesIO()
    text_not_formulas(book).save(buffer)  # names are user text, never formulas
    return buffer.getvalue()
