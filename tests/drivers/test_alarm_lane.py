"""A button's press takes the driver's alarm lane: it is never published behind the device's queue."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from drivers.broker import Broker
from drivers.link import DeviceLink
from protocol import mqtt
from protocol.mqtt import EventType
from tests.broker import Mosquitto

pytestmark = pytest.mark.broker

SITE = "lane-site"


async def test_a_press_overtakes_the_devices_queued_events(mosquitto: Mosquitto) -> None:
    """500 events queued while the broker was away (a tamper loop chattering), then the press:
    on (re)connection the press is on the wire first, the queue follows in its own order."""
    topic = mqtt.device_topic(SITE, "panic-bedroom", mqtt.Channel.EVENT)
    link = DeviceLink(Broker("127.0.0.1", mosquitto.port), SITE, "panic-bedroom")
    queued = [link.event(EventType.TAMPER if i % 2 == 0 else EventType.TAMPER_RESTORE).id for i in range(500)]
    press = link.event(EventType.PRESS).id
    seen: list[str] = []
    async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="lane-watch") as watch:
        await watch.subscribe(topic, qos=1)
        async with link:
            async with asyncio.timeout(60):
                async for message in watch.messages:
                    assert isinstance(message.payload, bytes)
                    event = mqtt.decode(mqtt.DeviceEvent, message.payload)
                    if event.id not in seen:
                        seen.append(event.id)
                    if len(seen) == 501:
                        break
    assert seen.index(press) < 5, seen.index(press)  # not 500th
    assert [i for i in seen if i != press] == queued
