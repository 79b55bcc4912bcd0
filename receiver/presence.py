"""Who is at a console now: each open console page's live stream marks its user as seen every
``live.KEEPALIVE`` seconds; seen within ``PRESENT`` counts as present (on every receiver that
shares the database)."""

from __future__ import annotations

from datetime import timedelta

from receiver.db import Database
from receiver.store import Clock

__all__ = ["PRESENCE_SCHEMA", "PRESENT", "Presence"]

PRESENT = timedelta(seconds=45)  # three missed keepalives of a live stream
PRESENCE_SCHEMA = """
CREATE TABLE IF NOT EXISTS presence (name TEXT PRIMARY KEY, role TEXT NOT NULL, seen_at TEXT NOT NULL);
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
