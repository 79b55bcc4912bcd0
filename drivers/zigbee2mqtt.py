"""Off-the-shelf Zigbee devices through Zigbee2MQTT, mapped onto MQTT contract v1.

Zigbee2MQTT publishes each device's state as JSON on ``zigbee2mqtt/<friendly name>`` and its
availability on ``.../availability``. A site device with ``zigbee: {friendly_name: ...}`` gets
one DeviceLink (its own account, availability, heartbeat, confirmed events), exactly like a
wired device. Wachter's supervision applies, not Zigbee2MQTT's: a battery device is declared
offline by Zigbee2MQTT only after 25 h, so the adapter closes a device's link (availability
``offline``) once it has been silent for ``zigbee.max_silence`` (default 2 h) and the agent's
lost-device timer takes over; the next message from the device brings it back online.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from config.site import ZIGBEE_ADAPTER, Device, DeviceType, Site
from drivers.broker import Backoff, Broker, device_broker
from drivers.cli import run_driver
from drivers.link import DeviceLink
from protocol.mqtt import EventType
from protocol.mqtt_client import bounded

__all__ = ["Reading", "ZigbeeDevice", "add_parser", "run_zigbee2mqtt", "translate"]

log = logging.getLogger(__name__)

# `action` values of SOS / emergency / panic buttons (Heiman, Tuya, Sonoff, Aqara, Frient...)
PANIC_ACTIONS = frozenset({"emergency", "sos", "panic", "single", "press", "single_press"})
# field -> (DeviceState field, event when it becomes true, event when it becomes false)
_FLAGS: dict[str, tuple[str, EventType, EventType]] = {
    "smoke": ("smoke", EventType.SMOKE, EventType.SMOKE_CLEAR),
    "tamper": ("tamper", EventType.TAMPER, EventType.TAMPER_RESTORE),
    "battery_low": ("battery_low", EventType.BATTERY_LOW, EventType.BATTERY_OK),
}


@dataclass(frozen=True)
class Reading:
    """What one Zigbee2MQTT message means in contract v1."""

    events: tuple[EventType, ...] = ()
    state: Mapping[str, Any] = field(default_factory=dict)


def translate(kind: DeviceType, payload: Mapping[str, Any], known: Mapping[str, Any]) -> Reading:
    """Events and DeviceState fields for one message; ``known`` is the state reported so far.

    A change makes an event. A first value makes an event only when it is a trouble or an alarm
    (smoke, tamper, low battery): a restart must not hide one, and repeats change nothing in
    the agent. A first contact reading only sets the state.
    """
    events: list[EventType] = []
    state: dict[str, Any] = {}
    if kind is DeviceType.CONTACT and isinstance(payload.get("contact"), bool):
        state["contact"] = "closed" if payload["contact"] else "open"  # Z2M: contact true = closed
        before = known.get("contact")
        if before is not None and before != state["contact"]:
            events.append(EventType.CLOSE if payload["contact"] else EventType.OPEN)
    if kind is DeviceType.PANIC:
        action = payload.get("action")
        if payload.get("sos") is True or (isinstance(action, str) and action.lower() in PANIC_ACTIONS):
            events += [EventType.PRESS, EventType.RELEASE]  # momentary: the button does its own hold
            state["pressed"] = False
    for name, (key, on, off) in _FLAGS.items():
        value = payload.get(name)
        if (name == "smoke" and kind is not DeviceType.SMOKE) or not isinstance(value, bool):
            continue
        state[key] = value
        before = known.get(key)
        if (value if before is None else before != value):
            events.append(on if value else off)
    return Reading(tuple(events), state)


def _availability(payload: bytes) -> bool | None:
    """``online``/``offline``, plain (legacy) or ``{"state": "online"}``; None when neither."""
    text = payload.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        with contextlib.suppress(ValueError):
            text = str(json.loads(text).get("state", ""))
    return {"online": True, "offline": False}.get(text)


class ZigbeeDevice:
    """One Wachter device backed by a Zigbee device: its link is up while the device is alive."""

    def __init__(self, site: str, device: Device, broker: Broker, *, heartbeat: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        assert device.zigbee is not None
        self.site, self.device, self.broker = site, device, broker
        self.heartbeat, self.clock = heartbeat, clock
        self.max_silence = device.zigbee.max_silence.total_seconds()
        self.known: dict[str, Any] = {}
        self.last_seen = clock()
        self.bad_messages = 0
        self.link: DeviceLink | None = None
        self._stack: AsyncExitStack | None = None

    async def open(self) -> DeviceLink:
        if self.link is None:
            self._stack = AsyncExitStack()
            link = DeviceLink(self.broker, self.site, self.device.id, heartbeat=self.heartbeat)
            self.link = await self._stack.enter_async_context(link)
            if self.known:
                self.link.state(**self.known)
            log.info("%s: online", self.device.id)
        return self.link

    async def close(self, reason: str) -> None:
        """Stop the link: pending events go out, then availability ``offline``."""
        if self._stack is not None:
            stack, self._stack, self.link = self._stack, None, None
            log.warning("%s: offline (%s)", self.device.id, reason)
            await stack.aclose()

    async def on_state(self, payload: bytes) -> None:
        try:
            data = json.loads(payload)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            self.bad_messages += 1
            log.warning("%s: rejected Zigbee2MQTT message: %s", self.device.id, exc)
            return
        self.last_seen = self.clock()
        link = await self.open()
        reading = translate(self.device.type, data, self.known)
        if reading.state:
            self.known.update(reading.state)
            link.state(**reading.state)
        for event in reading.events:
            link.event(event)

    async def on_availability(self, payload: bytes) -> None:
        online = _availability(payload)
        if online is None:
            self.bad_messages += 1
        elif online:
            self.last_seen = self.clock()
            await self.open()
        else:
            await self.close("Zigbee2MQTT reports it offline")

    async def supervise(self) -> None:
        if self.link is not None and self.clock() - self.last_seen > self.max_silence:
            await self.close(f"silent for more than {self.max_silence:g}s")


async def _read(source: Broker, base_topic: str, devices: dict[str, ZigbeeDevice], backoff: Backoff,
                ready: asyncio.Event) -> None:
    """Follow Zigbee2MQTT's topics, reconnecting forever (the owner cancels)."""
    attempt = 0
    prefix = base_topic.rstrip("/") + "/"
    while True:
        try:
            async with bounded(aiomqtt.Client(source.host, source.port, username=source.username,
                                      password=source.password, keepalive=source.keepalive,
                                      timeout=10, tls_params=source.tls_params(),
                                      identifier=f"wachter-zigbee2mqtt-{id(devices):x}")) as client:
                attempt = 0
                await client.subscribe(prefix + "#", qos=1)
                ready.set()
                async for message in client.messages:
                    name = message.topic.value.removeprefix(prefix)
                    payload = message.payload if isinstance(message.payload, bytes) else b""
                    if name in devices:
                        await devices[name].on_state(payload)
                    elif name.endswith("/availability") and name[: -len("/availability")] in devices:
                        await devices[name[: -len("/availability")]].on_availability(payload)
        except aiomqtt.MqttError as exc:
            log.warning("Zigbee2MQTT broker unreachable: %s", exc)
        await asyncio.sleep(backoff.delay(attempt))
        attempt += 1


