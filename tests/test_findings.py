"""Acceptance: the nine findings of the report (docs/vocabulary.md; the seed README), asserted on real query output for the bundled
seed region (Cwm Taf Morgannwg)."""

from __future__ import annotations

from nestmap import analysis

LAS = {"W06000013", "W06000016", "W06000024"}
PERINATAL_MH = "ctm_perinatal_mental_health"
CAMHS = "ctm_camhs"
HEALTH_VISITING = "ctm_health_visiting"


def test_seed_region_counts(seed_store):
    summary = analysis.info(seed_store)
    assert summary["dataset"] == "cwm_taf_morgannwg"
    assert summary["nodes"]["Area"] == 4
    assert summary["nodes"]["Level"] == 4
    assert summary["nodes"]["Service"] >= 30
    assert summary["links"]["REFERS_TO"] >= 50
    assert set(analysis.local_authority_codes(seed_store)) == LAS


def test_finding_1_no_targeted_specialised_postnatal_work_anywhere(seed_store):
    rows = analysis.gaps(seed_store)
    cells = [r for r in rows if r["level"] == "targeted" and r["stage"] == "postnatal"]
    assert {r["area_code"] for r in cells} == LAS
    assert all(r["gap"] and r["specialised_services"] == [] for r in cells)
    # ... although targeted, non-specialised services do serve postnatally in every LA.
    assert all(r["any_services"] for r in cells)
    # No voluntary-sector therapeutic (specialised) service.
    voluntary = [s for s in analysis.services(seed_store) if s["sector"] == "voluntary"]
    assert voluntary and not any(s["specialised"] for s in voluntary)


def test_finding_2_specialist_services_that_are_not_specialised(seed_store):
    catalogue = {s["id"]: s for s in analysis.services(seed_store)}
    for service_id in (PERINATAL_MH, CAMHS):
        service = catalogue[service_id]
        assert "specialist" in service["offers"]
        assert service["specialised"] is False


def test_finding_3_misdirected_referrals_into_perinatal_mh_and_camhs(seed_store):
    rows = analysis.misdirected(seed_store)
    for target in (PERINATAL_MH, CAMHS):
        into = [r for r in rows if r["to_service"] == target]
        assert into, target
        assert all("not_offered" in r["problems"] for r in into)
        assert all(r["reason"] == "parent_infant_relationship" for r in into)
    volume = {
        target: sum(r["count"] or 0 for r in rows if r["to_service"] == target)
        for target in (PERINATAL_MH, CAMHS)
    }
    # The survey: a third would refer to the perinatal team, 3% to CAMHS.
    assert volume[PERINATAL_MH] > volume[CAMHS] > 0


def test_finding_4_health_visiting_is_the_most_common_destination(seed_store):
    rows = analysis.concentration(seed_store)
    assert rows[0]["to_service"] == HEALTH_VISITING
    assert rows[0]["count"] > rows[1]["count"]
    assert rows[0]["specialised"] is False
    assert rows[0]["share"] > 0.5  # a single point of failure


def test_finding_5_thin_specialist_capacity(seed_store):
    result = analysis.workforce(seed_store)
    assert result["practitioners_level_2_3"] in (7, 8)
    at_levels_2_3 = {r["service_id"] for r in result["services"] if r["practitioners_level_2_3"]}
    assert at_levels_2_3 == {
        "ctm_educational_psychology",
        "ctm_health_psychology",
        "ctm_specialist_health_visiting",
        "rct_intensive_family_support",
        "rct_therapeutic_families",
    }


def test_finding_6_no_entry_point_assesses_the_relationship(seed_store):
    result = analysis.assessment(seed_store)
    entry = {r["service_id"]: r for r in result["entry_points"]}
    for service_id in (
        "ctm_gp_practices",
        "ctm_midwifery",
        HEALTH_VISITING,
        "bridgend_childrens_social_care",
        "rct_childrens_social_care",
        "merthyr_childrens_social_care",
    ):
        assert entry[service_id]["assesses_relationship"] is False
    assert not any(r["assesses_relationship"] for r in result["entry_points"])
    assert all(r["gap"] for r in result["coverage"])
    assert {r["area_code"] for r in result["coverage"]} == LAS


def test_finding_7_statutory_pre_statutory_interface(seed_store):
    result = analysis.boundaries(seed_store)
    crossings = [
        r
        for r in result["links"]
        if "threshold_change" in r["kinds"]
        and {r["from_threshold"], r["to_threshold"]} & {"statutory"}
    ]
    assert crossings, "families are referred across the child-protection threshold"
    # Specialised support is not on both sides of the threshold everywhere.
    statuses = {(r["area_code"], r["stage"]): r["status"] for r in result["threshold_cliffs"]}
    assert set(statuses) == {(a, s) for a in LAS for s in ("antenatal", "postnatal")}
    assert any(status != "ok" for status in statuses.values())
    assert ("W06000013", "antenatal") in statuses
    assert statuses[("W06000013", "antenatal")] == "cliff"


def test_finding_8_little_support_for_dads_and_partners(seed_store):
    rows = analysis.groups_left_out(seed_store)
    assert {r["area_code"] for r in rows} == LAS
    assert all(r["supporting_fathers"] == [] for r in rows)
    peer = next(s for s in analysis.services(seed_store) if s["id"] == "ctm_parent_peer_support")
    assert "reduced" in peer["source"].lower()


def test_finding_9_good_practice_to_build_on(seed_store):
    catalogue = {s["id"]: s for s in analysis.services(seed_store)}
    expected = {
        "bridgend_baby_in_mind": {"W06000013"},
        "rct_resilient_families": {"W06000016"},
        "merthyr_supporting_change": {"W06000024"},
        "rct_intensive_family_support": {"W06000016"},
        "ctm_educational_psychology": LAS,
        "ctm_health_psychology": LAS,
        HEALTH_VISITING: LAS,
        "rct_valleys_kids": {"W06000016"},
        "ctm_home_start": LAS,
    }
    for service_id, areas in expected.items():
        service = catalogue[service_id]
        assert service["status"] == "active", service_id
        assert set(service["covers"]) == areas, service_id
    assert catalogue["rct_valleys_kids"]["sector"] == "voluntary"
    assert catalogue["ctm_home_start"]["sector"] == "voluntary"
    assert catalogue["ctm_home_start"]["areas"] == ["W11000030"]  # region-wide


def test_pathways_show_dead_end_entry_points(seed_store):
    rows = analysis.pathways(seed_store)
    assert {r["area_code"] for r in rows} == LAS
    dead = [r for r in rows if r["destination"] is None]
    assert dead and all(r["hops"] is None for r in dead)
    reached = [r for r in rows if r["destination"] is not None]
    assert all(0 <= r["hops"] <= 6 for r in reached)


def test_need_shows_a_shortfall_in_every_la(seed_store):
    rows = analysis.need(seed_store)
    assert {r["area_code"] for r in rows} == LAS
    assert all(r["shortfall"] > 0 for r in rows if r["level"] == "specialist")
