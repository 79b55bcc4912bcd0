"""One real Home Assistant and one real mosquitto for the whole module; each test runs its own
Wachter stack (receiver, agent, simulator) on that broker, as a home would after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import aiohttp
import pytest

from tests.broker import Mosquitto, free_port, running_mosquitto
from tests.homeassistant.hass import HomeAssistant, RunningHass, start_hass, stop_hass


@pytest.fixture(scope="module")
def ha_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    workdir = tmp_path_factory.mktemp("ha-broker")
    with running_mosquitto(workdir) as broker:
        yield broker


@pytest.fixture(scope="module")
def running_hass(tmp_path_factory: pytest.TempPathFactory, ha_broker: Mosquitto) -> Iterator[RunningHass]:
    config = tmp_path_factory.mktemp("ha-config")
    hass = start_hass(config, free_port(), ha_broker.port)
    try:
        yield hass
    finally:
        stop_hass(hass.proc)
        errors = [line for line in hass.log().splitlines() if " ERROR " in line]
        print(f"Home Assistant log: {config / 'home-assistant.log'} ({len(errors)} error lines)")


@pytest.fixture
async def ha(running_hass: RunningHass) -> AsyncIterator[HomeAssistant]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield HomeAssistant(running_hass, session)
