"""The alarm lane's right of way inside the agent.

A panic or hold-up press is stepped and committed by the lane's own task
(``Intake.handle_lane``), which runs inside ``entered()``. The panel's step lock and the
outbox's lock are ``LaneLock``s: a waiter from the lane goes ahead of every other waiter, so
a press waits for at most the one statement or transaction already running, never for the
queue of device events, transmitter bookkeeping and reads that gathered before it. Waiters of
one kind keep their order (FIFO), so the other events stay in order among themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from types import TracebackType

__all__ = ["LaneLock", "active", "entered"]

_in_lane: ContextVar[bool] = ContextVar("wachter_alarm_lane", default=False)


@contextlib.contextmanager
def entered() -> Iterator[None]:
    """The code inside (and every task it starts) works for the alarm lane."""
    token = _in_lane.set(True)
    try:
        yield
    finally:
        _in_lane.reset(token)


def active() -> bool:
    """Is the running code working for the alarm lane?"""
    return _in_lane.get()


class LaneLock:
    """An asyncio lock that hands itself to the alarm lane's waiters first.

    Released, the lock passes straight to the next waiter (lane first, then the others, each in
    the order they came), so nobody can slip in between a release and the wake-up.
    """

    def __init__(self) -> None:
        self._held = False
        self._lane: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._held

    def waiting(self) -> tuple[int, int]:
        """(lane waiters, other waiters): for tests and the bench."""
        return len(self._lane), len(self._others)

    async def acquire(self) -> None:
        if not self._held:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._lane if active() else self._others
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed the lock as we were cancelled
                self.release()
            raise
        finally:
            with contextlib.suppress(ValueError):
                queue.remove(waiter)

    def release(self) -> None:
        if not self._held:
            raise RuntimeError("LaneLock released while not held")
        for queue in (self._lane, self._others):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the lock stays held: it now belongs to that waiter
                    return
        self._held = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.release()
