"""`wachter sim person|masking|camera-lost ... intercom-front` drive the REAL intercom driver.

The simulator's hardware (``WiredPins``) serves intercoms with ``drivers.intercom`` on a staged
camera; with ``WACHTER_SIM_DRIVERS=direct`` (no hardware) the simulator publishes the events
itself. Both speak the same contract; only the driver's events carry its ``<boot>-<seq>`` ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from config.site import Site
from simulator.devices import SimAction, SimulatedSite
from simulator.remote import SiteRemote
from simulator.wired import WiredPins
from tests.broker import Mosquitto
from tests.drivers.helpers import Recorder, make_site

pytestmark = pytest.mark.broker
DEVICES: list[dict[str, Any]] = [
    {"id": "door-front", "type": "contact", "name": "Front door", "zone": 10, "gpio": {"pin": 5}},
    {"id": "intercom-front", "type": "intercom", "name": "Intercom", "zone": 40,
     "source": "synthetic:street"},
]
TOPIC = "wachter/v1/test-home/device/intercom-front"
DRIVER_ID = re.compile(r"[0-9a-f]+-\d+")  # DeviceLink's ids; the direct publisher uses uuid4().hex


@contextlib.asynccontextmanager
async def simulator(site: Site, url: str, *, real: bool) -> AsyncIterator[SiteRemote]:
    pins = WiredPins(site) if real else None
    sim = SimulatedSite(site, url, hardware=pins)
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tg, SiteRemote(url, site.id) as remote:
        tasks = [tg.create_task(sim.run())]
        if pins is not None:
            tasks.append(tg.create_task(pins.run(stop)))
        try:
            await remote.wait_online([d.id for d in site.devices])
            await asyncio.wait_for(sim.ready.wait(), 5)
            yield remote
        finally:
            stop.set()
            tasks[0].cancel()
            await asyncio.wait(tasks, timeout=10)


async def next_event(rec: Recorder, timeout: float = 6.0) -> dict[str, Any]:
    """The next event, confirmed as the agent does (else the driver repeats it every 3 s)."""
    r = await rec.expect("intercom-front", "event", timeout=timeout,
                         skip=("heartbeat", "state", "availability", "snapshot"))
    data: dict[str, Any] = r.json()
    await rec.publish(f"{TOPIC}/confirm", json.dumps({"ids": [data["id"]]}))
    return data


async def test_sim_verbs_run_the_real_intercom_driver(mosquitto: Mosquitto) -> None:
    site = make_site(mosquitto.url, DEVICES)
    async with Recorder(mosquitto.port) as rec, simulator(site, mosquitto.url, real=True) as remote:
        await asyncio.sleep(1.0)  # the driver's motion detector learns the empty street
        await remote.act("intercom-front", SimAction(action="person"))
        motion, person = await next_event(rec), await next_event(rec)
        assert (motion["type"], person["type"]) == ("motion", "person")
        assert DRIVER_ID.fullmatch(person["id"]) and 0.6 <= person["score"] <= 1
        async with asyncio.timeout(5):  # the driver's evidence burst for the person
            while sum(m.channel == "snapshot" for m in rec.messages) < 5:
                await asyncio.sleep(0.05)
        await remote.act("intercom-front", SimAction(action="camera_lost"))
        assert (await next_event(rec))["type"] == "camera_lost"
        await remote.act("intercom-front", SimAction(action="camera_restored"))
        assert (await next_event(rec))["type"] == "camera_restored"
        await remote.act("intercom-front", SimAction(action="doorbell"))
        ring = await next_event(rec)
        assert ring["type"] == "doorbell" and DRIVER_ID.fullmatch(ring["id"])
        await remote.act("intercom-front", SimAction(action="masking"))
        assert (await next_event(rec))["type"] == "masking"  # after 3 s of a black picture
        await remote.act("intercom-front", SimAction(action="tamper"))  # no camera can: published
        assert (await next_event(rec))["type"] == "tamper"


async def test_direct_fallback_publishes_for_the_intercom(mosquitto: Mosquitto) -> None:
    site = make_site(mosquitto.url, DEVICES)
    async with Recorder(mosquitto.port) as rec, simulator(site, mosquitto.url, real=False) as remote:
        await remote.act("intercom-front", SimAction(action="person", score=0.92))
        person = await next_event(rec, timeout=3)
        assert (person["type"], person["score"]) == ("person", 0.92)
        assert not DRIVER_ID.fullmatch(person["id"])
