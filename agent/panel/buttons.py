"""Accidental-press protection for panic and hold-up buttons.

With ``hold_ms == 0`` a PRESS counts at once. With ``hold_ms > 0`` a press counts when the
driver reports ``held_ms >= hold_ms`` (it does so on RELEASE), or when a second PRESS follows
the first within ``DOUBLE_PRESS`` (a double press).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agent.panel.inputs import DeviceInput
from agent.panel.state import DeviceStatus
from config.site import Device
from protocol.mqtt import EventType

__all__ = ["DOUBLE_PRESS", "press_counts"]

DOUBLE_PRESS = timedelta(seconds=2)


def press_counts(device: Device, status: DeviceStatus, event: DeviceInput, now: datetime) -> bool:
    """Whether this PRESS/RELEASE raises the alarm; remembers a first press in ``status``."""
    if device.hold_ms == 0:
        return event.type is EventType.PRESS
    if event.held_ms is not None and event.held_ms >= device.hold_ms:
        status.last_press = None
        return True
    if event.type is not EventType.PRESS:
        return False
    first = status.last_press
    double = first is not None and now - first <= DOUBLE_PRESS
    status.last_press = None if double else now
    return double
