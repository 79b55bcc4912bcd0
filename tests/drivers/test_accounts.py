"""The drivers on the production broker set-up: one account per device, ACLs, MQTT over TLS.

mosquitto runs with exactly the files `wachter keys mqtt` makes (password file, ACL, CA, server
and client certificates); the drivers find their own credentials under ``credentials_dir``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from config.site import Site
from drivers.broker import Backoff, Broker, device_broker
from drivers.gpio import run_gpio
from drivers.intercom import IntercomSettings, run_intercom
from drivers.link import DeviceLink
from protocol.mqtt import EventType
from simulator.mosquitto import Mosquitto, free_port, run_as_me
from tests.drivers.helpers import Recorder, make_site
from tests.drivers.test_gpio import LoopPin
from wachter.keys import KeyPlan, write_mqtt

DEVICES: list[dict[str, Any]] = [
    {"id": "door-front", "type": "contact", "name": "Front door", "zone": 10, "gpio": {"pin": 5}},
    {"id": "panic-hall", "type": "panic_button", "name": "Panic", "zone": 2, "gpio": {"pin": 27}},
    {"id": "intercom-front", "type": "intercom", "name": "Intercom", "zone": 40, "source": "synthetic:empty"},
]
TOPIC = "wachter/v1/test-home/device"


@dataclass
class Secured:
    broker: Mosquitto
    keys: Path
    tls_port: int

    @property
    def clients(self) -> Path:
        return self.keys / "clients"

    def password(self, user: str) -> str:
        return (self.clients / user / "password").read_text().strip()

    def site(self, *, tls: bool = False) -> Site:
        """The test site as the installer sets it up: the agent's files plus ``credentials_dir``."""
        site = make_site(self.broker.url, DEVICES)
        agent = self.clients / "agent"
        update: dict[str, Any] = {"credentials_dir": self.clients}
        if tls:
            update |= {"url": f"mqtts://localhost:{self.tls_port}", "username": "agent",
                       "password_file": agent / "password", "ca_file": agent / "ca.crt",
                       "cert_file": agent / "client.crt", "key_file": agent / "client.key"}
        return site.model_copy(update={"mqtt": site.mqtt.model_copy(update=update)})

    def agent(self) -> Recorder:
        return Recorder(self.broker.port, username="agent", password=self.password("agent"))


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Secured]:
    """mosquitto with the generated passwd, acl and TLS listener; anonymous clients refused."""
    workdir, keys = tmp_path / "broker", tmp_path / "keys"
    workdir.mkdir()
    port, tls_port = free_port(), free_port()
    plan = KeyPlan(make_site("mqtt://127.0.0.1:1883", DEVICES), keys, hosts=["localhost", "127.0.0.1"],
                   port=port, tls_port=tls_port, tls_bind="127.0.0.1")
    write_mqtt(plan)
    broker = Mosquitto(workdir, port=port)
    broker.conf.write_text(run_as_me() + (keys / "broker" / "wachter.conf").read_text())
    broker.start()
    try:
        yield Secured(broker, keys, tls_port)
    finally:
        broker.stop()


@pytest.fixture
def factory() -> MockFactory:
    f = MockFactory()
    f.pin(5, pin_class=LoopPin, closed=True)  # door closed
    f.pin(27, pin_class=LoopPin, closed=False)  # panic button released
    return f


@contextlib.asynccontextmanager
async def drivers(site: Site, factory: MockFactory) -> AsyncIterator[None]:
    """The GPIO and the intercom driver on ``site``, stopped cleanly at the end."""
    stop = asyncio.Event()
    settings = IntercomSettings(backoff=Backoff(first=5.0, cap=5.0))
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(run_gpio(site, pin_factory=factory, stop=stop, stable_for=0.02)),
                 tg.create_task(run_intercom(site, stop=stop, settings=settings))]
        try:
            yield
        finally:
            stop.set()
            async with asyncio.timeout(10):
                await asyncio.wait(tasks)


async def online(rec: Recorder, *devices: str) -> None:
    async with asyncio.timeout(8):
        while not all(any(m.topic == f"{TOPIC}/{d}/availability" and m.payload == b"online"
                          for m in rec.messages) for d in devices):
            await asyncio.sleep(0.02)
    rec.drain()


