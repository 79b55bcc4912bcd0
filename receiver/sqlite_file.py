"""How the receiver opens its SQLite file: WAL, fsync on every commit, schema in place, 0600."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aiosqlite

__all__ = ["open_durable"]


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
