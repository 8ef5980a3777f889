"""The served dashboard under load: eight visitors at once, each repeating one of the expensive
actions the pages offer, while a ninth, in a real browser, reads pages.

Used by tests/test_serving_load.py (which asserts what holds whatever the machine: every action
done or told "busy", never a failure; the server's memory under its bound; no worker left) and
by benchmarks/serving_load.py (which prints the figures: the ninth visitor's page views quiet and
loaded, the server's peak memory, each action's count and time).

The eight are WebSocket visitors (tests/streamlit_visitor.py: Streamlit's own protocol, no
browser, so their cost to the machine is the server's work, not rendering); the ninth is Debian's
chromium, timed from navigation until the page's script has finished and its texts are shown.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from streamlit_visitor import Run, Visitor

DATA = Path(__file__).parent / "data"
ORUK_DIRECTORY = DATA / "oruk" / "hsds1-sample"
# The pages the ninth visitor reads, with a text each must show once drawn (seed region).
READ_PAGES: dict[str, list[str]] = {
    "overview": ["Headline findings", "Gap cells"],
    "coverage": ["Coverage", "Merthyr Tydfil"],
    "referrals": ["Where parent-infant relationship referrals go"],
    "pathways": ["Pathways", "Dead ends"],
    "thrive": ["Getting Advice and Signposting"],
}
UNSTOPPABLE = "RETURN levenshtein(repeat('a', 300000), repeat('b', 300000)) AS d"
MANY_ROWS = "UNWIND range(1, 100000) AS i RETURN i, 'row ' + CAST(i AS STRING) AS label"
REASONS = ["parent infant relationship", "perinatal mental health", "parenting", "safeguarding"]
# What a page may say when an action did not run because the server was busy.
BUSY = ("Busy:",)
FAILED = ("failed unexpectedly", "Traceback", "cannot be shown", "Crashed", "Error:")


@dataclass
class Tally:
    """One visitor's rounds of its action."""

    action: str
    done: int = 0
    busy: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    busy_said: set[str] = field(default_factory=set)
    built_again: int = 0


@dataclass
class Figures:
    quiet_s: dict[str, list[float]]
    loaded_s: dict[str, list[float]]
    peak_server_mb: float
    peak_workers_mb: float
    baseline_server_mb: float
    tallies: list[Tally]
    load_s: float

    def ratio(self) -> float:
        """The loaded median page view over the quiet one (all pages together)."""
        quiet = statistics.median(v for views in self.quiet_s.values() for v in views)
        loaded = statistics.median(v for views in self.loaded_s.values() for v in views)
        return loaded / quiet

    def lines(self) -> list[str]:
        out = [
            f"load: {self.load_s:.0f} s, 8 visitors each repeating one action, 1 reading pages",
            f"{'page':<10} {'quiet median s':>15} {'loaded median s':>16} {'loaded max s':>13}",
        ]
        for page in self.quiet_s:
            quiet, loaded = self.quiet_s[page], self.loaded_s.get(page) or [float("nan")]
            out.append(
                f"{page:<10} {statistics.median(quiet):>15.2f} {statistics.median(loaded):>16.2f}"
                f" {max(loaded):>13.2f}"
            )
        out.append(f"all pages: loaded / quiet (medians) = {self.ratio():.2f}")
        out.append(
            f"server memory: {self.baseline_server_mb:,.0f} MB before the load, peak "
            f"{self.peak_server_mb:,.0f} MB; its workers and prints together, peak "
            f"{self.peak_workers_mb:,.0f} MB"
        )
        out.append(
            f"{'action':<22} {'done':>5} {'busy':>5} {'failed':>7} {'median s':>9}"
            f" {'built again':>12}"
        )
        for tally in self.tallies:
            median = statistics.median(tally.seconds) if tally.seconds else float("nan")
            out.append(
                f"{tally.action:<22} {tally.done:>5} {tally.busy:>5} {len(tally.failures):>7}"
                f" {median:>9.1f} {tally.built_again:>12}"
            )
        for tally in self.tallies:
            out += [f"  {tally.action} was told: {said}" for said in sorted(tally.busy_said)]
        return out


# -- memory --------------------------------------------------------------------------------------


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _pss_mb(pid: int) -> float:
    """A process's proportional share of memory: shared pages (a chromium's libraries, the
    Python of a worker) counted once across the processes sharing them, not once each."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue  # ended meanwhile
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def prints_under_way(pid: int) -> int:
    """Chromium prints running under ``pid`` (each has a fresh profile folder of its own)."""
    profiles = set()
    for child in _descendants(pid):
        try:
            parts = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.startswith(b"--print-to-pdf") for part in parts):
            profiles |= {part for part in parts if part.startswith(b"--user-data-dir=")}
    return len(profiles)


class MemoryWatch(threading.Thread):
    """Samples the server's resident memory, and its children's together (their proportional
    shares), until stopped."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.peak_server = 0.0
        self.peak_children = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak_server = max(self.peak_server, _rss_mb(self.server_pid))
            children = sum(_pss_mb(pid) for pid in _descendants(self.server_pid))
            self.peak_children = max(self.peak_children, children)
            self.stopped.wait(0.2)


