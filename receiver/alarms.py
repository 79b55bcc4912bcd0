"""Which events are alarms, how urgent each is, and which events restore or cancel one.

Order follows the Dutch practice (issue 6): hold-up/duress/panic first, then verified
burglary, burglary, fire, tamper, transmission (ATS) failure and technical faults.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "ARM_CODES",
    "CANCEL_CODES",
    "DISARM_CODES",
    "AlarmClass",
    "alarm_class",
    "is_restore",
]


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


_LABELS = {
    AlarmClass.HOLDUP: "hold-up / panic",
    AlarmClass.VERIFIED_BURGLARY: "verified burglary",
    AlarmClass.BURGLARY: "burglary",
    AlarmClass.FIRE: "fire",
    AlarmClass.TAMPER: "tamper",
    AlarmClass.ATS_FAILURE: "transmission failure",
    AlarmClass.TECHNICAL: "technical",
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

# Restores end the condition but not the alarm: an operator still closes it.
_RESTORES = frozenset({"PH", "HH", "QH", "MH", "BH", "BR", "FH", "TR", "EJ", "YK", "LR",
                       "AR", "YR", "XR", "BJ", "FJ", "YZ"})
CANCEL_CODES = frozenset({"BC", "OC"})
DISARM_CODES = frozenset({"OP", "OQ", "OA"})
ARM_CODES = frozenset({"CL", "CQ", "NL", "CF", "CA"})


def alarm_class(code: str | None) -> AlarmClass | None:
    """The class of an alarm-raising SIA code; None for signals (tests, arming, restores)."""
    return _BY_CODE.get((code or "").upper())


def is_restore(code: str | None) -> bool:
    """Restores and cancels join an open alarm's timeline instead of raising one."""
    upper = (code or "").upper()
    return upper in _RESTORES or upper in CANCEL_CODES
