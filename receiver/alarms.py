"""Which events are alarms, how urgent each is, which response each needs, and which events
restore or cancel one.

Order follows the Dutch practice (issue 6): hold-up/duress/panic first, then verified
burglary, burglary, fire, tamper, transmission (ATS) failure and technical faults.

A *class* (``AlarmClass``) is how urgent an alarm is; a *response* (``Response``) is what the
operator does about it. Each response is its own alarm with its own action plan (issue 20): a
fire at a home where a panic is open is a second alarm, never a line in the panic's timeline.
Within one response an alarm may be upgraded (burglary -> verified burglary, technical ->
transmission failure); that is shown, not hidden.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = [
    "ARM_CODES",
    "CANCEL_CODES",
    "DISARM_CODES",
    "AlarmClass",
    "Response",
    "alarm_class",
    "is_restore",
    "restore_response",
]


class Response(StrEnum):
    """What the operator does: each is its own alarm with its own action plan."""

    HOLDUP = "holdup"
    FIRE = "fire"
    BURGLARY = "burglary"
    TAMPER = "tamper"
    TECHNICAL = "technical"

    @property
    def label(self) -> str:
        return _RESPONSE_LABELS[self]


_RESPONSE_LABELS = {
    Response.HOLDUP: "hold-up / panic",
    Response.FIRE: "fire",
    Response.BURGLARY: "burglary",
    Response.TAMPER: "tamper",
    Response.TECHNICAL: "technical / transmission",
}


class AlarmClass(IntEnum):
    """Lower value = more urgent; the queue sorts on it, then on age."""

    HOLDUP = 1
    VERIFIED_BURGLARY = 2
    BURGLARY = 3
    FIRE = 4
    TAMPER = 5
    ATS_FAILURE = 6
    TECHNICAL = 7

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def response(self) -> Response:
        return _RESPONSES[self]


_LABELS = {
    AlarmClass.HOLDUP: "hold-up / panic",
    AlarmClass.VERIFIED_BURGLARY: "verified burglary",
    AlarmClass.BURGLARY: "burglary",
    AlarmClass.FIRE: "fire",
    AlarmClass.TAMPER: "tamper",
    AlarmClass.ATS_FAILURE: "transmission failure",
    AlarmClass.TECHNICAL: "technical",
}
_RESPONSES = {
    AlarmClass.HOLDUP: Response.HOLDUP,
    AlarmClass.VERIFIED_BURGLARY: Response.BURGLARY,
    AlarmClass.BURGLARY: Response.BURGLARY,
    AlarmClass.FIRE: Response.FIRE,
    AlarmClass.TAMPER: Response.TAMPER,
    AlarmClass.ATS_FAILURE: Response.TECHNICAL,
    AlarmClass.TECHNICAL: Response.TECHNICAL,
}

_BY_CODE: dict[str, AlarmClass] = {
    **dict.fromkeys(("PA", "HA", "QA", "MA"), AlarmClass.HOLDUP),
    "BV": AlarmClass.VERIFIED_BURGLARY,
    **dict.fromkeys(("BA", "JA"), AlarmClass.BURGLARY),
    "FA": AlarmClass.FIRE,
    **dict.fromkeys(("TA", "ES"), AlarmClass.TAMPER),
    **dict.fromkeys(("YC", "YS", "LT"), AlarmClass.ATS_FAILURE),
    **dict.fromkeys(("AT", "YT", "XT", "BT", "FT", "YX", "YP"), AlarmClass.TECHNICAL),
}

# Restores end the condition but not the alarm: an operator still closes it. Each restores
# the alarm of its own response only (a fire restore says nothing about a panic).
_RESTORES: dict[str, Response] = {
    **dict.fromkeys(("PH", "HH", "QH", "MH"), Response.HOLDUP),
    **dict.fromkeys(("BH", "BR"), Response.BURGLARY),
    "FH": Response.FIRE,
    **dict.fromkeys(("TR", "EJ"), Response.TAMPER),
    **dict.fromkeys(("YK", "LR", "AR", "YR", "XR", "BJ", "FJ", "YZ", "YQ"), Response.TECHNICAL),
}
CANCEL_CODES = frozenset({"BC", "OC"})  # a user's abort: cancels a burglary alarm
DISARM_CODES = frozenset({"OP", "OQ", "OA"})
ARM_CODES = frozenset({"CL", "CQ", "NL", "CF", "CA"})


def alarm_class(code: str | None) -> AlarmClass | None:
    """The class of an alarm-raising SIA code; None for signals (tests, arming, restores)."""
    return _BY_CODE.get((code or "").upper())


def restore_response(code: str | None) -> Response | None:
    """The response whose open alarm a restore or cancel code joins; None for other signals."""
    upper = (code or "").upper()
    return Response.BURGLARY if upper in CANCEL_CODES else _RESTORES.get(upper)


def is_restore(code: str | None) -> bool:
    """Restores and cancels join an open alarm's timeline instead of raising one."""
    return restore_response(code) is not None
