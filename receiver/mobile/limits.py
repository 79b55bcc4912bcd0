"""Budgets for what phones send: token buckets per key, in memory (a phone talks to one receiver)."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

__all__ = ["Bucket", "PhoneLimits"]


class Bucket:
    """``rate`` per second on average, ``burst`` at once, per key; at most ``keys`` keys kept."""

    def __init__(self, rate: float, burst: float, keys: int = 10_000) -> None:
        self.rate, self.burst, self.keys = rate, burst, keys
        self._levels: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, cost: float = 1.0, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        level, last = self._levels.pop(key, (self.burst, now))
        level = min(self.burst, level + (now - last) * self.rate)
        ok = level >= cost
        self._levels[key] = (level - cost if ok else level, now)
        while len(self._levels) > self.keys:
            self._levels.popitem(last=False)
        return ok


@dataclass
class PhoneLimits:
    """What one receiver lets phones do: presses and position posts per device, enrolment
    attempts per address (a link's secret cannot be guessed; this keeps the log quiet)."""

    presses: Bucket = field(default_factory=lambda: Bucket(rate=6 / 60, burst=6))
    positions: Bucket = field(default_factory=lambda: Bucket(rate=1.0, burst=20))
    enrols: Bucket = field(default_factory=lambda: Bucket(rate=10 / 600, burst=10))
