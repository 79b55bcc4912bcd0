"""A console that reads its live stream slowly gets notices merged, never loses a change."""

from __future__ import annotations

import asyncio
import inspect
import json

import pytest

from receiver.console.live import RESYNC, Bulletin, Mailbox


def _alarm(n: int) -> str:
    return json.dumps({"alarm": n})


async def test_the_same_notice_waits_once_and_the_order_is_kept() -> None:
    box = Mailbox(limit=10)
    for n in (1, 2, 1, 3, 2):
        box.put(_alarm(n))
    assert [box.get_nowait() for _ in range(3)] == [_alarm(1), _alarm(2), _alarm(3)]
    assert box.empty()
    box.put(_alarm(1))  # taken: it waits again
    assert box.get_nowait() == _alarm(1)


async def test_too_many_different_notices_become_one_resync_and_the_next_ones_follow_it() -> None:
    box = Mailbox(limit=3)
    for n in range(5):  # a burst of changes the console has not read yet
        box.put(_alarm(n))
    box.put(_alarm(99))  # the panic: after the resync, never dropped
    got = [box.get_nowait() for _ in range(len(box))]
    assert got[0] == RESYNC and got[-1] == _alarm(99)
    assert len(got) <= 3
    with pytest.raises(asyncio.QueueEmpty):
        box.get_nowait()


async def test_a_waiting_reader_gets_the_next_notice_and_none_ends_the_stream() -> None:
    bulletin = Bulletin()
    box = bulletin.subscribe()
    reader = asyncio.create_task(box.get())
    async with asyncio.timeout(2):  # the reader is inside get(), waiting: nothing was pending
        while inspect.getcoroutinestate(reader.get_coro()) != inspect.CORO_SUSPENDED:
            await asyncio.sleep(0)
    bulletin.publish({"alarm": 7})
    async with asyncio.timeout(2):
        assert await reader == _alarm(7)
    bulletin.close()
    async with asyncio.timeout(2):
        assert await box.get() is None
    bulletin.unsubscribe(box)
    bulletin.publish({"alarm": 8})
    assert box.empty()


async def test_a_burst_of_ten_thousand_notices_for_other_alarms_keeps_the_panic() -> None:
    bulletin = Bulletin()
    slow = bulletin.subscribe()
    for n in range(10_000):
        bulletin.publish({"alarm": 1000 + n % 500})
    bulletin.publish({"alarm": 1})
    assert len(slow) <= 101  # bounded: the console catches up in one reload
    waiting = [slow.get_nowait() for _ in range(len(slow))]
    assert RESYNC in waiting and waiting[-1] == _alarm(1)
