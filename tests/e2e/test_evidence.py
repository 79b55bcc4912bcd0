"""Issue 7 end to end: an alarm elsewhere makes the real intercom driver send snapshots,
which the agent relays to the alarm centre as evidence for that site."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from drivers.intercom import run_intercom
from protocol import mqtt
from receiver.evidence import EvidenceStore
from tests.broker import Mosquitto
from tests.e2e.stack import running_stack

pytestmark = pytest.mark.broker


async def test_alarm_on_a_window_brings_intercom_snapshots_to_the_centre(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    async with running_stack(tmp_path, mosquitto.url) as stack:
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(run_intercom(stack.agent.site, stop=stop), name="intercom")
            command = mqtt.PanelCommand(action="ARM_AWAY", code="1234", skip_delay=True)
            async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
                await client.subscribe(mqtt.device_topic("demo-home", "intercom-front", mqtt.Channel.STATE))
                async with asyncio.timeout(10):  # the driver is connected and its camera delivers
                    async for message in client.messages:
                        state = mqtt.decode(mqtt.DeviceState, bytes(message.payload))  # type: ignore[arg-type]
                        if state.camera == "ok":
                            break
                await client.publish(mqtt.panel_topic("demo-home", mqtt.Channel.SET),
                                     command.model_dump_json(), qos=1)
            async with asyncio.timeout(10):  # the code is checked off the message path
                while stack.agent.state.mode != "armed_away":
                    await asyncio.sleep(0.02)
            await stack.act("window-living", "open")
            await stack.wait_event("BA", timeout=2.0)
            store = EvidenceStore(stack.receiver.db, stack.receiver.clock)
            async with asyncio.timeout(10):
                while True:  # the street scene may also send its own person snapshots
                    found = [e for e in await store.for_site("demo-home", started, limit=100)
                             if e.ref.startswith("intercom-front:zone-12:")]
                    if len(found) >= 3:
                        break
                    await asyncio.sleep(0.1)
            stop.set()
        assert {e.ref.split(":")[2] for e in found} == {"command"}  # asked for by the agent
        got = await store.get(found[0].id)
        assert got is not None and got[1][:2] == b"\xff\xd8"  # a JPEG
        assert stack.agent.evidence.counters["uploaded"] >= 3
