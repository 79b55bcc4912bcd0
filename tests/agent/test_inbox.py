"""Pins the aiomqtt behaviour ``agent/inbox.py`` relies on, against a real mosquitto.

If an aiomqtt release renames its private ``_client``/``_queue`` or acknowledges on its own, these
fail, before a kill -9 in the field loses an event the broker was told was handled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiomqtt
import paho.mqtt.client as paho
import pytest

from agent.inbox import Inbox
from tests.broker import Mosquitto

pytestmark = pytest.mark.broker
TOPIC = "wachter/v1/inbox-test/device/x/event"


def _subscriber(broker: Mosquitto) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", broker.port, identifier="inbox-test", clean_session=False,
                          timeout=5)


@contextlib.asynccontextmanager
async def _inbox(broker: Mosquitto) -> AsyncIterator[Inbox]:
    inbox = Inbox(_subscriber(broker))
    async with inbox.client:
        await inbox.client.subscribe(TOPIC, qos=1)
        yield inbox


async def _publish(broker: Mosquitto, *payloads: bytes) -> None:
    async with aiomqtt.Client("127.0.0.1", broker.port, timeout=5) as client:
        for payload in payloads:
            await client.publish(TOPIC, payload, qos=1)


async def _first_batch(inbox: Inbox, limit: int = 64) -> list[aiomqtt.Message]:
    async with asyncio.timeout(10):
        async for batch in inbox.batches(limit):
            return batch
    raise AssertionError("no batch")


async def test_the_private_parts_are_where_the_inbox_expects_them() -> None:
    client = aiomqtt.Client("127.0.0.1", 1, timeout=1)
    assert isinstance(client._client, paho.Client)
    assert callable(client._client.manual_ack_set) and callable(client._client.ack)
    assert isinstance(client._queue, asyncio.Queue)


async def test_a_message_not_acknowledged_comes_again(mosquitto: Mosquitto) -> None:
    async with _inbox(mosquitto) as inbox:  # a persistent session
        pass
    await _publish(mosquitto, b"first")
    async with _inbox(mosquitto) as inbox:
        [message] = await _first_batch(inbox)
        assert message.payload == b"first"  # handled, but not acknowledged: e.g. a kill -9 now
    async with _inbox(mosquitto) as inbox:
        [again] = await _first_batch(inbox)
        assert again.payload == b"first"
        inbox.ack(again)
        await _publish(mosquitto, b"marker")
        [marker] = await _first_batch(inbox)
        assert marker.payload == b"marker"
        inbox.ack(marker)
    async with _inbox(mosquitto) as inbox:  # acknowledged: only what is new comes
        await _publish(mosquitto, b"next")
        [message] = await _first_batch(inbox)
        assert message.payload == b"next"
        inbox.ack(message)


async def test_what_waits_in_the_queue_comes_as_one_batch(mosquitto: Mosquitto) -> None:
    async with _inbox(mosquitto) as inbox:
        await _publish(mosquitto, *[b"%d" % i for i in range(5)])
        async with asyncio.timeout(10):
            while len(inbox.client.messages) < 5:  # all five arrived before we look
                await asyncio.sleep(0.01)
        batch = await _first_batch(inbox)
        assert [m.payload for m in batch] == [b"0", b"1", b"2", b"3", b"4"]
        for message in batch:
            inbox.ack(message)
        await _publish(mosquitto, b"5", b"6", b"7")
        async with asyncio.timeout(10):
            while len(inbox.client.messages) < 3:
                await asyncio.sleep(0.01)
        assert [m.payload for m in await _first_batch(inbox, limit=2)] == [b"5", b"6"]


async def test_a_stream_is_gathered_into_batches_and_a_message_after_a_quiet_spell_goes_at_once(
    mosquitto: Mosquitto,
) -> None:
    gather = 0.2
    async with _inbox(mosquitto) as inbox, aiomqtt.Client("127.0.0.1", mosquitto.port, timeout=5) as pub:
        batches = inbox.batches(64, gather)
        await pub.publish(TOPIC, b"alone", qos=1)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(10):
            began = loop.time()
            [alone] = await anext(batches)  # nothing came before it: no gathering
            assert alone.payload == b"alone" and loop.time() - began < gather
            inbox.ack(alone)

            async def stream() -> None:  # one message every 20 ms, from just after that batch
                for n in range(8):
                    await pub.publish(TOPIC, f"stream-{n}".encode(), qos=1)
                    await asyncio.sleep(0.02)

            streaming = asyncio.create_task(stream())
            got: list[list[bytes]] = []
            while sum(map(len, got)) < 8:
                batch = await anext(batches)
                got.append([bytes(m.payload) for m in batch])  # type: ignore[arg-type]
                for m in batch:
                    inbox.ack(m)
            await streaming
    assert [p for batch in got for p in batch] == [f"stream-{n}".encode() for n in range(8)]
    assert len(got) < 8, got  # gathered: fewer batches (commits) than messages
