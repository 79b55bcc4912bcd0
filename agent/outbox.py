"""The agent's durable outbox (SQLite, WAL).

A panel step commits its new state, its reports for the alarm centre, the id of the device
event that caused it and its lines of the local event log in ONE transaction, with
``synchronous=FULL`` (fsync before it returns), before anything else happens; a report leaves
only on the receiver's ACK. Urgent reports (panic, hold-up, duress) go before anything queued.

The transmitter's bookkeeping (sequence numbers, removal after ACK, attempts) commits with
``synchronous=NORMAL``: still atomic and ordered (WAL), made durable by the next FULL commit.
Power lost before that only replays a report with the same sequence and body, which the
receiver stores once, so the alarm path costs one fsync per step instead of four.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from agent import hops, lane
from agent.eventlog import EventLog
from agent.panel.actions import Report
from protocol.codes import EventKind
from protocol.durable_sqlite import immediate, require
from protocol.sqlite_worker import SqliteWorker

T = TypeVar("T")
log = logging.getLogger(__name__)
AT_ONCE_WAIT = 1.0  # seconds the alarm lane waits (blocking) for the commits queued before its own

__all__ = ["Outbox", "OutboxItem"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    urgent INTEGER NOT NULL,
    kind TEXT NOT NULL,
    number INTEGER NOT NULL,
    restore INTEGER NOT NULL,
    user INTEGER,
    device TEXT,
    text TEXT NOT NULL,
    extended TEXT NOT NULL DEFAULT '[]',
    sequence INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (urgent, id);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY, created_at TEXT, kind TEXT, number INTEGER, reason TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (
    device TEXT NOT NULL, event_id TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (device, event_id)
);
"""

_QUEUE = ("INSERT INTO outbox (created_at, urgent, kind, number, restore, user, device, text, extended,"
          " sequence) VALUES (?,?,?,?,?,?,?,?,?,?)")


_SET_META = ("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value ="
             " excluded.value")


def _numbers(db: sqlite3.Connection, count: int, floor: int) -> list[int]:
    """``count`` DC-09 sequences in a row (0001-9999, wrapping) after the last one handed out
    (or ``floor``, the last sent from memory); in the caller's transaction."""
    if not count:
        return []
    row = db.execute("SELECT value FROM meta WHERE key = 'sequence'").fetchone()
    last = max(int(row[0]) if row else 0, floor)
    numbers = [(last + i) % 9999 + 1 for i in range(count)]
    db.execute(_SET_META, ("sequence", str(numbers[-1])))
    return numbers


def _row(r: Report, now: str) -> tuple[object, ...]:
    return (now, int(r.urgent), r.kind.value, r.number, int(r.restore), r.user, r.device, r.text,
            json.dumps(r.extended))


_URGENCY = {None: (0, 1), True: (1, 1), False: (0, 0)}  # Outbox.next(urgent=): urgent between
SEEN_KEEP = 5000  # device event ids remembered for de-duplication (the newest)
SEEN_PRUNE_EVERY = 500  # marks between two prunings of the older ones
_PRUNE_SEEN = "DELETE FROM seen WHERE rowid <= (SELECT MAX(rowid) FROM seen) - ?"


# Report kinds of the version before the panel used protocol.codes.EventKind, as rows may still
# hold them: (old kind) -> (kind, restore or None to keep the row's)
_RENAMED = {
    "supervision": ("supervision_lost", None), "battery_low": ("low_battery", None),
    "arm_remote": ("remote_arm", None), "disarm_remote": ("remote_disarm", None),
    "arm_stay": ("stay_arm", None), "code_tamper": ("user_code_tamper", None),
    "masking": ("camera_masked", None), "unbypass": ("bypass", 1),
}


@dataclass(frozen=True)
class OutboxItem:
    id: int
    created_at: datetime
    report: Report
    sequence: int | None
    attempts: int


