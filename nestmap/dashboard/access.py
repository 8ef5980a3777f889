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
- ``NESTMAP_OPEN_EDITING=1``: anyone who can open the page may edit (``nestmap demo`` on this
  computer's loopback address only); changes are recorded as the server's OS user.

The API for pages: ``grant()``, ``editor()`` (who is editing in this session, or None),
``can_edit()``, ``controls()`` (the unlock / sign-in / lock widgets with an explanation) and
``require_editor()`` (who to record for a change; raises when the session may not edit).
"""

from __future__ import annotations

import hmac
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import streamlit as st

from nestmap.dashboard.text import md
from nestmap.errors import NestmapError

SECRET_FILE_ENV = "NESTMAP_EDITOR_SECRET_FILE"
SECRET_ENV = "NESTMAP_EDITOR_SECRET"
EMAILS_ENV = "NESTMAP_EDITOR_EMAILS"
OPEN_ENV = "NESTMAP_OPEN_EDITING"
ANY_SIGNED_IN = "*"

_SESSION_KEY = "nestmap_editor"
# A wrong secret costs its session this long: guessing stays slow.
_WRONG_SECRET_DELAY_S = 1.0
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
        except OSError:
            secret = ""  # unreadable: no way in (the CLI checks the file before starting)
        return Grant("secret" if secret else "read_only", secret=secret.encode("utf-8"))
    if secret.strip():
        return Grant("secret", secret=secret.strip().encode("utf-8"))
    allowed = frozenset(e.strip().lower() for e in emails.split(",") if e.strip())
    if allowed:
        return Grant("sign_in", editor_emails=allowed)
    if open_editing == "1":
        from nestmap.api import os_user

        return Grant("open", open_editor=f"{os_user()} (nestmap demo)")
    return Grant("read_only")


def editor() -> str | None:
    """Who is editing in this session (a name or e-mail), or None when it may not edit."""
    current = grant()
    if current.mode == "open":
        return current.open_editor
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
    expected = grant().secret
    if not expected or not hmac.compare_digest(secret.encode("utf-8"), expected):
        time.sleep(_WRONG_SECRET_DELAY_S)
        st.error("That is not the editor secret.")
        return
    st.session_state[_SESSION_KEY] = name
    st.rerun()


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
