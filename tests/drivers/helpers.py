"""Test helpers for the drivers: a site built in code and an MQTT recorder on the real broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import aiomqtt

from config.site import Site

PIN_HASH = "scrypt$16384$8$1$c2FsdA$ZGlnZXN0"


def make_site(url: str, devices: list[dict[str, Any]], site_id: str = "test-home") -> Site:
    return Site.model_validate(
        {
            "id": site_id,
            "name": "Test home",
            "mqtt": {"url": url},
            "alarm_centre": {"account": "1234", "paths": [{"url": "tcp://127.0.0.1:9000"}]},
            "panel": {"users": [{"name": "resident", "number": 1, "pin_hash": PIN_HASH}]},
            "devices": devices,
        }
    )


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    properties: Any

    @property
    def channel(self) -> str:
        return self.topic.rsplit("/", 1)[1]

    @property
    def device(self) -> str:
        return self.topic.split("/")[4]

    def json(self) -> Any:
        return json.loads(self.payload)


class Recorder:
    """Subscribes to every device topic of a site and keeps what arrives, in order."""

    def __init__(
        self, port: int, site: str = "test-home", username: str | None = None, password: str | None = None
    ) -> None:
        self.port, self.site = port, site
        self.username, self.password = username, password
        self.messages: list[Received] = []
        self._queue: asyncio.Queue[Received] = asyncio.Queue()
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Recorder:
        self._client = aiomqtt.Client(
            "127.0.0.1", self.port, username=self.username, password=self.password,
            protocol=aiomqtt.ProtocolVersion.V5,
        )
        await self._client.__aenter__()
        await self._client.subscribe(f"wachter/v1/{self.site}/device/#", qos=1)
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task and self._client
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await self._task
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(None, None, None)

    async def _pump(self) -> None:
        assert self._client
        async for m in self._client.messages:
            payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
            r = Received(str(m.topic), payload, m.retain, m.properties)
            self.messages.append(r)
            if r.channel not in ("set", "confirm"):  # our own commands to the driver
                self._queue.put_nowait(r)

    async def publish(self, topic: str, payload: str, qos: int = 1) -> None:
        assert self._client
        await self._client.publish(topic, payload, qos=qos)

    async def expect(
        self, device: str, channel: str, timeout: float = 5.0, skip: tuple[str, ...] = ("heartbeat", "state")
    ) -> Received:
        """The next message of ``device``/``channel``; other channels in ``skip`` are passed over,
        anything else for that device fails the test."""
        async with asyncio.timeout(timeout):
            while True:
                r = await self._queue.get()
                if r.device != device:
                    continue
                if r.channel == channel:
                    return r
                if r.channel in skip:
                    continue
                raise AssertionError(f"expected {device}/{channel}, got {r.topic}: {r.payload!r}")

    async def quiet(self, device: str, channel: str, seconds: float) -> None:
        """Assert that nothing arrives on ``device``/``channel`` for ``seconds``."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    r = await self._queue.get()
                    if r.device == device and r.channel == channel:
                        raise AssertionError(f"unexpected {r.topic}: {r.payload!r}")
        except TimeoutError:
            pass

    def drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
