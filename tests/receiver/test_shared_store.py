"""Two processes' worth of store, desk, link book and login limiter on one database, on each
back end: what one of them writes, the other sees; no event is applied twice."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import asyncpg
import pytest

from config.receiver import DEFAULT_PLANS, ReceiverConfig
from receiver.alarms import AlarmClass
from receiver.auth import LoginLimiter
from receiver.desk import AlarmDesk, DeskError
from receiver.links import LinkBook
from receiver.pg_db import pg_query, postgres_ddl
from receiver.service import open_storage
from receiver.sitebook import SiteBook
from receiver.store import DEDUP_WINDOW, REUSED_AFTER, NewEvent
from receiver.supervision import SiteWatch
from tests.receiver.conftest import ACCOUNTS, Clock, Desk


def _event(seq: int, code: str = "BA", site: str = "demo-home", data: str = "") -> NewEvent:
    return NewEvent(site=site, account="0471", sequence=seq, token="SIA-DCS",
                    data=data or f"#0471|Nri1/{code}{seq:02d}", code=code, zone=f"{seq:02d}")


@pytest.fixture
async def other(store_url: str, clock: Clock) -> AsyncIterator[Desk]:
    """A second receiver process's store and desk on the same database."""
    store, db = open_storage(ReceiverConfig(store=store_url), clock)
    async with store, db:
        yield Desk(store, AlarmDesk(db, clock, SiteBook(db, clock, DEFAULT_PLANS)), db, clock)


async def test_add_many_stores_each_event_once_and_names_the_first_copy(desk: Desk) -> None:
    first, _ = await desk.store.add(_event(1))
    results = await desk.store.add_many([_event(2), _event(1), _event(3), _event(2)])
    second, third = results[0][0], results[2][0]
    assert results == [(second, False), (first, True), (third, False), (second, True)]
    assert [e.sequence for e in await desk.store.events()] == [1, 2, 3]
    assert await desk.store.last_id() == third


async def test_a_copy_after_the_dedup_window_is_a_new_event(desk: Desk, store_url: str, clock: Clock) -> None:
    """A transmitter's sequence comes round again after 9999 messages: the same content under
    the same number much later is a new alarm, never a duplicate to drop (and ACK)."""
    first, _ = await desk.store.add(_event(7))
    clock.advance(3600)
    assert await desk.store.add(_event(7)) == (first, True)  # a retransmission an hour later
    clock.advance(DEDUP_WINDOW.total_seconds())
    again, duplicate = await desk.store.add(_event(7))
    assert (again > first, duplicate) == (True, False)
    assert [e.id for e in await desk.store.events()] == [first, again]
    # a restarted receiver (a new store on the same database) knows the recent copy
    store, db = open_storage(ReceiverConfig(store=store_url), clock)
    async with store, db:
        assert await store.add(_event(7)) == (again, True)
        clock.advance(DEDUP_WINDOW.total_seconds() + 1)
        assert (await store.add(_event(7)))[1] is False


async def test_a_sequence_come_round_at_a_busy_site_is_a_new_event_at_once(desk: Desk, other: Desk) -> None:
    """A home sending hundreds of reports a second wraps its 9999 sequence numbers in seconds:
    the same panic under the same number is then a new alarm, not a retransmission to drop.
    A retransmission (few of the site's events since) stays a duplicate of the copy before it,
    and another site's traffic does not count."""
    first, _ = await desk.store.add(_event(7, code="PA"))
    await desk.store.add_many([_event(n, site="other-home", data=f"#0471|Nri1/TA{n}")
                               for n in range(REUSED_AFTER)])
    await desk.store.add_many([_event(100 + n) for n in range(10)])
    assert await desk.store.add(_event(7, code="PA")) == (first, True)  # a retransmission
    await desk.store.add_many([_event(10_000 + n) for n in range(REUSED_AFTER)])
    again, duplicate = await desk.store.add(_event(7, code="PA"))  # the sequence came round
    assert (again > first, duplicate) == (True, False)
    assert await desk.store.add(_event(7, code="PA")) == (again, True)  # its retransmission
    assert await other.store.add(_event(7, code="PA")) == (again, True)  # seen by another process


