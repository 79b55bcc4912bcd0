"""The agent's clock is ten years off: the receiver NAKs with its own time, the agent adopts the
offset, resends, and nothing is lost; the offset is stored, so after a restart no NAK is needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from protocol.mqtt import EventType
from receiver.service import Receiver
from tests.broker import Mosquitto
from tests.faults.harness import (
    Devices,
    agent_in_process,
    path_spec,
    processed_up_to_here,
    receiver_on,
    stored,
    wait_stored,
    write_site,
)

pytestmark = [pytest.mark.broker, pytest.mark.timeout(60)]

TEN_YEARS = timedelta(days=3652)


def wrong_clock() -> datetime:
    return datetime.now(UTC) - TEN_YEARS


async def test_nak_for_a_clock_ten_years_off_then_ack(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with Receiver(receiver_on(tmp_path, "receiver")) as receiver:
        paths = [path_spec("primary", f"tcp://127.0.0.1:{receiver.port('tcp')}"),
                 path_spec("backup", f"udp://127.0.0.1:{receiver.port('udp')}")]
        config = write_site(tmp_path, mosquitto.url, paths)
        counters = receiver.handler.counters
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            devices = Devices(client)
            async with agent_in_process(config, wrong_clock) as agent:
                await devices.send("panic-hall", EventType.PRESS)  # may race the first NULL poll
                for _ in range(10):
                    await devices.send("door-back", EventType.TAMPER)
                    await devices.send("door-back", EventType.TAMPER_RESTORE)
                await wait_stored([receiver], 21, timeout=15, codes={"PA", "TA", "TR"})
                offset = agent.transmitter.offset
                stored_offset = await agent.outbox.get_meta("clock_offset")
            naks = counters["nak_timestamp"]
            async with agent_in_process(config, wrong_clock) as agent:  # restart, same wrong clock
                await devices.send("panic-hall", EventType.PRESS)
                await wait_stored([receiver], 2, timeout=10, codes={"PA"})
                await processed_up_to_here(devices, [receiver])
        events = await stored([receiver], {"PA", "TA", "TR"})

    assert naks >= 1
    assert counters["nak_timestamp"] == naks  # the stored offset made the restart right at once
    assert abs(offset - TEN_YEARS) < timedelta(seconds=5)
    assert stored_offset is not None and abs(float(stored_offset) - TEN_YEARS.total_seconds()) < 5
    assert [e.code for e in events] == ["PA"] + ["TA", "TR"] * 10 + ["PA"]
    assert all(e.sent_at and abs(e.sent_at - e.received_at) < timedelta(seconds=5) for e in events)
