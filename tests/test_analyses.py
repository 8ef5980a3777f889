"""Every analysis on the hand-built dataset (tests/data/hand), expected rows worked out by hand
from docs/analyses.md.

The dataset: region R1 = E1 (pop 1000), E2 (3000), E3 (blank); region R2 = F1 (500).
Edge cases: an inactive service (old) as a target and as a source; region-wide services (gp, hv,
fit, pmh across R1; camhs across R1 and R2); blank counts; referral cycles (gp<->hv, pim<->fit);
a tie in pathways (hv reaches bim and pim in one hop); services with offers at two levels with
different focus (hv, bim); an entry point that is itself a destination (bim, late); capacity at
two need levels (pim: targeted and specialist; late: targeted and statutory, plus universal,
which is no need level); age ranges that touch a band's edge (bim 0-12, late 23-), are open
(far: both bounds blank) or start after the last band (fit 24-60).
"""

from __future__ import annotations

import pytest

from nestmap import analysis
from nestmap.errors import UsageError


def cell(rows, area, level, stage):
    (row,) = [r for r in rows if (r["area_code"], r["level"], r["stage"]) == (area, level, stage)]
    return row


def test_gaps_every_cell_in_contract_order(hand_store):
    rows = analysis.gaps(hand_store)
    assert len(rows) == 4 * 4 * 2
    assert list(rows[0]) == [
        "area_code",
        "area_name",
        "level",
        "stage",
        "specialised_services",
        "any_services",
        "gap",
    ]
    keys = [(r["area_code"], r["level"], r["stage"]) for r in rows]
    assert keys[:8] == [
        ("E1", "universal", "antenatal"),
        ("E1", "universal", "postnatal"),
        ("E1", "targeted", "antenatal"),
        ("E1", "targeted", "postnatal"),
        ("E1", "statutory", "antenatal"),
        ("E1", "statutory", "postnatal"),
        ("E1", "specialist", "antenatal"),
        ("E1", "specialist", "postnatal"),
    ]
    assert [k[0] for k in keys[::8]] == ["E1", "E2", "E3", "F1"]


EXPECTED_GAPS = {
    # (area, level, stage): (specialised_services, any_services)
    ("E1", "universal", "antenatal"): ([], ["gp", "mw"]),
    ("E1", "universal", "postnatal"): ([], ["bim", "gp", "hv"]),
    ("E1", "targeted", "antenatal"): ([], []),
    ("E1", "targeted", "postnatal"): (["bim", "pim"], ["bim", "hv", "pim"]),
    ("E1", "statutory", "antenatal"): ([], ["cs"]),
    ("E1", "statutory", "postnatal"): (["fit"], ["cs", "fit"]),
    ("E1", "specialist", "antenatal"): ([], ["pmh"]),
    ("E1", "specialist", "postnatal"): (["pim"], ["camhs", "pim", "pmh"]),
    ("E2", "universal", "antenatal"): ([], ["gp", "mw"]),
    ("E2", "universal", "postnatal"): ([], ["gp", "hv", "tod"]),
    ("E2", "targeted", "antenatal"): (["ante"], ["ante"]),
    # old is inactive: its specialised offer does not close the gap.
    ("E2", "targeted", "postnatal"): ([], ["hv"]),
    ("E2", "statutory", "antenatal"): ([], ["cs"]),
    ("E2", "statutory", "postnatal"): (["fit"], ["cs", "fit"]),
    ("E2", "specialist", "antenatal"): ([], ["pmh"]),
    ("E2", "specialist", "postnatal"): ([], ["camhs", "pmh"]),
    ("E3", "universal", "antenatal"): ([], ["gp"]),
    ("E3", "universal", "postnatal"): ([], ["gp", "hv"]),
    ("E3", "targeted", "antenatal"): ([], []),
    ("E3", "targeted", "postnatal"): ([], ["hv"]),
    ("E3", "statutory", "antenatal"): ([], []),
    ("E3", "statutory", "postnatal"): (["fit"], ["fit"]),
    ("E3", "specialist", "antenatal"): ([], ["pmh"]),
    ("E3", "specialist", "postnatal"): ([], ["camhs", "pmh"]),
    ("F1", "universal", "antenatal"): ([], []),
    ("F1", "universal", "postnatal"): (["late"], ["late"]),
    ("F1", "targeted", "antenatal"): ([], []),
    ("F1", "targeted", "postnatal"): (["far", "late"], ["far", "late"]),
    ("F1", "statutory", "antenatal"): ([], []),
    ("F1", "statutory", "postnatal"): (["late"], ["late"]),
    ("F1", "specialist", "antenatal"): ([], []),
    ("F1", "specialist", "postnatal"): ([], ["camhs"]),
}


