"""Turns a queued report into the DC-09 message the alarm centre receives (SIA-DCS or ADM-CID)."""

from __future__ import annotations

from datetime import datetime

from agent import panel
from agent.outbox import PendingReport
from config.site import AlarmCentre
from protocol.codes import EventKind, cid_data, sia_data
from protocol.dc09 import Message

__all__ = ["event_kind", "for_the_centre", "message_for", "pending"]

# The panel's report kinds that are named differently in the code table.
_ALIASES = {
    "supervision": EventKind.SUPERVISION_LOST,
    "battery_low": EventKind.LOW_BATTERY,
    "arm_remote": EventKind.REMOTE_ARM,
    "disarm_remote": EventKind.REMOTE_DISARM,
    "arm_stay": EventKind.STAY_ARM,
    "unbypass": EventKind.BYPASS,
    "code_tamper": EventKind.USER_CODE_TAMPER,
    "masking": EventKind.CAMERA_MASKED,
}
AREA = 1  # one home is one area


def event_kind(report: PendingReport) -> tuple[EventKind, bool]:
    """(kind, restore) of a report; ``unbypass`` is the restore of ``bypass``."""
    kind = _ALIASES.get(report.kind) or EventKind(report.kind)
    return kind, report.restore or report.kind == "unbypass"


def message_for(centre: AlarmCentre, report: PendingReport, sequence: int, now: datetime) -> Message:
    kind, restore = event_kind(report)
    if centre.format == "ADM-CID":
        data = cid_data(kind, centre.account, report.number, restore=restore, group=AREA)
    else:
        data = sia_data(kind, centre.account, report.number, restore=restore, area=AREA)
    extended = list(report.extended)
    if report.text:
        extended.append(("I", report.text[:200]))
    return Message(
        token=centre.format, sequence=sequence, account=centre.account,
        receiver=centre.receiver, prefix=centre.prefix, data=data,
        extended=tuple(extended), timestamp=now,
    )


def pending(report: panel.Report, evidence: str | None = None) -> PendingReport:
    """The outbox row; ``evidence`` is the newest snapshot URL, sent as DC-09 ``V`` data."""
    return PendingReport(
        kind=str(report.kind), number=report.number, restore=report.restore, user=report.user,
        device=report.device, text=report.text, urgent=report.urgent,
        extended=(("V", evidence),) if evidence else (),
    )


_OPEN_CLOSE = {"arm", "disarm", "arm_remote", "disarm_remote", "arm_stay", "forced_arm"}
_BYPASS = {"bypass", "unbypass"}


def for_the_centre(report: panel.Report, also_send: set[str]) -> bool:
    """Alarms, tamper and faults always go; openings/closings and bypasses per the profile."""
    if report.kind in _OPEN_CLOSE:
        return "open_close" in also_send
    if report.kind in _BYPASS:
        return "bypass" in also_send
    return True
