"""The alarm lane's right of way at the agent's locks (agent/lane.py)."""

from __future__ import annotations

import asyncio

import pytest

from agent import lane
from agent.lane import LaneLock


async def _queue_up(lock: LaneLock, order: list[str], name: str, *, in_lane: bool) -> None:
    async def one() -> None:
        async with lock:
            order.append(name)
            await asyncio.sleep(0)

    if in_lane:
        with lane.entered():
            await one()
    else:
        await one()


async def _until_waiting(lock: LaneLock, lane_waiters: int, others: int) -> None:
    async with asyncio.timeout(2):
        while lock.waiting() != (lane_waiters, others):
            await asyncio.sleep(0)


async def test_a_lane_waiter_goes_before_every_other_waiter_and_each_kind_keeps_its_order() -> None:
    lock, order = LaneLock(), []
    await lock.acquire()  # a transaction of the main session is running
    tasks = [asyncio.create_task(_queue_up(lock, order, f"event-{i}", in_lane=False)) for i in range(3)]
    await _until_waiting(lock, 0, 3)
    tasks += [asyncio.create_task(_queue_up(lock, order, f"press-{i}", in_lane=True)) for i in range(2)]
    await _until_waiting(lock, 2, 3)
    lock.release()
    async with asyncio.timeout(2):
        await asyncio.gather(*tasks)
    assert order == ["press-0", "press-1", "event-0", "event-1", "event-2"]
    assert not lock.locked()


async def test_the_lane_mark_is_only_inside_entered_and_reaches_the_tasks_it_starts() -> None:
    assert not lane.active()
    with lane.entered():
        assert lane.active()
        assert await asyncio.create_task(_active())
    assert not lane.active()
    assert not await asyncio.create_task(_active())


async def _active() -> bool:
    return lane.active()


async def test_a_waiter_cancelled_after_it_was_handed_the_lock_passes_it_on() -> None:
    lock, order = LaneLock(), []
    await lock.acquire()
    first = asyncio.create_task(_queue_up(lock, order, "cancelled", in_lane=False))
    second = asyncio.create_task(_queue_up(lock, order, "next", in_lane=False))
    await _until_waiting(lock, 0, 2)
    lock.release()  # handed to ``first``, which has not run yet
    first.cancel()
    async with asyncio.timeout(2):
        await second
    with pytest.raises(asyncio.CancelledError):
        await first
    assert order == ["next"]
    assert not lock.locked()


async def test_a_waiter_cancelled_in_the_queue_leaves_it() -> None:
    lock, order = LaneLock(), []
    await lock.acquire()
    gone = asyncio.create_task(_queue_up(lock, order, "gone", in_lane=True))
    await _until_waiting(lock, 1, 0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert lock.waiting() == (0, 0)
    lock.release()
    assert not lock.locked()
    async with asyncio.timeout(2):
        await _queue_up(lock, order, "later", in_lane=False)
    assert order == ["later"]


async def test_releasing_a_free_lock_is_a_bug() -> None:
    with pytest.raises(RuntimeError, match="not held"):
        LaneLock().release()
