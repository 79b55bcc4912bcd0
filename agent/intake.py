"""How MQTT messages reach the agent: panic and hold-up buttons first, each acknowledged late.

The broker's QoS 1 acknowledgement (PUBACK) is sent only after the message's consequences are
committed, so a ``kill -9`` in between makes the broker deliver it again instead of losing it.
Under load, presses of panic buttons skip the queue: a press never waits behind tamper noise.
"""

from __future__ import annotations

import heapq
import itertools
import json
from asyncio import Queue

import aiomqtt

from config.site import DeviceType, Site
from protocol import mqtt

__all__ = ["acknowledge", "manual_acks", "urgent_first"]


def urgent_first(site: Site) -> type[Queue[aiomqtt.Message]]:
    """A queue class for aiomqtt: events of the site's panic buttons before everything else."""
    urgent = {mqtt.device_topic(site.id, d.id, mqtt.Channel.EVENT)
              for d in site.devices if d.type is DeviceType.PANIC}
    counter = itertools.count()

    class UrgentFirst(Queue[aiomqtt.Message]):
        # asyncio.Queue reads ``_queue`` itself (empty(), full()), so the heap must be named so
        _queue: list[tuple[int, int, aiomqtt.Message]]

        def _init(self, maxsize: int) -> None:
            self._queue = []

        def _qsize(self) -> int:
            return len(self._queue)

        def _put(self, item: aiomqtt.Message) -> None:
            rank = 0 if item.topic.value in urgent and _is_press(item) else 1  # same rank: FIFO
            heapq.heappush(self._queue, (rank, next(counter), item))

        def _get(self) -> aiomqtt.Message:
            return heapq.heappop(self._queue)[2]

    return UrgentFirst


def _is_press(message: aiomqtt.Message) -> bool:
    """Only the button itself jumps the queue; its tamper or battery reports keep their place."""
    payload = message.payload
    if not isinstance(payload, bytes | bytearray):
        return False
    try:
        kind = json.loads(payload).get("type")
    except (ValueError, AttributeError):
        return False  # malformed: the agent rejects and counts it in its turn
    return kind in (mqtt.EventType.PRESS, mqtt.EventType.RELEASE)


def manual_acks(client: aiomqtt.Client) -> aiomqtt.Client:
    client._client.manual_ack_set(True)
    return client


def acknowledge(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """PUBACK now: the message has been handled (or rejected and counted) and committed."""
    if message.qos > 0:
        client._client.ack(message.mid, message.qos)
