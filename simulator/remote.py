"""The scenario runner's hands and eyes on a site's MQTT: device actions, panel commands, panel state.

One reconnecting connection, so a scenario that takes the broker down keeps its remote: a
publish waits (bounded) for the broker to come back instead of failing the step.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from datetime import UTC, datetime
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import aiomqtt

from protocol import mqtt
from protocol.mqtt_client import bounded, still_wanted
from protocol.tasks import stop
from simulator.devices import SimAction, sim_topic

__all__ = ["SiteRemote"]

log = logging.getLogger(__name__)


class SiteRemote:
    """``async with SiteRemote(broker_url, site_id) as remote``; ``panel`` is the last state seen."""

    def __init__(self, broker_url: str, site: str, *, timeout: float = 10.0, journal: int = 0) -> None:
        self.url = urlsplit(broker_url)
        self.site = site
        self.timeout = timeout
        self.panel: mqtt.PanelState | None = None
        self.availability: dict[str, str] = {}
        self.states: dict[str, mqtt.DeviceState] = {}  # retained device states (journal mode)
        self.changed = asyncio.Event()  # set on every panel state or availability message
        # with ``journal > 0``: the last device events and panel notices, newest last
        self.journal: deque[tuple[datetime, str, str]] = deque(maxlen=journal or 1)
        self._journal = journal > 0
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="site-remote")
        await self.wait_connected()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await stop(self._task)
        self._task = None

    async def wait_connected(self) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await self._connected.wait()
        except TimeoutError:
            raise ConnectionError(f"no MQTT broker at {self.url.geturl()} within {self.timeout:g}s") from None

    async def _run(self) -> None:
        ident = f"wachter-scenario-{secrets.token_hex(3)}"
        while True:
            try:
                async with bounded(aiomqtt.Client(self.url.hostname or "127.0.0.1", self.url.port or 1883,
                                          identifier=ident, timeout=5)) as client:
                    await client.subscribe(mqtt.panel_topic(self.site, mqtt.Channel.STATE), qos=1)
                    await client.subscribe(mqtt.site_filter(self.site, mqtt.Channel.AVAILABILITY), qos=1)
                    if self._journal:
                        await client.subscribe(mqtt.site_filter(self.site, mqtt.Channel.EVENT), qos=1)
                        await client.subscribe(mqtt.site_filter(self.site, mqtt.Channel.STATE), qos=1)
                        await client.subscribe(mqtt.panel_topic(self.site, mqtt.Channel.EVENT), qos=1)
                    self._client = client
                    self._connected.set()
                    async for message in client.messages:
                        self._receive(message)
            except aiomqtt.MqttError as exc:
                log.debug("scenario remote lost the broker: %s", exc)
            finally:
                self._client = None
                self._connected.clear()
            still_wanted()  # a subscribe or the disconnect may have swallowed our cancellation
            await asyncio.sleep(0.2)

    def _receive(self, message: aiomqtt.Message) -> None:
        payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
        try:
            ref = mqtt.parse_topic(message.topic.value)
            if ref.channel is mqtt.Channel.EVENT:
                self._note(ref, bytes(payload))
            elif ref.channel is mqtt.Channel.STATE and ref.device is not None:
                self.states[ref.device] = mqtt.decode(mqtt.DeviceState, bytes(payload))
            elif ref.device is None:
                self.panel = mqtt.decode(mqtt.PanelState, bytes(payload))
            else:
                self.availability[ref.device] = text = bytes(payload).decode(errors="replace")
                if self._journal and not message.retain:
                    self.journal.append((datetime.now(UTC), ref.device, text))
            self.changed.set()
        except mqtt.ContractError as exc:
            log.warning("scenario remote: ignored %s: %s", message.topic.value, exc)

    def _note(self, ref: mqtt.TopicRef, payload: bytes) -> None:
        """One journal line per device event or panel notice; a malformed payload says so."""
        if ref.device is None:
            notice = mqtt.decode(mqtt.PanelEvent, payload)
            detail = ", ".join(f"{k}={v}" for k, v in notice.detail.items() if k != "deadline")
            self.journal.append((notice.ts, "panel", f"{notice.event} {detail}".strip()))
            return
        try:
            event = mqtt.decode(mqtt.DeviceEvent, payload)
        except mqtt.ContractError:
            self.journal.append((datetime.now(UTC), ref.device, "malformed payload (rejected)"))
            return
        held = f" held {event.held_ms} ms" if event.held_ms is not None else ""
        self.journal.append((event.ts, ref.device, f"{event.type.value}{held}"))

    async def publish(self, topic: str, payload: str | bytes) -> None:
        await self.wait_connected()
        assert self._client is not None
        await self._client.publish(topic, payload, qos=1, timeout=self.timeout)

    async def act(self, device: str, action: SimAction) -> None:
        await self.publish(sim_topic(self.site, device), action.model_dump_json(exclude_none=True))

    async def command(self, command: mqtt.PanelCommand) -> None:
        await self.publish(mqtt.panel_topic(self.site, mqtt.Channel.SET), command.model_dump_json())

    async def wait_online(self, devices: list[str], timeout: float = 10.0) -> None:
        """Until every device has announced itself online (retained availability)."""
        async with asyncio.timeout(timeout):
            while any(self.availability.get(d) != "online" for d in devices):
                self.changed.clear()
                await self.changed.wait()

    async def wait_panel(self, timeout: float = 10.0) -> None:
        """Until the agent has published the panel state."""
        async with asyncio.timeout(timeout):
            while self.panel is None:
                self.changed.clear()
                await self.changed.wait()
