"""How the receiver opens its SQLite file: WAL, fsync on every commit, schema in place, 0600."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aiosqlite

__all__ = ["DurableFile", "open_durable"]


async def open_durable(path: Path, scripts: Sequence[str], *, timeout: float = 5.0) -> aiosqlite.Connection:
    """An autocommit connection (transactions are explicit) that survives power loss."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(path, timeout=timeout, isolation_level=None)
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")
    for script in scripts:
        await db.executescript(script)
    path.chmod(0o600)
    return db


class DurableFile:
    """The one connection of an owner that is used as an async context (store, database)."""

    def __init__(self, path: Path, scripts: Sequence[str], *, owner: str, timeout: float = 5.0) -> None:
        self.path, self.scripts, self.owner, self.timeout = path, list(scripts), owner, timeout
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self._db = await open_durable(self.path, self.scripts, timeout=self.timeout)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError(f"{self.owner} used outside its async context")
        return self._db
