"""mosquitto is killed (SIGKILL, losing its in-memory queues) and restarted during a burst of
button presses sent through the real driver link (drivers/link.py): its end-to-end confirmation
and re-publish lose no press, and the agent drops the duplicates. The agent also raises the local
fault for the broker within 30 s of a longer outage and clears it when the broker is back."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import aiomqtt
import pytest

from agent.broker_link import BROKER_FAULT
from drivers.broker import Backoff, Broker
from drivers.link import DeviceLink
from protocol.mqtt import EventType
from receiver.service import Receiver
from tests.broker import Mosquitto
from tests.faults.harness import (
    SITE,
    Devices,
    agent_process,
    path_spec,
    processed_up_to_here,
    receiver_on,
    stored,
    write_site,
)

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

BUTTONS = {"panic-hall": "PA", "panic-bedroom": "HA"}  # every press is one urgent report
PRESSES = 100  # per button
OUTAGES = (2.0, None)  # a blip (no fault expected), then down until the fault is raised


async def test_broker_killed_and_restarted_during_a_burst(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with contextlib.AsyncExitStack() as stack:
        receiver = await stack.enter_async_context(Receiver(receiver_on(tmp_path, "receiver")))
        paths = [path_spec("primary", f"tcp://127.0.0.1:{receiver.port('tcp')}"),
                 path_spec("backup", f"udp://127.0.0.1:{receiver.port('udp')}")]
        agent = await stack.enter_async_context(
            agent_process(tmp_path, write_site(tmp_path, mosquitto.url, paths)))
        await agent.connected()
        broker = Broker("127.0.0.1", mosquitto.port, keepalive=10)
        links = {d: await stack.enter_async_context(
                    DeviceLink(broker, SITE, d, resend_after=2.0, backoff=Backoff(first=0.1, cap=1.0)))
                 for d in BUTTONS}
        for link in links.values():
            await asyncio.wait_for(link.connected.wait(), 10)

        async def press(n: int) -> None:
            for _ in range(n):
                for link in links.values():
                    link.event(EventType.PRESS)
                await asyncio.sleep(0.02)

        fault_after: list[float] = []
        per_round = PRESSES // (len(OUTAGES) + 1)
        for down in OUTAGES:
            await press(per_round)
            mosquitto.stop(kill=True)
            killed = time.monotonic()
            await press(5)  # pressed while there is no broker at all
            if down is None:
                await agent.wait_log(f"local fault raised: {BROKER_FAULT}", timeout=30)
                fault_after.append(time.monotonic() - killed)
            else:
                await asyncio.sleep(down)
            mosquitto.start()
        await agent.wait_log(f"local fault cleared: {BROKER_FAULT}", timeout=30)
        await press(PRESSES - len(OUTAGES) * (per_round + 5))

        async with asyncio.timeout(30):  # every press confirmed by the agent...
            while any(link.unconfirmed for link in links.values()):
                await asyncio.sleep(0.1)
        async with asyncio.timeout(30):  # ... and every report stored at the alarm centre
            while len(await stored([receiver], set(BUTTONS.values()))) < PRESSES * len(BUTTONS):
                await asyncio.sleep(0.1)
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="fault-marker") as client:
            await processed_up_to_here(Devices(client), [receiver])  # a duplicate would be stored now
        events = await stored([receiver], set(BUTTONS.values()))

    for device, code in BUTTONS.items():
        assert sum(e.code == code for e in events) == PRESSES, device
        assert links[device].counters.dropped_events == 0
        assert links[device].counters.connects >= 2  # the link really lost the broker
    assert agent.count(f"local fault raised: {BROKER_FAULT}") == 1  # the blip was no fault
    assert fault_after and fault_after[0] <= 30, fault_after
    print(f"presses={PRESSES * len(BUTTONS)} outages={len(OUTAGES)} fault after {fault_after[0]:.1f} s")
