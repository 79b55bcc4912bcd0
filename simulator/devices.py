"""Simulated devices of a site, speaking MQTT contract v1 exactly like the drivers.

The simulator listens for actions on ``wachter/v1/<site>/sim/<device>`` (JSON
``{"action": "press"}``) so that ``wachter sim press panic-hall`` and scenario files can act on
a running demo, and announces its devices and their actions on the retained topic
``wachter/v1/<site>/sim/online`` (JSON ``{"panic-hall": ["press", ...], ...}``).

Devices that a real driver serves (``hardware``: the GPIO driver on mock pins, the intercom
driver on a staged camera) are acted on at the pin or in front of the lens; facts the hardware
cannot produce (a wired contact's battery, a device going offline) and contract faults
(duplicate, malformed payloads) are published here directly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args
from urllib.parse import urlsplit

import aiomqtt
from pydantic import BaseModel, ConfigDict

from config.site import Device, DeviceType, Site
from drivers.broker import Backoff
from drivers.intercom import Intercom, IntercomSettings, site_intercoms
from drivers.intercom.stage import Stage
from protocol import mqtt
from protocol.mqtt_client import bounded, still_wanted

__all__ = ["DEVICE_VERBS", "Hardware", "SimAction", "SimulatedSite", "StagedIntercoms", "Verb", "sim_topic",
           "verbs_for"]

log = logging.getLogger(__name__)

Verb = Literal["press", "release", "open", "close", "tamper", "tamper_restore", "battery_low",
               "battery_ok", "smoke", "smoke_clear", "doorbell", "motion", "person", "camera_lost",
               "camera_restored", "masking", "masking_restore", "offline", "online", "duplicate",
               "malformed"]
DEVICE_VERBS: tuple[str, ...] = get_args(Verb)

_COMMON = ("tamper", "tamper_restore", "battery_low", "battery_ok", "offline", "online", "duplicate",
           "malformed")
_BY_TYPE: dict[DeviceType, tuple[str, ...]] = {
    DeviceType.CONTACT: ("open", "close"),
    DeviceType.PANIC: ("press", "release"),
    DeviceType.SMOKE: ("smoke", "smoke_clear"),
    DeviceType.INTERCOM: ("doorbell", "motion", "person", "camera_lost", "camera_restored", "masking",
                          "masking_restore"),
    DeviceType.KEYPAD: (),
    DeviceType.SIREN: (),
}


def verbs_for(device: Device) -> tuple[str, ...]:
    """The actions that make sense for this kind of device (``press`` on a door does not)."""
    return _BY_TYPE[device.type] + _COMMON


class SimAction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Verb
    held_ms: int | None = None
    score: float | None = None  # person detection confidence


class Hardware(Protocol):
    """Real driver code on fake hardware; ``act`` returns False for what it cannot do."""

    devices: frozenset[str]

    def act(self, device: str, action: SimAction) -> bool: ...


class StagedIntercoms:
    """Every intercom of the site served by the real intercom driver, each on a staged camera.

    ``person`` walks a figure in, ``motion`` sends something else past, ``masking`` covers the
    lens, ``camera_lost`` pulls the cable; the driver's own video analysis makes the events, so
    they come as late (masking: seconds) and with the score the real code gives.
    """

    def __init__(self, site: Site, *, pin_factory: Any = None, heartbeat: float = 30.0) -> None:
        self.site = site
        self.pin_factory = pin_factory
        self.settings = IntercomSettings(heartbeat=heartbeat, backoff=Backoff(first=0.5, cap=1.0))
        served = [d for d in site.devices if d.type is DeviceType.INTERCOM and d.source]
        self.stages = {d.id: Stage() for d in served}
        self.devices = frozenset(self.stages)
        self.intercoms: dict[str, Intercom] = {}

    def act(self, device: str, action: SimAction) -> bool:
        """Stage ``action`` for the camera; False for what a camera cannot show (tamper, ...)."""
        stage = self.stages.get(device)
        intercom = self.intercoms.get(device)
        if stage is None:
            return False
        verb = action.action
        if verb == "doorbell":  # the action-URL path of the driver: event plus evidence burst
            if intercom is None or intercom.link is None:
                return False
            intercom.ring()
            return True
        staged: dict[str, Callable[[], None]] = {
            "person": stage.visitor, "motion": stage.pass_by,
            "masking": stage.cover, "masking_restore": lambda: stage.cover(False),
            "camera_lost": stage.unplug, "camera_restored": lambda: stage.unplug(False),
        }
        if verb not in staged:
            return False
        staged[verb]()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """The real driver for every staged intercom, until ``stop`` is set."""
        async with asyncio.TaskGroup() as tg:
            for device_id, stage in self.stages.items():
                settings = dataclasses.replace(self.settings, capture_factory=stage.capture)
                [intercom] = site_intercoms(self.site, settings, self.pin_factory, device_id)
                self.intercoms[device_id] = intercom
                tg.create_task(intercom.run(stop), name=f"intercom:{device_id}")


def sim_topic(site: str, device: str) -> str:
    return f"{mqtt.ROOT}/{site}/sim/{device}"


_EVENT_FOR: dict[str, mqtt.EventType] = {v: mqtt.EventType(v) for v in DEVICE_VERBS
                                         if v in mqtt.EventType.__members__.values()}
_STATE_FOR: dict[str, dict[str, object]] = {
    "open": {"contact": "open"}, "close": {"contact": "closed"},
    "press": {"pressed": True}, "release": {"pressed": False},
    "tamper": {"tamper": True}, "tamper_restore": {"tamper": False},
    "battery_low": {"battery_low": True}, "battery_ok": {"battery_low": False},
    "smoke": {"smoke": True}, "smoke_clear": {"smoke": False},
    "camera_lost": {"camera": "lost"}, "camera_restored": {"camera": "ok"},
    "masking": {"camera": "masked"}, "masking_restore": {"camera": "ok"},
}
_INITIAL: dict[DeviceType, dict[str, object]] = {
    DeviceType.CONTACT: {"contact": "closed"},
    DeviceType.PANIC: {"pressed": False},
    DeviceType.SMOKE: {"smoke": False},
    DeviceType.INTERCOM: {"camera": "ok"},
}


@dataclass
class SimulatedDevice:
    device: Device
    state: dict[str, object] = field(default_factory=dict)
    pressed_at: float | None = None
    last_event: mqtt.DeviceEvent | None = None

    def initial(self) -> None:
        self.state.update({"tamper": False, **_INITIAL.get(self.device.type, {})})

    def apply(self, verb: str) -> None:
        self.state.update(_STATE_FOR.get(verb, {}))


class SimulatedSite:
    """Every simulated device of the site on one MQTT connection; runs until cancelled."""

    def __init__(self, site: Site, broker_url: str, heartbeat: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, hardware: Hardware | None = None) -> None:
        self.site = site
        self.url = urlsplit(broker_url)
        self.heartbeat = heartbeat
        self.devices = {d.id: SimulatedDevice(d) for d in site.devices}
        self.hardware = hardware
        self.started = clock()
        self.clock = clock
        self.ready = asyncio.Event()
        self._offline: set[str] = set()
        self._client_ref: aiomqtt.Client | None = None

    def _own(self, device: str) -> bool:
        """Whether this process publishes the device's state and availability itself."""
        return self.hardware is None or device not in self.hardware.devices

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
                async with bounded(self._client()) as client:
                    await self._announce(client)
                    backoff = 0.5
                    # the action loop runs in the group's body, not as a child: in Python 3.11 a
                    # child failing while the body waits in __aexit__ leaves this task marked
                    # cancelled for good, and ``still_wanted`` below would end the simulator
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(self._heartbeats(client), name="sim-heartbeat")
                        await self._actions(client)
            except* aiomqtt.MqttError as group:  # from the body or a loop of the TaskGroup
                self.ready.clear()
                self._client_ref = None
                log.warning("simulator lost the broker (%s); retrying", group.exceptions[0])
            still_wanted()  # the disconnect may have raised over our cancellation
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10)

    async def _announce(self, client: aiomqtt.Client) -> None:
        await client.subscribe(f"{mqtt.ROOT}/{self.site.id}/sim/+", qos=1)
        await client.subscribe(mqtt.site_filter(self.site.id, mqtt.Channel.EVENT), qos=1)
        for sim in self.devices.values():
            if not self._own(sim.device.id):
                continue
            if not sim.state:
                sim.initial()
            await self._publish_state(client, sim)
            await self._availability(client, sim.device.id, online=sim.device.id not in self._offline)
        names = json.dumps({d: list(verbs_for(sim.device)) for d, sim in sorted(self.devices.items())})
        await client.publish(f"{mqtt.ROOT}/{self.site.id}/sim/online", names, qos=1, retain=True)
        self._client_ref = client
        self.ready.set()

    async def _availability(self, client: aiomqtt.Client, device: str, *, online: bool) -> None:
        value = mqtt.Availability.ONLINE if online else mqtt.Availability.OFFLINE
        topic = mqtt.device_topic(self.site.id, device, mqtt.Channel.AVAILABILITY)
        await client.publish(topic, value.value, qos=1, retain=True)

    async def _publish_state(self, client: aiomqtt.Client, sim: SimulatedDevice) -> None:
        state = mqtt.DeviceState.model_validate({"device": sim.device.id, **sim.state})
        topic = mqtt.device_topic(self.site.id, sim.device.id, mqtt.Channel.STATE)
        await client.publish(topic, state.model_dump_json(exclude_none=True), qos=1, retain=True)

    async def _heartbeats(self, client: aiomqtt.Client) -> None:
        while True:
            for device in self.devices:
                if device in self._offline or not self._own(device):
                    continue
                beat = mqtt.Heartbeat(device=device, uptime_s=self.clock() - self.started)
                topic = mqtt.device_topic(self.site.id, device, mqtt.Channel.HEARTBEAT)
                await client.publish(topic, beat.model_dump_json(), qos=0)
            still_wanted()
            await asyncio.sleep(self.heartbeat)

    async def _actions(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            if message.topic.matches(mqtt.site_filter(self.site.id, mqtt.Channel.EVENT)):
                self._remember(bytes(message.payload))  # type: ignore[arg-type,unused-ignore]
                continue
            device = message.topic.value.rsplit("/", 1)[-1]
            if device == "online" or device not in self.devices:
                continue
            try:
                action = SimAction.model_validate_json(bytes(message.payload))  # type: ignore[arg-type,unused-ignore]
            except ValueError as exc:
                log.warning("simulator: bad action for %s: %s", device, exc)
                continue
            await self.act(client, device, action)
            still_wanted()

    def _remember(self, payload: bytes) -> None:
        """The last well-formed event of each device, whoever published it, for ``duplicate``."""
        try:
            event = mqtt.decode(mqtt.DeviceEvent, payload)
        except mqtt.ContractError:
            return
        if event.device in self.devices:
            self.devices[event.device].last_event = event

    async def perform(self, device: str, action: SimAction) -> None:
        """Act from inside the process (the web page); needs a live broker connection."""
        client = self._client_ref
        if client is None:
            raise ConnectionError("the simulator is not connected to the broker")
        await self.act(client, device, action)

    async def act(self, client: aiomqtt.Client, device: str, action: SimAction) -> None:
        sim = self.devices[device]
        verb = action.action
        if verb not in verbs_for(sim.device):
            log.warning("simulator: %s cannot %s (a %s)", device, verb, sim.device.type.value)
            return
        log.info("simulated %s: %s", device, verb)
        if verb in ("offline", "online"):
            (self._offline.discard if verb == "online" else self._offline.add)(device)
            await self._availability(client, device, online=verb == "online")
        elif verb == "duplicate":
            await self._duplicate(client, sim)
        elif verb == "malformed":
            topic = mqtt.device_topic(self.site.id, device, mqtt.Channel.EVENT)
            await client.publish(topic, b'{"v": 1, "device": "' + device.encode() + b'", "type": ', qos=1)
        elif self.hardware is None or not self.hardware.act(device, action):
            await self._publish_event(client, sim, action)

    async def _publish_event(self, client: aiomqtt.Client, sim: SimulatedDevice, action: SimAction) -> None:
        verb, held_ms = action.action, action.held_ms
        if verb == "press":
            sim.pressed_at = self.clock()
        elif verb == "release" and held_ms is None and sim.pressed_at is not None:
            held_ms = round((self.clock() - sim.pressed_at) * 1000)
        score = action.score if action.score is not None else (0.9 if verb == "person" else None)
        sim.apply(verb)
        if self._own(sim.device.id):
            await self._publish_state(client, sim)
        event = mqtt.DeviceEvent(id=uuid.uuid4().hex, device=sim.device.id, type=_EVENT_FOR[verb],
                                 held_ms=held_ms, score=score)
        topic = mqtt.device_topic(self.site.id, sim.device.id, mqtt.Channel.EVENT)
        await client.publish(topic, event.model_dump_json(exclude_none=True), qos=1)

    async def _duplicate(self, client: aiomqtt.Client, sim: SimulatedDevice) -> None:
        """Re-publish the last event with the same id, as a driver does after a reconnect."""
        event = sim.last_event
        if event is None:
            log.warning("simulator: %s has sent no event to duplicate yet", sim.device.id)
            return
        topic = mqtt.device_topic(self.site.id, sim.device.id, mqtt.Channel.EVENT)
        for _ in range(2):
            await client.publish(topic, event.model_dump_json(exclude_none=True), qos=1)
