"""A device's facts are applied in the order they happened, not the order they arrived (issue 18).

A driver re-publishes an event the broker dropped (published before the agent's first
connection), after newer ones; applied as it arrives, a tamper would outlive its restore.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from protocol import mqtt
from protocol.mqtt import EventType
from tests.broker import Mosquitto
from tests.e2e.stack import running_stack

pytestmark = pytest.mark.broker


async def test_a_late_tamper_does_not_outlive_its_restore(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack:
        site = stack.agent.site.id
        t0 = datetime.now(UTC)
        notices: list[mqtt.PanelEvent] = []
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, timeout=10) as client:
            await client.subscribe(mqtt.panel_topic(site, mqtt.Channel.EVENT), qos=1)

            async def collect() -> None:
                async for message in client.messages:
                    notices.append(mqtt.decode(mqtt.PanelEvent, bytes(message.payload)))  # type: ignore[arg-type]

            async def send(kind: EventType, at: datetime) -> None:
                event = mqtt.DeviceEvent(id=uuid.uuid4().hex, device="door-front", type=kind, ts=at)
                await client.publish(mqtt.device_topic(site, "door-front", mqtt.Channel.EVENT),
                                     event.model_dump_json(), qos=1)

            async with asyncio.TaskGroup() as tg:
                task = tg.create_task(collect())
                await send(EventType.TAMPER, t0)
                await stack.wait_event("TA", timeout=5)
                await send(EventType.TAMPER_RESTORE, t0 + timedelta(seconds=2))
                await stack.wait_event("TR", timeout=5)
                await send(EventType.TAMPER, t0 + timedelta(seconds=1))  # happened before the restore
                async with asyncio.timeout(10):
                    while not any(n.event == "event_skipped" for n in notices):
                        await asyncio.sleep(0.02)
                task.cancel()
        await stack.wait_outbox_empty()  # the skip was committed: a TA would be queued before it
        assert [e.code for e in await stack.receiver.store.events() if e.code in ("TA", "TR")] == ["TA", "TR"]
        [skipped] = [n for n in notices if n.event == "event_skipped"]
        assert skipped.detail["device"] == "door-front" and skipped.detail["event"] == "tamper"
        assert "tamper" not in stack.agent.state.devices["door-front"].troubles
        assert stack.agent.counters["event_out_of_order"] == 1
