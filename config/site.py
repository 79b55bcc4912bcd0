"""Schema of a site (one official's home): devices, zones, panel timings, users, alarm centre."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from config.conflicts import same_device_id
from config.pins import is_pin_hash
from config.types import Duration, Endpoint, KeySpec

__all__ = [
    "ZIGBEE_ADAPTER",
    "AlarmCentre",
    "Device",
    "DeviceType",
    "Evidence",
    "Gpio",
    "ModeTimings",
    "Mqtt",
    "Panel",
    "ReceiverPathConfig",
    "Site",
    "User",
    "Zigbee",
    "ZoneType",
]

ENTRY_DELAY_LIMIT = timedelta(seconds=45)  # EN 50131-1: entry delay at most 45 s
SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"
ZIGBEE_ADAPTER = "zigbee-adapter"  # MQTT account that reads Zigbee2MQTT's topics


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceType(StrEnum):
    CONTACT = "contact"  # door/window reed contact
    PANIC = "panic_button"  # panic (audible) or hold-up (silent) button
    INTERCOM = "intercom"  # video intercom / door viewer
    SMOKE = "smoke"
    KEYPAD = "keypad"
    SIREN = "siren"


class ZoneType(StrEnum):
    ENTRY_EXIT = "entry_exit"  # delayed
    PERIMETER = "perimeter"  # instant when armed
    INTERIOR = "interior"  # follows an entry route
    H24 = "24h"  # burglary 24 h
    PANIC = "panic"  # 24 h, audible
    HOLDUP = "holdup"  # 24 h, silent
    FIRE = "fire"  # 24 h
    TAMPER = "tamper"  # 24 h
    NONE = "none"  # reports, never alarms (bells, keypads)


DEFAULT_ZONE_TYPE = {
    DeviceType.CONTACT: ZoneType.PERIMETER,
    DeviceType.PANIC: ZoneType.PANIC,
    DeviceType.INTERCOM: ZoneType.NONE,
    DeviceType.SMOKE: ZoneType.FIRE,
    DeviceType.KEYPAD: ZoneType.NONE,
    DeviceType.SIREN: ZoneType.NONE,
}


class Gpio(_Model):
    pin: Annotated[int, Field(ge=0, le=27)]
    tamper_pin: Annotated[int, Field(ge=0, le=27)] | None = None
    pull_up: bool = True
    active_state: bool | None = None  # set when an external resistor decides the idle level
    led_pin: Annotated[int, Field(ge=0, le=27)] | None = None  # output: status LED / strobe


class Zigbee(_Model):
    """An off-the-shelf Zigbee device, served by ``wachter zigbee2mqtt``."""

    friendly_name: Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^#+]+$")]
    # Wachter's own supervision: silent longer than this and the device is reported offline
    # (Zigbee2MQTT waits 25 h for battery devices; EN 50131 grade 2 wireless allows at most 2 h)
    max_silence: Duration = timedelta(hours=2)

    @field_validator("max_silence")
    @classmethod
    def _silence_range(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= value <= timedelta(hours=25):
            raise ValueError("max_silence must lie between 1m and 25h; 2h meets EN 50131 grade 2")
        return value


class Device(_Model):
    id: Annotated[str, Field(pattern=SLUG)]
    type: DeviceType
    name: str
    zone: Annotated[int, Field(ge=1, le=999)]
    zone_type: ZoneType | None = None
    location: str = ""
    silent: bool = False  # panic: no local sounder
    hold_ms: Annotated[int, Field(ge=0, le=10_000)] = 0  # accidental-press protection
    supervision: Duration | None = None  # offline grace; None = per-type default
    gpio: Gpio | None = None
    source: str | None = None  # intercom video source (URL, index or file)
    zigbee: Zigbee | None = None  # served by the Zigbee2MQTT adapter instead of a wired driver

    @property
    def effective_zone_type(self) -> ZoneType:
        return self.zone_type or DEFAULT_ZONE_TYPE[self.type]


class ModeTimings(_Model):
    exit_delay: Duration = timedelta(seconds=30)
    entry_delay: Duration = timedelta(seconds=30)
    trigger_time: Duration = timedelta(minutes=3)

    @field_validator("entry_delay")
    @classmethod
    def _entry_limit(cls, value: timedelta) -> timedelta:
        if value > ENTRY_DELAY_LIMIT:
            raise ValueError(
                f"{value.total_seconds():g}s is above the EN 50131 limit of 45s; set 45s or less"
            )
        return value


class User(_Model):
    name: Annotated[str, Field(min_length=1, max_length=40)]
    number: Annotated[int, Field(ge=1, le=999)]
    pin_hash: str
    duress_pin_hash: str | None = None
    permissions: list[Literal["arm", "disarm", "bypass", "admin"]] = ["arm", "disarm"]

    @field_validator("pin_hash", "duress_pin_hash")
    @classmethod
    def _hashed(cls, value: str | None) -> str | None:
        if value is not None and not is_pin_hash(value):
            raise ValueError("store a hash, not a PIN: run `wachter hash-pin` and paste its output")
        return value


ArmMode = Literal["armed_away", "armed_home", "armed_night"]


class Panel(_Model):
    modes: dict[ArmMode, ModeTimings] = Field(
        default_factory=lambda: {  # type: ignore[arg-type]
            "armed_away": ModeTimings(),
            "armed_home": ModeTimings(exit_delay=timedelta(0)),
            "armed_night": ModeTimings(exit_delay=timedelta(0)),
        }
    )
    users: Annotated[list[User], Field(min_length=1)]
    confirmation_window: Duration = timedelta(minutes=30)
    abort_window: Duration = timedelta(minutes=2)
    swinger_limit: Annotated[int, Field(ge=1, le=20)] = 3
    wrong_code_limit: Annotated[int, Field(ge=1, le=20)] = 5
    lockout: Duration = timedelta(minutes=5)
    # codes checked (scrypt) per minute from every source together; the rest are refused
    # unchecked, so guessing can neither slow the agent nor outrun the lockout
    code_checks_per_minute: Annotated[int, Field(ge=1, le=120)] = 12
    walk_test_limit: Duration = timedelta(minutes=30)  # a walk test ends by itself after this

    @field_validator("walk_test_limit")
    @classmethod
    def _walk_test_range(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= value <= timedelta(hours=4):
            raise ValueError("walk_test_limit must lie between 1m and 4h; 30m suits a home")
        return value


class ReceiverPathConfig(_Model):
    name: Annotated[str, Field(pattern=SLUG)] = "primary"
    url: Endpoint
    key: KeySpec | None = None
    poll_interval: Duration = timedelta(seconds=90)
    ack_timeout: Duration = timedelta(seconds=5)
    retries: Annotated[int, Field(ge=0, le=10)] = 2

    @field_validator("poll_interval")
    @classmethod
    def _poll_range(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=10) <= value <= timedelta(hours=25):
            raise ValueError("the polling interval must lie between 10s and 25h")
        return value


class AlarmCentre(_Model):
    account: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{3,16}$")]
    format: Literal["SIA-DCS", "ADM-CID"] = "SIA-DCS"
    receiver: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{1,6}$")] | None = None
    prefix: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{1,6}$")] = "0"
    paths: Annotated[list[ReceiverPathConfig], Field(min_length=1, max_length=2)]
    # where snapshots go (the receiver's HTTPS base URL) and the site's upload token
    evidence_url: Annotated[str, Field(pattern=r"^https?://[^/\s]+")] | None = None
    evidence_token: SecretStr | None = None
    # Reports sent besides alarms, tamper and faults (which always go); default from the profile.
    also_send: list[Literal["open_close", "bypass", "doorbell"]] = ["open_close", "bypass"]
    # An encrypted *ACK counts only if its timestamp lies within this of our (NAK-corrected)
    # clock: a recorded answer replayed later is refused. At least the receiver's own window.
    answer_window: Duration = timedelta(seconds=60)

    @field_validator("evidence_url")
    @classmethod
    def _evidence_over_https(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme == "http" and not _loopback(parts.hostname or ""):
            raise ValueError(
                "http:// would send the site's upload token and the snapshots in clear; write "
                "https:// (plain http is only for a receiver on this machine, as in the demo)")
        return value

    @field_validator("answer_window")
    @classmethod
    def _answer_window_range(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=5) <= value <= timedelta(minutes=10):
            raise ValueError("answer_window must lie between 5s and 10m; 60s covers the "
                             "receiver's window (-40 s/+20 s) and the round trip")
        return value


SnapshotTrigger = Literal["burglary", "panic", "tamper", "fire", "doorbell"]


class Evidence(_Model):
    """Snapshot policy: which alarms collect camera frames for the alarm centre, and how many."""

    snapshot_on: list[SnapshotTrigger] = ["burglary", "panic", "tamper"]
    frames: Annotated[int, Field(ge=1, le=20)] = 3
    interval: Duration = timedelta(seconds=1)


def parse_mqtt_url(value: object) -> str:
    """``mqtt://host[:port]`` or ``mqtts://host[:port]`` (TLS)."""
    if not isinstance(value, str):
        raise ValueError("an address such as mqtt://127.0.0.1:1883 or mqtts://broker.lan:8883")
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or port == -1 or port == 0:
        raise ValueError(f"{value!r}: write mqtt://host:port, or mqtts://host:port for TLS")
    return value


