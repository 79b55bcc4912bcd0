"""The control room's staff: who is at a console now, and the shift log that hands the watch over.

Presence: each open console page's live stream marks its user as seen every
``live.KEEPALIVE`` seconds; seen within ``PRESENT`` counts as present (on every receiver that
shares the database). The shift log holds what an outgoing operator tells the next shift;
each entry is audited with the alarms it handed over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from receiver.audit import record
from receiver.db import Database
from receiver.store import Clock

__all__ = ["PRESENT", "SHIFT_SCHEMA", "HandoverNote", "Presence", "ShiftLog"]

PRESENT = timedelta(seconds=45)  # three missed keepalives of a live stream
SHIFT_SCHEMA = """
CREATE TABLE IF NOT EXISTS presence (name TEXT PRIMARY KEY, role TEXT NOT NULL, seen_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shift_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    handed_to TEXT NOT NULL DEFAULT '',
    alarms TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT ''
);
"""


class Presence:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    async def seen(self, name: str, role: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO presence (name, role, seen_at) VALUES (?,?,?) ON CONFLICT(name)"
                " DO UPDATE SET role = excluded.role, seen_at = excluded.seen_at",
                (name, role, self.clock().isoformat()),
            )

    async def present(self) -> list[tuple[str, str]]:
        """(name, role) of everyone with a console open, by name."""
        since = (self.clock() - PRESENT).isoformat()
        rows = await self.db.all("SELECT name, role FROM presence WHERE seen_at >= ? ORDER BY name", (since,))
        return [(str(r[0]), str(r[1])) for r in rows]


@dataclass(frozen=True)
class HandoverNote:
    at: datetime
    who: str
    handed_to: str
    alarms: str
    text: str


class ShiftLog:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    async def write(self, who: str, handed_to: str, alarms: list[int], text: str) -> None:
        ids = ", ".join(str(a) for a in alarms)
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO shift_log (at, who, handed_to, alarms, text) VALUES (?,?,?,?,?)",
                (self.clock().isoformat(), who, handed_to, ids, text),
            )
            detail = f"to {handed_to or '(the next shift)'}; alarms: {ids or 'none'}; {text}"
            await record(tx, self.clock(), who, "shift_handover", f"user:{handed_to}", detail[:500])

    async def recent(self, limit: int = 20) -> list[HandoverNote]:
        rows = await self.db.all(
            "SELECT at, who, handed_to, alarms, text FROM shift_log ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [HandoverNote(datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4]) for r in rows]
