"""Who may change the map from the dashboard (load, rollback; later, edits).

The dashboard is served to teams, and anyone who can open it is untrusted: it is read-only
unless the server was started with a grant. ``nestmap dashboard`` / ``nestmap demo`` pass the
grant to the Streamlit server as environment variables:

- ``NESTMAP_EDITOR_SECRET_FILE`` (``--editor-secret-file PATH``) or ``NESTMAP_EDITOR_SECRET``: a
  shared editor secret. A user types it (and their name, recorded with each change) on the Data
  page to unlock editing for their own session; it is compared in constant time and never shown
  or put in a URL.
- ``NESTMAP_EDITOR_EMAILS`` (``--editor-email``, repeatable; ``*`` for anyone signed in):
  sign-in through Streamlit's OpenID Connect support (``st.login``, configured by an ``[auth]``
  section in ``.streamlit/secrets.toml``); a signed-in user on the list edits as their e-mail.
- ``NESTMAP_OPEN_EDITING=1``: anyone who opens the page on this computer may edit (``nestmap
  demo`` on the loopback address); changes are recorded as the server's OS user. A session
  counts as on this computer when its browser reached the server by a loopback name
  (``localhost``, ``127.0.0.1``, ``[::1]``: the ``Host`` header) from a loopback address; any
  other (a name the operator allowed for a proxy) is read-only.

Guessing the secret is bounded for the whole server process, not per session (a session is
free to open): every check waits its turn, a wrong one costs a second, and after
``MAX_FAILED_PER_ADDRESS`` wrong secrets from one client address, or ``MAX_FAILED_PER_SERVER``
from all, in ``GUESS_WINDOW_S``, unlocking is paused and what is typed is not even compared.

The API for pages: ``grant()``, ``editor()`` (who is editing in this session, or None),
``can_edit()``, ``controls()`` (the unlock / sign-in / lock widgets with an explanation) and
``require_editor()`` (who to record for a change; raises when the session may not edit).
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import streamlit as st

from nestmap.dashboard.text import md
from nestmap.errors import NestmapError
from nestmap.serve import LOOPBACK_NAMES, MIN_SECRET_CHARS, host_allowed

SECRET_FILE_ENV = "NESTMAP_EDITOR_SECRET_FILE"
SECRET_ENV = "NESTMAP_EDITOR_SECRET"
EMAILS_ENV = "NESTMAP_EDITOR_EMAILS"
OPEN_ENV = "NESTMAP_OPEN_EDITING"
ANY_SIGNED_IN = "*"

_SESSION_KEY = "nestmap_editor"
# A wrong secret holds the server's one checking turn this long: at most one wrong guess a
# second for the whole server, however many sessions guess at once.
_WRONG_SECRET_DELAY_S = 1.0
# Wrong secrets allowed in GUESS_WINDOW_S from one client address, and from all together.
GUESS_WINDOW_S = 15 * 60
MAX_FAILED_PER_ADDRESS = 5
MAX_FAILED_PER_SERVER = 20
_MAX_NAME = 80


class NotAnEditor(NestmapError):
    """This session may not change the map."""

    exit_code = 2


@dataclass(frozen=True)
class Grant:
    """How this server lets people change the map."""

    # "read_only", "secret", "sign_in" or "open"
    mode: str
    secret: bytes = b""
    editor_emails: frozenset[str] = frozenset()
    # Who an open server records as the editor (its OS user).
    open_editor: str = ""

    @property
    def read_only(self) -> bool:
        return self.mode == "read_only"


def grant() -> Grant:
    """This server's grant, read from its environment (see the module's docstring)."""
    return _grant(
        os.environ.get(SECRET_FILE_ENV, ""),
        os.environ.get(SECRET_ENV, ""),
        os.environ.get(EMAILS_ENV, ""),
        os.environ.get(OPEN_ENV, ""),
    )


@lru_cache(maxsize=8)
def _grant(secret_file: str, secret: str, emails: str, open_editing: str) -> Grant:
    if secret_file:
        try:
            secret = Path(secret_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            secret = ""  # unreadable: no way in (the CLI checks the file before starting)
        return _secret_grant(secret)
    if secret.strip():
        return _secret_grant(secret.strip())
    allowed = frozenset(e.strip().lower() for e in emails.split(",") if e.strip())
    if allowed:
        return Grant("sign_in", editor_emails=allowed)
    if open_editing == "1":
        from nestmap.api import os_user

        return Grant("open", open_editor=f"{os_user()} (nestmap demo)")
    return Grant("read_only")


def _secret_grant(secret: str) -> Grant:
    """A secret too short to guess slowly grants nothing (the CLI refuses to start with one)."""
    if len(secret) < MIN_SECRET_CHARS:
        return Grant("read_only")
    return Grant("secret", secret=secret.encode("utf-8"))


def on_this_computer() -> bool:
    """Whether this session's browser is on this computer: it reached the server by a loopback
    name (its ``Host`` header) from a loopback address. A run with no browser behind it (a test
    of the pages) has neither header nor address, and no visitor."""
    headers = st.context.headers
    if not headers:
        return True
    if st.context.ip_address is not None:  # Streamlit gives None for a loopback address
        return False
    return host_allowed(headers.get("Host"), LOOPBACK_NAMES)


def editor() -> str | None:
    """Who is editing in this session (a name or e-mail), or None when it may not edit."""
    current = grant()
    if current.mode == "open":
        return current.open_editor if on_this_computer() else None
    if current.mode == "secret":
        unlocked = st.session_state.get(_SESSION_KEY)
        return unlocked if isinstance(unlocked, str) else None
    if current.mode == "sign_in":
        return _signed_in_editor(current)
    return None


def can_edit() -> bool:
    return editor() is not None


def require_editor() -> str:
    """Who to record for a change made now; raises NotAnEditor if this session may not edit."""
    who = editor()
    if who is None:
        raise NotAnEditor("this dashboard is read-only for you: changing the map needs an editor")
    return who


def _sign_in_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all (Streamlit raises its own error type)
        return False


def _signed_in_editor(current: Grant) -> str | None:
    if not _sign_in_configured() or not st.user.is_logged_in:
        return None
    email = str(st.user.get("email") or "").strip().lower()
    if email and (ANY_SIGNED_IN in current.editor_emails or email in current.editor_emails):
        return email
    return None


def controls() -> None:
    """Say who may change the map here, with the way in (or out) for this session."""
    current = grant()
    who = editor()
    if current.mode == "read_only":
        st.info(
            "This dashboard is read-only: you can explore and download everything, but not "
            "change the map. Whoever runs it can allow editors when starting it "
            "(`nestmap dashboard --editor-secret-file PATH`, or sign-in with "
            "`--editor-email`)."
        )
        return
    if current.mode == "open":
        if who is None:
            st.info(
                "This dashboard is read-only for you: the demo lets only a browser on the "
                "computer running it change the map, opened at `localhost`."
            )
            return
        st.warning(
            f"Anyone who can open this dashboard may change the map (`nestmap demo` on this "
            f"computer). Changes are recorded as {md(who)}."
        )
        return
    if who is not None:
        line = st.container(horizontal=True)
        line.success(f"You can change the map; changes are recorded as **{md(who)}**.")
        if current.mode == "secret":
            line.button("Stop editing", on_click=_lock, key="access_lock")
        elif hasattr(st, "logout"):
            line.button("Sign out", on_click=st.logout, key="access_logout")
        return
    if current.mode == "secret":
        _secret_form()
    else:
        _sign_in(current)


def _lock() -> None:
    st.session_state.pop(_SESSION_KEY, None)


def _secret_form() -> None:
    st.info("The map is read-only until you unlock editing with the editor secret.")
    with st.form("access_unlock", clear_on_submit=True):
        name = st.text_input(
            "Your name (recorded with each change you make)",
            max_chars=_MAX_NAME,
            key="access_name",
        ).strip()
        secret = st.text_input(
            "Editor secret", type="password", max_chars=1024, key="access_secret"
        )
        submitted = st.form_submit_button("Unlock editing", key="access_unlock_button")
    if not submitted:
        return
    if not name:
        st.error("Give your name: it is recorded with each change.")
        return
    refusal = GUESSES.check(_client_address(), secret.encode("utf-8"), grant().secret)
    if refusal:
        st.error(refusal)
        return
    st.session_state[_SESSION_KEY] = name
    st.rerun()


def _client_address() -> str:
    """Whom a guess is counted against: the browser's address (behind a proxy, the proxy's,
    so every guess through it shares one budget); None from Streamlit means this computer."""
    return st.context.ip_address or "this computer"


@dataclass
class Guesses:
    """The failed-guess budget of this server process (one for every session)."""

    window_s: float = GUESS_WINDOW_S
    per_address: int = MAX_FAILED_PER_ADDRESS
    per_server: int = MAX_FAILED_PER_SERVER
    delay_s: float = _WRONG_SECRET_DELAY_S
    # (when, client address) of each wrong secret in the window, oldest first.
    failed: deque[tuple[float, str]] = field(default_factory=deque)
    # One check at a time: a wrong one holds it for ``delay_s``.
    turn: threading.Lock = field(default_factory=threading.Lock)

    def check(self, address: str, typed: bytes, expected: bytes) -> str | None:
        """None when ``typed`` is the secret; otherwise what to tell the user. While the
        address's or the server's budget is spent, nothing typed is compared at all."""
        with self.turn:
            now = time.monotonic()
            while self.failed and self.failed[0][0] <= now - self.window_s:
                self.failed.popleft()
            mine = [when for when, who in self.failed if who == address]
            if len(mine) >= self.per_address:
                return self._paused(
                    f"{len(mine)} wrong editor secrets were tried from your address", mine[0]
                )
            if len(self.failed) >= self.per_server:
                return self._paused(
                    f"{len(self.failed)} wrong editor secrets were tried on this server (from "
                    "any browser)",
                    self.failed[0][0],
                )
            if expected and hmac.compare_digest(typed, expected):
                self.failed = deque(entry for entry in self.failed if entry[1] != address)
                return None
            self.failed.append((now, address))
            time.sleep(self.delay_s)
            return (
                f"That is not the editor secret. Wrong secrets are limited to "
                f"{self.per_address} from one address and {self.per_server} on this server in "
                f"{self._minutes(self.window_s)}; then unlocking pauses."
            )

    def _paused(self, why: str, oldest: float) -> str:
        wait = max(oldest + self.window_s - time.monotonic(), 0.0)
        return (
            f"Unlocking is paused: {why} in the last {self._minutes(self.window_s)}. What you "
            f"typed was not checked. Try again in {self._minutes(wait)}, or ask whoever runs "
            "this dashboard."
        )

    @staticmethod
    def _minutes(seconds: float) -> str:
        minutes = max(1, round(seconds / 60))
        return "1 minute" if minutes == 1 else f"{minutes} minutes"

    def clear(self) -> None:
        """Forget every failed guess (a new budget, as a restarted server has)."""
        with self.turn:
            self.failed.clear()


# Module state is per process: every session of this server shares it.
GUESSES = Guesses()


def _sign_in(current: Grant) -> None:
    if not _sign_in_configured():
        st.info(
            "The map is read-only: editors sign in, but sign-in is not configured on this "
            "server (an `[auth]` section in `.streamlit/secrets.toml`)."
        )
        return
    if st.user.is_logged_in:
        st.info(
            f"You are signed in as {md(st.user.get('email') or 'an unknown user')}, who is not "
            "an editor of this map: it is read-only for you."
        )
        return
    st.info("The map is read-only until an editor signs in.")
    st.button("Sign in to edit", on_click=st.login, key="access_login")
