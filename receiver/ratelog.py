"""Logs that a flood cannot turn into a flood of lines: one line per kind per interval.

Every occurrence is still counted (the handler's counters); the log says what happened and,
on its next line, how many like it were held back.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

__all__ = ["QuietLog"]


class QuietLog:
    """``quiet(logging.WARNING, "kind", "text %s", arg)``: at most one line per kind per interval.

    Kinds are a small fixed vocabulary (never a peer address), so the state stays bounded.
    """

    def __init__(self, logger: logging.Logger, interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.interval, self.clock = logger, interval, clock
        self._next: dict[str, float] = {}
        self.held: Counter[str] = Counter()

    def __call__(self, level: int, kind: str, msg: str, *args: object) -> None:
        now = self.clock()
        if now < self._next.get(kind, 0.0):
            self.held[kind] += 1
            return
        self._next[kind] = now + self.interval
        held = self.held.pop(kind, 0)
        if held:
            msg, args = f"{msg} (and {held} more like it in the last %.0f s)", (*args, self.interval)
        self.logger.log(level, msg, *args)
