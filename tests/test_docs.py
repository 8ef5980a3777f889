"""The documents in docs/ stay true: the data format's example loads and shows what the page
says, every key an analysis returns is defined in analyses.md, every column the loader checks
is in data-format.md, and nothing points at files outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import nestmap
from nestmap.loaders.validate import DATASET, SCHEMAS
from nestmap.vocabulary import DATASET_FIELDS

DOCS = Path(__file__).parent.parent / "docs"
ROOT = DOCS.parent


def test_the_data_format_example_loads_and_shows_what_the_page_says(tmp_path):
    text = (DOCS / "data-format.md").read_text(encoding="utf-8")
    example = text[text.index("## A complete small example") :]
    files = re.findall(r"`(\w+\.csv)`\n```\n(.*?)```", example, re.DOTALL)
    assert [name for name, _ in files] == [f"{table}.csv" for table in SCHEMAS] + ["dataset.csv"]
    folder = tmp_path / "example"
    folder.mkdir()
    for name, body in files:
        (folder / name).write_text(body, encoding="utf-8")
    with nestmap.Graph(tmp_path / "example.lbug") as graph:
        graph.load(folder)
        gaps = {
            (r["area_name"], r["level"])
            for r in graph.gaps()
            if r["gap"] and r["level"] != "universal"
        }
        assert ("Southvale", "targeted") in gaps and ("Southvale", "specialist") in gaps
        assert not {g for g in gaps if g[0] == "Northtown" and g[1] in ("targeted", "specialist")}
        pathways = {(r["area_code"], r["destination"], r["hops"]) for r in graph.pathways()}
        assert pathways == {("LA1", "pit", 1), ("LA2", None, None)}
        assert graph.info()["about"]["title"] == "Example Health Board"


@pytest.mark.parametrize("table", sorted(SCHEMAS))
def test_every_column_the_loader_checks_is_documented(table):
    text = (DOCS / "data-format.md").read_text(encoding="utf-8")
    section = text[text.index(f"## `{table}.csv`") :]
    section = section[: section.index("\n## ")]
    for column in SCHEMAS[table]:
        assert f"`{column}`" in section, (table, column)


def test_every_field_of_the_dataset_description_is_documented():
    text = (DOCS / "data-format.md").read_text(encoding="utf-8")
    section = text[text.index("## `dataset.csv`") :]
    section = section[: section.index("\n## ")]
    for name in [*DATASET, *DATASET_FIELDS]:
        assert f"`{name}`" in section, name


@pytest.mark.parametrize(
    "name", ["gaps", "misdirected", "boundaries", "pathways", "concentration", "need"]
)
def test_every_key_an_analysis_returns_is_defined(seed_store, name):
    text = (DOCS / "analyses.md").read_text(encoding="utf-8")
    result = getattr(nestmap.Graph.over(seed_store), name)()
    parts = result.values() if isinstance(result, dict) else [result]
    for rows in parts:
        for key in rows[0]:
            assert f"`{key}`" in text or re.search(rf"\b{key}\b", text), (name, key)
    assert f"## {name}" in text


# The team's own documents and folder beside the repository, which a user's clone never has.
OUTSIDE = ("SPEC.md", "DOMAIN.md", "ENGINEERING.md", "/".join(("..", "shared")))


def test_nothing_points_outside_the_repository():
    documents = [ROOT / "README.md", *DOCS.glob("*.md"), *ROOT.glob("nestmap/**/*.md")]
    sources = [*ROOT.glob("nestmap/**/*.py"), *ROOT.glob("tests/*.py")]
    for document in documents + sources:
        text = document.read_text(encoding="utf-8")
        for name in OUTSIDE:
            if document.name == "test_docs.py" and name in OUTSIDE[:3]:
                continue  # this file names them to look for them
            assert name not in text, (document, name)
