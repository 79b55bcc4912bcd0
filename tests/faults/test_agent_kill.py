"""kill -9 of the agent at random moments during a burst: every event reaches the store once, in order.

Ten devices toggle tamper/tamper-restore (each toggle is exactly one TA or TR report, whatever
else the panel does) and the hall panic button is pressed now and then (one urgent PA each).
The agent runs as a subprocess and is SIGKILLed 20 times while the events keep coming; its MQTT
session is persistent, so what is published while it is dead waits in the broker.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import sqlite3
import threading
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
    agent_process,
    path_spec,
    processed_up_to_here,
    publish_while_killing,
    receiver_on,
    stored,
    wait_stored,
    write_site,
    zone_of,
)

pytestmark = [pytest.mark.broker, pytest.mark.timeout(240)]

KILLS = 20
TOGGLES = 20  # per tamper device: 10 devices x 20 = 200 tamper events
PANICS = 20
TAMPER_DEVICES = {  # device -> zone (config/examples/site.yaml)
    "panic-bedroom": 1, "door-front": 10, "door-back": 11, "window-living": 12,
    "window-bedroom": 13, "window-study": 14, "smoke-hall": 20, "keypad-hall": 30,
    "siren-hall": 50, "intercom-front": 40,
}
CODES = {"TA", "TR", "PA"}


def burst(rng: random.Random) -> list[tuple[str, EventType]]:
    """Tamper toggles in a random interleaving, with panic presses scattered through them."""
    toggles = [d for d in TAMPER_DEVICES for _ in range(TOGGLES)]
    rng.shuffle(toggles)
    state = dict.fromkeys(TAMPER_DEVICES, False)
    plan: list[tuple[str, EventType]] = []
    for device in toggles:
        state[device] = not state[device]
        plan.append((device, EventType.TAMPER if state[device] else EventType.TAMPER_RESTORE))
    for _ in range(PANICS):
        plan.insert(rng.randrange(len(plan) + 1), ("panic-hall", EventType.PRESS))
    return plan


async def test_kill_9_during_a_burst_loses_nothing(tmp_path: Path, mosquitto: Mosquitto) -> None:
    seed = int(os.environ.get("FAULT_SEED", random.randrange(1 << 30)))
    print(f"FAULT_SEED={seed}")
    rng = random.Random(seed)
    plan = burst(rng)
    async with Receiver(receiver_on(tmp_path, "receiver")) as receiver:
        paths = [path_spec("primary", f"tcp://127.0.0.1:{receiver.port('tcp')}"),
                 path_spec("backup", f"udp://127.0.0.1:{receiver.port('udp')}")]
        config = write_site(tmp_path, mosquitto.url, paths)
        async with agent_process(tmp_path, config) as agent, \
                aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="fault-devices") as client:
            await agent.connected()
            devices = Devices(client)

            await publish_while_killing(devices, agent, plan, rng, clump=25, pause=0.8, kills=KILLS,
                                        kill_after=0.7)
            await wait_stored([receiver], len(plan), timeout=60, codes=CODES)
            await processed_up_to_here(devices, [receiver])  # anything extra would be stored now
        events = await stored([receiver], CODES)
    assert agent.kills == KILLS

    # exactly once: per device the stored reports are the published toggles, in order
    for device, zone in TAMPER_DEVICES.items():
        sent = ["TA" if k is EventType.TAMPER else "TR" for d, k in plan if d == device]
        got = [e.code for e in events if e.code in ("TA", "TR") and zone_of(e) == zone]
        assert got == sent, f"{device}: stored {got}, published {sent}"
    assert sum(e.code == "PA" for e in events) == PANICS
    assert len(events) == len(plan)
    # in order per site: the non-urgent reports in publish order across all devices
    zones = {z: d for d, z in TAMPER_DEVICES.items()}
    sent_order = [(d, k) for d, k in plan if d != "panic-hall"]
    got_order = [(zones[zone_of(e)], EventType.TAMPER if e.code == "TA" else EventType.TAMPER_RESTORE)
                 for e in events if e.code != "PA"]
    assert got_order == sent_order
    # panic first: a panic is never stored behind a report that was published after it
    before_panic = [sum(1 for d, _ in plan[:i] if d != "panic-hall")
                    for i, (d, _) in enumerate(plan) if d == "panic-hall"]
    stored_before = [sum(1 for e in events[:i] if e.code != "PA")
                     for i, e in enumerate(events) if e.code == "PA"]
    pairs = list(zip(stored_before, before_panic, strict=True))
    assert all(s <= p for s, p in pairs), pairs
    # one DC-09 sequence per report: nothing was stored twice under a new number
    assert len({e.sequence for e in events}) == len(events)
    # the local event log (what an installer and an investigation read) has every report too
    logged = [line.text for line in read_log(tmp_path / "agent" / "agent.db", limit=100_000)
              if line.kind == "report"]
    tampers = [(m[1], int(m[2])) for t in logged if (m := re.match(r"(tamper(?: restore)?) (\d+)", t))]
    for device, zone in TAMPER_DEVICES.items():
        sent = ["tamper" if k is EventType.TAMPER else "tamper restore" for d, k in plan if d == device]
        got = [kind for kind, z in tampers if z == zone]
        assert got == sent, f"{device}: logged {got}, published {sent}"
    assert sum(t.startswith("panic ") for t in logged) == PANICS


async def test_the_event_log_is_committed_with_the_step(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """What a kill -9 at any instant leaves on disk: the committed database, read while 200 events
    are handled. Every committed step (its event marked as seen) must have its log line with it."""
    async with Receiver(receiver_on(tmp_path, "receiver")) as receiver:
        config = write_site(tmp_path, mosquitto.url,
                            [path_spec("primary", f"tcp://127.0.0.1:{receiver.port('tcp')}")])
        async with agent_in_process(config) as agent, \
                aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="fault-devices") as client:
            database = agent.outbox.path
            done = threading.Event()
            snapshots: list[tuple[int, int]] = []

            def watch() -> None:  # a reader sees exactly the committed transactions (WAL)
                with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
                    while not done.is_set():
                        snapshots.append(db.execute(
                            "SELECT (SELECT COUNT(*) FROM seen WHERE device = 'door-back'),"
                            " (SELECT COUNT(*) FROM event_log WHERE kind = 'input'"
                            "  AND text LIKE 'door-back: tamper%')").fetchone())

            devices = Devices(client)
            watcher = asyncio.create_task(asyncio.to_thread(watch))
            try:
                for i in range(200):
                    kind = EventType.TAMPER if i % 2 == 0 else EventType.TAMPER_RESTORE
                    await devices.send("door-back", kind)
                async with asyncio.timeout(60):
                    while not snapshots or snapshots[-1][0] < 200:
                        await asyncio.sleep(0.05)
            finally:
                done.set()
                await watcher
    torn = [s for s in snapshots if s[0] != s[1]]
    assert snapshots[-1] == (200, 200)
    assert torn == [], f"{len(torn)} of {len(snapshots)} committed states had a step without its log line"
