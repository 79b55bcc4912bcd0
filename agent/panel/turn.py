"""One step in progress: a private working copy of the state plus the actions so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from agent.panel.actions import Action, DetailValue, LogEntry, PanelNotice, Report
from agent.panel.state import ArmMode, DeviceStatus, PanelState
from config.site import ModeTimings, Site
from protocol.codes import EventKind

__all__ = ["Turn", "timings"]


def timings(site: Site, mode: ArmMode | None) -> ModeTimings:
    """Timings of an armed mode; disarmed alarms (panic, fire, 24 h) use armed_away's."""
    return site.panel.modes.get(mode or "armed_away") or ModeTimings()


@dataclass
class Turn:
    """The rules mutate ``state`` (a deep copy made by ``step``) and append to ``actions``."""

    site: Site
    state: PanelState
    now: datetime
    actions: list[Action] = field(default_factory=list)

    def device(self, device_id: str) -> DeviceStatus:
        return self.state.devices.setdefault(device_id, DeviceStatus())

    def timings(self) -> ModeTimings:
        return timings(self.site, self.state.armed)

    def emit(self, action: Action) -> None:
        self.actions.append(action)

    def report(
        self,
        kind: EventKind,
        number: int,
        *,
        restore: bool = False,
        user: int | None = None,
        device: str | None = None,
        text: str = "",
        urgent: bool = False,
    ) -> None:
        self.emit(Report(kind, number, restore, user, device, text, urgent))

    def notice(self, event: str, /, **detail: DetailValue) -> None:
        self.emit(PanelNotice(event, detail))

    def log(self, text: str) -> None:
        self.emit(LogEntry(text))

    def ordered(self) -> list[Action]:
        """Urgent reports (panic, hold-up, duress) first; otherwise the order they arose."""
        return sorted(self.actions, key=lambda a: not (isinstance(a, Report) and a.urgent))