def test_gaps_cells_by_hand(hand_store):
    rows = analysis.gaps(hand_store)
    for (area, level, stage), (specialised, anything) in EXPECTED_GAPS.items():
        row = cell(rows, area, level, stage)
        assert row["specialised_services"] == specialised, (area, level, stage)
        assert row["any_services"] == anything, (area, level, stage)
        assert row["gap"] is (not specialised)
    assert cell(rows, "E1", "universal", "antenatal")["area_name"] == "Eastby"


def test_gaps_area_filter(hand_store):
    rows = analysis.gaps(hand_store, "E2")
    assert {r["area_code"] for r in rows} == {"E2"}
    assert len(rows) == 8


def test_unknown_area_is_a_usage_error_listing_known_codes(hand_store):
    with pytest.raises(UsageError) as caught:
        analysis.gaps(hand_store, "R1")  # a region, not a local authority
    assert "E1 (Eastby), E2 (Westby), E3 (Southby), F1 (Farland)" in str(caught.value)


def test_misdirected_by_hand(hand_store):
    # onward: can the family still reach a destination (a specialised targeted or specialist
    # service) of one of the source's LAs from the target, in 0-6 links through active services?
    # gp -> hv (50) is not misdirected: hv offers universal and targeted support, which helps
    # the relationship within wider work (not_offered needs no such offer at all).
    assert analysis.misdirected(hand_store) == [
        # pmh refers no one: a dead end.
        {"from_service": "hv", "to_service": "pmh", "reason": "parent_infant_relationship",
         "count": 30, "count_basis": "per_year",
         "problems": ["not_offered"], "onward": False},
        # old is inactive: never onward, though it refers to pim.
        {"from_service": "hv", "to_service": "old", "reason": "parent_infant_relationship",
         "count": 5, "count_basis": "per_year",
         "problems": ["inactive_target"], "onward": False},
        {"from_service": "gp", "to_service": "camhs", "reason": "parent_infant_relationship",
         "count": 3, "count_basis": "per_year",
         "problems": ["not_offered"], "onward": False},
        # far is itself a destination, but of F1, which gp does not cover.
        {"from_service": "gp", "to_service": "far", "reason": "parenting",
         "count": 2, "count_basis": "per_year",
         "problems": ["out_of_area"], "onward": False},
        # pim is a destination of E1, not of E2 (tod's only LA); pim -> fit -> pim goes nowhere
        # else.
        {"from_service": "tod", "to_service": "pim", "reason": "other",
         "count": 1, "count_basis": "per_year",
         "problems": ["out_of_area"], "onward": False},
        {"from_service": "mw", "to_service": "hv", "reason": "parenting",
         "count": None, "count_basis": "per_year",
         "problems": ["wrong_stage"], "onward": True},
        # pim is a destination of E1 (which mw covers) itself: 0 links.
        {"from_service": "mw", "to_service": "pim", "reason": "parent_infant_relationship",
         "count": None, "count_basis": "per_year",
         "problems": ["wrong_stage"], "onward": True},
    ]  # fmt: skip
    assert list(analysis.misdirected(hand_store)[0]) == [
        "from_service", "to_service", "reason", "count", "count_basis", "problems", "onward",
    ]  # fmt: skip


