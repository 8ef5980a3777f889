"""The pandas yardstick as a user would run it: one process that reads the dataset's CSV files,
answers ``gaps`` or ``misdirected`` with the reference implementations in pandas_reference.py and
writes the rows as JSON (one document, Python's C encoder) or CSV (lists ``|``-joined).

    python benchmarks/pandas_script.py gaps DATASET_FOLDER [--area CODE] [--format json|csv] > out

benchmarks/cli_national.py times it as a whole process beside ``nestmap gaps --format json``.
Only the files an analysis needs are read (gaps needs no referrals), so that pandas is not
charged for reading what it does not use.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pandas_reference as reference  # noqa: E402

NEEDS = {
    "gaps": ("areas", "services", "offers"),
    "misdirected": ("areas", "services", "offers", "referrals"),
}


def read(folder: Path, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """The named CSV files as stripped text, as pandas_reference.read_tables reads them."""
    tables = {}
    for name in names:
        frame = pd.read_csv(
            folder / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
        frame.columns = [column.strip() for column in frame.columns]
        tables[name] = frame.apply(lambda column: column.str.strip())
    return tables


def cell(value: object) -> object:
    if isinstance(value, list):
        return "|".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("analysis", choices=sorted(NEEDS))
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--area", default=None)
    parser.add_argument("--format", choices=("json", "csv"), default="json")
    args = parser.parse_args()
    tables = read(args.dataset, NEEDS[args.analysis])
    rows = getattr(reference, args.analysis)(tables, args.area)
    out = sys.stdout
    if args.format == "json":
        json.dump(rows, out, ensure_ascii=False)
        out.write("\n")
        return
    writer = csv.writer(out, lineterminator="\n")
    columns = list(rows[0]) if rows else []
    writer.writerow(columns)
    writer.writerows([cell(row[column]) for column in columns] for row in rows)


if __name__ == "__main__":
    main()
