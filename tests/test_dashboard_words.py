"""Words, not keys, wherever people read (Streamlit's AppTest on the seed region): tables,
captions and filters show "parent-infant relationship", never ``parent_infant_relationship``;
shares read as percentages; a column of local authorities is headed as names; wide tables are
fitted to the page. Downloads keep the keys."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from test_dashboard_apptest import STEMS, _app, _markdown

from nestmap import analysis, vocabulary
from nestmap.dashboard import tables
from nestmap.report import build_report

# Every key the analyses write that has words of its own (parent_infant_relationship,
# age_mismatch, not_offered, per_year, ...).
KEYS = sorted(key for key in vocabulary.LABELS if "_" in key)
KEY_PATTERN = re.compile(r"\b(" + "|".join(KEYS) + r")\b")
# The Data and Query pages show the dataset as it is written (its files' columns and values).
READ_PAGES = [stem for stem in STEMS if stem not in ("data", "query")]


def _seen(table) -> list[str]:
    """A table's headers and cells as the page shows them (its visible columns)."""
    headers = json.loads(table.proto.columns or "{}")
    visible = list(table.proto.column_order) or list(table.value.columns)
    return [str(headers.get(c, {}).get("label", c)) for c in visible] + _cells(table.value[visible])


def _cells(frame: pd.DataFrame) -> list[str]:
    found = []
    for column in frame.columns:
        for value in frame[column]:
            items = value if isinstance(value, list) else [value]
            found += [item for item in items if isinstance(item, str)]
    return found


@pytest.mark.parametrize("stem", READ_PAGES)
def test_no_vocabulary_key_on_a_page(stem, seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, stem)
    texts = [_markdown(app)]
    for table in app.dataframe:
        texts += _seen(table)
    for box in app.multiselect:
        texts += [str(option) for option in box.options]
    for box in app.selectbox:
        texts += [str(option) for option in box.options]
    found = sorted({match for text in texts for match in KEY_PATTERN.findall(text)})
    assert not found, (stem, found)


def test_the_misdirected_table_reads_in_words_and_downloads_keep_keys(seed_store, monkeypatch):
    app = _app(monkeypatch, seed_store.location, "referrals")
    misdirected = next(t.value for t in app.dataframe if "problems" in t.value.columns)
    assert "parent-infant relationship" in set(misdirected["reason"])
    assert ["support not offered there"] in misdirected["problems"].tolist()
    rows = analysis.misdirected(seed_store)
    csv = tables.csv_bytes(tables.frame(rows)).decode()
    assert "parent_infant_relationship" in csv and "not_offered" in csv
    reasons = next(box for box in app.multiselect if box.label == "Reasons")
    assert "parent-infant relationship" in [str(o) for o in reasons.options]


def test_shares_read_as_percentages(seed_store, monkeypatch):
    monkeypatch.setenv("NESTMAP_DB", seed_store.location)
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    rows = analysis.concentration(seed_store)
    frame = tables.frame(rows)
    shown, config, _order = tables.for_people(frame)
    # A share of counts not recorded stays blank (None, NaN on the page), never 0%.
    assert any(r["share"] is None for r in rows) and any(r["share"] is not None for r in rows)
    for value, r in zip(shown["share"].round(2).tolist(), rows, strict=True):
        if r["share"] is None:
            assert value != value  # NaN
        else:
            assert value == round(r["share"] * 100, 2)
    assert config["share"]["type_config"]["format"] == "%.1f%%"
    # 0.5817 reads 58.2%: printf's rounding of the percentage, as the page formats it.
    assert "%.1f%%" % (0.5817 * 100) == "58.2%"
    # The download keeps the share as the analysis gives it.
    assert [None if v != v else v for v in frame["share"].tolist()] == [r["share"] for r in rows]


def test_a_column_of_area_codes_is_headed_as_names(seed_store, monkeypatch):
    monkeypatch.setenv("NESTMAP_DB", seed_store.location)
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    shown, config, order = tables.for_people(tables.frame(analysis.age_bands(seed_store)))
    assert order[0] == "area_code (names)"
    assert config["area_code (names)"]["label"] == "Local authority"
    assert set(shown["area_code (names)"]) == {"Bridgend", "Rhondda Cynon Taf", "Merthyr Tydfil"}
    assert config["area_code"]["label"] == "Local authority code (id)"
    assert tables.label("postnatal non_specialised") == "Postnatal non-specialised"


def test_a_count_beside_its_unit_is_headed_count():
    frame = tables.frame([{"to_service": "a", "count": 3, "count_basis": "survey_mentions"}])
    shown, config, _order = tables.for_people(frame, names=False)
    assert config["count"]["label"] == "Count" and config["count_basis"]["label"] == "Unit"
    assert shown["count_basis"].tolist() == ["survey mentions"]


def test_wide_tables_are_fitted_to_the_page():
    """The pathways table's path and the misdirected table's counts started off screen at
    1,440 px: the widest columns are narrowed until the table fits; a narrow table is left."""
    long = " → ".join(["Health visiting (Healthy Child Wales Programme)"] * 4)
    frame = pd.DataFrame(
        {
            "area_name": ["Rhondda Cynon Taf"] * 3,
            "entry_name": ["Health visiting (Healthy Child Wales Programme)"] * 3,
            "outcome": ["reaches specialised help"] * 3,
            "hops": [3, 2, 3],
            "path": [long] * 3,
        }
    )
    config = {c: {"label": tables.label(c)} for c in frame.columns}
    assert tables.fit_columns(frame, config, list(frame.columns))
    widths = {c: config[c].get("width") for c in frame.columns}
    assert widths["path"] and widths["entry_name"] and not widths["hops"]
    natural = {c: tables._natural_width(frame[c], config[c]["label"]) for c in frame.columns}
    drawn = sum(widths[c] or natural[c] for c in frame.columns)
    assert drawn <= tables.FIT_WIDTH_PX + 1
    small = pd.DataFrame({"area_name": ["Bridgend"], "hops": [2]})
    small_config = {c: {"label": c} for c in small.columns}
    assert not tables.fit_columns(small, small_config, list(small.columns))
    assert small_config == {c: {"label": c} for c in small.columns}


def test_the_report_reads_in_words(seed_store, tmp_path):
    text = build_report(seed_store, tmp_path / "report.html").read_text(encoding="utf-8")
    body = re.sub(r"<style.*?</style>", "", text, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    # Commands and column names the report quotes are in <code>; none of these is.
    assert not KEY_PATTERN.findall(body), sorted(set(KEY_PATTERN.findall(body)))
    assert "parent-infant relationship" in body and "support not offered there" in body
