"""The agent's connection to the MQTT broker: connect, announce, hand over messages, reconnect.

It reconnects at once with a short backoff (a local broker costs nothing to retry); a broker
gone for longer than ``BROKER_GRACE`` is a local fault. On every connection it subscribes to the
site, publishes the Home Assistant discovery and "online" (its will says "offline"), and then
hands each batch of messages to the agent, acknowledging each only after the agent returned. A
clean stop says "offline" itself (the broker sends the will only when the connection is lost).

Beside it runs the alarm lane: a second session (its own client id, persistent, no will) that
subscribes only to the event topics of the panic and hold-up buttons, so that a press is
delivered at once even when the main session has a backlog of hundreds of events at the
broker (which hands a session at most ``max_inflight_messages``, 20, unacknowledged at a time).
The main session still gets every press too; the intake keeps whichever copy comes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiomqtt

from agent.discovery import discovery_messages
from agent.inbox import Inbox, Incoming
from config.site import Site
from protocol import mqtt
from protocol.mqtt_client import bounded, still_wanted

__all__ = ["BROKER_FAULT", "BrokerLink"]

log = logging.getLogger(__name__)

RECONNECT_MAX = 2.0  # an alarm system reconnects fast; a local broker costs nothing to retry
BROKER_FAULT = "MQTT broker unreachable"
BROKER_GRACE = timedelta(seconds=10)  # a blip is not a fault; 10 s is well inside 30 s
BATCH_MAX = 64  # messages handed over together when they queue up under load
#: while device events stream in, a batch waits this long for more (seconds; none after a quiet
#: spell): fewer commits for the alarm lane to find in its way (bench/e2e_latency.py)
GATHER = 0.010
LANE_BATCH = 8  # presses handed over together (each is still stepped and committed on its own)
PUBLISH_TIMEOUT = 5.0

Serve = Callable[[list[Incoming]], Awaitable[None]]


class BrokerLink:
    """``run(serve, on_connect)`` in the agent's TaskGroup; ``publish`` from anywhere."""

    def __init__(self, site: Site, clock: Callable[[], datetime],
                 on_fault: Callable[[str, bool], None], counters: Counter[str]) -> None:
        self.site, self.clock, self.on_fault, self.counters = site, clock, on_fault, counters
        self.connected = asyncio.Event()
        self.lane_connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._session: asyncio.TaskGroup | None = None  # the current connection's tasks
        self._faulted = False

    async def run(self, serve: Serve, on_connect: Callable[[], Awaitable[None]]) -> None:
        """Stay connected: reconnect with backoff; a broker gone for long is a local fault."""
        backoff, lost_at = 0.5, None
        while True:
            try:
                async with bounded(self._new_client()) as client:
                    self._client, backoff, lost_at = client, 0.5, None
                    if self._faulted:
                        self._faulted = False
                        self.on_fault(BROKER_FAULT, False)
                    await self._serve(client, serve, on_connect)
            except* aiomqtt.MqttError as group:
                self._client = None
                self.connected.clear()
                lost_at = lost_at or self.clock()
                if self.clock() - lost_at >= BROKER_GRACE and not self._faulted:
                    self._faulted = True
                    self.on_fault(BROKER_FAULT, True)
                log.warning("broker connection lost (%s); retrying in %.1f s", group.exceptions[0], backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX)

    async def run_lane(self, serve: Serve, topics: list[str]) -> None:
        """The alarm lane's session on ``topics``, each batch acknowledged after ``serve``; it
        reconnects like the main session (whose absence alone is the local fault)."""
        backoff = 0.5
        while True:
            try:
                async with bounded(self._new_client(lane=True)) as client:
                    backoff = 0.5
                    inbox = Inbox(client)
                    await client.subscribe([(topic, 1) for topic in topics])
                    log.info("alarm lane connected: %d button(s)", len(topics))
                    self.lane_connected.set()
                    async for batch in inbox.batches(LANE_BATCH):
                        await serve([inbox.incoming(m) for m in batch])
                        for handled in batch:
                            inbox.ack(handled)
                        still_wanted()
            except* aiomqtt.MqttError as group:
                self.lane_connected.clear()
                log.warning("alarm lane lost (%s); retrying in %.1f s", group.exceptions[0], backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX)

    def start(self, work: Coroutine[Any, Any, None], name: str) -> bool:
        """Run ``work`` beside the message loop of this connection (False, and closed, when offline)."""
        if self._session is None:
            work.close()
            return False
        self._session.create_task(work, name=name)
        return True

    async def publish(self, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
        """QoS 1; while offline it is counted and dropped (state is re-published on reconnect,
        reports travel through the outbox)."""
        client = self._client
        if client is None:
            self.counters["publish_while_offline"] += 1
            return
        try:
            await client.publish(topic, payload, qos=1, retain=retain, timeout=PUBLISH_TIMEOUT)
        except aiomqtt.MqttError as exc:
            log.warning("publish to %s failed: %s", topic, exc)

    @property
    def availability_topic(self) -> str:
        return mqtt.panel_topic(self.site.id, mqtt.Channel.AVAILABILITY)

    def _new_client(self, *, lane: bool = False) -> aiomqtt.Client:
        url, conf = urlsplit(self.site.mqtt.url), self.site.mqtt
        tls = url.scheme == "mqtts"
        tls_params = aiomqtt.TLSParameters(
            ca_certs=str(conf.ca_file) if conf.ca_file else None,
            certfile=str(conf.cert_file) if conf.cert_file else None,
            keyfile=str(conf.key_file) if conf.key_file else None,
        ) if tls else None
        return aiomqtt.Client(
            url.hostname or "127.0.0.1",
            url.port or (8883 if tls else 1883),
            identifier=f"wachter-agent-{self.site.id}" + ("-lane" if lane else ""),
            clean_session=False,
            keepalive=conf.keepalive,
            username=conf.username,
            password=conf.password_file.read_text().strip() if conf.password_file else None,
            timeout=10,
            tls_params=tls_params,
            will=None if lane else aiomqtt.Will(self.availability_topic, b"offline", qos=1, retain=True),
        )

    async def _serve(self, client: aiomqtt.Client, serve: Serve,
                     on_connect: Callable[[], Awaitable[None]]) -> None:
        """One connection's life: announce, then every batch of messages, acknowledged after."""
        inbox = Inbox(client)
        try:
            async with asyncio.TaskGroup() as tg:
                self._session = tg
                await self._announce(client)
                await on_connect()
                self.connected.set()
                log.info("agent connected to the broker for site %s", self.site.id)
                async for batch in inbox.batches(BATCH_MAX, GATHER):
                    await serve([inbox.incoming(m) for m in batch])
                    for handled in batch:
                        inbox.ack(handled)  # only now may the broker forget it
                    still_wanted()  # a publish may have swallowed the stop (Python 3.11)
        except asyncio.CancelledError:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await client.publish(self.availability_topic, "offline", qos=1, retain=True, timeout=2)
            raise
        finally:
            self._session = None

    async def _announce(self, client: aiomqtt.Client) -> None:
        # one SUBSCRIBE: a broker may hold the next packet until we PUBACK the retained states
        # the first one brings (amqtt does), and we PUBACK only from the message loop
        await client.subscribe([(mqtt.site_filter(self.site.id), 1),
                                (mqtt.panel_topic(self.site.id, mqtt.Channel.SET), 1)])
        for topic, payload in discovery_messages(self.site):
            await client.publish(topic, payload, qos=1, retain=True, timeout=PUBLISH_TIMEOUT)
        await client.publish(self.availability_topic, "online", qos=1, retain=True, timeout=PUBLISH_TIMEOUT)
