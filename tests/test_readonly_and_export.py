"""The read-only Cypher console guard, and the loaded dataset written back out."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from conftest import load_into

from nestmap import analysis
from nestmap.errors import InputError, NestmapError, ReadOnlyError
from nestmap.interop import export_dataset, template_workbook, write_csv_folder
from nestmap.loaders import read_dataset, read_dataset_bytes

WRITES = [
    "CREATE (n:Service {id: 'x'})",
    "MERGE (n:Service {id: 'gp'}) RETURN n",
    "MATCH (s:Service) SET s.name = 'x'",
    "MATCH (s:Service) DELETE s",
    "MATCH (s:Service) DETACH DELETE s",
    "MATCH (s:Service) REMOVE s.name",
    "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
    "LOAD FROM '/etc/passwd' RETURN *",
    "CALL db.createLabel('X')",
    "CALL apoc.create.node(['X'], {}) YIELD node RETURN node",
    "MATCH (s) CALL { WITH s CREATE (:X) } RETURN 1",
    "match (s:Service) detach delete s",
    "COPY Service FROM 'x.csv'",
    "DROP TABLE Service",
]


@pytest.mark.parametrize("cypher", WRITES)
def test_writes_are_refused_and_nothing_changes(cypher, hand_store):
    before = analysis.info(hand_store)
    with pytest.raises(ReadOnlyError):
        hand_store.run_read_only(cypher, None, limit=10, timeout_s=5)
    assert analysis.info(hand_store) == before


def test_reads_run_with_limit_and_truncation(hand_store):
    columns, rows, truncated = hand_store.run_read_only(
        "MATCH (s:Service) RETURN s.id AS id, s.name AS name ORDER BY id", None, 5, 5
    )
    assert columns == ["id", "name"]
    assert [row[0] for row in rows] == ["ante", "bim", "camhs", "cs", "far"]
    assert truncated is True
    _, rows, truncated = hand_store.run_read_only(
        "MATCH (s:Service) WHERE s.id = $id RETURN s.name", {"id": "gp"}, 5, 5
    )
    assert rows == [["General practice"]] and truncated is False


def test_strings_mentioning_write_words_are_fine(hand_store):
    _, rows, _ = hand_store.run_read_only(
        "MATCH (s:Service) WHERE s.name <> 'CREATE or DELETE' RETURN count(s) // SET", None, 5, 5
    )
    assert rows == [[14]]


def test_syntax_errors_are_clean(hand_store):
    with pytest.raises(NestmapError, match="the query failed"):
        hand_store.run_read_only("MATCH (s RETURN s", None, 5, 5)


def test_catalogue_procedures_are_allowed(hand_store):
    columns, rows, _ = hand_store.run_read_only("CALL show_tables() RETURN *", None, 50, 5)
    assert any("Service" in row for row in rows)


def test_csv_and_xlsx_exports_round_trip(tmp_path: Path, hand_store):
    folder = write_csv_folder(hand_store, tmp_path / "out")
    workbook = export_dataset(hand_store, "xlsx")
    archive = export_dataset(hand_store, "zip")
    stores = [
        load_into(tmp_path / "csv.lbug", folder),
        load_into(tmp_path / "xlsx.lbug", _write(tmp_path / "out.xlsx", workbook)),
        load_into(tmp_path / "zip.lbug", _write(tmp_path / "out.zip", archive)),
    ]
    for name in ("gaps", "misdirected", "boundaries", "pathways", "concentration", "need"):
        expected = getattr(analysis, name)(hand_store)
        for store in stores:
            assert getattr(analysis, name)(store) == expected, name
    for store in stores:
        store.close()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_template_has_every_sheet_a_guide_and_dropdowns(tmp_path: Path):
    data = template_workbook()
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == "how to fill this in"
    assert set(book.sheetnames[1:]) == {
        "areas", "services", "offers", "referrals", "workforce", "dataset"
    }  # fmt: skip
    assert [c.value for c in book["dataset"][1]] == ["field", "value"]
    fields = [dv.formula1 for dv in book["dataset"].data_validations.dataValidation]
    assert fields == ['"title,source,collected,method"']
    offers = book["offers"]
    assert [c.value for c in offers[1]] == ["service_id", "level", "focus", "interventions"]
    formulas = [dv.formula1 for dv in offers.data_validations.dataValidation]
    assert '"universal,targeted,statutory,specialist"' in formulas
    # The blank template is not a dataset: loading it would replace the graph with nothing.
    with pytest.raises(InputError) as caught:
        read_dataset_bytes("template.xlsx", data)
    assert [p.reason for p in caught.value.problems] == ["no services: the dataset is empty"]


def test_template_filled_with_the_hand_rows_loads(tmp_path: Path, hand_store):
    book = openpyxl.load_workbook(io.BytesIO(template_workbook()))
    filled = openpyxl.load_workbook(io.BytesIO(export_dataset(hand_store, "xlsx")))
    for sheet in filled.sheetnames:
        for row in filled[sheet].iter_rows(min_row=2, values_only=True):
            book[sheet].append(row)
    book.save(tmp_path / "filled.xlsx")
    store = load_into(tmp_path / "filled.lbug", tmp_path / "filled.xlsx")
    assert analysis.gaps(store) == analysis.gaps(hand_store)
    assert read_dataset(tmp_path / "filled.xlsx").name == "filled"
    store.close()
