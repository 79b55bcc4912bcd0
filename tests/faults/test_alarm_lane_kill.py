"""kill -9 of the agent while panic and hold-up buttons are pressed amid their own tamper alarms.

The presses take the alarm lane (their own MQTT session, their own commit, their own DC-09
connection) and so overtake whatever waits in the main session, the button's own earlier tamper
included. Under SIGKILLs at random moments nothing may be lost or doubled, every device's tamper
and restore must reach the alarm centre in the order they happened (a press that overtook its
button's tamper must not get that tamper skipped as "older"), and the other reports keep their
order among themselves.
"""

from __future__ import annotations

import os
import random
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
    publish_while_killing,
    receiver_on,
    stored,
    wait_stored,
    write_site,
    zone_of,
)

pytestmark = [pytest.mark.broker, pytest.mark.timeout(240)]

KILLS = 8
BUTTONS = {"panic-hall": ("PA", 2), "panic-bedroom": ("HA", 1)}  # device -> (press code, zone)
OTHERS = {"door-front": 10, "window-living": 12}
TOGGLES, PRESSES = 12, 8  # per device
CODES = {"TA", "TR", "PA", "HA"}


def plan(rng: random.Random) -> list[tuple[str, EventType]]:
    """Per device its toggles (and, for a button, its presses) in a random order, interleaved."""
    queues: dict[str, list[EventType]] = {}
    for device in [*BUTTONS, *OTHERS]:
        mine = [EventType.TAMPER if i % 2 == 0 else EventType.TAMPER_RESTORE for i in range(TOGGLES)]
        for _ in range(PRESSES if device in BUTTONS else 0):
            mine.insert(rng.randrange(len(mine) + 1), EventType.PRESS)
        queues[device] = mine
    out: list[tuple[str, EventType]] = []
    while any(queues.values()):
        device = rng.choice([d for d, q in queues.items() if q])
        out.append((device, queues[device].pop(0)))
    return out


async def test_kill_9_with_the_alarm_lane_keeps_each_devices_order(tmp_path: Path,
                                                                   mosquitto: Mosquitto) -> None:
    seed = int(os.environ.get("FAULT_SEED", random.randrange(1 << 30)))
    print(f"FAULT_SEED={seed}")
    rng = random.Random(seed)
    sent = plan(rng)
    async with Receiver(receiver_on(tmp_path, "receiver")) as receiver:
        paths = [path_spec("primary", f"tcp://127.0.0.1:{receiver.port('tcp')}"),
                 path_spec("backup", f"udp://127.0.0.1:{receiver.port('udp')}")]
        config = write_site(tmp_path, mosquitto.url, paths)
        async with agent_process(tmp_path, config) as agent, \
                aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="lane-devices") as client:
            await agent.connected()
            await agent.wait_log("alarm lane connected")
            devices = Devices(client)

            await publish_while_killing(devices, agent, sent, rng, clump=15, pause=0.5, kills=KILLS,
                                        kill_after=0.6)
            try:
                await wait_stored([receiver], len(sent), timeout=90, codes=CODES)
            except AssertionError as exc:  # say what is missing and what the agent did
                have = [(e.code, zone_of(e)) for e in await stored([receiver], CODES)]
                raise AssertionError(f"{exc}; stored {have}\n{agent.text()[-6000:]}") from None
            await processed_up_to_here(devices, [receiver])  # a late extra report would be in by now
        events = await stored([receiver], CODES)
    assert agent.kills == KILLS
    assert agent.count("alarm lane connected") >= KILLS + 1  # the lane ran in every start

    zones = {**{d: z for d, (_, z) in BUTTONS.items()}, **OTHERS}
    for device, zone in zones.items():  # each device's tampers, in the order they happened, once
        want = ["TA" if k is EventType.TAMPER else "TR" for d, k in sent
                if d == device and k is not EventType.PRESS]
        got = [e.code for e in events if e.code in ("TA", "TR") and zone_of(e) == zone]
        assert got == want, f"{device}: stored {got}, published {want}"
    for device, (code, zone) in BUTTONS.items():  # every press once
        assert sum(e.code == code and zone_of(e) == zone for e in events) == PRESSES, device
    assert len(events) == len(sent)
    assert len({e.sequence for e in events}) == len(events)  # nothing stored twice under a new number
    # the other reports in publish order across devices
    names = {z: d for d, z in zones.items()}
    want_order = [(d, k) for d, k in sent if k is not EventType.PRESS]
    got_order = [(names[zone_of(e)], EventType.TAMPER if e.code == "TA" else EventType.TAMPER_RESTORE)
                 for e in events if e.code in ("TA", "TR")]
    assert got_order == want_order
