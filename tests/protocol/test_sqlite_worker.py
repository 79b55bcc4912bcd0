"""The outbox's SQLite thread: work runs in the order it was queued, on its own thread, and a
failure reaches the one who queued it and nobody else."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from protocol.durable_sqlite import immediate
from protocol.sqlite_worker import SqliteWorker


async def test_work_runs_in_the_order_it_was_queued_on_a_thread_of_its_own(tmp_path: Path) -> None:
    async with SqliteWorker(tmp_path / "w.db", "test-sqlite") as db:
        await db.submit(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))
        gate = threading.Event()

        def first(c: sqlite3.Connection) -> int:
            gate.wait(10)  # holds the thread: everything below is queued while it waits
            c.execute("INSERT INTO t VALUES (0)")
            return threading.get_ident()

        # queued synchronously, with no await between them: the order of the calls is the order
        futures = [db.submit(first)]
        futures += [db.submit(lambda c, n=n: c.execute("INSERT INTO t VALUES (?)", (n,)).rowcount)
                    for n in range(1, 50)]
        gate.set()
        results = await asyncio.gather(*futures)
        assert results[0] != threading.get_ident()
        rows = await db.submit(lambda c: [r[0] for r in c.execute("SELECT n FROM t ORDER BY rowid")])
        assert rows == list(range(50))


async def test_a_failed_transaction_raises_its_own_error_and_changes_nothing(tmp_path: Path) -> None:
    async with SqliteWorker(tmp_path / "w.db", "test-sqlite") as db:
        await db.submit(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))

        def fails(c: sqlite3.Connection) -> None:
            with immediate(c):
                c.execute("INSERT INTO t VALUES (1)")
                c.execute("INSERT INTO nowhere VALUES (2)")

        bad, good = db.submit(fails), db.submit(lambda c: c.execute("INSERT INTO t VALUES (3)").rowcount)
        with pytest.raises(sqlite3.OperationalError, match="no such table: nowhere"):
            await bad
        assert await good == 1  # the next piece of work is not affected
        assert await db.submit(lambda c: c.execute("SELECT n FROM t").fetchall()) == [(3,)]


async def test_work_of_a_cancelled_waiter_still_runs(tmp_path: Path) -> None:
    """A cancelled commit still commits: the panel's state in memory already has it."""
    async with SqliteWorker(tmp_path / "w.db", "test-sqlite") as db:
        await db.submit(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))
        gate = threading.Event()
        blocker = db.submit(lambda c: gate.wait(10))
        waiter = db.submit(lambda c: c.execute("INSERT INTO t VALUES (7)").rowcount)
        waiter.cancel()  # queued behind the blocker: its awaiting task gave up
        gate.set()
        assert await blocker is True
        assert await db.submit(lambda c: c.execute("SELECT n FROM t").fetchall()) == [(7,)]
        assert waiter.cancelled()


async def test_closing_waits_for_queued_work_and_then_refuses_more(tmp_path: Path) -> None:
    db = await SqliteWorker(tmp_path / "w.db", "test-sqlite").__aenter__()
    await db.submit(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))
    pending = [db.submit(lambda c, n=n: c.execute("INSERT INTO t VALUES (?)", (n,)).rowcount)
               for n in range(20)]
    await db.__aexit__()
    assert [p.result() for p in pending] == [1] * 20
    with pytest.raises(RuntimeError, match="test-sqlite: the database is not open"):
        db.submit(lambda c: None)
    check = sqlite3.connect(tmp_path / "w.db")
    assert check.execute("SELECT COUNT(*) FROM t").fetchone() == (20,)
    check.close()


async def test_a_file_that_cannot_be_opened_is_refused_at_the_start(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        async with SqliteWorker(tmp_path / "missing" / "w.db", "test-sqlite"):
            pass
