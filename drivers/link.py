"""One device's MQTT link: availability as last will, retained state, confirmed events, heartbeats.

Design: one MQTT client per device (not per driver process). MQTT allows one will per client, and
the contract has one retained ``availability`` topic per device, so only a client per device lets
the broker itself mark exactly that device ``offline`` when the driver dies; it also matches the
production broker's one-account-per-device ACLs. A Pi with ten devices holds ten connections.

Events stay in memory until the agent confirms their id on ``.../confirm`` (issue 5). They are
re-published after every reconnect and every ``resend_after`` seconds while unconfirmed; the
agent drops duplicates by id. Snapshots queue (bounded) while the broker is away.

A button's press or release (a panic, a hold-up) takes the alarm lane: it is published at once
by a task of its own, never behind the device's queued events, its state or its snapshots (the
flush that sends those runs beside it), and it is never the event dropped when the queue is full.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from drivers.broker import Backoff, Broker
from protocol.mqtt import (
    Availability,
    Channel,
    ContractError,
    DeviceCommand,
    DeviceEvent,
    DeviceState,
    EventConfirmation,
    EventType,
    Heartbeat,
    decode,
    device_topic,
)
from protocol.mqtt_client import bounded, still_wanted
from protocol.snapshot import with_comment

__all__ = ["CommandHandler", "DeviceLink", "LinkCounters", "Snapshot"]

log = logging.getLogger(__name__)

CommandHandler = Callable[[DeviceCommand], Awaitable[None]]
URGENT = frozenset({EventType.PRESS, EventType.RELEASE})  # a button: the alarm lane


@dataclass(frozen=True)
class Snapshot:
    """A JPEG plus the metadata that says which alarm and frame it belongs to (MQTT v5 user
    properties, or a JPEG comment on an MQTT 3.1.1 link)."""

    jpeg: bytes
    meta: tuple[tuple[str, str], ...]


@dataclass
class LinkCounters:
    """What went wrong without stopping the link; exposed for logs, tests and supervision."""

    connects: int = 0
    bad_messages: int = 0
    dropped_events: int = 0
    dropped_snapshots: int = 0
    command_errors: int = 0


@dataclass
class _Pending:
    event: DeviceEvent
    sent_at: float | None = None  # monotonic time of the last publish in this session
    urgent: bool = False


class _Shutdown(Exception):
    """Raised inside the session's TaskGroup to stop its loops on a clean stop."""


