"""Run the Streamlit child of ``nestmap dashboard``/``demo`` so that it ends with its parent.

Streamlit runs in a child process (``streamlit run``). Ctrl+C reaches both through the
terminal's process group, but ``kill PID`` (SIGTERM), a closed terminal (SIGHUP) or a service
manager reaches only the parent; without care the child keeps serving on its port. So the
parent stops the child on those signals and on any way out, and on Linux the child is also
told to stop if the parent dies without a chance to (SIGKILL).
"""

from __future__ import annotations

import errno
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nestmap.errors import UsageError

STOP_GRACE_S = 10.0
_PR_SET_PDEATHSIG = 1


class _Stopped(Exception):
    """The parent was asked to stop (SIGTERM, SIGHUP)."""


def port_is_free(address: str, port: int) -> bool:
    """Whether ``port`` can be listened on at ``address`` (as Tornado would: SO_REUSEADDR,
    so a port left in TIME_WAIT by an earlier run counts as free)."""
    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return True  # an unknown address is Streamlit's to report
    for family, kind, proto, _name, where in infos:
        with socket.socket(family, kind, proto) as probe:
            if sys.platform != "win32":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(where)
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    return False
    return True


def check_port(address: str, port: int) -> None:
    """UsageError naming ``--port`` when the port is taken."""
    if not port_is_free(address, port):
        raise UsageError(
            f"port {port} on {address} is already in use (another dashboard?); "
            f"choose another with --port, e.g. --port {port + 1}"
        )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@contextmanager
def _stop_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``_Stopped`` in this (main) thread while inside."""

    def stop(signum: int, _frame: Any) -> None:
        raise _Stopped(signum)

    wanted = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {signum: signal.signal(signum, stop) for signum in wanted}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def answer_ctrl_c() -> None:
    """Let Ctrl+C (SIGINT) stop this process again: a shell starts a background job (``nestmap
    demo &``, or one from a script) with SIGINT ignored, Python keeps it ignored, and the
    Streamlit child would inherit that too - neither Ctrl+C nor ``kill -INT`` would stop them.
    Python's own handler (KeyboardInterrupt) stops the child on the way out; the child, started
    after this, has SIGINT at its default again."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def stop_child(process: subprocess.Popen[bytes]) -> None:
    """Terminate the child, and kill it if it has not gone after ``STOP_GRACE_S``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_child(command: list[str], env: dict[str, str]) -> int | None:
    """Run ``command`` until it ends (its exit code) or this process is asked to stop (None);
    the child never outlives the call."""
    linux = sys.platform.startswith("linux")
    process = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent if linux else None)
    try:
        with _stop_signals():
            return process.wait()
    except (KeyboardInterrupt, _Stopped):
        return None
    finally:
        stop_child(process)
