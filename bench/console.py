"""Console timings at ARC scale: 1,000 sites, 1,000,000 stored events, 300 open alarms.

Measures, through real HTTP with a signed-in operator, the median time of the queue page, the
alert feed every console page polls on each notice, an alarm page and its live update, and a
site's history page (newest 100, and a search). Target (issue 6): under 100 ms each.

    python bench/console.py [--store sqlite|postgresql|both]

PostgreSQL runs as a throwaway local server (the tests' one: initdb, fsync off, which changes
nothing for these reads).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import deadline  # bench/deadline.py: this directory is on sys.path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.receiver import DEFAULT_PLANS, Account, Contact, ReceiverConfig
from receiver.action_plan import resolve_plan
from receiver.alarms import AlarmClass
from receiver.auth import Role
from receiver.service import Receiver

SITES, EVENTS, OPEN_ALARMS, RUNS = 1_000, 1_000_000, 300, 30
CODES = ["CL", "OP", "RP", "BA", "BH", "TA", "TR", "PA", "PH", "FA", "AT", "AR"]


def _config(store: str) -> ReceiverConfig:
    accounts = [
        Account(account=f"{i:04X}", site=f"site-{i:04d}", name=f"Woning {i}") for i in range(1, SITES + 1)
    ]
    cfg = ReceiverConfig(accounts=accounts, store=store)
    return cfg.model_copy(
        update={"listen": ["tcp://127.0.0.1:0"], "http": cfg.http.model_copy(update={"port": 0})}
    )


ALARM_COLUMNS = ("site", "priority", "title", "opened_at", "updated_at", "response", "opened_as", "plan")
COLUMNS = ("site", "account", "received_at", "sequence", "token", "code", "zone", "data", "extended",
           "encrypted", "transport", "peer", "dedup")


def _rows() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The events and the open alarms, the same on both back ends."""
    rng = random.Random(6)
    start = datetime.now(UTC) - timedelta(days=90)
    events: list[tuple[object, ...]] = []
    for i in range(EVENTS):
        site = rng.randrange(1, SITES + 1)
        code, zone = rng.choice(CODES), f"{rng.randrange(1, 20):02d}"
        at = (start + timedelta(seconds=i * 7.7)).isoformat()
        events.append((f"site-{site:04d}", f"{site:04X}", at, i % 10000, "SIA-DCS", code, zone,
                       f"#{site:04X}|Nri1/{code}{zone}", "[]", 1, "tcp", "bench", f"d{i}"))
    now = datetime.now(UTC).isoformat()
    contacts = [Contact(name="Official", role="official", phone="+31 6 1234 5678")]
    alarms: list[tuple[object, ...]] = []
    for s in rng.sample(range(1, SITES + 1), OPEN_ALARMS):
        cls = AlarmClass(rng.randrange(1, 8))
        steps = resolve_plan(DEFAULT_PLANS[cls.response.value], contacts, None)
        plan = json.dumps([step.as_json() for step in steps])
        alarms.append((f"site-{s:04d}", int(cls), f"{cls.label}: BA zone 1", now, now, cls.response.value,
                       int(cls), plan))
    return events, alarms


def _fill_sqlite(path: Path) -> None:
    """Bulk-load events and open alarms straight into the schema the receiver created."""
    events, alarms = _rows()
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    marks = ",".join("?" * len(COLUMNS))
    db.executemany(f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({marks})", events)
    db.executemany(f"INSERT INTO alarms ({', '.join(ALARM_COLUMNS)}) VALUES (?,?,?,?,?,?,?,?)", alarms)
    db.execute("INSERT OR REPLACE INTO desk_cursor (name, event_id) VALUES ('events', ?)", (EVENTS,))
    db.commit()
    db.close()


async def _fill_postgresql(url: str) -> None:
    import asyncpg

    events, alarms = _rows()
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("events", records=events, columns=COLUMNS)
        await conn.copy_records_to_table("alarms", records=alarms, columns=ALARM_COLUMNS)
        await conn.execute("UPDATE desk_cursor SET event_id = $1 WHERE name = 'events'", EVENTS)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


@contextlib.contextmanager
def _store(kind: str) -> Iterator[str]:
    """A store URL: a SQLite file in a temporary directory, or a throwaway PostgreSQL server."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite://{Path(tmp) / 'bench.db'}"
        return
    from tests.receiver.pg_server import PgServer, find_bin

    bin_dir = find_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL server binaries not found (Debian: apt install postgresql)")
    with PgServer(bin_dir) as server:
        yield server.url()


async def _median(http: aiohttp.ClientSession, url: str) -> float:
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        async with http.get(url) as resp:
            assert resp.status == 200, (url, resp.status)
            await resp.read()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


async def _measure(kind: str, store: str) -> dict[str, float]:
    cfg = _config(store)
    async with Receiver(cfg):
        pass  # creates the schema
    began = time.perf_counter()
    if kind == "sqlite":
        _fill_sqlite(cfg.store_path)
    else:
        await _fill_postgresql(store)
    print(f"{kind}: loaded {EVENTS:,} events for {SITES:,} sites in {time.perf_counter() - began:.1f} s")
    async with Receiver(cfg) as receiver:
        await receiver.accounts.add_user("bench", Role.OPERATOR, "bench-password")
        base = f"http://127.0.0.1:{receiver.http_port}"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(f"{base}/login", data={"user": "bench", "password": "bench-password"})
            alarm = (await receiver.desk.queue())[0].id
            return {
                f"queue page ({OPEN_ALARMS} open alarms)": await _median(http, f"{base}/"),
                "queue rows (live refresh)": await _median(http, f"{base}/queue/rows"),
                "alerts (every page, on each notice)": await _median(http, f"{base}/alerts"),
                "alarm page": await _median(http, f"{base}/alarms/{alarm}"),
                "alarm parts (live update in place)": await _median(http, f"{base}/alarms/{alarm}/parts"),
                "site history page (newest 100)": await _median(http, f"{base}/sites/site-0500"),
                "site history search (code FA)": await _median(http, f"{base}/sites/site-0500?q=FA"),
                "sites board (1,000 sites)": await _median(http, f"{base}/sites"),
            }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="sqlite")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    results: dict[str, dict[str, float]] = {}
    for kind in kinds:
        with _store(kind) as store:
            results[kind] = asyncio.run(_measure(kind, store))
    over = False
    for kind, timings in results.items():
        for name, ms in timings.items():
            over |= ms >= 100
            print(f"{kind:10s} {name:40s} median {ms:7.1f} ms {'ok' if ms < 100 else 'OVER 100 ms'}")
    return 1 if over else 0


if __name__ == "__main__":
    deadline.start(900)  # PostgreSQL set-up and two stores of console timings
    sys.exit(main())
