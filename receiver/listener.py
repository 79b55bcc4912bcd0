"""DC-09 listeners: TCP (a byte stream, several frames per connection) and UDP.

Every sender has a budget (``config.receiver.Limits``, docs/security.md): connections per
address and in total, time to complete a frame, bytes without a valid frame, refused frames
per second. A sender over budget is cut off (and its address refused for a short ban), counted
in the handler's counters and logged at most once per interval per kind: one bad sender costs
the others nothing but the bytes it gets to send before its budget runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from typing import cast
from urllib.parse import urlsplit

from config.receiver import Limits
from protocol.dc09 import Dc09Error, FrameSplitter
from receiver.admission import Admission, ErrorBudget
from receiver.handler import FrameHandler

__all__ = ["Listener"]

log = logging.getLogger(__name__)

WRITE_TIMEOUT = 10.0  # a peer that does not read our answers for this long is cut off
MAX_UNANSWERED = 64  # frames queued on one connection before we stop reading from it
MAX_UDP_SOURCES = 65_536  # error budgets kept for this many UDP source addresses
_ACKED = (ord("A"), ord("*"))  # first byte of the token of an answer: "ACK" or "*ACK"


def _refused(reply: bytes | None) -> bool:
    """An answer that is not an ACK: silence, NAK or DUH (LF, CRC, length, then the quoted token)."""
    return reply is None or reply[10] not in _ACKED


class _TcpConnection(asyncio.Protocol):
    """One sender's connection: a byte stream, answered frame by frame and in order.

    Frames are split and handled as they arrive, without a task: an answer that must wait for
    its commit (an event's ACK) is a future, and the answers leave in the order of their frames
    as the futures resolve. Reading pauses while a peer has many unanswered frames, or while it
    does not read our answers (cut off after WRITE_TIMEOUT).
    """

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.limits = listener.limits
        self.receive = listener.handler.receive
        self.counters = listener.handler.counters
        self.splitter = FrameSplitter(listener.limits.max_frame)
        self.unanswered: deque[asyncio.Future[bytes | None]] = deque()  # in frame order
        self.transport: asyncio.Transport | None = None
        self.host = self.peer = ""
        self.admitted = False
        self.backlogged = False  # too many unanswered frames
        self.stuck: asyncio.TimerHandle | None = None  # set while the peer does not read
        self.reading = True
        self.heard = 0.0
        self.owed_since = 0.0  # since when a frame is begun, or owed (0: none)
        self.unframed = 0  # bytes received since the last answered frame
        self.budget: ErrorBudget | None = None  # made at the first refused frame
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.host, self.peer = str(host), f"{host}:{port}"
        loop = asyncio.get_running_loop()
        refusal = self.listener.admission.admit(self.host, loop.time())
        if refusal is not None:
            self.listener.refuse(refusal, self.host)
            self.transport.abort()
            return
        self.admitted = True
        self.listener.connections.add(self)
        self.heard = self.owed_since = loop.time()  # the first frame is owed at once
        self.idle = loop.call_later(self._tick(), self._check_idle)

    def _tick(self) -> float:
        return min(self.limits.frame_timeout, self.limits.idle_timeout).total_seconds()

    def _check_idle(self) -> None:
        """One timer per connection, every ``min(frame_timeout, idle_timeout)``: a frame begun
        (or the first one) must be complete within frame_timeout, and a kept connection must
        hear from its sender within idle_timeout (closed within twice those times)."""
        transport = self.transport
        if transport is None:
            return
        now = asyncio.get_running_loop().time()
        frame_timeout = self.limits.frame_timeout.total_seconds()
        if not self.unanswered:  # while we owe an answer, the wait is ours
            if self.owed_since and now - self.owed_since >= frame_timeout:
                self.counters["closed_no_frame"] += 1
                self.listener.quiet(logging.INFO, "no_frame", "%s sent no complete frame within %g s;"
                                    " closing the connection", self.peer, frame_timeout)
                transport.abort()
                return
            if now - self.heard >= self.limits.idle_timeout.total_seconds():
                self.counters["closed_idle"] += 1
                transport.close()
                return
        self.idle = asyncio.get_running_loop().call_later(self._tick(), self._check_idle)

    def data_received(self, data: bytes) -> None:
        now = self.heard = asyncio.get_running_loop().time()
        transport, unanswered, limits = self.transport, self.unanswered, self.limits
        errors = 0
        answered = False
        for item in self.splitter.feed(data, limits.error_burst + 1):  # more than a burst: overdrawn
            if isinstance(item, Dc09Error):
                self.counters[f"bad_{type(item).__name__}"] += 1
                errors += 1
                continue
            reply = self.receive(item, transport="tcp", peer=self.peer)
            if isinstance(reply, asyncio.Future):
                answered = True
                unanswered.append(reply)
                reply.add_done_callback(self._answer)
                continue
            if _refused(reply):
                errors += 1
            answered = answered or reply is not None
            if unanswered:  # after the answers still owed, in order
                ready: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
                ready.set_result(reply)
                unanswered.append(ready)
            elif reply is not None and transport is not None:
                transport.write(reply)
        if answered:
            self.unframed = self.splitter.buffered
            self.owed_since = now if self.unframed else 0.0
        else:
            self.unframed += len(data)
            if not self.owed_since:
                self.owed_since = now
        if errors and not self._within_budget(errors, now):
            return
        if self.unframed > limits.garbage_bytes:
            self._cut_off_abuser("garbage", f"{self.unframed} bytes without a valid frame")
            return
        if len(unanswered) > MAX_UNANSWERED and not self.backlogged:
            self.backlogged = True
            self._pace_reading()

    def _within_budget(self, errors: int, now: float) -> bool:
        limits = self.limits
        if self.budget is None:
            self.budget = ErrorBudget(limits.error_burst, now)
        if self.budget.spend(errors, now, limits.errors_per_second, limits.error_burst):
            return True
        self._cut_off_abuser("errors", f"over {limits.errors_per_second:g} refused frames per second")
        return False

    def _cut_off_abuser(self, kind: str, why: str) -> None:
        self.counters[f"closed_{kind}"] += 1
        self.listener.admission.ban(self.host, asyncio.get_running_loop().time())
        self.listener.quiet(logging.WARNING, f"closed_{kind}", "%s cut off: %s; address refused for %g s",
                            self.peer, why, self.limits.ban.total_seconds())
        if self.transport is not None:
            self.transport.abort()

    def _answer(self, _done: asyncio.Future[bytes | None]) -> None:
        """Write every answer at the head of the line that is ready."""
        transport, unanswered = self.transport, self.unanswered
        if transport is None:
            return
        while unanswered and unanswered[0].done():
            reply = unanswered.popleft()
            if reply.cancelled() or reply.exception() is not None:
                # the commit failed (the handler logged and counted it): nothing is ACKed, and
                # the sender retransmits on a new connection
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
        self.counters["closed_not_reading"] += 1
        self.listener.quiet(logging.INFO, "not_reading", "%s does not read its answers; closing the"
                            " connection", self.peer)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.admitted:
            return
        self.admitted = False
        self.listener.admission.release(self.host)
        self._unstick()
        self.listener.connections.discard(self)
        if self.idle is not None:
            self.idle.cancel()
        for reply in self.unanswered:  # the events are stored all the same; the sender retransmits
            reply.cancel()
        self.unanswered.clear()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.listener.datagram(data, addr, self)


class Listener:
    """Owns its servers and the tasks that answer datagrams; close with ``aclose``.

    Listeners of one receiver share an ``Admission``: one connection count, one ban list.
    """

    def __init__(self, endpoint: str, handler: FrameHandler, limits: Limits | None = None,
                 admission: Admission | None = None) -> None:
        parts = urlsplit(endpoint)
        self.transport = parts.scheme
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 0
        self.handler = handler
        self.limits = limits = limits or Limits()
        self.admission = admission or Admission(
            limits.connections, limits.connections_per_address, limits.ban.total_seconds())
        self.quiet = handler.quiet
        self._server: asyncio.Server | None = None
        self.connections: set[_TcpConnection] = set()
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_budgets: dict[str, ErrorBudget] = {}

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

    def refuse(self, why: str, host: str) -> None:
        """A connection refused by the admission: counted, and logged once per interval."""
        self.handler.counters[f"refused_{why}"] += 1
        limits = self.limits
        text = {
            "banned": f"address banned for {limits.ban.total_seconds():g} s after abuse",
            "total": f"{self.admission.total} connections open, the limit",
            "per_address": f"{limits.connections_per_address} connections open from it, the limit",
        }[why]
        self.quiet(logging.WARNING, f"refused_{why}", "DC-09 connection from %s refused: %s", host, text)

    def datagram(self, data: bytes, addr: tuple[str, int], proto: _UdpProtocol) -> None:
        """Each frame of a datagram is answered on its own, as soon as its answer is known."""
        host = addr[0]
        admission, counters, limits = self.admission, self.handler.counters, self.limits
        now = 0.0
        if admission.bans:
            now = asyncio.get_running_loop().time()
            if admission.banned(host, now):
                counters["refused_udp_banned"] += 1
                return
        peer = f"{host}:{addr[1]}"
        items = FrameSplitter(limits.max_frame).feed(data, limits.error_burst + 1)
        errors = 0 if items else 1  # a datagram without a frame in it is one refused frame
        if not items:
            counters["bad_datagram"] += 1
        for item in items:
            if isinstance(item, Dc09Error):
                counters[f"bad_{type(item).__name__}"] += 1
                errors += 1
                continue
            reply = self.handler.receive(item, transport="udp", peer=peer)
            if isinstance(reply, asyncio.Future):
                reply.add_done_callback(functools.partial(_send_later, proto, addr))
                continue
            if _refused(reply):
                errors += 1
            _send(proto, addr, reply)
        if errors:
            self._udp_errors(host, errors, now or asyncio.get_running_loop().time())

    def _udp_errors(self, host: str, errors: int, now: float) -> None:
        """A source address has the same error budget as a connection; over it, it is banned."""
        limits, budgets = self.limits, self._udp_budgets
        budget = budgets.get(host)
        if budget is None:
            if len(budgets) >= MAX_UDP_SOURCES:
                del budgets[next(iter(budgets))]
            budget = budgets[host] = ErrorBudget(limits.error_burst, now)
        if budget.spend(errors, now, limits.errors_per_second, limits.error_burst):
            return
        del budgets[host]
        self.handler.counters["closed_udp_errors"] += 1
        self.admission.ban(host, now)
        self.quiet(logging.WARNING, "closed_udp_errors", "UDP source %s over %g refused frames per"
                   " second; ignored for %g s", host, limits.errors_per_second, limits.ban.total_seconds())


def _send(proto: _UdpProtocol, addr: tuple[str, int], reply: bytes | None) -> None:
    if reply is not None and proto.transport is not None and not proto.transport.is_closing():
        proto.transport.sendto(reply, addr)


def _send_later(proto: _UdpProtocol, addr: tuple[str, int], reply: asyncio.Future[bytes | None]) -> None:
    if reply.cancelled() or reply.exception() is not None:
        return  # not committed (the handler logged and counted it): no answer, the sender retransmits
    _send(proto, addr, reply.result())
