"""The national-scale benchmark of issue 7: 400 LAs / 50,000 services / 1,000,000 referral links.

    python benchmarks/national.py                 # full scale (about 5 minutes)
    python benchmarks/national.py --scale 0.1     # 40 / 5,000 / 100,000
    python benchmarks/national.py --check-all     # also check every analysis's rows

It generates the dataset with ``nestmap.synth`` (seed 0) under ``benchmarks/data/`` (git-ignored)
and reuses it on later runs; times ``nestmap load`` (validate + build) and every analysis of
SPEC.md section 3, for the whole country and for one ``--area``, each phase in its own process
so that its peak RSS is its own; times the straightforward pandas implementation of ``gaps`` and
``misdirected`` (benchmarks/pandas_reference.py) on the same CSV files, checks that it gives the
same rows as nestmap and prints the ratio. Analysis times are the median of ``--repeat`` runs
after a first (cold) run; the best run and the first are shown too (other work on the machine
shows as a gap between median and best). Nothing is asserted: the figures are for reading.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FULL = {"areas": 400, "services": 50_000, "links": 1_000_000}
ANALYSES = (
    "gaps",
    "misdirected",
    "boundaries",
    "pathways",
    "concentration",
    "need",
    "age_bands",
)
COMPARED = ("gaps", "misdirected")
TARGETS = {"load_s": 60.0, "rss_mb": 2048.0, "analysis_s": 1.0, "pathways_s": 5.0}


# -- the parent: data, the three measured processes, the table ------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 400 / 50,000 / 1,000,000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after the first")
    parser.add_argument("--data", type=Path, default=HERE / "data", help="where datasets live")
    parser.add_argument(
        "--check-all", action="store_true", help="compare every analysis with the references"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.repeat, args.check_all)
        return

    sizes = {key: max(1, round(value * args.scale)) for key, value in FULL.items()}
    dataset, generated = _dataset(args.data, sizes, args.seed)
    work = Path(tempfile.mkdtemp(prefix="nestmap-bench-", dir=args.data))
    try:
        db = work / "graph.lbug"
        load = _measure(["load", str(dataset), str(db)], args)
        runs = _measure(["analyses", str(db)], args)
        pandas = _measure(["pandas", str(dataset), str(db), runs["area"]], args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "sizes": sizes,
        "seed": args.seed,
        "dataset": str(dataset),
        "generated_s": generated,
        "counts": json.loads((dataset / "synth.json").read_text())["counts"],
        "machine": _machine(),
        "load": load,
        "analyses": runs,
        "pandas": pandas,
    }
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def _dataset(root: Path, sizes: dict[str, int], seed: int) -> tuple[Path, float | None]:
    """The synthetic dataset for these sizes, generated unless an identical one is there."""
    from nestmap.synth import generate

    folder = root / f"national-{sizes['areas']}-{sizes['services']}-{sizes['links']}-seed{seed}"
    stamp = folder / "synth.json"
    wanted = {**sizes, "seed": seed}
    if stamp.is_file() and json.loads(stamp.read_text()).get("arguments") == wanted:
        return folder, None
    shutil.rmtree(folder, ignore_errors=True)
    print(f"generating {folder} ...", file=sys.stderr)
    started = time.perf_counter()
    counts = generate(folder, sizes["areas"], sizes["services"], sizes["links"], seed)
    elapsed = time.perf_counter() - started
    stamp.write_text(json.dumps({"arguments": wanted, "counts": counts}, indent=2))
    return folder, elapsed


def _measure(child: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Run one phase in a fresh interpreter; it prints its figures as JSON on the last line."""
    print(f"running {child[0]} ...", file=sys.stderr)
    command = [sys.executable, __file__, "--repeat", str(args.repeat), "--child", *child]
    if args.check_all:
        command.append("--check-all")
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _machine() -> dict[str, str]:
    from importlib.metadata import version

    packages = ("ladybug", "pandas", "pyarrow", "numpy")
    return {
        "cpus": str(os.cpu_count()),
        "system": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        **{name: version(name) for name in packages},
    }


# -- the children ---------------------------------------------------------------------------
def _child(argv: list[str], repeat: int, check_all: bool) -> None:
    phase, *rest = argv
    figures = {"load": _load, "analyses": _analyses, "pandas": _pandas}[phase](*rest, repeat)
    if phase == "pandas" and check_all:
        figures["checks"] = _check_all(*rest[:2])
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def _load(dataset: str, db: str, _repeat: int) -> dict[str, Any]:
    """``nestmap load``'s own code path; the progress messages split validation and build."""
    from nestmap.cli import load_dataset_into
    from nestmap.graph import open_store

    marks: list[tuple[str, float]] = []
    store = open_store(Path(db))
    started = time.perf_counter()
    load_dataset_into(store, Path(dataset), lambda step: marks.append((step, time.perf_counter())))
    total = time.perf_counter() - started
    store.close()
    validated = next(at for step, at in marks if step.startswith("writing")) - started
    return {"total_s": total, "validate_s": validated, "build_s": total - validated}


