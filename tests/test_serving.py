"""Serving the dashboard to a network that may be hostile (issue 22).

DNS rebinding: a web page the user visits points a name of its own at 127.0.0.1 and talks to the
dashboard under that name. Real ``nestmap demo`` / ``nestmap dashboard`` processes are asked
with real HTTP requests and WebSocket handshakes carrying ``Host: evil.test``, and Debian's
chromium is told that ``evil.test`` is 127.0.0.1 (``--host-resolver-rules``), as a rebinding
page would make it. The demo's open editing holds only for a browser on this computer at a
loopback name. The editor secret's failed-guess budget is the server's, not a session's: eight
browser sessions guessing at once share it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from nestmap import serve
from nestmap.cli import app
from nestmap.dashboard import access

CHROMIUM = Path("/usr/bin/chromium")
GRANTS = (access.SECRET_FILE_ENV, access.SECRET_ENV, access.EMAILS_ENV, access.OPEN_ENV)
SECRET = "serving-test-editor-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _request(port: int, host: str, path: str = "/", method: str = "GET") -> tuple[int, bytes]:
    """One HTTP/1.1 request to 127.0.0.1:port with this ``Host`` header: (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            "Content-Length: 0\r\n\r\n".encode()
        )
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _handshake(port: int, host: str, origin: str | None = None) -> int:
    """The status of a WebSocket handshake on Streamlit's stream with this ``Host``."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /_stcore/stream HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: streamlit",
        *([f"Origin: {origin}"] if origin else []),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = connection.recv(4096).split(b"\r\n")[0]
    return int(status_line.split()[1])


class Served:
    """``nestmap ARGS --port P`` as a user starts it, stopped with SIGTERM as ``kill`` does."""

    def __init__(self, workdir: Path, *args: str, env: dict[str, str] | None = None):
        self.port = _free_port()
        clean = {key: value for key, value in os.environ.items() if key not in GRANTS}
        clean.pop(serve.HOSTS_ENV, None)
        clean.pop("NESTMAP_NEO4J_URI", None)
        self.log_path = workdir / "server.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nestmap.cli", *args, "--port", str(self.port)],
            cwd=workdir,
            env={**clean, **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.log_path.read_text())
            try:
                url = f"http://127.0.0.1:{self.port}/_stcore/health"
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("the server did not answer in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``nestmap demo`` on this computer, also answering to proxy.test (a proxy's name)."""
    workdir = tmp_path_factory.mktemp("demo")
    server = Served(
        workdir,
        "demo",
        "--db",
        str(workdir / "demo.lbug"),
        "--address",
        "127.0.0.1",
        "--allow-host",
        "proxy.test",
    )
    yield server
    server.stop()


# ---- real requests ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_foreign_host_is_refused_on_http_and_websocket(demo):
    port = demo.port
    for path, method in (
        ("/", "GET"),
        ("/data", "GET"),
        ("/_stcore/health", "GET"),
        ("/_stcore/host-config", "GET"),
        ("/_stcore/upload_file/session/file", "PUT"),
        ("/media/anything.bin", "GET"),
    ):
        status, body = _request(port, f"evil.test:{port}", path, method)
        assert status == 403, (path, status)
        assert b"does not answer to the name" in body
        assert b"<" not in body  # plain text: the Host is never echoed as markup
    assert _handshake(port, f"evil.test:{port}") == 403
    assert _handshake(port, f"evil.test:{port}", f"http://evil.test:{port}") == 403
    assert _handshake(port, f"EVIL.test.:{port}") == 403
    assert _handshake(port, f"user@localhost:{port}") == 403
    # The names it was started on, and the one its operator allowed, still work.
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", f"proxy.test:{port}"):
        assert _request(port, host, "/_stcore/health")[0] == 200, host
        assert _handshake(port, host, f"http://{host}") == 101, host
    # A cross-origin WebSocket stays refused (Streamlit's own check), as before.
    assert _handshake(port, f"localhost:{port}", f"http://evil.test:{port}") == 403


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                # What DNS rebinding achieves: these names lead to this computer.
                "--host-resolver-rules=MAP evil.test 127.0.0.1, MAP proxy.test 127.0.0.1",
            ],
        )
        yield browser
        browser.close()


