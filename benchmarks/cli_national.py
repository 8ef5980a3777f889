"""Issue 13's benchmark: every analysis as a user runs it, at 400 LAs / 50,000 services /
1,000,000 referral links, beside a pandas script that reads the CSVs and answers the same question.

    python benchmarks/cli_national.py                 # full scale (about 10 minutes on 2 CPUs)
    python benchmarks/cli_national.py --scale 0.1     # 40 / 5,000 / 100,000
    python benchmarks/cli_national.py --repeat 5 --json figures.json

Everything is a whole process, timed from start to exit with its peak RSS (``os.wait4``):
``nestmap load DATASET`` into a fresh graph; then for each analysis, for the whole country and
one ``--area``, ``nestmap X --format json > file`` and ``--format csv > file``. The first run of
each starts with no kept result (``GRAPH.results/`` emptied: what a user's first question after a
load costs); the next ``--repeat`` runs read the kept result (what asking again costs). Beside
them ``benchmarks/pandas_script.py gaps|misdirected`` (reads the CSV files it needs, answers with
benchmarks/pandas_reference.py, writes JSON), whose JSON must parse to nestmap's.

The dataset is generated with ``nestmap synth`` (seed 0) under ``benchmarks/data/`` (git-ignored)
by benchmarks/national.py's own code, and reused. Times are medians with the best and the first
run; the machine's load average is printed, because other work on it shows as a gap between the
median and the best. Nothing is asserted: the figures are for reading.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import national  # noqa: E402 - the dataset generation and machine description

from nestmap.answers import warm  # noqa: E402
from nestmap.answers.keep import shelf_root  # noqa: E402

ANALYSES = ("gaps", "misdirected", "boundaries", "pathways", "concentration", "need", "age-bands")
COMPARED = ("gaps", "misdirected")
FORMATS = ("json", "csv")
TARGETS = {"speedup": 5.0, "area_s": 0.3, "rss_mb": 1024.0, "load_s": 11.0, "load_rss_mb": 2048.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 400 / 50,000 / 1,000,000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs after the first")
    parser.add_argument("--data", type=Path, default=HERE / "data", help="where datasets live")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    sizes = {key: max(1, round(value * args.scale)) for key, value in national.FULL.items()}
    dataset, _generated = national._dataset(args.data, sizes, args.seed)
    area = _middle_area(dataset)
    analyses = [name for name in ANALYSES if name in _commands()]
    work = Path(tempfile.mkdtemp(prefix="nestmap-cli-bench-", dir=args.data))
    loads = [os.getloadavg()[0]]
    # The first runs below measure computing (nothing kept): no background warm-up after the
    # load; _after_load measures the warm-up on its own graph.
    os.environ["NESTMAP_WARM"] = "0"
    try:
        db = work / "graph.lbug"
        print("loading ...", file=sys.stderr)
        load = _run(_nestmap("load", str(dataset), "--db", str(db)), work / "load.out")
        runs: dict[str, Any] = {}
        for name in analyses:
            for scope, where in (("country", []), ("area", ["--area", area])):
                for fmt in FORMATS:
                    print(f"nestmap {name} {scope} {fmt} ...", file=sys.stderr)
                    command = _nestmap(name, "--db", str(db), "--format", fmt, *where)
                    output = work / f"{name}-{scope}.{fmt}"
                    shutil.rmtree(shelf_root(db, ".results"), ignore_errors=True)
                    runs[f"{name} {scope} {fmt}"] = _series(command, output, args.repeat)
        loads.append(os.getloadavg()[0])
        # Before the pandas runs: a child's peak RSS as Linux reports it includes this
        # process's own at the fork, and comparing the JSON answers below makes it large.
        after_load = _after_load(dataset, work, analyses, area)
        pandas: dict[str, Any] = {}
        for name in COMPARED:
            for scope, where in (("country", []), ("area", ["--area", area])):
                print(f"pandas {name} {scope} ...", file=sys.stderr)
                script = [sys.executable, str(HERE / "pandas_script.py"), name, str(dataset)]
                output = work / f"pandas-{name}-{scope}.json"
                timing = _series([*script, *where], output, args.repeat)
                ours = work / f"{name}-{scope}.json"
                timing["same_rows"] = _parsed(output) == _parsed(ours)
                pandas[f"{name} {scope}"] = timing
        loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "sizes": sizes,
        "seed": args.seed,
        "area": area,
        "machine": national._machine(),
        "load_average": loads,
        "repeat": args.repeat,
        "load": load,
        "runs": runs,
        "pandas": pandas,
        "after_load": after_load,
    }
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def _after_load(dataset: Path, work: Path, analyses: list[str], area: str) -> dict[str, Any]:
    """What a user gets right after ``nestmap load``, with the background warm-up on: each
    analysis asked at once, one after the other (the warm-up is computing the same answers
    meanwhile); when the warm-up is done, one ``--area`` of each (the whole country kept)."""
    env = {**os.environ, "NESTMAP_WARM": "1"}
    db = work / "after-load.lbug"
    print("load with the warm-up on ...", file=sys.stderr)
    load = _run(_nestmap("load", str(dataset), "--db", str(db)), work / "after-load.out", env)
    loaded = time.perf_counter()
    found: dict[str, Any] = {"load": load, "right_after": {}, "area_after_warm": {}}
    for name in analyses:
        command = _nestmap(name, "--db", str(db), "--format", "json")
        found["right_after"][name] = _run(command, work / "after.json", env)
    done = warm.done_path(db)
    while not done.is_file() and time.perf_counter() - loaded < 900:
        time.sleep(0.1)
    found["warm_s"] = time.perf_counter() - loaded
    for name in analyses:
        command = _nestmap(name, "--db", str(db), "--format", "json", "--area", area)
        found["area_after_warm"][name] = _run(command, work / "after-area.json", env)
    return found


def _commands() -> set[str]:
    from nestmap.cli import app

    return set(app.commands)


# As national.py runs its processes (area_slices.py uses them through this module too).
_nestmap = national._nestmap
_run = national._run
_middle_area = national._middle_area
_parsed = national._parsed
_met = national._met


def _series(command: list[str], output: Path, repeat: int) -> dict[str, Any]:
    first = _run(command, output)
    again = [_run(command, output) for _ in range(repeat)]
    times = [run["s"] for run in again] or [first["s"]]
    cpu = [run["cpu_s"] for run in again] or [first["cpu_s"]]
    return {
        "first_s": first["s"],
        "first_cpu_s": first["cpu_s"],
        "median_cpu_s": statistics.median(cpu),
        "first_rss_mb": first["rss_mb"],
        "median_s": statistics.median(times),
        "best_s": min(times),
        "rss_mb": max(run["rss_mb"] for run in [first, *again]),
        "bytes": first["bytes"],
    }


# -- the table ------------------------------------------------------------------------------
def _cell(timing: dict[str, Any]) -> str:
    return (
        f"{timing['median_s']:.2f} / {timing['best_s']:.2f} / {timing['first_s']:.2f} s "
        f"(cpu {timing['median_cpu_s']:.2f} / {timing['first_cpu_s']:.2f}) "
        f"{timing['rss_mb']:,.0f} MB"
    )


def report(results: dict[str, Any]) -> str:
    sizes, machine, runs, pandas = (
        results["sizes"],
        results["machine"],
        results["runs"],
        results["pandas"],
    )
    load, area = results["load"], results["area"]
    names = sorted({key.split()[0] for key in runs}, key=ANALYSES.index)
    loads = ", ".join(f"{value:.1f}" for value in results["load_average"])
    lines = [
        f"nestmap as a user runs it: {sizes['areas']:,} LAs / {sizes['services']:,} services / "
        f"{sizes['links']:,} referral links (seed {results['seed']}); --area {area}",
        f"machine: {machine['cpus']} CPUs, {machine['system']}, Python {machine['python']}, "
        f"ladybug {machine['ladybug']}, pyarrow {machine['pyarrow']}, pandas {machine['pandas']}; "
        f"load average {loads} (start, after nestmap, end)",
        "",
        f"load with validation (nestmap load): {load['s']:.1f} s (cpu {load['cpu_s']:.1f} s), "
        f"peak {load['rss_mb']:,.0f} MB  "
        f"[target <= ~{TARGETS['load_s']:.0f} s on a quiet machine: "
        f"{_met(load['s'] <= TARGETS['load_s'])}; < {TARGETS['load_rss_mb']:,.0f} MB: "
        f"{_met(load['rss_mb'] < TARGETS['load_rss_mb'])}]",
        "",
        f"each cell: wall seconds median / best of {results['repeat']} repeat runs (answer kept) "
        "/ first run (nothing kept: computed), (CPU seconds of the process: median repeat / "
        "first), peak RSS of all runs",
    ]
    for scope, label in (("country", "whole country"), ("area", f"--area {area}")):
        lines.append(f"{label:<15}{'--format json':<48}{'--format csv':<48}")
        for name in names:
            cells = [runs[f"{name} {scope} {fmt}"] for fmt in FORMATS]
            lines.append(f"{name:<15}" + "".join(f"{_cell(cell):<48}" for cell in cells))
    lines.append("")
    lines.append(
        f"{'pandas script':<15}{'whole country (reads CSVs, writes JSON)':<48}"
        f"{f'--area {area}':<48}{'same rows':>10}"
    )
    for name in COMPARED:
        country, local = pandas[f"{name} country"], pandas[f"{name} area"]
        same = "yes" if country["same_rows"] and local["same_rows"] else "NO"
        lines.append(f"{name:<15}{_cell(country):<48}{_cell(local):<48}{same:>10}")

    # The targets, on the repeat runs (median) and on a first question after a load.
    pandas_gaps = pandas["gaps country"]["median_s"]
    lines += ["", "targets (repeat runs: median | first run after a load)"]
    for name in COMPARED:
        theirs = pandas[f"{name} country"]["median_s"]
        ours = runs[f"{name} country json"]
        warm, cold = theirs / ours["median_s"], theirs / ours["first_s"]
        lines.append(
            f"  {name} --format json >= {TARGETS['speedup']:.0f}x faster than pandas end to end: "
            f"{warm:.1f}x {_met(warm >= TARGETS['speedup'])} | {cold:.1f}x "
            f"{_met(cold >= TARGETS['speedup'])}"
        )
    country = {key: value for key, value in runs.items() if " country " in key}
    slowest = max(country, key=lambda key: country[key]["median_s"])
    slowest_first = max(country, key=lambda key: country[key]["first_s"])
    lines.append(
        f"  every analysis (country, json and csv) before pandas has answered gaps "
        f"({pandas_gaps:.2f} s): slowest {slowest} {country[slowest]['median_s']:.2f} s "
        f"{_met(country[slowest]['median_s'] < pandas_gaps)} | {slowest_first} "
        f"{country[slowest_first]['first_s']:.2f} s "
        f"{_met(country[slowest_first]['first_s'] < pandas_gaps)}"
    )
    local = {key: value for key, value in runs.items() if " area " in key}
    worst = max(local, key=lambda key: local[key]["median_s"])
    worst_first = max(local, key=lambda key: local[key]["first_s"])
    lines.append(
        f"  one LA (--area) under {TARGETS['area_s']} s: slowest {worst} "
        f"{local[worst]['median_s']:.2f} s {_met(local[worst]['median_s'] < TARGETS['area_s'])}"
        f" | {worst_first} {local[worst_first]['first_s']:.2f} s "
        f"{_met(local[worst_first]['first_s'] < TARGETS['area_s'])}"
    )
    worst_cpu = max(local, key=lambda key: local[key]["median_cpu_s"])
    lines.append(
        f"    (CPU time, what a quiet machine's wall time approaches: slowest {worst_cpu} "
        f"{local[worst_cpu]['median_cpu_s']:.2f} s "
        f"{_met(local[worst_cpu]['median_cpu_s'] < TARGETS['area_s'])})"
    )
    after = results.get("after_load")
    if after:
        lines += [
            "",
            f"right after `nestmap load` ({after['load']['s']:.1f} s) with the background warm-up "
            f"on (it kept every answer {after['warm_s']:.1f} s after the load ended), each asked "
            "once in turn, --format json, wall seconds / peak RSS:",
        ]
        for name, run in after["right_after"].items():
            local = after["area_after_warm"][name]
            lines.append(
                f"  {name:<15} whole country right after the load {run['s']:.2f} s "
                f"{run['rss_mb']:,.0f} MB; --area {area} after the warm-up {local['s']:.2f} s "
                f"{_met(local['s'] < TARGETS['area_s'])}"
            )
    biggest = max(runs, key=lambda key: runs[key]["rss_mb"])
    lines.append(
        f"  peak memory under {TARGETS['rss_mb']:,.0f} MB for every analysis command: largest "
        f"{biggest} {runs[biggest]['rss_mb']:,.0f} MB "
        f"{_met(runs[biggest]['rss_mb'] < TARGETS['rss_mb'])}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
