"""A stop that Python 3.11's asyncio.wait_for swallows (inside every aiomqtt call) still ends the
long-lived loops of the agent, drivers and simulator: they call ``still_wanted`` every round."""

from __future__ import annotations

import asyncio
import sys

import pytest

from protocol.mqtt_client import still_wanted


async def _loop(acks: list[asyncio.Future[None]], *, guarded: bool) -> None:
    """Like DeviceLink._send: publish and wait (bounded) for the broker's PUBACK, round after round."""
    while True:
        if guarded:
            still_wanted()
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acks.append(ack)
        await asyncio.wait_for(ack, 60)


async def _stop_while_acked(*, guarded: bool) -> bool:
    """Cancel the loop just as its PUBACK arrives (same loop iteration); True if the loop ended."""
    acks: list[asyncio.Future[None]] = []
    task = asyncio.create_task(_loop(acks, guarded=guarded))
    while not acks:
        await asyncio.sleep(0)
    acks[0].set_result(None)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=0.5)
    while not task.done():  # clean up: a cancel that meets nothing is never lost
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    return bool(done)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for keeps cancellations since 3.12")
async def test_wait_for_in_311_swallows_a_cancel_that_meets_a_completion() -> None:
    assert not await _stop_while_acked(guarded=False)


async def test_a_loop_that_asks_still_wanted_ends_on_a_swallowed_cancel() -> None:
    assert await _stop_while_acked(guarded=True)
