"""A store written by the previous version (one open alarm per site, steps as done indexes)
keeps working after the upgrade: migrated at start, rows kept, handled to the end."""

from __future__ import annotations

from pathlib import Path

from config.receiver import DEFAULT_PLANS, ReceiverConfig
from receiver.alarms import AlarmClass, Response
from receiver.db import Database, SqliteDatabase
from receiver.desk import AlarmDesk
from receiver.pg_db import PgDatabase
from receiver.service import SCHEMAS, open_storage
from receiver.sitebook import SiteBook
from tests.receiver.conftest import ACCOUNTS, START, Clock, Desk

# receiver/desk.py's DESK_SCHEMA before issue 20, verbatim
PREVIOUS_DESK_SCHEMA = """
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


def _previous(store_url: str) -> Database:
    if store_url.startswith("sqlite://"):
        return SqliteDatabase(Path(store_url.removeprefix("sqlite://")), [PREVIOUS_DESK_SCHEMA])
    return PgDatabase(store_url, [PREVIOUS_DESK_SCHEMA])


async def test_a_store_of_the_previous_version_is_migrated_and_its_open_alarm_handled(
    store_url: str, clock: Clock
) -> None:
    at = START.isoformat()
    async with _previous(store_url) as old, old.transaction() as tx:
        await tx.execute(
            "INSERT INTO alarms (site, priority, title, opened_at, updated_at, owner, taken_at, steps)"
            " VALUES (?,?,?,?,?,?,?,?)",
            ("demo-home", 1, "hold-up / panic: PA zone 02", at, at, "olga", at, "[0]"),
        )
        await tx.execute(
            "INSERT INTO alarms (site, priority, title, opened_at, updated_at, closed_at, closed_by, outcome)"
            " VALUES (?,?,?,?,?,?,?,?)",
            ("plain-home", 4, "fire: FA zone 20", at, at, at, "olga", "false"),
        )

    store, db = open_storage(ReceiverConfig(store=store_url), clock)
    assert set(SCHEMAS)  # the new schema scripts run on the old tables without error
    async with store, db:
        book = SiteBook(db, clock, DEFAULT_PLANS)
        desk = AlarmDesk(db, clock, book)
        assert "response" in await desk.migrate()
        assert await desk.migrate() == []  # a second start: nothing to do
        await book.import_config(ReceiverConfig(store=store_url, accounts=ACCOUNTS))
        [panic] = await desk.queue()
        assert (panic.response, panic.opened_as, panic.owner) == (Response.HOLDUP, AlarmClass.HOLDUP, "olga")
        assert panic.handling.state_of(0).status == "done"  # "[0]": step 1 was ticked
        fire = await desk.alarm(panic.id + 1)
        assert fire is not None and (fire.response, fire.outcome) == (Response.FIRE, "false")

        d = Desk(store, desk, db, clock)
        await d.signal("FA", zone="20")  # the old one-open-alarm-per-site index is gone
        assert [a.response for a in await desk.queue()] == [Response.HOLDUP, Response.FIRE]
        await desk.check_step(panic.id, "olga", 1)  # the plan is the site's plan now
        closed = await desk.close(panic.id, "olga", "false", "user_error")
        assert not closed.is_open and closed.plan is not None
