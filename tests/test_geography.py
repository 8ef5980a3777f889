"""The bundled ONS geography (nestmap/geography) and boundaries (dashboard assets) agree with
each other and with what ONS published (LAD April 2025, ICB April 2023, LHB December 2023)."""

from __future__ import annotations

from importlib import resources

from nestmap import geography
from nestmap.geography.boundaries import boundaries, region_boundaries


def test_every_english_and_welsh_authority_once():
    las = geography.local_authorities()
    assert sum(c.startswith("E") for c in las) == 296
    assert sum(c.startswith("W06") for c in las) == 22
    assert len(las) == 318
    # April 2023 and 2025 codes are current; their predecessors are not.
    for code, name in (("E06000066", "Somerset"), ("E06000063", "Cumberland"),
                       ("E08000038", "Barnsley"), ("W06000016", "Rhondda Cynon Taf")):  # fmt: skip
        assert las[code].name == name
    assert "E07000187" not in las and "E08000016" not in las


def test_regions_above_them():
    regions = geography.regions()
    kinds = [r.kind for r in regions.values()]
    assert kinds.count("integrated_care_board") == 42
    assert kinds.count("local_health_board") == 7
    for code, la in geography.local_authorities().items():
        assert la.region_code in regions
        assert la.region_code.startswith("W11" if code.startswith("W") else "E54")
        assert 0.5 < la.share <= 1.0
    assert geography.members("W11000030") == ["W06000013", "W06000016", "W06000024"]
    assert geography.members("E54000040") == ["E06000022", "E06000030", "E06000054"]
    assert sum(len(geography.members(code)) for code in regions) == 318


def test_retired_codes_lead_to_the_current_one():
    assert geography.current_code("W06000024") == "W06000024"
    assert geography.current_code("E07000150") == "E06000061"  # Corby, 2021
    assert geography.current_code("E07000246") == "E06000066"  # via Somerset West and Taunton
    assert geography.current_code("E08000016") == "E08000038"  # Barnsley recoded in 2025
    assert geography.current_code("S12000036") is None
    for old, (_name, new) in geography.successors().items():
        assert new in geography.local_authorities(), old


def test_every_authority_and_region_has_a_boundary():
    shapes, outlines = boundaries(), region_boundaries()
    assert set(shapes) == set(geography.local_authorities())
    assert set(outlines) == set(geography.regions())
    for code, shape in shapes.items():
        x0, y0, x1, y1 = shape.bbox
        assert -6.5 < x0 < x1 < 2.0 and 49.8 < y0 < y1 < 56.0, code
        assert all(ring[0] == ring[-1] and len(ring) >= 4 for ring in shape.rings)
    # Small enough to ship in the wheel.
    asset = resources.files("nestmap.geography") / "data" / "boundaries_ew.geojson"
    assert len(asset.read_bytes()) < 2_000_000
