"""How long `nestmap report` takes, and how large the report is, on the seed region and at
national scale (400 LAs / 50,000 services / 1,000,000 referral links).

    python benchmarks/report.py                  # seed region + national (about 5 minutes)
    python benchmarks/report.py --scale 0.1      # national at 40 / 5,000 / 100,000
    python benchmarks/report.py --no-pdf         # HTML only
    python benchmarks/report.py --db national.lbug  # an already loaded national graph

The national dataset is generated with ``nestmap synth`` (seed 0) under ``--data`` (default
``benchmarks/data/``, git-ignored; shared with benchmarks/national.py) and loaded into a
scratch graph. Each report is written by the real command (``nestmap report``, a fresh process)
so the time includes starting Python, the analyses, rendering and, for the PDF, Chromium's
two printing passes. It prints the seed report's contents and one table: dataset, format,
seconds, size and pages. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FULL = {"areas": 400, "services": 50_000, "links": 1_000_000}


def nestmap(*arguments: str) -> None:
    command = [sys.executable, "-m", "nestmap.cli", *arguments]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def timed_report(db: Path, out: Path, *options: str) -> float:
    started = time.perf_counter()
    nestmap("report", str(out), "--db", str(db), *options)
    return time.perf_counter() - started


def pages(pdf: Path) -> int | None:
    if shutil.which("pdfinfo") is None:
        return None
    done = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=False)
    found = re.search(r"Pages:\s+(\d+)", done.stdout)
    return int(found.group(1)) if found else None


def contents(pdf: Path) -> list[str]:
    """The contents page's entries as printed (title and page number)."""
    if shutil.which("pdftotext") is None:
        return []
    done = subprocess.run(
        ["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = done.stdout.split("Contents", 1)[-1].splitlines()
    entries = [line.strip() for line in lines if re.search(r"\d$", line)]
    return [
        re.sub(r"\s{2,}", " … ", line) for line in entries if not re.fullmatch(r"\d+ / \d+", line)
    ]


def national_dataset(root: Path, scale: float, seed: int) -> Path:
    from nestmap.synth import generate

    sizes = {key: max(1, round(value * scale)) for key, value in FULL.items()}
    folder = root / f"national-{sizes['areas']}-{sizes['services']}-{sizes['links']}-seed{seed}"
    stamp = folder / "synth.json"
    wanted = {**sizes, "seed": seed}
    if stamp.is_file() and json.loads(stamp.read_text()).get("arguments") == wanted:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"generating {folder} ...", file=sys.stderr)
    counts = generate(folder, sizes["areas"], sizes["services"], sizes["links"], seed)
    stamp.write_text(json.dumps({"arguments": wanted, "counts": counts}, indent=2))
    return folder


def measure(name: str, db: Path, work: Path, pdf: bool, options: list[str]) -> list[dict]:
    rows = []
    for suffix in (".html", ".pdf") if pdf else (".html",):
        out = work / f"{name}{suffix}"
        print(f"report {name}{suffix} ...", file=sys.stderr)
        seconds = timed_report(db, out, *options)
        rows.append(
            {
                "dataset": name,
                "format": suffix[1:],
                "seconds": round(seconds, 1),
                "size_kb": round(out.stat().st_size / 1024),
                "pages": pages(out) if suffix == ".pdf" else None,
                "file": out,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 400 / 50,000 / 1,000,000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=HERE / "data", help="where datasets live")
    parser.add_argument("--db", type=Path, help="an already loaded national graph to use")
    parser.add_argument("--no-pdf", action="store_true", help="time the HTML report only")
    parser.add_argument("--no-national", action="store_true", help="the seed region only")
    args = parser.parse_args()
    from nestmap.cli import seed_path
    from nestmap.scenarios import bundled_scenarios

    args.data.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="nestmap-report-bench-", dir=args.data))
    rows = []
    try:
        seed_db = work / "seed.lbug"
        nestmap("load", str(seed_path()), "--db", str(seed_db))
        options = [part for path in bundled_scenarios() for part in ("--scenario", str(path))]
        rows += measure("seed region + 3 options", seed_db, work, not args.no_pdf, options)
        rows += measure("seed region, one LA", seed_db, work, not args.no_pdf,
                        ["--area", "W06000024"])  # fmt: skip
        if not args.no_pdf:
            print("Contents of the seed region's report (PDF):")
            for line in contents(rows[1]["file"]):
                print(f"  {line}")
        if not args.no_national:
            db = args.db
            if db is None:
                folder = national_dataset(args.data, args.scale, args.seed)
                db = work / "national.lbug"
                print(f"loading {folder} ...", file=sys.stderr)
                nestmap("load", str(folder), "--db", str(db), "--keep", "0")
            rows += measure("national", db, work, not args.no_pdf, [])
            rows += measure("national, one LA", db, work, not args.no_pdf,
                            ["--area", "X06000001"])  # fmt: skip
    finally:
        header = f"{'dataset':<26} {'format':<6} {'seconds':>8} {'size (KB)':>10} {'pages':>6}"
        print(header)
        print("-" * len(header))
        for row in rows:
            print(
                f"{row['dataset']:<26} {row['format']:<6} {row['seconds']:>8.1f} "
                f"{row['size_kb']:>10,} {row['pages'] if row['pages'] is not None else '':>6}"
            )
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
