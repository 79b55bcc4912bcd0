"""The UDP half of the network between agent and alarm centre (``netproxy`` plays the TCP half).

Each client address gets its own upstream socket, so replies find their way back. Modes follow
``simulator.netproxy``: ``pass``, ``slow`` (each datagram waits ``latency``), and ``blackhole``
or ``refuse`` (UDP has no refusal to give: both drop every datagram, as a cut line does).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Self

from simulator.netproxy import Mode

__all__ = ["UdpRelay"]

log = logging.getLogger(__name__)


class _Upstream(asyncio.DatagramProtocol):
    def __init__(self, relay: UdpRelay, client: tuple[str, int]) -> None:
        self.relay, self.client = relay, client

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.relay.back(data, self.client)


class _Front(asyncio.DatagramProtocol):
    def __init__(self, relay: UdpRelay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.relay.forward(data, addr)


class UdpRelay:
    """``async with UdpRelay(host, port) as relay`` listens on ``relay.port``."""

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1",
                 mode: Mode = "pass", latency: float = 0.2) -> None:
        self.target = (target_host, target_port)
        self.host, self.port = host, 0
        self.mode: Mode = mode
        self.latency = latency
        self.counters: Counter[str] = Counter()
        self._front: asyncio.DatagramTransport | None = None
        self._upstreams: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._front, _ = await loop.create_datagram_endpoint(lambda: _Front(self), local_addr=(self.host, 0))
        self.port = self._front.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        for transport in self._upstreams.values():
            transport.close()
        if self._front is not None:
            self._front.close()

    @property
    def url(self) -> str:
        return f"udp://{self.host}:{self.port}"

    def forward(self, data: bytes, client: tuple[str, int]) -> None:
        if self.mode in ("blackhole", "refuse"):
            self.counters["dropped"] += 1
            return
        task = asyncio.get_running_loop().create_task(self._forward(data, client), name="udprelay-forward")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def back(self, data: bytes, client: tuple[str, int]) -> None:
        if self.mode in ("blackhole", "refuse") or self._front is None:
            self.counters["dropped"] += 1
            return
        front = self._front
        if self.mode == "slow":
            asyncio.get_running_loop().call_later(self.latency, front.sendto, data, client)
        else:
            front.sendto(data, client)

    async def _forward(self, data: bytes, client: tuple[str, int]) -> None:
        if self.mode == "slow":
            await asyncio.sleep(self.latency)
        upstream = self._upstreams.get(client)
        if upstream is None or upstream.is_closing():
            loop = asyncio.get_running_loop()
            upstream, _ = await loop.create_datagram_endpoint(
                lambda: _Upstream(self, client), remote_addr=self.target
            )
            self._upstreams[client] = upstream
        upstream.sendto(data)
        self.counters["forwarded"] += 1