def parse_mqtt_protocol(value: object) -> str:
    """YAML reads ``5`` as a number and ``3.1.1`` as text; both name an MQTT version."""
    text = str(value).strip()
    if text not in ("5", "3.1.1"):
        raise ValueError(f"{value!r}: write 5 (mosquitto and most brokers) or 3.1.1 (brokers without v5)")
    return text


class Mqtt(_Model):
    url: Annotated[str, BeforeValidator(parse_mqtt_url)] = "mqtt://127.0.0.1:1883"
    # the version the drivers and the evidence relay speak; 3.1.1 for a broker without MQTT v5
    # (snapshot metadata then travels in the JPEG, protocol/snapshot.py)
    protocol: Annotated[Literal["5", "3.1.1"], BeforeValidator(parse_mqtt_protocol)] = "5"
    username: str | None = None
    password_file: Path | None = None
    keepalive: Annotated[int, Field(ge=5, le=600)] = 30
    # MQTT over TLS (mqtts://): files made by `wachter keys`
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    # per-account credentials made by `wachter keys mqtt`: <credentials_dir>/<username>/password,
    # ca.crt, client.crt, client.key; a device's username is device.<device id>
    credentials_dir: Path | None = None

    def device_username(self, device_id: str) -> str:
        return f"device.{device_id}"


