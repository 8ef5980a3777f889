"""Time every analysis on the seed region (embedded engine) and print a table.

Usage: python benchmarks/analyses.py [DATASET] [--repeat N]
The issue's target: all analyses together in under a second on the seed region.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from nestmap import analysis
from nestmap.cli import seed_path
from nestmap.graph import open_store
from nestmap.loaders import read_dataset

ANALYSES = (
    "gaps",
    "misdirected",
    "boundaries",
    "pathways",
    "concentration",
    "need",
    "age_bands",
    "assessment",
    "workforce",
    "thrive",
    "groups_left_out",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", nargs="?", default=str(seed_path()))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder) / "graph.lbug")
        started = time.perf_counter()
        dataset = read_dataset(args.dataset)
        validated = time.perf_counter()
        store.replace(dataset)
        loaded = time.perf_counter()
        print(f"dataset: {args.dataset}")
        print(f"validate {validated - started:.3f} s, load {loaded - validated:.3f} s")
        area = analysis.local_authority_codes(store)[0]
        print(f"{'analysis':<16} {'first (ms)':>10} {'median (ms)':>12} {'--area (ms)':>12}")
        total_first = total_median = 0.0
        for name in ANALYSES:
            function = getattr(analysis, name)
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                function(store)
                times.append(time.perf_counter() - start)
            start = time.perf_counter()
            function(store, area)
            by_area = time.perf_counter() - start
            median = statistics.median(times)
            total_first += times[0]
            total_median += median
            first, middle, filtered = times[0] * 1000, median * 1000, by_area * 1000
            print(f"{name:<16} {first:>10.1f} {middle:>12.1f} {filtered:>12.1f}")
        print(f"{'total':<16} {total_first * 1000:>10.1f} {total_median * 1000:>12.1f}")
        store.close()


if __name__ == "__main__":
    main()
