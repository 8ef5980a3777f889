"""One local authority (``--area``) at national scale: computed, against cut out of the kept
whole-country answer (nestmap/answers/slices.py).

    python benchmarks/area_slices.py                   # 400 / 50,000 / 1,000,000 (loads it)
    python benchmarks/area_slices.py --db GRAPH.lbug   # a graph already loaded (copied first)
    python benchmarks/area_slices.py --scale 0.1 --runs 3

Each figure is a whole process, ``nestmap X --area CODE --format json > file``, timed from start
to exit with its peak RSS (``os.wait4``), the median of ``--runs`` runs, each for another LA (so
that none is a copy of an answer kept by an earlier run):

- computed: nothing kept (``GRAPH.results/`` emptied before each run): the engine answers;
- sliced: the whole-country answers and the facts slicing needs kept (as after the warm-up that
  follows a load): the LA is cut out of them (concentration: summed from the kept links).

It also says whether a slice imported the graph engine or pandas (``python -X importtime``).
The machine's load average is printed: other work on a 2-CPU machine shows in these figures.
Nothing is asserted: the figures are for reading.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cli_national  # noqa: E402 - running a whole process and timing it
import national  # noqa: E402 - the dataset generation and machine description

from nestmap.answers.keep import shelf_root  # noqa: E402

ANALYSES = ("gaps", "misdirected", "boundaries", "pathways", "need", "age-bands", "concentration")
TARGET_S = 0.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="a loaded graph to use (a copy of it)")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 400 / 50,000 / 1,000,000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5, help="LAs timed per figure (median)")
    parser.add_argument("--data", type=Path, default=HERE / "data", help="where datasets live")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="nestmap-area-bench-"))
    loads = [os.getloadavg()[0]]
    try:
        db = work / "graph.lbug"
        if args.db is not None:
            shutil.copyfile(args.db, db)  # a new file: a new dataset version, nothing kept
        else:
            sizes = {key: max(1, round(value * args.scale)) for key, value in national.FULL.items()}
            dataset, _generated = national._dataset(args.data, sizes, args.seed)
            print("loading ...", file=sys.stderr)
            cli_national._run(
                cli_national._nestmap("load", str(dataset), "--db", str(db)), work / "load.out"
            )
        codes = _local_authorities(db, work)
        step = max(1, len(codes) // (2 * args.runs + 1))
        computed_las = codes[step::step][: args.runs]
        sliced_las = codes[step // 2 + 1 :: step][: args.runs]
        results = shelf_root(db, ".results")
        figures: dict[str, dict[str, Any]] = {}
        for name in ANALYSES:
            print(f"{name}: computed ...", file=sys.stderr)
            runs = []
            for code in computed_las:
                shutil.rmtree(results, ignore_errors=True)
                runs.append(_one(name, db, code, work))
            figures[name] = {"computed": runs}
        loads.append(os.getloadavg()[0])
        shutil.rmtree(results, ignore_errors=True)
        for name in ANALYSES:  # the whole country kept, as the warm-up leaves it
            cli_national._run(
                cli_national._nestmap(name, "--db", str(db), "--format", "json"),
                work / "whole.json",
            )
        _keep_slice_facts(db)
        for name in ANALYSES:
            print(f"{name}: sliced ...", file=sys.stderr)
            figures[name]["sliced"] = [_one(name, db, code, work) for code in sliced_las]
        loads.append(os.getloadavg()[0])
        imported = _heavy_imports(db, codes[0])
        loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(_report(figures, loads, imported, len(codes), args.runs))


def _local_authorities(db: Path, work: Path) -> list[str]:
    out = work / "codes.csv"
    query = "MATCH (a:Area {kind: 'local_authority'}) RETURN a.code AS code ORDER BY code"
    command = cli_national._nestmap(
        "query", query, "--db", str(db), "--format", "csv", "--limit", "100000"
    )
    cli_national._run(command, out)
    with open(out, encoding="utf-8", newline="") as handle:
        return [row["code"] for row in csv.DictReader(handle)]


def _one(name: str, db: Path, code: str, work: Path) -> dict[str, Any]:
    command = cli_national._nestmap(name, "--db", str(db), "--area", code, "--format", "json")
    return cli_national._run(command, work / f"{name}-{code}.json")


def _keep_slice_facts(db: Path) -> None:
    """As the warm-up after a load does: which services cover each LA and the relationship
    referral links, kept beside the results."""
    script = (
        "import sys; from nestmap.graph import open_store; "
        "from nestmap.answers.slices import keep_slice_facts; "
        "store = open_store(sys.argv[1]); keep_slice_facts(store); store.close()"
    )
    subprocess.run([sys.executable, "-c", script, str(db)], check=True)


def _heavy_imports(db: Path, code: str) -> list[str]:
    """The heavy modules a slice imports (it should import neither)."""
    command = [sys.executable, "-X", "importtime", "-m", "nestmap.cli", "gaps", "--db", str(db)]
    done = subprocess.run(
        [*command, "--area", code, "--format", "json"], capture_output=True, text=True, check=True
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    return [name for name in ("ladybug", "pandas") if name in modules]


def _report(
    figures: dict[str, dict[str, Any]], loads: list[float], imported: list[str], las: int, runs: int
) -> str:
    machine = national._machine()
    lines = [
        f"--area at {las} LAs: median of {runs} LAs per figure, whole process, "
        "`nestmap X --area CODE --format json > file`",
        f"machine: {machine['cpus']} CPUs, Python {machine['python']}, "
        f"pyarrow {machine['pyarrow']}; "
        f"load average {', '.join(f'{value:.1f}' for value in loads)} "
        "(start, after computed, after sliced, end)",
        f"a slice imports: {', '.join(imported) if imported else 'neither ladybug nor pandas'}",
        "",
        "each: median wall seconds (median CPU seconds, user + system) and the largest peak RSS",
        "",
        f"{'analysis':<14} {'computed':>24} {'sliced':>24}  target < {TARGET_S} s",
    ]
    for name, timing in figures.items():
        cells = []
        for kind in ("computed", "sliced"):
            seconds = statistics.median(run["s"] for run in timing[kind])
            cpu = statistics.median(run["cpu_s"] for run in timing[kind])
            memory = max(run["rss_mb"] for run in timing[kind])
            cells.append(f"{seconds:.2f} s ({cpu:.2f}) {memory:4.0f} MB")
        sliced = statistics.median(run["s"] for run in timing["sliced"])
        verdict = "met" if sliced < TARGET_S else "NOT met"
        lines.append(f"{name:<14} {cells[0]:>24} {cells[1]:>24}  {verdict}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
