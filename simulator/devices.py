"""Simulated devices of a site, speaking MQTT contract v1 exactly like the drivers.

The simulator listens for actions on ``wachter/v1/<site>/sim/<device>`` (JSON
``{"action": "press"}``) so that ``wachter sim press panic-hall`` can act on a running demo,
and announces its devices on the retained topic ``wachter/v1/<site>/sim/online``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import aiomqtt
from pydantic import BaseModel, ConfigDict

from config.site import Device, DeviceType, Site
from protocol import mqtt

__all__ = ["SimAction", "SimulatedSite", "sim_topic"]

log = logging.getLogger(__name__)

Verb = Literal["press", "release", "open", "close", "tamper", "tamper_restore", "battery_low",
               "battery_ok", "smoke", "smoke_clear", "doorbell", "person", "offline", "online"]


class SimAction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Verb
    held_ms: int | None = None


def sim_topic(site: str, device: str) -> str:
    return f"{mqtt.ROOT}/{site}/sim/{device}"


_EVENT_FOR: dict[str, mqtt.EventType] = {
    "press": mqtt.EventType.PRESS, "release": mqtt.EventType.RELEASE,
    "open": mqtt.EventType.OPEN, "close": mqtt.EventType.CLOSE,
    "tamper": mqtt.EventType.TAMPER, "tamper_restore": mqtt.EventType.TAMPER_RESTORE,
    "battery_low": mqtt.EventType.BATTERY_LOW, "battery_ok": mqtt.EventType.BATTERY_OK,
    "smoke": mqtt.EventType.SMOKE, "smoke_clear": mqtt.EventType.SMOKE_CLEAR,
    "doorbell": mqtt.EventType.DOORBELL, "person": mqtt.EventType.PERSON,
}


@dataclass
class SimulatedDevice:
    device: Device
    state: dict[str, object] = field(default_factory=dict)

    def initial(self) -> None:
        if self.device.type is DeviceType.CONTACT:
            self.state["contact"] = "closed"
        if self.device.type is DeviceType.PANIC:
            self.state["pressed"] = False
        self.state["tamper"] = False

    def apply(self, verb: str) -> None:
        updates: dict[str, dict[str, object]] = {
            "open": {"contact": "open"}, "close": {"contact": "closed"},
            "press": {"pressed": True}, "release": {"pressed": False},
            "tamper": {"tamper": True}, "tamper_restore": {"tamper": False},
            "battery_low": {"battery_low": True}, "battery_ok": {"battery_low": False},
            "smoke": {"smoke": True}, "smoke_clear": {"smoke": False},
        }
        self.state.update(updates.get(verb, {}))


class SimulatedSite:
    """Every device of the site on one MQTT connection; runs until cancelled."""

    def __init__(self, site: Site, broker_url: str, heartbeat: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.site = site
        self.url = urlsplit(broker_url)
        self.heartbeat = heartbeat
        self.devices = {d.id: SimulatedDevice(d) for d in site.devices}
        self.started = clock()
        self.clock = clock
        self.ready = asyncio.Event()
        self._offline: set[str] = set()

    def _client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.url.hostname or "127.0.0.1", self.url.port or 1883,
            identifier=f"wachter-sim-{self.site.id}",
            will=aiomqtt.Will(f"{mqtt.ROOT}/{self.site.id}/sim/online", b"", qos=1, retain=True),
            timeout=10,
        )

    async def run(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with self._client() as client:
                    await self._announce(client)
                    backoff = 0.5
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(self._heartbeats(client), name="sim-heartbeat")
                        tg.create_task(self._actions(client), name="sim-actions")
            except aiomqtt.MqttError as exc:
                self.ready.clear()
                log.warning("simulator lost the broker (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)

    async def _announce(self, client: aiomqtt.Client) -> None:
        await client.subscribe(f"{mqtt.ROOT}/{self.site.id}/sim/+", qos=1)
        for sim in self.devices.values():
            if not sim.state:
                sim.initial()
            await self._publish_state(client, sim)
            if sim.device.id not in self._offline:
                await self._availability(client, sim.device.id, online=True)
        names = json.dumps(sorted(self.devices))
        await client.publish(f"{mqtt.ROOT}/{self.site.id}/sim/online", names, qos=1, retain=True)
        self.ready.set()

    async def _availability(self, client: aiomqtt.Client, device: str, *, online: bool) -> None:
        value = mqtt.Availability.ONLINE if online else mqtt.Availability.OFFLINE
        topic = mqtt.device_topic(self.site.id, device, mqtt.Channel.AVAILABILITY)
        await client.publish(topic, value.value, qos=1, retain=True)

    async def _publish_state(self, client: aiomqtt.Client, sim: SimulatedDevice) -> None:
        state = mqtt.DeviceState.model_validate({"device": sim.device.id, **sim.state})
        topic = mqtt.device_topic(self.site.id, sim.device.id, mqtt.Channel.STATE)
        await client.publish(topic, state.model_dump_json(), qos=1, retain=True)

    async def _heartbeats(self, client: aiomqtt.Client) -> None:
        while True:
            for device in self.devices:
                if device in self._offline:
                    continue
                beat = mqtt.Heartbeat(device=device, uptime_s=self.clock() - self.started)
                topic = mqtt.device_topic(self.site.id, device, mqtt.Channel.HEARTBEAT)
                await client.publish(topic, beat.model_dump_json(), qos=0)
            await asyncio.sleep(self.heartbeat)

    async def _actions(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            device = message.topic.value.rsplit("/", 1)[-1]
            if device == "online" or device not in self.devices:
                continue
            try:
                action = SimAction.model_validate_json(bytes(message.payload))  # type: ignore[arg-type,unused-ignore]
            except ValueError as exc:
                log.warning("simulator: bad action for %s: %s", device, exc)
                continue
            await self.act(client, device, action)

    async def act(self, client: aiomqtt.Client, device: str, action: SimAction) -> None:
        sim = self.devices[device]
        if action.action in ("offline", "online"):
            (self._offline.discard if action.action == "online" else self._offline.add)(device)
            await self._availability(client, device, online=action.action == "online")
            return
        sim.apply(action.action)
        await self._publish_state(client, sim)
        event = mqtt.DeviceEvent(
            id=uuid.uuid4().hex, device=device, type=_EVENT_FOR[action.action],
            held_ms=action.held_ms, score=0.9 if action.action == "person" else None,
        )
        topic = mqtt.device_topic(self.site.id, device, mqtt.Channel.EVENT)
        await client.publish(topic, event.model_dump_json(), qos=1)
        log.info("simulated %s: %s", device, action.action)
