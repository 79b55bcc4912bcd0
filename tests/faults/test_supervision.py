"""Link supervision at the transmitter: NULL polls per path at the configured interval, skipped
while events keep the path busy, on one kept-open TCP connection. The clock is injected."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.outbox import Outbox
from agent.panel import Report
from agent.transmitter import Transmitter
from config.site import AlarmCentre, ReceiverPathConfig
from protocol.codes import EventKind
from receiver.service import Receiver
from simulator.netproxy import NetProxy
from tests.faults.harness import KEY, receiver_on

pytestmark = pytest.mark.broker  # real receiver over loopback, like the other fault tests


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def centre(receiver: Receiver, *, primary_poll: int = 90, backup_poll: int = 180) -> AlarmCentre:
    def path(name: str, url: str, poll: int) -> ReceiverPathConfig:
        return ReceiverPathConfig.model_validate({
            "name": name, "url": url, "key": KEY, "poll_interval": f"{poll}s",
            "ack_timeout": "1s", "retries": 1,
        })
    return AlarmCentre(account="0471", receiver="1", prefix="0", paths=[
        path("primary", f"tcp://127.0.0.1:{receiver.port('tcp')}", primary_poll),
        path("backup", f"udp://127.0.0.1:{receiver.port('udp')}", backup_poll),
    ])


@contextlib.asynccontextmanager
async def transmitting(tmp: Path, c: AlarmCentre, clock: Clock) -> AsyncIterator[Transmitter]:
    async with Outbox(tmp / "agent.db") as outbox:
        tx = Transmitter(c, outbox, clock, recheck=0.01)
        task = asyncio.create_task(tx.run())
        try:
            yield tx
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def polls_of(receiver: Receiver) -> int:
    return sum(1 for e in await receiver.store.events(limit=10_000) if e.token == "NULL")


async def looked(tx: Transmitter, timeout: float = 3.0) -> None:
    """Until every path's supervision loop has looked at the clock as it is now and found no
    poll due: whatever the clock made due has been polled (processed up to now)."""
    marks = [p.idle_looks for p in tx.paths]
    async with asyncio.timeout(timeout):
        while any(p.idle_looks <= mark for p, mark in zip(tx.paths, marks, strict=True)):
            await asyncio.sleep(0.005)


async def settle(tx: Transmitter, polls: int, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while tx.polls < polls:
            await asyncio.sleep(0.01)
    await looked(tx, timeout)


async def test_null_polls_per_path_at_the_configured_interval(tmp_path: Path) -> None:
    clock = Clock()
    async with Receiver(receiver_on(tmp_path, "receiver")) as receiver:
        async with transmitting(tmp_path, centre(receiver, primary_poll=90, backup_poll=180), clock) as tx:
            await settle(tx, 2)  # both paths are polled once at start
            assert tx.polls == 2
            for _ in range(4):  # 4 x 45 s = 180 s: primary due at 90 and 180, backup at 180
                clock.advance(45)
                await looked(tx)
            await settle(tx, 5)
            assert tx.polls == 5
        # every poll of the primary went over the one kept-open connection
        primary = tx.paths[0].tcp
        assert primary is not None and primary.opened == 1


async def test_a_poll_is_skipped_when_an_event_was_just_sent(tmp_path: Path) -> None:
    clock = Clock()
    async with Receiver(receiver_on(tmp_path, "receiver")) as receiver:
        async with transmitting(tmp_path, centre(receiver, primary_poll=90), clock) as tx:
            await settle(tx, 2)
            clock.advance(80)  # 10 s before the primary's poll is due, an event goes out
            await tx.outbox.commit_step([Report(EventKind.TAMPER, 10)])
            tx.wake(urgent=True)
            async with asyncio.timeout(3):
                while tx.sent < 1:
                    await asyncio.sleep(0.01)
            clock.advance(20)  # the old poll time (90 s) has passed: no poll, the event proved the link
            await looked(tx)
            assert tx.polls == 2
            clock.advance(75)  # 95 s after the event: now the primary is polled
            await settle(tx, 3)
            assert tx.polls == 3
        assert tx.paths[0].tcp is not None and tx.paths[0].tcp.opened == 1  # event and polls share it


async def test_a_dropped_connection_is_reopened_without_a_retry(tmp_path: Path) -> None:
    clock = Clock()
    async with Receiver(receiver_on(tmp_path, "receiver")) as receiver, \
            NetProxy("127.0.0.1", receiver.port("tcp")) as proxy:
        c = centre(receiver)
        primary = c.paths[0].model_copy(update={"url": proxy.url})
        c = c.model_copy(update={"paths": [primary, c.paths[1]]})
        async with transmitting(tmp_path, c, clock) as tx:
            await settle(tx, 2)
            async with asyncio.timeout(3):  # the alarm lane's connection, kept open by a NULL too
                while tx.lane_polls < 1:
                    await asyncio.sleep(0.01)
            proxy.mode = "refuse"  # drops the kept connections, as a receiver's idle timeout does
            link = tx.paths[0].lane
            assert link is not None
            async with asyncio.timeout(3):  # until our end has seen it closed
                while link._stream is not None and not link._stream[0].at_eof():
                    await asyncio.sleep(0.005)
            proxy.mode = "pass"
            await tx.outbox.commit_step([Report(EventKind.PANIC, 2, urgent=True)])
            tx.wake(urgent=True)
            async with asyncio.timeout(3):
                while tx.sent < 1:
                    await asyncio.sleep(0.01)
            assert all(p.up for p in tx.paths)
            assert await tx.outbox.pending() == 0
        assert tx.paths[0].lane is not None and tx.paths[0].lane.opened == 2  # the panic's lane
        events = [e for e in await receiver.store.events() if e.code == "PA"]
        assert len(events) == 1 and events[0].transport == "tcp"
