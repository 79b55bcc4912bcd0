"""The desk's tables (alarms, their log, the event cursor, site state, supervision conditions),
the ``Alarm`` record read from them, and the migration of a previous version's tables.

Before issue 20 a site had one open alarm for every class (``alarms_one_open`` on ``site``);
now it has one per response (``alarms_open_response`` on ``site, response``), with the plan
copied into the alarm when it opens and its handling (acknowledged, escalated, verdict, step
states, close reason) beside it. ``migrate`` brings a store of the previous version to this
one at start, in one transaction, keeping every row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from config.receiver import Contact
from receiver.action_plan import Step
from receiver.alarms import AlarmClass, Response
from receiver.db import Database, SqliteDatabase
from receiver.handling import Handling, StepState

__all__ = ["ALARM_COLUMNS", "DESK_SCHEMA", "Alarm", "LogEntry", "SiteState", "alarm_from_row", "migrate"]

DESK_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    priority INTEGER NOT NULL,
    title TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    first_event INTEGER,
    owner TEXT,
    taken_at TEXT,
    closed_at TEXT,
    closed_by TEXT,
    outcome TEXT,
    restored_at TEXT,
    cancelled INTEGER NOT NULL DEFAULT 0,
    steps TEXT NOT NULL DEFAULT '[]',
    response TEXT NOT NULL DEFAULT '',
    opened_as INTEGER,
    upgraded_at TEXT,
    person TEXT,
    acked_at TEXT,
    acked_by TEXT,
    escalated_at TEXT,
    verdict TEXT NOT NULL DEFAULT '',
    reason TEXT,
    due_at TEXT,
    plan TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alarms_queue ON alarms(priority, opened_at) WHERE closed_at IS NULL;
CREATE INDEX IF NOT EXISTS alarms_site ON alarms(site, id);
CREATE TABLE IF NOT EXISTS alarm_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alarm INTEGER NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    who TEXT NOT NULL,
    event INTEGER,
    text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alarm_log_alarm ON alarm_log(alarm, id);
CREATE TABLE IF NOT EXISTS desk_cursor (name TEXT PRIMARY KEY, event_id INTEGER NOT NULL);
INSERT INTO desk_cursor (name, event_id) VALUES ('events', 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS site_state (
    site TEXT PRIMARY KEY, armed TEXT NOT NULL DEFAULT 'unknown', armed_at TEXT, last_event_at TEXT
);
CREATE TABLE IF NOT EXISTS conditions (
    site TEXT NOT NULL, kind TEXT NOT NULL, since TEXT NOT NULL, PRIMARY KEY (site, kind)
);
"""

#: columns added by issue 20, with their SQLite types (translated for PostgreSQL)
_ADDED = {
    "response": "TEXT NOT NULL DEFAULT ''",
    "opened_as": "INTEGER",
    "upgraded_at": "TEXT",
    "person": "TEXT",
    "acked_at": "TEXT",
    "acked_by": "TEXT",
    "escalated_at": "TEXT",
    "verdict": "TEXT NOT NULL DEFAULT ''",
    "reason": "TEXT",
    "due_at": "TEXT",
    "plan": "TEXT NOT NULL DEFAULT ''",
}
_RESPONSE_OF_PRIORITY = " ".join(f"WHEN {int(c)} THEN '{c.response.value}'" for c in AlarmClass)
_AFTER_COLUMNS = (
    # the rows of earlier versions: the response their class needs, the class they opened as
    f"UPDATE alarms SET response = CASE priority {_RESPONSE_OF_PRIORITY} ELSE 'technical' END"  # noqa: S608
    " WHERE response = ''",
    "UPDATE alarms SET opened_as = priority WHERE opened_as IS NULL",
    "DROP INDEX IF EXISTS alarms_one_open",  # one open alarm per site: a fire hid behind a panic
    "CREATE UNIQUE INDEX IF NOT EXISTS alarms_open_response ON alarms(site, response)"
    " WHERE closed_at IS NULL",
    "CREATE INDEX IF NOT EXISTS alarms_due ON alarms(due_at) WHERE closed_at IS NULL",
)


async def _columns(db: Database, table: str) -> set[str]:
    if isinstance(db, SqliteDatabase):
        rows = await db.all(f"SELECT name FROM pragma_table_info('{table}')")  # noqa: S608 - constant
    else:
        rows = await db.all(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = ? AND table_schema = current_schema()",
            (table,),
        )
    return {str(r[0]) for r in rows}


async def migrate(db: Database) -> list[str]:
    """Add what a store of an earlier version lacks; returns the columns added. Runs under the
    writer lock, so receivers starting together on one PostgreSQL database add them once."""
    async with db.transaction() as tx:
        missing = [name for name in _ADDED if name not in await _columns(db, "alarms")]
        for name in missing:
            statement = f"ALTER TABLE alarms ADD COLUMN {name} {_ADDED[name]}"
            if not isinstance(db, SqliteDatabase):
                from receiver.pg_db import postgres_ddl  # asyncpg only where PostgreSQL is used

                statement = postgres_ddl(statement)
            await tx.execute(statement)
        for statement in _AFTER_COLUMNS:
            await tx.execute(statement)
    return missing


