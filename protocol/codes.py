"""One table mapping Wachter's event kinds to SIA (DC-03) and Contact ID (DC-05) codes.

Choices follow reference A5.3/A6.3/A6.4; where sources conflict, the comment says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from protocol.dc09.cid import CidEvent, format_cid
from protocol.dc09.sia import SiaEvent, format_sia

__all__ = ["CODES", "CodeEntry", "EventKind", "cid_data", "kind_for_sia", "sia_data"]

Address = Literal["zone", "user", "area", "none"]


class EventKind(StrEnum):
    """What happened, independent of the reporting format."""

    PANIC = "panic"
    HOLDUP = "holdup"
    DURESS = "duress"
    BURGLARY = "burglary"
    BURGLARY_PERIMETER = "burglary_perimeter"
    BURGLARY_INTERIOR = "burglary_interior"
    BURGLARY_ENTRY_EXIT = "burglary_entry_exit"
    BURGLARY_24H = "burglary_24h"
    BURGLARY_VERIFIED = "burglary_verified"
    BURGLARY_CANCEL = "burglary_cancel"
    TAMPER = "tamper"
    TAMPER_PANEL = "tamper_panel"
    FIRE = "fire"
    SUPERVISION_LOST = "supervision_lost"
    LOW_BATTERY = "low_battery"
    MAINS = "mains"
    SYSTEM_BATTERY = "system_battery"
    COMMS_TROUBLE = "comms_trouble"
    ARM = "arm"
    DISARM = "disarm"
    REMOTE_ARM = "remote_arm"
    REMOTE_DISARM = "remote_disarm"
    STAY_ARM = "stay_arm"
    FORCED_ARM = "forced_arm"
    BYPASS = "bypass"
    USER_CODE_TAMPER = "user_code_tamper"
    WALK_TEST = "walk_test"
    POINT_TESTED = "point_tested"
    PERIODIC_TEST = "periodic_test"
    CAMERA_MASKED = "camera_masked"
    CAMERA_LOST = "camera_lost"
    INTERCOM_DOOR_OPENED = "intercom_door_opened"
    PROFILE_CHANGED = "profile_changed"


@dataclass(frozen=True)
class CodeEntry:
    """Codes for one kind; `restore` variants are None when the event has no end.

    `cid_qualifier` is the Contact ID qualifier of the event itself: 1 normally, 3 for
    closings (arming), which Contact ID reports as qualifier 3 of the open/close code.
    """

    sia: str
    sia_restore: str | None
    cid: int
    cid_restore_qualifier: int | None
    address: Address
    description: str
    cid_qualifier: int = 1


_E = CodeEntry
CODES: dict[EventKind, CodeEntry] = {
    EventKind.PANIC: _E("PA", "PH", 120, 3, "zone", "panic alarm (audible)"),
    EventKind.HOLDUP: _E("HA", "HH", 122, 3, "zone", "silent panic / holdup"),
    # Duress shares HA with holdup in every mapping (pysiaalarm, Hikvision); CID 121 tells it apart.
    EventKind.DURESS: _E("HA", "HH", 121, 3, "user", "duress code entered"),
    # Restore is BH (alarm restore), matching pysiaalarm's CID->SIA map, so an ARC sees the
    # same code whichever format we send; BR ("restoral") is also valid DC-03.
    EventKind.BURGLARY: _E("BA", "BH", 130, 3, "zone", "burglary, generic"),
    EventKind.BURGLARY_PERIMETER: _E("BA", "BH", 131, 3, "zone", "burglary, perimeter"),
    EventKind.BURGLARY_INTERIOR: _E("BA", "BH", 132, 3, "zone", "burglary, interior"),
    EventKind.BURGLARY_ENTRY_EXIT: _E("BA", "BH", 134, 3, "zone", "burglary, entry/exit"),
    EventKind.BURGLARY_24H: _E("BA", "BH", 133, 3, "zone", "burglary, 24 hour zone"),
    # 139 -> BV (Hikvision) rather than BA (pysiaalarm): the point of reporting a verified
    # alarm is that the ARC can tell it from an unverified one. BV concerns an area.
    EventKind.BURGLARY_VERIFIED: _E("BV", None, 139, None, "area", "burglary verified"),
    EventKind.BURGLARY_CANCEL: _E("BC", None, 406, None, "user", "alarm cancelled by user"),
    EventKind.TAMPER: _E("TA", "TR", 144, 3, "zone", "device (sensor) tamper"),
    EventKind.TAMPER_PANEL: _E("TA", "TR", 137, 3, "none", "panel/hub tamper"),
    EventKind.FIRE: _E("FA", "FH", 110, 3, "zone", "fire alarm"),
    # CONFLICT XL (Hikvision) vs YC (pysiaalarm) for CID 381: YC/YK is a complete pair and is
    # what pysiaalarm maps 381 to, so SIA and CID reports agree; XL has no restore code in
    # the SIA list and concerns an RF receiver number, not the device.
    EventKind.SUPERVISION_LOST: _E("YC", "YK", 381, 3, "zone", "device supervision lost"),
    EventKind.LOW_BATTERY: _E("XT", "XR", 384, 3, "zone", "device low battery"),
    EventKind.MAINS: _E("AT", "AR", 301, 3, "none", "mains (AC) failure"),
    EventKind.SYSTEM_BATTERY: _E("YT", "YR", 302, 3, "none", "system battery low"),
    EventKind.COMMS_TROUBLE: _E("YS", "YK", 350, 3, "none", "communication path trouble"),
    EventKind.ARM: _E("CL", None, 401, None, "user", "armed by user", cid_qualifier=3),
    EventKind.DISARM: _E("OP", None, 401, None, "user", "disarmed by user"),
    EventKind.REMOTE_ARM: _E("CQ", None, 407, None, "user", "armed remotely", cid_qualifier=3),
    EventKind.REMOTE_DISARM: _E("OQ", None, 407, None, "user", "disarmed remotely"),
    # CONFLICT NL (Hikvision) vs CG (pysiaalarm) for CID 3441: NL "perimeter armed" is what
    # stay/night arming is and Home Assistant shows it as armed_night; CG "close area" means
    # partial arming of areas and shows as armed_away. The number is the user, as for 441.
    EventKind.STAY_ARM: _E("NL", None, 441, None, "user", "armed stay/night", cid_qualifier=3),
    # No Contact ID code for forced arming exists; 401 closing is what the ARC must see.
    EventKind.FORCED_ARM: _E("CF", None, 401, None, "user", "armed with zones not ready", cid_qualifier=3),
    EventKind.BYPASS: _E("BB", "BU", 570, 3, "zone", "zone bypassed / unbypassed"),
    EventKind.USER_CODE_TAMPER: _E("JA", None, 461, None, "area", "too many wrong codes"),
    # 607 is walk-test mode (611 is "point tested OK", reference A5.3); TS/TE per Hikvision.
    EventKind.WALK_TEST: _E("TS", "TE", 607, 3, "user", "walk test started / ended"),
    EventKind.POINT_TESTED: _E("TP", None, 611, None, "zone", "point tested during walk test"),
    EventKind.PERIODIC_TEST: _E("RP", None, 602, None, "none", "periodic test report"),
    # Masking disables a camera's detection like covering a detector: tamper class, with CID
    # 383 (sensor tamper) so the ARC can tell it from an opened enclosure (144).
    EventKind.CAMERA_MASKED: _E("TA", "TR", 383, 3, "zone", "camera masked"),
    # A camera that stops delivering video is a detector disabled by a fault: BT/BJ, 380.
    EventKind.CAMERA_LOST: _E("BT", "BJ", 380, 3, "zone", "camera video lost"),
    # No intercom code exists. A door released via the intercom is an access granted (DG);
    # 422 "access report by user" is the closest Contact ID (UNVERIFIED, reference A5.3).
    # The number is the door, i.e. the intercom's zone.
    EventKind.INTERCOM_DOOR_OPENED: _E("DG", None, 422, None, "zone", "door opened via intercom"),
    # YG "parameter changed" with CID 306 "panel programming changed": LB/LX describe a
    # programming session, and YX "service required" would send a technician.
    EventKind.PROFILE_CHANGED: _E("YG", None, 306, None, "user", "security profile changed"),
}

_BY_SIA: dict[str, EventKind] = {}
for _kind, _entry in CODES.items():  # first kind wins: the generic one is listed first
    for _code in (_entry.sia, _entry.sia_restore):
        if _code is not None:
            _BY_SIA.setdefault(_code, _kind)


def kind_for_sia(code: str) -> EventKind | None:
    """The (most generic) kind reported with this SIA code or its restore code."""
    return _BY_SIA.get(code.upper())


def _restore_error(kind: EventKind) -> ValueError:
    return ValueError(f"{kind} has no restore code")


def sia_data(
    kind: EventKind,
    account: str,
    number: int | None,
    *,
    restore: bool = False,
    area: int | None = None,
    text: str | None = None,
) -> str:
    """SIA-DCS data such as "#1234|Nri1/PA01"; `number` is dropped for address "none"."""
    entry = CODES[kind]
    code = entry.sia_restore if restore else entry.sia
    if code is None:
        raise _restore_error(kind)
    address = "" if entry.address == "none" or number is None else f"{number:02d}"
    area_text = None if area is None else str(area)
    return format_sia(SiaEvent(account, code, address, area=area_text, text=text))


def cid_data(
    kind: EventKind, account: str, number: int | None, *, restore: bool = False, group: int = 0
) -> str:
    """ADM-CID data such as "#1234|1120 00 001"; number 0 for address "none"."""
    entry = CODES[kind]
    qualifier = entry.cid_restore_qualifier if restore else entry.cid_qualifier
    if qualifier is None:
        raise _restore_error(kind)
    zone = 0 if entry.address == "none" or number is None else number
    return format_cid(CidEvent(account, qualifier, entry.cid, group, zone))