def chain_dataset(folder, links: int):
    """One LA; ``src`` refers (parent-infant relationship) to ``c1``, which does no
    parent-infant relationship work; c1 -> c2 -> ... -> c<links> -> ``dest`` (specialised, targeted): ``links`` links from
    c1 to dest. ``stop`` sits on a second chain, inactive, in front of ``dest``."""
    folder.mkdir()
    (folder / "areas.csv").write_text(
        "code,name,kind,parent_code,under2_population,births_per_year\n"
        "A1,Anyshire,local_authority,,100,\n"
    )
    services = ["src", *(f"c{i}" for i in range(1, links + 1)), "dest", "side", "stop"]
    status = {"stop": "inactive"}
    (folder / "services.csv").write_text(
        "id,name,provider,sector,status,areas,stages,min_age_months,max_age_months,threshold,"
        "self_referral,capacity_per_year,assesses_relationship,supports_fathers,source\n"
        + "".join(
            f"{s},{s},P,nhs,{status.get(s, 'active')},A1,postnatal,,,open,no,,false,,test\n"
            for s in services
        )
    )
    (folder / "offers.csv").write_text(
        "service_id,level,focus,interventions\n"
        + "".join(
            # dest: specialised targeted help; the others do no parent-infant relationship
            # work (a specialist offer of something else), so a referral to them is not_offered.
            f"{s},targeted,specialised,\n" if s == "dest" else f"{s},specialist,non_specialised,\n"
            for s in services
        )
    )
    chain = ["c1", *(f"c{i}" for i in range(2, links + 1)), "dest"]
    (folder / "referrals.csv").write_text(
        "from_service,to_service,reason,count,source\n"
        "src,c1,parent_infant_relationship,1,test\n"
        "src,side,parent_infant_relationship,1,test\n"
        "side,stop,parenting,,test\n"
        "stop,dest,parenting,,test\n"
        + "".join(f"{a},{b},other,,test\n" for a, b in zip(chain, chain[1:], strict=False))
    )
    return folder


@pytest.mark.parametrize(("links", "onward"), [(6, True), (7, False)])
def test_onward_follows_chains_of_up_to_six_links(tmp_path, links, onward):
    from conftest import load_into

    store = load_into(tmp_path / "g.lbug", chain_dataset(tmp_path / "chain", links))
    rows = {r["to_service"]: r["onward"] for r in analysis.misdirected(store)}
    assert rows["c1"] is onward  # c1 -> ... -> dest: `links` links
    # side -> stop -> dest: the chain runs through an inactive service, so side is a dead end.
    assert rows["side"] is False
    store.close()


def test_misdirected_area_keeps_links_whose_source_covers_it(hand_store):
    rows = analysis.misdirected(hand_store, "E3")  # only gp and hv cover E3
    assert [(r["from_service"], r["to_service"]) for r in rows] == [
        ("hv", "pmh"),
        ("hv", "old"),
        ("gp", "camhs"),
        ("gp", "far"),
    ]


def test_boundary_links_by_hand(hand_store):
    links = analysis.boundaries(hand_store)["links"]
    assert [
        (r["from_service"], r["to_service"], r["reason"], r["kinds"], r["from_threshold"],
         r["to_threshold"])
        for r in links
    ] == [
        ("fit", "pim", "safeguarding", ["geography_partial", "threshold_change"],
         "statutory", "pre_statutory"),
        ("gp", "far", "parenting", ["geography_none"], "open", "open"),
        ("hv", "bim", "parent_infant_relationship", ["geography_partial"], "open", "open"),
        ("hv", "cs", "safeguarding", ["geography_partial", "threshold_change"],
         "open", "statutory"),
        ("hv", "pim", "parent_infant_relationship", ["geography_partial", "threshold_change"],
         "open", "pre_statutory"),
        ("mw", "hv", "parenting", ["stage_handover"], "open", "open"),
        ("mw", "pim", "parent_infant_relationship",
         ["geography_partial", "stage_handover", "threshold_change"], "open", "pre_statutory"),
        # 0-24 and 24-60 overlap (inclusive): no age_mismatch.
        ("pim", "fit", "safeguarding", ["threshold_change"], "pre_statutory", "statutory"),
        ("tod", "pim", "other", ["age_mismatch", "geography_none", "threshold_change"],
         "open", "pre_statutory"),
    ]  # fmt: skip


