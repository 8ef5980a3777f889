"""Named Cypher queries: ``NAME.cypher`` (Neo4j dialect) and, only where the embedded engine's
dialect differs, ``embedded/NAME.cypher``."""

from __future__ import annotations

from functools import cache
from importlib import resources

DIALECTS = ("neo4j", "embedded")


@cache
def load(name: str, dialect: str = "neo4j") -> str:
    """The text of query ``name`` for ``dialect``; the embedded sibling wins when it exists."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    folder = resources.files(__name__)
    if dialect == "embedded":
        sibling = folder / "embedded" / f"{name}.cypher"
        if sibling.is_file():
            return sibling.read_text(encoding="utf-8")
    file = folder / f"{name}.cypher"
    if not file.is_file():
        raise KeyError(f"no query named {name!r}")
    return file.read_text(encoding="utf-8")


def names() -> list[str]:
    """Every query's name (the Neo4j-dialect files)."""
    folder = resources.files(__name__)
    return sorted(
        item.name.removesuffix(".cypher")
        for item in folder.iterdir()
        if item.name.endswith(".cypher")
    )


def statements(text: str) -> list[str]:
    """Split a multi-statement file (schema) on ``;`` at line ends; comments dropped."""
    lines = [line for line in text.splitlines() if not line.strip().startswith("//")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
