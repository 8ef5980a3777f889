"""The national-scale benchmark: 400 LAs / 50,000 services / 1,000,000 referral links, beside
the pandas script in the same run, with each target of the lean answers layer.

    python benchmarks/national.py                   # full scale (about 15 minutes on 2 CPUs)
    python benchmarks/national.py --scale 0.1       # 40 / 5,000 / 100,000
    python benchmarks/national.py --no-browser      # without the dashboard's pages
    python benchmarks/national.py --json figures.json

Everything is a whole process as a user starts it, timed from start to exit with its CPU time
and peak RSS (``os.wait4``):

- the pandas script (``benchmarks/pandas_script.py``: reads the CSVs, answers with
  benchmarks/pandas_reference.py, writes JSON) for misdirected and gaps, ``--repeat`` times
  (medians), its JSON compared with nestmap's;
- ``nestmap load`` alone (warm-up off), then each analysis computed (nothing kept, warm-up off)
  and read back (kept), ``--format json``;
- from ``nestmap load`` starting to every whole-country answer returned: a fresh graph, the
  load with the warm-up on, then the seven analyses asked in turn, as a user would;
- with a browser (Debian's chromium): every dashboard page's first view on a server started the
  moment a load returns (the warm-up running), then, once the warm-up has finished, on a fresh
  server (each page first, in a new browser);
- the disk kept for the graph after all that (and every analysis asked for one LA, in JSON and
  CSV): the bytes kept for the dataset version against the graph's own size, and pickles.

The dataset is generated with ``nestmap synth`` (seed 0) under ``benchmarks/data/`` (git-ignored)
and reused. The machine's load average is printed at each step: on a shared machine wall times
stretch and CPU times are the steadier figure. Nothing is asserted: the figures are for reading.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nestmap.answers import warm
from nestmap.answers.keep import shelf_root

HERE = Path(__file__).resolve().parent
FULL = {"areas": 400, "services": 50_000, "links": 1_000_000}
ANALYSES = ("gaps", "misdirected", "boundaries", "pathways", "concentration", "need", "age-bands")
COMPARED = ("misdirected", "gaps")
TARGETS = {
    "load_of_pandas_misdirected": 0.9,  # the load at most 0.9x pandas misdirected
    "load_rss_mb": 2048.0,
    "gaps_speedup": 3.0,  # computed (nothing kept) against pandas
    "misdirected_speedup": 5.0,
    "page_after_load_s": 5.0,
    "page_warm_s": 2.0,
    "disk_of_graph": 2.0,  # kept for a dataset version, against the graph's own size
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 400 / 50,000 / 1,000,000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each pandas script")
    parser.add_argument("--data", type=Path, default=HERE / "data", help="where datasets live")
    parser.add_argument("--no-browser", action="store_true", help="skip the dashboard's pages")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    sizes = {key: max(1, round(value * args.scale)) for key, value in FULL.items()}
    dataset, _generated = _dataset(args.data, sizes, args.seed)
    area = _middle_area(dataset)
    work = Path(tempfile.mkdtemp(prefix="nestmap-national-", dir=args.data))
    results: dict[str, Any] = {"sizes": sizes, "seed": args.seed, "area": area}
    results["machine"] = _machine()
    results["machine"]["bytecode"] = _bytecode()
    loads = results["load_average"] = {"start": os.getloadavg()[0]}
    try:
        results["pandas"] = _pandas(dataset, work, args.repeat)
        loads["after pandas"] = os.getloadavg()[0]
        results["cli"] = _command_line(dataset, work)
        loads["after the command line"] = os.getloadavg()[0]
        results["after_load"] = _from_load_to_every_answer(dataset, work)
        loads["after load-to-answers"] = os.getloadavg()[0]
        db = work / "pages" / "graph.lbug"
        db.parent.mkdir()
        if not args.no_browser:
            results["pages"] = _pages(dataset, db)
            loads["after the pages"] = os.getloadavg()[0]
        results["disk"] = _disk(dataset, db, area, browser=not args.no_browser)
        loads["end"] = os.getloadavg()[0]
        results["same_rows"] = {
            name: _parsed(work / f"pandas-{name}.json") == _parsed(work / f"computed-{name}.json")
            for name in COMPARED
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


# -- the runs -------------------------------------------------------------------------------
def _pandas(dataset: Path, work: Path, repeat: int) -> dict[str, Any]:
    found = {}
    for name in COMPARED:
        print(f"pandas {name} ...", file=sys.stderr)
        script = [sys.executable, str(HERE / "pandas_script.py"), name, str(dataset)]
        runs = [_run(script, work / f"pandas-{name}.json") for _ in range(max(1, repeat))]
        found[name] = _median(runs)
    return found


def _command_line(dataset: Path, work: Path) -> dict[str, Any]:
    """The load alone, then each analysis computed (nothing kept) and read back (kept)."""
    off = {**os.environ, "NESTMAP_WARM": "0"}
    db = work / "cli" / "graph.lbug"
    db.parent.mkdir()
    print("nestmap load (warm-up off) ...", file=sys.stderr)
    load = _run(_nestmap("load", str(dataset), "--db", str(db)), work / "load.out", off)
    computed, kept = {}, {}
    for name in ANALYSES:
        print(f"nestmap {name} computed and kept ...", file=sys.stderr)
        command = _nestmap(name, "--db", str(db), "--format", "json")
        shutil.rmtree(shelf_root(db, ".results"), ignore_errors=True)
        computed[name] = _run(command, work / f"computed-{name}.json", off)
        kept[name] = _run(command, work / "kept.json", off)
    return {"load": load, "computed": computed, "kept": kept}


def _from_load_to_every_answer(dataset: Path, work: Path) -> dict[str, Any]:
    """A user's evening: ``nestmap load`` (the warm-up on), then every analysis in turn."""
    on = {**os.environ, "NESTMAP_WARM": "1"}
    db = work / "evening" / "graph.lbug"
    db.parent.mkdir()
    print("nestmap load (warm-up on), then every analysis ...", file=sys.stderr)
    started = time.perf_counter()
    load = _run(_nestmap("load", str(dataset), "--db", str(db)), work / "evening.out", on)
    asked = {}
    for name in ANALYSES:
        asked[name] = _run(_nestmap(name, "--db", str(db), "--format", "json"), work / "e.json", on)
        asked[name]["since_load_started_s"] = time.perf_counter() - started
    every = time.perf_counter() - started
    _wait_for_warm_up(db)
    return {
        "load": load,
        "asked": asked,
        "every_answer_s": every,
        "warm_done_s": time.perf_counter() - started,
    }


