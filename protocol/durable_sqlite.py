"""SQLite the way the alarm path uses it: explicit write transactions that commit whole or not at
all, with a rollback that never replaces the error that caused it.

Used by the agent's outbox (on a thread of its own, ``protocol/sqlite_worker.py``) and the
receiver's event store and console tables (``sqlite3`` on the loop's thread, and aiosqlite).
SQLite rolls a transaction back by itself on some errors (a full disk, an I/O error,
SQLITE_BUSY in the middle of one): a plain ``ROLLBACK`` then fails with "no transaction is
active" and that error would be raised instead of the real one. Each helper costs what the
hand-written form did (one generator frame per transaction).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

import aiosqlite

__all__ = ["immediate", "immediate_async", "require"]

T = TypeVar("T")


def require(resource: T | None, owner: str) -> T:
    """``resource`` (a connection), or a RuntimeError saying ``owner`` is not open."""
    if resource is None:
        raise RuntimeError(f"{owner} used outside its async context")
    return resource


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` .. ``COMMIT`` on an autocommit connection (the caller's thread); a
    failed COMMIT (busy, disk full) is rolled back too, so the connection is never left inside
    a transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
            conn.execute("ROLLBACK")
        raise


@contextlib.asynccontextmanager
async def immediate_async(conn: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """The same on an aiosqlite connection."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        await conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
            await conn.execute("ROLLBACK")
        raise
