"""Arming (exit delay, skip-delay, refused or forced with open zones) and disarming."""

from __future__ import annotations

from agent.panel.bypass import bypass, clear_bypasses, open_zones_in
from agent.panel.inputs import Command
from agent.panel.modes import become_armed, sounder
from agent.panel.state import ArmMode
from agent.panel.turn import Turn, timings
from agent.panel.verification import abort
from agent.panel.zones import EXIT_ROUTE
from config.site import Device, User
from protocol.codes import EventKind

__all__ = ["arm", "disarm"]


def _blocking(turn: Turn, mode: ArmMode, delayed: bool) -> list[Device]:
    """Open zones that refuse arming; the exit route may be open while an exit delay runs."""
    zones = open_zones_in(turn, mode)
    return [d for d in zones if not (delayed and d.effective_zone_type in EXIT_ROUTE)]


def arm(turn: Turn, mode: ArmMode, user: User, cmd: Command) -> None:
    """Arm from disarmed; open zones refuse it unless forced (needs the bypass permission)."""
    if turn.state.mode != "disarmed" or mode not in turn.site.panel.modes:
        turn.notice("command_not_allowed", action=cmd.action, state=turn.state.mode)
        return
    delayed = not cmd.skip_delay and bool(timings(turn.site, mode).exit_delay)
    blocking = _blocking(turn, mode, delayed)
    if blocking and not cmd.force:
        turn.notice("failed_to_arm", mode=mode, zones=[d.id for d in blocking])
        return
    if blocking and "bypass" not in user.permissions:
        turn.notice("command_not_allowed", action=cmd.action, reason="force needs bypass")
        return
    _take_over(turn, mode, user, cmd)
    _force(turn, blocking, user)
    if delayed:
        _start_exit(turn, mode)
    else:
        become_armed(turn)


def _take_over(turn: Turn, mode: ArmMode, user: User, cmd: Command) -> None:
    """A new arming period: who armed, and fresh swinger and verification bookkeeping."""
    s = turn.state
    s.armed, s.changed_by, s.by_user = mode, user.name, user.number
    s.by_remote = cmd.source == "remote"
    s.window = s.alarm = None
    for status in s.devices.values():
        status.trips = 0


def _force(turn: Turn, blocking: list[Device], user: User) -> None:
    for device in blocking:
        bypass(turn, device, "open when force-armed", user.number)
    if blocking:
        zones = ", ".join(str(d.zone) for d in blocking)
        turn.report(EventKind.FORCED_ARM, user.number, user=user.number, text=f"zones {zones}")


def _start_exit(turn: Turn, mode: ArmMode) -> None:
    s = turn.state
    s.mode, s.deadline = "arming", turn.now + timings(turn.site, mode).exit_delay
    turn.notice("arming", mode=mode, changed_by=s.changed_by, deadline=s.deadline.isoformat())


def disarm(turn: Turn, user: User, cmd: Command, *, duress: bool) -> None:
    """Disarm from any state; a duress disarm looks exactly the same locally."""
    s = turn.state
    was_set = s.armed is not None and s.mode != "arming"
    abort(turn, user, duress)
    sounder(turn, False)
    clear_bypasses(turn, user.number)
    s.mode, s.armed, s.deadline, s.entry = "disarmed", None, None, None
    s.changed_by, s.by_user, s.by_remote = user.name, user.number, cmd.source == "remote"
    for status in s.devices.values():
        status.trips = 0
    if was_set:
        kind = EventKind.REMOTE_DISARM if s.by_remote else EventKind.DISARM
        turn.report(kind, user.number, user=user.number)
    turn.notice("disarmed", changed_by=user.name)
    turn.log(f"disarmed by {user.name}")