def _pages(dataset: Path, db: Path) -> dict[str, Any]:
    """Every page's first view right after a load (the warm-up running) and once warm."""
    sys.path.insert(0, str(HERE))
    from dashboard_pages import PAGE_SPECS, browser_views, open_browser_views, serve

    on = {**os.environ, "NESTMAP_WARM": "1"}
    print("nestmap load, then every page at once ...", file=sys.stderr)
    _run(_nestmap("load", str(dataset), "--db", str(db)), db.with_name("load.out"), on)
    loaded = time.perf_counter()
    found: dict[str, Any] = {}
    server = serve(db, db.parent)  # started the moment the load returns
    try:
        found["server_s"] = time.perf_counter() - loaded
        found["after_load_complete"] = {}
        found["after_load"] = browser_views(server.url, PAGE_SPECS, found["after_load_complete"])
    finally:
        server.stop()
    _wait_for_warm_up(db)
    found["warm_s"] = time.perf_counter() - loaded
    print("every page on a fresh server, once warm ...", file=sys.stderr)
    server = serve(db, db.parent)
    try:
        found["warm"] = browser_views(server.url, PAGE_SPECS)
    finally:
        server.stop()
    print("every page on a fresh server, once warm, in a browser already open ...", file=sys.stderr)
    server = serve(db, db.parent)
    try:
        found["warm_open"], found["new_browser_s"], found["open_browser_s"] = open_browser_views(
            server.url, PAGE_SPECS
        )
    finally:
        server.stop()
    return found


def _disk(dataset: Path, db: Path, area: str, browser: bool) -> dict[str, Any]:
    """What is kept for the graph (in the cache) once the command line and pages were used."""
    on = {**os.environ, "NESTMAP_WARM": "1"}
    if not browser:  # the graph the pages would have used: loaded, warmed
        _run(_nestmap("load", str(dataset), "--db", str(db)), db.with_name("load.out"), on)
    for name in ANALYSES:
        for fmt in ("json", "csv"):
            for where in ([], ["--area", area]):
                command = _nestmap(name, "--db", str(db), "--format", fmt, *where)
                _run(command, db.with_name("asked.out"), on)
    _wait_for_warm_up(db)
    kept = [shelf_root(db, suffix) for suffix in (".results", ".dashboard")]
    files = [path for folder in kept if folder.is_dir() for path in folder.rglob("*")]
    files = [path for path in files if path.is_file()]
    return {
        "graph_bytes": db.stat().st_size,
        "kept_bytes": sum(path.stat().st_size for path in files),
        "by_folder": {
            folder.name: sum(p.stat().st_size for p in files if folder in p.parents)
            for folder in kept
        },
        "files": len(files),
        "pickles": sum(_is_pickle(path) for path in files),
    }


