"""The synthetic generator (nestmap.synth): deterministic, valid, streaming, realistic enough for
every analysis to have work; and every analysis on a synthetic dataset against the reference
implementations in benchmarks/pandas_reference.py (pandas gaps and misdirected, the issue's
yardstick, and plain-Python versions of the rest, misdirected's ``onward`` and age_bands
included)."""

from __future__ import annotations

import csv
import sys
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from nestmap import analysis
from nestmap.graph import GraphStore, open_store
from nestmap.loaders import read_dataset
from nestmap.synth import generate
from nestmap.vocabulary import SECTORS

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
import pandas_reference as reference  # noqa: E402

FILES = ("areas.csv", "services.csv", "offers.csv", "referrals.csv", "workforce.csv", "dataset.csv")
SMALL = {"areas": 12, "services": 300, "links": 3_000}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth") / "small"
    generate(folder, **SMALL, seed=7)
    return folder


@pytest.fixture(scope="module")
def small_store(small: Path, tmp_path_factory: pytest.TempPathFactory):
    store = open_store(tmp_path_factory.mktemp("synth-graph") / "graph.lbug")
    store.replace(read_dataset(small))
    yield store
    store.close()


def rows(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(tmp_path / name, areas=9, services=120, links=900, seed=seed)
    for file in FILES:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    assert (tmp_path / "a" / "referrals.csv").read_bytes() != (
        tmp_path / "c" / "referrals.csv"
    ).read_bytes()


def test_counts_are_exact_and_the_dataset_loads(small: Path):
    dataset = read_dataset(small)  # raises InputError listing any rule broken
    assert len(dataset.services) == SMALL["services"]
    assert len(dataset.referrals) == SMALL["links"]
    assert sum(a.kind == "local_authority" for a in dataset.areas) == SMALL["areas"]


def test_structure_like_the_seed_region(small: Path):
    areas, services = rows(small, "areas.csv"), rows(small, "services.csv")
    regions = Counter(a["parent_code"] for a in areas if a["kind"] == "local_authority")
    assert all(3 <= size <= 12 for size in regions.values())
    assert {s["sector"] for s in services} == set(SECTORS)
    region_codes = {a["code"] for a in areas if a["kind"] == "region"}
    assert any(s["areas"] in region_codes for s in services)  # region-wide
    assert any(s["areas"] not in region_codes for s in services)  # local
    assert any(s["status"] not in ("", "active") for s in services)
    assert any(s["min_age_months"] or s["max_age_months"] for s in services)
    offers = rows(small, "offers.csv")
    focus = Counter(o["focus"] for o in offers)
    assert 0 < focus["specialised"] < focus["non_specialised"]
    levels = Counter(o["service_id"] for o in offers)
    assert any(count == 2 for count in levels.values())
    links = rows(small, "referrals.csv")
    assert any(link["count"] == "" for link in links)
    assert len({link["reason"] for link in links}) == 5
    # Heavy-tailed: the busiest 2% of targets receive a large share of the links.
    targets = Counter(link["to_service"] for link in links)
    busiest = sum(count for _, count in targets.most_common(len(services) // 50))
    assert busiest > 0.2 * len(links)


def test_memory_stays_flat_as_links_grow(tmp_path: Path):
    peaks = []
    for links in (5_000, 50_000):
        tracemalloc.start()
        generate(tmp_path / str(links), areas=20, services=500, links=links, seed=1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0]


def test_impossible_sizes_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="cannot be distinct"):
        generate(tmp_path / "x", areas=3, services=2, links=11, seed=0)
    with pytest.raises(ValueError):
        generate(tmp_path / "y", areas=0, services=10, links=10, seed=0)


def test_tiny_sizes_still_valid(tmp_path: Path):
    generate(tmp_path / "tiny", areas=1, services=2, links=10, seed=0)  # every triple used
    dataset = read_dataset(tmp_path / "tiny")
    assert len(dataset.referrals) == 10


@pytest.mark.parametrize("name", ["gaps", "misdirected"])
def test_pandas_gives_the_same_rows(name: str, small: Path, small_store):
    tables = reference.read_tables(small)
    for area in (None, *analysis.local_authority_codes(small_store)[:2]):
        mine = getattr(analysis, name)(small_store, area)
        assert mine == getattr(reference, name)(tables, area), (name, area)
    assert any(row["gap"] for row in analysis.gaps(small_store))
    problems = {p for row in analysis.misdirected(small_store) for p in row["problems"]}
    assert problems == {"inactive_target", "not_offered", "out_of_area", "wrong_stage"}


def test_onward_by_a_search_from_each_target(small: Path, small_store):
    """``onward`` on every misdirected link against a breadth-first search from its target
    (the reference's misdirected computes it by hops over bit sets; this reads SPEC literally)."""
    tables = reference.read_tables(small)
    rows = analysis.misdirected(small_store)
    assert {row["onward"] for row in rows} == {True, False}  # the dataset has both
    onward = reference.onward_by_search(tables)
    for row in rows:
        assert row["onward"] is onward(row["from_service"], row["to_service"]), row


@pytest.fixture(scope="module")
def aged(small: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small dataset with varied age ranges (the generator gives each kind of service one
    range, so every band would look alike): bounds drawn from 0-30 months, some blank."""
    import random
    import shutil

    folder = tmp_path_factory.mktemp("synth-aged") / "aged"
    shutil.copytree(small, folder)
    draw = random.Random(11)
    services = rows(small, "services.csv")
    for service in services:
        low, high = sorted(draw.randint(0, 30) for _ in range(2))
        service["min_age_months"] = "" if draw.random() < 0.15 else str(low)
        service["max_age_months"] = "" if draw.random() < 0.15 else str(high)
    with open(folder / "services.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(services[0]))
        writer.writeheader()
        writer.writerows(services)
    return folder


def test_age_bands_match_the_reference_with_varied_ages(aged: Path, tmp_path: Path):
    store = open_store(tmp_path / "aged.lbug")
    store.replace(read_dataset(aged))
    tables = reference.read_tables(aged)
    for area in (None, analysis.local_authority_codes(store)[1]):
        mine = analysis.age_bands(store, area)
        assert mine == reference.age_bands(tables, area), area
    # The ranges make the bands differ: some LA x level has help in one band and not another.
    by_cell: dict[tuple[str, str], set[bool]] = {}
    for row in analysis.age_bands(store):
        by_cell.setdefault((row["area_code"], row["level"]), set()).add(row["gap"])
    assert any(gaps == {True, False} for gaps in by_cell.values())
    store.close()


@pytest.mark.parametrize(
    "name",
    ["boundary_links", "threshold_cliffs", "pathways", "concentration", "need", "age_bands"],
)
def test_every_other_analysis_matches_its_reference(name: str, small: Path, small_store):
    tables = reference.read_tables(small)
    for area in (None, analysis.local_authority_codes(small_store)[-1]):
        mine = getattr(analysis, name)(small_store, area)
        assert mine, (name, area)  # the dataset gives every analysis work
        assert mine == getattr(reference, name)(tables, area), (name, area)


class RowsOnly(GraphStore):
    """The store as an engine without Arrow (Neo4j) sees it: rows as dicts only."""

    def __init__(self, inner: GraphStore):
        self.inner = inner

    location = property(lambda self: self.inner.location)

    def run(self, name, params=None):
        return self.inner.run(name, params)

    def run_read_only(self, cypher, params, limit, timeout_s):
        return self.inner.run_read_only(cypher, params, limit, timeout_s)

    def replace(self, dataset, progress=None):
        raise NotImplementedError

    def has_graph(self):
        return self.inner.has_graph()

    def version(self):
        return self.inner.version()


@pytest.mark.parametrize("name", ["misdirected", "boundary_links", "pathways", "age_bands"])
def test_engines_without_arrow_get_the_same_rows(name: str, small_store):
    plain = RowsOnly(small_store)
    for area in (None, analysis.local_authority_codes(small_store)[0]):
        assert getattr(analysis, name)(plain, area) == getattr(analysis, name)(small_store, area)
