"""What the panel core is told: device facts, availability, user commands and timer ticks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast, get_args

from protocol.mqtt import EventType, PanelCommand

__all__ = ["Command", "CommandAction", "DeviceAvailability", "DeviceInput", "Input", "Tick"]

CommandAction = Literal["ARM_AWAY", "ARM_HOME", "ARM_NIGHT", "DISARM", "TRIGGER"]


@dataclass(frozen=True)
class DeviceInput:
    """A fact reported by a device driver; the core decides what it means."""

    device: str
    type: EventType
    score: float | None = None
    held_ms: int | None = None


@dataclass(frozen=True)
class DeviceAvailability:
    """A device's retained online/offline flag; offline is trouble, never an open zone."""

    device: str
    online: bool


@dataclass(frozen=True)
class Command:
    """An arm/disarm/trigger request from Home Assistant, a keypad or the remote app."""

    action: CommandAction
    code: str | None = None
    skip_delay: bool = False
    force: bool = False
    source: Literal["keypad", "remote"] = "remote"

    @classmethod
    def from_contract(
        cls, cmd: PanelCommand, source: Literal["keypad", "remote"] = "remote"
    ) -> Command:
        """Build from the MQTT ``set`` payload so the shell need not copy fields by hand."""
        if cmd.action not in get_args(CommandAction):
            raise ValueError(f"{cmd.action} is not a panel command")  # walk test: the shell's
        return cls(cast(CommandAction, cmd.action), cmd.code, cmd.skip_delay, cmd.force, source)


@dataclass(frozen=True)
class Tick:
    """The shell's wake-up at ``next_deadline``; the core works out what fell due."""


Input = DeviceInput | DeviceAvailability | Command | Tick
