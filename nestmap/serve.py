"""Run the Streamlit child of ``nestmap dashboard``/``demo`` so that it ends with its parent,
answering only to the names it was started on.

Streamlit runs in a child process (``streamlit run``). Ctrl+C reaches both through the
terminal's process group, but ``kill PID`` (SIGTERM), a closed terminal (SIGHUP) or a service
manager reaches only the parent; without care the child keeps serving on its port. So the
parent stops the child on those signals and on any way out, and on Linux the child is also
told to stop if the parent dies without a chance to (SIGKILL).

DNS rebinding: a web page the user visits can point a name of its own (``evil.test``) at
127.0.0.1 and then talk to the dashboard as a page of that name, past the browser's same-origin
rule. Only the ``Host`` header tells such a request apart, so the server refuses, on every HTTP
request and WebSocket handshake (``HostCheck``), a ``Host`` that is not a name or address it was
started on (``served_names``) or one its operator named (``--allow-host``, for a proxy).
"""

from __future__ import annotations

import errno
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from nestmap.errors import UsageError
from nestmap.workers import ask_death_signal

STOP_GRACE_S = 10.0

# What every server answers to on this computer (its loopback interface).
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# The names and addresses the dashboard server answers to besides LOOPBACK_NAMES
# (comma-separated; ``*.example.org`` for every name under one domain). ``nestmap dashboard``
# and ``nestmap demo`` add those they were started on, and the operator's --allow-host.
HOSTS_ENV = "NESTMAP_ALLOWED_HOSTS"
# The shortest editor secret a server accepts (from a file or $NESTMAP_EDITOR_SECRET).
MIN_SECRET_CHARS = 8
# Addresses that mean "every interface of this computer".
_EVERY_INTERFACE = frozenset({"", "0.0.0.0", "::", "[::]", "*"})


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
    ask_death_signal(signal.SIGTERM)  # Streamlit stops cleanly on SIGTERM


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


# ---- the Host check (DNS rebinding) ----------------------------------------------------------


def host_name(host: str | None) -> str | None:
    """The name in a ``Host`` header value, lower case without port or trailing dot; None when
    the value is not a plain ``name[:port]`` (a user, a path, a bad port)."""
    if not host:
        return None
    try:
        parts = urlsplit(f"//{host.strip()}")
        _ = parts.port  # a port that is not a number in range raises ValueError
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or parts.path or parts.query:
        return None
    if parts.fragment or not parts.hostname:
        return None
    return parts.hostname.lower().rstrip(".")


def host_allowed(host: str | None, names: Iterable[str]) -> bool:
    """Whether a ``Host`` header names one of ``names`` (``*.example.org``: any name under
    example.org)."""
    name = host_name(host)
    if name is None:
        return False
    for allowed in names:
        pattern = allowed.strip().lower().rstrip(".")
        if pattern.startswith("*."):
            if name.endswith(pattern[1:]):
                return True
        elif name == pattern:
            return True
    return False


def parse_names(text: str) -> list[str]:
    """Names from an option or ``HOSTS_ENV`` (commas or spaces between them)."""
    return [name for name in text.replace(",", " ").split() if name]


def check_names(names: Iterable[str]) -> list[str]:
    """The operator's extra names (``--allow-host``), each a host name or address, or
    ``*.domain``; a UsageError names one that is not."""
    checked = []
    for name in names:
        wildcard = name.startswith("*.")
        bare = name[2:] if wildcard else name
        if ":" in bare and not bare.startswith("["):
            bare = f"[{bare}]"  # an IPv6 address
        plain = host_name(bare)
        if plain is None or "*" in bare or urlsplit(f"//{bare}").port is not None:
            raise UsageError(
                f"--allow-host {name!r}: give a host name or address (e.g. nestmap.example.org, "
                "*.example.org or 192.0.2.10), without a scheme, port or path"
            )
        checked.append(f"*.{plain}" if wildcard else plain)
    return checked


def served_names(address: str, extra: Iterable[str] = ()) -> list[str]:
    """The names and addresses a server listening on ``address`` answers to: the address itself
    (and this computer's loopback names), for every interface (``0.0.0.0``, ``::``) also this
    computer's host names and the addresses they resolve to; then ``extra``. Sorted."""
    bare = address.strip().strip("[]").lower()
    names = set(LOOPBACK_NAMES)
    if bare in _EVERY_INTERFACE:
        names |= _this_computer()
    else:
        names.add(bare)
    names.update(extra)
    return sorted(names)


def _this_computer() -> set[str]:
    """This computer's names and the addresses they resolve to (what a colleague types)."""
    found: set[str] = set()
    for name in {socket.gethostname(), socket.getfqdn()}:
        if not name:
            continue
        found.add(name.lower().rstrip("."))
        try:
            infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except OSError:
            continue
        found.update(str(info[4][0]).split("%")[0].lower() for info in infos)
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        # The address outgoing traffic would leave from (connecting UDP sends nothing).
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as udp:
                udp.connect((probe, 9))
                found.add(str(udp.getsockname()[0]).split("%")[0].lower())
        except OSError:
            continue
    return found


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REFUSED_HOST = (
    b"This nestmap dashboard does not answer to the name in this request's Host header, so "
    b"the request was refused (a guard against DNS rebinding). Open it at the address it was "
    b"started on; whoever runs it can add a name with --allow-host.\n"
)


class HostCheck:
    """ASGI middleware: an HTTP request or WebSocket handshake whose ``Host`` is not one of
    ``names`` gets 403 and reaches nothing behind it."""

    def __init__(self, app: ASGIApp, names: Iterable[str]):
        self.app = app
        self.names = tuple(names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not host_allowed(
            _header(scope, b"host"), self.names
        ):
            if scope["type"] == "websocket":
                # Closing before accepting refuses the handshake (403).
                await send({"type": "websocket.close", "code": 1008})
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(REFUSED_HOST)).encode()),
                        (b"x-content-type-options", b"nosniff"),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": REFUSED_HOST})
            return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    """One header of a request; None when it is missing or given more than once."""
    found = [value for key, value in scope.get("headers") or () if key.lower() == name]
    return found[0].decode("latin-1") if len(found) == 1 else None
