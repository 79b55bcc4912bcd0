"""A panic waits behind nothing: pressed behind 500 queued device events, it is committed and
sent to the alarm centre before them (issue 19). Real mosquitto, agent and receiver."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest

from agent.eventlog import read_log
from protocol.mqtt import EventType
from receiver.service import Receiver
from tests.broker import Mosquitto
from tests.faults.harness import (
    Devices,
    agent_in_process,
    path_spec,
    receiver_on,
    stored,
    wait_stored,
    write_site,
)

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

QUEUED = 500
CHATTY = ["door-front", "door-back", "window-living", "window-bedroom", "window-study"]
CODES = {"TA", "TR", "PA"}


async def test_a_panic_behind_500_queued_events_is_committed_and_sent_first(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with Receiver(receiver_on(tmp_path, "receiver")) as receiver:
        config = write_site(tmp_path, mosquitto.url,
                            [path_spec("primary", f"tcp://127.0.0.1:{receiver.port('tcp')}")])
        async with agent_in_process(config) as agent:  # both MQTT sessions exist from now on
            async with asyncio.timeout(10):
                await agent.link.lane_connected.wait()
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="lane-e2e") as client:
            devices = Devices(client)  # while the agent is away, all of this queues at the broker
            tampered = dict.fromkeys(CHATTY, False)
            for i in range(QUEUED):
                device = CHATTY[i % len(CHATTY)]
                tampered[device] = not tampered[device]
                await devices.send(device, EventType.TAMPER if tampered[device] else EventType.TAMPER_RESTORE)
            await devices.send("panic-hall", EventType.PRESS)
        async with agent_in_process(config) as agent:
            await wait_stored([receiver], QUEUED + 1, timeout=120, codes=CODES)
            assert agent.counters["lane_event"] == 1
        events = await stored([receiver], CODES)
    at_centre = [e.code for e in events].index("PA")
    assert at_centre <= 2, f"the panic was stored after {at_centre} of the queued reports"
    reports = [line.text for line in read_log(tmp_path / "agent" / "agent.db", limit=10_000)
               if line.kind == "report"]
    committed = next(i for i, text in enumerate(reports) if text.startswith("panic "))
    assert committed < 100, f"the panic was committed after {committed} of the queued events"
