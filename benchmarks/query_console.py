"""Time the Query console's guard and worker (issue 12).

Usage: python benchmarks/query_console.py [--repeat N]

- the lexer and guard on hostile and ordinary texts (64 KB of ``\\'`` took 20-47 s of CPU in
  the regex guard it replaced; the lexer is one pass, and the guard refuses by length first);
- the worker's round trip on the seed region (start Python, open the graph read-only, run,
  answer), and how long runaway queries take to be stopped under the default limits.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from nestmap.cli import seed_path
from nestmap.errors import NestmapError, ReadOnlyError
from nestmap.graph import open_store
from nestmap.graph.console import run_console_query
from nestmap.graph.cypher_lexer import CypherLexError, tokenize
from nestmap.graph.readonly import check_read_only
from nestmap.loaders import read_dataset

TEXTS = {
    "64 KB of \\' (lexer only)": "RETURN '" + "\\'" * 32_768,
    "64 KB of \\' (guard)": "RETURN '" + "\\'" * 32_768,
    "10,000-char read query (guard)": "MATCH (s:Service) RETURN s.name AS n" + " // padding" * 880,
    "issue's comment trick (guard)": "/* **/ 'x /* */ LOAD FROM \"/etc/passwd\" RETURN * // '",
}
QUERIES = {
    "simple read": "MATCH (s:Service) RETURN s.name LIMIT 5",
    "UNWIND range(1,3e8) (memory)": "UNWIND range(1,300000000) AS x WITH x WHERE x % 7 = 3 "
    "RETURN count(*)",
    "repeat('x', 2e9) (memory)": "RETURN size(repeat('x', 2000000000))",
    "1e10-row UNWIND (time, 1 s)": "UNWIND range(1, 100000) AS x UNWIND range(1, 100000) AS y "
    "WITH x + y AS z WHERE z % 7 = 3 RETURN count(*)",
}


def _time(action, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            action()
        except (ReadOnlyError, CypherLexError, NestmapError):
            pass
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'text':40} {'median':>10}")
    for label, text in TEXTS.items():
        action = (
            (lambda t=text: tokenize(t))
            if "lexer" in label
            else (lambda t=text: check_read_only(t))
        )
        print(f"{label:40} {_time(action, args.repeat) * 1000:>8.2f} ms")
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder) / "graph.lbug")
        store.replace(read_dataset(seed_path()))
        print(f"\n{'console query (seed region)':40} {'median':>10}  outcome")
        for label, cypher in QUERIES.items():
            try:
                outcome = f"{len(run_console_query(store.path, cypher, 100, 1).rows)} rows"
            except NestmapError as exc:
                outcome = type(exc).__name__
            seconds = _time(lambda c=cypher: run_console_query(store.path, c, 100, 1), args.repeat)
            print(f"{label:40} {seconds:>8.2f} s  {outcome}")
        store.close()


if __name__ == "__main__":
    main()