async def test_new_events_are_announced_once_each(desk: Desk) -> None:
    heard: list[int] = []
    desk.store.on_added(heard.append)
    results = await desk.store.add_many([_event(1), _event(2), _event(1)])
    await desk.store.add(_event(2))
    assert heard == [results[0][0], results[1][0]]


async def test_a_search_finds_text_in_the_data_regardless_of_case(desk: Desk) -> None:
    await desk.store.add(_event(1, data="#0471|Nri1/BA01^Keuken raam^"))
    await desk.store.add(_event(2, data="#0471|Nri1/BA02^Hal^"))
    assert [e.sequence for e in await desk.store.history("demo-home", search="KEUKEN")] == [1]
    assert [e.sequence for e in await desk.store.history("demo-home", search="ba")] == [2, 1]


async def test_the_same_event_through_two_stores_is_stored_once(desk: Desk, other: Desk) -> None:
    results = await asyncio.gather(*(s.add(_event(1)) for s in (desk.store, other.store) for _ in range(3)))
    assert len({event_id for event_id, _ in results}) == 1
    assert sorted(duplicate for _, duplicate in results) == [False, True, True, True, True, True]
    assert len(await other.store.events()) == 1


async def test_two_desks_apply_every_event_exactly_once(desk: Desk, other: Desk) -> None:
    """Events arrive through both stores while both desks process: each lands in one alarm log row."""

    async def feed(store: Desk, seqs: range) -> None:
        for seq in seqs:
            await store.store.add(_event(seq, site="demo-home" if seq % 2 else "plain-home"))

    async def work(d: Desk) -> None:
        for _ in range(30):
            await d.desk.process(batch=7)
            await asyncio.sleep(0)

    await asyncio.gather(feed(desk, range(1, 61)), feed(other, range(61, 121)), work(desk), work(other))
    await desk.desk.process()
    await other.desk.process()
    stored = sorted(e.id for e in await desk.store.events())
    applied = await desk.db.all("SELECT event FROM alarm_log WHERE event IS NOT NULL ORDER BY event")
    assert len(stored) == 120
    assert [row[0] for row in applied] == stored
    assert len(await other.desk.queue()) == 2  # one open alarm per site


async def test_a_site_heard_by_one_receiver_is_not_silent_on_the_other(desk: Desk, other: Desk) -> None:
    """Supervision runs on every receiver; the link book is shared through the database."""
    here, there = LinkBook(desk.db), LinkBook(other.db)
    watch = SiteWatch(ACCOUNTS[:1], there, other.desk, desk.clock())
    for _ in range(4):
        here.heard("0471", desk.clock.advance(60), poll=True)
        await here.sync()
        await watch.tick(desk.clock())
    assert await other.desk.queue() == []
    assert there.status("0471").last_poll == desk.clock()
    await watch.tick(desk.clock.advance(121))
    [alarm] = await desk.desk.queue()
    assert alarm.priority == AlarmClass.ATS_FAILURE
    here.heard("0471", desk.clock.advance(1), poll=True)
    await here.sync()
    await watch.tick(desk.clock())
    assert (await desk.desk.queue())[0].restored_at == desk.clock()


async def test_rejections_add_up_across_receivers_until_a_frame_is_accepted(desk: Desk, other: Desk) -> None:
    here, there = LinkBook(desk.db), LinkBook(other.db)
    here.rejected("0471", desk.clock(), "frame could not be decrypted")
    there.rejected("0471", desk.clock(), "timestamp outside the window")
    there.rejected("0471", desk.clock(), "timestamp outside the window")
    await here.sync()
    await there.sync()
    await here.sync()
    assert here.status("0471").rejections == there.status("0471").rejections == 3
    here.heard("0471", desk.clock(), poll=False)
    await here.sync()
    await there.sync()
    assert there.status("0471").rejections == 0


