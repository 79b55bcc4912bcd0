"""DC-09 listeners: TCP (a byte stream, several frames per connection) and UDP."""

from __future__ import annotations

import asyncio
import contextlib
import functools
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

    Frames are split and handled as they arrive, without a task: an answer that must wait for
    its commit (an event's ACK) is a future, and the answers leave in the order of their frames
    as the futures resolve. Reading pauses while a peer has many unanswered frames, or while it
    does not read our answers (cut off after WRITE_TIMEOUT).
    """

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.receive = listener.handler.receive
        self.counters = listener.handler.counters
        self.splitter = FrameSplitter()
        self.unanswered: deque[asyncio.Future[bytes | None]] = deque()  # in frame order
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.backlogged = False  # too many unanswered frames
        self.stuck: asyncio.TimerHandle | None = None  # set while the peer does not read
        self.reading = True
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
        if quiet >= IDLE_TIMEOUT and not self.unanswered and self.transport is not None:
            self.transport.close()
        else:
            self.idle = loop.call_later(max(IDLE_TIMEOUT - quiet, 1.0), self._check_idle)

    def data_received(self, data: bytes) -> None:
        self.heard = asyncio.get_running_loop().time()
        transport, unanswered = self.transport, self.unanswered
        for item in self.splitter.feed(data):
            if isinstance(item, Dc09Error):
                self.counters[f"bad_{type(item).__name__}"] += 1
                continue
            reply = self.receive(item, transport="tcp", peer=self.peer)
            if isinstance(reply, asyncio.Future):
                unanswered.append(reply)
                reply.add_done_callback(self._answer)
            elif unanswered:  # after the answers still owed, in order
                ready: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
                ready.set_result(reply)
                unanswered.append(ready)
            elif reply is not None and transport is not None:
                transport.write(reply)
        if len(unanswered) > MAX_UNANSWERED and not self.backlogged:
            self.backlogged = True
            self._pace_reading()

    def _answer(self, _done: asyncio.Future[bytes | None]) -> None:
        """Write every answer at the head of the line that is ready."""
        transport, unanswered = self.transport, self.unanswered
        if transport is None:
            return
        while unanswered and unanswered[0].done():
            reply = unanswered.popleft()
            if reply.cancelled() or reply.exception() is not None:
                # the commit failed: nothing is ACKed, the sender retransmits on a new connection
                log.warning("%s: event not committed (%r); closing the connection", self.peer,
                            None if reply.cancelled() else reply.exception())
                transport.abort()
                return
            answer = reply.result()
            if answer is not None and not transport.is_closing():
                transport.write(answer)
        if self.backlogged and len(unanswered) <= MAX_UNANSWERED // 2:
            self.backlogged = False
            self._pace_reading()

    def _pace_reading(self) -> None:
        """Read while the peer reads our answers and has few unanswered frames."""
        want = not self.backlogged and self.stuck is None
        if want != self.reading and self.transport is not None and not self.transport.is_closing():
            self.reading = want
            if want:
                self.transport.resume_reading()
            else:
                self.transport.pause_reading()

    def pause_writing(self) -> None:
        self.stuck = asyncio.get_running_loop().call_later(WRITE_TIMEOUT, self._cut_off)
        self._pace_reading()

    def resume_writing(self) -> None:
        self._unstick()
        self._pace_reading()

    def _unstick(self) -> None:
        if self.stuck is not None:
            self.stuck.cancel()
            self.stuck = None

    def _cut_off(self) -> None:
        log.info("%s does not read its answers; closing the connection", self.peer)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._unstick()
        self.listener.connections.discard(self)
        if self.idle is not None:
            self.idle.cancel()
        for reply in self.unanswered:  # the events are stored all the same; the sender retransmits
            reply.cancel()
        self.unanswered.clear()
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
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        if self._udp is not None:
            self._udp.close()

    def datagram(self, data: bytes, addr: tuple[str, int], proto: _UdpProtocol) -> None:
        """Each frame of a datagram is answered on its own, as soon as its answer is known."""
        peer = f"{addr[0]}:{addr[1]}"
        for item in FrameSplitter().feed(data):
            if isinstance(item, Dc09Error):
                self.handler.counters[f"bad_{type(item).__name__}"] += 1
                continue
            reply = self.handler.receive(item, transport="udp", peer=peer)
            if isinstance(reply, asyncio.Future):
                reply.add_done_callback(functools.partial(_send_later, proto, addr))
            else:
                _send(proto, addr, reply)


def _send(proto: _UdpProtocol, addr: tuple[str, int], reply: bytes | None) -> None:
    if reply is not None and proto.transport is not None and not proto.transport.is_closing():
        proto.transport.sendto(reply, addr)


def _send_later(proto: _UdpProtocol, addr: tuple[str, int], reply: asyncio.Future[bytes | None]) -> None:
    if reply.cancelled() or reply.exception() is not None:
        return  # not committed: no answer, the sender retransmits
    _send(proto, addr, reply.result())
