"""The event store on SQLite (the default): one connection, WAL, ``synchronous=FULL``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from receiver.store import (
    EVENTS_SCHEMA,
    Clock,
    EventStore,
    NewEvent,
    Result,
    batches,
    insert_sql,
    utcnow,
)

__all__ = ["SqliteEventStore"]


class SqliteEventStore(EventStore):
    """A committed event survives power loss; the store is the only writer on its connection."""

    def __init__(self, path: Path, clock: Clock = utcnow) -> None:
        super().__init__(clock)
        self.path = path
        self._db: aiosqlite.Connection | None = None

    async def __aenter__(self) -> SqliteEventStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=FULL")
        await self._db.executescript(EVENTS_SCHEMA)
        await self._db.commit()
        self.path.chmod(0o600)
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
        inserted: dict[str, int] = {}
        try:
            for chunk in batches(events):
                params = [v for event in chunk for v in event.values(received)]
                rows = await self.db.execute_fetchall(insert_sql(len(chunk)), params)
                inserted |= {str(dedup): int(row_id) for row_id, dedup in rows}
            await self.db.commit()
        except BaseException:
            await self.db.rollback()
            raise
        for event_id in sorted(inserted.values()):
            self.notify_added(event_id)
        return await self.outcomes(events, inserted)

    async def _rows(self, query: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.db.execute(query, tuple(args)) as cur:
            return [tuple(r) for r in await cur.fetchall()]
