"""Walk test: the installer triggers every device; the alarm centre gets test events, not alarms.

Pure bookkeeping; the shell routes device inputs here instead of to the panel while a walk
test runs, queues the reports it returns, and re-syncs the panel from retained states after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from agent.outbox import PendingReport
from config.site import Device, DeviceType, Site
from protocol.mqtt import EventType

__all__ = ["PointResult", "WalkTest", "outcome"]

# What counts as "this device works" per type; a tamper is recorded for every type.
TRIGGERS: dict[DeviceType, frozenset[EventType]] = {
    DeviceType.CONTACT: frozenset({EventType.OPEN}),
    DeviceType.PANIC: frozenset({EventType.PRESS}),
    DeviceType.SMOKE: frozenset({EventType.SMOKE}),
    DeviceType.INTERCOM: frozenset({EventType.DOORBELL, EventType.PERSON, EventType.MOTION}),
    DeviceType.KEYPAD: frozenset({EventType.PRESS, EventType.TAMPER}),
    DeviceType.SIREN: frozenset({EventType.TAMPER}),  # an output proves itself by its tamper loop
}


class PointResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    triggered: datetime | None = None
    tamper: datetime | None = None
    battery_low: bool | None = None


class WalkTest(BaseModel):
    """Persisted (JSON in the agent database) so a restart keeps the test running."""

    model_config = ConfigDict(extra="forbid")
    started: datetime
    user: int
    by: str
    points: dict[str, PointResult] = {}

    @classmethod
    def begin(cls, site: Site, user: int, by: str, now: datetime) -> tuple[WalkTest, PendingReport]:
        test = cls(started=now, user=user, by=by, points={d.id: PointResult() for d in site.devices})
        return test, PendingReport(kind="walk_test", number=user, text=f"walk test by {by}")

    def record(self, device: Device, event: EventType, now: datetime) -> list[PendingReport]:
        """Tick the device off; the first trigger of each device is reported as point tested."""
        point = self.points.setdefault(device.id, PointResult())
        reports: list[PendingReport] = []
        if event in TRIGGERS[device.type] and point.triggered is None:
            point.triggered = now
            reports.append(PendingReport(kind="point_tested", number=device.zone, device=device.id,
                                         text=f"{device.name}: {event.value}"))
        if event is EventType.TAMPER and point.tamper is None:
            point.tamper = now
        if event in (EventType.BATTERY_LOW, EventType.BATTERY_OK):
            point.battery_low = event is EventType.BATTERY_LOW
        return reports

    def finish(self) -> PendingReport:
        return PendingReport(kind="walk_test", number=self.user, restore=True,
                             text=f"walk test ended, {self.tested()}/{len(self.points)} tested")

    def tested(self) -> int:
        return sum(1 for p in self.points.values() if p.triggered is not None)


@dataclass
class Outcome:
    """The commissioning result the CLI turns into a report."""

    devices: list[dict[str, object]] = field(default_factory=list)
    links: dict[str, float | None] = field(default_factory=dict)


def outcome(site: Site, test: WalkTest, links: dict[str, float | None]) -> dict[str, object]:
    """JSON-ready summary: every device with its result, and the link round trips in ms."""
    devices = []
    for d in site.devices:
        p = test.points.get(d.id, PointResult())
        devices.append({
            "id": d.id, "name": d.name, "type": d.type.value, "zone": d.zone, "location": d.location,
            "tested": p.triggered is not None,
            "triggered": p.triggered.isoformat() if p.triggered else None,
            "tamper": p.tamper.isoformat() if p.tamper else None,
            "battery_low": p.battery_low,
        })
    return {"site": site.id, "started": test.started.isoformat(), "by": test.by,
            "devices": devices, "links_ms": links}
