"""User codes: scrypt PIN checks, duress codes, the wrong-code counter and lockout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent.panel.actions import ReportKind
from agent.panel.inputs import Command
from agent.panel.state import PanelState
from agent.panel.turn import Turn
from config.pins import verify_pin
from config.site import Site, User

__all__ = ["CodeMatch", "locked_out", "match_code", "report_duress", "wrong_code"]


@dataclass(frozen=True)
class CodeMatch:
    user: User
    duress: bool


def match_code(site: Site, code: str) -> CodeMatch | None:
    """Checks every stored hash, so the time taken never tells a duress code from a normal one."""
    found: CodeMatch | None = None
    for user in site.panel.users:
        for duress, stored in ((False, user.pin_hash), (True, user.duress_pin_hash)):
            if stored is not None and verify_pin(code, stored) and found is None:
                found = CodeMatch(user, duress)
    return found


def locked_out(state: PanelState, now: datetime) -> bool:
    return state.lockout_until is not None and now < state.lockout_until


def report_duress(turn: Turn, user: User) -> None:
    """Silent and urgent: the ARC learns, nothing local changes."""
    turn.report(ReportKind.DURESS, user.number, user=user.number, urgent=True)


def wrong_code(turn: Turn, cmd: Command) -> None:
    """Count a wrong code; at the limit, lock codes out and report code tamper."""
    s, panel = turn.state, turn.site.panel
    s.wrong_codes += 1
    turn.notice("bad_code", action=cmd.action, source=cmd.source, attempts=s.wrong_codes)
    if s.wrong_codes < panel.wrong_code_limit:
        return
    s.wrong_codes, s.lockout_until = 0, turn.now + panel.lockout
    turn.report(ReportKind.CODE_TAMPER, 0, text=f"{panel.wrong_code_limit} wrong codes")
    turn.notice("lockout", until=s.lockout_until.isoformat())
    turn.log(f"{panel.wrong_code_limit} wrong codes: codes locked out until {s.lockout_until}")
