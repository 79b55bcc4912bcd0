"""Client side of the simulator: find the running simulated device and tell it what to do."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import aiomqtt

from protocol import mqtt
from simulator.devices import SimAction, sim_topic

__all__ = ["SimulatorNotFound", "send_action"]


class SimulatorNotFound(LookupError):
    """No running simulator on that broker announces the device."""


async def _find_site(client: aiomqtt.Client, device: str, timeout: float) -> str:
    await client.subscribe(f"{mqtt.ROOT}/+/sim/online", qos=1)
    async with asyncio.timeout(timeout):
        async for message in client.messages:
            try:
                devices = json.loads(bytes(message.payload))  # type: ignore[arg-type,unused-ignore]
            except ValueError:
                continue
            if isinstance(devices, list) and device in devices:
                return message.topic.value.split("/")[2]
    raise SimulatorNotFound(device)


async def send_action(broker: str, device: str, action: SimAction, timeout: float = 3.0) -> str:
    """Publish the action for ``device``; returns the site id of the simulator that has it."""
    url = urlsplit(broker)
    async with aiomqtt.Client(url.hostname or "127.0.0.1", url.port or 1883, timeout=timeout) as client:
        try:
            site = await _find_site(client, device, timeout)
        except TimeoutError:
            raise SimulatorNotFound(device) from None
        await client.publish(sim_topic(site, device), action.model_dump_json(), qos=1)
    return site
