"""Panic presses overtake a backlog of other MQTT messages; the rest keep their order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt

from agent.intake import urgent_first
from config.loader import load_site
from protocol import mqtt

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "site.yaml"


def _message(topic: str, n: int) -> aiomqtt.Message:
    return aiomqtt.Message(topic, str(n).encode(), qos=1, retain=False, mid=n, properties=None)


async def test_panic_events_first_everything_else_in_arrival_order() -> None:
    site = load_site(EXAMPLE)
    queue = urgent_first(site)()
    tamper = mqtt.device_topic(site.id, "window-living", mqtt.Channel.EVENT)
    state = mqtt.device_topic(site.id, "door-front", mqtt.Channel.STATE)
    panic = mqtt.device_topic(site.id, "panic-hall", mqtt.Channel.EVENT)
    holdup = mqtt.device_topic(site.id, "panic-bedroom", mqtt.Channel.EVENT)
    for n, topic in enumerate([tamper, state, tamper, panic, tamper, holdup]):
        queue.put_nowait(_message(topic, n))
    assert not queue.empty() and queue.qsize() == 6
    order = [int(bytes(queue.get_nowait().payload)) for _ in range(6)]  # type: ignore[arg-type]
    assert order == [3, 5, 0, 1, 2, 4]
    assert queue.empty()
    waiter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(_message(tamper, 9))
    assert int(bytes((await asyncio.wait_for(waiter, 1)).payload)) == 9  # type: ignore[arg-type]
