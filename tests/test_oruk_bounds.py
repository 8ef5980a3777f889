"""The Open Referral reader within bounds: anyone who can open the dashboard may hand it a
directory ("Map an ORUK directory" needs no editor grant), so zip and JSON bombs are refused
early, naming the bound, in bounded memory (measured as the peak RSS of a fresh process; the
bound asserted is generous: the process itself takes about 60 MB, and before the bounds the
8 KB zip took 3.3 GB)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import oruk_data_page

from nestmap.errors import InputError
from nestmap.interop.oruk import import_oruk
from nestmap.loaders import limits

PEAK_MB = 400  # generous: a refused bomb peaks at about 60 MB
PROBE = """
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a regression fails, not the machine
from nestmap.errors import InputError
from nestmap.interop.oruk import import_oruk
try:
    import_oruk(Path(sys.argv[1]), Path(sys.argv[2]))
    reasons = []
except InputError as exc:
    reasons = [str(p) for p in exc.problems]
# VmHWM: this process's own peak (ru_maxrss also counts the parent's size at fork time).
try:
    status = Path("/proc/self/status").read_text()
    peak = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1]) // 1024
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"reasons": reasons, "peak_mb": peak}))
"""


def _probe(source: Path, out: Path) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(source), str(out)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def _zip_of_rows(path: Path, rows: int, row: bytes = b"x,\n", method=zipfile.ZIP_DEFLATED) -> Path:
    """A zip whose services.csv holds ``rows`` two-field rows, written without holding them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method, compresslevel=9 if method else None) as archive:
        with archive.open("services.csv", "w") as member:
            member.write(b"id,name\n")
            block = row * 65_536
            for _ in range(rows // 65_536):
                member.write(block)
            member.write(row * (rows % 65_536))
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.parametrize(("rows", "at_most_kb"), [(2_097_152, 8), (8_388_608, 33)])
def test_a_zip_of_millions_of_rows_is_refused_at_the_row_bound(tmp_path, rows, at_most_kb):
    bomb = _zip_of_rows(tmp_path / "bomb.zip", rows)
    assert bomb.stat().st_size <= at_most_kb * 1024
    found = _probe(bomb, tmp_path / "out")
    assert found["reasons"] == [
        f"services.csv, row {limits.MAX_DIRECTORY_SERVICES + 2}: more than "
        f"{limits.MAX_DIRECTORY_SERVICES:,} rows; reading stopped here"
    ]
    assert found["peak_mb"] < PEAK_MB
    assert not (tmp_path / "out").exists()
    out = tmp_path / "cli-out"
    run = subprocess.run(
        [sys.executable, "-m", "nestmap.cli", "import", "oruk", str(bomb), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "more than 50,000 rows" in run.stderr
    assert "Traceback" not in run.stderr and not out.exists()


def test_a_json_list_of_empty_objects_is_refused_before_parsing(tmp_path):
    bomb = tmp_path / "bomb.json"
    count = 32 * 1024 * 1024 // 3
    with bomb.open("wb") as handle:
        handle.write(b"[")
        handle.write(b"{}," * (count - 1))
        handle.write(b"{}]")
    found = _probe(bomb, tmp_path / "out")
    assert found["reasons"] == [
        f"bomb.json: holds more than 1,000,000 JSON objects and lists ({count + 1:,} brackets); "
        "reading stopped before parsing"
    ]
    assert found["peak_mb"] < PEAK_MB


def test_a_json_list_of_small_values_is_refused_before_parsing(tmp_path):
    bomb = tmp_path / "numbers.json"
    bomb.write_bytes(b'{"contents": [' + b"1.5," * 5_000_000 + b"1.5]}")
    with pytest.raises(InputError) as caught:
        import_oruk(bomb, tmp_path / "out")
    assert "holds more than 4,000,000 JSON values" in caught.value.problems[0].reason


def test_a_zip_inflating_too_far_is_refused_by_its_ratio(tmp_path):
    # Long identical rows: the member inflates ~1,000 times its compressed size, and passes
    # 200 times it long before the row bound.
    bomb = _zip_of_rows(tmp_path / "wide.zip", 20_000, row=b"a" * 1000 + b",b\n")
    with pytest.raises(InputError) as caught:
        import_oruk(bomb, tmp_path / "out")
    (problem,) = caught.value.problems
    assert problem.file == "services.csv"
    assert f"inflates to more than {limits.MAX_INFLATE_RATIO} times" in problem.reason


def test_a_stored_zip_is_held_to_the_row_bound_too(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_DIRECTORY_SERVICES", 10)
    bomb = _zip_of_rows(tmp_path / "stored.zip", 11, row=b"s,name\n", method=zipfile.ZIP_STORED)
    with pytest.raises(InputError) as caught:
        import_oruk(bomb, tmp_path / "out")
    assert [str(p) for p in caught.value.problems] == [
        "services.csv, row 12: more than 10 rows; reading stopped here"
    ]


def test_other_tables_and_the_companion_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_DIRECTORY_ROWS", 2)
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "services.csv").write_text("id,name\ns1,One\n", encoding="utf-8")
    (folder / "service_areas.csv").write_text(
        "id,service_id,service_area\na1,s1,W06000013\na2,s1,W06000024\na3,s1,W06000016\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        import_oruk(folder, tmp_path / "out")
    assert [str(p) for p in caught.value.problems] == [
        "service_areas.csv, row 4: more than 2 rows; reading stopped here"
    ]
    (folder / "service_areas.csv").unlink()
    monkeypatch.setattr(limits, "MAX_DIRECTORY_SERVICES", 1)
    companion = tmp_path / "extra.csv"
    companion.write_text("oruk_service_id,sector\ns1,nhs\ns2,nhs\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_oruk(folder, tmp_path / "out", companion)
    assert "more than 1 rows" in caught.value.problems[0].reason


def test_json_services_cells_and_size_are_bounded(tmp_path, monkeypatch):
    page = tmp_path / "page.json"
    page.write_text(
        json.dumps({"contents": [{"id": str(n), "name": f"S{n}", "status": "active"}
                                 for n in range(4)]}),
        encoding="utf-8",
    )  # fmt: skip
    monkeypatch.setattr(limits, "MAX_DIRECTORY_SERVICES", 3)
    with pytest.raises(InputError) as caught:
        import_oruk(page, tmp_path / "out")
    assert caught.value.problems[0].reason == (
        "more than 3 services; reading stopped at contents[3]"
    )
    monkeypatch.setattr(limits, "MAX_DIRECTORY_JSON_BYTES", 100)
    with pytest.raises(InputError) as caught:
        import_oruk(page, tmp_path / "out")
    assert caught.value.problems[0].reason == "larger than 100 bytes"


def test_csv_cells_and_columns_keep_the_loaders_bounds(tmp_path):
    folder = tmp_path / "dir"
    folder.mkdir()
    long_name = "n" * (limits.MAX_CELL_CHARS + 1)
    (folder / "services.csv").write_text(f"id,name\ns1,{long_name}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_oruk(folder, tmp_path / "out")
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (2, "name") and "at most 32,767" in problem.reason
    header = ",".join(f"c{n}" for n in range(limits.MAX_CELLS_PER_ROW + 1))
    (folder / "services.csv").write_text(f"id,name,{header}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_oruk(folder, tmp_path / "out")
    assert "more than 100 columns in the header" in caught.value.problems[0].reason


def test_a_blank_line_bomb_counts_against_the_row_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_DIRECTORY_SERVICES", 5)
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "services.csv").write_text("id,name\n" + "\n" * 10, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_oruk(folder, tmp_path / "out")
    assert "more than 5 rows" in caught.value.problems[0].reason


def test_the_data_page_refuses_the_zip_bomb_plainly(seed_store, monkeypatch, tmp_path):
    """A visitor (no editor grant) uploading the 8 KB zip is told the bound, not a traceback."""
    bomb = _zip_of_rows(tmp_path / "bomb.zip", 2_097_152).read_bytes()
    app = oruk_data_page(monkeypatch, seed_store.location)
    app.file_uploader(key="oruk_upload").set_value(("bomb.zip", bomb, "application/zip"))
    app.run()
    app.button(key="oruk_run").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert len(app.error) == 1 and "Nothing was mapped" in app.error[0].value
    problems = next(f.value for f in app.dataframe if {"file", "reason"} <= set(f.value.columns))
    assert list(problems["reason"]) == ["more than 50,000 rows; reading stopped here"]
