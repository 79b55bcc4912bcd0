"""The alarm desk: turns stored events and supervision faults into alarms, and records how
operators handle them, with a log row and an audit row per action.

One open alarm per site *and response* (hold-up, fire, burglary, tamper, technical): a fire at
a home where a panic is open is an alarm of its own, with its own plan, owner and outcome.
A more urgent event of the same response upgrades the alarm (shown as such); its restores join
its timeline. Events are read after a stored cursor, so a restart resumes.

The handling itself (ack, take, steps, call outcomes, escalation, close) is the pure core in
``receiver/handling.py``; this is its shell: load, step, store with log and audit rows in one
transaction, and wake the core (``tick``) at each alarm's stored deadline.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from config.receiver import Alerting, Contact
from receiver import handling
from receiver.action_plan import Step, resolve_plan, with_person
from receiver.alarm_table import (
    ALARM_COLUMNS,
    DESK_SCHEMA,
    Alarm,
    LogEntry,
    SiteState,
    alarm_from_row,
    migrate,
)
from receiver.alarms import (
    ARM_CODES,
    CANCEL_CODES,
    DISARM_CODES,
    AlarmClass,
    Response,
    alarm_class,
    restore_response,
)
from receiver.audit import record
from receiver.db import Database, Tx
from receiver.handling import DeskError, Handling, Policy
from receiver.sitebook import SiteBook, SiteEntry
from receiver.store import Clock
from receiver.wording import zone_words

__all__ = [
    "DESK_SCHEMA",
    "OUTCOMES",
    "Alarm",
    "AlarmDesk",
    "Caller",
    "DeskError",
    "LogEntry",
    "RaisedBy",
    "SiteState",
]

OUTCOMES = tuple(handling.CLOSE_REASONS)
SYSTEM = "system"

_CURSOR = "SELECT event_id FROM desk_cursor WHERE name = 'events'"
_NEW_EVENTS = (
    "SELECT id, site, code, zone, received_at, transport FROM events WHERE id > ? ORDER BY id LIMIT ?"
)
_SITES_PER_UPSERT = 200  # 4 parameters each


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


@dataclass(frozen=True)
class RaisedBy:
    """Who raised an alarm event, and how ("mobile panic button"): called back first."""

    person: Contact
    how: str


#: who raised an event of a transport whose events name a person (the mobile panic button: the
#: phone's owner); read inside the desk's write transaction, ``None`` when nobody is known
Caller = Callable[[Tx, int], Awaitable[RaisedBy | None]]


@dataclass
class AlarmDesk:
    """All alarm state lives in the database; this object holds only wiring."""

    db: Database
    clock: Clock
    book: SiteBook
    alerting: Alerting = field(default_factory=Alerting)
    listeners: list[Callable[[int], None]] = field(default_factory=list)
    callers: dict[str, Caller] = field(default_factory=dict)  # by the events' transport

    def _changed(self, alarm_id: int) -> None:
        for listener in self.listeners:
            listener(alarm_id)

    async def migrate(self) -> list[str]:
        """Bring the tables of an earlier version to this one (at start, before ``process``)."""
        return await migrate(self.db)

    def policy(self, response: Response) -> Policy:
        return Policy(escalate_after=self.alerting.escalation_delay(response.value))

    # -- alarms from events -------------------------------------------------------------
    async def process(self, batch: int = 500) -> list[int]:
        """Apply every stored event after the cursor; returns the alarms that changed.

        The new events are read before the write transaction (readers do not block the event
        store's commits); inside it, a site's state is written once per pass and only events
        that raise an alarm, or that restore an open one, take further statements.
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
        rows = await tx.all("SELECT site, response, priority FROM alarms WHERE closed_at IS NULL")
        open_now = {(str(r[0]), r[1] or AlarmClass(int(r[2])).response.value) for r in rows}
        states: dict[str, tuple[str | None, str | None, str]] = {}  # site -> armed, armed_at, last
        entries: dict[str, SiteEntry] = {}
        touched: list[int] = []
        for event_id, site, code, zone, received, transport in events:
            upper = (code or "").upper()
            armed = "armed" if upper in ARM_CODES else "disarmed" if upper in DISARM_CODES else None
            before = states.get(site)
            if armed is None and before is not None:
                states[site] = (before[0], before[1], received)
            else:
                states[site] = (armed, received if armed else None, received)
            cls, back = alarm_class(code), restore_response(code)
            if cls is None and (back is None or (site, back.value) not in open_now):
                continue  # a signal changes no alarm (the timeline shows it as site context)
            if site not in entries:
                entries[site] = await self.book.get(site)
            what = _what(code, zone, entries[site])
            at = datetime.fromisoformat(received)
            caller = self.callers.get(transport) if cls is not None else None
            raised_by = await caller(tx, int(event_id)) if caller is not None else None
            if raised_by is not None:
                what = f"{what}, {raised_by.how} of {raised_by.person.name}"
            if cls is not None:
                person = raised_by.person if raised_by else None
                touched.append(await self._raise(tx, site, cls, what, at, event_id, person))
                open_now.add((site, cls.response.value))
            elif back is not None:
                restored = await self._restore(tx, site, back, what, at, event_id, upper in CANCEL_CODES)
                touched += [restored] if restored is not None else []
        await self._note_sites(tx, states)
        return touched

    async def _note_sites(self, tx: Tx, states: dict[str, tuple[str | None, str | None, str]]) -> None:
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
        return {
            r[0]: SiteState(
                r[0],
                r[1],
                datetime.fromisoformat(r[2]) if r[2] else None,
                datetime.fromisoformat(r[3]) if r[3] else None,
            )
            for r in rows
        }

    async def raise_alarm(
        self,
        site: str,
        cls: AlarmClass,
        what: str,
        *,
        event_id: int | None = None,
        person: Contact | None = None,
    ) -> int:
        """Open (or join) the site's alarm of this class's response from outside the event
        stream; ``person`` is who raised it: a call step for ``person`` calls their numbers
        (first, when their alarm joins an open one). Events of a transport with a ``caller``
        get their person the same way, inside the event stream (the mobile panic button)."""
        async with self.db.transaction() as tx:
            alarm_id = await self._raise(tx, site, cls, what, self.clock(), event_id, person)
        self._changed(alarm_id)
        return alarm_id

    async def _raise(
        self,
        tx: Tx,
        site: str,
        cls: AlarmClass,
        what: str,
        at: datetime,
        event_id: int | None,
        person: Contact | None = None,
    ) -> int:
        current = await self._open_for(tx, site, cls.response)
        title = f"{cls.label}: {what}"
        if current is None:
            return await self._open(tx, site, cls, title, at, event_id, person)
        if cls < current.priority:
            text = f"upgraded from {current.priority.label} to {cls.label}: {what}"
            await tx.execute(
                "UPDATE alarms SET priority = ?, title = ?, upgraded_at = ?, restored_at = NULL,"
                " updated_at = ? WHERE id = ?",
                (int(cls), title, at.isoformat(), at.isoformat(), current.id),
            )
            await self._log(tx, current.id, "upgrade", SYSTEM, text, event_id)
            await record(tx, self.clock(), SYSTEM, "alarm_upgraded", f"alarm:{current.id}", text)
        else:
            await tx.execute(
                "UPDATE alarms SET restored_at = NULL, updated_at = ? WHERE id = ?",
                (at.isoformat(), current.id),
            )
            await self._log(tx, current.id, "alarm", SYSTEM, title, event_id)
        if person is not None:
            await self._join(tx, current.id, person)
        return current.id

    async def _join(self, tx: Tx, alarm_id: int, person: Contact) -> None:
        """``person`` raised the open alarm again: called first, verified again (``Joined``)."""
        row = await tx.one(f"SELECT {ALARM_COLUMNS} FROM alarms WHERE id = ?", (alarm_id,))  # noqa: S608
        if row is None:
            return
        alarm = alarm_from_row(row)
        plan, steps = with_person(await self.plan(alarm), person)
        phones = tuple(p for p in (person.phone, person.alt_phone) if p)
        await self._step(tx, alarm, plan, handling.Joined(person.name, steps, phones), self.clock())

    async def _open(
        self,
        tx: Tx,
        site: str,
        cls: AlarmClass,
        title: str,
        at: datetime,
        event_id: int | None,
        person: Contact | None,
    ) -> int:
        entry = await self.book.get(site)
        plan = resolve_plan(await self.book.plan(site, cls.response.value), entry.contacts, person)
        due = handling.next_deadline(plan, self.policy(cls.response), Handling(opened_at=at))
        row = await tx.one(
            "INSERT INTO alarms (site, priority, title, opened_at, updated_at, first_event, response,"
            " opened_as, person, due_at, plan, steps) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (
                site,
                int(cls),
                title,
                at.isoformat(),
                at.isoformat(),
                event_id,
                cls.response.value,
                int(cls),
                person.model_dump_json() if person else None,
                _iso(due),
                json.dumps([s.as_json() for s in plan]),
                json.dumps({"steps": []}),
            ),
        )
        alarm_id = int(row[0]) if row else 0
        await self._log(tx, alarm_id, "opened", SYSTEM, title, event_id)
        await record(tx, self.clock(), SYSTEM, "alarm_opened", f"alarm:{alarm_id}", f"{site} {title}")
        return alarm_id

    async def _restore(
        self,
        tx: Tx,
        site: str,
        response: Response,
        what: str,
        at: datetime,
        event_id: int | None,
        cancel: bool,
    ) -> int | None:
        current = await self._open_for(tx, site, response)
        if current is None:
            return None
        await self._log(tx, current.id, "restore", SYSTEM, what, event_id)
        await tx.execute(
            "UPDATE alarms SET restored_at = ?, cancelled = CASE WHEN ? = 1 THEN 1 ELSE cancelled END,"
            " updated_at = ? WHERE id = ?",
            (at.isoformat(), int(cancel), at.isoformat(), current.id),
        )
        return current.id

    async def _log(
        self, tx: Tx, alarm_id: int, kind: str, who: str, text: str, event_id: int | None = None
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
            alarm_id = await self._restore(tx, site, kind.response, text, now, None, cancel=False)
        if alarm_id is not None:
            self._changed(alarm_id)
        return alarm_id

    async def conditions(self) -> set[tuple[str, AlarmClass]]:
        rows = await self.db.all("SELECT site, kind FROM conditions")
        return {(str(site), AlarmClass[str(kind)]) for site, kind in rows}

    # -- reading ------------------------------------------------------------------------
    async def _open_for(self, tx: Tx, site: str, response: Response) -> Alarm | None:
        row = await tx.one(
            f"SELECT {ALARM_COLUMNS} FROM alarms WHERE site = ? AND response = ? AND closed_at IS NULL",  # noqa: S608
            (site, response.value),
        )
        return alarm_from_row(row) if row else None

    async def queue(self) -> list[Alarm]:
        """Open alarms, most urgent first, then oldest first."""
        rows = await self.db.all(
            f"SELECT {ALARM_COLUMNS} FROM alarms WHERE closed_at IS NULL"  # noqa: S608
            " ORDER BY priority, opened_at, id"
        )
        return [alarm_from_row(r) for r in rows]

    async def open_at(self, site: str) -> list[Alarm]:
        """A site's open alarms, most urgent first."""
        rows = await self.db.all(
            f"SELECT {ALARM_COLUMNS} FROM alarms WHERE site = ? AND closed_at IS NULL"  # noqa: S608
            " ORDER BY priority, opened_at, id",
            (site,),
        )
        return [alarm_from_row(r) for r in rows]

    async def alarm(self, alarm_id: int) -> Alarm | None:
        row = await self.db.one(f"SELECT {ALARM_COLUMNS} FROM alarms WHERE id = ?", (alarm_id,))  # noqa: S608
        return alarm_from_row(row) if row else None

    async def alarms_between(self, site: str, start: datetime, end: datetime) -> list[Alarm]:
        rows = await self.db.all(
            f"SELECT {ALARM_COLUMNS} FROM alarms WHERE site = ? AND opened_at >= ? AND opened_at < ?"  # noqa: S608
            " ORDER BY id",
            (site, start.isoformat(), end.isoformat()),
        )
        return [alarm_from_row(r) for r in rows]

    async def recent(self, site: str | None = None, limit: int = 50) -> list[Alarm]:
        where, args = ("WHERE site = ?", [site]) if site else ("", [])
        rows = await self.db.all(
            f"SELECT {ALARM_COLUMNS} FROM alarms {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*args, limit),
        )
        return [alarm_from_row(r) for r in rows]

    async def log(self, alarm_id: int) -> list[LogEntry]:
        rows = await self.db.all(
            "SELECT id, at, kind, who, event, text FROM alarm_log WHERE alarm = ? ORDER BY id", (alarm_id,)
        )
        return [LogEntry(int(r[0]), datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    async def plan(self, alarm: Alarm) -> tuple[Step, ...]:
        """The alarm's plan: as copied when it opened (earlier versions: the site's plan now)."""
        if alarm.plan is not None:
            return alarm.plan
        entry = await self.book.get(alarm.site)
        return resolve_plan(
            await self.book.plan(alarm.site, alarm.response.value), entry.contacts, alarm.person
        )

    # -- operator actions ---------------------------------------------------------------
    async def _handle(self, alarm_id: int, event: handling.Input) -> Alarm:
        """One input through the core; its state, log and audit rows commit together. The
        alarm is read inside the write transaction (one writer at a time, across receiver
        processes too), so of two operators who take an alarm at once one gets it and the
        other is told who has it."""
        now = self.clock()
        async with self.db.transaction() as tx:
            row = await tx.one(f"SELECT {ALARM_COLUMNS} FROM alarms WHERE id = ?", (alarm_id,))  # noqa: S608
            if row is None:
                raise DeskError(f"there is no alarm {alarm_id}")
            alarm = alarm_from_row(row)
            if not alarm.is_open and not isinstance(event, handling.Tick):
                raise DeskError(f"alarm {alarm_id} is already closed")
            changed = await self._step(tx, alarm, await self.plan(alarm), event, now)
        if changed:
            self._changed(alarm_id)
            return await self.alarm(alarm_id) or alarm
        return alarm

    async def _step(
        self, tx: Tx, alarm: Alarm, plan: Sequence[Step], event: handling.Input, now: datetime
    ) -> bool:
        """The core's step inside ``tx``; whether it did something."""
        policy = self.policy(alarm.response)
        state, actions = handling.step(plan, policy, alarm.handling, event, now)
        due = handling.next_deadline(plan, policy, state)
        if actions:
            await self._store(tx, alarm, plan, state, actions, due)
        elif due != alarm.due_at:  # a deadline with nothing left to do: never wake for it again
            await tx.execute("UPDATE alarms SET due_at = ? WHERE id = ?", (_iso(due), alarm.id))
        return bool(actions)

    async def _store(
        self,
        tx: Tx,
        alarm: Alarm,
        plan: Sequence[Step],
        state: Handling,
        actions: Sequence[handling.Action],
        due: datetime | None,
    ) -> None:
        now = self.clock()
        steps = {
            "steps": [s.as_json() for s in state.steps],
            "verdict_at": _iso(state.verdict_at),
            "verdict_why": state.verdict_why,
        }
        await tx.execute(
            "UPDATE alarms SET owner = ?, taken_at = ?, acked_at = ?, acked_by = ?, escalated_at = ?,"
            " verdict = ?, steps = ?, closed_at = ?, closed_by = ?, outcome = ?, reason = ?, due_at = ?,"
            " plan = ?, updated_at = ? WHERE id = ?",
            (
                state.owner,
                _iso(state.taken_at),
                _iso(state.acked_at),
                state.acked_by,
                _iso(state.escalated_at),
                state.verdict,
                json.dumps(steps),
                _iso(state.closed_at),
                state.closed_by,
                state.outcome,
                state.reason,
                _iso(due),
                json.dumps([s.as_json() for s in plan]),
                now.isoformat(),
                alarm.id,
            ),
        )
        for action in actions:
            if isinstance(action, handling.Log):
                await self._log(tx, alarm.id, action.kind, action.who, action.text)
            elif isinstance(action, handling.Audit):
                await record(tx, now, action.who, action.action, f"alarm:{alarm.id}", action.detail)

    async def ack(self, alarm_id: int, user: str) -> Alarm:
        return await self._handle(alarm_id, handling.Ack(user))

    async def take(self, alarm_id: int, user: str, *, override: bool = False) -> Alarm:
        """Ownership is exclusive; a supervisor may take over (``override``). Taking acknowledges."""
        return await self._handle(alarm_id, handling.Take(user, override))

    async def check_step(self, alarm_id: int, user: str, step: int) -> Alarm:
        return await self._handle(alarm_id, handling.Done(user, step))

    async def skip_step(self, alarm_id: int, user: str, step: int, reason: str) -> Alarm:
        return await self._handle(alarm_id, handling.Skip(user, step, reason))

    async def call_outcome(
        self, alarm_id: int, user: str, step: int, callee: int, outcome: str, phone: str = ""
    ) -> Alarm:
        """``phone``: the number the operator saw (refused when the list changed under them)."""
        return await self._handle(alarm_id, handling.Called(user, step, callee, outcome, phone))

    async def threat_heard(self, alarm_id: int, user: str) -> Alarm:
        """The owner heard a threat on the listen-in: escalated (police)."""
        return await self._handle(alarm_id, handling.ThreatHeard(user))

    async def hand_over(self, alarm_id: int, user: str, to: str) -> Alarm:
        return await self._handle(alarm_id, handling.HandOver(user, to))

    async def close(self, alarm_id: int, user: str, outcome: str, reason: str) -> Alarm:
        """Only the owner closes, with an outcome and its reason code, after every required step."""
        return await self._handle(alarm_id, handling.Close(user, outcome, reason))

    async def tick(self) -> list[int]:
        """Wake every open alarm whose stored deadline has passed; returns those that changed."""
        rows = await self.db.all(
            "SELECT id FROM alarms WHERE closed_at IS NULL AND due_at IS NOT NULL AND due_at <= ?",
            (self.clock().isoformat(),),
        )
        changed = []
        for (alarm_id,) in rows:
            before = await self.alarm(int(alarm_id))
            after = await self._handle(int(alarm_id), handling.Tick())
            if before is None or after.updated_at != before.updated_at:
                changed.append(int(alarm_id))
        return changed

    async def note(self, alarm_id: int, user: str, text: str) -> None:
        text = text.strip()[:2000]
        if not text:
            raise DeskError("an empty note was not saved")
        await self.add_log(alarm_id, "note", user, text)

    async def add_log(
        self, alarm_id: int, kind: str, who: str, text: str, audit: str | None = None, *, once: bool = False
    ) -> bool:
        """A line on the alarm's timeline and in the audit log (as ``audit``, else ``kind``):
        a note, or what another feature did about the alarm (the mobile panic button's
        microphone going off, what the police were given). ``once``: not when the alarm has a
        line of this kind already (checked under the writer lock: once across receivers)."""
        if await self.alarm(alarm_id) is None:
            raise DeskError(f"there is no alarm {alarm_id}")
        async with self.db.transaction() as tx:
            if once and await tx.one(
                "SELECT 1 FROM alarm_log WHERE alarm = ? AND kind = ?", (alarm_id, kind)
            ):
                return False
            await self._log(tx, alarm_id, kind, who, text)
            await record(tx, self.clock(), who, audit or kind, f"alarm:{alarm_id}", text)
        self._changed(alarm_id)
        return True


def _what(code: str | None, zone: str | None, entry: SiteEntry) -> str:
    """ "BA zone 13 Bedroom window (bedroom, first floor)": code, zone number and its name."""
    where = zone_words(zone, entry.zone(zone))
    return f"{code or '?'}{f' {where}' if where else ''}"
