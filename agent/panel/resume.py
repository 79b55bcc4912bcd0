"""After a restart: run the timers that fell due, then replay what devices changed meanwhile.

Only differences between the persisted state and the retained device states become inputs,
so an unchanged contact raises nothing and an alarm already reported is not reported again.
Changes are applied at ``now``: an entry door found open starts a full entry delay.
"""

from __future__ import annotations

from datetime import datetime

from agent.panel.actions import Action, PublishState
from agent.panel.core import step
from agent.panel.inputs import DeviceInput, Tick
from agent.panel.state import DeviceStatus, PanelState
from agent.panel.view import public_state
from config.site import Site
from protocol.mqtt import DeviceState, EventType

__all__ = ["changes", "resume"]


def resume(
    site: Site, state: PanelState, retained: dict[str, DeviceState], now: datetime
) -> tuple[PanelState, list[Action]]:
    """Catch up after downtime; ends with one PublishState so Home Assistant is current."""
    state, actions = step(site, state, Tick(), now)
    for event in changes(state, retained):
        state, more = step(site, state, event, now)
        actions += more
    actions = [a for a in actions if not isinstance(a, PublishState)]
    return state, [*actions, PublishState(public_state(state, now))]


def changes(state: PanelState, retained: dict[str, DeviceState]) -> list[DeviceInput]:
    """Inputs for every retained fact that differs from what the panel last knew, oldest first."""
    found: list[tuple[datetime, DeviceInput]] = []
    for device_id, fact in retained.items():
        status = state.devices.get(device_id, DeviceStatus())
        found += [(fact.ts, DeviceInput(device_id, t)) for t in _differences(status, fact)]
    return [event for _, event in sorted(found, key=lambda pair: pair[0])]


def _differences(status: DeviceStatus, fact: DeviceState) -> list[EventType]:
    out: list[EventType] = []
    if fact.contact is not None and fact.contact != status.contact:
        out.append(EventType.OPEN if fact.contact == "open" else EventType.CLOSE)
    camera = None if fact.camera is None else fact.camera == "lost"
    masked = None if fact.camera is None else fact.camera == "masked"
    pairs = (
        (fact.tamper, "tamper" in status.troubles, EventType.TAMPER, EventType.TAMPER_RESTORE),
        (fact.battery_low, "battery_low" in status.troubles, EventType.BATTERY_LOW,
         EventType.BATTERY_OK),
        (fact.smoke, status.smoke, EventType.SMOKE, EventType.SMOKE_CLEAR),
        (camera, "camera_lost" in status.troubles, EventType.CAMERA_LOST,
         EventType.CAMERA_RESTORED),
        (masked, "masking" in status.troubles, EventType.MASKING, EventType.MASKING_RESTORE),
    )
    for now_on, was_on, on, off in pairs:
        if now_on is not None and now_on != was_on:
            out.append(on if now_on else off)
    return out
