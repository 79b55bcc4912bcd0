"""A panic waits behind nothing: pressed behind 500 queued device events, it is committed and
sent to the alarm centre before them (issue 19). Real mosquitto, agent and receiver."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest

from agent.eventlog import read_log
from agent.panel import PanelState
from agent.service import Agent
from protocol.dc09.timestamp import format_timestamp
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


def _site(tmp_path: Path, mosquitto: Mosquitto, receiver: Receiver) -> Path:
    return write_site(tmp_path, mosquitto.url, [path_spec("primary", f"tcp://127.0.0.1:{receiver.port('tcp')}")])


@contextlib.asynccontextmanager
async def _running(config: Path, mosquitto: Mosquitto, name: str) -> AsyncIterator[tuple[Agent, Devices]]:
    """The agent with its alarm lane connected, and the site's devices to send from."""
    async with agent_in_process(config) as agent, \
            aiomqtt.Client("127.0.0.1", mosquitto.port, identifier=name) as client:
        async with asyncio.timeout(10):
            await agent.link.lane_connected.wait()
        yield agent, Devices(client)


async def _toggle_tampers(devices: Devices, count: int, *, press_every: int = 0) -> None:
    """``count`` tamper / tamper-restore events of the chatty devices in turn (a press of the
    panic button after every ``press_every`` of them, when given)."""
    tampered = dict.fromkeys(CHATTY, False)
    for i in range(count):
        device = CHATTY[i % len(CHATTY)]
        tampered[device] = not tampered[device]
        await devices.send(device, EventType.TAMPER if tampered[device] else EventType.TAMPER_RESTORE)
        if press_every and i % press_every == press_every // 2:
            await devices.send("panic-hall", EventType.PRESS)


async def test_a_panic_behind_500_queued_events_is_committed_and_sent_first(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with Receiver(receiver_on(tmp_path, "receiver")) as receiver:
        config = _site(tmp_path, mosquitto, receiver)
        async with agent_in_process(config) as agent:  # both MQTT sessions exist from now on
            async with asyncio.timeout(10):
                await agent.link.lane_connected.wait()
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="lane-e2e") as client:
            devices = Devices(client)  # while the agent is away, all of this queues at the broker
            await _toggle_tampers(devices, QUEUED)
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


async def test_a_second_panic_under_a_sequence_come_round_is_a_new_alarm_at_the_centre(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    """The agent numbers reports 0001-9999 and wraps; a busy home comes round in seconds, so the
    same button's next panic can carry the number of its last one. Each report carries its time
    of occurrence (DC-09 ``H``): the centre stores the second panic, never takes it for a
    retransmission of the first (the e2e bench lost panics that way at 500 events/s)."""
    async with Receiver(receiver_on(tmp_path, "receiver")) as receiver:
        async with _running(_site(tmp_path, mosquitto, receiver), mosquitto, "wrap-e2e") as (agent, devices):
            await agent.outbox.set_meta("sequence", "41")
            await devices.send("panic-hall", EventType.PRESS)
            await wait_stored([receiver], 1, timeout=10, codes={"PA"})
            [first] = await stored([receiver], {"PA"})
            first_h = dict((x["id"], x["value"]) for x in first.extended)["H"]
            async with asyncio.timeout(5):  # the next second (H is to the second)
                while format_timestamp(datetime.now(UTC)) == first_h:
                    await asyncio.sleep(0.05)
            await agent.outbox.set_meta("sequence", "41")  # as if 9,999 reports had gone since
            await devices.send("panic-hall", EventType.PRESS)
            await wait_stored([receiver], 2, timeout=10, codes={"PA"})
        events = await stored([receiver], {"PA"})
    assert [e.sequence for e in events] == [42, 42]
    assert len({e.id for e in events}) == 2
    occurred = [dict((x["id"], x["value"]) for x in e.extended)["H"] for e in events]
    assert occurred[0] == first_h != occurred[1]


async def test_presses_among_a_stream_of_events_leave_the_stored_state_the_panels(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    """The lane commits a press at once while the main session's commits are still queued or
    syncing; each commit carries the state of its own step, in the order of the steps, so the
    state a restart reads is the panel's own, and every report reaches the centre."""
    async with Receiver(receiver_on(tmp_path, "receiver")) as receiver:
        async with _running(_site(tmp_path, mosquitto, receiver), mosquitto, "order-e2e") as (agent, devices):
            await _toggle_tampers(devices, 300, press_every=60)
            await wait_stored([receiver], 300, timeout=60, codes={"TA", "TR"})
            await wait_stored([receiver], 1, timeout=10, codes={"PA"})
            assert agent.counters["lane_event"] >= 1
        in_memory = agent.state  # the agent has stopped: every step it took is committed
    with sqlite3.connect(tmp_path / "agent" / "agent.db") as db:
        (stored_state,) = db.execute("SELECT value FROM meta WHERE key = 'panel_state'").fetchone()
    assert PanelState.from_json(stored_state) == in_memory
    assert all(in_memory.devices[d].troubles == [] for d in CHATTY)  # 300 toggles: restored again
