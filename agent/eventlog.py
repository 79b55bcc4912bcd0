"""The local event log (EN 50131 asks for at least 1,000 events): what the panel saw and did.

It lives in the agent's SQLite file beside the outbox, is written in the outbox's transactions
(``Outbox.commit_step``) and keeps the newest ``KEEP`` entries.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent import panel

__all__ = ["KEEP", "EventLog", "LogLine", "describe", "lines_for", "read_log"]

KEEP = 10_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS event_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_log_ts ON event_log(ts);
"""


@dataclass(frozen=True)
class LogLine:
    id: int
    ts: datetime
    kind: str  # input, report, notice, panel, fault
    text: str


class EventLog:
    """Writes lines on the connection it is given, inside the caller's transaction: the outbox
    commits a step's reports and the step's log lines together, so a kill -9 can lose neither
    one without the other."""

    def __init__(self) -> None:
        self._appended = 0

    @staticmethod
    def create(db: sqlite3.Connection) -> None:
        """On the connection's own thread."""
        db.executescript(_SCHEMA)

    def insert(self, db: sqlite3.Connection, ts: datetime, entries: Sequence[tuple[str, str]]) -> None:
        """On the connection's own thread, inside the caller's transaction."""
        if not entries:
            return
        db.executemany(
            "INSERT INTO event_log (ts, kind, text) VALUES (?, ?, ?)",
            [(ts.isoformat(), kind, text) for kind, text in entries],
        )
        self._appended += len(entries)
        if self._appended >= 500:  # prune now and then, not on every step
            self._appended = 0
            db.execute("DELETE FROM event_log WHERE id <= (SELECT MAX(id) FROM event_log) - ?", (KEEP,))


def read_log(path: Path, *, limit: int = 100, since: datetime | None = None,
             contains: str | None = None) -> list[LogLine]:
    """Newest ``limit`` lines (oldest first), read-only, for `wachter log`."""
    where, args = ["1=1"], []
    if since is not None:
        where.append("ts >= ?")
        args.append(since.isoformat())
    if contains:
        where.append("text LIKE ?")
        args.append(f"%{contains}%")
    query = (f"SELECT id, ts, kind, text FROM event_log WHERE {' AND '.join(where)}"  # noqa: S608
             " ORDER BY id DESC LIMIT ?")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(query, (*args, limit)).fetchall()
    return [LogLine(r[0], datetime.fromisoformat(r[1]), r[2], r[3]) for r in reversed(rows)]


def describe(event: panel.Input) -> str:
    """An input as the log shows it (a command never with its code)."""
    if isinstance(event, panel.DeviceInput):
        return f"{event.device}: {event.type}"
    if isinstance(event, panel.DeviceAvailability):
        return f"{event.device}: {'online' if event.online else 'offline'}"
    if isinstance(event, panel.Command):
        return f"command {event.action} ({event.source})"
    return ""


def lines_for(cause: str | None, actions: list[panel.Action]) -> list[tuple[str, str]]:
    """The (kind, text) lines one step writes: its input, then its reports, notices, panel lines."""
    entries = [("input", cause)] if cause else []
    for action in actions:
        if isinstance(action, panel.Report):
            restore = " restore" if action.restore else ""
            entries.append(("report", f"{action.kind}{restore} {action.number} {action.text}".strip()))
        elif isinstance(action, panel.PanelNotice):
            entries.append(("notice", f"{action.event} {action.detail}" if action.detail else action.event))
        elif isinstance(action, panel.LogEntry):
            entries.append(("panel", action.text))
    return entries
