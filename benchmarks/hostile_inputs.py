"""Hostile inputs (issue 12): how long each takes to be refused, and its peak memory.

Each attack runs as `nestmap ...` in its own process (so each peak RSS is that attack's own,
read from /proc VmHWM) against a graph holding the bundled seed region. Prints one table;
nothing is asserted (the tests assert the bounds: tests/test_hostile_files.py).

    python benchmarks/hostile_inputs.py
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

# The classic "billion laughs": nine levels of nine aliases each.
LAUGHS = (
    "name: laughs\na: &a ["
    + ",".join(['"lol"'] * 9)
    + "]\n"
    + "".join(
        name + ": &" + name + " [" + ",".join(["*" + prev] * 9) + "]\n"
        for name, prev in zip("bcdefghi", "abcdefgh", strict=True)
    )
)

_CHILD = """
import json, sys, time
from nestmap.cli import app
started = time.monotonic()
code = 0
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit as exc:
    code = exc.code
hwm = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]
print(json.dumps({'code': code, 's': time.monotonic() - started, 'rss_mb': int(hwm) / 1024}))
"""


def _seed_zip(seed: Path, replace: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for file in sorted(seed.glob("*.csv")):
            archive.writestr(file.name, replace.get(file.name, file.read_bytes()))
    return buffer.getvalue()


def _capacity(services: str, value: str) -> bytes:
    """services.csv with the first service's capacity_per_year set to ``value``."""
    import csv

    rows = list(csv.reader(io.StringIO(services, newline="")))
    rows[1][rows[0].index("capacity_per_year")] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _attacks(folder: Path, seed: Path, db: Path) -> list[tuple[str, int, list[str]]]:
    header = (seed / "services.csv").read_text(encoding="utf-8").splitlines()[0]
    services = (seed / "services.csv").read_text(encoding="utf-8")
    files = {
        "bomb.zip": _seed_zip(seed, {"services.csv": (header + "\n" + "x\n" * (5 << 20)).encode()}),
        "capacity30.zip": _seed_zip(seed, {"services.csv": _capacity(services, "1" * 30)}),
        "longline.zip": _seed_zip(seed, {"services.csv": (services + "x" * (2 << 20)).encode()}),
        "laughs.yaml": LAUGHS.encode(),
        "deep.yaml": ("name: deep\nx: " + "[" * 100_000 + "]" * 100_000).encode(),
        "deep.json": ('{"name": "d", "x": ' + "[" * 100_000 + "]" * 100_000 + "}").encode(),
        "amount400.yaml": ("name: big\ncosts: [{item: x, amount: " + "9" * 400 + "}]").encode(),
    }
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for index in range(5_000):
            archive.writestr(f"x{index}.csv", b"")
    files["members.zip"] = many.getvalue()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    loads = ["bomb.zip", "capacity30.zip", "longline.zip", "members.zip"]
    scenarios = ["laughs.yaml", "deep.yaml", "deep.json", "amount400.yaml"]
    return [
        (name, len(files[name]), ["load", str(folder / name), "--db", str(db)]) for name in loads
    ] + [
        (name, len(files[name]), ["scenario", "validate", str(folder / name), "--db", str(db)])
        for name in scenarios
    ]


def main() -> None:
    from nestmap.cli import seed_path

    seed = seed_path()
    with tempfile.TemporaryDirectory(prefix="nestmap-hostile-") as scratch:
        folder = Path(scratch)
        db = folder / "graph.lbug"
        subprocess.run(
            [sys.executable, "-m", "nestmap.cli", "load", str(seed), "--db", str(db)],
            check=True,
            capture_output=True,
        )
        print(f"{'attack':<16} {'bytes':>8} {'exit':>4} {'seconds':>8} {'peak MB':>8}  first line")
        for name, size, args in _attacks(folder, seed, db):
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, timeout=600
            )
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            first = next(iter(done.stderr.splitlines()[1:2]), done.stderr.strip())[:70]
            wall = time.monotonic() - started
            print(
                f"{name:<16} {size:>8,} {figures['code']:>4} {figures['s']:>8.2f} "
                f"{figures['rss_mb']:>8.0f}  {first.strip()}  (process {wall:.1f} s)"
            )


if __name__ == "__main__":
    main()
