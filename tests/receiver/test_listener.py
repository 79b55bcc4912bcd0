"""The DC-09 listeners over real sockets: answers in frame order, an ACK only once its event is
committed, nothing when the commit fails, and datagrams answered one frame at a time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.receiver import Account
from protocol.dc09 import Dc09Key, Message, decode, encode
from receiver import handler as handler_module
from receiver.handler import FrameHandler
from receiver.listener import Listener
from receiver.sqlite_store import SqliteEventStore
from receiver.store import NewEvent, Result
from receiver.supervision import LinkBook

KEY_HEX = "C73EC203BC231D91C3EEBBC4751A55E9"
KEY = Dc09Key.from_hex(KEY_HEX)
ACCOUNTS = [Account.model_validate({"account": "0471", "site": "demo-home", "key": f"hex:{KEY_HEX}"})]


def _now() -> datetime:
    return datetime.now(UTC)


def _frame(seq: int, token: str = "SIA-DCS", code: str = "BA") -> bytes:
    data = "" if token == "NULL" else f"#0471|Nri1/{code}{seq % 100:02d}"
    return encode(Message(token, seq, "0471", receiver="1", prefix="0", data=data, timestamp=_now(),
                          encrypted=True), KEY)


class HeldStore(SqliteEventStore):
    """A real store whose commits wait for the test to let them through (or fail)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def add_many(self, events: Sequence[NewEvent]) -> list[Result]:
        await asyncio.wait_for(self.gate.wait(), 10)
        if self.fail:
            raise OSError("disk I/O error")
        return await super().add_many(events)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Listener, Listener, HeldStore]]:
    async with HeldStore(tmp_path / "r.db") as store:
        handler = FrameHandler(ACCOUNTS, store, LinkBook(), _now)
        tcp, udp = Listener("tcp://127.0.0.1:0", handler), Listener("udp://127.0.0.1:0", handler)
        await tcp.start()
        await udp.start()
        try:
            yield tcp, udp, store
        finally:
            await tcp.aclose()
            await udp.aclose()
            await handler.committer.aclose()


async def _replies(reader: asyncio.StreamReader, count: int) -> list[Message]:
    out = []
    for _ in range(count):
        raw = await asyncio.wait_for(reader.readuntil(b"\r"), 5)
        out.append(decode(raw, lambda _a: [KEY]))
    return out


async def test_answers_leave_in_frame_order_even_when_a_poll_is_answered_at_once(
    served: tuple[Listener, Listener, HeldStore],
) -> None:
    tcp, _, store = served
    reader, writer = await asyncio.open_connection("127.0.0.1", tcp.port)
    store.gate.clear()  # the first event's commit waits; the poll after it could be answered at once
    bad = bytearray(_frame(3))
    bad[2] ^= 0x01  # a CRC digit: no answer at all
    writer.write(_frame(1) + _frame(2, token="NULL") + bytes(bad) + _frame(4))
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readuntil(b"\r"), 0.3)  # nothing overtakes the held event
    assert await store.events() == []
    store.gate.set()
    replies = await _replies(reader, 3)
    assert [(r.token, r.sequence) for r in replies] == [("ACK", 1), ("ACK", 2), ("ACK", 4)]
    assert [e.sequence for e in await store.events()] == [1, 4]
    writer.close()


async def test_a_stream_of_frames_split_anywhere_is_answered_frame_by_frame(
    served: tuple[Listener, Listener, HeldStore],
) -> None:
    tcp, _, store = served
    reader, writer = await asyncio.open_connection("127.0.0.1", tcp.port)
    stream = b"".join(_frame(seq) for seq in range(1, 201))
    for start in range(0, len(stream), 777):  # cuts through frames; 200 frames outstanding at once
        writer.write(stream[start:start + 777])
    await writer.drain()
    replies = await _replies(reader, 200)
    assert [r.sequence for r in replies] == list(range(1, 201))
    assert len(await store.events(limit=500)) == 200
    writer.close()


async def test_when_the_commit_fails_nothing_is_acked_and_the_connection_closes(
    served: tuple[Listener, Listener, HeldStore],
) -> None:
    tcp, _, store = served
    reader, writer = await asyncio.open_connection("127.0.0.1", tcp.port)
    store.fail = True
    writer.write(_frame(1))
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, without an answer
    store.fail = False  # the sender retransmits on a new connection
    reader, writer = await asyncio.open_connection("127.0.0.1", tcp.port)
    writer.write(_frame(1))
    assert [(r.token, r.sequence) for r in await _replies(reader, 1)] == [("ACK", 1)]
    writer.close()


async def test_an_ack_that_cannot_be_built_closes_the_connection_instead_of_hanging_it(
    served: tuple[Listener, Listener, HeldStore], monkeypatch: pytest.MonkeyPatch,
) -> None:
    tcp, _, store = served

    def broken_ack(*_args: object, **_kw: object) -> bytes:
        raise ValueError("cannot build this ACK")

    monkeypatch.setattr(handler_module, "ack", broken_ack)
    reader, writer = await asyncio.open_connection("127.0.0.1", tcp.port)
    writer.write(_frame(1))
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed: the sender retransmits
    assert [e.sequence for e in await store.events()] == [1]  # stored all the same


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait(data)


async def test_udp_acks_an_event_after_its_commit_and_ignores_a_bad_frame(
    served: tuple[Listener, Listener, HeldStore],
) -> None:
    _, udp, store = served
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(_Datagrams, remote_addr=("127.0.0.1", udp.port))
    try:
        store.gate.clear()
        transport.sendto(_frame(9))
        transport.sendto(b"\n0000004A" + _frame(10)[9:])  # wrong CRC: silence
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(proto.received.get(), 0.3)
        store.gate.set()
        reply = decode(await asyncio.wait_for(proto.received.get(), 5), lambda _a: [KEY])
        assert (reply.token, reply.sequence) == ("ACK", 9)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(proto.received.get(), 0.3)
        assert [e.sequence for e in await store.events()] == [9]
    finally:
        transport.close()


async def test_a_failed_commit_is_counted_and_logged_over_udp_as_over_tcp(
    served: tuple[Listener, Listener, HeldStore], caplog: pytest.LogCaptureFixture,
) -> None:
    tcp, udp, store = served
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(_Datagrams, remote_addr=("127.0.0.1", udp.port))
    counters = udp.handler.counters
    store.fail = True
    try:
        transport.sendto(_frame(11))
        async with asyncio.timeout(10):
            while counters["commit_failed"] < 1:
                await asyncio.sleep(0.02)
        reader, writer = await asyncio.open_connection("127.0.0.1", tcp.port)
        writer.write(_frame(12))
        assert await asyncio.wait_for(reader.read(), 5) == b""  # TCP: closed, without an answer
        assert counters["commit_failed"] == 2
        assert proto.received.empty()  # UDP: no answer either; the sender retransmits
    finally:
        transport.close()
    assert any("not committed" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
