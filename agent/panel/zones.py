"""Which zones are live in which mode, and how a zone answers an activation.

Defaults (Home Assistant / Alarmo style; the entry delay is that of the armed mode):

| zone type                         | disarmed | armed_home | armed_night | armed_away |
|-----------------------------------|----------|------------|-------------|------------|
| entry_exit                        | -        | delayed    | delayed     | delayed    |
| perimeter                         | -        | instant    | instant     | instant    |
| interior                          | -        | -          | entry route | entry route|
| 24h, panic, holdup, fire, tamper  | always   | always     | always      | always     |
| none                              | never    | never      | never       | never      |

"Entry route": ignored while the exit or entry delay runs, instant otherwise. Night differs from
home only by the interior zones (residents asleep upstairs); otherwise it would be home with other
timings. During the exit delay only the exit route (entry_exit, interior) may open; a perimeter
zone alarms at once (Alarmo: only entry sensors are ignored while arming).
"""

from __future__ import annotations

from enum import StrEnum

from agent.panel.state import ArmMode, PanelMode
from config.site import ZoneType
from protocol.codes import EventKind

__all__ = ["ACTIVE", "ALWAYS", "EXIT_ROUTE", "Response", "burglary_kind", "is_active", "respond"]

ACTIVE: dict[ArmMode, frozenset[ZoneType]] = {
    "armed_away": frozenset({ZoneType.ENTRY_EXIT, ZoneType.PERIMETER, ZoneType.INTERIOR}),
    "armed_home": frozenset({ZoneType.ENTRY_EXIT, ZoneType.PERIMETER}),
    "armed_night": frozenset({ZoneType.ENTRY_EXIT, ZoneType.PERIMETER, ZoneType.INTERIOR}),
}
ALWAYS = frozenset(
    {ZoneType.H24, ZoneType.PANIC, ZoneType.HOLDUP, ZoneType.FIRE, ZoneType.TAMPER}
)
EXIT_ROUTE = frozenset({ZoneType.ENTRY_EXIT, ZoneType.INTERIOR})

_BURGLARY = {
    ZoneType.PERIMETER: EventKind.BURGLARY_PERIMETER,
    ZoneType.INTERIOR: EventKind.BURGLARY_INTERIOR,
    ZoneType.ENTRY_EXIT: EventKind.BURGLARY_ENTRY_EXIT,
    ZoneType.H24: EventKind.BURGLARY_24H,
}


class Response(StrEnum):
    """What an opening zone does: nothing, start the entry delay, or alarm now."""

    IGNORE = "ignore"
    ENTRY = "entry"
    INSTANT = "instant"


def is_active(armed: ArmMode | None, zone: ZoneType) -> bool:
    return zone in ALWAYS or (armed is not None and zone in ACTIVE[armed])


def respond(mode: PanelMode, armed: ArmMode | None, zone: ZoneType) -> Response:
    """The intrusion rule for burglary zones (entry_exit, perimeter, interior)."""
    if armed is None or zone not in ACTIVE[armed]:
        return Response.IGNORE
    if mode in ("arming", "pending") and zone in EXIT_ROUTE:
        return Response.IGNORE
    if mode == armed and zone is ZoneType.ENTRY_EXIT:
        return Response.ENTRY
    return Response.INSTANT


def burglary_kind(zone: ZoneType) -> EventKind:
    return _BURGLARY.get(zone, EventKind.BURGLARY_PERIMETER)
