"""The event store on SQLite (the default): WAL, ``synchronous=FULL``, commits on the loop's thread.

An event batch is written and committed on the event loop's own thread, the way Redis writes
and fsyncs its append-only file (``appendfsync always``) before it answers: the batch, its
COMMIT and the fsync take a fraction of a millisecond, frames that arrive meanwhile wait in
the socket buffers and form the next batch, and no thread hand-off sits between a frame and
its ACK. (Measured with bench/dc09_receiver.py: handing the commit, or only its fsync, to a
thread cost 10-30% of the throughput, as the thread waits for the GIL while the loop is busy;
aiosqlite's hop cost 27%.) Reads (console, API) go through their own connection on a thread,
so a slow query never stalls the listeners.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from protocol.durable_sqlite import immediate, require
from receiver.sqlite_file import open_durable, open_writer, writer_turn
from receiver.store import (
    DEDUP_WINDOW,
    EVENTS_INDEXES,
    EVENTS_SCHEMA,
    EVENTS_TABLE,
    INSERT_COLUMNS,
    REUSED_AFTER,
    Clock,
    EventStore,
    NewEvent,
    Result,
    batches,
    fresh,
    insert_sql,
    outcomes,
    utcnow,
)

__all__ = ["RecentEvents", "SqliteEventStore", "migrate"]

log = logging.getLogger(__name__)

#: keys kept at most (about 300 bytes each): a day of a large centre's traffic
MAX_RECENT = 1_000_000
_ROWS = "SELECT id, dedup, received_at, site FROM events WHERE id > ?"


class RecentEvents:
    """The dedup keys of the events received within ``DEDUP_WINDOW``, in memory: the check a
    unique index would make, without writing to a random index page per event. Rows other
    writers committed are picked up (by id) inside each write transaction, before the check."""

    def __init__(self, window: float) -> None:
        self.window = window  # seconds
        self.last_id = 0
        self._ids: dict[str, tuple[int, str, int]] = {}  # dedup -> (id, site, site's count) of the last copy
        self._counts: Counter[str] = Counter()  # events stored per site, as seen here
        self._order: deque[tuple[float, str, int]] = deque()  # (received, dedup, id), by id
        self.shrunk = False  # MAX_RECENT was reached once

    def load(self, conn: sqlite3.Connection, since: float) -> None:
        """At start-up: the newest events (at most MAX_RECENT, by id) received since ``since``."""
        (newest,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()
        floor = datetime.fromtimestamp(since, UTC).isoformat()
        query = f"{_ROWS} AND received_at >= ? ORDER BY id"
        self._read(conn.execute(query, (int(newest) - MAX_RECENT, floor)))
        self.last_id = max(self.last_id, int(newest))

    def catch_up(self, conn: sqlite3.Connection) -> None:
        """The rows other writers committed since we last looked (none, usually: one indexed probe)."""
        self._read(conn.execute(f"{_ROWS} ORDER BY id", (self.last_id,)))

    def _read(self, rows: Iterable[tuple[Any, ...]]) -> None:
        for row_id, dedup, received, site in rows:
            self.add(str(dedup), int(row_id), datetime.fromisoformat(received).timestamp(), str(site))

    def add(self, dedup: str, row_id: int, received: float, site: str) -> None:
        self._counts[site] += 1
        self._ids[dedup] = (row_id, site, self._counts[site])
        self._order.append((received, dedup, row_id))
        self.last_id = max(self.last_id, row_id)
        if len(self._order) > MAX_RECENT:  # a flood: the window shrinks instead of memory growing
            if not self.shrunk:
                log.warning("over %d events in %.0f h: de-duplication now covers a shorter time",
                            MAX_RECENT, self.window / 3600)
            self.shrunk = True
            self._forget()

    def _forget(self) -> None:
        _, dedup, row_id = self._order.popleft()
        last = self._ids.get(dedup)
        if last is not None and last[0] == row_id:
            del self._ids[dedup]

    def earlier(self, dedups: Sequence[str], now: float) -> dict[str, int]:
        """{dedup: id of the copy} of those received within the window before ``now`` with
        fewer than ``REUSED_AFTER`` of their site's events stored since (see ``receiver.store``)."""
        order, ids, counts = self._order, self._ids, self._counts
        while order and order[0][0] < now - self.window:
            self._forget()
        return {d: last[0] for d in dedups
                if (last := ids.get(d)) is not None and counts[last[1]] - last[2] < REUSED_AFTER}