async def _supervise(devices: dict[str, ZigbeeDevice], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        for device in devices.values():
            await device.supervise()


async def run_zigbee2mqtt(site: Site, *, stop: asyncio.Event, source: Broker | None = None,
                          base_topic: str = "zigbee2mqtt", heartbeat: float = 30.0,
                          check_every: float = 5.0, backoff: Backoff | None = None,
                          clock: Callable[[], float] = time.monotonic,
                          ready: asyncio.Event | None = None) -> None:
    """Serve every ``zigbee`` device of the site until ``stop`` is set; ``ready`` is set once
    Zigbee2MQTT's topics are subscribed (what it says before that is not heard)."""
    base = Broker.from_config(site.mqtt)
    devices = {
        d.zigbee.friendly_name: ZigbeeDevice(
            site.id, d, device_broker(site, base, site.mqtt.device_username(d.id)),
            heartbeat=heartbeat, clock=clock,
        )
        for d in site.devices
        if d.zigbee is not None
    }
    if not devices:
        raise ValueError(f"site {site.id} has no device with a zigbee section")
    source = source or device_broker(site, base, ZIGBEE_ADAPTER)
    try:
        for device in devices.values():
            await device.open()  # online from the start: each gets max_silence to speak
        async with asyncio.TaskGroup() as tg:
            reader = tg.create_task(_read(source, base_topic, devices, backoff or Backoff(),
                                          ready or asyncio.Event()),
                                    name="zigbee2mqtt-read")
            watcher = tg.create_task(_supervise(devices, check_every), name="zigbee2mqtt-supervise")
            await stop.wait()
            reader.cancel()
            watcher.cancel()
    finally:
        for device in devices.values():
            await device.close("adapter stopped")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``wachter zigbee2mqtt --config FILE``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "zigbee2mqtt", help="serve Zigbee contacts, SOS buttons and smoke detectors via Zigbee2MQTT"
    )
    parser.add_argument("--config", type=Path, required=True, help="site YAML file")
    parser.add_argument("--base-topic", default="zigbee2mqtt", help="Zigbee2MQTT's base_topic")
    parser.add_argument("--source", help="Zigbee2MQTT's broker, mqtt://host:port (default: the site's)")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="heartbeat interval, s")
    parser.set_defaults(func=_main)
    return parser


def _main(args: argparse.Namespace) -> int:
    async def body(site: Site, stop: asyncio.Event) -> None:
        source = None
        if args.source:
            source = Broker.from_config(site.mqtt.model_copy(update={"url": args.source}))
        await run_zigbee2mqtt(site, stop=stop, source=source, base_topic=args.base_topic,
                              heartbeat=args.heartbeat)

    return run_driver(args.config, body)
