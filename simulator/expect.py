"""Checking a scenario's expectations against what the alarm centre and the panel show."""

from __future__ import annotations

import asyncio
import time

from protocol import mqtt
from simulator.scenario import ExpectStep
from simulator.target import Seen, Target, Unsupported

__all__ = ["ExpectationFailed", "check", "describe_panel", "matches"]

POLL = 0.05
SETTLE = 0.3  # after an exact count is reached, wait this long for extra (duplicate) events


class ExpectationFailed(AssertionError):
    """The expectation did not hold; ``seen`` says what was there instead."""

    def __init__(self, seen: str) -> None:
        super().__init__(seen)
        self.seen = seen


def matches(step: ExpectStep, event: Seen) -> bool:
    return (
        (step.code is None or event.code == step.code)
        and (step.zone is None or event.zone == step.zone)
        and (step.text is None or step.text.lower() in event.text.lower())
    )


async def check(step: ExpectStep, target: Target) -> None:
    """Return when the expectation holds; raise ExpectationFailed when it cannot any more."""
    kinds = {"event": _event, "no_event": _no_event, "panel": _panel, "order": _order,
             "outbox_empty": _outbox_empty}
    await kinds[step.expect](step, target)


async def _event(step: ExpectStep, target: Target) -> None:
    deadline = time.monotonic() + step.within.total_seconds()
    while True:
        found = [e for e in await target.events() if matches(step, e)]
        wanted = step.count or 1
        if step.count is not None and len(found) > step.count:
            raise ExpectationFailed(f"{len(found)} matching events arrived, expected exactly {step.count}")
        if len(found) >= wanted:
            if step.count is not None:
                await asyncio.sleep(SETTLE)
                again = [e for e in await target.events() if matches(step, e)]
                if len(again) != step.count:
                    raise ExpectationFailed(
                        f"{len(again)} matching events arrived, expected exactly {step.count}")
            return
        if time.monotonic() >= deadline:
            got = f"{len(found)} of {wanted} " if step.count else ""
            raise ExpectationFailed(f"{got}not seen within {step.within.total_seconds():g}s")
        await asyncio.sleep(POLL)


async def _no_event(step: ExpectStep, target: Target) -> None:
    deadline = time.monotonic() + step.for_.total_seconds()
    while True:
        found = [e for e in await target.events() if matches(step, e)]
        if found:
            first = found[0]
            raise ExpectationFailed(f"it arrived: {first.code} zone {first.zone} {first.text[:60]!r}")
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(POLL)


def _panel_ok(step: ExpectStep, state: mqtt.PanelState | None) -> bool:
    if state is None:
        return False
    return (step.state is None or state.state == step.state) and set(step.faults) <= set(state.faults)


async def _panel(step: ExpectStep, target: Target) -> None:
    deadline = time.monotonic() + step.within.total_seconds()
    while not _panel_ok(step, target.remote.panel):
        if time.monotonic() >= deadline:
            raise ExpectationFailed(f"the panel stayed {describe_panel(target.remote.panel)}")
        await asyncio.sleep(POLL)


def _in_order(codes: list[str], events: list[Seen]) -> bool:
    it = iter(e.code for e in events)
    return all(code in it for code in codes)  # each found after the one before


async def _order(step: ExpectStep, target: Target) -> None:
    deadline = time.monotonic() + step.within.total_seconds()
    while not _in_order(step.codes, events := await target.events()):
        if time.monotonic() >= deadline:
            arrived = " ".join(e.code or "--" for e in events) or "nothing"
            raise ExpectationFailed(f"the codes arrived as: {arrived}")
        await asyncio.sleep(POLL)


async def _outbox_empty(step: ExpectStep, target: Target) -> None:
    deadline = time.monotonic() + step.within.total_seconds()
    while (pending := await target.outbox_pending()) != 0:
        if pending is None:
            raise Unsupported("outbox_empty needs the in-process stack")
        if time.monotonic() >= deadline:
            raise ExpectationFailed(f"{pending} reports still in the outbox")
        await asyncio.sleep(POLL)


def describe_panel(state: mqtt.PanelState | None) -> str:
    if state is None:
        return "unknown (no panel state published)"
    faults = ", ".join(state.faults) or "none"
    return f"{state.state} (faults: {faults}; open: {', '.join(state.open_zones) or 'none'})"
