"""Console workers no visitor can keep running, with real processes and real signals.

A query the engine cannot interrupt (``levenshtein`` of two 300,000-character strings) used to
keep its worker burning CPU after ``nestmap query`` was killed, or a dashboard's process group:
the worker ran in its own session with nothing to end it. Now the kernel ends it with its
parent, or at its CPU-time limit; a dashboard ends it once the visitor's browser session has
gone; and a visitor refused because the server's console workers are taken is told so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import load_into
from streamlit_visitor import Served, Visitor, page_json
from test_query_console import _query_page

from nestmap.api import seed_path
from nestmap.errors import QueryStoppedError
from nestmap.graph.console import WORKERS, console_job, read_answer
from nestmap.workers import run_worker

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; Linux signals")

# Quadratic in C++ with no interruption point: minutes of CPU, whatever the timeout says.
UNSTOPPABLE = "RETURN levenshtein(repeat('a', 300000), repeat('b', 300000)) AS d"
WORKER = "nestmap.graph.console_worker"


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("workers")
    load_into(folder / "graph.lbug", seed_path()).close()
    return folder / "graph.lbug"


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _workers_under(pid: int) -> list[int]:
    return [child for child in _descendants(pid) if WORKER in _command(child)]


def _alive(pid: int) -> bool:
    """Running (a zombie, dead and not yet reaped, burns nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds:g} s: {what}")


def _the_worker_of(pid: int) -> int:
    found: list[int] = []

    def started() -> bool:
        found[:] = _workers_under(pid)
        return bool(found)

    _wait_for(started, 60, "a console worker started")
    return found[0]


def _stop_if_alive(pid: int) -> None:
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _cpu_limit(pid: int) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max cpu time"):
            soft, hard = line.split()[3:5]
            return soft, hard
    raise AssertionError("no CPU-time line")


def test_sigterm_to_nestmap_query_leaves_no_worker_burning(graph):
    command = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("nestmap")),
            "query",
            UNSTOPPABLE,
            "--timeout",
            "3",
            "--db",
            str(graph),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NESTMAP_NEO4J_URI": ""},
    )
    worker = _the_worker_of(command.pid)
    try:
        # The kernel's CPU-time limit, set as the worker starts: two engine threads for the
        # timeout (+1 s), and the start (20 s); SIGKILL two seconds after SIGXCPU.
        _wait_for(lambda: _cpu_limit(worker) != ("unlimited", "unlimited"), 30, "limits set")
        assert _cpu_limit(worker) == ("28", "30")
        command.send_signal(signal.SIGTERM)
        command.wait(30)
        _wait_for(lambda: not _alive(worker), 10, "the worker ended with its command")
    finally:
        _stop_if_alive(worker)


def test_a_parent_killed_outright_takes_its_worker_with_it(graph):
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from nestmap.graph.console import run_console_query; "
            "run_console_query(sys.argv[1], sys.argv[2], 10, 600)",
            str(graph),
            UNSTOPPABLE,
        ],
        stderr=subprocess.DEVNULL,
    )
    worker = _the_worker_of(parent.pid)
    try:
        parent.kill()  # no chance to clean up
        parent.wait(30)
        _wait_for(lambda: not _alive(worker), 10, "the worker ended with its parent")
    finally:
        _stop_if_alive(worker)


def test_the_kernel_ends_a_worker_over_its_cpu_time(graph):
    request, limits = console_job(graph, UNSTOPPABLE, 10, timeout_s=600)
    tight = dataclasses.replace(limits, cpu_s=3.0)  # the wall clock would allow ten minutes
    finished = run_worker(WORKER, request, tight, 2**20)
    assert finished.over_cpu and not finished.timed_out
    with pytest.raises(QueryStoppedError, match=r"over its CPU-time limit \(3 s of processor"):
        read_answer(finished, tight)


def test_a_worker_notices_its_parent_has_gone_where_the_kernel_does_not_say(tmp_path):
    """The check used where there is no parent-death signal (outside Linux), run here: a
    worker whose parent is killed ends within a second or so."""
    child_pid = tmp_path / "child.pid"
    (tmp_path / "child.py").write_text(
        "import os, time\n"
        "from nestmap.workers import watch_parent\n"
        "watch_parent(os.getppid())\n"
        "time.sleep(600)\n"
    )
    script = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen([sys.executable, {str(tmp_path / 'child.py')!r}])\n"
        f"open({str(child_pid)!r}, 'w').write(str(child.pid))\n"
        "child.wait()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    _wait_for(lambda: child_pid.exists() and child_pid.read_text(), 60, "the child started")
    child = int(child_pid.read_text())
    try:
        assert _alive(child)
        time.sleep(1)  # let it import and start watching (ordering, not a timing check)
        parent.kill()
        parent.wait(30)
        _wait_for(lambda: not _alive(child), 10, "the child noticed and ended")
    finally:
        _stop_if_alive(child)


# -- a served dashboard ------------------------------------------------------------------------


