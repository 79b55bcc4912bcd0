"""A store, the console database and an alarm desk with a movable clock, on each back end.

Every test that takes ``store_url`` (directly, or through ``desk``) runs twice: on SQLite and
on PostgreSQL. The PostgreSQL server is started once per session in a throwaway directory
and each test gets a fresh database on it. PostgreSQL tests are skipped only when the
server binaries are missing (``make test`` installs them), and the summary says so.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from config.receiver import DEFAULT_PLANS, Account, PlanStep, ReceiverConfig
from receiver.db import Database
from receiver.desk import AlarmDesk
from receiver.service import open_storage
from receiver.sitebook import SiteBook
from receiver.store import EventStore, NewEvent
from tests.receiver.pg_server import PG_GLOB, PgServer, find_bin

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
BACKENDS = ["sqlite", "postgresql"]
PG_MISSING = f"PostgreSQL server binaries not found ({PG_GLOB}); `make test` installs package postgresql"
_databases = itertools.count(1)


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if find_bin() is None:
        terminalreporter.write_line(f"receiver store tests on PostgreSQL SKIPPED: {PG_MISSING}", yellow=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = find_bin()
    if bin_dir is None:
        pytest.skip(PG_MISSING)
    with PgServer(bin_dir) as server:
        yield server


@pytest.fixture
async def pg_database(pg_server: PgServer) -> AsyncIterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    name = f"t{next(_databases)}"
    admin = await asyncpg.connect(pg_server.url())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield pg_server.url(name)
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_database"))
    return f"sqlite://{tmp_path / 'receiver.db'}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def desk(store_url: str, clock: Clock) -> AsyncIterator[Desk]:
    store, db = open_storage(ReceiverConfig(store=store_url), clock)
    async with store, db:
        book = SiteBook(db, clock, DEFAULT_PLANS)
        desk = AlarmDesk(db, clock, book)
        await desk.migrate()
        await book.import_config(ReceiverConfig(store=store_url, accounts=ACCOUNTS))
        yield Desk(store, desk, db, clock)