def _analyses(db: str, repeat: int) -> dict[str, Any]:
    from nestmap import analysis
    from nestmap.graph import open_store

    store = open_store(Path(db))
    codes = analysis.local_authority_codes(store)
    area = codes[len(codes) // 2]
    figures: dict[str, Any] = {"area": area, "runs": {}}
    for name in ANALYSES:
        function = getattr(analysis, name)
        figures["runs"][name] = {
            "country": _timed(lambda f=function: f(store), repeat),
            "area": _timed(lambda f=function: f(store, area), repeat),
        }
    store.close()
    return figures


def _timed(run: Callable[[], Any], repeat: int) -> dict[str, Any]:
    started = time.perf_counter()
    rows = run()
    first = time.perf_counter() - started
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return {
        "rows": _count(rows),
        "first_s": first,
        "median_s": statistics.median(times) if times else first,
        "best_s": min(times, default=first),
    }


def _count(rows: Any) -> int:
    return sum(len(part) for part in rows.values()) if isinstance(rows, dict) else len(rows)


def _pandas(dataset: str, db: str, area: str, repeat: int) -> dict[str, Any]:
    """The pandas implementation's times, and whether its rows are nestmap's."""
    sys.path.insert(0, str(HERE))
    import pandas_reference as reference

    from nestmap import analysis
    from nestmap.graph import open_store

    started = time.perf_counter()
    tables = reference.read_tables(dataset)
    figures: dict[str, Any] = {"read_s": time.perf_counter() - started, "runs": {}}
    store = open_store(Path(db))
    for name in COMPARED:
        ours, theirs = getattr(analysis, name), getattr(reference, name)
        figures["runs"][name] = {}
        for scope, where in (("country", None), ("area", area)):
            timing = _timed(lambda t=theirs, w=where: t(tables, w), repeat)
            timing["identical"] = theirs(tables, where) == ours(store, where)
            figures["runs"][name][scope] = timing
    store.close()
    return figures


def _check_all(dataset: str, db: str) -> dict[str, bool]:
    """Every analysis against benchmarks/pandas_reference.py, whole country and two LAs."""
    sys.path.insert(0, str(HERE))
    import pandas_reference as reference

    from nestmap import analysis
    from nestmap.graph import open_store

    tables = reference.read_tables(dataset)
    store = open_store(Path(db))
    codes = analysis.local_authority_codes(store)
    names = ("gaps", "misdirected", "boundary_links", "threshold_cliffs", "pathways")
    names += ("concentration", "need", "age_bands")
    checks = {}
    for name in names:
        for where in (None, codes[0], codes[-1]):
            same = getattr(analysis, name)(store, where) == getattr(reference, name)(tables, where)
            checks[f"{name} {where or 'country'}"] = same
    store.close()
    return checks


# -- the table ------------------------------------------------------------------------------
def _seconds(timing: dict[str, float], places: int = 2) -> str:
    return " / ".join(f"{timing[key]:.{places}f}" for key in ("median_s", "best_s", "first_s"))


def report(results: dict[str, Any]) -> str:
    sizes, counts, machine = results["sizes"], results["counts"], results["machine"]
    load, runs, pandas = results["load"], results["analyses"], results["pandas"]
    area = runs["area"]
    origin = (
        "reused"
        if results["generated_s"] is None
        else f"generated in {results['generated_s']:.1f} s"
    )
    lines = [
        f"nestmap national benchmark: {sizes['areas']:,} LAs in {counts['regions']} regions / "
        f"{sizes['services']:,} services / {sizes['links']:,} referral links "
        f"(seed {results['seed']})",
        f"machine: {machine['cpus']} CPUs, {machine['system']}, Python {machine['python']}, "
        f"ladybug {machine['ladybug']}, pandas {machine['pandas']}, pyarrow {machine['pyarrow']}, "
        f"numpy {machine['numpy']}",
        f"data: {results['dataset']} ({origin})",
        "",
        f"load (nestmap load: validate + build)  {load['total_s']:6.1f} s   "
        f"(validate {load['validate_s']:.1f} s, build {load['build_s']:.1f} s)   "
        f"peak RSS {load['peak_rss_mb']:,.0f} MB   "
        f"[target <= {TARGETS['load_s']:.0f} s, <= {TARGETS['rss_mb']:,.0f} MB]",
        "",
        "seconds: median of the timed runs / best / first (cold) run",
        f"{'analysis':<14}{'rows':>9}  {'whole country s':<20}{'rows':>7}  "
        f"{f'--area {area} s':<24}{'target':>8}",
    ]
    for name in ANALYSES:
        country, local = runs["runs"][name]["country"], runs["runs"][name]["area"]
        target = TARGETS["pathways_s" if name == "pathways" else "analysis_s"]
        lines.append(
            f"{name:<14}{country['rows']:>9,}  {_seconds(country):<20}{local['rows']:>7,}  "
            f"{_seconds(local, 3):<24}{f'<= {target:.0f} s':>8}"
        )
    lines += [
        f"peak RSS of the analyses process: {runs['peak_rss_mb']:,.0f} MB "
        f"[target <= {TARGETS['rss_mb']:,.0f} MB]",
        "",
        f"pandas implementation on the same CSV files (reading them: {pandas['read_s']:.1f} s, "
        "not counted)",
        f"{'analysis':<14}{'scope':<20}{'pandas s':>10}{'nestmap s':>11}{'pandas/nestmap':>16}"
        f"{'same rows':>11}",
    ]
    for name in COMPARED:
        for scope, label in (("country", "country"), ("area", f"--area {area}")):
            theirs = pandas["runs"][name][scope]
            ours = runs["runs"][name][scope]
            ratio = theirs["median_s"] / ours["median_s"] if ours["median_s"] else float("inf")
            lines.append(
                f"{name:<14}{label:<20}{theirs['median_s']:>10.2f}{ours['median_s']:>11.2f}"
                f"{ratio:>15.1f}x{'yes' if theirs['identical'] else 'NO':>11}"
            )
    lines.append(f"peak RSS of the pandas process: {pandas['peak_rss_mb']:,.0f} MB")
    checks = pandas.get("checks")
    if checks:
        wrong = [key for key, same in checks.items() if not same]
        lines += [
            "",
            f"every analysis against benchmarks/pandas_reference.py ({len(checks)} checks): "
            + ("all the same rows" if not wrong else "DIFFERENT: " + ", ".join(wrong)),
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