def migrate(conn: sqlite3.Connection) -> None:
    """Bring an events table of an earlier version to this one; ids and rows are kept.

    Before the 24-hour dedup window, ``dedup`` was UNIQUE: on such a table a legitimate repeat
    (a wrapped sequence number) would fail its whole batch, and keep failing, for every sender
    in it. SQLite cannot drop a constraint, so the table is rebuilt, once, in one transaction.
    """
    conn.execute("DROP INDEX IF EXISTS events_received")  # no longer used: a page write per commit
    unique = [row for row in conn.execute("PRAGMA index_list('events')") if row[3] == "u"]
    if not unique:
        return
    (count,) = conn.execute("SELECT COUNT(*) FROM events").fetchone()
    log.warning("rebuilding the events table without its unique dedup key (%d events, once)", count)
    columns = f"id, {INSERT_COLUMNS}"
    with immediate(conn):
        conn.execute(EVENTS_TABLE.replace("CREATE TABLE IF NOT EXISTS events (", "CREATE TABLE events_new ("))
        conn.execute(f"INSERT INTO events_new ({columns}) SELECT {columns} FROM events ORDER BY id")  # noqa: S608
        conn.execute("DROP TABLE events")
        conn.execute("ALTER TABLE events_new RENAME TO events")
        for statement in EVENTS_INDEXES:
            conn.execute(statement)


class SqliteEventStore(EventStore):
    """A committed event survives power loss. One receiver process per file: receivers that
    share a store use PostgreSQL (a writer of another process would stall this one's loop)."""

    def __init__(self, path: Path, clock: Clock = utcnow) -> None:
        super().__init__(clock)
        self.path = path
        self._reader: aiosqlite.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self.writer_turn = asyncio.Lock()  # replaced by the file's shared turn on entry
        self._recent = RecentEvents(DEDUP_WINDOW.total_seconds())

    async def __aenter__(self) -> SqliteEventStore:
        self._reader = await open_durable(self.path, [EVENTS_SCHEMA])
        try:
            self._writer = open_writer(self.path)
            migrate(self._writer)
            self._recent.load(self._writer, (self.clock() - DEDUP_WINDOW).timestamp())
        except BaseException:
            await self.__aexit__()
            raise
        self.writer_turn = writer_turn(self.path)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None

    @property
    def db(self) -> aiosqlite.Connection:
        return require(self._reader, "EventStore")

    async def add_many(self, events: Sequence[NewEvent]) -> list[Result]:
        async with self.writer_turn:  # free unless a console transaction is open: no wait
            return self._add(events)

    def add_now(self, events: Sequence[NewEvent]) -> list[Result] | None:
        """The commit is synchronous here anyway: done at once unless a console transaction
        holds the file's writer turn."""
        if self.writer_turn.locked():
            return None
        return self._add(events)

    def _add(self, events: Sequence[NewEvent]) -> list[Result]:
        """The caller has the writer turn (or saw it free, with no await since)."""
        writer = require(self._writer, "EventStore")
        now = self.clock()
        received = now.isoformat()
        rows = [event.values(received) for event in events]
        dedups = [str(row[-1]) for row in rows]  # the dedup column comes last
        inserted, earlier = self._commit(writer, rows, dedups, now.timestamp())
        for event_id in sorted(inserted.values()):
            self.notify_added(event_id)
        return outcomes(dedups, inserted, earlier)

    def _commit(self, conn: sqlite3.Connection, rows: Sequence[Sequence[object]], dedups: Sequence[str],
                now: float) -> tuple[dict[str, int], dict[str, int]]:
        """One transaction: catch up with other writers, drop duplicates, insert the rest."""
        recent = self._recent
        inserted: dict[str, int] = {}
        with immediate(conn):
            recent.catch_up(conn)
            earlier = recent.earlier(dedups, now)
            for chunk in batches(fresh(dedups, earlier)):
                params = [value for position in chunk for value in rows[position]]
                inserted |= {str(d): int(i) for i, d in conn.execute(insert_sql(len(chunk)), params)}
        site_of = {dedup: str(row[0]) for dedup, row in zip(dedups, rows, strict=True)}  # site comes first
        for dedup, row_id in sorted(inserted.items(), key=lambda item: item[1]):
            recent.add(dedup, row_id, now, site_of[dedup])
        return inserted, earlier

    async def _rows(self, query: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.db.execute(query, tuple(args)) as cur:
            return [tuple(r) for r in await cur.fetchall()]