async def _start_query(visitor: Visitor, cypher: str, timeout_s: int) -> asyncio.Task:
    """Open the Query page, run ``cypher``; the task waiting for its run to end."""
    await visitor.open("query")
    await visitor.type_text("Cypher", cypher)
    await visitor.set_number("Timeout (seconds)", timeout_s)
    return asyncio.create_task(visitor.click("Run"))


def test_kill_of_a_dashboards_process_group_leaves_no_worker(graph, tmp_path):
    served = Served(graph, tmp_path)
    worker = 0

    async def visit() -> None:
        nonlocal worker
        visitor = Visitor(served.base)
        running = await _start_query(visitor, UNSTOPPABLE, 300)
        worker = await asyncio.to_thread(_the_worker_of, served.process.pid)
        os.killpg(served.process.pid, signal.SIGTERM)  # kill -- -PGID
        running.cancel()
        await visitor.close()

    try:
        asyncio.run(visit())
        served.process.wait(60)
        _wait_for(lambda: not _alive(worker), 15, "the worker ended with the dashboard")
    finally:
        if worker:
            _stop_if_alive(worker)
        served.stop()


def test_a_query_whose_browser_has_gone_is_stopped_and_capacity_is_called_capacity(graph, tmp_path):
    served = Served(graph, tmp_path)
    workers: list[int] = []

    async def visit() -> None:
        first, second, third = (Visitor(served.base) for _ in range(3))
        # Two visitors run heavy queries at the page's maximum time...
        running = [
            await _start_query(first, UNSTOPPABLE, 300),
            await _start_query(second, UNSTOPPABLE, 300),
        ]

        def both() -> bool:
            workers[:] = _workers_under(served.process.pid)
            return len(workers) == 2

        await asyncio.to_thread(_wait_for, both, 60, "two console workers running")
        # ...a third visitor's RETURN 1 is refused at once, told it is capacity.
        await third.open("query")
        await third.type_text("Cypher", "RETURN 1 AS one")
        refused = await third.click("Run")
        alerts = [element.alert.body for element in refused.of_kind("alert")]
        assert alerts == ["Busy: 2 queries are running on this server; try again shortly."], (
            page_json(refused)
        )
        # The first visitor's browser goes away: their worker is stopped, the other runs on.
        running[0].cancel()
        await first.close()
        gone = workers[0] if _command(workers[0]) else workers[1]
        left = [pid for pid in workers if pid != gone]

        def one_left() -> bool:
            return len(_workers_under(served.process.pid)) == 1

        await asyncio.to_thread(_wait_for, one_left, 20, "the closed session's worker stopped")
        assert any(_alive(pid) for pid in left) or len(_workers_under(served.process.pid)) == 1
        # With a worker free again, the third visitor's query runs. (The worker's process ends
        # a moment before the closed session's script returns its slot: under load that moment
        # can be seconds, so the third visitor tries again as the message says.)
        deadline = time.monotonic() + 20
        answer = await third.click("Run")
        while "Busy:" in answer.text() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            answer = await third.click("Run")
        assert "1 row." in answer.text(), page_json(answer)
        running[1].cancel()
        await second.close()
        await third.close()

    try:
        asyncio.run(visit())
        _wait_for(
            lambda: not _workers_under(served.process.pid), 20, "every worker stopped at the end"
        )
        assert served.process.poll() is None  # the server itself carried on throughout
    finally:
        for pid in workers:
            _stop_if_alive(pid)
        served.stop()


def test_the_query_page_says_busy_when_the_servers_workers_are_taken(graph, monkeypatch):
    """AppTest, the page's own words: the console's real pool held by two other sessions."""
    page = _query_page(monkeypatch, graph)
    with WORKERS.slot("another-visitor", 1), WORKERS.slot("a-third-visitor", 1):
        page.text_area(key="query_text").set_value("RETURN 1 AS one")
        page.button[0].click().run()
    assert [w.value for w in page.warning] == [
        "Busy: 2 queries are running on this server; try again shortly."
    ]
    page.button[0].click().run()  # the workers are free again
    assert page.success[0].value == "1 row."


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no autogroup scheduling")
def test_a_program_run_lowly_yields_and_so_does_its_sessions_group() -> None:
    """Under autogroup scheduling a session is a group sharing the CPU as an equal of the
    server's whatever the nice inside it: a print's chromium (``lowly``) sets its group's."""
    from nestmap.workers import lowly

    shown = subprocess.run(
        lowly(["/bin/sh", "-c", "cat /proc/self/autogroup; nice"]),
        capture_output=True,
        text=True,
        start_new_session=True,
        timeout=60,
    )
    group, nice = shown.stdout.split("\n")[:2]
    assert group.endswith("nice 10") and nice == "10", shown
    # Not the leader of its session: the group (someone else's) is left alone.
    inside = subprocess.run(
        [
            sys.executable,
            "-c",
            "from nestmap.workers import lower_priority; lower_priority(5)"
            "; print(open('/proc/self/autogroup').read())",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert inside.stdout.strip() == Path("/proc/self/autogroup").read_text().strip()
