"""The console's tables (alarms, users, audit, evidence) behind one small interface.

Queries are written once, with ``?`` placeholders and SQL that SQLite and PostgreSQL both
understand; each back end runs them. SQLite (this module): a second connection next to the
event store's gives the console real transactions, while the DC-09 handler keeps committing
events on its own connection (WAL allows both). PostgreSQL: ``receiver/pg_db.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from protocol.durable_sqlite import immediate_async, require
from receiver.sqlite_file import open_durable, writer_turn

__all__ = ["Database", "SqliteDatabase", "Tx"]

Row = tuple[Any, ...]


class Tx(Protocol):
    """One open transaction: its statements see each other and commit together."""

    async def execute(self, query: str, args: Iterable[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""
        ...

    async def one(self, query: str, args: Iterable[Any] = ()) -> Row | None: ...

    async def all(self, query: str, args: Iterable[Any] = ()) -> list[Row]: ...


class Database(ABC):
    """``async with db``; ``async with db.transaction() as tx`` for writes (one writer at a
    time, across every receiver process on the database); ``one``/``all`` for reads, which
    inside a transaction of the same task see its uncommitted rows."""

    @abstractmethod
    async def __aenter__(self) -> Database: ...

    @abstractmethod
    async def __aexit__(self, *exc: object) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...

    @abstractmethod
    async def all(self, query: str, args: Iterable[Any] = ()) -> list[Row]: ...

    @abstractmethod
    async def one(self, query: str, args: Iterable[Any] = ()) -> Row | None: ...


class _SqliteTx:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def execute(self, query: str, args: Iterable[Any] = ()) -> int:
        cursor = await self.conn.execute(query, tuple(args))
        return cursor.rowcount

    # A query runs and is read to its end in one call on the connection's thread: a cursor left
    # open between two calls keeps a read snapshot open on the connection that every task shares,
    # and a write transaction begun meanwhile (the alarm desk's) then fails at once with "database
    # is locked" (SQLITE_BUSY_SNAPSHOT: no busy wait helps) as soon as the event store commits.
    # Under 2,000 frames/s with a console open, one desk pass in a few failed so, and its alarms
    # waited for the next tick (bench/e2e_latency.py).
    async def one(self, query: str, args: Iterable[Any] = ()) -> Row | None:
        rows = await self.conn.execute_fetchall(query, tuple(args))
        return tuple(next(iter(rows))) if rows else None

    async def all(self, query: str, args: Iterable[Any] = ()) -> list[Row]:
        return [tuple(r) for r in await self.conn.execute_fetchall(query, tuple(args))]


class SqliteDatabase(Database):
    """One connection in autocommit mode; ``BEGIN IMMEDIATE`` makes each transaction the writer,
    after it took the file's writer turn (``receiver.sqlite_file.writer_turn``)."""

    def __init__(self, path: Path, schema: Iterable[str] = ()) -> None:
        self.path = path
        self.schema = list(schema)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        # A read outside a transaction keeps its statement (and so an old snapshot) open across
        # an await between execute and fetch; a BEGIN IMMEDIATE of another task on the same
        # connection meanwhile would fail at once with "database is locked" (SQLITE_BUSY_SNAPSHOT:
        # the busy timeout does not apply) whenever the event store committed in between.
        self._reads = asyncio.Lock()

    async def __aenter__(self) -> SqliteDatabase:
        self._db = await open_durable(self.path, self.schema, timeout=10)
        self._lock = writer_turn(self.path)  # shared with the event store on this file
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def conn(self) -> aiosqlite.Connection:
        return require(self._db, "Database")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One writer at a time; everything inside commits together or not at all."""
        async with self._lock:
            # BEGIN under the reads' lock: no read statement of another task is open across it
            await self._reads.acquire()
            begun = False
            try:
                async with immediate_async(self.conn) as conn:
                    self._reads.release()
                    begun = True
                    yield _SqliteTx(conn)
            finally:
                if not begun:
                    self._reads.release()

    async def all(self, query: str, args: Iterable[Any] = ()) -> list[Row]:
        async with self._reads:
            return await _SqliteTx(self.conn).all(query, args)

    async def one(self, query: str, args: Iterable[Any] = ()) -> Row | None:
        async with self._reads:
            return await _SqliteTx(self.conn).one(query, args)
