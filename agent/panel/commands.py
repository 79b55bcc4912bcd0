"""User commands: code check first, then permission, then the arm/disarm/trigger/walk-test rule.

Every command that takes a code goes through the same wrong-code counter and lockout, the
installer's walk-test commands included.
"""

from __future__ import annotations

from typing import get_args

from agent.panel.alarms import snapshot_any
from agent.panel.arming import arm, disarm
from agent.panel.codes import locked_out, report_duress, wrong_code
from agent.panel.inputs import Command, EnteredCode
from agent.panel.modes import trigger
from agent.panel.state import ArmMode
from agent.panel.turn import Turn
from agent.panel.walktest import end_walk_test, start_walk_test
from config.site import User
from protocol.codes import EventKind

__all__ = ["on_command"]

_ARM: dict[str, ArmMode] = {f"ARM_{m.removeprefix('armed_').upper()}": m for m in get_args(ArmMode)}
_NEEDS = {"DISARM": "disarm", "WALK_TEST_START": "admin", "WALK_TEST_END": "admin"} | {
    action: "arm" for action in _ARM}


def on_command(turn: Turn, cmd: Command) -> None:
    if cmd.action == "TRIGGER":
        remote_panic(turn)
    elif cmd.action not in _NEEDS:
        turn.notice("command_not_allowed", action=str(cmd.action))
    elif locked_out(turn.state, turn.now):
        _refuse_locked(turn, cmd)
    elif cmd.code is None:
        turn.notice("no_code", action=cmd.action)
    else:
        user = _user(turn, cmd.code)
        if user is None:
            wrong_code(turn, cmd)
        else:
            _accepted(turn, cmd, user, duress=cmd.code.duress)


def remote_panic(turn: Turn) -> None:
    """TRIGGER needs no code (HA): a manual panic from the remote, reported at once."""
    turn.report(EventKind.PANIC, 0, text="manual trigger", urgent=True)
    snapshot_any(turn, EventKind.PANIC, 0)
    trigger(turn, audible=True, reason="manual trigger")


def _user(turn: Turn, code: EnteredCode) -> User | None:
    return next((u for u in turn.site.panel.users if u.number == code.user), None)


def _refuse_locked(turn: Turn, cmd: Command) -> None:
    """During lockout every code is refused, but a duress code still reaches the ARC."""
    user = _user(turn, cmd.code) if cmd.code is not None else None
    if user is not None and cmd.code is not None and cmd.code.duress:
        report_duress(turn, user)
    until = turn.state.lockout_until
    turn.notice("code_refused", action=cmd.action, until=until.isoformat() if until else None)


def _accepted(turn: Turn, cmd: Command, user: User, *, duress: bool) -> None:
    turn.state.wrong_codes = 0
    if duress:
        report_duress(turn, user)
    needed = _NEEDS[cmd.action]
    walk = turn.state.walktest
    if needed not in user.permissions:
        turn.notice("command_not_allowed", action=cmd.action, user=user.name, needs=needed)
    elif cmd.action == "WALK_TEST_START":
        start_walk_test(turn, user)
    elif cmd.action == "WALK_TEST_END":
        end_walk_test(turn, f"ended by {user.name}")
    elif cmd.action == "DISARM":  # also during a walk test: it silences a panic's sounder
        disarm(turn, user, cmd, duress=duress)
    elif walk is not None:
        turn.notice("command_refused", action=cmd.action,
                    reason=f"walk test running; it ends by {walk.until.isoformat()}")
    else:
        arm(turn, _ARM[cmd.action], user, cmd)