ALARM_COLUMNS = (
    "id, site, priority, title, opened_at, updated_at, first_event, owner, taken_at, closed_at,"
    " closed_by, outcome, restored_at, cancelled, steps, response, opened_as, upgraded_at, person,"
    " acked_at, acked_by, escalated_at, verdict, reason, due_at, plan"
)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Alarm:
    id: int
    site: str
    priority: AlarmClass
    title: str
    opened_at: datetime
    updated_at: datetime
    first_event: int | None
    owner: str | None
    taken_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    outcome: str | None
    restored_at: datetime | None
    cancelled: bool
    response: Response
    opened_as: AlarmClass
    upgraded_at: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    escalated_at: datetime | None = None
    verdict: str = ""
    reason: str | None = None
    due_at: datetime | None = None
    raw_steps: str = "[]"
    raw_plan: str = ""
    raw_person: str | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def upgraded(self) -> bool:
        return self.priority != self.opened_as

    @cached_property
    def plan(self) -> tuple[Step, ...] | None:
        """The plan copied when the alarm opened; None for alarms of earlier versions."""
        return tuple(Step.from_json(s) for s in json.loads(self.raw_plan)) if self.raw_plan else None

    @cached_property
    def person(self) -> Contact | None:
        return Contact.model_validate_json(self.raw_person) if self.raw_person else None

    @cached_property
    def handling(self) -> Handling:
        raw: Any = json.loads(self.raw_steps or "[]")
        extra: dict[str, Any] = raw if isinstance(raw, dict) else {}
        steps = raw.get("steps", []) if isinstance(raw, dict) else raw
        if steps and all(isinstance(s, int) for s in steps):  # before issue 20: indexes done
            states = [StepState()] * (max(steps) + 1)
            steps = [StepState(status="done") if i in steps else s for i, s in enumerate(states)]
        return Handling(
            opened_at=self.opened_at,
            steps=tuple(s if isinstance(s, StepState) else StepState.from_json(s) for s in steps),
            owner=self.owner,
            taken_at=self.taken_at,
            acked_at=self.acked_at,
            acked_by=self.acked_by,
            escalated_at=self.escalated_at,
            verdict=self.verdict if self.verdict in ("cleared", "escalated") else "",  # type: ignore[arg-type]
            verdict_at=_time(extra.get("verdict_at")),
            verdict_why=str(extra.get("verdict_why", "")),
            closed_at=self.closed_at,
            closed_by=self.closed_by,
            outcome=self.outcome,
            reason=self.reason,
        )

    def as_json(self) -> dict[str, object]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        h = self.handling
        return {
            "id": self.id,
            "site": self.site,
            "priority": int(self.priority),
            "class": self.priority.name.lower(),
            "response": self.response.value,
            "opened_as": self.opened_as.name.lower(),
            "upgraded_at": iso(self.upgraded_at),
            "title": self.title,
            "opened_at": iso(self.opened_at),
            "updated_at": iso(self.updated_at),
            "acked_at": iso(self.acked_at),
            "acked_by": self.acked_by,
            "owner": self.owner,
            "taken_at": iso(self.taken_at),
            "escalated_at": iso(self.escalated_at),
            "verdict": self.verdict,
            "verdict_why": h.verdict_why,
            "closed_at": iso(self.closed_at),
            "closed_by": self.closed_by,
            "outcome": self.outcome,
            "reason": self.reason,
            "restored_at": iso(self.restored_at),
            "cancelled": self.cancelled,
            "person": self.person.model_dump() if self.person else None,
            "plan": [{**s.as_json(), **h.state_of(i).as_json()} for i, s in enumerate(self.plan or ())],
        }


def alarm_from_row(r: tuple[Any, ...]) -> Alarm:
    priority = AlarmClass(int(r[2]))
    return Alarm(
        id=int(r[0]),
        site=str(r[1]),
        priority=priority,
        title=str(r[3]),
        opened_at=datetime.fromisoformat(r[4]),
        updated_at=datetime.fromisoformat(r[5]),
        first_event=r[6],
        owner=r[7],
        taken_at=_time(r[8]),
        closed_at=_time(r[9]),
        closed_by=r[10],
        outcome=r[11],
        restored_at=_time(r[12]),
        cancelled=bool(r[13]),
        raw_steps=str(r[14] or "[]"),
        response=Response(r[15]) if r[15] else priority.response,
        opened_as=AlarmClass(int(r[16])) if r[16] is not None else priority,
        upgraded_at=_time(r[17]),
        raw_person=r[18],
        acked_at=_time(r[19]),
        acked_by=r[20],
        escalated_at=_time(r[21]),
        verdict=str(r[22] or ""),
        reason=r[23],
        due_at=_time(r[24]),
        raw_plan=str(r[25] or ""),
    )


@dataclass(frozen=True)
class LogEntry:
    id: int
    at: datetime
    kind: str
    who: str
    event: int | None
    text: str


@dataclass(frozen=True)
class SiteState:
    """What the events say about a site: armed or not, and when it last reported."""

    site: str
    armed: str = "unknown"
    armed_at: datetime | None = None
    last_event_at: datetime | None = None
