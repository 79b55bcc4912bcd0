"""Evidence snapshots (JPEG) uploaded by agents next to their DC-09 events, kept per site."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from receiver.db import Database
from receiver.store import Clock

__all__ = ["EVIDENCE_SCHEMA", "Evidence", "EvidenceStore"]

EVIDENCE_SCHEMA = """
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    ref TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS evidence_site ON evidence(site, id);
"""


@dataclass(frozen=True)
class Evidence:
    id: int
    site: str
    ref: str
    received_at: datetime
    content_type: str


class EvidenceStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    async def add(self, site: str, ref: str, content_type: str, data: bytes) -> int:
        async with self.db.transaction() as tx:
            row = await tx.one(
                "INSERT INTO evidence (site, ref, received_at, content_type, data) VALUES (?,?,?,?,?)"
                " RETURNING id",
                (site, ref[:200], self.clock().isoformat(), content_type, data),
            )
        return int(row[0]) if row else 0

    async def get(self, evidence_id: int) -> tuple[Evidence, bytes] | None:
        row = await self.db.one(
            "SELECT id, site, ref, received_at, content_type, data FROM evidence WHERE id = ?", (evidence_id,)
        )
        if row is None:
            return None
        return Evidence(row[0], row[1], row[2], datetime.fromisoformat(row[3]), row[4]), bytes(row[5])

    async def for_site(self, site: str, since: datetime, limit: int = 20) -> list[Evidence]:
        rows = await self.db.all(
            "SELECT id, site, ref, received_at, content_type FROM evidence"
            " WHERE site = ? AND received_at >= ? ORDER BY id DESC LIMIT ?",
            (site, since.isoformat(), limit),
        )
        return [Evidence(r[0], r[1], r[2], datetime.fromisoformat(r[3]), r[4]) for r in rows]