def _wait_for_warm_up(db: Path, limit_s: float = 1800) -> None:
    """Until the warm-up of ``db`` has finished (its record written, its process gone)."""
    done = warm.done_path(db)
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        if done.is_file() and not _warming(db):
            return
        time.sleep(0.2)


def _warming(db: Path) -> bool:
    """A warm-up process of ``db`` is running (read from /proc)."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"nestmap.answers.warm" in command and str(db).encode() in command:
            return True
    return False


def _is_pickle(path: Path) -> bool:
    with path.open("rb") as handle:
        start = handle.read(2)
    return path.suffix in (".pickle", ".pkl") or (len(start) == 2 and start[0] == 0x80)


# -- helpers (benchmarks/cli_national.py and area_slices.py use them too) --------------------
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


def _machine() -> dict[str, str]:
    from importlib.metadata import version

    packages = ("ladybug", "pandas", "pyarrow", "numpy")
    return {
        "cpus": str(os.cpu_count()),
        "system": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        **{name: version(name) for name in packages},
    }


def _bytecode() -> str:
    """Compile nestmap's modules to bytecode as ``pip install`` does for an installed wheel,
    so that each timed process does not compile them from source again (0.1 s of every
    command where ``PYTHONDONTWRITEBYTECODE`` is set, as on this project's machines). The
    pandas script's libraries were compiled when they were installed."""
    import compileall

    import nestmap

    folder = Path(nestmap.__file__).parent
    done = compileall.compile_dir(str(folder), quiet=1)
    return f"nestmap compiled to bytecode as an install does ({'done' if done else 'failed'})"


def _middle_area(dataset: Path) -> str:
    with open(dataset / "areas.csv", encoding="utf-8", newline="") as handle:
        codes = sorted(
            row["code"] for row in csv.DictReader(handle) if row["kind"] == "local_authority"
        )
    return codes[len(codes) // 2]


def _nestmap(*args: str) -> list[str]:
    """The installed ``nestmap`` script beside this Python (as a user runs it)."""
    script = Path(sys.executable).with_name("nestmap")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "nestmap.cli", *args]


def _run(command: list[str], output: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One whole process, stdout to ``output``: wall seconds, its CPU seconds and peak RSS."""
    with open(output, "wb") as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            err.seek(0)
            message = err.read().decode(errors="replace")
            raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{message}")
    return {
        "s": elapsed,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "bytes": output.stat().st_size,
        "load_average": os.getloadavg()[0],
    }


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "s": statistics.median(run["s"] for run in runs),
        "best_s": min(run["s"] for run in runs),
        "cpu_s": statistics.median(run["cpu_s"] for run in runs),
        "rss_mb": max(run["rss_mb"] for run in runs),
        "runs": len(runs),
    }


def _parsed(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


# -- the table ------------------------------------------------------------------------------
def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _timing(run: dict[str, Any]) -> str:
    return f"{run['s']:.2f} s (cpu {run['cpu_s']:.2f} s, {run['rss_mb']:,.0f} MB)"


def report(results: dict[str, Any]) -> str:
    sizes, machine, pandas = results["sizes"], results["machine"], results["pandas"]
    cli, evening = results["cli"], results["after_load"]
    misdirected, gaps = pandas["misdirected"]["s"], pandas["gaps"]["s"]
    loads = ", ".join(f"{key} {value:.1f}" for key, value in results["load_average"].items())
    lines = [
        f"nestmap national: {sizes['areas']:,} LAs / {sizes['services']:,} services / "
        f"{sizes['links']:,} referral links (seed {results['seed']}); one LA: {results['area']}",
        f"machine: {machine['cpus']} CPUs, {machine['system']}, Python {machine['python']}, "
        f"ladybug {machine['ladybug']}, pyarrow {machine['pyarrow']}, pandas {machine['pandas']}; "
        f"{machine.get('bytecode', 'bytecode not compiled')}",
        f"load average (1 min): {loads}",
        "",
        f"pandas script, whole process (median of {pandas['misdirected']['runs']}): misdirected "
        f"{_timing(pandas['misdirected'])}; gaps {_timing(pandas['gaps'])}; same rows as "
        f"nestmap: "
        + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in results["same_rows"].items()),
        "",
    ]
    load = cli["load"]
    share = load["s"] / misdirected
    lines.append(
        f"nestmap load (warm-up off): {_timing(load)} = {share:.2f}x pandas misdirected "
        f"[target <= {TARGETS['load_of_pandas_misdirected']}x: "
        f"{_met(share <= TARGETS['load_of_pandas_misdirected'])}; peak <= "
        f"{TARGETS['load_rss_mb']:,.0f} MB: {_met(load['rss_mb'] <= TARGETS['load_rss_mb'])}]"
    )
    every = evening["every_answer_s"]
    lines += [
        f"from nestmap load starting to every whole-country answer returned (warm-up on, the "
        f"{len(evening['asked'])} analyses asked in turn): {every:.1f} s against pandas "
        f"misdirected {misdirected:.1f} s [target: less: {_met(every < misdirected)}]",
        f"  the load {_timing(evening['load'])}; then "
        + ", ".join(f"{name} {run['s']:.2f} s" for name, run in evening["asked"].items())
        + f"; the warm-up done {evening['warm_done_s']:.1f} s after the load started",
        "",
        "an answer computed (nothing kept, warm-up off) / read back (kept), --format json:",
    ]
    for name in ANALYSES:
        computed, kept = cli["computed"][name], cli["kept"][name]
        line = f"  {name:<14} {_timing(computed):<36} {_timing(kept):<36}"
        if name in COMPARED:
            theirs = misdirected if name == "misdirected" else gaps
            ratio = theirs / computed["s"]
            target = TARGETS[f"{name}_speedup"]
            line += f" {ratio:.1f}x pandas [target >= {target:.0f}x: {_met(ratio >= target)}]"
        lines.append(line)
    pages = results.get("pages")
    if pages:
        after, warm = pages["after_load"], pages["warm"]
        opened = pages.get("warm_open") or {}
        whole = pages.get("after_load_complete") or {}
        slowest_after = max(after, key=lambda page: after[page])
        slowest_warm = max(warm, key=lambda page: warm[page])
        lines += [
            "",
            f"dashboard, each page's first view (s); server answering {pages['server_s']:.1f} s "
            f"after the load; the warm-up (answers and pages) done {pages['warm_s']:.0f} s after",
            f"  {'page':<24}{'right after a load':>20}{'(every figure in)':>19}"
            f"{'once warm (new server)':>24}{'once warm, browser open':>25}",
            *(
                f"  {page:<24}{after[page]:>20.1f}{whole.get(page, float('nan')):>19.1f}"
                f"{warm[page]:>24.1f}{opened.get(page, float('nan')):>25.1f}"
                for page in after
            ),
            "  (right after a load, the Overview draws at once and shows a figure the warm-up is "
            "still computing as being worked out, filled in when it is kept: both times given)",
            "  (each page in a new browser, which loads Streamlit's frontend from nothing: "
            + (
                f"the Query page {pages['new_browser_s']:.1f} s so, "
                f"{pages['open_browser_s']:.1f} s in a browser with the dashboard open)"
                if opened
                else "not measured apart)"
            ),
            f"  every page within {TARGETS['page_after_load_s']:.0f} s right after a load: "
            f"slowest {slowest_after} {after[slowest_after]:.1f} s "
            f"{_met(after[slowest_after] <= TARGETS['page_after_load_s'])}"
            + (f" (every figure in: slowest {max(whole.values()):.1f} s)" if whole else "")
            + "; within "
            f"{TARGETS['page_warm_s']:.0f} s once warm: slowest {slowest_warm} "
            f"{warm[slowest_warm]:.1f} s {_met(warm[slowest_warm] <= TARGETS['page_warm_s'])}",
        ]
    disk = results["disk"]
    of_graph = disk["kept_bytes"] / disk["graph_bytes"]
    folders = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in disk["by_folder"].items())
    lines += [
        "",
        f"disk kept for a {disk['graph_bytes'] / 1e6:.1f} MB graph after the command line"
        f"{' and the pages' if pages else ''} were used: {disk['kept_bytes'] / 1e6:.1f} MB in "
        f"{disk['files']} files ({folders}) = {of_graph:.2f}x the graph "
        f"[target <= {TARGETS['disk_of_graph']:.0f}x: {_met(of_graph <= TARGETS['disk_of_graph'])}"
        f"]; pickles: {disk['pickles']} [target 0: {_met(disk['pickles'] == 0)}]",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
