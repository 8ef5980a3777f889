"""The loader: every rule of docs/data-format.md with a bad file each. Each test asserts the
message locates the problem (file, row, column) and that the graph loaded before is unchanged."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from conftest import HAND, load_into

from nestmap import analysis
from nestmap.errors import InputError
from nestmap.graph import open_store
from nestmap.loaders import read_dataset


def rewrite(folder: Path, file: str, edit) -> None:
    """Apply ``edit(rows)`` to a CSV (rows as lists, header first)."""
    path = folder / file
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    edit(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def set_cell(file: str, row: int, column: str, value: str):
    """An edit setting data row ``row`` (file row number, header = 1) of ``column``."""

    def edit(rows):
        rows[row - 1][rows[0].index(column)] = value

    return (file, edit)


def append_row(file: str, values: dict[str, str]):
    def edit(rows):
        rows.append([values.get(column, "") for column in rows[0]])

    return (file, edit)


def add_column(file: str, column: str, row: int, value: str):
    """An edit adding ``column`` (blank in every row) and setting it in row ``row``."""

    def edit(rows):
        for cells in rows:
            cells.append("")
        rows[0][-1] = column
        rows[row - 1][-1] = value

    return (file, edit)


SERVICE = {
    "id": "new",
    "name": "New",
    "sector": "nhs",
    "areas": "E1",
    "stages": "postnatal",
    "threshold": "open",
    "self_referral": "true",
    "assesses_relationship": "false",
    "source": "test",
}

# (edit, expected file, row, column, words in the reason)
CASES = {
    "duplicate area code": (set_cell("areas.csv", 4, "code", "E1"), "areas.csv", 4, "code", "duplicate"),
    "unknown kind": (set_cell("areas.csv", 2, "kind", "county"), "areas.csv", 2, "kind", "must be one of"),
    "unknown parent": (set_cell("areas.csv", 3, "parent_code", "XX"), "areas.csv", 3, "parent_code", "no area"),
    "parent not a region": (set_cell("areas.csv", 4, "parent_code", "E1"), "areas.csv", 4, "parent_code", "region"),
    "negative population": (set_cell("areas.csv", 3, "under2_population", "-4"), "areas.csv", 3, "under2_population", "at least 0"),
    "population not a number": (set_cell("areas.csv", 3, "under2_population", "many"), "areas.csv", 3, "under2_population", "whole number"),
    "births decimal": (set_cell("areas.csv", 3, "births_per_year", "12.5"), "areas.csv", 3, "births_per_year", "whole number"),
    "blank area name": (set_cell("areas.csv", 3, "name", "  "), "areas.csv", 3, "name", "required"),
    "duplicate service id": (set_cell("services.csv", 3, "id", "gp"), "services.csv", 3, "id", "duplicate"),
    "unknown sector": (set_cell("services.csv", 2, "sector", "charity"), "services.csv", 2, "sector", "must be one of"),
    "unknown status": (set_cell("services.csv", 2, "status", "closed"), "services.csv", 2, "status", "must be one of"),
    "unknown area in list": (set_cell("services.csv", 2, "areas", "R1|ZZ"), "services.csv", 2, "areas", "no area"),
    "no areas": (set_cell("services.csv", 2, "areas", ""), "services.csv", 2, "areas", "required"),
    "empty list item": (set_cell("services.csv", 2, "areas", "E1||E2"), "services.csv", 2, "areas", "empty item"),
    "unknown stage": (set_cell("services.csv", 2, "stages", "antenatal|toddler"), "services.csv", 2, "stages", "toddler"),
    "repeated stage": (set_cell("services.csv", 2, "stages", "postnatal|postnatal"), "services.csv", 2, "stages", "twice"),
    "age above 216": (set_cell("services.csv", 2, "max_age_months", "300"), "services.csv", 2, "max_age_months", "between 0 and 216"),
    "min above max": (set_cell("services.csv", 4, "min_age_months", "61"), "services.csv", 4, "min_age_months", "greater than max"),
    "unknown threshold": (set_cell("services.csv", 2, "threshold", "high"), "services.csv", 2, "threshold", "must be one of"),
    "bad boolean": (set_cell("services.csv", 2, "self_referral", "maybe"), "services.csv", 2, "self_referral", "true or false"),
    "blank required boolean": (set_cell("services.csv", 2, "assesses_relationship", ""), "services.csv", 2, "assesses_relationship", "required"),
    "negative capacity": (set_cell("services.csv", 6, "capacity_per_year", "-1"), "services.csv", 6, "capacity_per_year", "at least 0"),
    "bad optional boolean": (set_cell("services.csv", 2, "supports_fathers", "sometimes"), "services.csv", 2, "supports_fathers", "true or false"),
    "missing source": (set_cell("services.csv", 2, "source", ""), "services.csv", 2, "source", "required"),
    "service without offers": (append_row("services.csv", SERVICE), "services.csv", 16, "id", "no row in offers"),
    "offer for unknown service": (set_cell("offers.csv", 2, "service_id", "nobody"), "offers.csv", 2, "service_id", "no service"),
    "unknown level": (set_cell("offers.csv", 2, "level", "tier3"), "offers.csv", 2, "level", "must be one of"),
    "unknown focus": (set_cell("offers.csv", 2, "focus", "focused"), "offers.csv", 2, "focus", "must be one of"),
    "two offers at a level": (append_row("offers.csv", {"service_id": "gp", "level": "universal", "focus": "specialised"}), "offers.csv", 21, "level", "second offer"),
    "referral from unknown service": (set_cell("referrals.csv", 2, "from_service", "ghost"), "referrals.csv", 2, "from_service", "no service"),
    "referral to unknown service": (set_cell("referrals.csv", 3, "to_service", "ghost"), "referrals.csv", 3, "to_service", "no service"),
    "referral to itself": (set_cell("referrals.csv", 2, "to_service", "hv"), "referrals.csv", 2, "to_service", "itself"),
    "unknown reason": (set_cell("referrals.csv", 2, "reason", "love"), "referrals.csv", 2, "reason", "must be one of"),
    "negative count": (set_cell("referrals.csv", 2, "count", "-3"), "referrals.csv", 2, "count", "at least 0"),
    "unknown count basis": (add_column("referrals.csv", "count_basis", 3, "a_year"), "referrals.csv", 3, "count_basis", "must be one of per_year, survey_mentions"),
    "referral without source": (set_cell("referrals.csv", 2, "source", ""), "referrals.csv", 2, "source", "required"),
    "duplicate referral": (append_row("referrals.csv", {"from_service": "hv", "to_service": "pmh", "reason": "parent_infant_relationship", "source": "x"}), "referrals.csv", 19, "reason", "same link"),
    "fte zero": (set_cell("workforce.csv", 2, "fte", "0"), "workforce.csv", 2, "fte", "greater than 0"),
    "aimh level 4": (set_cell("workforce.csv", 2, "aimh_level", "4"), "workforce.csv", 2, "aimh_level", "between 0 and 3"),
    "workforce unknown service": (set_cell("workforce.csv", 2, "service_id", "ghost"), "workforce.csv", 2, "service_id", "no service"),
}  # fmt: skip


@pytest.fixture
def loaded(tmp_path: Path):
    """A graph with the hand-built dataset loaded, and its analyses before any bad load."""
    db = tmp_path / "graph.lbug"
    store = load_into(db, HAND)
    before = snapshot(store)
    yield store, before
    store.close()


def snapshot(store) -> dict:
    return {
        "info": {k: v for k, v in analysis.info(store).items() if k != "location"},
        "gaps": analysis.gaps(store),
        "misdirected": analysis.misdirected(store),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_rule_rejected_with_location_and_graph_kept(case, hand_copy, loaded):
    (file, edit), want_file, want_row, want_column, words = CASES[case]
    rewrite(hand_copy, file, edit)
    store, before = loaded
    with pytest.raises(InputError) as caught:
        store.replace(read_dataset(hand_copy))
    problems = caught.value.problems
    matching = [
        p for p in problems if p.file == want_file and p.row == want_row and p.column == want_column
    ]
    assert matching, f"{case}: got {[str(p) for p in problems]}"
    assert words in matching[0].reason
    assert snapshot(store) == before


def test_all_problems_are_collected_not_just_the_first(hand_copy):
    rewrite(hand_copy, *set_cell("areas.csv", 2, "kind", "county"))
    rewrite(hand_copy, *set_cell("services.csv", 3, "sector", "charity"))
    rewrite(hand_copy, *set_cell("referrals.csv", 4, "count", "lots"))
    with pytest.raises(InputError) as caught:
        read_dataset(hand_copy)
    located = {(p.file, p.row, p.column) for p in caught.value.problems}
    assert {
        ("areas.csv", 2, "kind"),
        ("services.csv", 3, "sector"),
        ("referrals.csv", 4, "count"),
    } <= located


def test_missing_file_and_missing_column(hand_copy):
    (hand_copy / "offers.csv").unlink()
    rewrite(hand_copy, "referrals.csv", lambda rows: [row.pop(3) for row in rows])
    with pytest.raises(InputError) as caught:
        read_dataset(hand_copy)
    located = {(p.file, p.row, p.column, p.reason) for p in caught.value.problems}
    assert ("offers.csv", None, None, "required file is missing") in located
    assert ("referrals.csv", 1, "count", "required column is missing") in located


def test_unknown_extra_column_is_an_error_not_dropped(hand_copy):
    rewrite(hand_copy, "areas.csv", lambda rows: [row.append("x") for row in rows])
    with pytest.raises(InputError) as caught:
        read_dataset(hand_copy)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column) == ("areas.csv", 1, "x")
    assert "unknown column" in problem.reason


def test_workforce_is_optional(hand_copy):
    (hand_copy / "workforce.csv").unlink()
    assert read_dataset(hand_copy).workforce == []


DESCRIPTION = [
    ["field", "value"],
    ["title", "Northwick Partnership"],
    ["collected", "2025"],
    ["method", "the board's mapping guide"],
]


def test_dataset_description_is_optional_kept_and_exported(hand_copy, tmp_path: Path):
    """dataset.csv (optional): a field per row, kept with the graph (nestmap info), written
    back by the exports and through an edit, in the order docs/data-format.md lists."""
    from nestmap.editing import dataset_from_tables, read_tables
    from nestmap.interop import export_dataset

    assert read_dataset(hand_copy).about == {}
    with (hand_copy / "dataset.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(DESCRIPTION)
    store = load_into(tmp_path / "graph.lbug", hand_copy)
    about = analysis.info(store)["about"]
    assert list(about.items()) == [
        ("title", "Northwick Partnership"),
        ("collected", "2025"),
        ("method", "the board's mapping guide"),
    ]
    exported = tmp_path / "export.xlsx"
    exported.write_bytes(export_dataset(store, "xlsx"))
    assert read_dataset(exported).about == about
    assert dataset_from_tables(read_tables(store), "edited", "grid").about == about
    store.close()


@pytest.mark.parametrize(
    "rows, row, column, words",
    [
        ([["field", "value"], ["owner", "x"]], 2, "field", "must be one of"),
        ([["field", "value"], ["title", "a"], ["title", "b"]], 3, "field", "duplicate of row 2"),
        ([["field", "value"], ["source", "  "]], 2, "value", "required"),
        ([["field", "value", "note"], ["title", "a", ""]], 1, "note", "unknown column"),
    ],
)
def test_dataset_description_rules(hand_copy, loaded, rows, row, column, words):
    with (hand_copy / "dataset.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    store, before = loaded
    with pytest.raises(InputError) as caught:
        store.replace(read_dataset(hand_copy))
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column) == ("dataset.csv", row, column)
    assert words in problem.reason
    assert snapshot(store) == before


def test_not_utf8_is_reported(hand_copy):
    path = hand_copy / "areas.csv"
    path.write_bytes(path.read_bytes().replace(b"Eastby", b"East\xe9by"))
    with pytest.raises(InputError) as caught:
        read_dataset(hand_copy)
    assert caught.value.problems[0].file == "areas.csv"
    assert caught.value.problems[0].row == 3
    assert "UTF-8" in caught.value.problems[0].reason


def test_bom_crlf_case_and_whitespace_are_accepted(hand_copy):
    for file in hand_copy.glob("*.csv"):
        text = file.read_text(encoding="utf-8")
        text = text.replace(",yes,", ", YES ,").replace(",false,", ",False,")
        file.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    rewrite(hand_copy, *set_cell("services.csv", 2, "areas", " R1 "))
    original = read_dataset(HAND)
    variant = read_dataset(hand_copy)
    assert variant.services == original.services
    assert variant.offers == original.offers
    assert variant.referrals == original.referrals
    assert variant.areas == original.areas


def write_workbook(folder: Path, target: Path) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for file in sorted(folder.glob("*.csv")):
        sheet = book.create_sheet(file.stem)
        with file.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                sheet.append([_typed(cell) for cell in row])
    book.save(target)
    return target


def _typed(cell: str):
    """Numbers as numbers, as a spreadsheet user would have them."""
    try:
        return int(cell)
    except ValueError:
        pass
    try:
        return float(cell)
    except ValueError:
        return cell


def test_xlsx_and_csv_give_the_same_graph(tmp_path: Path, hand_store):
    workbook = write_workbook(HAND, tmp_path / "hand.xlsx")
    store = load_into(tmp_path / "xlsx.lbug", workbook)
    for name in ("gaps", "misdirected", "boundaries", "pathways", "concentration", "need"):
        assert getattr(analysis, name)(store) == getattr(analysis, name)(hand_store), name
    info_csv, info_xlsx = analysis.info(hand_store), analysis.info(store)
    assert info_csv["nodes"] == info_xlsx["nodes"] and info_csv["links"] == info_xlsx["links"]
    store.close()


def test_xlsx_problems_name_the_sheet(tmp_path: Path, hand_copy):
    rewrite(hand_copy, *set_cell("offers.csv", 5, "level", "tier3"))
    workbook = write_workbook(hand_copy, tmp_path / "bad.xlsx")
    with pytest.raises(InputError) as caught:
        read_dataset(workbook)
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column) == ("bad.xlsx[offers]", 5, "level")


def test_zip_of_csvs_loads(tmp_path: Path):
    archive = shutil.make_archive(str(tmp_path / "hand"), "zip", HAND)
    dataset = read_dataset(archive)
    assert len(dataset.services) == len(read_dataset(HAND).services)


def test_cli_reports_each_problem_cleanly_with_exit_2(tmp_path: Path, hand_copy):
    rewrite(hand_copy, *set_cell("offers.csv", 2, "level", "tier3"))
    rewrite(hand_copy, *set_cell("referrals.csv", 2, "to_service", "ghost"))
    db = tmp_path / "cli.lbug"
    ok = run_cli("load", str(HAND), "--db", str(db))
    assert ok.returncode == 0, ok.stderr
    bad = run_cli("load", str(hand_copy), "--db", str(db))
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "offers.csv, row 2, column level" in bad.stderr
    assert "referrals.csv, row 2, column to_service" in bad.stderr
    assert "nothing was changed" in bad.stderr
    info = run_cli("info", "--db", str(db), "--format", "json")
    assert '"dataset": "hand"' in info.stdout


def test_cli_missing_path_and_empty_db(tmp_path: Path):
    missing = run_cli("load", str(tmp_path / "nope"), "--db", str(tmp_path / "g.lbug"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    empty = run_cli("gaps", "--db", str(tmp_path / "g.lbug"))
    assert empty.returncode == 2 and "no dataset is loaded" in empty.stderr


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nestmap.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_open_store_defaults_to_env_path(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("NESTMAP_DB", str(tmp_path / "env.lbug"))
    monkeypatch.delenv("NESTMAP_NEO4J_URI", raising=False)
    assert open_store().location == str((tmp_path / "env.lbug").resolve())
