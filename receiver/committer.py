"""Group commit: events that arrive while a commit is in flight are stored together by the
next ``EventStore.add_many`` (one durable COMMIT, one fsync, for all of them).

Every caller of ``add`` still returns only after its own event is committed, so an ACK sent
after ``add`` keeps the rule "ACK only after commit"; the store keeps its durability settings.

The alarm lane: a hold-up or panic event (``AlarmClass.HOLDUP``) never joins the crowd. Where
the store can commit at once (``EventStore.add_now``: SQLite, whose commit is synchronous on the
loop anyway) it is committed before ``submit`` returns, with no turn through a loop busy with
other sites' frames; otherwise (PostgreSQL, or a console transaction holding the file) the next
commit is its own, ahead of the frames that gathered meanwhile. Then ``on_urgent`` callbacks
run (the alarm desk starts at once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from receiver.alarms import AlarmClass, alarm_class
from receiver.store import EventStore, NewEvent

__all__ = ["EventCommitter"]

Result = tuple[int, bool]  # (event id, duplicate)
Queued = tuple[NewEvent, "asyncio.Future[Result]"]


def _fail(waiting: list[Queued], exc: BaseException) -> None:
    for _, future in waiting:
        if future.done():
            continue
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(exc)


class EventCommitter:
    """``await add(event)`` -> (id, duplicate), like ``EventStore.add``, batched with its neighbours.

    ``submit(event)`` is the same without a coroutine: the listeners' hot path attaches a
    callback to the future it returns.
    """

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._waiting: list[Queued] = []
        self._urgent: list[Queued] = []  # the alarm lane: committed before ``_waiting``
        self._flushing: asyncio.Task[None] | None = None
        self.commits = 0  # batches committed, for tests and the benchmark
        self.on_urgent: list[Callable[[], None]] = []  # after each commit of urgent events

    async def add(self, event: NewEvent) -> Result:
        return await self.submit(event)

    def submit(self, event: NewEvent) -> asyncio.Future[Result]:
        """Queue ``event`` for the next batch; the future resolves once the batch is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        urgent = alarm_class(event.code) is AlarmClass.HOLDUP
        lane = self._urgent if urgent else self._waiting
        lane.append((event, future))
        if urgent and self._commit_now():
            return future
        if self._flushing is None:
            self._flushing = loop.create_task(self._flush(), name="event-commit")
        return future

    def _commit_now(self) -> bool:
        """The urgent events queued (the one just submitted, and any before it) committed at
        once, when the store can; False: it cannot, they wait for the next commit."""
        batch = self._urgent
        try:
            results = self.store.add_now([event for event, _ in batch])
        except Exception as exc:  # noqa: BLE001 - to every waiter: nobody is ACKed, all retransmit
            self._urgent = []
            _fail(batch, exc)
            return True
        if results is None:
            return False
        self._urgent = []
        self._committed(batch, results, urgent=True)
        return True

    def _committed(self, batch: list[Queued], results: list[Result], *, urgent: bool) -> None:
        """Each waiter gets its result; after urgent events, the ``on_urgent`` callbacks run."""
        self.commits += 1
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a caller cancelled meanwhile: its event is stored all the same
                future.set_result(result)
        for wake in self.on_urgent if urgent else ():
            wake()

    async def aclose(self, timeout: float = 5.0) -> None:
        """Let the batch in flight finish (its senders are owed an answer), then stop."""
        flushing = self._flushing
        if flushing is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(flushing), timeout)
        except TimeoutError:
            flushing.cancel()
            await asyncio.gather(flushing, return_exceptions=True)

    async def _flush(self) -> None:
        """Commit batches until nobody waits; a batch takes everyone who queued meanwhile."""
        batch: list[Queued] = []
        try:
            await asyncio.sleep(0)  # let the frames of this loop iteration join the first batch
            while self._urgent or self._waiting:
                urgent = bool(self._urgent)
                if urgent:
                    batch, self._urgent = self._urgent, []
                else:
                    batch, self._waiting = self._waiting, []
                try:
                    results = await self.store.add_many([event for event, _ in batch])
                except Exception as exc:  # noqa: BLE001 - to every waiter: nobody is ACKed, all retransmit
                    _fail(batch, exc)
                    continue
                done, batch = batch, []
                self._committed(done, results, urgent=urgent)
        except BaseException as exc:  # cancelled (shutdown): nobody waits for ever
            _fail(batch + self._urgent + self._waiting, exc)
            self._urgent, self._waiting = [], []
            raise
        finally:
            self._flushing = None
