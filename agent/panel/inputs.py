"""What the panel core is told: device facts, availability, user commands and timer ticks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from protocol.mqtt import EventType, PanelCommand

__all__ = [
    "WRONG_CODE",
    "Command",
    "CommandAction",
    "DeviceAvailability",
    "DeviceInput",
    "EnteredCode",
    "Input",
    "Tick",
]

CommandAction = Literal["ARM_AWAY", "ARM_HOME", "ARM_NIGHT", "DISARM", "TRIGGER",
                        "WALK_TEST_START", "WALK_TEST_END"]


@dataclass(frozen=True)
class DeviceInput:
    """A fact reported by a device driver; the core decides what it means. ``at`` is when it
    happened by the driver's clock (None: a fact the shell derived, e.g. on resume)."""

    device: str
    type: EventType
    score: float | None = None
    held_ms: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class DeviceAvailability:
    """A device's retained online/offline flag; offline is trouble, never an open zone."""

    device: str
    online: bool


@dataclass(frozen=True)
class EnteredCode:
    """A typed code as the shell found it: the user it belongs to (``None``: nobody's) and
    whether it is their duress code. The shell compares it with the scrypt hashes in a worker
    thread, so the core never hashes and no alarm waits behind a code check."""

    user: int | None = None
    duress: bool = False


WRONG_CODE = EnteredCode()


@dataclass(frozen=True)
class Command:
    """An arm/disarm/trigger/walk-test request from Home Assistant, a keypad or the remote app;
    ``code`` is None when no code was given."""

    action: CommandAction
    code: EnteredCode | None = None
    skip_delay: bool = False
    force: bool = False
    source: Literal["keypad", "remote"] = "remote"

    @classmethod
    def from_contract(
        cls, cmd: PanelCommand, code: EnteredCode | None,
        source: Literal["keypad", "remote"] = "remote",
    ) -> Command:
        """Build from the MQTT ``set`` payload and the checked code."""
        return cls(cmd.action, code, cmd.skip_delay, cmd.force, source)


@dataclass(frozen=True)
class Tick:
    """The shell's wake-up at ``next_deadline``; the core works out what fell due."""


Input = DeviceInput | DeviceAvailability | Command | Tick
