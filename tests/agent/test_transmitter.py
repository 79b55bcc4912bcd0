"""The transmitter against the real receiver over loopback TCP/UDP (no broker needed)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.outbox import Outbox
from agent.panel import Report
from agent.transmitter import Transmitter
from config.site import AlarmCentre
from protocol.codes import EventKind
from receiver.service import Receiver
from tests.broker import free_port
from tests.e2e.stack import EXAMPLES, receiver_config, site_config


def _centre(tmp: Path, receiver: Receiver, *, primary: str | None = None,
            account: str | None = None, keyed: bool = True) -> AlarmCentre:
    site = site_config(tmp, "mqtt://127.0.0.1:1", receiver.port("tcp"), receiver.port("udp"))
    centre = site.alarm_centre
    quick: dict[str, object] = {"ack_timeout": timedelta(seconds=0.3), "retries": 1}
    paths = [p.model_copy(update=quick if keyed else {**quick, "key": None}) for p in centre.paths]
    if primary:
        paths[0] = paths[0].model_copy(update={"url": primary})
    update: dict[str, object] = {"paths": paths}
    if account:
        update["account"] = account
    return centre.model_copy(update=update)


@contextlib.asynccontextmanager
async def _transmitting(tmp: Path, centre: AlarmCentre, clock: Callable[[], datetime] | None = None,
                        faults: list[tuple[str, bool]] | None = None) -> AsyncIterator[Transmitter]:
    async with Outbox(tmp / "agent.db") as outbox:
        tx = Transmitter(centre, outbox, clock or (lambda: datetime.now(UTC)),
                         lambda name, on: (faults if faults is not None else []).append((name, on)))
        task = asyncio.create_task(tx.run())
        try:
            yield tx
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _wait(predicate: Callable[[], object], timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():  # type: ignore[misc]
            await asyncio.sleep(0.02)


async def test_urgent_reports_overtake_the_queue_and_order_is_kept(tmp_path: Path) -> None:
    async with Receiver(receiver_config(tmp_path)) as receiver:
        centre = _centre(tmp_path, receiver)
        async with Outbox(tmp_path / "agent.db") as outbox:
            await outbox.commit_step([Report(EventKind.BURGLARY_PERIMETER, 12),
                                      Report(EventKind.TAMPER, 10),
                                      Report(EventKind.PANIC, 2, urgent=True),
                                      Report(EventKind.BURGLARY_PERIMETER, 13)])
        async with _transmitting(tmp_path, centre) as tx:
            await _wait(lambda: _count(receiver, 4))
            await _wait(lambda: _empty(tx))
        events = await receiver.store.events()
        assert [(e.code, e.zone) for e in events] == [("PA", "02"), ("BA", "12"), ("TA", "10"), ("BA", "13")]
        assert [e.sequence for e in events] == [3, 1, 2, 4]  # numbered as committed, sent urgent first


async def test_sequence_numbers_survive_a_restart(tmp_path: Path) -> None:
    async with Receiver(receiver_config(tmp_path)) as receiver:
        centre = _centre(tmp_path, receiver)
        for n in range(3):
            async with _transmitting(tmp_path, centre) as tx:
                await tx.outbox.commit_step([Report(EventKind.TAMPER, 10 + n)])
                tx.wake(urgent=True)
                await _wait(lambda n=n: _count(receiver, n + 1))  # type: ignore[misc]
        assert [e.sequence for e in await receiver.store.events()] == [1, 2, 3]


async def test_nak_for_a_wrong_clock_is_corrected_and_the_event_delivered(tmp_path: Path) -> None:
    async with Receiver(receiver_config(tmp_path)) as receiver:
        centre = _centre(tmp_path, receiver)
        ten_years_off = lambda: datetime.now(UTC) - timedelta(days=3652)  # noqa: E731
        async with _transmitting(tmp_path, centre, clock=ten_years_off) as tx:
            await tx.outbox.commit_step([Report(EventKind.PANIC, 2, urgent=True)])
            tx.wake(urgent=True)
            await _wait(lambda: _count(receiver, 1))
            assert abs(tx.offset - timedelta(days=3652)) < timedelta(seconds=5)
        assert receiver.handler.counters["nak_timestamp"] >= 1


async def test_dead_primary_fails_over_to_backup_and_reports_comms_trouble(tmp_path: Path) -> None:
    faults: list[tuple[str, bool]] = []
    async with Receiver(receiver_config(tmp_path)) as receiver:
        centre = _centre(tmp_path, receiver, primary=f"tcp://127.0.0.1:{free_port()}")
        async with _transmitting(tmp_path, centre, faults=faults) as tx:
            await tx.outbox.commit_step([Report(EventKind.PANIC, 2, urgent=True)])
            tx.wake(urgent=True)
            await _wait(lambda: _count(receiver, 2), timeout=5)
            await _wait(lambda: _empty(tx))
        events = await receiver.store.events()
        assert {e.code for e in events} == {"PA", "YS"}
        assert all(e.transport == "udp" for e in events)
        assert ("path primary failed", True) in faults


async def test_duh_on_a_plain_path_is_not_repeated_and_raises_a_fault(tmp_path: Path) -> None:
    faults: list[tuple[str, bool]] = []
    async with Receiver(receiver_config(tmp_path)) as receiver:
        centre = _centre(tmp_path, receiver, account="7777", keyed=False)
        counters = receiver.handler.counters
        async with _transmitting(tmp_path, centre, faults=faults) as tx:
            await _wait(lambda: _polled(tx))  # the start-up link tests are DUHed too
            await _wait(lambda: _answered(receiver, "duh_unknown_account", 2))
            before, lanes = counters["duh_unknown_account"], tx.lane_polls
            await tx.outbox.commit_step([Report(EventKind.PANIC, 2, urgent=True)])
            tx.wake(urgent=True)
            await _wait(lambda: _empty(tx))
            polls = tx.polls
            await tx.outbox.commit_step([Report(EventKind.TAMPER, 10)])  # processed after the panic
            tx.wake(urgent=True)
            await _wait(lambda: _empty(tx))
            nulls = (tx.polls - polls) + (tx.lane_polls - lanes)
            assert counters["duh_unknown_account"] == before + 2 + nulls
        async with tx.outbox:
            assert await tx.outbox.rows("SELECT kind, reason FROM rejected") == [
                ("panic", "DUH from primary"), ("tamper", "DUH from primary")]
        assert any("DUH" in name for name, on in faults if on)


async def test_plain_duh_to_an_encrypted_report_keeps_it_queued(tmp_path: Path) -> None:
    """DUH is never encrypted, so anyone on the path can send it: not an answer, the report stays."""
    async with Receiver(receiver_config(tmp_path)) as receiver:
        centre = _centre(tmp_path, receiver, account="7777")
        async with _transmitting(tmp_path, centre) as tx:
            await tx.outbox.commit_step([Report(EventKind.PANIC, 2, urgent=True)])
            tx.wake(urgent=True)
            await _wait(lambda: _answered(receiver, "duh_unknown_account", 6), timeout=10)
            assert await tx.outbox.pending() >= 1
            assert tx.counters["unauthenticated_answer"] >= 6
        async with tx.outbox:
            assert await tx.outbox.rows("SELECT COUNT(*) FROM rejected") == [(0,)]


async def _count(receiver: Receiver, n: int) -> bool:
    return len(await receiver.store.events()) >= n


async def _answered(receiver: Receiver, counter: str, n: int) -> bool:
    return receiver.handler.counters[counter] >= n


async def _polled(tx: Transmitter) -> bool:
    return all(p.last_sent is not None for p in tx.paths)


async def _empty(tx: Transmitter) -> bool:
    return await tx.outbox.pending() == 0


assert EXAMPLES.exists()


class StallingProxy:
    """TCP in front of the receiver; after ``stall_next()`` the connection that carries the next
    bytes swallows them and all that follow (an answer lost on the way); the others still pass."""

    def __init__(self, port: int) -> None:
        self.port, self.target = 0, port
        self.swallowed = 0
        self._stall_next = False
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> StallingProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()

    def stall_next(self) -> None:
        self._stall_next = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stalled = [False]
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self._writers += [writer, up_writer]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, upward: bool) -> None:
            while chunk := await source.read(65536):
                if upward and self._stall_next:
                    self._stall_next, stalled[0] = False, True
                if upward and stalled[0]:
                    self.swallowed += 1
                    continue
                sink.write(chunk)
                await sink.drain()

        with contextlib.suppress(OSError):
            await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))


async def test_a_panic_goes_at_once_while_another_report_waits_for_its_answer(tmp_path: Path) -> None:
    """The tamper report's answer is lost (it will be retried after the ack timeout); the panic
    committed meanwhile takes the alarm lane's own connection and is stored first."""
    async with Receiver(receiver_config(tmp_path)) as receiver, StallingProxy(receiver.port("tcp")) as proxy:
        centre = _centre(tmp_path, receiver, primary=f"tcp://127.0.0.1:{proxy.port}")
        slow = centre.paths[0].model_copy(update={"ack_timeout": timedelta(seconds=4), "retries": 1})
        centre = centre.model_copy(update={"paths": [slow]})
        async with _transmitting(tmp_path, centre) as tx:
            await _wait(lambda: _lane_polled(tx))  # the link test, and the lane's connection kept open
            proxy.stall_next()
            await tx.outbox.commit_step([Report(EventKind.TAMPER, 10)])
            tx.wake()
            await _wait(lambda: _swallowed(proxy))  # the tamper is in flight, its answer lost
            await tx.outbox.commit_step([Report(EventKind.PANIC, 2, urgent=True)])
            tx.wake(urgent=True)
            await _wait(lambda: _count(receiver, 1), timeout=3)  # well inside the 4 s ack timeout
            assert [e.code for e in await receiver.store.events()] == ["PA"]
            lane = tx.paths[0].lane
            assert lane is not None and lane.opened == 1  # the connection the polls kept open
            await _wait(lambda: _count(receiver, 2), timeout=15)  # the tamper, on its retry
        assert [e.code for e in await receiver.store.events()] == ["PA", "TA"]


async def _lane_polled(tx: Transmitter) -> bool:
    return tx.lane_polls >= 1


async def _swallowed(proxy: StallingProxy) -> bool:
    return proxy.swallowed > 0
