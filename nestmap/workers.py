"""Worker processes that cannot outlive, out-run or outgrow the process that started them.

Work a visitor can make expensive (a console query, mapping an Open Referral directory) runs in
``python -m MODULE``, one process per action, started by ``run_worker`` with ``Limits``:

- the wall time: the worker says ``ready`` on its first line once it has started, and is killed
  ``GRACE_S`` after ``timeout_s`` from then (a slow start has its own ``startup_s``);
- CPU time the kernel enforces (``RLIMIT_CPU``), for work nothing can interrupt: the worker gets
  SIGXCPU at ``cpu_s`` and SIGKILL two seconds later, whatever it is doing;
- memory: its address space (``RLIMIT_AS``), so an allocation beyond it fails in the worker;
- a lower CPU priority (``nice``), so the pages the server answers meanwhile come first;
- it dies with its parent: on Linux the kernel kills it when the thread that started it ends
  (``PR_SET_PDEATHSIG``; that thread always waits for it here), elsewhere a thread in the worker
  ends it once its parent has gone. ``kill PID`` of a command or ``kill -- -PGID`` of a
  dashboard leaves no worker behind;
- ``heartbeat()`` is called about every ``POLL_S`` while it runs: whatever it raises (the
  visitor's browser session has gone, or they pressed Stop) kills the worker and goes on up.

The worker calls ``start_worker(request)`` first thing: the request carries its limits.
``call_in_worker(name, arguments, limits)`` runs one of the functions named in ``CALLS`` that
way (``python -m nestmap.workers``): its JSON answer comes back, an InputError or other
NestmapError it raised is raised again here with its message and problems.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

POLL_S = 0.25
# What ``call_in_worker`` may run: name -> "module:function" (keyword arguments and answer:
# JSON values). Nothing else can be asked of ``python -m nestmap.workers``.
CALLS = {"map_oruk_upload": "nestmap.interop.oruk_upload:map_upload"}
ANSWER_BYTES = 64 * 2**20
GRACE_S = 1.0
# The CPU-time limit's hard bound follows its soft one by this much (SIGXCPU, then SIGKILL).
CPU_HARD_AFTER_S = 2
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    """What one worker may use (see the module's docstring)."""

    timeout_s: float
    cpu_s: float
    memory_bytes: int | None = None
    nice: int = 10
    startup_s: float = 30.0  # starting Python and the worker's imports, on a busy machine


@dataclass(frozen=True)
class Finished:
    """How a worker ended: its exit code (negative: the signal that ended it), what it wrote,
    and whether it was killed for its wall time."""

    code: int
    out: bytes
    err: bytes
    timed_out: bool

    def answer_lines(self) -> list[str]:
        """Its stdout's lines after the ``ready`` line, split on "\\n" only: text in an answer
        may hold U+2028 or U+0085, which ``str.splitlines()`` would also split on."""
        lines = self.out.decode("utf-8", "replace").rstrip("\n").split("\n")
        return lines[1:] if lines and lines[0] == "ready" else lines

    def signal_name(self) -> str:
        number = -self.code
        return signal.Signals(number).name if number in signal.valid_signals() else str(number)

    @property
    def over_cpu(self) -> bool:
        """Ended by the kernel's CPU-time limit (its soft bound's signal ends a Python worker;
        the hard bound's SIGKILL, should that signal be caught, is not told apart)."""
        return self.code == -signal.SIGXCPU


# -- in the parent -------------------------------------------------------------------------------


class _Collector(threading.Thread):
    """Read a pipe to its end in the background (bounded), noting when the first line came."""

    def __init__(self, stream: Any, cap: int):
        super().__init__(daemon=True)
        self.stream = stream
        self.cap = cap
        self.first_line = threading.Event()
        self.data = bytearray()

    def run(self) -> None:
        first = self.stream.readline()
        self.data += first[: self.cap]
        self.first_line.set()
        while chunk := self.stream.read(65536):
            if len(self.data) < self.cap:
                self.data += chunk[: self.cap - len(self.data)]
        self.stream.close()


def run_worker(
    module: str,
    request: dict[str, Any],
    limits: Limits,
    out_cap: int,
    heartbeat: Callable[[], None] | None = None,
) -> Finished:
    """Run ``python -m module`` on ``request`` (JSON on its stdin) within ``limits``; how it
    ended. The worker never outlives the call: an exception here (``heartbeat``'s included)
    kills it first."""
    process = subprocess.Popen(
        [sys.executable, "-m", module],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # Ctrl-C in a terminal reaches us, and we end the worker
    )
    out = _Collector(process.stdout, out_cap)
    err = _Collector(process.stderr, 64 * 1024)
    out.start()
    err.start()
    timed_out = False
    try:
        assert process.stdin is not None
        document = {**request, "parent_pid": os.getpid(), "limits": asdict(limits)}
        process.stdin.write(json.dumps(document).encode())
        process.stdin.close()
        deadline = time.monotonic() + limits.startup_s
        ready = False
        while True:
            if not ready and out.first_line.is_set() and out.data.startswith(b"ready"):
                # The action's clock starts once the worker has started.
                ready = True
                deadline = time.monotonic() + limits.timeout_s + GRACE_S
            try:
                process.wait(POLL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() > deadline:
                timed_out = True
                break
            if heartbeat is not None:
                heartbeat()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        out.join(5)
        err.join(5)
    return Finished(process.returncode, bytes(out.data), bytes(err.data), timed_out)


def call_in_worker(
    name: str,
    arguments: dict[str, Any],
    limits: Limits,
    heartbeat: Callable[[], None] | None = None,
) -> Any:
    """``CALLS[name](**arguments)`` in a worker within ``limits``; its answer. A worker stopped
    for its limits: WorkerStoppedError saying which."""
    from nestmap.errors import InputError, NestmapError, Problem, WorkerStoppedError

    finished = run_worker(
        "nestmap.workers", {"call": name, "arguments": arguments}, limits, ANSWER_BYTES, heartbeat
    )
    if finished.timed_out:
        raise WorkerStoppedError(f"stopped: it took longer than its {limits.timeout_s:g} s")
    lines = finished.answer_lines()
    document = None
    if finished.code == 0 and lines:
        try:
            document = json.loads(lines[-1])
        except json.JSONDecodeError:
            document = None
    if document is None:
        problem = finished.err.decode("utf-8", "replace")
        if finished.over_cpu:
            raise WorkerStoppedError(
                f"stopped: over its CPU-time limit ({limits.cpu_s:g} s of processor time)"
            )
        if "MemoryError" in problem or "bad_alloc" in problem:
            raise WorkerStoppedError(f"stopped: over its memory limit ({_mb(limits)})")
        raise WorkerStoppedError(f"its worker process failed (exit {finished.code})")
    status = document.get("status")
    if status == "ok":
        return document["answer"]
    if status == "memory":
        raise WorkerStoppedError(f"stopped: over its memory limit ({_mb(limits)})")
    if status == "input":
        problems = [Problem(**problem) for problem in document["problems"]]
        error = InputError(
            problems, document["what"], counting_stopped=document["counting_stopped"]
        )
        error.total = int(document["total"])
        error.more = error.total - len(error.problems)
        raise error
    raise NestmapError(str(document.get("message", "")))


def _mb(limits: Limits) -> str:
    return f"{(limits.memory_bytes or 0) // 2**20:,} MB"


# -- in the worker -------------------------------------------------------------------------------


def start_worker(request: dict[str, Any]) -> None:
    """First thing in a worker: die with the parent, then take on the request's limits."""
    bind_to_parent(int(request["parent_pid"]))
    limits = Limits(**request["limits"])
    limit_self(limits.cpu_s, limits.memory_bytes, limits.nice)


def bind_to_parent(parent_pid: int) -> None:
    """End this process when ``parent_pid`` ends (see the module's docstring)."""
    if _death_signal_from(parent_pid):
        return
    if sys.platform != "win32":  # (no reparenting there to notice)
        watch_parent(parent_pid)


def watch_parent(parent_pid: int) -> None:
    """End this process (in a thread of its own) once ``parent_pid`` is no longer its parent:
    a process whose parent dies is handed to another (init, or a subreaper)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(POLL_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="nestmap-parent-watch").start()


def _death_signal_from(parent_pid: int) -> bool:
    """Linux: the kernel kills this process when its parent ends (SIGKILL; kept across exec);
    whether that was set up. Ends this process now if the parent has already gone (the signal
    would then never come)."""
    if not (sys.platform.startswith("linux") and ask_death_signal(signal.SIGKILL)):
        return False
    if os.getppid() != parent_pid:
        os._exit(1)
    return True


def ask_death_signal(signum: int) -> bool:
    """Linux: have the kernel send this process ``signum`` when the thread that started it
    ends; whether it was set up."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, signum) == 0)
    except (OSError, AttributeError):
        return False


def limit_self(cpu_s: float | None, memory_bytes: int | None, nice: int = 0) -> None:
    """CPU time (SIGXCPU at ``cpu_s``, SIGKILL two seconds later), address space, priority."""
    if sys.platform == "win32":  # pragma: no cover - POSIX limits
        return
    import resource

    # SIGXCPU's default action also writes a core file (into the server's folder): none.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if cpu_s:
        soft = max(1, int(cpu_s + 0.999))
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + CPU_HARD_AFTER_S))
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    if nice:
        lower_priority(nice)


