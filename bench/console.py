"""Console timings at ARC scale: 1,000 sites, 1,000,000 stored events, 300 open alarms.

Measures, through real HTTP with a signed-in operator, the median time of the queue page and
of a site's history page (newest 100, and a search). Target (issue 6): under 100 ms each.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.receiver import Account, ReceiverConfig
from receiver.auth import Role
from receiver.service import Receiver

SITES, EVENTS, OPEN_ALARMS, RUNS = 1_000, 1_000_000, 300, 30
CODES = ["CL", "OP", "RP", "BA", "BH", "TA", "TR", "PA", "PH", "FA", "AT", "AR"]


def _config(tmp: Path) -> ReceiverConfig:
    accounts = [
        Account(account=f"{i:04X}", site=f"site-{i:04d}", name=f"Woning {i}") for i in range(1, SITES + 1)
    ]
    cfg = ReceiverConfig(accounts=accounts, store=f"sqlite://{tmp / 'bench.db'}")
    return cfg.model_copy(
        update={"listen": ["tcp://127.0.0.1:0"], "http": cfg.http.model_copy(update={"port": 0})}
    )


def _fill(path: Path) -> None:
    """Bulk-load events and open alarms straight into the schema the receiver created."""
    rng = random.Random(6)
    start = datetime.now(UTC) - timedelta(days=90)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    rows = []
    for i in range(EVENTS):
        site = rng.randrange(1, SITES + 1)
        code, zone = rng.choice(CODES), f"{rng.randrange(1, 20):02d}"
        at = (start + timedelta(seconds=i * 7.7)).isoformat()
        rows.append(
            (
                f"site-{site:04d}",
                f"{site:04X}",
                at,
                i % 10000,
                "SIA-DCS",
                code,
                zone,
                f"#{site:04X}|Nri1/{code}{zone}",
                "[]",
                1,
                "tcp",
                "bench",
                f"d{i}",
            )
        )
    db.executemany(
        "INSERT INTO events (site, account, received_at, sequence, token, code, zone, data, extended,"
        " encrypted, transport, peer, dedup) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    now = datetime.now(UTC).isoformat()
    db.executemany(
        "INSERT INTO alarms (site, priority, title, opened_at, updated_at) VALUES (?,?,?,?,?)",
        [
            (f"site-{s:04d}", rng.randrange(1, 8), "burglary: BA zone 01", now, now)
            for s in rng.sample(range(1, SITES + 1), OPEN_ALARMS)
        ],
    )
    db.execute("INSERT OR REPLACE INTO desk_cursor (name, event_id) VALUES ('events', ?)", (EVENTS,))
    db.commit()
    db.close()


async def _median(http: aiohttp.ClientSession, url: str) -> float:
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        async with http.get(url) as resp:
            assert resp.status == 200, (url, resp.status)
            await resp.read()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _config(Path(tmp))
        async with Receiver(cfg):
            pass  # creates the schema
        began = time.perf_counter()
        _fill(cfg.store_path)
        print(f"loaded {EVENTS:,} events for {SITES:,} sites in {time.perf_counter() - began:.1f} s")
        async with Receiver(cfg) as receiver:
            await receiver.accounts.add_user("bench", Role.OPERATOR, "bench-password")
            base = f"http://127.0.0.1:{receiver.http_port}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                await http.post(f"{base}/login", data={"user": "bench", "password": "bench-password"})
                results = {
                    f"queue page ({OPEN_ALARMS} open alarms)": await _median(http, f"{base}/"),
                    "queue rows (live refresh)": await _median(http, f"{base}/queue/rows"),
                    "site history page (newest 100)": await _median(http, f"{base}/sites/site-0500"),
                    "site history search (code FA)": await _median(http, f"{base}/sites/site-0500?q=FA"),
                    "sites board (1,000 sites)": await _median(http, f"{base}/sites"),
                }
    for name, ms in results.items():
        print(f"{name:40s} median {ms:7.1f} ms {'ok' if ms < 100 else 'OVER 100 ms'}")


if __name__ == "__main__":
    asyncio.run(main())