def test_threshold_cliffs_by_hand(hand_store):
    assert analysis.boundaries(hand_store)["threshold_cliffs"] == [
        {"area_code": "E1", "stage": "antenatal", "below": [], "above": [], "status": "none"},
        {"area_code": "E1", "stage": "postnatal", "below": ["bim", "pim"],
         "above": ["bim", "fit"], "status": "ok"},
        {"area_code": "E2", "stage": "antenatal", "below": ["ante"], "above": [],
         "status": "cliff"},
        {"area_code": "E2", "stage": "postnatal", "below": [], "above": ["fit"],
         "status": "cliff"},
        {"area_code": "E3", "stage": "antenatal", "below": [], "above": [], "status": "none"},
        {"area_code": "E3", "stage": "postnatal", "below": [], "above": ["fit"],
         "status": "cliff"},
        {"area_code": "F1", "stage": "antenatal", "below": [], "above": [], "status": "none"},
        {"area_code": "F1", "stage": "postnatal", "below": ["far", "late"],
         "above": ["far", "late"], "status": "ok"},
    ]  # fmt: skip


def test_boundaries_area_filter(hand_store):
    result = analysis.boundaries(hand_store, "F1")
    assert result["links"] == []  # no source covers F1
    assert [r["area_code"] for r in result["threshold_cliffs"]] == ["F1", "F1"]


def test_pathways_by_hand(hand_store):
    assert analysis.pathways(hand_store) == [
        # bim is itself a destination: hops 0.
        {"area_code": "E1", "entry_service": "bim", "destination": "bim", "hops": 0},
        # gp -> hv -> bim and gp -> hv -> pim tie at 2: the smaller id wins.
        {"area_code": "E1", "entry_service": "gp", "destination": "bim", "hops": 2},
        {"area_code": "E1", "entry_service": "hv", "destination": "bim", "hops": 1},
        {"area_code": "E1", "entry_service": "mw", "destination": "pim", "hops": 1},
        # ante is reachable only through the inactive old: dead ends.
        {"area_code": "E2", "entry_service": "gp", "destination": None, "hops": None},
        {"area_code": "E2", "entry_service": "hv", "destination": None, "hops": None},
        {"area_code": "E2", "entry_service": "mw", "destination": None, "hops": None},
        {"area_code": "E2", "entry_service": "tod", "destination": None, "hops": None},
        {"area_code": "E3", "entry_service": "gp", "destination": None, "hops": None},
        {"area_code": "E3", "entry_service": "hv", "destination": None, "hops": None},
        {"area_code": "F1", "entry_service": "late", "destination": "late", "hops": 0},
    ]  # fmt: skip


def test_pathways_area_filter(hand_store):
    rows = analysis.pathways(hand_store, "E3")
    assert [(r["entry_service"], r["hops"]) for r in rows] == [("gp", None), ("hv", None)]


def test_concentration_by_hand(hand_store):
    # old -> pim (100) has an inactive source and is left out; mw -> pim's blank count is 0.
    # referrals.csv has no count_basis column: every count is per_year.
    keys = ("to_service", "count_basis", "count", "share", "specialised")
    assert analysis.concentration(hand_store) == [
        dict(zip(keys, row, strict=True))
        for row in [
            ("hv", "per_year", 50, 0.3378, False),
            ("pim", "per_year", 50, 0.3378, True),
            ("pmh", "per_year", 30, 0.2027, False),
            ("bim", "per_year", 10, 0.0676, True),
            ("old", "per_year", 5, 0.0338, True),
            ("camhs", "per_year", 3, 0.0203, False),
        ]
    ]


def test_concentration_area_with_no_sources_is_empty(hand_store):
    assert analysis.concentration(hand_store, "F1") == []


