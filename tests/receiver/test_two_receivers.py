"""Two receiver processes (here: two Receiver objects, own ports and aiohttp apps) on one
PostgreSQL database: both accept DC-09, each event is stored once, both consoles are live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from protocol.dc09 import Dc09Key, Message, decode, encode, exchange
from receiver.pg_notify import LIVE_CHANNEL
from receiver.service import Receiver
from tests.receiver.console_fixtures import KEY_HEX, PASSWORD, USERS, receiver_config, send_to, sign_in

KEY = Dc09Key.from_hex(KEY_HEX)


@pytest.fixture
async def pair(tmp_path: Path, pg_database: str) -> AsyncIterator[tuple[Receiver, Receiver]]:
    async with (
        Receiver(receiver_config(tmp_path / "a", pg_database)) as a,
        Receiver(receiver_config(tmp_path / "b", pg_database)) as b,
    ):
        for name, role in USERS.items():
            await a.accounts.add_user(name, role, PASSWORD)
        yield a, b


def _frame(code: str, seq: int) -> bytes:
    msg = Message(token="SIA-DCS", sequence=seq, account="0471", receiver="1", prefix="0",
                  data=f"#0471|Nri1/{code}01", timestamp=datetime.now(UTC).replace(microsecond=0),
                  encrypted=True)
    return encode(msg, KEY)


async def test_the_same_frame_to_both_receivers_is_acked_by_both_and_stored_once(
    pair: tuple[Receiver, Receiver],
) -> None:
    frame = _frame("BA", seq=41)
    replies = await asyncio.gather(
        *(exchange("127.0.0.1", r.port("tcp"), frame, udp=False, timeout=5) for r in pair)
    )
    assert [decode(reply, lambda _a: [KEY]).token for reply in replies if reply] == ["ACK", "ACK"]
    for receiver in pair:
        [event] = await receiver.store.events()
        assert (event.code, event.sequence) == ("BA", 41)
    assert sorted(r.handler.counters["stored"] for r in pair) == [0, 1]
    assert sorted(r.handler.counters["duplicate"] for r in pair) == [0, 1]


async def test_an_event_sent_to_a_shows_live_on_the_console_of_b(pair: tuple[Receiver, Receiver]) -> None:
    a, b = pair
    olga = await sign_in(f"http://127.0.0.1:{b.http_port}", "olga")
    async with olga.http:
        live = await olga.http.get(olga.base + "/live")
        assert await live.content.readline() == b"retry: 1000\n"
        assert await send_to(a.port("tcp"), "PA", seq=7) == "ACK"
        async with asyncio.timeout(1):
            while not (line := await live.content.readline()).startswith(b'data: {"alarm"'):
                pass  # (the first notice says olga came on)
        live.close()
        [alarm] = await b.desk.queue()
        assert json.loads(line.removeprefix(b"data:"))["alarm"] == alarm.id
        rows = await (await olga.http.get(olga.base + "/queue/rows")).text()
        assert "hold-up / panic: PA zone 2" in rows


async def test_a_notice_published_on_one_receiver_reaches_the_other_once_and_not_itself_twice(
    pair: tuple[Receiver, Receiver],
) -> None:
    a, b = pair
    here, there = a.bulletin.subscribe(), b.bulletin.subscribe()
    a.bulletin.publish({"evidence": 3, "site": "demo-home"})
    async with asyncio.timeout(1):
        assert await there.get() == '{"evidence": 3, "site": "demo-home"}'
    assert here.get_nowait() == '{"evidence": 3, "site": "demo-home"}'
    a.bulletin.publish({"marker": 1})  # processed up to here: a second copy would come first
    async with asyncio.timeout(1):
        assert await there.get() == '{"marker": 1}'
    assert here.get_nowait() == '{"marker": 1}'
    assert here.empty() and there.empty()


async def test_after_a_lost_listen_connection_consoles_resync_and_notices_flow_again(
    pair: tuple[Receiver, Receiver], pg_database: str
) -> None:
    a, b = pair
    there = b.bulletin.subscribe()
    admin = await asyncpg.connect(pg_database)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1",
            f'LISTEN "{LIVE_CHANNEL}"',
        )
    finally:
        await admin.close()
    assert killed == 2
    async with asyncio.timeout(5):
        assert json.loads(await there.get()) == {"resync": True}
    a.bulletin.publish({"alarm": 99})
    async with asyncio.timeout(1):
        assert json.loads(await there.get()) == {"alarm": 99}
