"""One SQLite connection on a thread of its own, with the order of work fixed when it is queued.

``submit(work)`` queues ``work(connection)`` at once (synchronously) and returns a future; the
thread runs the work in the order it was queued, one at a time, and settles the future on the
event loop. Each piece of work is a whole unit (a statement and its rows, or a transaction from
BEGIN to COMMIT), so no lock is needed around the connection, and none is held while the disk
syncs.

The agent's outbox is built on it, for the alarm lane: a panel step and the queueing of its
commit happen with no ``await`` between them, so commits land in the order of the steps while
the next step (a panic press) can already run; it then waits in this queue for at most the
commits queued before it, never for a lock that is held across another task's fsync and its
wake-up on a busy event loop. (aiosqlite queues work only when its coroutine first runs, and
only through private names, so that order could not be relied on.)

Work that was queued runs even when the awaiting task is cancelled: a cancelled commit still
commits, as the panel's state in memory already has it.

``run_here(work)`` is the alarm lane's way past the queue: it waits (blocking the event loop)
until everything queued before it has run, then runs ``work`` on the caller's thread, on the
same connection. A panic press is so checked, stepped and committed with no hand-over to
another thread and back, each of which waits for a core and for the loop's turn on a busy
machine; the loop stops meanwhile for the commits queued before it (a few ms at most), which
is the point: everything else waits for the panic.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["SqliteWorker"]

T = TypeVar("T")

CLOSE_TIMEOUT = 30.0  # seconds the close waits for queued work (a commit on a slow SD card)

_Work = Callable[[sqlite3.Connection], Any]


class SqliteWorker:
    """``async with SqliteWorker(path, name) as db: rows = await db.submit(lambda c: ...)``."""

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name
        self._queue: queue.SimpleQueue[tuple[asyncio.Future[Any], _Work] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._open = False
        self._db: sqlite3.Connection | None = None
        self._failed: BaseException | None = None
        self._queued = 0  # work queued and not yet run (``run_here`` waits for 0)
        self._drained = threading.Condition()

    async def __aenter__(self) -> SqliteWorker:
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        self._open = True
        try:
            await self.submit(lambda db: None)  # the connection opened (or its error, raised here)
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if not self._open or self._thread is None:
            return
        self._open = False
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._put(done, lambda db: None)  # settled once everything queued before it ran
        self._queue.put(None)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await asyncio.shield(done)
        await asyncio.to_thread(self._thread.join, CLOSE_TIMEOUT)

    def submit(self, work: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue ``work`` now (it runs after everything queued before it); await the result."""
        if not self._open:
            raise RuntimeError(f"{self.name}: the database is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._put(future, work)
        return future

    def _put(self, future: asyncio.Future[Any], work: _Work) -> None:
        with self._drained:
            self._queued += 1
        self._queue.put((future, work))

    def run_here(self, work: Callable[[sqlite3.Connection], T], timeout: float) -> T:
        """Run ``work`` now on this thread, once everything queued before has run (waiting at
        most ``timeout`` seconds for that, else TimeoutError and nothing is run).

        Only for the thread that queues work (the event loop's): while it waits here nothing new
        is queued, so the worker is idle while ``work`` runs."""
        if not self._open:
            raise RuntimeError(f"{self.name}: the database is not open")
        with self._drained:
            if not self._drained.wait_for(lambda: self._queued == 0, timeout):
                raise TimeoutError(f"{self.name}: queued work took over {timeout:.1f} s")
        if self._failed is not None:
            raise self._failed
        assert self._db is not None
        return work(self._db)

    def _serve(self) -> None:
        """The thread: open, run the queue in order, close."""
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            self._failed = exc
        while (item := self._queue.get()) is not None:
            future, work = item
            try:
                if self._failed is not None:
                    raise self._failed
                result, error = work(self._db), None  # type: ignore[arg-type]
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                result, error = None, exc
            _settle(future, result, error)
            with self._drained:
                self._queued -= 1
                self._drained.notify_all()
        if self._db is not None:
            self._db.close()


def _settle(future: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    def settle() -> None:
        if future.done():  # the awaiting task was cancelled: nobody wants the result
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
        future.get_loop().call_soon_threadsafe(settle)
