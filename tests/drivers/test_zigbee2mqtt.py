"""Zigbee2MQTT adapter: the mapping (pure) and the adapter against the real mosquitto."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from config.site import DeviceType, Site
from drivers.zigbee2mqtt import _availability, run_zigbee2mqtt, translate
from protocol.mqtt import EventType as E
from tests.broker import Mosquitto
from tests.drivers.helpers import Recorder, make_site

# ---- the mapping ------------------------------------------------------------------------


def replay(kind: DeviceType, *messages: dict[str, Any]) -> list[tuple[tuple[E, ...], dict[str, Any]]]:
    known: dict[str, Any] = {}
    out = []
    for message in messages:
        reading = translate(kind, message, known)
        known.update(reading.state)
        out.append((reading.events, dict(reading.state)))
    return out


def test_contact_true_means_closed_and_only_changes_make_events() -> None:
    assert replay(DeviceType.CONTACT, {"contact": True, "linkquality": 90}, {"contact": True},
                  {"contact": False}, {"contact": True}) == [
        ((), {"contact": "closed"}),
        ((), {"contact": "closed"}),
        ((E.OPEN,), {"contact": "open"}),
        ((E.CLOSE,), {"contact": "closed"}),
    ]


def test_a_first_open_reading_sets_the_state_without_an_event() -> None:
    assert replay(DeviceType.CONTACT, {"contact": False}) == [((), {"contact": "open"})]


@pytest.mark.parametrize("message", [{"action": "emergency"}, {"action": "SOS"}, {"sos": True},
                                     {"action": "single"}])
def test_sos_button_gives_press_and_release(message: dict[str, Any]) -> None:
    assert replay(DeviceType.PANIC, message)[0][0] == (E.PRESS, E.RELEASE)


@pytest.mark.parametrize("message", [{"action": ""}, {"action": None}, {"sos": False},
                                     {"action": "double"}, {"battery": 80}])
def test_other_button_messages_raise_nothing(message: dict[str, Any]) -> None:
    assert replay(DeviceType.PANIC, message)[0][0] == ()


def test_smoke_tamper_and_battery() -> None:
    assert replay(DeviceType.SMOKE, {"smoke": False, "tamper": False, "battery_low": False},
                  {"smoke": True}, {"smoke": False, "tamper": True}, {"battery_low": True},
                  {"battery_low": False, "tamper": False}) == [
        ((), {"smoke": False, "tamper": False, "battery_low": False}),
        ((E.SMOKE,), {"smoke": True}),
        ((E.SMOKE_CLEAR, E.TAMPER), {"smoke": False, "tamper": True}),
        ((E.BATTERY_LOW,), {"battery_low": True}),
        ((E.TAMPER_RESTORE, E.BATTERY_OK), {"tamper": False, "battery_low": False}),
    ]


def test_a_first_alarm_value_is_reported_at_once() -> None:
    """A restart of the adapter must not hide smoke or an opened cover."""
    assert replay(DeviceType.SMOKE, {"smoke": True, "tamper": True})[0][0] == (E.SMOKE, E.TAMPER)


def test_smoke_is_only_read_from_smoke_detectors() -> None:
    assert replay(DeviceType.CONTACT, {"contact": True, "smoke": True}) == [((), {"contact": "closed"})]


def test_availability_payloads() -> None:
    assert _availability(b"online") is True
    assert _availability(b'{"state":"offline"}') is False
    assert _availability(b"maybe") is None and _availability(b"{bad json") is None


# ---- the adapter on the real broker ------------------------------------------------------

DEVICES = [
    {"id": "door-z", "type": "contact", "name": "Front door", "zone": 10,
     "zigbee": {"friendly_name": "Front door"}},
    {"id": "sos-z", "type": "panic_button", "name": "SOS button", "zone": 1,
     "zigbee": {"friendly_name": "living/SOS button"}},
    {"id": "smoke-z", "type": "smoke", "name": "Hall smoke", "zone": 20,
     "zigbee": {"friendly_name": "Hall smoke", "max_silence": "2h"}},
    {"id": "door-wired", "type": "contact", "name": "Back door", "zone": 11, "gpio": {"pin": 5}},
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def adapter(site: Site, clock: Clock) -> AsyncIterator[None]:
    stop, ready = asyncio.Event(), asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(run_zigbee2mqtt(site, stop=stop, check_every=0.05, clock=clock, ready=ready))
        try:
            await asyncio.wait_for(ready.wait(), 10)  # subscribed to Zigbee2MQTT's topics
            yield
        finally:
            stop.set()


async def z2m(rec: Recorder, name: str, payload: object) -> None:
    await rec.publish(f"zigbee2mqtt/{name}", payload if isinstance(payload, str) else json.dumps(payload))


async def online(rec: Recorder, device: str) -> None:
    assert (await rec.expect(device, "availability")).payload == b"online"


@pytest.mark.broker
async def test_zigbee_devices_speak_contract_v1(mosquitto: Mosquitto) -> None:
    site = make_site(mosquitto.url, DEVICES)
    async with Recorder(mosquitto.port) as rec, adapter(site, Clock()):
        async with asyncio.timeout(5):
            while {m.device for m in rec.messages if m.channel == "availability"} != {
                "door-z", "sos-z", "smoke-z"
            }:
                await asyncio.sleep(0.02)
        rec.drain()
        assert not any(m.device == "door-wired" for m in rec.messages)  # wired: not ours

        await z2m(rec, "Front door", {"contact": True, "battery_low": False, "linkquality": 120})
        state = await rec.expect("door-z", "state", skip=("heartbeat",))
        assert state.json()["contact"] == "closed"
        await z2m(rec, "Front door", {"contact": False})
        assert (await rec.expect("door-z", "event")).json()["type"] == "open"

        await z2m(rec, "living/SOS button", {"action": "emergency", "battery": 95})
        assert (await rec.expect("sos-z", "event")).json()["type"] == "press"
        assert (await rec.expect("sos-z", "event")).json()["type"] == "release"

        await z2m(rec, "Hall smoke", {"smoke": True})
        assert (await rec.expect("smoke-z", "event")).json()["type"] == "smoke"


@pytest.mark.broker
async def test_zigbee2mqtt_availability_is_passed_on(mosquitto: Mosquitto) -> None:
    site = make_site(mosquitto.url, DEVICES)
    async with Recorder(mosquitto.port) as rec, adapter(site, Clock()):
        await online(rec, "door-z")
        await z2m(rec, "Front door", {"contact": True})
        await rec.expect("door-z", "state", skip=("heartbeat",))
        await z2m(rec, "Front door/availability", '{"state": "offline"}')
        assert (await rec.expect("door-z", "availability")).payload == b"offline"
        await z2m(rec, "Front door/availability", "online")
        await online(rec, "door-z")
        # back online, the retained state is published again
        assert (await rec.expect("door-z", "state", skip=("heartbeat",))).json()["contact"] == "closed"


@pytest.mark.broker
async def test_wachter_supervision_not_zigbee2mqtt_25h(mosquitto: Mosquitto) -> None:
    """Silent longer than max_silence (2 h here) -> offline; the next message -> online again."""
    site = make_site(mosquitto.url, DEVICES)
    clock = Clock()
    async with Recorder(mosquitto.port) as rec, adapter(site, clock):
        await online(rec, "smoke-z")
        clock.now += 3600
        await z2m(rec, "Hall smoke", {"smoke": False})  # heard from after 1 h: still fine
        await rec.expect("smoke-z", "state", skip=("heartbeat",))
        clock.now += 2 * 3600 - 1
        await rec.quiet("smoke-z", "availability", 0.3)
        clock.now += 2
        assert (await rec.expect("smoke-z", "availability")).payload == b"offline"
        await z2m(rec, "Hall smoke", {"smoke": False})
        await online(rec, "smoke-z")


@pytest.mark.broker
async def test_bad_messages_are_counted_not_fatal(mosquitto: Mosquitto) -> None:
    site = make_site(mosquitto.url, DEVICES)
    async with Recorder(mosquitto.port) as rec, adapter(site, Clock()):
        await online(rec, "door-z")
        await z2m(rec, "Front door", "not json")
        await z2m(rec, "Front door", "[1, 2]")
        await z2m(rec, "Front door/availability", "perhaps")
        await z2m(rec, "Unknown device", {"contact": False})
        await z2m(rec, "Front door", {"contact": True})
        assert (await rec.expect("door-z", "state", skip=("heartbeat",))).json()["contact"] == "closed"


def test_check_rejects_a_hold_time_on_a_zigbee_button(tmp_path: Any) -> None:
    from config.check import check
    from tests.installer.conftest import SITE_TEXT, edit

    text = edit(SITE_TEXT, ("    gpio: {pin: 27}\n", "    hold_ms: 2000\n    zigbee: {friendly_name: SOS}\n"))
    path = tmp_path / "site.yaml"
    path.write_text(text)
    [problem] = check(path)
    assert problem.field == "devices[1].hold_ms" and "hold_ms: 0" in problem.message
