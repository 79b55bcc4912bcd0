"""User commands: code check first, then permission, then the arm/disarm/trigger rule."""

from __future__ import annotations

from typing import get_args

from agent.panel.actions import ReportKind
from agent.panel.alarms import snapshot_any
from agent.panel.arming import arm, disarm
from agent.panel.codes import CodeMatch, locked_out, match_code, report_duress, wrong_code
from agent.panel.inputs import Command
from agent.panel.modes import trigger
from agent.panel.state import ArmMode
from agent.panel.turn import Turn

__all__ = ["on_command"]

_ARM: dict[str, ArmMode] = {f"ARM_{m.removeprefix('armed_').upper()}": m for m in get_args(ArmMode)}


def on_command(turn: Turn, cmd: Command) -> None:
    if cmd.action == "TRIGGER":
        remote_panic(turn)
    elif cmd.action != "DISARM" and cmd.action not in _ARM:
        turn.notice("command_not_allowed", action=str(cmd.action))
    elif locked_out(turn.state, turn.now):
        _refuse_locked(turn, cmd)
    elif not cmd.code:
        turn.notice("no_code", action=cmd.action)
    else:
        match = match_code(turn.site, cmd.code)
        if match is None:
            wrong_code(turn, cmd)
        else:
            _accepted(turn, cmd, match)


def remote_panic(turn: Turn) -> None:
    """TRIGGER needs no code (HA): a manual panic from the remote, reported at once."""
    turn.report(ReportKind.PANIC, 0, text="manual trigger", urgent=True)
    snapshot_any(turn, ReportKind.PANIC, 0)
    trigger(turn, audible=True, reason="manual trigger")


def _refuse_locked(turn: Turn, cmd: Command) -> None:
    """During lockout every code is refused, but a duress code still reaches the ARC."""
    match = match_code(turn.site, cmd.code) if cmd.code else None
    if match is not None and match.duress:
        report_duress(turn, match.user)
    until = turn.state.lockout_until
    turn.notice("code_refused", action=cmd.action, until=until.isoformat() if until else None)


def _accepted(turn: Turn, cmd: Command, match: CodeMatch) -> None:
    turn.state.wrong_codes = 0
    if match.duress:
        report_duress(turn, match.user)
    needed = "disarm" if cmd.action == "DISARM" else "arm"
    if needed not in match.user.permissions:
        turn.notice("command_not_allowed", action=cmd.action, user=match.user.name)
    elif cmd.action == "DISARM":
        disarm(turn, match.user, cmd, duress=match.duress)
    else:
        arm(turn, _ARM[cmd.action], match.user, cmd)
