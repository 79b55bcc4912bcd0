"""The primary receiver is down for 60 s during a burst: the backup takes over within the retry
time, nothing is lost or doubled, and the agent goes back to the primary when it answers again.

Primary and backup are two receivers with their own stores (two alarm-centre sites); "no loss"
means the union of both stores holds every event exactly once, in DC-09 sequence order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from protocol.mqtt import EventType
from receiver.service import Receiver
from tests.broker import Mosquitto
from tests.faults.harness import (
    Devices,
    agent_process,
    path_spec,
    processed_up_to_here,
    receiver_on,
    stored,
    wait_stored,
    write_site,
    zone_of,
)

pytestmark = [pytest.mark.broker, pytest.mark.timeout(240)]

DOWN = float(os.environ.get("FAULT_RECEIVER_DOWN_S", "60"))
RATE = 4.0  # device events per second, all through the outage
POLL = 10.0  # the primary's poll interval (the schema's minimum): how soon it is noticed again
RETRY_TIME = 2 * 1.0  # (retries + 1) x ack_timeout of the primary
DEVICES = {"door-front": 10, "door-back": 11, "window-living": 12, "window-bedroom": 13}
CODES = {"TA", "TR"}


async def test_primary_down_for_a_minute(tmp_path: Path, mosquitto: Mosquitto) -> None:
    primary_cfg = receiver_on(tmp_path, "primary")
    async with contextlib.AsyncExitStack() as stack:
        primary = await stack.enter_async_context(Receiver(primary_cfg))
        backup = await stack.enter_async_context(Receiver(receiver_on(tmp_path, "backup")))
        paths = [path_spec("primary", f"tcp://127.0.0.1:{primary.port('tcp')}", poll=f"{POLL:g}s"),
                 path_spec("backup", f"udp://127.0.0.1:{backup.port('udp')}", poll="10s")]
        agent = await stack.enter_async_context(
            agent_process(tmp_path, write_site(tmp_path, mosquitto.url, paths)))
        client = await stack.enter_async_context(
            aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="fault-devices"))
        await agent.connected()
        devices = Devices(client)
        state = dict.fromkeys(DEVICES, False)

        async def publish(seconds: float) -> None:
            for i in range(int(seconds * RATE)):
                device = list(DEVICES)[i % len(DEVICES)]
                state[device] = not state[device]
                await devices.send(device, EventType.TAMPER if state[device] else EventType.TAMPER_RESTORE)
                await asyncio.sleep(1 / RATE)

        await publish(5)
        down_at = datetime.now(UTC)
        await primary.__aexit__(None, None, None)  # the primary receiver process is gone
        await publish(DOWN)
        up_at = datetime.now(UTC)
        primary = Receiver(primary_cfg)  # same ports, same store
        await primary.__aenter__()
        stack.push_async_callback(primary.__aexit__, None, None, None)
        await publish(POLL + 5)
        receivers = [primary, backup]
        await wait_stored(receivers, len(devices.published), timeout=30, codes=CODES)
        await processed_up_to_here(devices, receivers)
        at_primary = await stored([primary], CODES)
        at_backup = await stored([backup], CODES)
        comms = await stored(receivers, {"YS", "YK"})
        log = agent.text()

    # exactly once, in order: the union sorted by DC-09 sequence is what was published
    union = sorted(at_primary + at_backup, key=lambda e: e.sequence)
    names = {z: d for d, z in DEVICES.items()}
    got = [(names[zone_of(e)], e.code) for e in union]
    sent = [(e.device, "TA" if e.type is EventType.TAMPER else "TR") for e in devices.published]
    assert got == sent
    assert len(devices.published) >= (5 + DOWN + POLL) * RATE * 0.9
    # the backup took over within the retry time; every report during the outage went there
    first_backup = min(e.received_at for e in at_backup)
    assert first_backup - down_at <= timedelta(seconds=RETRY_TIME + 1.5), first_backup - down_at
    during = [e for e in at_backup if e.received_at < up_at]
    assert len(during) >= DOWN * RATE * 0.9
    # back to the primary within one poll interval of its return, and stayed there
    back = min(e.received_at for e in at_primary if e.received_at > up_at)
    assert back - up_at <= timedelta(seconds=POLL + RETRY_TIME + 1.5), back - up_at
    assert not [e for e in at_backup if e.received_at > back + timedelta(seconds=1)]
    # comms trouble and restore of path 1 were reported, and shown locally
    assert [e.code for e in sorted(comms, key=lambda e: e.sequence)] == ["YS", "YK"]
    assert "local fault raised: path primary failed" in log
    assert "local fault cleared: path primary failed" in log
