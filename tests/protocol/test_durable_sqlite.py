"""One write-transaction helper for every SQLite file: a full disk is reported as a full disk.

SQLite rolls a transaction back by itself when the disk is full; an unguarded ROLLBACK then
fails with "no transaction is active" and hides the real error. A database capped at a few
pages (``max_page_count``) is full after a few inserts, on any machine and without root.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from agent.outbox import Outbox
from agent.panel import Report
from protocol.codes import EventKind
from protocol.durable_sqlite import immediate, immediate_async, require
from receiver.db import SqliteDatabase
from receiver.sqlite_store import SqliteEventStore
from receiver.store import NewEvent

BIG = b"x" * 4000


def _capped(conn: sqlite3.Connection) -> None:
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count={pages + 1}")


def test_sync_the_full_disk_is_the_error_and_the_connection_stays_usable(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    conn.execute("CREATE TABLE t (x BLOB)")
    _capped(conn)
    with pytest.raises(sqlite3.OperationalError, match="full"), immediate(conn):
        for _ in range(10):
            conn.execute("INSERT INTO t VALUES (?)", (BIG,))
    assert not conn.in_transaction
    with immediate(conn):  # the next transaction starts cleanly
        conn.execute("DELETE FROM t")


async def test_async_the_full_disk_is_the_error(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "x.db", isolation_level=None) as conn:
        await conn.execute("CREATE TABLE t (x BLOB)")
        async with conn.execute("PRAGMA page_count") as cur:
            (pages,) = await cur.fetchone()  # type: ignore[misc]
        await conn.execute(f"PRAGMA max_page_count={pages + 1}")
        with pytest.raises(sqlite3.OperationalError, match="full"):
            async with immediate_async(conn):
                for _ in range(10):
                    await conn.execute("INSERT INTO t VALUES (?)", (BIG,))
        assert not conn.in_transaction


async def test_the_console_tables_report_a_full_disk(tmp_path: Path) -> None:
    async with SqliteDatabase(tmp_path / "r.db", ["CREATE TABLE IF NOT EXISTS t (x BLOB)"]) as db:
        async with db.conn.execute("PRAGMA page_count") as cur:
            (pages,) = await cur.fetchone()  # type: ignore[misc]
        await db.conn.execute(f"PRAGMA max_page_count={pages + 1}")
        with pytest.raises(sqlite3.OperationalError, match="full"):
            async with db.transaction() as tx:
                for _ in range(10):
                    await tx.execute("INSERT INTO t VALUES (?)", (BIG,))


async def test_the_event_store_reports_a_full_disk(tmp_path: Path) -> None:
    async with SqliteEventStore(tmp_path / "r.db") as store:
        assert store._writer is not None
        _capped(store._writer)
        events = [NewEvent(site="demo-home", account="0471", sequence=n, token="SIA-DCS",
                           data="x" * 1500) for n in range(1, 20)]
        with pytest.raises(sqlite3.OperationalError, match="full"):
            await store.add_many(events)


async def test_the_outbox_reports_a_full_disk(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "agent.db") as outbox:
        [(pages,)] = await outbox.rows("PRAGMA page_count")
        await outbox.rows(f"PRAGMA max_page_count={pages + 1}")
        with pytest.raises(sqlite3.OperationalError, match="full"):
            await outbox.commit_step([Report(EventKind.TAMPER, n, text="x" * 1500) for n in range(20)],
                                     panel_state="armed_away", also_seen=[("panic-hall", "e1")],
                                     log=[("input", "panic-hall: press")])
        # nothing of the step is kept: no report, no state, no mark, no log line, no sequence
        await outbox.rows("PRAGMA max_page_count=100000")
        assert await outbox.pending() == 0
        assert await outbox.get_meta("panel_state") is None
        assert await outbox.get_meta("sequence") is None
        assert not await outbox.seen_of([("panic-hall", "e1")])
        assert await outbox.rows("SELECT COUNT(*) FROM event_log") == [(0,)]
        # and the next step is whole
        await outbox.commit_step([Report(EventKind.PANIC, 2, urgent=True)], also_seen=[("panic-hall", "e2")])
        assert await outbox.get_meta("sequence") == "1"
        assert await outbox.seen_of([("panic-hall", "e2")]) == {("panic-hall", "e2")}


def test_outside_its_context_says_which() -> None:
    with pytest.raises(RuntimeError, match="Outbox used outside its async context"):
        require(None, "Outbox")
    assert require(3, "x") == 3
