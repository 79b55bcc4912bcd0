"""The local event log keeps at least 1,000 events (EN 50131) and `wachter log` reads them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.eventlog import KEEP, read_log
from agent.outbox import Outbox

T0 = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)


async def _fill(path: Path, count: int) -> None:
    async with Outbox(path) as outbox:  # as the agent writes it: one transaction per step
        for i in range(count):
            await outbox.commit_step([], log=[("input", f"door-front: open #{i}")],
                                     at=T0 + timedelta(seconds=i))


async def test_keeps_the_newest_entries_and_far_more_than_a_thousand(tmp_path: Path) -> None:
    db = tmp_path / "agent.db"
    await _fill(db, KEEP + 1200)
    lines = read_log(db, limit=KEEP + 5000)
    assert KEEP <= len(lines) <= KEEP + 500  # pruned in batches, never below KEEP
    assert lines[-1].text == f"door-front: open #{KEEP + 1199}"
    assert [ln.id for ln in lines] == sorted(ln.id for ln in lines)


async def test_wachter_log_filters_and_prints_json(tmp_path: Path) -> None:
    db = tmp_path / "agent.db"
    await _fill(db, 30)
    result = subprocess.run(
        [sys.executable, "-m", "wachter.cli", "log", "--db", str(db), "--grep", "#2", "--json",
         "--since", (T0 + timedelta(seconds=20)).isoformat()],
        capture_output=True, text=True, timeout=30, check=True,
    )
    texts = [json.loads(line)["text"] for line in result.stdout.splitlines()]
    assert texts == [f"door-front: open #{i}" for i in range(20, 30)]


def test_wachter_log_on_a_missing_database_says_so(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "wachter.cli", "log", "--db", str(tmp_path / "x.db")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "cannot read the event log" in result.stderr
