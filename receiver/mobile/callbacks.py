"""The call-back core's shell: its state per alarm in ``mobile_callbacks``, deadlines woken by
the mobile service's loop, actions carried out as audit rows and notices to the consoles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from receiver.audit import record
from receiver.db import Database
from receiver.mobile.callback import Audit, CallBack, DeEscalate, HandToPolice, Input, Tick, start, step
from receiver.store import Clock

__all__ = ["CallBacks"]

Handover = Callable[[int], Awaitable[str]]  # alarm id -> latest position and recording links


class CallBacks:
    def __init__(self, db: Database, clock: Clock, handover: Handover,
                 changed: Callable[[int], None] = lambda _alarm: None) -> None:
        self.db, self.clock, self.handover, self.changed = db, clock, handover, changed

    async def ensure(self, alarm: int, person: str, phones: tuple[str, ...], opened_at: datetime,
                     answer_within: timedelta) -> None:
        """The alarm's call-back, started once (a second press on the same alarm keeps it)."""
        state = start(alarm, person, phones, opened_at, answer_within)
        async with self.db.transaction() as tx:
            added = await tx.execute(
                "INSERT INTO mobile_callbacks (alarm, person, state, deadline) VALUES (?,?,?,?)"
                " ON CONFLICT (alarm) DO NOTHING",
                (alarm, person, state.to_json(), state.deadline.isoformat() if state.deadline else None),
            )
            if added:
                await record(tx, self.clock(), "system", "callback_started", f"alarm:{alarm}",
                             f"{person}: {', '.join(phones)}; police without an answer by"
                             f" {state.deadline.isoformat() if state.deadline else '-'}")

    async def get(self, alarm: int) -> CallBack | None:
        row = await self.db.one("SELECT state FROM mobile_callbacks WHERE alarm = ?", (alarm,))
        return CallBack.from_json(str(row[0])) if row else None

    async def apply(self, alarm: int, event: Input, now: datetime | None = None) -> CallBack:
        """Step the alarm's call-back (CallBackError when the input is not allowed now)."""
        now = now or self.clock()
        async with self.db.transaction() as tx:
            row = await tx.one("SELECT state FROM mobile_callbacks WHERE alarm = ?", (alarm,))
            if row is None:
                raise LookupError(f"alarm {alarm} has no call-back")
            before = CallBack.from_json(str(row[0]))
            after, actions = step(before, event, now)
            if after == before:
                return after
            await tx.execute(
                "UPDATE mobile_callbacks SET state = ?, deadline = ? WHERE alarm = ?",
                (after.to_json(), after.deadline.isoformat() if after.deadline else None, alarm),
            )
            for action in actions:
                match action:
                    case Audit(who, what, detail):
                        await record(tx, now, who, what, f"alarm:{alarm}", detail)
                    case HandToPolice(reason, by):
                        await record(tx, now, by, "police_handover", f"alarm:{alarm}",
                                     f"{reason}; {await self.handover(alarm)}")
                    case DeEscalate(by):
                        await record(tx, now, by, "callback_verified", f"alarm:{alarm}",
                                     "the person is safe; close the alarm when done")
        self.changed(alarm)
        return after

    async def wake_due(self, now: datetime) -> list[int]:
        """Give ``Tick`` to every call-back whose deadline passed; the alarms that changed."""
        rows = await self.db.all(
            "SELECT alarm FROM mobile_callbacks WHERE deadline IS NOT NULL AND deadline <= ?",
            (now.isoformat(),),
        )
        decided = []
        for (alarm,) in rows:
            if (await self.apply(int(alarm), Tick(), now)).deadline is None:
                decided.append(int(alarm))
        return decided

    async def stop(self, alarm: int) -> None:
        """The alarm closed: no more deadlines (the state stays as evidence)."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE mobile_callbacks SET deadline = NULL WHERE alarm = ?", (alarm,))