def _page_text(browser, url: str, wanted: str) -> str:
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        tab.goto(url)
        tab.get_by_text(wanted).first.wait_for(state="visible")
        return tab.inner_text("body")
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.browser
def test_a_rebinding_page_cannot_reach_the_demo_and_only_this_computer_edits(demo, chromium):
    port = demo.port
    refused = _page_text(chromium, f"http://evil.test:{port}/data", "does not answer")
    assert "may change the map" not in refused and "Load a dataset" not in refused
    # Through a proxy's name the demo is read-only; at localhost anyone on this computer edits.
    proxied = _page_text(chromium, f"http://proxy.test:{port}/data", "read-only for you")
    assert "Anyone who can open this dashboard may change the map" not in proxied
    local = _page_text(chromium, f"http://localhost:{port}/data", "may change the map")
    assert "Anyone who can open this dashboard may change the map" in local


# ---- the editor secret: one budget for the server -----------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
def test_eight_sessions_share_one_guess_budget(tmp_path, chromium):
    from conftest import load_into

    from nestmap.api import seed_path

    load_into(tmp_path / "graph.lbug", seed_path()).close()
    server = Served(
        tmp_path,
        "dashboard",
        "--db",
        str(tmp_path / "graph.lbug"),
        "--address",
        "127.0.0.1",
        env={access.SECRET_ENV: SECRET},
    )
    try:
        # `nestmap dashboard` has the Host check too.
        assert _request(server.port, f"evil.test:{server.port}", "/data")[0] == 403
        assert _handshake(server.port, f"evil.test:{server.port}") == 403
        contexts = [chromium.new_context() for _ in range(9)]
        tabs = [context.new_page() for context in contexts]
        for tab in tabs:
            tab.set_default_timeout(90_000)
            tab.goto(f"http://127.0.0.1:{server.port}/data")
            tab.get_by_label("Your name (recorded with each change you make)").fill("Mallory")
        guessers, last = tabs[:8], tabs[8]
        for number, tab in enumerate(guessers):
            tab.get_by_label("Editor secret").fill(f"wrong guess {number}")
        for tab in guessers:  # all at once, as eight browsers would
            tab.get_by_role("button", name="Unlock editing").click(no_wait_after=True)
        said = []
        for tab in guessers:
            alert = tab.locator('[data-testid="stAlertContentError"]').first
            alert.wait_for(state="visible")
            said.append(alert.inner_text())
        wrong = [text for text in said if text.startswith("That is not the editor secret")]
        paused = [text for text in said if text.startswith("Unlocking is paused")]
        assert len(wrong) == access.MAX_FAILED_PER_ADDRESS, said
        assert len(paused) == 8 - access.MAX_FAILED_PER_ADDRESS, said
        assert all("What you typed was not checked" in text for text in paused)
        # Now even the right secret is not compared: guessing learns nothing more.
        last.get_by_label("Editor secret").fill(SECRET)
        last.get_by_role("button", name="Unlock editing").click()
        alert = last.locator('[data-testid="stAlertContentError"]').first
        alert.wait_for(state="visible")
        assert "Unlocking is paused" in alert.inner_text()
        assert "You can change the map" not in last.inner_text("body")
        for context in contexts:
            context.close()
    finally:
        server.stop()


def test_the_budget_is_per_address_and_per_server():
    guesses = access.Guesses(delay_s=0)
    right = b"the right secret"
    for attempt in range(access.MAX_FAILED_PER_ADDRESS):
        said = guesses.check("192.0.2.1", b"wrong %d" % attempt, right)
        assert said is not None and said.startswith("That is not the editor secret")
    said = guesses.check("192.0.2.1", right, right)
    assert said is not None and "from your address" in said and "not checked" in said
    # Another address still has its own budget, and the right secret works there.
    assert guesses.check("192.0.2.2", right, right) is None
    # Wrong guesses from many addresses spend the server's budget: then nobody is checked.
    for number in range(access.MAX_FAILED_PER_SERVER - access.MAX_FAILED_PER_ADDRESS):
        guesses.check(f"198.51.100.{number}", b"wrong", right)
    said = guesses.check("203.0.113.7", right, right)
    assert said is not None and "on this server" in said and "not checked" in said
    # The window passes: guesses are checked again.
    guesses.window_s = 0
    assert guesses.check("203.0.113.7", right, right) is None


def test_guesses_from_many_threads_are_checked_one_at_a_time():
    """The budget holds when sessions (threads of one server) guess at the same moment."""
    from concurrent.futures import ThreadPoolExecutor

    guesses = access.Guesses(delay_s=0.01)
    with ThreadPoolExecutor(16) as pool:
        said = list(pool.map(lambda n: guesses.check("x", b"%d" % n, b"secret!!"), range(64)))
    assert sum(text.startswith("That is not") for text in said) == access.MAX_FAILED_PER_ADDRESS
    assert sum(text.startswith("Unlocking is paused") for text in said) == 64 - 5


