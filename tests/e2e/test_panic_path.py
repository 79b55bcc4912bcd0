"""Issue 2's thin path, for real: simulated button -> mosquitto -> agent -> outbox -> DC-09 -> receiver."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest

from protocol import mqtt
from tests.broker import Mosquitto
from tests.e2e.stack import running_stack

pytestmark = pytest.mark.broker


async def test_panic_press_reaches_the_alarm_centre(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack:
        await stack.act("panic-hall", "press")
        event = await stack.wait_event("PA", timeout=2.0)
        assert event.site == "demo-home"
        assert event.account == "0471"
        assert event.zone is not None and int(event.zone) == 2  # panic-hall is zone 2
        assert event.encrypted  # the example site has an AES key
        await stack.wait_outbox_empty(timeout=2.0)


async def test_malformed_payload_is_counted_and_the_agent_keeps_working(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack:
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            topic = mqtt.device_topic("demo-home", "panic-hall", mqtt.Channel.EVENT)
            await client.publish(topic, b"{not json", qos=1)
            await client.publish(topic, b'{"v":1,"id":"x","device":"panic-hall","type":"explode"}', qos=1)
            await client.publish(topic, b'{"v":2,"id":"y","device":"panic-hall","type":"press"}', qos=1)
        async with asyncio.timeout(2):
            while stack.agent.counters["bad_payload"] < 3:
                await asyncio.sleep(0.02)
        assert await stack.receiver.store.events(code="PA") == []
        await stack.act("panic-hall", "press")
        await stack.wait_event("PA", timeout=2.0)


async def test_a_republished_event_is_stored_once(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack:
        event = mqtt.DeviceEvent(id="press-1", device="panic-hall", type=mqtt.EventType.PRESS)
        topic = mqtt.device_topic("demo-home", "panic-hall", mqtt.Channel.EVENT)
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            await client.subscribe(mqtt.device_topic("demo-home", "panic-hall", mqtt.Channel.CONFIRM))
            for _ in range(3):  # a driver re-publishing after reconnects
                await client.publish(topic, event.model_dump_json(), qos=1)
            confirmations = 0
            async with asyncio.timeout(3):
                async for message in client.messages:
                    confirm = mqtt.decode(mqtt.EventConfirmation, bytes(message.payload))  # type: ignore[arg-type]
                    assert confirm.ids == ["press-1"]
                    confirmations += 1
                    if confirmations == 3:
                        break
        await stack.wait_event("PA")
        await stack.wait_outbox_empty()
        assert len(await stack.receiver.store.events(code="PA")) == 1
        assert stack.agent.counters["duplicate_event"] == 2
