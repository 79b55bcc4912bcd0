"""The event store on PostgreSQL (asyncpg), shared by several receiver processes.

``add_many`` commits under a transaction-scoped advisory lock, so event ids become visible
in id order: the alarm desk reads "events after my cursor" and never skips one that a slower
transaction committed late. Each commit notifies ``wachter_events`` so every process's desk
wakes at once, whichever receiver took the frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from protocol.durable_sqlite import require
from receiver.pg_db import POOL_SIZE, TIMEOUT, create_schema, open_pool, pg_query
from receiver.pg_notify import EVENTS_CHANNEL, Subscription, new_origin
from receiver.store import (
    DEDUP_WINDOW,
    EVENTS_SCHEMA,
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

__all__ = ["EVENTS_LOCK", "PgEventStore"]

EVENTS_LOCK = 0x57_41_43_48_00_03  # "WACH" 3: one event commit at a time, so ids commit in order
#: the lookup of earlier copies needs an index here (SQLite's store keeps them in memory)
DEDUP_INDEX = "CREATE INDEX IF NOT EXISTS events_dedup ON events(dedup, received_at);"
#: an events table of an earlier version: dedup was UNIQUE (a legitimate repeat after the window
#: would fail its batch), and received_at had an index no query uses any more
MIGRATIONS = """
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_dedup_key;
DROP INDEX IF EXISTS events_received;
"""
#: the last copy of each key within the window, unless REUSED_AFTER of its site's events came
#: after it (counted on the events_site index, never more than that many)
_EARLIER = (
    "SELECT c.dedup, c.id FROM (SELECT dedup, site, MAX(id) AS id FROM events"
    " WHERE dedup = ANY($1::text[]) AND received_at >= $2 GROUP BY dedup, site) c"
    " WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM events l WHERE l.site = c.site AND l.id > c.id"
    " LIMIT $3) later) < $3"
)


class PgEventStore(EventStore):
    """A pool for writes and reads, and a LISTEN connection for events committed elsewhere."""

    _contains = "strpos"

    def __init__(self, url: str, clock: Clock = utcnow, *, pool_size: int = POOL_SIZE,
                 timeout: float = TIMEOUT) -> None:
        super().__init__(clock)
        self.url = url
        self.pool_size = pool_size
        self.timeout = timeout  # an ACK waits at most this long for its commit; then the sender retries
        self.origin = new_origin()
        self._pool: asyncpg.Pool | None = None
        self._subscription = Subscription(
            url, {EVENTS_CHANNEL: self._committed_elsewhere}, self._caught_up
        )

    async def __aenter__(self) -> PgEventStore:
        self._pool = await open_pool(self.url, self.pool_size, self.timeout)
        try:
            async with self._pool.acquire(timeout=self.timeout) as conn:
                await create_schema(conn, [EVENTS_SCHEMA, DEDUP_INDEX, MIGRATIONS])
            await self._subscription.__aenter__()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._subscription.__aexit__()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        return require(self._pool, "EventStore")

    async def add_many(self, events: Sequence[NewEvent]) -> list[Result]:
        now = self.clock()
        received = now.isoformat()
        rows = [event.values(received) for event in events]
        dedups = [str(row[-1]) for row in rows]  # the dedup column comes last
        inserted: dict[str, int] = {}
        async with self.pool.acquire(timeout=self.timeout) as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", EVENTS_LOCK)  # and dedup is exact
            found = await conn.fetch(_EARLIER, sorted(set(dedups)), (now - DEDUP_WINDOW).isoformat(),
                                     REUSED_AFTER)
            earlier = {str(r["dedup"]): int(r["id"]) for r in found}
            for chunk in batches(fresh(dedups, earlier)):
                params = [value for position in chunk for value in rows[position]]
                inserted_rows = await conn.fetch(pg_query(insert_sql(len(chunk))), *params)
                inserted |= {str(r["dedup"]): int(r["id"]) for r in inserted_rows}
            if inserted:  # delivered at commit, and only if it commits
                payload = f"{self.origin} {max(inserted.values())}"
                await conn.execute("SELECT pg_notify($1, $2)", EVENTS_CHANNEL, payload)
        for event_id in sorted(inserted.values()):
            self.notify_added(event_id)
        return outcomes(dedups, inserted, earlier)

    async def _rows(self, query: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.pool.fetch(pg_query(query), *args)]

    def _committed_elsewhere(self, payload: str) -> None:
        """Another receiver committed events up to this id: wake whoever waits for events."""
        origin, _, last = payload.partition(" ")
        if origin != self.origin and last.isdigit():
            self.notify_added(int(last))

    def _caught_up(self) -> None:
        """After a lost LISTEN connection: announce the newest id in case events were missed."""
        self.notify_added(0)
