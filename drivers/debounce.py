"""Signal qualification for GPIO inputs in our own code: a level counts once it has been stable.

Why callbacks and asyncio timers rather than polling: edges arrive in a gpiozero thread and are
handed to the loop with ``call_soon_threadsafe``; each edge (re)starts a timer, and when the timer
expires the pin is *read* and compared with the last reported level. That costs nothing while the
house is quiet, reacts within ``stable_for`` of the last bounce, and never trusts a backend's
``bounce_time`` (mock pins ignore it; RPi.GPIO can still fire a spurious edge). ``reconcile`` is a
cheap slow poll that catches an edge the backend missed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["MAX_STABLE_FOR", "Change", "QualifiedInput"]

# EN 50131 wants a 400 ms signal recognised; stay well inside that
MAX_STABLE_FOR = 0.2


@dataclass(frozen=True)
class Change:
    """A qualified change: the new level and when the last edge before it happened."""

    active: bool
    at: float  # monotonic seconds of the edge
    ts: datetime  # wall-clock (UTC) time of the edge


class QualifiedInput:
    """Wraps a gpiozero input device; calls ``on_change`` once per qualified level change."""

    def __init__(
        self,
        device: Any,
        on_change: Callable[[Change], None],
        *,
        loop: asyncio.AbstractEventLoop,
        stable_for: float = 0.05,
    ) -> None:
        if not 0 < stable_for <= MAX_STABLE_FOR:
            raise ValueError(f"debounce must lie in (0, {MAX_STABLE_FOR}] s, got {stable_for}")
        self._device = device
        self._on_change = on_change
        self._loop = loop
        self._stable_for = stable_for
        self._timer: asyncio.TimerHandle | None = None
        self._edge = (time.monotonic(), datetime.now(UTC))
        self.active = bool(device.is_active)
        device.when_activated = self._from_thread
        device.when_deactivated = self._from_thread

    def _from_thread(self) -> None:
        edge = (time.monotonic(), datetime.now(UTC))
        self._loop.call_soon_threadsafe(self._on_edge, edge)

    def _on_edge(self, edge: tuple[float, datetime]) -> None:
        self._edge = edge
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(self._stable_for, self._qualify)

    def _qualify(self) -> None:
        self._timer = None
        level = bool(self._device.is_active)
        if level != self.active:
            self.active = level
            self._on_change(Change(level, *self._edge))

    def reconcile(self) -> None:
        """Re-read the pin; a level that differs with no timer running starts qualification."""
        if self._timer is None and bool(self._device.is_active) != self.active:
            self._on_edge((time.monotonic(), datetime.now(UTC)))

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._device.when_activated = None
        self._device.when_deactivated = None
        self._device.close()
