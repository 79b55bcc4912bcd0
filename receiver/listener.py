"""DC-09 listeners: TCP (a byte stream, several frames per connection) and UDP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import cast
from urllib.parse import urlsplit

from protocol.dc09 import Dc09Error, FrameSplitter
from receiver.handler import FrameHandler

__all__ = ["Listener"]

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 120.0  # a sender that keeps its connection must poll within this time


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.listener.datagram(data, addr, self)


class Listener:
    """Owns its servers and the tasks that answer datagrams; close with ``aclose``."""

    def __init__(self, endpoint: str, handler: FrameHandler) -> None:
        parts = urlsplit(endpoint)
        self.transport = parts.scheme
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 0
        self.handler = handler
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.transport == "tcp":
            self._server = await asyncio.start_server(self._connection, self.host, self.port)
            self.port = self._server.sockets[0].getsockname()[1]
        else:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.host, self.port)
            )
            self._udp = transport
            self.port = transport.get_extra_info("sockname")[1]
        log.info("DC-09 listening on %s://%s:%d", self.transport, self.host, self.port)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        if self._udp is not None:
            self._udp.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        peer = f"{host}:{port}"
        splitter = FrameSplitter()
        try:
            while data := await asyncio.wait_for(reader.read(4096), IDLE_TIMEOUT):
                for item in splitter.feed(data):
                    if isinstance(item, Dc09Error):
                        self.handler.counters[f"bad_{type(item).__name__}"] += 1
                        continue
                    reply = await self.handler.handle(item, transport="tcp", peer=peer)
                    if reply is not None:
                        writer.write(reply)
                        await asyncio.wait_for(writer.drain(), 10)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)

    def datagram(self, data: bytes, addr: tuple[str, int], proto: _UdpProtocol) -> None:
        task = asyncio.get_running_loop().create_task(self._datagram(data, addr, proto))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _datagram(self, data: bytes, addr: tuple[str, int], proto: _UdpProtocol) -> None:
        peer = f"{addr[0]}:{addr[1]}"
        for item in FrameSplitter().feed(data):
            if isinstance(item, Dc09Error):
                self.handler.counters[f"bad_{type(item).__name__}"] += 1
                continue
            reply = await self.handler.handle(item, transport="udp", peer=peer)
            if reply is not None and proto.transport is not None:
                proto.transport.sendto(reply, addr)
