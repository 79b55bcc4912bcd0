"""The alarm centre's event store: one interface, two back ends (SQLite in ``sqlite_store``,
PostgreSQL in ``pg_store``). An event is ACKed only after ``add`` returns: it is committed.

De-duplication: a retransmission (the same account, sequence and content, also when it comes
through another receiver process on the same database) received within ``DEDUP_WINDOW`` of
the copy before it, with fewer than ``REUSED_AFTER`` of its site's events stored since, is
stored once, and ``add`` returns that copy's id. Both bounds matter: a transmitter's sequence
wraps after 9999 messages, so the same content under the same sequence number (a daily test, a
second panic from the same button) is a new event once the sequence has come round, and must
never be dropped as a duplicate: a long time later, or soon after at a busy site (a home
sending 500 reports a second wraps in 20 s; the e2e bench found panics dropped that way).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Self, TypeVar

__all__ = [
    "COLUMNS",
    "DEDUP_WINDOW",
    "EVENTS_INDEXES",
    "EVENTS_SCHEMA",
    "EVENTS_TABLE",
    "MAX_BATCH",
    "REUSED_AFTER",
    "Clock",
    "EventStore",
    "NewEvent",
    "StoredEvent",
    "stored_event",
    "utcnow",
]

Clock = Callable[[], datetime]
T = TypeVar("T")
#: A copy received this long after the first is a new event (retransmissions come within
#: minutes; a sequence number comes round again after 9999 messages: weeks, usually months).
DEDUP_WINDOW = timedelta(hours=24)
#: a copy with this many of its site's events stored after it is a new event: a sequence is used
#: again only after the 9,998 others, a retransmission has a few (those sent while it waited)
REUSED_AFTER = 5000
Result = tuple[int, bool]  # (event id, duplicate)
MAX_BATCH = 500  # rows per INSERT: 15 parameters each stays far below both back ends' limits


def utcnow() -> datetime:
    return datetime.now(UTC)


# Events are never deleted, so a plain rowid only grows: AUTOINCREMENT would add a page write
# (sqlite_sequence) to every commit for nothing. Every index costs a page write per commit too:
# sites' histories and code searches have one; time ranges are searched within a site.
EVENTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    account TEXT NOT NULL,
    received_at TEXT NOT NULL,
    sent_at TEXT,
    sequence INTEGER NOT NULL,
    token TEXT NOT NULL,
    code TEXT,
    zone TEXT,
    cid TEXT,
    data TEXT NOT NULL,
    extended TEXT NOT NULL,
    encrypted INTEGER NOT NULL,
    transport TEXT NOT NULL,
    peer TEXT NOT NULL,
    dedup TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_site ON events(site, id);
CREATE INDEX IF NOT EXISTS events_code ON events(code, id);
"""

#: EVENTS_SCHEMA's table and its indexes, one statement each (sqlite_store.migrate rebuilds them)
EVENTS_TABLE, *EVENTS_INDEXES = [part.strip() for part in EVENTS_SCHEMA.split(";") if part.strip()]

INSERT_COLUMNS = (
    "site, account, received_at, sent_at, sequence, token, code, zone, cid, data, extended,"
    " encrypted, transport, peer, dedup"
)


@dataclass(frozen=True)
class NewEvent:
    site: str
    account: str
    sequence: int
    token: str
    data: str
    code: str | None = None
    zone: str | None = None
    cid: str | None = None
    extended: tuple[tuple[str, str], ...] = ()
    sent_at: datetime | None = None
    encrypted: bool = False
    transport: str = "tcp"
    peer: str = ""

    def dedup_key(self) -> str:
        """(account, sequence, body): a retransmission is ACKed again but stored once."""
        body = json.dumps([self.account.upper(), self.sequence, self.token, self.data, self.extended])
        return hashlib.sha256(body.encode()).hexdigest()

    def values(self, received: str) -> tuple[object, ...]:
        """The row for ``INSERT_COLUMNS``."""
        sent = self.sent_at.isoformat() if self.sent_at is not None else None
        return (
            self.site, self.account, received, sent, self.sequence, self.token, self.code, self.zone,
            self.cid, self.data, json.dumps(self.extended) if self.extended else "[]",
            int(self.encrypted), self.transport, self.peer, self.dedup_key(),
        )


@dataclass(frozen=True)
class StoredEvent:
    id: int
    site: str
    account: str
    received_at: datetime
    sent_at: datetime | None
    sequence: int
    token: str
    code: str | None
    zone: str | None
    cid: str | None
    data: str
    extended: list[dict[str, str]]
    encrypted: bool
    transport: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "account": self.account,
            "received_at": self.received_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "sequence": self.sequence,
            "token": self.token,
            "code": self.code,
            "zone": self.zone,
            "cid": self.cid,
            "data": self.data,
            "extended": self.extended,
            "encrypted": self.encrypted,
            "transport": self.transport,
        }


COLUMNS = (
    "id, site, account, received_at, sent_at, sequence, token, code, zone, cid, data, "
    "extended, encrypted, transport"
)


