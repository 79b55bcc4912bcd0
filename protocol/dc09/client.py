"""Send one frame to a receiver and wait for its answer, over TCP or UDP."""

from __future__ import annotations

import asyncio
import re
from contextlib import suppress

from .stream import FrameSplitter

__all__ = ["exchange"]

_BARE = re.compile(rb'\s*"(ACK|NAK|DUH)"\s*')


def _first_reply(splitter: FrameSplitter, data: bytes, seen: bytearray) -> bytes | None:
    """A complete frame, or the raw bytes when they are an unframed or broken reply."""
    seen += data
    for item in splitter.feed(data):
        return item if isinstance(item, bytes) else bytes(seen)
    return bytes(seen) if _BARE.fullmatch(seen) else None


async def _tcp(host: str, port: int, frame: bytes) -> bytes | None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(frame)
        await writer.drain()
        splitter, seen = FrameSplitter(), bytearray()
        while chunk := await reader.read(4096):
            if (reply := _first_reply(splitter, chunk, seen)) is not None:
                return reply
        return bytes(seen) or None
    finally:
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()


class _OneDatagram(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def _udp(host: str, port: int, frame: bytes) -> bytes | None:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(_OneDatagram, remote_addr=(host, port))
    try:
        transport.sendto(frame)
        data = await protocol.reply
    finally:
        transport.close()
    return _first_reply(FrameSplitter(), data, bytearray()) or data


async def exchange(
    host: str,
    port: int,
    frame: bytes,
    *,
    udp: bool,
    timeout: float,
) -> bytes | None:
    """Send `frame` (as from `encode`) and return the reply frame without LF/CR.

    Returns None when nothing arrived within `timeout` seconds. A reply that is not a
    clean frame (pysiaalarm's bare `"NAK"` or `\\n\\r`) is returned raw, for `decode` to judge.
    Connection errors propagate as OSError.
    """
    try:
        async with asyncio.timeout(timeout):
            return await (_udp if udp else _tcp)(host, port, frame)
    except TimeoutError:
        return None