# -- the eight actions ---------------------------------------------------------------------------


def _said(run: Run) -> str:
    return "\n".join(element.alert.body for element in run.of_kind("alert"))


def _outcome(tally: Tally, said: str, done: bool) -> None:
    if any(word in said for word in FAILED):
        tally.failures.append(said[:300])
    elif done:
        tally.done += 1
    elif any(word in said for word in BUSY):
        tally.busy += 1
        tally.busy_said.add(said[:200])
    else:
        tally.failures.append(f"neither done nor busy: {said[:300]}")


async def _console_unstoppable(visitor: Visitor, tally: Tally, _round: int) -> None:
    if _round == 0:
        await visitor.open("query")
        await visitor.type_text("Cypher", UNSTOPPABLE)
        await visitor.set_number("Timeout (seconds)", 5)
    said = _said(await visitor.click("Run"))
    _outcome(tally, said, said.startswith("Timed out"))


async def _console_many_rows(visitor: Visitor, tally: Tally, _round: int) -> None:
    if _round == 0:
        await visitor.open("query")
        await visitor.type_text("Cypher", MANY_ROWS)
        await visitor.set_number("Row limit", 100_000)
        await visitor.set_number("Timeout (seconds)", 60)
    said = _said(await visitor.click("Run"))
    _outcome(tally, said, "100,000 rows." in said)


async def _print_pdf(visitor: Visitor, tally: Tally, _round: int) -> None:
    # A new browser session each round: a printed PDF is kept for its session.
    fresh = Visitor(visitor.base, visitor.timeout_s)
    try:
        await fresh.open("")
        run = await fresh.click("Prepare the PDF")
    finally:
        await fresh.close()
    done = any(e.download_button.label == "Report (PDF)" for e in run.of_kind("download_button"))
    _outcome(tally, _said(run), done)


async def _download(visitor: Visitor, tally: Tally, label: str) -> tuple[bytes | None, str]:
    """Build a download and fetch it. Streamlit keeps a file built on click only until two
    script runs of any session have ended: under load one can end before the file is fetched
    (HTTP 404), as a browser fetching it would find. That is counted apart (``built_again``)
    and the download asked for again, up to ``AGAIN`` times, as a person would click again."""
    from urllib.error import HTTPError

    for _again in range(AGAIN):
        try:
            return await visitor.download(label)
        except HTTPError as exc:
            if exc.code != 404:
                raise
        tally.built_again += 1
    return await visitor.download(label)


# How many times a download Streamlit dropped before it was fetched is asked for again.
AGAIN = 3


async def _report_html(visitor: Visitor, tally: Tally, _round: int) -> None:
    areas = ["", "?la=W06000013", "?la=W06000016", "?la=W06000024"]
    await visitor.open("", areas[_round % len(areas)].lstrip("?"))
    data, error = await _download(visitor, tally, "Report (HTML)")
    _outcome(tally, error, bool(data and data.lstrip().lower().startswith(b"<!doctype html")))


async def _downloads(visitor: Visitor, tally: Tally, _round: int) -> None:
    if _round == 0:
        await visitor.open("data")
    labels = [
        "Dataset as XLSX",
        "GraphML",
        "GEXF",
        "Kumu workbook (.xlsx)",
        "Dataset as ZIP of CSVs",
    ]
    data, error = await _download(visitor, tally, labels[_round % len(labels)])
    _outcome(tally, error, bool(data))


async def _oruk(visitor: Visitor, tally: Tally, _round: int) -> None:
    if _round == 0:
        await visitor.open("data")
        await visitor.set_toggle("Map an ORUK directory", True)
        await visitor.upload("ORUK directory (.json or .zip of CSVs)", "oruk.zip", _oruk_zip())
    said = _said(await visitor.click("Map to nestmap's format"))
    _outcome(tally, said, "Mapped " in said)


async def _scenario(visitor: Visitor, tally: Tally, _round: int) -> None:
    if _round == 0:
        await visitor.open("scenarios")
        await visitor.choose("Scenario", "Paste YAML or JSON")
    # A new scenario each round (a capacity of its own), so each is read and applied afresh.
    await visitor.type_text(
        "Scenario (YAML or JSON, in the format of the bundled options)",
        f"name: Round {_round}\nchange_services: [{{id: ctm_camhs, set: "
        f"{{capacity_per_year: {100 + _round}}}}}]\n",
    )
    run = await visitor.rerun()
    said = _said(run)
    _outcome(tally, said, f"Round {_round}" in run.text() and not said.startswith("Busy"))


