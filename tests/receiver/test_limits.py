"""What one sender may cost the receiver, over real sockets: floods, garbage, half frames and
connection hoarding are cut off, counted and logged once, while other senders are answered.

Abusers connect from 127.0.0.2..; good senders from 127.0.0.1 (loopback answers on all of 127/8).
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from config.receiver import Account, Limits
from protocol.dc09 import Dc09Key, Message, decode, encode
from receiver.admission import RESERVED_FDS
from receiver.db import SqliteDatabase
from receiver.handler import FrameHandler
from receiver.links import LINKS_SCHEMA
from receiver.listener import Listener
from receiver.sqlite_store import SqliteEventStore
from receiver.supervision import LinkBook
from tests.receiver.console_fixtures import running_receiver

KEY_HEX = "C73EC203BC231D91C3EEBBC4751A55E9"
KEY = Dc09Key.from_hex(KEY_HEX)
ACCOUNTS = [Account.model_validate({"account": "0471", "site": "demo-home", "key": f"hex:{KEY_HEX}"})]
GOOD, BAD = "127.0.0.1", "127.0.0.2"


def _frame(seq: int, token: str = "SIA-DCS") -> bytes:
    data = "" if token == "NULL" else f"#0471|Nri1/BA{seq % 100:02d}"
    return encode(Message(token, seq, "0471", receiver="1", prefix="0", data=data,
                          timestamp=datetime.now(UTC), encrypted=True), KEY)


@asynccontextmanager
async def _served(tmp: Path, **limits: Any) -> AsyncIterator[tuple[Listener, Listener]]:
    async with SqliteEventStore(tmp / "r.db") as store:
        handler = FrameHandler(ACCOUNTS, store, LinkBook(), lambda: datetime.now(UTC), log_interval=3600)
        config = Limits.model_validate(limits)
        tcp = Listener("tcp://127.0.0.1:0", handler, config)
        udp = Listener("udp://127.0.0.1:0", handler, config, tcp.admission)
        await tcp.start()
        await udp.start()
        try:
            yield tcp, udp
        finally:
            await tcp.aclose()
            await udp.aclose()
            await handler.committer.aclose()


async def _connect(listener: Listener, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", listener.port, local_addr=(source, 0))


async def _acked(listener: Listener, seq: int, source: str = GOOD) -> bool:
    reader, writer = await _connect(listener, source)
    try:
        writer.write(_frame(seq))
        raw = await asyncio.wait_for(reader.readuntil(b"\r"), 10)
        reply = decode(raw, lambda _a: [KEY])
        return (reply.token, reply.sequence) == ("ACK", seq)
    finally:
        writer.close()


async def _token(reader: asyncio.StreamReader) -> str:
    return decode(await asyncio.wait_for(reader.readuntil(b"\r"), 10), lambda _a: [KEY]).token


async def _closed_by_peer(reader: asyncio.StreamReader, timeout: float = 10) -> bool:
    """True once the receiver has closed (or reset) the connection; False if it stays open."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


async def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
    assert condition(), what


async def test_a_crlf_flood_is_cut_off_banned_and_logged_once_while_others_are_answered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="receiver")
    async with _served(tmp_path, ban="60s") as (tcp, _):
        counters = tcp.handler.counters
        reader, writer = await _connect(tcp, BAD)
        writer.write(b"\n\r" * 150_000)  # the flood: half a second of it at 0.3 MB/s
        assert await _closed_by_peer(reader), "the flooding connection was never closed"
        assert counters["closed_errors"] == 1
        assert counters["bad_FrameFormatError"] <= 31  # split up to its budget, not the whole flood
        for _ in range(5):  # the address is refused while banned; each refusal counted
            again, _w = await _connect(tcp, BAD)
            assert await _closed_by_peer(again)
        assert counters["refused_banned"] == 5
        assert await _acked(tcp, 1)  # a good sender meanwhile: answered
        lines = [r.getMessage() for r in caplog.records]
        assert sum("cut off" in line for line in lines) == 1
        assert sum("connection from" in line for line in lines) == 1  # 5 refusals, one line


async def test_bytes_without_a_valid_frame_and_an_oversized_frame_close_the_connection(
    tmp_path: Path,
) -> None:
    async with _served(tmp_path, garbage_bytes=4096, max_frame=1024, ban="0s") as (tcp, _):
        counters = tcp.handler.counters
        reader, writer = await _connect(tcp, BAD)
        writer.write(b"x" * 5000)  # no LF at all: skipped, but the budget counts it
        assert await _closed_by_peer(reader)
        assert counters["closed_garbage"] == 1
        reader, writer = await _connect(tcp, BAD)  # no ban configured: it may come back
        writer.write(b'\n1234' + b"0" * 3000)  # a frame begun that outgrows max_frame
        writer.write(b"\n" + b"y" * 3000)
        assert await _closed_by_peer(reader)
        assert counters["bad_FrameFormatError"] >= 1 and counters["closed_garbage"] == 2
        assert await _acked(tcp, 2, BAD)


async def test_a_half_frame_or_silence_is_closed_after_the_frame_timeout_and_a_poller_stays(
    tmp_path: Path,
) -> None:
    async with _served(tmp_path, frame_timeout="0.5s", idle_timeout="60s") as (tcp, _):
        counters = tcp.handler.counters
        half_reader, half = await _connect(tcp, BAD)
        half.write(b'\n5423001')  # the start of a frame, never finished
        silent_reader, _silent = await _connect(tcp, BAD)
        poller_reader, poller = await _connect(tcp, GOOD)
        poller.write(_frame(3, "NULL"))
        assert await _token(poller_reader) == "ACK"
        assert await _closed_by_peer(half_reader)
        assert await _closed_by_peer(silent_reader)
        assert counters["closed_no_frame"] == 2
        assert not poller_reader.at_eof()  # a sender that framed its poll keeps its connection
        poller.write(_frame(4, "NULL"))
        assert await _token(poller_reader) == "ACK"
        assert await _closed_by_peer(half_reader) and len(tcp.connections) == 1
        poller.close()


