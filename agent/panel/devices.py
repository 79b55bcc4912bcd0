"""Routes a device fact to the rule that gives it meaning."""

from __future__ import annotations

from typing import Literal

from agent.panel.alarms import activation, fire, raise_panic
from agent.panel.buttons import press_counts
from agent.panel.inputs import DeviceInput
from agent.panel.order import in_order
from agent.panel.trouble import TROUBLES, set_trouble
from agent.panel.turn import Turn
from agent.panel.verification import video
from agent.panel.walktest import walk_test_point
from config.site import Device, ZoneType
from protocol.mqtt import EventType

__all__ = ["on_device_input"]


def on_device_input(turn: Turn, event: DeviceInput) -> None:
    device = turn.site.device(event.device)
    if device is None:
        turn.log(f"event {event.type.value} from unknown device {event.device!r} ignored")
        return
    if not in_order(turn, device, event):
        return
    if turn.state.walktest is not None and not walk_test_point(turn, device, event):
        return
    kind = event.type
    if kind in TROUBLES:
        set_trouble(turn, device, *TROUBLES[kind])
    elif kind in (EventType.OPEN, EventType.CLOSE):
        contact(turn, device, opened=kind is EventType.OPEN)
    elif kind is EventType.MOTION:
        activation(turn, device)
    elif kind in (EventType.PRESS, EventType.RELEASE):
        press(turn, device, event)
    elif kind in (EventType.SMOKE, EventType.SMOKE_CLEAR):
        fire(turn, device, active=kind is EventType.SMOKE)
    elif kind is EventType.PERSON:
        video(turn, device, event.score)
    elif kind is EventType.DOORBELL:
        turn.notice("doorbell", device=device.id)


def contact(turn: Turn, device: Device, *, opened: bool) -> None:
    """Edge-triggered: only a change of the contact is an activation."""
    status = turn.device(device.id)
    new: Literal["open", "closed"] = "open" if opened else "closed"
    if status.contact == new:
        return
    status.contact = new
    if opened:
        activation(turn, device)
    elif device.effective_zone_type is ZoneType.TAMPER:
        set_trouble(turn, device, *TROUBLES[EventType.TAMPER_RESTORE])


def press(turn: Turn, device: Device, event: DeviceInput) -> None:
    zone = device.effective_zone_type
    if zone not in (ZoneType.PANIC, ZoneType.HOLDUP):
        return
    if press_counts(device, turn.device(device.id), event, turn.now):
        raise_panic(turn, device)
