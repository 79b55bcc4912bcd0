"""MQTT contract v1 between drivers (and the simulator) and the agent.

Every payload is a pydantic model; anything else is a ``ContractError`` that the caller
counts and logs. Topics live under ``wachter/v1/<site>/``; see docs/mqtt.md.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

__all__ = [
    "ROOT",
    "Availability",
    "Channel",
    "ContractError",
    "DeviceCommand",
    "DeviceEvent",
    "DeviceState",
    "EventConfirmation",
    "EventType",
    "Heartbeat",
    "PanelCommand",
    "PanelEvent",
    "PanelState",
    "TopicRef",
    "decode",
    "device_topic",
    "panel_topic",
    "parse_topic",
    "site_filter",
]

ROOT = "wachter/v1"
_ID = r"[a-z0-9][a-z0-9_-]{0,62}"
ID_PATTERN = re.compile(rf"^{_ID}$")
DeviceId = Annotated[str, Field(pattern=rf"^{_ID}$")]


class ContractError(ValueError):
    """A message that does not follow contract v1; the caller counts it and carries on."""


class Channel(StrEnum):
    """The sub-topics of a device (and of the panel)."""

    STATE = "state"  # retained JSON DeviceState
    EVENT = "event"  # QoS 1 JSON DeviceEvent
    AVAILABILITY = "availability"  # retained text online/offline, also the last will
    HEARTBEAT = "heartbeat"  # JSON Heartbeat, periodic
    SNAPSHOT = "snapshot"  # binary JPEG
    SET = "set"  # commands to the device (sounder, LED, snapshot request) or the panel
    CONFIRM = "confirm"  # agent -> driver: events committed (JSON EventConfirmation)


class Availability(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class EventType(StrEnum):
    """What a device can report. Drivers report facts; the agent decides what they mean."""

    OPEN = "open"
    CLOSE = "close"
    PRESS = "press"
    RELEASE = "release"
    TAMPER = "tamper"
    TAMPER_RESTORE = "tamper_restore"
    BATTERY_LOW = "battery_low"
    BATTERY_OK = "battery_ok"
    SMOKE = "smoke"
    SMOKE_CLEAR = "smoke_clear"
    DOORBELL = "doorbell"
    MOTION = "motion"
    PERSON = "person"
    CAMERA_LOST = "camera_lost"
    CAMERA_RESTORED = "camera_restored"
    MASKING = "masking"
    MASKING_RESTORE = "masking_restore"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DeviceEvent(_Payload):
    """One thing that happened at a device. ``id`` is unique per device so the agent can
    drop the re-publications that end-to-end confirmation causes."""

    v: Literal[1] = 1
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    device: DeviceId
    type: EventType
    ts: datetime = Field(default_factory=_utcnow)
    score: Annotated[float, Field(ge=0, le=1)] | None = None  # person detection confidence
    held_ms: Annotated[int, Field(ge=0)] | None = None  # how long a button was held


class DeviceState(_Payload):
    """Retained last-known state of a device; ``None`` fields are unknown, not false."""

    v: Literal[1] = 1
    device: DeviceId
    ts: datetime = Field(default_factory=_utcnow)
    contact: Literal["open", "closed"] | None = None
    pressed: bool | None = None
    tamper: bool | None = None
    battery_low: bool | None = None
    smoke: bool | None = None
    camera: Literal["ok", "lost", "masked"] | None = None


class Heartbeat(_Payload):
    v: Literal[1] = 1
    device: DeviceId
    ts: datetime = Field(default_factory=_utcnow)
    uptime_s: Annotated[float, Field(ge=0)] = 0.0


class EventConfirmation(_Payload):
    """Agent -> driver: these event ids are committed; stop re-publishing them."""

    v: Literal[1] = 1
    ids: Annotated[list[str], Field(min_length=1, max_length=256)]


class DeviceCommand(_Payload):
    """Agent -> driver: drive an output or ask for evidence."""

    v: Literal[1] = 1
    command: Literal["sounder_on", "sounder_off", "led_on", "led_off", "led_blink", "snapshot"]
    reason: Annotated[str, Field(max_length=200)] | None = None
    alarm_id: Annotated[str, Field(max_length=64)] | None = None


PanelMode = Literal["disarmed", "arming", "armed_home", "armed_away", "armed_night", "pending", "triggered"]


class PanelState(_Payload):
    v: Literal[1] = 1
    state: PanelMode
    ts: datetime = Field(default_factory=_utcnow)
    changed_by: str | None = None
    open_zones: list[str] = Field(default_factory=list)
    bypassed: list[str] = Field(default_factory=list)
    faults: list[str] = Field(default_factory=list)
    deadline: datetime | None = None  # end of the running exit/entry delay or siren time
    sounder: bool = False  # the sirens are commanded on (never by a silent alarm)


class PanelCommand(_Payload):
    """Home Assistant style: ``{"action": "ARM_AWAY", "code": "1234"}``."""

    v: Literal[1] = 1
    # WALK_TEST_START/END need the code of a user with the admin permission (the installer)
    action: Literal["ARM_AWAY", "ARM_HOME", "ARM_NIGHT", "DISARM", "TRIGGER",
                    "WALK_TEST_START", "WALK_TEST_END"]
    code: Annotated[str, Field(max_length=16)] | None = None
    skip_delay: bool = False
    force: bool = False


class PanelEvent(_Payload):
    v: Literal[1] = 1
    event: str
    ts: datetime = Field(default_factory=_utcnow)
    detail: dict[str, JsonValue] = Field(default_factory=dict)


class TopicRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    site: str
    device: str | None  # None for the panel
    channel: Channel


def device_topic(site: str, device: str, channel: Channel) -> str:
    return f"{ROOT}/{site}/device/{device}/{channel.value}"


def panel_topic(site: str, channel: Channel) -> str:
    return f"{ROOT}/{site}/panel/{channel.value}"


def site_filter(site: str, channel: Channel | None = None) -> str:
    """Subscription filter for every device of a site (one channel or all)."""
    return f"{ROOT}/{site}/device/+/{channel.value if channel else '+'}"


def parse_topic(topic: str) -> TopicRef:
    parts = topic.split("/")
    if len(parts) < 5 or "/".join(parts[:2]) != ROOT:
        raise ContractError(f"topic outside {ROOT}: {topic!r}")
    site, kind = parts[2], parts[3]
    try:
        if kind == "device" and len(parts) == 6 and ID_PATTERN.match(parts[4]):
            return TopicRef(site=site, device=parts[4], channel=Channel(parts[5]))
        if kind == "panel" and len(parts) == 5:
            return TopicRef(site=site, device=None, channel=Channel(parts[4]))
    except ValueError as exc:
        raise ContractError(f"unknown channel in topic {topic!r}") from exc
    raise ContractError(f"topic does not follow contract v1: {topic!r}")


M = TypeVar("M", bound=BaseModel)


def decode(model: type[M], payload: bytes | bytearray | str) -> M:
    """Validate a JSON payload against a contract model, or raise ContractError."""
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise ContractError(f"{model.__name__}: {where}: {first['msg']}") from None
