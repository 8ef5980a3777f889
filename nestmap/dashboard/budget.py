"""The dashboard's one budget for expensive work, shared by every session of the server.

Every expensive action a page offers — printing the report to PDF, building the HTML report, a
download built on click (tables as CSV/XLSX, the dataset, the graph exports, scenario
reports), an upload's checks, reading and applying a scenario, the network's layout, mapping an
Open Referral directory — runs inside ``action(what)``, which takes one of ``ACTIONS``' slots
(nestmap.budget.Pool):

- at most ``NESTMAP_ACTIONS`` run at once in the server, whoever started them (default: one
  fewer than the machine's cores, at least one);
- up to ``NESTMAP_ACTION_QUEUE`` (default 16) more wait in turn; the page says "Busy: N ahead of
  you" while it waits, with a button to give up the place (leaving the page does too);
- one session has at most 2 running or waiting (an action and a download);
- nobody waits longer than ``NESTMAP_ACTION_WAIT_S`` (default 120 s);
- nothing starts while the server process holds more than ``NESTMAP_SERVER_MEMORY_MB`` (default
  half the machine's memory).

Whatever does not fit is refused with a plain "busy" message (BusyError), never a failure.
Console queries have their own workers (nestmap.graph.console.WORKERS: 2 at once, one per
session, refused at once when taken), and a session's console result is kept in ``RESULTS``,
within ``NESTMAP_QUERY_KEPT_MB`` (default 64) for all sessions together.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import streamlit as st

from nestmap.budget import Kept, Pool
from nestmap.errors import BusyError
from nestmap.memory import resident_bytes

T = TypeVar("T")


def _setting(name: str, default: int, minimum: int = 1) -> int:
    value = os.environ.get(name, "")
    return max(minimum, int(value)) if value.isdigit() else default


def _default_memory_mb() -> int:
    try:
        machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4096
    return max(1024, machine // 2 // 2**20)


# One core is left for the pages everybody else is reading: on a 2-core machine expensive
# actions run one at a time, and the rest wait their turn.
ACTIONS = Pool(
    ("action", "actions"),
    slots=_setting("NESTMAP_ACTIONS", max(1, (os.cpu_count() or 2) - 1)),
    queue=_setting("NESTMAP_ACTION_QUEUE", 16, minimum=0),
    per_owner=2,
)
WAIT_S = _setting("NESTMAP_ACTION_WAIT_S", 120)
MEMORY_MB = _setting("NESTMAP_SERVER_MEMORY_MB", _default_memory_mb(), minimum=256)
RESULTS = Kept(_setting("NESTMAP_QUERY_KEPT_MB", 64) * 2**20)
_CANCELLED = "budget_cancelled"


def session_id() -> str:
    """This browser session's id (the owner of its actions); "local" outside a session."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else "local"


def _in_script() -> bool:
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True) is not None


def session_alive(session: str) -> bool:
    """Whether the browser session is still connected (always, outside a served dashboard)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return True
    return Runtime.instance().is_active_session(session)


def _outside_cache(write: Callable[[], T]) -> T:
    """Write to the page as if outside any cached function: a message about waiting, written
    while a kept result is being computed, must not be replayed with that result later."""
    try:
        from streamlit.runtime.caching.cached_message_replay import in_cached_function
    except ImportError:  # pragma: no cover - another Streamlit's layout
        return write()
    token = in_cached_function.set(False)
    try:
        return write()
    finally:
        in_cached_function.reset(token)


def _check_memory() -> None:
    used = resident_bytes()
    if used is not None and used > MEMORY_MB * 2**20:
        raise BusyError(
            f"the server is holding {used / 2**20:,.0f} MB, more than the {MEMORY_MB:,} MB it "
            "may use before starting more work; try again shortly"
        )


def _waiting_text(what: str, ahead: int, running: int) -> str:
    others = f"{ahead:,} waiting ahead of you" if ahead else "you are next"
    return (
        f"Busy: {running:,} running and {others}. {what} starts as soon as a place is free "
        f"(at most {WAIT_S:,} s)."
    )


@contextmanager
def action(what: str) -> Iterator[None]:
    """Run the body as one of the server's expensive actions (see the module's docstring).

    ``what`` names it for the visitor ("Printing the report"). In a page, the visitor is told
    where they stand while waiting and may give up; outside one (a download built on click, in
    Streamlit's own thread) it waits quietly. An action inside another (the same thread) runs
    in its slot. BusyError when refused."""
    if getattr(_holding, "slot", False):
        yield
        return
    _check_memory()
    session = session_id()
    if not _in_script():
        with ACTIONS.slot(session, WAIT_S), _held():
            yield
        return
    if st.session_state.get(_CANCELLED) == what:
        del st.session_state[_CANCELLED]
        raise BusyError(f"you gave up waiting: {what.lower()} did not start")
    # Made when the wait starts: the page is stopped at this place meanwhile, so the message
    # shows where the action's result will.
    places: list[Any] = []  # the placeholder, then the message's line in it

    def on_wait(ahead: int, running: int) -> None:
        if not session_alive(session):
            st.stop()  # the browser has gone: give up the place (no page left to end)

        def show() -> None:
            if not places:
                places.append(st.empty())
                with places[0].container():
                    places.append(st.empty())
                    st.button(
                        "Stop waiting", key=f"budget_stop_{what}", on_click=_give_up, args=(what,)
                    )
            places[1].info(_waiting_text(what, ahead, running), icon=":material/hourglass_top:")

        _outside_cache(show)

    try:
        with ACTIONS.slot(session, WAIT_S, on_wait):
            if places:
                _outside_cache(places[0].empty)
            with _held():
                yield
    finally:
        if places:
            _outside_cache(places[0].empty)


_holding = threading.local()


@contextmanager
def _held() -> Iterator[None]:
    _holding.slot = True
    try:
        yield
    finally:
        _holding.slot = False


def _give_up(what: str) -> None:
    # The press reruns the page, which stops the wait; the note stops ``what`` being asked for
    # again in that run (a page that starts it by itself, such as a scenario's).
    st.session_state[_CANCELLED] = what


def end_of_run() -> None:
    """After each run of a page: a "Stop waiting" note is for the run it started only."""
    st.session_state.pop(_CANCELLED, None)


def run(what: str, work: Callable[[], T]) -> T:
    """``work()`` as one of the server's expensive actions."""
    with action(what):
        return work()


def deferred(what: str, build: Callable[[], T]) -> Callable[[], T]:
    """``build`` for a download made on click, as one of the session's expensive actions (it
    runs later, in Streamlit's own thread: the session is remembered now)."""
    session = session_id()

    def built() -> T:
        _check_memory()
        with ACTIONS.slot(session, WAIT_S):
            return build()

    return built


def heartbeat(status: Any | None = None, limit_s: float | None = None) -> Callable[[], None]:
    """What a worker calls while it runs for this session: stops it once the browser session
    has gone (or the visitor pressed Stop: the page update raises); ``status``, an ``st.empty``,
    shows how long it has run."""
    session = session_id()
    started = time.monotonic()
    said: list[int] = [0]

    def beat() -> None:
        if not session_alive(session):
            st.stop()  # the browser has gone (no page left to end)
        ran = int(time.monotonic() - started)
        if status is not None and ran > said[0]:  # once a second
            said[0] = ran
            bound = f" of at most {limit_s:g} s" if limit_s else ""
            _outside_cache(lambda: status.caption(f"Running: {ran:,} s{bound}…"))

    return beat
