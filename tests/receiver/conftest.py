"""A store, the console database and an alarm desk on one SQLite file, with a movable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.receiver import Account, PlanStep
from receiver.audit import AUDIT_SCHEMA
from receiver.db import Database
from receiver.desk import DESK_SCHEMA, AlarmDesk
from receiver.store import EventStore, NewEvent

START = datetime(2026, 11, 28, 21, 0, 0, tzinfo=UTC)
PLAN = [
    PlanStep(text="Listen in / view camera"),
    PlanStep(text="Call the official back", phone="+31 6 1234 5678"),
    PlanStep(text="Inform the keyholder", required=False),
]
ACCOUNTS = [
    Account.model_validate({"account": "0471", "site": "demo-home", "poll_interval": "90s",
                            "poll_grace": "30s", "action_plan": [p.model_dump() for p in PLAN]}),
    Account.model_validate({"account": "BEEF", "site": "plain-home"}),
]


class Clock:
    """Time that tests move by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class Desk:
    store: EventStore
    desk: AlarmDesk
    db: Database
    clock: Clock
    seq: int = 0

    async def signal(self, code: str, site: str = "demo-home", zone: str = "01") -> int:
        """Store one event as the DC-09 handler would, then let the desk process it."""
        self.seq += 1
        account = "0471" if site == "demo-home" else "BEEF"
        event_id, _ = await self.store.add(NewEvent(
            site=site, account=account, sequence=self.seq, token="SIA-DCS",
            data=f"#{account}|Nri1/{code}{zone}", code=code, zone=zone))
        await self.desk.process()
        return event_id


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def desk(tmp_path: Path, clock: Clock) -> AsyncIterator[Desk]:
    path = tmp_path / "receiver.db"
    async with EventStore(path, clock) as store, Database(path, [DESK_SCHEMA, AUDIT_SCHEMA]) as db:
        plans = {a.site: a.action_plan for a in ACCOUNTS}
        yield Desk(store, AlarmDesk(db, clock, plans), db, clock)
