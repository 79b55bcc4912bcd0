"""What the panel core asks the shell to do; plain frozen values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.panel.state import WalkTest
from protocol import mqtt
from protocol.codes import EventKind

__all__ = [
    "Action",
    "DetailValue",
    "LogEntry",
    "PanelNotice",
    "PublishState",
    "Report",
    "RequestSnapshot",
    "Sounder",
    "WalkTestEnded",
]

DetailValue = str | int | float | bool | list[str] | None


@dataclass(frozen=True)
class Report:
    """An event for the alarm centre, as the panel raises it and the outbox keeps it until the
    centre ACKs. ``number`` is the zone, or the user for user events; ``extended`` is DC-09
    x-data the shell adds (the evidence URL, ``V``)."""

    kind: EventKind
    number: int
    restore: bool = False
    user: int | None = None
    device: str | None = None
    text: str = ""
    urgent: bool = False  # panic, hold-up, duress: ahead of anything queued
    extended: tuple[tuple[str, str], ...] = ()


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
