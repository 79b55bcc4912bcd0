"""The event store on SQLite (the default): one connection, WAL, ``synchronous=FULL``."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from receiver.sqlite_file import open_durable
from receiver.store import (
    EVENTS_SCHEMA,
    Clock,
    EventStore,
    NewEvent,
    Result,
    batches,
    insert_sql,
    outcomes,
    utcnow,
)

__all__ = ["SqliteEventStore"]

Insert = tuple[str, list[object]]  # one multi-row INSERT and its parameters


def _commit_batch(conn: sqlite3.Connection, inserts: Sequence[Insert]) -> dict[str, int]:
    """On the connection's thread: the INSERTs and their COMMIT, as one hop from the event loop.

    The connection is in autocommit mode, so a single INSERT (the usual case) is its own
    transaction: SQLite commits it, durably, before the statement returns.
    """
    inserted: dict[str, int] = {}
    if len(inserts) == 1:
        sql, params = inserts[0]
        return {str(dedup): int(row_id) for row_id, dedup in conn.execute(sql, params).fetchall()}
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, params in inserts:
            rows = conn.execute(sql, params).fetchall()
            inserted |= {str(dedup): int(row_id) for row_id, dedup in rows}
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return inserted


class SqliteEventStore(EventStore):
    """A committed event survives power loss; the store is the only writer on its connection.

    ``writer_turn`` is held while a batch is written; SQLite has one writer per database file,
    so another writer of this process (the alarm desk) holds it too and the two take turns at
    once, instead of meeting SQLite's busy handler (which sleeps 1 ms and more).
    """

    def __init__(self, path: Path, clock: Clock = utcnow) -> None:
        super().__init__(clock)
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self.writer_turn = asyncio.Lock()

    async def __aenter__(self) -> SqliteEventStore:
        self._db = await open_durable(self.path, [EVENTS_SCHEMA])  # autocommit
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("EventStore used outside its async context")
        return self._db

    async def add_many(self, events: Sequence[NewEvent]) -> list[Result]:
        received = self.clock().isoformat()
        inserts: list[Insert] = []
        dedups: list[str] = []
        for chunk in batches(events):
            params: list[object] = []
            for event in chunk:
                row = event.values(received)
                params += row
                dedups.append(str(row[-1]))  # the dedup column comes last
            inserts.append((insert_sql(len(chunk)), params))
        db = self.db
        async with self.writer_turn:
            # aiosqlite runs each call on the connection's own thread; one call, one hop
            inserted: dict[str, int] = await db._execute(  # type: ignore[no-untyped-call]
                _commit_batch, db._conn, inserts
            )
        for event_id in sorted(inserted.values()):
            self.notify_added(event_id)
        if len(inserted) == len(events):
            return [(inserted[d], False) for d in dedups]
        missing = sorted({d for d in dedups if d not in inserted})
        earlier: dict[str, int] = {}
        if missing:
            marks = ",".join("?" * len(missing))
            rows = await self._rows(f"SELECT dedup, id FROM events WHERE dedup IN ({marks})", missing)  # noqa: S608
            earlier = {str(d): int(i) for d, i in rows}
        return outcomes(dedups, inserted, earlier)

    async def _rows(self, query: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.db.execute(query, tuple(args)) as cur:
            return [tuple(r) for r in await cur.fetchall()]
