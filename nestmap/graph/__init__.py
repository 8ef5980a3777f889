"""The graph store: one interface, two engines (embedded ladybug by default, Neo4j)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nestmap.graph.store import GraphStore, Progress

__all__ = ["GraphStore", "Progress", "default_db_path", "open_store"]


def default_db_path() -> Path:
    """``NESTMAP_DB``, else ``nestmap/graph.lbug`` in the per-user data folder."""
    env = os.environ.get("NESTMAP_DB")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "nestmap" / "graph.lbug"


def open_store(db: str | Path | None = None, keep_versions: int = 5) -> GraphStore:
    """The store for ``db`` (a path); Neo4j when ``NESTMAP_NEO4J_URI`` is set and no path given.

    ``keep_versions``: how many previous datasets an embedded load keeps for rollback."""
    uri = os.environ.get("NESTMAP_NEO4J_URI")
    if uri and db is None:
        from nestmap.graph.neo4j_store import Neo4jStore

        return Neo4jStore(
            uri,
            os.environ.get("NESTMAP_NEO4J_USER"),
            os.environ.get("NESTMAP_NEO4J_PASSWORD"),
            os.environ.get("NESTMAP_NEO4J_DATABASE"),
        )
    from nestmap.graph.embedded import EmbeddedStore

    return EmbeddedStore(db if db is not None else default_db_path(), keep_versions)
