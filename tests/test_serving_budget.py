"""The server's budget for expensive work (nestmap.budget): real threads holding and waiting for
real slots, in order, each told where it stands; whatever does not fit refused with a plain
"busy" message; one session's share bounded; kept results within one total, oldest let go.
"""

from __future__ import annotations

import threading
import time

import pytest

from nestmap.budget import Kept, Pool
from nestmap.errors import BusyError, NestmapError


class Holder:
    """A thread that takes a slot of ``pool`` as ``owner`` and keeps it until released."""

    def __init__(self, pool: Pool, owner: str, wait_s: float = 30.0) -> None:
        self.pool, self.owner, self.wait_s = pool, owner, wait_s
        self.entered = threading.Event()
        self.release = threading.Event()
        self.seen: list[tuple[int, int]] = []  # (ahead, running) while waiting
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with self.pool.slot(self.owner, self.wait_s, lambda *where: self.seen.append(where)):
                self.entered.set()
                self.release.wait(60)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    def done(self) -> None:
        self.release.set()
        self.thread.join(30)


def _until(condition, what: str) -> None:
    for _ in range(400):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def test_slots_are_taken_in_turn_and_waiters_know_how_many_are_ahead():
    pool = Pool(("action", "actions"), slots=1, queue=2, per_owner=1)
    first = Holder(pool, "a")
    assert first.entered.wait(10)
    second = Holder(pool, "b")
    _until(lambda: pool.counts() == (1, 1), "b waiting")
    third = Holder(pool, "c")
    _until(lambda: pool.counts() == (1, 2), "c waiting")
    _until(lambda: second.seen and third.seen, "both told where they stand")
    assert second.seen[-1] == (0, 1) and third.seen[-1] == (1, 1)
    # The queue is full: a fourth visitor is refused at once, told it is capacity.
    with pytest.raises(BusyError) as refused:
        with pool.slot("d", 30):
            pass
    assert str(refused.value) == (
        "1 action is running on this server and 2 waiting; try again shortly"
    )
    assert "memory" not in str(refused.value)
    first.done()
    assert second.entered.wait(10) and not third.entered.is_set()  # first come, first served
    _until(lambda: third.seen[-1] == (0, 1), "c moved up")
    second.done()
    assert third.entered.wait(10)
    third.done()
    assert pool.counts() == (0, 0)
    assert not any(holder.error for holder in (first, second, third))


def test_one_session_cannot_fill_the_queue():
    pool = Pool(("action", "actions"), slots=1, queue=8, per_owner=2)
    running = Holder(pool, "session-1")
    assert running.entered.wait(10)
    waiting = Holder(pool, "session-1")
    _until(lambda: pool.counts() == (1, 1), "second of the session waiting")
    with pytest.raises(BusyError, match="you already have 2 actions running or waiting"):
        with pool.slot("session-1", 30):
            pass
    other = Holder(pool, "session-2")  # another visitor still gets a place
    _until(lambda: pool.counts() == (1, 2), "the other session waiting")
    for holder in (running, waiting, other):
        holder.done()
    assert pool.counts() == (0, 0)


def test_a_console_pool_refuses_at_once_saying_it_is_capacity():
    pool = Pool(("query", "queries"), slots=2, queue=0, per_owner=1)
    holders = [Holder(pool, "visitor-1"), Holder(pool, "visitor-2")]
    assert all(holder.entered.wait(10) for holder in holders)
    with pytest.raises(BusyError) as refused:
        with pool.slot("visitor-3", 30):
            pass
    # Refused at once (a wait would have said "stayed busy for 30 s"), as capacity.
    assert str(refused.value) == "2 queries are running on this server; try again shortly"
    with pytest.raises(BusyError, match="you already have 1 query running or waiting"):
        with pool.slot("visitor-1", 30):
            pass
    for holder in holders:
        holder.done()


def test_a_wait_runs_out_and_a_waiter_may_give_up():
    pool = Pool(("action", "actions"), slots=1, queue=4, per_owner=1)
    running = Holder(pool, "a")
    assert running.entered.wait(10)
    with pytest.raises(BusyError, match=r"the server stayed busy for 0.5 s \(1 action is running"):
        with pool.slot("b", 0.5):
            pass
    assert pool.counts() == (1, 0)  # the place was given back

    class GaveUp(Exception):
        pass

    def give_up(_ahead: int, _running: int) -> None:
        raise GaveUp

    with pytest.raises(GaveUp):
        with pool.slot("c", 30, give_up):
            pass
    assert pool.counts() == (1, 0)
    running.done()
    with pool.slot("c", 1):
        assert pool.counts() == (1, 0)
    assert issubclass(BusyError, NestmapError)


def test_a_slot_is_given_back_when_the_action_fails():
    pool = Pool(("action", "actions"), slots=1, queue=0, per_owner=1)
    with pytest.raises(ValueError):
        with pool.slot("a", 1):
            raise ValueError("the action failed")
    with pool.slot("a", 1):
        assert pool.counts() == (1, 0)


def test_kept_values_stay_within_their_total_oldest_let_go_first():
    kept = Kept(total_bytes=100)
    assert kept.put("a", "1", b"x" * 40) and kept.put("b", "1", b"y" * 40)
    assert kept.get("a", "1") == b"x" * 40  # a is now the most recently used
    assert kept.put("c", "1", b"z" * 40)  # 120 > 100: b, the least recently used, goes
    assert kept.get("b", "1") is None and kept.get("a", "1") and kept.get("c", "1")
    assert kept.size() == 80
    assert kept.get("a", "2") is None  # another result of a's: not this one
    assert kept.put("a", "2", b"w" * 10) and kept.get("a", "1") is None  # one per owner
    assert not kept.put("d", "1", b"v" * 101)  # alone over the total: never kept
    assert kept.size() == 50
    kept.drop("c")
    assert kept.size() == 10
    assert kept.put("e", "1", b"u" * 20)
    kept.keep_only(lambda owner: owner != "a")  # a's session has ended
    assert kept.get("a", "2") is None and kept.get("e", "1") and kept.size() == 20