def test_need_by_hand(hand_store):
    assert analysis.need(hand_store) == [
        # pim (40 a year) works at targeted and specialist: 20 at each (counted once); bim 20.
        {"area_code": "E1", "level": "targeted", "demand": 80.0, "capacity": 40.0,
         "unrecorded": 0, "shortfall": 40.0},
        # fit (90 a year) is shared by E1 and E2 by population; E3 has none recorded.
        {"area_code": "E1", "level": "statutory", "demand": 130.0, "capacity": 22.5,
         "unrecorded": 0, "shortfall": 107.5},
        {"area_code": "E1", "level": "specialist", "demand": 90.0, "capacity": 20.0,
         "unrecorded": 0, "shortfall": 70.0},
        {"area_code": "E2", "level": "targeted", "demand": 240.0, "capacity": 30.0,
         "unrecorded": 0, "shortfall": 210.0},
        {"area_code": "E2", "level": "statutory", "demand": 390.0, "capacity": 67.5,
         "unrecorded": 0, "shortfall": 322.5},
        {"area_code": "E2", "level": "specialist", "demand": 270.0, "capacity": 0.0,
         "unrecorded": 0, "shortfall": 270.0},
        {"area_code": "E3", "level": "targeted", "demand": None, "capacity": None,
         "unrecorded": 0, "shortfall": None},
        {"area_code": "E3", "level": "statutory", "demand": None, "capacity": None,
         "unrecorded": 0, "shortfall": None},
        {"area_code": "E3", "level": "specialist", "demand": None, "capacity": None,
         "unrecorded": 0, "shortfall": None},
        # far 10 + late's 30 split across targeted and statutory (its universal offer is no
        # need level): 15 at each.
        {"area_code": "F1", "level": "targeted", "demand": 40.0, "capacity": 25.0,
         "unrecorded": 0, "shortfall": 15.0},
        {"area_code": "F1", "level": "statutory", "demand": 65.0, "capacity": 15.0,
         "unrecorded": 0, "shortfall": 50.0},
        {"area_code": "F1", "level": "specialist", "demand": 45.0, "capacity": 0.0,
         "unrecorded": 0, "shortfall": 45.0},
    ]  # fmt: skip


def test_need_rounds_half_away_from_zero_once(hand_store):
    shares = analysis.parse_shares(targeted="0.00125")
    rows = {(r["area_code"], r["level"]): r for r in analysis.need(hand_store, shares=shares)}
    assert rows[("E1", "targeted")]["demand"] == 1.3  # 1.25 -> 1.3, not banker's 1.2
    assert rows[("E2", "targeted")]["demand"] == 3.8  # 3.75
    assert rows[("F1", "targeted")]["demand"] == 0.6  # 0.625
    assert rows[("E1", "targeted")]["shortfall"] == 0.0  # capacity 60 exceeds demand


def test_need_shares_are_checked():
    with pytest.raises(UsageError):
        analysis.parse_shares(targeted="lots")
    with pytest.raises(UsageError):
        analysis.parse_shares(statutory="1.5")


def test_assessment_by_hand(hand_store):
    result = analysis.assessment(hand_store)
    assert [(r["service_id"], r["assesses_relationship"]) for r in result["entry_points"]] == [
        ("bim", False),
        ("cs", False),
        ("fit", False),
        ("gp", False),
        ("hv", False),
        ("late", False),
        ("mw", True),
        ("tod", False),
    ]
    coverage = {(r["area_code"], r["stage"]): r for r in result["coverage"]}
    assert coverage[("E1", "antenatal")]["assessing_services"] == ["mw"]
    assert coverage[("E1", "postnatal")]["gap"] is True
    assert coverage[("F1", "antenatal")]["services"] == 0


def test_workforce_by_hand(hand_store):
    result = analysis.workforce(hand_store)
    assert result["practitioners_level_2_3"] == 2  # old's level-3 post is inactive
    pim = next(r for r in result["services"] if r["service_id"] == "pim")
    assert (pim["fte_level_2"], pim["fte_level_3"]) == (0.6, 1.0)
    e1 = next(r for r in result["areas"] if r["area_code"] == "E1")
    assert e1["practitioners"] == 4 and e1["fte_level_0"] == 12.5


def test_thrive_groups_by_level(hand_store):
    rows = analysis.thrive(hand_store, "F1")
    assert [(r["thrive_group"], r["service_id"], r["focus"]) for r in rows] == [
        ("Getting Advice and Signposting", "late", "specialised"),
        ("Getting Help", "far", "specialised"),
        ("Getting Help", "late", "specialised"),
        ("Getting More Help", "camhs", "non_specialised"),
        ("Getting Risk Support", "late", "specialised"),
    ]


