"""Mode changes shared by several rules: becoming armed, triggering, and the end of the siren."""

from __future__ import annotations

from agent.panel.actions import Sounder
from agent.panel.bypass import bypass, open_zones_in
from agent.panel.turn import Turn
from protocol.codes import EventKind

__all__ = ["become_armed", "end_trigger", "sounder", "trigger"]


def _arm_kind(turn: Turn) -> EventKind:
    if turn.state.armed in ("armed_home", "armed_night"):
        return EventKind.STAY_ARM
    return EventKind.REMOTE_ARM if turn.state.by_remote else EventKind.ARM


def become_armed(turn: Turn) -> None:
    """The exit delay is over (or skipped): the armed mode is in force and reported."""
    s = turn.state
    if s.armed is None:
        return
    s.mode, s.deadline = s.armed, None
    user = s.by_user or 0
    turn.report(_arm_kind(turn), user, user=s.by_user, text=s.armed)
    turn.notice("armed", mode=s.armed, changed_by=s.changed_by)
    turn.log(f"{s.armed} by {s.changed_by}")


def sounder(turn: Turn, on: bool) -> None:
    if turn.state.sounder != on:
        turn.state.sounder = on
        turn.emit(Sounder(on))


def trigger(turn: Turn, *, audible: bool, reason: str) -> None:
    """Go to ``triggered`` for the mode's trigger time; a new trigger never extends it."""
    s = turn.state
    if audible:
        sounder(turn, True)
    if s.mode == "triggered":
        return
    if s.mode == "arming":
        become_armed(turn)  # the alarm belongs to the armed period the user asked for
    trigger_time = turn.timings().trigger_time
    s.mode, s.entry = "triggered", None
    s.deadline = turn.now + trigger_time if trigger_time else None  # 0: until disarmed
    turn.notice("triggered", reason=reason, deadline=s.deadline.isoformat() if s.deadline else None)
    turn.log(f"triggered: {reason}")


def end_trigger(turn: Turn) -> None:
    """Trigger time over: silence and return to the armed mode (HA default), never disarm.

    Zones still open are bypassed and reported (DD 243 reinstatement with detector inhibited).
    """
    s = turn.state
    sounder(turn, False)
    s.deadline = None
    s.mode = s.armed or "disarmed"
    if s.armed is None:
        turn.notice("trigger_ended")
        return
    for device in open_zones_in(turn, s.armed):
        bypass(turn, device, "open at re-arm")
    turn.notice("rearmed", mode=s.armed)
    turn.log(f"siren time over, {s.armed} again")
