"""Stored deadlines: which is next, and what happens when the shell's Tick finds one due."""

from __future__ import annotations

from datetime import datetime

from agent.panel.alarms import entry_delay_over, exit_delay_over
from agent.panel.modes import end_trigger
from agent.panel.state import PanelState
from agent.panel.trouble import device_lost
from agent.panel.turn import Turn
from agent.panel.verification import close_window
from agent.panel.walktest import walk_test_over

__all__ = ["next_deadline", "on_tick"]


def next_deadline(state: PanelState) -> datetime | None:
    """The earliest moment at which a Tick would change something."""
    due = [state.deadline, state.lockout_until, state.window.deadline if state.window else None,
           state.walktest.until if state.walktest else None]
    due += [s.lost_deadline for s in state.devices.values()]
    return min((d for d in due if d is not None), default=None)


def on_tick(turn: Turn) -> None:
    _mode_deadline(turn)
    for device_id, status in turn.state.devices.items():
        if status.lost_deadline is not None and turn.now >= status.lost_deadline:
            device_lost(turn, device_id, status)
    _lockout_over(turn)
    close_window(turn)
    walk_test_over(turn)


def _mode_deadline(turn: Turn) -> None:
    s = turn.state
    if s.deadline is None or turn.now < s.deadline:
        return
    if s.mode == "arming":
        exit_delay_over(turn)
    elif s.mode == "pending":
        entry_delay_over(turn)
    elif s.mode == "triggered":
        end_trigger(turn)


def _lockout_over(turn: Turn) -> None:
    s = turn.state
    if s.lockout_until is not None and turn.now >= s.lockout_until:
        s.lockout_until = None
        turn.notice("lockout_ended")
