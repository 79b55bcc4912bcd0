"""Everything the panel remembers, as one JSON-serialisable value persisted after every step.

Timers are stored as deadlines, so a restarted agent resumes exactly where it stopped.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from protocol.mqtt import PanelMode

__all__ = [
    "ArmMode",
    "ConfirmationWindow",
    "DeviceStatus",
    "EntryDelay",
    "PanelMode",
    "PanelState",
    "PointResult",
    "RaisedAlarm",
    "WalkTest",
]

ArmMode = Literal["armed_away", "armed_home", "armed_night"]

_M = TypeVar("_M")


def _copied(value: _M) -> _M:
    """``value`` with its own copy of every record, list and dict in it (scalars are shared)."""
    if isinstance(value, BaseModel):
        clone = value.model_copy()  # a new __dict__ (and fields-set), the same values
        fields = clone.__dict__
        for name, item in value.__dict__.items():
            if isinstance(item, BaseModel | list | dict):
                fields[name] = _copied(item)
        return clone
    if isinstance(value, list):
        return [_copied(v) for v in value]  # type: ignore[return-value]
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}  # type: ignore[return-value]
    return value


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntryDelay(_Record):
    """The running entry delay: the door that started it. Its deadline is never moved."""

    device: str
    zone: int
    started: AwareDatetime


class ConfirmationWindow(_Record):
    """DD 243 sequential confirmation: the first, unconfirmed alarm waits here for a second
    different detector (or a person on video) until ``deadline``."""

    device: str
    zone: int
    deadline: AwareDatetime
    confirmed: bool = False


class RaisedAlarm(_Record):
    """The last burglary reported, kept so a disarm within the abort window can cancel it."""

    device: str
    zone: int
    abort_until: AwareDatetime


class DeviceStatus(_Record):
    """Last known facts about one device; ``contact=None`` is unknown, never open."""

    contact: Literal["open", "closed"] | None = None
    smoke: bool = False
    troubles: list[str] = Field(default_factory=list)  # tamper, battery_low, masking, camera_lost
    online: bool = True
    lost_deadline: AwareDatetime | None = None  # end of the supervision grace while offline
    lost_reported: bool = False
    trips: int = 0  # alarms this arming period (swinger limit)
    last_press: AwareDatetime | None = None  # first press of a possible double press
    last_fact: AwareDatetime | None = None  # driver's time of the newest fact applied


class PointResult(_Record):
    """One device in a walk test: when it was triggered and tampered with, its battery."""

    triggered: AwareDatetime | None = None
    tamper: AwareDatetime | None = None
    battery_low: bool | None = None


class WalkTest(_Record):
    """A running walk test (commissioning); it ends by itself at ``until``."""

    started: AwareDatetime
    until: AwareDatetime
    user: int
    by: str
    points: dict[str, PointResult] = Field(default_factory=dict)

    def tested(self) -> int:
        return sum(1 for p in self.points.values() if p.triggered is not None)


class PanelState(_Record):
    """The whole panel: mode, running delay, bypasses, counters, verification bookkeeping."""

    v: Literal[1] = 1
    mode: PanelMode = "disarmed"
    armed: ArmMode | None = None  # the armed mode in force, being set, or returned to
    deadline: AwareDatetime | None = None  # end of exit delay, entry delay or trigger time
    entry: EntryDelay | None = None
    changed_by: str | None = None
    by_user: int | None = None
    by_remote: bool = False
    bypassed: list[str] = Field(default_factory=list)
    devices: dict[str, DeviceStatus] = Field(default_factory=dict)
    window: ConfirmationWindow | None = None
    alarm: RaisedAlarm | None = None
    wrong_codes: int = 0
    lockout_until: AwareDatetime | None = None
    sounder: bool = False
    walktest: WalkTest | None = None
    clock: AwareDatetime | None = None  # ``now`` of the last step

    def to_json(self) -> str:
        return self.model_dump_json()

    def clone(self) -> PanelState:
        """A deep copy for the next step to change (``model_copy(deep=True)`` at less than half
        the cost: every field is immutable but the nested records, lists and dicts)."""
        return _copied(self)

    @classmethod
    def from_json(cls, text: str | bytes) -> PanelState:
        """Raises ``pydantic.ValidationError`` (a ValueError) naming the bad field."""
        return cls.model_validate_json(text)
