"""Typed codes are checked against the scrypt hashes off the message path, within a budget.

A check costs tens of milliseconds of CPU per stored hash, so a flood of guesses on the panel's
``set`` topic used to hold every alarm behind it. Now a code is counted against the site's
``panel.code_checks_per_minute`` *before* any hashing (over the budget it is refused unchecked),
queued (at most ``QUEUE`` wait; beyond that refused as busy) and hashed in a worker thread, one
at a time; the checked command then goes to the core like any other input, where one wrong-code
counter and one lockout cover every command.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from agent import panel
from config.pins import verify_pin
from config.site import Site
from protocol import mqtt
from protocol.mqtt_client import still_wanted

__all__ = ["QUEUE", "AttemptBudget", "PinChecks", "match_code"]

log = logging.getLogger(__name__)

QUEUE = 4  # codes waiting for the worker; a keypad user types one at a time
IDLE_WAIT = 60.0  # the worker looks up at least this often (every wait has a timeout)
WINDOW = timedelta(minutes=1)


def match_code(site: Site, code: str) -> panel.EnteredCode:
    """Checks every stored hash, so the time taken never tells a duress code from a normal one."""
    found = panel.WRONG_CODE
    for user in site.panel.users:
        for duress, stored in ((False, user.pin_hash), (True, user.duress_pin_hash)):
            if stored is not None and verify_pin(code, stored) and found.user is None:
                found = panel.EnteredCode(user.number, duress)
    return found


class AttemptBudget:
    """At most ``limit`` attempts in any ``window`` (a sliding window of attempt times)."""

    def __init__(self, limit: int, window: timedelta = WINDOW) -> None:
        self.limit, self.window = limit, window
        self._times: deque[datetime] = deque()

    def allow(self, now: datetime) -> bool:
        while self._times and now - self._times[0] >= self.window:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True


Refuse = Callable[[mqtt.PanelCommand, str], Awaitable[None]]


class PinChecks:
    """``submit`` from the message loop (never waits), ``run`` in the agent's TaskGroup."""

    def __init__(self, site: Site, clock: Callable[[], datetime],
                 apply: Callable[[panel.Command], Awaitable[None]], refuse: Refuse,
                 counters: Counter[str]) -> None:
        self.site, self.clock = site, clock
        self._apply, self._refuse = apply, refuse
        self._budget = AttemptBudget(site.panel.code_checks_per_minute)
        self._queue: asyncio.Queue[mqtt.PanelCommand] = asyncio.Queue(maxsize=QUEUE)
        self.counters = counters
        self._refusing = False  # one notice per burst of refusals, not one per guess

    async def submit(self, cmd: mqtt.PanelCommand) -> None:
        """Queue a command that carries a code; over the budget or queue it is refused now."""
        if not self._budget.allow(self.clock()):
            await self._refused(cmd, "code_attempts_over_budget", "too many code attempts")
            return
        try:
            self._queue.put_nowait(cmd)
        except asyncio.QueueFull:
            await self._refused(cmd, "code_checks_busy", "code checks busy")
            return
        self._refusing = False
        # the worker takes it now, so one code is being checked and QUEUE more may wait, however
        # the broker batched them (a burst handed over at once would otherwise find QUEUE only)
        await asyncio.sleep(0)

    async def _refused(self, cmd: mqtt.PanelCommand, counter: str, reason: str) -> None:
        self.counters[counter] += 1
        if not self._refusing:
            self._refusing = True
            log.warning("%s: %s refused unchecked (and any more until one is accepted)",
                        reason, cmd.action)
            await self._refuse(cmd, reason)

    async def run(self) -> None:
        while True:
            still_wanted()
            try:
                async with asyncio.timeout(IDLE_WAIT):
                    cmd = await self._queue.get()
            except TimeoutError:
                continue
            entered = await asyncio.to_thread(match_code, self.site, cmd.code or "")
            self.counters["code_checks"] += 1
            await self._apply(panel.Command.from_contract(cmd, entered))
