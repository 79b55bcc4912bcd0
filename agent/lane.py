"""Which code works for the alarm lane inside the agent.

A panic or hold-up press is stepped and committed by the lane's own task
(``Intake.handle_lane``), which runs inside ``entered()``; the hop stamps of the bench
(``agent/hops.py``) are taken for its work only. The lane needs no lock of its own: no lock
is held across an await on the panel's path (``Agent.apply_all``), so a press waits only for
the commits queued before its own (``protocol/sqlite_worker.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["active", "entered"]

_in_lane: ContextVar[bool] = ContextVar("wachter_alarm_lane", default=False)


@contextlib.contextmanager
def entered() -> Iterator[None]:
    """The code inside (and every task it starts) works for the alarm lane."""
    token = _in_lane.set(True)
    try:
        yield
    finally:
        _in_lane.reset(token)


def active() -> bool:
    """Is the running code working for the alarm lane?"""
    return _in_lane.get()
