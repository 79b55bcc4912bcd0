"""Group commit: concurrent events share one COMMIT, each caller returns only once its event is
durable, retransmissions are stored once, and the store's listeners hear of every new event."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from receiver import sqlite_store
from receiver.committer import EventCommitter
from receiver.sqlite_store import SqliteEventStore
from receiver.store import NewEvent


def _event(seq: int, account: str = "0471", data: str = "#0471|Nri1/BA01") -> NewEvent:
    return NewEvent(site="demo-home", account=account, sequence=seq, token="SIA-DCS", data=data,
                    code="BA", zone="01", extended=(("X", "1"),), encrypted=True, peer="t")


def _rows(path: Path) -> list[tuple[int, int]]:
    """What another connection (a crash-and-restart) sees: only committed rows."""
    with sqlite3.connect(path) as db:
        return [(int(r[0]), int(r[1])) for r in db.execute("SELECT id, sequence FROM events ORDER BY id")]


async def test_concurrent_events_share_one_commit_and_are_durable_on_return(tmp_path: Path) -> None:
    added: list[int] = []
    async with SqliteEventStore(tmp_path / "r.db") as store:
        store.on_added(added.append)
        committer = EventCommitter(store)
        results = await asyncio.gather(*(committer.add(_event(seq)) for seq in range(1, 9)))
        assert results == [(i, False) for i in range(1, 9)]
        assert committer.commits == 1
        assert _rows(tmp_path / "r.db") == [(i, i) for i in range(1, 9)]
        assert added == list(range(1, 9))


async def test_a_retransmission_is_stored_once_within_and_across_batches(tmp_path: Path) -> None:
    added: list[int] = []
    async with SqliteEventStore(tmp_path / "r.db") as store:
        store.on_added(added.append)
        committer = EventCommitter(store)
        (first, new1), (again, dup1), (other, new2) = await asyncio.gather(
            committer.add(_event(5)), committer.add(_event(5)), committer.add(_event(6)))
        assert (again, new1, dup1, new2) == (first, False, True, False) and other > first
        assert await committer.add(_event(5)) == (first, True)
        later, new3 = await committer.add(_event(5, data="#0471|Nri1/BA02"))  # same sequence, new body
        assert not new3 and later > other
        assert added == [first, other, later]
        assert [e.sequence for e in await store.events()] == [5, 6, 5]


async def test_events_arriving_during_a_commit_go_in_the_next_one(tmp_path: Path) -> None:
    async with SqliteEventStore(tmp_path / "r.db") as store:
        committer = EventCommitter(store)
        first = asyncio.ensure_future(committer.add(_event(1)))
        await asyncio.sleep(0.001)  # the first batch is on its way to disk
        later = await asyncio.gather(*(committer.add(_event(seq)) for seq in range(2, 6)))
        assert await first == (1, False)
        assert later == [(i, False) for i in range(2, 6)]
        assert committer.commits == 2


async def test_a_failed_commit_acks_nobody_and_the_next_batch_works(tmp_path: Path) -> None:
    async with SqliteEventStore(tmp_path / "r.db") as store:
        committer = EventCommitter(store)
        await store.db.execute("CREATE TRIGGER no_9 BEFORE INSERT ON events WHEN NEW.sequence = 9"
                               " BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
        await store.db.commit()
        outcome = await asyncio.gather(committer.add(_event(8)), committer.add(_event(9)),
                                       return_exceptions=True)
        assert all(isinstance(o, sqlite3.DatabaseError) for o in outcome)
        assert _rows(tmp_path / "r.db") == []
        [(_, duplicate)] = await asyncio.gather(committer.add(_event(10)))
        assert not duplicate and [seq for _, seq in _rows(tmp_path / "r.db")] == [10]


def test_recent_keys_expire_with_the_window_and_a_flood_shortens_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store, "MAX_RECENT", 3)
    recent = sqlite_store.RecentEvents(window=60)
    recent.add("a", 1, 0.0, "s")
    recent.add("b", 2, 30.0, "s")
    assert recent.earlier(["a", "b", "c"], 59.0) == {"a": 1, "b": 2}
    assert recent.earlier(["a", "b"], 61.0) == {"b": 2}  # "a" is older than the window
    recent.add("c", 3, 62.0, "s")
    recent.add("d", 4, 63.0, "s")
    recent.add("e", 5, 64.0, "s")  # a fourth key: the oldest ("b") goes, memory stays bounded
    assert recent.earlier(["b", "c", "d", "e"], 65.0) == {"c": 3, "d": 4, "e": 5}
    assert recent.shrunk


async def test_a_panic_is_committed_before_submit_returns_ahead_of_the_crowd(tmp_path: Path) -> None:
    """The alarm lane on SQLite: the panic's commit is done when ``submit`` returns, ahead of
    the frames still waiting for theirs, and the desk is woken after it."""
    async with SqliteEventStore(tmp_path / "r.db") as store:
        committer = EventCommitter(store)
        woken: list[list[tuple[int, int]]] = []
        committer.on_urgent.append(lambda: woken.append(_rows(tmp_path / "r.db")))
        crowd = [committer.submit(_event(seq)) for seq in range(1, 6)]
        panic = committer.submit(replace(_event(6, data="#0471|Nri1/PA02"), code="PA"))
        assert panic.done() and panic.result() == (1, False)
        assert _rows(tmp_path / "r.db") == [(1, 6)]  # durable: another connection sees it
        assert woken == [[(1, 6)]]
        assert not any(f.done() for f in crowd)
        await asyncio.wait_for(asyncio.gather(*crowd), 5)
        assert [e.sequence for e in await store.events()] == [6, 1, 2, 3, 4, 5]
        assert committer.commits == 2


async def test_a_panic_waiting_for_the_writer_turn_gets_the_next_commit_to_itself(tmp_path: Path) -> None:
    """When the store cannot commit at once (a console transaction holds the file), the panic
    still does not join the crowd that gathers: the next commit is its own."""
    async with SqliteEventStore(tmp_path / "r.db") as store:
        committer = EventCommitter(store)
        woken: list[int] = []
        committer.on_urgent.append(lambda: woken.append(committer.commits))
        await store.writer_turn.acquire()  # as the console does for its transaction
        first = committer.submit(_event(1))
        async with asyncio.timeout(5):
            while committer._waiting:  # the flush took the first event and waits for the turn
                await asyncio.sleep(0)
        crowd = [committer.submit(_event(seq)) for seq in range(2, 7)]
        # submit is synchronous: the panic was handled (and found the writer turn taken) by now
        panic = committer.submit(replace(_event(7, data="#0471|Nri1/PA02"), code="PA"))
        assert not panic.done() and _rows(tmp_path / "r.db") == []
        store.writer_turn.release()
        await asyncio.wait_for(asyncio.gather(first, *crowd, panic), 5)
        assert [e.sequence for e in await store.events()] == [1, 7, 2, 3, 4, 5, 6]
        assert committer.commits == 3 and woken == [2]  # after the panic's own commit