class Outbox:
    """Owner of the agent's SQLite file: one connection on a thread of its own (``SqliteWorker``).

    Every operation is one piece of work on that thread (a statement with its rows, or a whole
    transaction), run in the order it was queued, so no lock guards the connection. The panel
    shell queues a step's commit (``commit_step``) with no ``await`` after the step: commits
    keep the order of the steps, and the alarm lane's press is stepped while the commit before
    it is still syncing, then waits only for the commits queued ahead of its own.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: SqliteWorker | None = None
        self._gone: set[int] = set()  # ACKed, but the disk would not let us delete them
        self.sequence_floor = 0  # the last sequence sent from memory (disk full): never reused
        self.log = EventLog()
        self._marks = 0  # seen marks since the last pruning (on the outbox's thread)

    async def __aenter__(self) -> Outbox:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await SqliteWorker(self.path, "outbox-sqlite").__aenter__()

        def prepare(db: sqlite3.Connection) -> None:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            EventLog.create(db)
            with immediate(db):  # reports queued by the previous version keep their meaning
                for old, (new, restore) in _RENAMED.items():
                    db.execute("UPDATE outbox SET kind = ?, restore = COALESCE(?, restore) WHERE kind = ?",
                               (new, restore, old))

        try:
            await self._db.submit(prepare)
        except BaseException:
            await self.__aexit__()
            raise
        self.path.chmod(0o600)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._db is not None:
            await self._db.__aexit__()
            self._db = None

    @property
    def db(self) -> SqliteWorker:
        return require(self._db, "Outbox")

    def _one(self, sql: str, args: tuple[object, ...] = ()) -> Awaitable[tuple[object, ...] | None]:
        return self.db.submit(lambda db: db.execute(sql, args).fetchone())

    def _write(self, sql: str, args: tuple[object, ...] = ()) -> Awaitable[None]:
        def write(db: sqlite3.Connection) -> None:
            db.execute(sql, args)

        return self.db.submit(write)

    def commit_step(
        self,
        reports: list[Report],
        *,
        panel_state: str | None = None,
        also_seen: Sequence[tuple[str, str]] = (),
        log: Sequence[tuple[str, str]] = (),
        at: datetime | None = None,
        at_once: bool = False,
    ) -> Awaitable[list[OutboxItem]]:
        """Queue, now, the commit of one step (or several); await the result for it to be done.

        The commit atomically queues ``reports``, stores the panel state, marks device events as
        seen and appends the step's ``log`` lines (kind, text) to the event log, stamped ``at``,
        with an fsync before the returned future is done.
        ``at_once`` (the alarm lane): committed before this returns, on the caller's thread,
        after the commits queued before it (``SqliteWorker.run_here``).

        Every report gets its DC-09 sequence here, in the same transaction (one read and one
        write of the counter for all of them), so the transmitter need not write before it
        sends. The future gives the urgent reports, numbered, so that the alarm lane sends them
        at once without reading them back; the others are queued with one statement."""
        created = datetime.now(UTC)
        now = created.isoformat()
        stamp = at or created
        in_lane = lane.active()  # the context does not reach SQLite's thread

        def write(db: sqlite3.Connection) -> list[OutboxItem]:  # on the connection's thread
            urgent: list[OutboxItem] = []
            with _durable(db), immediate(db):
                if in_lane:
                    hops.mark("writing")
                numbers = _numbers(db, len(reports), self.sequence_floor)
                for r, sequence in zip(reports, numbers, strict=True):
                    if r.urgent:
                        cur = db.execute(_QUEUE, (*_row(r, now), sequence))
                        urgent.append(OutboxItem(int(cur.lastrowid or 0), created, r, sequence, 0))
                if rest := [(*_row(r, now), n) for r, n in zip(reports, numbers, strict=True)
                            if not r.urgent]:
                    db.executemany(_QUEUE, rest)
                if panel_state is not None:
                    db.execute(_SET_META, ("panel_state", panel_state))
                if also_seen:
                    db.executemany("INSERT OR IGNORE INTO seen (device, event_id, at) VALUES (?,?,?)",
                                   [(*mark, now) for mark in also_seen])
                    self._marks += len(also_seen)
                    if self._marks >= SEEN_PRUNE_EVERY:  # now and then, not on every step
                        self._marks = 0
                        db.execute(_PRUNE_SEEN, (SEEN_KEEP,))
                self.log.insert(db, stamp, log)
            return urgent

        return self._run(write, at_once)

    def seen_of(self, keys: Sequence[tuple[str, str]], *,
                at_once: bool = False) -> Awaitable[set[tuple[str, str]]]:
        """Which of these device events were committed before: one statement for all of them
        (``at_once``: read before this returns, as ``commit_step``)."""
        arg = json.dumps([list(k) for k in keys])

        def read(db: sqlite3.Connection) -> set[tuple[str, str]]:
            rows = db.execute(
                "SELECT s.device, s.event_id FROM seen s JOIN json_each(?) k"
                " ON s.device = json_extract(k.value, '$[0]') AND s.event_id = json_extract(k.value, '$[1]')",
                (arg,)).fetchall()
            return {(str(r[0]), str(r[1])) for r in rows}

        return self._run(read, at_once)

    def _run(self, work: Callable[[sqlite3.Connection], T], at_once: bool) -> Awaitable[T]:
        """Queued on the outbox's thread; ``at_once``: run on this thread before returning (a
        done future), unless the work queued before it takes over ``AT_ONCE_WAIT``."""
        if not at_once:
            return self.db.submit(work)
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        try:
            done.set_result(self.db.run_here(work, AT_ONCE_WAIT))
        except TimeoutError:
            log.warning("outbox busy for over %.1f s: the alarm lane queues its work", AT_ONCE_WAIT)
            return self.db.submit(work)
        except Exception as exc:  # noqa: BLE001 - the caller's await raises it, as when queued
            done.set_exception(exc)
        return done

    def forget(self, item_id: int) -> None:
        """The report left (ACK/DUH) but its row could not be deleted: skip it from now on."""
        self._gone.add(item_id)

    async def next(self, *, urgent: bool | None = None) -> OutboxItem | None:
        """The report to send now: urgent first, then oldest first (``urgent``: of that kind only)."""
        if self._gone:
            await self._retry_forgotten()
        row = await self._one(
            "SELECT id, created_at, urgent, kind, number, restore, user, device, text, extended,"
            " sequence, attempts FROM outbox WHERE urgent BETWEEN ? AND ?"
            " AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY urgent DESC, id ASC LIMIT 1",
            (*_URGENCY[urgent], json.dumps(sorted(self._gone))),
        )
        if row is None:
            return None
        report = Report(
            kind=EventKind(str(row[3])), number=int(str(row[4])), restore=bool(row[5]),
            user=None if row[6] is None else int(str(row[6])),
            device=None if row[7] is None else str(row[7]), text=str(row[8]), urgent=bool(row[2]),
            extended=tuple((str(i), str(v)) for i, v in json.loads(str(row[9]))),
        )
        sequence = None if row[10] is None else int(str(row[10]))
        return OutboxItem(int(str(row[0])), datetime.fromisoformat(str(row[1])), report, sequence,
                          int(str(row[11])))

    async def _retry_forgotten(self) -> None:
        with contextlib.suppress(sqlite3.Error, OSError):
            for item_id in sorted(self._gone):
                await self._write("DELETE FROM outbox WHERE id = ?", (item_id,))
                self._gone.discard(item_id)

    async def pending(self) -> int:
        row = await self._one(
            "SELECT COUNT(*) FROM outbox WHERE id NOT IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(self._gone)),),
        )
        return int(str(row[0])) if row else 0

    async def assign_sequence(self, item_id: int | None, floor: int = 0) -> int:
        """Give a report its DC-09 sequence (0001-9999, wrapping to 0001) once, durably.

        ``floor`` is the last sequence the transmitter used (also for reports sent directly
        while the disk was full), so no number is handed out twice in a row.
        """
        def assign(db: sqlite3.Connection) -> int:
            with immediate(db):
                (seq,) = _numbers(db, 1, floor)
                if item_id is not None:
                    db.execute("UPDATE outbox SET sequence = ? WHERE id = ?", (seq, item_id))
            return seq

        return await self.db.submit(assign)

    async def attempted(self, item_id: int) -> None:
        await self._write("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (item_id,))

    async def remove(self, item_id: int) -> None:
        """The receiver ACKed: the report has left the home."""
        await self._write("DELETE FROM outbox WHERE id = ?", (item_id,))

    async def reject(self, item: OutboxItem, reason: str) -> None:
        """The receiver answered DUH: keep a record, never resend."""
        def record(db: sqlite3.Connection) -> None:
            with _durable(db), immediate(db):
                db.execute(
                    "INSERT INTO rejected (id, created_at, kind, number, reason) VALUES (?,?,?,?,?)",
                    (item.id, item.created_at.isoformat(), item.report.kind.value, item.report.number,
                     reason),
                )
                db.execute("DELETE FROM outbox WHERE id = ?", (item.id,))

        await self.db.submit(record)

    async def get_meta(self, key: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def set_meta(self, key: str, value: str) -> None:
        await self._write(_SET_META, (key, value))

    async def rows(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Every row of a query (for inspection: tests, the installer's tools)."""
        return await self.db.submit(lambda db: [tuple(r) for r in db.execute(sql, args).fetchall()])


@contextlib.contextmanager
def _durable(db: sqlite3.Connection) -> Iterator[None]:
    """The transaction inside fsyncs at COMMIT (synchronous=FULL), then back to NORMAL."""
    db.execute("PRAGMA synchronous=FULL")
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            db.execute("PRAGMA synchronous=NORMAL")
