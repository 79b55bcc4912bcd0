"""The console's own SQLite connection (alarms, users, audit) next to the event store's.

A second connection gives the console real transactions: a take or a close commits whole,
while the DC-09 handler keeps committing events on its own connection (WAL allows both).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

__all__ = ["Database"]


class Database:
    """``async with Database(path)``; ``async with db.transaction() as tx`` for writes."""

    def __init__(self, path: Path, schema: Iterable[str] = ()) -> None:
        self.path = path
        self.schema = list(schema)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Database:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, timeout=10, isolation_level=None)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=FULL")
        for script in self.schema:
            await self._db.executescript(script)
        self.path.chmod(0o600)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("Database used outside its async context")
        return self._db

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One writer at a time; everything inside commits together or not at all."""
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def all(self, query: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.conn.execute(query, tuple(args)) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    async def one(self, query: str, args: Iterable[Any] = ()) -> tuple[Any, ...] | None:
        async with self.conn.execute(query, tuple(args)) as cur:
            row = await cur.fetchone()
        return tuple(row) if row is not None else None
