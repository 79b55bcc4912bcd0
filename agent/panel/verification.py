"""Alarm verification: sequential and video confirmation, and abort (cancel) on disarm."""

from __future__ import annotations

from agent.panel.state import ConfirmationWindow, RaisedAlarm
from agent.panel.turn import Turn
from config.site import Device, DeviceType, User
from protocol.codes import EventKind

__all__ = ["PERSON_MIN_SCORE", "abort", "close_window", "confirm", "remember_alarm", "video"]

PERSON_MIN_SCORE = 0.5  # below this a person detection is noise, not confirmation


def confirm(turn: Turn, device: Device, kind: EventKind) -> EventKind:
    """The report kind of a burglary trip: verified when a different detector tripped first.

    Only while set (CLC/TS 50131-9: no verified alarm while unset); the window is not
    restarted by later trips, and confirms once.
    """
    s = turn.state
    if s.armed is None:
        return kind
    w = s.window
    if w is None or turn.now >= w.deadline:
        deadline = turn.now + turn.site.panel.confirmation_window
        s.window = ConfirmationWindow(device=device.id, zone=device.zone, deadline=deadline)
        return kind
    if w.confirmed or w.device == device.id:
        return kind
    w.confirmed = True
    return EventKind.BURGLARY_VERIFIED


def video(turn: Turn, device: Device, score: float | None) -> None:
    """A person seen by the intercom while an unconfirmed alarm waits confirms it."""
    w = turn.state.window
    if device.type is not DeviceType.INTERCOM or w is None or w.confirmed:
        return
    if turn.now >= w.deadline or (score is not None and score < PERSON_MIN_SCORE):
        return
    w.confirmed = True
    text = f"person seen by {device.name}" + (f" ({score:.2f})" if score is not None else "")
    turn.report(EventKind.BURGLARY_VERIFIED, device.zone, device=device.id, text=text)
    turn.log(f"alarm in zone {w.zone} confirmed on video")


def remember_alarm(turn: Turn, device: Device) -> None:
    until = turn.now + turn.site.panel.abort_window
    turn.state.alarm = RaisedAlarm(device=device.id, zone=device.zone, abort_until=until)


def abort(turn: Turn, user: User, duress: bool) -> None:
    """A disarm soon after a burglary report cancels it at the ARC, unless under duress."""
    alarm, turn.state.alarm, turn.state.window = turn.state.alarm, None, None
    if alarm is None or duress or turn.now >= alarm.abort_until:
        return
    turn.report(
        EventKind.BURGLARY_CANCEL, user.number, user=user.number, device=alarm.device,
        text=f"zone {alarm.zone} cancelled by {user.name}",
    )


def close_window(turn: Turn) -> None:
    """Window over without confirmation: the alarm stays unconfirmed (DD 243 reinstatement)."""
    w = turn.state.window
    if w is not None and turn.now >= w.deadline:
        turn.state.window = None
        if not w.confirmed:
            turn.log(f"alarm in zone {w.zone} not confirmed within the window")
