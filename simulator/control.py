"""Client side of the simulator: find the running simulated site and tell it what to do."""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import urlsplit

import aiomqtt

from protocol import mqtt
from protocol.mqtt_client import bounded
from simulator.devices import SimAction, sim_topic

__all__ = ["SimulatorNotFound", "find_site", "send_action", "send_panel"]


class SimulatorNotFound(LookupError):
    """No running simulator on that broker announces the device (or any site)."""


def _client(broker: str, timeout: float) -> aiomqtt.Client:
    url = urlsplit(broker)
    return aiomqtt.Client(url.hostname or "127.0.0.1", url.port or 1883, timeout=timeout)


async def _find(client: aiomqtt.Client, device: str | None, timeout: float) -> tuple[str, list[str]]:
    """The site announcing ``device`` (any site for None) and the actions the device has."""
    await client.subscribe(f"{mqtt.ROOT}/+/sim/online", qos=1)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            async for message in client.messages:
                try:
                    devices = json.loads(bytes(message.payload))  # type: ignore[arg-type,unused-ignore]
                except ValueError:
                    continue
                if isinstance(devices, dict) and (device is None or device in devices):
                    verbs = devices.get(device, []) if device else []
                    return message.topic.value.split("/")[2], [str(v) for v in verbs]
    raise SimulatorNotFound(device or "(any site)")


async def find_site(broker: str, timeout: float = 3.0) -> str:
    """The site id of the (first) simulator announcing itself on the broker."""
    async with bounded(_client(broker, timeout)) as client:
        return (await _find(client, None, timeout))[0]


async def send_action(broker: str, device: str, action: SimAction, timeout: float = 3.0) -> str:
    """Publish the action for ``device``; returns the site id of the simulator that has it."""
    async with bounded(_client(broker, timeout)) as client:
        site, verbs = await _find(client, device, timeout)
        if action.action not in verbs:
            raise ValueError(f"{device} cannot {action.action}; it can {', '.join(verbs)}")
        await client.publish(sim_topic(site, device), action.model_dump_json(exclude_none=True), qos=1)
    return site


async def send_panel(broker: str, site: str, command: mqtt.PanelCommand,
                     timeout: float = 3.0) -> mqtt.PanelState | None:
    """Send a panel command; returns the panel state published after it (None if none came)."""
    async with bounded(_client(broker, timeout)) as client:
        await client.subscribe(mqtt.panel_topic(site, mqtt.Channel.STATE), qos=1)
        await client.publish(mqtt.panel_topic(site, mqtt.Channel.SET), command.model_dump_json(), qos=1)
        state: mqtt.PanelState | None = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):  # the retained state first, then what the command changed
                async for message in client.messages:
                    state = mqtt.decode(mqtt.PanelState, bytes(message.payload))  # type: ignore[arg-type,unused-ignore]
        return state
