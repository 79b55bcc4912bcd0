"""The GPIO driver against mock pins and a real mosquitto: exact MQTT messages per signal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory, MockPin

from config.site import Site
from drivers.gpio import check_pins, run_gpio
from tests.broker import Mosquitto
from tests.drivers.helpers import Recorder, make_site

pytestmark = pytest.mark.broker

DEVICES: list[dict[str, Any]] = [
    {
        "id": "door-front",
        "type": "contact",
        "name": "Front door",
        "zone": 10,
        "gpio": {"pin": 5, "tamper_pin": 6},
    },
    {"id": "panic-hall", "type": "panic_button", "name": "Panic", "zone": 2, "gpio": {"pin": 27}},
    {"id": "siren-hall", "type": "siren", "name": "Sounder", "zone": 50, "gpio": {"pin": 12, "led_pin": 16}},
    {"id": "intercom-front", "type": "intercom", "name": "Intercom", "zone": 40, "gpio": {"pin": 20}},
]
TOPIC = "wachter/v1/test-home/device"


class LoopPin(MockPin):
    """A mock input on a wired loop: while the loop is closed it holds the line low against the
    pull-up, as a closed reed contact does."""

    def __init__(self, factory: Any, info: Any, closed: bool = True) -> None:
        self.closed = closed
        super().__init__(factory, info)

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        if self.closed:
            self.drive_low()


@pytest.fixture
def factory() -> MockFactory:
    f = MockFactory()
    for pin in (5, 6):  # door closed, tamper loop intact
        f.pin(pin, pin_class=LoopPin, closed=True)
    f.pin(27, pin_class=LoopPin, closed=False)  # panic button released
    return f


@contextlib.asynccontextmanager
async def driver(site: Site, factory: MockFactory, **kw: Any) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(run_gpio(site, pin_factory=factory, stop=stop, **kw))
        try:
            yield stop
        finally:
            stop.set()
            async with asyncio.timeout(10):
                await asyncio.wait([task])


async def started(rec: Recorder, devices: tuple[str, ...] = ("door-front", "panic-hall")) -> None:
    async with asyncio.timeout(5):
        while not all(f"{TOPIC}/{d}/availability" in {m.topic for m in rec.messages} for d in devices):
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    rec.drain()


async def events(rec: Recorder, device: str, n: int, timeout: float = 3.0) -> list[dict[str, Any]]:
    return [(await rec.expect(device, "event", timeout=timeout)).json() for _ in range(n)]


async def nothing_before_the_marker(rec: Recorder, factory: MockFactory) -> None:
    """Processed up to here: the door's tamper loop is cut and mended, and the next door-front
    events must be exactly that tamper and restore (a driver publishes a device's events in
    order), so any event still due from earlier would have come first."""
    tamper = factory.pin(6)
    tamper.drive_high()
    [cut] = await events(rec, "door-front", 1)
    tamper.drive_low()
    [mended] = await events(rec, "door-front", 1)
    assert (cut["type"], mended["type"]) == ("tamper", "tamper_restore"), (cut, mended)


def flip(pin: MockPin, levels: list[bool], gap: float) -> None:
    for level in levels:
        pin.drive_high() if level else pin.drive_low()
        time.sleep(gap)


async def test_start_publishes_online_and_retained_state_and_offline_on_stop(
    mosquitto: Mosquitto, factory: MockFactory
) -> None:
    site = make_site(mosquitto.url, DEVICES)
    async with Recorder(mosquitto.port) as rec:
        async with driver(site, factory):
            online = await rec.expect("door-front", "availability", skip=("heartbeat", "state"))
            assert (online.payload, online.retain) == (b"online", False)  # live, not from store
            state = await rec.expect("door-front", "state", skip=("heartbeat",))
            assert state.json()["contact"] == "closed"
        offline = await rec.expect("door-front", "availability", skip=("heartbeat", "state", "event"))
        assert offline.payload == b"offline"
    # a late subscriber sees the retained truth: offline, door closed, tamper loop intact
    retained = {"door-front/availability", "door-front/state", "panic-hall/state"}
    async with Recorder(mosquitto.port) as late:
        async with asyncio.timeout(5):  # the broker hands retained messages over on subscribing
            while not retained <= {m.topic.removeprefix(TOPIC + "/") for m in late.messages}:
                await asyncio.sleep(0.02)
        kept = {m.topic.removeprefix(TOPIC + "/"): m for m in late.messages}
    assert all(m.retain for m in kept.values())
    assert kept["door-front/availability"].payload == b"offline"
    door = kept["door-front/state"].json()
    assert (door["contact"], door["tamper"]) == ("closed", False)
    assert kept["panic-hall/state"].json()["pressed"] is False
    assert [m for m in rec.messages if "intercom-front" in m.topic] == []  # not ours


async def test_bounce_train_gives_exactly_one_event(mosquitto: Mosquitto, factory: MockFactory) -> None:
    door = factory.pin(5)
    async with Recorder(mosquitto.port) as rec, driver(make_site(mosquitto.url, DEVICES), factory):
        await started(rec)
        await asyncio.to_thread(flip, door, [True, False, True, False, True, False, True], 0.003)
        [opened] = await events(rec, "door-front", 1)
        assert opened["type"] == "open" and opened["device"] == "door-front"
        await nothing_before_the_marker(rec, factory)


async def test_glitch_shorter_than_debounce_is_ignored(mosquitto: Mosquitto, factory: MockFactory) -> None:
    door = factory.pin(5)
    async with Recorder(mosquitto.port) as rec, driver(make_site(mosquitto.url, DEVICES), factory):
        await started(rec)
        await asyncio.to_thread(flip, door, [True, False], 0.02)
        await nothing_before_the_marker(rec, factory)


async def test_400ms_pulse_gives_open_then_close(mosquitto: Mosquitto, factory: MockFactory) -> None:
    door = factory.pin(5)
    async with Recorder(mosquitto.port) as rec, driver(make_site(mosquitto.url, DEVICES), factory):
        await started(rec)
        await asyncio.to_thread(flip, door, [True, False], 0.4)
        opened, closed = await events(rec, "door-front", 2)
        assert (opened["type"], closed["type"]) == ("open", "close")
        assert opened["id"] != closed["id"]
        await nothing_before_the_marker(rec, factory)


async def test_cut_tamper_loop_gives_tamper(mosquitto: Mosquitto, factory: MockFactory) -> None:
    tamper = factory.pin(6)
    async with Recorder(mosquitto.port) as rec, driver(make_site(mosquitto.url, DEVICES), factory):
        await started(rec)
        tamper.drive_high()  # the wire is cut: the pull-up wins
        [event] = await events(rec, "door-front", 1)
        assert event["type"] == "tamper"
        state = [m for m in rec.messages if m.topic == f"{TOPIC}/door-front/state"][-1]
        assert state.json()["tamper"] is True and state.json()["contact"] == "closed"
        tamper.drive_low()
        [event] = await events(rec, "door-front", 1)
        assert event["type"] == "tamper_restore"


async def test_held_panic_button_gives_press_then_release_with_held_ms(
    mosquitto: Mosquitto, factory: MockFactory
) -> None:
    button = factory.pin(27)
    async with Recorder(mosquitto.port) as rec, driver(make_site(mosquitto.url, DEVICES), factory):
        await started(rec)
        button.drive_low()
        [press] = await events(rec, "panic-hall", 1)  # reported while still held: never delayed
        assert press["type"] == "press" and "held_ms" not in press
        await asyncio.sleep(0.6)
        button.drive_high()
        [release] = await events(rec, "panic-hall", 1)
        assert release["type"] == "release"
        assert 560 <= release["held_ms"] <= 700


async def test_sounder_and_led_follow_commands(mosquitto: Mosquitto, factory: MockFactory) -> None:
    async with Recorder(mosquitto.port) as rec, driver(make_site(mosquitto.url, DEVICES), factory):
        await started(rec, ("siren-hall",))
        sounder, led = factory.pin(12), factory.pin(16)
        assert (sounder.state, led.state) == (False, False)
        for command in ("sounder_on", "led_on"):
            payload = json.dumps({"command": command, "alarm_id": "a1"})
            await rec.publish(f"{TOPIC}/siren-hall/set", payload)
        async with asyncio.timeout(3):
            while not (sounder.state and led.state):
                await asyncio.sleep(0.02)
        await rec.publish(f"{TOPIC}/siren-hall/set", '{"command": "sounder_off"}')
        await rec.publish(f"{TOPIC}/siren-hall/set", "not json")  # counted, not fatal
        async with asyncio.timeout(3):
            while sounder.state:
                await asyncio.sleep(0.02)


async def test_unconfirmed_event_is_republished_after_broker_restart(
    mosquitto: Mosquitto, factory: MockFactory
) -> None:
    door = factory.pin(5)
    site = make_site(mosquitto.url, DEVICES)
    async with driver(site, factory):
        async with Recorder(mosquitto.port) as rec:
            await started(rec)
            door.drive_high()
            [opened] = await events(rec, "door-front", 1)
            door.drive_low()
            [closed] = await events(rec, "door-front", 1)
            confirm = json.dumps({"ids": [closed["id"]]})  # the agent committed only the close
            await rec.publish(f"{TOPIC}/door-front/confirm", confirm)
            await asyncio.sleep(0.3)
        await asyncio.to_thread(mosquitto.restart)
        async with Recorder(mosquitto.port) as rec:
            again = await rec.expect(
                "door-front", "event", timeout=10, skip=("heartbeat", "state", "availability")
            )
            assert again.json() == opened  # same id, same ts: the agent de-duplicates
            await rec.publish(f"{TOPIC}/door-front/confirm", json.dumps({"ids": [opened["id"]]}))
            await rec.quiet("door-front", "event", 0.5)
        await asyncio.to_thread(mosquitto.restart)
        async with Recorder(mosquitto.port) as rec:
            online = await rec.expect("door-front", "availability", timeout=10, skip=("state",))
            for _ in range(3):  # the will of the old connection may come first (retained or live)
                if online.payload == b"online":
                    break
                online = await rec.expect("door-front", "availability", timeout=10, skip=("state",))
            assert online.payload == b"online"
            await nothing_before_the_marker(rec, factory)  # everything confirmed: nothing re-sent


def test_a_pin_used_twice_is_refused(mosquitto: Mosquitto) -> None:
    devices = [*DEVICES[:2], {**DEVICES[2], "gpio": {"pin": 12, "led_pin": 27}}]
    with pytest.raises(ValueError, match=r"\[27\] used twice"):
        check_pins(make_site(mosquitto.url, devices))


async def test_heartbeat_is_periodic(mosquitto: Mosquitto, factory: MockFactory) -> None:
    site = make_site(mosquitto.url, DEVICES[:1])
    async with Recorder(mosquitto.port) as rec, driver(site, factory, heartbeat=0.2):
        beats = [
            (await rec.expect("door-front", "heartbeat", skip=("state", "availability"))).json()
            for _ in range(3)
        ]
    assert [b["device"] for b in beats] == ["door-front"] * 3
    assert beats[0]["uptime_s"] < beats[1]["uptime_s"] < beats[2]["uptime_s"]