async def event(rec: Recorder, device: str) -> dict[str, Any]:
    r = await rec.expect(device, "event", skip=("heartbeat", "state", "availability", "snapshot"))
    data: dict[str, Any] = r.json()
    return data


@pytest.mark.broker
async def test_each_device_publishes_under_its_own_account(secured: Secured, factory: MockFactory) -> None:
    async with secured.agent() as rec, drivers(secured.site(), factory):
        await online(rec, "door-front", "panic-hall", "intercom-front")  # three accounts, three wills
        factory.pin(5).drive_high()  # door opened
        opened = await event(rec, "door-front")
        factory.pin(27).drive_low()  # panic pressed
        pressed = await event(rec, "panic-hall")
        assert (opened["type"], pressed["type"]) == ("open", "press")
        # the device reads its own confirm topic: confirmed events are not sent again
        await rec.publish(f"{TOPIC}/door-front/confirm", json.dumps({"ids": [opened["id"]]}))
        await rec.publish(f"{TOPIC}/panic-hall/confirm", json.dumps({"ids": [pressed["id"]]}))
        await asyncio.sleep(3.5)  # the time under test: longer than resend_after (3 s)
        factory.pin(5).drive_low()  # processed up to here: the next door event is this close,
        assert (await event(rec, "door-front"))["type"] == "close"  # not a re-sent open
    offline = [m.device for m in rec.messages if m.channel == "availability" and m.payload == b"offline"]
    assert sorted(offline) == ["door-front", "intercom-front", "panic-hall"]


@pytest.mark.broker
async def test_a_device_account_cannot_speak_for_another_device(secured: Secured) -> None:
    site = secured.site()
    base = Broker.from_config(site.mqtt)
    door = device_broker(site, base, "device.door-front")
    forged = DeviceLink(door, site.id, "panic-hall", resend_after=0.3)  # door-front's password
    honest = DeviceLink(door, site.id, "door-front")
    async with secured.agent() as rec, forged, honest:
        await asyncio.wait_for(forged.connected.wait(), 5)  # the password is right ...
        forged.event(EventType.PRESS)
        forged.state(pressed=True)
        await asyncio.sleep(1.0)  # ... and it keeps trying
        honest.event(EventType.OPEN)
        assert (await event(rec, "door-front"))["type"] == "open"
    assert not [m for m in rec.messages if m.device == "panic-hall"]  # ... but the ACL drops it all


@pytest.mark.broker
async def test_drivers_over_tls_with_their_own_certificates(secured: Secured, factory: MockFactory) -> None:
    site = secured.site(tls=True)
    base = Broker.from_config(site.mqtt)
    assert (base.tls, base.port, base.username) == (True, secured.tls_port, "agent")
    door = device_broker(site, base, "device.door-front")
    assert door.cert_file == secured.clients / "device.door-front" / "client.crt"
    async with secured.agent() as rec, drivers(site, factory):
        await online(rec, "door-front", "panic-hall", "intercom-front")
        factory.pin(5).drive_high()
        assert (await event(rec, "door-front"))["type"] == "open"


@pytest.mark.broker
async def test_tls_without_the_home_ca_never_connects(secured: Secured) -> None:
    site = secured.site(tls=True)
    door = device_broker(site, Broker.from_config(site.mqtt), "device.door-front")
    for broker in (replace(door, ca_file=None), replace(door, cert_file=None, key_file=None)):
        link = DeviceLink(broker, site.id, "door-front", backoff=Backoff(first=0.1, cap=0.2))
        async with link:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(link.connected.wait(), 1.5)
        assert link.counters.connects == 0


def test_device_broker_reads_the_account_folder(secured: Secured, tmp_path: Path) -> None:
    plain = secured.site()
    base = Broker.from_config(plain.mqtt)
    door = device_broker(plain, base, "device.door-front")
    assert (door.username, door.password) == ("device.door-front", secured.password("device.door-front"))
    assert door.cert_file is None  # plain MQTT: no certificate files
    assert secured.password("device.door-front") not in repr(door)
    no_accounts = make_site(secured.broker.url, DEVICES)
    assert device_broker(no_accounts, base, "device.door-front") is base
    missing = plain.model_copy(update={"mqtt": plain.mqtt.model_copy(update={"credentials_dir": tmp_path})})
    with pytest.raises(ValueError, match=r"device\.door-front.*wachter keys mqtt"):
        device_broker(missing, base, "device.door-front")
