"""Time `nestmap import oruk` on a directory of thousands of services and print the seconds.

Usage: python benchmarks/oruk_import.py [--services 4089] [--repeat 3]

No public HSDS directory of that size is vendored, so the real ones are scaled up: the
Illinois legal-aid directory (HSDS 1.x CSVs, 429 services, tests/data/oruk/hsds1-ilao) and a
Buckinghamshire Outpost API page (20 services, tests/data/oruk/outpost) are repeated with new
ids until there are --services of them, each service given two ONS codes in its service areas
so that the geography lookup runs too. The issue's target: under 2 s for 4,089 services.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from nestmap.interop.oruk import import_oruk

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "oruk"
CODES = ["E06000022", "E06000030", "E06000054", "W11000030", "E07000150"]


def csv_directory(folder: Path, count: int) -> None:
    source = DATA / "hsds1-ilao"
    folder.mkdir()
    shutil.copy(source / "organizations.csv", folder / "organizations.csv")
    with (source / "services.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = [row for row in reader if row["id"].strip()]
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    areas = io.StringIO()
    areas.write("id,service_id,service_area,description,extent,extent_type,uri\n")
    for n in range(count):
        row = dict(rows[n % len(rows)])
        row["id"] = f"{row['id']}-{n}"
        writer.writerow(row)
        for k in range(2):
            areas.write(f"a{n}-{k},{row['id']},{CODES[(n + k) % len(CODES)]},,,,\n")
    (folder / "services.csv").write_text(out.getvalue(), encoding="utf-8")
    (folder / "service_areas.csv").write_text(areas.getvalue(), encoding="utf-8")


def json_page(path: Path, count: int) -> None:
    page = json.loads((DATA / "outpost" / "services.json").read_text(encoding="utf-8"))
    items = page["content"]
    content = []
    for n in range(count):
        item = dict(items[n % len(items)])
        item["id"] = f"{item['id']}-{n}"
        item["service_areas"] = [CODES[n % len(CODES)], CODES[(n + 1) % len(CODES)]]
        content.append(item)
    page.update(content=content, totalElements=count, size=count, totalPages=1)
    path.write_text(json.dumps(page), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=4089)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        csv_directory(root / "csv", args.services)
        json_page(root / "page.json", args.services)
        print(f"{'source':<34} {'services':>8} {'best s':>7} {'median s':>9}")
        for label, source in (("HSDS 1.x CSV folder (ILAO x)", root / "csv"),
                              ("Outpost API page (Bucks x)", root / "page.json")):  # fmt: skip
            times = []
            for attempt in range(args.repeat):
                out = root / f"out-{label[:4]}-{attempt}"
                started = time.perf_counter()
                result = import_oruk(source, out)
                times.append(time.perf_counter() - started)
            best, median = min(times), statistics.median(times)
            print(f"{label:<34} {result.services:>8,} {best:>7.2f} {median:>9.2f}")


if __name__ == "__main__":
    main()
