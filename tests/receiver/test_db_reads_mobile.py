"""Reads outside a transaction never break another task's transaction on the same SQLite
connection (found under the mobile bench's load: 'database is locked' at BEGIN IMMEDIATE)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from config.receiver import ReceiverConfig
from receiver.service import open_storage
from receiver.store import NewEvent


async def test_mobile_reads_between_event_commits_and_transactions(tmp_path: Path) -> None:
    store, db = open_storage(ReceiverConfig(store=f"sqlite://{tmp_path / 'r.db'}"))
    async with store, db:
        async with db.transaction() as tx:
            for i in range(50):
                await tx.execute("INSERT INTO audit (at, who, action) VALUES ('t', 'x', ?)", (str(i),))

        async def reader() -> int:
            rows = 0
            for _ in range(300):
                rows += len(await db.all("SELECT id, action FROM audit"))
            return rows

        async def writer() -> int:
            for i in range(300):
                await store.add(NewEvent(site="s", account="1234", sequence=i % 9999, token="SIA-DCS",
                                         data=f"#1234|NRP{i}"))
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO audit (at, who, action) VALUES ('t', 'w', ?)", (str(i),))
            return 300

        read, written = await asyncio.gather(reader(), writer())
        assert read >= 300 * 50 and written == 300
