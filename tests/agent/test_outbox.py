"""The outbox keeps reports as the panel's own type: one alarm-kind vocabulary end to end."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
