"""The simulated site outlives a broker restart: developers restart mosquitto and carry on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from simulator.devices import SimulatedSite
from tests.broker import Mosquitto
from tests.e2e.stack import site_config
from wachter.signals import cancel_firmly

pytestmark = pytest.mark.broker


async def test_the_simulator_reconnects_after_the_broker_restarts(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    site = SimulatedSite(site_config(tmp_path, mosquitto.url, 9, 9), mosquitto.url, heartbeat=0.2)
    task = asyncio.create_task(site.run())
    try:
        await asyncio.wait_for(site.ready.wait(), 10)
        mosquitto.stop()
        for _ in range(100):  # the simulator notices the loss
            if not site.ready.is_set():
                break
            await asyncio.sleep(0.05)
        mosquitto.start()
        await asyncio.wait_for(site.ready.wait(), 15)
        assert not task.done()
    finally:
        await cancel_firmly(task)
