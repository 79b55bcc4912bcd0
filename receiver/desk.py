"""The alarm desk: turns stored events and supervision faults into alarms, and records how
operators handle them (take, action-plan steps, notes, close) with an audit row per action.

One open alarm per site: later alarm events join it and raise its priority; restores and
other signals join its timeline. Events are read after a stored cursor, so a restart resumes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from config.receiver import PlanStep
from receiver.alarms import ARM_CODES, CANCEL_CODES, DISARM_CODES, AlarmClass, alarm_class, is_restore
from receiver.audit import record
from receiver.db import Database, Tx
from receiver.store import Clock

__all__ = ["DESK_SCHEMA", "OUTCOMES", "Alarm", "AlarmDesk", "DeskError", "LogEntry", "SiteState"]

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
    steps TEXT NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX IF NOT EXISTS alarms_one_open ON alarms(site) WHERE closed_at IS NULL;
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

OUTCOMES = ("real", "false", "test", "technical")
SYSTEM = "system"
_ALARM_COLUMNS = (
    "id, site, priority, title, opened_at, updated_at, first_event, owner, taken_at, closed_at,"
    " closed_by, outcome, restored_at, cancelled, steps"
)


_CURSOR = "SELECT event_id FROM desk_cursor WHERE name = 'events'"
_NEW_EVENTS = "SELECT id, site, code, zone, received_at FROM events WHERE id > ? ORDER BY id LIMIT ?"
_SITES_PER_UPSERT = 200  # 4 parameters each


class DeskError(ValueError):
    """An operator action that the alarm's state does not allow; the text is shown as is."""


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
    steps_done: tuple[int, ...]

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def as_json(self) -> dict[str, object]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "id": self.id,
            "site": self.site,
            "priority": int(self.priority),
            "class": self.priority.name.lower(),
            "title": self.title,
            "opened_at": iso(self.opened_at),
            "updated_at": iso(self.updated_at),
            "owner": self.owner,
            "taken_at": iso(self.taken_at),
            "closed_at": iso(self.closed_at),
            "closed_by": self.closed_by,
            "outcome": self.outcome,
            "restored_at": iso(self.restored_at),
            "cancelled": self.cancelled,
            "steps_done": list(self.steps_done),
        }


@dataclass(frozen=True)
class LogEntry:
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


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _alarm(r: tuple[Any, ...]) -> Alarm:
    return Alarm(
        id=int(r[0]),
        site=str(r[1]),
        priority=AlarmClass(int(r[2])),
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
        steps_done=tuple(json.loads(r[14])),
    )