async def _network(visitor: Visitor, tally: Tally, _round: int) -> None:
    if _round == 0:
        await visitor.open("network")
    # A different set of reasons each round: a new selection and layout.
    chosen = [reason for bit, reason in enumerate(REASONS) if (_round + 1) >> bit & 1]
    run = await visitor.choose_many("Referral reasons", chosen or REASONS[:1])
    said = _said(run)
    drawn = any("services ·" in text for text in run.texts()) or "No services match" in said
    _outcome(tally, said, drawn and not said.startswith("Busy"))


ACTIONS: dict[str, Callable[[Visitor, Tally, int], Awaitable[None]]] = {
    "console (runaway)": _console_unstoppable,
    "console (100,000 rows)": _console_many_rows,
    "report PDF": _print_pdf,
    "report HTML": _report_html,
    "downloads and exports": _downloads,
    "ORUK mapping": _oruk,
    "scenario": _scenario,
    "network": _network,
}


def _oruk_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(ORUK_DIRECTORY.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(ORUK_DIRECTORY))
    return buffer.getvalue()


async def _repeat(base: str, name: str, until: float) -> Tally:
    tally = Tally(name)
    visitor = Visitor(base)
    action = ACTIONS[name]
    number = 0
    try:
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                await action(visitor, tally, number)
            except (TimeoutError, LookupError, OSError) as exc:
                tally.failures.append(f"{type(exc).__name__}: {exc}"[:300])
            tally.seconds.append(time.monotonic() - started)
            number += 1
    finally:
        await visitor.close()
    return tally


def _load(base: str, seconds: float, names: list[str]) -> list[Tally]:
    async def everyone() -> list[Tally]:
        until = time.monotonic() + seconds
        return list(await asyncio.gather(*(_repeat(base, name, until) for name in names)))

    return asyncio.run(everyone())


class Load:
    """The eight visitors, in a process of their own at the lowest CPU priority: on a team's
    server they are other people's browsers on other machines, so what their own side costs
    (decoding every page the server sends them) must not count against the server, nor hold
    the measuring process's GIL while the ninth visitor's page views are timed."""

    def __init__(self, base: str, seconds: float, names: list[str]):
        self.process = subprocess.Popen(
            [sys.executable, __file__, base, str(seconds), *names],
            stdout=subprocess.PIPE,
            preexec_fn=lambda: os.nice(19),
        )
        assert self.process.stdout is not None
        self.process.stdout.readline()  # "started": its imports are done, the visitors begin

    def tallies(self, timeout_s: float) -> list[Tally]:
        out, _ = self.process.communicate(timeout=timeout_s)  # after the "started" line
        if self.process.returncode != 0:
            raise RuntimeError(f"the load's process failed (exit {self.process.returncode})")
        return [Tally(**{**t, "busy_said": set(t["busy_said"])}) for t in json.loads(out)]


# -- the ninth visitor ---------------------------------------------------------------------------


def _views(
    tab, base: str, pages: dict[str, list[str]], rounds: int | None, until: float | None
) -> dict[str, list[float]]:
    from test_dashboard_browser import _open

    times: dict[str, list[float]] = {page: [] for page in pages}
    number = 0
    while (rounds is not None and number < rounds) or (until and time.monotonic() < until):
        for page, texts in pages.items():
            times[page].append(_open(tab, base, page, texts))
        number += 1
    return times


def run_load(
    base: str,
    server_pid: int,
    seconds: float = 60.0,
    pages: dict[str, list[str]] | None = None,
    quiet_rounds: int = 2,
    actions: list[str] | None = None,
) -> Figures:
    """Quiet page views (after one round that lets the server compute and keep each page),
    then the same views while eight visitors (or one per name in ``actions``) load the server
    for ``seconds``."""
    pages = pages or READ_PAGES
    names = list(ACTIONS) if actions is None else actions
    from playwright.sync_api import sync_playwright
    from test_dashboard_browser import CHROMIUM, LAUNCH_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(180_000)
        _views(tab, base, pages, 1, None)  # the server computes and keeps each page once
        quiet = _views(tab, base, pages, quiet_rounds, None)
        baseline = _rss_mb(server_pid)
        watch = MemoryWatch(server_pid)
        watch.start()
        began = time.monotonic()
        load = Load(base, seconds, names)
        loaded = _views(tab, base, pages, None, time.monotonic() + seconds)
        tallies = load.tallies(seconds + 600)
        took = time.monotonic() - began
        watch.stopped.set()
        watch.join(5)
        context.close()
        browser.close()
    return Figures(quiet, loaded, watch.peak_server, watch.peak_children, baseline, tallies, took)


if __name__ == "__main__":  # the eight visitors (``Load``): BASE SECONDS ACTION...
    print("started", flush=True)
    done = _load(sys.argv[1], float(sys.argv[2]), sys.argv[3:])
    print(json.dumps([{**asdict(t), "busy_said": sorted(t.busy_said)} for t in done]))
