"""What the panel core asks the shell to do; plain frozen values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from agent.panel.state import WalkTest
from protocol import mqtt

__all__ = [
    "Action",
    "DetailValue",
    "LogEntry",
    "PanelNotice",
    "PublishState",
    "Report",
    "ReportKind",
    "RequestSnapshot",
    "Sounder",
    "WalkTestEnded",
]

DetailValue = str | int | float | bool | list[str] | None


class ReportKind(StrEnum):
    """Event kinds for the alarm centre; ``protocol/codes.py`` maps each to SIA / Contact ID."""

    PANIC = "panic"
    HOLDUP = "holdup"
    DURESS = "duress"
    BURGLARY_PERIMETER = "burglary_perimeter"
    BURGLARY_INTERIOR = "burglary_interior"
    BURGLARY_ENTRY_EXIT = "burglary_entry_exit"
    BURGLARY_24H = "burglary_24h"
    BURGLARY_VERIFIED = "burglary_verified"
    BURGLARY_CANCEL = "burglary_cancel"
    TAMPER = "tamper"
    FIRE = "fire"
    SUPERVISION = "supervision"
    BATTERY_LOW = "battery_low"
    ARM = "arm"
    DISARM = "disarm"
    ARM_REMOTE = "arm_remote"
    DISARM_REMOTE = "disarm_remote"
    ARM_STAY = "arm_stay"
    BYPASS = "bypass"
    UNBYPASS = "unbypass"
    CODE_TAMPER = "code_tamper"
    MASKING = "masking"
    CAMERA_LOST = "camera_lost"
    FORCED_ARM = "forced_arm"
    WALK_TEST = "walk_test"
    POINT_TESTED = "point_tested"


@dataclass(frozen=True)
class Report:
    """An event for the alarm centre; ``number`` is the zone, or the user for user events."""

    kind: ReportKind
    number: int
    restore: bool = False
    user: int | None = None
    device: str | None = None
    text: str = ""
    urgent: bool = False  # panic, hold-up, duress: ahead of anything queued


@dataclass(frozen=True)
class PublishState:
    """The retained panel state for Home Assistant."""

    state: mqtt.PanelState


@dataclass(frozen=True)
class PanelNotice:
    """One entry of the panel's JSON event stream (armed, failed_to_arm, bad_code, ...)."""

    event: str
    detail: dict[str, DetailValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Sounder:
    """Switch the local siren; never sent for silent hold-up or duress."""

    on: bool


@dataclass(frozen=True)
class RequestSnapshot:
    """Ask the intercom for evidence of an alarm raised by another device."""

    reason: str
    alarm_zone: int


@dataclass(frozen=True)
class LogEntry:
    """One line for the local event log (EN 50131 audit trail)."""

    text: str


@dataclass(frozen=True)
class WalkTestEnded:
    """The walk test is over: the shell tests the links, tells the installer, and catches the
    panel up on what the devices did meanwhile (``resume``)."""

    test: WalkTest
    reason: str


Action = Report | PublishState | PanelNotice | Sounder | RequestSnapshot | LogEntry | WalkTestEnded
