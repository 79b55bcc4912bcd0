"""The agent's subscription as the broker delivers it: what has arrived, in batches, each message
acknowledged (PUBACK) only when the caller has handled and committed it.

aiomqtt 2 lets paho acknowledge a QoS 1 message as soon as it arrives, and has no public way to
take the messages that already wait. Both are done here, through its private ``_client`` (paho's
``manual_ack_set`` / ``ack``) and ``_queue`` (an ``asyncio.Queue`` of ``aiomqtt.Message``), and
nowhere else; ``tests/agent/test_inbox.py`` pins the library behaviour this relies on against a
real mosquitto, and fails when aiomqtt changes it.

The acknowledgement after the commit is what makes a ``kill -9`` safe: the broker delivers
again whatever it was not told was handled. (A priority intake that let panic presses overtake
other messages was tried and removed: under ``kill -9`` it let a device's tamper_restore
overtake its tamper, see tests/faults.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import NamedTuple

import aiomqtt

__all__ = ["Inbox", "Incoming"]


class Incoming(NamedTuple):
    """One message as the agent's intake reads it (no aiomqtt types beyond this module)."""

    topic: str
    payload: bytes
    retain: bool


class Inbox:
    """Wraps a client before it connects; ``async for batch in inbox.batches(n)``, then ``ack``."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        client._client.manual_ack_set(True)  # PUBACK only when ``ack`` is called

    async def batches(self, limit: int, gather: float = 0.0) -> AsyncIterator[list[aiomqtt.Message]]:
        """The next message (waiting for it), with those already queued behind it.

        ``gather`` (seconds): while messages stream in (the next one came within ``gather`` of
        the last batch's end), wait up to that long for more before handing the batch over, so
        a stream of events is a few commits a second rather than one per event, and the alarm
        lane rarely finds a commit of them in its way. A message after a quiet spell goes at once.
        """
        queue = self.client._queue
        loop = asyncio.get_running_loop()
        last_end = -gather
        async for first in self.client.messages:
            batch = [first]
            now = loop.time()
            streaming, until = now - last_end < gather, now + gather
            while len(batch) < limit:
                if not queue.empty():
                    batch.append(queue.get_nowait())
                elif not streaming or (left := until - loop.time()) <= 0:
                    break
                else:
                    try:
                        async with asyncio.timeout(left):
                            batch.append(await queue.get())
                    except TimeoutError:
                        break
            yield batch
            last_end = loop.time()

    def ack(self, message: aiomqtt.Message) -> None:
        """PUBACK now: the message has been handled (or rejected and counted) and committed."""
        if message.qos > 0:
            self.client._client.ack(message.mid, message.qos)

    @staticmethod
    def incoming(message: aiomqtt.Message) -> Incoming:
        payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
        return Incoming(message.topic.value, bytes(payload), message.retain)
