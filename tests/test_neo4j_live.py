"""The same analyses on a live Neo4j give the same rows as the embedded engine.

Runs only when NESTMAP_NEO4J_URI is set (with NESTMAP_NEO4J_USER / _PASSWORD / _DATABASE);
the database it points at is replaced by the hand-built dataset.
"""

from __future__ import annotations

import os

import pytest
from conftest import HAND

from nestmap import analysis
from nestmap.errors import ReadOnlyError
from nestmap.graph import open_store
from nestmap.loaders import read_dataset

pytestmark = pytest.mark.skipif(
    not os.environ.get("NESTMAP_NEO4J_URI"),
    reason="NESTMAP_NEO4J_URI is not set: no live Neo4j to test against",
)


@pytest.fixture(scope="module")
def neo4j_store():
    store = open_store()
    assert store.engine == "neo4j"
    store.replace(read_dataset(HAND))
    yield store
    store.close()


@pytest.mark.parametrize(
    "name",
    [
        "gaps",
        "misdirected",
        "boundaries",
        "pathways",
        "concentration",
        "need",
        "assessment",
        "workforce",
        "thrive",
        "groups_left_out",
        "services",
        "age_bands",
    ],
)
def test_neo4j_matches_embedded(name, neo4j_store, hand_store):
    function = getattr(analysis, name)
    assert function(neo4j_store) == function(hand_store)
    assert function(neo4j_store, "E1") == function(hand_store, "E1")


def test_neo4j_info_and_read_only_console(neo4j_store, hand_store):
    assert analysis.info(neo4j_store)["nodes"] == analysis.info(hand_store)["nodes"]
    with pytest.raises(ReadOnlyError):
        neo4j_store.run_read_only("CREATE (n:X)", None, 10, 5)
    columns, rows, _ = neo4j_store.run_read_only(
        "MATCH (s:Service) RETURN count(s) AS n", None, 10, 5
    )
    assert rows == [[14]]
