"""Socket-level interop: our frames sent over loopback TCP and UDP to pysiaalarm's asyncio
receiver (what Home Assistant runs) are ACKed, and the ACK decodes with our codec."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pysiaalarm.account import SIAAccount
from pysiaalarm.aio.client import SIAClient
from pysiaalarm.utils.enums import CommunicationsProtocol

from protocol.codes import EventKind, sia_data
from protocol.dc09 import Dc09Key, FrameSplitter, Message, decode, encode, exchange

KEY_TEXT = "AAAAAAAAAAAAAAAA"
KEY = Dc09Key.from_ascii(KEY_TEXT)
ACCOUNT = "1111"


class Peer:
    def __init__(self, client: Any, port: int, events: list[object]) -> None:
        self.client, self.port, self.events = client, port, events


async def _start(protocol: CommunicationsProtocol, encrypted: bool) -> Peer:
    events: list[object] = []

    async def on_event(event: object) -> None:
        events.append(event)

    account = SIAAccount(ACCOUNT, KEY_TEXT if encrypted else None)
    # SIAClient.__new__ returns the TCP or UDP subclass, mypy only sees the abstract base
    client: Any = SIAClient("127.0.0.1", 0, [account], on_event, protocol=protocol)  # type: ignore[abstract]
    await client.async_start()
    if protocol == CommunicationsProtocol.TCP:
        port = client.server.sockets[0].getsockname()[1]
    else:
        port = client.transport.get_extra_info("sockname")[1]
        # pysiaalarm bug on Python 3.11: SIAServerUDP.connection_made asserts that the
        # transport is an asyncio.DatagramTransport, which _SelectorDatagramTransport is not
        # before 3.12, so it never stores the transport and never replies. Hand it over.
        if client.sia_server.transport is None:
            client.sia_server.transport = client.transport
    return Peer(client, port, events)


@pytest.fixture(params=[CommunicationsProtocol.TCP, CommunicationsProtocol.UDP], ids=["tcp", "udp"])
def transport(request: pytest.FixtureRequest) -> CommunicationsProtocol:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=[False, True], ids=["plain", "encrypted"])
async def peer(request: pytest.FixtureRequest, transport: CommunicationsProtocol) -> AsyncIterator[Peer]:
    running = await _start(transport, request.param)
    try:
        yield running
    finally:
        # not `async with`: pysiaalarm's __aexit__ returns True and would swallow failures
        await running.client.async_stop()


def _frame(seq: int, encrypted: bool) -> bytes:
    msg = Message(
        "SIA-DCS",
        seq,
        ACCOUNT,
        receiver="0",
        data=sia_data(EventKind.PANIC, ACCOUNT, 3, area=1),
        timestamp=datetime.now(UTC),
    )
    return encode(msg, KEY if encrypted else None)


async def test_peer_acks_our_frame(peer: Peer, transport: CommunicationsProtocol) -> None:
    encrypted = peer.client.accounts[0].encrypted
    raw = await exchange(
        "127.0.0.1", peer.port, _frame(17, encrypted), udp=transport == CommunicationsProtocol.UDP, timeout=5
    )
    assert raw is not None
    reply = decode(raw, lambda _a: [KEY])
    assert (reply.token, reply.sequence, reply.account) == ("ACK", 17, ACCOUNT)
    assert reply.encrypted is encrypted
    for _ in range(50):  # the UDP server calls back in a task after replying
        if peer.events:
            break
        await asyncio.sleep(0.01)
    assert [e.code for e in peer.events] == ["PA"]  # type: ignore[attr-defined]


async def test_peer_answers_one_frame_per_tcp_read() -> None:
    """pysiaalarm treats each read as one message (C1.5, PR #90): a second frame in the same
    segment is lost. Sending one frame per write and waiting for the ACK avoids that."""
    peer = await _start(CommunicationsProtocol.TCP, False)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", peer.port)
        splitter = FrameSplitter()
        replies: list[object] = []
        for seq in (1, 2, 3):
            writer.write(_frame(seq, False))
            await writer.drain()
            while not replies or len(replies) < seq:
                chunk = await asyncio.wait_for(reader.read(1024), 5)
                assert chunk
                replies.extend(splitter.feed(chunk))
        writer.close()
        await writer.wait_closed()
        assert [decode(r).sequence for r in replies] == [1, 2, 3]  # type: ignore[arg-type]
    finally:
        await peer.client.async_stop()


async def test_peer_naks_two_frames_in_one_segment() -> None:
    """Documents a pysiaalarm limitation the transmitter must respect: two frames written
    together are parsed as one line and NAKed, so keep one frame in flight per connection."""
    peer = await _start(CommunicationsProtocol.TCP, False)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", peer.port)
        writer.write(_frame(1, False) + _frame(2, False))
        await writer.drain()
        splitter: FrameSplitter = FrameSplitter()
        replies: list[object] = []
        while not replies:
            chunk = await asyncio.wait_for(reader.read(1024), 5)
            assert chunk
            replies.extend(splitter.feed(chunk))
        writer.close()
        await writer.wait_closed()
        assert decode(replies[0]).token == "NAK"  # type: ignore[arg-type]
        assert peer.events == []
    finally:
        await peer.client.async_stop()
