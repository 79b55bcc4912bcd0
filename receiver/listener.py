"""DC-09 listeners: TCP (a byte stream, several frames per connection) and UDP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import cast
from urllib.parse import urlsplit

from protocol.dc09 import Dc09Error, FrameSplitter
from receiver.handler import FrameHandler

__all__ = ["Listener"]

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 120.0  # a sender that keeps its connection must poll within this time
WRITE_TIMEOUT = 10.0  # a peer that does not read our answers for this long is cut off
MAX_UNANSWERED = 64  # frames queued on one connection before we stop reading from it


class _TcpConnection(asyncio.Protocol):
    """One sender's connection: a byte stream, answered frame by frame and in order.

    Frames are split as they arrive; one task per burst answers them in turn (an event is
    ACKed only after its commit). Reading pauses while a peer has many unanswered frames.
    """

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.splitter = FrameSplitter()
        self.frames: deque[bytes] = deque()
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.answering: asyncio.Task[None] | None = None
        self.paused = False
        self.writable: asyncio.Future[None] | None = None  # set while the peer does not read
        self.heard = 0.0
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = f"{host}:{port}"
        self.listener.connections.add(self)
        loop = asyncio.get_running_loop()
        self.heard = loop.time()
        self.idle = loop.call_later(IDLE_TIMEOUT, self._check_idle)

    def _check_idle(self) -> None:
        """A sender that keeps its connection must poll within IDLE_TIMEOUT (one timer, not one per read)."""
        loop = asyncio.get_running_loop()
        quiet = loop.time() - self.heard
        if quiet >= IDLE_TIMEOUT and self.answering is None and self.transport is not None:
            self.transport.close()
        else:
            self.idle = loop.call_later(max(IDLE_TIMEOUT - quiet, 1.0), self._check_idle)

    def data_received(self, data: bytes) -> None:
        self.heard = asyncio.get_running_loop().time()
        counters = self.listener.handler.counters
        for item in self.splitter.feed(data):
            if isinstance(item, Dc09Error):
                counters[f"bad_{type(item).__name__}"] += 1
            else:
                self.frames.append(item)
        if self.frames and self.answering is None:
            self.answering = asyncio.get_running_loop().create_task(self._answer(), name=f"dc09 {self.peer}")
        if len(self.frames) > MAX_UNANSWERED and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    async def _answer(self) -> None:
        handle = self.listener.handler.handle
        try:
            while self.frames:
                reply = await handle(self.frames.popleft(), transport="tcp", peer=self.peer)
                if self.transport is None or self.transport.is_closing():
                    return
                if self.writable is not None:  # like drain(): wait for the peer to read
                    await asyncio.wait_for(asyncio.shield(self.writable), WRITE_TIMEOUT)
                if reply is not None and not self.transport.is_closing():
                    self.transport.write(reply)
                if self.paused and len(self.frames) <= MAX_UNANSWERED // 2:
                    self.paused = False
                    self.transport.resume_reading()
        except TimeoutError:
            log.info("%s does not read its answers; closing the connection", self.peer)
            if self.transport is not None:
                self.transport.abort()
        except Exception:
            log.exception("answering %s failed; closing the connection", self.peer)
            if self.transport is not None:
                self.transport.abort()
        finally:
            self.answering = None

    def pause_writing(self) -> None:
        self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        self.writable = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.resume_writing()
        self.listener.connections.discard(self)
        if self.idle is not None:
            self.idle.cancel()
        self.frames.clear()
        self.transport = None


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
        self.connections: set[_TcpConnection] = set()
        self._udp: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.transport == "tcp":
            self._server = await loop.create_server(lambda: _TcpConnection(self), self.host, self.port)
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
            answering = [c.answering for c in self.connections if c.answering is not None]
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.close()
            for task in answering:
                task.cancel()
            await asyncio.gather(*answering, return_exceptions=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        if self._udp is not None:
            self._udp.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

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
