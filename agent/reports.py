"""Turns a queued report into the DC-09 message the alarm centre receives (SIA-DCS or ADM-CID)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from agent.panel.actions import Report
from config.site import AlarmCentre
from protocol.codes import EventKind, cid_data, sia_data
from protocol.dc09 import Message
from protocol.dc09.timestamp import format_timestamp

__all__ = ["for_the_centre", "message_for", "with_evidence", "with_occurrence"]

AREA = 1  # one home is one area


def message_for(centre: AlarmCentre, report: Report, sequence: int, now: datetime) -> Message:
    kind, restore = report.kind, report.restore
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


def with_occurrence(report: Report, at: datetime) -> Report:
    """The time of occurrence goes along as DC-09 ``H`` data (UTC, the frame timestamp's format).

    The operator sees when it happened, also when the report waited in the outbox; and two
    reports of the same button under the same sequence number (it comes round after 9999,
    within seconds at a busy home) differ, so the centre never takes the second for a
    retransmission of the first. A retransmission carries the stored report: the same ``H``."""
    return replace(report, extended=(("H", format_timestamp(at)), *report.extended))


def with_evidence(report: Report, evidence: str | None) -> Report:
    """``evidence`` (the newest snapshot URL) goes along as DC-09 ``V`` data."""
    return replace(report, extended=(*report.extended, ("V", evidence))) if evidence else report


_OPEN_CLOSE = frozenset({EventKind.ARM, EventKind.DISARM, EventKind.REMOTE_ARM, EventKind.REMOTE_DISARM,
                         EventKind.STAY_ARM, EventKind.FORCED_ARM})
_BYPASS = frozenset({EventKind.BYPASS})


def for_the_centre(report: Report, also_send: set[str]) -> bool:
    """Alarms, tamper and faults always go; openings/closings and bypasses per the profile."""
    if report.kind in _OPEN_CLOSE:
        return "open_close" in also_send
    if report.kind in _BYPASS:
        return "bypass" in also_send
    return True