def lower_priority(nice: int) -> None:
    """``nice`` this process, and its session's scheduling group when it leads a session of its
    own: under Linux's autogroup scheduling (the default on desktops and many servers) each
    session is a group the kernel gives an equal share of the CPU whatever the nice values
    inside it, so a worker in its own session would otherwise compete with the whole server as
    an equal. A process in someone else's session leaves the group alone (it would lower
    theirs)."""
    with contextlib.suppress(OSError, AttributeError):  # at least ``nice``, never twice
        now = os.getpriority(os.PRIO_PROCESS, 0)
        if now < nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
    if not hasattr(os, "getsid") or os.getsid(0) != os.getpid():
        return
    with contextlib.suppress(OSError):
        with open("/proc/self/autogroup", "w", encoding="ascii") as group:
            group.write(str(nice))


def say_ready() -> None:
    """The worker has started: the parent starts the action's clock."""
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def answer(document: dict[str, Any]) -> None:
    """The worker's one answer, a JSON line on stdout."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _call(request: dict[str, Any]) -> dict[str, Any]:
    """Run the request's call; its answer, or what it raised, as a JSON document."""
    import importlib

    from nestmap.errors import InputError, NestmapError

    module, _, function = CALLS[request["call"]].partition(":")
    target = getattr(importlib.import_module(module), function)
    say_ready()
    try:
        return {"status": "ok", "answer": target(**request["arguments"])}
    except MemoryError:
        return {"status": "memory"}
    except InputError as exc:
        return {
            "status": "input",
            "what": exc.what,
            "total": exc.total,
            "counting_stopped": exc.counting_stopped,
            "problems": [problem.as_dict() for problem in exc.problems],
        }
    except NestmapError as exc:
        return {"status": "error", "message": str(exc)}


def lowly(command: list[str], nice: int = 10) -> list[str]:
    """``command`` run as a worker runs, for a program that is not Python (chromium printing a
    PDF): started in a session of its own (``Popen(..., start_new_session=True)``) with the
    result, it dies with the thread that started it and yields the CPU (``lower_priority``,
    its session's group included) before the program starts."""
    return [
        sys.executable,
        "-m",
        "nestmap.workers",
        "--exec",
        str(os.getpid()),
        str(nice),
        *command,
    ]


def _exec(parent_pid: int, nice: int, command: list[str]) -> None:
    _death_signal_from(parent_pid)  # (a watching thread, elsewhere, would not survive exec)
    lower_priority(nice)
    os.execv(command[0], command)


def main() -> None:
    if sys.argv[1:2] == ["--exec"]:
        _exec(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
    request = json.loads(sys.stdin.read())
    start_worker(request)
    try:
        document = _call(request)
    except MemoryError:
        document = {"status": "memory"}
    answer(document)


if __name__ == "__main__":
    main()
