"""Which figures rest on illustrative values (nestmap.provenance), on the bundled seed region
and the hand-built dataset."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute  # noqa: F401 (pa.compute)

from nestmap import analysis, provenance
from nestmap.graph import GraphStore


def test_seed_referral_counts_marked_illustrative(seed_store):
    links = seed_store.run("export_referrals")
    marked = illustrative_links(links)
    # Every link whose source starts "illustrative:" (the 13 counted mentions of health
    # visiting and the uncounted usual routes); the perinatal team's and CAMHS's totals are the
    # survey's, split illustratively, so their links are not marked as links.
    assert all(key[1] != "ctm_perinatal_mental_health" or key[2] != "parent_infant_relationship"
               for key in marked)  # fmt: skip
    table = provenance.illustrative_link_table(seed_store)
    split = table.filter(pa.compute.equal(table.column("kind"), provenance.SPLIT))
    assert split.num_rows == 19  # 14 links share the 59, 5 share the 5
    # The misdirected links are the perinatal team's and CAMHS's: the region's 64 survey
    # mentions are the survey's own totals; one authority's part of them is the assumed split.
    assert provenance.illustrative_misdirected(seed_store, None, table) == {
        "onward": {},
        "dead_end": {},
    }
    bridgend = provenance.illustrative_misdirected(seed_store, "W06000013", table)
    rows = analysis.misdirected(seed_store, "W06000013")
    volume = sum(r["count"] for r in rows)
    assert bridgend == {"onward": {}, "dead_end": {"survey_mentions": volume}}
    assert illustrative_volume(links, links) == {"survey_mentions": 89}  # health visiting's


def test_a_total_split_illustratively_is_exact_only_whole(seed_store):
    """A figure adding up every link that shares a source's total rests on the source; one
    adding up some of them rests on the assumed split."""
    table = provenance.illustrative_link_table(seed_store)
    links = pa.table(
        {
            "from_service": ["ctm_midwifery", "ctm_gp_practices"],
            "to_service": ["ctm_camhs", "ctm_camhs"],
            "reason": ["parent_infant_relationship"] * 2,
            "count": [1, None],
            "count_basis": ["survey_mentions", "survey_mentions"],
        }
    )
    # Only 1 of CAMHS's 5 links: its count rests on the split.
    assert provenance.illustrative_volume(links, table) == {"survey_mentions": 1}
    every = [
        r
        for r in seed_store.run("export_referrals")
        if r["to_service"] == "ctm_camhs" and r["reason"] == "parent_infant_relationship"
    ]
    whole = pa.table({k: [r[k] for r in every] for k in ("from_service", "to_service", "reason",
                                                         "count", "count_basis")})  # fmt: skip
    assert provenance.illustrative_volume(whole, table) == {}
    assert sum(r["count"] for r in every) == 5


def test_population_provenance_reads_the_area_sources(seed_store, hand_store):
    found = provenance.population_provenance(seed_store)
    assert found["marked"] == ["W06000013", "W06000016", "W06000024"]
    assert found["unsourced"] == []
    note = provenance.population_note(found, {"W06000013": "Bridgend"})
    assert note is not None and "1,139 / 0.17 = 6,700" in note and "Bridgend" in note
    # The hand-built dataset has no area sources: nothing marked, every population unsourced.
    hand = provenance.population_provenance(hand_store)
    assert hand["marked"] == [] and hand["unsourced"] == ["E1", "E2", "F1"]
    assert "no source" in provenance.population_note(hand, {})


def test_a_source_marked_later_keeps_the_reports_figure():
    assert provenance.link_is_illustrative({"source": " Illustrative: usual route"})
    assert not provenance.link_is_illustrative(
        {"source": "Securing Healthy Lives, Results: 59; illustrative: the split"}
    )
    assert not provenance.link_is_illustrative({"source": None})
    assert provenance.count_is_split({"source": "Survey: 59; illustrative split: by referrer"})
    assert not provenance.count_is_split({"source": "illustrative: illustrative split"})
    assert provenance.value_is_marked("Inferred: 1,139 / 0.17")
    assert not provenance.value_is_marked("ONS mid-year estimates 2024")


def test_illustrative_links_read_from_the_candidates_equal_the_rule_over_every_link(seed_store):
    # The dashboard reads the few links whose source mentions "illustrative" (a national
    # dataset has a million links); the rules decide on them as they do on every link.
    links = seed_store.run("export_referrals")
    rows = provenance.illustrative_link_table(seed_store).to_pylist()
    assert rows == illustrative_link_rows(seed_store)
    whole = [row for row in rows if row["kind"] == provenance.WHOLE]
    assert whole and all(provenance.link_is_illustrative(row) for row in whole)
    assert illustrative_links(whole) == illustrative_links(links)
    split = [row for row in rows if row["kind"] == provenance.SPLIT]
    assert {illustrative_key(row) for row in split} == {
        illustrative_key(link) for link in links if provenance.count_is_split(link)
    }
    # Every seed link's count rests on a marked value or is blank and marked (the usual
    # routes), or is the survey's split total: all 78 are candidates, and all are decided on.
    candidates = seed_store.run("illustrative_link_candidates")
    assert len(candidates) == len(rows) == len(links)
    assert sorted(row["count"] or 0 for row in whole) == sorted(
        int(link["count"] or 0) for link in links if provenance.link_is_illustrative(link)
    )


def test_the_arrow_reading_of_illustrative_links_equals_the_rule_row_by_row(seed_store, tmp_path):
    """The dashboard counts illustrative referrals over Arrow (a synthetic national dataset's
    million links are all illustrative): the same links, the same volumes, the same split."""
    from conftest import load_into

    from nestmap.synth import generate

    folder = tmp_path / "synthetic"
    generate(folder, areas=5, services=120, links=900, seed=2)
    synthetic = load_into(tmp_path / "graph.lbug", folder)
    for store in (seed_store, synthetic):
        links = store.run("export_referrals")
        table = provenance.illustrative_link_table(store)
        keys = set(table.column("key").to_pylist())
        marked = [link for link in links if provenance.link_is_illustrative(link)
                  or provenance.count_is_split(link)]  # fmt: skip
        assert len(keys) == len(marked) == table.num_rows
        assert keys == {"\x1f".join(illustrative_key(link)) for link in marked}
        for area in (None, analysis.local_authorities(store)[0]["code"]):
            rows = analysis.misdirected(store, area)
            found = provenance.illustrative_misdirected(store, area, table)
            assert found == {
                "onward": illustrative_volume([r for r in rows if r["onward"]], links),
                "dead_end": illustrative_volume([r for r in rows if not r["onward"]], links),
            }
        assert sum(sum(part.values()) for part in found.values()) > 0 or store is seed_store
    synthetic.close()


def test_links_counted_by_source_text_and_every_link_illustrative(seed_store, tmp_path):
    """The engine's counts per source text equal the rule applied link by link; where every
    link is illustrative (a synthetic dataset), ``EVERY_LINK`` gives the figures matching each
    link by key gives, with no link read."""
    from conftest import load_into

    from nestmap.synth import generate

    links = seed_store.run("export_referrals")
    counts = provenance.illustrative_link_counts(seed_store)
    assert counts == {
        provenance.WHOLE: sum(provenance.link_is_illustrative(link) for link in links),
        provenance.SPLIT: sum(provenance.count_is_split(link) for link in links),
        "all": len(links),
    }
    assert 0 < counts[provenance.WHOLE] < counts["all"]  # the survey's split totals are not
    assert not provenance.every_link_illustrative(counts)
    folder = tmp_path / "synthetic"
    generate(folder, areas=4, services=100, links=700, seed=5)
    synthetic = load_into(tmp_path / "graph.lbug", folder)
    counts = provenance.illustrative_link_counts(synthetic)
    assert counts == {provenance.WHOLE: 700, provenance.SPLIT: 0, "all": 700}
    assert provenance.every_link_illustrative(counts)
    table = provenance.illustrative_link_table(synthetic)
    for area in (None, analysis.local_authorities(synthetic)[0]["code"]):
        every = provenance.illustrative_misdirected(synthetic, area, provenance.EVERY_LINK)
        assert every == provenance.illustrative_misdirected(synthetic, area, table)
        assert sum(every["onward"].values()) + sum(every["dead_end"].values()) > 0
        assert provenance.illustrative_concentration(
            synthetic, area, provenance.EVERY_LINK
        ) == provenance.illustrative_concentration(synthetic, area, table)
    synthetic.close()


def test_illustrative_workforce_services_read_by_source_text_equal_the_rule(seed_store, hand_store):
    for store in (seed_store, hand_store):
        expected = {
            service["id"]
            for service in analysis.services(store)
            if provenance.workforce_is_illustrative(service)
        }
        assert provenance.illustrative_workforce_services(store) == expected
    assert provenance.illustrative_workforce_services(seed_store)  # the seed has placeholders


# The rule row by row, as first written: the reference for the Arrow readings above.
LinkKey = tuple[str, str, str]


def illustrative_links(links: Iterable[Mapping[str, Any]]) -> frozenset[LinkKey]:
    """(from_service, to_service, reason) of every link whose source marks it illustrative."""
    return frozenset(
        (link["from_service"], link["to_service"], link["reason"])
        for link in links
        if provenance.link_is_illustrative(link)
    )


def illustrative_link_rows(store: GraphStore) -> list[dict[str, Any]]:
    """The referral links of the loaded graph whose count rests on an illustrative value (as
    ``link_is_illustrative`` and ``count_is_split`` decide), as ``illustrative_link_table``
    gives them, read without reading every link."""
    found = []
    for link in store.run("illustrative_link_candidates"):
        whole = provenance.link_is_illustrative(link)
        if not whole and not provenance.count_is_split(link):
            continue
        basis = link["count_basis"] or "per_year"
        found.append(
            {
                **link,
                "count": None if link["count"] is None else int(link["count"]),
                "count_basis": basis,
                "key": "\x1f".join(illustrative_key(link)),
                "kind": provenance.WHOLE if whole else provenance.SPLIT,
                "group": "\x1f".join((link["to_service"], link["reason"], basis)),
            }
        )
    return found


def illustrative_volume(
    rows: Iterable[Mapping[str, Any]], links: Iterable[Mapping[str, Any]]
) -> dict[str, int]:
    """Of these rows (misdirected rows, referral links), per count basis the counts resting on
    illustrative values, row by row: on links whose source marks them illustrative, and on
    links whose count is an illustrative split when the rows hold only some of the links
    sharing its total (``links``: every referral link of the dataset)."""
    rows = list(rows)
    by_key = {illustrative_key(link): link for link in links}

    def group(link: Mapping[str, Any]) -> tuple[str, str, str]:
        return (link["to_service"], link["reason"], link["count_basis"] or "per_year")

    splits = [link for link in by_key.values() if provenance.count_is_split(link)]
    in_rows = [by_key[illustrative_key(row)] for row in rows]
    volume: dict[str, int] = {}
    for row, link in zip(rows, in_rows, strict=True):
        if provenance.link_is_illustrative(link):
            rests = True
        elif provenance.count_is_split(link):
            shown = sum(1 for other in in_rows if provenance.count_is_split(other)
                        and group(other) == group(link))  # fmt: skip
            rests = shown < sum(1 for other in splits if group(other) == group(link))
        else:
            rests = False
        if rests and row["count"]:
            basis = row.get("count_basis") or "per_year"
            volume[basis] = volume.get(basis, 0) + row["count"]
    return volume


def illustrative_key(link: Mapping[str, Any]) -> LinkKey:
    return (link["from_service"], link["to_service"], link["reason"])
