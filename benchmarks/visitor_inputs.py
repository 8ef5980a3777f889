"""What a visitor's input costs the server (issue 22): prints figures, asserts nothing (the
tests assert the bounds: tests/test_hostile_files.py, tests/test_visitor_scenarios.py,
tests/test_serving.py).

1. Workbook XML: the UTF-16 sheet part with a DTD (37 KB, entities expanding to 744 million
   characters) through `nestmap load`, in its own process (time, peak RSS from /proc VmHWM);
   and, at a tenth of the size, what the XML parser does with it when nothing checks it first.
2. Scenario parsing: CPU seconds of the worst YAML shapes at 1 MiB (a file's bound) and 64 KiB
   (the dashboard's), before (PyYAML's Python parser; JSON's own module) and now (libyaml,
   with the refusals of anchors, deep nesting and NaN), and the whole of ``read_untrusted``
   (parse and type checks) at the dashboard's bound.
3. The editor secret: eight sessions guessing at once against one server's budget.

    python benchmarks/visitor_inputs.py
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

# `nestmap ARGS` measured in its own process, as for the other hostile inputs.
from hostile_inputs import _CHILD as _LOAD

# The XML parser alone, as openpyxl would run it on an unchecked workbook.
_UNCHECKED = """
import io, json, sys, time
import openpyxl
started = time.monotonic()
book = openpyxl.load_workbook(sys.argv[1], read_only=True, data_only=True)
longest = 0
for sheet in book.worksheets:
    for row in sheet.iter_rows(values_only=True):
        longest = max([longest, *(len(str(v)) for v in row if v is not None)])
hwm = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]
print(json.dumps({'s': time.monotonic() - started, 'rss_mb': int(hwm) / 1024,
                  'longest_cell': longest}))
"""


def _child(script: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=900
    )
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"failed": done.stderr.strip()[-300:]}


def _entity_workbook(folder: Path, padding: int, references: int) -> Path:
    """The seed region as an .xlsx whose services sheet is UTF-16 with nested entities (each
    reference 10 million characters) and ``padding`` characters of comment."""
    from nestmap.api import seed_path
    from nestmap.graph import open_store
    from nestmap.interop import export_dataset
    from nestmap.loaders import read_dataset

    store = open_store(folder / f"wb{padding}.lbug")
    store.replace(read_dataset(seed_path()))
    data = export_dataset(store, "xlsx")
    store.close()
    source = zipfile.ZipFile(io.BytesIO(data))
    entities = ['<!ENTITY e0 "' + "a" * 1000 + '">'] + [
        f'<!ENTITY e{n} "' + f"&e{n - 1};" * 10 + '">' for n in range(1, 5)
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                text = content.decode("utf-8")
                body = text.split("?>", 1)[1] if text.startswith("<?xml") else text
                body = body.replace("<t>", "<t>" + "&e4;" * references, 1)
                body = body.replace("<sheetData>", "<!--" + "p" * padding + "--><sheetData>", 1)
                content = (
                    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE worksheet ['
                    + "".join(entities)
                    + "]>"
                    + body
                ).encode("utf-16")
            out.writestr(info.filename, content)
    path = folder / f"utf16-{padding}.xlsx"
    path.write_bytes(buffer.getvalue())
    return path


def workbook_xml(folder: Path) -> None:
    print("1. Workbook XML in UTF-16 with a DTD")
    full = _entity_workbook(folder, 7_440_000, 74)
    db = folder / "graph.lbug"
    run = _child(_LOAD, "load", str(full), "--db", str(db))
    print(
        f"  nestmap load, {full.stat().st_size / 1000:.0f} KB file (entities for 740,000,000 "
        f"characters): exit {run.get('code')}, {run.get('s', 0):.2f} s, "
        f"peak {run.get('rss_mb', 0):.0f} MB"
    )
    tenth = _entity_workbook(folder, 744_000, 7)
    run = _child(_UNCHECKED, str(tenth))
    print(
        f"  the XML parser on a tenth of it, unchecked ({tenth.stat().st_size / 1000:.0f} KB): "
        f"{run.get('s', 0):.2f} s, peak {run.get('rss_mb', 0):.0f} MB, a cell of "
        f"{run.get('longest_cell', 0):,} characters"
    )


def _cpu(work) -> float:
    started = time.process_time()
    try:
        work()
    except Exception:  # a refusal costs what it cost
        pass
    return time.process_time() - started


def scenario_parsing() -> None:
    import yaml

    from nestmap.loaders.limits import MAX_DASHBOARD_SCENARIO_BYTES, MAX_SCENARIO_BYTES
    from nestmap.scenarios import parse_document, read_untrusted

    print("2. Scenario parsing (CPU seconds of this process)")
    print(f"  libyaml available: {yaml.__with_libyaml__}")

    def shapes(size: int) -> dict[str, bytes]:
        block = "name: x\nretire_services:\n" + "- aaaaaaaa\n" * ((size - 40) // 11)
        flow = "name: x\nretire_services: [" + "a," * ((size - 40) // 2) + "a]\n"
        as_json = json.dumps({"name": "x", "retire_services": ["a"] * ((size - 40) // 5)})
        return {
            "YAML block list": block.encode()[:size],
            "YAML flow list": flow.encode(),
            "JSON list": as_json.encode(),
        }

    for size in (MAX_SCENARIO_BYTES, MAX_DASHBOARD_SCENARIO_BYTES):
        for shape, data in shapes(size).items():
            text = data.decode()
            name = "s.json" if shape.startswith("JSON") else "s.yaml"
            if shape.startswith("JSON"):
                before = _cpu(lambda t=text: json.loads(t))
            else:
                before = _cpu(lambda t=text: yaml.load(t, Loader=yaml.SafeLoader))
            parse = _cpu(lambda n=name, d=data, s=size: parse_document(n, d, s))
            line = (
                f"  {len(data) / 1024:>6.0f} KiB {shape:<16} before {before:6.2f} s · "
                f"now: parse {parse:5.2f} s"
            )
            if size == MAX_DASHBOARD_SCENARIO_BYTES:
                checked = _cpu(lambda n=name, d=data: read_untrusted(n, d))
                line += f", parse + type checks {checked:5.2f} s"
            print(line)


def guess_budget() -> None:
    from nestmap.dashboard import access

    print("3. The editor secret: 8 sessions guess at once (one server)")
    budget = access.Guesses()
    said: list[str] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda n=n: said.append(budget.check("x", b"%d" % n, b"s" * 8)))
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    compared = sum(text.startswith("That is not") for text in said)
    paused = sum(text.startswith("Unlocking is paused") for text in said)
    print(
        f"  {time.monotonic() - started:.1f} s: {compared} compared (one at a time, a second "
        f"each), {paused} refused unchecked; at most {access.MAX_FAILED_PER_ADDRESS} from one "
        f"address and {access.MAX_FAILED_PER_SERVER} in all per "
        f"{access.GUESS_WINDOW_S // 60} minutes"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        workbook_xml(Path(folder))
    scenario_parsing()
    guess_budget()


if __name__ == "__main__":
    main()