async def test_connections_are_limited_per_address_and_in_total_and_refusals_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="receiver")
    async with _served(tmp_path, connections=6, connections_per_address=3) as (tcp, _):
        counters = tcp.handler.counters
        hoarded = [await _connect(tcp, BAD) for _ in range(3)]
        await _wait_for(lambda: tcp.admission.open.get(BAD) == 3, "three connections held")
        refused = [await _connect(tcp, BAD) for _ in range(10)]
        for reader, _w in refused:
            assert await _closed_by_peer(reader)
        assert counters["refused_per_address"] == 10
        assert all(not r.at_eof() for r, _w in hoarded)
        others = [await _connect(tcp, f"127.0.0.{n}") for n in (3, 4, 5)]
        await _wait_for(lambda: tcp.admission.count == 6, "six connections held")
        late_reader, _late = await _connect(tcp, "127.0.0.6")
        assert await _closed_by_peer(late_reader)
        assert counters["refused_total"] == 1
        lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert len(lines) == 2  # one per kind, not one per connection
        for _r, writer in hoarded + others:
            writer.close()
        await _wait_for(lambda: tcp.admission.count == 0, "every connection released")
        assert await _acked(tcp, 5)


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait(data)


async def _udp(listener: Listener, source: str) -> tuple[asyncio.DatagramTransport, _Datagrams]:
    return await _udp_to(listener.port, source)


async def test_a_udp_source_over_its_error_budget_is_ignored_and_others_answered(tmp_path: Path) -> None:
    async with _served(tmp_path, ban="60s", error_burst=10) as (_, udp):
        counters = udp.handler.counters
        bad, _ = await _udp(udp, BAD)
        good, heard = await _udp(udp, GOOD)
        try:
            for _ in range(50):
                bad.sendto(b"\n\r" * 100)
            bad.sendto(_frame(7))  # a real frame from the banned source: not even read
            good.sendto(_frame(8))
            reply = decode(await asyncio.wait_for(heard.received.get(), 10), lambda _a: [KEY])
            assert (reply.token, reply.sequence) == ("ACK", 8)
            await _wait_for(lambda: counters["refused_udp_banned"] >= 1, "the banned source dropped")
            assert counters["closed_udp_errors"] == 1
            assert [e.sequence for e in await udp.handler.store.events()] == [8]
        finally:
            bad.close()
            good.close()


async def test_made_up_accounts_over_udp_are_counted_in_a_bounded_summary_not_stored(
    tmp_path: Path,
) -> None:
    db_file = tmp_path / "receiver.db"
    async with SqliteDatabase(db_file, [LINKS_SCHEMA]) as db, db.transaction() as tx:  # earlier rows
        await tx.execute("INSERT INTO links (account, rejections) VALUES ('DEAD01', 1), ('0471', 0)")
    async for receiver in running_receiver(tmp_path):
        # 30 sources (UDP sources are easily spoofed) of 20 frames each: within each one's budget
        senders = [(await _udp_to(receiver.port("udp"), f"127.0.0.{10 + s}"))[0] for s in range(30)]
        try:
            strangers = receiver.handler.strangers
            for n in range(600):  # plain frames: no key needed to make them up
                account = f"{0xA00000 + n:06X}"
                frame = encode(Message("NULL", 0, account, prefix="0", timestamp=datetime.now(UTC)), None)
                senders[n % 30].sendto(frame)
                if n % 30 == 29:  # a round from every source, then its answers: no socket overflows
                    await _wait_for(lambda n=n, s=strangers: s.frames == n + 1, "every datagram answered")
        finally:
            for sender in senders:
                sender.close()
        await receiver.watch.tick(datetime.now(UTC))  # what the supervision tick writes and reads back
        rows = {str(r[0]) for r in await receiver.db.all("SELECT account FROM links")}
        assert rows <= {"0471", "BEEF"}  # served accounts only; the old made-up one is gone too
        assert set(receiver.handler.links.links) <= {"0471", "BEEF"}
        summary = strangers.summary()
        assert len(summary["recent"]) == 100 and summary["forgotten"] == 500
        assert summary["recent"][0]["account"] == f"{0xA00000 + 599:06X}"  # newest first
        assert receiver.handler.counters["duh_unknown_account"] == 600


async def _udp_to(port: int, source: str) -> tuple[asyncio.DatagramTransport, _Datagrams]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        _Datagrams, local_addr=(source, 0), remote_addr=("127.0.0.1", port))
    return transport, proto


def test_connections_are_capped_to_what_the_open_file_limit_leaves_and_that_is_logged() -> None:
    """In a child process: its own limit of 600 descriptors, which it cannot raise."""
    code = (
        "import logging, resource, sys\n"
        "logging.basicConfig(stream=sys.stdout, format='%(message)s')\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (600, 600))\n"
        "from receiver.admission import connection_room\n"
        "print(connection_room(4096)); print(connection_room(100))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         check=True).stdout.splitlines()
    assert out[-2:] == [str(600 - RESERVED_FDS), "100"]
    assert f"leaves room for {600 - RESERVED_FDS} DC-09 connections, not the 4096 configured" in out[0]
