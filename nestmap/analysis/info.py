"""What is loaded: engine, location, dataset and counts per node label and link type."""

from __future__ import annotations

import json

from nestmap.graph import GraphStore


def info(store: GraphStore) -> dict[str, object]:
    dataset = store.run("dataset_info")
    meta = dataset[0] if dataset else {}
    nodes = {row["label"]: int(row["count"]) for row in store.run("count_nodes")}
    links = {row["type"]: int(row["count"]) for row in store.run("count_links")}
    return {
        "engine": store.engine,
        "location": store.location,
        "dataset": meta.get("name"),
        "origin": meta.get("origin"),
        "loaded_at": meta.get("loaded_at"),
        "loaded_by": meta.get("loaded_by") or None,
        "file_hashes": json.loads(meta["file_hashes"]) if meta.get("file_hashes") else {},
        # dataset.csv's description (docs/data-format.md): field -> text, {} when none.
        "about": json.loads(meta["about"]) if meta.get("about") else {},
        "nodes": dict(sorted(nodes.items())),
        "links": dict(sorted(links.items())),
    }
