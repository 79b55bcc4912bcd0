"""The audit log: who did what, when, to which alarm or user. Rows are only ever added."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from receiver.db import Database, Tx

__all__ = ["AUDIT_SCHEMA", "AuditEntry", "AuditLog", "record"]

AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_target ON audit(target, id);
"""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    who: str
    action: str
    target: str
    detail: str


async def record(
    tx: Tx, at: datetime, who: str, action: str, target: str = "", detail: str = ""
) -> None:
    """Add a row inside the caller's transaction, so the action and its record commit together."""
    await tx.execute(
        "INSERT INTO audit (at, who, action, target, detail) VALUES (?,?,?,?,?)",
        (at.isoformat(), who, action, target, detail),
    )


class AuditLog:
    """Reads the log for the audit page and the API."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def entries(self, *, target: str = "", who: str = "", limit: int = 200) -> list[AuditEntry]:
        where, args = ["1=1"], []
        if target:
            where.append("target = ?")
            args.append(target)
        if who:
            where.append("who = ?")
            args.append(who)
        rows = await self.db.all(
            f"SELECT id, at, who, action, target, detail FROM audit WHERE {' AND '.join(where)}"  # noqa: S608
            " ORDER BY id DESC LIMIT ?",
            (*args, limit),
        )
        return [AuditEntry(r[0], datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5]) for r in rows]
