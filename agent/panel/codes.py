"""User codes: duress codes, the wrong-code counter and the lockout, shared by every command.

The core never hashes: the shell has compared the typed code with the scrypt hashes (off the
event loop) and passes the result as an ``EnteredCode``.
"""

from __future__ import annotations

from datetime import datetime

from agent.panel.inputs import Command
from agent.panel.state import PanelState
from agent.panel.turn import Turn
from config.site import User
from protocol.codes import EventKind

__all__ = ["locked_out", "report_duress", "wrong_code"]


def locked_out(state: PanelState, now: datetime) -> bool:
    return state.lockout_until is not None and now < state.lockout_until


def report_duress(turn: Turn, user: User) -> None:
    """Silent and urgent: the ARC learns, nothing local changes."""
    turn.report(EventKind.DURESS, user.number, user=user.number, urgent=True)


def wrong_code(turn: Turn, cmd: Command) -> None:
    """Count a wrong code; at the limit, lock codes out and report code tamper."""
    s, panel = turn.state, turn.site.panel
    s.wrong_codes += 1
    turn.notice("bad_code", action=cmd.action, source=cmd.source, attempts=s.wrong_codes)
    if s.wrong_codes < panel.wrong_code_limit:
        return
    s.wrong_codes, s.lockout_until = 0, turn.now + panel.lockout
    turn.report(EventKind.USER_CODE_TAMPER, 0, text=f"{panel.wrong_code_limit} wrong codes")
    turn.notice("lockout", until=s.lockout_until.isoformat())
    turn.log(f"{panel.wrong_code_limit} wrong codes: codes locked out until {s.lockout_until}")
