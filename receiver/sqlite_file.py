"""How the receiver opens its SQLite file: WAL, fsync on every commit, schema in place, 0600.

SQLite has one writer per file. Every writer of this process on a file (the event store, which
commits on the event loop's thread, and the console's tables, in transactions that span awaits)
first takes that file's ``writer_turn``: they take turns in the event loop, and the store's
commit never meets a lock held by a transaction that waits for the loop it is blocking.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Sequence
from pathlib import Path

import aiosqlite

__all__ = ["open_durable", "open_writer", "writer_turn"]

_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def writer_turn(path: Path) -> asyncio.Lock:
    """The lock every writer of this event loop takes before writing to the file at ``path``."""
    turns = _TURNS.setdefault(asyncio.get_running_loop(), {})
    return turns.setdefault(str(path.resolve()), asyncio.Lock())


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


def open_writer(path: Path, *, timeout: float = 2.0) -> sqlite3.Connection:
    """A plain autocommit connection for the event loop's own thread, fsync on every commit.

    Open it after ``open_durable`` (which sets WAL, a property of the file, and the schema).
    ``timeout`` bounds how long a commit waits for a writer of another process.
    """
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    conn.execute("PRAGMA synchronous=FULL")
    return conn