async def test_the_login_limit_counts_failures_on_every_receiver(desk: Desk, other: Desk) -> None:
    limits = [LoginLimiter(d.db, desk.clock, attempts=3) for d in (desk, other)]
    for limiter in (*limits, limits[0]):
        assert await limiter.attempt("user:olga", "addr:10.0.0.9") is not None  # then: wrong password
    assert await limits[1].attempt("user:olga") is None
    assert await limits[1].attempt("addr:10.0.0.9") is None
    sam = await limits[1].attempt("user:sam")
    assert sam is not None
    await limits[1].forgive(sam)  # the right password: not a failure
    desk.clock.advance(301)
    assert await limits[0].attempt("user:olga") is not None


async def test_two_operators_taking_one_alarm_at_once_one_gets_it(desk: Desk, other: Desk) -> None:
    """Operators on two receivers (or two browser tabs) press "take" at the same moment."""
    await desk.signal("PA")
    [alarm] = await desk.desk.queue()
    results = await asyncio.gather(desk.desk.take(alarm.id, "olga"), other.desk.take(alarm.id, "piet"),
                                   return_exceptions=True)
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], DeskError) and f"taken by {won[0].owner}" in str(lost[0])
    stored = await other.desk.alarm(alarm.id)
    assert stored is not None and stored.owner == won[0].owner


STOP_10_EVENTS = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    account TEXT NOT NULL,
    received_at TEXT NOT NULL,
    sent_at TEXT,
    sequence INTEGER NOT NULL,
    token TEXT NOT NULL,
    code TEXT,
    zone TEXT,
    cid TEXT,
    data TEXT NOT NULL,
    extended TEXT NOT NULL,
    encrypted INTEGER NOT NULL,
    transport TEXT NOT NULL,
    peer TEXT NOT NULL,
    dedup TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS events_site ON events(site, id);
CREATE INDEX IF NOT EXISTS events_code ON events(code, id);
CREATE INDEX IF NOT EXISTS events_received ON events(received_at);
"""


async def test_an_events_table_of_an_earlier_version_is_migrated_with_its_rows(
    store_url: str, clock: Clock
) -> None:
    """Its unique dedup key would refuse a repeat after the window (and fail the whole batch)."""
    old = _event(7)
    row = (old.site, old.account, clock().isoformat(), old.sequence, old.token, old.code, old.zone,
           old.data, "[]", 0, "tcp", "t", old.dedup_key())
    insert = ("INSERT INTO events (site, account, received_at, sequence, token, code, zone, data,"
              " extended, encrypted, transport, peer, dedup) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")
    if store_url.startswith("sqlite://"):
        with sqlite3.connect(store_url.removeprefix("sqlite://")) as conn:
            conn.executescript(STOP_10_EVENTS)
            conn.execute(insert, row)
    else:
        conn = await asyncpg.connect(store_url)
        try:
            await conn.execute(postgres_ddl(STOP_10_EVENTS))
            await conn.execute(pg_query(insert), *row)
        finally:
            await conn.close()
    store, db = open_storage(ReceiverConfig(store=store_url), clock)
    async with store, db:
        [kept] = await store.events()
        assert kept.sequence == 7
        assert await store.add(_event(7)) == (kept.id, True)  # within the window: the same event
        clock.advance(DEDUP_WINDOW.total_seconds() + 1)
        new_id, duplicate = await store.add(_event(7))  # the old table refused this one
        assert new_id > kept.id and not duplicate
    store, db = open_storage(ReceiverConfig(store=store_url), clock)  # a second start: nothing to do
    async with store, db:
        assert [e.id for e in await store.events()] == [kept.id, new_id]
        assert await store.add(_event(7)) == (new_id, True)
