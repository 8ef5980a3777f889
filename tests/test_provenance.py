"""Which figures rest on illustrative values (nestmap.provenance), on the bundled seed region
and the hand-built dataset."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nestmap import analysis, provenance
from nestmap.graph import GraphStore


def test_seed_referral_counts_marked_illustrative(seed_store):
    links = seed_store.run("export_referrals")
    marked = illustrative_links(links)
    # Every link whose source starts "illustrative:" (the 13 counted mentions of health
    # visiting and the uncounted usual routes); the perinatal team's and CAMHS's totals are the
    # survey's, split illustratively, so their links are not marked.
    assert all(key[1] != "ctm_perinatal_mental_health" or key[2] != "parent_infant_relationship"
               for key in marked)  # fmt: skip
    misdirected = analysis.misdirected(seed_store)
    assert illustrative_volume(misdirected, marked) == 89
    keys = provenance.illustrative_link_table(seed_store).column("key")
    assert sum(provenance.illustrative_misdirected(seed_store, None, keys).values()) == 89
    assert illustrative_volume(misdirected, frozenset()) == 0


def test_seed_workforce_placeholders_and_the_bundled_seed(seed_store, hand_store):
    staffed = {r["service_id"] for r in analysis.workforce(seed_store)["services"]}
    services = {s["id"]: s for s in analysis.services(seed_store)}
    assert staffed and all(provenance.workforce_is_illustrative(services[s]) for s in staffed)
    assert provenance.is_bundled_seed(analysis.info(seed_store))
    assert not provenance.is_bundled_seed(analysis.info(hand_store))


def test_a_source_marked_later_keeps_the_reports_figure():
    assert provenance.link_is_illustrative({"source": " Illustrative: usual route"})
    assert not provenance.link_is_illustrative(
        {"source": "Securing Healthy Lives, Results: 59; illustrative: the split"}
    )
    assert not provenance.link_is_illustrative({"source": None})


def test_illustrative_links_read_from_the_candidates_equal_the_rule_over_every_link(seed_store):
    # The dashboard reads the few links whose source mentions "illustrative" (a national
    # dataset has a million links); the rule decides on them as it does on every link.
    links = seed_store.run("export_referrals")
    rows = provenance.illustrative_link_table(seed_store).to_pylist()
    assert rows == [{**row, "key": "\x1f".join(illustrative_key(row))}
                    for row in illustrative_link_rows(seed_store)]  # fmt: skip
    assert rows and all(provenance.link_is_illustrative(row) for row in rows)
    assert illustrative_links(rows) == illustrative_links(links)
    candidates = seed_store.run("illustrative_link_candidates")
    # Sources that quote the report first and mark a field illustrative later are candidates,
    # not illustrative links.
    assert len(candidates) > len(rows)
    assert sorted(row["count"] or 0 for row in rows) == sorted(
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
        marked = illustrative_links(links)
        table = provenance.illustrative_link_table(store)
        keys = set(table.column("key").to_pylist())
        assert len(keys) == len(marked) == table.num_rows
        assert keys == {"\x1f".join(key) for key in marked}
        for area in (None, analysis.local_authorities(store)[0]["code"]):
            rows = analysis.misdirected(store, area)
            split = provenance.illustrative_misdirected(store, area, table.column("key"))
            assert split == {
                "onward": illustrative_volume([r for r in rows if r["onward"]], marked),
                "dead_end": illustrative_volume([r for r in rows if not r["onward"]], marked),
            }
        assert sum(split.values()) > 0 or store is seed_store
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
    """The referral links of the loaded graph whose source marks them illustrative (as
    ``link_is_illustrative`` decides), read without reading every link."""
    candidates = store.run("illustrative_link_candidates")
    return [
        {**link, "count": None if link["count"] is None else int(link["count"])}
        for link in candidates
        if provenance.link_is_illustrative(link)
    ]


def illustrative_volume(rows: Iterable[Mapping[str, Any]], marked: frozenset[LinkKey]) -> int:
    """Of these rows (misdirected rows, referral links), the referrals counted on marked links."""
    if not marked:
        return 0
    return sum(
        row["count"] or 0
        for row in rows
        if (row["from_service"], row["to_service"], row["reason"]) in marked
    )


def illustrative_key(link: Mapping[str, Any]) -> LinkKey:
    return (link["from_service"], link["to_service"], link["reason"])
