"""Refuse user-written Cypher that could write, before it reaches an engine.

The engines refuse writes too (the embedded database is opened read-only, Neo4j reads run in
read transactions); this check gives the analyst a clear reason instead of an engine error and
also stops reads of the server's files (LOAD CSV / LOAD FROM) and procedures that write.
"""

from __future__ import annotations

import re

from nestmap.errors import ReadOnlyError

_WRITE_CLAUSES = (
    "CREATE",
    "MERGE",
    "SET",
    "DELETE",
    "DETACH",
    "REMOVE",
    "DROP",
    "ALTER",
    "LOAD",
    "COPY",
    "INSTALL",
    "ATTACH",
    "IMPORT",
    "EXPORT",
    "CHECKPOINT",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "FOREACH",
    "TERMINATE",
    "GRANT",
    "REVOKE",
    "DENY",
)
# Procedures that only read: the embedded engine's catalogue functions and Neo4j's schema views.
READ_PROCEDURES = frozenset(
    {
        "show_tables",
        "show_functions",
        "table_info",
        "show_connection",
        "db.labels",
        "db.relationshiptypes",
        "db.propertykeys",
        "db.schema.visualization",
        "db.schema.nodetypeproperties",
        "db.schema.reltypeproperties",
    }
)
_LITERALS = re.compile(
    r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|//[^\n]*|/\*.*?\*/""", re.DOTALL
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_CALL = re.compile(r"\bCALL\s*(\{|[A-Za-z_][A-Za-z0-9_.]*)", re.IGNORECASE)


def check_read_only(cypher: str) -> None:
    """Raise ReadOnlyError naming the clause if ``cypher`` could write."""
    code = _LITERALS.sub(" ", cypher)
    words = {word.upper() for word in _WORD.findall(code)}
    for clause in _WRITE_CLAUSES:
        if clause in words:
            raise ReadOnlyError(
                f"the Query console is read-only: {clause} is not allowed "
                "(load a dataset on the Data page to change the graph)"
            )
    for match in _CALL.finditer(code):
        target = match.group(1)
        if target == "{":
            continue  # a subquery: its own clauses were checked above
        if target.lower() not in READ_PROCEDURES:
            raise ReadOnlyError(
                f"the Query console is read-only: CALL {target} is not a known read-only "
                f"procedure (allowed: {', '.join(sorted(READ_PROCEDURES))})"
            )
