"""Panic presses overtake a backlog of other MQTT messages; the rest keep their order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiomqtt

from agent.intake import urgent_first
from config.loader import load_site
from protocol import mqtt

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "site.yaml"


def _message(topic: str, n: int, kind: str = "tamper") -> aiomqtt.Message:
    payload = json.dumps({"n": n, "type": kind}).encode()
    return aiomqtt.Message(topic, payload, qos=1, retain=False, mid=n, properties=None)


def _n(message: aiomqtt.Message) -> int:
    return int(json.loads(bytes(message.payload))["n"])  # type: ignore[arg-type,unused-ignore]


async def test_panic_events_first_everything_else_in_arrival_order() -> None:
    site = load_site(EXAMPLE)
    queue = urgent_first(site)()
    tamper = mqtt.device_topic(site.id, "window-living", mqtt.Channel.EVENT)
    state = mqtt.device_topic(site.id, "door-front", mqtt.Channel.STATE)
    panic = mqtt.device_topic(site.id, "panic-hall", mqtt.Channel.EVENT)
    holdup = mqtt.device_topic(site.id, "panic-bedroom", mqtt.Channel.EVENT)
    sequence = [(tamper, "tamper"), (state, "state"), (tamper, "tamper"), (panic, "press"),
                (panic, "tamper"), (holdup, "press"), (holdup, "release")]
    for n, (topic, kind) in enumerate(sequence):
        queue.put_nowait(_message(topic, n, kind))
    assert not queue.empty() and queue.qsize() == 7
    order = [_n(queue.get_nowait()) for _ in range(7)]
    assert order == [3, 5, 6, 0, 1, 2, 4]  # presses first; a panic button's tamper keeps its place
    assert queue.empty()
    waiter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(_message(tamper, 9))
    assert _n(await asyncio.wait_for(waiter, 1)) == 9