def test_groups_left_out(hand_store):
    rows = {r["area_code"]: r for r in analysis.groups_left_out(hand_store)}
    assert rows["E2"]["supporting_fathers"] == ["tod"]
    assert rows["E1"]["supporting_fathers"] == []
    assert "mw" not in rows["E1"]["not_recorded"]  # recorded as false


def test_age_bands_by_hand(hand_store):
    rows = analysis.age_bands(hand_store)
    assert len(rows) == 4 * 4 * 4  # every LA x level x band
    assert list(rows[0]) == ["area_code", "level", "band", "specialised_services", "gap"]
    assert [(r["level"], r["band"]) for r in rows[:5]] == [
        ("universal", "0-5"), ("universal", "6-11"), ("universal", "12-17"),
        ("universal", "18-23"), ("targeted", "0-5"),
    ]  # fmt: skip
    found = {
        (r["area_code"], r["level"], r["band"]): r["specialised_services"]
        for r in rows
        if not r["gap"]
    }
    assert found == {
        # bim (0-12) touches 12-17 at its first month; pim is 0-24.
        ("E1", "targeted", "0-5"): ["bim", "pim"],
        ("E1", "targeted", "6-11"): ["bim", "pim"],
        ("E1", "targeted", "12-17"): ["bim", "pim"],
        ("E1", "targeted", "18-23"): ["pim"],
        ("E1", "specialist", "0-5"): ["pim"],
        ("E1", "specialist", "6-11"): ["pim"],
        ("E1", "specialist", "12-17"): ["pim"],
        ("E1", "specialist", "18-23"): ["pim"],
        # far has no bounds (open: 0-216); late starts at 23, the last month of 18-23.
        ("F1", "universal", "18-23"): ["late"],
        ("F1", "targeted", "0-5"): ["far"],
        ("F1", "targeted", "6-11"): ["far"],
        ("F1", "targeted", "12-17"): ["far"],
        ("F1", "targeted", "18-23"): ["far", "late"],
        ("F1", "statutory", "18-23"): ["late"],
    }
    # Every other cell is a gap: E2's targeted help (old, no bounds) is inactive; fit (24-60)
    # starts after the second birthday, so statutory help, a closed cell in gaps, shows here
    # as a gap in every band; ante is antenatal only.
    assert cell(analysis.gaps(hand_store), "E1", "statutory", "postnatal")["gap"] is False
    assert all(r["gap"] for r in rows if r["level"] == "statutory" and r["area_code"] != "F1")


def test_age_bands_area_filter(hand_store):
    rows = analysis.age_bands(hand_store, "F1")
    assert {r["area_code"] for r in rows} == {"F1"} and len(rows) == 16
    with pytest.raises(UsageError):
        analysis.age_bands(hand_store, "R2")


def test_cli_age_bands_misdirected_onward_and_need_preset(tmp_path):
    import json
    import subprocess
    import sys

    from conftest import HAND, load_into

    db = tmp_path / "g.lbug"
    load_into(db, HAND).close()

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "nestmap.cli", *args, "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    bands = run("age-bands", "--area", "F1", "--format", "json")
    assert bands.returncode == 0, bands.stderr
    rows = json.loads(bands.stdout)
    assert rows[7] == {"area_code": "F1", "level": "targeted", "band": "18-23",
                       "specialised_services": ["far", "late"], "gap": False}  # fmt: skip
    wrong = run("age-bands", "--area", "R1")
    assert (
        wrong.returncode == 2
        and "E1 (Eastby), E2 (Westby), E3 (Southby), F1 (Farland)" in wrong.stderr
    )
    misdirected = json.loads(run("misdirected", "--format", "json").stdout)
    preset = json.loads(run("need", "--preset", "general_population", "--format", "json").stdout)
    store = load_into(tmp_path / "again.lbug", HAND)
    assert [r["onward"] for r in misdirected] == [r["onward"] for r in analysis.misdirected(store)]
    assert list(misdirected[0])[-1] == "onward"
    general = analysis.parse_shares("0.0733", "0.0708", "0.0975")
    assert preset == analysis.need(store, shares=general)
    store.close()
