"""How much expensive work one process does at once, who waits, and what it keeps.

A dashboard is one process serving every visitor, so anything expensive a page offers takes a
slot of a ``Pool`` first:

- at most ``slots`` run at once, across all sessions;
- up to ``queue`` more wait their turn, first come first served, each told how many are ahead
  of it (and free to give up: ``on_wait`` may raise);
- one ``owner`` (a browser session) has at most ``per_owner`` running or waiting, so one visitor
  cannot fill the queue;
- nobody waits longer than ``wait_s``; whatever does not fit is refused at once with
  ``BusyError``, a plain "busy" message — capacity, never a failure and never "memory".

``Kept`` holds bytes per owner (a session's console result) within one total for the whole
process, dropping the least recently used first. Nothing here knows about Streamlit: the
dashboard's pages use these through ``nestmap.dashboard.budget``, the console through
``nestmap.graph.console``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nestmap.errors import BusyError

# How often a waiter is told where it stands (and may give up).
POLL_S = 0.25


def _count(number: int, noun: tuple[str, str]) -> str:
    return f"{number:,} {noun[0] if number == 1 else noun[1]}"


class Pool:
    """At most ``slots`` at once; ``queue`` more may wait, in order; ``per_owner`` each.

    ``noun``: what one slot runs, singular and plural ("query", "queries"), for messages."""

    def __init__(
        self, noun: tuple[str, str], slots: int, queue: int = 0, per_owner: int = 1
    ) -> None:
        self.noun = noun
        self.slots = max(1, slots)
        self.queue = max(0, queue)
        self.per_owner = max(1, per_owner)
        self._changed = threading.Condition()
        self._running: dict[int, str] = {}  # ticket -> owner
        self._waiting: list[tuple[int, str]] = []  # (ticket, owner), first come first
        self._tickets = itertools.count()

    def counts(self) -> tuple[int, int]:
        """(running, waiting) now."""
        with self._changed:
            return len(self._running), len(self._waiting)

    @contextmanager
    def slot(
        self,
        owner: str,
        wait_s: float,
        on_wait: Callable[[int, int], None] | None = None,
    ) -> Iterator[None]:
        """Hold a slot for the body; wait for one (at most ``wait_s``) when all are taken.

        ``on_wait(ahead, running)`` is called about every ``POLL_S`` while waiting; whatever it
        raises ends the wait (the place in the queue is given up). BusyError when ``owner``
        already has its share, the queue is full, or the wait ran out."""
        ticket = self._enter(owner)
        try:
            self._wait(ticket, wait_s, on_wait)
            yield
        finally:
            with self._changed:
                self._running.pop(ticket, None)
                self._waiting = [entry for entry in self._waiting if entry[0] != ticket]
                self._promote()
                self._changed.notify_all()

    def _enter(self, owner: str) -> int:
        with self._changed:
            owned = sum(1 for who in self._running.values() if who == owner) + sum(
                1 for _ticket, who in self._waiting if who == owner
            )
            if owned >= self.per_owner:
                raise BusyError(
                    f"you already have {_count(owned, self.noun)} running or waiting on this "
                    "server; wait for it to finish, then try again"
                )
            ticket = next(self._tickets)
            if len(self._running) < self.slots and not self._waiting:
                self._running[ticket] = owner
                return ticket
            if len(self._waiting) >= self.queue:
                raise BusyError(self._busy_message())
            self._waiting.append((ticket, owner))
            return ticket

    def _busy_message(self) -> str:
        running = len(self._running)
        verb = "is" if running == 1 else "are"
        waiting = f" and {len(self._waiting):,} waiting" if self._waiting else ""
        return (
            f"{_count(running, self.noun)} {verb} running on this server{waiting}; "
            "try again shortly"
        )

    def _promote(self) -> None:
        while self._waiting and len(self._running) < self.slots:
            ticket, owner = self._waiting.pop(0)
            self._running[ticket] = owner

    def _wait(self, ticket: int, wait_s: float, on_wait: Callable[[int, int], None] | None) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            with self._changed:
                if ticket in self._running:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BusyError(
                        f"the server stayed busy for {wait_s:g} s ({self._busy_message()})"
                    )
                ahead = [t for t, _owner in self._waiting].index(ticket)
                running = len(self._running)
                self._changed.wait(min(POLL_S, remaining))
                if ticket in self._running:
                    return
            if on_wait is not None:
                on_wait(ahead, running)


class Kept:
    """One value (bytes, with a tag naming it) per owner, within ``total_bytes`` for the
    process: keeping a new value drops the least recently used others until the total fits."""

    def __init__(self, total_bytes: int) -> None:
        self.total_bytes = total_bytes
        self._values: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, owner: str, tag: str, value: bytes) -> bool:
        """Keep ``value`` as ``owner``'s (replacing theirs); False when it alone is too big."""
        with self._lock:
            self._values.pop(owner, None)
            if len(value) > self.total_bytes:
                return False
            self._values[owner] = (tag, value)
            while self._size() > self.total_bytes:
                self._values.popitem(last=False)
            return True

    def get(self, owner: str, tag: str) -> bytes | None:
        """``owner``'s value if it is still kept and is the one ``tag`` names."""
        with self._lock:
            found = self._values.get(owner)
            if found is None or found[0] != tag:
                return None
            self._values.move_to_end(owner)
            return found[1]

    def drop(self, owner: str) -> None:
        with self._lock:
            self._values.pop(owner, None)

    def keep_only(self, wanted: Callable[[str], bool]) -> None:
        """Let go of every value whose owner is no longer ``wanted`` (a session that ended)."""
        with self._lock:
            for owner in [owner for owner in self._values if not wanted(owner)]:
                del self._values[owner]

    def size(self) -> int:
        with self._lock:
            return self._size()

    def _size(self) -> int:
        return sum(len(value) for _tag, value in self._values.values())