@dataclass
class AlarmDesk:
    """All alarm state lives in the database; this object holds only wiring."""

    db: Database
    clock: Clock
    plans: Mapping[str, Sequence[PlanStep]] = field(default_factory=dict)
    listeners: list[Callable[[int], None]] = field(default_factory=list)

    def _changed(self, alarm_id: int) -> None:
        for listener in self.listeners:
            listener(alarm_id)

    # -- alarms from events -------------------------------------------------------------
    async def process(self, batch: int = 500) -> list[int]:
        """Apply every stored event after the cursor; returns the alarms that changed.

        The new events are read before the write transaction (readers do not block the event
        store's commits); inside it, a site's state is written once per pass and only events
        that raise an alarm, or that join a site's open alarm, take further statements.
        """
        changed: list[int] = []
        while True:
            row = await self.db.one(_CURSOR)
            seen = int(row[0]) if row else 0
            events = await self.db.all(_NEW_EVENTS, (seen, batch))
            if not events:
                break
            async with self.db.transaction() as tx:
                # claim the cursor row first: a second process (or task) waits here, then
                # reads the cursor this one moved, so no event is applied twice
                await tx.execute("UPDATE desk_cursor SET event_id = event_id WHERE name = 'events'")
                row = await tx.one(_CURSOR)
                cursor = int(row[0]) if row else 0
                if cursor != seen:  # another desk moved it after our read
                    events = await tx.all(_NEW_EVENTS, (cursor, batch))
                for alarm_id in await self._apply_all(tx, events):
                    if alarm_id not in changed:
                        changed.append(alarm_id)
                if events:
                    await tx.execute(
                        "INSERT INTO desk_cursor (name, event_id) VALUES ('events', ?)"
                        " ON CONFLICT(name) DO UPDATE SET event_id = excluded.event_id",
                        (events[-1][0],),
                    )
            if len(events) < batch:
                break
        for alarm_id in changed:
            self._changed(alarm_id)
        return changed

    async def _apply_all(self, tx: Tx, events: Sequence[tuple[Any, ...]]) -> list[int]:
        """Apply events in order, with the same outcome as applying them one by one."""
        if not events:
            return []
        rows = await tx.all("SELECT site FROM alarms WHERE closed_at IS NULL")
        open_sites = {str(r[0]) for r in rows}
        states: dict[str, tuple[str | None, str | None, str]] = {}  # site -> armed, armed_at, last
        touched: list[int] = []
        for event_id, site, code, zone, received in events:
            upper = (code or "").upper()
            armed = "armed" if upper in ARM_CODES else "disarmed" if upper in DISARM_CODES else None
            before = states.get(site)
            if armed is None and before is not None:
                states[site] = (before[0], before[1], received)
            else:
                states[site] = (armed, received if armed else None, received)
            if alarm_class(code) is None and site not in open_sites:
                continue  # a signal for a site without an open alarm changes no alarm
            alarm_id = await self._apply(tx, event_id, site, code, zone, received)
            if alarm_id is not None:
                open_sites.add(site)
                touched.append(alarm_id)
        await self._note_sites(tx, states)
        return touched

    async def _apply(
        self,
        tx: Tx,
        event_id: int,
        site: str,
        code: str | None,
        zone: str | None,
        received: str,
    ) -> int | None:
        cls = alarm_class(code)
        what = f"{code or '?'}{f' zone {zone}' if zone else ''}"
        if cls is not None:
            return await self._raise(tx, site, cls, what, datetime.fromisoformat(received), event_id)
        current = await self._open_for(site)
        if current is None:
            return None
        kind = "restore" if is_restore(code) else "signal"
        await self._log(tx, current.id, kind, SYSTEM, what, event_id)
        if kind == "restore":
            await tx.execute(
                "UPDATE alarms SET restored_at = ?, cancelled = CASE WHEN ? = 1 THEN 1 ELSE cancelled END,"
                " updated_at = ? WHERE id = ?",
                (received, int((code or "").upper() in CANCEL_CODES), received, current.id),
            )
        return current.id

    async def _note_sites(self, tx: Tx, states: Mapping[str, tuple[str | None, str | None, str]]) -> None:
        """Each site's last event time, and its arming from its last arm/disarm event (if any)."""
        items = list(states.items())
        for start in range(0, len(items), _SITES_PER_UPSERT):
            chunk = items[start : start + _SITES_PER_UPSERT]
            values = ",".join(["(?,?,?,?)"] * len(chunk))
            await tx.execute(
                f"INSERT INTO site_state (site, armed, armed_at, last_event_at) VALUES {values}"  # noqa: S608
                " ON CONFLICT(site) DO UPDATE SET last_event_at = excluded.last_event_at,"
                " armed = CASE WHEN excluded.armed_at IS NULL THEN site_state.armed ELSE excluded.armed END,"
                " armed_at = CASE WHEN excluded.armed_at IS NULL THEN site_state.armed_at"
                " ELSE excluded.armed_at END",
                [v for site, (armed, at, last) in chunk for v in (site, armed or "unknown", at, last)],
            )

    async def site_states(self) -> dict[str, SiteState]:
        rows = await self.db.all("SELECT site, armed, armed_at, last_event_at FROM site_state")
        return {r[0]: SiteState(r[0], r[1], _time(r[2]), _time(r[3])) for r in rows}

    async def _raise(
        self,
        tx: Tx,
        site: str,
        cls: AlarmClass,
        what: str,
        at: datetime,
        event_id: int | None,
    ) -> int:
        current = await self._open_for(site)
        title = f"{cls.label}: {what}"
        if current is None:
            row = await tx.one(
                "INSERT INTO alarms (site, priority, title, opened_at, updated_at, first_event)"
                " VALUES (?,?,?,?,?,?) RETURNING id",
                (site, int(cls), title, at.isoformat(), at.isoformat(), event_id),
            )
            alarm_id = int(row[0]) if row else 0
            await self._log(tx, alarm_id, "opened", SYSTEM, title, event_id)
            await record(tx, self.clock(), SYSTEM, "alarm_opened", f"alarm:{alarm_id}", f"{site} {title}")
            return alarm_id
        escalate = cls < current.priority
        await tx.execute(
            "UPDATE alarms SET priority = ?, title = ?, restored_at = NULL, updated_at = ? WHERE id = ?",
            (
                int(min(cls, current.priority)),
                title if escalate else current.title,
                at.isoformat(),
                current.id,
            ),
        )
        await self._log(tx, current.id, "alarm", SYSTEM, title, event_id)
        return current.id

    async def _log(
        self,
        tx: Tx,
        alarm_id: int,
        kind: str,
        who: str,
        text: str,
        event_id: int | None = None,
    ) -> None:
        await tx.execute(
            "INSERT INTO alarm_log (alarm, at, kind, who, event, text) VALUES (?,?,?,?,?,?)",
            (alarm_id, self.clock().isoformat(), kind, who, event_id, text),
        )

    # -- alarms from supervision --------------------------------------------------------
    async def raise_condition(self, site: str, kind: AlarmClass, text: str) -> int | None:
        """A lasting fault (missed polls, rejected frames): opens/joins an alarm once."""
        now = self.clock()
        async with self.db.transaction() as tx:
            added = await tx.execute(
                "INSERT INTO conditions (site, kind, since) VALUES (?,?,?) ON CONFLICT DO NOTHING",
                (site, kind.name, now.isoformat()),
            )
            if added != 1:
                return None
            alarm_id = await self._raise(tx, site, kind, text, now, None)
        self._changed(alarm_id)
        return alarm_id

    async def restore_condition(self, site: str, kind: AlarmClass, text: str) -> int | None:
        now = self.clock()
        async with self.db.transaction() as tx:
            removed = await tx.execute(
                "DELETE FROM conditions WHERE site = ? AND kind = ?", (site, kind.name)
            )
            if removed != 1:
                return None
            current = await self._open_for(site)
            if current is None:
                return None
            await self._log(tx, current.id, "restore", SYSTEM, text)
            await tx.execute(
                "UPDATE alarms SET restored_at = ?, updated_at = ? WHERE id = ?",
                (now.isoformat(), now.isoformat(), current.id),
            )
        self._changed(current.id)
        return current.id

    async def conditions(self) -> set[tuple[str, AlarmClass]]:
        rows = await self.db.all("SELECT site, kind FROM conditions")
        return {(str(site), AlarmClass[str(kind)]) for site, kind in rows}

    # -- reading ------------------------------------------------------------------------
    async def _open_for(self, site: str) -> Alarm | None:
        row = await self.db.one(
            f"SELECT {_ALARM_COLUMNS} FROM alarms WHERE site = ? AND closed_at IS NULL",  # noqa: S608
            (site,),
        )
        return _alarm(row) if row else None

    async def queue(self) -> list[Alarm]:
        """Open alarms, most urgent first, then oldest first."""
        rows = await self.db.all(
            f"SELECT {_ALARM_COLUMNS} FROM alarms WHERE closed_at IS NULL"  # noqa: S608
            " ORDER BY priority, opened_at, id"
        )
        return [_alarm(r) for r in rows]

    async def alarm(self, alarm_id: int) -> Alarm | None:
        row = await self.db.one(f"SELECT {_ALARM_COLUMNS} FROM alarms WHERE id = ?", (alarm_id,))  # noqa: S608
        return _alarm(row) if row else None

    async def alarms_between(self, site: str, start: datetime, end: datetime) -> list[Alarm]:
        rows = await self.db.all(
            f"SELECT {_ALARM_COLUMNS} FROM alarms WHERE site = ? AND opened_at >= ? AND opened_at < ?"  # noqa: S608
            " ORDER BY id",
            (site, start.isoformat(), end.isoformat()),
        )
        return [_alarm(r) for r in rows]

    async def recent(self, site: str | None = None, limit: int = 50) -> list[Alarm]:
        where, args = ("WHERE site = ?", [site]) if site else ("", [])
        rows = await self.db.all(
            f"SELECT {_ALARM_COLUMNS} FROM alarms {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*args, limit),
        )
        return [_alarm(r) for r in rows]

    async def log(self, alarm_id: int) -> list[LogEntry]:
        rows = await self.db.all(
            "SELECT at, kind, who, event, text FROM alarm_log WHERE alarm = ? ORDER BY id", (alarm_id,)
        )
        return [LogEntry(datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def plan(self, site: str) -> Sequence[PlanStep]:
        return self.plans.get(site, ())

    # -- operator actions ---------------------------------------------------------------
    async def _open_alarm(self, alarm_id: int) -> Alarm:
        alarm = await self.alarm(alarm_id)
        if alarm is None:
            raise DeskError(f"there is no alarm {alarm_id}")
        if not alarm.is_open:
            raise DeskError(f"alarm {alarm_id} is already closed")
        return alarm

    async def _owned(self, alarm_id: int, user: str) -> Alarm:
        alarm = await self._open_alarm(alarm_id)
        if alarm.owner != user:
            who = f"by {alarm.owner}" if alarm.owner else "by nobody"
            raise DeskError(f"alarm {alarm_id} is taken {who}; take it first")
        return alarm

    async def take(self, alarm_id: int, user: str, *, override: bool = False) -> Alarm:
        """Ownership is exclusive; a supervisor may take over (``override``).

        The owner is read inside the write transaction (one writer at a time, across receiver
        processes too), so of two operators who take the same alarm at the same moment one
        gets it and the other is told who has it.
        """
        alarm = await self._open_alarm(alarm_id)
        if alarm.owner == user:
            return alarm
        now = self.clock()
        async with self.db.transaction() as tx:
            row = await tx.one("SELECT owner, closed_at FROM alarms WHERE id = ?", (alarm_id,))
            owner, closed = (row[0], row[1]) if row else (None, None)
            if closed is not None:
                raise DeskError(f"alarm {alarm_id} is already closed")
            if owner == user:
                return alarm
            if owner and not override:
                raise DeskError(f"alarm {alarm_id} is already taken by {owner}")
            await tx.execute(
                "UPDATE alarms SET owner = ?, taken_at = COALESCE(taken_at, ?), updated_at = ? WHERE id = ?",
                (user, now.isoformat(), now.isoformat(), alarm_id),
            )
            text = f"taken over from {owner}" if owner else "taken"
            await self._log(tx, alarm_id, "take", user, text)
            await record(tx, now, user, "take", f"alarm:{alarm_id}", text)
        self._changed(alarm_id)
        return await self._open_alarm(alarm_id)

    async def check_step(self, alarm_id: int, user: str, step: int) -> Alarm:
        alarm = await self._owned(alarm_id, user)
        plan = self.plan(alarm.site)
        if not 0 <= step < len(plan):
            raise DeskError(f"the action plan of {alarm.site} has no step {step + 1}")
        if step in alarm.steps_done:
            return alarm
        done = sorted({*alarm.steps_done, step})
        now = self.clock()
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE alarms SET steps = ?, updated_at = ? WHERE id = ?",
                (json.dumps(done), now.isoformat(), alarm_id),
            )
            text = f"step {step + 1} done: {plan[step].text}"
            await self._log(tx, alarm_id, "step", user, text)
            await record(tx, now, user, "step", f"alarm:{alarm_id}", text)
        self._changed(alarm_id)
        return await self._open_alarm(alarm_id)

    async def note(self, alarm_id: int, user: str, text: str) -> None:
        text = text.strip()[:2000]
        if not text:
            raise DeskError("an empty note was not saved")
        alarm = await self.alarm(alarm_id)
        if alarm is None:
            raise DeskError(f"there is no alarm {alarm_id}")
        now = self.clock()
        async with self.db.transaction() as tx:
            await self._log(tx, alarm_id, "note", user, text)
            await record(tx, now, user, "note", f"alarm:{alarm_id}", text)
        self._changed(alarm_id)

    async def close(self, alarm_id: int, user: str, outcome: str) -> Alarm:
        """Only the owner closes, with an outcome, after every required plan step."""
        if outcome not in OUTCOMES:
            raise DeskError(f"outcome must be one of {', '.join(OUTCOMES)}")
        alarm = await self._owned(alarm_id, user)
        missing = [
            i + 1 for i, s in enumerate(self.plan(alarm.site)) if s.required and i not in alarm.steps_done
        ]
        if missing:
            raise DeskError(f"required steps not done yet: {', '.join(map(str, missing))}")
        now = self.clock()
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE alarms SET closed_at = ?, closed_by = ?, outcome = ?, updated_at = ? WHERE id = ?",
                (now.isoformat(), user, outcome, now.isoformat(), alarm_id),
            )
            await self._log(tx, alarm_id, "close", user, f"closed as {outcome}")
            await record(tx, now, user, "close", f"alarm:{alarm_id}", outcome)
        self._changed(alarm_id)
        closed = await self.alarm(alarm_id)
        assert closed is not None
        return closed
