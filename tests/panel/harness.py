"""A fake-clock driver for the panel core: plain datetimes advanced by hand, no sleeps."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent.panel import (
    Action,
    Command,
    DeviceAvailability,
    DeviceInput,
    EnteredCode,
    Input,
    PanelNotice,
    PanelState,
    PublishState,
    Report,
    RequestSnapshot,
    Sounder,
    Tick,
    initial_state,
    next_deadline,
    step,
)
from agent.pin_checks import match_code
from config.loader import load_site
from config.site import Device, DeviceType, ModeTimings, Site, ZoneType
from protocol import mqtt
from protocol.mqtt import EventType

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "site.yaml"
T0 = datetime(2025, 3, 3, 22, 0, tzinfo=UTC)
RESIDENT, DURESS, PARTNER, WRONG, INSTALLER = "1234", "9999", "2468", "0000", "4321"


@functools.cache
def example_site() -> Site:
    return load_site(EXAMPLE)


_CHECKED: dict[tuple[str, str], EnteredCode] = {}


def checked(site: Site, code: str) -> EnteredCode:
    """``match_code``, remembered per users and code: scrypt is slow on purpose."""
    key = (repr(site.panel.users), code)
    if key not in _CHECKED:
        _CHECKED[key] = match_code(site, code)
    return _CHECKED[key]


def with_devices(site: Site, *extra: Device) -> Site:
    return site.model_copy(update={"devices": [*site.devices, *extra]})


INTERIOR = Device(
    id="door-living", type=DeviceType.CONTACT, name="Living room door", zone=15,
    zone_type=ZoneType.INTERIOR,
)


def interior_site() -> Site:
    return with_devices(example_site(), INTERIOR)


def tuned(site: Site, **panel: Any) -> Site:
    return site.model_copy(update={"panel": site.panel.model_copy(update=panel)})


def with_timings(site: Site, mode: str, **timings: float) -> Site:
    modes: dict[Any, ModeTimings] = dict(site.panel.modes)
    values = {k: timedelta(seconds=v) for k, v in timings.items()}
    modes[mode] = modes.get(mode, ModeTimings()).model_copy(update=values)
    return tuned(site, modes=modes)


def changed_device(site: Site, device_id: str, **fields: Any) -> Site:
    devices = [
        Device.model_validate({**d.model_dump(), **fields}) if d.id == device_id else d
        for d in site.devices
    ]
    return site.model_copy(update={"devices": devices})


@dataclass
class Panel:
    """Holds state and a fake clock; every call is one ``step``."""

    site: Site = field(default_factory=example_site)
    now: datetime = T0
    state: PanelState = field(init=False)
    history: list[Action] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = initial_state(self.site)

    def send(self, event: Input, after: float = 0.0) -> list[Action]:
        self.now += timedelta(seconds=after)
        self.state, actions = step(self.site, self.state, event, self.now)
        self.history += actions
        return actions

    def tick(self, after: float = 0.0) -> list[Action]:
        return self.send(Tick(), after)

    def to_deadline(self) -> list[Action]:
        deadline = next_deadline(self.state)
        assert deadline is not None, "no deadline pending"
        self.now = max(self.now, deadline)
        return self.tick()

    def fact(self, device: str, kind: EventType, after: float = 0.0, **kw: Any) -> list[Action]:
        return self.send(DeviceInput(device, kind, **kw), after)

    def open(self, device: str, after: float = 0.0) -> list[Action]:
        return self.fact(device, EventType.OPEN, after)

    def close(self, device: str, after: float = 0.0) -> list[Action]:
        return self.fact(device, EventType.CLOSE, after)

    def online(self, device: str, online: bool, after: float = 0.0) -> list[Action]:
        return self.send(DeviceAvailability(device, online), after)

    def command(self, action: str, code: str | None = RESIDENT, **kw: Any) -> list[Action]:
        """As the shell does: the typed code checked against the hashes, then the core steps."""
        entered = None if code is None else checked(self.site, code)
        return self.send(Command(action, entered, **kw))  # type: ignore[arg-type]

    def arm(self, action: str = "ARM_AWAY", code: str = RESIDENT, **kw: Any) -> list[Action]:
        return self.command(action, code, **kw)

    def disarm(self, code: str = RESIDENT, after: float = 0.0, **kw: Any) -> list[Action]:
        self.now += timedelta(seconds=after)
        return self.command("DISARM", code, **kw)

    def armed(self, action: str = "ARM_AWAY") -> Panel:
        self.arm(action, skip_delay=True)
        assert self.mode.startswith("armed"), self.mode
        return self

    @property
    def mode(self) -> str:
        return self.state.mode


def reports(actions: list[Action], kind: str | None = None) -> list[Report]:
    return [a for a in actions if isinstance(a, Report) and kind in (None, a.kind)]


def kinds(actions: list[Action]) -> list[str]:
    return [(f"{a.kind}:restore" if a.restore else str(a.kind)) for a in reports(actions)]


def notices(actions: list[Action], event: str | None = None) -> list[PanelNotice]:
    return [a for a in actions if isinstance(a, PanelNotice) and event in (None, a.event)]


def published(actions: list[Action]) -> list[mqtt.PanelState]:
    return [a.state for a in actions if isinstance(a, PublishState)]


def sounders(actions: list[Action]) -> list[bool]:
    return [a.on for a in actions if isinstance(a, Sounder)]


def snapshots(actions: list[Action]) -> list[RequestSnapshot]:
    return [a for a in actions if isinstance(a, RequestSnapshot)]
