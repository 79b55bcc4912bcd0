"""A stuck PostgreSQL (a lock held by another connection) fails the commit after
``limits.database_timeout``: no ACK, counted, and the sender's retransmission is ACKed once
the database moves again. Before the timeout, every ACK waited for ever."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from config.receiver import Account, Limits, ReceiverConfig
from protocol.dc09 import Dc09Key, Message, decode, encode
from receiver.auth import Accounts, Role
from receiver.handler import FrameHandler
from receiver.service import open_storage
from receiver.supervision import LinkBook

KEY_HEX = "C73EC203BC231D91C3EEBBC4751A55E9"
KEY = Dc09Key.from_hex(KEY_HEX)
ACCOUNTS = [Account.model_validate({"account": "0471", "site": "demo-home", "key": f"hex:{KEY_HEX}"})]
PATIENCE = 20.0  # the test's own bound; the receiver's timeout is 1 s


def _frame(seq: int) -> bytes:
    return encode(Message("SIA-DCS", seq, "0471", receiver="1", prefix="0", data="#0471|Nri1/PA02",
                          timestamp=datetime.now(UTC), encrypted=True), KEY)


async def test_a_locked_events_table_fails_the_commit_instead_of_holding_every_ack(pg_database: str) -> None:
    config = ReceiverConfig(store=pg_database, limits=Limits(database_timeout="1s"))
    store, db = open_storage(config)
    async with store, db:
        handler = FrameHandler(ACCOUNTS, store, LinkBook(), lambda: datetime.now(UTC))
        blocker = await asyncpg.connect(pg_database)
        try:
            locked = blocker.transaction()
            await locked.start()
            await blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")  # e.g. a stuck migration
            async with asyncio.timeout(PATIENCE):  # the test's bound: a CancelledError inside
                with pytest.raises(TimeoutError):  # the receiver's own timeout
                    await handler.handle(_frame(1), transport="tcp", peer="t")
            assert handler.counters["commit_failed"] == 1 and handler.counters["ack"] == 0
            await locked.rollback()
        finally:
            await blocker.close()
        reply = await asyncio.wait_for(handler.handle(_frame(1), transport="tcp", peer="t"), PATIENCE)
        assert reply is not None and decode(reply, lambda _a: [KEY]).token == "ACK"
        assert [e.sequence for e in await store.events()] == [1]
        await handler.committer.aclose()


async def test_a_held_writer_lock_fails_a_console_write_instead_of_hanging_it(pg_database: str) -> None:
    config = ReceiverConfig(store=pg_database, limits=Limits(database_timeout="1s"))
    _, db = open_storage(config)
    async with db:
        accounts = Accounts(db, lambda: datetime.now(UTC))
        blocker = await asyncpg.connect(pg_database)
        try:
            await blocker.execute("SELECT pg_advisory_lock($1)", 0x57_41_43_48_00_02)  # the writer lock
            async with asyncio.timeout(PATIENCE):
                with pytest.raises(TimeoutError):
                    await accounts.add_user("olga", Role.OPERATOR, "x" * 12)
        finally:
            await blocker.close()
        await accounts.add_user("olga", Role.OPERATOR, "x" * 12)
        assert await accounts.users() == [("olga", Role.OPERATOR)]