# ---- the command line ---------------------------------------------------------------------------


def test_the_server_is_told_its_names(seed_db_path, started, monkeypatch):
    result = CliRunner().invoke(app, ["dashboard", "--db", seed_db_path])
    assert result.exit_code == 0, result.output
    names = started["env"][serve.HOSTS_ENV].split(",")
    assert names == ["127.0.0.1", "::1", "localhost"]
    assert started["command"][4].endswith("served_app.py")
    assert "answers to 127.0.0.1, ::1, localhost only" in result.output
    monkeypatch.setenv(serve.HOSTS_ENV, "maps.example.org, *.corp.example")
    result = CliRunner().invoke(
        app, ["dashboard", "--db", seed_db_path, "--allow-host", "Proxy.Example.ORG."]
    )
    assert result.exit_code == 0, result.output
    names = started["env"][serve.HOSTS_ENV].split(",")
    assert {"proxy.example.org", "maps.example.org", "*.corp.example"} <= set(names)
    # Streamlit's own WebSocket check is given the same names.
    command = started["command"]
    given = [command[i + 1] for i, part in enumerate(command) if part == "--server.allowedHosts"]
    assert given == names


@pytest.mark.parametrize(
    "bad", ["http://evil.test/", "evil.test:8501", "a b/c", "*", "ev*l.test", "user@host"]
)
def test_a_bad_allowed_host_is_a_usage_error(seed_db_path, started, bad):
    result = CliRunner().invoke(app, ["demo", "--db", seed_db_path, "--allow-host", bad])
    assert result.exit_code == 2, result.output
    assert "--allow-host" in result.output and "command" not in started


def test_a_short_secret_in_the_environment_is_refused_like_a_short_file(
    seed_db_path, started, monkeypatch
):
    monkeypatch.setenv(access.SECRET_ENV, "ab")
    result = CliRunner().invoke(app, ["dashboard", "--db", seed_db_path])
    assert result.exit_code == 2
    assert "NESTMAP_EDITOR_SECRET is too short: use at least 8 characters" in result.output
    # A server started some other way with it grants nothing.
    access._grant.cache_clear()
    assert access._grant("", "ab", "", "").read_only
    assert access._grant("", "abcdefgh", "", "").mode == "secret"


def test_served_names_for_every_interface_include_this_computer():
    names = serve.served_names("0.0.0.0")
    assert {"localhost", "127.0.0.1", "::1", socket.gethostname().lower()} <= set(names)
    assert serve.served_names("192.0.2.10") == ["127.0.0.1", "192.0.2.10", "::1", "localhost"]
    assert "2001:db8::5" in serve.served_names("[2001:DB8::5]")


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost:8501", True),
        ("LOCALHOST.", True),
        ("[::1]:8501", True),
        ("maps.corp.example", True),
        ("corp.example", False),
        ("evil.test", False),
        ("localhost.evil.test", False),
        ("localhost:99999", False),
        ("localhost/x", False),
        ("user@localhost", False),
        ("", False),
        (None, False),
    ],
)
def test_host_allowed(host, allowed):
    names = [*serve.LOOPBACK_NAMES, "*.corp.example"]
    assert serve.host_allowed(host, names) is allowed


def test_the_host_check_answers_before_the_app():
    """As ASGI: a refused request never reaches the app behind the check."""
    reached: list[str] = []

    async def inner(scope, receive, send):
        reached.append(scope["type"])

    check = serve.HostCheck(inner, ["localhost"])
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {}

    async def run() -> None:
        for kind, host in (("http", b"evil.test"), ("websocket", b"evil.test")):
            await check({"type": kind, "headers": [(b"host", host)]}, receive, send)
        # Two Host headers are one too many.
        twice = [(b"host", b"localhost"), (b"host", b"evil.test")]
        await check({"type": "http", "headers": twice}, receive, send)
        await check({"type": "http", "headers": [(b"host", b"localhost:1")]}, receive, send)
        await check({"type": "lifespan"}, receive, send)

    # In a thread of its own: a browser fixture of this module keeps an event loop running in
    # the test's thread.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()
    assert reached == ["http", "lifespan"]
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [403, 403]
    assert {"type": "websocket.close", "code": 1008} in sent


@pytest.fixture(scope="module")
def seed_db_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    from conftest import load_into

    from nestmap.api import seed_path

    db = tmp_path_factory.mktemp("seed") / "graph.lbug"
    load_into(db, seed_path()).close()
    return str(db)