@dataclass
class DeviceLink:
    """Async context manager owning one device's connection, with reconnect and backoff."""

    broker: Broker
    site: str
    device: str
    heartbeat: float = 30.0
    resend_after: float = 3.0  # like a two-way radio: repeat until the agent confirms
    timeout: float = 5.0
    on_command: CommandHandler | None = None
    backoff: Backoff = field(default_factory=Backoff)
    max_pending: int = 10_000
    max_snapshots: int = 50
    counters: LinkCounters = field(default_factory=LinkCounters)

    def __post_init__(self) -> None:
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        self._state: dict[str, Any] = {}
        self._state_dirty = False
        self._snapshots: deque[Snapshot] = deque()
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._stopping = asyncio.Event()
        self.connected = asyncio.Event()
        self._started = time.monotonic()
        self._boot = f"{int(time.time()):x}{secrets.token_hex(2)}"
        self._seq = 0
        self._group: asyncio.TaskGroup | None = None

    # ---- what drivers call (from the event loop thread) ----

    def event(
        self,
        kind: EventType,
        *,
        ts: datetime | None = None,
        score: float | None = None,
        held_ms: int | None = None,
    ) -> DeviceEvent:
        """Queue an event; it is re-sent until the agent confirms its id."""
        self._seq += 1
        event = DeviceEvent(
            id=f"{self._boot}-{self._seq}",
            device=self.device,
            type=kind,
            ts=ts or datetime.now(UTC),
            score=score,
            held_ms=held_ms,
        )
        if len(self._pending) >= self.max_pending:
            old_id = next((i for i, p in self._pending.items() if not p.urgent), next(iter(self._pending)))
            del self._pending[old_id]
            self.counters.dropped_events += 1
            log.error("%s: %d unconfirmed events; dropped %s", self.device, self.max_pending, old_id)
        self._pending[event.id] = _Pending(event, urgent=kind in URGENT)
        (self._urgent if kind in URGENT else self._wake).set()
        return event

    def state(self, **fields: Any) -> None:
        """Merge fields into the retained DeviceState and publish it."""
        DeviceState(device=self.device, **{**self._state, **fields})  # validate now, not later
        self._state.update(fields)
        self._state_dirty = True
        self._wake.set()

    def snapshot(self, snap: Snapshot) -> None:
        """Queue a JPEG for the ``snapshot`` topic; the oldest goes (and is counted) when full."""
        if len(self._snapshots) >= self.max_snapshots:
            self._snapshots.popleft()
            self.counters.dropped_snapshots += 1
            log.warning("%s: snapshot queue full; dropped the oldest", self.device)
        self._snapshots.append(snap)
        self._wake.set()

    @property
    def unconfirmed(self) -> list[str]:
        return list(self._pending)

    # ---- lifecycle ----

    async def __aenter__(self) -> Self:
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._group.create_task(self._run(), name=f"mqtt-link:{self.device}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        assert self._group is not None
        await self._group.__aexit__(exc_type, exc, tb)

    # ---- the connection loop ----

    def _topic(self, channel: Channel) -> str:
        return device_topic(self.site, self.device, channel)

    def _client(self) -> aiomqtt.Client:
        b = self.broker
        return aiomqtt.Client(
            b.host,
            b.port,
            username=b.username,
            password=b.password,
            identifier=f"wachter-{self.site}-{self.device}"[:64],
            protocol=b.version,
            keepalive=b.keepalive,
            timeout=self.timeout,
            tls_params=b.tls_params(),
            will=aiomqtt.Will(
                self._topic(Channel.AVAILABILITY), Availability.OFFLINE.value, qos=1, retain=True
            ),
        )

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                async with bounded(self._client()) as client:
                    attempt = 0
                    await self._session(client)
                    return
            except* aiomqtt.MqttError as group:
                log.warning("%s: MQTT link down: %s", self.device, group.exceptions[0])
            finally:
                self.connected.clear()
            delay = self.backoff.delay(attempt)
            attempt += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()

    async def _session(self, client: aiomqtt.Client) -> None:
        self.counters.connects += 1
        await client.publish(self._topic(Channel.AVAILABILITY), Availability.ONLINE.value, qos=1, retain=True)
        await client.subscribe([(self._topic(Channel.SET), 1), (self._topic(Channel.CONFIRM), 1)])
        for pending in self._pending.values():
            pending.sent_at = None  # a new session: everything unconfirmed goes out again
        self._state_dirty = bool(self._state)
        self.connected.set()
        try:
            await self._loops(client)
        except asyncio.CancelledError:
            # cancelled by the owner: a clean DISCONNECT would suppress the will, so say it
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self._say_offline(client)
            raise
        finally:
            self.connected.clear()
        await self._flush(client)  # clean stop: last events and state, then say goodbye
        await self._say_offline(client)

    async def _loops(self, client: aiomqtt.Client) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._receive(client), name=f"mqtt-receive:{self.device}")
                tg.create_task(self._send(client), name=f"mqtt-send:{self.device}")
                tg.create_task(self._send_urgent(client), name=f"mqtt-alarm-lane:{self.device}")
                tg.create_task(self._beat(client), name=f"mqtt-heartbeat:{self.device}")
                tg.create_task(self._watch_stop(), name=f"mqtt-stop:{self.device}")
        except* _Shutdown:
            pass

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        await client.publish(
            self._topic(Channel.AVAILABILITY), Availability.OFFLINE.value, qos=1, retain=True
        )

    async def _watch_stop(self) -> None:
        await self._stopping.wait()  # forever on purpose: the owner decides when to stop
        raise _Shutdown

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            still_wanted()
            payload = message.payload if isinstance(message.payload, bytes) else b""
            try:
                if message.topic.matches(self._topic(Channel.CONFIRM)):
                    self._confirm(decode(EventConfirmation, payload))
                elif message.topic.matches(self._topic(Channel.SET)):
                    await self._command(decode(DeviceCommand, payload))
            except ContractError as exc:
                self.counters.bad_messages += 1
                log.warning("%s: rejected message on %s: %s", self.device, message.topic, exc)

    def _confirm(self, confirmation: EventConfirmation) -> None:
        for event_id in confirmation.ids:
            self._pending.pop(event_id, None)

    async def _command(self, command: DeviceCommand) -> None:
        if self.on_command is None:
            log.info("%s: no outputs; ignored %s", self.device, command.command)
            return
        try:
            async with asyncio.timeout(self.timeout):
                await self.on_command(command)
        except Exception:
            self.counters.command_errors += 1
            log.exception("%s: command %s failed", self.device, command.command)

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            still_wanted()  # a publish in _flush may have swallowed the stop (Python 3.11)
            self._wake.clear()
            await self._flush(client)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(self.resend_after, 1.0)):
                    await self._wake.wait()

    async def _send_urgent(self, client: aiomqtt.Client) -> None:
        """Presses and releases at once, beside the flush (which re-sends them if unconfirmed)."""
        while True:
            still_wanted()
            self._urgent.clear()
            for pending in [p for p in self._pending.values() if p.urgent and p.sent_at is None]:
                if pending.sent_at is None:  # the flush may have taken it meanwhile
                    await self._publish_event(client, pending)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.heartbeat):
                    await self._urgent.wait()

    async def _publish_event(self, client: aiomqtt.Client, pending: _Pending) -> None:
        pending.sent_at = time.monotonic()
        payload = pending.event.model_dump_json(exclude_none=True)
        await client.publish(self._topic(Channel.EVENT), payload, qos=1)

    async def _flush(self, client: aiomqtt.Client) -> None:
        if self._state_dirty:
            self._state_dirty = False
            state = DeviceState(device=self.device, **self._state)
            await client.publish(
                self._topic(Channel.STATE), state.model_dump_json(exclude_none=True), qos=1, retain=True
            )
        now = time.monotonic()
        for pending in list(self._pending.values()):
            if pending.sent_at is None or now - pending.sent_at >= self.resend_after:
                await self._publish_event(client, pending)
        while self._snapshots:
            snap = self._snapshots[0]
            if self.broker.v5:
                props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                props.ContentType = "image/jpeg"
                props.UserProperty = list(snap.meta)
                await client.publish(self._topic(Channel.SNAPSHOT), snap.jpeg, qos=1, properties=props)
            else:  # MQTT 3.1.1 has no properties: the metadata rides in the JPEG
                await client.publish(self._topic(Channel.SNAPSHOT), with_comment(snap.jpeg, snap.meta),
                                     qos=1)
            self._snapshots.popleft()

    async def _beat(self, client: aiomqtt.Client) -> None:
        while True:
            beat = Heartbeat(device=self.device, uptime_s=round(time.monotonic() - self._started, 3))
            await client.publish(self._topic(Channel.HEARTBEAT), beat.model_dump_json(), qos=0)
            still_wanted()  # right before the long sleep: the publish may have swallowed a stop
            await asyncio.sleep(self.heartbeat)
