"""Code checks: a budget before any hashing, a bounded queue, the checked command in order."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from agent import panel
from agent.pin_checks import QUEUE, AttemptBudget, PinChecks
from protocol import mqtt
from tests.panel.harness import RESIDENT, WRONG, example_site, tuned

T0 = datetime(2025, 3, 3, 22, 0, tzinfo=UTC)


def test_the_budget_is_a_sliding_window() -> None:
    budget = AttemptBudget(3, timedelta(minutes=1))
    assert [budget.allow(T0 + timedelta(seconds=s)) for s in (0, 1, 2, 3)] == [True, True, True, False]
    assert not budget.allow(T0 + timedelta(seconds=59))
    assert budget.allow(T0 + timedelta(seconds=60))  # the first attempt left the window


async def test_over_the_budget_or_the_queue_codes_are_refused_unhashed() -> None:
    site = tuned(example_site(), code_checks_per_minute=QUEUE + 3)
    applied: list[panel.Command] = []
    refused: list[str] = []
    gate = asyncio.Event()

    async def apply(cmd: panel.Command) -> None:
        applied.append(cmd)
        await gate.wait()  # the core is busy: later codes wait in the queue

    async def refuse(cmd: mqtt.PanelCommand, reason: str) -> None:
        refused.append(reason)

    counters: Counter[str] = Counter()
    checks = PinChecks(site, lambda: T0, apply, refuse, counters)
    commands = [mqtt.PanelCommand(action="DISARM", code=c) for c in (RESIDENT, *[WRONG] * 12)]
    async with asyncio.TaskGroup() as tg:
        worker = tg.create_task(checks.run())
        await checks.submit(commands[0])
        async with asyncio.timeout(10):
            while not applied:  # the first is checked and being applied
                await asyncio.sleep(0.01)
        for cmd in commands[1:]:
            await checks.submit(cmd)
        assert counters["code_checks_busy"] == 2  # QUEUE wait; the budget left 2 more
        assert counters["code_attempts_over_budget"] == 12 - QUEUE - 2
        assert refused == ["code checks busy"]  # one notice per burst
        gate.set()
        async with asyncio.timeout(10):
            while len(applied) < 1 + QUEUE:
                await asyncio.sleep(0.01)
        worker.cancel()
    assert applied[0].code == panel.EnteredCode(1, duress=False)
    assert [c.code for c in applied[1:]] == [panel.WRONG_CODE] * QUEUE
