"""`exchange` against tiny loopback receivers: framed replies, unframed replies, silence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from protocol.dc09 import FrameSplitter, Message, ack, decode, encode, exchange

NOW = datetime(2025, 1, 2, 10, 0, tzinfo=UTC)
FRAME = encode(Message("SIA-DCS", 3, "1234", data="#1234|NRP", timestamp=NOW))

Reply = Callable[[bytes], bytes | None]


@asynccontextmanager
async def tcp_receiver(reply: Reply) -> AsyncIterator[int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = FrameSplitter()
        while chunk := await reader.read(100):
            for item in splitter.feed(chunk):
                answer = reply(item) if isinstance(item, bytes) else None
                if answer is not None:
                    # answer in two pieces, as a slow stack might
                    writer.write(answer[:5])
                    await writer.drain()
                    writer.write(answer[5:])
                    await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def ack_it(frame: bytes) -> bytes:
    return ack(decode(frame), None, NOW)


async def test_tcp_ack() -> None:
    async with tcp_receiver(ack_it) as port:
        raw = await exchange("127.0.0.1", port, FRAME, udp=False, timeout=5)
    assert raw is not None
    assert (decode(raw).token, decode(raw).sequence) == ("ACK", 3)


async def test_tcp_bare_reply() -> None:
    async with tcp_receiver(lambda _f: b'"NAK"') as port:
        raw = await exchange("127.0.0.1", port, FRAME, udp=False, timeout=5)
    assert raw == b'"NAK"' and decode(raw).token == "NAK"


async def test_tcp_silence_times_out() -> None:
    async with tcp_receiver(lambda _f: None) as port:
        assert await exchange("127.0.0.1", port, FRAME, udp=False, timeout=0.2) is None


async def _udp_receiver(reply: Reply) -> tuple[asyncio.DatagramTransport, int]:
    class Proto(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            (frame,) = FrameSplitter().feed(data)
            answer = reply(frame)  # type: ignore[arg-type]
            if answer is not None:
                self.transport.sendto(answer, addr)  # type: ignore[attr-defined]

    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Proto, local_addr=("127.0.0.1", 0))
    port: int = transport.get_extra_info("sockname")[1]
    return transport, port


async def _with_udp(reply: Reply, run: Callable[[int], Awaitable[bytes | None]]) -> bytes | None:
    transport, port = await _udp_receiver(reply)
    try:
        return await run(port)
    finally:
        transport.close()


async def test_udp_ack() -> None:
    raw = await _with_udp(ack_it, lambda p: exchange("127.0.0.1", p, FRAME, udp=True, timeout=5))
    assert raw is not None and decode(raw).token == "ACK"


async def test_udp_silence_times_out() -> None:
    raw = await _with_udp(lambda _f: None, lambda p: exchange("127.0.0.1", p, FRAME, udp=True, timeout=0.2))
    assert raw is None