class Site(_Model):
    id: Annotated[str, Field(pattern=SLUG)]
    name: str
    profile: Literal["basis", "verhoogd", "hoog"] = "basis"
    timezone: str = "Europe/Amsterdam"
    state_dir: Path = Path("/var/lib/wachter")
    mqtt: Mqtt = Mqtt()
    alarm_centre: AlarmCentre
    panel: Panel
    devices: Annotated[list[Device], Field(min_length=1)]
    evidence: Evidence = Evidence()

    @model_validator(mode="after")
    def _unique(self) -> Self:
        seen: dict[str, str] = {}
        for kind, values in (
            ("device id", [same_device_id(d.id) for d in self.devices]),  # - and _ alike (HA)
            ("zone", [str(d.zone) for d in self.devices]),
            ("GPIO pin", _pins(self.devices)),
        ):
            seen.clear()
            for value in values:
                if value in seen:
                    raise ValueError(f"{kind} {value} is used twice; give each its own")
                seen[value] = value
        return self

    def device(self, device_id: str) -> Device | None:
        return next((d for d in self.devices if d.id == device_id), None)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pins(devices: list[Device]) -> list[str]:
    pins: list[str] = []
    for d in devices:
        if d.gpio:
            pins.append(str(d.gpio.pin))
            if d.gpio.tamper_pin is not None:
                pins.append(str(d.gpio.tamper_pin))
    return pins
