"""The alarm centre's event store (SQLite, WAL). An event is ACKed only after ``add`` returns."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

__all__ = ["Clock", "EventStore", "NewEvent", "StoredEvent", "utcnow"]

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    dedup TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS events_site ON events(site, id);
CREATE INDEX IF NOT EXISTS events_code ON events(code, id);
CREATE INDEX IF NOT EXISTS events_received ON events(received_at);
"""


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


_COLUMNS = (
    "id, site, account, received_at, sent_at, sequence, token, code, zone, cid, data, "
    "extended, encrypted, transport"
)
COLUMNS = _COLUMNS


def _row(row: aiosqlite.Row | tuple[Any, ...]) -> StoredEvent:
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


class EventStore:
    """One connection, WAL, ``synchronous=FULL``: a committed event survives power loss."""

    def __init__(self, path: Path, clock: Clock = utcnow) -> None:
        self.path = path
        self.clock = clock
        self._db: aiosqlite.Connection | None = None
        self._listeners: list[Callable[[int], None]] = []

    def on_added(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(event_id)`` after each new (not duplicate) event is committed."""
        self._listeners.append(listener)

    async def __aenter__(self) -> EventStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=FULL")
        await self._db.executescript(_SCHEMA)
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

    async def add(self, event: NewEvent) -> tuple[int, bool]:
        """Commit an event; returns (id, duplicate). Duplicates return the first copy's id."""
        received = self.clock().isoformat()
        cursor = await self.db.execute(
            "INSERT INTO events (site, account, received_at, sent_at, sequence, token, code, zone,"
            " cid, data, extended, encrypted, transport, peer, dedup)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(dedup) DO NOTHING",
            (
                event.site,
                event.account,
                received,
                event.sent_at.isoformat() if event.sent_at else None,
                event.sequence,
                event.token,
                event.code,
                event.zone,
                event.cid,
                event.data,
                json.dumps(event.extended),
                int(event.encrypted),
                event.transport,
                event.peer,
                event.dedup_key(),
            ),
        )
        await self.db.commit()
        if cursor.rowcount == 1 and cursor.lastrowid is not None:
            for listener in self._listeners:
                listener(cursor.lastrowid)
            return cursor.lastrowid, False
        async with self.db.execute(
            "SELECT id FROM events WHERE dedup = ?", (event.dedup_key(),)
        ) as cur:
            row = await cur.fetchone()
        return (int(row[0]) if row else 0), True

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
            f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)}"  # noqa: S608 - fixed fragments
            " ORDER BY id DESC LIMIT ?"
        )
        async with self.db.execute(query, (*args, limit)) as cur:
            rows = await cur.fetchall()
        return [_row(r) for r in reversed(list(rows))]

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
            where.append("(code = ? OR zone = ? OR instr(lower(data), ?) > 0)")
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
            f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)}"  # noqa: S608 - fixed fragments
            " ORDER BY id DESC LIMIT ?"
        )
        async with self.db.execute(query, (*args, limit)) as cur:
            return [_row(r) for r in await cur.fetchall()]

    async def event(self, event_id: int) -> StoredEvent | None:
        async with self.db.execute(f"SELECT {_COLUMNS} FROM events WHERE id = ?", (event_id,)) as cur:  # noqa: S608
            row = await cur.fetchone()
        return _row(row) if row else None

    async def last_id(self) -> int:
        async with self.db.execute("SELECT COALESCE(MAX(id), 0) FROM events") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
