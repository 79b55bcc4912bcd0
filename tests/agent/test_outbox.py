"""The outbox keeps reports as the panel's own type (one alarm-kind vocabulary end to end), and
the order of the steps whose commits it was given."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

import agent.outbox as outbox_module
from agent.outbox import Outbox
from agent.panel import Report
from protocol.codes import EventKind


async def test_a_report_comes_back_as_it_went_in(tmp_path: Path) -> None:
    report = Report(EventKind.BYPASS, 12, restore=True, user=1, device="door-back", text="x",
                    extended=(("V", "https://arc/e/1"),))
    async with Outbox(tmp_path / "agent.db") as outbox:
        await outbox.commit_step([report])
        item = await outbox.next()
    assert item is not None and item.report == report
    assert isinstance(item.report.kind, EventKind)


async def test_reports_queued_by_the_previous_version_keep_their_meaning(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    async with Outbox(path):
        pass
    with sqlite3.connect(path) as db:  # rows as the version before the one vocabulary wrote them
        db.executemany(
            "INSERT INTO outbox (created_at, urgent, kind, number, restore, text) VALUES (?,?,?,?,?,?)",
            [("2026-01-01T00:00:00+00:00", 0, old, 3, 0, "") for old in ("code_tamper", "unbypass")])
    async with Outbox(path) as outbox:
        first = await outbox.next()
        assert first is not None
        await outbox.remove(first.id)
        second = await outbox.next()
    assert first.report.kind is EventKind.USER_CODE_TAMPER and not first.report.restore
    assert second is not None
    assert (second.report.kind, second.report.restore) == (EventKind.BYPASS, True)


async def test_the_alarm_lanes_commit_lands_after_the_commits_queued_before_it(tmp_path: Path) -> None:
    """``at_once`` commits before it returns (no hand-over to the outbox's thread and back), yet
    never ahead of a step queued before it: the sequence numbers and the panel state show the
    order of the steps."""
    async with Outbox(tmp_path / "agent.db") as outbox:
        gate = threading.Event()
        held = outbox.db.submit(lambda db: gate.wait(10))  # the outbox's thread is busy (a slow fsync)
        before = outbox.commit_step([Report(EventKind.TAMPER, 1)], panel_state="stepped first")
        threading.Timer(0.2, gate.set).start()
        lane = outbox.commit_step([Report(EventKind.PANIC, 2, urgent=True)], panel_state="stepped second",
                                 at_once=True)
        assert isinstance(lane, asyncio.Future) and lane.done()  # committed when commit_step returned
        assert gate.is_set() and await held
        [panic] = await lane
        await before
        assert panic.sequence == 2  # the tamper queued before it took 1
        assert await outbox.get_meta("panel_state") == "stepped second"
        tamper = await outbox.next(urgent=False)
        assert tamper is not None and tamper.sequence == 1


async def test_the_alarm_lane_queues_when_the_outbox_is_stuck(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that hangs must not hang the event loop for longer than AT_ONCE_WAIT: the lane's
    commit is then queued like any other, still in order."""
    monkeypatch.setattr(outbox_module, "AT_ONCE_WAIT", 0.05)
    async with Outbox(tmp_path / "agent.db") as outbox:
        gate = threading.Event()
        held = outbox.db.submit(lambda db: gate.wait(10))
        lane = outbox.commit_step([Report(EventKind.PANIC, 2, urgent=True)], at_once=True)
        assert not lane.done()  # type: ignore[attr-defined]
        gate.set()
        await held
        [panic] = await lane
        assert panic.sequence == 1 and await outbox.pending() == 1


async def test_the_seen_marks_keep_the_newest_and_do_not_grow_for_ever(tmp_path: Path) -> None:
    """Every device event leaves a mark for de-duplication; a chatty sensor must not fill the
    SD card with them: the oldest go, the newest SEEN_KEEP are always kept."""
    async with Outbox(tmp_path / "agent.db") as outbox:
        total = outbox_module.SEEN_KEEP + 3 * outbox_module.SEEN_PRUNE_EVERY
        for start in range(0, total, 100):
            marks = [("motion-hall", f"e{n}") for n in range(start, start + 100)]
            await outbox.commit_step([], also_seen=marks)
        [(count,)] = await outbox.rows("SELECT COUNT(*) FROM seen")
        assert outbox_module.SEEN_KEEP <= count < outbox_module.SEEN_KEEP + outbox_module.SEEN_PRUNE_EVERY
        newest = [("motion-hall", f"e{n}") for n in range(total - outbox_module.SEEN_KEEP, total)]
        assert await outbox.seen_of(newest) == set(newest)
        assert not await outbox.seen_of([("motion-hall", "e0")])
