"""mosquitto is killed (SIGKILL, losing its in-memory queues) and restarted during a burst of
button presses sent through the real driver link (drivers/link.py): its end-to-end confirmation
and re-publish lose no press, and the agent drops the duplicates. The agent also raises the local
fault "broker connection lost" within 30 s and clears it when the broker is back."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest

from drivers.broker import Backoff, Broker
from drivers.link import DeviceLink
from protocol.mqtt import EventType
from receiver.service import Receiver
from tests.broker import Mosquitto
from tests.faults.harness import SITE, agent_process, path_spec, receiver_on, stored, write_site

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

BUTTONS = {"panic-hall": "PA", "panic-bedroom": "HA"}  # every press is one urgent report
PRESSES = 100  # per button
OUTAGES = 2
FAULT = "broker connection lost"


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

        faults_seen = []
        for _ in range(OUTAGES):
            await press(PRESSES // (OUTAGES + 1))
            mosquitto.stop(kill=True)
            killed = time.monotonic()
            await press(5)  # pressed while there is no broker at all
            await agent.wait_log(f"local fault raised: {FAULT}", len(faults_seen) + 1, timeout=30)
            faults_seen.append(time.monotonic() - killed)
            mosquitto.start()
            await agent.wait_log(f"local fault cleared: {FAULT}", len(faults_seen), timeout=30)
        await press(PRESSES - OUTAGES * (PRESSES // (OUTAGES + 1) + 5))

        async with asyncio.timeout(30):  # every press confirmed by the agent...
            while any(link.unconfirmed for link in links.values()):
                await asyncio.sleep(0.1)
        async with asyncio.timeout(30):  # ... and every report stored at the alarm centre
            while len(await stored([receiver], set(BUTTONS.values()))) < PRESSES * len(BUTTONS):
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        events = await stored([receiver], set(BUTTONS.values()))
        duplicates = agent.text().count("duplicate")  # informational only

    for device, code in BUTTONS.items():
        assert sum(e.code == code for e in events) == PRESSES, device
        assert links[device].counters.dropped_events == 0
        assert links[device].counters.connects >= OUTAGES + 1
    assert all(seconds <= 30 for seconds in faults_seen), faults_seen
    print(f"presses={PRESSES * len(BUTTONS)} outages={OUTAGES} fault after {faults_seen} s "
          f"duplicate log lines={duplicates}")
