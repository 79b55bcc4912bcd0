"""One transmission path to the alarm centre: its config, its key, its state and its connection.

A TCP path keeps one connection open and sends every frame (events and NULL polls) over it, as
DC-09 allows; the receiver frames the byte stream. A connection that the receiver has closed
(idle timeout) is reopened once, at once; a timeout closes it so that a late reply can never be
taken for the answer to the next frame. UDP sends one datagram per frame.

Urgent reports (panic, hold-up, duress) have a TCP connection of their own on each path (the
alarm lane, opened on the first one), with its own lock: a panic is never written behind a
report or a link test that waits for its answer, or a retry of it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from config.site import ReceiverPathConfig
from protocol.dc09 import Dc09Key, FrameSplitter, exchange

__all__ = ["ReceiverPath", "TcpLink"]


class TcpLink:
    """A kept-open TCP connection that answers one frame at a time (callers hold the path lock)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.opened = 0  # connections made, for tests and logs

    async def exchange(self, frame: bytes, timeout: float) -> bytes | None:
        """The reply frame (without LF/CR), or None on silence; OSError when unreachable."""
        try:
            async with asyncio.timeout(timeout):
                for _ in range(2):
                    reused = self._stream is not None
                    reply = await self._once(frame)
                    if reply is not None or not reused:
                        return reply
                    self.close()  # the receiver closed a kept connection: reopen once
                return None
        except TimeoutError:
            self.close()
            return None
        except OSError:
            self.close()
            raise

    async def _once(self, frame: bytes) -> bytes | None:
        if self._stream is None or self._stream[0].at_eof():
            self.close()
            self._stream = await asyncio.open_connection(self.host, self.port)
            self.opened += 1
        reader, writer = self._stream
        writer.write(frame)
        await writer.drain()
        splitter, seen = FrameSplitter(), bytearray()
        while chunk := await reader.read(4096):
            seen += chunk
            for item in splitter.feed(chunk):
                return item if isinstance(item, bytes) else bytes(seen)
        self.close()
        return bytes(seen) or None

    def close(self) -> None:
        if self._stream is not None:
            self._stream[1].transport.abort()
            self._stream = None


@dataclass
class ReceiverPath:
    """A configured path plus what the transmitter knows about it right now."""

    config: ReceiverPathConfig
    key: Dc09Key | None
    up: bool = True
    last_sent: datetime | None = None
    idle_looks: int = 0  # supervision rounds that found no poll due: "processed up to now"
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lane_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # the urgent reports' own
    tcp: TcpLink | None = None
    lane: TcpLink | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.config.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 0
        self.udp = parts.scheme == "udp"
        if not self.udp and self.tcp is None:
            self.tcp = TcpLink(self.host, self.port)
        if not self.udp and self.lane is None:
            self.lane = TcpLink(self.host, self.port)

    @property
    def name(self) -> str:
        return self.config.name

    @classmethod
    def from_config(cls, config: ReceiverPathConfig) -> ReceiverPath:
        key = Dc09Key.parse(config.key.get_secret_value()) if config.key else None
        return cls(config, key)

    async def exchange(self, frame: bytes, *, urgent: bool = False) -> bytes | None:
        """One frame and its answer (the caller holds ``lane_lock`` when urgent, else ``lock``)."""
        timeout = self.config.ack_timeout.total_seconds()
        link = self.lane if urgent else self.tcp
        if link is not None:
            return await link.exchange(frame, timeout)
        return await exchange(self.host, self.port, frame, udp=True, timeout=timeout)

    def close(self, *, urgent: bool | None = None) -> None:
        """Close the connection (``urgent``: the lane's; False: the other; None: both)."""
        for link, lane in ((self.tcp, False), (self.lane, True)):
            if link is not None and urgent in (None, lane):
                link.close()

