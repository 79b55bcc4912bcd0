"""The demo's embedded broker carries what the alarm path needs, as mosquitto does (issue 14):
confirmed device events, retained states, last wills, snapshots with their metadata on MQTT
3.1.1, and no retained message a client did not subscribe to (amqtt 0.12.1's fault, mended)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest

from drivers.broker import Broker
from drivers.link import DeviceLink, Snapshot
from protocol import mqtt
from protocol.snapshot import comment_meta
from tests.broker import free_port
from tests.protocol.test_snapshot_meta import JPEG, META
from wachter.broker import DemoBroker, demo_broker

SITE = "emb-home"


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[DemoBroker]:
    async with demo_broker(tmp_path, free_port(), "embedded") as broker:
        assert broker.kind == "embedded" and broker.protocol == "3.1.1"
        yield broker


def _client(broker: DemoBroker, name: str, **kw: object) -> aiomqtt.Client:
    port = int(broker.url.rsplit(":", 1)[1])
    return aiomqtt.Client("127.0.0.1", port, identifier=name, timeout=5, **kw)  # type: ignore[arg-type]


async def _next(client: aiomqtt.Client, topic: str, timeout: float = 10) -> aiomqtt.Message:
    async with asyncio.timeout(timeout):
        async for message in client.messages:
            if message.topic.matches(topic):
                return message
    raise AssertionError("unreachable")


@contextlib.asynccontextmanager
async def _link(broker: DemoBroker, device: str) -> AsyncIterator[DeviceLink]:
    port = int(broker.url.rsplit(":", 1)[1])
    async with DeviceLink(Broker("127.0.0.1", port, protocol="3.1.1"), SITE, device,
                          resend_after=0.5) as link:
        async with asyncio.timeout(10):
            await link.connected.wait()
        yield link


async def test_events_are_confirmed_and_states_retained(embedded: DemoBroker) -> None:
    async with _client(embedded, "agent-like") as agent:
        await agent.subscribe([(mqtt.site_filter(SITE, mqtt.Channel.EVENT), 1)])
        async with _link(embedded, "panic-hall") as link:
            link.state(pressed=False)
            event = link.event(mqtt.EventType.PRESS)
            got = mqtt.decode(mqtt.DeviceEvent, bytes((await _next(agent, "#")).payload))
            assert got.id == event.id
            confirm = mqtt.EventConfirmation(ids=[event.id]).model_dump_json()
            await agent.publish(mqtt.device_topic(SITE, "panic-hall", mqtt.Channel.CONFIRM), confirm, qos=1)
            async with asyncio.timeout(10):
                while link.unconfirmed:
                    await asyncio.sleep(0.02)
    async with _client(embedded, "late") as late:  # retained state and availability are kept
        await late.subscribe(mqtt.device_topic(SITE, "panic-hall", mqtt.Channel.STATE), qos=1)
        state = await _next(late, "#")
        assert state.retain and b'"pressed":false' in bytes(state.payload)


async def test_a_dead_device_is_marked_offline_by_its_will(embedded: DemoBroker) -> None:
    topic = mqtt.device_topic(SITE, "door-front", mqtt.Channel.AVAILABILITY)
    async with _client(embedded, "watcher") as watcher:
        await watcher.subscribe(topic, qos=1)
        victim = _client(embedded, "door-front", keepalive=5,
                         will=aiomqtt.Will(topic, "offline", qos=1, retain=True))
        await victim.__aenter__()
        await victim.publish(topic, "online", qos=1, retain=True)
        assert (await _next(watcher, topic)).payload == b"online"
        sock = victim._client.socket()
        assert sock is not None
        sock.close()  # the device dies without a DISCONNECT
        async with asyncio.timeout(30):  # a closed socket is seen at once, a silent one in 1.5 keepalives
            while (await _next(watcher, topic, timeout=30)).payload != b"offline":
                pass
        victim._client.loop_stop()


async def test_snapshot_metadata_travels_in_the_jpeg(embedded: DemoBroker) -> None:
    async with _client(embedded, "evidence-like") as evidence:
        await evidence.subscribe(mqtt.site_filter(SITE, mqtt.Channel.SNAPSHOT), qos=1)
        async with _link(embedded, "intercom-front") as link:
            link.snapshot(Snapshot(JPEG, META))
            message = await _next(evidence, "#")
    payload = bytes(message.payload)
    assert payload.startswith(b"\xff\xd8")
    assert comment_meta(payload) == dict(META)


async def test_a_client_gets_no_retained_message_it_did_not_subscribe_to(embedded: DemoBroker) -> None:
    async with _client(embedded, "publisher") as pub:
        await pub.publish(f"{mqtt.ROOT}/{SITE}/sim/online", "{}", qos=1, retain=True)
        await pub.publish(mqtt.device_topic(SITE, "a", mqtt.Channel.STATE), "{}", qos=1, retain=True)
        await pub.subscribe(f"{mqtt.ROOT}/{SITE}/#", qos=1)  # another client's broad filter
        async with _client(embedded, "narrow") as narrow:
            await narrow.subscribe(mqtt.site_filter(SITE, mqtt.Channel.SNAPSHOT), qos=1)
            marker = mqtt.device_topic(SITE, "a", mqtt.Channel.SNAPSHOT)
            await pub.publish(marker, b"\xff\xd8marker", qos=1)
            first = await _next(narrow, "#")  # everything before the marker would be unwanted
            assert first.topic.value == marker, first.topic.value
