"""The network between agent and alarm centre is cut (blackholed: connections are accepted and
bytes swallowed, as behind a dead line) and restored during a burst: nothing is lost or doubled,
comms trouble (YS) is raised locally and reported, and its restore (YK) follows."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiomqtt
import pytest

from protocol.mqtt import EventType
from receiver.service import Receiver
from simulator.netproxy import NetProxy
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

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

CUT = 20.0  # seconds without a network
RATE = 5.0
DEVICES = {"door-front": 10, "door-back": 11, "window-living": 12, "smoke-hall": 20}
CODES = {"TA", "TR"}


async def test_network_cut_and_restored(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with contextlib.AsyncExitStack() as stack:
        receiver = await stack.enter_async_context(Receiver(receiver_on(tmp_path, "receiver")))
        # both paths cross the cut: two routes (proxies) to the one receiver
        routes = [await stack.enter_async_context(NetProxy("127.0.0.1", receiver.port("tcp")))
                  for _ in range(2)]
        paths = [path_spec("primary", routes[0].url), path_spec("backup", routes[1].url)]
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

        await publish(3)
        for route in routes:
            route.mode = "blackhole"
        await publish(CUT)
        stalled = len(await stored([receiver], CODES))
        await agent.wait_log("local fault raised: path backup failed", timeout=5)
        for route in routes:
            route.mode = "pass"
        await publish(3)
        await wait_stored([receiver], len(devices.published), timeout=40, codes=CODES)
        await agent.wait_log("local fault cleared: path backup failed", timeout=25)
        await processed_up_to_here(devices, [receiver])
        events = await stored([receiver], CODES)
        comms = await stored([receiver], {"YS", "YK"})
        log = agent.text()

    names = {z: d for d, z in DEVICES.items()}
    assert [(names[zone_of(e)], e.code) for e in events] == [
        (e.device, "TA" if e.type is EventType.TAMPER else "TR") for e in devices.published]
    assert stalled <= 3 * RATE + 2  # nothing got through the cut
    assert sum(routes[0].counters.values()) and routes[0].counters["swallowed"] > 0
    assert sorted(e.code or "" for e in comms) == ["YK", "YK", "YS", "YS"]  # one pair per path
    assert [e.code for e in comms[:2]] == ["YS", "YS"]  # trouble arrives before its restores
    for name in ("primary", "backup"):
        assert f"local fault raised: path {name} failed" in log
        assert f"local fault cleared: path {name} failed" in log
