"""The intercom driver end to end: video file or synthetic scene in, MQTT messages out."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import cv2
import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from config.site import Site
from drivers.broker import Backoff
from drivers.intercom import IntercomSettings, run_intercom
from drivers.intercom.analysis import IntercomConfig
from drivers.intercom.masking import MaskingConfig
from drivers.intercom.stage import Stage
from tests.broker import Mosquitto, free_port
from tests.drivers.helpers import Received, Recorder, make_site
from tests.drivers.scenes import astronaut, walk_in, write_avi

pytestmark = pytest.mark.broker
TOKEN = "s3cret-doorbell-token-0123"
TOPIC = "wachter/v1/test-home/device/intercom-front"


def site_for(url: str, source: str, gpio: dict[str, Any] | None = None) -> Site:
    device: dict[str, Any] = {
        "id": "intercom-front",
        "type": "intercom",
        "name": "Intercom",
        "zone": 40,
        "source": source,
    }
    if gpio:
        device["gpio"] = gpio
    return make_site(url, [device])


@contextlib.asynccontextmanager
async def intercom(site: Site, factory: Any = None, **kw: Any) -> AsyncIterator[None]:
    settings = IntercomSettings(**{"backoff": Backoff(first=5.0, cap=5.0), **kw})
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(run_intercom(site, stop=stop, settings=settings, pin_factory=factory))
        try:
            yield
        finally:
            stop.set()
            async with asyncio.timeout(10):
                await asyncio.wait([task])


async def event_of(rec: Recorder, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            r = await rec.expect(
                "intercom-front",
                "event",
                timeout=timeout,
                skip=("heartbeat", "state", "availability", "snapshot"),
            )
            if r.json()["type"] == kind:
                return r.json()


async def snapshots(rec: Recorder, alarm_id: str, n: int = 5, timeout: float = 10.0) -> list[Received]:
    async with asyncio.timeout(timeout):
        while True:
            got = [m for m in rec.messages if m.channel == "snapshot" and meta(m)["alarm_id"] == alarm_id]
            if len(got) >= n:
                return got
            await asyncio.sleep(0.05)


def meta(m: Received) -> dict[str, str]:
    return dict(m.properties.UserProperty)


def check_burst(burst: list[Received], alarm_id: str, trigger: str) -> None:
    metas = [meta(m) for m in burst]
    assert [x["index"] for x in metas] == ["0", "1", "2", "3", "4"]
    assert {(x["alarm_id"], x["trigger"], x["count"]) for x in metas} == {(alarm_id, trigger, "5")}
    assert burst[0].properties.ContentType == "image/jpeg"
    times = [datetime.fromisoformat(x["ts"]) for x in metas]
    assert all(0 < (b - a).total_seconds() <= 1.0 for a, b in itertools.pairwise(times))
    image = cv2.imdecode(np.frombuffer(burst[0].payload, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (480, 640, 3)


async def test_person_walking_in_gives_person_and_a_snapshot_burst(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    frames, _ = walk_in(astronaut(200), stay_s=3.0)
    path = write_avi(tmp_path / "visitor.avi", frames)
    async with Recorder(mosquitto.port) as rec, intercom(site_for(mosquitto.url, str(path)), realtime=False):
        person = await event_of(rec, "person")
        assert 0.6 <= person["score"] <= 1
        check_burst(await snapshots(rec, person["id"]), person["id"], "person")
        state = next(m for m in rec.messages if m.channel == "state")
        assert state.json()["camera"] == "ok"


async def test_missing_device_gives_camera_lost(mosquitto: Mosquitto, tmp_path: Path) -> None:
    site = site_for(mosquitto.url, str(tmp_path / "no-camera.avi"))
    async with Recorder(mosquitto.port) as rec, intercom(site):
        lost = await event_of(rec, "camera_lost", timeout=10)
        assert lost["device"] == "intercom-front"
        async with asyncio.timeout(5):  # the retained state follows the event
            while not [m for m in rec.messages if m.channel == "state" and m.json()["camera"] == "lost"]:
                await asyncio.sleep(0.02)
        assert [m for m in rec.messages if m.channel == "state"][-1].json()["camera"] == "lost"
    assert [m.json()["type"] for m in rec.messages if m.channel == "event"] == ["camera_lost"]


async def test_ended_stream_gives_camera_lost(mosquitto: Mosquitto, tmp_path: Path) -> None:
    frames, _ = walk_in(astronaut(200), empty_s=1.0, walk_s=0.1, stay_s=0.1)
    path = write_avi(tmp_path / "short.avi", frames)
    async with Recorder(mosquitto.port) as rec, intercom(site_for(mosquitto.url, str(path))):
        lost = await event_of(rec, "camera_lost", timeout=8)
    assert (lost["device"], lost["type"]) == ("intercom-front", "camera_lost")


async def test_doorbell_action_url_needs_the_token(mosquitto: Mosquitto) -> None:
    port = free_port()
    site = site_for(mosquitto.url, "synthetic:empty")
    async with (
        Recorder(mosquitto.port) as rec,
        intercom(site, doorbell_token=TOKEN, doorbell_host="127.0.0.1", doorbell_port=port),
    ):
        url = f"http://127.0.0.1:{port}/doorbell"
        async with aiohttp.ClientSession() as http:
            await asyncio.sleep(1.5)  # let the evidence ring fill with pre-event frames
            for kwargs in (
                {},
                {"headers": {"Authorization": "Bearer wrong-token-wrong-token"}},
                {"params": {"token": TOKEN}},
            ):
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=5), **kwargs) as r:
                    assert r.status == 401
            async with http.post(
                url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=aiohttp.ClientTimeout(total=5)
            ) as r:
                assert r.status == 200
        ring = await event_of(rec, "doorbell")
        check_burst(await snapshots(rec, ring["id"]), ring["id"], "doorbell")
        assert [m.json()["type"] for m in rec.messages if m.channel == "event"] == ["doorbell"]


async def test_snapshot_command_and_gpio_doorbell(mosquitto: Mosquitto) -> None:
    factory = MockFactory()
    bell = factory.pin(21)
    site = site_for(mosquitto.url, "synthetic:empty", gpio={"pin": 21})
    async with Recorder(mosquitto.port) as rec, intercom(site, factory=factory):
        await rec.expect("intercom-front", "availability", skip=("state", "heartbeat", "snapshot"))
        await asyncio.sleep(1.2)
        await rec.publish(f"{TOPIC}/set", json.dumps({"command": "snapshot", "alarm_id": "alarm-77"}))
        check_burst(await snapshots(rec, "alarm-77"), "alarm-77", "command")
        bell.drive_low()  # button to GND: pressed
        await asyncio.sleep(0.2)
        bell.drive_high()
        ring = await event_of(rec, "doorbell")
        assert ring["device"] == "intercom-front"


async def test_staged_camera_drives_the_real_driver(mosquitto: Mosquitto) -> None:
    """The simulator's hook: person, masking, camera lost and restored, all found by the driver."""
    stage = Stage()
    analysis = IntercomConfig(masking=MaskingConfig(after=1.0, restore_after=0.5))
    site = site_for(mosquitto.url, "synthetic:street")  # the stage replaces the scene
    async with Recorder(mosquitto.port) as rec, intercom(
        site, capture_factory=stage.capture, analysis=analysis, backoff=Backoff(first=0.2, cap=0.2)
    ):
        await rec.expect("intercom-front", "availability", skip=("state", "heartbeat", "snapshot"))
        await asyncio.sleep(1.0)  # the motion detector learns the empty street
        stage.visitor()
        person = await event_of(rec, "person", timeout=5)
        assert 0.6 <= person["score"] <= 1
        check_burst(await snapshots(rec, person["id"]), person["id"], "person")
        stage.cover()
        await event_of(rec, "masking", timeout=5)
        stage.cover(False)
        await event_of(rec, "masking_restore", timeout=5)
        stage.unplug()
        await event_of(rec, "camera_lost", timeout=3)
        stage.unplug(False)
        await event_of(rec, "camera_restored", timeout=3)
    events = {m.json()["id"]: m.json()["type"] for m in rec.messages if m.channel == "event"}
    kinds = list(events.values())  # unconfirmed events come again after 3 s: one per id
    assert kinds == ["motion", "person", "masking", "masking_restore", "camera_lost", "camera_restored"]
    cameras = [m.json()["camera"] for m in rec.messages if m.channel == "state"]
    assert [c for i, c in enumerate(cameras) if i == 0 or c != cameras[i - 1]] == [
        "ok", "masked", "ok", "lost", "ok"]