def stored_event(row: Sequence[Any]) -> StoredEvent:
    return StoredEvent(
        id=row[0],
        site=row[1],
        account=row[2],
        received_at=datetime.fromisoformat(row[3]),
        sent_at=datetime.fromisoformat(row[4]) if row[4] else None,
        sequence=row[5],
        token=row[6],
        code=row[7],
        zone=row[8],
        cid=row[9],
        data=row[10],
        extended=[{"id": i, "value": v} for i, v in json.loads(row[11])],
        encrypted=bool(row[12]),
        transport=row[13],
    )


def outcomes(dedups: Sequence[str], inserted: dict[str, int], earlier: dict[str, int]) -> list[Result]:
    """(id, duplicate) per event of a batch; the first of equal events in a batch is the new one."""
    fresh, results = set(inserted), []
    for dedup in dedups:
        if dedup in fresh:
            fresh.discard(dedup)
            results.append((inserted[dedup], False))
        else:
            results.append((inserted.get(dedup) or earlier.get(dedup, 0), True))
    return results


class EventStore(ABC):
    """The interface both back ends share; queries are written once, with ``?`` placeholders."""

    _contains = "instr"  # SQL function: position of a substring, 0 when absent

    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock
        self._listeners: list[Callable[[int], None]] = []

    def on_added(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(event_id)`` after each new (not duplicate) event is committed. On
        PostgreSQL, commits of other processes are announced too: with the newest id of each
        commit, or 0 when some may have been missed (a lost LISTEN connection)."""
        self._listeners.append(listener)

    def notify_added(self, event_id: int) -> None:
        """Tell the ``on_added`` listeners about a newly committed event."""
        for listener in self._listeners:
            listener(event_id)

    @abstractmethod
    async def __aenter__(self) -> Self: ...

    @abstractmethod
    async def __aexit__(self, *exc: object) -> None: ...

    async def add(self, event: NewEvent) -> Result:
        """Commit an event; returns (id, duplicate). Duplicates return the first copy's id."""
        [result] = await self.add_many([event])
        return result

    @abstractmethod
    async def add_many(self, events: Sequence[NewEvent]) -> list[Result]:
        """Commit events together (one durable commit); (id, duplicate) for each, in order."""

    def add_now(self, events: Sequence[NewEvent]) -> list[Result] | None:
        """``add_many`` done before this returns, on the event loop's thread, when the store can
        commit without waiting (the alarm lane: a panic's one fsync with the loop stopped, not
        a turn through a loop busy with other sites' frames); None when it cannot, and then
        nothing was done. A store on a server (PostgreSQL) never can."""
        return None

    @abstractmethod
    async def _rows(self, query: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]: ...

    async def events(
        self,
        *,
        site: str | None = None,
        code: str | None = None,
        after_id: int = 0,
        limit: int = 500,
    ) -> list[StoredEvent]:
        """Newest ``limit`` events matching the filters, returned oldest first."""
        where: list[str] = ["id > ?"]
        args: list[str | int] = [after_id]
        if site:
            where.append("site = ?")
            args.append(site)
        if code:
            where.append("code = ?")
            args.append(code)
        query = (
            f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(where)}"  # noqa: S608 - fixed fragments
            " ORDER BY id DESC LIMIT ?"
        )
        rows = await self._rows(query, (*args, limit))
        return [stored_event(r) for r in reversed(rows)]

    async def history(
        self,
        site: str,
        *,
        search: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 200,
    ) -> list[StoredEvent]:
        """A site's events, newest first: code/zone/data containing ``search``, in a time range."""
        where: list[str] = ["site = ?"]
        args: list[str | int] = [site]
        if search:
            where.append(f"(code = ? OR zone = ? OR {self._contains}(lower(data), ?) > 0)")
            args += [search.upper(), search, search.lower()]
        if since is not None:
            where.append("received_at >= ?")
            args.append(since.isoformat())
        if until is not None:
            where.append("received_at < ?")
            args.append(until.isoformat())
        if before_id is not None:
            where.append("id < ?")
            args.append(before_id)
        query = (
            f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(where)}"  # noqa: S608 - fixed fragments
            " ORDER BY id DESC LIMIT ?"
        )
        return [stored_event(r) for r in await self._rows(query, (*args, limit))]

    async def event(self, event_id: int) -> StoredEvent | None:
        rows = await self._rows(f"SELECT {COLUMNS} FROM events WHERE id = ?", (event_id,))  # noqa: S608
        return stored_event(rows[0]) if rows else None

    async def last_id(self) -> int:
        rows = await self._rows("SELECT COALESCE(MAX(id), 0) FROM events")
        return int(rows[0][0]) if rows else 0


def batches(items: Sequence[T]) -> Iterable[Sequence[T]]:
    """``items`` in slices of at most MAX_BATCH: one multi-row INSERT each."""
    for start in range(0, len(items), MAX_BATCH):
        yield items[start : start + MAX_BATCH]


@lru_cache(maxsize=64)
def insert_sql(count: int) -> str:
    """A multi-row insert (of events already known to be new) that names the rows' ids."""
    rows = ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"] * count)
    return f"INSERT INTO events ({INSERT_COLUMNS}) VALUES {rows} RETURNING id, dedup"  # noqa: S608


def fresh(dedups: Sequence[str], earlier: Iterable[str]) -> list[int]:
    """Positions of the events to insert: not stored within the window, and the first of
    equal events in the batch."""
    seen, out = set(earlier), []
    for position, dedup in enumerate(dedups):
        if dedup not in seen:
            seen.add(dedup)
            out.append(position)
    return out
